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
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestIOCRedIndicatorRecipients: a national analyst imports a TLP:RED
// indicator and shares it with Guy's (RJ1) only, and a TLP:GREEN one
// that needs two events (a lookup of a domain followed by a connection
// to an address within a minute). King's (RJZ) and Guy's send identical
// events: the RED indicator raises an alert in Guy's inbox and nothing
// in King's; the two-event pattern raises one in each, on the event
// that completes it.
func TestIOCRedIndicatorRecipients(t *testing.T) {
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
	const redID, seqID = "indicator--4e8b8f1d-5b7a-4f4a-8b6e-0d9f8e7d6c54", "indicator--5f9c9a2e-6c8b-4a5b-9c7f-1e0a9f8e7d65"
	bundle := `{"type":"bundle","id":"bundle--6e1193d6-6f85-4398-8753-44d4c465f67e","objects":[
{"type":"indicator","spec_version":"2.1","id":"` + redID + `","created":"2026-12-06T00:00:00.000Z","modified":"2026-12-06T00:00:00.000Z",
 "name":"Restricted implant beacon","pattern":"[ipv4-addr:value = '198.51.100.66' AND network-traffic:dst_port = 8443]","pattern_type":"stix","valid_from":"2026-12-06T00:00:00Z",
 "confidence":90,"object_marking_refs":["` + stix.TLP2Red + `"]},
{"type":"indicator","spec_version":"2.1","id":"` + seqID + `","created":"2026-12-06T00:00:00.000Z","modified":"2026-12-06T00:00:00.000Z",
 "name":"Stager then C2","pattern":"([domain-name:value = 'stager.badsite.example'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.67']) WITHIN 60 SECONDS","pattern_type":"stix",
 "valid_from":"2026-12-06T00:00:00Z","confidence":60,"object_marking_refs":["` + stix.TLP2Green + `"]}]}`
	file := filepath.Join(t.TempDir(), "red.json")
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.ImportFiles(ctx, nsc, "", []string{file}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.Share(ctx, nsc, redID, "org", "RJ1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.IOC.Stats().Indicators != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("matcher stats %+v", s.IOC.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	send := func(org string, lines ...string) {
		t.Helper()
		_, tok, err := s.Auth.CreateIngestToken(ctx, sys, org, "sysmon "+org+fmt.Sprint(time.Now().UnixNano()), 0)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(strings.Join(lines, "\n")+"\n"))
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
	at := time.Now().UTC()
	// The same events but for the computer's name (an event's id is a
	// hash of what it says: identical lines would be one event).
	ev := func(host string, id int, dstIP, dstHost string, port int, sec int) string {
		return fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"RecordID":%d,"Computer":%q,"Image":"C:\\x.exe","SourceIp":"10.9.9.9","DestinationIp":%q,"DestinationHostname":%q,"DestinationPort":%d,"UtcTime":%q}`,
			id, host, dstIP, dstHost, port, at.Add(time.Duration(sec)*time.Second).Format("2006-01-02 15:04:05.000"))
	}
	dns := func(host string, id int, q string, sec int) string {
		return fmt.Sprintf(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":22,"RecordID":%d,"Computer":%q,"Image":"C:\\x.exe","QueryName":%q,"UtcTime":%q}`,
			id, host, q, at.Add(time.Duration(sec)*time.Second).Format("2006-01-02 15:04:05.000"))
	}
	batch := func(host string) []string {
		return []string{ev(host, 1, "198.51.100.66", "", 8443, 0), ev(host, 2, "198.51.100.66", "", 443, 1), dns(host, 3, "stager.badsite.example", 2), ev(host, 4, "198.51.100.67", "", 443, 30)}
	}
	send("RJZ", batch("ws1.rjz.nhs.uk")...) // King's first: by the time Guy's alerts are in, King's events were matched
	send("RJ1", batch("ws1.rj1.nhs.uk")...)

	list := func(tok string) []cases.Alert { return intelAlerts(t, s, tok) }
	ids := func(as []cases.Alert) string {
		var out []string
		for _, a := range as {
			out = append(out, a.Fields["indicator_id"])
		}
		return strings.Join(out, " ")
	}
	deadline = time.Now().Add(15 * time.Second)
	var guys []cases.Alert
	for {
		guys = list(f.aliceTok)
		if len(guys) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(guys) != 2 || !strings.Contains(ids(guys), redID) || !strings.Contains(ids(guys), seqID) {
		t.Fatalf("Guy's alerts: %s", ids(guys))
	}
	for _, a := range guys {
		if a.Fields["indicator_id"] == redID && (a.TLP != cases.TLPRed || a.Org != "RJ1" || a.Fields["matched_value"] != "198.51.100.66") {
			t.Errorf("RED alert %+v", a)
		}
		if a.Fields["indicator_id"] == seqID && (a.Fields["matched_value"] != "198.51.100.67" || a.Fields["matched_events"] != "2") {
			t.Errorf("two-event alert %+v", a)
		}
	}
	kings := list(f.bobTok)
	if len(kings) != 1 || kings[0].Fields["indicator_id"] != seqID || kings[0].Org != "RJZ" {
		t.Errorf("King's alerts: %s", ids(kings))
	}
}
