package app

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testneed"
)

// The tenant-isolation walk calls every authenticated route, API and web,
// as six identities of one estate:
//
//	alice   org-admin of trust RJ1 (region Y56, ICB QKK)
//	bob     org-admin of trust RJZ, RJ1's neighbour in the same ICB
//	audrey  auditor of RJ1 (reads RJ1 and its audit log, changes nothing)
//	rex     region lead of another region, Y58 (trust RA7)
//	sam     supplier representative of Othersoft (tenant SUP-OTHER)
//	nadia   national administrator
//
// For each route it makes three kinds of call:
//
//  1. attack: Alice aims the route at Bob's objects. She must get the
//     stated status and nothing of Bob's (leaks) may appear in the answer.
//  2. replays: the route's positive control — the owner's own request —
//     is sent first by every other identity. Each must get the stated
//     status (deny, or its entry in status) and, unless it is a seer, must
//     not see the owner's want strings.
//  3. own: positive controls. The owner (and any other identity listed)
//     calls the route on its own objects and must succeed and see them, so
//     a route that answers 404 to everyone cannot pass.
//
// Replays run before the owner's call, so a replay that wrongly succeeds
// in changing or deleting something makes the owner's call fail too.
// A route registered without an entry fails the walk.

// Identities, in the order replays run.
const (
	alice  = "alice"
	bob    = "bob"
	audrey = "audrey"
	rex    = "rex"
	sam    = "sam"
	nadia  = "nadia"
)

var identities = []string{alice, bob, audrey, rex, sam, nadia}

// probe is one request and what must come back.
type probe struct {
	path string
	// body is JSON for the API and a URL-encoded form for the web, unless
	// files is set: then the request is multipart with body's fields.
	body  string
	files map[string]string
	// status is the answer wanted; 0 means 200 for own calls and any
	// answer below 500 for attacks.
	status int
	// want must all appear in the answer (own calls only).
	want []string
}

// routeCheck says how one route is walked.
type routeCheck struct {
	attack probe
	// own lists positive controls by identity; the first is the owner
	// whose request is replayed by the others.
	own []ownProbe
	// deny is the status every replaying identity gets unless status says
	// otherwise (0: any answer below 500).
	deny   int
	status map[string]int
	// seers may see the owner's want strings in their replay answers.
	seers []string
	// skip lists identities whose replay would legitimately change what
	// the owner's call then finds (a national admin creating the same
	// organisation first), or that act on the caller themself.
	skip []string
}

type ownProbe struct {
	who string
	probe
}

func own(who string, p probe, more ...ownProbe) []ownProbe {
	return append([]ownProbe{{who, p}}, more...)
}

func also(who string, p probe) ownProbe { return ownProbe{who, p} }

// Groups of identities that legitimately see or change things.
var (
	rj1Readers = []string{audrey, nadia}           // besides Alice: RJ1's auditor and the national admin
	nhsReaders = []string{bob, audrey, rex, nadia} // besides Alice: the shared supplier register
	everyone   = identities
	noReplay   = identities // the route acts on the caller themself
)

// world is the isolation estate: newFixture's Alice and Bob, and the
// identities above with their objects.
type world struct {
	fixture
	tok     map[string]string       // API token per identity
	sess    map[string]auth.Session // web session per identity
	user    map[string]auth.User
	carol   auth.User // an analyst of RJ1 whom Alice administers
	carolTk []string  // IDs of Carol's API tokens, to revoke
	aliceTk string    // ID of a spare token of Alice's, to revoke from the account page
}

func newWorld(t testing.TB, s *Server) world {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	w := world{fixture: newFixture(t, s), tok: map[string]string{}, sess: map[string]auth.Session{}, user: map[string]auth.User{}}
	for _, o := range []org.Org{
		{Code: "RJ1CH", Name: "Evelina Test Clinic", Type: org.OtherProvider, Parent: "RJ1"},
		{Code: "Y58", Name: "South West", Type: org.Region},
		{Code: "QJK", Name: "NHS Devon ICB", Type: org.ICB, Parent: "Y58"},
		{Code: "RA7", Name: "Bristol Test Hospitals NHS Trust", Type: org.Trust, Parent: "QJK"},
		{Code: "SUP-OTHER", Name: "Othersoft Ltd (supplier tenant)", Type: org.Supplier},
	} {
		if _, err := s.Orgs.Create(ctx, sys, o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	w.user[alice], w.user[bob] = w.alice, w.bob
	w.tok[alice], w.tok[bob] = w.aliceTok, w.bobTok
	for _, u := range []struct {
		who, email, org string
		role            scope.Role
	}{
		{audrey, "audrey@rj1.nhs.test", "RJ1", scope.Auditor},
		{rex, "rex@sw.nhs.test", "Y58", scope.RegionLead},
		{sam, "sam@othersoft.test", "SUP-OTHER", scope.SupplierRep},
		{nadia, "nadia@nhs.test", org.RootCode, scope.NationalAdmin},
		{"carol", "carol@rj1.nhs.test", "RJ1", scope.OrgAnalyst},
	} {
		nu, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: u.email, Name: strings.ToUpper(u.who[:1]) + u.who[1:], Org: u.org, Role: u.role, Password: "correct horse battery"})
		if err != nil {
			t.Fatalf("add %s: %v", u.who, err)
		}
		if u.who == "carol" {
			w.carol = nu
		}
		w.user[u.who] = nu
		if _, w.tok[u.who], err = s.Auth.CreateToken(ctx, sys, u.email, "isolation", 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		tk, _, err := s.Auth.CreateToken(ctx, sys, w.carol.Email, "carol-ci", 0)
		if err != nil {
			t.Fatal(err)
		}
		w.carolTk = append(w.carolTk, tk.ID)
	}
	tk, _, err := s.Auth.CreateToken(ctx, sys, w.alice.Email, "alice-spare", 0)
	if err != nil {
		t.Fatal(err)
	}
	w.aliceTk = tk.ID
	for _, who := range append(identities, "carol") {
		if w.sess[who], err = s.Auth.StartSession(ctx, w.user[who].ID, "127.0.0.1", "isolation-test"); err != nil {
			t.Fatal(err)
		}
	}
	// Othersoft's register: Sam's own supplier and products; RA7 deploys
	// them; RJ1 has a contract and a second deployment of its own.
	steps := []func() error{
		func() error {
			_, err := s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "OTHER-SUP", Name: "Othersoft Ltd", TenantOrg: "SUP-OTHER"})
			return err
		},
	}
	for _, p := range []supply.Product{
		{ID: "OTHER-APP", SupplierID: "OTHER-SUP", Name: "Othersoft Records", Kind: supply.SaaS},
		{ID: "OTHER-HOST", SupplierID: "OTHER-SUP", Name: "Othersoft Cloud", Kind: supply.Hosting},
		{ID: "OTHER-CDN", SupplierID: "OTHER-SUP", Name: "Othersoft Edge", Kind: supply.Hosting},
		{ID: "OTHER-OLD", SupplierID: "OTHER-SUP", Name: "Othersoft Legacy", Kind: supply.Software},
	} {
		steps = append(steps, func() error { _, err := s.Supply.PutProduct(ctx, sys, p); return err })
	}
	for _, d := range []supply.Dependency{
		{ProductID: "OTHER-APP", DependsOnID: "OTHER-HOST", Kind: supply.DepHosting, Critical: true},
		{ProductID: "OTHER-APP", DependsOnID: "OTHER-CDN", Kind: supply.DepHosting, Critical: false},
	} {
		steps = append(steps, func() error { _, err := s.Supply.PutDependency(ctx, sys, d); return err })
	}
	for _, d := range []supply.Deployment{
		{OrgODS: "RA7", ProductID: "OTHER-APP", Service: "patient-records", Criticality: supply.High},
		{OrgODS: "RJ1", ProductID: "ISO-HOST", Service: "hosting-test", Criticality: supply.Low, HasFallback: true},
	} {
		steps = append(steps, func() error { _, err := s.Supply.PutDeployment(ctx, sys, d); return err })
	}
	steps = append(steps, func() error {
		_, err := s.Supply.PutContract(ctx, sys, supply.Contract{ID: "ISO-CON-RJ1", OrgODS: "RJ1", SupplierID: "ISO-SUP", ProductID: "ISO-LIMS", StartDate: "2024-04-01"})
		return err
	})
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("isolation world: %v", err)
		}
	}
	return w
}

// leaks are strings only Bob's side of the estate has.
func leaks(f fixture) []string {
	return []string{"RJZ", "ISO-CON-RJZ", "KING'S COLLEGE", f.bob.Email, f.bob.ID, f.bobTokID}
}

// contains reports whether body holds s as written, HTML-escaped or
// JSON-escaped, where s (starting with a letter or digit) does not
// continue a word, outside random IDs: an ID such as
// CS-01M973VM1P2MYQFJQ6NHC3RJZF or VW-RJZR43FH941HB62MC1FX5QPNF0 holds
// "RJZ" by chance, and each once made the walk report a leak that was
// not there. (An s that is itself such an ID, Bob's user or token, is
// looked for in the body as it is.)
func contains(body, s string) bool {
	if !randomID.MatchString(s) {
		body = randomID.ReplaceAllString(body, "$1-ID")
	}
	j := strings.NewReplacer("'", `\u0027`, "&", `\u0026`, "<", `\u003c`, ">", `\u003e`).Replace(s)
	for _, v := range []string{s, html.EscapeString(s), j} {
		for rest, off := body, 0; ; {
			i := strings.Index(rest, v)
			if i < 0 {
				break
			}
			if at := off + i; at == 0 || !isWordByte(v[0]) || !isWordByte(body[at-1]) {
				return true
			}
			off += i + 1
			rest = body[off:]
		}
	}
	return false
}

// randomID is the shape of randid's IDs and the time-ordered case and
// alert IDs: a prefix, a dash and 26 characters of Crockford's base32.
var randomID = regexp.MustCompile(`\b([A-Za-z]{1,8})-[0-9A-HJKMNP-TV-Z]{26}\b`)

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// around is the text either side of the first place body holds s (as
// contains finds it), for a leak's report: the page's start rarely shows
// where the leak is.
func around(body, s string) string {
	for _, v := range []string{s, html.EscapeString(s), strings.NewReplacer("'", `\u0027`, "&", `\u0026`, "<", `\u003c`, ">", `\u003e`).Replace(s)} {
		if i := strings.Index(body, v); i >= 0 {
			return "…" + body[max(0, i-400):min(len(body), i+len(v)+400)] + "…"
		}
	}
	return body
}

// The isolation walk runs with every optional page on: the ATT&CK
// coverage page needs --attack.
func TestTenantIsolation(t *testing.T) {
	p := attackBundle(t)
	osv := isolationOSV(t)
	enginesWith(t, func(c *config.Config) { c.Attack, c.VulnOSV, c.IntelFeedsPrivate = p, osv, true }, testTenantIsolation)
}

// attackBundle is ATT&CK's Enterprise bundle in the shared data, for
// the coverage page the isolation walk visits.
func attackBundle(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "attack", "enterprise-attack-v18.1-stix20.json.gz")
	if _, err := os.Stat(p); err != nil {
		testneed.Missing(t, "ATT&CK in ../shared/data/attack", err)
	}
	return p
}

func testTenantIsolation(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	w := newWorld(t, s)
	checks := isolationChecks(w)
	for k, c := range webIsolationChecks(w) {
		checks[k] = c
	}
	for k, c := range casesIsolationChecks(t, s, w) {
		checks[k] = c
	}
	for k, c := range notifyIsolationChecks(t, s, w) {
		checks[k] = c
	}
	for k, c := range incidentsIsolationChecks(t, s) {
		checks[k] = c
	}
	for k, c := range cyberAlertsIsolationChecks(t, s) {
		checks[k] = c
	}
	for k, c := range vulnIsolationChecks(t, s) {
		checks[k] = c
	}
	for k, c := range eventsIsolationChecks(t, s, w) {
		checks[k] = c
	}
	for k, c := range ingestIsolationChecks(t, s) {
		checks[k] = c
	}
	for k, c := range rulesIsolationChecks(t, s, w) {
		checks[k] = c
	}
	for k, c := range assuranceIsolationChecks(t, s, w) {
		checks[k] = c
	}
	for k, c := range campaignIsolationChecks(t, s) { // after assuranceIsolationChecks, which imports the set
		checks[k] = c
	}
	for k, c := range schemesIsolationChecks(t, s) {
		checks[k] = c
	}
	// Versions before views: both accept a statement of Assured
	// Diagnostics, and the views' controls want theirs to be the latest.
	for k, c := range assuranceVersionIsolationChecks(t, s) { // after campaignIsolationChecks, whose estate it uses
		checks[k] = c
	}
	for k, c := range assuranceViewIsolationChecks(t, s) { // after campaignIsolationChecks, whose estate it uses
		checks[k] = c
	}
	for k, c := range taxiiIsolationChecks(t, s, w) {
		checks[k] = c
	}
	for k, c := range intelIsolationChecks(t, s, w) {
		checks[k] = c
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(t *testing.T, r httpd.Route, who string, p probe) (int, string) {
		t.Helper()
		var body io.Reader = strings.NewReader(p.body)
		ctype := ""
		if p.files != nil {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			form, _ := url.ParseQuery(p.body)
			if r.Area == "web" {
				mw.WriteField("csrf", w.sess[who].CSRF)
			}
			for k, vs := range form {
				for _, v := range vs {
					mw.WriteField(k, v)
				}
			}
			names := make([]string, 0, len(p.files))
			for n := range p.files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fw, _ := mw.CreateFormFile("files", n)
				io.WriteString(fw, p.files[n])
			}
			mw.Close()
			body, ctype = &b, mw.FormDataContentType()
		}
		req, _ := http.NewRequest(r.Method, s.url(p.path), body)
		switch r.Area {
		case "api":
			req.Header.Set("Authorization", "Bearer "+w.tok[who])
			if ctype == "" {
				ctype = "application/json"
			}
		case "taxii":
			req.Header.Set("Authorization", "Bearer "+w.tok[who])
			req.Header.Set("Accept", "application/taxii+json;version=2.1")
			if ctype == "" && p.body != "" {
				ctype = "application/taxii+json;version=2.1"
			}
		default:
			sess := w.sess[who]
			if r.Method+" "+r.Pattern == "POST /signout" { // signing out must not end the session the other checks use
				var err error
				if sess, err = s.Auth.StartSession(context.Background(), w.user[who].ID, "127.0.0.1", "isolation-test"); err != nil {
					t.Fatal(err)
				}
			}
			req.AddCookie(&http.Cookie{Name: auth.CookieName(false), Value: sess.Secret})
			req.Header.Set("X-CSRF-Token", sess.CSRF)
			if ctype == "" && p.body != "" {
				ctype = "application/x-www-form-urlencoded"
			}
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// An image's compressed bytes are not text to look for leaks in
		// (three letters turn up by chance): the walk checks its status,
		// and its pixels are drawn from the figures of the page beside it,
		// which the walk reads as text.
		if ct := res.Header.Get("Content-Type"); strings.HasPrefix(ct, "image/") && !strings.Contains(ct, "svg") {
			return res.StatusCode, fmt.Sprintf("%s (%s, %d bytes)", b[:min(8, len(b))], ct, len(b)) // the magic number stays, for the checks that want it
		}
		return res.StatusCode, string(b)
	}
	echoed := func(p probe, s string) bool {
		req := p.path + p.body
		for n, v := range p.files {
			req += n + v
		}
		return strings.Contains(req, s) || strings.Contains(req, url.QueryEscape(s))
	}
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
		if len(c.own) == 0 {
			t.Errorf("route %s has no positive control (own): a route that refuses everyone would pass", key)
			continue
		}
		fill := func(p probe) probe {
			if p.path == "" {
				p.path = strings.TrimSuffix(r.Pattern, "{$}")
			}
			return p
		}
		t.Run(key, func(t *testing.T) {
			for _, p := range append([]probe{c.attack}, ownProbes(c.own)...) {
				if strings.Contains(fill(p).path, "{") {
					t.Fatalf("check path %q still has a wildcard", fill(p).path)
				}
			}
			// 1. Alice at Bob's objects.
			a := fill(c.attack)
			st, body := call(t, r, alice, a)
			if (a.status != 0 && st != a.status) || st >= 500 {
				t.Errorf("attack: %s %s as alice = %d, want %d\n%.400s", r.Method, a.path, st, a.status, body)
			}
			for _, l := range leaks(w.fixture) {
				if !echoed(a, l) && contains(body, l) {
					t.Errorf("attack: %s %s leaks %q to alice; where it stands:\n%s", r.Method, a.path, l, around(body, l))
				}
			}
			// 2. Everyone else replays the owner's request.
			owner := c.own[0]
			op := fill(owner.probe)
			for _, who := range identities {
				if who == owner.who || hasOwn(c.own, who) || in(c.skip, who) {
					continue
				}
				want, ok := c.status[who]
				if !ok {
					want = c.deny
				}
				st, body := call(t, r, who, op)
				if (want != 0 && st != want) || st >= 500 {
					t.Errorf("replay: %s %s as %s = %d, want %d\n%.400s", r.Method, op.path, who, st, want, body)
				}
				if in(c.seers, who) {
					continue
				}
				for _, l := range op.want {
					if !echoed(op, l) && contains(body, l) {
						t.Errorf("replay: %s %s shows %s's %q to %s:\n%.600s", r.Method, op.path, owner.who, l, who, body)
					}
				}
			}
			// 3. Positive controls.
			for _, o := range c.own {
				p := fill(o.probe)
				st, body := call(t, r, o.who, p)
				want := p.status
				if want == 0 {
					want = 200
				}
				if st != want {
					t.Errorf("own: %s %s as %s = %d, want %d\n%.600s", r.Method, p.path, o.who, st, want, body)
					continue
				}
				for _, s := range p.want {
					if !contains(body, s) {
						t.Errorf("own: %s %s as %s lacks %q:\n%.600s", r.Method, p.path, o.who, s, body)
					}
				}
			}
		})
	}
	for k := range checks {
		if !seen[k] {
			t.Errorf("isolation check for %s matches no registered route (renamed?)", k)
		}
	}
}

func ownProbes(os []ownProbe) []probe {
	out := make([]probe, len(os))
	for i, o := range os {
		out[i] = o.probe
	}
	return out
}

func hasOwn(os []ownProbe, who string) bool {
	for _, o := range os {
		if o.who == who {
			return true
		}
	}
	return false
}

func in(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func with(m map[string]int, more ...any) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(more); i += 2 {
		out[more[i].(string)] = more[i+1].(int)
	}
	return out
}

// statuses builds a status map: statuses(audrey, 403, nadia, 200).
func statuses(kv ...any) map[string]int { return with(nil, kv...) }

// isolationChecks covers the API.
func isolationChecks(w world) map[string]routeCheck {
	guys := "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST"
	carol := "/api/v1/users/" + w.carol.ID
	return map[string]routeCheck{
		"GET /api/v1/me": {own: own(alice, probe{want: []string{w.alice.Email}}), deny: 200},

		"GET /api/v1/orgs": {attack: probe{path: "/api/v1/orgs?q=king"},
			own: own(alice, probe{path: "/api/v1/orgs?q=guy", want: []string{guys}}), deny: 200, seers: rj1Readers},
		"GET /api/v1/orgs/tree": {attack: probe{path: "/api/v1/orgs/tree?parent=RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/tree?parent=RJ1", want: []string{"Evelina Test Clinic"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /api/v1/orgs/{code}": {attack: probe{path: "/api/v1/orgs/RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1", want: []string{guys}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/orgs": {attack: probe{body: `{"ods":"RJZ99","name":"x","type":"other-provider","parent":"RJZ"}`, status: 400},
			own:  own(alice, probe{body: `{"ods":"RJ1X9","name":"Isolation Clinic","type":"other-provider","parent":"RJ1"}`, status: 201, want: []string{`"ods":"RJ1X9"`}}),
			deny: 400, skip: []string{nadia}},
		"PATCH /api/v1/orgs/{code}": {attack: probe{path: "/api/v1/orgs/RJZ", body: `{"name":"x"}`, status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1", body: `{"postcode":"SE1 7EH"}`, want: []string{"SE1 7EH"}}),
			deny: 404, status: statuses(audrey, 403, nadia, 200), seers: rj1Readers},

		"GET /api/v1/users": {attack: probe{path: "/api/v1/users?q=bob"},
			own: own(alice, probe{path: "/api/v1/users?q=carol", want: []string{w.carol.Email}}), deny: 200, seers: rj1Readers},
		"GET /api/v1/users/{id}": {attack: probe{path: "/api/v1/users/" + w.bob.ID, status: 404},
			own:  own(alice, probe{path: carol, want: []string{w.carol.Email}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/users": {attack: probe{body: `{"email":"m@x.nhs.test","name":"M","org":"RJZ","role":"org-analyst"}`, status: 400},
			own:  own(alice, probe{body: `{"email":"dave@rj1.nhs.test","name":"Dave","org":"RJ1","role":"org-analyst"}`, status: 201, want: []string{"dave@rj1.nhs.test"}}),
			deny: 400, status: statuses(audrey, 403), skip: []string{nadia}},
		"PATCH /api/v1/users/{id}": {attack: probe{path: "/api/v1/users/" + w.bob.ID, body: `{"name":"x"}`, status: 404},
			own:  own(alice, probe{path: carol, body: `{"name":"Carol Reed"}`, want: []string{"Carol Reed"}}),
			deny: 404, status: statuses(audrey, 403, nadia, 200), seers: rj1Readers},
		"POST /api/v1/users/{id}/grants": {attack: probe{path: "/api/v1/users/" + w.bob.ID + "/grants", body: `{"role":"org-analyst","org":"RJZ"}`, status: 404},
			own:  own(alice, probe{path: carol + "/grants", body: `{"role":"org-analyst","org":"RJ1CH"}`, want: []string{`"org":"RJ1CH"`}}),
			deny: 404, status: statuses(audrey, 403, nadia, 200), seers: rj1Readers},
		"DELETE /api/v1/users/{id}/grants": {attack: probe{path: "/api/v1/users/" + w.bob.ID + "/grants?role=org-admin&org=RJZ", status: 404},
			own:  own(alice, probe{path: carol + "/grants?role=org-analyst&org=RJ1CH", want: []string{w.carol.Email}}),
			deny: 404, status: statuses(audrey, 403), seers: rj1Readers, skip: []string{nadia}},

		"GET /api/v1/tokens": {attack: probe{path: "/api/v1/tokens?user=" + url.QueryEscape(w.bob.Email)},
			own: own(alice, probe{path: "/api/v1/tokens", want: []string{w.aliceTokID}}), deny: 200, seers: []string{nadia}},
		"POST /api/v1/tokens": {attack: probe{body: `{"user":"` + w.bob.Email + `","name":"x"}`, status: 404},
			own:  own(alice, probe{body: `{"user":"` + w.carol.Email + `","name":"carol-laptop"}`, status: 201, want: []string{`"token":"vigil_`}}),
			deny: 404, status: statuses(audrey, 403, nadia, 201), seers: []string{nadia}},
		"DELETE /api/v1/tokens/{id}": {attack: probe{path: "/api/v1/tokens/" + w.bobTokID, status: 404},
			own:  own(alice, probe{path: "/api/v1/tokens/" + w.carolTk[0], want: []string{"revoked_at"}}),
			deny: 404, skip: []string{nadia}},

		"GET /api/v1/audit": {attack: probe{path: "/api/v1/audit?org=RJZ", status: 403},
			own:  own(audrey, probe{path: "/api/v1/audit?org=RJ1", want: []string{w.carol.ID}}),
			deny: 403, status: statuses(nadia, 200), seers: []string{nadia}},
		"GET /api/v1/audit/verify": {attack: probe{status: 403},
			own: own(nadia, probe{want: []string{`"ok":true`}}), deny: 403},

		// The supplier register (suppliers, products, dependencies) is
		// shared reference data every NHS reader sees; Sam, Othersoft's
		// representative, sees only Othersoft's. Deployments, contracts,
		// impact, graphs and exports are the organisations'.
		"GET /api/v1/supply/suppliers": {
			own:  own(alice, probe{want: []string{"ISO-SUP"}}, also(sam, probe{want: []string{"OTHER-SUP"}})),
			deny: 200, seers: nhsReaders},
		"GET /api/v1/supply/suppliers/{id}": {attack: probe{path: "/api/v1/supply/suppliers/ISO-SUP"},
			own:  own(alice, probe{path: "/api/v1/supply/suppliers/ISO-SUP", want: []string{"Isolation Pathology Ltd"}}, also(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP", want: []string{"Othersoft Ltd"}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"PUT /api/v1/supply/suppliers/{id}": {attack: probe{path: "/api/v1/supply/suppliers/ISO-SUP", body: `{"name":"Mine now"}`, status: 404},
			own:  own(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP", body: `{"name":"Othersoft Ltd","tenant_org":"SUP-OTHER"}`, want: []string{`"tenant_org":"SUP-OTHER"`}}),
			deny: 404, skip: []string{rex, nadia}},
		"GET /api/v1/supply/products": {attack: probe{path: "/api/v1/supply/products?supplier=ISO-SUP"},
			own:  own(alice, probe{path: "/api/v1/supply/products?supplier=ISO-SUP", want: []string{"ISO-LIMS"}}, also(sam, probe{path: "/api/v1/supply/products?supplier=OTHER-SUP", want: []string{"OTHER-APP"}})),
			deny: 200, seers: nhsReaders},
		"GET /api/v1/supply/products/{id}": {attack: probe{path: "/api/v1/supply/products/ISO-LIMS"},
			own:  own(alice, probe{path: "/api/v1/supply/products/ISO-LIMS", want: []string{"Isolation LIMS"}}, also(sam, probe{path: "/api/v1/supply/products/OTHER-APP", want: []string{"Othersoft Records"}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"PUT /api/v1/supply/products/{id}": {attack: probe{path: "/api/v1/supply/products/ISO-LIMS", body: `{"supplier_id":"ISO-SUP","name":"x","kind":"saas"}`, status: 404},
			own:  own(sam, probe{path: "/api/v1/supply/products/OTHER-APP", body: `{"supplier_id":"OTHER-SUP","name":"Othersoft Records","kind":"saas","version":"2.1"}`, want: []string{`"version":"2.1"`}}),
			deny: 404, skip: []string{rex, nadia}},
		"DELETE /api/v1/supply/products/{id}": {attack: probe{path: "/api/v1/supply/products/ISO-HOST", status: 404},
			own:  own(sam, probe{path: "/api/v1/supply/products/OTHER-OLD", status: 204}),
			deny: 404, skip: []string{rex, nadia}},
		"GET /api/v1/supply/deployments": {attack: probe{path: "/api/v1/supply/deployments?product=ISO-LIMS"},
			own:  own(alice, probe{path: "/api/v1/supply/deployments?product=ISO-LIMS", want: []string{`"org_ods":"RJ1"`}}),
			deny: 0, seers: rj1Readers},
		"PUT /api/v1/supply/deployments": {attack: probe{body: `{"org_ods":"RJZ","product_id":"ISO-LIMS","service":"pathology","criticality":"low","has_fallback":true}`, status: 404},
			own:  own(alice, probe{body: `{"org_ods":"RJ1","product_id":"ISO-LIMS","service":"pathology","criticality":"critical","has_fallback":true}`, want: []string{`"has_fallback":true`}}),
			deny: 404, status: statuses(nadia, 200)},
		"DELETE /api/v1/supply/deployments": {attack: probe{path: "/api/v1/supply/deployments?org=RJZ&product=ISO-LIMS&service=pathology", status: 404},
			own:  own(alice, probe{path: "/api/v1/supply/deployments?org=RJ1&product=ISO-HOST&service=hosting-test", status: 204}),
			deny: 404, skip: []string{nadia}},
		"GET /api/v1/supply/dependencies": {attack: probe{path: "/api/v1/supply/dependencies?product=ISO-LIMS"},
			own:  own(alice, probe{path: "/api/v1/supply/dependencies?product=ISO-LIMS", want: []string{"ISO-HOST"}}, also(sam, probe{path: "/api/v1/supply/dependencies?product=OTHER-APP", want: []string{"OTHER-HOST"}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"PUT /api/v1/supply/dependencies": {attack: probe{body: `{"product_id":"ISO-LIMS","depends_on_product_id":"ISO-HOST","kind":"hosting","critical":false}`, status: 404},
			own:  own(sam, probe{body: `{"product_id":"OTHER-APP","depends_on_product_id":"OTHER-HOST","kind":"hosting","critical":true}`, want: []string{`"depends_on_product_id":"OTHER-HOST"`}}),
			deny: 404, skip: []string{rex, nadia}},
		"DELETE /api/v1/supply/dependencies": {attack: probe{path: "/api/v1/supply/dependencies?product=ISO-LIMS&depends_on=ISO-HOST", status: 404},
			own:  own(sam, probe{path: "/api/v1/supply/dependencies?product=OTHER-APP&depends_on=OTHER-CDN", status: 204}),
			deny: 404, skip: []string{rex, nadia}},
		"POST /api/v1/supply/import": {attack: probe{body: `{"format_version":1,"deployments":[{"org_ods":"RJZ","product_id":"ISO-LIMS","service":"pathology","criticality":"low","has_fallback":true}]}`, status: 400},
			own:  own(alice, probe{body: `{"format_version":1,"deployments":[{"org_ods":"RJ1","product_id":"ISO-LIMS","service":"pathology","criticality":"high","has_fallback":true}]}`, want: []string{`"applied":true`}}),
			deny: 400, skip: []string{nadia}},
		"GET /api/v1/supply/export": {
			own:  own(alice, probe{want: []string{"ISO-CON-RJ1"}}, also(sam, probe{want: []string{"OTHER-APP"}})),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/supply/impact": {attack: probe{path: "/api/v1/supply/impact?supplier=ISO-SUP"},
			own:  own(alice, probe{path: "/api/v1/supply/impact?supplier=ISO-SUP", want: []string{`"ods":"RJ1"`}}),
			deny: 0, seers: rj1Readers},
		"GET /api/v1/supply/concentration": {attack: probe{path: "/api/v1/supply/concentration?service=pathology&by=icb", status: 404},
			own:  own(nadia, probe{path: "/api/v1/supply/concentration?service=pathology&by=icb", want: []string{"ISO-SUP"}}),
			deny: 404, status: statuses(rex, 200)},
		"GET /api/v1/supply/risk": {attack: probe{status: 404},
			own: own(nadia, probe{want: []string{"ISO-SUP"}}),
			// Rex sees the shared register's suppliers ranked by his region alone.
			deny: 404, status: statuses(rex, 200), seers: []string{rex}},
		"GET /api/v1/supply/graph": {attack: probe{path: "/api/v1/supply/graph?node=product:ISO-LIMS&depth=3"},
			own:  own(alice, probe{path: "/api/v1/supply/graph?node=org:RJ1&depth=2", want: []string{"ISO-LIMS"}}, also(sam, probe{path: "/api/v1/supply/graph?node=supplier:OTHER-SUP&depth=2", want: []string{"OTHER-HOST"}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/supply/snapshots": {attack: probe{status: 404},
			own:  own(nadia, probe{status: 201, want: []string{`"rows":`}}),
			deny: 404},
		"GET /api/v1/supply/contracts": {attack: probe{},
			own:  own(alice, probe{want: []string{"ISO-CON-RJ1"}}),
			deny: 200, seers: rj1Readers},
		"PUT /api/v1/supply/contracts/{id}": {attack: probe{path: "/api/v1/supply/contracts/ISO-CON-RJZ", body: `{"org_ods":"RJZ","supplier_id":"ISO-SUP"}`, status: 404},
			own:  own(alice, probe{path: "/api/v1/supply/contracts/ISO-CON-RJ1", body: `{"org_ods":"RJ1","supplier_id":"ISO-SUP","exit_plan":"rehearsed"}`, want: []string{"rehearsed"}}),
			deny: 404, skip: []string{nadia}},
		"GET /api/v1/supply/trend": {attack: probe{path: "/api/v1/supply/trend?service=pathology&by=icb&group=QKK", status: 404},
			own:  own(nadia, probe{path: "/api/v1/supply/trend?service=pathology&by=icb&group=QKK", want: []string{"ISO-SUP"}}),
			deny: 404},
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
	// The supplier portal (issue 20): a single-use link's token is the
	// credential (GET only describes it; POST spends it, once, with a
	// double-submit CSRF token) and opens a portal session for one
	// statement, which each portal handler checks itself; it is not a
	// Vigil session and reaches nothing else (TestLinksSingleUseExpiring
	// Narrow, TestCampaignUpkeepPages).
	"GET /assurance/link/{token}": true, "POST /assurance/link/{token}": true,
	"GET /assurance/portal": true, "POST /assurance/portal/answers/{seq}": true, "POST /assurance/portal/submit": true,
	"GET /assurance/portal/spreadsheet": true, "POST /assurance/portal/spreadsheet": true,
	// Event ingest authenticates its own credential, an ingest token bound
	// to one organisation (a person's session or API token is refused with
	// 401, TestIngestEndToEnd); it writes that organisation's events only
	// and answers nothing of anyone's data.
	"POST /api/v1/events": true,
	"GET /es/":            true, "HEAD /es/": true, "POST /es/": true, "PUT /es/": true, "GET /es": true, "HEAD /es": true,
}
