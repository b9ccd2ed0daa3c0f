package intel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Sharing (issue 19 item 8). Three rules decide what a reader gets from
// a collection, on every path (TAXII, the MISP feed, the CSV blocklist,
// the API), all applied below those paths by ReadCollection:
//
//  1. The reader must hold a grant on the collection: their own (the
//     creator's), or their organisation's — a grant to an organisation
//     reaches everyone holding a role there or under it, so a grant to
//     the national body reaches every organisation and a region's its
//     trusts; a grant may be limited to one role. A collection with no
//     grant for the reader does not exist for them (404); one they may
//     see but not read or write is a 403 for that.
//  2. Nothing marked above the collection's TLP ceiling.
//  3. A TLP:RED or TLP:AMBER+STRICT object goes only to its explicit
//     recipients (Share): users by id, or the people of an organisation
//     (its own, not the organisations under it). Whoever imports such an
//     object is its first recipient.
//
// PAP travels as marking definitions (stix.PAPID); the CSV blocklist,
// which is for blocking (an active measure), leaves out PAP:AMBER and
// PAP:RED objects.

// ErrCollectionForbidden is a collection the caller may see but not
// read (or not write): TAXII's 403.
var ErrCollectionForbidden = fault.New(fault.ErrForbidden, "intel: you may see this collection but not read or change it")

// OrgGrant is a grant of a collection to an organisation.
type OrgGrant struct {
	Org       string    `json:"org"`
	Role      string    `json:"role,omitempty"` // "" any role
	CanRead   bool      `json:"can_read"`
	CanWrite  bool      `json:"can_write"`
	GrantedBy string    `json:"granted_by"`
	GrantedAt time.Time `json:"granted_at"`
	path      string
}

// covers reports whether a grant reaches the scope: one of its grants
// is at the organisation or under it (with the role, if one is named).
func (g OrgGrant) covers(sc scope.Scope) bool {
	for _, ug := range sc.Grants {
		if ug.Path != "" && strings.HasPrefix(ug.Path, g.path) && (g.Role == "" || string(ug.Role) == g.Role) {
			return true
		}
	}
	return false
}

// GrantOptions say what to grant.
type GrantOptions struct {
	// Org is the ODS code of the organisation granted to.
	Org string `json:"org"`
	// Role limits the grant to the holders of one role there ("" any).
	Role  string `json:"role,omitempty"`
	Read  bool   `json:"read"`
	Write bool   `json:"write"`
}

// GrantCollection grants a collection the caller may write to an
// organisation (replacing any grant to the same organisation and role),
// audited as intel.collection.grant. Granting read is publishing, which
// a writer of the collection may do to any organisation; granting write
// also needs a role of the caller's own at that organisation or above it.
// Read false and write false revokes the grant.
func (s *Store) GrantCollection(ctx context.Context, sc scope.Scope, id string, o GrantOptions) (OrgGrant, error) {
	c, err := s.GetCollection(ctx, sc, id)
	if err != nil {
		return OrgGrant{}, err
	}
	if !c.CanWrite {
		return OrgGrant{}, ErrCollectionForbidden
	}
	o.Org = strings.TrimSpace(o.Org)
	if o.Org == "" {
		return OrgGrant{}, &InvalidError{"org", "required"}
	}
	if o.Role != "" && !scope.Role(o.Role).Valid() {
		return OrgGrant{}, &InvalidError{"role", fmt.Sprintf("%q is not a role", o.Role)}
	}
	if s.orgPath == nil {
		return OrgGrant{}, errors.New("intel: Options.OrgPath is needed to grant to organisations")
	}
	path, err := s.orgPath(ctx, o.Org)
	if err != nil || path == "" {
		return OrgGrant{}, &InvalidError{"org", fmt.Sprintf("%q is not an organisation", o.Org)}
	}
	if o.Write && sc.PermsAt(path) == 0 {
		return OrgGrant{}, &InvalidError{"write", "you may grant write only to an organisation where you hold a role (or under one)"}
	}
	now := s.now().UTC()
	g := OrgGrant{Org: o.Org, Role: o.Role, CanRead: o.Read || o.Write, CanWrite: o.Write, GrantedBy: sc.UserID, GrantedAt: now, path: path}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM intel_collection_org_grants WHERE collection_id = ? AND org = ? AND role = ?`, c.ID, o.Org, o.Role); err != nil {
			return err
		}
		action := "intel.collection.revoke"
		if g.CanRead {
			action = "intel.collection.grant"
			if _, err := tx.ExecContext(ctx, `INSERT INTO intel_collection_org_grants (collection_id, org, path, role, can_read, can_write, granted_by, granted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ID, o.Org, path, o.Role, b2i(g.CanRead), b2i(g.CanWrite), sc.UserID, versionKey(now)); err != nil {
				return err
			}
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: action, ObjectType: "taxii-collection", ObjectID: c.ID, Org: o.Org,
			After: map[string]any{"title": c.Title, "org": o.Org, "role": o.Role, "can_read": g.CanRead, "can_write": g.CanWrite}})
		return err
	})
	if err != nil {
		return OrgGrant{}, err
	}
	return g, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CollectionGrants lists a collection's grants to organisations; any
// caller who may see the collection may see who else it reaches.
func (s *Store) CollectionGrants(ctx context.Context, sc scope.Scope, id string) ([]OrgGrant, error) {
	c, err := s.GetCollection(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	gs, err := s.orgGrants(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return gs[c.ID], nil
}

func (s *Store) orgGrants(ctx context.Context, id string) (map[string][]OrgGrant, error) {
	q := `SELECT collection_id, org, path, role, can_read, can_write, granted_by, granted_at FROM intel_collection_org_grants`
	var args []any
	if id != "" {
		q += ` WHERE collection_id = ?`
		args = append(args, id)
	}
	rows, err := s.db.Q().QueryContext(ctx, q+` ORDER BY collection_id, org, role`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string][]OrgGrant{}
	for rows.Next() {
		var cid, at string
		var g OrgGrant
		var r, w int
		if err := rows.Scan(&cid, &g.Org, &g.path, &g.Role, &r, &w, &g.GrantedBy, &at); err != nil {
			return nil, err
		}
		g.CanRead, g.CanWrite = r != 0, w != 0
		g.GrantedAt, _ = time.Parse(time.RFC3339Nano, at)
		m[cid] = append(m[cid], g)
	}
	return m, rows.Err()
}

// readerOrgs are the organisations whose people the scope is: its home
// and every organisation it holds a role at.
func readerOrgs(sc scope.Scope) []string {
	var orgs []string
	if sc.Home != "" {
		orgs = append(orgs, sc.Home)
	}
	for _, g := range sc.Grants {
		if g.Org != "" && !slices.Contains(orgs, g.Org) {
			orgs = append(orgs, g.Org)
		}
	}
	return orgs
}

// Reader is who a query reads for: TLP:RED and TLP:AMBER+STRICT
// versions are returned only when one of these is a recipient.
type Reader struct {
	UserID string
	Orgs   []string
}

// ReaderOf is the Reader of a scope.
func ReaderOf(sc scope.Scope) *Reader { return &Reader{UserID: sc.UserID, Orgs: readerOrgs(sc)} }

// Recipient is one explicit recipient of an object.
type Recipient struct {
	Kind      string    `json:"kind"` // user or org
	Recipient string    `json:"recipient"`
	AddedBy   string    `json:"added_by"`
	AddedAt   time.Time `json:"added_at"`
}

// canSee reports whether the reader may see an object of tlp t.
func (s *Store) canSee(ctx context.Context, q store.Queryer, r *Reader, id string, t stix.TLP) (bool, error) {
	if t < stix.TLPAmberStrict {
		return true, nil
	}
	args := []any{id, r.UserID}
	orgs := ""
	for _, o := range r.Orgs {
		orgs += ", ?"
		args = append(args, o)
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM intel_object_recipients WHERE id = ? AND (kind = 'user' AND recipient = ? OR kind = 'org' AND recipient IN (''`+orgs+`))`, args...).Scan(&n)
	return n > 0, err
}

// Share names one more explicit recipient of an object (a user id, or an
// organisation's code), audited as intel.object.share. Only a recipient
// may share a TLP:RED or TLP:AMBER+STRICT object further; an object
// marked less strictly needs no recipients, and sharing it is refused
// as pointless.
func (s *Store) Share(ctx context.Context, sc scope.Scope, id, kind, recipient string) (Recipient, error) {
	if kind != "user" && kind != "org" {
		return Recipient{}, &InvalidError{"kind", "want user or org"}
	}
	if recipient = strings.TrimSpace(recipient); recipient == "" {
		return Recipient{}, &InvalidError{"recipient", "required"}
	}
	o, err := s.Get(ctx, id)
	if err != nil {
		return Recipient{}, err
	}
	t, _ := stix.TLPOfObject(o)
	ok, err := s.canSee(ctx, s.db.Q(), ReaderOf(sc), id, t)
	if err != nil {
		return Recipient{}, err
	}
	if !ok {
		return Recipient{}, ErrNotFound
	}
	if t < stix.TLPAmberStrict {
		return Recipient{}, &InvalidError{"id", fmt.Sprintf("%s is %s: it goes to every reader of its collections, not to named recipients", id, t)}
	}
	if kind == "org" && s.orgPath != nil {
		if p, err := s.orgPath(ctx, recipient); err != nil || p == "" {
			return Recipient{}, &InvalidError{"recipient", fmt.Sprintf("%q is not an organisation", recipient)}
		}
	}
	now := s.now().UTC()
	r := Recipient{Kind: kind, Recipient: recipient, AddedBy: sc.UserID, AddedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO intel_object_recipients (id, kind, recipient, added_by, added_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id, kind, recipient) DO NOTHING`,
			id, kind, recipient, sc.UserID, versionKey(now)); err != nil {
			return err
		}
		if s.audit == nil {
			return nil
		}
		org := ""
		if kind == "org" {
			org = recipient
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.object.share", ObjectType: "stix-object", ObjectID: id, Org: org,
			After: map[string]any{"kind": kind, "recipient": recipient, "tlp": t.String()}})
		return err
	})
	if err == nil && kind == "org" {
		s.changed.fire() // the IOC matcher matches the object for one more organisation
	}
	return r, err
}

// Recipients lists an object's explicit recipients, to a caller who is one.
func (s *Store) Recipients(ctx context.Context, sc scope.Scope, id string) ([]Recipient, error) {
	o, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	t, _ := stix.TLPOfObject(o)
	if ok, err := s.canSee(ctx, s.db.Q(), ReaderOf(sc), id, t); err != nil || !ok {
		if err == nil {
			err = ErrNotFound
		}
		return nil, err
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT kind, recipient, added_by, added_at FROM intel_object_recipients WHERE id = ? ORDER BY kind, recipient`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rs := []Recipient{}
	for rows.Next() {
		var r Recipient
		var at string
		if err := rows.Scan(&r.Kind, &r.Recipient, &r.AddedBy, &at); err != nil {
			return nil, err
		}
		r.AddedAt, _ = time.Parse(time.RFC3339Nano, at)
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// ReadCollection runs q over a collection for the caller with every
// sharing rule applied: the caller's grant (ErrCollectionNotFound
// without one, ErrCollectionForbidden when it does not allow reading),
// the TLP ceiling, and TLP:RED/AMBER+STRICT only to their recipients.
// Every export path reads through it.
func (s *Store) ReadCollection(ctx context.Context, sc scope.Scope, id string, q Query) (Page, Collection, error) {
	c, err := s.GetCollection(ctx, sc, id)
	if err != nil {
		return Page{}, c, err
	}
	if !c.CanRead {
		return Page{}, c, ErrCollectionForbidden
	}
	q.Collection, q.MaxTLP, q.Reader, q.Approver = c.ID, c.TLPCeiling, ReaderOf(sc), c.Approver
	p, err := s.List(ctx, q)
	return p, c, err
}

// CollectionObjects is every object of a collection the caller may
// read (the latest version of each, in the order added), for exports.
func (s *Store) CollectionObjects(ctx context.Context, sc scope.Scope, id string) ([]*stix.Object, Collection, error) {
	var objs []*stix.Object
	q := Query{Limit: 1000}
	for {
		p, c, err := s.ReadCollection(ctx, sc, id, q)
		if err != nil {
			return nil, c, err
		}
		for _, e := range p.Entries {
			objs = append(objs, e.Object)
		}
		if !p.More {
			return objs, c, nil
		}
		q.Next = p.Next
	}
}
