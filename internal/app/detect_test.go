package app

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testneed"
)

// liveRules are a process-creation rule, and the correlation the issue
// names: ten failed logons, then a success, for one user within five
// minutes (an event_count chained into a temporal_ordered).
const liveRules = `title: Mimikatz run
id: 5a1f0000-0000-4000-8000-000000000001
status: test
level: high
author: Vigil tests
tags: [attack.credential-access, attack.t1003.001]
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    CommandLine|contains: mimikatz
  condition: sel
---
title: Failed logon
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
title: Password guessed - ten failed logons then a success
id: 5a1f0000-0000-4000-8000-000000000002
level: critical
author: Vigil tests
correlation:
  type: temporal_ordered
  rules: [many_failed_logons, successful_logon]
  group-by: [TargetUserName]
  timespan: 5m
`

// TestLiveDetection: a `vigil serve` with --rules receives Windows events
// as JSON over syslog from util-linux's logger; a process creation raises
// its rule's alert within seconds, and ten failed logons then a success
// for one user raise the correlation's alert, while the same for a user
// with three failures raises nothing. The alerts carry the rule's author
// and what matched; no alert is raised twice.
func TestLiveDetection(t *testing.T) {
	if _, err := exec.LookPath("logger"); err != nil {
		testneed.Missing(t, "util-linux's logger (Debian's bsdutils)", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(liveRules), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startWith(t, func(c *config.Config) {
		c.SyslogTCP = "127.0.0.1:0"
		c.Rules = dir
		c.Analytics = "off"
	})
	if s.Detection == nil {
		t.Fatal("no live detection with --rules")
	}
	if n, c := s.Detection.RuleCounts(); n != 3 || c != 2 {
		t.Fatalf("%d rules and %d correlations loaded, want 3 and 2", n, c)
	}
	a := s.Ingest.Addrs()[ingest.ListenerSyslogTCP].String()
	port := a[strings.LastIndexByte(a, ':')+1:]
	send := func(lines ...string) {
		t.Helper()
		f := filepath.Join(t.TempDir(), "lines")
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("logger", "-n", "127.0.0.1", "-P", port, "-T", "--octet-count", "--rfc5424", "-t", "nxlog", "-f", f).CombinedOutput(); err != nil {
			t.Fatalf("logger: %v %s", err, out)
		}
	}
	t0 := time.Now().UTC().Add(-time.Minute)
	logon := func(id int, user string, at time.Duration) string {
		return fmt.Sprintf(`{"Channel":"Security","EventID":%d,"Computer":"dc01.rj1.nhs.uk","TargetUserName":%q,"IpAddress":"10.9.8.7","TimeCreated":%q}`,
			id, user, t0.Add(at).Format(time.RFC3339Nano))
	}

	sent := time.Now()
	send(fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"ws7.rj1.nhs.uk","User":"RJ1\\alice","Image":"C:\\Tools\\m.exe","CommandLine":"m.exe mimikatz sekurlsa::logonpasswords","TimeCreated":%q}`,
		t0.Format(time.RFC3339Nano)))
	ctx := context.Background()
	sys := scope.System("test")
	wait := func(what string, f cases.AlertFilter, want int) []cases.Alert {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			as, _, err := s.Cases.ListAlerts(ctx, sys, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(as) >= want || time.Now().After(deadline) {
				if len(as) != want {
					t.Fatalf("%s: %d alerts, want %d: %+v", what, len(as), want, as)
				}
				return as
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	as := wait("the rule's alert", cases.AlertFilter{Source: "sigma", Type: "rule"}, 1)
	took := time.Since(sent)
	t.Logf("the rule's alert was in the inbox %v after logger sent its event", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("the rule's alert took %v (the issue asks for 2 s)", took)
	}
	r := as[0]
	if r.Title != "Mimikatz run" || r.Severity != cases.High || r.Org != "ENG" || r.Fields["rule_author"] != "Vigil tests" ||
		!strings.Contains(r.Fields["matched_fields"], "CommandLine") || !strings.Contains(r.Description, "by Vigil tests") ||
		!strings.Contains(r.SourceRef, "ws7.rj1.nhs.uk") {
		t.Errorf("rule alert %+v", r)
	}
	var users []string
	for _, o := range r.Observables {
		users = append(users, string(o.Type)+":"+o.Value)
	}
	if !strings.Contains(strings.Join(users, " "), `user:RJ1\alice`) || !strings.Contains(strings.Join(users, " "), "host:ws7.rj1.nhs.uk") {
		t.Errorf("observables %v", users)
	}

	// Ten failures then a success for bob; three then a success for carol.
	var lines []string
	for i := range 10 {
		lines = append(lines, logon(4625, "bob", time.Duration(i)*time.Second))
	}
	for i := range 3 {
		lines = append(lines, logon(4625, "carol", time.Duration(i)*time.Second))
	}
	lines = append(lines, logon(4624, "carol", 20*time.Second), logon(4624, "bob", 30*time.Second))
	send(lines...)
	as = wait("the correlation's alert", cases.AlertFilter{Source: "sigma", Type: "correlation"}, 1)
	c := as[0]
	if c.Severity != cases.Critical || c.Fields["group.targetusername"] != "bob" || c.Fields["rule_author"] != "Vigil tests" || c.Fields["correlation_type"] != "temporal_ordered" {
		t.Errorf("correlation alert %+v", c)
	}
	// Nothing else: the logon rules only feed the correlations, and the
	// first alert was not raised again.
	time.Sleep(500 * time.Millisecond)
	all, _, err := s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Source: "sigma"})
	if err != nil || len(all) != 2 {
		t.Errorf("%d sigma alerts (%v), want 2: %+v", len(all), err, all)
	}
	for _, a := range all {
		if a.Occurrences != 1 {
			t.Errorf("%s: %d occurrences", a.Title, a.Occurrences)
		}
	}
}
