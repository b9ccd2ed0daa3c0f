package intel

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestSubmissions: what a trust adds to a moderated national collection
// is pending — read there by the trust and the approvers only, matched
// only in the trust's events — until a national analyst approves it (it
// goes to every reader, dated anew) or rejects it with a reason (it
// leaves the collection). A pending newer version hides no approved one.
func TestSubmissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		s, _ := New(Options{DB: db, OrgPath: orgPath, Now: func() time.Time { return now }})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		bob := person("u-bob", scope.OrgAnalyst, "RJZ")
		c, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National submissions", TLPCeiling: stix.TLPAmber, Moderated: true})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Moderated || !c.Approver {
			t.Fatalf("nadia's moderated collection: %+v", c)
		}
		for _, g := range []GrantOptions{{Org: "ENG", Read: true}, {Org: "Y56", Read: true, Write: true}} {
			if _, err := s.GrantCollection(ctx, nadia, c.ID, g); err != nil {
				t.Fatal(err)
			}
		}
		ind := func(domain string, modified time.Time) *stix.Object {
			o, err := stix.NewIndicator(stix.IndicatorOptions{Name: domain, Pattern: "[domain-name:value = '" + domain + "']",
				Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Markings: []string{stix.TLP2Green}})
			if err != nil {
				t.Fatal(err)
			}
			if !modified.IsZero() {
				if err := o.Set("modified", stix.FormatTimestamp(modified)); err != nil {
					t.Fatal(err)
				}
			}
			return o
		}
		sees := func(who scope.Scope, id string) string {
			t.Helper()
			objs, _, err := s.CollectionObjects(ctx, who, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if o.ID == id {
					return stix.FormatTimestamp(o.Version())
				}
			}
			return ""
		}
		a := ind("submitted.example", time.Time{})
		rep, err := s.ImportInto(ctx, alice, c.ID, "taxii:1", []*stix.Object{a})
		if err != nil || rep.Pending != 1 {
			t.Fatalf("alice's submission: %+v %v", rep, err)
		}
		if sees(alice, a.ID) == "" || sees(nadia, a.ID) == "" {
			t.Error("the submitter or the approver does not read the pending submission")
		}
		if sees(bob, a.ID) != "" {
			t.Error("bob, of another trust, reads RJ1's pending submission")
		}
		if m, _ := s.PendingOrgs(ctx); len(m[a.ID]) != 1 || m[a.ID][0] != "RJ1" {
			t.Errorf("pending orgs: %v", m)
		}
		list := func(who scope.Scope, state string) []Submission {
			t.Helper()
			xs, err := s.Submissions(ctx, who, SubmissionQuery{State: state})
			if err != nil {
				t.Fatal(err)
			}
			return xs
		}
		na, al := list(nadia, ""), list(alice, "")
		if len(na) != 1 || !na[0].CanDecide || na[0].Object != a.ID || na[0].Org != "RJ1" || na[0].Name != "submitted.example" {
			t.Fatalf("nadia's pending list: %+v", na)
		}
		if len(al) != 1 || al[0].CanDecide {
			t.Errorf("alice's pending list: %+v", al)
		}
		if xs := list(bob, "all"); len(xs) != 0 {
			t.Errorf("bob lists RJ1's submissions: %+v", xs)
		}
		id := na[0].ID
		if _, err := s.ApproveSubmission(ctx, alice, id); !errors.Is(err, ErrNotApprover) {
			t.Errorf("alice approves her own submission: %v", err)
		}
		if _, err := s.ApproveSubmission(ctx, bob, id); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob approves RJ1's submission: %v", err)
		}
		if _, err := s.RejectSubmission(ctx, nadia, id, " "); err == nil {
			t.Error("a rejection without a reason")
		}
		now = now.Add(time.Hour)
		if sub, err := s.ApproveSubmission(ctx, nadia, id); err != nil || sub.State != Approved {
			t.Fatalf("approve: %+v %v", sub, err)
		}
		if sees(bob, a.ID) == "" {
			t.Error("bob does not read the approved submission")
		}
		if p, _, _ := s.ReadCollection(ctx, bob, c.ID, Query{IDs: []string{a.ID}}); len(p.Entries) != 1 || !p.Entries[0].DateAdded.Equal(now) {
			t.Errorf("the approved version is not dated when approved: %+v", p.Entries)
		}
		if _, err := s.ApproveSubmission(ctx, nadia, id); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("approved twice: %v", err)
		}
		if m, _ := s.PendingOrgs(ctx); len(m) != 0 {
			t.Errorf("pending orgs after approval: %v", m)
		}
		// A newer version, pending, hides the approved one from nobody.
		a2 := ind("submitted.example", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
		if err := a2.Set("id", a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportInto(ctx, alice, c.ID, "taxii:2", []*stix.Object{a2}); err != nil {
			t.Fatal(err)
		}
		if v := sees(bob, a.ID); v != stix.FormatTimestamp(a.Version()) {
			t.Errorf("bob reads version %q while a newer one is pending, want the approved %s", v, stix.FormatTimestamp(a.Version()))
		}
		if v := sees(alice, a.ID); v != stix.FormatTimestamp(a2.Version()) {
			t.Errorf("alice reads version %q, want her pending %s", v, stix.FormatTimestamp(a2.Version()))
		}
		// A rejection takes it out of the collection, with why.
		r := ind("rejected.example", time.Time{})
		if _, err := s.ImportInto(ctx, alice, c.ID, "taxii:3", []*stix.Object{r}); err != nil {
			t.Fatal(err)
		}
		var rid string
		for _, x := range list(nadia, "") {
			if x.Object == r.ID {
				rid = x.ID
			}
		}
		if _, err := s.RejectSubmission(ctx, nadia, rid, "a CDN address: benign"); err != nil {
			t.Fatal(err)
		}
		if sees(alice, r.ID) != "" || sees(nadia, r.ID) != "" {
			t.Error("a rejected submission is still in the collection")
		}
		if xs := list(alice, Rejected); len(xs) != 1 || xs[0].Reason != "a CDN address: benign" || xs[0].DecidedBy != "u-nadia" {
			t.Errorf("alice's rejected list: %+v", xs)
		}
		// One the submitter withdrew (TAXII DELETE) cannot be approved.
		w := ind("withdrawn.example", time.Time{})
		if _, err := s.ImportInto(ctx, alice, c.ID, "taxii:4", []*stix.Object{w}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.RemoveFromCollection(ctx, alice, c.ID, w.ID, nil); err != nil || n != 1 {
			t.Fatalf("alice withdraws her submission: %d %v", n, err)
		}
		for _, x := range list(nadia, "") {
			if x.Object == w.ID {
				if _, err := s.ApproveSubmission(ctx, nadia, x.ID); !errors.Is(err, fault.ErrConflict) {
					t.Errorf("a withdrawn submission approved: %v", err)
				}
			}
		}
		if sees(bob, w.ID) != "" {
			t.Error("bob reads a withdrawn submission")
		}
		// Nadia's own additions go straight in.
		n := ind("national.example", time.Time{})
		if rep, err := s.ImportInto(ctx, nadia, c.ID, "cli", []*stix.Object{n}); err != nil || rep.Pending != 0 || sees(bob, n.ID) == "" {
			t.Errorf("nadia's own addition: %+v %v", rep, err)
		}
		// A trust may not point a feed into it.
		if _, err := s.AddFeed(ctx, alice, FeedOptions{Name: "x", Kind: "misp", URL: "https://feed.example/", Collection: c.ID}); err == nil {
			t.Error("a trust's feed into a moderated collection")
		}
	}, Migrations())
}
