// Package enum is the one shape of Vigil's closed sets of string values —
// a product kind, a criticality, a severity, a case status: the values in
// their order (for help text, errors, ranks and indexes) and the other
// spellings people write in CSV files, forms and commands. Each domain
// declares its type and constants and one Set; the type adds only the
// methods it needs.
package enum

import (
	"slices"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
)

// Set is a closed set of values of T.
type Set[T ~string] struct {
	values   []T
	aliases  map[string]T // other spellings, lower case
	optional bool         // "" is a value (not set)
}

// Of is the set of values, in order.
func Of[T ~string](values ...T) *Set[T] { return &Set[T]{values: values} }

// Aliases adds other spellings (lower case) of values; it returns e.
func (e *Set[T]) Aliases(m map[string]T) *Set[T] {
	e.aliases = m
	return e
}

// Optional makes "" (not set) a value too; it returns e.
func (e *Set[T]) Optional() *Set[T] {
	e.optional = true
	return e
}

// Parse reads s in any case, trimmed, in any of its spellings.
func (e *Set[T]) Parse(s string) (T, bool) {
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
func (e *Set[T]) Valid(v T) bool {
	return (v == "" && e.optional) || slices.Contains(e.values, v)
}

// Values returns the values in order (a copy).
func (e *Set[T]) Values() []T { return slices.Clone(e.values) }

// Rank is v's place in the order, from 1; 0 when v is not a value.
func (e *Set[T]) Rank(v T) int { return slices.Index(e.values, v) + 1 }

// List is the values for people: "a, b, c".
func (e *Set[T]) List() string {
	s := make([]string, len(e.values))
	for i, v := range e.values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Check returns nil when v is a value, else an invalid-input error that
// names field and the values allowed.
func (e *Set[T]) Check(field string, v T) error {
	if e.Valid(v) {
		return nil
	}
	return fault.Invalidf(field, "%q is not one of %s", string(v), e.List())
}
