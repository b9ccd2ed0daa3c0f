package analytics

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "entra-new-country windows-new-admin-logon windows-new-service-parent windows-rare-child-process volume-by-log-source volume-by-sender entra-impossible-travel"
	if got := strings.Join(e.Analytics(), " "); got != want {
		t.Errorf("analytics %s, want %s", got, want)
	}
	a := cfg.Analytics[0]
	if a.Kind != KindFirstSeen || a.Learning != 14*24*time.Hour || a.MaxEntries != 50_000 || a.Line != 20 {
		t.Errorf("entra-new-country: %+v", a)
	}
	if v := cfg.Analytics[4]; v.K != 5 || v.Weeks != 4 || v.Neighbours != 1 || v.MinChange != 20 || v.MaxGroups != 1000 {
		t.Errorf("volume-by-log-source: %+v", v)
	}
}

// Every mistake is reported with the file and the line it is on.
func TestConfigErrors(t *testing.T) {
	const head = "analytics:\n  - name: a\n    title: T\n"
	for _, c := range []struct{ in, want string }{
		{"", "x.yaml: is empty"},
		{"analytics: [\n", "x.yaml:1: did not find expected node content"},
		{"analytics:\n  - name: a\n\t  title: b\n", "x.yaml:2: found a tab character that violates indentation"},
		{"- 1\n", "x.yaml:1: the file must be a mapping"},
		{"rules: []\n", `x.yaml:1: top level: unknown key "rules"`},
		{"analytics: []\n", "x.yaml:1: analytics: must be a list"},
		{"fields: {User: [a]}\nanalytics: []\n", `x.yaml:1: fields: alias "User"`},
		{"fields: {user: {a: b}}\nanalytics: []\n", "x.yaml:1: fields.user: want a value or a list"},
		{"fields: {user: ['@nope']}\nanalytics: []\n", `x.yaml:1: fields.user: "@nope" is not a property`},
		{"analytics:\n  - kind: rare\n", "x.yaml:2: analytic: name: is required"},
		{head + "    kind: magic\n", "x.yaml:2: analytic a: kind: is required: one of"},
		{head + "    kind: first_seen\n    key: u\n    value: v\n    window: 1d\n", `x.yaml:7: analytic a (first_seen): unknown key "window"`},
		{head + "    kind: first_seen\n    key: u\n    value: v\n    level: urgent\n", `x.yaml:7: analytic a: level: "urgent" is not one of info, low, medium, high, critical`},
		{head + "    kind: first_seen\n    key: u\n    value: v\n    learning: soon\n", `x.yaml:7: analytic a: learning: "soon" is not a duration`},
		{head + "    kind: first_seen\n    key: u\n", "x.yaml:2: analytic a: key: and value: are required"},
		{head + "    kind: first_seen\n    key: u\n    value: v\n    key: w\n", `x.yaml:7: analytic a (first_seen): "key" is given twice`},
		{head + "    kind: rare\n    key: u\n    value: v\n    threshold: 0\n", `x.yaml:7: analytic a: threshold: "0" is not a whole number of at least 1`},
		{head + "    kind: rare\n    key: u\n    value: v\n    window: 30m\n", "x.yaml:7: analytic a: window: 30m0s is shorter than an hour"},
		{head + "    kind: volume\n", "x.yaml:2: analytic a: group: is required"},
		{head + "    kind: rare\n    key: u\n    value: v\n    quiet: {a: b}\n", `x.yaml:7: analytic a (rare): unknown key "quiet"`},
		{head + "    kind: first_seen\n    key: u\n    value: v\n    quiet: [a]\n", "x.yaml:7: analytic a: quiet: want a mapping"},
		{head + "    kind: first_seen\n    key: u\n    value: v\n    quiet: {'@who': x}\n", `"@who" is not a property of an event`},
		{head + "    kind: volume\n    group: x\n    where:\n      fields:\n        a: 1\n        a: 2\n", `x.yaml:9: analytic a: where.fields: "a" is given twice`},
		{head + "    kind: rare\n    key: u\n    value: v\n    max_values: 50\n    max_entries: 10\n", "x.yaml:2: analytic a: max_values 50 is more than max_entries 10"},
		{head + "    kind: volume\n    group: '@host'\n    surge_quantile: 2\n", `x.yaml:6: analytic a: surge_quantile: "2" is not a number from 0 to 1`},
		{head + "    kind: volume\n    group: '@sender'\n", `x.yaml:2: analytic a: "@sender" is not a property of an event`},
		{head + "    kind: volume\n    group: '@host'\n    weeks: 20\n", "x.yaml:6: analytic a: weeks: at most 12"},
		{head + "    kind: volume\n    group: '@host'\n    k: -1\n", `x.yaml:6: analytic a: k: "-1" is not a positive number`},
		{head + "    kind: volume\n    group: '@host'\n    weeks: 1\n    neighbours: 0\n", "x.yaml:2: analytic a: min_samples 6 is more than weeks × (2 × neighbours + 1) = 1"},
		{head + "    kind: impossible_travel\n    user: u\n", "x.yaml:2: analytic a: user:, latitude: and longitude: are required"},
		{head + "    kind: impossible_travel\n    user: u\n    latitude: a\n    longitude: b\n    where: {fields: {x: []}}\n", "x.yaml:8: analytic a: where.fields.x: list at least one value"},
		{head + "    kind: impossible_travel\n    user: u\n    latitude: a\n    longitude: b\n    where: {host: x}\n", `x.yaml:8: analytic a: where: unknown key "host"`},
		{head + "    kind: impossible_travel\n    user: u\n    latitude: a\n    longitude: b\n    entities: {person: x}\n", `x.yaml:8: analytic a: entities: unknown key "person"`},
		{"analytics:\n  - {name: a, kind: volume, title: T, group: x}\n  - {name: a, kind: volume, title: T, group: x}\n", `x.yaml:3: analytic "a" is also defined at line 2`},
		{"analytics:\n  - {name: a, kind: volume, group: x}\n", "x.yaml:2: analytic a: title: is required"},
	} {
		_, err := ParseConfig("x.yaml", []byte(c.in))
		var ce *ConfigError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ce) {
			t.Errorf("%q:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "9999w", "soon"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

// Filters: log source, fields (alias, wildcard, any of a list, any item
// of a list value), not and exists.
func TestFilter(t *testing.T) {
	cfg, err := ParseConfig("f.yaml", []byte(`
fields: {user: [properties.userPrincipalName, userPrincipalName]}
analytics:
  - name: f
    kind: first_seen
    title: T
    key: user
    value: x
    where:
      product: Windows
      fields: {Image: ['*\svchost.exe', 'C:\a*b*c'], user: alice*}
      not: {tags: [skip]}
      exists: [x]
`))
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.compileFilter(cfg.Analytics[0].Where)
	ok := func(fields map[string]any) bool {
		ev := &testEvent{Product: "windows", Fields: fields}
		return f.match(ev.event())
	}
	base := func() map[string]any {
		return map[string]any{"Image": `C:\Windows\System32\SVCHOST.EXE`, "userPrincipalName": "Alice@x", "x": "1"}
	}
	if !ok(base()) {
		t.Error("the matching event does not match")
	}
	for name, change := range map[string]func(m map[string]any){
		"other image":     func(m map[string]any) { m["Image"] = `C:\evil\svchost.exe.bak` },
		"other user":      func(m map[string]any) { m["userPrincipalName"] = "bob@x" },
		"no x":            func(m map[string]any) { delete(m, "x") },
		"empty x":         func(m map[string]any) { m["x"] = "" },
		"excluded by not": func(m map[string]any) { m["tags"] = []any{"a", "SKIP"} },
	} {
		m := base()
		change(m)
		if ok(m) {
			t.Errorf("%s: matches", name)
		}
	}
	m := base()
	m["Image"] = `c:\AxxBxxC`
	m["properties.userPrincipalName"] = "alice@y" // the alias's first field
	m["userPrincipalName"] = "bob"
	if !ok(m) {
		t.Error("wildcards in the middle, or the alias's first field, do not match")
	}
	if !(&testEvent{Product: "linux"}).matchesNot(f) {
		t.Error("another product matches")
	}
}
