package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestAssuranceSchemesAPI records a supplier's evidence over the API as a
// supply-chain manager and a trust, reads the cross-links back explained,
// lists the expiring evidence; the leader's expiry duty (every 200 ms
// here) puts the certificate about to lapse in the national inbox, once
// however often the check runs.
func TestAssuranceSchemesAPI(t *testing.T) {
	was := ExpiryInterval
	ExpiryInterval = 200 * time.Millisecond
	t.Cleanup(func() { ExpiryInterval = was })
	s := startServer(t)
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	if _, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: "nina@nhs.test", Name: "Nina", Org: org.RootCode, Role: scope.NationalAnalyst, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	_, nina, err := s.Auth.CreateToken(ctx, sys, "nina@nhs.test", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now().UTC().AddDate(-1, 0, 10).Format(time.DateOnly) // expires in 10 days
	for _, c := range []struct{ who, path, body, want string }{
		{nina, "/api/v1/supply/suppliers/ISO-SUP/certificates", `{"scheme":"cyber-essentials-plus","number":"API-CEP","issued":"` + issued + `"}`, `"source":"assessor"`},
		{nina, "/api/v1/supply/products/ISO-LIMS/dtac", `{"version":"7.2","assessed":"2026-10-01","c1_clinical_safety":"pass","c2_data_protection":"pass","c3_technical_security":"pass","c4_interoperability":"pass","d_usability_score":75}`, `"passed":true`},
		{nina, "/api/v1/supply/products/ISO-LIMS/dcb0129", `{"version":"7.2","safety_case_report":"CSCR-72","hazard_log":"HL-72","cso_name":"Dr Who","issued":"2026-09-01"}`, `"complete":true`},
		{f.aliceTok, "/api/v1/supply/products/ISO-LIMS/dcb0160", `{"org_ods":"RJ1","safety_case_report":"RJ1-CSCR","hazard_log":"RJ1-HL","cso_name":"Sister S","issued":"2026-10-01"}`, `"org_ods":"RJ1"`},
		{nina, "/api/v1/supply/suppliers/ISO-SUP/charter", `{"commitments":["all"],"signed":"2026-11-01","signed_by":"Iso CEO"}`, `"signed":"2026-11-01"`},
		{nina, "/api/v1/supply/suppliers/ISO-SUP/ncsc-principles", `{"assessed":"2026-11-01","states":[{"principle":7,"state":"met"}]}`, `"state":"met"`},
	} {
		res, body := do(t, "POST", s.url(c.path), c.who, c.body)
		if res.StatusCode != 200 || !strings.Contains(body, c.want) {
			t.Fatalf("POST %s = %d\n%.600s", c.path, res.StatusCode, body)
		}
	}
	// Bad input is a problem naming the field; Alice may not record DTAC.
	if res, body := do(t, "POST", s.url("/api/v1/supply/products/ISO-LIMS/dtac"), nina, `{"version":"7.2","assessed":"2026-10-01","c1_clinical_safety":"maybe"}`); res.StatusCode != 400 || !strings.Contains(body, "c1_clinical_safety") {
		t.Errorf("bad DTAC = %d %s", res.StatusCode, body)
	}
	if res, _ := do(t, "POST", s.url("/api/v1/supply/products/ISO-LIMS/dtac"), f.aliceTok, `{"version":"7.3","assessed":"2026-10-01","c1_clinical_safety":"pass","c2_data_protection":"pass","c3_technical_security":"pass","c4_interoperability":"pass"}`); res.StatusCode != 403 {
		t.Errorf("Alice's DTAC = %d", res.StatusCode)
	}
	_, body := get(t, http.DefaultClient, s.url("/api/v1/supply/suppliers/ISO-SUP/evidence"), f.aliceTok)
	var e assurance.SupplierEvidence
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%v: %.300s", err, body)
	}
	results := map[string]string{}
	for _, c := range e.Checks {
		results[c.Link] = c.Result
		if c.Why == "" || c.Reason == "" {
			t.Errorf("unexplained: %+v", c)
		}
	}
	if results["dtac-c1-dcb0129"] != "pass" || results["dtac-c2-dspt"] != "unknown" || results["dtac-c3-cyber-essentials"] != "pass" || results["dcb0160-dcb0129"] != "pass" || results["charter-dspt"] != "unknown" {
		t.Errorf("checks: %v", results)
	}
	if len(e.DCB0160) != 1 || e.Principles[6].State != "met" || e.Charter[7].Signed != "2026-11-01" {
		t.Errorf("evidence: %+v", e)
	}
	if _, body := get(t, http.DefaultClient, s.url("/api/v1/assurance/expiring?within=60d"), f.bobTok); !strings.Contains(body, "API-CEP") || !strings.Contains(body, `"state":"expiring"`) {
		t.Errorf("expiring: %s", body)
	}
	if res, body := get(t, http.DefaultClient, s.url("/api/v1/assurance/expiring?within=soon"), f.bobTok); res.StatusCode != 400 || !strings.Contains(body, "within") {
		t.Errorf("within=soon = %d %s", res.StatusCode, body)
	}
	if _, body := get(t, http.DefaultClient, s.url("/api/v1/assurance/links"), f.bobTok); strings.Count(body, `"id"`) != len(assurance.Links()) {
		t.Errorf("links: %s", body)
	}

	// The leader's duty raises it; checks by hand then find nothing more.
	var got []cases.Alert
	deadline := time.Now().Add(20 * time.Second)
	for len(got) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no expiry alert in the inbox")
		}
		time.Sleep(50 * time.Millisecond)
		if got, _, err = s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Type: "evidence-expiring"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if n, err := s.Assurance.CheckExpiry(ctx, 30*24*time.Hour, s.raiseExpiry); err != nil || n != 0 {
			t.Fatalf("check by hand: %d %v", n, err)
		}
	}
	time.Sleep(500 * time.Millisecond) // and the duty ticks again
	got, _, _ = s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Source: "vigil-assurance"})
	if len(got) != 1 || got[0].Org != org.RootCode || got[0].Occurrences != 1 || !strings.Contains(got[0].Title, "Cyber Essentials Plus certificate API-CEP (ISO-SUP)") ||
		got[0].Fields["supplier_id"] != "ISO-SUP" || !strings.Contains(got[0].Description, "days left") {
		t.Errorf("alerts: %+v", got)
	}
}
