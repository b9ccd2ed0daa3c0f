package supply

import (
	"slices"
	"strings"
)

// enum is a closed set of string values in their order (for help text,
// errors and indexes), with the other spellings people write in CSV files
// and forms. Each of the register's enumerations is one of these; its type
// adds only the methods it needs.
type enum[T ~string] struct {
	values  []T
	aliases map[string]T // other spellings, lower case
	// optional means "" is a value (not set).
	optional bool
}

// Parse reads s in any case, trimmed, in any of its spellings.
func (e *enum[T]) Parse(s string) (T, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" && e.optional {
		return "", true
	}
	if v, ok := e.aliases[s]; ok {
		return v, true
	}
	if slices.Contains(e.values, T(s)) {
		return T(s), true
	}
	return "", false
}

// Valid reports whether v is one of the values (or "" when optional).
func (e *enum[T]) Valid(v T) bool {
	return (v == "" && e.optional) || slices.Contains(e.values, v)
}

// Values returns the values in order (a copy).
func (e *enum[T]) Values() []T { return slices.Clone(e.values) }

// List is the values for people: "a, b, c".
func (e *enum[T]) List() string {
	s := make([]string, len(e.values))
	for i, v := range e.values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// check normalises *v (Parse) and, when it is not a value, adds the
// problem naming field and the values allowed.
func (e *enum[T]) check(ps *problems, field string, v *T) {
	p, ok := e.Parse(string(*v))
	if !ok {
		ps.add(field, "%q is not one of %s", *v, e.List())
	}
	*v = p
}
