package ingest

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/flatjson"
)

// appendEventJSON appends ev as JSON, decoding to the same events.Event
// as encoding/json's output, without reflection: encoding/json.Marshal
// was a fifth of the CPU of syslog TCP into the stream
// (BenchmarkTCPIntoStream's profile), most of it reflecting over the
// struct and sorting each event's field names, which no reader needs.
// Anything it does not know how to write the same way (a field value of
// another type, a float that is not finite, a year outside 0–9999) falls
// back to encoding/json, which then decides.
func appendEventJSON(b []byte, ev *events.Event) ([]byte, error) {
	start := len(b)
	ok := true
	b = append(b, `{"id":`...)
	b = appendJSONString(b, ev.ID)
	b = append(b, `,"org":`...)
	b = appendJSONString(b, ev.Org)
	b = append(b, `,"received_at":`...)
	b, ok = appendJSONTime(b, ev.ReceivedAt, ok)
	b = append(b, `,"event_time":`...)
	b, ok = appendJSONTime(b, ev.EventTime, ok)
	b = append(b, `,"source":{"protocol":`...)
	b = appendJSONString(b, ev.Source.Protocol)
	b = appendOmitEmpty(b, "addr", ev.Source.Addr)
	b = appendOmitEmpty(b, "token", ev.Source.Token)
	b = appendOmitEmpty(b, "format", ev.Source.Format)
	b = appendOmitEmpty(b, "host", ev.Source.Host)
	b = append(b, '}')
	b = appendOmitEmpty(b, "product", ev.Product)
	b = appendOmitEmpty(b, "service", ev.Service)
	b = appendOmitEmpty(b, "category", ev.Category)
	b = append(b, `,"fields":`...)
	if fj := ev.FieldsJSON(); fj != nil {
		b = append(b, fj...)
	} else if ev.Fields == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		first := true
		for k, v := range ev.Fields {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, k)
			b = append(b, ':')
			b, ok = appendJSONValue(b, v, ok)
		}
		b = append(b, '}')
	}
	b = append(b, `,"raw":`...)
	b = appendJSONString(b, ev.Raw)
	if ev.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	b = appendOmitEmpty(b, "parse_error", ev.ParseError)
	b = append(b, '}')
	if !ok {
		data, err := json.Marshal(ev)
		return append(b[:start], data...), err
	}
	return b, nil
}

func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, s)
}

// jsonTimeFits says whether appendJSONTime can write t: RFC 3339 has
// four-digit years.
func jsonTimeFits(t time.Time) bool { y := t.Year(); return y >= 0 && y <= 9999 }

// appendJSONTime writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds), which refuses years outside 0–9999.
func appendJSONTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	if !jsonTimeFits(t) {
		return b, false
	}
	y := t.Year()
	b = append(b, '"')
	if t.Location() != time.UTC {
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), ok
	}
	// UTC, as consumers and flows have it: by hand, a third of the time.
	mo, d := t.Month(), t.Day()
	h, mi, s := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10))
	if ns := t.Nanosecond(); ns != 0 {
		// RFC3339Nano's .999999999: the digits without trailing zeros.
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z', '"'), ok
}

func appendJSONValue(b []byte, v any, ok bool) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return appendJSONString(b, v), ok
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return b, false
		}
		return appendJSONFloat(b, v), ok
	case bool:
		return strconv.AppendBool(b, v), ok
	case nil:
		return append(b, "null"...), ok
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b, ok = appendJSONValue(b, e, ok)
		}
		return append(b, ']'), ok
	}
	return b, false
}

// appendJSONFloat writes a finite v as encoding/json does.
func appendJSONFloat(b []byte, v float64) []byte {
	// Whole numbers (ports, counts, IDs) are most of them: written as
	// integers, the same digits as the float format, faster.
	if v == math.Trunc(v) && math.Abs(v) < 1e15 && !(v == 0 && math.Signbit(v)) {
		return strconv.AppendInt(b, int64(v), 10)
	}
	// encoding/json's float format: 'e' only for very small or very
	// large magnitudes.
	f := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		f = 'e'
	}
	return strconv.AppendFloat(b, v, f, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string: quotes, backslashes and
// control characters escaped, U+2028 and U+2029 too (as encoding/json
// does, for JavaScript readers), invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Plain ASCII passes eight bytes at a time.
		if i = flatjson.PlainRun(s, i, true); i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
