package ingest

import (
	"strconv"
	"strings"
)

// ParseLEEF parses an IBM QRadar Log Event Extended Format record into m:
//
//	LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value…
//	LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|key=value<D>key=value…
//
// The header fields take CEF's names (deviceVendor, deviceProduct,
// deviceVersion, deviceEventClassId) so one log-source rule matches a
// vendor whichever format it sends, plus leefVersion. LEEF 2.0's delimiter
// is one character or its hex code ("^", "x5E", "0x5E"); when it is empty
// or absent the delimiter is a tab, as in 1.0. LEEF has no escaping: a
// value is everything after the first '=' up to the delimiter. Some 1.0
// senders leave out the '|' before the attributes, and some 2.0 senders
// leave out the delimiter field; both are accepted.
func ParseLEEF(s string, m map[string]any) error {
	const f = "leef"
	if !strings.HasPrefix(s, "LEEF:") {
		return syntaxErr(f, 0, `expected "LEEF:"`)
	}
	i := 5
	names := [5]string{"leefVersion", "deviceVendor", "deviceProduct", "deviceVersion", "deviceEventClassId"}
	for k, name := range names {
		j := strings.IndexByte(s[i:], '|')
		if j < 0 {
			if k == 4 {
				// "…|EventID" with no attributes at all.
				m[name] = s[i:]
				return nil
			}
			return syntaxErr(f, len(s), "header has "+strconv.Itoa(k+1)+" of 6 '|'-separated fields")
		}
		m[name] = s[i : i+j]
		i += j + 1
	}
	delim := "\t"
	if v, _ := m["leefVersion"].(string); strings.HasPrefix(v, "2") {
		// The delimiter field, if present, is short and has no '='.
		if j := strings.IndexByte(s[i:], '|'); j >= 0 && j <= 6 && !strings.Contains(s[i:i+j], "=") {
			if d := leefDelimiter(s[i : i+j]); d != "" {
				delim = d
			}
			i += j + 1
		}
	}
	attrs := s[i:]
	for attrs != "" {
		var pair string
		if j := strings.Index(attrs, delim); j >= 0 {
			pair, attrs = attrs[:j], attrs[j+len(delim):]
		} else {
			pair, attrs = attrs, ""
		}
		if k := strings.IndexByte(pair, '='); k > 0 {
			m[strings.TrimSpace(pair[:k])] = strings.TrimRight(pair[k+1:], "\r\n")
		}
	}
	return nil
}

// leefDelimiter reads LEEF 2.0's delimiter field: a character, or "xHH" /
// "0xHH" for its code.
func leefDelimiter(d string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(d, "0"), "x")
	if len(d) > 1 && h != d && len(h) >= 1 && len(h) <= 4 {
		if n, err := strconv.ParseUint(h, 16, 32); err == nil && n > 0 && n < 0x80 {
			return string(rune(n))
		}
	}
	return d
}
