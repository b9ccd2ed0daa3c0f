package stix_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestSightingObjectsValidate: the STIX sighting objects and
// organisation identities Vigil exports for its IOC matcher's sightings
// and its analysts' verdicts (intel.Store.SightingObjects) validate
// against the OASIS schemas.
func TestSightingObjectsValidate(t *testing.T) {
	sch := stix.Schemas(t)
	ctx := context.Background()
	st, err := intel.New(intel.Options{DB: storetest.SQLite(t, intel.Migrations()),
		OrgPath: func(context.Context, string) (string, error) { return "/ENG/RJ1/", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordSightings(ctx, []intel.Sighting{{Indicator: "indicator--1b5f5c8a-2f4e-4c1d-9e3b-7a6d5c4b3a21", Org: "RJ1", Count: 1, LastSeen: time.Now()},
		{Indicator: "indicator--1b5f5c8a-2f4e-4c1d-9e3b-7a6d5c4b3a21", Org: "RJ1", Count: 2, LastSeen: time.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	// An analyst's verdict on one of its alerts is a sighting of its own.
	if err := st.RecordVerdict(ctx, intel.Verdict{Indicator: "indicator--1b5f5c8a-2f4e-4c1d-9e3b-7a6d5c4b3a21", Origin: "alert:AL-01JF", Org: "RJ1",
		Verdict: intel.VerdictFalsePositive, By: "Alice", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	objs, err := st.SightingObjects(ctx, scope.System("test"), "")
	if err != nil || len(objs) != 3 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	var verdict string
	if _, err := objs[2].Get("x_vigil_verdict", &verdict); err != nil || verdict != intel.VerdictFalsePositive || objs[2].Type != "sighting" {
		t.Errorf("the verdict's sighting %v: %q", objs[2].Type, verdict)
	}
	for _, o := range objs {
		stix.Validate(t, sch, "sighting export", o)
	}
	var n int
	if _, err := objs[1].Get("count", &n); err != nil || n != 3 || objs[1].Type != "sighting" {
		t.Errorf("sighting %v: count %d", objs[1].Type, n)
	}
}
