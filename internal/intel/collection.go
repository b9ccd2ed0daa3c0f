package intel

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Collection is a TAXII collection as Vigil keeps it, seen by one caller.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	TLPCeiling  stix.TLP `json:"-"`
	Ceiling     string   `json:"tlp_ceiling"` // "TLP:AMBER"
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	// Moderated is a collection whose additions by others than national
	// analysts are pending until one approves them (submissions.go).
	Moderated bool `json:"moderated"`
	// Approver is whether the caller approves its submissions.
	Approver  bool      `json:"approver"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// CollectionOptions describe a new collection.
type CollectionOptions struct {
	Title, Description string
	// TLPCeiling is the most restrictive TLP the collection hands out;
	// zero means TLP:GREEN, what may go to every organisation in the
	// community.
	TLPCeiling stix.TLP
	// Moderated makes what organisations' people add to it wait for a
	// national analyst's approval (submissions.go).
	Moderated bool
}

// InvalidError is a request that cannot be carried out as given.
type InvalidError struct{ Field, Msg string }

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

// As makes an InvalidError a *fault.Invalid, so the API and the web UI
// answer it as a 400 naming the field.
func (e *InvalidError) As(target any) bool {
	if t, ok := target.(**fault.Invalid); ok {
		*t = &fault.Invalid{Field: e.Field, Reason: e.Msg}
		return true
	}
	return false
}

// CreateCollection makes a collection that its creator (sc.UserID) can
// read and write, audited as intel.collection.create.
func (s *Store) CreateCollection(ctx context.Context, sc scope.Scope, o CollectionOptions) (Collection, error) {
	o.Title = strings.TrimSpace(o.Title)
	switch {
	case o.Title == "":
		return Collection{}, &InvalidError{"title", "required"}
	case utf8.RuneCountInString(o.Title) > 200:
		return Collection{}, &InvalidError{"title", "at most 200 characters"}
	case utf8.RuneCountInString(o.Description) > 4000:
		return Collection{}, &InvalidError{"description", "at most 4,000 characters"}
	case sc.UserID == "":
		return Collection{}, &InvalidError{"user", "a collection needs a creator to grant it to"}
	}
	if o.TLPCeiling == 0 {
		o.TLPCeiling = stix.TLPGreen
	}
	if o.TLPCeiling < stix.TLPClear || o.TLPCeiling > stix.TLPRed {
		return Collection{}, &InvalidError{"tlp_ceiling", "want CLEAR, GREEN, AMBER, AMBER+STRICT or RED"}
	}
	id := strings.TrimPrefix(stix.NewID("x"), "x--") // TAXII collection ids are bare UUIDs
	now := s.now().UTC()
	c := Collection{ID: id, Title: o.Title, Description: o.Description, TLPCeiling: o.TLPCeiling, Ceiling: o.TLPCeiling.String(),
		CanRead: true, CanWrite: true, Moderated: o.Moderated, CreatedBy: sc.UserID, CreatedAt: now}
	c.Approver = approves(sc, c)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO intel_collections (id, title, description, tlp_ceiling, moderated, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Title, c.Description, int(c.TLPCeiling), b2i(c.Moderated), c.CreatedBy, versionKey(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO intel_collection_grants (collection_id, user_id, can_read, can_write) VALUES (?, ?, 1, 1)`, c.ID, sc.UserID); err != nil {
			return err
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.collection.create", ObjectType: "taxii-collection", ObjectID: c.ID, After: c})
		return err
	})
	if err != nil {
		return Collection{}, err
	}
	return c, nil
}

// ErrCollectionNotFound means no collection has the id, or the caller
// holds no grant on it.
var ErrCollectionNotFound = fault.New(fault.ErrNotFound, "intel: collection not found")

// Collections lists the collections the caller holds a grant on.
func (s *Store) Collections(ctx context.Context, sc scope.Scope) ([]Collection, error) {
	return s.collections(ctx, sc, "")
}

// GetCollection returns one collection the caller holds a grant on.
func (s *Store) GetCollection(ctx context.Context, sc scope.Scope, id string) (Collection, error) {
	cs, err := s.collections(ctx, sc, id)
	if err != nil {
		return Collection{}, err
	}
	if len(cs) == 0 {
		return Collection{}, ErrCollectionNotFound
	}
	return cs[0], nil
}

// collections are those the caller holds a grant on: their own (a
// user grant) or one to an organisation that reaches them (OrgGrant.covers).
// Rights add up over the grants.
func (s *Store) collections(ctx context.Context, sc scope.Scope, id string) ([]Collection, error) {
	q := `SELECT c.id, c.title, c.description, c.tlp_ceiling, c.moderated, c.created_by, c.created_at, COALESCE(g.can_read, 0), COALESCE(g.can_write, 0)
		FROM intel_collections c LEFT JOIN intel_collection_grants g ON g.collection_id = c.id AND g.user_id = ?`
	args := []any{sc.UserID}
	if id != "" {
		q += ` WHERE c.id = ?`
		args = append(args, id)
	}
	grants, err := s.orgGrants(ctx, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Q().QueryContext(ctx, q+` ORDER BY c.title, c.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []Collection
	for rows.Next() {
		var c Collection
		var tlp, mod, r, w int
		var created string
		if err := rows.Scan(&c.ID, &c.Title, &c.Description, &tlp, &mod, &c.CreatedBy, &created, &r, &w); err != nil {
			return nil, err
		}
		c.TLPCeiling, c.Ceiling, c.CanRead, c.CanWrite = stix.TLP(tlp), stix.TLP(tlp).String(), r != 0, w != 0
		held := c.CanRead || c.CanWrite
		if sc.UserID != "" {
			for _, g := range grants[c.ID] {
				if g.covers(sc) {
					held = true
					c.CanRead = c.CanRead || g.CanRead
					c.CanWrite = c.CanWrite || g.CanWrite
				}
			}
		}
		if !held {
			continue
		}
		c.Moderated = mod != 0
		c.Approver = approves(sc, c)
		if c.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("intel: collection %s created_at %q: %w", c.ID, created, err)
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}
