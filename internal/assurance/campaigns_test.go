package assurance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
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

// TestScoreBreakdownAddsUp scores many random statements against the real
// CAF 3.2 baseline with random weights, N/A and rejected answers, and
// checks that requirements add up to principles, principles to
// objectives and objectives to the total, exactly.
func TestScoreBreakdownAddsUp(t *testing.T) {
	set := parseData(t, "webcaf/cyber-assessment-framework-v3.2.yaml")
	reqs, err := campaignRequirements(set, "baseline", map[string]int{"A1.a": 5, "B2.a": 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 39 || reqs[0].Objective != "A" || reqs[0].Principle != "A1" || reqs[0].Weight != 5 {
		t.Fatalf("requirements: %d, first %+v", len(reqs), reqs[0])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 500; round++ {
		for i := range reqs {
			reqs[i].Weight = 1 + rng.IntN(10)
		}
		answers := map[int]AnswerState{}
		for _, r := range reqs {
			switch k := rng.IntN(6); k {
			case 0: // not answered
			case 5:
				answers[r.Seq] = AnswerState{Answer: Answers()[rng.IntN(4)], Review: ReviewRejected}
			default:
				answers[r.Seq] = AnswerState{Answer: Answers()[k-1], Review: ReviewAccepted}
			}
		}
		sc := ScoreOf(reqs, answers)
		var tp, tm, lines int
		for _, o := range sc.Objectives {
			var op, om int
			for _, p := range o.Principles {
				var pp, pm int
				for _, l := range p.Lines {
					pp, pm = pp+l.Points, pm+l.Max
					lines++
					a := answers[l.Seq]
					want := map[Answer]int{Met: 2 * l.Weight, Partly: l.Weight}[a.Answer]
					if a.Review == ReviewRejected {
						want = 0
					}
					if l.Points != want || (a.Answer == NotApplicable) != (l.Max == 0) || l.Points > l.Max {
						t.Fatalf("line %+v for %+v", l, a)
					}
				}
				if pp != p.Points || pm != p.Max {
					t.Fatalf("principle %s: %d/%d, lines add to %d/%d", p.Key, p.Points, p.Max, pp, pm)
				}
				op, om = op+p.Points, om+p.Max
			}
			if op != o.Points || om != o.Max {
				t.Fatalf("objective %s: %d/%d, principles add to %d/%d", o.Key, o.Points, o.Max, op, om)
			}
			tp, tm = tp+o.Points, tm+o.Max
		}
		if tp != sc.Points || tm != sc.Max || lines != len(reqs) || sc.Percent != Percent(sc.Points, sc.Max) {
			t.Fatalf("total %d/%d (%v%%), objectives add to %d/%d over %d lines", sc.Points, sc.Max, sc.Percent, tp, tm, lines)
		}
	}
	// By hand: weights 1, 2, 3; met, partly, N/A → (2 + 2) of (2 + 4).
	small := []Requirement{{Seq: 1, Objective: "A", Principle: "A1", Weight: 1}, {Seq: 2, Objective: "A", Principle: "A2", Weight: 2}, {Seq: 3, Objective: "B", Principle: "B1", Weight: 3}}
	sc := ScoreOf(small, map[int]AnswerState{1: {Answer: Met}, 2: {Answer: Partly}, 3: {Answer: NotApplicable, Review: ReviewAccepted}})
	if sc.Points != 4 || sc.Max != 6 || sc.Percent != 66.7 || len(sc.Objectives) != 2 || sc.Objectives[1].Max != 0 || sc.Objectives[1].Percent != 0 {
		t.Errorf("by hand: %+v", sc)
	}
}

func TestCampaignRequirementsRules(t *testing.T) {
	set := parseData(t, "webcaf/cyber-assessment-framework-v3.2.yaml")
	for _, tc := range []struct {
		profile string
		weights map[string]int
		field   string
	}{
		{"nope", nil, "profile"},
		{"", map[string]int{"Z9.z": 2}, "weights"},
		{"", map[string]int{"A1.a": 0}, "weights"},
		{"", map[string]int{"A1.a": MaxWeight + 1}, "weights"},
	} {
		_, err := campaignRequirements(set, tc.profile, tc.weights)
		var inv *fault.Invalid
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("%+v: %v, want an error on %s", tc, err, tc.field)
		}
	}
	asvs := parseData(t, "ciso-assistant/frameworks/owasp-asvs-5.0.0.yaml")
	reqs, err := campaignRequirements(asvs, "1", nil)
	if err != nil || len(reqs) == 0 || reqs[0].Objective == "" || reqs[0].Principle == "" {
		t.Fatalf("ASVS level 1: %d %v", len(reqs), err)
	}
}

// campaignWorld is a real organisation tree and supplier register: two
// suppliers with tenant organisations (SUP-A's represented by repA),
// trust RT1 deploying SUP-A's product, trust RT2 deploying nothing.
type campaignWorld struct {
	s                          *Service
	nat, repA, repB, t1, t2, r scope.Scope
}

func newCampaignWorld(t *testing.T, db *store.DB) campaignWorld {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC) }
	al := audit.New(db, now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	orgs, err := org.New(org.Options{DB: db, Audit: al, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	sys := scope.System("test")
	for _, o := range []org.Org{
		{Code: "Y1", Name: "Region One", Type: org.Region},
		{Code: "Q1", Name: "ICB One", Type: org.ICB, Parent: "Y1"},
		{Code: "RT1", Name: "Trust One", Type: org.Trust, Parent: "Q1"},
		{Code: "RT2", Name: "Trust Two", Type: org.Trust, Parent: "Q1"},
		{Code: "TEN-A", Name: "Alpha tenant", Type: org.Supplier},
		{Code: "TEN-B", Name: "Beta tenant", Type: org.Supplier},
	} {
		if _, err := orgs.Create(ctx, sys, o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	reg, err := supply.New(supply.Options{DB: db, Audit: al, Orgs: orgs, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range []supply.Supplier{{ID: "SUP-A", Name: "Alpha Ltd", TenantOrg: "TEN-A", DesignatedCritical: true}, {ID: "SUP-B", Name: "Beta Ltd", TenantOrg: "TEN-B"}} {
		if _, err := reg.PutSupplier(ctx, sys, sp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.PutProduct(ctx, sys, supply.Product{ID: "A-EPR", SupplierID: "SUP-A", Name: "Alpha EPR", Kind: supply.SaaS}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RT1", ProductID: "A-EPR", Service: "epr", Criticality: supply.High}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{DB: db, Audit: al, Orgs: orgs, Suppliers: reg, Register: reg, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	who := func(name, code string, role scope.Role) scope.Scope {
		p, err := orgs.PathOf(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		return scope.Scope{UserID: "u-" + name, Name: name, Email: name + "@test", Via: "web", Grants: []scope.Grant{{Role: role, Org: code, Path: p}}}
	}
	return campaignWorld{s: s, nat: who("Nadia", org.RootCode, scope.NationalAnalyst), repA: who("Alf", "TEN-A", scope.SupplierRep), repB: who("Bea", "TEN-B", scope.SupplierRep),
		t1: who("Tom", "RT1", scope.OrgAnalyst), t2: who("Tess", "RT2", scope.OrgAnalyst), r: who("Rita", "Y1", scope.RegionLead)}
}

const twoOutcomeCAF = `objectives:
  A:
    title: Managing security risk
    principles:
      A1:
        title: Governance
        outcomes:
          A1.a:
            title: Board direction
            indicators:
              achieved:
                A1.a.1:
                  description: The board owns security.
          A1.b:
            title: Roles and responsibilities
            indicators:
              achieved:
                A1.b.1:
                  description: Roles are clear.
  B:
    title: Protecting against cyber attack
    principles:
      B2:
        title: Identity and access control
        outcomes:
          B2.a:
            title: Identity verification
            indicators:
              achieved:
                B2.a.1:
                  description: MFA everywhere.
`

func TestCampaignStatementReviewAndSharing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db)
		s := w.s
		set, err := Parse("test-caf-v1.0.yaml", []byte(twoOutcomeCAF), ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(ctx, scope.System("test"), set); err != nil {
			t.Fatal(err)
		}
		n := NewCampaign{Name: "Supplier CAF 2027", SetID: set.ID, Deadline: "2027-03-31", Suppliers: []string{"SUP-B"}, Tier: TierCritical, Weights: map[string]int{"B2.a": 3}}
		if _, err := s.CreateCampaign(ctx, w.t1, n); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a trust created a campaign: %v", err)
		}
		c, err := s.CreateCampaign(ctx, w.nat, n)
		if err != nil {
			t.Fatal(err)
		}
		if c.Suppliers != 2 || len(c.Requirements) != 3 || c.Selection != "list+tier:critical" || c.OwnerOrg != org.RootCode || c.Progress[StatusDraft] != 2 {
			t.Fatalf("campaign %+v", c)
		}
		// The region lead holds Supply only under Y1: a national campaign
		// is not theirs.
		if _, err := s.GetCampaign(ctx, w.r, c.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("region lead reads a national campaign: %v", err)
		}
		// Each representative sees only its own supplier's statement.
		mine, err := s.ListStatements(ctx, w.repA, StatementFilter{})
		if err != nil || len(mine) != 1 || mine[0].SupplierID != "SUP-A" {
			t.Fatalf("rep A's statements: %+v %v", mine, err)
		}
		id := mine[0].ID
		for _, sc := range []scope.Scope{w.repB, w.t1, w.t2, w.r} {
			if _, err := s.GetStatement(ctx, sc, id); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s reads A's draft: %v", sc.Name, err)
			}
		}
		if _, err := s.SaveAnswer(ctx, w.repB, id, 1, AnswerInput{Answer: Met}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("rep B answers A's statement: %v", err)
		}
		if _, err := s.SaveAnswer(ctx, w.nat, id, 1, AnswerInput{Answer: Met}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the assessor answers for the supplier: %v", err)
		}
		if _, err := s.SaveAnswer(ctx, w.repA, id, 2, AnswerInput{Answer: NotApplicable}); !isInvalid(err, "justification") {
			t.Errorf("N/A without a reason: %v", err)
		}
		// Draft answers, evidence, submit.
		for seq, a := range map[int]AnswerInput{1: {Answer: Met, Justification: "Board minutes"}, 2: {Answer: NotApplicable, Justification: "No staff of our own"}} {
			if _, err := s.SaveAnswer(ctx, w.repA, id, seq, a); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Submit(ctx, w.repA, id, "CISO"); !isInvalid(err, "answers") {
			t.Errorf("submitted with a requirement unanswered: %v", err)
		}
		if _, err := s.SaveAnswer(ctx, w.repA, id, 3, AnswerInput{Answer: Partly, Justification: "MFA for admins"}); err != nil {
			t.Fatal(err)
		}
		ev, err := s.AddEvidenceFile(ctx, w.repA, id, 3, "mfa-policy.pdf", []byte("%PDF-1.4 policy"))
		if err != nil || ev.SHA256 == "" || ev.Size != 15 || ev.ContentType != "application/pdf" {
			t.Fatalf("evidence %+v %v", ev, err)
		}
		if _, err := s.AddEvidenceFile(ctx, w.repA, id, 3, "x.html", []byte("<script>")); !isInvalid(err, "file") {
			t.Errorf("an HTML file was taken as evidence: %v", err)
		}
		if _, err := s.AddEvidenceLink(ctx, w.repA, id, 3, "", "http://example.com"); !isInvalid(err, "url") {
			t.Errorf("a plain-http link: %v", err)
		}
		// A certificate recorded for the supplier, cited by its number; an
		// unknown or expired one, or another supplier's, is refused.
		for _, c := range []Certificate{
			{SupplierID: "SUP-A", Scheme: CyberEssentialsPlus, Number: "IASME-CEP-0042", Scope: "whole organisation", Issued: "2026-06-01"},
			{SupplierID: "SUP-A", Scheme: CyberEssentials, Number: "IASME-CE-OLD", Issued: "2025-01-01"},
			{SupplierID: "SUP-B", Scheme: CyberEssentials, Number: "IASME-CE-B", Issued: "2026-06-01"},
		} {
			if _, err := s.PutCertificate(ctx, scope.System("t"), c); err != nil {
				t.Fatal(err)
			}
		}
		cev, err := s.AddEvidenceCertificate(ctx, w.repA, id, 3, " IASME-CEP-0042 ")
		if err != nil || cev.Kind != "certificate" || cev.Name != "Cyber Essentials Plus certificate IASME-CEP-0042, valid until 2027-06-01 (whole organisation)" {
			t.Fatalf("certificate evidence %+v %v", cev, err)
		}
		for _, n := range []string{"IASME-CE-OLD", "IASME-CE-B", "NOPE", ""} {
			if _, err := s.AddEvidenceCertificate(ctx, w.repA, id, 3, n); !isInvalid(err, "certificate") {
				t.Errorf("certificate %q taken as evidence: %v", n, err)
			}
		}
		if _, err := s.AddEvidenceCertificate(ctx, w.repB, id, 3, "IASME-CEP-0042"); !errors.Is(err, fault.ErrNotFound) && !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("rep B cited a certificate on A's statement: %v", err)
		}
		st, err := s.Submit(ctx, w.repA, id, "CISO")
		if err != nil || st.Status != StatusSubmitted || st.Version != 1 || st.SignedName != "Alf" {
			t.Fatalf("submit: %+v %v", st.StatementSummary, err)
		}
		if _, err := s.SaveAnswer(ctx, w.repA, id, 1, AnswerInput{Answer: NotMet}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("a submitted statement changed: %v", err)
		}
		// Review: query one answer; the supplier amends only that one.
		if _, err := s.Review(ctx, w.nat, id, 3, ReviewQueried, ""); !isInvalid(err, "note") {
			t.Errorf("a query without a note: %v", err)
		}
		if _, err := s.Review(ctx, w.repA, id, 3, ReviewAccepted, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the supplier reviewed itself: %v", err)
		}
		st, err = s.Review(ctx, w.nat, id, 3, ReviewQueried, "Which administrators lack MFA?")
		if err != nil || st.Status != StatusReturned || st.Answers[2].Review != ReviewQueried || len(st.Answers[2].Comments) != 1 {
			t.Fatalf("query: %+v %v", st.StatementSummary, err)
		}
		if _, err := s.SaveAnswer(ctx, w.repA, id, 1, AnswerInput{Answer: NotMet}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("an answer not queried was amended: %v", err)
		}
		if _, err := s.Comment(ctx, w.repA, id, 3, "All of them now use FIDO2 keys."); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveAnswer(ctx, w.repA, id, 3, AnswerInput{Answer: Met, Justification: "FIDO2 for every administrator since November"}); err != nil {
			t.Fatal(err)
		}
		if st, err = s.Submit(ctx, w.repA, id, "CISO"); err != nil || st.Version != 2 || st.Answers[2].Review != "" {
			t.Fatalf("resubmit: %+v %v", st, err)
		}
		if _, err := s.Accept(ctx, w.nat, id); !isInvalid(err, "answers") {
			t.Errorf("accepted with answers unreviewed: %v", err)
		}
		for seq := 1; seq <= 3; seq++ {
			if _, err := s.Review(ctx, w.nat, id, seq, ReviewAccepted, ""); err != nil {
				t.Fatal(err)
			}
		}
		// Before acceptance no trust sees it.
		if _, err := s.GetStatement(ctx, w.t1, id); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a trust sees a statement under review: %v", err)
		}
		st, err = s.Accept(ctx, w.nat, id)
		if err != nil || st.Status != StatusAccepted {
			t.Fatalf("accept: %v", err)
		}
		// Score: met (w1) 2/2, N/A 0/0, met (w3) 6/6.
		if st.Score.Points != 8 || st.Score.Max != 8 || st.Percent != 100 {
			t.Errorf("score %+v", st.Score)
		}
		// The trust deploying Alpha sees the reviewed statement, without
		// the evidence or the conversation; the other trust does not.
		got, err := s.GetStatement(ctx, w.t1, id)
		if err != nil || got.Answers[2].Evidence != nil || got.Answers[2].Comments != nil || got.May.Comment || got.May.Review {
			t.Fatalf("trust view: %+v %v", got.Answers, err)
		}
		if list, err := s.ListStatements(ctx, w.t1, StatementFilter{}); err != nil || len(list) != 1 || list[0].ID != id {
			t.Errorf("trust list: %+v %v", list, err)
		}
		if list, err := s.ListStatements(ctx, w.t2, StatementFilter{}); err != nil || len(list) != 0 {
			t.Errorf("the other trust lists: %+v %v", list, err)
		}
		if _, err := s.GetStatement(ctx, w.t2, id); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a trust not deploying Alpha: %v", err)
		}
		if _, _, err := s.OpenEvidence(ctx, w.t1, ev.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a trust downloads evidence: %v", err)
		}
		if e, data, err := s.OpenEvidence(ctx, w.nat, ev.ID); err != nil || string(data) != "%PDF-1.4 policy" || e.Name != "mfa-policy.pdf" {
			t.Errorf("assessor's download: %v", err)
		}
		if _, _, err := s.OpenEvidence(ctx, w.repB, ev.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("another supplier downloads evidence: %v", err)
		}
		// The campaign's progress.
		c, err = s.GetCampaign(ctx, w.nat, c.ID)
		if err != nil || c.Progress[StatusAccepted] != 1 || c.Progress[StatusDraft] != 1 {
			t.Errorf("progress %+v %v", c.Progress, err)
		}
		// Every step audited.
		var n2 int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'assurance.%' AND object_id = ?`, id).Scan(&n2); err != nil {
			t.Fatal(err)
		}
		if n2 < 14 {
			t.Errorf("%d audit entries for the statement", n2)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func isInvalid(err error, field string) bool {
	var inv *fault.Invalid
	return errors.As(err, &inv) && strings.HasPrefix(inv.Field, field)
}
