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

// TestIndicatorVerdicts is the rest of issue 19 item 6 as users meet it:
//   - Nadia (national) defines a fast-decaying model, makes it the
//     default and gives a partner's feed the standard one, through the
//     API (a trust administrator may not); each indicator is scored by
//     its source's model;
//   - Alice closes an IOC alert as a false positive: a verdict on the
//     indicator from her trust, which she (not Bob) reads; Bob's trust
//     reports a false-positive sighting through TAXII; two organisations
//     withdraw the indicator under the fast model; Alice's true positive
//     brings it back;
//   - an allowlisted block stops the addresses inside it until Nadia
//     takes it off.
//
// On both engines: SQLite with embedded NATS, PostgreSQL with NATS.
func TestIndicatorVerdicts(t *testing.T) {
	engines(t, testIndicatorVerdicts)
}

func testIndicatorVerdicts(t *testing.T, start func(testing.TB) *Server) {
	t0 := time.Now()
	s := start(t)
	f := newFixture(t, s)
	ctx := context.Background()
	ntok, nsc := publisher(t, s)
	call := func(method, path, tok, body string, want int) string {
		t.Helper()
		res, out := do(t, method, s.url(path), tok, body)
		if res.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, out, want)
		}
		return out
	}
	call("PUT", "/api/v1/intel/decay/models/fast", f.aliceTok, `{"half_life_days":{"ip":2},"threshold":20,"false_positive_orgs":2}`, 403)
	call("PUT", "/api/v1/intel/decay/models/fast", ntok, `{"half_life_days":{"ipv4":2}}`, 400)
	call("PUT", "/api/v1/intel/decay/models/fast", ntok, `{"half_life_days":{"ip":2},"threshold":20,"false_positive_orgs":2}`, 200)
	call("PUT", "/api/v1/intel/decay/default", ntok, `{"model":"fast"}`, 200)
	call("PUT", "/api/v1/intel/decay/sources", f.aliceTok, `{"source":"partner-feed","model":"standard"}`, 403)
	out := call("PUT", "/api/v1/intel/decay/sources", ntok, `{"source":"partner-feed","model":"standard"}`, 200)
	if !strings.Contains(out, `"default":"fast"`) || !strings.Contains(out, `"source":"partner-feed"`) {
		t.Errorf("decay settings: %s", out)
	}
	if out := call("GET", "/api/v1/intel/decay", f.bobTok, "", 200); !strings.Contains(out, `"name":"fast"`) {
		t.Errorf("a trust reads the models: %s", out)
	}

	ind := func(id, value string, from time.Time) *stix.Object {
		o, err := stix.Parse([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":%q,"modified":%q,
			"name":"C2 %s","pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":%q,"confidence":80,"object_marking_refs":[%q]}`,
			id, stix.FormatTimestamp(from), stix.FormatTimestamp(from), value, value, stix.FormatTimestamp(from), stix.TLP2Green)))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	now := time.Now()
	coll, err := s.Intel.CreateCollection(ctx, nsc, intel.CollectionOptions{Title: "National indicators", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.GrantCollection(ctx, nsc, coll.ID, intel.GrantOptions{Org: "RJZ", Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	const bID = "indicator--22222222-2222-4222-8222-222222222222"
	// C: five days old under the fast default, 80 × 0.5^2.5 = 14, decayed.
	if _, err := s.Intel.ImportInto(ctx, nsc, coll.ID, "national.json", []*stix.Object{
		ind("22222222-2222-4222-8222-222222222222", "198.51.100.20", now.Add(-time.Minute)),
		ind("33333333-3333-4333-8333-333333333333", "198.51.100.30", now.Add(-5*24*time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	// A: as old, but from the partner's feed, under the standard model: 71.
	if _, err := s.Intel.ImportInto(ctx, nsc, coll.ID, "partner-feed", []*stix.Object{ind("11111111-1111-4111-8111-111111111111", "198.51.100.10", now.Add(-5*24*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	waitStats := func(what string, ok func(match.Stats) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for st := s.IOC.Stats(); !ok(st); st = s.IOC.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: matcher stats %+v", what, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s: %v", what, time.Since(t0))
	}
	waitStats("per-source models", func(st match.Stats) bool { return st.Indicators == 2 && st.Skipped[match.SkipDecayed] == 1 })

	_, ingestTok, err := s.Auth.CreateIngestToken(ctx, scope.System("test"), "RJ1", "sysmon", 0)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Computer":"ws7.rj1.nhs.uk","Image":"C:\\x.exe","SourceIp":"10.1.2.3","DestinationIp":"198.51.100.20","DestinationPort":443,"UtcTime":%q}`,
		time.Now().UTC().Format("2006-01-02 15:04:05.000"))
	req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(line+"\n"))
	req.Header.Set("Authorization", "Bearer "+ingestTok)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	var alerts []cases.Alert
	deadline := time.Now().Add(15 * time.Second)
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
	if a.Fields["indicator_id"] != bID {
		t.Fatalf("alert %+v", a)
	}

	// Alice closes it as a false positive: halved, 40, still matching.
	call("POST", "/api/v1/alerts/triage", f.aliceTok, `{"ids":["`+a.ID+`"],"action":"close","disposition":"false-positive","reason":"our own scanner"}`, 200)
	out = call("GET", "/api/v1/intel/verdicts?indicator="+bID, f.aliceTok, "", 200)
	if !strings.Contains(out, `"verdict":"false-positive"`) || !strings.Contains(out, `"origin":"alert:`+a.ID+`"`) || !strings.Contains(out, `"org":"RJ1"`) {
		t.Errorf("alice's verdicts: %s", out)
	}
	if out := call("GET", "/api/v1/intel/verdicts?indicator="+bID, f.bobTok, "", 200); strings.Contains(out, a.ID) {
		t.Errorf("another trust reads RJ1's verdict: %s", out)
	}
	out = call("GET", "/api/v1/intel/sightings/stix?indicator="+bID, f.aliceTok, "", 200)
	if !strings.Contains(out, `"x_vigil_verdict":"false-positive"`) || !strings.Contains(out, `"x_misp_sighting_type":1`) {
		t.Errorf("the verdict as a STIX sighting: %s", out)
	}
	if ev, err := s.Intel.Evidence(ctx); err != nil || ev[bID].FalsePositiveOrgs != 1 {
		t.Fatalf("after one false positive: %+v %v", ev[bID], err)
	}
	waitStats("one false positive", func(st match.Stats) bool { return st.Indicators == 2 && st.Skipped[match.SkipFalsePositive] == 0 })

	// Bob's trust reports a false-positive sighting through TAXII: two
	// organisations withdraw it under the fast model.
	env := `{"objects":[{"type":"sighting","spec_version":"2.1","id":"sighting--5b0e4c7e-7c1e-4c8e-9d7e-2f4e1a2b3c4d","created":"2026-12-06T00:00:00.000Z","modified":"2026-12-06T00:00:00.000Z",
 "sighting_of_ref":"` + bID + `","x_misp_sighting_type":1,"object_marking_refs":["` + stix.TLP2Amber + `"]}]}`
	req, _ = http.NewRequest("POST", s.url("/taxii2/intel/collections/"+coll.ID+"/objects/"), strings.NewReader(env))
	req.SetBasicAuth("bob@rjz.nhs.test", "correct horse battery")
	req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("TAXII POST = %d %s", res.StatusCode, b)
	}
	waitStats("two organisations' false positives", func(st match.Stats) bool {
		return st.Indicators == 1 && st.Skipped[match.SkipFalsePositive] == 1
	})
	if out := call("GET", "/api/v1/intel/verdicts?indicator="+bID, f.bobTok, "", 200); !strings.Contains(out, `"org":"RJZ"`) || !strings.Contains(out, `"origin":"sighting:sighting--5b0e4c7e`) {
		t.Errorf("bob's reported sighting as a verdict: %s", out)
	}
	// Alice finds it was real after all: RJ1's latest verdict is a true
	// positive, one organisation holds it false, it matches again.
	call("POST", "/api/v1/alerts/triage", f.aliceTok, `{"ids":["`+a.ID+`"],"action":"disposition","disposition":"true-positive","reason":"not our scanner"}`, 200)
	waitStats("a true positive", func(st match.Stats) bool { return st.Indicators == 2 && st.Skipped[match.SkipFalsePositive] == 0 })

	// An allowlisted block covers the addresses inside it, until removed.
	call("POST", "/api/v1/intel/allowlist", ntok, `{"values":["198.51.100.0/24"],"reason":"the documentation range"}`, 201)
	waitStats("an allowlisted block", func(st match.Stats) bool { return st.Indicators == 0 && st.Skipped[match.SkipAllowlisted] == 3 })
	call("POST", "/api/v1/intel/allowlist/remove", f.aliceTok, `{"values":["198.51.100.0/24"]}`, 403)
	call("POST", "/api/v1/intel/allowlist/remove", ntok, `{"values":["198.51.100.7/24"],"reason":"mistaken"}`, 200)
	call("POST", "/api/v1/intel/allowlist/remove", ntok, `{"values":["198.51.100.0/24"]}`, 404)
	waitStats("the block taken off", func(st match.Stats) bool { return st.Indicators == 2 })
}
