package rules

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// sharedRules is SigmaHQ's corpus beside the repository.
const sharedRules = "../../../shared/data/sigma/rules"

// Three SigmaHQ rules the tests import.
var corpusFiles = []string{
	"windows/process_creation/proc_creation_win_hktl_sharpldapwhoami.yml",
	"windows/process_creation/proc_creation_win_7zip_password_compression.yml",
	"windows/process_creation/proc_creation_win_7zip_exfil_dmp_files.yml",
}

const whoamiID = "d9367cbb-c2e0-47ce-bdc0-128cb6da898d"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

type env struct {
	svc   *Service
	db    *store.DB
	audit *audit.Log
	clk   *clock
	// nadia is a national analyst, alice RJ1's analyst, bob RJZ's.
	nadia, alice, bob scope.Scope
	changes           int
}

func person(email string, role scope.Role, code, path string) scope.Scope {
	return scope.Scope{UserID: "u-" + email, Email: email, Via: "session", Home: code, Grants: []scope.Grant{{Role: role, Org: code, Path: path}}}
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	al := audit.New(db, clk.now)
	os, err := org.New(org.Options{DB: db, Audit: al, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
		{Code: "RJZ", Name: "King's College Hospital", Type: org.Trust, Parent: "QKK"},
	} {
		if _, err := os.Create(ctx, scope.System("test"), o); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{db: db, audit: al, clk: clk,
		nadia: person("nadia@nhs.test", scope.NationalAnalyst, "ENG", "/ENG/"),
		alice: person("alice@rj1.nhs.test", scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/"),
		bob:   person("bob@rjz.nhs.test", scope.OrgAnalyst, "RJZ", "/ENG/Y56/QKK/RJZ/"),
	}
	e.svc, err = New(Options{DB: db, Audit: al, Orgs: os, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.OnChange(func() { e.changes++ })
	return e
}

var sets = []store.MigrationSet{audit.Migrations(), org.Migrations(), Migrations()}

func eachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db)) }, sets...)
}

// corpusDir copies the corpus files (and extra files) into a directory.
func corpusDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range corpusFiles {
		b, err := os.ReadFile(filepath.Join(sharedRules, f))
		if err != nil {
			testneed.Missing(t, "SigmaHQ's rules in ../shared/data/sigma/rules", err)
		}
		writeFile(t, filepath.Join(dir, f), string(b))
	}
	for name, text := range extra {
		writeFile(t, filepath.Join(dir, name), text)
	}
	return dir
}

func writeFile(t *testing.T, p, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const broken = `title: Broken
id: 0b0b0b0b-0000-4000-8000-000000000001
logsource:
    product: windows
detection:
    selection:
        Image|nosuchmodifier: x
    condition: selection
`

// A national analyst imports a directory: rules that load are stored with
// version 1, a broken one is reported with file, line and reason; the
// same import again stores nothing new; an edited file is version 2 with
// the old text kept; a broken copy of a stored rule leaves it as it was.
func TestImportDirectory(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dir := corpusDir(t, map[string]string{"custom/broken.yml": broken})
		rep, err := e.svc.ImportPath(ctx, e.nadia, dir, "sigmahq", "first import")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Added) != 3 || len(rep.Updated) != 0 || rep.Files != 4 || len(rep.Failed) != 1 {
			t.Fatalf("first import: %+v", rep)
		}
		if f := rep.Failed[0].Error(); !strings.HasPrefix(f, "custom/broken.yml:7: ") || !strings.Contains(f, "nosuchmodifier") {
			t.Errorf("failure: %q, want custom/broken.yml:7: …nosuchmodifier…", f)
		}
		if e.changes != 1 {
			t.Errorf("%d change hooks, want 1", e.changes)
		}
		d, err := e.svc.Get(ctx, e.alice, whoamiID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Title != "HackTool - SharpLdapWhoami Execution" || d.Level != "high" || d.Author != "Florian Roth (Nextron Systems)" || d.Product != "windows" ||
			d.Category != "process_creation" || d.Pack != "sigmahq" || d.Version != 1 || !d.Enabled || len(d.Versions) != 1 ||
			d.Versions[0].ChangedBy != "nadia@nhs.test" || d.Versions[0].Note != "first import" || !strings.Contains(d.YAML, "SharpLdapWhoami.exe") {
			t.Errorf("stored rule: %+v", d)
		}

		again, err := e.svc.ImportPath(ctx, e.nadia, dir, "sigmahq", "")
		if err != nil || len(again.Added)+len(again.Updated) != 0 || again.Unchanged != 3 {
			t.Fatalf("unchanged re-import: %+v %v", again, err)
		}
		if e.changes != 1 {
			t.Errorf("an unchanged import called the change hook")
		}

		p := filepath.Join(dir, corpusFiles[0])
		b, _ := os.ReadFile(p)
		writeFile(t, p, strings.Replace(string(b), "level: high", "level: medium", 1))
		// A broken copy of another stored rule: reported, the stored text kept.
		p2 := filepath.Join(dir, corpusFiles[1])
		b2, _ := os.ReadFile(p2)
		writeFile(t, p2, strings.Replace(string(b2), "condition: ", "condition: nosuchsearch and ", 1))
		upd, err := e.svc.ImportPath(ctx, e.nadia, dir, "sigmahq", "tuned")
		if err != nil || len(upd.Updated) != 1 || upd.Updated[0] != whoamiID || upd.Unchanged != 1 || len(upd.Failed) != 2 {
			t.Fatalf("edited re-import: %+v %v", upd, err)
		}
		d, _ = e.svc.Get(ctx, e.nadia, whoamiID)
		if d.Version != 2 || d.Level != "medium" || len(d.Versions) != 2 || d.Versions[0].Version != 2 || !strings.Contains(d.Versions[1].YAML, "level: high") {
			t.Errorf("after edit: version %d level %s versions %d", d.Version, d.Level, len(d.Versions))
		}
		all, _ := e.svc.List(ctx, e.alice, ListFilter{})
		if len(all) != 3 {
			t.Fatalf("%d rules after a re-import with a broken copy, want 3", len(all))
		}
		for _, r := range all {
			if r.ID != whoamiID && r.Version != 1 {
				t.Errorf("%s changed: version %d", r.ID, r.Version)
			}
		}

		// Only national roles import.
		if _, err := e.svc.ImportPath(ctx, e.alice, dir, "mine", ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a trust analyst imports: %v", err)
		}
		es, _, err := e.audit.List(ctx, scope.System("t"), audit.Filter{Action: "rule.import", Limit: 10})
		if err != nil || len(es) != 2 {
			t.Errorf("audit: %d rule.import entries, want 2 (%v)", len(es), err)
		}
	})
}

// A SigmaHQ release zip (rules under rules/…) imports as a directory does.
func TestImportZip(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		zp := filepath.Join(t.TempDir(), "sigma_all_rules.zip")
		f, err := os.Create(zp)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		add := func(name, text string) {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte(text)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range corpusFiles {
			b, err := os.ReadFile(filepath.Join(sharedRules, c))
			if err != nil {
				testneed.Missing(t, "SigmaHQ's rules in ../shared/data/sigma/rules", err)
			}
			add("rules/"+c, string(b))
		}
		add("rules/windows/broken.yml", broken)
		add("README.md", "not a rule")
		add("version.txt", "r2026-12-01")
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.ImportPath(ctx, e.nadia, zp, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Pack != "sigma_all_rules" || len(rep.Added) != 3 || rep.Files != 4 || len(rep.Failed) != 1 || rep.Failed[0].File != "rules/windows/broken.yml" {
			t.Fatalf("zip import: %+v", rep)
		}
		d, err := e.svc.Get(ctx, e.nadia, whoamiID)
		if err != nil || d.Path != "rules/"+corpusFiles[0] || d.Pack != "sigma_all_rules" {
			t.Errorf("from the zip: %+v %v", d.Rule, err)
		}
	})
}

// sample is an event for Decide.
type sample map[string]any

func (s sample) Field(n string) (any, bool) { v, ok := s[n]; return v, ok }

// Per-organisation settings: a trust's analyst disables a rule and
// lowers its level for their trust only, may not touch another trust's
// or the global setting, and detection's Set follows; exceptions hold
// matches back for their organisation until they expire.
func TestSettingsByOrganisation(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.svc.ImportPath(ctx, e.nadia, corpusDir(t, nil), "sigmahq", ""); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetEnabled(ctx, e.alice, whoamiID, "rj1", false); err != nil {
			t.Fatalf("alice disables for RJ1: %v", err)
		}
		if err := e.svc.SetEnabled(ctx, e.alice, whoamiID, "RJZ", false); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("alice disables for RJZ: %v, want not found", err)
		}
		if err := e.svc.SetEnabled(ctx, e.alice, whoamiID, "", false); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("alice disables for everyone: %v, want forbidden", err)
		}
		if err := e.svc.SetLevel(ctx, e.bob, whoamiID, "RJZ", "critical"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetLevel(ctx, e.nadia, whoamiID, "", "low"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetLevel(ctx, e.nadia, whoamiID, "", "severe"); !isInvalid(err) {
			t.Errorf("unknown level: %v", err)
		}
		if err := e.svc.SetEnabled(ctx, e.nadia, "no-such-rule", "", false); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("unknown rule: %v", err)
		}

		// What each sees.
		l, err := e.svc.List(ctx, e.alice, ListFilter{Org: "RJ1", Query: "ldapwhoami"})
		if err != nil || len(l) != 1 || l[0].EffectiveEnabled || l[0].OrgEnabled == nil || l[0].EffectiveLevel != "low" {
			t.Errorf("RJ1's view: %+v %v", l, err)
		}
		if _, err := e.svc.List(ctx, e.alice, ListFilter{Org: "RJZ"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("alice lists RJZ's settings: %v", err)
		}
		d, _ := e.svc.Get(ctx, e.alice, whoamiID)
		if len(d.Orgs) != 1 || d.Orgs[0].Org != "RJ1" || d.LevelOverride != "low" {
			t.Errorf("alice sees settings %+v", d.Orgs)
		}
		d, _ = e.svc.Get(ctx, e.nadia, whoamiID)
		if len(d.Orgs) != 2 {
			t.Errorf("nadia sees settings %+v", d.Orgs)
		}

		// Exceptions.
		if _, err := e.svc.AddException(ctx, e.alice, NewException{RuleID: whoamiID, Org: "RJ1", Match: []Match{{"Image", "x"}}, Owner: "alice", Reason: "r"}); !isInvalid(err) {
			t.Errorf("an exception without expiry: %v", err)
		}
		x, err := e.svc.AddException(ctx, e.bob, NewException{RuleID: whoamiID, Org: "RJZ",
			Match: []Match{{"Image", `C:\Tools\*\SharpLdapWhoami.exe`}, {"User", "SVC_SCAN"}}, Owner: "bob@rjz.nhs.test", Reason: "the weekly LDAP audit", Expires: e.clk.now().Add(48 * time.Hour)})
		if err != nil || !strings.HasPrefix(x.ID, "EX-") || x.Org != "RJZ" {
			t.Fatalf("add exception: %+v %v", x, err)
		}
		if d, _ := e.svc.Get(ctx, e.alice, whoamiID); len(d.Exceptions) != 0 {
			t.Errorf("alice sees RJZ's exception")
		}
		if err := e.svc.RemoveException(ctx, e.alice, x.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("alice removes RJZ's exception: %v", err)
		}

		set, err := e.svc.Snapshot(ctx)
		if err != nil || set.Rules() != 3 {
			t.Fatalf("snapshot: %v rules %d", err, set.Rules())
		}
		corpus, err := set.Corpus(sigma.Options{})
		if err != nil || len(corpus.Rules) != 3 || len(corpus.Failed) != 0 {
			t.Fatalf("corpus: %v %+v", err, corpus)
		}
		now := e.clk.now()
		ev := sample{"Image": `C:\Tools\ldap\SharpLdapWhoami.exe`, "User": "svc_scan"}
		other := sample{"Image": `C:\Tools\ldap\SharpLdapWhoami.exe`, "User": "mallory"}
		for _, c := range []struct {
			org   string
			ev    sample
			raise bool
			level string
		}{
			{"RJ1", other, false, "low"},     // disabled for RJ1
			{"RJZ", other, true, "critical"}, // RJZ's own level
			{"RJZ", ev, false, "critical"},   // RJZ's exception
			{"RA7", ev, true, "low"},         // the global override; RJZ's exception is RJZ's
		} {
			d := set.Decide(whoamiID, "high", c.org, c.ev, now)
			if d.Raise != c.raise || d.Level != c.level {
				t.Errorf("%s %v: %+v, want raise %v level %s", c.org, c.ev, d, c.raise, c.level)
			}
		}
		if d := set.Decide(whoamiID, "high", "RJZ", ev, now.Add(49*time.Hour)); !d.Raise {
			t.Errorf("an expired exception still applies")
		}
		if d := set.Decide("from-a-file", "medium", "RJ1", ev, now); !d.Raise || d.Level != "medium" {
			t.Errorf("a rule the store does not hold: %+v", d)
		}

		// Disabled everywhere but one organisation: still loaded.
		if err := e.svc.SetEnabled(ctx, e.nadia, whoamiID, "", false); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetEnabled(ctx, e.alice, whoamiID, "RJ1", true); err != nil {
			t.Fatal(err)
		}
		set, _ = e.svc.Snapshot(ctx)
		if set.Rules() != 3 || !set.Decide(whoamiID, "high", "RJ1", other, now).Raise || set.Decide(whoamiID, "high", "RJZ", other, now).Raise {
			t.Errorf("disabled globally, enabled for RJ1: rules %d", set.Rules())
		}
		if err := e.svc.ResetOrg(ctx, e.alice, whoamiID, "RJ1"); err != nil {
			t.Fatal(err)
		}
		if set, _ = e.svc.Snapshot(ctx); set.Rules() != 2 {
			t.Errorf("disabled everywhere: still %d rules loaded", set.Rules())
		}

		// Every change is audited, with its organisation.
		all, _, err := e.audit.List(ctx, scope.System("t"), audit.Filter{Action: "rule.", Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, x := range all {
			count[x.Action+" "+x.Org]++
		}
		if count["rule.enable RJ1"] != 2 || count["rule.level RJZ"] != 1 || count["rule.level "] != 1 || count["rule.except RJZ"] != 1 || count["rule.reset RJ1"] != 1 {
			t.Errorf("audit entries: %v", count)
		}
		if g, _ := e.svc.Generation(ctx); g < 7 {
			t.Errorf("generation %d after seven changes", g)
		}
	})
}

// Hit statistics: counted per rule, organisation and day; the noisiest
// report sums the days asked for over the organisations the caller reads.
func TestNoisiest(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.svc.ImportPath(ctx, e.nadia, corpusDir(t, nil), "sigmahq", ""); err != nil {
			t.Fatal(err)
		}
		now := e.clk.now()
		h := Hits{}
		for range 5 {
			h.Add(whoamiID, "RJ1", now, false)
		}
		h.Add(whoamiID, "RJ1", now, true)
		for range 9 {
			h.Add("b1f2f2c7-0000-4000-8000-00000000000f", "RJZ", now.Add(-24*time.Hour), false)
		}
		h.Add(whoamiID, "RJZ", now.AddDate(0, 0, -10), false) // outside 7 days
		if err := e.svc.RecordHits(ctx, h); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RecordHits(ctx, Hits{hitKey{whoamiID, "RJ1", now.Format(time.DateOnly)}: {RuleID: whoamiID, Org: "RJ1", Day: now, Hits: 2}}); err != nil {
			t.Fatal(err)
		}
		n, err := e.svc.Noisy(ctx, e.nadia, NoisyFilter{})
		if err != nil || len(n) != 2 || n[0].Hits != 9 || n[0].Title != "" || n[1].RuleID != whoamiID || n[1].Hits != 7 || n[1].Suppressed != 1 || n[1].Title == "" {
			t.Fatalf("national noisiest: %+v %v", n, err)
		}
		n, err = e.svc.Noisy(ctx, e.alice, NoisyFilter{Days: 30})
		if err != nil || len(n) != 1 || n[0].RuleID != whoamiID || n[0].Hits != 7 || n[0].Orgs != 1 {
			t.Fatalf("RJ1's noisiest: %+v %v", n, err)
		}
		if _, err := e.svc.Noisy(ctx, e.alice, NoisyFilter{Org: "RJZ"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("alice asks for RJZ: %v", err)
		}
		d, _ := e.svc.Get(ctx, e.bob, whoamiID)
		if len(d.Hits) != 1 || d.Hits[0].Hits != 1 || d.Hits[0].Day != "2026-11-26" {
			t.Errorf("bob's 30 days of hits: %+v, want RJZ's one 10 days ago and none of RJ1's", d.Hits)
		}
	})
}

// The editor's save: a new version over the version it was edited from,
// nothing for unchanged text, a conflict over a newer version, the rule's
// id kept, and a rule that does not load refused with its line.
func TestSave(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.svc.ImportPath(ctx, e.nadia, corpusDir(t, nil), "sigmahq", ""); err != nil {
			t.Fatal(err)
		}
		d, _ := e.svc.Get(ctx, e.nadia, whoamiID)
		edited := strings.Replace(d.YAML, "level: high", "level: critical", 1)
		r, err := e.svc.Save(ctx, e.nadia, SaveRequest{ID: whoamiID, BaseVersion: 1, YAML: edited, Note: "raise it"})
		if err != nil || r.Version != 2 || r.Level != "critical" || r.Pack != "sigmahq" {
			t.Fatalf("save: %+v %v", r, err)
		}
		if r, err := e.svc.Save(ctx, e.nadia, SaveRequest{ID: whoamiID, BaseVersion: 2, YAML: edited}); err != nil || r.Version != 2 {
			t.Errorf("unchanged save: %+v %v", r, err)
		}
		if _, err := e.svc.Save(ctx, e.nadia, SaveRequest{ID: whoamiID, BaseVersion: 1, YAML: d.YAML}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("save over a newer version: %v", err)
		}
		if _, err := e.svc.Save(ctx, e.nadia, SaveRequest{ID: whoamiID, BaseVersion: 2, YAML: broken}); !isInvalid(err) {
			t.Errorf("another id: %v", err)
		}
		bad := strings.Replace(edited, "condition: 1 of selection*", "condition: 1 of nothing*", 1)
		var inv *fault.Invalid
		if _, err := e.svc.Save(ctx, e.nadia, SaveRequest{ID: whoamiID, BaseVersion: 2, YAML: bad}); !errors.As(err, &inv) || inv.Field != "yaml" || !strings.Contains(inv.Reason, "line ") {
			t.Errorf("a rule that does not load: %v", err)
		}
		if _, err := e.svc.Save(ctx, e.alice, SaveRequest{ID: whoamiID, BaseVersion: 2, YAML: edited}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a trust analyst edits: %v", err)
		}
		newRule := strings.Replace(strings.Replace(broken, "|nosuchmodifier", "|endswith", 1), "0b0b0b0b-0000-4000-8000-000000000001", "c0ffee00-0000-4000-8000-000000000002", 1)
		r, err = e.svc.Save(ctx, e.nadia, SaveRequest{YAML: newRule, Note: "new"})
		if err != nil || r.ID != "c0ffee00-0000-4000-8000-000000000002" || r.Pack != LocalPack || r.Version != 1 {
			t.Errorf("new rule: %+v %v", r, err)
		}
		if _, err := e.svc.Save(ctx, e.nadia, SaveRequest{YAML: newRule}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("a new rule with a stored id: %v", err)
		}
		d, _ = e.svc.Get(ctx, e.nadia, whoamiID)
		if len(d.Versions) != 2 || d.Versions[0].Note != "raise it" {
			t.Errorf("history: %+v", d.Versions)
		}
	})
}

func isInvalid(err error) bool {
	var inv *fault.Invalid
	return errors.As(err, &inv)
}

// correlationFile is a Sigma file of several documents: two rules, a
// correlation without an id that feeds one with an id (the one that raises
// alerts), as the correlation specification writes them.
const correlationFile = `title: Failed logon
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: Successful logon
name: successful_logon
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4624
  condition: sel
---
title: Ten failed logons
name: many_failed_logons
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    gte: 10
---
title: Password guessed
id: c0ae1a7e-0000-4000-8000-000000000001
level: critical
author: Vigil tests
correlation:
  type: temporal_ordered
  rules: [many_failed_logons, successful_logon]
  group-by: [TargetUserName]
  timespan: 5m
`

// A file of several documents is one stored rule known by its first
// correlation with an id; detection loads its rules and correlations
// together. A file in which nothing has an id is refused.
func TestImportCorrelationFile(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		noID := strings.Replace(strings.Replace(broken, "|nosuchmodifier", "", 1), "id: 0b0b0b0b-0000-4000-8000-000000000001\n", "", 1)
		rep, err := e.svc.Import(ctx, e.nadia, "tests", "", []File{{Name: "guessed.yml", Data: []byte(correlationFile)}, {Name: "noid.yml", Data: []byte(noID)}})
		if err != nil || len(rep.Added) != 1 || rep.Added[0] != "c0ae1a7e-0000-4000-8000-000000000001" || len(rep.Failed) != 1 ||
			!strings.Contains(rep.Failed[0].Error(), "noid.yml: no rule in the file has an id") {
			t.Fatalf("import: %+v %v", rep, err)
		}
		d, err := e.svc.Get(ctx, e.nadia, "c0ae1a7e-0000-4000-8000-000000000001")
		if err != nil || d.Title != "Password guessed" || d.Level != "critical" || d.Author != "Vigil tests" {
			t.Errorf("stored: %+v %v", d.Rule, err)
		}
		set, err := e.svc.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c, err := set.Corpus(sigma.Options{})
		if err != nil || len(c.Rules) != 2 || len(c.Correlations) != 2 || len(c.Failed) != 0 {
			t.Errorf("corpus: %d rules, %d correlations, %v failed (%v)", len(c.Rules), len(c.Correlations), c.Failed, err)
		}
	})
}

// An exception's values: case-insensitive, '*' any run of characters,
// nothing else special (Windows paths keep their backslashes), numbers
// as events.FieldText writes them, lists by any item.
func TestExceptionValues(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
		ok   bool
	}{
		{`C:\Tools\Backup.EXE`, `c:\tools\backup.exe`, true},
		{`C:\Tools\Backup.EXE`, `C:\Tools\*.exe`, true},
		{`C:\Tools\Backup.EXE`, `C:\Windows\*`, false},
		{`C:\Tools\Backup.EXE`, `*backup*`, true},
		{`C:\Tools\Backup.EXE`, `*`, true},
		{"abcabc", "a*c*c", true},
		{"abc", "a*b*c*d", false},
		{"ab", "ab*b", false},
		{"", "", true},
		{"x", "", false},
		{float64(4624), "4624", true},
		{float64(4624), "46*", true},
		{true, "TRUE", true},
		{[]any{"svc_a", "svc_backup"}, "svc_b*", true},
		{[]any{"svc_a"}, "svc_b*", false},
		{nil, "", true},
		{`a?[b]`, `a?[b]`, true},
	} {
		if got := valueMatches(c.v, c.want); got != c.ok {
			t.Errorf("%#v against %q: %v, want %v", c.v, c.want, got, c.ok)
		}
	}
	if _, err := ParseMatch("=x"); !isInvalid(err) {
		t.Errorf("a match without a field: %v", err)
	}
	if m, err := ParseMatch(`CommandLine=a=b`); err != nil || m.Field != "CommandLine" || m.Value != "a=b" {
		t.Errorf("a value holding '=': %+v %v", m, err)
	}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for s, want := range map[string]time.Time{"30d": now.AddDate(0, 0, 30), "2w": now.AddDate(0, 0, 14), "12h": now.Add(12 * time.Hour),
		"2027-01-31": time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)} {
		if got, err := ParseExpiry(s, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseExpiry(%q) = %v %v, want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "soon", "0d", "-3d", "d"} {
		if _, err := ParseExpiry(s, now); !isInvalid(err) {
			t.Errorf("ParseExpiry(%q): %v, want invalid", s, err)
		}
	}
}
