package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
)

// Ingest tokens of the tests: one per organisation, and an expired one.
const (
	tokenRJ1     = "vigil_ingest_i_rj1.secret"
	tokenR1H     = "vigil_ingest_i_r1h.secret"
	tokenExpired = "vigil_ingest_i_old.secret"
)

// testAuth stands in for auth.Service.IngestSender.
func testAuth(_ context.Context, tok string) (Sender, error) {
	switch tok {
	case tokenRJ1:
		return Sender{Org: "RJ1", Label: "rsyslog on log01"}, nil
	case tokenR1H:
		return Sender{Org: "R1H", Label: "winlogbeat"}, nil
	case tokenExpired:
		return Sender{}, ErrTokenExpired
	}
	return Sender{}, fault.ErrNotFound
}

func (r *rig) httpOpts() HTTPOptions {
	return HTTPOptions{Authenticate: testAuth, Normaliser: r.norm, Publisher: r.pub, Metrics: r.metrics}
}

// post sends body to h with the header set, returning the status and
// the answer.
func post(t *testing.T, h http.Handler, method, path string, body []byte, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.10:40000"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// POST /api/v1/events: NDJSON plain and gzipped, every event the
// token's organisation's, 200 only once the batch is on the stream.
func TestEventsHandlerAccepts(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	h, err := NewEventsHandler(r.httpOpts())
	if err != nil {
		t.Fatal(err)
	}
	sysmon, err := os.ReadFile("testdata/normalise/winlogbeat8-sysmon11.input")
	if err != nil {
		t.Fatal(err)
	}
	body := append(bytes.TrimSpace(sysmon), "\n\n{\"message\":\"second\",\"org\":\"rj1\"}\r\n{\"message\":\"third\"}"...)
	status, _, resp := post(t, h, http.MethodPost, "/api/v1/events", body, bearer(tokenRJ1))
	if status != http.StatusOK || strings.TrimSpace(string(resp)) != `{"accepted":3}` {
		t.Fatalf("status %d: %s", status, resp)
	}
	// Answered means stored.
	if n := r.streamCount(); n != 3 {
		t.Fatalf("stream holds %d events after the answer, want 3", n)
	}
	hdr := map[string]string{"Authorization": "Bearer " + tokenRJ1, "Content-Encoding": "gzip"}
	status, _, resp = post(t, h, http.MethodPost, "/api/v1/events", gzipped(t, []byte(`{"message":"zipped"}`+"\n")), hdr)
	if status != http.StatusOK {
		t.Fatalf("gzip: status %d: %s", status, resp)
	}
	got := r.waitEvents(4)
	for _, e := range got {
		if e.ev.Org != "RJ1" || e.subject != "events.RJ1" || e.ev.Source.Protocol != ListenerHTTP ||
			e.ev.Source.Token != "rsyslog on log01" || e.ev.Source.Addr != "192.0.2.10:40000" {
			t.Errorf("event %+v on %s", e.ev, e.subject)
		}
	}
	if got[0].ev.Category != "file_event" || got[0].ev.Fields["TargetFilename"] != `C:\Users\Public\a.ps1` {
		t.Errorf("Sysmon event normalised as %+v", got[0].ev)
	}
	if m := messages(got[1:]); !slices.Equal(m, []string{"second", "third", "zipped"}) {
		t.Errorf("messages %q", m)
	}
	counts, _ := r.metrics.Snapshot()
	if len(counts) != 1 || counts[0].Events != 4 || counts[0].Listener != ListenerHTTP || counts[0].Org != "RJ1" {
		t.Errorf("metrics %+v", counts)
	}
}

// What the events endpoint refuses, and how: no token or a wrong or
// expired one 401; a line claiming another organisation, a line that is
// not a JSON object 400 naming the line, with nothing stored; a body
// over the limit 413; an unknown encoding 415; a GET 405.
func TestEventsHandlerRefuses(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	o := r.httpOpts()
	o.MaxBody = 1024
	h, err := NewEventsHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	good := []byte(`{"message":"fine"}` + "\n")
	for _, c := range []struct {
		name   string
		method string
		body   []byte
		header map[string]string
		status int
		detail string
	}{
		{"no token", "POST", good, nil, 401, "ingest token is required"},
		{"wrong token", "POST", good, bearer("vigil_ingest_i_nope.x"), 401, "not valid"},
		{"expired token", "POST", good, bearer(tokenExpired), 401, "expired"},
		{"API token scheme", "POST", good, map[string]string{"Authorization": "Token " + tokenRJ1}, 401, "required"},
		{"another org", "POST", []byte("{\"message\":\"a\"}\n{\"org\":\"R1H\",\"message\":\"b\"}\n"), bearer(tokenRJ1), 400,
			"line 2: the event's org is R1H, but this ingest token posts for RJ1 only"},
		{"not JSON", "POST", []byte("{\"message\":\"a\"}\n<13>syslog text\n"), bearer(tokenRJ1), 400, "line 2: not a JSON object"},
		{"broken JSON", "POST", []byte("{\"message\":\"a\"}\n\n{\"message\":\n"), bearer(tokenRJ1), 400, "line 3: not valid JSON"},
		{"too large", "POST", bytes.Repeat(good, 100), bearer(tokenRJ1), 413, "1024-byte limit"},
		{"gzip bomb", "POST", gzipped(t, bytes.Repeat(good, 1000)), map[string]string{"Authorization": "Bearer " + tokenRJ1, "Content-Encoding": "gzip"}, 413, "limit"},
		{"broken gzip", "POST", []byte("not gzip"), map[string]string{"Authorization": "Bearer " + tokenRJ1, "Content-Encoding": "gzip"}, 400, "gzip"},
		{"brotli", "POST", good, map[string]string{"Authorization": "Bearer " + tokenRJ1, "Content-Encoding": "br"}, 415, "br"},
		{"GET", "GET", nil, bearer(tokenRJ1), 405, "POST"},
	} {
		status, hdr, resp := post(t, h, c.method, "/api/v1/events", c.body, c.header)
		var p problem
		if err := json.Unmarshal(resp, &p); err != nil || hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: not a problem document: %s", c.name, resp)
			continue
		}
		if status != c.status || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, status, p.Detail, c.status, c.detail)
		}
		if status == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
		if c.status == 400 && strings.HasPrefix(c.detail, "line") && (len(p.Lines) == 0 || p.Type != problemBase+"validation") {
			t.Errorf("%s: no lines in %s", c.name, resp)
		}
	}
	if n := r.streamCount(); n != 0 {
		t.Errorf("refused requests stored %d events", n)
	}
}

// Under backpressure — every in-flight slot taken, or every request slot
// — the endpoints answer 429 with Retry-After and store nothing; once
// room returns the same batch is accepted.
func TestHTTPBackpressure(t *testing.T) {
	r := newRig(t, "", PublisherOptions{MaxInFlight: 8})
	h, err := NewEventsHandler(r.httpOpts())
	if err != nil {
		t.Fatal(err)
	}
	bulk, err := NewBulkHandler(r.httpOpts())
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"message":"later"}` + "\n")
	bulkBody := []byte(`{"create":{}}` + "\n" + `{"message":"later, in bulk"}` + "\n")
	if !r.pub.sem.TryAcquire(8) { // a store fallen behind holds every slot
		t.Fatal("could not take the slots")
	}
	status, hdr, resp := post(t, h, "POST", "/api/v1/events", body, bearer(tokenRJ1))
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("events under backpressure: %d %v %s", status, hdr, resp)
	}
	status, hdr, resp = post(t, bulk, "POST", "/_bulk", bulkBody, bearer(tokenRJ1))
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !bytes.Contains(resp, []byte("es_rejected_execution_exception")) {
		t.Fatalf("bulk under backpressure: %d %v %s", status, hdr, resp)
	}
	r.pub.sem.Release(8)
	// Every request slot taken: 429 before the body is read.
	for range DefaultMaxRequests {
		h.slots <- struct{}{}
	}
	if status, _, _ := post(t, h, "POST", "/api/v1/events", body, bearer(tokenRJ1)); status != http.StatusTooManyRequests {
		t.Fatalf("with every request slot taken: %d", status)
	}
	for range DefaultMaxRequests {
		<-h.slots
	}
	if n := r.streamCount(); n != 0 {
		t.Fatalf("refused batches stored %d events", n)
	}
	if status, _, resp := post(t, h, "POST", "/api/v1/events", body, bearer(tokenRJ1)); status != http.StatusOK {
		t.Fatalf("after backpressure: %d %s", status, resp)
	}
	if status, _, resp := post(t, bulk, "POST", "/_bulk", bulkBody, bearer(tokenRJ1)); status != http.StatusOK {
		t.Fatalf("bulk after backpressure: %d %s", status, resp)
	}
	r.waitEvents(2)
}

// The Elasticsearch API as Winlogbeat, Filebeat, Fluent Bit and Vector
// use it: the probes they make first, then _bulk with recorded bodies,
// answered in Elasticsearch's shape, the events stored under the token's
// organisation with their Sigma log source.
func TestBulkHandler(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	h, err := NewBulkHandler(r.httpOpts())
	if err != nil {
		t.Fatal(err)
	}
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("beats:"+tokenR1H))}
	apiKey := map[string]string{"Authorization": "ApiKey " + base64.StdEncoding.EncodeToString([]byte("vigil:"+tokenR1H))}

	// Probes.
	status, hdr, resp := post(t, h, "GET", "/", nil, basic)
	var root struct {
		Version struct {
			Number      string `json:"number"`
			BuildFlavor string `json:"build_flavor"`
		} `json:"version"`
		Tagline string `json:"tagline"`
	}
	if status != 200 || json.Unmarshal(resp, &root) != nil || root.Version.Number != DefaultESVersion || root.Version.BuildFlavor != "default" ||
		hdr.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("GET /: %d %v %s", status, hdr, resp)
	}
	if status, _, resp := post(t, h, "HEAD", "/", nil, apiKey); status != 200 || len(resp) != 0 {
		t.Errorf("HEAD /: %d %q", status, resp)
	}
	for _, p := range []struct{ method, path, want string }{
		{"GET", "/_license", `"status":"active"`},
		{"GET", "/_xpack", `"license"`},
		{"GET", "/_index_template/winlogbeat-8.17.0", `{}`},
		{"PUT", "/_index_template/winlogbeat-8.17.0", `"acknowledged":true`},
		{"PUT", "/_ilm/policy/winlogbeat", `"acknowledged":true`},
		{"GET", "/_nodes/_local", `{}`},
	} {
		status, _, resp := post(t, h, p.method, p.path, []byte(`{}`), basic)
		if status != 200 || !strings.Contains(string(resp), p.want) {
			t.Errorf("%s %s: %d %s", p.method, p.path, status, resp)
		}
	}
	status, hdr, resp = post(t, h, "GET", "/", nil, nil)
	if status != 401 || !strings.Contains(string(resp), "security_exception") || len(hdr.Values("WWW-Authenticate")) == 0 {
		t.Errorf("GET / without a token: %d %v %s", status, hdr, resp)
	}
	if status, _, _ := post(t, h, "GET", "/", nil, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("beats:wrong"))}); status != 401 {
		t.Errorf("wrong password: %d", status)
	}

	// Bulk bodies as the shippers send them.
	type item struct {
		Index  string  `json:"_index"`
		ID     *string `json:"_id"`
		Status int     `json:"status"`
		Result string  `json:"result"`
		Error  *struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	type answer struct {
		Took   *int64            `json:"took"`
		Errors bool              `json:"errors"`
		Items  []map[string]item `json:"items"`
	}
	stored := 0
	for _, c := range []struct {
		file   string
		path   string
		header map[string]string
		items  int
	}{
		{"winlogbeat8.ndjson", "/_bulk", basic, 2},
		{"filebeat8.ndjson", "/_bulk", apiKey, 3},
		{"fluentbit.ndjson", "/logs/_bulk", bearer(tokenR1H), 2},
	} {
		body, err := os.ReadFile("testdata/bulk/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		hdr := map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
		for k, v := range c.header {
			hdr[k] = v
		}
		status, _, resp := post(t, h, "POST", c.path, gzipped(t, body), hdr)
		var a answer
		if status != 200 || json.Unmarshal(resp, &a) != nil || a.Took == nil || a.Errors || len(a.Items) != c.items {
			t.Fatalf("%s: %d %s", c.file, status, resp)
		}
		for _, it := range a.Items {
			for op, v := range it {
				if (op != "create" && op != "index") || v.Status != 201 || v.Result != "created" || v.ID == nil || v.Index == "" {
					t.Errorf("%s: item %s %+v", c.file, op, v)
				}
			}
		}
		stored += c.items
		if n := r.streamCount(); n != uint64(stored) {
			t.Fatalf("%s: stream holds %d events after the answer, want %d", c.file, n, stored)
		}
	}
	got := r.waitEvents(stored)
	for _, e := range got {
		if e.ev.Org != "R1H" || e.ev.Source.Protocol != ListenerBulk || e.ev.Source.Token != "winlogbeat" {
			t.Errorf("event %+v", e.ev)
		}
	}
	sysmon := got[0].ev
	if sysmon.Product != "windows" || sysmon.Service != "sysmon" || sysmon.Category != "process_creation" ||
		sysmon.Fields["CommandLine"] != "powershell.exe -nop -w hidden -enc SQBFAFgA" || sysmon.Fields["_index"] != "winlogbeat-8.17.0" {
		t.Errorf("Winlogbeat's Sysmon event normalised as %s/%s/%s %v", sysmon.Product, sysmon.Service, sysmon.Category, sysmon.Fields)
	}
	if got[5].ev.Fields["_index"] != "fluent-bit" || got[6].ev.Fields["_index"] != "vector-2026.12.06" {
		t.Errorf("indexes %v, %v", got[5].ev.Fields["_index"], got[6].ev.Fields["_index"])
	}

	// Per-item refusals: update, delete, a source claiming another
	// organisation, a source that is not JSON; the others stored.
	mixed := strings.Join([]string{
		`{"index":{}}`, `{"message":"kept"}`,
		`{"update":{"_index":"x","_id":"1"}}`, `{"doc":{"a":1}}`,
		`{"delete":{"_index":"x","_id":"1"}}`,
		`{"create":{"_index":"x"}}`, `{"org":"RJ1","message":"not ours"}`,
		`{"create":{"_index":"x"}}`, `not json`,
		`{"create":{"_index":"x"}}`, `{"message":"also kept"}`,
	}, "\n") + "\n"
	status, _, resp = post(t, h, "POST", "/logs/_bulk", []byte(mixed), basic)
	var a answer
	if status != 200 || json.Unmarshal(resp, &a) != nil || !a.Errors || len(a.Items) != 6 {
		t.Fatalf("mixed: %d %s", status, resp)
	}
	wantStatus := []int{201, 400, 400, 400, 400, 201}
	for i, it := range a.Items {
		for op, v := range it {
			if v.Status != wantStatus[i] || (v.Status == 400 && v.Error == nil) {
				t.Errorf("mixed item %d (%s): %+v", i, op, v)
			}
		}
	}
	if e := a.Items[3]["create"].Error; e == nil || !strings.Contains(e.Reason, "line 7") || !strings.Contains(e.Reason, "RJ1") {
		t.Errorf("another org's item: %+v", a.Items[3])
	}
	if kept := r.waitEvents(stored + 2)[stored].ev; kept.Fields["message"] != "kept" || kept.Fields["_index"] != "logs" {
		t.Errorf("the index from the path: %v", kept.Fields)
	}

	// A body that is not action/source pairs is refused whole.
	for _, bad := range []string{"{\"message\":\"no action\"}\n", "{\"create\":{}}\n", "{\"upsert\":{}}\n{}\n"} {
		status, _, resp := post(t, h, "POST", "/_bulk", []byte(bad), basic)
		if status != 400 || !bytes.Contains(resp, []byte(`"status":400`)) {
			t.Errorf("%q: %d %s", bad, status, resp)
		}
	}
}
