package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestIOCRetroOnShare: a TLP:RED indicator arrives shared with nobody,
// and its retro-match raises nothing; once shared with RJ1, RJ1's stored
// past event is retro-matched and Alice gets the alert, while RJZ's
// identical event raises nothing for Bob until it is shared with RJZ too.
func TestIOCRetroOnShare(t *testing.T) {
	s := startWith(t, nil)
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	nadia, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: "nadia@soc.nhs.test", Name: "Nadia", Org: "ENG", Role: scope.NationalAnalyst, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	nsc, err := s.Auth.ScopeFor(ctx, nadia.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	send := func(org, marker string) {
		t.Helper()
		_, tok, err := s.Auth.CreateIngestToken(ctx, sys, org, "sysmon "+org, 0)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Computer":"ws1.%s.nhs.uk","Image":"C:\\%s.exe","SourceIp":"10.1.2.3","DestinationIp":"198.51.100.88","DestinationPort":443,"UtcTime":%q}`,
			strings.ToLower(org), marker, time.Now().Add(-24*time.Hour).UTC().Format("2006-01-02 15:04:05.000"))
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(line+"\n"))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("ingest = %d %s", res.StatusCode, b)
		}
	}
	until := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	send("RJ1", "rj1past")
	send("RJZ", "rjzpast")
	for _, w := range []string{"rj1past", "rjzpast"} {
		until(w+" stored", func() bool {
			p, err := s.Events.Search(ctx, sys, events.Query{Text: w, Since: time.Now().Add(-8 * 24 * time.Hour)})
			return err == nil && len(p.Events) > 0
		})
	}
	retroMark := func() time.Time {
		s.IOC.mu.Lock()
		defer s.IOC.mu.Unlock()
		return s.IOC.retroMark
	}
	before := retroMark()
	red, err := stix.NewIndicator(stix.IndicatorOptions{Name: "Shared later", Pattern: "[ipv4-addr:value = '198.51.100.88']", Created: time.Now().Add(-time.Hour),
		Markings: []string{stix.TLP2Red}})
	if err != nil {
		t.Fatal(err)
	}
	if err := red.Set("confidence", 90); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.Import(ctx, nsc, "red.json", []*stix.Object{red}); err != nil {
		t.Fatal(err)
	}
	// The retro-match of its arrival has run, for nobody.
	until("the arrival's retro-match", func() bool { return retroMark().After(before) })
	alerts := func(tok string) []cases.Alert { t.Helper(); return intelAlerts(t, s, tok) }
	if as := alerts(f.aliceTok); len(as) != 0 {
		t.Fatalf("alerts before any share: %+v", as)
	}
	if _, err := s.Intel.Share(ctx, nsc, red.ID, "org", "RJ1"); err != nil {
		t.Fatal(err)
	}
	until("RJ1's retro alert", func() bool { return len(alerts(f.aliceTok)) == 1 })
	if a := alerts(f.aliceTok)[0]; a.Type != "ioc-retro" || a.Org != "RJ1" || a.Fields["indicator_id"] != red.ID {
		t.Errorf("RJ1's alert %+v", a)
	}
	// That retro-match was for RJ1 alone (its alert is in).
	time.Sleep(200 * time.Millisecond)
	if as := alerts(f.bobTok); len(as) != 0 {
		t.Errorf("bob, of RJZ, gets %d alerts of an indicator shared with RJ1", len(as))
	}
	if _, err := s.Intel.Share(ctx, nsc, red.ID, "org", "RJZ"); err != nil {
		t.Fatal(err)
	}
	until("RJZ's retro alert", func() bool { return len(alerts(f.bobTok)) == 1 })
	if n := len(alerts(f.aliceTok)); n != 1 {
		t.Errorf("RJ1 has %d alerts after the share with RJZ, want still 1", n)
	}
}

// TestIOCRetroOnApproval: Alice of RJ1 submits a GREEN indicator to a
// moderated national collection; while pending it is retro-matched for
// RJ1 alone (Alice's alert, nothing for Bob of RJZ). Once a national
// analyst approves it, RJZ's past event is retro-matched too, and RJ1's
// is not matched again.
func TestIOCRetroOnApproval(t *testing.T) {
	s := startWith(t, nil)
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	_, psc := publisher(t, s)
	c, err := s.Intel.CreateCollection(ctx, psc, intel.CollectionOptions{Title: "Submitted upward", TLPCeiling: stix.TLPAmber, Moderated: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.GrantCollection(ctx, psc, c.ID, intel.GrantOptions{Org: "Y56", Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"RJ1", "RJZ"} {
		_, tok, err := s.Auth.CreateIngestToken(ctx, sys, org, "sysmon "+org, 0)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Computer":"ws1.%s.nhs.uk","Image":"C:\\approvalpast.exe","SourceIp":"10.1.2.3","DestinationIp":"198.51.100.89","DestinationPort":443,"UtcTime":%q}`,
			strings.ToLower(org), time.Now().Add(-24*time.Hour).UTC().Format("2006-01-02 15:04:05.000"))
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(line+"\n"))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	until := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	until("both events stored", func() bool {
		p, err := s.Events.Search(ctx, sys, events.Query{Text: "approvalpast", Since: time.Now().Add(-8 * 24 * time.Hour)})
		return err == nil && len(p.Events) == 2
	})
	alerts := func(tok string) []cases.Alert { t.Helper(); return intelAlerts(t, s, tok) }
	ind, err := stix.NewIndicator(stix.IndicatorOptions{Name: "Submitted by RJ1", Pattern: "[ipv4-addr:value = '198.51.100.89']", Created: time.Now().Add(-time.Hour),
		Markings: []string{stix.TLP2Green}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ind.Set("confidence", 90); err != nil {
		t.Fatal(err)
	}
	alice, err := s.Auth.ScopeFor(ctx, f.alice.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := s.Intel.ImportInto(ctx, alice, c.ID, "taxii:rj1", []*stix.Object{ind}); err != nil || rep.Pending != 1 {
		t.Fatalf("alice's submission: %+v %v", rep, err)
	}
	until("RJ1's retro alert", func() bool { return len(alerts(f.aliceTok)) == 1 })
	time.Sleep(200 * time.Millisecond)
	if as := alerts(f.bobTok); len(as) != 0 {
		t.Fatalf("bob gets %d alerts of a pending submission of RJ1's", len(as))
	}
	subs, err := s.Intel.Submissions(ctx, psc, intel.SubmissionQuery{})
	if err != nil || len(subs) != 1 {
		t.Fatalf("pending: %+v %v", subs, err)
	}
	if _, err := s.Intel.ApproveSubmission(ctx, psc, subs[0].ID); err != nil {
		t.Fatal(err)
	}
	until("RJZ's retro alert", func() bool { return len(alerts(f.bobTok)) == 1 })
	// Sightings are recorded once the retro-match is done.
	count := func(org string) int {
		xs, err := s.Intel.Sightings(ctx, sys, ind.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			if x.Org == org {
				return x.Count
			}
		}
		return 0
	}
	until("RJZ's sighting", func() bool { return count("RJZ") == 1 })
	if n := count("RJ1"); n != 1 {
		t.Errorf("RJ1's event was matched %d times, want once (when it arrived)", n)
	}
	if as := alerts(f.aliceTok); len(as) != 1 || as[0].Occurrences != 1 {
		t.Errorf("RJ1's alerts after the approval: %+v, want the one alert, seen once", as)
	}
}

// intelAlerts is the intelligence alerts the holder of tok sees in the inbox.
func intelAlerts(t *testing.T, s *Server, tok string) []cases.Alert {
	t.Helper()
	res, body := get(t, http.DefaultClient, s.url("/api/v1/alerts?source=intel"), tok)
	if res.StatusCode != 200 {
		t.Fatalf("alerts = %d %s", res.StatusCode, body)
	}
	var page struct{ Items []cases.Alert }
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}
