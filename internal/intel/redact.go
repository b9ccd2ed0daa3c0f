package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Redaction of references (sharing rule 3 carried into the objects that
// point at others). Any id in any reference property — a key ending in
// _ref or _refs, at the top of an object or nested in it (extensions,
// an e-mail's body parts, a file's archive extension) — of a TLP:RED or
// TLP:AMBER+STRICT object the reader is no recipient of would tell them
// the object exists (and, for an SCO's deterministic id, what it is). So
// every read with a Reader — every export path goes through
// ReadCollection — redacts them. An id is redacted when any stored
// version of it is so marked. Marking references (object_marking_refs,
// marking_ref) are never touched: dropping one would make an object
// look less restricted than it is.
//
// What redaction does with a reference to an unseen object:
//
//   - A reference the object is about (requiredRefs: a relationship's
//     source_ref or target_ref, a sighting's sighting_of_ref, the
//     object_refs of a report, grouping, note, opinion or observed-data
//     left empty) leaves the whole object out. A relationship with one
//     end blanked would be invalid STIX and would still say "something
//     you may not see is related to this", with its type; a sighting of
//     nothing is nothing. Leaving the object out is what the reader
//     would get had it never been shared with them.
//   - Any other reference is removed: an id from a list (the property
//     goes when the list is left empty, as STIX wants no empty lists),
//     a single reference (created_by_ref, a process's image_ref) as a
//     whole property.
//
// An object that is not valid STIX once redacted is left out.

// markingKeys are reference properties never redacted.
var markingKeys = map[string]bool{"object_marking_refs": true, "marking_ref": true}

// requiredRefs are the (type.property) references an object is about:
// when redaction takes them away, the object is left out.
var requiredRefs = map[string]bool{
	"relationship.source_ref": true, "relationship.target_ref": true, "sighting.sighting_of_ref": true,
	"report.object_refs": true, "grouping.object_refs": true, "note.object_refs": true, "opinion.object_refs": true,
	"observed-data.object_refs": true,
}

func singleRef(k string) bool { return strings.HasSuffix(k, "_ref") && !markingKeys[k] }
func listRef(k string) bool   { return strings.HasSuffix(k, "_refs") && !markingKeys[k] }

// collectRefs calls add with every id v (the value of property key)
// references.
func collectRefs(key string, v any, add func(string)) {
	switch x := v.(type) {
	case string:
		if singleRef(key) {
			add(x)
		}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				if listRef(key) {
					add(s)
				}
				continue
			}
			collectRefs("", e, add)
		}
	case map[string]any:
		for k, e := range x {
			collectRefs(k, e, add)
		}
	}
}

// prune takes the hidden ids out of v (the value of property key): out
// is what is left, gone whether the property itself should go (a hidden
// single reference, a list left empty), changed whether anything was
// taken.
func prune(key string, v any, hidden map[string]bool) (out any, gone, changed bool) {
	switch x := v.(type) {
	case string:
		if singleRef(key) && hidden[x] {
			return nil, true, true
		}
	case []any:
		if listRef(key) {
			kept := make([]any, 0, len(x))
			for _, e := range x {
				if s, ok := e.(string); ok && hidden[s] {
					changed = true
					continue
				}
				kept = append(kept, e)
			}
			if !changed {
				return v, false, false
			}
			return kept, len(kept) == 0, true
		}
		for i, e := range x {
			if o, _, c := prune("", e, hidden); c {
				x[i], changed = o, true
			}
		}
	case map[string]any:
		for k, e := range x {
			o, g, c := prune(k, e, hidden)
			switch {
			case g:
				delete(x, k)
				changed = true
			case c:
				x[k], changed = o, true
			}
		}
	}
	return v, false, changed
}

// refProps decodes the properties of o that hold references: those
// named as references, and any other whose JSON mentions one.
func refProps(o *stix.Object) map[string]any {
	var m map[string]any
	for k, raw := range o.Props {
		if markingKeys[k] || !singleRef(k) && !listRef(k) && !bytes.Contains(raw, []byte(`_ref`)) {
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber() // a file's size, written back, keeps every digit
		if d.Decode(&v) != nil {
			continue
		}
		if m == nil {
			m = map[string]any{}
		}
		m[k] = v
	}
	return m
}

// redactRefs redacts the entries' references for r, in place, leaving
// out the entries whose subject redaction takes away.
func (s *Store) redactRefs(ctx context.Context, r *Reader, es []Entry) ([]Entry, error) {
	props := make([]map[string]any, len(es))
	var ids []string
	for i, e := range es {
		props[i] = refProps(e.Object)
		for k, v := range props[i] {
			collectRefs(k, v, func(id string) { ids = append(ids, id) })
		}
	}
	hidden, err := s.hiddenIDs(ctx, r, ids)
	if err != nil || len(hidden) == 0 {
		return es, err
	}
	out := es[:0]
	for i, e := range es {
		if redactObject(e.Object, props[i], hidden) {
			out = append(out, e)
		}
	}
	return out, nil
}

// redactObject takes the hidden ids out of o, whose reference
// properties are props; false when o is to be left out.
func redactObject(o *stix.Object, props map[string]any, hidden map[string]bool) bool {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, gone, changed := prune(k, props[k], hidden)
		if !changed {
			continue
		}
		if gone && requiredRefs[o.Type+"."+k] {
			return false
		}
		var err error
		if gone {
			err = o.Delete(k)
		} else {
			err = o.Set(k, v)
		}
		if err != nil {
			return false
		}
	}
	return true
}

// hiddenIDs are those of ids that name a TLP:RED or TLP:AMBER+STRICT
// object (any stored version) of which r is no recipient.
func (s *Store) hiddenIDs(ctx context.Context, r *Reader, ids []string) (map[string]bool, error) {
	hidden := map[string]bool{}
	if len(ids) == 0 {
		return hidden, nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
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
	return hidden, nil
}
