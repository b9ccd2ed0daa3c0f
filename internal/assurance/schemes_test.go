package assurance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
)

func wantFault(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: %v, want %v", what, err, kind)
	}
}

func checkOf(t *testing.T, checks []CheckResult, link string) CheckResult {
	t.Helper()
	for _, c := range checks {
		if c.Link == link {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", link, checks)
	return CheckResult{}
}

// TestSchemesAndCrossLinks records each new evidence type as the people
// who may (an assessor, the supplier's own representative, the deploying
// trust) and refuses everyone else, on both engines, and follows the
// cross-links from unknown to fail to pass as the evidence they rest on
// arrives.
func TestSchemesAndCrossLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db)
		s := w.s
		// Certificates: the supplier's own representative may now record
		// them, for its own supplier only.
		c, err := s.PutCertificate(ctx, w.repA, Certificate{SupplierID: "SUP-A", Scheme: CyberEssentialsPlus, Number: "CEP-A1", Issued: "2026-03-01", QuestionSet: "Willow"})
		if err != nil || c.Source != SourceSupplier || c.RecordedBy != "Alf@test" {
			t.Fatalf("rep's certificate: %+v %v", c, err)
		}
		_, err = s.PutCertificate(ctx, w.repB, Certificate{SupplierID: "SUP-A", Scheme: CyberEssentials, Number: "CE-B", Issued: "2026-03-01"})
		wantFault(t, "another supplier's rep", err, fault.ErrNotFound)
		_, err = s.PutCertificate(ctx, w.t1, Certificate{SupplierID: "SUP-A", Scheme: CyberEssentials, Number: "CE-T", Issued: "2026-03-01"})
		wantFault(t, "a trust analyst", err, fault.ErrForbidden)

		// DTAC per product version.
		_, err = s.PutDTAC(ctx, w.repA, DTAC{ProductID: "A-EPR", Assessed: "2026-10-01", C1: Pass, C2: Pass, C3: Pass, C4: Pass, DScore: 82})
		var inv *fault.Invalid
		if !errors.As(err, &inv) || inv.Field != "version" {
			t.Errorf("no version: %v", err)
		}
		for _, bad := range []DTAC{
			{ProductID: "A-EPR", Version: "5.1", Assessed: "2026-10-01", C1: "maybe", C2: Pass, C3: Pass, C4: Pass},
			{ProductID: "A-EPR", Version: "5.1", Assessed: "2026-10-01", C1: Pass, C2: Pass, C3: Pass, C4: Pass, DScore: 101},
			{ProductID: "A-EPR", Version: "5.1", Assessed: "2026-10-01", C1: Pass, C2: Pass, C3: Pass, C4: Pass, Expires: "2026-09-01"},
		} {
			if _, err := s.PutDTAC(ctx, w.nat, bad); !errors.As(err, &inv) {
				t.Errorf("%+v: %v, want invalid", bad, err)
			}
		}
		_, err = s.PutDTAC(ctx, w.t1, DTAC{ProductID: "A-EPR", Version: "5.1", Assessed: "2026-10-01", C1: Pass, C2: Pass, C3: Pass, C4: Pass})
		wantFault(t, "DTAC by a trust", err, fault.ErrForbidden)
		d, err := s.PutDTAC(ctx, w.repA, DTAC{ProductID: "A-EPR", Version: "5.1", Assessed: "2026-10-01", C1: "PASS", C2: Pass, C3: Pass, C4: Fail, DScore: 82, Expires: "2027-10-01"})
		if err != nil || d.Passed || d.SupplierID != "SUP-A" || d.Source != SourceSupplier {
			t.Fatalf("DTAC: %+v %v", d, err)
		}
		e, err := s.Evidence(ctx, w.nat, "SUP-A")
		if err != nil {
			t.Fatal(err)
		}
		if x := checkOf(t, e.Checks, "dtac-c1-dcb0129"); x.Result != CheckFail || !strings.Contains(x.Why, "no DCB0129 record is held for A-EPR") {
			t.Errorf("C1 without DCB0129: %+v", x)
		}
		if x := checkOf(t, e.Checks, "dtac-c2-dspt"); x.Result != CheckUnknown || !strings.Contains(x.Why, "no ODS") || !strings.Contains(x.Why, "records C2 as pass") {
			t.Errorf("C2 without an ODS code: %+v", x)
		}
		if x := checkOf(t, e.Checks, "dtac-c3-cyber-essentials"); x.Result != CheckPass || !strings.Contains(x.Why, "Cyber Essentials Plus certificate CEP-A1 is valid until 2027-03-01") {
			t.Errorf("C3 with CE+: %+v", x)
		}
		if e.MayRecord != SourceAssessor || len(e.Charter) != 8 || len(e.Principles) != 12 {
			t.Errorf("evidence: may %q, %d commitments, %d principles", e.MayRecord, len(e.Charter), len(e.Principles))
		}

		// DCB0129: incomplete, then complete.
		m, err := s.PutDCB0129(ctx, w.nat, DCB0129{ProductID: "A-EPR", Version: "5.1", ClinicalSafety: ClinicalSafety{SafetyCaseReport: "CSCR-12", CSOName: "Dr Ada Byron", Issued: "2026-09-01"}})
		if err != nil || m.Complete || strings.Join(m.Missing, ",") != "hazard log" || m.Source != SourceAssessor {
			t.Fatalf("DCB0129: %+v %v", m, err)
		}
		pe, err := s.ProductEvidence(ctx, w.t1, "A-EPR")
		if err != nil {
			t.Fatal(err)
		}
		if x := checkOf(t, pe.Checks, "dtac-c1-dcb0129"); x.Result != CheckFail || !strings.Contains(x.Why, "lacks a hazard log") {
			t.Errorf("C1 with an incomplete DCB0129: %+v", x)
		}
		if _, err := s.PutDCB0129(ctx, w.repA, DCB0129{ProductID: "A-EPR", Version: "5.1", ClinicalSafety: ClinicalSafety{SafetyCaseReport: "CSCR-12", HazardLog: "HL-12", CSOName: "Dr Ada Byron", Issued: "2026-09-01", ReviewDue: "2027-09-01"}}); err != nil {
			t.Fatal(err)
		}
		// DCB0160: the deploying trust records its own; nobody else may.
		_, err = s.PutDCB0160(ctx, w.t2, DCB0160{OrgODS: "RT1", ProductID: "A-EPR", ClinicalSafety: ClinicalSafety{Issued: "2026-11-01"}})
		wantFault(t, "another trust's DCB0160", err, fault.ErrNotFound)
		_, err = s.PutDCB0160(ctx, w.t2, DCB0160{OrgODS: "RT2", ProductID: "A-EPR", ClinicalSafety: ClinicalSafety{Issued: "2026-11-01"}})
		if !errors.As(err, &inv) || inv.Field != "product_id" {
			t.Errorf("DCB0160 without a deployment: %v", err)
		}
		_, err = s.PutDCB0160(ctx, w.repA, DCB0160{OrgODS: "RT1", ProductID: "A-EPR", ClinicalSafety: ClinicalSafety{Issued: "2026-11-01"}})
		wantFault(t, "DCB0160 by the supplier", err, fault.ErrNotFound)
		o, err := s.PutDCB0160(ctx, w.t1, DCB0160{OrgODS: "rt1", ProductID: "A-EPR", ClinicalSafety: ClinicalSafety{SafetyCaseReport: "RT1-CSCR", HazardLog: "RT1-HL", CSOName: "Nurse N", Issued: "2026-11-01", ReviewDue: "2027-01-15"}})
		if err != nil || o.OrgODS != "RT1" || !o.Complete {
			t.Fatalf("DCB0160: %+v %v", o, err)
		}
		pe, err = s.ProductEvidence(ctx, w.t1, "A-EPR")
		if err != nil {
			t.Fatal(err)
		}
		if x := checkOf(t, pe.Checks, "dtac-c1-dcb0129"); x.Result != CheckPass || !strings.Contains(x.Why, "HL-12") {
			t.Errorf("C1 with DCB0129: %+v", x)
		}
		if x := checkOf(t, pe.Checks, "dcb0160-dcb0129"); x.Result != CheckPass || x.OrgODS != "RT1" {
			t.Errorf("DCB0160 on DCB0129: %+v", x)
		}
		for who, sc := range map[string]scope.Scope{"Tess": w.t2, "Alf": w.repA} {
			pe, err := s.ProductEvidence(ctx, sc, "A-EPR")
			if err != nil || len(pe.DCB0160) != 0 || len(pe.DCB0129) != 1 {
				t.Errorf("%s sees DCB0160 %+v, DCB0129 %d: %v", who, pe.DCB0160, len(pe.DCB0129), err)
			}
		}

		// The charter, signed by the supplier; principles set.
		_, err = s.SignCharter(ctx, w.repA, "SUP-A", CharterInput{Commitments: []string{"dspt", "9"}, Signed: "2026-11-01", SignedBy: "Alf"})
		if !errors.As(err, &inv) || inv.Field != "commitments" {
			t.Errorf("commitment 9: %v", err)
		}
		_, err = s.SignCharter(ctx, w.repA, "SUP-A", CharterInput{Commitments: []string{"all"}, Signed: "2027-11-01", SignedBy: "Alf"})
		if !errors.As(err, &inv) || inv.Field != "signed" {
			t.Errorf("signed in the future: %v", err)
		}
		ch, err := s.SignCharter(ctx, w.repA, "SUP-A", CharterInput{Commitments: []string{"2", "mfa"}, Signed: "2026-11-01", SignedBy: "Alf Smith", SignerRole: "CEO"})
		if err != nil || ch[1].Signed != "2026-11-01" || ch[2].Signed == "" || ch[0].Signed != "" || ch[1].Source != SourceSupplier {
			t.Fatalf("charter: %+v %v", ch, err)
		}
		_, err = s.SetPrinciples(ctx, w.repA, "SUP-A", PrinciplesInput{Assessed: "2026-11-02", States: []PrincipleInput{{Principle: 13, State: PrincipleMet}}})
		if !errors.As(err, &inv) {
			t.Errorf("principle 13: %v", err)
		}
		ps, err := s.SetPrinciples(ctx, w.nat, "SUP-A", PrinciplesInput{Assessed: "2026-11-02", States: []PrincipleInput{{Principle: 1, State: "MET"}, {Principle: 5, State: PrinciplePartly, Note: "minimums not yet in contracts"}}})
		if err != nil || ps[0].State != PrincipleMet || ps[4].State != PrinciplePartly || ps[1].State != "" || ps[4].Stage != "Establish control" {
			t.Fatalf("principles: %+v %v", ps, err)
		}
		_, err = s.SetPrinciples(ctx, w.repB, "SUP-A", PrinciplesInput{Assessed: "2026-11-02", States: []PrincipleInput{{Principle: 1, State: PrincipleMet}}})
		wantFault(t, "another rep's principles", err, fault.ErrNotFound)

		// DSPT: give SUP-A an ODS code with statuses; C2 and the charter's
		// DSPT commitment follow them.
		reg := s.register.(*supply.Service)
		if _, err := reg.PutSupplier(ctx, scope.System("test"), supply.Supplier{ID: "SUP-A", Name: "Alpha Ltd", TenantOrg: "TEN-A", DesignatedCritical: true, ODSCode: "RT2"}); err != nil {
			t.Fatal(err)
		}
		check := func(snapshot, status, want, why string) {
			t.Helper()
			if _, err := s.ImportDSPT(ctx, scope.System("test"), []DSPTInput{{Name: "d_" + snapshot + ".csv", Data: []byte("Code,Status\nRT2," + status + "\n")}}); err != nil {
				t.Fatal(err)
			}
			e, err := s.Evidence(ctx, w.t1, "SUP-A")
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []string{"dtac-c2-dspt", "charter-dspt"} {
				if x := checkOf(t, e.Checks, l); x.Result != want || !strings.Contains(x.Why, why) {
					t.Errorf("%s after %s: %+v", l, status, x)
				}
			}
		}
		check("01_07_25", "24/25 Standards Met", CheckFail, "none for a current edition")
		check("01_08_26", "25/26 Approaching Standards", CheckFail, "Standards Met or Exceeded is needed")
		check("01_09_26", "25/26 Standards Exceeded", CheckPass, "RT2's DSPT for 2025-26 is Standards Exceeded (current until 2027-06-30)")
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

// TestExpiryNoticesOnce moves the clock past a certificate's notice
// period and expiry, and past a DTAC's renewal date: each notice is
// raised once, a failed raise is tried again, a renewal supersedes the
// lapsed certificate, and the expiring list shows each caller what it
// may see.
func TestExpiryNoticesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db)
		s := w.s
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return now }
		if _, err := s.PutCertificate(ctx, w.nat, Certificate{SupplierID: "SUP-A", Scheme: CyberEssentials, Number: "CE-OLD", Issued: "2025-12-20"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutDTAC(ctx, w.nat, DTAC{ProductID: "A-EPR", Version: "5", Assessed: "2026-06-01", C1: Pass, C2: Pass, C3: Pass, C4: Pass, DScore: 70, Expires: "2027-06-01"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutDCB0160(ctx, w.t1, DCB0160{OrgODS: "RT1", ProductID: "A-EPR", ClinicalSafety: ClinicalSafety{SafetyCaseReport: "R", HazardLog: "H", CSOName: "C", Issued: "2026-01-01", ReviewDue: "2026-12-31"}}); err != nil {
			t.Fatal(err)
		}
		var told []string
		raise := func(_ context.Context, n ExpiryNotice) error {
			told = append(told, n.Key+" "+n.Stage+" "+n.Date)
			return nil
		}
		step := func(at string, want ...string) {
			t.Helper()
			now, _ = time.Parse(time.DateOnly, at)
			now = now.Add(9 * time.Hour)
			told = nil
			for range 2 { // the second check finds nothing more to tell
				if _, err := s.CheckExpiry(ctx, 0, raise); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(told, "|") != strings.Join(want, "|") {
				t.Errorf("at %s told %q, want %q", at, told, want)
			}
		}
		step("2026-11-01")
		step("2026-12-07", "certificate:cyber-essentials:CE-OLD expiring 2026-12-20", "dcb0160:RT1:A-EPR expiring 2026-12-31")
		// A raise that fails leaves the notice to the next check.
		now = time.Date(2026, 12, 21, 9, 0, 0, 0, time.UTC)
		if n, err := s.CheckExpiry(ctx, 0, func(context.Context, ExpiryNotice) error { return errors.New("bus down") }); err == nil || n != 0 {
			t.Errorf("failed raise: %d %v", n, err)
		}
		step("2026-12-21", "certificate:cyber-essentials:CE-OLD expired 2026-12-20")
		// Lists: who sees what, with days left.
		list, err := s.Expiring(ctx, w.t1, 60*24*time.Hour)
		if err != nil || len(list) != 2 || list[0].State != StageExpired || list[0].Days != -1 || list[1].Kind != "dcb0160" || list[1].Days != 10 {
			t.Errorf("Tom's list: %+v %v", list, err)
		}
		for who, sc := range map[string]scope.Scope{"Tess": w.t2, "Alf": w.repA} {
			list, err := s.Expiring(ctx, sc, 60*24*time.Hour)
			if err != nil || len(list) != 1 || list[0].Kind != "certificate" {
				t.Errorf("%s's list: %+v %v", who, list, err)
			}
		}
		if list, _ := s.Expiring(ctx, w.repB, 365*24*time.Hour); len(list) != 0 {
			t.Errorf("Bea sees %+v", list)
		}
		if _, err := s.Expiring(ctx, w.t1, -time.Hour); err == nil {
			t.Error("a negative period was accepted")
		}
		// Renewed: the lapsed certificate is superseded; the DCB0160
		// review lapses, the DTAC comes due later, first seen lapsed.
		if _, err := s.PutCertificate(ctx, w.repA, Certificate{SupplierID: "SUP-A", Scheme: CyberEssentials, Number: "CE-NEW", Issued: "2026-12-21"}); err != nil {
			t.Fatal(err)
		}
		step("2027-01-02", "dcb0160:RT1:A-EPR expired 2026-12-31")
		if list, _ := s.Expiring(ctx, w.repA, 0); len(list) != 0 {
			t.Errorf("after renewal Alf sees %+v", list)
		}
		step("2027-06-05", "dtac:A-EPR@5 expired 2027-06-01")
		// Version 6 assessed: version 5's lapsed DTAC is superseded.
		if list, _ := s.Expiring(ctx, w.nat, 0); len(list) != 2 || list[1].Kind != "dtac" {
			t.Errorf("before version 6: %+v", list)
		}
		if _, err := s.PutDTAC(ctx, w.nat, DTAC{ProductID: "A-EPR", Version: "6", Assessed: "2027-06-04", C1: Pass, C2: Pass, C3: Pass, C4: Pass, DScore: 71}); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.Expiring(ctx, w.nat, 0); len(list) != 1 || list[0].Kind != "dcb0160" {
			t.Errorf("after version 6: %+v", list)
		}
		step("2027-12-01", "certificate:cyber-essentials:CE-NEW expiring 2027-12-21")
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func TestDSPTCurrent(t *testing.T) {
	at := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d.Add(12 * time.Hour) }
	for _, tc := range []struct {
		edition, now string
		want         bool
	}{{"2025-26", "2026-12-07", true}, {"2024-25", "2026-06-30", true}, {"2024-25", "2026-07-01", false}, {"junk", "2026-01-01", false}} {
		if got, _ := DSPTCurrent(tc.edition, at(tc.now)); got != tc.want {
			t.Errorf("%s at %s: %v", tc.edition, tc.now, got)
		}
	}
}

func TestParseWithin(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{"": 30 * day, "60d": 60 * day, "8w": 56 * day, "720h": 30 * day, " 0d ": 0} {
		if got, err := ParseWithin(in); err != nil || got != want {
			t.Errorf("%q = %s %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"soon", "-1d", "2000d", "d", "1y"} {
		var inv *fault.Invalid
		if _, err := ParseWithin(in); !errors.As(err, &inv) || inv.Field != "within" {
			t.Errorf("%q: %v, want an error on within", in, err)
		}
	}
}

// FuzzParseWithin: a period from a query string or flag never panics and
// is either refused naming within or a period from 0 to three years.
func FuzzParseWithin(f *testing.F) {
	for _, s := range []string{"", "60d", "8w", "720h", "-1d", "d", "9999999999999999999d", "1h30m", "99999999999d", "1317624576693539401w", "1317624576693539402w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseWithin(s)
		var inv *fault.Invalid
		if err != nil && (!errors.As(err, &inv) || inv.Field != "within") {
			t.Fatalf("%q: %v", s, err)
		}
		if err == nil && (d < 0 || d > MaxExpiringWithin) {
			t.Fatalf("%q = %s", s, d)
		}
	})
}
