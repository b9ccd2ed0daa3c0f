package web

import (
	"bytes"
	"context"
	"fmt"
	"github.com/vigil-health/vigil/internal/assurance"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template/parse"
	"time"

	"github.com/vigil-health/vigil/internal/attack"
	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testneed"
	"github.com/vigil-health/vigil/internal/vuln"
)

const password = "correct horse battery staple"

// The fixture: a region, an ICB, two trusts, a sub-ICB location with a
// GP practice, and a closed trust.
var fixtureOrgs = []org.Org{
	{Code: "Y63", Name: "North East and Yorkshire", Type: org.Region, Parent: "ENG"},
	{Code: "QWO", Name: "NHS West Yorkshire Integrated Care Board", Type: org.ICB, Parent: "Y63"},
	{Code: "RR8", Name: "Leeds Teaching Hospitals NHS Trust", Type: org.Trust, Parent: "QWO"},
	{Code: "RAE", Name: "Bradford Teaching Hospitals NHS Foundation Trust", Type: org.Trust, Parent: "QWO"},
	{Code: "15F", Name: "NHS West Yorkshire ICB - 15F Leeds", Type: org.SubICB, Parent: "QWO"},
	{Code: "B86001", Name: "Leeds City Medical Practice", Type: org.GPPractice, Parent: "15F"},
	{Code: "RXZ", Name: "Old Leeds Teaching Trust", Type: org.Trust, Parent: "QWO", Status: org.Closed},
}

// fixtureUsers maps an e-mail address to its one grant.
var fixtureUsers = []struct {
	Email, Name, Org string
	Role             scope.Role
}{
	{"admin@vigil.test", "Ada Admin", "ENG", scope.NationalAdmin},
	{"auditor@vigil.test", "Audrey Auditor", "ENG", scope.Auditor},
	{"analyst@leeds.test", "Liam Leeds", "RR8", scope.OrgAnalyst},
	{"orgadmin@leeds.test", "Olive Leeds", "RR8", scope.OrgAdmin},
	{"analyst@bradford.test", "Brenda Bradford", "RAE", scope.OrgAnalyst},
}

// env is a running Vigil web UI over a real SQLite store.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	db    *store.DB
	orgs  *org.Service
	auth  *auth.Service
	audit *audit.Log
	web   *Web
	logs  *syncBuffer
	users map[string]string // e-mail → user ID
	// supply and geo are set with envOptions.supply.
	supply *supply.Service
	geo    *geo.Store
	// assurance is set with envOptions.supply.
	assurance *assurance.Service
	// cases is set with envOptions.cases.
	cases *cases.Service
	// events is set with envOptions.events.
	events events.Store
	// notify and its cases (with envOptions.supply): notify_test.go.
	notify *reportsEnv
	// rules is set with envOptions.rules.
	rules *rules.Service
	// alerts is set with envOptions.cyberAlerts.
	alerts *vuln.Alerts
	sboms  *vuln.SBOMs
	// intel is set with envOptions.intel.
	intel *intel.Store
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOptions struct {
	limits auth.SignInLimits
	demo   bool
	// sso, if set, is called with the server's base URL before the web UI
	// is built and returns the SSO to use.
	sso func(base string, a *auth.Service) (*auth.SSO, string)
	// supply adds the supplier register and map boundaries (empty).
	supply bool
	// impactRows is Options.ImpactPageRows (0 for the default).
	impactRows int
	// cases adds the alerts inbox and cases (cases_test.go).
	cases bool
	// events adds the event store and search (events_test.go).
	events bool
	// ingest adds the ingest dashboard over counts with nothing received
	// (ingest_test.go has one with senders).
	ingest bool
	// coverage adds the ATT&CK coverage page over ATT&CK 18.1 and the
	// given rules (coverage_test.go).
	coverage []*sigma.Rule
	// coverageHits are the alerts per technique the page shows.
	coverageHits map[string]int64
	// rules adds the detection rules pages (rules_test.go).
	rules bool
	// cyberAlerts adds the national cyber alerts (with supply;
	// cyberalerts_test.go).
	cyberAlerts bool
	// intel adds the intelligence pages (intel.go).
	intel bool
}

func newEnv(t *testing.T, eo envOptions) *env {
	t.Helper()
	ctx := context.Background()
	sets := []store.MigrationSet{audit.Migrations(), org.Migrations(), auth.Migrations()}
	if eo.supply {
		sets = append(sets, supply.Migrations(), geo.Migrations(), notify.Migrations(), assurance.Migrations())
	}
	if eo.supply || eo.cases {
		sets = append(sets, casesMigrations()...)
	}
	if eo.events {
		sets = append(sets, events.Migrations())
		if !eo.supply && !eo.cases {
			sets = append(sets, savedview.Migrations())
		}
	}
	if eo.rules {
		sets = append(sets, rules.Migrations())
	}
	if eo.cyberAlerts {
		sets = append(sets, vuln.Migrations())
	}
	if eo.intel {
		sets = append(sets, intel.Migrations())
	}
	db := storetest.SQLite(t, sets...)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	al := audit.New(db, nil)
	orgs, err := org.New(org.Options{DB: db, Audit: al, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	sys := scope.System("test")
	for _, o := range fixtureOrgs {
		if _, err := orgs.Create(ctx, sys, o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	as, err := auth.New(auth.Options{DB: db, Audit: al, Orgs: orgs, Logger: log, Limits: eo.limits})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, orgs: orgs, auth: as, audit: al, logs: logs, users: map[string]string{}}
	for _, u := range fixtureUsers {
		nu, err := as.AddUser(ctx, sys, auth.NewUser{Email: u.Email, Name: u.Name, Org: u.Org, Role: u.Role, Password: password})
		if err != nil {
			t.Fatalf("add user %s: %v", u.Email, err)
		}
		e.users[u.Email] = nu.ID
	}
	rt, err := httpd.NewRouter(httpd.Options{Identifier: auth.HTTPIdentifier{Auth: as}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(rt)
	base := "http://" + srv.Listener.Addr().String()
	o := Options{Orgs: orgs, Auth: as, Audit: al, Logger: log, Version: "test-1", ImpactPageRows: eo.impactRows}
	if eo.demo {
		o.Demo = func(context.Context) bool { return true }
	}
	if eo.sso != nil {
		o.SSO, o.SSOName = eo.sso(base, as)
	}
	if eo.supply {
		if e.supply, err = supply.New(supply.Options{DB: db, Audit: al, Orgs: orgs, Logger: log}); err != nil {
			t.Fatal(err)
		}
		orgs.OnChange(e.supply.Invalidate)
		if e.geo, err = geo.New(geo.Options{DB: db, Audit: al}); err != nil {
			t.Fatal(err)
		}
		o.Supply, o.Boundaries = e.supply, e.geo
		if e.assurance, err = assurance.New(assurance.Options{DB: db, Audit: al, Orgs: orgs, Suppliers: e.supply, Register: e.supply}); err != nil {
			t.Fatal(err)
		}
		o.Assurance = e.assurance
		e.notify = newReportsEnv(t, db, al, orgs, as, &o)
	}
	if eo.cyberAlerts {
		if e.alerts, err = vuln.NewAlerts(vuln.AlertOptions{DB: db, Audit: al, Register: e.supply, Orgs: orgs, Logger: log}); err != nil {
			t.Fatal(err)
		}
		o.CyberAlerts = e.alerts
		if e.sboms, err = vuln.NewSBOMs(vuln.SBOMOptions{DB: db, Audit: al, Register: e.supply, Orgs: orgs, Logger: log,
			OSVDir: filepath.Join("..", "..", "..", "shared", "data", "vuln", "osv", "Go")}); err != nil {
			t.Fatal(err)
		}
		o.SBOMs = e.sboms
	}
	if eo.intel {
		if e.intel, err = intel.New(intel.Options{DB: db, Audit: al, OrgPath: orgs.PathOf}); err != nil {
			t.Fatal(err)
		}
		o.Intel = e.intel
	}
	if eo.cases {
		e.cases = newCasesService(t, e, log)
		o.Cases = e.cases
	}
	if eo.events {
		if e.events, err = events.New(events.Options{DB: db}); err != nil {
			t.Fatal(err)
		}
		o.Events = e.events
		views, err := savedview.New(savedview.Options{DB: db, Audit: al})
		if err != nil {
			t.Fatal(err)
		}
		if o.EventSearches, err = events.NewSearches(views, nil); err != nil {
			t.Fatal(err)
		}
	}
	if eo.rules {
		if e.rules, err = rules.New(rules.Options{DB: db, Audit: al, Orgs: orgs}); err != nil {
			t.Fatal(err)
		}
		o.Rules = e.rules
	}
	if eo.ingest {
		h, err := ingest.NewHealth(ingest.HealthOptions{Metrics: ingest.NewMetrics(), Paths: orgs.Paths, Root: org.RootCode})
		if err != nil {
			t.Fatal(err)
		}
		o.Ingest = h
	}
	if eo.coverage != nil {
		m, err := attack.LoadFile(filepath.Join("..", "..", "..", "shared", "data", "attack", "enterprise-attack-v18.1-stix20.json.gz"))
		if err != nil {
			testneed.Missing(t, "ATT&CK in ../shared/data/attack", err)
		}
		o.Coverage = func(_ context.Context, _ scope.Scope, org string) (sigma.Coverage, error) {
			c := sigma.CoverageOf(m, eo.coverage, eo.coverageHits)
			c.Org = org
			return c, nil
		}
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	w.Register(rt)
	// A route that fails the way a bug would, to check the 500 page.
	rt.Handle("web", "GET", "/test/panic", httpd.Authenticated, "test", func(http.ResponseWriter, *http.Request, scope.Scope) {
		panic("test panic")
	})
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv, e.web = srv, w
	return e
}

// client is a browser: a cookie jar, no automatic redirects, and the
// session's CSRF token picked up from the pages it loads.
type client struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	body   string
	header http.Header
}

func (p page) location() string { return p.header.Get("Location") }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) page {
	c.e.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(b), header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		checkNoInline(c.e.t, req.URL.Path, p.body)
		if m := csrfRE.FindStringSubmatch(p.body); m != nil && !strings.HasPrefix(req.URL.Path, "/signin") {
			c.csrf = m[1]
		}
	}
	return p
}

func (c *client) get(path string) page {
	c.e.t.Helper()
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	return c.do(req)
}

// post sends a form with the session's CSRF token (unless the form has one).
func (c *client) post(path string, form url.Values) page {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// signInToken loads the sign-in form and returns its CSRF token.
func (c *client) signInToken() string {
	c.e.t.Helper()
	p := c.get("/signin")
	m := csrfRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		c.e.t.Fatalf("sign-in form: status %d, token %v", p.status, m)
	}
	return m[1]
}

func (c *client) signInAs(email, pw, next string) page {
	c.e.t.Helper()
	tok := c.signInToken()
	return c.post("/signin", url.Values{"csrf": {tok}, "email": {email}, "password": {pw}, "next": {next}})
}

// signIn returns a client signed in as email, with its CSRF token loaded.
func (e *env) signIn(email string) *client {
	e.t.Helper()
	c := e.client()
	p := c.signInAs(email, password, "")
	if p.status != http.StatusSeeOther || p.location() != "/" {
		e.t.Fatalf("sign in as %s: status %d, location %q\n%s", email, p.status, p.location(), p.body)
	}
	if h := c.get("/"); h.status != 200 || c.csrf == "" {
		e.t.Fatalf("home after sign-in: status %d", h.status)
	}
	return c
}

var (
	tagRE          = regexp.MustCompile(`(?is)<[a-z][a-z0-9-]*\b[^>]*>`)
	scriptRE       = regexp.MustCompile(`(?is)<script\b([^>]*)>`)
	styleAttrRE    = regexp.MustCompile(`(?i)\sstyle\s*=`)
	handlerAttrRE  = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	javascriptURLs = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*["']?\s*javascript:`)
)

// checkNoInline enforces what the Content-Security-Policy would refuse: no
// inline script, no style attributes or elements, no event handler
// attributes, no javascript: URLs.
func checkNoInline(t *testing.T, where, html string) {
	t.Helper()
	for _, m := range scriptRE.FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], "src=") {
			t.Errorf("%s: inline <script> without src: %s", where, m[0])
		}
	}
	if strings.Contains(strings.ToLower(html), "<style") {
		t.Errorf("%s: <style> element", where)
	}
	for _, tag := range tagRE.FindAllString(html, -1) {
		if styleAttrRE.MatchString(tag) {
			t.Errorf("%s: style attribute in %s", where, tag)
		}
		if handlerAttrRE.MatchString(tag) {
			t.Errorf("%s: event handler attribute in %s", where, tag)
		}
	}
	if javascriptURLs.MatchString(html) {
		t.Errorf("%s: javascript: URL", where)
	}
	if d := duplicateIDs(html); len(d) > 0 {
		t.Errorf("%s: ids given to more than one element: %v", where, d)
	}
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: want %q in page", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			t.Errorf("%s: %q must not be in page", what, n)
		}
	}
}

func wantStatus(t *testing.T, what string, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%.3000s", what, p.status, status, p.body)
	}
}

func TestNewNamesMissingField(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "Options.Orgs"},
		{Options{Orgs: &org.Service{}}, "Options.Auth"},
		{Options{Orgs: &org.Service{}, Auth: &auth.Service{}}, "Options.Audit"},
	} {
		_, err := New(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.o, err, tc.want)
		}
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()

	// The form: labelled fields, a CSRF token, and its cookie.
	p := c.get("/signin")
	wantStatus(t, "sign-in form", p, 200)
	mustContain(t, "sign-in form", p.body, `<label for="f-email">`, `<label for="f-password">`, `autocomplete="current-password"`, `name="csrf"`)
	if !strings.Contains(p.header.Get("Set-Cookie"), "vigil_signin=") || !strings.Contains(p.header.Get("Set-Cookie"), "SameSite=Strict") {
		t.Errorf("sign-in CSRF cookie: %q", p.header.Get("Set-Cookie"))
	}

	// A wrong password and an unknown account get the same message.
	for _, email := range []string{"analyst@leeds.test", "nobody@leeds.test"} {
		p = c.signInAs(email, "wrong password here", "")
		wantStatus(t, "bad credentials "+email, p, http.StatusUnauthorized)
		mustContain(t, "bad credentials", p.body, "E-mail address or password not recognised")
		mustContain(t, "bad credentials keeps the address", p.body, `value="`+email+`"`)
		if strings.Contains(p.header.Get("Set-Cookie"), "vigil_session=") {
			t.Errorf("session cookie after a failed sign-in")
		}
	}
	// Empty fields are named.
	p = c.signInAs("", "", "")
	wantStatus(t, "empty sign-in", p, http.StatusUnprocessableEntity)
	mustContain(t, "empty sign-in", p.body, "Enter your e-mail address", "Enter your password", `href="#f-email"`, `aria-invalid="true"`)

	// Success: a session cookie and a redirect to next.
	p = c.signInAs("Analyst@Leeds.test", password, "/orgs?q=leeds")
	wantStatus(t, "sign in", p, http.StatusSeeOther)
	if p.location() != "/orgs?q=leeds" {
		t.Errorf("redirect after sign-in to %q, want /orgs?q=leeds", p.location())
	}
	sc := p.header.Values("Set-Cookie")
	if !strings.Contains(strings.Join(sc, "\n"), "vigil_session=") || !strings.Contains(strings.Join(sc, "\n"), "HttpOnly") {
		t.Errorf("session cookie: %q", sc)
	}
	home := c.get("/")
	wantStatus(t, "home", home, 200)
	mustContain(t, "home", home.body, "Welcome, Liam Leeds", "analyst@leeds.test", "Organisation analyst", "Leeds Teaching Hospitals NHS Trust",
		`aria-current="page"`, `<a href="/orgs">Organisations</a>`)
	// Areas not built yet are not in the navigation (TestUnbuiltAreasAreNotShown).
	mustNotContain(t, "home", home.body, "Monitoring", "Assurance")
	// An analyst administers nothing: no Admin in the navigation.
	mustNotContain(t, "analyst home", home.body, `href="/admin"`)

	// Signed in already: the form sends you on.
	if p := c.get("/signin?next=/orgs"); p.status != http.StatusSeeOther || p.location() != "/orgs" {
		t.Errorf("sign-in form when signed in: %d %q", p.status, p.location())
	}

	// The audit log recorded the failures and the sign-in.
	entries, _, err := e.audit.List(context.Background(), scope.System("test"), audit.Filter{Action: "auth."})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, en := range entries {
		got[en.Action] = true
	}
	if !got["auth.signin_failed"] || !got["auth.signin"] {
		t.Errorf("audit actions %v, want sign-in failures and a sign-in", got)
	}
}

func TestSignInCSRF(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	form := url.Values{"email": {"analyst@leeds.test"}, "password": {password}}

	// No token at all.
	p := c.post("/signin", form)
	wantStatus(t, "sign-in without token", p, http.StatusForbidden)
	mustContain(t, "sign-in without token", p.body, "sign-in form had expired")
	// A token that is not the cookie's.
	c.signInToken()
	form.Set("csrf", strings.Repeat("ab", 24))
	p = c.post("/signin", form)
	wantStatus(t, "sign-in with a forged token", p, http.StatusForbidden)
	// The right token from a cross-site page.
	form.Set("csrf", c.signInToken())
	req, _ := http.NewRequest("POST", e.srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	p = c.do(req)
	wantStatus(t, "cross-site sign-in", p, http.StatusForbidden)
	// The refusal handed out a fresh token, which works.
	form.Set("csrf", csrfRE.FindStringSubmatch(p.body)[1])
	p = c.post("/signin", form)
	wantStatus(t, "sign-in with the fresh token", p, http.StatusSeeOther)

	// Signed in, state-changing posts need the session's token: the
	// router refuses them, and the web error page explains.
	c.get("/")
	bare := url.Values{"csrf": {""}}
	for _, path := range []string{"/signout", "/account/tokens", "/context/org", "/admin/users"} {
		p = c.post(path, bare)
		wantStatus(t, "POST "+path+" without CSRF", p, http.StatusForbidden)
		mustContain(t, "CSRF refusal page", p.body, "You cannot do that", "form you sent had expired")
	}
	// Still signed in: the refused sign-out did nothing.
	wantStatus(t, "home after refused sign-out", c.get("/"), 200)
}

func TestSignOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("analyst@leeds.test")
	c.post("/context/org", url.Values{"org": {"RR8"}})
	p := c.post("/signout", nil)
	wantStatus(t, "sign out", p, http.StatusSeeOther)
	if p.location() != "/signin?signedout=1" {
		t.Errorf("sign out redirects to %q", p.location())
	}
	mustContain(t, "signed out", c.get("/signin?signedout=1").body, "You have signed out.")
	p = c.get("/")
	if p.status != http.StatusSeeOther || p.location() != "/signin" {
		t.Errorf("home after sign-out: %d %q", p.status, p.location())
	}
}

func TestSignInThrottle(t *testing.T) {
	e := newEnv(t, envOptions{limits: auth.SignInLimits{AccountAddress: auth.Limit{Burst: 2, Every: time.Hour}}})
	c := e.client()
	for i := 0; i < 2; i++ {
		wantStatus(t, "bad password", c.signInAs("analyst@leeds.test", "not the password", ""), http.StatusUnauthorized)
	}
	p := c.signInAs("analyst@leeds.test", password, "")
	wantStatus(t, "throttled sign-in", p, http.StatusTooManyRequests)
	mustContain(t, "throttled", p.body, "Too many sign-in attempts", "Wait a minute")
	mustNotContain(t, "throttled", p.body, "not recognised")
	// Another account from the same address is not locked out.
	if p := c.signInAs("orgadmin@leeds.test", password, ""); p.status != http.StatusSeeOther {
		t.Errorf("another account from the throttled address: status %d, want 303", p.status)
	}
}

// A browser that signed in before keeps a device cookie, and someone
// else's failures on the account do not lock that browser out.
func TestSignInDeviceCookie(t *testing.T) {
	e := newEnv(t, envOptions{limits: auth.SignInLimits{AccountAddress: auth.Limit{Burst: 2, Every: time.Hour}}})
	mine := e.client()
	p := mine.signInAs("analyst@leeds.test", password, "")
	wantStatus(t, "first sign-in", p, http.StatusSeeOther)
	var device *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == auth.DeviceCookieName(false) {
			device = c
		}
	}
	if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteStrictMode || device.MaxAge < 30*24*3600 {
		t.Fatalf("device cookie after sign-in = %+v, want HttpOnly, SameSite=Strict, lasting months", device)
	}
	mine.get("/")
	wantStatus(t, "sign out", mine.post("/signout", nil), http.StatusSeeOther)

	// Someone else, elsewhere in the building, guesses the password.
	other := e.client()
	for range 2 {
		wantStatus(t, "guess", other.signInAs("analyst@leeds.test", "not the password", ""), http.StatusUnauthorized)
	}
	wantStatus(t, "guesser", other.signInAs("analyst@leeds.test", password, ""), http.StatusTooManyRequests)

	p = mine.signInAs("analyst@leeds.test", password, "")
	if p.status != http.StatusSeeOther {
		t.Fatalf("the trusted browser after someone else's guesses: status %d, want 303\n%s", p.status, p.body)
	}
	if strings.Contains(p.header.Get("Set-Cookie"), auth.DeviceCookieName(false)+"=") {
		t.Error("a trusted browser was given a second device cookie")
	}
}

func TestNextRedirectSafety(t *testing.T) {
	for next, want := range map[string]string{
		"":                              "/",
		"/orgs":                         "/orgs",
		"/orgs/RR8?x=1#top":             "/orgs/RR8?x=1#top",
		"//evil.example/":               "/",
		"/\\evil.example":               "/",
		"\\\\evil.example":              "/",
		"https://evil.example/":         "/",
		"http:/evil.example":            "/",
		"javascript:alert(1)":           "/",
		"/\t/evil.example":              "/",
		"/\n/evil.example":              "/",
		"evil.example":                  "/",
		"/signin":                       "/",
		"/signin/sso?next=/x":           "/",
		"/signout":                      "/",
		"/%2F%2Fevil.example":           "/%2F%2Fevil.example", // a path on this site
		"/orgs?next=//evil.x":           "/orgs?next=//evil.x",
		"/" + strings.Repeat("a", 3000): "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}

	// End to end: a hostile next sends the user home, not away.
	e := newEnv(t, envOptions{})
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		c := e.client()
		p := c.signInAs("analyst@leeds.test", password, next)
		if p.status != http.StatusSeeOther || p.location() != "/" {
			t.Errorf("sign in with next=%q: %d to %q, want /", next, p.status, p.location())
		}
	}
	// The redirect to sign-in carries the page asked for.
	c := e.client()
	p := c.get("/orgs?q=leeds&type=trust")
	if p.status != http.StatusSeeOther || p.location() != "/signin?next=%2Forgs%3Fq%3Dleeds%26type%3Dtrust" {
		t.Fatalf("signed-out /orgs: %d %q", p.status, p.location())
	}
	f := c.get(p.location())
	mustContain(t, "sign-in with next", f.body, `name="next" value="/orgs?q=leeds&amp;type=trust"`, "Sign in to continue.")
	p = c.signInAs("analyst@leeds.test", password, "/orgs?q=leeds&type=trust")
	if p.location() != "/orgs?q=leeds&type=trust" {
		t.Errorf("after sign-in: %q", p.location())
	}
}

func TestOrgTreeAndSearchScope(t *testing.T) {
	e := newEnv(t, envOptions{})

	admin := e.signIn("admin@vigil.test")
	p := admin.get("/orgs")
	wantStatus(t, "admin tree", p, 200)
	// The single root (ENG) is open, with its region; deeper levels load on demand.
	mustContain(t, "admin tree", p.body, "NHS England", "North East and Yorkshire", `data-load="/orgs/children?parent=Y63"`,
		`href="/orgs?at=Y63#n-Y63"`)
	p = admin.get("/orgs?at=RR8")
	mustContain(t, "admin tree at RR8", p.body, "Leeds Teaching Hospitals NHS Trust", "Bradford Teaching Hospitals NHS Foundation Trust", `id="n-QWO"`)
	mustNotContain(t, "admin tree without closed", p.body, "Old Leeds Teaching Trust")
	mustContain(t, "admin tree with closed", admin.get("/orgs?at=QWO&closed=1").body, "Old Leeds Teaching Trust")
	p = admin.get("/orgs/children?parent=QWO")
	wantStatus(t, "tree fragment", p, 200)
	mustContain(t, "tree fragment", p.body, `<ul class="tree">`, "RR8", "RAE", "15F", `data-load="/orgs/children?parent=15F"`)
	mustNotContain(t, "tree fragment", p.body, "<html", "RXZ")

	// Search: a dense table with codes, ICB and region names.
	p = admin.get("/orgs?q=teaching")
	wantStatus(t, "admin search", p, 200)
	mustContain(t, "admin search", p.body, "RR8", "RAE", "NHS West Yorkshire Integrated Care Board", "North East and Yorkshire", "<th scope=\"col\">ICB</th>")
	mustNotContain(t, "admin search without closed", p.body, "RXZ")
	mustContain(t, "admin search with closed", admin.get("/orgs?q=teaching&closed=1").body, "RXZ")
	p = admin.get("/orgs?type=gp-practice")
	mustContain(t, "search by type", p.body, "B86001")
	mustNotContain(t, "search by type", p.body, ">RR8<")
	mustContain(t, "bad type", admin.get("/orgs?type=hospital").body, "Choose an organisation type")

	// A trust analyst sees their trust, never the other one.
	leeds := e.signIn("analyst@leeds.test")
	p = leeds.get("/orgs")
	wantStatus(t, "analyst tree", p, 200)
	mustContain(t, "analyst tree", p.body, "Leeds Teaching Hospitals NHS Trust")
	mustNotContain(t, "analyst tree", p.body, "Bradford", "RAE", "NHS England", "QWO")
	p = leeds.get("/orgs?q=teaching&closed=1")
	mustContain(t, "analyst search", p.body, "RR8")
	mustNotContain(t, "analyst search", p.body, "RAE", "Bradford", "RXZ")
	mustNotContain(t, "analyst search by type", leeds.get("/orgs?type=trust").body, "RAE")
	wantStatus(t, "analyst, other trust", leeds.get("/orgs/RAE"), http.StatusNotFound)
	wantStatus(t, "analyst, unknown org", leeds.get("/orgs/NOPE1"), http.StatusNotFound)
	wantStatus(t, "analyst, ICB above", leeds.get("/orgs/QWO"), http.StatusNotFound)
	wantStatus(t, "analyst, fragment of ICB", leeds.get("/orgs/children?parent=QWO"), http.StatusNotFound)
	wantStatus(t, "analyst, tree at other trust", leeds.get("/orgs?at=RAE"), http.StatusNotFound)
	// The 404 for an existing org outside scope is the same page as for none.
	a, b := leeds.get("/orgs/RAE"), leeds.get("/orgs/NOPE1")
	if strip(a.body) != strip(b.body) {
		t.Errorf("404 for an org outside scope differs from 404 for no org")
	}

	p = leeds.get("/orgs/RR8")
	wantStatus(t, "own trust page", p, 200)
	mustContain(t, "own trust page", p.body, "Leeds Teaching Hospitals NHS Trust", "Liam Leeds", "Olive Leeds", "Work on this organisation")
	mustNotContain(t, "own trust page", p.body, "Brenda")

	// The organisation page for an admin: breadcrumb of ancestors and children.
	p = admin.get("/orgs/15F")
	mustContain(t, "sub-ICB page", p.body, `<a href="/orgs/ENG">NHS England</a>`, `<a href="/orgs/QWO">`, "Leeds City Medical Practice", `aria-current="page">NHS West Yorkshire ICB - 15F Leeds`)
}

// strip removes what differs between two renders of the same page.
func strip(s string) string {
	return regexp.MustCompile(`name="(csrf|next)" value="[^"]*"`).ReplaceAllString(s, "")
}

func TestOrgSearchPagination(t *testing.T) {
	e := newEnv(t, envOptions{})
	sys := scope.System("test")
	for i := 0; i < 60; i++ {
		if _, err := e.orgs.Create(context.Background(), sys, org.Org{Code: fmt.Sprintf("B86%03d", 100+i), Name: fmt.Sprintf("Practice %02d", i), Type: org.GPPractice, Parent: "15F"}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.signIn("admin@vigil.test")
	seen := map[string]bool{}
	next := "/orgs?type=gp-practice"
	pages := 0
	codeRE := regexp.MustCompile(`<td class="code"[^>]*>(B86\d+)</td>`)
	nextRE := regexp.MustCompile(`class="pager-next" href="([^"]+)"`)
	for next != "" {
		pages++
		p := c.get(strings.ReplaceAll(next, "&amp;", "&"))
		wantStatus(t, "search page", p, 200)
		for _, m := range codeRE.FindAllStringSubmatch(p.body, -1) {
			if seen[m[1]] {
				t.Errorf("%s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := nextRE.FindStringSubmatch(p.body); m != nil {
			next = m[1]
		}
	}
	if len(seen) != 61 || pages != 2 {
		t.Errorf("saw %d practices on %d pages, want 61 on 2", len(seen), pages)
	}
}

func TestOrgSwitcher(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("admin@vigil.test")
	p := c.get("/account")
	mustContain(t, "switcher", p.body, `<label for="switch-org">Organisation</label>`, `<option value="" selected>All my organisations</option>`, `<option value="ENG">NHS England (ENG)</option>`)
	p = c.post("/context/org", url.Values{"org": {"rr8"}, "next": {"/account"}})
	wantStatus(t, "switch", p, http.StatusSeeOther)
	if p.location() != "/account" {
		t.Errorf("switch returns to %q", p.location())
	}
	p = c.get("/account")
	mustContain(t, "after switch", p.body, "Working on <a href=\"/orgs/RR8\">Leeds Teaching Hospitals NHS Trust</a>",
		`<option value="RR8" selected>Leeds Teaching Hospitals NHS Trust (RR8)</option>`)
	// Search within the current organisation.
	p = c.get("/orgs?q=leeds&under=1")
	mustContain(t, "search under current", p.body, "RR8")
	mustNotContain(t, "search under current", p.body, "B86001")
	// An external next is ignored.
	if p := c.post("/context/org", url.Values{"org": {""}, "next": {"https://evil.example"}}); p.location() != "/" {
		t.Errorf("switch with an external next goes to %q", p.location())
	}
	mustContain(t, "cleared", c.get("/account").body, `<option value="" selected>All my organisations</option>`)

	// An analyst cannot switch to an organisation outside their scope, and
	// a planted cookie is ignored.
	leeds := e.signIn("analyst@leeds.test")
	wantStatus(t, "switch outside scope", leeds.post("/context/org", url.Values{"org": {"RAE"}}), http.StatusNotFound)
	u, _ := url.Parse(e.srv.URL)
	leeds.c.Jar.SetCookies(u, []*http.Cookie{{Name: "vigil_org", Value: "RAE", Path: "/"}})
	p = leeds.get("/account")
	wantStatus(t, "planted cookie", p, 200)
	mustNotContain(t, "planted cookie", p.body, "Bradford", "RAE")
}

// Areas not built yet are not shown as empty placeholders: not in the
// navigation, not on the home page, and their addresses are 404 like any
// unknown address. The areas that are built are listed and render.
func TestUnbuiltAreasAreNotShown(t *testing.T) {
	for _, withSupply := range []bool{false, true} {
		var e *env
		if withSupply {
			e = newSupplyEnvWith(t, envOptions{demo: true})
		} else {
			e = newEnv(t, envOptions{demo: true})
		}
		c := e.signIn("analyst@leeds.test")
		home := c.get("/")
		unbuilt := []string{"/monitoring", "/incidents", "/intelligence", "/vulnerabilities"}
		if !withSupply { // assurance comes with the supplier register
			unbuilt = append(unbuilt, "/assurance")
		}
		for _, path := range unbuilt {
			wantStatus(t, path, c.get(path), http.StatusNotFound)
			mustNotContain(t, "home", home.body, `href="`+path+`"`)
		}
		mustNotContain(t, "home", home.body, "Coming in a later release", "empty-state")
		if withSupply {
			mustContain(t, "home", home.body, `<a href="/suppliers">Suppliers</a>`)
		} else {
			mustNotContain(t, "home", home.body, `href="/suppliers"`)
			wantStatus(t, "/suppliers without the register", c.get("/suppliers"), http.StatusNotFound)
		}
		for _, a := range e.web.areas() {
			p := c.get(a.Href)
			wantStatus(t, a.Href, p, 200)
			mustContain(t, a.Href, p.body, "<h1>"+a.Label+"</h1>", `href="`+a.Href+`" aria-current="page"`, "DEMO DATA")
		}
	}
}

func TestCreateUserForm(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("orgadmin@leeds.test")
	p := c.get("/admin/users/new")
	wantStatus(t, "new user form", p, 200)
	mustContain(t, "new user form", p.body, `<label for="f-email">`, `<label for="f-name">`, `<label for="f-org">`, `<label for="f-role">`, `value="RR8"`)

	// A bad address: the error is next to the field and the values stay.
	p = c.post("/admin/users", url.Values{"email": {"not-an-address"}, "name": {"Nia New"}, "org": {"RR8"}, "role": {"org-analyst"}})
	wantStatus(t, "bad e-mail", p, http.StatusUnprocessableEntity)
	mustContain(t, "bad e-mail", p.body, `id="f-email-error"`, "is not an e-mail address", `aria-describedby="f-email-hint f-email-error"`, `value="Nia New"`, `href="#f-email"`)
	// A role that cannot be given on a trust.
	p = c.post("/admin/users", url.Values{"email": {"nia@leeds.test"}, "name": {"Nia New"}, "org": {"RR8"}, "role": {"region-lead"}})
	wantStatus(t, "bad role", p, http.StatusUnprocessableEntity)
	mustContain(t, "bad role", p.body, `id="f-org-error"`, "egion-lead is granted on a region or ICB")
	// An organisation outside the admin's scope is "not found", not forbidden.
	p = c.post("/admin/users", url.Values{"email": {"nia@leeds.test"}, "name": {"Nia New"}, "org": {"RAE"}, "role": {"org-analyst"}})
	wantStatus(t, "org outside scope", p, http.StatusUnprocessableEntity)
	mustContain(t, "org outside scope", p.body, `id="f-org-error"`, "not found")
	// Mismatched passwords.
	p = c.post("/admin/users", url.Values{"email": {"nia@leeds.test"}, "name": {"Nia New"}, "org": {"RR8"}, "role": {"org-analyst"}, "password": {"a long passphrase of hers"}, "password2": {"another one"}})
	wantStatus(t, "password mismatch", p, http.StatusUnprocessableEntity)
	mustContain(t, "password mismatch", p.body, `id="f-password2-error"`)
	mustNotContain(t, "password mismatch", p.body, "a long passphrase of hers")
	// A duplicate address.
	p = c.post("/admin/users", url.Values{"email": {"analyst@leeds.test"}, "name": {"Again"}, "org": {"RR8"}, "role": {"org-analyst"}})
	mustContain(t, "duplicate", p.body, "already exists")

	// Success.
	p = c.post("/admin/users", url.Values{"email": {"Nia@Leeds.test"}, "name": {"Nia New"}, "org": {"rr8"}, "role": {"org-analyst"}, "password": {"a long passphrase of hers"}, "password2": {"a long passphrase of hers"}})
	wantStatus(t, "create user", p, http.StatusSeeOther)
	if !strings.HasPrefix(p.location(), "/admin/users/u_") {
		t.Fatalf("created user redirect %q", p.location())
	}
	userURL := strings.TrimSuffix(p.location(), "?done=created")
	p = c.get(p.location())
	mustContain(t, "created user", p.body, "User created.", "nia@leeds.test", "Organisation analyst")
	mustContain(t, "users list", c.get("/admin/users?q=nia").body, "Nia New")

	// Grant, revoke, disable, enable.
	p = c.post(userURL+"/grants", url.Values{"role": {"org-admin"}, "org": {"RR8"}})
	wantStatus(t, "grant", p, http.StatusSeeOther)
	mustContain(t, "after grant", c.get(p.location()).body, "Role granted.", "Organisation administrator")
	p = c.post(userURL+"/grants", url.Values{"role": {"national-admin"}, "org": {"RR8"}})
	wantStatus(t, "bad grant", p, http.StatusUnprocessableEntity)
	mustContain(t, "bad grant", p.body, `id="f-org-error"`)
	p = c.post(userURL+"/grants/revoke", url.Values{"role": {"org-admin"}, "org": {"RR8"}})
	wantStatus(t, "revoke", p, http.StatusSeeOther)
	p = c.post(userURL+"/status", url.Values{"disabled": {"true"}})
	wantStatus(t, "disable", p, http.StatusSeeOther)
	mustContain(t, "after disable", c.get(p.location()).body, "User disabled", "Enable this user")
	nia := e.client()
	p = nia.signInAs("nia@leeds.test", "a long passphrase of hers", "")
	wantStatus(t, "disabled sign-in", p, http.StatusForbidden)
	mustContain(t, "disabled sign-in", p.body, "This account is disabled")
	wantStatus(t, "enable", c.post(userURL+"/status", url.Values{"disabled": {"false"}}), http.StatusSeeOther)
	wantStatus(t, "enabled sign-in", nia.signInAs("nia@leeds.test", "a long passphrase of hers", ""), http.StatusSeeOther)

	// Users outside the admin's scope do not exist for them.
	wantStatus(t, "user outside scope", c.get("/admin/users/"+e.users["analyst@bradford.test"]), http.StatusNotFound)
	wantStatus(t, "disable outside scope", c.post("/admin/users/"+e.users["analyst@bradford.test"]+"/status", url.Values{"disabled": {"true"}}), http.StatusNotFound)
	mustNotContain(t, "users list scope", c.get("/admin/users").body, "bradford")

	// Analysts manage nobody.
	leeds := e.signIn("analyst@leeds.test")
	wantStatus(t, "analyst new user form", leeds.get("/admin/users/new"), http.StatusForbidden)
	wantStatus(t, "analyst create user", leeds.post("/admin/users", url.Values{"email": {"x@leeds.test"}, "name": {"X"}, "org": {"RR8"}, "role": {"org-analyst"}}), http.StatusForbidden)
	wantStatus(t, "analyst users", leeds.get("/admin/users"), http.StatusForbidden)
	wantStatus(t, "analyst admin", leeds.get("/admin"), http.StatusForbidden)
}

func TestTokens(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("analyst@leeds.test")
	p := c.get("/account")
	wantStatus(t, "account", p, 200)
	mustContain(t, "account", p.body, "Liam Leeds", "Change your password", "No API tokens.", `<label for="f-name">Name</label>`)

	p = c.post("/account/tokens", url.Values{"name": {""}, "expires": {"90d"}})
	wantStatus(t, "token without name", p, http.StatusUnprocessableEntity)
	mustContain(t, "token without name", p.body, `id="f-name-error"`)

	p = c.post("/account/tokens", url.Values{"name": {"SIEM export"}, "expires": {"90d"}})
	wantStatus(t, "create token", p, http.StatusCreated)
	secret := regexp.MustCompile(`value="(vigil_t_[^"]+)" readonly`).FindStringSubmatch(p.body)
	if secret == nil {
		t.Fatalf("no secret in the page:\n%s", p.body)
	}
	mustContain(t, "create token", p.body, "Vigil will not show it again", "SIEM export")
	if cc := p.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token page Cache-Control %q, want no-store", cc)
	}
	// The secret works, once shown.
	req, _ := http.NewRequest("GET", e.srv.URL+"/account", nil)
	req.Header.Set("Authorization", "Bearer "+secret[1])
	if p := e.client().do(req); p.status != 200 || !strings.Contains(p.body, "Liam Leeds") {
		t.Errorf("bearer token on /account: %d", p.status)
	}

	// Listed afterwards, never with the secret.
	p = c.get("/account")
	mustContain(t, "token list", p.body, "SIEM export", "Active")
	_, rest, _ := strings.Cut(secret[1], ".")
	mustNotContain(t, "token list", p.body, rest)
	id := regexp.MustCompile(`action="/account/tokens/(t_[a-z0-9]+)/revoke"`).FindStringSubmatch(p.body)
	if id == nil {
		t.Fatal("no revoke form")
	}
	// Someone else cannot revoke it.
	bradford := e.signIn("analyst@bradford.test")
	wantStatus(t, "revoke another's token", bradford.post("/account/tokens/"+id[1]+"/revoke", nil), http.StatusNotFound)

	p = c.post("/account/tokens/"+id[1]+"/revoke", nil)
	wantStatus(t, "revoke", p, http.StatusSeeOther)
	p = c.get("/account?done=token")
	mustContain(t, "after revoke", p.body, "Token revoked.", "Revoked ")
	if p := e.client().do(req); p.status != http.StatusSeeOther {
		t.Errorf("revoked bearer token on /account: %d", p.status)
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("analyst@leeds.test")
	p := c.post("/account/password", url.Values{"current": {"wrong password!"}, "password": {"a brand new passphrase"}, "password2": {"a brand new passphrase"}})
	wantStatus(t, "wrong current", p, http.StatusUnprocessableEntity)
	mustContain(t, "wrong current", p.body, `id="f-current-error"`)
	p = c.post("/account/password", url.Values{"current": {password}, "password": {"short"}, "password2": {"short"}})
	mustContain(t, "short", p.body, `id="f-password-error"`)
	p = c.post("/account/password", url.Values{"current": {password}, "password": {"a brand new passphrase"}, "password2": {"a brand new passphrase"}})
	wantStatus(t, "change", p, http.StatusSeeOther)
	// This browser carries on with a new session.
	mustContain(t, "after change", c.get(p.location()).body, "Password changed.")
	wantStatus(t, "old password", e.client().signInAs("analyst@leeds.test", password, ""), http.StatusUnauthorized)
	wantStatus(t, "new password", e.client().signInAs("analyst@leeds.test", "a brand new passphrase", ""), http.StatusSeeOther)
}

func TestAuditPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.signIn("admin@vigil.test")
	p := admin.get("/admin/audit")
	wantStatus(t, "audit", p, 200)
	mustContain(t, "audit", p.body, "org.create", "user.create", "auth.signin", "Verify the chain", `<label for="f-action">Action</label>`)
	p = admin.get("/admin/audit?action=user.create")
	mustContain(t, "filtered audit", p.body, "user.create")
	mustNotContain(t, "filtered audit", p.body, `href="/admin/audit?action=org.create"`)
	p = admin.get("/admin/audit?org=RAE")
	mustContain(t, "audit by org", p.body, `<span class="code">(RAE)</span>`)
	mustNotContain(t, "audit by org", p.body, `<span class="code">(RR8)</span>`)
	p = admin.get("/admin/audit?since=yesterday")
	wantStatus(t, "bad date", p, http.StatusUnprocessableEntity)
	mustContain(t, "bad date", p.body, "Enter a date like")
	// Days are the UK's, like the times the page shows.
	today := time.Now().In(e.web.o.Location).Format("2006-01-02")
	mustContain(t, "audit today", admin.get("/admin/audit?since="+today+"&until="+today).body, "org.create")
	mustContain(t, "audit future", admin.get("/admin/audit?since=2999-01-01").body, "No audit entries")

	p = admin.get("/admin/audit/verify")
	wantStatus(t, "verify", p, 200)
	mustContain(t, "verify", p.body, "The audit chain is intact")

	auditor := e.signIn("auditor@vigil.test")
	mustContain(t, "auditor", auditor.get("/admin/audit").body, "user.create")
	mustContain(t, "auditor nav", auditor.get("/").body, `href="/admin"`)
	wantStatus(t, "auditor users (read-only)", auditor.get("/admin/users"), 200)
	mustNotContain(t, "auditor users", auditor.get("/admin/users").body, "Add a user")

	// An org admin audits nothing; an analyst neither.
	for _, who := range []string{"analyst@leeds.test", "orgadmin@leeds.test"} {
		c := e.signIn(who)
		p := c.get("/admin/audit")
		if p.status != http.StatusForbidden && p.status != http.StatusNotFound {
			t.Errorf("%s on the audit page: %d", who, p.status)
		}
		mustNotContain(t, who+" audit", p.body, "org.create")
		wantStatus(t, who+" verify", c.get("/admin/audit/verify"), http.StatusForbidden)
	}
}

func TestAuditPagination(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("admin@vigil.test")
	ctx := context.Background()
	for i := 0; i < 120; i++ {
		if err := e.audit.Record(ctx, scope.System("test"), audit.Change{Action: "export", ObjectType: "report", ObjectID: fmt.Sprintf("r%d", i), Org: "RR8"}); err != nil {
			t.Fatal(err)
		}
	}
	p := c.get("/admin/audit?action=export")
	next := regexp.MustCompile(`class="pager-next" href="([^"]+)"`).FindStringSubmatch(p.body)
	if next == nil {
		t.Fatal("no next page link")
	}
	p = c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	wantStatus(t, "audit page 2", p, 200)
	mustContain(t, "audit page 2", p.body, "exported report r19 <", "exported report r0 <")
	mustNotContain(t, "audit page 2", p.body, "exported report r20 <", "pager-next")
}

func TestSecurityHeadersAndAssets(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("analyst@leeds.test")
	for _, path := range []string{"/", "/signin", "/orgs"} {
		p := c.get(path)
		h := p.header
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'",
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
		} {
			if !strings.Contains(h.Get(k), want) {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), want)
			}
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
	if cc := c.get("/").header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("page Cache-Control %q", cc)
	}

	// Assets: referenced with a content hash, cached for a year, right type,
	// and no external references anywhere.
	home := c.get("/").body
	for _, name := range []string{"vigil.css", "vigil.js"} {
		m := regexp.MustCompile(`/static/` + regexp.QuoteMeta(name) + `\?v=([0-9a-f]+)`).FindStringSubmatch(home)
		if m == nil {
			t.Fatalf("%s not referenced with a hash", name)
		}
		p := e.client().get(m[0])
		wantStatus(t, name, p, 200)
		if !strings.Contains(p.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s Cache-Control %q", name, p.header.Get("Cache-Control"))
		}
		want := map[string]string{"vigil.css": "text/css", "vigil.js": "javascript"}[name]
		if !strings.Contains(p.header.Get("Content-Type"), want) {
			t.Errorf("%s Content-Type %q", name, p.header.Get("Content-Type"))
		}
		if regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/|@import|@font-face`).MatchString(p.body) {
			t.Errorf("%s refers to something outside Vigil", name)
		}
		if p := e.client().get("/static/" + name); !strings.Contains(p.header.Get("Cache-Control"), "no-cache") {
			t.Errorf("%s without hash: Cache-Control %q", name, p.header.Get("Cache-Control"))
		}
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(home) {
		t.Errorf("home page loads something from another site")
	}
	wantStatus(t, "missing asset", e.client().get("/static/nope.css"), http.StatusNotFound)
	if p := e.client().get("/static/../web.go"); p.status == 200 {
		t.Errorf("asset traversal answered 200")
	}
}

func TestErrorPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("analyst@leeds.test")
	p := c.get("/no/such/page")
	wantStatus(t, "unknown page", p, http.StatusNotFound)
	mustContain(t, "unknown page", p.body, "Page not found", `<a href="/">Go to the home page</a>`)
	p = e.client().get("/api/v1/nothing-here")
	wantStatus(t, "unknown API route", p, http.StatusNotFound)
	if !strings.Contains(p.header.Get("Content-Type"), "problem+json") {
		t.Errorf("unknown API route answered %q", p.header.Get("Content-Type"))
	}

	// A 500: the page shows an error ID, and the same ID is in the log.
	p = c.get("/test/panic")
	wantStatus(t, "panic", p, http.StatusInternalServerError)
	m := regexp.MustCompile(`Error ID: <strong><code>([0-9a-f]+)</code>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no error ID on the 500 page:\n%s", p.body)
	}
	if !strings.Contains(e.logs.String(), "error_id="+m[1]) {
		t.Errorf("error ID %s not in the log", m[1])
	}
	mustContain(t, "500", p.body, "Sorry, something went wrong", `href="/"`)
	mustNotContain(t, "500", p.body, "test panic")
}

// TestEveryPageRenders loads every page as each kind of user. Render
// reports which page template it rendered (Web.rendered), so the test
// knows, rather than assumes, that each address renders the template it
// names, and that every file in templates/ was used: each page template
// rendered by some request, layout.html with them, and every template
// partials.html defines reached from a rendered page. checkNoInline runs
// on all of them.
func TestEveryPageRenders(t *testing.T) {
	e := newSupplyEnvWith(t, envOptions{demo: true, cases: true, events: true, ingest: true, coverage: []*sigma.Rule{}, rules: true, cyberAlerts: true, intel: true})
	pagesWithCases := casePagePaths(t, e)
	isc := scope.System("test")
	isc.UserID = e.users["admin@vigil.test"]
	icoll, err := e.intel.CreateCollection(context.Background(), isc, intel.CollectionOptions{Title: "Every page"})
	if err != nil {
		t.Fatal(err)
	}
	// Two feeds, so the feeds page's forms are checked for ids given twice.
	for _, name := range []string{"Every page feed", "Second feed"} {
		if _, err := e.intel.AddFeed(context.Background(), isc, intel.FeedOptions{Name: name, URL: "https://peer.example/taxii2/", RemoteCollection: "c1", Collection: icoll.ID}); err != nil {
			t.Fatal(err)
		}
	}
	iobj, _ := stix.NewSCO("domain-name", map[string]any{"value": "every-page.example"})
	if _, err := e.intel.ImportInto(context.Background(), isc, icoll.ID, "page.json", []*stix.Object{iobj}); err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/intel"], pagesWithCases["/intel?q=every"], pagesWithCases["/intel/objects/"+iobj.ID], pagesWithCases["/intel/feeds"] = "intel", "intel", "intel_object", "intel_feeds"
	if _, err := e.intel.Allow(context.Background(), isc, []string{"192.0.2.0/24"}, "every page", ""); err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/intel/allowlist"] = "intel_allowlist"
	// A TLP:RED indicator in a collection the admin writes: its page has
	// the share, link and edit forms.
	rcoll, err := e.intel.CreateCollection(context.Background(), isc, intel.CollectionOptions{Title: "Every page RED", TLPCeiling: stix.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	ired, err := stix.NewIndicator(stix.IndicatorOptions{Name: "every page red", Pattern: "[domain-name:value = 'red.every-page.example']", Created: time.Now(), Markings: []string{stix.TLP2Red}, Labels: []string{"page"}, Confidence: 50})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.intel.ImportInto(context.Background(), isc, rcoll.ID, "page.json", []*stix.Object{ired}); err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/intel/objects/"+ired.ID] = "intel_object"
	pagesWithCases["/intel/submissions"] = "intel_submissions" // with submissions: TestIntelSubmissionsFlow (internal/app)
	if _, err := e.rules.Import(context.Background(), scope.System("test"), "tests", "", []rules.File{{Name: "r.yml", Data: []byte(pageRule)}}); err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/rules"], pagesWithCases["/rules/"+pageRuleID], pagesWithCases["/rules/"+pageRuleID+"/edit"], pagesWithCases["/rules/new"] = "rules", "rule", "rule_edit", "rule_edit"
	if err := e.events.Append(context.Background(), []events.Event{{ID: "0123456789abcdef0123456789abcdef", Org: "RR8", ReceivedAt: time.Now().UTC(), EventTime: time.Now().UTC(),
		Source: events.Source{Protocol: "file", Host: "ws1"}, Fields: map[string]any{"EventID": float64(1), "CommandLine": "cmd.exe"}, Raw: "raw text"}}); err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/events"], pagesWithCases["/events/0123456789abcdef0123456789abcdef"] = "events", "event"
	pageSet, err := assurance.Parse("page-caf-v1.0.yaml", []byte("objectives:\n  A:\n    title: Risk\n    principles:\n      A1:\n        title: Governance\n        outcomes:\n          A1.a:\n            title: Board\n            indicators:\n              achieved:\n                A1.a.1: {description: Owned by the board.}\n            min_profile_requirement: {baseline: Achieved}\n"), assurance.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.assurance.Import(context.Background(), scope.System("test"), pageSet); err != nil {
		t.Fatal(err)
	}
	if _, err := e.assurance.ImportDSPT(context.Background(), scope.System("test"), []assurance.DSPTInput{{Name: "page_16_11_23.csv", Data: []byte("Code,Status\nRR8,22/23 Standards Met\n")}}); err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/assurance"], pagesWithCases["/assurance/sets/webcaf-caf@1.0"] = "assurance", "assurance_set"
	camp, err := e.assurance.CreateCampaign(context.Background(), scope.System("test"), assurance.NewCampaign{Name: "Every page campaign", SetID: "webcaf-caf@1.0",
		Deadline: "2099-01-01", Suppliers: []string{"SYNNOVIS"}})
	if err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/assurance/campaigns"], pagesWithCases["/assurance/campaigns/"+camp.ID] = "assurance_campaigns", "assurance_campaign"
	pagesWithCases["/assurance/statements"], pagesWithCases["/assurance/statements/"+camp.Statements[0].ID] = "assurance_statements", "assurance_statement"
	pagesWithCases["/assurance/expiring"] = "assurance_expiring"
	pagesWithCases[submittedStatement(t, e)+"/versions/1"] = "assurance_version"
	pagesWithCases["/assurance/methodology"], pagesWithCases["/assurance/heatmap"], pagesWithCases["/assurance/gaps"] = "assurance_methodology", "assurance_heatmap", "assurance_gaps"
	pagesWithCases["/assurance/priorities"], pagesWithCases["/assurance/statements/"+camp.Statements[0].ID+"/compare"] = "assurance_priorities", "assurance_compare"
	pagesWithCases["/assurance/tiers"], pagesWithCases["/assurance/campaigns/"+camp.ID+"/progress"] = "assurance_tiers", "assurance_progress"
	var mu sync.Mutex
	used := map[string]bool{}
	var last []string // pages rendered by the request under way
	e.web.rendered = func(page string) {
		mu.Lock()
		defer mu.Unlock()
		used[page] = true
		last = append(last, page)
	}
	note := func(what, tmpl string, get func() page, want int) {
		t.Helper()
		mu.Lock()
		last = nil
		mu.Unlock()
		p := get()
		if p.status != want {
			t.Errorf("%s: status %d, want %d", what, p.status, want)
		}
		if d := duplicateIDs(p.body); len(d) > 0 {
			t.Errorf("%s: ids given to more than one element: %v", what, d)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(last) != 1 || last[0] != tmpl {
			t.Errorf("%s rendered %v, want the %s template", what, last, tmpl)
		}
	}
	anon := e.client()
	note("/signin", "signin", func() page { return anon.get("/signin") }, 200)
	note("/nowhere", "error", func() page { return anon.get("/nowhere") }, 404)
	link, err := e.assurance.CreateLink(context.Background(), scope.System("test"), camp.Statements[0].ID, assurance.NewLink{Recipient: "page@test"})
	if err != nil {
		t.Fatal(err)
	}
	note(link.Path, "assurance_portal", func() page { return anon.get(link.Path) }, 200)

	admin := e.signIn("admin@vigil.test")
	uid := e.users["analyst@leeds.test"]
	admin.get("/assurance/statements/" + camp.Statements[0].ID)
	note("link made", "assurance_link_made", func() page {
		return admin.post("/assurance/statements/"+camp.Statements[0].ID+"/links", url.Values{"recipient": {"page@test"}})
	}, 201)
	for path, tmpl := range map[string]string{
		"/": "home", "/orgs": "orgs", "/orgs?q=leeds": "orgs", "/orgs/RR8": "org", "/orgs/ENG": "org",
		"/admin": "admin", "/admin/users": "users", "/admin/users/new": "user_new",
		"/admin/users/" + uid: "user", "/account": "account", "/admin/audit": "audit", "/admin/audit/verify": "audit",
		"/suppliers": "suppliers", "/suppliers/register": "supply_register", "/suppliers/s/SYNNOVIS": "supply_supplier",
		"/suppliers/p/SYN-LIMS": "supply_product", "/suppliers/impact": "supply_impact", "/suppliers/impact?supplier=SYNNOVIS": "supply_impact",
		"/suppliers/impact?org=RJ1": "supply_impact", "/suppliers/concentration": "supply_concentration",
		"/suppliers/graph": "supply_graph", "/suppliers/graph?node=org:RJ1": "supply_graph", "/suppliers/map": "supply_map",
		"/suppliers/map?view=concentration&service=pathology": "supply_map", "/suppliers/import": "supply_import", "/suppliers/boundaries": "supply_boundaries",
		"/account/notifications": "account_notifications", "/cases/kpis": "kpis", "/cases/kpis?since=2026-01-01&org=RR8": "kpis",
		"/ingest": "ingest", "/hunt": "hunt", "/coverage": "coverage",
	} {
		note(path, tmpl, func() page { return admin.get(path) }, 200)
	}
	inc, err := e.cases.OpenIncident(context.Background(), scope.System("test"), cases.NewIncident{Supplier: "SYNNOVIS", Title: "Every page incident", Severity: cases.High})
	if err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/incidents"], pagesWithCases["/incidents/"+inc.ID] = "incidents", "incident"
	ca, err := e.alerts.Issue(context.Background(), scope.System("test"), vuln.NewAlert{Title: "Every page cyber alert", Products: []vuln.AffectedProductSpec{{Product: "SYN-LIMS"}},
		RequiredAction: "Patch", Deadline: time.Now().Add(24 * time.Hour)})
	if err != nil || len(ca.Orgs) == 0 {
		t.Fatalf("cyber alert: %v %+v", err, ca.Orgs)
	}
	pagesWithCases["/cyber-alerts"], pagesWithCases["/cyber-alerts/"+ca.ID], pagesWithCases["/cyber-alerts/dashboard"] = "cyberalerts", "cyberalert", "cyberalertsdash"
	pagesWithCases["/cyber-alerts/history?org="+ca.Orgs[0].Org] = "cyberalerthistory"
	bom := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"golang.org/x/net",` +
		`"version":"v0.0.0-20211216030914-fe4d6282115f","purl":"pkg:golang/golang.org/x/net@v0.0.0-20211216030914-fe4d6282115f"}]}`)
	if _, err := e.sboms.AddProductSBOM(context.Background(), scope.System("test"), "SYN-LIMS", "2.1", "lims.cdx.json", bom); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sboms.AddInventory(context.Background(), scope.System("test"), "RJ1", vuln.InventoryMeta{Criticality: "high"}, "rj1.cdx.json", bom); err != nil {
		t.Fatal(err)
	}
	pagesWithCases["/vuln/products/SYN-LIMS"], pagesWithCases["/vuln/orgs/RJ1"], pagesWithCases["/vuln/orgs/RR8"] = "vulnsboms", "vulnsboms", "vulnsboms"
	pagesWithCases["/vuln/findings"], pagesWithCases["/vuln/findings?state=all&priority=P1&overdue=true"] = "vulnfindings", "vulnfindings"
	for path, tmpl := range pagesWithCases {
		note(path, tmpl, func() page { return admin.get(path) }, 200)
	}
	for _, path := range []string{"/", "/orgs", "/orgs/RR8", "/account", "/suppliers", "/alerts", "/cases"} {
		if p := e.signIn("analyst@leeds.test").get(path); p.status != 200 {
			t.Errorf("analyst %s: %d", path, p.status)
		}
	}
	mu.Lock()
	rendered := maps.Clone(used)
	mu.Unlock()
	if missing := neverRendered(t, e.web, rendered); len(missing) > 0 {
		t.Errorf("templates never rendered by any page: %v", missing)
	}

	// Every template also renders with empty data of its own type.
	empty := map[string]any{
		"signin": signInData{}, "home": homeData{}, "orgs": orgsData{}, "org": orgData{},
		"admin": adminData{}, "users": usersData{}, "user_new": newUserData{}, "user": userData{},
		"account": accountData{}, "audit": auditData{}, "error": errorData{},
		"suppliers": supplyHomeData{}, "supply_register": registerData{}, "supply_supplier": supplierData{}, "supply_product": productData{},
		"supply_impact": impactData{}, "supply_concentration": concentrationData{}, "supply_graph": graphData{}, "supply_map": mapData{},
		"supply_import": supplyImportData{}, "supply_boundaries": boundariesData{},
		"alerts": inboxData{}, "alert": alertData{}, "cases": caseListData{}, "case": caseData{}, "case_new": caseNewData{},
		"account_notifications": notifySettingsData{}, "kpis": kpiData{}, "events": eventsData{}, "event": eventData{E: events.Event{}},
		"ingest": ingestData{}, "hunt": huntData{}, "coverage": coverageData{},
		"rules": rulesData{}, "rule": ruleData{}, "rule_edit": ruleEditData{},
		"assurance": []assurance.Summary{}, "assurance_set": setData{},
		"assurance_campaigns": campaignsData{}, "assurance_campaign": campaignData{}, "assurance_statements": statementsData{}, "assurance_statement": statementData{},
		"assurance_expiring":    expiringData{},
		"assurance_methodology": assurance.Methodology{}, "assurance_heatmap": assurance.HeatMap{}, "assurance_gaps": gapsData{}, "assurance_priorities": assurance.Priorities{},
		"assurance_compare": assurance.ProfileComparison{},
		"assurance_tiers":   tiersData{}, "assurance_progress": progressData{}, "assurance_link_made": linkMadeData{}, "assurance_portal": portalData{},
		"assurance_version": assurance.StatementVersion{},
	}
	for _, n := range slices.Concat(pageNames, casePageNames, assurancePageNames, schemePageNames, assuranceViewPageNames, assuranceVersionPageNames) {
		var buf bytes.Buffer
		if err := e.web.pages[n].ExecuteTemplate(&buf, "layout", &view{Title: n, User: &scope.Scope{}, D: empty[n]}); err != nil {
			t.Errorf("%s with empty data: %v", n, err)
		}
	}
}

// neverRendered names the files in templates/ that no rendered page used:
// page templates not rendered, layout.html if no page was, and templates
// partials.html defines that no rendered page reaches from its layout.
func neverRendered(t *testing.T, w *Web, rendered map[string]bool) []string {
	t.Helper()
	paths, err := fs.Glob(files, "templates/*.html")
	if err != nil || len(paths) == 0 {
		t.Fatalf("templates: %v %v", paths, err)
	}
	reached := map[string]bool{}
	for name := range rendered {
		if tm := w.pages[name]; tm != nil {
			// Each page defines its own "content": walk each set afresh.
			seen := map[string]bool{}
			reach(tm, "layout", seen)
			maps.Copy(reached, seen)
		}
	}
	var missing []string
	for _, p := range paths {
		file := strings.TrimPrefix(p, "templates/")
		name := strings.TrimSuffix(file, ".html")
		switch {
		case file == "layout.html":
			if len(rendered) == 0 {
				missing = append(missing, file)
			}
		case strings.HasPrefix(file, "partials"): // partials.html, partials_*.html
			defs, err := template.New("").Funcs(w.funcs()).ParseFS(files, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range defs.Templates() {
				if !strings.HasSuffix(d.Name(), ".html") && d.Name() != "" && !reached[d.Name()] {
					missing = append(missing, file+" "+strconv.Quote(d.Name()))
				}
			}
		default:
			if !rendered[name] {
				missing = append(missing, file)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// reach marks the templates name calls, directly or through others.
func reach(set *template.Template, name string, seen map[string]bool) {
	if seen[name] {
		return
	}
	seen[name] = true
	tm := set.Lookup(name)
	if tm == nil || tm.Tree == nil {
		return
	}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x != nil {
				for _, c := range x.Nodes {
					walk(c)
				}
			}
		case *parse.TemplateNode:
			reach(set, x.Name, seen)
		case *parse.IfNode:
			walk(x.List)
			walk(x.ElseList)
		case *parse.RangeNode:
			walk(x.List)
			walk(x.ElseList)
		case *parse.WithNode:
			walk(x.List)
			walk(x.ElseList)
		}
	}
	walk(tm.Tree.Root)
}

// TestTreePerformance measures the tree and search pages over a national
// tree of about 7,000 organisations, inserted directly for speed.
func TestTreePerformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 7,000 organisations")
	}
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		now := time.Now().UTC().Format(time.RFC3339)
		ins := func(code, name, typ, parent, path, region, icb string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO orgs (code, name, type, parent, path, status, region, icb, updated_at, search) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)`,
				code, name, typ, parent, path, region, icb, now, strings.ToLower(code+" "+name))
			return err
		}
		n := 0
		for r := 0; r < 7; r++ {
			rc := fmt.Sprintf("YR%d", r)
			rp := "/ENG/" + rc + "/"
			if err := ins(rc, fmt.Sprintf("Region %d", r), "region", "ENG", rp, rc, ""); err != nil {
				return err
			}
			for i := 0; i < 6; i++ {
				ic := fmt.Sprintf("Q%d%d", r, i)
				ip := rp + ic + "/"
				if err := ins(ic, fmt.Sprintf("Integrated Care Board %d-%d", r, i), "icb", rc, ip, rc, ic); err != nil {
					return err
				}
				for s := 0; s < 3; s++ {
					sc := fmt.Sprintf("S%d%d%d", r, i, s)
					sp := ip + sc + "/"
					if err := ins(sc, fmt.Sprintf("Sub-ICB location %d-%d-%d", r, i, s), "sub-icb", ic, sp, rc, ic); err != nil {
						return err
					}
					for g := 0; g < 52; g++ {
						gc := fmt.Sprintf("G%d%d%d%02d", r, i, s, g)
						if err := ins(gc, fmt.Sprintf("Medical Practice %s", gc), "gp-practice", sc, sp+gc+"/", rc, ic); err != nil {
							return err
						}
						n++
					}
				}
				for tr := 0; tr < 4; tr++ {
					tc := fmt.Sprintf("T%d%d%d", r, i, tr)
					if err := ins(tc, fmt.Sprintf("Hospitals NHS Trust %s", tc), "trust", ic, ip+tc+"/", rc, ic); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var total int
	e.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs`).Scan(&total)
	c := e.signIn("admin@vigil.test")
	for _, path := range []string{"/orgs", "/orgs?at=G32100", "/orgs/children?parent=S321", "/orgs?q=medical", "/orgs?q=practice+g3", "/orgs?type=gp-practice&cursor=G3000", "/orgs/S321", "/"} {
		var times []time.Duration
		for i := 0; i < 5; i++ {
			start := time.Now()
			p := c.get(path)
			times = append(times, time.Since(start))
			if p.status != 200 {
				t.Fatalf("%s: %d", path, p.status)
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		t.Logf("%s over %d organisations: median %v", path, total, times[2])
		if !testneed.Race && times[2] > 200*time.Millisecond {
			t.Errorf("%s: median %v, want under 200 ms", path, times[2])
		}
	}
}

func TestSingleSignOnButtonHiddenWithoutSSO(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.client().get("/signin")
	mustNotContain(t, "sign-in without SSO", p.body, "/signin/sso")
	wantStatus(t, "SSO route without SSO", e.client().get("/signin/sso"), http.StatusNotFound)
}

func TestUsersPagination(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	for i := 0; i < 55; i++ {
		// No password: single sign-on users, and no argon2 cost per user.
		if _, err := e.auth.AddUser(ctx, scope.System("test"), auth.NewUser{Email: fmt.Sprintf("p%02d@leeds.test", i), Name: fmt.Sprintf("Person %02d", i), Org: "RR8", Role: scope.OrgAnalyst}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.signIn("orgadmin@leeds.test")
	seen := map[string]bool{}
	next := "/admin/users?org=rr8"
	emailRE := regexp.MustCompile(`<td[^>]*>([a-z0-9.]+@leeds\.test)</td>`)
	nextRE := regexp.MustCompile(`class="pager-next" href="([^"]+)"`)
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		p := c.get(strings.ReplaceAll(next, "&amp;", "&"))
		wantStatus(t, "users page", p, 200)
		for _, m := range emailRE.FindAllStringSubmatch(p.body, -1) {
			if seen[m[1]] {
				t.Errorf("%s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := nextRE.FindStringSubmatch(p.body); m != nil {
			next = m[1]
		}
	}
	// 55 new users and the two Leeds fixture users.
	if len(seen) != 57 {
		t.Errorf("saw %d users, want 57", len(seen))
	}
	p := c.get("/admin/users?q=person+1")
	mustContain(t, "user search", p.body, "p10@leeds.test", "p19@leeds.test")
	mustNotContain(t, "user search", p.body, "p20@leeds.test")
}

// TestAdminPagesNameOrganisations: the users list, a user's page, the
// account page and the audit log show organisations as "Name (CODE)",
// never a bare code the reader must look up.
func TestAdminPagesNameOrganisations(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("orgadmin@leeds.test")
	const named = `<a href="/orgs/RR8">Leeds Teaching Hospitals NHS Trust</a> <span class="code">(RR8)</span>`
	p := c.get("/admin/users")
	wantStatus(t, "users", p, 200)
	mustContain(t, "users", p.body, `<td data-label="Organisation">`+named, " on "+named)
	p = c.get("/account")
	wantStatus(t, "account", p, 200)
	mustContain(t, "account", p.body, "<dd>"+named+"</dd>", " on "+named)
	p = e.signIn("admin@vigil.test").get("/admin/audit")
	wantStatus(t, "audit", p, 200)
	mustContain(t, "audit", p.body, `title="Only this organisation's entries">Leeds Teaching Hospitals NHS Trust</a> <span class="code">(RR8)</span>`)
}

// duplicateIDs are the id attributes a page gives more than once: a label,
// a script-free form's target or a test's selector then finds the first
// only (a second c-2 once took the typing meant for a reply).
func duplicateIDs(body string) []string {
	seen := map[string]int{}
	for _, m := range idAttrRE.FindAllStringSubmatch(body, -1) {
		seen[m[1]]++
	}
	var out []string
	for id, n := range seen {
		if n > 1 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

var idAttrRE = regexp.MustCompile(`<[a-zA-Z][^<>]*?\sid="([^"]+)"`)
