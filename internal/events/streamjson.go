package events

import (
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/vigil-health/vigil/internal/flatjson"
)

// decodeEventJSON decodes one event of the events stream without
// reflection, the reader's match of ingest's hand-written encoder:
// encoding/json's Unmarshal was a fifth of the CPU of syslog end to end
// once events travelled in batches (docs/performance.md). line is one
// line of the message and text the same bytes as a string, so that the
// event's strings without escapes share text's memory instead of being
// allocated one by one; fields is the "fields" value as it came (never
// decoded here: the store keeps it as JSON).
//
// It knows the encoders' output — the keys Event and Source spell,
// strings, times, true and false — and gives up (ok false) on anything
// else: another key or a key in another case (encoding/json matches
// keys without regard to case), null where a string belongs, a \u
// escape of a surrogate, invalid UTF-8, a number. The caller then
// decodes with encoding/json, which decides. Whatever it accepts is
// valid JSON that encoding/json decodes to the same Event
// (FuzzDecodeEventJSON).
func decodeEventJSON(line []byte, text string) (ev Event, fields []byte, ok bool) {
	d := eventDecoder{b: line, s: text}
	if !d.object(func(key string) bool {
		switch key {
		case "id":
			ev.ID, ok = d.str()
		case "org":
			ev.Org, ok = d.str()
		case "received_at":
			ok = d.time(&ev.ReceivedAt)
		case "event_time":
			ok = d.time(&ev.EventTime)
		case "source":
			ok = d.object(func(key string) bool {
				switch key {
				case "protocol":
					ev.Source.Protocol, ok = d.str()
				case "addr":
					ev.Source.Addr, ok = d.str()
				case "token":
					ev.Source.Token, ok = d.str()
				case "format":
					ev.Source.Format, ok = d.str()
				case "host":
					ev.Source.Host, ok = d.str()
				default:
					return false
				}
				return ok
			})
		case "product":
			ev.Product, ok = d.str()
		case "service":
			ev.Service, ok = d.str()
		case "category":
			ev.Category, ok = d.str()
		case "fields":
			start := d.i
			ok = d.skip(0)
			fields = line[start:d.i:d.i]
		case "raw":
			ev.Raw, ok = d.str()
		case "truncated":
			ev.Truncated, ok = d.boolean()
		case "parse_error":
			ev.ParseError, ok = d.str()
		default:
			return false
		}
		return ok
	}) {
		return Event{}, nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return Event{}, nil, false
	}
	return ev, fields, true
}

// eventDecoder reads b (and s, the same bytes as a string) from i.
type eventDecoder struct {
	b []byte
	s string
	i int
}

func (d *eventDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// object reads an object, calling member for each key with i at its
// value; member reads the value and says whether it could.
func (d *eventDecoder) object(member func(key string) bool) bool {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return true
	}
	for {
		d.ws()
		key, ok := d.str()
		if !ok {
			return false
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return false
		}
		d.i++
		d.ws()
		if !member(key) {
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string. One without escapes is a slice of s; one with
// escapes is decoded into a new string.
func (d *eventDecoder) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	d.i++
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		d.i = flatjson.PlainRun(d.b, d.i, ascii)
		if d.i >= len(d.b) {
			break
		}
		c := d.b[d.i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(d.b[start:d.i]) {
				return "", false
			}
			s := d.s[start:d.i]
			d.i++
			return s, true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", false
}

// escaped finishes a string begun at start whose first escape is at i.
func (d *eventDecoder) escaped(start int) (string, bool) {
	out := make([]byte, 0, d.i-start+16)
	out = append(out, d.b[start:d.i]...)
	for d.i < len(d.b) {
		j := flatjson.PlainRun(d.b, d.i, false)
		out = append(out, d.b[d.i:j]...)
		d.i = j
		if d.i >= len(d.b) {
			break
		}
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return "", false
			}
			// out is this string's alone and never written again.
			return unsafe.String(&out[0], len(out)), true
		case c < 0x20:
			return "", false
		}
		// A backslash.
		if d.i+1 >= len(d.b) {
			return "", false
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if d.i+4 > len(d.b) {
				return "", false
			}
			r, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 32)
			if err != nil || (r >= 0xd800 && r < 0xe000) {
				return "", false // surrogates: encoding/json's rules decide
			}
			out = utf8.AppendRune(out, rune(r))
			d.i += 4
		default:
			return "", false
		}
	}
	return "", false
}

// time reads a string and hands it, quotes and all, to a time's
// UnmarshalJSON, as encoding/json does (escapes are not undone for it).
func (d *eventDecoder) time(t *time.Time) bool {
	start := d.i
	if _, ok := d.str(); !ok {
		return false
	}
	return t.UnmarshalJSON(d.b[start:d.i]) == nil
}

func (d *eventDecoder) boolean() (bool, bool) {
	switch {
	case d.lit("true"):
		return true, true
	case d.lit("false"):
		return false, true
	}
	return false, false
}

func (d *eventDecoder) lit(word string) bool {
	if len(d.b)-d.i >= len(word) && d.s[d.i:d.i+len(word)] == word {
		d.i += len(word)
		return true
	}
	return false
}

// maxSkipDepth is how deep skip follows nested values before giving up (to
// encoding/json, whose own limit is 10,000).
const maxSkipDepth = 100

// skip checks and passes over one JSON value of any kind.
func (d *eventDecoder) skip(depth int) bool {
	if depth > maxSkipDepth || d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, ok := d.str()
		return ok
	case c == '{':
		return d.object(func(string) bool { return d.skip(depth + 1) })
	case c == '[':
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return true
		}
		for {
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			if d.i >= len(d.b) {
				return false
			}
			switch d.b[d.i] {
			case ',':
				d.i++
			case ']':
				d.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return false
}

// number passes over a number as JSON's grammar has it.
func (d *eventDecoder) number() bool {
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
