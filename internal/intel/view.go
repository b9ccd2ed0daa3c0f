package intel

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// What the intelligence pages read (issue 19 item 9): search, an
// object's page and its relationships. Every read goes through
// ReadCollection, so the pages see exactly what TAXII, the API and the
// MISP feed give the same reader: their grants, each collection's TLP
// ceiling, and TLP:RED or AMBER+STRICT objects only to their recipients.

// maxScan caps the objects read from one collection for a page.
const maxScan = 50000

// Summary is one object as a list shows it.
type Summary struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Name is its name, or for an SCO its value, or for an indicator
	// without a name its pattern.
	Name       string `json:"name"`
	TLP        string `json:"tlp"`
	Revoked    bool   `json:"revoked"`
	Collection string `json:"collection"`
	// Pattern is an indicator's.
	Pattern string `json:"pattern,omitempty"`
	// AttackID is an ATT&CK technique's ID (T1059.001), from MITRE's
	// external reference.
	AttackID string `json:"attack_id,omitempty"`
	// RuleID is, for the indicator standing for a Sigma rule (links.go),
	// the rule's id.
	RuleID string `json:"rule_id,omitempty"`
}

func summarise(o *stix.Object, collection string) Summary {
	s := Summary{ID: o.ID, Type: o.Type, Revoked: o.Revoked, Collection: collection}
	for _, p := range []string{"name", "value", "pattern", "path", "key", "relationship_type"} {
		var v string
		if ok, err := o.Get(p, &v); ok && err == nil && v != "" {
			s.Name = v
			break
		}
	}
	_, _ = o.Get("pattern", &s.Pattern) // not an indicator: none
	if t, ok := stix.TLPOfObject(o); ok {
		s.TLP = t.String()
	}
	s.AttackID, s.RuleID = attackIDOf(o), ruleIDOf(o)
	return s
}

// eachReadable calls fn with the latest version of every object the
// caller may read, collection by collection (an object in two
// collections comes twice), up to maxScan a collection.
func (s *Store) eachReadable(ctx context.Context, sc scope.Scope, q Query, fn func(Collection, *stix.Object) bool) error {
	cs, err := s.Collections(ctx, sc)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !c.CanRead {
			continue
		}
		q := q
		q.Limit, q.Next = 1000, ""
		for n := 0; n < maxScan; {
			p, _, err := s.ReadCollection(ctx, sc, c.ID, q)
			if err != nil {
				return err
			}
			for _, e := range p.Entries {
				n++
				if !fn(c, e.Object) {
					return nil
				}
			}
			if !p.More {
				break
			}
			q.Next = p.Next
		}
	}
	return nil
}

// Relation is one relationship of an object, as its page lists it.
type Relation struct {
	ID   string `json:"id"`
	Type string `json:"relationship_type"`
	// Out is true when the object is the relationship's source.
	Out   bool    `json:"out"`
	Other Summary `json:"other"`
}

// ObjectView is everything an object's page shows.
type ObjectView struct {
	Object *stix.Object
	// JSON is the object, indented.
	JSON    string
	Summary Summary
	// Collections are the caller's collections holding it.
	Collections []Collection
	// Sources are where its versions came from (files, feeds, TAXII posts);
	// Source is where its latest version came from (whose decay model an
	// indicator's score follows).
	Sources []string
	Source  string
	// SameValues are other indicators with the same pattern, from other
	// sources: the provenance of a value.
	SameValues []Summary
	Sightings  []Sighting
	Relations  []Relation
	// Detections are its ATT&CK techniques and the rules detecting them
	// (links.go).
	Detections Detections
}

// ObjectView reads an object for its page: ErrNotFound unless a
// collection the caller may read gives it to them.
func (s *Store) ObjectView(ctx context.Context, sc scope.Scope, id string) (ObjectView, error) {
	var v ObjectView
	byID := map[string]Summary{}
	var rels []*stix.Object
	var pattern string
	err := s.eachReadable(ctx, sc, Query{}, func(c Collection, o *stix.Object) bool {
		if _, ok := byID[o.ID]; !ok {
			byID[o.ID] = summarise(o, c.ID)
		}
		if o.ID == id {
			if v.Object == nil {
				v.Object = o
				_, _ = o.Get("pattern", &pattern) // none: no pattern
			}
			v.Collections = append(v.Collections, c)
		}
		if o.Type == "relationship" {
			rels = append(rels, o)
		}
		return true
	})
	if err != nil {
		return v, err
	}
	if v.Object == nil {
		return v, ErrNotFound
	}
	v.Summary = byID[id]
	b, err := v.Object.MarshalJSON()
	if err != nil {
		return v, err
	}
	var pretty strings.Builder
	var x any
	if json.Unmarshal(b, &x) == nil {
		enc := json.NewEncoder(&pretty)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x) // it was just decoded
	}
	v.JSON = pretty.String()
	seenRel := map[string]bool{}
	for _, r := range rels {
		var src, dst, typ string
		_, _ = r.Get("source_ref", &src)
		_, _ = r.Get("target_ref", &dst)
		_, _ = r.Get("relationship_type", &typ)
		other, out := "", false
		switch id {
		case src:
			other, out = dst, true
		case dst:
			other = src
		default:
			continue
		}
		// The other end only if the caller may read it too: a
		// relationship must not name a TLP:RED object to a non-recipient.
		o, ok := byID[other]
		if !ok || seenRel[r.ID] {
			continue
		}
		seenRel[r.ID] = true
		v.Relations = append(v.Relations, Relation{ID: r.ID, Type: typ, Out: out, Other: o})
	}
	if pattern != "" {
		for oid, sm := range byID {
			if oid != id && sm.Type == "indicator" && sm.Pattern == pattern {
				v.SameValues = append(v.SameValues, sm)
			}
		}
		slices.SortFunc(v.SameValues, func(a, b Summary) int { return strings.Compare(a.ID, b.ID) })
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT DISTINCT source FROM intel_objects WHERE id = ? ORDER BY source`, id)
	if err != nil {
		return v, err
	}
	if v.Sources, err = store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var x string
		return x, r.Scan(&x)
	}); err != nil {
		return v, err
	}
	if err := s.db.Q().QueryRowContext(ctx, `SELECT source FROM intel_objects WHERE id = ? ORDER BY version DESC LIMIT 1`, id).Scan(&v.Source); err != nil {
		return v, err
	}
	if v.Object.Type == "indicator" {
		if v.Sightings, err = s.Sightings(ctx, sc, id); err != nil {
			return v, err
		}
	}
	if v.Detections, err = s.detections(ctx, sc, &v); err != nil {
		return v, err
	}
	return v, nil
}
