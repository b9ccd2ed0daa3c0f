package org_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// Bodies outside NHS England hang from their nation's node under the
// root, and England's active views — tree levels, counts, lists — leave
// them out unless asked; Get still finds them, and opening the nation
// shows them.
func TestOutsideEnglandViews(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		e.create(t, nat, org.Org{Code: "W00", Name: "NHS Wales", Type: org.Nation})
		e.create(t, nat, org.Org{Code: "RQF", Name: "Velindre University NHS Trust", Type: org.Trust, Parent: "W00"})
		e.create(t, nat, org.Org{Code: "W91001", Name: "Canolfan Iechyd", Type: org.GPPractice, Parent: "W00"})
		e.create(t, nat, org.Org{Code: "W91002", Name: "Old Welsh Surgery", Type: org.GPPractice, Parent: "W00", Status: org.Closed})

		if o, err := e.svc.Get(ctx, nat, "RQF"); err != nil || o.Region != "W00" || o.Path != "/ENG/W00/RQF/" {
			t.Fatalf("RQF = %+v, %v; want region W00 under /ENG/W00/", o, err)
		}
		codes := func(ns []org.Node, err error) []string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, n := range ns {
				out = append(out, n.Code)
			}
			return out
		}
		if got := codes(e.svc.Children(ctx, nat, "ENG", org.View{})); !slices.Equal(got, []string{"Y56", "Y62", "SUP-X"}) {
			t.Errorf("England's tree under ENG = %v, want the two regions and the supplier, not Wales", got)
		}
		if got := codes(e.svc.Children(ctx, nat, "ENG", org.View{Outside: true})); !slices.Equal(got, []string{"Y56", "W00", "Y62", "SUP-X"}) {
			t.Errorf("with Outside, ENG's children = %v, want Wales too", got)
		}
		// Whoever opens Wales sees its open bodies (and, asking, closed ones).
		if got := codes(e.svc.Children(ctx, nat, "W00", org.View{})); !slices.Equal(got, []string{"W91001", "RQF"}) {
			t.Errorf("children of W00 = %v", got)
		}
		if got := codes(e.svc.Children(ctx, nat, "W00", org.View{Closed: true})); len(got) != 3 {
			t.Errorf("children of W00 with closed = %v", got)
		}
		// The root's count agrees with the level it opens.
		roots, _ := e.svc.Children(ctx, nat, "", org.View{})
		if len(roots) != 1 || roots[0].Children != 3 {
			t.Errorf("ENG counts %v children in England's view, want 3", roots)
		}
		roots, _ = e.svc.Children(ctx, nat, "", org.View{Outside: true})
		if roots[0].Children != 4 {
			t.Errorf("ENG counts %d children with Outside, want 4", roots[0].Children)
		}

		counts, err := e.svc.Count(ctx, nat, org.View{})
		if err != nil || counts[org.Nation] != 0 || counts[org.Trust] != 3 || counts[org.GPPractice] != 0 {
			t.Errorf("England's counts = %v, %v; want no nation, 3 trusts, no practices", counts, err)
		}
		counts, _ = e.svc.Count(ctx, nat, org.View{Outside: true, Closed: true})
		if counts[org.Nation] != 1 || counts[org.Trust] != 4 || counts[org.GPPractice] != 2 {
			t.Errorf("counts with everything = %v", counts)
		}

		list := func(f org.ListFilter) []string {
			t.Helper()
			got, _, err := e.svc.List(ctx, nat, f)
			if err != nil {
				t.Fatal(err)
			}
			return codesOf(got)
		}
		if got := list(org.ListFilter{Type: org.Trust}); !slices.Equal(got, []string{"R0A", "RJ1", "RJZ"}) {
			t.Errorf("trusts by default = %v, want England's", got)
		}
		if got := list(org.ListFilter{Type: org.Trust, Outside: true}); !slices.Equal(got, []string{"R0A", "RJ1", "RJZ", "RQF"}) {
			t.Errorf("trusts with Outside = %v", got)
		}
		if got := list(org.ListFilter{Parent: "W00", Status: org.Active}); !slices.Equal(got, []string{"RQF", "W91001"}) {
			t.Errorf("list under parent W00 = %v", got)
		}
		if got := list(org.ListFilter{Under: "W00"}); !slices.Equal(got, []string{"RQF", "W00", "W91001", "W91002"}) {
			t.Errorf("list under W00 = %v", got)
		}

		// Nations are national structure: a region lead cannot make one,
		// and one goes only under the root.
		if _, err := e.svc.Create(ctx, e.as(t, scope.RegionLead, "Y56"), org.Org{Code: "YAC", Name: "Isle of Man", Type: org.Nation}); err == nil {
			t.Error("a region lead made a nation")
		}
		_, err = e.svc.Create(ctx, nat, org.Org{Code: "YAD", Name: "Jersey", Type: org.Nation, Parent: "Y56"})
		wantValidation(t, err, "parent", "national")
		if _, err := e.svc.Get(ctx, e.as(t, scope.RegionLead, "Y56"), "RQF"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a region lead reads a Welsh trust: %v", err)
		}
	})
}

// Names names only what the caller may read.
func TestNamesAreScoped(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		got, err := e.svc.Names(ctx, e.as(t, scope.RegionLead, "Y56"), []string{"Y56", "QKK", "QKK", "QOP", "NOPE", "", "R\x00J"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["Y56"] != "London" || got["QKK"] != "NHS South East London ICB" {
			t.Errorf("names for the Y56 lead = %v, want London and its ICB only", got)
		}
		if got, _ := e.svc.Names(ctx, nat, nil); len(got) != 0 {
			t.Errorf("no codes gave %v", got)
		}
	})
}
