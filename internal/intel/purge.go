package intel

import (
	"context"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// ErrPurgeForbidden is a purge by someone who is not a national
// administrator.
var ErrPurgeForbidden = fault.New(fault.ErrForbidden, "intel: only national administrators purge an object, which takes it from every collection and reader")

// PurgeResult says what a purge removed.
type PurgeResult struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Versions is how many versions of the object went.
	Versions int `json:"versions"`
	// Collections is how many collections held it.
	Collections int `json:"collections"`
}

// Purge removes an object from Vigil altogether, where a TAXII DELETE
// only takes it out of one collection: every version, its place in every
// collection, its named recipients, the matcher's sightings of it, the
// verdicts on it, its submissions for approval and its search words.
// It is for what should never have been stored (personal data posted by
// mistake, a wrong indicator raising alerts everywhere), so it needs a
// national administrator and a reason, and is audited as
// intel.object.purge with the object's type and versions (not its
// body). Objects that refer to it (relationships, reports) keep their
// reference. The IOC matcher rebuilds without it (OnChange).
func (s *Store) Purge(ctx context.Context, sc scope.Scope, id, reason string) (PurgeResult, error) {
	reason = strings.TrimSpace(reason)
	id = strings.TrimSpace(id)
	switch {
	case !sc.National(scope.Admin):
		return PurgeResult{}, ErrPurgeForbidden
	case reason == "":
		return PurgeResult{}, &InvalidError{"reason", "required: say why the object must go"}
	case safetext.Problem(reason, safetext.Text, 1000) != "":
		return PurgeResult{}, &InvalidError{"reason", safetext.Problem(reason, safetext.Text, 1000)}
	case !stix.ValidID(id):
		return PurgeResult{}, &InvalidError{"id", "not a STIX id (type--uuid)"}
	}
	res := PurgeResult{ID: id}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(type), '') FROM intel_objects WHERE id = ?`, id).Scan(&res.Versions, &res.Type); err != nil {
			return err
		}
		if res.Versions == 0 {
			return ErrNotFound
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(DISTINCT collection_id) FROM intel_collection_objects WHERE id = ?`, id).Scan(&res.Collections); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM intel_collection_objects WHERE id = ?`,
			`DELETE FROM intel_object_recipients WHERE id = ?`,
			`DELETE FROM intel_sightings WHERE indicator_id = ?`,
			`DELETE FROM intel_verdicts WHERE indicator_id = ?`,
			`DELETE FROM intel_search_tokens WHERE id = ?`,
			`DELETE FROM intel_submissions WHERE id = ?`,
			`DELETE FROM intel_objects WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.object.purge", ObjectType: "stix-object", ObjectID: id,
			Before: map[string]any{"type": res.Type, "versions": res.Versions, "collections": res.Collections}, After: map[string]any{"reason": reason}})
		return err
	})
	if err != nil {
		return PurgeResult{}, err
	}
	s.changed.fire()
	return res, nil
}
