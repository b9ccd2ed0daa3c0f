package intel

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Redaction of references (sharing rule 3 carried into the objects that
// point at others). A report, grouping, note, opinion or observed-data
// object lists what it is about in object_refs; an id there of a
// TLP:RED or TLP:AMBER+STRICT object the reader is no recipient of would
// tell them the object exists (and, for an SCO's deterministic id, what
// it is). So every read with a Reader — every export path goes through
// ReadCollection — drops those ids from object_refs; an object left with
// none is left out of the page, since STIX wants at least one. An id is
// redacted when any stored version of it is so marked.

// redactRefs redacts the entries' object_refs for r, in place.
func (s *Store) redactRefs(ctx context.Context, r *Reader, es []Entry) ([]Entry, error) {
	refs := map[int][]string{}
	var ids []string
	for i, e := range es {
		var rs []string
		if ok, err := e.Object.Get("object_refs", &rs); !ok || err != nil {
			continue
		}
		refs[i] = rs
		ids = append(ids, rs...)
	}
	if len(ids) == 0 {
		return es, nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	hidden := map[string]bool{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := []any{int(stix.TLPAmberStrict)}
		for _, id := range chunk {
			args = append(args, id)
		}
		rcpt := "r.kind = 'user' AND r.recipient = ?"
		args = append(args, r.UserID)
		if len(r.Orgs) > 0 {
			rcpt += " OR r.kind = 'org' AND r.recipient IN (?" + strings.Repeat(", ?", len(r.Orgs)-1) + ")"
			for _, o := range r.Orgs {
				args = append(args, o)
			}
		}
		rows, err := s.db.Q().QueryContext(ctx, `SELECT DISTINCT o.id FROM intel_objects o WHERE o.tlp >= ? AND o.id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)
AND NOT EXISTS (SELECT 1 FROM intel_object_recipients r WHERE r.id = o.id AND (`+rcpt+`))`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			hidden[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(hidden) == 0 {
		return es, nil
	}
	out := es[:0]
	for i, e := range es {
		rs, ok := refs[i]
		if !ok {
			out = append(out, e)
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(rs), func(id string) bool { return hidden[id] })
		if len(kept) == 0 {
			continue
		}
		if len(kept) < len(rs) {
			if err := e.Object.Set("object_refs", kept); err != nil {
				return nil, fmt.Errorf("intel: redact %s: %w", e.Object.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}
