package ingest

import (
	"strconv"
	"strings"
)

// cefHeader names the seven CEF header fields with ArcSight's full names,
// which LEEF's header reuses so that one log-source rule (by deviceVendor
// and deviceProduct) serves both.
var cefHeader = [7]string{"cefVersion", "deviceVendor", "deviceProduct", "deviceVersion", "deviceEventClassId", "name", "severity"}

// ParseCEF parses an ArcSight Common Event Format record (CEF
// Implementation Standard, revision 25) into m:
//
//	CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
//
// s must start at "CEF:" (a syslog header before it is the caller's). In
// the header a pipe or backslash is escaped with a backslash. The
// extension is space-separated key=value pairs where a value may hold
// spaces: a value runs up to the space before the next unescaped "key=".
// In values \= \\ \| are the character and \n \r a newline. Extension
// keys are kept as sent (src, dst, act, cs1, cs1Label…).
func ParseCEF(s string, m map[string]any) error {
	const f = "cef"
	if !strings.HasPrefix(s, "CEF:") {
		return syntaxErr(f, 0, `expected "CEF:"`)
	}
	i := 4
	for k := 0; k < 7; k++ {
		v, j, ok := headerField(s, i)
		if !ok {
			return syntaxErr(f, j, "header has "+strconv.Itoa(k+1)+" of 8 '|'-separated fields")
		}
		m[cefHeader[k]] = v
		i = j
	}
	return parseCEFExtension(s, i, m)
}

// headerField reads a '|'-terminated header field from s[i:] with \| and
// \\ escapes, returning it and the offset after the '|'.
func headerField(s string, i int) (string, int, bool) {
	start := i
	var b *strings.Builder
	for ; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '\\') {
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(s[start:i])
			}
			b.WriteByte(s[i+1])
			i++
			continue
		}
		if c == '|' {
			if b == nil {
				return s[start:i], i + 1, true
			}
			return b.String(), i + 1, true
		}
		if b != nil {
			b.WriteByte(c)
		}
	}
	return "", i, false
}

// parseCEFExtension reads the extension at s[i:]. It finds each unescaped
// '=' and takes the word before it as the key; the value is everything up
// to the space before the next key.
func parseCEFExtension(s string, i int, m map[string]any) error {
	ext := s[i:]
	key := ""
	valStart := -1
	for j := 0; j < len(ext); j++ {
		c := ext[j]
		if c == '\\' {
			j++ // an escaped character is never a separator
			continue
		}
		if c != '=' {
			continue
		}
		// The key is the word ending at j.
		ks := j
		for ks > 0 && ext[ks-1] != ' ' {
			ks--
		}
		if ks == j || ks <= valStart {
			// "a=b=c" or "=x": the '=' belongs to the value (unescaped,
			// as some senders write it).
			continue
		}
		if key != "" {
			m[key] = cefValue(strings.TrimRight(ext[valStart:ks], " "))
		}
		key, valStart = ext[ks:j], j+1
	}
	if key != "" {
		m[key] = cefValue(strings.TrimRight(ext[valStart:], " \r\n"))
	}
	return nil
}

// cefValue removes extension escapes; without any it returns v itself.
func cefValue(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case '=', '\\', '|':
				b.WriteByte(v[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(v[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
