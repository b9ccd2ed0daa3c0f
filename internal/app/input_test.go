package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/api"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/scope"
)

// Bad input through the API as users send it, on both engines: every
// answer is a 4xx problem naming what is wrong, never a 500, and nothing
// half-written is left behind to break later reads.

// tokenFor adds a user with one role and returns an API token for them.
func tokenFor(t *testing.T, s *Server, email string, role scope.Role, orgCode string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Auth.AddUser(ctx, scope.System("test"), auth.NewUser{Email: email, Name: email, Org: orgCode, Role: role, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.Auth.CreateToken(ctx, scope.System("test"), email, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// problemOf decodes a problem document and checks its content type.
func problemOf(t *testing.T, res *http.Response, body string) api.Problem {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s %s: Content-Type %q, want application/problem+json (%d %.200s)", res.Request.Method, res.Request.URL.Path, ct, res.StatusCode, body)
	}
	var p api.Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Errorf("not a problem document: %v\n%.300s", err, body)
	}
	return p
}

// fields lists a problem's error fields.
func fields(p api.Problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func hasField(p api.Problem, f string) bool {
	for _, x := range fields(p) {
		if x == f {
			return true
		}
	}
	return false
}

func TestAPIRefusesBadNumbersAndNUL(t *testing.T) { engines(t, testAPIRefusesBadNumbersAndNUL) }

func testAPIRefusesBadNumbersAndNUL(t *testing.T, start func(testing.TB) *Server) {
	s := startSupplyServer(t, start)
	manager := tokenFor(t, s.Server, "nadia.admin@nhs.test", scope.NationalAdmin, "ENG")
	if res, body := upload(t, s.url("/api/v1/supply/import"), s.national, caseFiles(t, "pathology")); res.StatusCode != 200 {
		t.Fatalf("import = %d %s", res.StatusCode, body)
	}

	// A NUL byte in a name: the dry run says where, and so does the real
	// import (PostgreSQL answered 500 after a dry run said "valid").
	nul := map[string][]byte{"suppliers.csv": []byte("supplier_id,name\nNULCO,Bad\x00Name\n")}
	for _, dry := range []string{"?dry_run=true", ""} {
		res, body := upload(t, s.url("/api/v1/supply/import"+dry), s.national, nul)
		if p := problemOf(t, res, body); res.StatusCode != 400 || !hasField(p, "suppliers.csv:2:name") {
			t.Errorf("import%s with NUL = %d %v %.300s", dry, res.StatusCode, fields(p), body)
		}
	}
	// Infinity as a contract's value is refused; the register stays readable.
	inf := map[string][]byte{"contracts.csv": []byte("contract_id,org_ods,supplier_id,value_gbp,start_date,end_date\nCINF,RJ1,SYNNOVIS,Infinity,,\nCDATE,RJ1,SYNNOVIS,10,2025-01-01,2024-01-01\n")}
	res, body := upload(t, s.url("/api/v1/supply/import"), s.national, inf)
	if p := problemOf(t, res, body); res.StatusCode != 400 || !hasField(p, "contracts.csv:2:value_gbp") || !hasField(p, "contracts.csv:3:end_date") {
		t.Errorf("import of Infinity = %d %v", res.StatusCode, fields(p))
	}
	for _, path := range []string{"/api/v1/supply/export", "/api/v1/supply/contracts"} {
		res, body := get(t, http.DefaultClient, s.url(path), s.national)
		if res.StatusCode != 200 || !json.Valid([]byte(body)) {
			t.Errorf("GET %s after the refused import = %d, valid JSON %v", path, res.StatusCode, json.Valid([]byte(body)))
		}
	}

	for _, c := range []struct {
		name, method, path, tok, body, field string
	}{
		{"supplier name NUL", "PUT", "/api/v1/supply/suppliers/NULCO", s.national, `{"name":"Bad\u0000Name"}`, "name"},
		{"supplier name ESC", "PUT", "/api/v1/supply/suppliers/ESCCO", s.national, `{"name":"Evil\u001b[2J"}`, "name"},
		{"contract negative", "PUT", "/api/v1/supply/contracts/CNEG", s.national, `{"org_ods":"RJ1","supplier_id":"SYNNOVIS","value_gbp":-1}`, "value_gbp"},
		{"contract too large", "PUT", "/api/v1/supply/contracts/CBIG", s.national, `{"org_ods":"RJ1","supplier_id":"SYNNOVIS","value_gbp":1e400}`, "value_gbp"},
		{"contract date", "PUT", "/api/v1/supply/contracts/CD", s.national, `{"org_ods":"RJ1","supplier_id":"SYNNOVIS","start_date":"31/03/2025"}`, "start_date"},
		{"product name bidi", "PUT", "/api/v1/supply/products/SYN-LIMS", s.national, `{"supplier_id":"SYNNOVIS","name":"x\u202eexe.txt","kind":"saas"}`, "name"},
		{"impact cve", "GET", "/api/v1/supply/impact?cve=not-a-cve", s.national, ``, "cve"},
		{"org population", "PATCH", "/api/v1/orgs/RJ1", manager, `{"population":-5}`, "population"},
		{"org population huge", "PATCH", "/api/v1/orgs/RJ1", manager, `{"population":9223372036854775807}`, "population"},
		{"org name ESC", "PATCH", "/api/v1/orgs/RJ1", manager, `{"name":"Guy's\u001b[2J"}`, "name"},
		{"org postcode NUL", "PATCH", "/api/v1/orgs/RJ1", manager, `{"postcode":"SE1\u0000"}`, "postcode"},
		{"org create bidi", "POST", "/api/v1/orgs", manager, `{"ods":"RJ1X7","name":"abc\u202etxt.exe","type":"other-provider","parent":"RJ1"}`, "name"},
		{"org create opened", "POST", "/api/v1/orgs", manager, `{"ods":"RJ1X7","name":"ok","type":"other-provider","parent":"RJ1","opened":"yesterday"}`, "opened"},
		{"user name ESC", "POST", "/api/v1/users", manager, `{"email":"eve@rj1.nhs.test","name":"Eve\u001b[1A","org":"RJ1","role":"org-analyst"}`, "name"},
		{"user name NUL", "PATCH", "/api/v1/users/nadia@nhs.test", manager, `{"name":"Nadia\u0000"}`, "name"},
		{"token label", "POST", "/api/v1/tokens", manager, `{"name":"ci\u0000"}`, "name"},
		{"token expiry overflow", "POST", "/api/v1/tokens", manager, `{"name":"ci","expires":"3650y"}`, "expires"},
	} {
		res, body := do(t, c.method, s.url(c.path), c.tok, c.body)
		p := problemOf(t, res, body)
		if res.StatusCode != 400 || !hasField(p, c.field) {
			t.Errorf("%s: %s %s = %d %v %.300s; want 400 naming %s", c.name, c.method, c.path, res.StatusCode, fields(p), body, c.field)
		}
	}

	// NUL and broken UTF-8 in an address or a query never reach the
	// database (PostgreSQL refuses them with an error, a 500).
	for _, path := range []string{
		"/api/v1/orgs?q=%00", "/api/v1/orgs?q=%ff", "/api/v1/orgs/RJ1%00", "/api/v1/users?q=a%00", "/api/v1/users/x%00",
		"/api/v1/supply/deployments?service=%00", "/api/v1/supply/contracts?org=%00", "/api/v1/audit?action=%00",
		"/api/v1/supply/suppliers/A%00", "/api/v1/tokens?user=%00",
	} {
		res, body := get(t, http.DefaultClient, s.url(path), manager)
		if res.StatusCode != 400 {
			t.Errorf("GET %s = %d %.200s, want 400", path, res.StatusCode, body)
		}
		problemOf(t, res, body)
	}
	// Forms too, signed in or not: a sign-in form that passed its
	// double-submit check carried the NUL on to the account lookup.
	req, _ := http.NewRequest("POST", s.url("/signin"), strings.NewReader(url.Values{"email": {"nadia\x00@nhs.test"}, "password": {"x"}, "csrf": {"tok"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "vigil_signin", Value: "tok"})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("sign-in with a NUL in the e-mail = %d, want 400", res.StatusCode)
	}
}

// A free-text search is bounded (one SQL condition per word: a thousand
// words made SQLite answer "Expression tree is too large", a 500).
func TestSearchIsBounded(t *testing.T) { engines(t, testSearchIsBounded) }

func testSearchIsBounded(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s)
	words := url.QueryEscape(strings.TrimSpace(strings.Repeat("guy ", 1000)))
	for _, path := range []string{"/api/v1/orgs?q=" + words, "/api/v1/users?q=" + words} {
		res, body := get(t, http.DefaultClient, s.url(path), f.aliceTok)
		if p := problemOf(t, res, body); res.StatusCode != 400 || !hasField(p, "q") {
			t.Errorf("GET %.40s… = %d %v %.300s; want 400 naming q", path, res.StatusCode, fields(p), body)
		}
	}
	if res, body := get(t, http.DefaultClient, s.url("/api/v1/orgs?q=guy%27s+thomas"), f.aliceTok); res.StatusCode != 200 || !strings.Contains(body, "RJ1") {
		t.Errorf("an ordinary search = %d %.300s", res.StatusCode, body)
	}
	// The web pages say so in words.
	se, err := s.Auth.StartSession(context.Background(), f.alice.ID, "127.0.0.1", "input-test")
	if err != nil {
		t.Fatal(err)
	}
	few := url.QueryEscape(strings.TrimSpace(strings.Repeat("a ", 25)))
	for path, want := range map[string]string{
		"/orgs?q=" + words: "search for at most 200 characters", "/admin/users?q=" + words: "search for at most 200 characters",
		"/suppliers/register?q=" + words: "search for at most 200 characters", "/orgs?q=" + few: "has 25 words; search for at most 20 words",
		"/suppliers/register?q=" + few: "has 25 words; search for at most 20 words",
	} {
		req, _ := http.NewRequest("GET", s.url(path), nil)
		req.AddCookie(&http.Cookie{Name: auth.CookieName(false), Value: se.Secret})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(b), want) {
			t.Errorf("GET %.40s… = %d, want 400 with a message saying the limit\n%.300s", path, res.StatusCode, b)
		}
	}
}

// Without credentials the API answers 401 as a problem document, like
// every other API error.
func TestAPIUnauthorizedIsProblem(t *testing.T) { engines(t, testAPIUnauthorizedIsProblem) }

func testAPIUnauthorizedIsProblem(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	for _, c := range []struct{ method, path, bearer string }{
		{"GET", "/api/v1/me", ""}, {"GET", "/api/v1/orgs", "vigil_nope.nope"}, {"POST", "/api/v1/supply/import", ""}, {"DELETE", "/api/v1/tokens/t_x", ""},
	} {
		req, _ := http.NewRequest(c.method, s.url(c.path), nil)
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		p := problemOf(t, res, string(b))
		if res.StatusCode != 401 || p.Type != api.TypeUnauthorized || p.Status != 401 {
			t.Errorf("%s %s without credentials = %d %+v", c.method, c.path, res.StatusCode, p)
		}
	}
}

// An oversized body is refused with the limit that really applies.
func TestUploadLimitIsStated(t *testing.T) { engines(t, testUploadLimitIsStated) }

func testUploadLimitIsStated(t *testing.T, start func(testing.TB) *Server) {
	s := startSupplyServer(t, start)
	big := bytes.Repeat([]byte(" "), 64<<20+1)
	req, _ := http.NewRequest("POST", s.url("/api/v1/supply/import"), bytes.NewReader(append(append([]byte("{"), big...), '}')))
	req.Header.Set("Authorization", "Bearer "+s.national)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if p := problemOf(t, res, string(b)); res.StatusCode != 400 || !strings.Contains(p.Detail, "64 MiB") {
		t.Errorf("65 MiB import = %d %q; want 400 saying 64 MiB", res.StatusCode, p.Detail)
	}
	// A JSON body for one object is capped at 1 MiB, and says so (it used
	// to say "ends too soon").
	res2, body := do(t, "PUT", s.url("/api/v1/supply/suppliers/BIG"), s.national, `{"name":"big","contacts":"`+strings.Repeat("x", 1<<20)+`"}`)
	if p := problemOf(t, res2, body); res2.StatusCode != 400 || !strings.Contains(p.Detail, "1 MiB") {
		t.Errorf("2 MiB supplier = %d %q; want 400 saying 1 MiB", res2.StatusCode, p.Detail)
	}
	// The web upload page says the real limit too (it said "the form has expired").
	u, err := s.Auth.GetUser(context.Background(), scope.System("test"), "nadia@nhs.test")
	if err != nil {
		t.Fatal(err)
	}
	se, err := s.Auth.StartSession(context.Background(), u.ID, "127.0.0.1", "input-test")
	if err != nil {
		t.Fatal(err)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("csrf", se.CSRF)
	fw, _ := mw.CreateFormFile("files", "suppliers.csv")
	fw.Write(big)
	mw.Close()
	req, _ = http.NewRequest("POST", s.url("/suppliers/import"), &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: auth.CookieName(false), Value: se.Secret})
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "64 MiB") {
		t.Errorf("65 MiB web upload = %d, want 413 saying 64 MiB\n%.400s", res.StatusCode, b)
	}
}

// A supplier representative cannot claim an NHS body's ODS code (which
// would answer impact?supplier=RJ1 with their own supplier) nor change the
// register's other fields; codes are unique; and a refused delete tells
// them nothing they cannot see.
func TestSupplierRegisterFieldsOverAPI(t *testing.T) { engines(t, testSupplierRegisterFieldsOverAPI) }

func testSupplierRegisterFieldsOverAPI(t *testing.T, start func(testing.TB) *Server) {
	s := startSupplyServer(t, start)
	if res, body := upload(t, s.url("/api/v1/supply/import"), s.national, caseFiles(t, "pathology", "gp-security")); res.StatusCode != 200 {
		t.Fatalf("import = %d %s", res.StatusCode, body)
	}
	for _, c := range []struct{ body, field string }{
		{`{"name":"EMIS Health","country":"GB","tenant_org":"S-EMIS","ods_code":"RJ1"}`, "ods_code"},
		{`{"name":"EMIS Health","country":"GB","tenant_org":"S-EMIS","designated_critical":true}`, "designated_critical"},
		{`{"name":"EMIS Health","country":"GB","tenant_org":"S-EMIS","parent_supplier_id":"TPP"}`, "parent_supplier_id"},
	} {
		res, body := do(t, "PUT", s.url("/api/v1/supply/suppliers/EMIS"), s.rep, c.body)
		if p := problemOf(t, res, body); res.StatusCode != 403 || !strings.Contains(p.Detail, c.field) {
			t.Errorf("rep PUT changing %s = %d %s", c.field, res.StatusCode, body)
		}
	}
	if res, body := get(t, http.DefaultClient, s.url("/api/v1/supply/impact?supplier=RJ1"), s.national); res.StatusCode != 404 {
		t.Errorf("impact?supplier=RJ1 after the attempts = %d %.300s", res.StatusCode, body)
	}
	// Their own description they may change.
	if res, body := do(t, "PUT", s.url("/api/v1/supply/suppliers/EMIS"), s.rep, `{"name":"EMIS Health plc","country":"GB","tenant_org":"S-EMIS","contacts":"security@emis.test"}`); res.StatusCode != 200 {
		t.Errorf("rep PUT of their description = %d %s", res.StatusCode, body)
	}
	res, body := upload(t, s.url("/api/v1/supply/import?dry_run=true"), s.rep, map[string][]byte{"suppliers.csv": []byte("supplier_id,name,tenant_org,ods_code,country\nEMIS,EMIS Health plc,S-EMIS,RJ1,GB\n")})
	if p := problemOf(t, res, body); res.StatusCode != 400 || !hasField(p, "suppliers.csv:2:ods_code") {
		t.Errorf("rep import claiming RJ1 = %d %v", res.StatusCode, fields(p))
	}
	// ODS codes are unique.
	res, body = do(t, "PUT", s.url("/api/v1/supply/suppliers/NEWCO"), s.national, `{"name":"New","ods_code":"R1H"}`)
	if p := problemOf(t, res, body); res.StatusCode != 409 || !strings.Contains(p.Detail, "ods_code") || !strings.Contains(p.Detail, "BARTSPATH") {
		t.Errorf("second supplier with R1H = %d %s", res.StatusCode, body)
	}
	res, body = upload(t, s.url("/api/v1/supply/import?dry_run=true"), s.national, map[string][]byte{"suppliers.csv": []byte("supplier_id,name,ods_code\nX1,One,RJ1\nX2,Two,RJ1\n")})
	if p := problemOf(t, res, body); res.StatusCode != 400 || !hasField(p, "suppliers.csv:3:ods_code") {
		t.Errorf("import giving RJ1 twice = %d %v", res.StatusCode, fields(p))
	}
	// CrowdStrike's representative may not delete FALCON, which others'
	// products depend on, and is not told how many.
	cs := tokenFor(t, s.Server, "rep@crowdstrike.test", scope.SupplierRep, "S-CS")
	res, body = do(t, "DELETE", s.url("/api/v1/supply/products/FALCON"), cs, "")
	if p := problemOf(t, res, body); res.StatusCode != 409 || strings.ContainsAny(p.Detail, "0123456789") {
		t.Errorf("rep deleting FALCON = %d %q, want 409 without counts", res.StatusCode, p.Detail)
	}
}
