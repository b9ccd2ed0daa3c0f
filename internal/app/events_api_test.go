package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestEventsAPI: events imported for a trust are found over the API by
// the query language, counted, bucketed and read one by one; a bad query
// is a 400 naming where it went wrong, a bad time range names its field.
func TestEventsAPI(t *testing.T) { engines(t, testEventsAPI) }

func testEventsAPI(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s)
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	stamp := now.Add(-30 * time.Minute).Format(time.RFC3339)
	var evs []events.Event
	for i, line := range []string{
		`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Hostname":"ws1","CommandLine":"powershell -enc SQBFAFgA","Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","TimeCreated":"` + stamp + `"}`,
		`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Hostname":"ws1","DestinationIp":"203.0.113.7","DestinationPort":443,"TimeCreated":"` + stamp + `"}`,
		`<34>1 ` + stamp + ` fw1 sshd 42 - - Failed password for root from 198.51.100.9 port 22 ssh2`,
	} {
		ev := n.Normalise(ingest.Record{Raw: []byte(line), Source: events.Source{Protocol: "http"}, ReceivedAt: now, Seq: int64(i)})
		ev.Org = "RJ1"
		evs = append(evs, ev)
	}
	if err := s.Events.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	q := url.QueryEscape
	call := func(path string, want int) string {
		t.Helper()
		res, body := get(t, http.DefaultClient, s.url(path), f.aliceTok)
		if res.StatusCode != want {
			t.Fatalf("GET %s = %d, want %d: %s", path, res.StatusCode, want, body)
		}
		return body
	}
	body := call("/api/v1/events?q="+q(`EventID=1 AND CommandLine=*-enc*`), 200)
	if !strings.Contains(body, `"category":"process_creation"`) || !strings.Contains(body, "SQBFAFgA") || strings.Count(body, `"id":`) != 1 {
		t.Errorf("search: %s", body)
	}
	if body := call("/api/v1/events/count?q="+q(`DestinationIp=203.0.113.0/24`), 200); body != `{"count":1}`+"\n" && strings.TrimSpace(body) != `{"count":1}` {
		t.Errorf("count by CIDR: %s", body)
	}
	if body := call("/api/v1/events/count?since=2h", 200); strings.TrimSpace(body) != `{"count":3}` {
		t.Errorf("count of everything: %s", body)
	}
	if body := call("/api/v1/events/histogram?since=2h&buckets=4", 200); strings.Count(body, `"start"`) != 4 || !strings.Contains(body, `"count":3`) {
		t.Errorf("histogram: %s", body)
	}
	if body := call("/api/v1/events/fields?q=EventID%3D1", 200); !strings.Contains(body, `"CommandLine"`) {
		t.Errorf("fields: %s", body)
	}
	if body := call("/api/v1/events/"+evs[2].ID, 200); !strings.Contains(body, "Failed password for root") {
		t.Errorf("one event: %s", body)
	}
	// An event an hour old is outside the last 15 minutes.
	if body := call("/api/v1/events/count?since=15m", 200); strings.TrimSpace(body) != `{"count":0}` {
		t.Errorf("since 15m: %s", body)
	}
	for path, want := range map[string]string{
		"/api/v1/events?q=" + q("EventID="):       `at 8`,
		"/api/v1/events?q=" + q("(EventID=1"):     `"status":400`,
		"/api/v1/events/count?since=soon":         `"field":"since"`,
		"/api/v1/events?since=1h&from=2026-01-01": `not both`,
		"/api/v1/events/histogram?buckets=0":      `"field":"buckets"`,
		"/api/v1/events?limit=5000":               `"field":"limit"`,
	} {
		res, body := get(t, http.DefaultClient, s.url(path), f.aliceTok)
		if res.StatusCode != 400 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %s, want 400 with %q", path, res.StatusCode, body, want)
		}
	}
	call("/api/v1/events/nope", 404)
	// Exports: NDJSON as the API gives events, CSV with a header and a
	// spreadsheet-safe raw column; each is in the audit log.
	res, body := get(t, http.DefaultClient, s.url("/api/v1/events/export?since=2h&q="+q("EventID=1")), f.aliceTok)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-ndjson" || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") ||
		strings.Count(strings.TrimSpace(body), "\n") != 0 || !strings.Contains(body, "SQBFAFgA") {
		t.Errorf("ndjson export = %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, body = get(t, http.DefaultClient, s.url("/api/v1/events/export?since=2h&format=csv"), f.aliceTok)
	if lines := strings.Split(strings.TrimSpace(body), "\n"); res.StatusCode != 200 || len(lines) < 4 || !strings.HasPrefix(lines[0], "id,event_time,received_at,org,") {
		t.Errorf("csv export = %d:\n%s", res.StatusCode, body)
	}
	if res, body := get(t, http.DefaultClient, s.url("/api/v1/events/export?format=xml"), f.aliceTok); res.StatusCode != 400 || !strings.Contains(body, `"field":"format"`) {
		t.Errorf("xml export = %d %s", res.StatusCode, body)
	}
	if res, _ := get(t, http.DefaultClient, s.url("/api/v1/events/export?q="+q("EventID=")), f.aliceTok); res.StatusCode != 400 {
		t.Errorf("export of a broken query = %d", res.StatusCode)
	}
	entries, _, err := s.Audit.List(context.Background(), scope.System("test"), audit.Filter{Action: "events.export", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || !strings.Contains(string(entries[1].After), "EventID=1") || entries[0].ActorID == "" {
		t.Errorf("exports in the audit log: %+v", entries)
	}
	// Saved searches: Alice saves one, lists it, runs it by its query and
	// time range, replaces it under the same name, is told why a broken
	// query is refused, and deletes it; Bob sees none of hers.
	res, body = do(t, "POST", s.url("/api/v1/events/searches"), f.aliceTok, `{"name":"Encoded PowerShell","query":"EventID=1 AND CommandLine=*-enc*","since":"2h"}`)
	if res.StatusCode != 201 || !strings.Contains(body, `"id":"ES-`) || !strings.Contains(body, `"since":"2h"`) {
		t.Fatalf("save = %d %s", res.StatusCode, body)
	}
	var saved events.SavedSearch
	if err := json.Unmarshal([]byte(body), &saved); err != nil {
		t.Fatal(err)
	}
	if body := call("/api/v1/events/searches", 200); !strings.Contains(body, `"name":"Encoded PowerShell"`) || !strings.Contains(body, saved.ID) {
		t.Errorf("list: %s", body)
	}
	if body := call("/api/v1/events/count?"+saved.Values().Encode(), 200); strings.TrimSpace(body) != `{"count":1}` {
		t.Errorf("running the saved search: %s", body)
	}
	res, body = do(t, "POST", s.url("/api/v1/events/searches"), f.aliceTok, `{"name":"Encoded PowerShell","query":"EventID=3","from":"2020-01-01"}`)
	if res.StatusCode != 201 || !strings.Contains(body, saved.ID) || !strings.Contains(body, `"from":"2020-01-01"`) || strings.Contains(body, `"since"`) {
		t.Errorf("replace = %d %s", res.StatusCode, body)
	}
	for in, want := range map[string]string{
		`{"name":"Broken","query":"EventID="}`:           `"field":"query"`,
		`{"name":"","query":"EventID=1"}`:                `"field":"name"`,
		`{"name":"Range","query":"a=1","since":"soon"}`:  `"field":"since"`,
		`{"name":"Extra","query":"a=1","colour":"blue"}`: `"field":"colour"`,
	} {
		if res, body := do(t, "POST", s.url("/api/v1/events/searches"), f.aliceTok, in); res.StatusCode != 400 || !strings.Contains(body, want) {
			t.Errorf("save %s = %d %s, want 400 with %s", in, res.StatusCode, body, want)
		}
	}
	if res, body := get(t, http.DefaultClient, s.url("/api/v1/events/searches"), f.bobTok); res.StatusCode != 200 || strings.Contains(body, "Encoded PowerShell") {
		t.Errorf("bob's list = %d %s", res.StatusCode, body)
	}
	if res, _ := do(t, "DELETE", s.url("/api/v1/events/searches/"+saved.ID), f.bobTok, ""); res.StatusCode != 404 {
		t.Errorf("bob deletes alice's search = %d", res.StatusCode)
	}
	if res, body := do(t, "DELETE", s.url("/api/v1/events/searches/"+saved.ID), f.aliceTok, ""); res.StatusCode != 204 {
		t.Errorf("delete = %d %s", res.StatusCode, body)
	}
	if body := call("/api/v1/events/searches", 200); strings.TrimSpace(body) != `{"items":[]}` {
		t.Errorf("after deleting: %s", body)
	}
	// SQL in a query is words to look for, nothing more.
	if body := call("/api/v1/events?since=2h&q="+q("x' OR 1=1; DROP TABLE events --"), 200); strings.TrimSpace(body) != `{"items":[]}` {
		t.Errorf("an injection attempt found %s", body)
	}
	if body := call("/api/v1/events/count?since=2h", 200); strings.TrimSpace(body) != `{"count":3}` {
		t.Errorf("after the injection attempt: %s", body)
	}
}
