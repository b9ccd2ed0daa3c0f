package vuln

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testclock"
)

var alertSets = []store.MigrationSet{org.Migrations(), audit.Migrations(), supply.Migrations(), Migrations()}

// sentBox is a Notifier that keeps what it is asked to send; each
// organisation's people are "<role>@<org>".
type sentBox struct {
	mu   sync.Mutex
	msgs []Message
}

func (b *sentBox) HoldersOf(_ context.Context, orgs []string, roles []scope.Role) ([]string, error) {
	var out []string
	for _, o := range orgs {
		for _, r := range roles {
			out = append(out, strings.ToLower(string(r)+"@"+o))
		}
	}
	return out, nil
}

func (b *sentBox) Send(_ context.Context, m Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return nil
}

func (b *sentBox) take() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.msgs
	b.msgs = nil
	return out
}

type alertEnv struct {
	svc    *Alerts
	sup    *supply.Service
	clk    *testclock.Clock
	box    *sentBox
	db     *store.DB
	al     *audit.Log
	nadia  scope.Scope // national analyst
	alice  scope.Scope // org analyst of RJ1
	audrey scope.Scope // auditor of RJ1
	bob    scope.Scope // org analyst of RJZ
	rex    scope.Scope // region lead of Y58
	multi  scope.Scope // org admin of RJ1 and of RA7
}

var alertT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// The estate: ENG → Y56 → QKK → {RJ1, RJZ}; ENG → Y58 → QJK → {RA7, RBA}.
// Acme's EPR depends on Acme's TLS library, which carries the CVE; RJ1
// deploys the EPR, RA7 the library itself, RJZ Bravo's LIMS, RBA nothing.
func newAlertEnv(t testing.TB, db *store.DB) *alertEnv {
	t.Helper()
	ctx := context.Background()
	clk := testclock.New(alertT0)
	al := audit.New(db, clk.Now)
	os, err := org.New(org.Options{DB: db, Audit: al, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	sys := scope.System("test")
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
		{Code: "RJZ", Name: "King's College Hospital", Type: org.Trust, Parent: "QKK"},
		{Code: "Y58", Name: "South West", Type: org.Region},
		{Code: "QJK", Name: "NHS Devon ICB", Type: org.ICB, Parent: "Y58"},
		{Code: "RA7", Name: "Bristol Test Hospitals", Type: org.Trust, Parent: "QJK"},
		{Code: "RBA", Name: "Somerset Test Trust", Type: org.Trust, Parent: "QJK"},
	} {
		if _, err := os.Create(ctx, sys, o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	sup, err := supply.New(supply.Options{DB: db, Audit: al, Orgs: os, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error {
			_, err := sup.PutSupplier(ctx, sys, supply.Supplier{ID: "ACME", Name: "Acme Health"})
			return err
		},
		func() error {
			_, err := sup.PutSupplier(ctx, sys, supply.Supplier{ID: "BRAVO", Name: "Bravo Labs"})
			return err
		},
		func() error {
			_, err := sup.PutProduct(ctx, sys, supply.Product{ID: "ACME-EPR", SupplierID: "ACME", Name: "Acme EPR", Kind: supply.Software, Version: "4.2.0"})
			return err
		},
		func() error {
			_, err := sup.PutProduct(ctx, sys, supply.Product{ID: "ACME-TLS", SupplierID: "ACME", Name: "Acme TLS Library", Kind: supply.Component})
			return err
		},
		func() error {
			_, err := sup.PutProduct(ctx, sys, supply.Product{ID: "BRAVO-LIMS", SupplierID: "BRAVO", Name: "Bravo LIMS", Kind: supply.SaaS})
			return err
		},
		func() error {
			_, err := sup.PutDependency(ctx, sys, supply.Dependency{ProductID: "ACME-EPR", DependsOnID: "ACME-TLS", Kind: supply.DepComponent, Critical: true})
			return err
		},
		func() error {
			_, err := sup.PutVuln(ctx, sys, supply.Vuln{ProductID: "ACME-TLS", CVE: "CVE-2024-3094", Component: "xz-utils"})
			return err
		},
	}
	for _, d := range []supply.Deployment{
		{OrgODS: "RJ1", ProductID: "ACME-EPR", Service: "epr", Criticality: supply.Critical},
		{OrgODS: "RA7", ProductID: "ACME-TLS", Service: "web", Criticality: supply.Medium},
		{OrgODS: "RJZ", ProductID: "BRAVO-LIMS", Service: "pathology", Criticality: supply.High},
	} {
		steps = append(steps, func() error { _, err := sup.PutDeployment(ctx, sys, d); return err })
	}
	for _, st := range steps {
		if err := st(); err != nil {
			t.Fatal(err)
		}
	}
	box := &sentBox{}
	svc, err := NewAlerts(AlertOptions{DB: db, Audit: al, Register: sup, Orgs: os, Notifier: box, Now: clk.Now, BaseURL: "https://vigil.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	p := func(email string, role scope.Role, code, path string) scope.Scope {
		return scope.Scope{UserID: "u-" + email, Email: email, Via: "session", Home: code, Grants: []scope.Grant{{Role: role, Org: code, Path: path}}}
	}
	multi := p("mo@csu.nhs.test", scope.OrgAdmin, "RJ1", "/ENG/Y56/QKK/RJ1/")
	multi.Grants = append(multi.Grants, scope.Grant{Role: scope.OrgAdmin, Org: "RA7", Path: "/ENG/Y58/QJK/RA7/"})
	return &alertEnv{svc: svc, sup: sup, clk: clk, box: box, db: db, al: al,
		nadia:  p("nadia@nhs.test", scope.NationalAnalyst, "ENG", "/ENG/"),
		alice:  p("alice@rj1.nhs.test", scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/"),
		audrey: p("audrey@rj1.nhs.test", scope.Auditor, "RJ1", "/ENG/Y56/QKK/RJ1/"),
		bob:    p("bob@rjz.nhs.test", scope.OrgAnalyst, "RJZ", "/ENG/Y56/QKK/RJZ/"),
		rex:    p("rex@y58.nhs.test", scope.RegionLead, "Y58", "/ENG/Y58/"),
		multi:  multi,
	}
}

func eachAlertDB(t *testing.T, fn func(t *testing.T, e *alertEnv)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newAlertEnv(t, db)) }, alertSets...)
}

func cveAlert() NewAlert {
	return NewAlert{Title: "xz backdoor in Acme TLS", Severity: "critical", CVEs: []string{"cve-2024-3094"},
		RequiredAction: "Upgrade Acme TLS Library to 5.6.2 or later.", Deadline: alertT0.Add(14 * 24 * time.Hour), TLP: "amber"}
}

func orgsOf(ms []AlertOrg) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Org)
	}
	return out
}

func wantErr(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var inv *fault.Invalid
	if !errors.As(err, &inv) || inv.Field != field {
		t.Fatalf("err = %v, want invalid %s", err, field)
	}
}

// A CVE the register lists in a component reaches exactly the
// organisations deploying it, directly or through a product that depends
// on it, each with the path that put it there.
func TestAlertScopeFromRegister(t *testing.T) {
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		a, err := e.svc.Issue(ctx, e.nadia, cveAlert())
		if err != nil {
			t.Fatal(err)
		}
		if got := orgsOf(a.Orgs); !slices.Equal(got, []string{"RA7", "RJ1"}) {
			t.Fatalf("in scope %v, want RA7 RJ1", got)
		}
		if a.CVEs[0] != "CVE-2024-3094" || a.TLP != "AMBER" {
			t.Errorf("alert %+v: CVE and TLP not normalised", a)
		}
		rj1 := a.Orgs[1]
		for _, w := range []string{"Guy's and St Thomas' deploys Acme EPR (supplier Acme Health)", "which depends on affected component Acme TLS Library", "CVE-2024-3094"} {
			if !strings.Contains(rj1.Path, w) {
				t.Errorf("RJ1 path %q lacks %q", rj1.Path, w)
			}
		}
		if !strings.Contains(a.Orgs[0].Path, "Bristol Test Hospitals deploys Acme TLS Library") {
			t.Errorf("RA7 path %q", a.Orgs[0].Path)
		}
		if !rj1.AckDue.Equal(alertT0.Add(48*time.Hour)) || !rj1.UpdateDue.Equal(alertT0.Add(72*time.Hour)) {
			t.Errorf("clocks %v %v", rj1.AckDue, rj1.UpdateDue)
		}
		if rj1.ICB != "QKK" || rj1.Region != "Y56" || rj1.Type != string(org.Trust) {
			t.Errorf("RJ1 place %+v", rj1)
		}
		// Notices: one per organisation, to its own people.
		_ = e.svc.Close()
		msgs := e.box.take()
		if len(msgs) != 2 {
			t.Fatalf("%d notices, want 2: %+v", len(msgs), msgs)
		}
		for _, m := range msgs {
			p := m.Payload.(Payload)
			if m.Kind != KindIssued || !slices.Contains(m.To, "org-admin@"+strings.ToLower(p.Org)) || len(m.To) != 2 || !strings.Contains(m.Subject, "[TLP:AMBER]") ||
				!strings.Contains(m.Body, "Why "+p.Org+" is in scope") || !strings.Contains(m.Body, "https://vigil.test/cyber-alerts/"+a.ID) {
				t.Errorf("notice %+v", m)
			}
		}

		if got, _ := e.svc.Get(ctx, e.nadia, a.ID); got.Orgs[0].NotifiedAt == nil || got.Orgs[1].NotifiedAt == nil {
			t.Errorf("notices not recorded: %+v", got.Orgs)
		}

		// Products with a version range: the EPR is 4.2.0.
		n := cveAlert()
		n.CVEs = nil
		n.Products = []AffectedProductSpec{{Product: "Acme EPR", Versions: "< 4.0"}}
		b, err := e.svc.Issue(ctx, e.nadia, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Orgs) != 0 {
			t.Errorf("EPR 4.2.0 outside <4.0, yet %v in scope", orgsOf(b.Orgs))
		}
		n.Products = []AffectedProductSpec{{Product: "ACME-EPR", Versions: ">=4.0, <4.3"}}
		c, err := e.svc.Issue(ctx, e.nadia, n)
		if err != nil {
			t.Fatal(err)
		}
		if got := orgsOf(c.Orgs); !slices.Equal(got, []string{"RJ1"}) || !strings.Contains(c.Orgs[0].Path, "(affected: Acme EPR 4.2.0)") {
			t.Errorf("EPR range: %v %+v", got, c.Orgs)
		}
		// Bad input names the field.
		n.Products = []AffectedProductSpec{{Product: "NO-SUCH"}}
		_, err = e.svc.Issue(ctx, e.nadia, n)
		wantField(t, err, "products[0].product")
		n = cveAlert()
		n.CVEs = []string{"CVE-2024-3094", "log4shell"}
		_, err = e.svc.Issue(ctx, e.nadia, n)
		wantField(t, err, "cves[1]")
		n = cveAlert()
		n.TLP = "purple"
		_, err = e.svc.Issue(ctx, e.nadia, n)
		wantField(t, err, "tlp")
		n = cveAlert()
		n.Deadline = time.Time{}
		_, err = e.svc.Issue(ctx, e.nadia, n)
		wantField(t, err, "deadline")
		// Only the national team issues.
		_, err = e.svc.Issue(ctx, e.rex, cveAlert())
		wantErr(t, err, fault.ErrForbidden)
	})
}

// Each trust sees its own row only; a region its organisations; answers
// follow the response rules, in bulk all or nothing.
func TestAlertResponsesAndScope(t *testing.T) {
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		a, err := e.svc.Issue(ctx, e.nadia, cveAlert())
		if err != nil {
			t.Fatal(err)
		}
		// Who sees what.
		got, err := e.svc.Get(ctx, e.alice, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(orgsOf(got.Orgs), []string{"RJ1"}) || got.Stats.Organisations != 1 {
			t.Errorf("Alice sees %v", orgsOf(got.Orgs))
		}
		_, err = e.svc.Get(ctx, e.bob, a.ID)
		wantErr(t, err, fault.ErrNotFound)
		if l, err := e.svc.List(ctx, e.bob, ListFilter{}); err != nil || len(l) != 0 {
			t.Errorf("Bob lists %v %v", l, err)
		}
		if l, err := e.svc.List(ctx, e.alice, ListFilter{}); err != nil || len(l) != 1 || l[0].Stats.Organisations != 1 {
			t.Errorf("Alice lists %+v %v", l, err)
		}
		if got, err := e.svc.Get(ctx, e.rex, a.ID); err != nil || !slices.Equal(orgsOf(got.Orgs), []string{"RA7"}) {
			t.Errorf("Rex sees %v %v", orgsOf(got.Orgs), err)
		}

		// Answers.
		_, err = e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RA7"}, Action: ActAcknowledge})
		wantErr(t, err, fault.ErrNotFound)
		_, err = e.svc.Respond(ctx, e.audrey, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActAcknowledge})
		wantErr(t, err, fault.ErrForbidden)
		_, err = e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActApplicability, Applicability: AppNotAffected})
		wantField(t, err, "text")
		_, err = e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActClose, Text: "done"})
		wantField(t, err, "action")
		e.clk.Advance(2 * time.Hour)
		ms, err := e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"rj1"}, Action: ActAcknowledge})
		if err != nil {
			t.Fatal(err)
		}
		if ms[0].AckAt == nil || ms[0].AckBy != "alice@rj1.nhs.test" || ms[0].AckOverdue {
			t.Errorf("after ack %+v", ms[0])
		}
		_, err = e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActAcknowledge})
		wantErr(t, err, fault.ErrConflict)
		if _, err := e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActApplicability, Applicability: AppAffected, Text: "EPR 4.2 in use"}); err != nil {
			t.Fatal(err)
		}
		ms, err = e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActUpdate, Text: "Patch scheduled for tonight"})
		if err != nil {
			t.Fatal(err)
		}
		if ms[0].FirstUpdateAt == nil || !ms[0].UpdateDue.Equal(e.clk.Now().Add(DefaultUpdateEvery)) {
			t.Errorf("after update %+v", ms[0])
		}
		if _, err := e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActClose, Text: "Upgraded to 5.6.2; change CHG-42"}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActUpdate, Text: "more"})
		wantField(t, err, "action")
		got, err = e.svc.Get(ctx, e.alice, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r := got.Orgs[0]; len(r.Responses) != 4 || r.State() != "closed" || r.Evidence != "Upgraded to 5.6.2; change CHG-42" {
			t.Errorf("RJ1 history %+v", r)
		}

		// Bulk: all or nothing. Bob's RJZ is not in scope: nothing is written.
		bulk := e.multi
		bulk.Grants = append(bulk.Grants, scope.Grant{Role: scope.OrgAdmin, Org: "RJZ", Path: "/ENG/Y56/QKK/RJZ/"})
		_, err = e.svc.Respond(ctx, bulk, a.ID, Response{Orgs: []string{"RA7", "RJZ"}, Action: ActApplicability, Applicability: AppInvestigating})
		wantErr(t, err, fault.ErrNotFound)
		if got, _ := e.svc.Get(ctx, e.nadia, a.ID); got.Orgs[0].AckAt != nil {
			t.Fatal("a failed bulk answer acknowledged RA7")
		}
		_, err = e.svc.Respond(ctx, e.multi, a.ID, Response{Orgs: []string{"RA7", "RJ1"}, Action: ActApplicability, Applicability: AppInvestigating})
		wantField(t, err, "action") // RJ1 is closed
		ms, err = e.svc.Respond(ctx, e.multi, a.ID, Response{Orgs: []string{"RA7"}, Action: ActApplicability, Applicability: AppNotAffected, Text: "library not reachable"})
		if err != nil || ms[0].Applicability != AppNotAffected || ms[0].AckAt == nil {
			t.Fatalf("multi answer %+v %v", ms, err)
		}

		// RJ1's history: one alert, acknowledged 2 hours after issue, closed.
		h, err := e.svc.History(ctx, e.alice, "rj1")
		if err != nil || len(h) != 1 || h[0].AckHours == nil || *h[0].AckHours != 2 || h[0].CloseHours == nil || h[0].Title != a.Title {
			t.Errorf("RJ1 history %+v %v", h, err)
		}
		_, err = e.svc.History(ctx, e.alice, "RA7")
		wantErr(t, err, fault.ErrNotFound)

		// The audit log holds every answer.
		var n int
		if err := e.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'cyberalert.%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1+2+5 { // issue, two scope entries, four answers of RJ1's and one of RA7's
			t.Errorf("%d audit entries, want 8", n)
		}

		// The dashboard.
		d, err := e.svc.Dashboard(ctx, e.nadia, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Totals.Organisations != 2 || d.Totals.Acknowledged != 2 || d.Totals.Closed != 1 || d.Totals.ResponseRate != 1 || len(d.ByRegion) != 2 {
			t.Errorf("dashboard %+v", d)
		}
		var b strings.Builder
		if err := d.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(b.String(), "\n"); lines != 3 || !strings.HasPrefix(b.String(), strings.Join(CSVHeader, ",")) {
			t.Errorf("CSV:\n%s", b.String())
		}
		if d, err := e.svc.Dashboard(ctx, e.rex, ""); err != nil || d.Totals.Organisations != 1 || d.Rows[0].Org != "RA7" {
			t.Errorf("Rex's dashboard %+v %v", d, err)
		}
	})
}

// The clocks: a reminder a day before the 48 hours run out, an escalation
// to the region and ICB once they have, each once; a reminder when a
// remediation update is overdue.
func TestAlertClocks(t *testing.T) {
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		a, err := e.svc.Issue(ctx, e.nadia, cveAlert())
		if err != nil {
			t.Fatal(err)
		}
		_ = e.svc.Close()
		e.box.take()
		if n, err := e.svc.CheckClocks(ctx); err != nil || n != 0 {
			t.Fatalf("at issue: %d %v", n, err)
		}
		if _, err := e.svc.Respond(ctx, e.alice, a.ID, Response{Orgs: []string{"RJ1"}, Action: ActAcknowledge}); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(25 * time.Hour)
		if n, err := e.svc.CheckClocks(ctx); err != nil || n != 1 {
			t.Fatalf("at 25 h: %d %v", n, err)
		}
		msgs := e.box.take()
		if msgs[0].Kind != KindReminder || !slices.Equal(msgs[0].To, []string{"org-admin@ra7", "org-analyst@ra7"}) {
			t.Errorf("reminder %+v", msgs[0])
		}
		if n, _ := e.svc.CheckClocks(ctx); n != 0 {
			t.Errorf("reminded twice")
		}
		e.clk.Advance(23*time.Hour + time.Second)
		if n, err := e.svc.CheckClocks(ctx); err != nil || n != 1 {
			t.Fatalf("at 48 h: %d %v", n, err)
		}
		msgs = e.box.take()
		if m := msgs[0]; m.Kind != KindEscalated || !slices.Equal(m.To, []string{"region-lead@y58", "region-lead@qjk"}) ||
			!strings.Contains(m.Subject, "Bristol Test Hospitals (RA7) has not acknowledged") {
			t.Errorf("escalation %+v", m)
		}
		if n, _ := e.svc.CheckClocks(ctx); n != 0 {
			t.Errorf("escalated twice")
		}
		d, err := e.svc.Dashboard(ctx, e.nadia, "")
		if err != nil {
			t.Fatal(err)
		}
		// RJ1 acknowledged at issue, RA7 never: half within 12 hours; the
		// 72-hour figure can still grow.
		if p := d.OverTime[0]; p.Hours != 12 || p.Acknowledged != 1 || p.Rate != 0.5 || !p.Elapsed {
			t.Errorf("12 h point %+v", p)
		}
		if p := d.OverTime[3]; p.Hours != 72 || p.Elapsed {
			t.Errorf("72 h point %+v", p)
		}
		if d.Totals.AckOverdue != 1 || d.Totals.Escalated != 1 || len(d.Overdue) != 1 || d.Overdue[0].Org != "RA7" || d.ByRegion[0].Code != "Y58" {
			t.Errorf("dashboard after 48 h %+v", d)
		}
		// RJ1 acknowledged but gave no update: at 72 h it is reminded, and
		// its region and ICB leads are told once that the first update was
		// missed (RA7, never acknowledged, was escalated for that already).
		e.clk.Advance(24 * time.Hour)
		if n, err := e.svc.CheckClocks(ctx); err != nil || n != 2 {
			t.Fatalf("at 72 h: %d %v", n, err)
		}
		msgs = e.box.take()
		if m := msgs[0]; m.Kind != KindUpdateEscalated || !slices.Equal(m.To, []string{"region-lead@y56", "region-lead@qkk"}) ||
			!strings.Contains(m.Subject, "Guy's and St Thomas' (RJ1) has given no remediation update") {
			t.Errorf("update escalation %+v", m)
		}
		if m := msgs[1]; m.Kind != KindReminder || !strings.Contains(m.Subject, "remediation update") || m.Payload.(Payload).Org != "RJ1" {
			t.Errorf("update reminder %+v", m)
		}
		e.clk.Advance(time.Hour)
		if n, _ := e.svc.CheckClocks(ctx); n != 0 {
			t.Errorf("the missed update escalated twice")
		}
		if a, _ = e.svc.Get(ctx, e.nadia, a.ID); a.Orgs[1].Org != "RJ1" || a.Orgs[1].UpdateEscalatedAt == nil || a.Orgs[0].UpdateEscalatedAt != nil {
			t.Errorf("update escalation not recorded on RJ1 only: %+v", a.Orgs)
		}
	})
}

func TestVersionRange(t *testing.T) {
	for _, c := range []struct {
		r, v string
		in   bool
	}{
		{"", "1.0", true},
		{"<2.0", "1.9.9", true},
		{"< 2.0", "2.0.0", false},
		{">=1.2, <1.3", "1.2.7", true},
		{">=1.2 <1.3", "1.3.0", false},
		{"=4.2.0", "4.2.0", true},
		{"4.2.0", "v4.2.0", true},
		{"!=4.2.0", "4.2.1", true},
		{"<=5", "5.0.0", true},
	} {
		r, err := ParseVersionRange(c.r)
		if err != nil {
			t.Fatalf("%q: %v", c.r, err)
		}
		if got := r.Contains(c.v); got != c.in {
			t.Errorf("%q contains %q = %v, want %v", c.r, c.v, got, c.in)
		}
	}
	if _, err := ParseVersionRange(">="); err == nil {
		t.Error(`">=" parsed`)
	}
}

func FuzzParseVersionRange(f *testing.F) {
	for _, s := range []string{"", "<2.0", ">=1.2, <1.3", "= 4.2.0", "!=1 <=5", ">"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, r, v string) {
		vr, err := ParseVersionRange(r)
		if err != nil {
			return
		}
		_ = vr.Contains(v)
		if _, err := ParseVersionRange(vr.String()); err != nil {
			t.Errorf("%q → %q does not parse: %v", r, vr.String(), err)
		}
	})
}
