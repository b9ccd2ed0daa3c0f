package analytics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// inbox is the real alerts inbox over SQLite, with organisation RJ1.
func inbox(t *testing.T, now time.Time) *cases.Service {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t, org.Migrations(), audit.Migrations(), cases.Migrations(), savedview.Migrations())
	clock := func() time.Time { return now }
	al := audit.New(db, clock)
	orgs, err := org.New(org.Options{DB: db, Audit: al, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
	} {
		if _, err := orgs.Create(ctx, scope.System("test"), o); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := cases.New(cases.Options{DB: db, Audit: al, Orgs: orgs, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// Every kind of finding, made from recorded data, is an alert the real
// inbox stores, with its explanation, entities and events; the same
// finding again is a repeat of the stored alert, not a second one.
func TestFindingsAreInboxAlerts(t *testing.T) {
	steps := mixedSteps(t)
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]Finding{}
	for _, s := range steps {
		for _, f := range s(e) {
			if _, ok := byKind[f.Kind+f.Details["direction"]]; !ok {
				byKind[f.Kind+f.Details["direction"]] = f
			}
		}
	}
	if len(byKind) != 4 { // first_seen, impossible_travel, volume surge and silence
		t.Fatalf("kinds found: %v", sortedKeys(byKind))
	}
	svc := inbox(t, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	producer := scope.System("analytics")
	for _, k := range sortedKeys(byKind) {
		f := byKind[k]
		r, err := svc.CreateAlert(ctx, producer, f.Alert())
		if err != nil {
			t.Errorf("%s: the inbox refuses %+v: %v", k, f.Alert(), err)
			continue
		}
		a := r.Alert
		if !r.Created || a.Source != "analytics" || a.Type != f.Analytic || a.Org != "RJ1" || string(a.Severity) != f.Level ||
			a.Description != f.Explanation+"\n\n"+f.About || f.About == "" || !a.FirstSeen.Equal(f.Time) || a.Fields["event_ids"] != strings.Join(f.EventIDs, ", ") {
			t.Errorf("%s: stored %+v from %+v", k, a, f)
		}
		if !strings.HasPrefix(a.Title, f.Title+": ") {
			t.Errorf("%s: title %q", k, a.Title)
		}
		again, err := svc.CreateAlert(ctx, producer, f.Alert())
		if err != nil || again.Created || again.Alert.ID != a.ID || again.Alert.Occurrences != 2 {
			t.Errorf("%s: the same finding again: created %v, %d occurrences, err %v", k, again.Created, again.Alert.Occurrences, err)
		}
	}
	travel := byKind[KindTravel].Alert()
	if len(travel.Observables) != 2 || travel.Observables[0] != (cases.Observable{Type: cases.ObsUser, Value: "alice@rj1.nhs.test"}) ||
		travel.Observables[1] != (cases.Observable{Type: cases.ObsIP, Value: "81.171.241.231"}) || travel.Fields["country"] != "AU" || travel.Fields["distance_km"] == "" {
		t.Errorf("travel alert %+v", travel)
	}
	if f := byKind[KindFirstSeen]; f.ID() == "" || f.ID() != byKind[KindFirstSeen].ID() || f.ID() == byKind[KindTravel].ID() {
		t.Errorf("finding IDs %q %q", f.ID(), byKind[KindTravel].ID())
	}
}

// Event data is untrusted: control characters, a reference longer than
// the inbox takes and an observable it would refuse still make a valid
// alert.
func TestAlertFromHostileFinding(t *testing.T) {
	f := Finding{Analytic: "entra-new-country", Kind: KindFirstSeen, Org: "RJ1", Title: "New\x1b[31m country", Level: "medium",
		Explanation: "evil\x00text\u202e", Entities: Entities{User: "a\nb", IP: "-", Host: "PC1"},
		Details: map[string]string{"key": "user=x", "value": strings.Repeat("é", 400)}, EventIDs: []string{"e1"},
		Time: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), Ref: strings.Repeat("r", 300)}
	svc := inbox(t, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	n := f.Alert()
	r, err := svc.CreateAlert(context.Background(), scope.System("analytics"), n)
	if err != nil {
		t.Fatalf("the inbox refuses %+v: %v", n, err)
	}
	if !strings.HasPrefix(r.Alert.SourceRef, "sha256:") || !r.Alert.FirstSeen.Equal(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)) || r.Alert.Fields["ref"] != f.Ref || len(r.Alert.Observables) != 2 {
		t.Errorf("stored %+v", r.Alert)
	}
}
