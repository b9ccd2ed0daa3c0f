package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestO365EndToEnd: `vigil serve --o365-config FILE` polls a Microsoft
// 365 tenant (a small in-test stand-in for the token endpoint and the
// Management Activity API; internal/ingest's tests cover paging,
// throttling and resume) every poll_interval, and the audit record it
// fetches is stored for the tenant's organisation, found by that trust's
// analyst and by nobody else's, and counted in /metrics.
func TestO365EndToEnd(t *testing.T) {
	const tenant, client, secret = "0b3e9f1c-2a4d-4e5f-8a6b-7c8d9e0f1a2b", "6f1a2b3c-4d5e-4f60-8172-839405a6b7c8", "e2e-secret"
	// A hand-written Exchange mailbox-audit record in the Management
	// Activity API's shape.
	record := fmt.Sprintf(`[{"CreationTime":%q,"Id":"4b1e5c3a-0d2f-4e6b-9a8c-7d6e5f4a3b2c","Operation":"MailItemsAccessed","OrganizationId":%q,"RecordType":50,"ResultStatus":"Succeeded","UserKey":"10032001","UserType":0,"Version":1,"Workload":"Exchange","ClientIPAddress":"192.0.2.7","UserId":"vigil-e2e-o365@rj1.nhs.test","MailboxOwnerUPN":"vigil-e2e-o365@rj1.nhs.test"}]`,
		time.Now().UTC().Add(-10*time.Minute).Format("2006-01-02T15:04:05"), tenant)
	var ready atomic.Bool
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		feed := "/api/v1.0/" + tenant + "/activity/feed/"
		switch {
		case r.URL.Path == "/"+tenant+"/oauth2/v2.0/token":
			if r.PostFormValue("client_id") != client || r.PostFormValue("client_secret") != secret || r.PostFormValue("grant_type") != "client_credentials" {
				w.WriteHeader(401)
				_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`))
				return
			}
			_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"e2e-token"}`))
		case r.Header.Get("Authorization") != "Bearer e2e-token":
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error":{"code":"","message":"Authorization has been denied for this request."}}`))
		case r.URL.Path == feed+"subscriptions/list":
			_, _ = w.Write([]byte(`[{"contentType":"Audit.Exchange","status":"enabled","webhook":null}]`))
		case r.URL.Path == feed+"subscriptions/content":
			if !ready.Load() {
				_, _ = w.Write([]byte(`[]`))
				return
			}
			created := time.Now().UTC().Add(-5 * time.Minute).Format("2006-01-02T15:04:05.000Z")
			_ = json.NewEncoder(w).Encode([]map[string]string{{"contentType": "Audit.Exchange", "contentId": "e2e$blob$1",
				"contentUri": srv.URL + feed + "audit/e2e$blob$1", "contentCreated": created, "contentExpiration": created}})
		case r.URL.Path == feed+"audit/e2e$blob$1":
			_, _ = w.Write([]byte(record))
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error":{"code":"AF20001","message":"no such endpoint"}}`))
		}
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("poll_interval: 1s\nendpoints: {login: %[1]s, manage: %[1]s, graph: %[1]s}\ntenants:\n"+
		"  - {name: gstt, tenant_id: %[2]s, client_id: %[3]s, client_secret_file: %[4]s, org: RJ1, content_types: [Audit.Exchange]}\n",
		srv.URL, tenant, client, filepath.Join(dir, "secret"))
	path := filepath.Join(dir, "o365.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// The tenant's organisation must be in the tree when serve starts
	// (an unknown one is refused): made by a first start on the same data.
	data := t.TempDir()
	first := startWith(t, func(c *config.Config) { c.DataDir = data })
	f := newFixture(t, first)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	s := startWith(t, func(c *config.Config) { c.DataDir = data; c.O365Config = path })
	ready.Store(true)

	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := s.Events.Search(ctx, scope.System("test"), events.Query{Text: "vigil-e2e-o365", Since: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) == 1 {
			ev := p.Events[0]
			if ev.Org != "RJ1" || ev.Product != "m365" || ev.Service != "audit" || ev.Source.Protocol != "o365" {
				t.Errorf("stored %+v", ev)
			}
			break
		}
		if len(p.Events) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d events stored, want 1", len(p.Events))
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, body := get(t, http.DefaultClient, s.url("/api/v1/events?q=vigil-e2e-o365&since=1h"), f.aliceTok)
	if res.StatusCode != 200 || strings.Count(body, `"org":"RJ1"`) != 1 || !strings.Contains(body, `"service":"audit"`) {
		t.Errorf("Alice's search = %d %s", res.StatusCode, body)
	}
	if _, body := get(t, http.DefaultClient, s.url("/api/v1/events?q=vigil-e2e-o365&since=1h"), f.bobTok); strings.TrimSpace(body) != `{"items":[]}` {
		t.Errorf("Bob sees %s", body)
	}
	_, metrics := get(t, http.DefaultClient, s.url("/metrics"), "")
	for _, want := range []string{`vigil_ingest_events_total{listener="o365",org="RJ1"} 1`,
		`vigil_ingest_o365_last_success_timestamp_seconds{org="RJ1",stream="Audit.Exchange",tenant="gstt"}`,
		`vigil_ingest_o365_throttled_total{org="RJ1",stream="Audit.Exchange",tenant="gstt"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "vigil_ingest"))
		}
	}
	if strings.Contains(metrics, secret) {
		t.Error("the client secret is in /metrics")
	}
}
