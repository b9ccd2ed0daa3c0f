package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/api"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// startServer runs a real `vigil serve` (SQLite, embedded NATS, HTTP on a
// free loopback port) in a temporary data directory.
func startServer(t testing.TB) *Server { return startEmbedded(t) }

// startEmbedded runs on the embedded engines: SQLite and NATS in the data dir.
func startEmbedded(t testing.TB) *Server { return startWith(t, nil) }

// startExternal runs on the real external engines a national deployment
// uses: PostgreSQL (a fresh schema) and the NATS JetStream server on
// loopback (VIGIL_TEST_NATS_URL, default nats://127.0.0.1:4222), in a
// namespace of the database's own (useTestNATS).
func startExternal(t testing.TB) *Server {
	return startWith(t, func(c *config.Config) {
		c.DatabaseURL = storetest.PostgresSchemaURL(t)
		useTestNATS(c)
	})
}

// engines runs fn against each way Vigil can be deployed.
func engines(t *testing.T, fn func(t *testing.T, start func(testing.TB) *Server)) {
	t.Run("embedded", func(t *testing.T) { fn(t, startEmbedded) })
	t.Run("postgres+nats", func(t *testing.T) { fn(t, startExternal) })
}

// enginesWith is engines with mod applied to each configuration.
func enginesWith(t *testing.T, mod func(*config.Config), fn func(t *testing.T, start func(testing.TB) *Server)) {
	t.Run("embedded", func(t *testing.T) { fn(t, func(t testing.TB) *Server { return startWith(t, mod) }) })
	t.Run("postgres+nats", func(t *testing.T) {
		fn(t, func(t testing.TB) *Server {
			return startWith(t, func(c *config.Config) {
				c.DatabaseURL = storetest.PostgresSchemaURL(t)
				useTestNATS(c)
				mod(c)
			})
		})
	})
}

func startWith(t testing.TB, mod func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.LogLevel = "warn"
	if mod != nil {
		mod(&cfg)
	}
	if cfg.NATSURL != "" && cfg.NATSPrefix != "" {
		deleteNamespaceAtEnd(t, cfg.NATSURL, cfg.NATSPrefix)
	}
	s, err := Start(context.Background(), cfg, NewLogger(cfg, io.Discard))
	if err != nil && cfg.NATSURL != "" && strings.Contains(err.Error(), "bus") {
		testneed.Missing(t, "an external NATS with JetStream", err)
	}
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (s *Server) url(path string) string { return "http://" + s.Addr + path }

func get(t testing.TB, c *http.Client, url, bearer string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServeOpsEndpoints(t *testing.T) { engines(t, testServeOpsEndpoints) }

func testServeOpsEndpoints(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	c := http.DefaultClient
	for _, p := range []string{"/healthz", "/readyz"} {
		res, body := get(t, c, s.url(p), "")
		if res.StatusCode != 200 || strings.TrimSpace(body) != "ok" {
			t.Errorf("%s = %d %q, want 200 ok", p, res.StatusCode, body)
		}
	}
	get(t, c, s.url("/api/v1/openapi.json"), "")
	res, body := get(t, c, s.url("/metrics"), "")
	if res.StatusCode != 200 {
		t.Fatalf("/metrics = %d", res.StatusCode)
	}
	for _, want := range []string{"vigil_database_up 1", "vigil_bus_up 1", `vigil_http_requests_total{method="GET",route="GET /healthz",status="200"} 1`, "vigil_http_request_duration_seconds_bucket"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Security headers on every answer.
	res, _ = get(t, c, s.url("/healthz"), "")
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "frame-ancestors 'none'"} {
		if !strings.Contains(res.Header.Get(h), want) {
			t.Errorf("header %s = %q, want it to contain %q", h, res.Header.Get(h), want)
		}
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain HTTP")
	}
}

func TestReadyzReportsBusDown(t *testing.T) {
	s := startServer(t)
	s.Bus.Close()
	res, body := get(t, http.DefaultClient, s.url("/readyz"), "")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "bus") {
		t.Fatalf("/readyz with the bus closed = %d %q, want 503 naming the bus", res.StatusCode, body)
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := startServer(t)
	_, body := get(t, http.DefaultClient, s.url("/api/v1/openapi.json"), "")
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+api.Prefix+p] = true
		}
	}
	served := map[string]bool{}
	for _, r := range s.Router.Routes() {
		if r.Area != "api" {
			continue
		}
		k := r.Method + " " + r.Pattern
		served[k] = true
		if !documented[k] {
			t.Errorf("route %s is served but not in openapi.json", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("openapi.json documents %s but no such route is served", k)
		}
	}
	if len(served) < 15 {
		t.Errorf("only %d API routes registered", len(served))
	}
}

// fixture creates a region with one ICB and two trusts, a user of each
// trust (org-admin) and an API token for each, and a supplier register in
// which both trusts deploy the same product.
type fixture struct {
	alice, bob           auth.User
	aliceTok, bobTok     string
	aliceTokID, bobTokID string
}

func newFixture(t testing.TB, s *Server) fixture {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", Type: org.Trust, Parent: "QKK"},
		{Code: "RJZ", Name: "KING'S COLLEGE HOSPITAL NHS FOUNDATION TRUST", Type: org.Trust, Parent: "QKK"},
	} {
		if _, err := s.Orgs.Create(ctx, sys, o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	var f fixture
	var err error
	if f.alice, err = s.Auth.AddUser(ctx, sys, auth.NewUser{Email: "alice@rj1.nhs.test", Name: "Alice", Org: "RJ1", Role: scope.OrgAdmin, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if f.bob, err = s.Auth.AddUser(ctx, sys, auth.NewUser{Email: "bob@rjz.nhs.test", Name: "Bob", Org: "RJZ", Role: scope.OrgAdmin, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	var tk auth.Token
	if tk, f.aliceTok, err = s.Auth.CreateToken(ctx, sys, f.alice.Email, "alice-ci", 0); err != nil {
		t.Fatal(err)
	}
	f.aliceTokID = tk.ID
	if tk, f.bobTok, err = s.Auth.CreateToken(ctx, sys, f.bob.Email, "bob-ci", 0); err != nil {
		t.Fatal(err)
	}
	f.bobTokID = tk.ID
	addSupplyFixture(t, s)
	return f
}

func TestAPIWithToken(t *testing.T) {
	s := startServer(t)
	f := newFixture(t, s)
	c := http.DefaultClient
	res, body := get(t, c, s.url("/api/v1/me"), f.aliceTok)
	if res.StatusCode != 200 || !strings.Contains(body, `"email":"alice@rj1.nhs.test"`) || !strings.Contains(body, `"role":"org-admin"`) {
		t.Fatalf("/me = %d %s", res.StatusCode, body)
	}
	res, body = get(t, c, s.url("/api/v1/me"), "vigil_nope.nope")
	if res.StatusCode != 401 {
		t.Errorf("bad token: %d %s", res.StatusCode, body)
	}
	res, body = get(t, c, s.url("/api/v1/orgs/RJZ"), f.aliceTok)
	if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, api.TypeNotFound) {
		t.Errorf("other trust = %d %s %s, want 404 problem+json", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, body = get(t, c, s.url("/api/v1/orgs?limit=0"), f.aliceTok)
	if res.StatusCode != 400 || !strings.Contains(body, `"field":"limit"`) {
		t.Errorf("limit=0: %d %s", res.StatusCode, body)
	}
	// Pagination over the national admin's view: pages join up exactly.
	ctx := context.Background()
	u, err := s.Auth.AddUser(ctx, scope.System("test"), auth.NewUser{Email: "nat@nhs.test", Name: "Nat", Org: "ENG", Role: scope.NationalAdmin, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	_, natTok, err := s.Auth.CreateToken(ctx, scope.System("test"), u.Email, "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		_, body := get(t, c, s.url("/api/v1/orgs?limit=2&cursor="+cursor), natTok)
		var p api.Page[org.Org]
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err, body)
		}
		for _, o := range p.Items {
			if seen[o.Code] {
				t.Errorf("%s on two pages", o.Code)
			}
			seen[o.Code] = true
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 5 { // ENG, Y56, QKK, RJ1, RJZ
		t.Errorf("paged through %d organisations, want 5: %v", len(seen), seen)
	}
}

func do(t testing.TB, method, url, bearer, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestAPIWrites(t *testing.T) {
	s := startServer(t)
	f := newFixture(t, s)
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"create under own trust", "POST", "/api/v1/orgs", `{"ods":"RJ1X1","name":"Evelina London","type":"other-provider","parent":"RJ1"}`, 201, `"icb":"QKK"`},
		{"create under other trust", "POST", "/api/v1/orgs", `{"ods":"RJZX1","name":"Sneaky","type":"other-provider","parent":"RJZ"}`, 400, `"field":"parent"`},
		{"unknown field", "POST", "/api/v1/orgs", `{"ods":"X","nme":"typo"}`, 400, `"field":"nme"`},
		{"bad json", "POST", "/api/v1/orgs", `{"ods":`, 400, "not valid JSON"},
		{"empty body", "POST", "/api/v1/orgs", ``, 400, "empty"},
		{"rename own", "PATCH", "/api/v1/orgs/RJ1", `{"name":"GSTT"}`, 200, `"name":"GSTT"`},
		{"rename other", "PATCH", "/api/v1/orgs/RJZ", `{"name":"Mine now"}`, 404, "not-found"},
		{"user on own trust", "POST", "/api/v1/users", `{"email":"carol@rj1.nhs.test","name":"Carol","org":"RJ1","role":"org-analyst"}`, 201, `"carol@rj1.nhs.test"`},
		{"user on other trust", "POST", "/api/v1/users", `{"email":"mallory@rjz.nhs.test","name":"M","org":"RJZ","role":"org-admin"}`, 400, `"field":"org"`},
		{"national role refused", "POST", "/api/v1/users", `{"email":"x@rj1.nhs.test","name":"X","org":"RJ1","role":"national-admin"}`, 400, `"field":"org"`},
		{"token for self", "POST", "/api/v1/tokens", `{"name":"laptop","expires":"30d"}`, 201, `"token":"vigil_`},
		{"token for other trust's user", "POST", "/api/v1/tokens", `{"user":"bob@rjz.nhs.test","name":"steal"}`, 404, "not-found"},
		{"bad expiry", "POST", "/api/v1/tokens", `{"name":"x","expires":"soon"}`, 400, `"field":"expires"`},
		{"revoke other's token", "DELETE", "/api/v1/tokens/" + f.bobTokID, ``, 404, "not-found"},
		{"audit without permission", "GET", "/api/v1/audit", ``, 403, "forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, body := do(t, c.method, s.url(c.path), f.aliceTok, c.body)
			if res.StatusCode != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%s %s = %d %s, want %d containing %q", c.method, c.path, res.StatusCode, body, c.status, c.want)
			}
		})
	}
	// Bob's token still works; Alice's own revocation works.
	if res, _ := get(t, http.DefaultClient, s.url("/api/v1/me"), f.bobTok); res.StatusCode != 200 {
		t.Errorf("bob's token broke: %d", res.StatusCode)
	}
	if res, body := do(t, "DELETE", s.url("/api/v1/tokens/"+f.aliceTokID), f.aliceTok, ""); res.StatusCode != 200 || !strings.Contains(body, "revoked_at") {
		t.Errorf("revoke own: %d %s", res.StatusCode, body)
	}
	if res, _ := get(t, http.DefaultClient, s.url("/api/v1/me"), f.aliceTok); res.StatusCode != 401 {
		t.Errorf("revoked token still accepted: %d", res.StatusCode)
	}
}

func TestServeWithoutAutoMigrateSaysWhatToDo(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.AutoMigrate = false
	s, err := Start(context.Background(), cfg, NewLogger(cfg, io.Discard))
	if err == nil {
		s.Close()
		t.Fatal("started on an unmigrated database")
	}
	if !strings.Contains(err.Error(), "vigil migrate") {
		t.Errorf("error does not say how to fix it: %v", err)
	}
}
