package sigma

import (
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/events"
)

// Event is what a rule is evaluated against. Field returns a field's value
// by its Sigma name and whether the event has it. Values are strings,
// float64, bool, nil, or []any of those (other numeric types are read as
// well; anything else is matched only by exists).
type Event interface {
	Field(name string) (value any, ok bool)
}

// Keyworder is implemented by an Event that supports keyword (field-less)
// searches: Keywords calls yield with each text a keyword may occur in,
// stopping when yield returns false.
type Keyworder interface {
	Keywords(yield func(text string) bool)
}

// Map is an Event over a map of fields, such as decoded JSON. Field looks
// a name up as a key; failing that, a dotted name ("process.name") walks
// nested maps. Keywords yields every scalar value as text, nested maps
// and lists included.
type Map map[string]any

// Field implements Event.
func (m Map) Field(name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	if strings.IndexByte(name, '.') < 0 {
		return nil, false
	}
	var cur any = map[string]any(m)
	for name != "" {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		head, rest, _ := strings.Cut(name, ".")
		if v, ok := obj[name]; ok { // a dotted key inside a nested map
			return v, true
		}
		if cur, ok = obj[head]; !ok {
			return nil, false
		}
		name = rest
	}
	return cur, true
}

// Keywords implements Keyworder.
func (m Map) Keywords(yield func(string) bool) { yieldValues(map[string]any(m), yield) }

func yieldValues(v any, yield func(string) bool) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if !yieldValues(e, yield) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !yieldValues(e, yield) {
				return false
			}
		}
		return true
	case string:
		return yield(x)
	case nil:
		return true
	}
	if s, ok := scalarText(v); ok {
		return yield(s)
	}
	return true
}

// FromEvent adapts a Vigil event: Field reads ev.Fields (flat; the names
// Sigma rules use resolve at the top level), Keywords yields every field
// value as text, and ev.Raw when the event has no fields (it could not be
// parsed). The conversion allocates nothing.
func FromEvent(ev *events.Event) Event { return (*vigilEvent)(ev) }

type vigilEvent events.Event

func (e *vigilEvent) Field(name string) (any, bool) {
	v, ok := e.Fields[name]
	return v, ok
}

func (e *vigilEvent) Keywords(yield func(string) bool) {
	if len(e.Fields) == 0 {
		if e.Raw != "" {
			yield(e.Raw)
		}
		return
	}
	for _, v := range e.Fields {
		if !yieldValues(v, yield) {
			return
		}
	}
}

// scalarText is a non-string scalar's text, as events.FieldText writes it.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	}
	return "", false
}

// scalarNumber is a scalar as a number: numbers as they are, strings that
// parse as decimal (or 0x hexadecimal) numbers.
func scalarNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint32:
		return float64(x), true
	case string:
		return parseNumber(x)
	}
	return 0, false
}

func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		n, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(n), err == nil
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
