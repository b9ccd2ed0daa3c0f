package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// TestCorrelationSchemaExamples parses the specification's example
// correlation rules (spec/tests/schema/correlation).
func TestCorrelationSchemaExamples(t *testing.T) {
	paths, _ := filepath.Glob("testdata/correlation/*.yml")
	if len(paths) < 8 {
		t.Fatalf("%d examples under testdata/correlation", len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		col, err := ParseCollection(data, p)
		if strings.HasSuffix(p, "value_percentile.yml") {
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "value_percentile is not supported") {
				t.Errorf("%s: %v, want unsupported", p, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(col.Correlations) == 0 {
			t.Errorf("%s: no correlation", p)
		}
	}
	data, _ := os.ReadFile("testdata/correlation/value_count.yml")
	col, err := ParseCollection(data, "value_count.yml")
	if err != nil {
		t.Fatal(err)
	}
	c := col.Correlations[0]
	if c.Type != ValueCount || c.Field != "User" || c.Timespan != 24*time.Hour || len(c.GroupBy) != 2 ||
		len(c.Condition) != 1 || c.Condition[0] != (Comparison{Op: "gte", Value: 100}) || c.Rules[0] != "5638f7c0-ac70-491d-8465-2a65075e0d86" {
		t.Errorf("value_count parsed as %+v", c)
	}
}

// TestCorrelationBruteForce is the case: ten failed logons then a
// success for one user within five minutes fire the chained correlation
// (event_count inside temporal_ordered), for that user only.
func TestCorrelationBruteForce(t *testing.T) {
	corpus, err := LoadDir("testdata/correlation", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var bf []*Correlation
	for _, c := range corpus.Correlations {
		if strings.HasSuffix(c.File, "mr_bruteforce.yml") {
			bf = append(bf, c)
		}
	}
	if len(corpus.Rules) != 2 || len(bf) != 2 {
		t.Fatalf("%d rules and %d brute-force correlations, want 2 and 2; failed %v", len(corpus.Rules), len(bf), corpus.Failed)
	}
	cr, err := NewCorrelator(corpus.Rules, bf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range corpus.Rules {
		if cr.Generates(r.Rule) {
			t.Errorf("%s alerts on its own; the correlation leaves generate unset", r.Rule.Title)
		}
	}
	feed := func(ev Map, at time.Time) []CorrelationHit {
		var hits []CorrelationHit
		for _, r := range corpus.Rules {
			if r.Match(ev) {
				hits = append(hits, cr.Observe(r.Rule, ev, at)...)
			}
		}
		return hits
	}
	fail := func(user string) Map { return Map{"EventID": 4625.0, "TargetUserName": user} }
	ok := func(user string) Map { return Map{"EventID": 4624.0, "TargetUserName": user} }

	// Nine failures and a success: nothing.
	for i := range 9 {
		if h := feed(fail("bob"), t0.Add(time.Duration(i)*time.Second)); len(h) != 0 {
			t.Fatalf("failure %d fired %+v", i+1, h)
		}
	}
	if h := feed(ok("bob"), t0.Add(10*time.Second)); len(h) != 0 {
		t.Fatalf("a success after nine failures fired %+v", h)
	}
	// The tenth failure fires the event count; alice's success does not
	// complete bob's sequence; bob's does.
	h := feed(fail("bob"), t0.Add(20*time.Second))
	if len(h) != 1 || h[0].Correlation.Name != "multiple_failed_login" || h[0].Value != 10 || h[0].Group["TargetUserName"] != "bob" {
		t.Fatalf("tenth failure: %+v", h)
	}
	if h := feed(ok("alice"), t0.Add(30*time.Second)); len(h) != 0 {
		t.Fatalf("alice's success fired %+v", h)
	}
	h = feed(ok("bob"), t0.Add(40*time.Second))
	if len(h) != 1 || h[0].Correlation.ID != "b180ead8-d58f-40b2-ae54-c8940995b9b6" || h[0].Group["TargetUserName"] != "bob" || !h[0].Time.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("bob's success: %+v", h)
	}
	// A success more than five minutes after the burst does not fire.
	for i := range 10 {
		feed(fail("carol"), t0.Add(time.Duration(i)*time.Second))
	}
	if h := feed(ok("carol"), t0.Add(10*time.Minute)); len(h) != 0 {
		t.Errorf("a success ten minutes later fired %+v", h)
	}
}

// correlate parses a correlation over rule "r" (and "s") and feeds the
// given matches.
type match struct {
	rule string
	ev   Map
	at   time.Duration
}

func runCorrelation(t *testing.T, corr string, matches []match) []CorrelationHit {
	t.Helper()
	col, err := ParseCollection([]byte(corr), "c.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]*CompiledRule{}
	var list []*CompiledRule
	for _, name := range []string{"r", "s", "u"} {
		c, err := ParseAndCompile([]byte("title: "+name+"\nid: id-"+name+"\nname: "+name+"\nlogsource: {product: x}\ndetection:\n    sel:\n        F|exists: true\n    condition: sel\n"), name+".yml", Options{})
		if err != nil {
			t.Fatal(err)
		}
		rules[name] = c
		list = append(list, c)
	}
	cr, err := NewCorrelator(list, col.Correlations)
	if err != nil {
		t.Fatal(err)
	}
	var hits []CorrelationHit
	for _, m := range matches {
		hits = append(hits, cr.Observe(rules[m.rule].Rule, m.ev, t0.Add(m.at))...)
	}
	return hits
}

func TestCorrelationTypes(t *testing.T) {
	ev := func(kv ...string) Map {
		m := Map{"F": "1"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name    string
		corr    string
		matches []match
		want    []float64 // the value of each hit
	}{
		{"event_count fires once per burst", "title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    group-by: [H]\n    timespan: 1m\n    condition: {gte: 3}\n",
			[]match{{"r", ev("H", "a"), 0}, {"r", ev("H", "a"), time.Second}, {"r", ev("H", "b"), 2 * time.Second}, {"r", ev("H", "a"), 3 * time.Second}, {"r", ev("H", "a"), 4 * time.Second}},
			[]float64{3}},
		{"event_count window slides", "title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    group-by: [H]\n    timespan: 10s\n    condition: {gte: 3}\n",
			[]match{{"r", ev("H", "a"), 0}, {"r", ev("H", "a"), 8 * time.Second}, {"r", ev("H", "a"), 15 * time.Second}, {"r", ev("H", "a"), 17 * time.Second}},
			[]float64{3}},
		{"event_count range", "title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    group-by: [H]\n    timespan: 1m\n    condition: {gt: 1, lte: 2}\n",
			[]match{{"r", ev("H", "a"), 0}, {"r", ev("H", "a"), time.Second}},
			[]float64{2}},
		{"value_count distinct", "title: c\ncorrelation:\n    type: value_count\n    rules: [r]\n    group-by: [H]\n    timespan: 1m\n    condition: {field: U, gte: 3}\n",
			[]match{{"r", ev("H", "a", "U", "x"), 0}, {"r", ev("H", "a", "U", "x"), time.Second}, {"r", ev("H", "a", "U", "y"), 2 * time.Second}, {"r", ev("H", "a"), 3 * time.Second}, {"r", ev("H", "a", "U", "z"), 4 * time.Second}},
			[]float64{3}},
		{"value_sum", "title: c\ncorrelation:\n    type: value_sum\n    rules: [r]\n    group-by: [H]\n    timespan: 1h\n    condition: {field: B, gt: 1000}\n",
			[]match{{"r", Map{"H": "a", "B": 600.0}, 0}, {"r", Map{"H": "a", "B": "500"}, time.Minute}},
			[]float64{1100}},
		{"value_avg", "title: c\ncorrelation:\n    type: value_avg\n    rules: [r]\n    group-by: [H]\n    timespan: 1h\n    condition: {field: B, gt: 500}\n",
			[]match{{"r", Map{"H": "a", "B": 100.0}, 0}, {"r", Map{"H": "a", "B": 1000.0}, time.Minute}},
			[]float64{550}},
		{"temporal any order", "title: c\ncorrelation:\n    type: temporal\n    rules: [r, s, u]\n    group-by: [H]\n    timespan: 5m\n",
			[]match{{"u", ev("H", "a"), 0}, {"r", ev("H", "a"), time.Minute}, {"r", ev("H", "b"), time.Minute}, {"s", ev("H", "a"), 2 * time.Minute}},
			[]float64{3}},
		{"temporal outside span", "title: c\ncorrelation:\n    type: temporal\n    rules: [r, s]\n    group-by: [H]\n    timespan: 5m\n",
			[]match{{"r", ev("H", "a"), 0}, {"s", ev("H", "a"), 6 * time.Minute}},
			nil},
		{"temporal_ordered in order", "title: c\ncorrelation:\n    type: temporal_ordered\n    rules: [r, s, u]\n    group-by: [H]\n    timespan: 5m\n",
			[]match{{"r", ev("H", "a"), 0}, {"s", ev("H", "a"), time.Minute}, {"u", ev("H", "a"), 2 * time.Minute}},
			[]float64{3}},
		{"temporal_ordered out of order", "title: c\ncorrelation:\n    type: temporal_ordered\n    rules: [r, s, u]\n    group-by: [H]\n    timespan: 5m\n",
			[]match{{"s", ev("H", "a"), 0}, {"r", ev("H", "a"), time.Minute}, {"u", ev("H", "a"), 2 * time.Minute}},
			nil},
		{"aliases", "title: c\ncorrelation:\n    type: temporal\n    rules: [r, s]\n    group-by: [ip]\n    timespan: 10s\n    aliases:\n        ip:\n            r: destination.ip\n            s: source.ip\n",
			[]match{{"r", Map{"destination.ip": "10.0.0.1"}, 0}, {"s", Map{"source.ip": "10.0.0.2"}, time.Second}, {"s", Map{"source.ip": "10.0.0.1"}, 2 * time.Second}},
			[]float64{2}},
		{"no group-by is one group", "title: c\ncorrelation:\n    type: event_count\n    rules: [r, s]\n    timespan: 1m\n    condition: {eq: 2}\n",
			[]match{{"r", ev(), 0}, {"s", ev(), time.Second}},
			[]float64{2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			hits := runCorrelation(t, c.corr, c.matches)
			var got []float64
			for _, h := range hits {
				got = append(got, h.Value)
			}
			if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
				t.Errorf("hits %v, want %v (%+v)", got, c.want, hits)
			}
		})
	}
}

func TestCorrelationErrors(t *testing.T) {
	for _, c := range []struct {
		in, want    string
		unsupported bool
	}{
		{"title: c\ncorrelation:\n    rules: [r]\n    timespan: 1m\n", "c.yml:3: correlation has no type", false},
		{"title: c\ncorrelation:\n    type: bogus\n    rules: [r]\n    timespan: 1m\n", "c.yml:3: unknown correlation type \"bogus\"", false},
		{"title: c\ncorrelation:\n    type: event_count\n    timespan: 1m\n    condition: {gte: 1}\n", "refers to no rules", false},
		{"title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    condition: {gte: 1}\n", "no timespan", false},
		{"title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    timespan: 1x\n    condition: {gte: 1}\n", "c.yml:5: timespan \"1x\": unknown unit", false},
		{"title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    timespan: 1m\n", "event_count needs a condition", false},
		{"title: c\ncorrelation:\n    type: value_count\n    rules: [r]\n    timespan: 1m\n    condition: {gte: 2}\n", "needs a condition with a field", false},
		{"title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    timespan: 1m\n    condition: {lt: 5}\n", "decided only when the window closes", true},
		{"title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    timespan: 1m\n    condition: {about: 5}\n", "unknown correlation condition \"about\"", false},
		{"title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    timespan: 1m\n    window: 5\n", "unknown correlation attribute \"window\"", false},
		{"title: c\ncorrelation:\n    type: value_percentile\n    rules: [r]\n    timespan: 1m\n", "value_percentile is not supported", true},
		{"correlation:\n    type: event_count\n", "no title", false},
	} {
		_, err := ParseCollection([]byte(c.in), "c.yml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %q", c.in, err, c.want)
			continue
		}
		if errors.Is(err, ErrUnsupported) != c.unsupported {
			t.Errorf("%q: unsupported = %v", c.in, !c.unsupported)
		}
	}
	// References that resolve to nothing, and cycles.
	col, err := ParseCollection([]byte("title: a\nname: a\ncorrelation:\n    type: temporal\n    rules: [b, nope]\n    timespan: 1m\n---\ntitle: b\nname: b\ncorrelation:\n    type: temporal\n    rules: [a]\n    timespan: 1m\n"), "c.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCorrelator(nil, col.Correlations); err == nil || !strings.Contains(err.Error(), `refers to "nope"`) {
		t.Errorf("unresolved reference: %v", err)
	}
	col.Correlations[0].Rules = []string{"b"}
	if _, err := NewCorrelator(nil, col.Correlations); err == nil || !strings.Contains(err.Error(), "refers to itself") {
		t.Errorf("cycle: %v", err)
	}
}
