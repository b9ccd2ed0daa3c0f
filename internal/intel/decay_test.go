package intel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestDecayModels: models, the default and the sources' models, who may
// change them, and the stamp the matcher polls; on SQLite and PostgreSQL.
func TestDecayModels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		dc, err := s.Decay(ctx)
		if err != nil || dc.Default != StandardModel || len(dc.Models) != 1 || !dc.Models[0].BuiltIn || dc.Models[0].HalfLifeDays["ip"] != 30 {
			t.Fatalf("fresh store: %+v, %v", dc, err)
		}
		fast := DecayModel{Name: "fast", HalfLifeDays: map[string]float64{"ip": 5, "domain": 20}, Threshold: 30, FalsePositiveOrgs: 2}
		if _, err := s.SetDecayModel(ctx, alice, fast); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a trust analyst defines a model: %v", err)
		}
		var inv *fault.Invalid
		for field, m := range map[string]DecayModel{
			"name":              {Name: StandardModel, HalfLifeDays: map[string]float64{"ip": 1}},
			"half_life_days":    {Name: "x", HalfLifeDays: map[string]float64{"ipv4": 1}},
			"half_life_days.ip": {Name: "x", HalfLifeDays: map[string]float64{"ip": 0}},
			"threshold":         {Name: "x", HalfLifeDays: map[string]float64{"ip": 1}, Threshold: 101},
		} {
			if _, err := s.SetDecayModel(ctx, nadia, m); !errors.As(err, &inv) || inv.Field != field {
				t.Errorf("%s: %v", field, err)
			}
		}
		stamp0, _ := s.LifecycleStamp(ctx)
		if _, err := s.SetDecayModel(ctx, nadia, fast); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.LifecycleStamp(ctx); st == stamp0 || st == "" {
			t.Errorf("the lifecycle stamp did not move: %q", st)
		}
		if err := s.AssignDecay(ctx, nadia, "feed:abuse", "nosuch"); !errors.Is(err, ErrModelNotFound) {
			t.Errorf("an unknown model: %v", err)
		}
		if err := s.AssignDecay(ctx, alice, "feed:abuse", "fast"); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a trust analyst assigns: %v", err)
		}
		for _, src := range []string{"feed:abuse", "taxii:*"} {
			if err := s.AssignDecay(ctx, nadia, src, "fast"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AssignDecay(ctx, nadia, "taxii:status-1", StandardModel); err != nil {
			t.Fatal(err)
		}
		if dc, err = s.Decay(ctx); err != nil {
			t.Fatal(err)
		}
		for src, want := range map[string]string{"feed:abuse": "fast", "taxii:status-2": "fast", "taxii:status-1": StandardModel, "national.json": StandardModel} {
			if got := dc.For(src); got.Name != want {
				t.Errorf("%s: model %s, want %s", src, got.Name, want)
			}
		}
		if d := dc.For("feed:abuse"); d.HalfLife["ip"] != 5*24*time.Hour || d.Threshold != 30 || d.FalsePositiveOrgs != 2 {
			t.Errorf("fast as stored: %+v", d)
		}
		if err := s.SetDefaultDecay(ctx, nadia, "fast"); err != nil {
			t.Fatal(err)
		}
		if err := s.AssignDecay(ctx, nadia, "feed:abuse", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.AssignDecay(ctx, nadia, "feed:abuse", ""); !errors.Is(err, ErrModelNotFound) {
			t.Errorf("taking away a model the source does not have: %v", err)
		}
		if dc, _ = s.Decay(ctx); dc.Default != "fast" || dc.ModelFor("national.json") != "fast" || len(dc.Sources) != 2 {
			t.Errorf("after the default changed: %+v", dc)
		}
	}, Migrations())
}

// TestVerdicts: alert verdicts and reported sightings become Evidence
// (an organisation's latest verdict stands), are read only from the
// organisations one reads, and are exported as STIX sightings.
func TestVerdicts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		bob := person("u-bob", scope.OrgAnalyst, "RJZ")
		const ind = "indicator--11111111-1111-4111-8111-111111111111"
		t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for _, v := range []Verdict{
			{Indicator: ind, Origin: "alert:AL-1", Org: "RJ1", Verdict: VerdictFalsePositive, By: "Alice", At: t0},
			{Indicator: ind, Origin: "alert:AL-2", Org: "RJ1", Verdict: VerdictTruePositive, By: "Alice", At: t0.Add(time.Hour)},
			{Indicator: ind, Origin: "alert:AL-3", Org: "RJZ", Verdict: VerdictFalsePositive, By: "Bob", At: t0.Add(2 * time.Hour)},
			{Indicator: ind, Origin: "alert:AL-4", Org: "RJZ", Verdict: VerdictTruePositive, By: "Bob", At: t0.Add(3 * time.Hour)},
		} {
			if err := s.RecordVerdict(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		// Bob changes his mind on AL-4 (benign): the verdict is taken back.
		if err := s.RecordVerdict(ctx, Verdict{Indicator: ind, Origin: "alert:AL-4", Org: "RJZ", Verdict: "benign", At: t0.Add(4 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		// A trust reports a MISP false-positive sighting of the indicator.
		carol := person("u-carol", scope.OrgAnalyst, "RJ1CH")
		sg := obj(t, `{"type":"sighting","spec_version":"2.1","id":"sighting--22222222-2222-4222-8222-222222222222","created":"2026-12-02T00:00:00.000Z","modified":"2026-12-02T00:00:00.000Z","sighting_of_ref":"`+ind+`","x_misp_sighting_type":1}`)
		if _, err := s.Import(ctx, carol, "trust-report.json", []*stix.Object{sg}); err != nil {
			t.Fatal(err)
		}
		ev, err := s.Evidence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// RJ1's latest is a true positive; RJZ's a false positive; RJ1CH reported one.
		if e := ev[ind]; e.FalsePositiveOrgs != 2 || !e.LastSeen.Equal(t0.Add(time.Hour)) {
			t.Errorf("evidence %+v", e)
		}
		vs, err := s.Verdicts(ctx, alice, ind)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 2 || vs[0].Origin != "alert:AL-1" || vs[1].Verdict != VerdictTruePositive {
			t.Errorf("alice's verdicts: %+v", vs)
		}
		if vs, _ := s.Verdicts(ctx, bob, ind); len(vs) != 1 || vs[0].Org != "RJZ" {
			t.Errorf("bob's verdicts: %+v", vs)
		}
		objs, err := s.SightingObjects(ctx, alice, ind)
		if err != nil {
			t.Fatal(err)
		}
		var fp, tp int
		for _, o := range objs {
			var v string
			if _, err := o.Get("x_vigil_verdict", &v); err == nil {
				fp += map[bool]int{true: 1}[v == VerdictFalsePositive]
				tp += map[bool]int{true: 1}[v == VerdictTruePositive]
			}
			if b, _ := o.MarshalJSON(); strings.Contains(string(b), "RJZ") {
				t.Errorf("alice's STIX names RJZ: %s", b)
			}
		}
		if fp != 1 || tp != 1 {
			t.Errorf("STIX verdict sightings: %d false, %d true positives", fp, tp)
		}
	}, Migrations())
}

// TestUnallow: values come off the allowlist (national roles only); a
// block is kept in its canonical form.
func TestUnallow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		if _, err := s.Allow(ctx, nadia, []string{"10.1.2.3/8", "Resolver.Example.", "::ffff:192.0.2.1"}, "test", ""); err != nil {
			t.Fatal(err)
		}
		al, _ := s.Allowlist(ctx)
		var got []string
		for _, e := range al {
			got = append(got, e.Value)
		}
		if strings.Join(got, " ") != "10.0.0.0/8 192.0.2.1 resolver.example" {
			t.Errorf("allowlist %v", got)
		}
		if _, err := s.Unallow(ctx, alice, []string{"10.0.0.0/8"}, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a trust analyst removes: %v", err)
		}
		if n, err := s.Unallow(ctx, nadia, []string{"10.9.9.9/8", "nothere.example"}, "retired"); err != nil || n != 1 {
			t.Errorf("remove: %d, %v", n, err)
		}
		if _, err := s.Unallow(ctx, nadia, []string{"10.0.0.0/8"}, ""); !errors.Is(err, ErrNotAllowlisted) {
			t.Errorf("remove again: %v", err)
		}
		if al, _ := s.Allowlist(ctx); len(al) != 2 {
			t.Errorf("after removing: %+v", al)
		}
	}, Migrations())
}
