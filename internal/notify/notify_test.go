package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/notify/smtptest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

var sets = []store.MigrationSet{audit.Migrations(), org.Migrations(), auth.Migrations(), cases.Migrations(), notify.Migrations()}

// people resolves users through the real auth service, as the app does.
type people struct{ a *auth.Service }

func (p people) ScopeOf(ctx context.Context, who string) (scope.Scope, error) {
	u, err := p.a.GetUser(ctx, scope.System("test"), who)
	if err != nil {
		return scope.Scope{}, err
	}
	if u.Disabled {
		return scope.Scope{}, fault.ErrNotFound
	}
	return p.a.ScopeFor(ctx, u.ID, "notify", "")
}

func (p people) HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error) {
	return p.a.HoldersOf(ctx, orgs, roles)
}

type env struct {
	auth  *auth.Service
	cases *cases.Service
	n     *notify.Service
	smtp  *smtptest.Server
	sys   scope.Scope
	// alice, carol: RJ1 analysts; bob: RJZ; rex: London region lead; nadia: national.
	alice, carol, bob, rex, nadia scope.Scope
}

func setup(t *testing.T, db *store.DB, mutate func(*notify.Options)) *env {
	t.Helper()
	ctx := t.Context()
	now := time.Now
	al := audit.New(db, now)
	orgs, err := org.New(org.Options{DB: db, Audit: al, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	sys := scope.System("test")
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
		{Code: "RJZ", Name: "King's College Hospital", Type: org.Trust, Parent: "QKK"},
		{Code: "Y58", Name: "South West", Type: org.Region},
	} {
		if _, err := orgs.Create(ctx, sys, o); err != nil {
			t.Fatal(err)
		}
	}
	a, err := auth.New(auth.Options{DB: db, Audit: al, Orgs: orgs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{auth: a, sys: sys}
	add := func(email string, role scope.Role, code string) scope.Scope {
		u, err := a.AddUser(ctx, sys, auth.NewUser{Email: email, Name: email, Org: code, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := a.ScopeFor(ctx, u.ID, "session", "")
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	e.alice = add("alice@rj1.nhs.test", scope.OrgAnalyst, "RJ1")
	e.carol = add("carol@rj1.nhs.test", scope.OrgAnalyst, "RJ1")
	e.bob = add("bob@rjz.nhs.test", scope.OrgAnalyst, "RJZ")
	e.rex = add("rex@y56.nhs.test", scope.RegionLead, "Y56")
	add("sam@y58.nhs.test", scope.RegionLead, "Y58")
	e.nadia = add("nadia@nhs.test", scope.NationalAnalyst, "ENG")
	e.cases, err = cases.New(cases.Options{DB: db, Audit: al, Orgs: orgs, Users: people{a}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cases.Close() })
	e.smtp = smtptest.Run(t, "vigil", "s3cret-smtp")
	o := notify.Options{DB: db, Audit: al, Cases: e.cases, Users: people{a}, BaseURL: "https://vigil.test",
		SMTP:           notify.SMTP{Addr: e.smtp.Addr, From: "Vigil <vigil@soc.nhs.test>", User: "vigil", Password: "s3cret-smtp", StartTLS: "off"},
		WebhookBackoff: 20 * time.Millisecond, WebhookTimeout: 3 * time.Second}
	if mutate != nil {
		mutate(&o)
	}
	e.n, err = notify.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.cases.OnEvent(e.n.Hook)
	return e
}

// start runs the notices through a real embedded JetStream.
func (e *env) start(t *testing.T) {
	t.Helper()
	b := bustest.Run(t)
	stop, err := e.n.Start(t.Context(), b, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// receiver is a real HTTPS webhook receiver that checks every signature.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    []notify.Payload
	bad    []string
	// fail answers 503 to the next fail requests.
	fail int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if err := notify.VerifySignature(r.secret, req.Header.Get(notify.SignatureHeader), body, time.Now(), 0); err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil || req.Header.Get(notify.EventHeader) != p.Kind || req.Header.Get(notify.DeliveryHeader) != p.ID {
			r.bad = append(r.bad, "payload or headers disagree")
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		r.got = append(r.got, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) payloads() []notify.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Assignment, mention and escalation travel through CASE_EVENTS to a real
// SMTP server and a real HTTPS receiver that verifies each signature;
// nobody hears of a case they may not see.
func TestNotificationsEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var rcv *receiver
		e := setup(t, db, func(o *notify.Options) {
			rcv = newReceiver(t)
			o.WebhookRoots = rcv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		})
		e.start(t)
		ctx := t.Context()
		// Carol wants mentions by webhook too.
		st, err := e.n.SetSettings(ctx, e.carol, notify.SettingsChange{Email: notify.Kinds(), Webhook: []string{notify.Mentioned}, WebhookURL: rcv.URL + "/vigil"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(st.WebhookSecret, "vwhsec_") {
			t.Fatalf("no webhook secret made: %+v", st)
		}
		rcv.mu.Lock()
		rcv.secret = st.WebhookSecret
		rcv.mu.Unlock()

		c, err := e.cases.CreateCase(ctx, e.alice, cases.NewCase{Org: "RJ1", Title: "Ransomware on the <b>PACS</b> server", Severity: cases.High, Template: "ransomware"})
		if err != nil {
			t.Fatal(err)
		}
		carol := "carol@rj1.nhs.test"
		if _, err := e.cases.UpdateCase(ctx, e.alice, c.ID, cases.CasePatch{Assignee: &carol}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cases.AddComment(ctx, e.alice, c.ID, "@carol@rj1.nhs.test please look at the firewall logs, and @bob@rjz.nhs.test too"); err != nil {
			t.Fatal(err)
		}
		mails := e.smtp.Wait(2, 10*time.Second)
		waitFor(t, "the mention's webhook", func() bool { return len(rcv.payloads()) == 1 })
		toCarol := e.smtp.To(carol)
		if len(toCarol) != 2 || len(mails) != 2 {
			t.Fatalf("mails = %d (carol %d), want carol's assignment and mention only: %+v", len(mails), len(toCarol), mails)
		}
		for _, m := range toCarol {
			if m.User != "vigil" {
				t.Errorf("mail sent without SMTP authentication: %+v", m)
			}
			if !strings.Contains(m.Text(), c.ID) || !strings.Contains(m.Text(), "https://vigil.test/cases/"+c.ID) || !strings.Contains(m.Text(), "Ransomware on the <b>PACS</b> server") {
				t.Errorf("mail lacks the case's ID, link or title:\n%s", m.Text())
			}
		}
		if !strings.HasPrefix(toCarol[0].Subject(), "[Vigil] Case assigned to you: Ransomware") || !strings.Contains(toCarol[1].Subject(), "You were mentioned") {
			t.Errorf("subjects: %q / %q", toCarol[0].Subject(), toCarol[1].Subject())
		}
		p := rcv.payloads()[0]
		if p.Kind != notify.Mentioned || p.Case.ID != c.ID || p.To != carol || p.Case.Severity != "high" {
			t.Errorf("webhook payload = %+v", p)
		}

		// Escalation to the London region and the national team: their
		// leads hear of it, the South West's does not.
		e.n.Hook(cases.Event{Kind: notify.Escalated, Org: "RJ1", Case: c.ID, Actor: "clock", At: time.Now(),
			Detail: map[string]string{"escalate_to": "Y56,ENG", "clock": "ack"}})
		e.smtp.Wait(4, 10*time.Second)
		if len(e.smtp.To("rex@y56.nhs.test")) != 1 || len(e.smtp.To("nadia@nhs.test")) != 1 || len(e.smtp.To("sam@y58.nhs.test")) != 0 {
			t.Errorf("escalation mails: %+v", e.smtp.Mails())
		}
		if m := e.smtp.To("rex@y56.nhs.test"); len(m) == 1 && !strings.Contains(m[0].Text(), "Escalated to Y56, ENG") || !strings.Contains(m[0].Text(), "acknowledge clock ran out") {
			t.Errorf("escalation mail does not say why:\n%s", m[0].Text())
		}

		// A breach naming someone who may not see the case (Bob, another
		// trust) sends him nothing; nor does anything once Carol's grant
		// is gone.
		e.n.Hook(cases.Event{Kind: notify.Breached, Org: "RJ1", Case: c.ID, Actor: "clock", At: time.Now(), Users: []string{"bob@rjz.nhs.test"},
			Detail: map[string]string{"clock": "respond", "due": time.Now().Format(time.RFC3339)}})
		if _, err := e.auth.Revoke(ctx, e.sys, carol, scope.OrgAnalyst, "RJ1"); err != nil {
			t.Fatal(err)
		}
		e.n.Hook(cases.Event{Kind: notify.Breached, Org: "RJ1", Case: c.ID, Actor: "clock", At: time.Now(), Users: []string{carol},
			Detail: map[string]string{"clock": "resolve"}})
		// A marker after both, to the national analyst, shows they were handled.
		e.n.Hook(cases.Event{Kind: notify.Breached, Org: "RJ1", Case: c.ID, Actor: "clock", At: time.Now(), Users: []string{"nadia@nhs.test"},
			Detail: map[string]string{"clock": "nis"}})
		waitFor(t, "the marker", func() bool { return len(e.smtp.To("nadia@nhs.test")) == 2 })
		if len(e.smtp.To("bob@rjz.nhs.test")) != 0 || len(e.smtp.To(carol)) != 2 {
			t.Errorf("someone who may not see the case was told: bob %d, carol %d", len(e.smtp.To("bob@rjz.nhs.test")), len(e.smtp.To(carol)))
		}
		if m := e.smtp.To("nadia@nhs.test"); !strings.Contains(m[1].Text(), "NIS incident report") {
			t.Errorf("breach mail does not name the clock:\n%s", m[1].Text())
		}
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if len(rcv.bad) > 0 {
			t.Errorf("receiver refused: %v", rcv.bad)
		}
	}, sets...)
}

// A redelivered notice sends nothing twice; an SMTP server that refuses
// for a while gets the message once it takes mail again.
func TestDeliverIdempotentAndRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, nil)
		ctx := t.Context()
		c, err := e.cases.CreateCase(ctx, e.alice, cases.NewCase{Org: "RJ1", Title: "Phishing wave", Severity: cases.Medium})
		if err != nil {
			t.Fatal(err)
		}
		n := notify.Notice{ID: "NT-test1", Event: cases.Event{Kind: notify.Assigned, Org: "RJ1", Case: c.ID, Actor: "alice@rj1.nhs.test", At: time.Now(), Users: []string{"carol@rj1.nhs.test"}}}
		e.smtp.SetFailing(true)
		if err := e.n.Deliver(ctx, n); err == nil {
			t.Fatal("Deliver with the SMTP server refusing = nil, want an error for the bus to retry")
		}
		e.smtp.SetFailing(false)
		for range 3 {
			if err := e.n.Deliver(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.smtp.To("carol@rj1.nhs.test"); len(got) != 1 {
			t.Errorf("carol got %d mails after a refusal and three deliveries, want 1", len(got))
		}
		ds, err := e.n.Deliveries(ctx, e.carol, 10)
		if err != nil || len(ds) != 1 || ds[0].Outcome != "sent" || ds[0].Channel != "email" {
			t.Errorf("deliveries = %+v, %v", ds, err)
		}
		// Assigning oneself tells nobody.
		self := notify.Notice{ID: "NT-test2", Event: cases.Event{Kind: notify.Assigned, Org: "RJ1", Case: c.ID, Actor: "carol@rj1.nhs.test", At: time.Now(), Users: []string{"carol@rj1.nhs.test"}}}
		if err := e.n.Deliver(ctx, self); err != nil || len(e.smtp.To("carol@rj1.nhs.test")) != 1 {
			t.Errorf("self-assignment: %v, %d mails", err, len(e.smtp.To("carol@rj1.nhs.test")))
		}
		// Someone who turned e-mail off for assignments gets none.
		if _, err := e.n.SetSettings(ctx, e.rex, notify.SettingsChange{Email: []string{notify.Escalated}}); err != nil {
			t.Fatal(err)
		}
		off := notify.Notice{ID: "NT-test3", Event: cases.Event{Kind: notify.Assigned, Org: "RJ1", Case: c.ID, Actor: "alice@rj1.nhs.test", At: time.Now(), Users: []string{"rex@y56.nhs.test"}}}
		if err := e.n.Deliver(ctx, off); err != nil || len(e.smtp.To("rex@y56.nhs.test")) != 0 {
			t.Errorf("e-mail off: %v, %d mails", err, len(e.smtp.To("rex@y56.nhs.test")))
		}
	}, sets...)
}

// Webhooks: a 503 is retried with backoff; a redirect to another host is
// not followed (the signed event is for its receiver only); a redirect on
// the same host is; a 4xx is given up at once and recorded.
func TestWebhookDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t)
		other := newReceiver(t)
		var mu sync.Mutex
		hits := map[string]int{}
		front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[r.URL.Path]++
			mu.Unlock()
			switch r.URL.Path {
			case "/away":
				http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
			case "/gone":
				http.Error(w, "no such hook", http.StatusNotFound)
			}
		}))
		defer front.Close()
		e := setup(t, db, func(o *notify.Options) {
			o.SMTP = notify.SMTP{}
			o.WebhookAttempts = 3
			o.WebhookRoots = rcv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			o.WebhookRoots.AddCert(front.Certificate())
			o.WebhookRoots.AddCert(other.Certificate())
		})
		ctx := t.Context()
		c, err := e.cases.CreateCase(ctx, e.alice, cases.NewCase{Org: "RJ1", Title: "Webhook case", Severity: cases.Low})
		if err != nil {
			t.Fatal(err)
		}
		deliver := func(id, url string) {
			t.Helper()
			st, err := e.n.SetSettings(ctx, e.carol, notify.SettingsChange{Webhook: []string{notify.Assigned}, WebhookURL: url})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []*receiver{rcv, other} {
				r.mu.Lock()
				r.secret = st.WebhookSecret
				r.mu.Unlock()
			}
			n := notify.Notice{ID: id, Event: cases.Event{Kind: notify.Assigned, Org: "RJ1", Case: c.ID, Actor: "alice@rj1.nhs.test", At: time.Now(), Users: []string{"carol@rj1.nhs.test"}}}
			if err := e.n.Deliver(ctx, n); err != nil {
				t.Fatalf("Deliver: %v (a webhook failure is recorded, not returned)", err)
			}
		}
		rcv.mu.Lock()
		rcv.fail = 2
		rcv.mu.Unlock()
		deliver("NT-w1", rcv.URL+"/hook")
		if got := rcv.payloads(); len(got) != 1 || got[0].Case.Title != "Webhook case" {
			t.Errorf("after two 503s the third try should arrive: %+v", got)
		}
		deliver("NT-w2", front.URL+"/away")
		if len(other.payloads()) != 0 {
			t.Errorf("a redirect to another host was followed: %+v", other.payloads())
		}
		deliver("NT-w3", front.URL+"/gone")
		mu.Lock()
		if hits["/away"] != 1 || hits["/gone"] != 1 {
			t.Errorf("refused redirect and 404 should be tried once each: %v", hits)
		}
		mu.Unlock()
		ds, err := e.n.Deliveries(ctx, e.carol, 10)
		if err != nil || len(ds) != 3 {
			t.Fatalf("deliveries = %+v, %v", ds, err)
		}
		if !strings.Contains(ds[0].Outcome, "404") || !strings.Contains(ds[1].Outcome, "another host") || ds[2].Outcome != "sent" {
			t.Errorf("outcomes = %q, %q, %q", ds[0].Outcome, ds[1].Outcome, ds[2].Outcome)
		}
	}, sets...)
}

// Settings: defaults, validation naming the field, https only, a secret
// made once and rotated on request, and no secret in the audit log.
func TestSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, nil)
		ctx := t.Context()
		st, err := e.n.Settings(ctx, e.alice)
		if err != nil || !slices.Equal(st.Email, notify.Kinds()) || len(st.Webhook) != 0 || !st.EmailAvailable {
			t.Fatalf("defaults = %+v, %v", st, err)
		}
		for _, tc := range []struct {
			ch    notify.SettingsChange
			field string
		}{
			{notify.SettingsChange{Email: []string{"case.assigned", "case.exploded"}}, "email[1]"},
			{notify.SettingsChange{Webhook: []string{"case.assigned"}}, "webhook_url"},
			{notify.SettingsChange{WebhookURL: "http://hooks.example/x"}, "webhook_url"},
			{notify.SettingsChange{WebhookURL: "https://user:pw@hooks.example/x"}, "webhook_url"},
			{notify.SettingsChange{WebhookURL: "javascript:alert(1)"}, "webhook_url"},
		} {
			_, err := e.n.SetSettings(ctx, e.alice, tc.ch)
			var inv *fault.Invalid
			if !errors.As(err, &inv) || inv.Field != tc.field {
				t.Errorf("SetSettings(%+v) = %v, want invalid %s", tc.ch, err, tc.field)
			}
		}
		if _, err := e.n.SetSettings(ctx, scope.System("cli"), notify.SettingsChange{}); err == nil {
			t.Error("the system scope has no settings of its own")
		}
		a, err := e.n.SetSettings(ctx, e.alice, notify.SettingsChange{Email: []string{"case.escalated", "case.assigned"}, Webhook: []string{"clock.breached"}, WebhookURL: "https://hooks.example/vigil"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Email, []string{"case.assigned", "case.escalated"}) || a.WebhookSecret == "" {
			t.Errorf("saved = %+v", a)
		}
		b, err := e.n.SetSettings(ctx, e.alice, notify.SettingsChange{Webhook: []string{"clock.breached"}, WebhookURL: "https://hooks.example/vigil2"})
		if err != nil || b.WebhookSecret != a.WebhookSecret || len(b.Email) != 0 {
			t.Errorf("a new URL keeps the secret: %+v, %v", b, err)
		}
		c, err := e.n.SetSettings(ctx, e.alice, notify.SettingsChange{Webhook: []string{"clock.breached"}, WebhookURL: "https://hooks.example/vigil2", RotateSecret: true})
		if err != nil || c.WebhookSecret == a.WebhookSecret || c.WebhookSecret == "" {
			t.Errorf("rotate: %+v, %v", c, err)
		}
		got, err := e.n.Settings(ctx, e.alice)
		if err != nil || got.WebhookSecret != c.WebhookSecret || got.WebhookURL != "https://hooks.example/vigil2" {
			t.Errorf("read back = %+v, %v", got, err)
		}
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'notify.settings'`).Scan(&n); err != nil || n != 3 {
			t.Errorf("audit entries = %d, %v", n, err)
		}
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE after_json LIKE '%vwhsec_%' OR before_json LIKE '%vwhsec_%'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("webhook secret in the audit log: %d, %v", n, err)
		}
	}, sets...)
}

// The signature: what VerifySignature accepts and refuses.
func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_765_000_000, 0)
	body := []byte(`{"kind":"case.assigned"}`)
	h := notify.Sign("k1", now, body)
	if err := notify.VerifySignature("k1", h, body, now.Add(time.Minute), 0); err != nil {
		t.Errorf("good signature: %v", err)
	}
	for name, tc := range map[string]struct {
		secret, header string
		body           []byte
		at             time.Time
	}{
		"other key":      {"k2", h, body, now},
		"changed body":   {"k1", h, []byte(`{"kind":"case.escalated"}`), now},
		"replayed later": {"k1", h, body, now.Add(6 * time.Minute)},
		"no timestamp":   {"k1", strings.Replace(h, "t=", "x=", 1), body, now},
		"garbage":        {"k1", "v1=zz", body, now},
	} {
		if err := notify.VerifySignature(tc.secret, tc.header, tc.body, tc.at, 0); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
}
