package ingest

import "strings"

// ParseKV adds the key=value pairs of s to m: pairs are separated by
// spaces or tabs, a value is bare (up to the next space), "double quoted"
// or 'single quoted', and inside quotes a backslash escapes the quote or a
// backslash. This is the shape of FortiGate's native syslog, auditd
// records, Linux kernel and many appliance logs. Words without '=' are
// skipped; a key seen twice keeps its last value. It fails when s holds no
// pair at all or a quote is left open, reporting the offset.
func ParseKV(s string, m map[string]any) error {
	const f = "kv"
	n := 0
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		if i >= len(s) || s[i] != '=' || i == ks {
			// A word without '=': skip it.
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			continue
		}
		key := s[ks:i]
		i++
		var v string
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			var err error
			v, i, err = quoted(f, s, i)
			if err != nil {
				return err
			}
		} else {
			vs := i
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			v = s[vs:i]
		}
		m[key] = v
		n++
	}
	if n == 0 {
		return syntaxErr(f, 0, "no key=value pair")
	}
	return nil
}

// quoted reads a quoted value starting at the quote s[i] and returns it
// without quotes, and the offset after the closing quote.
func quoted(format, s string, i int) (string, int, error) {
	q := s[i]
	start := i + 1
	var b *strings.Builder
	for j := start; j < len(s); j++ {
		c := s[j]
		if c == '\\' && j+1 < len(s) && (s[j+1] == q || s[j+1] == '\\') {
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(s[start:j])
			}
			b.WriteByte(s[j+1])
			j++
			continue
		}
		if c == q {
			if b == nil {
				return s[start:j], j + 1, nil
			}
			return b.String(), j + 1, nil
		}
		if b != nil {
			b.WriteByte(c)
		}
	}
	return "", len(s), syntaxErr(format, i, "quote never closed")
}

// looksKV reports whether s starts with a key=value pair: a word of
// letters, digits, '_', '-' or '.' followed by '='. Detection uses it so
// that prose with an '=' further on stays prose.
func looksKV(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '=' {
			return i > 0
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
		i++
	}
	return false
}
