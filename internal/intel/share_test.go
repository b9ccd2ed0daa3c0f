package intel

import (
	"context"
	"errors"
	"testing"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// paths of a small hierarchy: the national body, a region, two trusts
// in it and one in another region.
var paths = map[string]string{"ENG": "/ENG/", "Y56": "/ENG/Y56/", "RJ1": "/ENG/Y56/QKK/RJ1/", "RJZ": "/ENG/Y56/QKK/RJZ/", "R0A": "/ENG/Y62/R0A/"}

func orgPath(_ context.Context, code string) (string, error) { return paths[code], nil }

func person(id string, role scope.Role, org string) scope.Scope {
	return scope.Scope{UserID: id, Home: org, Grants: []scope.Grant{{Role: role, Org: org, Path: paths[org]}}}
}

// TestSharing: a national collection granted to the national body is
// read by every trust, a region's by its trusts only; a read grant
// makes writing a 403, not a 404; a TLP:RED object goes only to its
// recipients, whatever the collection's ceiling.
func TestSharing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		rex := person("u-rex", scope.RegionLead, "Y56")
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		bob := person("u-bob", scope.OrgAnalyst, "RJZ")
		carl := person("u-carl", scope.OrgAnalyst, "R0A")
		nat, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National", TLPCeiling: stix.TLPRed})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GrantCollection(ctx, nadia, nat.ID, GrantOptions{Org: "ENG", Read: true}); err != nil {
			t.Fatal(err)
		}
		reg, _ := s.CreateCollection(ctx, rex, CollectionOptions{Title: "Region Y56", TLPCeiling: stix.TLPAmber})
		if _, err := s.GrantCollection(ctx, rex, reg.ID, GrantOptions{Org: "Y56", Read: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GrantCollection(ctx, alice, reg.ID, GrantOptions{Org: "RJ1", Read: true}); !errors.Is(err, ErrCollectionForbidden) {
			t.Errorf("a reader granted the collection: %v", err)
		}
		if _, err := s.GrantCollection(ctx, rex, reg.ID, GrantOptions{Org: "R0A", Write: true}); err == nil {
			t.Error("write granted to an organisation outside the granter's")
		}
		for _, c := range []struct {
			who      scope.Scope
			nat, reg bool
			name     string
		}{{alice, true, true, "alice"}, {bob, true, true, "bob"}, {carl, true, false, "carl"}, {rex, true, true, "rex"}} {
			_, errN := s.GetCollection(ctx, c.who, nat.ID)
			got, errR := s.GetCollection(ctx, c.who, reg.ID)
			if (errN == nil) != c.nat || (errR == nil) != c.reg {
				t.Errorf("%s: national %v, regional %v", c.name, errN, errR)
			}
			if c.name == "alice" && (got.CanWrite || !got.CanRead) {
				t.Errorf("alice's rights on the regional collection %+v", got)
			}
		}
		ip := func(v string, m string) *stix.Object {
			o, err := stix.NewSCO("ipv4-addr", map[string]any{"value": v, "object_marking_refs": []string{m}})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		red, amber := ip("203.0.113.66", stix.TLP2Red), ip("203.0.113.7", stix.TLP2Amber)
		if _, err := s.ImportInto(ctx, nadia, nat.ID, "t", []*stix.Object{red, amber}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportInto(ctx, alice, nat.ID, "t", []*stix.Object{amber}); !errors.Is(err, ErrCollectionNotFound) {
			t.Errorf("alice wrote to a collection she may only read: %v", err)
		}
		ids := func(who scope.Scope) map[string]bool {
			objs, _, err := s.CollectionObjects(ctx, who, nat.ID)
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]bool{}
			for _, o := range objs {
				m[o.ID] = true
			}
			return m
		}
		if m := ids(nadia); !m[red.ID] || !m[amber.ID] {
			t.Errorf("nadia, who imported it, lacks the RED object: %v", m)
		}
		if m := ids(alice); m[red.ID] || !m[amber.ID] {
			t.Errorf("alice before sharing: %v", m)
		}
		if _, err := s.Share(ctx, alice, red.ID, "org", "RJ1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("alice shared a RED object she may not see: %v", err)
		}
		if _, err := s.Share(ctx, nadia, red.ID, "org", "RJ1"); err != nil {
			t.Fatal(err)
		}
		if m := ids(alice); !m[red.ID] {
			t.Error("alice, of RJ1, does not get the RED object shared with RJ1")
		}
		if m := ids(bob); m[red.ID] {
			t.Error("bob, of RJZ, gets the RED object shared with RJ1")
		}
		if m := ids(rex); m[red.ID] {
			t.Error("rex, RJ1's region lead, gets the RED object shared with RJ1's own people")
		}
		if rs, err := s.Recipients(ctx, bob, red.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob lists the recipients: %v %v", rs, err)
		}
		if _, err := s.Share(ctx, nadia, amber.ID, "org", "RJ1"); err == nil {
			t.Error("an AMBER object took named recipients")
		}
		// The ceiling still applies to recipients.
		low, _ := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "Green", TLPCeiling: stix.TLPGreen})
		if _, err := s.ImportInto(ctx, nadia, low.ID, "t", []*stix.Object{red}); err != nil {
			t.Fatal(err)
		}
		if objs, _, _ := s.CollectionObjects(ctx, nadia, low.ID); len(objs) != 0 {
			t.Errorf("a GREEN collection hands out %d objects above it", len(objs))
		}
		// Revoking the grant hides the collection again.
		if _, err := s.GrantCollection(ctx, nadia, nat.ID, GrantOptions{Org: "ENG"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCollection(ctx, bob, nat.ID); !errors.Is(err, ErrCollectionNotFound) {
			t.Errorf("bob after the revocation: %v", err)
		}
	}, Migrations())
}
