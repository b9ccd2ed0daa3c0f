package ingest

import (
	"strings"
	"time"
)

// Parse5424 parses an RFC 5424 syslog message:
//
//	<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
//
// as logger --rfc5424, rsyslog's RSYSLOG_SyslogProtocol23Format and
// syslog-ng's syslog() driver send it. It is strict where the grammar is
// unambiguous (PRI, VERSION, the SD brackets and quoting) and lenient
// where senders differ in practice: header fields longer than the RFC's
// limits are accepted, and the timestamp may carry more than six
// fractional digits. Structured-data values are unescaped per section
// 6.3.3 (\" \\ \] become the character; any other backslash stays).
func Parse5424(s string) (Syslog, error) {
	const f = "rfc5424"
	var m Syslog
	fac, sev, i, err := parsePRI(f, s)
	if err != nil {
		return m, err
	}
	m.Facility, m.Severity = fac, sev
	// VERSION: NONZERO-DIGIT 0*2DIGIT; Vigil reads only version 1 but
	// accepts the digits so that the error names the version.
	j := i
	for j < len(s) && j-i < 3 && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i || s[i] == '0' {
		return m, syntaxErr(f, i, "expected VERSION after PRI")
	}
	if s[i:j] != "1" {
		return m, syntaxErr(f, i, "unsupported syslog VERSION "+s[i:j])
	}
	m.Version = 1
	i = j
	if i >= len(s) || s[i] != ' ' {
		return m, syntaxErr(f, i, "expected a space after VERSION")
	}
	i++

	var ts string
	ts, i = token(s, i)
	if ts != "-" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return m, syntaxErr(f, i-len(ts), "TIMESTAMP is not RFC 3339: "+clip(ts))
		}
		m.Timestamp = t
	}
	hdr := [4]*string{&m.Hostname, &m.AppName, &m.ProcID, &m.MsgID}
	names := [4]string{"HOSTNAME", "APP-NAME", "PROCID", "MSGID"}
	for k, p := range hdr {
		if i >= len(s) || s[i] != ' ' {
			return m, syntaxErr(f, i, "expected a space before "+names[k])
		}
		i++
		var v string
		v, i = token(s, i)
		if v == "" {
			return m, syntaxErr(f, i, names[k]+" is empty (NILVALUE is '-')")
		}
		if v != "-" {
			*p = v
		}
	}
	if i >= len(s) || s[i] != ' ' {
		return m, syntaxErr(f, i, "expected a space before STRUCTURED-DATA")
	}
	i++
	if i >= len(s) {
		return m, syntaxErr(f, i, "expected STRUCTURED-DATA")
	}
	if s[i] == '-' {
		i++
	} else {
		i, err = parseSD(s, i, &m.SD)
		if err != nil {
			return m, err
		}
	}
	if i < len(s) {
		if s[i] != ' ' {
			return m, syntaxErr(f, i, "expected a space before MSG")
		}
		m.Msg = trimBOM(s[i+1:])
	}
	return m, nil
}

// parseSD reads one or more SD-ELEMENTs starting at s[i] == '['.
func parseSD(s string, i int, out *[]SDParam) (int, error) {
	const f = "rfc5424"
	if s[i] != '[' {
		return i, syntaxErr(f, i, "expected '[' or '-' for STRUCTURED-DATA")
	}
	for i < len(s) && s[i] == '[' {
		i++
		id, j := sdName(s, i)
		if id == "" {
			return j, syntaxErr(f, j, "expected an SD-ID")
		}
		i = j
		n := 0
		for i < len(s) && s[i] == ' ' {
			i++
			name, j := sdName(s, i)
			if name == "" {
				return j, syntaxErr(f, j, "expected a PARAM-NAME in ["+clip(id)+"]")
			}
			i = j
			if i+1 >= len(s) || s[i] != '=' || s[i+1] != '"' {
				return i, syntaxErr(f, i, `expected ="value" after `+clip(name))
			}
			i += 2
			v, j, err := sdValue(s, i)
			if err != nil {
				return j, err
			}
			i = j
			*out = append(*out, SDParam{ID: id, Name: name, Value: v})
			n++
		}
		if i >= len(s) || s[i] != ']' {
			return i, syntaxErr(f, i, "expected ']' closing ["+clip(id)+"]")
		}
		i++
		if n == 0 {
			*out = append(*out, SDParam{ID: id})
		}
	}
	return i, nil
}

// sdName reads an SD-NAME: printable US-ASCII except '=', ' ', ']' and '"'.
func sdName(s string, i int) (string, int) {
	j := i
	for j < len(s) {
		c := s[j]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ']' || c == '"' {
			break
		}
		j++
	}
	return s[i:j], j
}

// sdValue reads a PARAM-VALUE up to its closing unescaped quote. Without
// escapes the value is a substring of s; with them it is built once.
func sdValue(s string, i int) (string, int, error) {
	start := i
	var b *strings.Builder
	for i < len(s) {
		switch c := s[i]; c {
		case '"':
			if b == nil {
				return s[start:i], i + 1, nil
			}
			return b.String(), i + 1, nil
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
				if b == nil {
					b = &strings.Builder{}
					b.WriteString(s[start:i])
				}
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			fallthrough
		default:
			if b != nil {
				b.WriteByte(c)
			}
			i++
		}
	}
	return "", i, syntaxErr("rfc5424", start, "PARAM-VALUE has no closing quote")
}

// clip shortens text quoted in an error message, so that a megabyte of
// garbage does not become a megabyte of error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
