package intel

import (
	"context"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// RemoveFromCollection takes versions of an object out of a collection
// the caller may write (TAXII 2.1 section 5.7, DELETE …/objects/{id}/):
// versions is match[version] ("last", "first", "all" or timestamps;
// every version when empty). Only versions the caller may read go —
// within the ceiling, and TLP:RED or AMBER+STRICT ones only for their
// recipients — so a version the caller cannot see is neither removed nor
// revealed: with none, ErrNotFound. The store keeps the object (other
// collections, the matcher and exports by id still have it). Audited as
// intel.collection.remove; it returns how many versions went.
func (s *Store) RemoveFromCollection(ctx context.Context, sc scope.Scope, collection, id string, versions []string) (int, error) {
	c, err := s.GetCollection(ctx, sc, collection)
	if err != nil {
		return 0, err
	}
	if !c.CanWrite || !c.CanRead {
		return 0, ErrCollectionForbidden
	}
	if len(versions) == 0 {
		versions = []string{"all"}
	}
	var keys []string
	q := Query{IDs: []string{id}, Versions: versions, Limit: 1000}
	for {
		p, _, err := s.ReadCollection(ctx, sc, c.ID, q)
		if err != nil {
			return 0, err
		}
		for _, e := range p.Entries {
			keys = append(keys, versionKey(e.Object.Version()))
		}
		if !p.More {
			break
		}
		q.Next = p.Next
	}
	if len(keys) == 0 {
		return 0, ErrNotFound
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM intel_collection_objects WHERE collection_id = ? AND id = ? AND version = ?`, c.ID, id, k); err != nil {
				return err
			}
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.collection.remove", ObjectType: "taxii-collection", ObjectID: c.ID,
			Before: map[string]any{"title": c.Title, "object": id, "versions": keys}})
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(keys), nil
}
