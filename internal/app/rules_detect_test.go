package app

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// storedRule is a rule kept in the store (internal/rules), not in a file.
const storedRule = `title: Mimikatz run (stored)
id: 5a1f0000-0000-4000-8000-0000000000aa
status: test
level: high
author: Vigil tests
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    CommandLine|contains: mimikatz
  condition: sel
`

// TestLiveDetectionStoredRules: a server with no --rules runs a rule
// imported into the store once the import returns; a trust's analyst
// disables it for their trust, so that trust's event raises nothing
// while another trust's identical event raises an alert at the level
// that trust chose; an exception holds back the matches it names; every
// match is counted in the hit statistics (suppressed apart). Both
// engines.
func TestLiveDetectionStoredRules(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testLiveStoredRules(t, "") })
	t.Run("postgres", func(t *testing.T) { testLiveStoredRules(t, storetest.PostgresSchemaURL(t)) })
}

func testLiveStoredRules(t *testing.T, dbURL string) {
	s := startWith(t, func(c *config.Config) {
		c.DatabaseURL = dbURL
		c.Analytics = "off"
		c.Attack = filepath.Join("..", "..", "..", "shared", "data", "attack", "enterprise-attack-v18.1-stix20.json.gz")
	})
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	if n, c := s.Detection.RuleCounts(); n+c != 0 {
		t.Fatalf("%d rules before any import", n+c)
	}
	rep, err := s.Rules.Import(ctx, sys, "tests", "", []rules.File{{Name: "mimikatz.yml", Data: []byte(storedRule)}})
	if err != nil || len(rep.Added) != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	if n, _ := s.Detection.RuleCounts(); n != 1 {
		t.Fatalf("%d rules running after the import returned, want 1", n)
	}
	const id = "5a1f0000-0000-4000-8000-0000000000aa"
	alice, err := s.Auth.ScopeFor(ctx, f.alice.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.Auth.ScopeFor(ctx, f.bob.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Rules.SetEnabled(ctx, alice, id, "RJ1", false); err != nil {
		t.Fatalf("alice disables the rule for RJ1: %v", err)
	}
	if err := s.Rules.SetLevel(ctx, bob, id, "RJZ", "critical"); err != nil {
		t.Fatalf("bob raises the rule's level for RJZ: %v", err)
	}
	if _, err := s.Rules.AddException(ctx, bob, rules.NewException{RuleID: id, Org: "RJZ", Match: []rules.Match{{Field: "Computer", Value: "scanner*"}},
		Owner: "bob@rjz.nhs.test", Reason: "the red team's scanner", Expires: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	tokens := map[string]string{}
	for _, org := range []string{"RJ1", "RJZ"} {
		_, secret, err := s.Auth.CreateIngestToken(ctx, sys, org, "winlogbeat", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[org] = secret
	}
	send := func(org, host string) {
		t.Helper()
		ev := `{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"` + host + `","Image":"C:\\Tools\\m.exe","CommandLine":"m.exe mimikatz sekurlsa::logonpasswords","TimeCreated":"` +
			time.Now().UTC().Format(time.RFC3339Nano) + `"}` + "\n"
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), bytes.NewReader([]byte(ev)))
		req.Header.Set("Authorization", "Bearer "+tokens[org])
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("send for %s: %d", org, res.StatusCode)
		}
	}
	// RJ1's event first, then RJZ's excepted one, then RJZ's: once RJZ's
	// alert is in, the consumer has been past the other two.
	send("RJ1", "ws1.rj1.nhs.uk")
	send("RJZ", "scanner01.rjz.nhs.uk")
	send("RJZ", "ws2.rjz.nhs.uk")
	deadline := time.Now().Add(20 * time.Second)
	var as []cases.Alert
	for {
		as, _, err = s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Source: "sigma"})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	as, _, _ = s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Source: "sigma"})
	if len(as) != 1 {
		t.Fatalf("%d alerts, want RJZ's one: %+v", len(as), as)
	}
	a := as[0]
	if a.Org != "RJZ" || a.Severity != cases.Critical || a.Fields["rule_level"] != "critical" || a.Fields["rule_level_own"] != "high" ||
		a.Fields["rule_id"] != id || !strings.Contains(a.SourceRef, "ws2.rjz.nhs.uk") {
		t.Errorf("alert %+v", a)
	}
	// The hit statistics: RJZ's hit and its suppressed one; RJ1's
	// disabled rule counts nothing.
	var noisy []rules.Noise
	for time.Now().Before(deadline) {
		if noisy, err = s.Rules.Noisy(ctx, sys, rules.NoisyFilter{}); err != nil {
			t.Fatal(err)
		}
		if len(noisy) == 1 && noisy[0].Hits+noisy[0].Suppressed == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(noisy) != 1 || noisy[0].RuleID != id || noisy[0].Hits != 1 || noisy[0].Suppressed != 1 || noisy[0].Orgs != 1 {
		t.Errorf("noisiest: %+v", noisy)
	}

	// ATT&CK coverage per organisation: the rule counts for RJZ, where
	// it runs, and not for RJ1, where it is disabled; an organisation the
	// caller may not read is refused.
	for _, c := range []struct {
		sc    scope.Scope
		org   string
		rules int
	}{{sys, "", 1}, {bob, "RJZ", 1}, {alice, "RJ1", 0}, {sys, "RJ1", 0}} {
		cov, err := s.Coverage(ctx, c.sc, c.org)
		if err != nil || cov.Rules != c.rules || cov.Org != c.org {
			t.Errorf("coverage for %q: %d rules (org %q), %v; want %d", c.org, cov.Rules, cov.Org, err, c.rules)
		}
	}
	if _, err := s.Coverage(ctx, alice, "RJZ"); err == nil {
		t.Errorf("alice of RJ1 was shown RJZ's coverage")
	}

	// Disabled everywhere: the server stops running it.
	if err := s.Rules.SetEnabled(ctx, sys, id, "", false); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Detection.RuleCounts(); n != 0 {
		t.Errorf("%d rules running after the rule was disabled everywhere", n)
	}
}

// TestStoredRulesFromAnotherProcess: a rule imported by another process
// on the same data directory (a CLI command beside a server with an
// embedded bus, which cannot tell the server) runs on the server within
// RulesCheckInterval and a little.
func TestStoredRulesFromAnotherProcess(t *testing.T) {
	s := startWith(t, func(c *config.Config) { c.Analytics = "off" })
	cli, err := Open(context.Background(), s.Config, nil, MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Rules.Import(context.Background(), scope.System("cli"), "tests", "", []rules.File{{Name: "mimikatz.yml", Data: []byte(storedRule)}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		if n, _ := s.Detection.RuleCounts(); n == 1 {
			t.Logf("the server ran the other process's rule %v after its import", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > RulesCheckInterval+5*time.Second {
			t.Fatalf("the server did not pick up a rule imported by another process")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
