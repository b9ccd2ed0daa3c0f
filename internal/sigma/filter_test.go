package sigma

import (
	"errors"
	"strings"
	"testing"
)

// TestFilters loads testdata/filters: the specification's example filter
// (users starting adm_ on two rules), a rule it names and one it does
// not; the filter suppresses only the named rule's adm_ matches.
func TestFilters(t *testing.T) {
	corpus, err := LoadDir("testdata/filters", Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules, failed := corpus.Rules, corpus.Failed
	for _, f := range failed {
		t.Error(f)
	}
	if len(rules) != 2 {
		t.Fatalf("%d rules, want 2", len(rules))
	}
	byID := map[string]*CompiledRule{}
	for _, r := range rules {
		byID[r.Rule.ID] = r
	}
	named, other := byID["6f3e2987-db24-4c78-a860-b4f4095a7095"], byID["11111111-2222-3333-4444-555555555555"]
	if named == nil || other == nil {
		t.Fatalf("rules %v", byID)
	}
	if len(named.Filters()) != 1 || len(other.Filters()) != 0 {
		t.Errorf("filters applied: named %d, other %d; want 1 and 0", len(named.Filters()), len(other.Filters()))
	}
	admin := Map{"Image": `C:\Program Files\WinRAR\Rar.exe`, "CommandLine": "rar a x.rar secrets", "User": "ADM_alice"}
	user := Map{"Image": `C:\Program Files\WinRAR\Rar.exe`, "CommandLine": "rar a x.rar secrets", "User": "bob"}
	if named.Match(admin) {
		t.Error("the filter did not suppress adm_alice")
	}
	if !named.Match(user) {
		t.Error("the filter suppressed bob")
	}
	if !other.Match(admin) {
		t.Error("a rule the filter does not name was filtered")
	}
	res := named.Explain(admin)
	if res.Matched || len(res.Filtered) != 1 || res.Filtered[0] != "Filter Administrator account" {
		t.Errorf("Explain = %+v, want filtered by the administrator filter", res)
	}
	if !strings.Contains(named.String(), "filter  \"Filter Administrator account\"") {
		t.Errorf("the dump does not show the filter:\n%s", named)
	}
}

func TestFilterApplies(t *testing.T) {
	f := &Filter{Rules: []string{"AAA", "my_rule_name"}, Logsource: Logsource{Product: "windows", Category: "process_creation"}}
	for _, c := range []struct {
		r    Rule
		want bool
	}{
		{Rule{ID: "aaa", Logsource: Logsource{Product: "windows", Category: "process_creation"}}, true},
		{Rule{Name: "my_rule_name", Logsource: Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"}}, true},
		{Rule{ID: "bbb", Logsource: Logsource{Product: "windows", Category: "process_creation"}}, false},
		{Rule{ID: "aaa", Logsource: Logsource{Product: "windows", Category: "file_event"}}, false},
	} {
		if got := f.Applies(&c.r); got != c.want {
			t.Errorf("Applies(%+v) = %v", c.r, got)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"title: f\nlogsource: {product: windows}\nfilter:\n    selection: {User: x}\n    condition: selection\n", "f.yml:4: filter names no rules"},
		{"title: f\nlogsource: {product: windows}\nfilter:\n    rules: [a]\n    selection: {User: x}\n", "f.yml:4: detection has no condition"},
		{"title: f\nlogsource: {product: windows}\nfilter:\n    rules: [a]\n    selection: {User|bad: x}\n    condition: selection\n", ""},
		{"logsource: {}\nfilter:\n    rules: [a]\n", "no title"},
		{"title: f\nfilter:\n    rules: [a]\n", "no logsource"},
	} {
		f, err := ParseFilter([]byte(c.in), "f.yml")
		if c.want == "" {
			// Parses; the bad modifier is a compile error with its line.
			if err != nil {
				t.Errorf("%q: %v", c.in, err)
				continue
			}
			_, err = CompileFilter(f, Options{})
			if err == nil || !strings.Contains(err.Error(), `f.yml:5: unknown modifier "bad"`) {
				t.Errorf("%q: compile error %v", c.in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}
