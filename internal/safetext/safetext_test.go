package safetext

import (
	"strings"
	"testing"
)

func TestProblem(t *testing.T) {
	for _, c := range []struct {
		s    string
		k    Kind
		max  int
		want string
	}{
		{"Synnovis Analytics LLP", Name, MaxName, ""},
		{"Guy's & St Thomas' — Évelina", Name, MaxName, ""},
		{"Bad\x00Name", Name, MaxName, "contains control character U+0000"},
		{"Evil\x1b[2J", Name, MaxName, "contains control character U+001B"},
		{"tab\there", Name, MaxName, "contains control character U+0009"},
		{"tab\there\nand line", Text, MaxText, ""},
		{"nul\x00in text", Text, MaxText, "contains control character U+0000"},
		{"c1\u0085", Name, MaxName, "contains control character U+0085"},
		{"del\x7f", Text, 0, "contains control character U+007F"},
		{"abc\u202edcb", Name, MaxName, "contains bidirectional control character U+202E"},
		{"isolate\u2066x", Text, 0, "contains bidirectional control character U+2066"},
		{"bad \xff utf8", Name, 0, "is not valid UTF-8"},
		{strings.Repeat("é", 200), Name, MaxName, ""},
		{strings.Repeat("é", 201), Name, MaxName, "is longer than 200 characters"},
	} {
		if got := Problem(c.s, c.k, c.max); got != c.want {
			t.Errorf("Problem(%q) = %q, want %q", c.s, got, c.want)
		}
	}
}

func TestSearchProblem(t *testing.T) {
	if p := SearchProblem("guy's thomas"); p != "" {
		t.Errorf("ordinary search refused: %s", p)
	}
	if p := SearchProblem(strings.Repeat("a ", 1000)); p != "is 2000 characters long; search for at most 200 characters" {
		t.Errorf("long search: %q", p)
	}
	if p := SearchProblem(strings.Repeat("a ", 21)); p != "has 21 words; search for at most 20 words" {
		t.Errorf("many words: %q", p)
	}
	if p := SearchProblem("x\x00"); p != "contains control character U+0000" {
		t.Errorf("NUL: %q", p)
	}
}

func TestTerminal(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":        "plain name",
		"Evil\x1b[2J":       `Evil\x1b[2J`,
		"two\nlines\ttab":   `two\nlines\ttab`,
		"rtl\u202eevil":     `rtl\u202eevil`,
		"c1\u009b31m":       `c1\u009b31m`,
		"bad\xffbyte":       `bad\xffbyte`,
		"NUL\x00":           `NUL\x00`,
		"Évelina \uFFFD ok": "Évelina \uFFFD ok",
	} {
		got := Terminal(in)
		if got != want {
			t.Errorf("Terminal(%q) = %q, want %q", in, got, want)
		}
		for _, r := range got {
			if isControl(r) || isBidi(r) {
				t.Errorf("Terminal(%q) still holds %U", in, r)
			}
		}
	}
}
