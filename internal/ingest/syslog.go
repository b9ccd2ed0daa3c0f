package ingest

import (
	"strings"
	"time"
)

// Syslog is one parsed syslog message, RFC 5424 or RFC 3164. Its strings
// are substrings of the input except where structured-data escapes had to
// be removed.
type Syslog struct {
	// Facility and Severity come from PRI; both are -1 when the message
	// had no PRI (a line from a file rather than the wire).
	Facility, Severity int
	// Version is 1 for RFC 5424 and 0 for RFC 3164.
	Version int
	// Timestamp is zero when the message gave none (RFC 5424 NILVALUE).
	Timestamp time.Time
	// Hostname, AppName, ProcID and MsgID are "" for NILVALUE or absent;
	// for RFC 3164 AppName and ProcID are the TAG and its [pid].
	Hostname, AppName, ProcID, MsgID string
	// SD is the structured data, in order.
	SD []SDParam
	// Msg is the free-form message (a leading UTF-8 BOM removed).
	Msg string
}

// SDParam is one structured-data parameter: [ID Name="Value"]. An element
// with no parameters is kept as one SDParam with an empty Name, so that
// its presence is still searchable.
type SDParam struct {
	ID, Name, Value string
}

// Fields adds the message's fields to m under the names Vigil documents
// for syslog: syslog.facility, syslog.severity, syslog.hostname,
// syslog.appname, syslog.procid, syslog.msgid, sd.<id>.<param> and
// message. The header's names carry the syslog. prefix because a payload
// in MSG (CEF, JSON, an audit record) has fields of its own called
// severity, hostname or name, and neither may overwrite the other.
// message is the MSG unless the payload set a message of its own.
func (s *Syslog) Fields(m map[string]any) {
	if s.Facility >= 0 {
		m["syslog.facility"] = float64(s.Facility)
		m["syslog.severity"] = float64(s.Severity)
	}
	setNonEmpty(m, "syslog.hostname", s.Hostname)
	setNonEmpty(m, "syslog.appname", s.AppName)
	setNonEmpty(m, "syslog.procid", s.ProcID)
	setNonEmpty(m, "syslog.msgid", s.MsgID)
	if _, set := m["message"]; !set {
		m["message"] = s.Msg
	}
	for _, p := range s.SD {
		if p.Name == "" {
			m["sd."+p.ID] = ""
			continue
		}
		m["sd."+p.ID+"."+p.Name] = p.Value
	}
}

func setNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// parsePRI reads "<N>" at the start of s (RFC 5424 section 6.2.1: one to
// three digits, at most 191) and returns facility, severity and the
// offset after '>'.
func parsePRI(format, s string) (fac, sev, next int, err error) {
	if len(s) == 0 || s[0] != '<' {
		return 0, 0, 0, syntaxErr(format, 0, "expected '<' starting PRI")
	}
	v, i := 0, 1
	for ; i < len(s) && i <= 4 && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int(s[i]-'0')
	}
	if i == 1 || i > 4 || i >= len(s) || s[i] != '>' {
		return 0, 0, 0, syntaxErr(format, i, "PRI must be one to three digits then '>'")
	}
	if v > 191 {
		return 0, 0, 0, syntaxErr(format, 1, "PRI over 191")
	}
	return v / 8, v % 8, i + 1, nil
}

// token returns the text of s from i up to the next space (or the end)
// and the offset of that space.
func token(s string, i int) (string, int) {
	j := strings.IndexByte(s[i:], ' ')
	if j < 0 {
		return s[i:], len(s)
	}
	return s[i : i+j], i + j
}

// trimBOM drops a UTF-8 byte order mark, which RFC 5424 section 6.4 lets a
// sender put before an MSG that is UTF-8.
func trimBOM(s string) string {
	return strings.TrimPrefix(s, "\xef\xbb\xbf")
}
