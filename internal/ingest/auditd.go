package ingest

import (
	"strings"
	"time"
)

// ParseAuditd parses one Linux audit record as auditd writes it to
// audit.log and audisp forwards it:
//
//	[node=HOST ]type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 … comm="arp" key=(null)
//
// into m: node, type, serial (the event's serial number, shared by the
// records of one event, which a later stage may group), and each
// key=value of the body (quoted values unquoted, hex-encoded ones such as
// proctitle kept as sent). A USER_* record's msg='op=… res=success' is
// parsed too, its pairs added beside msg. It returns the record's time.
func ParseAuditd(s string, m map[string]any) (time.Time, error) {
	const f = "auditd"
	i := 0
	if rest, ok := strings.CutPrefix(s, "node="); ok {
		j := strings.IndexByte(rest, ' ')
		if j < 0 {
			return time.Time{}, syntaxErr(f, len(s), "expected type= after node=")
		}
		m["node"] = rest[:j]
		i = len("node=") + j + 1
	}
	if !strings.HasPrefix(s[i:], "type=") {
		return time.Time{}, syntaxErr(f, i, "expected type=")
	}
	i += len("type=")
	j := strings.IndexByte(s[i:], ' ')
	if j < 0 {
		return time.Time{}, syntaxErr(f, len(s), "expected msg=audit(…) after type")
	}
	m["type"] = s[i : i+j]
	i += j + 1
	const stamp = "msg=audit("
	if !strings.HasPrefix(s[i:], stamp) {
		return time.Time{}, syntaxErr(f, i, "expected msg=audit(")
	}
	i += len(stamp)
	end := strings.IndexByte(s[i:], ')')
	if end < 0 {
		return time.Time{}, syntaxErr(f, i, "msg=audit( not closed")
	}
	ts, serial, _ := strings.Cut(s[i:i+end], ":")
	t, ok := epochTime(ts)
	if !ok {
		return time.Time{}, syntaxErr(f, i, "bad audit timestamp "+clip(ts))
	}
	m["serial"] = serial
	i += end + 1
	if i < len(s) && s[i] == ':' {
		i++
	}
	body := strings.TrimLeft(s[i:], " ")
	if body == "" {
		return t, nil
	}
	if err := ParseKV(body, m); err != nil {
		if se, ok := err.(*SyntaxError); ok {
			se.Format, se.Offset = f, se.Offset+len(s)-len(body)
		}
		return t, err
	}
	if inner, ok := m["msg"].(string); ok && looksKV(inner) {
		_ = ParseKV(inner, m) // the outer pairs stand even if the inner text is not all pairs
	}
	return t, nil
}

// isAuditd reports whether s looks like an audit record.
func isAuditd(s string) bool {
	if strings.HasPrefix(s, "node=") {
		j := strings.IndexByte(s, ' ')
		if j < 0 {
			return false
		}
		s = s[j+1:]
	}
	if !strings.HasPrefix(s, "type=") {
		return false
	}
	j := strings.IndexByte(s, ' ')
	return j > 0 && strings.HasPrefix(s[j+1:], "msg=audit(")
}
