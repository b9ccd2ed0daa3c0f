package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/api"
	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// waitHead reads messages on the audit head subject until one carries want.
func waitHead(t *testing.T, next func(time.Duration) ([]byte, error), want audit.Head) AuditHeadMessage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, err := next(time.Until(deadline))
		if err != nil {
			break
		}
		var m AuditHeadMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("head message %s: %v", data, err)
		}
		// On a shared NATS other servers publish too: theirs differ.
		if m.Seq == want.Seq && m.Hash == want.Hash {
			return m
		}
	}
	t.Fatalf("no head message carrying %s", want)
	return AuditHeadMessage{}
}

// After a change, the bus and the metrics carry the new head of the
// audit chain, for collectors that keep a record outside the database.
func TestAuditHeadPublished(t *testing.T) { engines(t, testAuditHeadPublished) }

func testAuditHeadPublished(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	ctx := context.Background()
	// The raw connection sees the server's subject: in the namespace.
	sub, err := s.Bus.Conn().SubscribeSync(s.Bus.Namespace().Subject(AuditHeadSubject))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if _, err := s.Orgs.Create(ctx, scope.System("test"), org.Org{Code: "Y56", Name: "London", Type: org.Region}); err != nil {
		t.Fatal(err)
	}
	want, err := s.Audit.Head(ctx)
	if err != nil || want.Seq < 2 || want.KeyID == "" {
		t.Fatalf("head %+v, %v", want, err)
	}
	m := waitHead(t, func(d time.Duration) ([]byte, error) {
		msg, err := sub.NextMsg(d)
		if err != nil {
			return nil, err
		}
		return msg.Data, nil
	}, want)
	if m.KeyID != want.KeyID || m.Head != want.String() || m.At.IsZero() {
		t.Errorf("head message %+v, want %+v", m, want)
	}
	// The stream keeps it for a collector that was not listening.
	stream, err := s.Bus.JetStream().Stream(ctx, s.Bus.Namespace().Name("AUDIT_HEAD"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, s.Bus.Namespace().Subject(AuditHeadSubject)); err != nil {
		t.Errorf("AUDIT_HEAD holds no head: %v", err)
	}

	_, body := get(t, http.DefaultClient, s.url("/metrics"), "")
	for _, line := range []string{
		fmt.Sprintf("vigil_audit_head_seq %d", want.Seq),
		fmt.Sprintf(`vigil_audit_head_info{hash="%s",key_id="%s",seq="%d"} 1`, want.Hash, want.KeyID, want.Seq),
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// The publisher on a real embedded NATS, on both databases: the head of
// each commit arrives, the last of a burst always, and a head is stored
// once however often it is published.
func TestAuditHeadOnEmbeddedBus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := bustest.Run(t)
		l := audit.New(db, nil)
		s := &Server{App: &App{Audit: l, Log: NewLogger(config.Default(), io.Discard), Now: time.Now}, Bus: b}
		sub, err := b.Conn().SubscribeSync(AuditHeadSubject)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.startAuditHeads(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.App.Close() })
		next := func(d time.Duration) ([]byte, error) {
			msg, err := sub.NextMsg(d)
			if err != nil {
				return nil, err
			}
			return msg.Data, nil
		}
		waitHead(t, next, audit.Head{})
		for i := range 5 {
			if err := l.Record(context.Background(), scope.System("t"), audit.Change{Action: "burst", ObjectID: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		want, _ := l.Head(context.Background())
		waitHead(t, next, want)
		stream, err := b.JetStream().Stream(context.Background(), "AUDIT_HEAD")
		if err != nil {
			t.Fatal(err)
		}
		// The subject's subscribers can hear the last head a moment before
		// the stream has stored it: wait for the stream to hold two.
		var info *jetstream.StreamInfo
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if info, err = stream.Info(context.Background()); err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs >= 2 || time.Now().After(deadline) {
				break
			}
		}
		if info.State.Msgs < 2 || info.State.Msgs > 6 || info.Config.Discard != jetstream.DiscardOld {
			t.Errorf("stream holds %d heads (want the first, the last and at most one per commit), config %+v", info.State.Msgs, info.Config)
		}
	}, Migrations()...)
}

// browser is a signed-in web session.
type browser struct {
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signInBrowser(t *testing.T, s *Server, email, pw string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, page := get(t, c, s.url("/signin"), "")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf field on the sign-in form")
	}
	res, err := c.PostForm(s.url("/signin"), url.Values{"csrf": {m[1]}, "email": {email}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	_, page = get(t, c, s.url("/"), "")
	if m = csrfField.FindStringSubmatch(page); m == nil {
		t.Fatal("no csrf token on the home page")
	}
	return &browser{c: c, csrf: m[1]}
}

func (b *browser) post(t *testing.T, u string, form url.Values) int {
	t.Helper()
	res, err := b.c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// lastEntry is the newest audit entry with the action, as a national
// auditor sees it.
func lastEntry(t *testing.T, s *Server, action string) (audit.Entry, bool) {
	t.Helper()
	es, _, err := s.Audit.List(context.Background(), scope.System("test"), audit.Filter{Action: action, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 {
		return audit.Entry{}, false
	}
	return es[0], true
}

// Signing out and a request refused for its CSRF token each leave an
// audit entry naming the user, filed under the user's organisation.
func TestSignOutAndCSRFRefusalAudited(t *testing.T) { engines(t, testSignOutAndCSRFRefusalAudited) }

func testSignOutAndCSRFRefusalAudited(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s)
	b := signInBrowser(t, s, f.alice.Email, "correct horse battery")

	// A cross-site form post: the session cookie, no token.
	if st := b.post(t, s.url("/signout"), url.Values{"csrf": {"forged"}}); st != http.StatusForbidden {
		t.Fatalf("forged sign-out = %d, want 403", st)
	}
	e, ok := lastEntry(t, s, "auth.csrf_refused")
	if !ok || e.Actor != f.alice.Email || e.ActorID != f.alice.ID || e.Org != "RJ1" || e.ObjectID != "POST /signout" || e.Remote == "" {
		t.Errorf("CSRF refusal entry = %+v (found %v)", e, ok)
	}
	if _, ok := lastEntry(t, s, "auth.signout"); ok {
		t.Error("the refused sign-out was recorded as a sign-out")
	}

	if st := b.post(t, s.url("/signout"), url.Values{"csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("sign-out = %d", st)
	}
	e, ok = lastEntry(t, s, "auth.signout")
	if !ok || e.Actor != f.alice.Email || e.ObjectID != f.alice.ID || e.Org != "RJ1" || e.Via != "session" {
		t.Errorf("sign-out entry = %+v (found %v)", e, ok)
	}
	// An auditor of RJ1 sees both; one of RJZ neither.
	ctx := context.Background()
	rj1 := scope.Scope{Grants: []scope.Grant{{Role: scope.Auditor, Org: "RJ1", Path: "/ENG/Y56/QKK/RJ1/"}}}
	rjz := scope.Scope{Grants: []scope.Grant{{Role: scope.Auditor, Org: "RJZ", Path: "/ENG/Y56/QKK/RJZ/"}}}
	for _, action := range []string{"auth.signout", "auth.csrf_refused"} {
		if es, _, _ := s.Audit.List(ctx, rj1, audit.Filter{Action: action}); len(es) != 1 {
			t.Errorf("RJ1's auditor sees %d %s entries, want 1", len(es), action)
		}
		if es, _, _ := s.Audit.List(ctx, rjz, audit.Filter{Action: action}); len(es) != 0 {
			t.Errorf("RJZ's auditor sees %d %s entries", len(es), action)
		}
	}
	if v, err := s.Audit.Verify(ctx, nil); err != nil || !v.OK {
		t.Errorf("chain after: %+v %v", v, err)
	}
}

// A trust's auditor sees its own users' supplier-register imports and
// exports — through the API and the web downloads — and not another
// trust's.
func TestTrustAuditorSeesOwnSupplyImportsAndExports(t *testing.T) {
	engines(t, testTrustAuditorSeesOwnSupplyImportsAndExports)
}

func testTrustAuditorSeesOwnSupplyImportsAndExports(t *testing.T, start func(testing.TB) *Server) {
	s := startSupplyServer(t, start)
	ctx := context.Background()
	sys := scope.System("test")
	files := caseFiles(t, "pathology")
	if res, body := upload(t, s.url("/api/v1/supply/import"), s.national, files); res.StatusCode != 200 {
		t.Fatalf("national import = %d %s", res.StatusCode, body)
	}
	tok := func(email string, role scope.Role, code string) string {
		if _, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: email, Name: email, Org: code, Role: role, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		_, secret, err := s.Auth.CreateToken(ctx, sys, email, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	kings := tok("kim@rjz.nhs.test", scope.OrgAnalyst, "RJZ")
	audRJ1 := tok("audrey@rj1.nhs.test", scope.Auditor, "RJ1")
	audRJZ := tok("arthur@rjz.nhs.test", scope.Auditor, "RJZ")
	for who, bearer := range map[string]string{"RJ1": s.trust, "RJZ": kings} {
		body := []byte("org_ods,product_id,service,criticality,has_fallback\n" + who + ",SYN-LIMS,pathology,critical,yes\n")
		if res, b := upload(t, s.url("/api/v1/supply/import"), bearer, map[string][]byte{"deployments.csv": body}); res.StatusCode != 200 || !strings.Contains(b, `"applied":true`) {
			t.Fatalf("%s import = %d %s", who, res.StatusCode, b)
		}
		if res, b := get(t, http.DefaultClient, s.url("/api/v1/supply/export"), bearer); res.StatusCode != 200 {
			t.Fatalf("%s export = %d %s", who, res.StatusCode, b)
		}
		if res, b := get(t, http.DefaultClient, s.url("/suppliers/impact/download?supplier=SYNNOVIS&format=csv"), bearer); res.StatusCode != 200 {
			t.Fatalf("%s impact download = %d %.300s", who, res.StatusCode, b)
		}
	}
	seen := func(bearer string) map[string][]string {
		res, body := get(t, http.DefaultClient, s.url("/api/v1/audit?limit=500"), bearer)
		if res.StatusCode != 200 {
			t.Fatalf("audit = %d %s", res.StatusCode, body)
		}
		page := decodeJSON[api.Page[audit.Entry]](t, body)
		out := map[string][]string{}
		for _, e := range page.Items {
			out[e.Action+" "+e.ObjectType] = append(out[e.Action+" "+e.ObjectType], e.Actor+"@"+e.Org)
		}
		return out
	}
	for _, c := range []struct {
		auditor, own, other string
	}{{audRJ1, "tess@rj1.nhs.test@RJ1", "kim@rjz.nhs.test@RJZ"}, {audRJZ, "kim@rjz.nhs.test@RJZ", "tess@rj1.nhs.test@RJ1"}} {
		got := seen(c.auditor)
		for _, what := range []string{"supply.import import", "export supply_register", "export supply_impact"} {
			if strings.Join(got[what], " ") != c.own {
				t.Errorf("auditor of %s sees %s entries %v, want exactly [%s]", c.own, what, got[what], c.own)
			}
		}
		for what, list := range got {
			for _, x := range list {
				if x == c.other || strings.HasPrefix(x, "nadia@") {
					t.Errorf("auditor for %s sees %s by %s", c.own, what, x)
				}
			}
		}
	}
}

func TestServeRefusesReadOnly(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ReadOnly = true
	if s, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "read-only") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("serve --read-only = %v", err)
	}
}

// The verify API reports how the chain is anchored and checks a head.
func TestVerifyAPIReportsAnchoring(t *testing.T) { engines(t, testVerifyAPIReportsAnchoring) }

func testVerifyAPIReportsAnchoring(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	ctx := context.Background()
	sys := scope.System("test")
	if _, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: "aud@nhs.test", Name: "Aud", Org: org.RootCode, Role: scope.Auditor, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	_, tok, err := s.Auth.CreateToken(ctx, sys, "aud@nhs.test", "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := s.Audit.Head(ctx)
	res, body := get(t, http.DefaultClient, s.url("/api/v1/audit/verify?expect="+head.String()), tok)
	v := decodeJSON[audit.Verification](t, body)
	if res.StatusCode != 200 || !v.OK || v.Anchoring != "keyed" || v.KeyedFrom != 1 || v.KeyID != s.Audit.KeyID() || !strings.Contains(v.Anchor, "HMAC-SHA-256") || v.Expected == nil {
		t.Errorf("verify = %d %s", res.StatusCode, body)
	}
	res, body = get(t, http.DefaultClient, s.url(fmt.Sprintf("/api/v1/audit/verify?expect=%d:%s", head.Seq+5, strings.Repeat("ab", 8))), tok)
	v = decodeJSON[audit.Verification](t, body)
	if res.StatusCode != 200 || v.OK || !strings.Contains(v.Reason, "removed from the end") {
		t.Errorf("verify against a later head = %d %s", res.StatusCode, body)
	}
	if res, body := get(t, http.DefaultClient, s.url("/api/v1/audit/verify?expect=nonsense"), tok); res.StatusCode != 400 || !strings.Contains(body, "expect") {
		t.Errorf("bad expect = %d %s", res.StatusCode, body)
	}
	// The web page says the same.
	b := signInBrowser(t, s, "aud@nhs.test", "correct horse battery")
	res, body = get(t, b.c, s.url("/admin/audit/verify"), "")
	if res.StatusCode != 200 || !strings.Contains(body, "The audit chain is intact") || !strings.Contains(body, "Keyed: every entry carries an HMAC-SHA-256 made with audit key "+s.Audit.KeyID()) {
		t.Errorf("verify page = %d %.2000s", res.StatusCode, body)
	}
}
