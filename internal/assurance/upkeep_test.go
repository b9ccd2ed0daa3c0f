package assurance

import (
	"context"
	"errors"
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
)

const tieredCAF = `objectives:
  A:
    title: Managing security risk
    principles:
      A1:
        title: Governance
        outcomes:
          A1.a:
            title: Board direction
            min_profile_requirement:
              baseline: achieved
              enhanced: achieved
            indicators:
              achieved:
                A1.a.1:
                  description: The board owns security.
          A1.b:
            title: Roles
            min_profile_requirement:
              enhanced: achieved
            indicators:
              achieved:
                A1.b.1:
                  description: Roles are clear.
`

// tierWorld adds to campaignWorld: SUP-C (patient data, medium
// deployment), SUP-D (nothing deployed, personal data), SUP-E (critical
// deployment), and the tiered set imported.
func tierWorld(t *testing.T, db *store.DB) (campaignWorld, *supply.Service, string) {
	t.Helper()
	ctx := context.Background()
	w := newCampaignWorld(t, db)
	reg := w.s.register.(*supply.Service)
	sys := scope.System("test")
	for _, sp := range []supply.Supplier{{ID: "SUP-C", Name: "Gamma Ltd"}, {ID: "SUP-D", Name: "Delta Ltd"}, {ID: "SUP-E", Name: "Epsilon Ltd"}} {
		if _, err := reg.PutSupplier(ctx, sys, sp); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []supply.Product{
		{ID: "C-LIMS", SupplierID: "SUP-C", Name: "Gamma LIMS", Kind: supply.SaaS, Data: supply.PatientData},
		{ID: "D-HR", SupplierID: "SUP-D", Name: "Delta HR", Kind: supply.SaaS, Data: supply.PersonalData},
		{ID: "E-NET", SupplierID: "SUP-E", Name: "Epsilon Network", Kind: supply.Network, Data: supply.NoData},
		{ID: "B-APP", SupplierID: "SUP-B", Name: "Beta App", Kind: supply.SaaS},
	} {
		if _, err := reg.PutProduct(ctx, sys, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []supply.Deployment{
		{OrgODS: "RT2", ProductID: "C-LIMS", Service: "pathology", Criticality: supply.Medium},
		{OrgODS: "RT2", ProductID: "E-NET", Service: "network", Criticality: supply.Critical},
		{OrgODS: "RT1", ProductID: "B-APP", Service: "rota", Criticality: supply.Low},
	} {
		if _, err := reg.PutDeployment(ctx, sys, d); err != nil {
			t.Fatal(err)
		}
	}
	set, err := Parse("tiered-caf-v1.0.yaml", []byte(tieredCAF), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Import(ctx, sys, set); err != nil {
		t.Fatal(err)
	}
	return w, reg, set.ID
}

func TestTiersExplainThemselves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, _, _ := tierWorld(t, db)
		got, err := w.s.Tiers(ctx, w.nat)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			tier string
			rule int
			in   string
		}{
			"SUP-A": {Tier1, 1, "designated critical"},
			"SUP-E": {Tier1, 2, "Epsilon Network (E-NET, which processes no personal data) is deployed at RT2 for network with criticality critical"},
			"SUP-C": {Tier2, 5, "Gamma LIMS (C-LIMS) processes patient data"},
			"SUP-B": {Tier3, 7, "1 deployments seen; 1 products do not say"},
			"SUP-D": {Tier3, 7, "0 deployments seen"},
		}
		if len(got) != len(want) {
			t.Fatalf("tiers: %+v", got)
		}
		for i, g := range got {
			x := want[g.SupplierID]
			if g.Tier != x.tier || g.Rule != x.rule || !strings.Contains(g.Reason, x.in) {
				t.Errorf("%s: %s rule %d %q, want %s rule %d with %q", g.SupplierID, g.Tier, g.Rule, g.Reason, x.tier, x.rule, x.in)
			}
			if i > 0 && got[i-1].Tier > g.Tier {
				t.Errorf("not most demanding first: %v", got)
			}
		}
		if g := got[1]; g.SupplierID != "SUP-E" || g.Deployment == nil || g.Deployment.OrgODS != "RT2" {
			t.Errorf("the deployment that put E in tier 1: %+v", g)
		}
		// The rule of high criticality with patient data, by hand.
		tt := tierOf(supply.Supplier{ID: "X"}, []supply.Product{{ID: "P", Name: "P", Data: supply.PatientData}},
			map[string][]supply.Deployment{"P": {{OrgODS: "RT1", ProductID: "P", Service: "epr", Criticality: supply.High}}})
		if tt.Tier != Tier1 || tt.Rule != 3 {
			t.Errorf("high + patient data: %+v", tt)
		}
		if _, err := w.s.Tiers(ctx, w.t1); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a trust lists tiers: %v", err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func TestTieredCampaignAsksEachSupplierItsProfile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, _, set := tierWorld(t, db)
		if _, err := w.s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Bad", SetID: set, Deadline: "2027-01-31", Tier: TierAll, TierProfiles: map[string]string{"tier-9": "baseline"}}); !isInvalid(err, "tier_profiles") {
			t.Errorf("unknown tier: %v", err)
		}
		if _, err := w.s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Bad", SetID: set, Deadline: "2027-01-31", Tier: TierAll, TierProfiles: map[string]string{Tier1: "gold"}}); !isInvalid(err, "tier_profiles") {
			t.Errorf("unknown profile: %v", err)
		}
		// Tier 1 only: A and E, each against enhanced (2 requirements).
		c, err := w.s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Tier one", SetID: set, Deadline: "2027-01-31", Tier: Tier1, TierProfiles: map[string]string{Tier1: "enhanced", Tier2: "baseline"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Suppliers != 2 || c.Selection != "tier:tier-1" || c.Statements[0].Tier != Tier1 || c.Statements[0].Profile != "enhanced" || c.Statements[0].Requirements != 2 {
			t.Fatalf("tier-1 campaign: %+v %+v", c, c.Statements)
		}
		// Everyone, each against its tier's profile: tier 3 has none, so
		// every requirement.
		c, err = w.s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Everyone", SetID: set, Deadline: "2027-01-31", Tier: TierAll, TierProfiles: map[string]string{Tier1: "enhanced", Tier2: "baseline"}})
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]StatementSummary{}
		for _, x := range c.Statements {
			by[x.SupplierID] = x
		}
		if x := by["SUP-C"]; x.Tier != Tier2 || x.Profile != "baseline" || x.Requirements != 1 || !strings.Contains(x.TierReason, "patient data") {
			t.Errorf("C: %+v", x)
		}
		if x := by["SUP-B"]; x.Tier != Tier3 || x.Profile != "" || x.Requirements != 2 {
			t.Errorf("B: %+v", x)
		}
		// C is asked about A1.a only: A1.b (seq 2) is not its requirement.
		sc := w.repA
		_ = sc
		stC := by["SUP-C"].ID
		cs, err := w.s.GetStatement(ctx, w.nat, stC)
		if err != nil || len(cs.Answers) != 1 || cs.Answers[0].Key != "A1.a" || cs.Profile != "baseline" {
			t.Fatalf("C's statement: %+v %v", cs.Answers, err)
		}
		// A (tier 1, enhanced) answers both and submits.
		stA := by["SUP-A"].ID
		for seq := 1; seq <= 2; seq++ {
			if _, err := w.s.SaveAnswer(ctx, w.repA, stA, seq, AnswerInput{Answer: Met}); err != nil {
				t.Fatal(err)
			}
		}
		if st, err := w.s.Submit(ctx, w.repA, stA, "CISO"); err != nil || st.Requirements != 2 {
			t.Fatalf("A submits: %v", err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

// mailbox is a Notifier that keeps what it is asked to send.
type mailbox struct {
	mu      sync.Mutex
	holders map[string][]string // org → e-mails
	sent    []Notice
}

func (m *mailbox) HoldersOf(_ context.Context, orgs []string, _ []scope.Role) ([]string, error) {
	var out []string
	for _, o := range orgs {
		out = append(out, m.holders[o]...)
	}
	return out, nil
}

func (m *mailbox) Send(_ context.Context, n Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, n)
	return nil
}

func TestCampaignEditCloseProgressAndReminders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, reg, set := tierWorld(t, db)
		now := time.Date(2027, 1, 20, 9, 0, 0, 0, time.UTC)
		box := &mailbox{holders: map[string][]string{"TEN-A": {"alf@alpha.test"}, "TEN-B": {"bea@beta.test"}, org.RootCode: {"nadia@nhs.test"}}}
		s, err := New(Options{DB: db, Audit: audit.New(db, func() time.Time { return now }), Orgs: w.s.orgs, Register: reg, Notifier: box, BaseURL: "https://vigil.test/", Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Spring", SetID: set, Deadline: "2027-02-10", Suppliers: []string{"SUP-A", "SUP-B"}, TierProfiles: map[string]string{Tier1: "enhanced"}})
		if err != nil {
			t.Fatal(err)
		}
		stA, stB := c.Statements[0].ID, c.Statements[1].ID
		// Edit: name and deadline; not by a trust, not into the past.
		if _, err := s.EditCampaign(ctx, w.t1, c.ID, CampaignEdit{Name: ptr("x")}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a trust edits: %v", err)
		}
		if _, err := s.EditCampaign(ctx, w.nat, c.ID, CampaignEdit{Deadline: ptr("2027-01-01")}); !isInvalid(err, "deadline") {
			t.Errorf("deadline in the past: %v", err)
		}
		c, err = s.EditCampaign(ctx, w.nat, c.ID, CampaignEdit{Name: ptr("Spring 2027"), Deadline: ptr("2027-01-26")})
		if err != nil || c.Name != "Spring 2027" || c.Deadline != "2027-01-26" {
			t.Fatalf("edit: %+v %v", c, err)
		}
		// Nothing due 20 days before... 6 days before: the 7-day reminder, once.
		check := func(wantSent int) {
			t.Helper()
			n, err := s.CheckReminders(ctx)
			if err != nil || n != wantSent {
				t.Fatalf("at %s sent %d (%v), want %d", now, n, err, wantSent)
			}
		}
		check(2)
		check(0)
		if len(box.sent) != 2 || box.sent[0].Kind != KindReminder || !strings.Contains(box.sent[0].Body, "https://vigil.test/assurance/statements/") || !strings.Contains(box.sent[0].Subject, "2027-01-26") {
			t.Fatalf("reminders: %+v", box.sent)
		}
		// A submits; B does not. 12 hours before: the 1-day reminder to B only.
		for seq := 1; seq <= 2; seq++ {
			if _, err := s.SaveAnswer(ctx, w.repA, stA, seq, AnswerInput{Answer: Met}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Submit(ctx, w.repA, stA, "CISO"); err != nil {
			t.Fatal(err)
		}
		now = time.Date(2027, 1, 26, 12, 0, 0, 0, time.UTC)
		check(1)
		if last := box.sent[2]; last.Ref != stB || !strings.Contains(last.Body, "within 1 day") || last.To[0] != "bea@beta.test" {
			t.Errorf("1-day reminder: %+v", last)
		}
		// Overdue: B's representatives and the assessors, once.
		now = time.Date(2027, 1, 27, 0, 0, 1, 0, time.UTC)
		check(1)
		check(0)
		if last := box.sent[3]; last.Kind != KindOverdue || len(last.To) != 2 || last.To[1] != "nadia@nhs.test" {
			t.Errorf("overdue: %+v", last)
		}
		p, err := s.CampaignProgress(ctx, w.nat, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Invited != 2 || p.Submitted != 1 || p.Draft != 1 || p.Overdue != 1 || len(p.OverdueSuppliers) != 1 || p.OverdueSuppliers[0].ID != stB ||
			p.Reminders[Remind7] != 2 || p.Reminders[Remind1] != 1 || p.Reminders[Overdue] != 1 || len(p.ByTier) != 2 || p.ByTier[0].Tier != Tier1 || p.ByTier[1].Tier != Tier3 {
			t.Errorf("progress: %+v", p)
		}
		if _, err := s.CampaignProgress(ctx, w.repA, c.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a supplier reads progress: %v", err)
		}
		// A new deadline earns new reminders; closing stops them and the answers.
		if _, err := s.EditCampaign(ctx, w.nat, c.ID, CampaignEdit{Deadline: ptr("2027-01-30")}); err != nil {
			t.Fatal(err)
		}
		check(1)
		if _, err := s.CloseCampaign(ctx, w.repB, c.ID, ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a supplier closes: %v", err)
		}
		c, err = s.CloseCampaign(ctx, w.nat, c.ID, "superseded")
		if err != nil || c.ClosedAt == "" {
			t.Fatalf("close: %v", err)
		}
		if _, err := s.CloseCampaign(ctx, w.nat, c.ID, ""); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("closed twice: %v", err)
		}
		if _, err := s.SaveAnswer(ctx, w.repB, stB, 1, AnswerInput{Answer: Met}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("answered in a closed campaign: %v", err)
		}
		if _, err := s.Review(ctx, w.nat, stA, 1, ReviewAccepted, ""); err != nil {
			t.Errorf("the assessor may still review: %v", err)
		}
		now = now.Add(72 * time.Hour)
		check(0)
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action IN ('assurance.campaign.edit', 'assurance.campaign.close', 'assurance.statement.remind')`).Scan(&n); err != nil || n != 3+5 {
			t.Errorf("%d audit entries (%v), want 3 + 5", n, err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func ptr[T any](v T) *T { return &v }

func TestReminderKind(t *testing.T) {
	at := func(s string) time.Time { x, _ := time.Parse(time.RFC3339, s); return x }
	for _, tc := range []struct{ now, want string }{
		{"2027-01-18T23:59:59Z", ""},
		{"2027-01-19T00:00:00Z", Remind7},
		{"2027-01-24T23:59:59Z", Remind7},
		{"2027-01-25T00:00:00Z", Remind1},
		{"2027-01-25T23:59:59Z", Remind1},
		{"2027-01-26T00:00:00Z", Overdue},
	} {
		if got := reminderKind("2027-01-25", at(tc.now)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.now, got, tc.want)
		}
	}
}
