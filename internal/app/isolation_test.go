package app

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/httpd"
)

// isolationCheck says how to call one route as Alice (org-admin of trust
// RJ1) against Bob's trust RJZ, and what proves she cannot see it.
type isolationCheck struct {
	// path replaces the route pattern's wildcards with Bob's objects;
	// empty means the pattern itself (no wildcards).
	path string
	body string
	// status is the answer Alice must get; 0 means any 2xx/3xx/4xx answer
	// whose body leaks nothing of Bob's (lists, pages).
	status int
}

// isolationChecks lists every authenticated route. A route registered
// without an entry here fails TestTenantIsolation, so nobody can add an
// endpoint without saying how it is scoped.
func isolationChecks(f fixture) map[string]isolationCheck {
	return map[string]isolationCheck{
		// API
		"GET /api/v1/me":                   {},
		"GET /api/v1/orgs":                 {path: "/api/v1/orgs?q=king"},
		"GET /api/v1/orgs/tree":            {path: "/api/v1/orgs/tree?parent=RJZ", status: 404},
		"GET /api/v1/orgs/{code}":          {path: "/api/v1/orgs/RJZ", status: 404},
		"POST /api/v1/orgs":                {body: `{"ods":"RJZ99","name":"x","type":"other-provider","parent":"RJZ"}`, status: 400},
		"PATCH /api/v1/orgs/{code}":        {path: "/api/v1/orgs/RJZ", body: `{"name":"x"}`, status: 404},
		"GET /api/v1/users":                {path: "/api/v1/users?q=bob"},
		"GET /api/v1/users/{id}":           {path: "/api/v1/users/" + f.bob.ID, status: 404},
		"POST /api/v1/users":               {body: `{"email":"m@x.nhs.test","name":"M","org":"RJZ","role":"org-analyst"}`, status: 400},
		"PATCH /api/v1/users/{id}":         {path: "/api/v1/users/" + f.bob.ID, body: `{"name":"x"}`, status: 404},
		"POST /api/v1/users/{id}/grants":   {path: "/api/v1/users/" + f.bob.ID + "/grants", body: `{"role":"org-analyst","org":"RJZ"}`, status: 404},
		"DELETE /api/v1/users/{id}/grants": {path: "/api/v1/users/" + f.bob.ID + "/grants?role=org-admin&org=RJZ", status: 404},
		"GET /api/v1/tokens":               {path: "/api/v1/tokens?user=" + url.QueryEscape(f.bob.Email)},
		"POST /api/v1/tokens":              {body: `{"user":"` + f.bob.Email + `","name":"x"}`, status: 404},
		"DELETE /api/v1/tokens/{id}":       {path: "/api/v1/tokens/" + f.bobTokID, status: 404},
		"GET /api/v1/audit":                {path: "/api/v1/audit?org=RJZ", status: 403},
		"GET /api/v1/audit/verify":         {status: 403},
		// Supplier register (addSupplyFixture: ISO-LIMS is deployed by RJ1 and
		// RJZ). Suppliers, products and dependencies are shared reference data
		// every NHS reader sees; deployments, impact, the graph and exports must
		// show nothing of RJZ; reports need the supply-chain role; writes to
		// RJZ or to a supplier Alice does not represent are not found.
		"GET /api/v1/supply/suppliers":        {},
		"GET /api/v1/supply/suppliers/{id}":   {path: "/api/v1/supply/suppliers/ISO-SUP"},
		"PUT /api/v1/supply/suppliers/{id}":   {path: "/api/v1/supply/suppliers/ISO-SUP", body: `{"name":"Mine now"}`, status: 404},
		"GET /api/v1/supply/products":         {path: "/api/v1/supply/products?supplier=ISO-SUP"},
		"GET /api/v1/supply/products/{id}":    {path: "/api/v1/supply/products/ISO-LIMS"},
		"PUT /api/v1/supply/products/{id}":    {path: "/api/v1/supply/products/ISO-LIMS", body: `{"supplier_id":"ISO-SUP","name":"x","kind":"saas"}`, status: 404},
		"GET /api/v1/supply/deployments":      {path: "/api/v1/supply/deployments?product=ISO-LIMS"},
		"PUT /api/v1/supply/deployments":      {body: `{"org_ods":"RJZ","product_id":"ISO-LIMS","service":"pathology","criticality":"low","has_fallback":true}`, status: 404},
		"DELETE /api/v1/supply/deployments":   {path: "/api/v1/supply/deployments?org=RJZ&product=ISO-LIMS&service=pathology", status: 404},
		"GET /api/v1/supply/dependencies":     {path: "/api/v1/supply/dependencies?product=ISO-LIMS"},
		"PUT /api/v1/supply/dependencies":     {body: `{"product_id":"ISO-LIMS","depends_on_product_id":"ISO-HOST","kind":"hosting","critical":false}`, status: 404},
		"DELETE /api/v1/supply/dependencies":  {path: "/api/v1/supply/dependencies?product=ISO-LIMS&depends_on=ISO-HOST", status: 404},
		"POST /api/v1/supply/import":          {body: `{"format_version":1,"deployments":[{"org_ods":"RJZ","product_id":"ISO-LIMS","service":"pathology","criticality":"low","has_fallback":true}]}`, status: 400},
		"GET /api/v1/supply/export":           {},
		"GET /api/v1/supply/impact":           {path: "/api/v1/supply/impact?supplier=ISO-SUP"},
		"GET /api/v1/supply/concentration":    {path: "/api/v1/supply/concentration?service=pathology&by=icb", status: 404},
		"GET /api/v1/supply/risk":             {status: 404},
		"GET /api/v1/supply/graph":            {path: "/api/v1/supply/graph?node=product:ISO-LIMS&depth=3"},
		"POST /api/v1/supply/snapshots":       {},
		"GET /api/v1/supply/contracts":        {},
		"DELETE /api/v1/supply/products/{id}": {path: "/api/v1/supply/products/ISO-HOST", status: 404},
		"PUT /api/v1/supply/contracts/{id}":   {path: "/api/v1/supply/contracts/ISO-CON-RJZ", body: `{"org_ods":"RJZ","supplier_id":"ISO-SUP"}`, status: 404},
		"GET /api/v1/supply/trend":            {path: "/api/v1/supply/trend?service=pathology&by=icb&group=QKK"},
	}
}

// leaks are strings only Bob's side of the estate has.
func leaks(f fixture) []string {
	return []string{"RJZ", "ISO-CON-RJZ", "KING'S COLLEGE", "KING&#39;S COLLEGE", "KING\\u0027S", f.bob.Email, f.bob.ID, f.bobTokID}
}

func TestTenantIsolation(t *testing.T) { engines(t, testTenantIsolation) }

func testTenantIsolation(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s)
	ctx := context.Background()
	se, err := s.Auth.StartSession(ctx, f.alice.ID, "127.0.0.1", "isolation-test")
	if err != nil {
		t.Fatal(err)
	}
	checks := isolationChecks(f)
	for k, c := range webIsolationChecks(f) {
		checks[k] = c
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	seen := map[string]bool{}
	for _, r := range s.Router.Routes() {
		key := r.Method + " " + r.Pattern
		if r.Access == httpd.Public {
			if !publicRoutes[key] {
				t.Errorf("route %s is public but not in publicRoutes: say why it needs no sign-in", key)
			}
			continue
		}
		c, ok := checks[key]
		if !ok {
			t.Errorf("route %s has no tenant-isolation check: add one to isolationChecks or webIsolationChecks", key)
			continue
		}
		seen[key] = true
		path := c.path
		if path == "" {
			path = strings.TrimSuffix(r.Pattern, "{$}")
		}
		if strings.Contains(path, "{") {
			t.Errorf("%s: check path %q still has a wildcard", key, path)
			continue
		}
		t.Run(key, func(t *testing.T) {
			req, _ := http.NewRequest(r.Method, s.url(path), strings.NewReader(c.body))
			if r.Area == "api" {
				req.Header.Set("Authorization", "Bearer "+f.aliceTok)
				req.Header.Set("Content-Type", "application/json")
			} else {
				sess := se
				if key == "POST /signout" { // signing out must not end the session the other checks use
					if sess, err = s.Auth.StartSession(ctx, f.alice.ID, "127.0.0.1", "isolation-test"); err != nil {
						t.Fatal(err)
					}
				}
				req.AddCookie(&http.Cookie{Name: auth.CookieName(false), Value: sess.Secret})
				req.Header.Set("X-CSRF-Token", sess.CSRF)
				if c.body != "" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			body := string(b)
			if c.status != 0 && res.StatusCode != c.status {
				t.Errorf("%s %s as Alice = %d, want %d\n%.400s", r.Method, path, res.StatusCode, c.status, body)
			}
			if res.StatusCode >= 500 {
				t.Errorf("%s %s = %d", r.Method, path, res.StatusCode)
			}
			for _, l := range leaks(f) {
				// Echoing what Alice asked for reveals nothing; anything
				// else of Bob's in the answer is a leak.
				if strings.Contains(path+c.body, l) || strings.Contains(path+c.body, url.QueryEscape(l)) {
					continue
				}
				if strings.Contains(body, l) {
					t.Errorf("%s %s leaks %q to Alice:\n%.600s", r.Method, path, l, body)
				}
			}
		})
	}
	for k := range checks {
		if !seen[k] {
			t.Errorf("isolation check for %s matches no registered route (renamed?)", k)
		}
	}
	// And Bob's objects are really there: the same calls as Bob succeed.
	res, _ := get(t, http.DefaultClient, s.url("/api/v1/orgs/RJZ"), f.bobTok)
	if res.StatusCode != 200 {
		t.Fatalf("Bob cannot see his own trust: %d", res.StatusCode)
	}
}

// publicRoutes need no sign-in, each for a stated reason.
var publicRoutes = map[string]bool{
	"GET /healthz":             true, // liveness probe
	"GET /readyz":              true, // readiness probe; says only ok/unavailable
	"GET /metrics":             true, // Prometheus scrape; counts only, no tenant data
	"GET /api/v1/openapi.json": true, // the API's description
	"GET /static/":             true, // stylesheet and script
	"GET /":                    true, // not-found page for unknown addresses
	"GET /signin":              true, // the sign-in form
	"POST /signin":             true, // signing in (throttled, CSRF double-submit)
	"GET /signin/sso":          true, // starts single sign-on
	"GET /signin/callback":     true, // returns from the identity provider
}
