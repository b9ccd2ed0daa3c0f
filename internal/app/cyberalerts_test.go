package app

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/notify/smtptest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testclock"
	"github.com/vigil-health/vigil/internal/testneed"
	"github.com/vigil-health/vigil/internal/vuln"
)

// Issue 18's "Done when", the cyber alert part, through a real server and
// a real SMTP server: a KEV-listed CVE carried by a supplier component
// yields an alert addressed to exactly the organisations that deploy it,
// directly or through a product that depends on it; each is e-mailed;
// a trust answers for itself only; a missed 48-hour clock escalates by
// e-mail to the region's lead.
//
// The server's clock is the real one, so the clock check runs on a second
// vuln.Alerts over the same database and notifier with a test clock set
// 49 hours on — the code `vigil serve`'s leader runs every ClockInterval.
func TestCyberAlertKEVToEscalation(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testCyberAlertDone(t, false) })
	t.Run("postgres+nats", func(t *testing.T) { testCyberAlertDone(t, true) })
}

// rapidReset is CVE-2023-44487 (HTTP/2 Rapid Reset), in CISA's KEV.
const rapidReset = "CVE-2023-44487"

func testCyberAlertDone(t *testing.T, external bool) {
	kevPath := filepath.Join("..", "..", "..", "shared", "data", "vuln", "kev", "known_exploited_vulnerabilities.json")
	kev, err := vuln.LoadKEV(kevPath)
	if err != nil {
		testneed.Missing(t, "CISA KEV in ../shared/data/vuln/kev", err)
	}
	if _, ok := kev.Entries[rapidReset]; !ok {
		t.Fatalf("%s is not in the KEV catalogue %s", rapidReset, kev.Version)
	}
	mail := smtptest.Run(t, "", "")
	s := startWith(t, func(c *config.Config) {
		if external {
			externalConfig(storetest.PostgresSchemaURL(t))(c)
		}
		c.SMTPAddr, c.SMTPFrom, c.SMTPStartTLS = mail.Addr, "Vigil <vigil@soc.nhs.test>", "off"
	})
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	for _, o := range []org.Org{
		{Code: "Y58", Name: "South West", Type: org.Region},
		{Code: "QJK", Name: "NHS Devon ICB", Type: org.ICB, Parent: "Y58"},
		{Code: "RA7", Name: "Bristol Test Hospitals NHS Trust", Type: org.Trust, Parent: "QJK"},
		{Code: "RBA", Name: "Somerset Test Trust", Type: org.Trust, Parent: "QJK"},
	} {
		if _, err := s.Orgs.Create(ctx, sys, o); err != nil {
			t.Fatal(err)
		}
	}
	// The register: a web gateway component carries the KEV CVE; a
	// patient portal depends on it. RJ1 deploys the portal, RA7 the
	// gateway itself; RJZ only the fixture's LIMS; RBA nothing.
	steps := []func() error{
		func() error {
			_, err := s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "GATEWAYCO", Name: "Gateway Co"})
			return err
		},
		func() error {
			_, err := s.Supply.PutProduct(ctx, sys, supply.Product{ID: "GW-PROXY", SupplierID: "GATEWAYCO", Name: "Gateway HTTP/2 Proxy", Kind: supply.Component, Version: "1.25.2"})
			return err
		},
		func() error {
			_, err := s.Supply.PutProduct(ctx, sys, supply.Product{ID: "GW-PORTAL", SupplierID: "GATEWAYCO", Name: "Patient Portal", Kind: supply.SaaS})
			return err
		},
		func() error {
			_, err := s.Supply.PutDependency(ctx, sys, supply.Dependency{ProductID: "GW-PORTAL", DependsOnID: "GW-PROXY", Kind: supply.DepComponent, Critical: true})
			return err
		},
		func() error {
			_, err := s.Supply.PutVuln(ctx, sys, supply.Vuln{ProductID: "GW-PROXY", CVE: rapidReset, Component: "golang.org/x/net"})
			return err
		},
		func() error {
			_, err := s.Supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RJ1", ProductID: "GW-PORTAL", Service: "portal", Criticality: supply.High})
			return err
		},
		func() error {
			_, err := s.Supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RA7", ProductID: "GW-PROXY", Service: "web", Criticality: supply.Medium})
			return err
		},
	}
	for _, st := range steps {
		if err := st(); err != nil {
			t.Fatal(err)
		}
	}
	natTok := account(t, s, "nadia@nhs.test", scope.NationalAnalyst, "ENG", nationalPW)
	carolTok := account(t, s, "carol@ra7.nhs.test", scope.OrgAnalyst, "RA7", nationalPW)
	account(t, s, "rex@y58.nhs.test", scope.RegionLead, "Y58", nationalPW)
	account(t, s, "quinn@y56.nhs.test", scope.RegionLead, "Y56", nationalPW)
	account(t, s, "rita@rba.nhs.test", scope.OrgAdmin, "RBA", nationalPW)

	// Issue through the API.
	res, out := do(t, "POST", s.url("/api/v1/cyber-alerts"), natTok, `{"title":"HTTP/2 Rapid Reset in Gateway Co proxy","severity":"critical",
		"cves":["`+rapidReset+`"],"required_action":"Upgrade Gateway HTTP/2 Proxy to 1.25.3 and restart.","deadline":"2026-12-21T17:00:00Z","tlp":"amber"}`)
	if res.StatusCode != 201 {
		t.Fatalf("issue = %d %s", res.StatusCode, out)
	}
	var a vuln.CyberAlert
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	var orgs []string
	for _, m := range a.Orgs {
		orgs = append(orgs, m.Org)
	}
	if !slices.Equal(orgs, []string{"RA7", "RJ1"}) {
		t.Fatalf("alert addressed to %v, want exactly RA7 and RJ1", orgs)
	}
	if p := a.Orgs[1].Path; !strings.Contains(p, "deploys Patient Portal (supplier Gateway Co) which depends on affected component Gateway HTTP/2 Proxy") {
		t.Errorf("RJ1's path: %q", p)
	}
	// Each organisation's people are e-mailed; nobody else.
	mail.Wait(2, 15*time.Second)
	for who, org := range map[string]string{"alice@rj1.nhs.test": "RJ1", "carol@ra7.nhs.test": "RA7"} {
		m := mail.To(who)
		if len(m) != 1 || !strings.Contains(m[0].Subject(), "National cyber alert "+a.ID) || !strings.Contains(m[0].Text(), "Why "+org+" is in scope") ||
			!strings.Contains(m[0].Text(), rapidReset) {
			t.Errorf("issue e-mail to %s: %+v", who, m)
		}
	}
	for _, who := range []string{"bob@rjz.nhs.test", "rita@rba.nhs.test", "rex@y58.nhs.test"} {
		if m := mail.To(who); len(m) != 0 {
			t.Errorf("%s was e-mailed at issue: %+v", who, m)
		}
	}

	// Alice answers for RJ1; not for RA7; Bob sees nothing of it.
	if res, out := do(t, "POST", s.url("/api/v1/cyber-alerts/"+a.ID+"/responses"), f.aliceTok, `{"orgs":["RJ1"],"action":"applicability","applicability":"affected","text":"portal in use"}`); res.StatusCode != 200 {
		t.Fatalf("Alice answers = %d %s", res.StatusCode, out)
	}
	if res, _ := do(t, "POST", s.url("/api/v1/cyber-alerts/"+a.ID+"/responses"), f.aliceTok, `{"orgs":["RA7"],"action":"acknowledge"}`); res.StatusCode != 404 {
		t.Errorf("Alice answers for RA7 = %d, want 404", res.StatusCode)
	}
	if res, _ := do(t, "GET", s.url("/api/v1/cyber-alerts/"+a.ID), f.bobTok, ""); res.StatusCode != 404 {
		t.Errorf("Bob reads the alert = %d, want 404", res.StatusCode)
	}
	_, out = do(t, "GET", s.url("/api/v1/cyber-alerts/"+a.ID), carolTok, "")
	if !strings.Contains(out, `"org":"RA7"`) || strings.Contains(out, "RJ1") {
		t.Errorf("Carol's view: %s", out)
	}

	// 49 hours on, the leader's clock check escalates RA7 (not
	// acknowledged) to South West's lead; RJ1 answered.
	before := len(mail.Mails())
	clk := testclock.New(time.Now().Add(49 * time.Hour))
	later, err := vuln.NewAlerts(vuln.AlertOptions{DB: s.DB, Audit: s.Audit, Register: s.Supply, Orgs: s.Orgs, Notifier: alertNotifier{s.Auth, s.Notify},
		BaseURL: "https://vigil.test", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	n, err := later.CheckClocks(ctx)
	if err != nil || n != 1 { // the escalation (the reminder's day was missed: the escalation speaks)
		t.Fatalf("CheckClocks = %d, %v; want 1", n, err)
	}
	mail.Wait(before+1, 15*time.Second)
	esc := mail.To("rex@y58.nhs.test")
	if len(esc) != 1 || !strings.Contains(esc[0].Subject(), "Escalation: Bristol Test Hospitals NHS Trust (RA7) has not acknowledged cyber alert "+a.ID) ||
		!strings.Contains(esc[0].Text(), "within 48 hours") || !strings.Contains(esc[0].Text(), "https://vigil.test/cyber-alerts/"+a.ID) {
		t.Errorf("escalation e-mail to the region lead: %+v", esc)
	}
	if m := mail.To("quinn@y56.nhs.test"); len(m) != 0 {
		t.Errorf("London's lead was told though RJ1 answered: %+v", m)
	}
	if m := mail.To("carol@ra7.nhs.test"); len(m) != 1 {
		t.Errorf("Carol's e-mails: %+v", m)
	}
	if n, err := later.CheckClocks(ctx); err != nil || n != 0 {
		t.Errorf("second check = %d %v; want nothing sent twice", n, err)
	}
	// The national dashboard as of then.
	d, err := later.Dashboard(ctx, scope.Scope{UserID: "n", Grants: []scope.Grant{{Role: scope.NationalAnalyst, Org: "ENG", Path: "/ENG/"}}}, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Totals.AckOverdue != 1 || d.Totals.Escalated != 1 || d.Overdue[0].Org != "RA7" || d.ByRegion[0].Code != "Y58" || d.ByRegion[0].AckOverdue != 1 {
		t.Errorf("dashboard at 49 h: %+v", d)
	}

	// 73 hours on, RJ1 (acknowledged, no remediation update) is reminded and
	// London's lead is told, once, that its first update was missed.
	clk.Advance(24 * time.Hour)
	before = len(mail.Mails())
	if n, err := later.CheckClocks(ctx); err != nil || n != 2 {
		t.Fatalf("CheckClocks at 73 h = %d, %v; want the escalation and the reminder", n, err)
	}
	mail.Wait(before+2, 15*time.Second)
	esc = mail.To("quinn@y56.nhs.test")
	if len(esc) != 1 || !strings.Contains(esc[0].Subject(), "(RJ1) has given no remediation update on cyber alert "+a.ID) {
		t.Errorf("missed-update escalation to London's lead: %+v", esc)
	}
	if m := mail.To("rex@y58.nhs.test"); len(m) != 1 {
		t.Errorf("South West's lead now has %d e-mails, want still 1 (RA7 never acknowledged: escalated for that already)", len(m))
	}
	if n, err := later.CheckClocks(ctx); err != nil || n != 0 {
		t.Errorf("check at 73 h again = %d %v; want nothing sent twice", n, err)
	}
}
