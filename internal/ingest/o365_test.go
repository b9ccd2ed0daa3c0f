package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Microsoft 365 tenant as the poller sees it, served by an in-test
// server that follows Microsoft's documented endpoints: the v2.0 token
// endpoint (client credentials, checked), the Management Activity API's
// subscriptions/list, /start and /content (startTime/endTime checked
// against the 24-hour and 7-day limits, pages of two blobs linked by the
// NextPageUri header), the content blobs (JSON arrays of records), and
// Graph's auditLogs/signIns and /directoryAudits ($filter on the time,
// @odata.nextLink pages). Records are the shared cloud samples, moved
// into the shapes those APIs return.

const (
	fakeTenant = "0b3e9f1c-2a4d-4e5f-8a6b-7c8d9e0f1a2b"
	fakeClient = "6f1a2b3c-4d5e-4f60-8172-839405a6b7c8"
	fakeSecret = "s3cr3t~value.that-must-never-be-logged"
)

type fakeBlob struct {
	ct, id  string
	created time.Time
	records []json.RawMessage
}

type fakeMS365 struct {
	t   *testing.T
	srv *httptest.Server
	now time.Time

	mu           sync.Mutex
	subs         map[string]bool
	blobs        []*fakeBlob
	signIns      []json.RawMessage
	audits       []json.RawMessage
	tokens       int
	fetched      map[string]int  // successful blob fetches by content ID
	windows      map[string]int  // content listings by content type, first pages only
	throttleOnce map[string]bool // path → answer the next request 429
	throttledAt  time.Time
	retriedAfter time.Duration
	failBlob     string // answer 500 for this blob while set
	failures     int
}

func newFakeMS365(t *testing.T) *fakeMS365 {
	f := &fakeMS365{t: t, now: time.Now().UTC(), subs: map[string]bool{}, fetched: map[string]int{}, windows: map[string]int{}, throttleOnce: map[string]bool{}}
	f.srv = httptest.NewServer(f.stripGraph(http.HandlerFunc(f.serve)))
	t.Cleanup(f.srv.Close)
	return f
}

func msError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeMS365) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	if p == "/"+fakeTenant+"/oauth2/v2.0/token" {
		f.token(w, r)
		return
	}
	if f.throttleOnce[p] {
		f.throttleOnce[p] = false
		f.throttledAt = time.Now()
		w.Header().Set("Retry-After", "1")
		msError(w, http.StatusTooManyRequests, "AF429", "Too many requests. Method=GetBlob, PublisherId="+r.URL.Query().Get("PublisherIdentifier"))
		return
	}
	if !f.throttledAt.IsZero() && f.retriedAfter == 0 {
		f.retriedAfter = time.Since(f.throttledAt)
	}
	auth := r.Header.Get("Authorization")
	feed := "/api/v1.0/" + fakeTenant + "/activity/feed/"
	switch {
	case strings.HasPrefix(p, feed):
		if auth != "Bearer token-for-"+f.srv.URL+"/.default" {
			msError(w, http.StatusUnauthorized, "", "Authorization has been denied for this request.")
			return
		}
		f.manage(w, r, strings.TrimPrefix(p, feed))
	case strings.HasPrefix(p, "/v1.0/auditLogs/"):
		if auth != "Bearer token-for-"+f.srv.URL+"/graph/.default" {
			msError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
			return
		}
		f.graph(w, r, strings.TrimPrefix(p, "/v1.0/auditLogs/"))
	default:
		msError(w, http.StatusNotFound, "", "no such endpoint "+p)
	}
}

// token is the Microsoft identity platform's v2.0 token endpoint for the
// client-credentials grant.
func (f *fakeMS365) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad token request", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}})
	}
	scope := r.PostForm.Get("scope")
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		fail("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case r.PostForm.Get("client_id") != fakeClient:
		fail("unauthorized_client", "AADSTS700016: Application with identifier was not found in the directory.")
	case r.PostForm.Get("client_secret") != fakeSecret:
		fail("invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0000")
	case scope != f.srv.URL+"/.default" && scope != f.srv.URL+"/graph/.default":
		fail("invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
	default:
		f.tokens++
		writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "token-for-" + scope})
	}
}

func (f *fakeMS365) manage(w http.ResponseWriter, r *http.Request, rest string) {
	q := r.URL.Query()
	switch {
	case rest == "subscriptions/list" && r.Method == http.MethodGet:
		var out []map[string]any
		for ct := range f.subs {
			out = append(out, map[string]any{"contentType": ct, "status": "enabled", "webhook": nil})
		}
		writeJSON(w, out)
	case rest == "subscriptions/start" && r.Method == http.MethodPost:
		ct := q.Get("contentType")
		if f.subs[ct] {
			msError(w, http.StatusBadRequest, "AF20024", "The subscription is already enabled. No property change.")
			return
		}
		f.subs[ct] = true
		writeJSON(w, map[string]any{"contentType": ct, "status": "enabled", "webhook": nil})
	case rest == "subscriptions/content" && r.Method == http.MethodGet:
		f.content(w, r)
	case strings.HasPrefix(rest, "audit/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(rest, "audit/")
		if id == f.failBlob {
			f.failures++
			msError(w, http.StatusInternalServerError, "AF50000", "An internal error occurred. Retry the request.")
			return
		}
		for _, b := range f.blobs {
			if b.id == id {
				f.fetched[id]++
				writeJSON(w, b.records)
				return
			}
		}
		msError(w, http.StatusNotFound, "AF20051", "Content requested with the key "+id+" has already expired.")
	default:
		msError(w, http.StatusNotFound, "", "no such endpoint")
	}
}

// content lists available content, two blobs a page.
func (f *fakeMS365) content(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ct := q.Get("contentType")
	if !f.subs[ct] {
		msError(w, http.StatusBadRequest, "AF20022", "No subscription found for the specified content type")
		return
	}
	start, err1 := time.Parse(o365TimeLayout, q.Get("startTime"))
	end, err2 := time.Parse(o365TimeLayout, q.Get("endTime"))
	if err1 != nil || err2 != nil || end.Sub(start) > 24*time.Hour || !end.After(start) || start.Before(f.now.Add(-7*24*time.Hour-time.Minute)) {
		msError(w, http.StatusBadRequest, "AF20055", "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.")
		return
	}
	if q.Get("nextPage") == "" {
		f.windows[ct]++
	}
	var match []*fakeBlob
	for _, b := range f.blobs {
		if b.ct == ct && !b.created.Before(start) && b.created.Before(end) {
			match = append(match, b)
		}
	}
	page, _ := strconv.Atoi(q.Get("nextPage"))
	const size = 2
	from := min(page*size, len(match))
	to := min(from+size, len(match))
	if to < len(match) {
		next := *r.URL
		nq := next.Query()
		nq.Set("nextPage", strconv.Itoa(page+1))
		next.RawQuery = nq.Encode()
		w.Header().Set("NextPageUri", f.srv.URL+next.String())
	}
	out := []map[string]any{}
	for _, b := range match[from:to] {
		out = append(out, map[string]any{
			"contentType": b.ct, "contentId": b.id,
			"contentUri":        f.srv.URL + "/api/v1.0/" + fakeTenant + "/activity/feed/audit/" + b.id,
			"contentCreated":    b.created.Format("2006-01-02T15:04:05.000Z"),
			"contentExpiration": b.created.Add(7 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z"),
		})
	}
	writeJSON(w, out)
}

// graph serves auditLogs/signIns and /directoryAudits: newest first,
// filtered by "<time field> ge <RFC 3339>", two a page.
func (f *fakeMS365) graph(w http.ResponseWriter, r *http.Request, log string) {
	var recs []json.RawMessage
	field := "createdDateTime"
	switch log {
	case "signIns":
		recs = f.signIns
	case "directoryAudits":
		recs, field = f.audits, "activityDateTime"
	default:
		msError(w, http.StatusNotFound, "Request_ResourceNotFound", "no such log")
		return
	}
	filter := r.URL.Query().Get("$filter")
	prefix := field + " ge "
	since, err := time.Parse(time.RFC3339, strings.TrimPrefix(filter, prefix))
	if !strings.HasPrefix(filter, prefix) || err != nil {
		msError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause "+filter)
		return
	}
	type rec struct {
		at  time.Time
		raw json.RawMessage
	}
	var match []rec
	for _, raw := range recs {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		at, _ := time.Parse(time.RFC3339Nano, m[field].(string))
		if !at.Before(since) {
			match = append(match, rec{at, raw})
		}
	}
	sort.Slice(match, func(i, j int) bool { return match[i].at.After(match[j].at) })
	skip, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	const size = 2
	from, to := min(skip, len(match)), min(skip+size, len(match))
	out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/" + log}
	vals := []json.RawMessage{}
	for _, m := range match[from:to] {
		vals = append(vals, m.raw)
	}
	out["value"] = vals
	if to < len(match) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(to))
		out["@odata.nextLink"] = f.srv.URL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, out)
}

// readSample returns the JSON objects of a cloud sample file.
func readSample(t *testing.T, name string) []map[string]any {
	t.Helper()
	dir := needSamples(t, "cloud")
	var out []map[string]any
	eachLine(t, filepath.Join(dir, name), func(line []byte, n int) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		out = append(out, m)
	})
	return out
}

// jsonField parses a Sentinel column that holds JSON as a string.
func jsonField(s any) any {
	var v any
	if str, ok := s.(string); ok && json.Unmarshal([]byte(str), &v) == nil {
		return v
	}
	return s
}

// managementExchange moves Sentinel's OfficeActivity row into the
// Management Activity API's Exchange mailbox-audit record: Sentinel
// prefixes or suffixes some property names and keeps objects as JSON
// text; the API's own columns (Id, CreationTime without a zone, the
// RecordType and UserType numbers) are put back.
func managementExchange(m map[string]any) map[string]any {
	out := map[string]any{}
	rename := map[string]string{"OfficeId": "Id", "OfficeWorkload": "Workload", "Client_IPAddress": "ClientIPAddress", "Logon_Type": "LogonType"}
	skip := map[string]bool{"TenantId": true, "SourceSystem": true, "Type": true, "TimeGenerated": true, "OrganizationId_": true, "UserId_": true,
		"OfficeTenantId": true, "OfficeTenantId_": true, "SourceRecordId": true, "ElevationTime": true, "Start_Time": true, "OrganizationName": true}
	for k, v := range m {
		if skip[k] {
			continue
		}
		if n, ok := rename[k]; ok {
			k = n
		}
		out[k] = v
	}
	out["CreationTime"] = strings.TrimSuffix(m["TimeGenerated"].(string), "Z")
	out["RecordType"] = 50
	out["UserType"] = 0
	out["Folders"] = jsonField(m["Folders"])
	out["OperationProperties"] = jsonField(m["OperationProperties"])
	out["OriginatingServer"] = strings.TrimSpace(m["OriginatingServer"].(string))
	return out
}

// managementAAD moves a Sentinel AuditLogs row into the Management
// Activity API's Azure AD audit record (RecordType 8).
func managementAAD(m map[string]any) map[string]any {
	at, _ := time.Parse(time.RFC3339Nano, m["ActivityDateTime"].(string))
	out := map[string]any{
		"Id": m["Id"], "CreationTime": at.UTC().Format(o365TimeLayout), "RecordType": 8, "Operation": strings.TrimSpace(m["OperationName"].(string)),
		"OrganizationId": m["AADTenantId"], "UserType": 0, "Workload": "AzureActiveDirectory", "ResultStatus": m["Result"],
		"UserId": m["InitiatingUserOrApp"], "ObjectId": m["targetDisplayName"], "AzureActiveDirectoryEventType": 1,
	}
	var ext []map[string]any
	if details, ok := jsonField(m["AdditionalDetails"]).([]any); ok {
		for _, d := range details {
			if kv, ok := d.(map[string]any); ok {
				ext = append(ext, map[string]any{"Name": kv["key"], "Value": kv["value"]})
			}
		}
	}
	out["ExtendedProperties"] = ext
	if targets, ok := jsonField(m["TargetResources"]).([]any); ok && len(targets) > 0 {
		if tr, ok := targets[0].(map[string]any); ok {
			var mods []map[string]any
			props, _ := tr["modifiedProperties"].([]any)
			for _, p := range props {
				if pm, ok := p.(map[string]any); ok {
					mods = append(mods, map[string]any{"Name": pm["displayName"], "NewValue": pm["newValue"], "OldValue": pm["oldValue"]})
				}
			}
			out["ModifiedProperties"] = mods
			out["Target"] = []map[string]any{{"ID": tr["id"], "Type": 2}, {"ID": tr["displayName"], "Type": 1}}
		}
	}
	return out
}

// graphAudit moves a Sentinel AuditLogs row into Graph's directoryAudit
// resource (Sentinel capitalises Graph's property names and keeps the
// objects as JSON text), at time at.
func graphAudit(m map[string]any, at time.Time) map[string]any {
	return map[string]any{
		"id": m["Id"], "category": m["Category"], "correlationId": m["CorrelationId"], "result": m["Result"],
		"activityDisplayName": strings.TrimSpace(m["ActivityDisplayName"].(string)), "activityDateTime": at.Format(time.RFC3339Nano),
		"loggedByService": m["LoggedByService"], "operationType": m["AADOperationType"],
		"initiatedBy": jsonField(m["InitiatedBy"]), "targetResources": jsonField(m["TargetResources"]), "additionalDetails": jsonField(m["AdditionalDetails"]),
	}
}

func rawJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withID is record m with its Id made unique for copy n, so that the
// same sample can fill several blobs as distinct records.
func withID(m map[string]any, key string, n int) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	c[key] = fmt.Sprintf("%v-%d", m[key], n)
	return c
}

// load fills the fake tenant: Audit.Exchange in 5 blobs (3 pages) and
// Audit.AzureActiveDirectory in 3 blobs of 4 records, all made available
// over the last few hours; one Entra sign-in and four directory audits
// in Graph. It returns every record's stream and ID.
func (f *fakeMS365) load(t *testing.T) []string {
	exch := readSample(t, "otrf-goldensaml/OfficeActivityEvents.json")
	aad := readSample(t, "otrf-goldensaml/AADAuditEvents.json")
	signin := readSample(t, "entra-id/signinlogs_eventhub.json")
	var ids []string
	for i := range 5 {
		rec := withID(managementExchange(exch[0]), "Id", i)
		ids = append(ids, "Audit.Exchange\x00"+rec["Id"].(string))
		f.blobs = append(f.blobs, &fakeBlob{ct: "Audit.Exchange", id: fmt.Sprintf("20261206%02d$exchange$%d", i, i),
			created: f.now.Add(-5*time.Hour + time.Duration(i)*time.Hour), records: []json.RawMessage{rawJSON(t, rec)}})
	}
	for i := range 3 {
		b := &fakeBlob{ct: "Audit.AzureActiveDirectory", id: fmt.Sprintf("20261206%02d$aad$%d", i, i), created: f.now.Add(-3*time.Hour + time.Duration(i)*40*time.Minute)}
		for _, row := range aad {
			rec := withID(managementAAD(row), "Id", i)
			ids = append(ids, "Audit.AzureActiveDirectory\x00"+rec["Id"].(string))
			b.records = append(b.records, rawJSON(t, rec))
		}
		f.blobs = append(f.blobs, b)
	}
	// The Azure Monitor record's properties are Graph's signIn resource.
	si := signin[0]["properties"].(map[string]any)
	si = withID(si, "id", 0)
	si["createdDateTime"] = f.now.Add(-90 * time.Minute).Format(time.RFC3339Nano)
	ids = append(ids, EntraSignIns+"\x00"+si["id"].(string))
	f.signIns = append(f.signIns, rawJSON(t, si))
	for i, row := range aad {
		rec := graphAudit(row, f.now.Add(-time.Duration(i+1)*20*time.Minute))
		ids = append(ids, EntraDirectoryAudits+"\x00"+rec["id"].(string))
		f.audits = append(f.audits, rawJSON(t, rec))
	}
	return ids
}

// config is a configuration for the fake tenant with the secret in a
// file.
func (f *fakeMS365) config(t *testing.T, secret string) *O365Config {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, "secret")
	if err := os.WriteFile(sf, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf(`
poll_interval: 1m
endpoints:
  login: %[1]s
  manage: %[1]s
  graph: %[1]s/graph
tenants:
  - name: nhsmail
    tenant_id: %[2]s
    client_id: %[3]s
    client_secret_file: %[4]s
    org: x26
    content_types: [Audit.AzureActiveDirectory, Audit.Exchange]
    entra: [signIns, directoryAudits]
`, f.srv.URL, fakeTenant, fakeClient, sf)
	c, err := ParseO365Config([]byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The Graph endpoints of the fake live under /graph on the same server.
func (f *fakeMS365) stripGraph(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/graph/"); ok {
			r.URL.Path = "/" + rest
		}
		next.ServeHTTP(w, r)
	})
}

func newO365Poller(t *testing.T, rg *rig, cfg *O365Config) *O365Poller {
	t.Helper()
	p, err := NewO365Poller(context.Background(), O365Options{Config: cfg, Conn: rg.bus.Conn(), Publisher: rg.pub, Normaliser: rg.norm,
		Metrics: rg.metrics, Retries: 1, RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestO365PollResume polls the fake tenant through a 429, a content blob
// that fails with 500 until the poll gives up, and a restart of the
// poller, and checks that every record is on the EVENTS stream exactly
// once, as the right event, and that no blob finished before the failure
// was fetched again.
func TestO365PollResume(t *testing.T) {
	f := newFakeMS365(t)
	all := f.load(t)
	// The Golden SAML AuditLogs export holds one audit record twice (the
	// same Id): it is one event, and each copy published is a duplicate
	// the stream drops.
	var ids []string
	seen := map[string]bool{}
	for _, id := range all {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	repeats := int64(len(all) - len(ids))
	if repeats != 4 {
		t.Fatalf("the samples give %d repeated records, want 4 (one in each of 3 blobs and in Graph)", repeats)
	}
	rg := newRig(t, "", PublisherOptions{})
	cfg := f.config(t, fakeSecret)
	// The first listing of the content throttles once with Retry-After: 1.
	f.throttleOnce["/api/v1.0/"+fakeTenant+"/activity/feed/subscriptions/content"] = true
	// The fourth Exchange blob (third page) fails until it is cleared.
	f.failBlob = f.blobs[3].id

	p := newO365Poller(t, rg, cfg)
	err := p.Poll(context.Background())
	var ae *O365APIError
	if !errors.As(err, &ae) || ae.Status != 500 || ae.Code != "AF50000" || !strings.Contains(err.Error(), "Audit.Exchange") {
		t.Fatalf("first poll: %v, want the Exchange blob's 500", err)
	}
	if f.failures != 2 {
		t.Errorf("the failing blob was asked for %d times, want 2 (Retries 1)", f.failures)
	}
	if f.retriedAfter < 900*time.Millisecond {
		t.Errorf("the request after a 429 with Retry-After: 1 came %s later", f.retriedAfter)
	}
	if f.subs["Audit.Exchange"] != true || f.subs["Audit.AzureActiveDirectory"] != true {
		t.Errorf("subscriptions not started: %v", f.subs)
	}
	st := p.Status()
	if len(st) != 4 || st[0].Stream != "Audit.AzureActiveDirectory" || st[0].Throttled != 1 || st[1].LastError == "" {
		t.Errorf("status after the first poll: %+v", st)
	}
	before := rg.streamCount()
	if want := uint64(len(ids) - 2); before != want { // the failed blob and the one after it are not in yet
		t.Errorf("after the failed poll the stream holds %d events, want %d", before, want)
	}

	// A restart: a new poller on the same bus resumes from the cursors.
	f.mu.Lock()
	f.failBlob = ""
	f.mu.Unlock()
	p2 := newO365Poller(t, rg, cfg)
	if err := p2.Poll(context.Background()); err != nil {
		t.Fatalf("second poll: %v", err)
	}
	// And polling again finds nothing new.
	if err := p2.Poll(context.Background()); err != nil {
		t.Fatalf("third poll: %v", err)
	}
	got := rg.waitEvents(len(ids))
	if len(got) != len(ids) {
		t.Fatalf("stream holds %d events, want %d", len(got), len(ids))
	}
	for id, n := range f.fetched {
		if n != 1 {
			t.Errorf("blob %s fetched %d times, want once", id, n)
		}
	}
	if len(f.fetched) != len(f.blobs) {
		t.Errorf("%d of %d blobs fetched", len(f.fetched), len(f.blobs))
	}
	if _, dup := rg.metrics.Snapshot(); dup != repeats {
		t.Errorf("%d events published twice, want only the %d the source repeats", dup, repeats)
	}
	if f.tokens > 4 {
		t.Errorf("%d tokens fetched for two pollers and two APIs: tokens are not reused", f.tokens)
	}

	want := map[string]bool{}
	for _, id := range ids {
		stream, rid, _ := strings.Cut(id, "\x00")
		want[O365EventID(fakeTenant, stream, rid)] = true
	}
	checkMsgIDs(t, got)
	for _, se := range got {
		ev := se.ev
		if !want[ev.ID] {
			t.Fatalf("unexpected event %s (msg ID %s): %s", ev.ID, se.msgID, ev.Raw)
		}
		delete(want, ev.ID)
		if se.subject != "events.X26" || ev.Org != "X26" || ev.Source.Protocol != "o365" || ev.ParseError != "" {
			t.Errorf("event %s: subject %s org %s source %+v parse error %q", ev.ID, se.subject, ev.Org, ev.Source, ev.ParseError)
		}
		switch {
		case ev.Fields["Workload"] == "Exchange":
			if ev.Product != "m365" || ev.Service != "audit" || ev.Fields["Operation"] != "MailItemsAccessed" ||
				!ev.EventTime.Equal(time.Date(2021, 8, 2, 13, 32, 7, 0, time.UTC)) {
				t.Errorf("Exchange event: %s/%s %v at %v", ev.Product, ev.Service, ev.Fields["Operation"], ev.EventTime)
			}
		case ev.Fields["Workload"] == "AzureActiveDirectory":
			if ev.Product != "m365" || ev.Service != "audit" || ev.EventTime.Year() != 2021 || ev.Fields["ModifiedProperties.0.Name"] == nil {
				t.Errorf("AAD event: %s/%s at %v: %v", ev.Product, ev.Service, ev.EventTime, ev.Fields)
			}
		case ev.Fields["userPrincipalName"] == "test@elastic.co":
			if ev.Product != "azure" || ev.Service != "signinlogs" || ev.Fields["ResultType"] != "50140" ||
				ev.EventTime.Sub(f.now.Add(-90*time.Minute)).Abs() > time.Millisecond {
				t.Errorf("sign-in event: %s/%s ResultType %v at %v", ev.Product, ev.Service, ev.Fields["ResultType"], ev.EventTime)
			}
		case ev.Fields["loggedByService"] == "Core Directory":
			if ev.Product != "azure" || ev.Service != "auditlogs" || ev.EventTime.Before(f.now.Add(-2*time.Hour)) {
				t.Errorf("directory audit event: %s/%s at %v", ev.Product, ev.Service, ev.EventTime)
			}
		default:
			t.Errorf("event from no known record: %v", ev.Fields)
		}
	}

	// The cursors hold the window's end and only the blobs near it.
	for _, ct := range []string{"Audit.Exchange", "Audit.AzureActiveDirectory", EntraSignIns, EntraDirectoryAudits} {
		c, err := p2.tenants[0].loadCursor(context.Background(), ct)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(c.End) > time.Minute {
			t.Errorf("%s cursor ends at %v", ct, c.End)
		}
		for id, at := range c.Seen {
			if at.Before(c.End.Add(-cfg.Overlap)) {
				t.Errorf("%s cursor still remembers %s from %v", ct, id, at)
			}
		}
	}
}

// TestO365WrongSecret: a refused sign-in is an error saying what Entra
// said and what to check, and never shows the secret sent.
func TestO365WrongSecret(t *testing.T) {
	f := newFakeMS365(t)
	rg := newRig(t, "", PublisherOptions{})
	const wrong = "not-the-secret-but-still-private"
	p := newO365Poller(t, rg, f.config(t, wrong))
	err := p.Poll(context.Background())
	var ae *O365AuthError
	if !errors.As(err, &ae) || ae.Code != "invalid_client" {
		t.Fatalf("poll with a wrong secret: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"nhsmail", "AADSTS7000215", "check the client secret", fakeClient} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, "Trace ID") {
		t.Errorf("error shows the secret or the trace line: %q", msg)
	}
	st := p.Status()
	if len(st) != 4 {
		t.Errorf("status of %d streams, want 4: %+v", len(st), st)
	}
	for _, s := range st {
		if !strings.Contains(s.LastError, "invalid_client") || !s.LastSuccess.IsZero() {
			t.Errorf("status: %+v", s)
		}
	}
	if rg.streamCount() != 0 {
		t.Errorf("events published without signing in")
	}
	if fmt.Sprint(p.cfg.Tenants[0]) != "nhsmail (tenant "+fakeTenant+", app "+fakeClient+", org X26)" ||
		strings.Contains(fmt.Sprintf("%+v", p.cfg.Tenants), wrong) {
		t.Errorf("a tenant prints its secret: %+v", p.cfg.Tenants)
	}
}

// TestO365Config: every mistake is named by its field and the tenant's
// line.
func TestO365Config(t *testing.T) {
	dir := t.TempDir()
	sf := filepath.Join(dir, "s")
	if err := os.WriteFile(sf, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "SECRET" {
			return "from-env"
		}
		return ""
	}
	head := "tenants:\n  - name: a\n    tenant_id: " + fakeTenant + "\n    client_id: " + fakeClient + "\n    org: RJ1\n"
	ok := head + "    client_secret_file: " + sf + "\n    content_types: [audit.exchange, DLP.All, Audit.Exchange]\n"
	c, err := ParseO365Config([]byte(ok), env)
	if err != nil {
		t.Fatal(err)
	}
	tn := c.Tenants[0]
	if tn.secret != "x" || tn.PublisherID != fakeTenant || strings.Join(tn.ContentTypes, ",") != "Audit.Exchange,DLP.All" ||
		c.PollInterval != DefaultO365PollInterval || c.ManageURL != DefaultO365ManageURL {
		t.Errorf("parsed %+v %+v", c, tn)
	}
	if c, err := ParseO365Config([]byte(head+"    client_secret_env: SECRET\n    entra: [signins]\n"), env); err != nil || c.Tenants[0].secret != "from-env" || c.Tenants[0].Entra[0] != EntraSignIns {
		t.Errorf("secret from env: %v", err)
	}
	for _, c := range []struct{ text, want string }{
		{"", "needs at least one entry under tenants"},
		{"tenants: []\n", "tenants: none configured"},
		{"poll_interval: soon\n" + ok, `poll_interval: "soon"`},
		{"initial_lookback: 240h\n" + ok, "initial_lookback"},
		{"endpoints:\n  manage: ftp://x\n" + ok, "endpoints.manage"},
		{"colour: blue\n" + ok, "field colour not found"},
		{strings.Replace(ok, fakeTenant, "contoso.onmicrosoft.com", 1), "tenants[0] (line 2).tenant_id: \"contoso.onmicrosoft.com\" is not a GUID"},
		{strings.Replace(ok, fakeClient, "app", 1), "tenants[0] (line 2).client_id"},
		{strings.Replace(ok, "RJ1", "R.J1", 1), "tenants[0] (line 2).org"},
		{strings.Replace(ok, "name: a", "name: A B", 1), "tenants[0] (line 2).name"},
		{strings.Replace(ok, "audit.exchange", "Audit.Teams", 1), `tenants[0] (line 2).content_types[0]: "Audit.Teams" is not a content type`},
		{head + "    client_secret: hunter2\n    content_types: [DLP.All]\n", "client_secret: the secret must not be in this file"},
		{head + "    content_types: [DLP.All]\n", "no client secret"},
		{head + "    client_secret_file: " + empty + "\n    content_types: [DLP.All]\n", "client_secret_file: " + empty + " is empty"},
		{head + "    client_secret_file: /nonexistent/s\n    content_types: [DLP.All]\n", "client_secret_file: cannot read"},
		{head + "    client_secret_env: NOPE\n    content_types: [DLP.All]\n", "client_secret_env: the variable NOPE is not set"},
		{head + "    client_secret_env: SECRET\n    client_secret_file: " + sf + "\n    content_types: [DLP.All]\n", "both set"},
		{head + "    client_secret_env: SECRET\n", "nothing to poll"},
		{head + "    client_secret_env: SECRET\n    entra: [riskyUsers]\n", `entra[0]: "riskyUsers"`},
		{ok + strings.Replace(strings.TrimPrefix(ok, "tenants:\n"), "name: a", "name: b", 1), "tenants[1] (line 8).tenant_id"},
	} {
		_, err := ParseO365Config([]byte(c.text), env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

// TestO365RetryAfter reads both forms of Retry-After.
func TestO365RetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
	}{{"", 7 * time.Second}, {"3", 3 * time.Second}, {"Sun, 06 Dec 2026 12:00:30 GMT", 30 * time.Second}, {"Sun, 06 Dec 2026 11:00:00 GMT", 0}, {"soon", 7 * time.Second}} {
		h := http.Header{}
		if c.v != "" {
			h.Set("Retry-After", c.v)
		}
		if got := o365RetryAfter(h, now, 7*time.Second); got != c.want {
			t.Errorf("Retry-After %q: %s, want %s", c.v, got, c.want)
		}
	}
}

// TestO365RefusesForeignLinks: a NextPageUri on another host is not
// followed with the token.
func TestO365RefusesForeignLinks(t *testing.T) {
	for _, c := range []struct {
		u    string
		want bool
	}{
		{"https://manage.office.com/api/v1.0/x/activity/feed/audit/1", true},
		{"https://MANAGE.office.com/api", true},
		{"http://manage.office.com/api", false},
		{"https://manage.office.com.evil.example/api", false},
		{"https://evil.example/?https://manage.office.com", false},
	} {
		if got := sameOrigin(DefaultO365ManageURL, c.u); got != c.want {
			t.Errorf("sameOrigin(%s) = %v", c.u, got)
		}
	}
}

// TestO365Service: --o365-config through NewService starts the poller
// with the listeners, and its first round runs at once.
func TestO365Service(t *testing.T) {
	f := newFakeMS365(t)
	f.load(t)
	b := newRig(t, "", PublisherOptions{})
	dir := t.TempDir()
	sf := filepath.Join(dir, "secret")
	if err := os.WriteFile(sf, []byte(fakeSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf("endpoints: {login: %[1]s, manage: %[1]s, graph: %[1]s/graph}\ntenants:\n- {name: nhsmail, tenant_id: %[2]s, client_id: %[3]s, client_secret_file: %[4]s, org: X26, entra: [signIns]}\n",
		f.srv.URL, fakeTenant, fakeClient, sf)
	path := filepath.Join(dir, "o365.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	known := func(code string) bool { return code == "X26" }
	svc, err := NewService(context.Background(), ServiceOptions{Conn: b.bus.Conn(), Root: testRoot, O365Config: path, KnownOrg: known})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := b.waitEvents(1)
	if got[0].ev.Service != "signinlogs" || got[0].ev.Org != "X26" {
		t.Errorf("event %+v", got[0].ev)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	counts, _ := svc.Metrics().Snapshot()
	if len(counts) != 1 || counts[0].Listener != ListenerO365 || counts[0].Org != "X26" || counts[0].Events != 1 {
		t.Errorf("metrics %+v", counts)
	}
	if s := svc.Metrics().Senders(); len(s) != 1 || s[0].Addr != "nhsmail/signIns" {
		t.Errorf("senders %+v", s)
	}
	// An organisation Vigil does not know is refused at start.
	_, err = NewService(context.Background(), ServiceOptions{Conn: b.bus.Conn(), Root: testRoot, O365Config: path, KnownOrg: func(string) bool { return false }})
	if err == nil || !strings.Contains(err.Error(), "organisation X26 is not in Vigil's organisation tree") {
		t.Errorf("unknown org: %v", err)
	}
}

// FuzzO365Event: whatever a content blob or Graph page holds as a record,
// it becomes an event of the tenant's organisation with its log source,
// never a panic, and the same bytes give the same ID.
func FuzzO365Event(f *testing.F) {
	for _, s := range []string{
		`{"Id":"4b1e5c3a","CreationTime":"2021-08-02T13:32:07","Workload":"Exchange","RecordType":50}`,
		`{"id":"x","createdDateTime":"2026-12-06T10:00:00.123Z","status":{"errorCode":50140,"failureReason":"KMSI"}}`,
		`{"id":"y","activityDateTime":"bad"}`, `[1,2]`, `"text"`, `{"Id":`, `{"status":{"errorCode":[1,{"a":null}]}}`,
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(5))
	}
	n, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	p := &O365Poller{o: O365Options{Normaliser: n, Now: time.Now}}
	tn := &o365Tenant{O365Tenant: O365Tenant{Name: "t", TenantID: fakeTenant, Org: "X26"}, p: p}
	streams := append(append([]string{}, O365ContentTypes...), EntraSignIns, EntraDirectoryAudits)
	received := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		stream := streams[int(which)%len(streams)]
		ev := tn.o365Event(stream, raw, received)
		again := tn.o365Event(stream, raw, received)
		if ev.ID == "" || ev.ID != again.ID || ev.Org != "X26" || ev.Product == "" || ev.Service == "" || ev.Source.Protocol != ListenerO365 {
			t.Fatalf("event %+v (again %s)", ev, again.ID)
		}
	})
}

// TestO365CatchUp: a cursor older than the seven days Microsoft keeps
// starts again seven days back, and the poller catches up a window of
// at most 24 hours at a time (the fake refuses anything else).
func TestO365CatchUp(t *testing.T) {
	f := newFakeMS365(t)
	f.load(t)
	rg := newRig(t, "", PublisherOptions{})
	p := newO365Poller(t, rg, f.config(t, fakeSecret))
	tn := p.tenants[0]
	ctx := context.Background()
	old := &o365Cursor{End: time.Now().UTC().Add(-9 * 24 * time.Hour), Seen: map[string]time.Time{}}
	if err := tn.saveCursor(ctx, "Audit.Exchange", old); err != nil {
		t.Fatal(err)
	}
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := tn.loadCursor(ctx, "Audit.Exchange")
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(c.End) > time.Minute {
		t.Errorf("cursor ends at %v, want now", c.End)
	}
	// Audit.Exchange: 7 days less a minute in 24-hour windows, each
	// re-listing the 15 minutes' overlap, is 8 windows;
	// Audit.AzureActiveDirectory from initial_lookback (24h) 2.
	if f.windows["Audit.Exchange"] != 8 || f.windows["Audit.AzureActiveDirectory"] != 2 {
		t.Errorf("windows listed: %v", f.windows)
	}
	if len(f.fetched) != len(f.blobs) {
		t.Errorf("%d of %d blobs fetched", len(f.fetched), len(f.blobs))
	}
}
