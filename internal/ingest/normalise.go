package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/events"
)

// Format names, as events.Source.Format records them.
const (
	FormatRFC5424     = "rfc5424"
	FormatRFC3164     = "rfc3164"
	FormatJSON        = "json"
	FormatCEF         = "cef"
	FormatLEEF        = "leef"
	FormatKV          = "kv"
	FormatAuditd      = "auditd"
	FormatEVTX        = "evtx-json"
	FormatWinlogbeat  = "winlogbeat"
	FormatWindowsFlat = "windows-flat"
	FormatZeek        = "zeek"
	FormatSuricata    = "suricata-eve"
	// FormatSyslog configures a listener for either syslog format, told
	// apart per message.
	FormatSyslog = "syslog"
	// FormatText is an event no parser recognised; it is kept with its
	// text as the message field and a ParseError.
	FormatText = "text"
)

// Options configure a Normaliser. The zero value detects the format of
// every event, cuts at DefaultMaxMessage, reads zoneless times as UTC and
// uses the shipped log-source mapping.
type Options struct {
	// Format fixes the parser (one of the Format names; FormatSyslog for
	// either syslog), as a listener configured for one format does; ""
	// detects it per event.
	Format string
	// MaxSize cuts Raw at this many bytes (DefaultMaxMessage when 0).
	MaxSize int
	// Location is where timestamps without a zone (RFC 3164, NXLog's
	// EventTime) were written; UTC when nil.
	Location *time.Location
	// LogSources is the log-source mapping; the shipped one when nil.
	LogSources *LogSources
}

// Record is what a listener hands over: one message and how it came.
type Record struct {
	Raw []byte
	// Truncated says the listener already cut Raw (Framer did).
	Truncated  bool
	Source     events.Source
	ReceivedAt time.Time
	// Seq is the sender's sequence number or byte offset when the
	// transport has one (a file's offset, a RELP transaction within a
	// stable stream), 0 otherwise; it is part of the ID so that two
	// identical lines at different offsets stay two events.
	Seq int64
	// Line is the 1-based line of a file on which the record starts (the
	// element's first line in a JSON array, the row's in a CSV file), 0
	// when it did not come from a file.
	Line int64
}

// Normaliser turns Records into events.Events. It holds no mutable state,
// so one Normaliser serves every listener goroutine without locks.
type Normaliser struct {
	format  string
	max     int
	loc     *time.Location
	sources *LogSources
}

// New returns a Normaliser, checking the options; errors name the field.
func New(opts Options) (*Normaliser, error) {
	switch opts.Format {
	case "", FormatRFC5424, FormatRFC3164, FormatSyslog, FormatJSON, FormatCEF, FormatLEEF, FormatKV,
		FormatAuditd, FormatEVTX, FormatWinlogbeat, FormatWindowsFlat, FormatZeek, FormatSuricata:
	default:
		return nil, fmt.Errorf("ingest options: Format %q is not a parser Vigil has", opts.Format)
	}
	if opts.MaxSize < 0 {
		return nil, fmt.Errorf("ingest options: MaxSize %d is negative", opts.MaxSize)
	}
	n := &Normaliser{format: opts.Format, max: opts.MaxSize, loc: opts.Location, sources: opts.LogSources}
	if n.max == 0 {
		n.max = DefaultMaxMessage
	}
	if n.loc == nil {
		n.loc = time.UTC
	}
	if n.sources == nil {
		ls, err := LoadLogSources(nil)
		if err != nil {
			return nil, err
		}
		n.sources = ls
	}
	return n, nil
}

// Parse is Normalise for a record with no sequence that was not cut
// before.
func (n *Normaliser) Parse(raw []byte, src events.Source, received time.Time) events.Event {
	return n.Normalise(Record{Raw: raw, Source: src, ReceivedAt: received})
}

// Normalise parses one record into an Event. It never fails and never
// panics: text no parser can read is kept in Raw with ParseError saying
// why (and, if a parser ever panicked, the panic as ParseError), Raw is
// valid UTF-8 (invalid bytes become U+FFFD) cut at MaxSize, EventTime is
// the record's own time or ReceivedAt, and ID is stable (see eventID).
func (n *Normaliser) Normalise(r Record) events.Event { return n.normalise(r, true) }

// NormaliseLazyID is Normalise without the event's ID when the ID can be
// made later from the event itself: the ID is a SHA-256 of the whole
// text, a tenth of reading a Windows event, and a hunt over files shows
// only the few events that match. FillID then gives the ID Normalise
// would have.
func (n *Normaliser) NormaliseLazyID(r Record) events.Event { return n.normalise(r, false) }

// FillID sets ev.ID, when NormaliseLazyID left it empty, to the ID
// Normalise gives the record seq was read as. NormaliseLazyID leaves it
// empty only for an event with a time of its own, which is EventTime.
func FillID(ev *events.Event, seq int64) {
	if ev.ID == "" {
		ev.ID = eventID(ev.Source, seq, []byte(ev.Raw), ev.EventTime)
	}
}

func (n *Normaliser) normalise(r Record, withID bool) (ev events.Event) {
	raw := r.Raw
	ev.Truncated = r.Truncated
	if len(raw) > n.max {
		raw, ev.Truncated = raw[:n.max], true
	}
	if utf8.Valid(raw) {
		ev.Raw = string(raw)
	} else {
		ev.Raw = strings.ToValidUTF8(string(raw), "\uFFFD")
		withID = true // ev.Raw is not raw: FillID could not make the ID
	}
	ev.ReceivedAt = r.ReceivedAt
	ev.Source = r.Source
	ev.Fields = make(map[string]any, fieldsHint(ev.Raw))
	defer func() {
		if p := recover(); p != nil {
			ev.Fields = map[string]any{"message": ev.Raw}
			ev.ParseError = strings.ToValidUTF8(fmt.Sprintf("internal parser error: %v", p), "\uFFFD")
			ev.EventTime = ev.ReceivedAt
			ev.Product, ev.Service, ev.Category = "", "", ""
			ev.ID = eventID(r.Source, r.Seq, raw, time.Time{})
		}
	}()
	p := parsed{fields: ev.Fields}
	err := n.parse(trimLine(ev.Raw), r.ReceivedAt, &p)
	ev.Source.Format = p.format
	if p.host != "" {
		ev.Source.Host = p.host
	}
	if err != nil {
		ev.ParseError = strings.ToValidUTF8(err.Error(), "\uFFFD")
		clear(ev.Fields)
		ev.Fields["message"] = ev.Raw
	} else {
		ls := n.sources.Apply(p.format, ev.Fields)
		ev.Product, ev.Service, ev.Category = ls.Product, ls.Service, ls.Category
	}
	ev.EventTime = p.time
	if ev.EventTime.IsZero() {
		// No time of its own: the ID cannot be made later from the event
		// (FillID reads the time from EventTime), so it is made now.
		ev.EventTime, withID = r.ReceivedAt, true
	}
	if withID {
		ev.ID = eventID(r.Source, r.Seq, raw, p.time)
	}
	return ev
}

// fieldsHint guesses how many fields s will give, so that the map is
// made once at about the right size: growing a map rehashes it (6% of a
// Sysmon event's parse in a profile), and an oversized one costs its
// allocation (a hint of 24 was 11% of an RFC 5424 message's). A syslog
// line fits the 8 of one map group; JSON has about one field per three
// quotes (a member with a string value has four, a number two: counting
// one byte is vectorised, counting `":` was 5% of reading a Windows
// event), key=value formats one per '='.
func fieldsHint(s string) int {
	n := 0
	if strings.IndexByte(s, '{') >= 0 {
		n = strings.Count(s, `"`) / 3
	} else if strings.IndexByte(s, '=') >= 0 {
		n = strings.Count(s, "=")
	}
	return min(max(n+6, 8), 256)
}

// parsed is what a parser found besides the fields.
type parsed struct {
	format string
	fields map[string]any
	time   time.Time
	host   string
}

// trimLine drops what framing leaves around a message: a line end and
// leading spaces or a BOM.
func trimLine(s string) string {
	// Loops, not strings.TrimRight and TrimLeft, which build a set of
	// their cut characters at every call.
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return trimBOM(s)
}

// detect names the parser for text by its first bytes.
func detect(s string) string {
	switch {
	case s == "":
		return FormatText
	case s[0] == '<':
		if _, _, i, err := parsePRI("", s); err == nil {
			if strings.HasPrefix(s[i:], "1 ") {
				return FormatRFC5424
			}
			return FormatRFC3164
		}
	case s[0] == '{':
		return FormatJSON
	case strings.HasPrefix(s, "CEF:"):
		return FormatCEF
	case strings.HasPrefix(s, "LEEF:"):
		return FormatLEEF
	}
	if isAuditd(s) {
		return FormatAuditd
	}
	// A line from a file with an RFC 3339 stamp and no PRI (rsyslog's
	// RSYSLOG_FileFormat): "2026-12-06T13:06:54.568438+00:00 vm app: x".
	if len(s) > 11 && isDigit(s[0]) && isDigit(s[3]) && s[4] == '-' && s[10] == 'T' {
		return FormatRFC3164
	}
	if len(s) > 4 && s[3] == ' ' {
		for _, m := range months {
			if s[:3] == m {
				return FormatRFC3164
			}
		}
	}
	if looksKV(s) {
		return FormatKV
	}
	return FormatText
}

// parse runs the configured or detected parser on s.
func (n *Normaliser) parse(s string, received time.Time, p *parsed) error {
	f := n.format
	if f == "" {
		f = detect(s)
	} else if f == FormatSyslog {
		f = FormatRFC3164
		if _, _, i, err := parsePRI("", s); err == nil && strings.HasPrefix(s[i:], "1 ") {
			f = FormatRFC5424
		}
	}
	p.format = f
	m := p.fields
	switch f {
	case FormatRFC5424, FormatRFC3164:
		var msg Syslog
		var err error
		if f == FormatRFC5424 {
			msg, err = Parse5424(s)
		} else {
			msg, err = Parse3164(s, received, n.loc)
		}
		if err != nil {
			return err
		}
		n.payload(msg.Msg, received, p)
		msg.Fields(m)
		if p.time.IsZero() {
			p.time = msg.Timestamp
		}
		if p.host == "" {
			p.host = msg.Hostname
		}
		return nil
	case FormatJSON, FormatEVTX, FormatWinlogbeat, FormatWindowsFlat, FormatZeek, FormatSuricata:
		if err := FlattenJSON(s, m); err != nil {
			return err
		}
		n.jsonShape(f, p)
		return nil
	case FormatCEF:
		if err := ParseCEF(s, m); err != nil {
			return err
		}
		p.time = n.deviceTime(m, "rt", "deviceReceiptTime", "end", "start")
		p.host = firstText(m, "dvchost", "deviceHostName", "dvc")
		return nil
	case FormatLEEF:
		if err := ParseLEEF(s, m); err != nil {
			return err
		}
		p.time = n.deviceTime(m, "devTime")
		p.host = firstText(m, "identHostName", "srcHostName")
		return nil
	case FormatAuditd:
		t, err := ParseAuditd(s, m)
		p.time = t
		p.host = firstText(m, "node")
		return err
	case FormatKV:
		if err := ParseKV(s, m); err != nil {
			return err
		}
		p.time = n.kvTime(m)
		p.host = firstText(m, "devname", "host", "hostname")
		return nil
	}
	m["message"] = s
	return syntaxErr(FormatText, 0, "no parser recognised the text")
}

// payload parses a syslog MSG that holds a structured format (CEF,
// LEEF, JSON, an audit record, key=value) into p. The syslog header has
// parsed already, so a payload that only looked structured is no error:
// its partial fields are dropped and the message stays text.
func (n *Normaliser) payload(msg string, received time.Time, p *parsed) {
	f := detect(msg)
	switch f {
	case FormatCEF, FormatLEEF, FormatJSON, FormatAuditd, FormatKV:
	default:
		return
	}
	inner := parsed{fields: p.fields}
	sub := Normaliser{format: f, max: n.max, loc: n.loc, sources: n.sources}
	if err := sub.parse(msg, received, &inner); err != nil {
		clear(p.fields)
		return
	}
	p.format, p.time, p.host = inner.format, inner.time, inner.host
}

// jsonShape recognises which telemetry a flattened JSON object is
// (unless the listener fixed it), lifts its Sigma names and finds its
// time and host.
func (n *Normaliser) jsonShape(f string, p *parsed) {
	m := p.fields
	if f == FormatJSON {
		switch {
		case hasAny(m, "Event.System.EventID", "Event.System.EventID.#text", "Event.System.Channel"):
			f = FormatEVTX
		case hasAny(m, "winlog.event_id", "winlog.channel") || (has(m, "event_id") && hasAny(m, "log_name", "source_name")):
			f = FormatWinlogbeat
		case has(m, "EventID") && hasAny(m, "Channel", "SourceName", "EventLog", "Computer"):
			f = FormatWindowsFlat
		case isZeek(m):
			f = FormatZeek
		case isSuricata(m):
			f = FormatSuricata
		}
	}
	p.format = f
	var ok bool
	switch f {
	case FormatEVTX:
		windowsEVTX(m)
		p.time, ok = windowsTime(m, n.loc)
		p.host = firstText(m, "Computer")
	case FormatWinlogbeat:
		windowsWinlogbeat(m)
		p.time, ok = windowsTime(m, n.loc)
		p.host = firstText(m, "Computer")
	case FormatWindowsFlat:
		windowsFlat(m)
		p.time, ok = windowsTime(m, n.loc)
		p.host = firstText(m, "Computer")
	case FormatZeek:
		p.time, ok = zeekTime(m)
		p.host = firstText(m, "@system", "_system_name")
	case FormatSuricata:
		p.time, ok = suricataTime(m)
		p.host = firstText(m, "host", "sensor_name")
	default:
		for _, k := range [...]string{"@timestamp", "timestamp", "time", "TimeGenerated", "Timestamp", "CreationTime", "EventTime", "eventTime"} {
			if s, isText := m[k].(string); isText {
				if p.time, ok = parseAnyTime(s); ok {
					break
				}
			}
		}
		p.host = firstText(m, "host.name", "hostname", "Computer", "DeviceName", "Hostname", "host")
	}
	if !ok {
		p.time = time.Time{}
	}
}

// deviceTime reads CEF's and LEEF's device times: milliseconds since
// 1970, or "MMM dd yyyy HH:mm:ss[.SSS]" in the listener's location.
func (n *Normaliser) deviceTime(m map[string]any, keys ...string) time.Time {
	for _, k := range keys {
		s, ok := m[k].(string)
		if !ok || s == "" {
			continue
		}
		if isDigit(s[0]) && len(s) >= 12 {
			if ms, ok := number(s); ok && ms > 1e11 {
				return time.UnixMilli(int64(ms)).UTC()
			}
		}
		for _, l := range [...]string{"Jan 02 2006 15:04:05.000", "Jan 02 2006 15:04:05", "Jan _2 2006 15:04:05"} {
			if t, err := time.ParseInLocation(l, s, n.loc); err == nil {
				return t
			}
		}
		if t, ok := parseAnyTime(s); ok {
			return t
		}
	}
	return time.Time{}
}

// kvTime reads FortiGate's date= time= pair (and tz= when given).
func (n *Normaliser) kvTime(m map[string]any) time.Time {
	d, ok1 := m["date"].(string)
	t, ok2 := m["time"].(string)
	if !ok1 || !ok2 {
		return time.Time{}
	}
	if tm, err := time.ParseInLocation("2006-01-02 15:04:05", d+" "+t, n.loc); err == nil {
		if tz, ok := m["tz"].(string); ok {
			if z, err := time.Parse("-0700", tz); err == nil {
				_, off := z.Zone()
				tm = time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), 0, time.FixedZone(tz, off))
			}
		}
		return tm
	}
	return time.Time{}
}

func has(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func hasAny(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// firstText returns the first of keys whose value is non-empty text.
func firstText(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// eventID derives the stable event ID from SHA-256 over the source
// protocol, the sender's host (the address without its port), the
// sequence and the raw bytes as kept; own is the event's own time (the
// parsed time; zero when the text has none). Redelivery of the same
// message gives the same ID, so the store keeps it once:
//   - the port is left out because a sender that reconnects and resends
//     (rsyslog after a restart, RELP after a lost acknowledgement) comes
//     from a new ephemeral port;
//   - the receive time is left out: it differs on redelivery. The event's
//     own time is in the raw text, so it is the same on redelivery; it
//     leads the ID (timeLocalID) so that the stores' ID indexes grow at
//     one end instead of at random (ADR 0011).
//
// The cost is that one sender's byte-identical messages with no sequence
// are one event; syslog senders put a timestamp (and usually a PID) in
// each message, and files and RELP give a sequence.
func eventID(src events.Source, seq int64, raw []byte, own time.Time) string {
	h := sha256.New()
	host := src.Addr
	if hp, _, err := net.SplitHostPort(host); err == nil {
		host = hp
	}
	var b [8]byte
	h.Write([]byte(src.Protocol))
	h.Write([]byte{0})
	h.Write([]byte(host))
	h.Write([]byte{0})
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	h.Write(b[:])
	h.Write(raw)
	var sum [sha256.Size]byte
	return timeLocalID(h.Sum(sum[:0]), own)
}

// maxIDMillis is the largest time timeLocalID puts in an ID: 11 hex
// digits of milliseconds since 1970 reach the year 2527.
const maxIDMillis = 1<<44 - 1

// timeLocalID is an event ID of 32 lower-case hex digits from a hash of at
// least 16 bytes. With the event's own time (within 1970–2527) it is the
// time in milliseconds since 1970 as 11 hex digits, then 21 digits of the
// hash, so that IDs sort by event time and a store's unique index on them
// takes new events at its end: a random ID lands each insert on a random
// page of an index larger than the cache, which at millions of events
// was most of the store's write cost (ADR 0011). Without an own time it is
// 32 digits of the hash, as IDs were before: the receive time is not
// stable across a sender's resend, so it may not be part of the ID.
func timeLocalID(sum []byte, own time.Time) string {
	var out [32]byte
	ms := own.UnixMilli()
	if own.IsZero() || ms < 0 || ms > maxIDMillis {
		hex.Encode(out[:], sum[:16])
		return string(out[:])
	}
	const digits = "0123456789abcdef"
	for i := 10; i >= 0; i-- {
		out[i] = digits[ms&0xf]
		ms >>= 4
	}
	var h [22]byte
	hex.Encode(h[:], sum[:11])
	copy(out[11:], h[:21])
	return string(out[:])
}
