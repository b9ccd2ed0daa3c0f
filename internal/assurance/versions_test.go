package assurance

import (
	"context"
	"errors"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
)

// TestStatementVersions: submit, query, amend, resubmit keeps two
// snapshots; the first stays as submitted, the second lists the amended
// answer as changed. The versions are read exactly as the statement is:
// another supplier's representative and a trust not deploying the
// supplier get not found, a deployer reads them once the statement is
// accepted, without evidence.
func TestStatementVersions(t *testing.T) {
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
		c, err := s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Versions", SetID: set.ID, Deadline: "2027-03-31", Suppliers: []string{"SUP-A"}})
		if err != nil {
			t.Fatal(err)
		}
		id := c.Statements[0].ID
		for seq, a := range map[int]AnswerInput{1: {Answer: Met, Justification: "Board minutes"}, 2: {Answer: Partly, Justification: "Roles being written"}, 3: {Answer: Met}} {
			if _, err := s.SaveAnswer(ctx, w.repA, id, seq, a); err != nil {
				t.Fatal(err)
			}
		}
		ev, err := s.AddEvidenceLink(ctx, w.repA, id, 1, "Minutes", "https://alpha.example/minutes")
		if err != nil {
			t.Fatal(err)
		}
		if vs, err := s.ListVersions(ctx, w.repA, id); err != nil || len(vs) != 0 {
			t.Fatalf("a draft's versions: %+v %v", vs, err)
		}
		if _, err := s.Submit(ctx, w.repA, id, "CISO"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Review(ctx, w.nat, id, 2, ReviewQueried, "Which roles?"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveAnswer(ctx, w.repA, id, 2, AnswerInput{Answer: Met, Justification: "Roles are in the RACI"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Submit(ctx, w.repA, id, "Chief Executive"); err != nil {
			t.Fatal(err)
		}
		vs, err := s.ListVersions(ctx, w.nat, id)
		if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[0].SignedRole != "CISO" || vs[1].SignedRole != "Chief Executive" ||
			vs[0].SignedName != "Alf" || vs[1].Changed != 1 || !vs[1].Compared || vs[0].Compared || vs[0].Answers != nil {
			t.Fatalf("versions: %+v %v", vs, err)
		}
		v1, err := s.GetVersion(ctx, w.repA, id, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(v1.Answers) != 3 || v1.Answers[1].Answer != Partly || v1.Answers[1].Justification != "Roles being written" || len(v1.Changes) != 0 ||
			len(v1.Answers[0].Evidence) != 1 || v1.Answers[0].Evidence[0].ID != ev.ID || v1.Answers[0].Evidence[0].URL != "https://alpha.example/minutes" || v1.Answers[0].Label() != "A1.a" {
			t.Fatalf("version 1: %+v", v1)
		}
		v2, err := s.GetVersion(ctx, w.nat, id, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(v2.Changes) != 1 || v2.Changes[0].Seq != 2 || v2.Changes[0].AnswerBefore != Partly || v2.Changes[0].AnswerAfter != Met ||
			v2.Changes[0].JustificationAfter != "Roles are in the RACI" || v2.Answers[1].Justification != "Roles are in the RACI" {
			t.Fatalf("version 2: %+v", v2)
		}
		if _, err := s.GetVersion(ctx, w.nat, id, 3); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("version 3: %v", err)
		}
		if _, err := s.GetVersion(ctx, w.nat, id, 0); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("version 0: %v", err)
		}
		// Not accepted yet: only the supplier and the assessors.
		for _, sc := range []scope.Scope{w.repB, w.t1, w.t2, w.r} {
			if _, err := s.ListVersions(ctx, sc, id); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s lists the versions of a submitted statement: %v", sc.Name, err)
			}
			if _, err := s.GetVersion(ctx, sc, id, 1); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s reads version 1 of a submitted statement: %v", sc.Name, err)
			}
		}
		for seq := 1; seq <= 3; seq++ {
			if _, err := s.Review(ctx, w.nat, id, seq, ReviewAccepted, ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Accept(ctx, w.nat, id); err != nil {
			t.Fatal(err)
		}
		// Accepted: RT1 deploys Alpha and reads the versions, without
		// evidence; RT2 and Beta's representative still do not.
		v1d, err := s.GetVersion(ctx, w.t1, id, 1)
		if err != nil || len(v1d.Answers) != 3 || v1d.Answers[0].Evidence != nil || v1d.Answers[1].Justification != "Roles being written" {
			t.Fatalf("deployer's version 1: %+v %v", v1d, err)
		}
		for _, sc := range []scope.Scope{w.repB, w.t2} {
			if _, err := s.GetVersion(ctx, sc, id, 1); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s reads version 1 of an accepted statement: %v", sc.Name, err)
			}
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}
