package ingest

import (
	"strings"
	"time"
)

// Parse3164 parses a BSD syslog message (RFC 3164) the way senders really
// write it, which is looser than the RFC:
//
//	<13>Dec  6 13:06:54 vm app[3357]: with pid      logger --rfc3164 -i
//	<13>Dec  6 13:06:54 app: msg                    logger to /dev/log: no HOSTNAME
//	<13>2026-12-06T13:06:54.568438+00:00 vm app: x  rsyslog's forwarding format
//	<134>Nov 27 12:00:01 2018 fw CEF:0|…            Cisco-style year, CEF after the host
//	Dec 10 06:55:46 LabSZ sshd[24200]: …            a line from /var/log: no PRI
//	<189>date=2019-05-10 time=11:37:47 devname=…    FortiGate: no header at all
//
// The PRI is optional (Facility and Severity are then -1). A timestamp
// without a year takes the year of now (the receive time), or the year
// before when that would put it more than a month after now, so that
// December's messages read in January land in December. Timestamps with no
// zone are read in loc. A HOSTNAME is present unless the word after the
// timestamp ends in ':' or holds '[' (then it is the TAG). When the text
// after the header has no TAG ("word:" or "word[pid]:"), all of it is the
// message. The parser fails only without a recognisable timestamp, unless
// CEF, LEEF, JSON or key=value follows the PRI directly (then Timestamp
// is zero and all of it is the message).
func Parse3164(s string, now time.Time, loc *time.Location) (Syslog, error) {
	const f = "rfc3164"
	m := Syslog{Facility: -1, Severity: -1}
	i := 0
	if len(s) > 0 && s[0] == '<' {
		fac, sev, j, err := parsePRI(f, s)
		if err != nil {
			return m, err
		}
		m.Facility, m.Severity, i = fac, sev, j
	}
	if loc == nil {
		loc = time.UTC
	}
	t, j, ok := parseBSDTime(s, i, now, loc)
	if !ok {
		// FortiGate sends "<189>date=2019-05-10 time=11:37:47 …" and some
		// appliances "<134>CEF:0|…": a PRI and then the content, with no
		// header at all. Structured content there is the message.
		if rest := s[i:]; i > 0 && (isMsgStart(rest) || looksKV(rest)) {
			m.Msg = rest
			return m, nil
		}
		return m, syntaxErr(f, i, "expected a timestamp (Mmm dd hh:mm:ss or RFC 3339)")
	}
	m.Timestamp, i = t, j
	for i < len(s) && s[i] == ' ' {
		i++
	}
	// HOSTNAME, unless the next word is the TAG or the content itself.
	if w, e := token(s, i); w != "" && e < len(s) && !isTag(w) && !isMsgStart(w) {
		m.Hostname = w
		i = e + 1
	}
	rest := s[i:]
	if tag, pid, n, ok := parseTag(rest); ok {
		m.AppName, m.ProcID = tag, pid
		rest = rest[n:]
	}
	m.Msg = trimBOM(rest)
	return m, nil
}

// isTag reports whether a word is a TAG rather than a HOSTNAME: "sshd:",
// "sshd[42]:", "app[42]".
func isTag(w string) bool {
	return strings.HasSuffix(w, ":") || strings.IndexByte(w, '[') >= 0
}

// isMsgStart reports whether a word begins content that has no HOSTNAME
// or TAG before it (CEF, LEEF or JSON sent straight after the timestamp
// or the host).
func isMsgStart(w string) bool {
	return strings.HasPrefix(w, "CEF:") || strings.HasPrefix(w, "LEEF:") || strings.HasPrefix(w, "{")
}

// parseTag reads "tag:", "tag[pid]:" or "tag[pid]" followed by optional
// spaces at the start of s and returns the tag, the pid and how much of s
// they took. Anything else (CEF, LEEF, a word without ':') is no TAG.
func parseTag(s string) (tag, pid string, n int, ok bool) {
	if isMsgStart(s) {
		return "", "", 0, false
	}
	// A TAG is a word; one holding '=' or a quote is a key=value or JSON
	// message ("time=12:00:01 …") whose ':' is not the TAG's.
	j := 0
	for j < len(s) && j < 128 && s[j] != ':' && s[j] != '[' && s[j] != ' ' {
		if s[j] == '=' || s[j] == '"' {
			return "", "", 0, false
		}
		j++
	}
	if j == 0 || j >= len(s) || j == 128 {
		return "", "", 0, false
	}
	tag = s[:j]
	if s[j] == '[' {
		k := strings.IndexByte(s[j:], ']')
		if k < 0 {
			return "", "", 0, false
		}
		pid = s[j+1 : j+k]
		j += k + 1
		if j < len(s) && s[j] == ':' {
			j++
		}
	} else if s[j] == ':' {
		j++
	} else {
		return "", "", 0, false
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	return tag, pid, j, true
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseBSDTime reads a syslog timestamp at s[i:]: "Mmm dd hh:mm:ss" (day
// space- or zero-padded), with optional ".frac", optional " yyyy" before
// or after the time, or an RFC 3339 timestamp. It returns the offset after
// it.
func parseBSDTime(s string, i int, now time.Time, loc *time.Location) (time.Time, int, bool) {
	if i+4 <= len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
		ts, e := token(s, i)
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			// RFC 3339 without a zone (some forwarders): read in loc.
			t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", ts, loc)
			if err != nil {
				return time.Time{}, i, false
			}
		}
		if t.IsZero() {
			return time.Time{}, i, false // year 1 is no time at all
		}
		return t, e, true
	}
	if i+15 > len(s) {
		return time.Time{}, i, false
	}
	mon := 0
	for k, name := range months {
		if s[i:i+3] == name {
			mon = k + 1
			break
		}
	}
	if mon == 0 || s[i+3] != ' ' {
		return time.Time{}, i, false
	}
	j := i + 4
	if s[j] == ' ' { // "Dec  6"
		j++
	}
	day, j, ok := digits(s, j, 1, 2)
	if !ok || day < 1 || day > 31 || j >= len(s) || s[j] != ' ' {
		return time.Time{}, i, false
	}
	j++
	year := 0
	if y, k, ok := digits(s, j, 4, 4); ok && k < len(s) && s[k] == ' ' {
		year, j = y, k+1 // "Nov 27 2018 12:00:01"
	}
	hh, j, ok1 := digits(s, j, 2, 2)
	ok1 = ok1 && j < len(s) && s[j] == ':'
	mm, j, ok2 := digits(s, j+1, 2, 2)
	ok2 = ok2 && j < len(s) && s[j] == ':'
	ss, j, ok3 := digits(s, j+1, 2, 2)
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, i, false
	}
	nsec := 0
	if j < len(s) && s[j] == '.' {
		k := j + 1
		scale := 100000000
		for k < len(s) && isDigit(s[k]) {
			if scale > 0 {
				nsec += int(s[k]-'0') * scale
				scale /= 10
			}
			k++
		}
		if k > j+1 {
			j = k
		}
	}
	if year == 0 {
		if y, k, ok := digits(s, j+1, 4, 4); ok && j < len(s) && s[j] == ' ' && (k == len(s) || s[k] == ' ') {
			year, j = y, k // "Nov 27 12:00:01 2018"
		}
	}
	if year == 0 {
		nl := now.In(loc)
		year = nl.Year()
		t := time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc)
		if t.Sub(nl) > 31*24*time.Hour {
			t = time.Date(year-1, time.Month(mon), day, hh, mm, ss, nsec, loc)
		}
		return t, j, true
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc), j, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits reads between min and max decimal digits at s[i:].
func digits(s string, i, min, max int) (int, int, bool) {
	v, j := 0, i
	for j < len(s) && j-i < max && isDigit(s[j]) {
		v = v*10 + int(s[j]-'0')
		j++
	}
	return v, j, j-i >= min
}
