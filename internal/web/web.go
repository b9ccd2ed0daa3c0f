// Package web is Vigil's server-rendered user interface: sign-in, the
// organisation tree, the areas of the product, user, token and audit
// administration, and the error page. Pages are html/template files and the
// stylesheet and script are static files, all embedded in the binary, so the
// UI needs no CDN, no external fonts and nothing installed. The
// Content-Security-Policy forbids inline script and style, so no template
// carries a <script> block or a style attribute: everything comes from
// /static.
//
// Handlers are thin: they read the form or query, call a domain service
// with the caller's Scope, and render. Objects outside the caller's scope
// come back from the services as fault.ErrNotFound and render as 404, never
// 403, so the UI never reveals that they exist.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/vigil-health/vigil/internal/assurance"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // Europe/London without the system's zone files

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/vuln"
)

//go:embed templates/*.html static/*
var files embed.FS

// Options are the web UI's dependencies.
type Options struct {
	Orgs  *org.Service
	Auth  *auth.Service
	Audit *audit.Log
	// SSO is single sign-on through OpenID Connect; nil when it is off.
	SSO *auth.SSO
	// SSOName names the identity provider on the sign-in button
	// ("Sign in with NHS Identity"); default "single sign-on".
	SSOName string
	// TLS must match the router's: it picks the __Host- cookie names and
	// the Secure flag.
	TLS     bool
	Version string
	Logger  *slog.Logger
	// Demo, if set, reports whether the database holds demo data, to show
	// a "DEMO DATA" banner on every page.
	Demo func(ctx context.Context) bool
	// Supply is the supplier register; nil leaves the Suppliers area out
	// (no navigation entry, /suppliers is 404) and the organisation and
	// home pages without dependencies.
	Supply *supply.Service
	// Cases is the alerts inbox and cases; nil leaves the Alerts and
	// Cases areas out (no navigation entries, their addresses 404).
	Cases *cases.Service
	// Boundaries are the map outlines; nil means no maps (tables only).
	Boundaries *geo.Store
	// ImpactPageRows caps the organisations (the worst) and products (the
	// nearest) a blast-radius page lists; the totals count all and the
	// downloads stream all (default 500). The national answer for the
	// largest hosting provider was a 43 MB page of 9,950 organisations
	// and 33,768 products, and twenty at once took a server to 4.5 GB.
	ImpactPageRows int
	// Now is the clock that "today" and "yesterday" are measured from
	// (time.Now when nil).
	Now func() time.Time
	// Location is the zone times are shown in: the readers' own
	// (Europe/London when nil). The exact UTC time is on every <time>.
	Location *time.Location
	// Notify, when set, adds the account's notification settings page.
	Notify *notify.Service
	// KPIs, when set, adds the case KPI dashboard (kpis.go).
	KPIs KPISource
	// Events, when set, adds event search (events.go).
	Events events.Store
	// EventSearches, when set with Events, adds each person's saved
	// event searches to the Events page.
	EventSearches *events.Searches
	// Ingest, when set, adds the ingest dashboard (ingest.go).
	Ingest IngestSource
	// Coverage, when set, adds the ATT&CK coverage page (coverage.go):
	// the live rules laid over ATT&CK with the alerts they raised that
	// the caller may read.
	Coverage func(ctx context.Context, sc scope.Scope, org string) (sigma.Coverage, error)
	// Rules, when set, adds the detection rules pages (rules.go): the
	// stored Sigma rules, their settings per organisation, exceptions,
	// history, the noisiest rules and the rule editor.
	Rules *rules.Service
	// Assurance, when set, adds the requirement-set pages and the DSPT
	// statuses on organisation and supplier pages (issue 20).
	Assurance *assurance.Service
	// CyberAlerts, when set, adds the national cyber alert pages
	// (cyberalerts.go).
	CyberAlerts *vuln.Alerts
	// SBOMs, when set, adds the pages of stored SBOMs, inventories and
	// their findings (issue 18).
	SBOMs *vuln.SBOMs
	// Intel, when set, adds the intelligence pages (intel.go): search,
	// object pages with their relationships, and the feeds' status.
	Intel *intel.Store
}

// Web holds the parsed templates and the static assets.
type Web struct {
	o      Options
	log    *slog.Logger
	pages  map[string]*template.Template
	assets map[string]asset
	// maxBody is the router's request body limit, which the error page
	// for an oversized upload states.
	maxBody int64
	// rendered, when set (by tests), hears the name of every page
	// template rendered, so a test can tell which templates pages use.
	rendered func(page string)
	times    timeWords
}

type asset struct {
	body  []byte
	hash  string
	ctype string
}

// pageNames are the templates under templates/ that render a whole page
// (each defines "content" inside layout.html).
var pageNames = []string{
	"signin", "home", "orgs", "org", "admin", "users", "user_new", "user", "account", "audit", "error",
	"suppliers", "supply_register", "supply_supplier", "supply_product", "supply_impact", "supply_concentration",
	"supply_graph", "supply_map", "supply_import", "supply_boundaries",
	"account_notifications", "kpis", "events", "event",
	"ingest", "hunt", "coverage", "rules", "rule", "rule_edit", "assurance", "assurance_set",
}

// New parses every template and hashes every asset once, so a broken
// template fails start-up rather than a request.
func New(o Options) (*Web, error) {
	switch {
	case o.Orgs == nil:
		return nil, errors.New("web: Options.Orgs is required")
	case o.Auth == nil:
		return nil, errors.New("web: Options.Auth is required")
	case o.Audit == nil:
		return nil, errors.New("web: Options.Audit is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SSOName == "" {
		o.SSOName = "single sign-on"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.ImpactPageRows == 0 {
		o.ImpactPageRows = 500
	}
	if o.ImpactPageRows < 0 {
		return nil, errors.New("web: Options.ImpactPageRows must not be negative")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		// The zone database is compiled in (time/tzdata), so this holds on
		// a machine without /usr/share/zoneinfo too.
		loc, err := time.LoadLocation("Europe/London")
		if err != nil {
			return nil, fmt.Errorf("web: load Europe/London: %w", err)
		}
		o.Location = loc
	}
	w := &Web{o: o, log: o.Logger, pages: map[string]*template.Template{}, assets: map[string]asset{}, times: timeWords{now: o.Now, loc: o.Location}}
	if err := w.loadAssets(); err != nil {
		return nil, err
	}
	if err := w.parse(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Web) loadAssets() error {
	return fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.assets[strings.TrimPrefix(p, "static/")] = asset{body: b, hash: hex.EncodeToString(sum[:6]), ctype: ct}
		return nil
	})
}

func (w *Web) parse() error {
	base, err := template.New("layout.html").Funcs(w.funcs()).ParseFS(files, "templates/layout.html", "templates/partials.html", "templates/partials_*.html")
	if err != nil {
		return fmt.Errorf("web: parse layout: %w", err)
	}
	for _, name := range slices.Concat(pageNames, casePageNames, incidentPageNames, cyberAlertPageNames, vulnPageNames, assurancePageNames, schemePageNames, assuranceViewPageNames, assuranceVersionPageNames, intelPageNames) {
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(files, "templates/"+name+".html"); err != nil {
			return fmt.Errorf("web: parse %s.html: %w", name, err)
		}
		if t.Lookup("content") == nil {
			return fmt.Errorf("web: %s.html defines no \"content\"", name)
		}
		w.pages[name] = t
	}
	return nil
}

// staticURL is the address of an asset with its content hash, so browsers
// may cache it for a year and still fetch a new version after an upgrade.
// A template naming a missing asset fails to render (every page test
// catches that).
func (w *Web) staticURL(name string) (string, error) {
	a, ok := w.assets[name]
	if !ok {
		return "", fmt.Errorf("web: no static asset %q", name)
	}
	return "/static/" + name + "?v=" + a.hash, nil
}

func (w *Web) serveStatic(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	a, ok := w.assets[name]
	if !ok {
		w.errorPage(rw, r, nil, http.StatusNotFound, "")
		return
	}
	h := rw.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(rw, r, name, time.Time{}, bytes.NewReader(a.body))
}

// Register adds every page to rt, under area "web", and makes rt render the
// web error page and send signed-out browsers to the sign-in page.
func (w *Web) Register(rt *httpd.Router) {
	rt.SetErrorPage(func(rw http.ResponseWriter, r *http.Request, status int, errID string) {
		w.errorPage(rw, r, nil, status, errID)
	})
	rt.OnUnauthenticated("web", w.toSignIn)
	w.maxBody = rt.MaxBodyBytes()
	pub, authd := httpd.Public, httpd.Authenticated
	h := func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler) {
		rt.Handle("web", method, pattern, access, summary, fn)
	}
	h("GET", "/static/", pub, "Stylesheet and script (embedded, cached by content hash)", w.serveStatic)
	h("GET", "/", pub, "Not-found page for unknown addresses", w.notFound)

	h("GET", "/signin", pub, "Sign-in form", w.signInForm)
	h("POST", "/signin", pub, "Sign in with e-mail and password", w.signIn)
	h("POST", "/signout", authd, "Sign out", w.signOut)
	if w.o.SSO != nil {
		h("GET", "/signin/sso", pub, "Start single sign-on at the identity provider", w.ssoBegin)
		h("GET", "/signin/callback", pub, "Return from the identity provider", w.ssoCallback)
	}

	h("GET", "/{$}", authd, "Home: who you are and the areas of Vigil", w.home)
	h("POST", "/context/org", authd, "Set the current organisation", w.setCurrentOrg)
	h("GET", "/orgs", authd, "Organisation tree and search", w.orgs)
	h("GET", "/orgs/children", authd, "One level of the organisation tree (HTML fragment for the tree script)", w.orgChildren)
	h("GET", "/orgs/{code}", authd, "One organisation", w.orgPage)

	for _, a := range w.areas() {
		h("GET", a.Href, authd, a.Label, a.handler)
	}
	if w.o.Supply != nil {
		w.registerSupply(h)
	}
	if w.o.Cases != nil {
		w.registerCases(h)
		w.registerIncidents(h)
	}
	if w.o.Rules != nil {
		w.registerRules(h)
	}
	if w.o.Assurance != nil {
		w.registerAssurance(h)
	}
	if w.o.CyberAlerts != nil {
		w.registerCyberAlerts(h)
	}
	if w.o.SBOMs != nil {
		w.registerVuln(h)
	}
	if w.o.Intel != nil {
		w.registerIntel(h)
	}
	if w.o.Events != nil {
		h("GET", "/events/{id}", authd, "One event: raw text beside its parsed fields", w.eventPage)
		h("POST", "/hunt", authd, "Test Sigma rules on samples, or hunt the stored events with them", w.huntRun)
		if w.o.EventSearches != nil {
			h("POST", "/events/searches", authd, "Save the Events page's search under a name (yours only)", w.eventsSaveSearch)
			h("POST", "/events/searches/{id}/delete", authd, "Delete one of your saved event searches", w.eventsDeleteSearch)
		}
	}

	h("GET", "/admin", authd, "Administration", w.admin)
	h("GET", "/admin/users", authd, "Users", w.users)
	h("GET", "/admin/users/new", authd, "New user form", w.newUserForm)
	h("POST", "/admin/users", authd, "Create a user", w.createUser)
	h("GET", "/admin/users/{id}", authd, "One user: details, grants, tokens", w.user)
	h("POST", "/admin/users/{id}/grants", authd, "Grant a role", w.grant)
	h("POST", "/admin/users/{id}/grants/revoke", authd, "Revoke a role", w.revoke)
	h("POST", "/admin/users/{id}/status", authd, "Disable or enable a user", w.setDisabled)
	h("POST", "/admin/users/{id}/tokens/{token}/revoke", authd, "Revoke a user's API token", w.revokeUserToken)
	h("GET", "/admin/audit", authd, "Audit log", w.auditLog)
	h("GET", "/admin/audit/verify", authd, "Verify the audit hash chain", w.auditVerify)

	h("GET", "/account", authd, "Your account and API tokens", w.account)
	h("POST", "/account/password", authd, "Change your password", w.changePassword)
	h("POST", "/account/tokens", authd, "Create an API token", w.createToken)
	h("POST", "/account/tokens/{id}/revoke", authd, "Revoke one of your API tokens", w.revokeToken)
	w.registerNotify(h)
}

// view is what every page template gets: the frame (header, navigation,
// footer) and the page's own data in D.
type view struct {
	Title string
	// Area is the navigation entry marked aria-current.
	Area    string
	User    *scope.Scope
	CSRF    string
	Nav     []navItem
	Current *org.Org
	Switch  []switchOption
	// Here is the request's path and query, where the organisation
	// switcher returns to.
	Here    string
	Version string
	Demo    bool
	Notice  string
	D       any
}

type navItem struct {
	Key, Label, Href string
	Current          bool
}

type switchOption struct {
	Code, Label string
	Selected    bool
}

// page builds the frame of an authenticated page.
func (w *Web) page(r *http.Request, sc scope.Scope, title, area string) *view {
	v := &view{Title: title, Area: area, User: &sc, CSRF: httpd.CSRFToken(r.Context()), Here: r.URL.RequestURI(), Version: w.o.Version}
	v.Nav = w.nav(sc, area)
	v.Current = w.currentOrg(r, sc)
	v.Switch = w.switchOptions(r.Context(), sc, v.Current)
	if w.o.Demo != nil {
		v.Demo = w.o.Demo(r.Context())
	}
	return v
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 page rather than half a page.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t := w.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		w.serverError(rw, r, v.User, fmt.Errorf("render %s: %w", name, err))
		return
	}
	if w.rendered != nil {
		w.rendered(name)
	}
	writeHTML(rw, status, buf.Bytes())
}

func writeHTML(rw http.ResponseWriter, status int, b []byte) {
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry personal and security data: keep them out of shared and
	// back-button caches.
	h.Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_, _ = rw.Write(b) // a failed write: the client has gone
}

// fail answers an error from a service: not found (or out of scope) is
// 404, forbidden is 403, anything else a 500 with an error ID in the log.
//
// The status is fault.Status's, the mapping the API uses too. A refusal the
// caller can act on (invalid, conflict, forbidden, too many attempts,
// unavailable) shows the domain's message; not found never does, so it
// cannot say whether something exists.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, sc scope.Scope, err error) {
	switch status := fault.Status(err); status {
	case http.StatusInternalServerError:
		w.serverError(rw, r, &sc, err)
	case http.StatusNotFound:
		w.errorPage(rw, r, &sc, status, "")
	default:
		w.renderError(rw, r, &sc, status, "", sentence(fault.Message(err)))
	}
}

func (w *Web) serverError(rw http.ResponseWriter, r *http.Request, sc *scope.Scope, err error) {
	id := httpd.NewID()
	w.log.Error("web error", "error_id", id, "request_id", httpd.RequestID(r.Context()), "path", r.URL.Path, "err", err)
	w.errorPage(rw, r, sc, http.StatusInternalServerError, id)
}

type errorData struct {
	Status  int
	Detail  string
	Heading string
	Message string
	ErrorID string
}

// errorPage renders 403, 404 and 500 pages. With sc nil (called by the
// router, which has no Scope to hand) the page has no navigation.
func (w *Web) errorPage(rw http.ResponseWriter, r *http.Request, sc *scope.Scope, status int, errID string) {
	w.renderError(rw, r, sc, status, errID, "")
}

// renderError is errorPage with the domain's own words for the refusal
// (detail), shown under the heading when given.
func (w *Web) renderError(rw http.ResponseWriter, r *http.Request, sc *scope.Scope, status int, errID, detail string) {
	d := errorData{Status: status, Detail: detail}
	switch status {
	case http.StatusNotFound:
		d.Heading = "Page not found"
		d.Message = "There is nothing at this address, or you do not have access to it. Check the address, or find what you need from the home page."
	case http.StatusRequestEntityTooLarge:
		d.Heading = "The upload is too large"
		d.Message = "Vigil accepts at most " + httpd.SizeText(w.maxBody) + " in one request. Upload fewer files at a time, or import a large register from the command line (vigil supply import)."
	case http.StatusForbidden:
		d.Heading = "You cannot do that"
		d.Message = "Your roles do not allow this, or the form you sent had expired. Go back, reload the page and try again; if you need access, ask your organisation's Vigil administrator."
	case http.StatusConflict:
		d.Heading = "That cannot be done as things stand"
		d.Message = "Something already recorded stands in the way. Go back, change what the message names, and try again."
	case http.StatusTooManyRequests:
		d.Heading = "Too many attempts"
		d.Message = "Wait a minute, then try again."
	case http.StatusServiceUnavailable:
		d.Heading = "Not available just now"
		d.Message = "Vigil cannot do this at the moment. Try again later, or ask your Vigil administrator."
	default:
		if status < 500 {
			d.Heading = http.StatusText(status)
			d.Message = "Vigil could not handle that request. Go back and try again."
			break
		}
		if errID == "" {
			errID = httpd.NewID()
			w.log.Error("web error page without error ID", "error_id", errID, "request_id", httpd.RequestID(r.Context()), "status", status, "path", r.URL.Path)
		}
		d.Heading = "Sorry, something went wrong"
		d.Message = "Vigil could not complete your request because of a problem on our side. Try again in a few minutes. If it keeps happening, tell your service desk and quote the error ID below."
		d.ErrorID = errID
	}
	var v *view
	if sc != nil && sc.UserID != "" {
		v = w.page(r, *sc, d.Heading, "")
	} else {
		v = &view{Title: d.Heading, Version: w.o.Version}
	}
	v.D = d
	var buf bytes.Buffer
	if err := w.pages["error"].ExecuteTemplate(&buf, "layout", v); err != nil {
		// The error page itself failed: fall back to text that still
		// carries the error ID.
		w.log.Error("render error page", "err", err, "error_id", errID)
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(status)
		fmt.Fprintf(rw, "%s\n%s\n", d.Heading, errID)
		return
	}
	if w.rendered != nil {
		w.rendered("error")
	}
	writeHTML(rw, status, buf.Bytes())
}

// notFound answers addresses no route matches. Unknown /api/ addresses keep
// the API's problem+json shape.
func (w *Web) notFound(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		rw.Header().Set("Content-Type", "application/problem+json")
		rw.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(rw, `{"type":"https://vigil.nhs.invalid/problems/not-found","title":"Not Found","status":404,"detail":"No such API route."}`)
		return
	}
	w.errorPage(rw, r, nil, http.StatusNotFound, "")
}
