package assurance

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
)

// profiledCAF is three outcomes with a baseline profile.
const profiledCAF = `objectives:
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
            min_profile_requirement:
              baseline: Achieved
          A1.b:
            title: Roles and responsibilities
            indicators:
              achieved:
                A1.b.1:
                  description: Roles are clear.
            min_profile_requirement:
              baseline: Achieved
  B:
    title: Protecting against cyber attack
    principles:
      B2:
        title: Identity and access control
        outcomes:
          B2.a:
            title: Enforce MFA
            indicators:
              achieved:
                B2.a.1:
                  description: MFA everywhere.
            min_profile_requirement:
              baseline: Partially achieved
`

// TestMethodologyMatchesScoring: every row of the published method is
// what the scoring code gives for that case, at both weights, and the
// change log ends at the version scores carry.
func TestMethodologyMatchesScoring(t *testing.T) {
	m := GetMethodology()
	if len(m.Cases) != len(methodCases) || m.Version != MethodVersion {
		t.Fatalf("methodology %+v", m)
	}
	for i, c := range m.Cases {
		for _, w := range []int{1, WeightExample} {
			sc := ScoreOf([]Requirement{{Seq: 1, Weight: w}}, map[int]AnswerState{1: methodCases[i].a})
			p, mx := c.Points1, c.Max1
			if w != 1 {
				p, mx = c.PointsW, c.MaxW
			}
			if sc.Points != p || sc.Max != mx || sc.Objectives[0].Principles[0].Lines[0].Why != c.Why || sc.MethodVersion != m.Version {
				t.Errorf("%s at weight %d: page says %d of %d (%s), code gives %+v", c.Case, w, p, mx, c.Why, sc)
			}
		}
	}
	if last := m.Changes[len(m.Changes)-1]; last.Version != MethodVersion {
		t.Errorf("the change log ends at %d, the method is %d", last.Version, MethodVersion)
	}
	for i, c := range m.Changes {
		if c.Version != i+1 || c.Date == "" || c.Summary == "" {
			t.Errorf("change %d: %+v", i, c)
		}
	}
}

// viewsWorld extends the campaign world: SUP-A also makes A-PACS
// (deployed by nobody); SUP-C is SUP-A's subsidiary, its C-APP deployed by
// RT2. A campaign on profiledCAF has SUP-A's and SUP-B's statements
// accepted: A met / partly / met-but-rejected, B met / met / not met.
func viewsWorld(t *testing.T, db *store.DB) (campaignWorld, string, string) {
	t.Helper()
	ctx := context.Background()
	w := newCampaignWorld(t, db)
	sys := scope.System("test")
	reg := w.s.register.(*supply.Service)
	for _, err := range []error{
		func() error {
			_, err := reg.PutSupplier(ctx, sys, supply.Supplier{ID: "SUP-C", Name: "Gamma Ltd", ParentID: "SUP-A"})
			return err
		}(),
		func() error {
			_, err := reg.PutProduct(ctx, sys, supply.Product{ID: "A-PACS", SupplierID: "SUP-A", Name: "Alpha PACS", Kind: supply.SaaS})
			return err
		}(),
		func() error {
			_, err := reg.PutProduct(ctx, sys, supply.Product{ID: "C-APP", SupplierID: "SUP-C", Name: "Gamma app", Kind: supply.SaaS})
			return err
		}(),
		func() error {
			_, err := reg.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RT2", ProductID: "C-APP", Service: "lab", Criticality: supply.Medium})
			return err
		}(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	set, err := Parse("views-caf-v1.0.yaml", []byte(profiledCAF), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Import(ctx, sys, set); err != nil {
		t.Fatal(err)
	}
	c, err := w.s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Views campaign", SetID: set.ID, Deadline: "2027-03-31", Suppliers: []string{"SUP-A", "SUP-B"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, st := range c.Statements {
		ids[st.SupplierID] = st.ID
	}
	take := func(rep scope.Scope, id string, answers []Answer, reviews []Review) {
		t.Helper()
		for i, a := range answers {
			if _, err := w.s.SaveAnswer(ctx, rep, id, i+1, AnswerInput{Answer: a, Justification: "because"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.s.AddEvidenceLink(ctx, rep, id, 1, "policy", "https://example.com/policy"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.Submit(ctx, rep, id, "CISO"); err != nil {
			t.Fatal(err)
		}
		for i, r := range reviews {
			note := ""
			if r != ReviewAccepted {
				note = "no evidence of this"
			}
			if _, err := w.s.Review(ctx, w.nat, id, i+1, r, note); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.s.Accept(ctx, w.nat, id); err != nil {
			t.Fatal(err)
		}
	}
	take(w.repA, ids["SUP-A"], []Answer{Met, Partly, Met}, []Review{ReviewAccepted, ReviewAccepted, ReviewRejected})
	repB := w.repB
	take(repB, ids["SUP-B"], []Answer{Met, Met, NotMet}, []Review{ReviewAccepted, ReviewAccepted, ReviewAccepted})
	return w, ids["SUP-A"], ids["SUP-B"]
}

func TestSharingLevelsAndGroupParents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, stA, _ := viewsWorld(t, db)
		s := w.s
		sees := func(sc scope.Scope) bool {
			t.Helper()
			_, readErr := s.GetStatement(ctx, sc, stA)
			if readErr != nil && !errors.Is(readErr, fault.ErrNotFound) {
				t.Fatal(readErr)
			}
			list, err := s.ListStatements(ctx, sc, StatementFilter{})
			if err != nil {
				t.Fatal(err)
			}
			listed := false
			for _, x := range list {
				listed = listed || x.ID == stA
			}
			if listed != (readErr == nil) {
				t.Errorf("%s: listed %v, read %v", sc.Name, listed, readErr)
			}
			return readErr == nil
		}
		// Default: every deploying organisation (RT1 deploys A-EPR); RT2
		// deploys only the subsidiary's product.
		if sh, err := s.GetSharing(ctx, w.t1, "SUP-A"); err != nil || sh.Level != ShareDeployers {
			t.Fatalf("default sharing %+v %v", sh, err)
		}
		if !sees(w.t1) || sees(w.t2) {
			t.Errorf("default: t1 %v t2 %v", sees(w.t1), sees(w.t2))
		}
		// Only the supplier's representatives choose.
		for _, sc := range []scope.Scope{w.t1, w.nat, w.repB} {
			if _, err := s.SetSharing(ctx, sc, Sharing{SupplierID: "SUP-A", Level: ShareNational}); err == nil {
				t.Errorf("%s set A's sharing", sc.Name)
			}
		}
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: ShareProducts}); !isInvalid(err, "products") {
			t.Errorf("products level with none: %v", err)
		}
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: ShareProducts, Products: []string{"B-NOPE"}}); !isInvalid(err, "products") {
			t.Errorf("another's product: %v", err)
		}
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: "everyone"}); !isInvalid(err, "level") {
			t.Errorf("bad level: %v", err)
		}
		// Only organisations deploying the assessed product.
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: ShareProducts, Products: []string{"A-PACS"}}); err != nil {
			t.Fatal(err)
		}
		if sees(w.t1) {
			t.Error("t1 deploys A-EPR, not the assessed A-PACS, and sees the statement")
		}
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: ShareProducts, Products: []string{"A-EPR"}}); err != nil {
			t.Fatal(err)
		}
		if !sees(w.t1) || sees(w.t2) {
			t.Error("products A-EPR: t1 should see, t2 not")
		}
		// The national team only: the assessor still sees it, trusts not.
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: ShareNational}); err != nil {
			t.Fatal(err)
		}
		if sees(w.t1) || !sees(w.nat) || !sees(w.repA) {
			t.Error("national: t1 sees, or the assessor or supplier does not")
		}
		// The parent's statement stands for its subsidiary's deployments.
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: ShareDeployers, Subsidiaries: true}); err != nil {
			t.Fatal(err)
		}
		if !sees(w.t1) || !sees(w.t2) {
			t.Error("deployers with subsidiaries: t1 and t2 (deploying SUP-C's C-APP) should see")
		}
		// The subsidiary's page lists them, to whoever sees them.
		if ps, err := s.ParentStatements(ctx, w.t2, "SUP-C"); err != nil || len(ps) != 1 || ps[0].ID != stA {
			t.Errorf("t2's parent statements of SUP-C: %+v %v", ps, err)
		}
		if _, err := s.SetSharing(ctx, w.repA, Sharing{SupplierID: "SUP-A", Level: ShareNational, Subsidiaries: true}); err != nil {
			t.Fatal(err)
		}
		if ps, err := s.ParentStatements(ctx, w.t2, "SUP-C"); err != nil || len(ps) != 0 {
			t.Errorf("national only: t2's parent statements %+v %v", ps, err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func TestDisputesAndScoreRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, stA, _ := viewsWorld(t, db)
		s := w.s
		st, err := s.GetStatement(ctx, w.repA, stA)
		if err != nil {
			t.Fatal(err)
		}
		// met 2 + partly 1 + rejected 0 of 6; recorded at acceptance.
		if st.Points != 3 || st.Max != 6 || len(st.ScoreRecords) != 1 || st.ScoreRecords[0].MethodVersion != MethodVersion || st.ScoreRecords[0].Points != 3 || !st.May.Dispute {
			t.Fatalf("accepted statement: %d/%d records %+v may %+v", st.Points, st.Max, st.ScoreRecords, st.May)
		}
		l := st.Score.Objectives[0].Principles[0].Lines[0]
		if l.AnsweredAt == "" || l.ReviewedAt == "" || l.Evidence != 1 || l.EvidenceAt == "" {
			t.Errorf("line dates: %+v", l)
		}
		if _, err := s.RaiseDispute(ctx, w.repA, stA, NewDispute{Seq: 3}); !isInvalid(err, "reason") {
			t.Errorf("no reason: %v", err)
		}
		for _, sc := range []scope.Scope{w.repB, w.t1} {
			if _, err := s.RaiseDispute(ctx, sc, stA, NewDispute{Seq: 3, Reason: "x"}); err == nil {
				t.Errorf("%s raised a dispute on A's statement", sc.Name)
			}
		}
		if _, err := s.RaiseDispute(ctx, w.nat, stA, NewDispute{Seq: 3, Reason: "x"}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the assessor disputes: %v", err)
		}
		d, err := s.RaiseDispute(ctx, w.repA, stA, NewDispute{Seq: 3, Reason: "Our MFA report was attached"})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != DisputeOpen || d.Seq != 3 || !strings.Contains(d.Subject, "B2.a") {
			t.Errorf("dispute %+v", d)
		}
		if _, err := s.RaiseDispute(ctx, w.repA, stA, NewDispute{Seq: 3, Reason: "again"}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("a second open dispute of the same decision: %v", err)
		}
		// The thread: both sides; nobody else sees it.
		if _, err := s.CommentDispute(ctx, w.nat, d.ID, "Which page?"); err != nil {
			t.Fatal(err)
		}
		if d, err = s.CommentDispute(ctx, w.repA, d.ID, "Page 4"); err != nil || len(d.Messages) != 2 || d.Messages[0].Side != "assessor" || d.Messages[1].Side != "supplier" {
			t.Fatalf("thread %+v %v", d.Messages, err)
		}
		for _, sc := range []scope.Scope{w.t1, w.repB, w.t2} {
			if _, err := s.GetDispute(ctx, sc, d.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s reads the dispute: %v", sc.Name, err)
			}
			if ds, err := s.ListDisputes(ctx, sc, DisputeFilter{}); err != nil || len(ds) != 0 {
				t.Errorf("%s lists disputes %+v %v", sc.Name, ds, err)
			}
			if _, err := s.AnswerDispute(ctx, sc, d.ID, DisputeAnswer{Decision: Uphold, Note: "x"}); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s answers: %v", sc.Name, err)
			}
		}
		if st, _ := s.GetStatement(ctx, w.t1, stA); len(st.Disputes) != 0 {
			t.Error("the deploying trust sees the disputes")
		}
		if _, err := s.AnswerDispute(ctx, w.repA, d.ID, DisputeAnswer{Decision: Uphold, Note: "x"}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the supplier answers its own dispute: %v", err)
		}
		if _, err := s.AnswerDispute(ctx, w.nat, d.ID, DisputeAnswer{Decision: Amend, Note: "x", Review: ReviewQueried}); !isInvalid(err, "review") {
			t.Errorf("amend to queried: %v", err)
		}
		if d, err = s.AnswerDispute(ctx, w.nat, d.ID, DisputeAnswer{Decision: Amend, Note: "The report shows MFA", Review: ReviewAccepted}); err != nil {
			t.Fatal(err)
		}
		if d.Status != DisputeAmended || d.AmendedFrom != ReviewRejected || d.AmendedTo != ReviewAccepted {
			t.Errorf("amended %+v", d)
		}
		if _, err := s.CommentDispute(ctx, w.repA, d.ID, "thanks"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("comment on a closed dispute: %v", err)
		}
		st, _ = s.GetStatement(ctx, w.repA, stA)
		if st.Points != 5 || len(st.ScoreRecords) != 2 || st.ScoreRecords[1].Points != 5 || !strings.Contains(st.ScoreRecords[1].Reason, d.ID) || len(st.Disputes) != 1 {
			t.Errorf("after amendment: %d, records %+v", st.Points, st.ScoreRecords)
		}
		// The score as a whole; upheld.
		d2, err := s.RaiseDispute(ctx, w.repA, stA, NewDispute{Reason: "Weights are unfair"})
		if err != nil {
			t.Fatal(err)
		}
		if d2, err = s.AnswerDispute(ctx, w.nat, d2.ID, DisputeAnswer{Decision: Uphold, Note: "Weights are the campaign's"}); err != nil || d2.Status != DisputeUpheld || d2.Subject != "the score" {
			t.Errorf("upheld %+v %v", d2, err)
		}
		if ds, err := s.ListDisputes(ctx, w.repA, DisputeFilter{SupplierID: "SUP-A"}); err != nil || len(ds) != 2 {
			t.Errorf("rep's disputes %d %v", len(ds), err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func TestHeatMapGapsComparisonPriorities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, stA, stB := viewsWorld(t, db)
		s := w.s
		hm, err := s.GetHeatMap(ctx, w.nat, "")
		if err != nil {
			t.Fatal(err)
		}
		if hm.SetID != "webcaf-caf@1.0" || len(hm.Requirements) != 3 || len(hm.Rows) != 2 {
			t.Fatalf("heat map %+v", hm)
		}
		got := map[string]string{}
		for _, r := range hm.Rows {
			var b []string
			for _, c := range r.Cells {
				b = append(b, string(c))
			}
			got[r.SupplierID] = strings.Join(b, " ")
		}
		if got["SUP-A"] != "met partly rejected" || got["SUP-B"] != "met met not_met" {
			t.Errorf("cells %v", got)
		}
		var csv bytes.Buffer
		if err := hm.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(csv.String(), "supplier_id,supplier,statement,score_percent,A1.a,A1.b,B2.a\n") || !strings.Contains(csv.String(), "SUP-B,Beta Ltd,"+stB+",66.7,met,met,not_met") {
			t.Errorf("csv:\n%s", csv.String())
		}
		// A trust sees only the rows of the suppliers shared with it.
		hm1, err := s.GetHeatMap(ctx, w.t1, "")
		if err != nil || len(hm1.Rows) != 1 || hm1.Rows[0].StatementID != stA {
			t.Errorf("t1's heat map %+v %v", hm1, err)
		}
		// Gaps: who does not enforce MFA?
		g, err := s.GetGaps(ctx, w.nat, GapQuery{Requirement: "B2.a"})
		if err != nil || len(g.Rows) != 1 || g.Rows[0].Assessed != 2 || len(g.Rows[0].Suppliers) != 2 {
			t.Fatalf("gaps %+v %v", g, err)
		}
		g, _ = s.GetGaps(ctx, w.nat, GapQuery{Requirement: "B2.a", Tier: TierCritical})
		if g.Suppliers != 1 || len(g.Rows[0].Suppliers) != 1 || g.Rows[0].Suppliers[0].SupplierID != "SUP-A" || g.Rows[0].Suppliers[0].State != StateRejected {
			t.Errorf("critical gaps %+v", g)
		}
		g, _ = s.GetGaps(ctx, w.nat, GapQuery{Criticality: supply.High})
		if g.Suppliers != 1 || len(g.Rows) != 3 || len(g.Rows[1].Suppliers) != 1 || g.Rows[1].Suppliers[0].Criticality != supply.High {
			t.Errorf("high-criticality gaps %+v", g)
		}
		if _, err := s.GetGaps(ctx, w.nat, GapQuery{Requirement: "Z9"}); !isInvalid(err, "requirement") {
			t.Errorf("unknown requirement: %v", err)
		}
		if _, err := s.GetGaps(ctx, w.nat, GapQuery{Tier: "gold"}); !isInvalid(err, "tier") {
			t.Errorf("bad tier: %v", err)
		}
		// Against the baseline: A1.a met ≥ achieved; A1.b partly < achieved;
		// B2.a rejected < partially achieved.
		pc, err := s.CompareProfile(ctx, w.t1, stA, "")
		if err != nil || pc.Profile != "baseline" || pc.Meets != 1 || pc.Short != 2 || pc.Lines[2].Reached != NotAchieved {
			t.Errorf("comparison %+v %v", pc, err)
		}
		pc, _ = s.CompareProfile(ctx, w.nat, stB, "baseline")
		if pc.Meets != 2 || pc.Short != 1 {
			t.Errorf("B against baseline %+v", pc)
		}
		if _, err := s.CompareProfile(ctx, w.t2, stA, ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("t2 compares A's statement: %v", err)
		}
		if _, err := s.CompareProfile(ctx, w.nat, stA, "gold"); !isInvalid(err, "profile") {
			t.Errorf("unknown profile: %v", err)
		}
		// Prioritisation: separate parts and the labelled combination.
		s.graph = w.s.register.(*supply.Service)
		pr, err := s.GetPriorities(ctx, w.nat, "")
		if err != nil || len(pr.Rows) != 3 || len(pr.Method.Rules) != 4 {
			t.Fatalf("priorities %+v %v", pr, err)
		}
		by := map[string]PriorityRow{}
		for _, r := range pr.Rows {
			by[r.SupplierID] = r
		}
		a, c := by["SUP-A"], by["SUP-C"]
		if a.Assurance == nil || *a.Assurance != 50 || a.AssuranceGap != 50 || a.Importance != 100 || a.Organisations != 2 || a.Priority != 50 {
			t.Errorf("SUP-A %+v", a)
		}
		if c.Assurance != nil || c.AssuranceGap != 100 || c.GroupID != "SUP-A" {
			t.Errorf("SUP-C %+v", c)
		}
		one, err := s.GetPriorities(ctx, w.t2, "SUP-A")
		if err != nil || len(one.Rows) != 1 || one.Rows[0].Assurance != nil || !one.GraphHidden || one.Rows[0].Importance != 0 {
			t.Errorf("t2's view of SUP-A %+v %v", one, err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}
