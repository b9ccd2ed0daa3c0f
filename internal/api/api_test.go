package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
)

// ownProblem is an error that is its own problem document.
type ownProblem struct{}

func (ownProblem) Error() string { return "import had row errors" }
func (ownProblem) problem() Problem {
	return Problem{Type: TypeValidation, Title: "Invalid import", Status: 400, Errors: []FieldError{{"suppliers.csv:3:2", "bad"}}}
}

// TestProblemFor: each fault kind becomes its status and problem type
// (through wrapping, as services return them); 404 never says whether the
// object exists and 500 never shows the error's own text.
func TestProblemFor(t *testing.T) {
	secret := errors.New("pq: relation secret_table: connection to 10.0.0.7 refused")
	for _, c := range []struct {
		name   string
		err    error
		status int
		typ    string
		detail string // what the detail says ("" = do not check)
		errors []FieldError
	}{
		{"not found", fault.ErrNotFound, 404, TypeNotFound, "No such object, or you may not see it.", nil},
		{"not found, with a message that must not show", fault.New(fault.ErrNotFound, "user bob@example.org has no grant on RJ1"), 404, TypeNotFound, "No such object, or you may not see it.", nil},
		{"invalid field", &fault.Invalid{Field: "email", Reason: "not an e-mail address"}, 400, TypeValidation, "", []FieldError{{"email", "not an e-mail address"}}},
		{"invalid field, wrapped", fmt.Errorf("create user: %w", &fault.Invalid{Field: "role", Reason: "unknown role"}), 400, TypeValidation, "", []FieldError{{"role", "unknown role"}}},
		{"invalid body, no field", &fault.Invalid{Reason: "request body is empty; send a JSON object"}, 400, TypeBadRequest, "request body is empty; send a JSON object", nil},
		{"forbidden", fault.Forbiddenf("granting %s needs administration of RJ1", "org-admin"), 403, TypeForbidden, "granting org-admin needs administration of RJ1", nil},
		{"conflict", fmt.Errorf("add user: %w", fault.New(fault.ErrConflict, "a user with that e-mail exists")), 409, TypeConflict, "a user with that e-mail exists", nil},
		{"rate limited", auth.ErrThrottled, 429, TypeRateLimited, "", nil},
		{"unavailable", fault.New(fault.ErrUnavailable, "the database schema changed; retry"), 503, TypeSchemaChanged, "", nil},
		{"anything else", secret, 500, TypeInternal, "Something went wrong on our side. Quote the error ID if you report it.", nil},
		{"anything else, wrapped", fmt.Errorf("list: %w", secret), 500, TypeInternal, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := problemFor(c.err)
			if p.Status != c.status || p.Type != c.typ {
				t.Errorf("status %d type %s, want %d %s", p.Status, p.Type, c.status, c.typ)
			}
			if p.Title == "" {
				t.Error("no title")
			}
			// The detail is the domain's message for people (with the kind
			// and context wrapped around it), or a fixed text for 404/500.
			if c.detail != "" && !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q, want it to say %q", p.Detail, c.detail)
			}
			if strings.Contains(p.Detail, "10.0.0.7") || strings.Contains(p.Detail, "bob@") {
				t.Errorf("detail %q shows what it must not", p.Detail)
			}
			if !slices.Equal(p.Errors, c.errors) {
				t.Errorf("errors %v, want %v", p.Errors, c.errors)
			}
			if !slices.Contains(ProblemTypes(), p.Type) {
				t.Errorf("type %s is not in the closed set", p.Type)
			}
		})
	}
	if p := problemFor(fmt.Errorf("import: %w", ownProblem{})); p.Title != "Invalid import" || len(p.Errors) != 1 {
		t.Errorf("an error that is its own problem: %+v", p)
	}
}

// TestRouterProblems: what the router refuses before a handler runs is a
// problem document of the closed set too, 401 with a Bearer challenge.
func TestRouterProblems(t *testing.T) {
	a := &API{}
	for status, typ := range map[int]string{401: TypeUnauthorized, 403: TypeForbidden, 404: TypeNotFound, 429: TypeRateLimited,
		400: TypeBadRequest, 413: TypeBadRequest, 500: TypeInternal} {
		rec := httptest.NewRecorder()
		a.routerProblem(rec, httptest.NewRequest("GET", "/api/v1/x", nil), status, "detail", "e1")
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if rec.Code != status || p.Status != status || p.Type != typ || p.Instance != "/api/v1/x" || p.ErrorID != "e1" {
			t.Errorf("%d: %d %+v, want type %s", status, rec.Code, p, typ)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%d: Content-Type %q", status, ct)
		}
		if got := rec.Header().Get("WWW-Authenticate"); (status == 401) != (got != "") {
			t.Errorf("%d: WWW-Authenticate %q", status, got)
		}
	}
}

// body is a request type with the shapes decode must handle: nested
// objects, slices of objects, maps of objects, an embedded struct, a type
// that decodes itself.
type body struct {
	Name  string            `json:"name"`
	Count int               `json:"count,omitempty"`
	Inner inner             `json:"inner"`
	List  []inner           `json:"list"`
	ByKey map[string]inner  `json:"by_key"`
	Raw   json.RawMessage   `json:"raw"`
	When  time.Time         `json:"when"`
	Free  map[string]string `json:"free"`
	embedded
	Ptr *inner `json:"ptr"`
}

type inner struct {
	Code string   `json:"code"`
	Tags []string `json:"tags"`
}

type embedded struct {
	Extra string `json:"extra"`
}

func req(s string) *http.Request {
	return httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(s))
}

// TestDecodeStrict checks decode's rules, each with the field or position
// a caller needs to fix the request.
func TestDecodeStrict(t *testing.T) {
	good := `{"name":"a","count":2,"inner":{"code":"X","tags":["t"]},"list":[{"code":"Y"}],"by_key":{"k":{"code":"Z"}},
		"raw":{"anything":{"goes":1}},"when":"2026-01-02T03:04:05Z","free":{"any key":"v"},"extra":"e","ptr":{"code":"P"},"NAME":"case-insensitive as encoding/json"}`
	var b body
	if err := decode(req(good), &b); err != nil {
		t.Fatalf("good body: %v", err)
	}
	if b.Inner.Code != "X" || b.List[0].Code != "Y" || b.ByKey["k"].Code != "Z" || b.Extra != "e" || b.Ptr.Code != "P" || b.When.Year() != 2026 {
		t.Errorf("decoded %+v", b)
	}

	big := `{"name":"` + strings.Repeat("x", maxJSONBody) + `"}`
	for _, c := range []struct {
		name, body, field, reason string
	}{
		{"unknown top-level member", `{"name":"a","nmae":"b"}`, "nmae", "unknown field"},
		{"unknown nested member", `{"inner":{"code":"X","colour":"red"}}`, "inner.colour", "unknown field"},
		{"unknown member in a list", `{"list":[{"code":"X"},{"code":"Y","oops":1}]}`, "list.oops", "unknown field"},
		{"unknown member in a map's object", `{"by_key":{"k":{"cod":"X"}}}`, "by_key.k.cod", "unknown field"},
		{"unknown member under a pointer", `{"ptr":{"code":"X","x":1}}`, "ptr.x", "unknown field"},
		{"trailing data", `{"name":"a"} {"name":"b"}`, "", "data after the JSON object"},
		{"trailing garbage", `{"name":"a"}x`, "", "data after the JSON object"},
		{"empty", ``, "", "request body is empty"},
		{"not JSON", `{"name":}`, "", "not valid JSON (at byte 9)"},
		{"cut short", `{"name":"a"`, "", "ends too soon"},
		{"NUL at the top", `{"name":"a\u0000b"}`, "name", "U+0000"},
		{"NUL nested", `{"inner":{"code":"X","tags":["ok","b\u0000d"]}}`, "inner.tags", "U+0000"},
		{"NUL in a map value", `{"free":{"k":"\u0000"}}`, "free", "U+0000"},
		{"NUL in an embedded field", `{"extra":"\u0000"}`, "extra", "U+0000"},
		{"wrong type", `{"name":5}`, "name", "want string"},
		{"wrong nested type", `{"inner":{"tags":"t"}}`, "inner.tags", "want []string"},
		{"number too big", `{"count":1e40}`, "count", "want int"},
		{"too large", big, "", "larger than 1 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b body
			err := decode(req(c.body), &b)
			var inv *fault.Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("decode = %v (%T), want *fault.Invalid", err, err)
			}
			if inv.Field != c.field || !strings.Contains(inv.Reason, c.reason) {
				t.Errorf("decode = field %q reason %q, want field %q saying %q", inv.Field, inv.Reason, c.field, c.reason)
			}
			if p := problemFor(err); p.Status != 400 {
				t.Errorf("answered %d, want 400", p.Status)
			}
		})
	}
}

// TestPagination: limit's default and bounds, and a page that is always
// a list (never null) with its cursor only when there is more.
func TestPagination(t *testing.T) {
	for q, want := range map[string]int{"": 100, "limit=1": 1, "limit=500": 500} {
		r := httptest.NewRequest("GET", "/api/v1/orgs?"+q, nil)
		if n, err := limitParam(r, 100, 500); err != nil || n != want {
			t.Errorf("%q: %d %v, want %d", q, n, err, want)
		}
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=-1", "limit=ten", "limit=1.5", "limit=" + url.QueryEscape("1 ")} {
		r := httptest.NewRequest("GET", "/api/v1/orgs?"+q, nil)
		_, err := limitParam(r, 100, 500)
		var inv *fault.Invalid
		if !errors.As(err, &inv) || inv.Field != "limit" || !strings.Contains(inv.Reason, "1 to 500") {
			t.Errorf("%q: %v, want limit invalid naming the range", q, err)
		}
	}
	b, _ := json.Marshal(page[string](nil, ""))
	if string(b) != `{"items":[]}` {
		t.Errorf("empty page %s", b)
	}
	b, _ = json.Marshal(page([]string{"a"}, "a"))
	if string(b) != `{"items":["a"],"next_cursor":"a"}` {
		t.Errorf("page with more %s", b)
	}
}

type nobody struct{}

func (nobody) Identify(*http.Request) (scope.Scope, string, bool) { return scope.Scope{}, "", false }

// TestOpenAPIMatchesRoutes builds the API with every area and compares the
// OpenAPI document with the router's own table: the same operations, path
// parameters declared as the patterns have them, every schema named
// exists, operation IDs unique, public routes marked public.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	db := storetest.SQLite(t, audit.Migrations(), org.Migrations(), auth.Migrations(), supply.Migrations())
	al := audit.New(db, nil)
	orgs, err := org.New(org.Options{DB: db, Audit: al})
	if err != nil {
		t.Fatal(err)
	}
	au, err := auth.New(auth.Options{DB: db, Audit: al, Orgs: orgs})
	if err != nil {
		t.Fatal(err)
	}
	sup, err := supply.New(supply.Options{DB: db, Audit: al, Orgs: orgs})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Orgs: orgs, Auth: au, Audit: al, Supply: sup, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := httpd.NewRouter(httpd.Options{Identifier: nobody{}})
	if err != nil {
		t.Fatal(err)
	}
	a.Register(rt)

	doc := a.OpenAPI()
	// Through JSON, as clients read it.
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
		Problems []string `json:"x-problem-types"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}

	routes := map[string]httpd.Route{}
	for _, r := range rt.Routes() {
		if r.Area == "api" {
			routes[r.Method+" "+strings.TrimPrefix(r.Pattern, Prefix)] = r
		}
	}
	if len(routes) < 30 {
		t.Fatalf("only %d API routes registered", len(routes))
	}
	ops := map[string]map[string]any{}
	for path, item := range d.Paths {
		for method, op := range item {
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	var missing, extra []string
	for k := range routes {
		if ops[k] == nil {
			missing = append(missing, k)
		}
	}
	for k := range ops {
		if _, ok := routes[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("routes without an operation %v; operations without a route %v", missing, extra)
	}

	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	refs := regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]*)"`)
	ids := map[string]string{}
	for k, op := range ops {
		r := routes[k]
		// Every {name} in the pattern is a required path parameter, and
		// every path parameter is in the pattern.
		want := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(r.Pattern, -1) {
			want[m[1]] = true
		}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			p := p.(map[string]any)
			if p["in"] != "path" {
				continue
			}
			name := p["name"].(string)
			if !want[name] {
				t.Errorf("%s: path parameter %q is not in the pattern", k, name)
			}
			if p["required"] != true {
				t.Errorf("%s: path parameter %q not required", k, name)
			}
			delete(want, name)
		}
		for name := range want {
			t.Errorf("%s: pattern has {%s} but the document does not declare it", k, name)
		}
		id, _ := op["operationId"].(string)
		if id == "" || ids[id] != "" {
			t.Errorf("%s: operationId %q (also %s)", k, id, ids[id])
		}
		ids[id] = k
		// Public routes say so; the others fall under the bearer scheme.
		sec, hasSec := op["security"]
		if public := r.Access == httpd.Public; public != (hasSec && len(sec.([]any)) == 0) {
			t.Errorf("%s: access %v but security %v", k, r.Access, sec)
		}
		resp, _ := op["responses"].(map[string]any)
		if resp["default"] == nil || len(resp) != 2 {
			t.Errorf("%s: responses %v, want one success and the problem default", k, resp)
		}
	}
	for _, m := range refs.FindAllStringSubmatch(string(raw), -1) {
		if d.Components.Schemas[m[1]] == nil {
			t.Errorf("$ref to schema %q, which the document does not define", m[1])
		}
	}
	if !slices.Equal(d.Problems, ProblemTypes()) {
		t.Errorf("x-problem-types %v", d.Problems)
	}
}
