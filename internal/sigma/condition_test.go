package sigma

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCondition(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"selection", "selection"},
		{"a and b", "(a and b)"},
		{"a or b", "(a or b)"},
		{"a and b or c", "((a and b) or c)"},
		{"a or b and c", "(a or (b and c))"},
		{"not a and b", "(not a and b)"},
		{"not (a and b)", "not (a and b)"},
		{"a and not b or c", "((a and not b) or c)"},
		{"not not a", "not not a"},
		{"(a or b) and c", "((a or b) and c)"},
		{"((a))", "a"},
		{"1 of selection*", "1 of selection*"},
		{"all of selection_*", "all of selection_*"},
		{"1 of them", "1 of them"},
		{"all of them", "all of them"},
		{"selection and not 1 of filter_main_* and not 1 of filter_optional_*", "(selection and not 1 of filter_main_* and not 1 of filter_optional_*)"},
		{"not 1 of filter*", "not 1 of filter*"},
		{"1 of sel* or all of x*", "(1 of sel* or all of x*)"},
		{"A AND NOT B", "(A and not B)"},
		{"sel-1 and sel.2", "(sel-1 and sel.2)"},
		{"  a\n and\tb ", "(a and b)"},
	} {
		e, err := ParseCondition(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("%q parsed as %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseConditionErrors(t *testing.T) {
	for _, c := range []struct {
		in          string
		want        string
		offset      int
		unsupported bool
	}{
		{"", "empty condition", 0, false},
		{"a and", "unexpected end of condition", 5, false},
		{"(a or b", "expected \")\"", 7, false},
		{"a b", "unexpected \"b\"", 2, false},
		{"a )", "unexpected \")\"", 2, false},
		{"all selection", "expected \"of\"", 4, false},
		{"1 of", "expected a search-identifier pattern", 4, false},
		{"1 of (a)", "expected a search-identifier pattern", 5, false},
		{"2 of sel*", "only \"1 of\" and \"all of\"", 0, true},
		{"sel | count() > 5", "aggregation", 4, true},
		{"a and $", "unexpected character", 6, false},
		{"and", "unexpected \"and\"", 0, false},
		{strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200), "nested more than", 101, false},
		{strings.Repeat("not ", 200) + "a", "nested more than", 404, false},
	} {
		_, err := ParseCondition(c.in)
		var ce *ConditionError
		if !errors.As(err, &ce) {
			t.Errorf("%q: error %v, want a *ConditionError", c.in, err)
			continue
		}
		if !strings.Contains(ce.Msg, c.want) || ce.Offset != c.offset {
			t.Errorf("%q: got %q at %d, want %q at %d", c.in, ce.Msg, ce.Offset, c.want, c.offset)
		}
		if errors.Is(err, ErrUnsupported) != c.unsupported {
			t.Errorf("%q: unsupported = %v, want %v", c.in, !c.unsupported, c.unsupported)
		}
	}
}

// TestConditionForms evaluates every condition form over searches a, b,
// _c and filter_x/filter_y against events that satisfy some of them.
func TestConditionForms(t *testing.T) {
	det := `    a:
        A: 1
    b:
        B: 1
    _c:
        C: 1
    filter_x:
        X: 1
    filter_y:
        Y: 1
    condition: %s
`
	ev := func(fields ...string) Map {
		m := Map{}
		for _, f := range fields {
			m[f] = "1"
		}
		return m
	}
	for _, c := range []struct {
		cond  string
		ev    Map
		match bool
	}{
		{"a", ev("A"), true},
		{"a", ev("B"), false},
		{"a and b", ev("A", "B"), true},
		{"a and b", ev("A"), false},
		{"a or b", ev("B"), true},
		{"a or b", ev(), false},
		{"not a", ev("B"), true},
		{"not a", ev("A"), false},
		{"a and not b", ev("A"), true},
		{"a and not b", ev("A", "B"), false},
		{"not (a and b)", ev("A"), true},
		{"not (a and b)", ev("A", "B"), false},
		{"not a and b", ev("B"), true},
		{"not a and b", ev("A", "B"), false},
		{"a or b and _c", ev("A"), true}, // and binds tighter
		{"(a or b) and _c", ev("A"), false},
		{"1 of filter_*", ev("Y"), true},
		{"1 of filter_*", ev("A"), false},
		{"all of filter_*", ev("X"), false},
		{"all of filter_*", ev("X", "Y"), true},
		{"a and not 1 of filter_*", ev("A", "X"), false},
		{"a and not 1 of filter_*", ev("A"), true},
		{"1 of them", ev("B"), true},
		{"1 of them", ev("C"), false}, // _c is not one of "them"
		{"all of them", ev("A", "B", "X", "Y"), true},
		{"all of them", ev("A", "B", "X"), false},
		{"1 of _*", ev("C"), true}, // a pattern may name underscored searches
		{"1 of *", ev("C"), true},
		{"all of a", ev("A"), true},
	} {
		r := compileDet(t, strings.Replace(det, "%s", c.cond, 1), Options{})
		if got := r.Match(c.ev); got != c.match {
			t.Errorf("%s on %v: got %v, want %v", c.cond, c.ev, got, c.match)
		}
	}
	// Several conditions are OR-ed.
	r := compileDet(t, "    a:\n        A: 1\n    b:\n        B: 1\n    condition:\n        - a\n        - b\n", Options{})
	if !r.Match(Map{"B": "1"}) || r.Match(Map{}) {
		t.Error("a list of conditions is not OR-ed")
	}
}

func TestConditionCompileErrors(t *testing.T) {
	for _, c := range []struct{ det, want string }{
		{"    a:\n        A: 1\n    condition: b\n", `t.yml:8: condition "b" at offset 0: no search named "b"`},
		{"    a:\n        A: 1\n    condition: 1 of x*\n", `"x*" matches no search`},
		{"    a:\n        A: 1\n    condition: a*\n", `wildcard: write "1 of a*"`},
		{"    a:\n        A: 1\n    condition: a and (\n", `t.yml:8: condition "a and (" at offset 7: unexpected end`},
	} {
		_, err := ParseAndCompile([]byte(ruleWith(c.det)), "t.yml", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.det, err, c.want)
		}
	}
}
