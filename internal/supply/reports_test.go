package supply

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

// waitWarm waits for the background warm-up of the current graph.
func waitWarm(t *testing.T, s *Service) {
	t.Helper()
	select {
	case <-s.graph.Load().reports.warmed:
	case <-time.After(30 * time.Second):
		t.Fatal("the reports' warm-up did not finish")
	}
}

// TestReportsCached: after a rebuild the national reports are computed
// once, in the background, and every national caller is served from them;
// scoped callers get their own, computed once, equal to an uncached
// computation, and never the national one.
func TestReportsCached(t *testing.T) {
	db := storetestSQLite(t)
	e := newEnv(t, db)
	ctx := context.Background()
	mustImport(t, e, national, caseFiles(t, allCases...))
	s := e.svc
	analyst := grant(scope.NationalAnalyst, "ENG", "/ENG/")
	london := grant(scope.RegionLead, "Y56", "/ENG/Y56/")
	qkk := grant(scope.RegionLead, "QKK", "/ENG/Y56/QKK/") // a lead granted on one ICB

	if _, err := s.current(ctx); err != nil {
		t.Fatal(err)
	}
	waitWarm(t, s)
	conc0, sys0 := s.concRuns.Load(), s.sysRuns.Load()
	if _, err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	waitWarm(t, s)
	conc, sys := s.concRuns.Load(), s.sysRuns.Load()
	if conc-conc0 != 1 || sys-sys0 != 1 {
		t.Fatalf("warm-up computed %d concentration and %d systemic reports, want 1 and 1", conc-conc0, sys-sys0)
	}
	// The overview's calls, as the system and as a national analyst, twice:
	// nothing is computed again.
	var first ConcentrationReport
	for i, sc := range []scope.Scope{national, analyst, analyst} {
		rc, err := s.ConcentrationAll(ctx, sc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Systemic(ctx, sc, SystemicOptions{Limit: 10}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = rc
		} else if !reflect.DeepEqual(rc, first) {
			t.Errorf("call %d: a different national report", i)
		}
	}
	if s.concRuns.Load() != conc || s.sysRuns.Load() != sys {
		t.Errorf("national calls after the warm-up computed %d concentration and %d systemic reports, want none",
			s.concRuns.Load()-conc, s.sysRuns.Load()-sys)
	}
	g := s.graph.Load()
	if want := g.concentrationReport(nil); !reflect.DeepEqual(first, want) {
		t.Error("cached national report differs from a fresh computation")
	}
	// Limit cuts the cached lists exactly as computing with it does.
	for _, limit := range []int{1, 3, 50} {
		got, _ := s.Systemic(ctx, analyst, SystemicOptions{Limit: limit})
		if want := g.systemic(s, analyst, SystemicOptions{Limit: limit}); !reflect.DeepEqual(got, want) {
			t.Errorf("systemic limit %d: cached %+v, computed %+v", limit, got, want)
		}
	}

	// Scoped callers: each visibility computed once, and exactly what an
	// uncached computation over their organisations gives.
	conc, sys = s.concRuns.Load(), s.sysRuns.Load()
	for _, sc := range []scope.Scope{london, qkk} {
		for range 2 {
			rc, err := s.ConcentrationAll(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			want := g.concentrationReport(func(o int32) bool { return sc.CanAt(scope.Read, g.orgs[o].path) })
			if !reflect.DeepEqual(rc, want) {
				t.Errorf("%s: cached concentration differs from a fresh computation", sc.Email)
			}
			if reflect.DeepEqual(rc, first) {
				t.Errorf("%s got the national report", sc.Email)
			}
			res, err := s.Systemic(ctx, sc, SystemicOptions{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if want := g.systemic(s, sc, SystemicOptions{Limit: 10}); !reflect.DeepEqual(res, want) {
				t.Errorf("%s: cached systemic differs from a fresh computation", sc.Email)
			}
		}
	}
	if c, y := s.concRuns.Load()-conc, s.sysRuns.Load()-sys; c != 2 || y != 2 {
		t.Errorf("two scoped callers, twice each: %d concentration and %d systemic computations, want 2 and 2", c, y)
	}
	// The ICB lead's region row counts QKK alone, not London: filtering
	// the national (or regional) report would have been wrong.
	rc, _ := s.ConcentrationAll(ctx, qkk)
	for _, r := range rc.Results {
		for _, gr := range r.Groups {
			if r.By == ByRegion && gr.Code != "Y56" || r.By == ByICB && gr.Code != "QKK" {
				t.Errorf("QKK lead sees %s %s", r.By, gr.Code)
			}
		}
	}

	// A change bumps the generation: the next report is computed afresh.
	if _, err := s.PutDeployment(ctx, national, Deployment{OrgODS: "G85003", ProductID: "EMIS-WEB", Service: "gp-clinical", Criticality: Critical}); err != nil {
		t.Fatal(err)
	}
	rc, err := s.ConcentrationAll(ctx, analyst)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Generation == first.Generation || reflect.DeepEqual(rc.Results, first.Results) {
		t.Errorf("after a change: generation %d → %d, results unchanged %v", first.Generation, rc.Generation, reflect.DeepEqual(rc.Results, first.Results))
	}
	waitWarm(t, s)
	if _, err := s.ConcentrationAll(ctx, analyst); err != nil {
		t.Fatal(err)
	}
	if got := s.concRuns.Load() - conc; got != 3 {
		t.Errorf("%d concentration computations after the change, want 3 (the two scoped ones and one national)", got)
	}

	// Callers may change what they get without changing the cache.
	a, _ := s.ConcentrationAll(ctx, analyst)
	a.Services[0], a.Results = "changed", nil
	b, _ := s.ConcentrationAll(ctx, analyst)
	if b.Services[0] == "changed" || len(b.Results) == 0 {
		t.Error("a caller's change reached the cache")
	}
}

// TestVisibilityKey: callers share a key only when they see the same.
func TestVisibilityKey(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	ctx := context.Background()
	mustImport(t, e, national, caseFiles(t, allCases...))
	g, err := e.svc.current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	london := grant(scope.RegionLead, "Y56", "/ENG/Y56/")
	london2 := london
	london2.UserID, london2.Email = "another", "another@x"
	twoGrants := london
	twoGrants.Grants = append(twoGrants.Grants, scope.Grant{Role: scope.RegionLead, Org: "QKK", Path: "/ENG/Y56/QKK/"})
	north := grant(scope.RegionLead, "Y63", "/ENG/Y63/")
	rep := grant(scope.SupplierRep, "Y56", "/ENG/Y56/") // reads the same places, but not the register
	for _, c := range []struct {
		a, b scope.Scope
		same bool
	}{
		{national, grant(scope.NationalAnalyst, "ENG", "/ENG/"), true},
		{london, london2, true},
		{london, twoGrants, true}, // a nested grant adds nothing
		{london, north, false},
		{london, rep, false},
		{national, london, false},
	} {
		if got := g.visibilityKey(c.a) == g.visibilityKey(c.b); got != c.same {
			t.Errorf("%v and %v share a key: %v, want %v", c.a.Grants, c.b.Grants, got, c.same)
		}
	}
}
