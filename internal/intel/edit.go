package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// IndicatorEdit is a change to an indicator's lifecycle properties; a
// nil field is left as it is.
type IndicatorEdit struct {
	// Confidence is 0 to 100 (STIX 2.1 section 3.2); -1 removes it.
	Confidence *int `json:"confidence,omitempty"`
	// ValidUntil must be after valid_from; the zero time removes it.
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	// Labels replace the indicator's (an empty list removes them).
	Labels *[]string `json:"labels,omitempty"`
	// Collection is where the new version goes besides every other
	// collection holding the indicator that the caller may write; ""
	// needs none named.
	Collection string `json:"collection,omitempty"`
}

// EditIndicator makes a new version of an indicator the caller may
// read, with the edit applied and modified now (after the last
// version), and adds it to every collection holding the indicator that
// the caller may write (at least one, or the one named). Its other
// properties, creator and markings are kept: Vigil stores the new
// version on the creator's behalf, which STIX 2.1 (section 3.6) leaves
// to the creator; the audit entry (intel.object.edit) says who made it.
// A revoked indicator is not edited.
func (s *Store) EditIndicator(ctx context.Context, sc scope.Scope, id string, e IndicatorEdit) (*stix.Object, error) {
	o, holding, err := s.readable(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if o.Type != "indicator" {
		return nil, &InvalidError{"id", fmt.Sprintf("%s is a %s; only indicators are edited here", id, o.Type)}
	}
	if o.Revoked {
		return nil, &InvalidError{"id", "the indicator is revoked"}
	}
	if e.Confidence == nil && e.ValidUntil == nil && e.Labels == nil {
		return nil, &InvalidError{"confidence", "nothing to change: give a confidence, valid_until or labels"}
	}
	c, err := s.writableOf(ctx, sc, e.Collection, holding)
	if err != nil {
		return nil, err
	}
	props := maps.Clone(o.Props)
	before, after := map[string]any{}, map[string]any{}
	set := func(name string, v any) error {
		if old, ok := props[name]; ok {
			before[name] = json.RawMessage(old)
		} else {
			before[name] = nil
		}
		after[name] = v
		if v == nil {
			delete(props, name)
			return nil
		}
		b, err := json.Marshal(v)
		props[name] = b
		return err
	}
	if e.Confidence != nil {
		switch n := *e.Confidence; {
		case n == -1:
			err = set("confidence", nil)
		case n < 0 || n > 100:
			return nil, &InvalidError{"confidence", "want 0 to 100"}
		default:
			err = set("confidence", n)
		}
		if err != nil {
			return nil, err
		}
	}
	if e.ValidUntil != nil {
		var v any
		if !e.ValidUntil.IsZero() {
			var from string
			_, _ = o.Get("valid_from", &from) // required of an indicator
			if f, err := stix.ParseTimestamp(from); err == nil && !e.ValidUntil.After(f) {
				return nil, &InvalidError{"valid_until", "must be after valid_from (" + from + ")"}
			}
			v = stix.FormatTimestamp(e.ValidUntil.UTC())
		}
		if err := set("valid_until", v); err != nil {
			return nil, err
		}
	}
	if e.Labels != nil {
		var ls []string
		for _, l := range *e.Labels {
			if l = strings.TrimSpace(l); l == "" || slices.Contains(ls, l) {
				continue
			}
			if utf8.RuneCountInString(l) > 100 || safetext.Problem(l, safetext.Name, 100) != "" {
				return nil, &InvalidError{"labels", fmt.Sprintf("%q: a label is up to 100 characters of text", l)}
			}
			ls = append(ls, l)
		}
		if len(ls) > 50 {
			return nil, &InvalidError{"labels", "at most 50 labels"}
		}
		var v any
		if len(ls) > 0 {
			v = ls
		}
		if err := set("labels", v); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if vs, err := s.Versions(ctx, id); err == nil && !vs[len(vs)-1].Before(now) {
		now = vs[len(vs)-1].Add(time.Millisecond)
	}
	mod, _ := json.Marshal(stix.FormatTimestamp(now))
	props["modified"] = mod
	nv, err := stix.FromProps(props)
	if err != nil {
		return nil, &InvalidError{"id", "the new version is not valid STIX: " + err.Error()}
	}
	pendingOrg, err := pendingFor(sc, c)
	if err != nil {
		return nil, err
	}
	_, err = s.importTx(ctx, sc, "vigil edit", c.ID, pendingOrg, []*stix.Object{nv}, func(tx *store.Tx, _ Report) error {
		for _, h := range holding {
			if h.CanWrite && h.ID != c.ID {
				if _, err := tx.ExecContext(ctx, `INSERT INTO intel_collection_objects (collection_id, id, version, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (collection_id, id, version) DO NOTHING`,
					h.ID, nv.ID, versionKey(nv.Version()), versionKey(s.now())); err != nil {
					return err
				}
			}
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.object.edit", ObjectType: "stix-object", ObjectID: id,
			Before: before, After: map[string]any{"changes": after, "version": stix.FormatTimestamp(now), "collection": c.ID}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return nv, nil
}
