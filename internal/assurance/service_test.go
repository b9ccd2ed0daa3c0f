package assurance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

func newService(t *testing.T, db *store.DB) *Service {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC) }
	s, err := New(Options{DB: db, Audit: audit.New(db, now), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImportStoresWholeSetsAndVersionsOnBothEngines(t *testing.T) {
	v32 := parseData(t, "webcaf/cyber-assessment-framework-v3.2.yaml")
	v40 := parseData(t, "webcaf/cyber-assessment-framework-v4.0.yaml")
	asvs := parseData(t, "ciso-assistant/frameworks/owasp-asvs-5.0.0.yaml")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		sys := scope.System("test")
		for _, set := range []*Set{v32, v40, asvs} {
			res, err := s.Import(ctx, sys, set)
			if err != nil || res.Outcome != "imported" {
				t.Fatalf("import %s: %+v %v", set.ID, res, err)
			}
			if want := set.Summarise(); res.Indicators != want.Indicators || res.Requirements != want.Requirements || len(res.Profiles) != len(want.Profiles) {
				t.Errorf("%s stored %+v, parsed %+v", set.ID, res.Summary, want)
			}
		}
		// Idempotent: the same version again changes nothing.
		res, err := s.Import(ctx, sys, v32)
		if err != nil || res.Outcome != "unchanged" {
			t.Fatalf("re-import: %+v %v", res, err)
		}
		// The same version with other content is refused, and nothing of it is written.
		changed := *v32
		changed.Digest = "other"
		changed.Nodes = append([]Node{{Key: "Z", Kind: KindObjective, Depth: 1}}, v32.Nodes...)
		if _, err := s.Import(ctx, sys, &changed); !errors.Is(err, ErrVersionChanged) || fault.Status(err) != 409 {
			t.Fatalf("changed content: %v", err)
		}
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 {
			t.Fatalf("list %+v", list)
		}
		// Both CAF versions are kept beside each other under one key.
		caf := 0
		for _, x := range list {
			if x.Key == WebCAFKey {
				caf++
			}
			if x.ID == "webcaf-caf@3.2" && (x.Indicators != IndicatorCounts{184, 111, 154} || x.Outcomes != 39 || len(x.Profiles) != 2) {
				t.Errorf("3.2 listed as %+v", x)
			}
		}
		if caf != 2 {
			t.Errorf("%d CAF versions", caf)
		}
		// Read back whole: the same tree, indicators, rules and profiles.
		got, err := s.Get(ctx, "webcaf-caf@3.2")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Nodes) != len(v32.Nodes) || len(got.Indicators) != len(v32.Indicators) || len(got.Rules) != len(v32.Rules) {
			t.Fatalf("read back %d/%d/%d", len(got.Nodes), len(got.Indicators), len(got.Rules))
		}
		for i := range v32.Nodes {
			if got.Nodes[i] != v32.Nodes[i] {
				t.Fatalf("node %d: %+v != %+v", i, got.Nodes[i], v32.Nodes[i])
			}
		}
		for i := range v32.Indicators {
			if got.Indicators[i] != v32.Indicators[i] {
				t.Fatalf("indicator %d: %+v != %+v", i, got.Indicators[i], v32.Indicators[i])
			}
		}
		for i, p := range v32.Profiles {
			if len(got.Profiles[i].Targets) != len(p.Targets) || got.Profiles[i].Targets[5] != p.Targets[5] {
				t.Fatalf("profile %s", p.Name)
			}
		}
		if d, err := Derive(got.RulesFor("A1.a"), Selection{Selected: IndicatorCounts{4, 0, 0}, Total: IndicatorCounts{4, 0, 4}}); err != nil || d.Status != Achieved {
			t.Errorf("derive from stored rules: %+v %v", d, err)
		}
		if _, err := s.Get(ctx, "nope@1"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("missing set: %v", err)
		}
		// Only the supply permission held nationally may import.
		trust := scope.Scope{UserID: "u", Grants: []scope.Grant{{Role: scope.OrgAdmin, Org: "RXX", Path: "/Y56/QMJ/RXX/"}}}
		if _, err := s.Import(ctx, trust, asvs); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("trust admin import: %v", err)
		}
	}, audit.Migrations(), org.Migrations(), Migrations())
}
