package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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

// TestIOCMatchEndToEnd: a trust's event is stored; then a national
// analyst adds two indicators, an address by `vigil intel import` of a
// STIX bundle and a domain by TAXII POST. The stored event is found by
// retro-matching; a new event from the trust raises live alerts in the
// trust's inbox within seconds, each naming the indicator, its source,
// TLP and confidence; a repeat is one alert counted twice; another
// trust sees none of it.
func TestIOCMatchEndToEnd(t *testing.T) {
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
	_, ingestTok, err := s.Auth.CreateIngestToken(ctx, sys, "RJ1", "sysmon on ws7", 0)
	if err != nil {
		t.Fatal(err)
	}
	send := func(fields string) time.Time {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(fields+"\n"))
		req.Header.Set("Authorization", "Bearer "+ingestTok)
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
		return time.Now()
	}
	netconn := func(marker, dstIP, dstHost string, at time.Time) string {
		return fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Computer":"ws7.rj1.nhs.uk","Image":"C:\\Users\\x\\AppData\\%s.exe","SourceIp":"10.1.2.3","DestinationIp":%q,"DestinationHostname":%q,"DestinationPort":443,"UtcTime":%q}`,
			marker, dstIP, dstHost, at.UTC().Format("2006-01-02 15:04:05.000"))
	}
	waitStored := func(word string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			p, err := s.Events.Search(ctx, sys, events.Query{Text: word, Since: time.Now().Add(-8 * 24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Events) > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never stored", word)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Two days ago, ws7 talked to the address: stored before anyone knew.
	send(netconn("oldbeacon", "198.51.100.77", "", time.Now().Add(-48*time.Hour)))
	waitStored("oldbeacon")

	// The national SOC imports a STIX bundle (what `vigil intel import` runs)...
	bundle := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
{"type":"identity","spec_version":"2.1","id":"identity--8f2b1c3e-4b5d-4e6f-9a7b-1c2d3e4f5a6b","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","name":"National SOC","identity_class":"organization"},
{"type":"indicator","spec_version":"2.1","id":"indicator--1b5f5c8a-2f4e-4c1d-9e3b-7a6d5c4b3a21","created":"2026-12-06T00:00:00.000Z","modified":"2026-12-06T00:00:00.000Z",
 "name":"QakBot C2 address","pattern":"[ipv4-addr:value = '198.51.100.77']","pattern_type":"stix","valid_from":"2026-12-06T00:00:00Z",
 "created_by_ref":"identity--8f2b1c3e-4b5d-4e6f-9a7b-1c2d3e4f5a6b","confidence":85,"object_marking_refs":["` + stix.TLP2Green + `"]},
{"type":"indicator","spec_version":"2.1","id":"indicator--2c6f6d9b-3f5e-4d2e-8f4c-8b7e6d5c4b32","created":"2026-12-06T00:00:00.000Z","modified":"2026-12-06T00:00:00.000Z",
 "name":"Expired address","pattern":"[ipv4-addr:value = '10.1.2.3']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-02-01T00:00:00Z"}]}`
	file := filepath.Join(t.TempDir(), "qakbot.json")
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.ImportFiles(ctx, nsc, "", []string{file}); err != nil {
		t.Fatal(err)
	}
	// ...and posts a domain to its TAXII collection.
	coll, err := s.Intel.CreateCollection(ctx, nsc, intel.CollectionOptions{Title: "National indicators", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	env := `{"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--3d7a7e0c-4a6f-4e3f-9a5d-9c8f7e6d5c43","created":"2026-12-06T00:00:00.000Z","modified":"2026-12-06T00:00:00.000Z",
 "name":"QakBot C2 domain","pattern":"[domain-name:value = 'c2.badsite.example']","pattern_type":"stix","valid_from":"2026-12-06T00:00:00Z","confidence":40,"object_marking_refs":["` + stix.TLP2Amber + `"]}]}`
	req, _ := http.NewRequest("POST", s.url("/taxii2/intel/collections/"+coll.ID+"/objects/"), strings.NewReader(env))
	req.SetBasicAuth("nadia@soc.nhs.test", "correct horse battery")
	req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("TAXII POST = %d %s", res.StatusCode, b)
	}

	listAlerts := func(tok string) []cases.Alert { return intelAlerts(t, s, tok) }
	wait := func(what string, ok func([]cases.Alert) bool) []cases.Alert {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			as := listAlerts(f.aliceTok)
			if ok(as) {
				return as
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: alerts %+v", what, as)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	byType := func(as []cases.Alert, typ string) []cases.Alert {
		var out []cases.Alert
		for _, a := range as {
			if a.Type == typ {
				out = append(out, a)
			}
		}
		return out
	}

	// Retro-match: the stored event is a past sighting of the address.
	as := wait("retro-match", func(as []cases.Alert) bool { return len(byType(as, "ioc-retro")) == 1 })
	retro := byType(as, "ioc-retro")[0]
	if retro.Org != "RJ1" || retro.Fields["indicator_id"] != "indicator--1b5f5c8a-2f4e-4c1d-9e3b-7a6d5c4b3a21" || retro.Fields["retrospective"] != "true" ||
		!strings.Contains(retro.Title, "QakBot C2 address") {
		t.Errorf("retro alert %+v", retro)
	}

	// Live: a new event from the trust, to a subdomain of the listed domain
	// at the listed address.
	sent := send(netconn("newbeacon", "198.51.100.77", "cdn.c2.badsite.example", time.Now()))
	as = wait("live match", func(as []cases.Alert) bool { return len(byType(as, "ioc")) == 2 })
	took := time.Since(sent)
	if took > 10*time.Second {
		t.Errorf("live alerts took %s", took)
	}
	t.Logf("live alerts in the trust's inbox %s after the event was sent", took.Round(time.Millisecond))
	var ipAlert cases.Alert
	for _, a := range byType(as, "ioc") {
		switch a.Fields["indicator_id"] {
		case "indicator--1b5f5c8a-2f4e-4c1d-9e3b-7a6d5c4b3a21":
			ipAlert = a
			if a.Fields["indicator_source"] != file || a.Fields["indicator_created_by"] != "identity--8f2b1c3e-4b5d-4e6f-9a7b-1c2d3e4f5a6b" ||
				a.Fields["indicator_tlp"] != "TLP:GREEN" || a.Fields["indicator_confidence"] != "85" || a.Severity != cases.High || a.TLP != cases.TLPAmber {
				t.Errorf("address alert %+v", a)
			}
		case "indicator--3d7a7e0c-4a6f-4e3f-9a5d-9c8f7e6d5c43":
			if !strings.HasPrefix(a.Fields["indicator_source"], "taxii:") || a.Fields["indicator_tlp"] != "TLP:AMBER" || a.Fields["listed_value"] != "c2.badsite.example" ||
				a.Fields["matched_value"] != "cdn.c2.badsite.example" || a.Severity != cases.Low {
				t.Errorf("domain alert %+v", a)
			}
		default:
			t.Errorf("unexpected alert %+v", a)
		}
		if a.Org != "RJ1" || a.Fields["retrospective"] != "false" {
			t.Errorf("alert %+v", a)
		}
	}
	// The expired indicator for 10.1.2.3 (every event's source) raised nothing.

	// The same address again within the hour: the same alert, counted.
	send(netconn("newbeacon2", "198.51.100.77", "", time.Now()))
	wait("repeat counted", func(as []cases.Alert) bool {
		for _, a := range as {
			if a.ID == ipAlert.ID && a.Occurrences == 2 {
				return len(byType(as, "ioc")) == 2
			}
		}
		return false
	})
	// King's sees none of Guy's alerts.
	if as := listAlerts(f.bobTok); len(as) != 0 {
		t.Errorf("Bob sees %+v", as)
	}
	if st := s.IOC.Stats(); st.Indicators != 2 || st.Skipped["past valid_until"] != 1 {
		t.Errorf("matcher stats %+v", st)
	}
}
