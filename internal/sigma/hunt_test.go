package sigma

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/attack"
	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestHunterRoutes runs a rule only on events of its log source.
func TestHunterRoutes(t *testing.T) {
	rule := func(src string) *CompiledRule {
		c, err := ParseAndCompile([]byte("title: t\nlogsource:\n"+src+"detection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n"), src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h := NewHunter([]*CompiledRule{
		rule("  product: windows\n  category: process_creation\n"),
		rule("  product: linux\n"),
		rule("  category: process_creation\n"), // no product: any product's process creations
	})
	for _, c := range []struct {
		product, category, service string
		want                       int
	}{
		{"windows", "process_creation", "sysmon", 2},
		{"Windows", "Process_Creation", "security", 2},
		{"windows", "network_connection", "sysmon", 0},
		{"linux", "", "auditd", 1},
		{"linux", "process_creation", "auditd", 2},
		{"zeek", "", "conn", 0},
		{"", "", "", 0},
	} {
		ev := &events.Event{Product: c.product, Category: c.category, Service: c.service, Fields: map[string]any{"CommandLine": "cmd /c WHOAMI /all"}}
		n := 0
		h.Match(ev, func(*CompiledRule) { n++ })
		if n != c.want {
			t.Errorf("%s/%s/%s: %d rules matched, want %d", c.product, c.category, c.service, n, c.want)
		}
	}
	if h.Rules() != 3 {
		t.Errorf("Rules() = %d", h.Rules())
	}
}

// TestHuntStore retro-hunts stored events: only the caller's
// organisations, only the time range, each match once, at most limit.
func TestHuntStore(t *testing.T) {
	db := storetest.SQLite(t, org.Migrations(), audit.Migrations(), events.Migrations())
	ctx := context.Background()
	orgs, err := org.New(org.Options{DB: db, Audit: audit.New(db, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range []org.Org{{Code: "Y56", Name: "London", Type: org.Region}, {Code: "QKK", Name: "SEL ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's", Type: org.Trust, Parent: "QKK"}, {Code: "RJZ", Name: "King's", Type: org.Trust, Parent: "QKK"}} {
		if _, err := orgs.Create(ctx, scope.System("test"), o); err != nil {
			t.Fatal(err)
		}
	}
	st, err := events.New(events.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var evs []events.Event
	for i := range 12 {
		o := []string{"RJ1", "RJZ"}[i%2]
		cmd := "notepad.exe"
		if i%3 == 0 {
			cmd = "whoami /all"
		}
		evs = append(evs, events.Event{ID: fmt.Sprintf("e%02d", i), Org: o, ReceivedAt: now, EventTime: now.Add(-time.Duration(i) * time.Hour),
			Source: events.Source{Protocol: "file"}, Product: "windows", Category: "process_creation", Service: "sysmon",
			Fields: map[string]any{"CommandLine": cmd}, Raw: cmd})
	}
	evs = append(evs, events.Event{ID: "zeek", Org: "RJ1", ReceivedAt: now, EventTime: now, Source: events.Source{Protocol: "file"},
		Product: "zeek", Service: "conn", Fields: map[string]any{"CommandLine": "whoami"}, Raw: "whoami"})
	if err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	c, err := ParseAndCompile([]byte("title: whoami\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n"), "w.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHunter([]*CompiledRule{c})
	run := func(sc scope.Scope, q events.Query, limit int64) ([]string, StoreReport) {
		var ids []string
		rep, err := HuntStore(ctx, h, st, sc, q, limit, func(x Hit) error { ids = append(ids, x.Event.ID); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return ids, rep
	}
	national := scope.System("test")
	ids, rep := run(national, events.Query{Since: now.Add(-24 * time.Hour)}, 0)
	if fmt.Sprint(ids) != "[e00 e03 e06 e09]" || rep.Scanned != 12 || rep.Truncated {
		t.Errorf("national: %v %+v (the Zeek record is not read: no rule is for zeek)", ids, rep)
	}
	ids, _ = run(national, events.Query{Since: now.Add(-24 * time.Hour), Org: "RJ1"}, 0)
	if fmt.Sprint(ids) != "[e00 e06]" {
		t.Errorf("RJ1: %v", ids)
	}
	ids, _ = run(national, events.Query{Since: now.Add(-4 * time.Hour)}, 0)
	if fmt.Sprint(ids) != "[e00 e03]" {
		t.Errorf("last 4 hours: %v", ids)
	}
	ids, rep = run(national, events.Query{Since: now.Add(-24 * time.Hour)}, 2)
	if fmt.Sprint(ids) != "[e00 e03]" || !rep.Truncated {
		t.Errorf("limit 2: %v %+v", ids, rep)
	}
	trust := scope.Scope{UserID: "u-rjz", Via: "session", Home: "RJZ", Grants: []scope.Grant{{Role: scope.OrgAnalyst, Org: "RJZ", Path: "/ENG/Y56/QKK/RJZ/"}}}
	ids, _ = run(trust, events.Query{Since: now.Add(-24 * time.Hour)}, 0)
	if fmt.Sprint(ids) != "[e03 e09]" {
		t.Errorf("RJZ's analyst: %v", ids)
	}
}

// TestTry is the rule editor's test: which samples a rule's log source
// reaches, which it matches and why; a rule in error is reported with
// its line.
func TestTry(t *testing.T) {
	c, err := LoadText("title: Whoami\nid: 7e1f0000-0000-4000-8000-000000000001\nlevel: low\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains: whoami\n  filter:\n    User: SYSTEM\n  condition: sel and not filter\n", "editor", Options{})
	if err != nil || len(c.Rules) != 1 || len(c.Failed) != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	samples := `{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami /all","User":"alice"}
{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami","User":"SYSTEM"}
{
  "Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /priv"
}
<13>1 2026-12-06T10:00:00Z web01 sshd 1 - - Accepted password for whoami from 10.0.0.1
`
	res, err := Try(context.Background(), c, n, samples)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	want := []struct{ routed, matched int }{{1, 1}, {1, 0}, {1, 1}, {0, 0}}
	for i, w := range want {
		if len(res[i].Routed) != w.routed || len(res[i].Matches) != w.matched {
			t.Errorf("sample %d (%s/%s): routed %v, matched %+v", i+1, res[i].Event.Product, res[i].Event.Category, res[i].Routed, res[i].Matches)
		}
	}
	if m := res[0].Matches; len(m) == 1 && (fmt.Sprint(m[0].Searches) != "[sel]" || fmt.Sprint(m[0].Fields) != "[CommandLine]") {
		t.Errorf("why: %+v", m[0])
	}
	bad, err := LoadText("title: Bad\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|bogus: x\n  condition: sel\n", "editor", Options{})
	if err != nil || len(bad.Failed) != 1 || bad.Failed[0].Line != 6 {
		t.Errorf("a bad rule: %+v %v", bad, err)
	}
	if _, err := LoadText("  \n", "editor", Options{}); err == nil {
		t.Error("an empty rule loaded")
	}
}

// TestCoverage lays SigmaHQ's Windows rules over ATT&CK 18.1: credential
// dumping (T1003) is covered by many, hits count under the technique,
// and v19's tags are reported unknown.
func TestCoverage(t *testing.T) {
	p := "../../../shared/data/attack/enterprise-attack-v18.1-stix20.json.gz"
	corpus, err := LoadDir("../../../shared/data/sigma/rules/windows", Options{})
	if err != nil {
		testneed.Missing(t, "SigmaHQ's rules in ../shared/data/sigma", err)
		return
	}
	m, err := attack.LoadFile(p)
	if err != nil {
		testneed.Missing(t, "ATT&CK in ../shared/data/attack", err)
		return
	}
	var rules []*Rule
	for _, r := range corpus.Rules {
		rules = append(rules, r.Rule)
	}
	hits := map[string]int64{}
	CountHits(m, []string{"attack.t1003.001", "attack.credential-access", "attack.t1003"}, hits)
	CountHits(m, []string{"attack.T1059.001"}, hits)
	c := CoverageOf(m, rules, hits)
	if c.Rules != 2407 || c.Tagged != 2017 || c.Covered != 143 || c.Techniques != 216 || len(c.Tactics) != 14 {
		t.Errorf("coverage: %d rules, %d tagged, %d of %d techniques covered, %d tactics", c.Rules, c.Tagged, c.Covered, c.Techniques, len(c.Tactics))
	}
	var cred *TechniqueCoverage
	for i, tc := range c.Tactics {
		for j := range tc.Techniques {
			if tc.Tactic.Short == "credential-access" && tc.Techniques[j].Technique.ID == "T1003" {
				cred = &c.Tactics[i].Techniques[j]
			}
		}
	}
	if cred == nil || len(cred.Rules) < 20 || cred.Hits != 1 {
		t.Errorf("T1003: %+v", cred)
	}
	if c.Unknown["attack.stealth"] == 0 {
		t.Errorf("unknown tags: %v", c.Unknown)
	}
}

// TestHuntFilesStops: reading runs ahead of matching on its own
// goroutine; an error from fn still stops the hunt at once and is the
// one returned, and a file that cannot be read is an error naming it,
// after the files before it were hunted.
func TestHuntFilesStops(t *testing.T) {
	c, err := ParseAndCompile([]byte("title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n"), "r.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHunter([]*CompiledRule{c})
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc%d","CommandLine":"whoami /all","Image":"C:\\Windows\\whoami.exe"}`+"\n", i)
	}
	file := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := HuntFiles(context.Background(), h, n, []string{file}, nil, func(Hit) error { return nil })
	if err != nil || rep.Events != 5000 || rep.Hits != 5000 || rep.Files != 1 {
		t.Fatalf("hunt: %+v, %v; want 5000 events and hits in 1 file", rep, err)
	}
	stop := errors.New("enough")
	seen := 0
	rep, err = HuntFiles(context.Background(), h, n, []string{file}, nil, func(x Hit) error {
		seen++
		if x.Line != int64(seen) {
			t.Errorf("hit %d on line %d", seen, x.Line)
		}
		if seen == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 10 || rep.Hits != 10 {
		t.Errorf("fn's error: %v after %d hits (%+v), want %v after 10", err, seen, rep, stop)
	}
	bad := filepath.Join(dir, "bad.jsonl.gz") // a gzip header, then nothing gzip can read
	if err := os.WriteFile(bad, []byte{0x1f, 0x8b, 0, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = HuntFiles(context.Background(), h, n, []string{file, bad}, nil, func(Hit) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "bad.jsonl.gz") || rep.Hits != 5000 || rep.Files != 2 {
		t.Errorf("unreadable file: %v (%+v), want an error naming bad.jsonl.gz after 5000 hits", err, rep)
	}
}

// TestRetroHuntBusy refuses a third hunt while two run, as "too busy".
func TestRetroHuntBusy(t *testing.T) {
	huntSlots <- struct{}{}
	huntSlots <- struct{}{}
	defer func() { <-huntSlots; <-huntSlots }()
	_, err := RetroHunt(context.Background(), nil, scope.System("test"), HuntRequest{Rules: "title: t\nlogsource:\n  product: windows\ndetection:\n  sel:\n    a: b\n  condition: sel\n", Since: "1h"})
	if !errors.Is(err, fault.ErrRateLimited) {
		t.Errorf("a third hunt: %v", err)
	}
}
