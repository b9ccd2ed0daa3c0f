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

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/match"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestIndicatorLifecycle is issue 19 item 6 as users meet it:
//   - Nadia (national) allowlists a resolver's address through the API;
//     Alice (a trust's administrator) may not. An indicator listing it
//     loads nothing, and a trust's event to it raises no alert;
//   - the same address from two sources is one indicator: one alert,
//     naming both sources, at the higher confidence;
//   - an indicator whose score has decayed below the threshold does not
//     load (the matcher's stats say so);
//   - the match is a sighting: counted on the indicator, listed for the
//     trust and exported as a STIX sighting, and invisible to another trust.
func TestIndicatorLifecycle(t *testing.T) {
	s := startWith(t, nil)
	f := newFixture(t, s)
	ctx := context.Background()
	ntok, nsc := publisher(t, s)

	if res, out := do(t, "POST", s.url("/api/v1/intel/allowlist"), f.aliceTok, `{"values":["192.0.2.53"],"reason":"mine"}`); res.StatusCode != 403 {
		t.Errorf("a trust administrator allowlists: %d %s", res.StatusCode, out)
	}
	if res, out := do(t, "POST", s.url("/api/v1/intel/allowlist"), ntok, `{"values":["192.0.2.53"],"reason":"the national resolver"}`); res.StatusCode != 201 || !strings.Contains(out, `"added":1`) {
		t.Fatalf("allowlist: %d %s", res.StatusCode, out)
	}
	ind := func(id, value string, conf int, from time.Time) *stix.Object {
		o, err := stix.Parse([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",
			"name":"C2 %s","pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":%q,"confidence":%d,"object_marking_refs":[%q]}`,
			id, value, value, stix.FormatTimestamp(from), conf, stix.TLP2Green)))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	now := time.Now()
	if _, err := s.Intel.Import(ctx, nsc, "national.json", []*stix.Object{
		ind("11111111-1111-4111-8111-111111111111", "198.51.100.88", 60, now.Add(-time.Hour)),
		ind("22222222-2222-4222-8222-222222222222", "192.0.2.53", 90, now.Add(-time.Hour)),
		ind("33333333-3333-4333-8333-333333333333", "198.51.100.99", 50, now.Add(-200*24*time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.Import(ctx, nsc, "partner-feed", []*stix.Object{ind("44444444-4444-4444-8444-444444444444", "198.51.100.88", 90, now.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st := s.IOC.Stats(); st.Indicators != 1 || st.Skipped[match.SkipAllowlisted] != 1 || st.Skipped[match.SkipDecayed] != 1 || st.Skipped[match.SkipMerged] != 1; st = s.IOC.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("matcher stats %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}

	_, ingestTok, err := s.Auth.CreateIngestToken(ctx, scope.System("test"), "RJ1", "sysmon", 0)
	if err != nil {
		t.Fatal(err)
	}
	send := func(dst string) {
		t.Helper()
		line := fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Computer":"ws7.rj1.nhs.uk","Image":"C:\\x.exe","SourceIp":"10.1.2.3","DestinationIp":%q,"DestinationPort":443,"UtcTime":%q}`,
			dst, time.Now().UTC().Format("2006-01-02 15:04:05.000"))
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(line+"\n"))
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
	}
	send("192.0.2.53")    // allowlisted: nothing
	send("198.51.100.99") // decayed: nothing
	send("198.51.100.88") // two sources, one alert
	var alerts []cases.Alert
	deadline = time.Now().Add(15 * time.Second)
	for len(alerts) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no IOC alert")
		}
		time.Sleep(50 * time.Millisecond)
		_, body := get(t, http.DefaultClient, s.url("/api/v1/alerts?source=intel"), f.aliceTok)
		var page struct{ Items []cases.Alert }
		_ = json.Unmarshal([]byte(body), &page)
		alerts = page.Items
	}
	a := alerts[0]
	if len(alerts) != 1 || a.Fields["matched_value"] != "198.51.100.88" || a.Fields["indicator_source"] != "national.json, partner-feed" || a.Fields["indicator_confidence"] != "90" {
		t.Fatalf("alerts %+v", alerts)
	}
	id := a.Fields["indicator_id"]

	// The sighting, for the trust, and as STIX.
	var sg []intel.Sighting
	deadline = time.Now().Add(5 * time.Second)
	for len(sg) == 0 && time.Now().Before(deadline) {
		_, body := get(t, http.DefaultClient, s.url("/api/v1/intel/sightings"), f.aliceTok)
		var page struct{ Items []intel.Sighting }
		_ = json.Unmarshal([]byte(body), &page)
		sg = page.Items
	}
	if len(sg) != 1 || sg[0].Indicator != id || sg[0].Org != "RJ1" || sg[0].Count != 1 {
		t.Fatalf("sightings %+v", sg)
	}
	_, body := get(t, http.DefaultClient, s.url("/api/v1/intel/sightings/stix?indicator="+id), f.aliceTok)
	if !strings.Contains(body, `"type":"sighting"`) || !strings.Contains(body, `"sighting_of_ref":"`+id+`"`) || !strings.Contains(body, `"count":1`) {
		t.Errorf("STIX sightings: %s", body)
	}
	if _, body := get(t, http.DefaultClient, s.url("/api/v1/intel/sightings"), f.bobTok); strings.Contains(body, id) {
		t.Errorf("another trust sees RJ1's sighting: %s", body)
	}
	_, body = get(t, http.DefaultClient, s.url("/api/v1/intel/allowlist"), f.bobTok)
	if !strings.Contains(body, "192.0.2.53") || !strings.Contains(body, "the national resolver") {
		t.Errorf("allowlist as a trust reads it: %s", body)
	}
}
