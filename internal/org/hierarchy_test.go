package org_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-health/vigil/internal/demo"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestCreateFollowsTheHierarchy: an organisation's type decides which types
// of parent it may have (national → region → ICB → sub-ICB → providers;
// suppliers under national), for everyone, the national administrator
// included; and only national administrators create regions, ICBs and
// supplier organisations.
func TestCreateFollowsTheHierarchy(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		e.create(t, nat, org.Org{Code: "15F", Name: "Sub-ICB 15F", Type: org.SubICB, Parent: "QKK"})
		e.create(t, nat, org.Org{Code: "G1", Name: "Practice G1", Type: org.GPPractice, Parent: "15F"})
		lead := e.as(t, scope.RegionLead, "Y56")
		admin := e.as(t, scope.OrgAdmin, "RJ1")
		const (
			ok        = 0
			invalid   = 400 // the type may not sit under that parent
			forbidden = 403 // the type is national structure
		)
		cases := []struct {
			name   string
			sc     scope.Scope
			typ    org.Type
			parent string
			want   int
		}{
			// The attack of issue 13: an org-admin makes an ICB under its trust.
			{"org admin: ICB under its trust", admin, org.ICB, "RJ1", invalid},
			{"org admin: region under its trust", admin, org.Region, "RJ1", invalid},
			{"org admin: sub-ICB under its trust", admin, org.SubICB, "RJ1", invalid},
			{"org admin: supplier under its trust", admin, org.Supplier, "RJ1", invalid},
			{"org admin: trust under its trust", admin, org.Trust, "RJ1", invalid},
			{"org admin: national under its trust", admin, org.National, "RJ1", invalid},
			{"org admin: a site under its trust", admin, org.OtherProvider, "RJ1", ok},
			{"region lead: ICB under its region", lead, org.ICB, "Y56", forbidden},
			{"region lead: sub-ICB under its ICB", lead, org.SubICB, "QKK", ok},
			{"region lead: trust under its ICB", lead, org.Trust, "QKK", ok},
			{"region lead: trust under its region", lead, org.Trust, "Y56", ok},
			{"region lead: practice under a sub-ICB", lead, org.GPPractice, "15F", ok},
			{"region lead: ICB under its ICB", lead, org.ICB, "QKK", invalid},
			{"region lead: region under its region", lead, org.Region, "Y56", invalid},
			{"nat: region under the root", nat, org.Region, "ENG", ok},
			{"nat: ICB under a region", nat, org.ICB, "Y62", ok},
			{"nat: supplier under the root", nat, org.Supplier, "ENG", ok},
			{"nat: supplier under a region", nat, org.Supplier, "Y56", invalid},
			{"nat: ICB under the root", nat, org.ICB, "ENG", invalid},
			{"nat: ICB under a trust", nat, org.ICB, "RJ1", invalid},
			{"nat: trust under the root", nat, org.Trust, "ENG", invalid},
			{"nat: trust under a supplier", nat, org.Trust, "SUP-X", invalid},
			{"nat: practice under a practice", nat, org.GPPractice, "G1", invalid},
			{"nat: sub-ICB under a region", nat, org.SubICB, "Y56", invalid},
			{"nat: a second national root", nat, org.National, "ENG", invalid},
			{"system: ICB under a trust", scope.System("t"), org.ICB, "RJ1", invalid},
		}
		for i, c := range cases {
			code := fmt.Sprintf("H%02d", i)
			_, err := e.svc.Create(ctx, c.sc, org.Org{Code: code, Name: "New " + code, Type: c.typ, Parent: c.parent})
			switch c.want {
			case ok:
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
				continue
			case invalid:
				wantValidation(t, err, "parent", string(c.typ))
			case forbidden:
				if !errors.Is(err, fault.ErrForbidden) {
					t.Errorf("%s: %v, want fault.ErrForbidden", c.name, err)
				}
			}
			if _, err := e.svc.Lookup(ctx, code); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s: refused create left %s behind (%v)", c.name, code, err)
			}
		}
	})
}

// TestMoveFollowsTheHierarchy: Update applies the same rule when an
// organisation moves to a new parent.
func TestMoveFollowsTheHierarchy(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		e.create(t, nat, org.Org{Code: "RJ1A", Name: "Site A", Type: org.OtherProvider, Parent: "RJ1"})
		lead := e.as(t, scope.RegionLead, "Y56")
		admin := e.as(t, scope.OrgAdmin, "RJ1")

		// A trust under a trust, an ICB under a trust, a supplier under a region: refused for everyone.
		_, err := e.svc.Update(ctx, lead, "RJZ", org.Patch{Parent: strp("RJ1")})
		wantValidation(t, err, "parent", "trust")
		_, err = e.svc.Update(ctx, nat, "QKK", org.Patch{Parent: strp("R0A")})
		wantValidation(t, err, "parent", "icb")
		_, err = e.svc.Update(ctx, nat, "SUP-X", org.Patch{Parent: strp("Y56")})
		wantValidation(t, err, "parent", "supplier")
		// Moving a region, ICB or supplier is national structure.
		e.create(t, nat, org.Org{Code: "QKL", Name: "Another ICB", Type: org.ICB, Parent: "Y56"})
		_, err = e.svc.Update(ctx, lead, "QKL", org.Patch{Parent: strp("Y56")}) // same parent: not a move
		if err != nil {
			t.Errorf("region lead touching its ICB without moving it: %v", err)
		}
		if _, err := e.svc.Update(ctx, admin, "RJ1A", org.Patch{Parent: strp("QKK")}); err == nil {
			t.Error("org admin moved its site out of its trust")
		}
		if p, _ := e.svc.PathOf(ctx, "RJZ"); p != "/ENG/Y56/QKK/RJZ/" {
			t.Errorf("refused move changed RJZ's path to %s", p)
		}
		// A legitimate move: a trust to another ICB, by the national admin.
		if _, err := e.svc.Update(ctx, nat, "RJZ", org.Patch{Parent: strp("QOP")}); err != nil {
			t.Errorf("moving a trust between ICBs: %v", err)
		}
		// A region lead moves a trust between its own ICBs.
		if _, err := e.svc.Update(ctx, lead, "RJ1", org.Patch{Parent: strp("QKL")}); err != nil {
			t.Errorf("region lead moving a trust between its ICBs: %v", err)
		}
	})
}

// TestDemoEstateFollowsTheHierarchy: the demonstration estate, created as
// the system through Create, obeys the rule (it is the estate new users see).
func TestDemoEstateFollowsTheHierarchy(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, o := range demo.Estate() {
			e.create(t, scope.System("demo"), o)
		}
	})
}
