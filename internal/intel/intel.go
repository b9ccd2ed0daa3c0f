// Package intel is Vigil's threat intelligence: a STIX 2.1 store keeping
// every version of every object, importing STIX bundles, MISP events and
// feeds and CSV or text feeds into it, and sharing its collections by
// hierarchy, TLP and PAP (share.go: every export path reads through
// ReadCollection). It also keeps the feeds Vigil subscribes to
// (subscriptions.go), the indicator lifecycle — decay, sightings, the
// allowlist (lifecycle.go) — and what the intelligence pages read
// (view.go). The object model, the patterning language, TAXII, MISP, the
// plain feeds, IOC matching and pulling feeds are the subpackages stix,
// pattern, taxii, misp, feeds, match and pull (docs/intel.md says what
// exists and what is left).
package intel

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/seal"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the intel domain's schema.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "intel", FS: sub}
}

// ErrNotFound means no object has the id (or none the caller may read).
var ErrNotFound = fault.New(fault.ErrNotFound, "intel: object not found")

// Options are what a Store needs.
type Options struct {
	DB *store.DB
	// Audit records every import; nil records nothing (tests of the store alone).
	Audit *audit.Log
	Now   func() time.Time
	// OrgPath resolves an organisation's code to its materialised path,
	// for grants of collections to organisations (org.Service.PathOf);
	// nil refuses such grants.
	OrgPath func(ctx context.Context, code string) (string, error)
	// Secrets seals the feeds' passwords and tokens in the database
	// (the server's secrets key file); nil seals them with a random key
	// that lasts as long as the process (tests of the store alone).
	Secrets *seal.Keyring
	// Rules are the Sigma rules Vigil runs (rules.Service), for the
	// links between intelligence and detection (links.go); nil lists no
	// detecting rules and refuses links to rules.
	Rules RuleSource
}

// Store keeps STIX objects, every version of each.
type Store struct {
	db      *store.DB
	audit   *audit.Log
	now     func() time.Time
	orgPath func(ctx context.Context, code string) (string, error)
	rules   RuleSource
	feeds   feedCache // MISP feeds lately built
	// changed are told of every import that stored something
	// (indicators.go: OnChange).
	changed changeHooks
	secrets *seal.Keyring
	// indexed is whether the search index holds what was stored before it.
	indexed indexOnce
}

// New opens the store over a migrated database.
func New(o Options) (*Store, error) {
	if o.DB == nil {
		return nil, errors.New("intel: Options.DB is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Secrets == nil {
		o.Secrets = seal.Random()
	}
	return &Store{db: o.DB, audit: o.Audit, now: o.Now, orgPath: o.OrgPath, secrets: o.Secrets, rules: o.Rules}, nil
}

// versionKey is the stored form of a version timestamp: fixed-width UTC.
func versionKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// Outcome says what storing one object did.
type Outcome int

// The outcomes of Put.
const (
	// Added is an object Vigil did not have.
	Added Outcome = iota
	// NewVersion is a version of a known object that Vigil did not have
	// (newer or older than the latest; every version is kept).
	NewVersion
	// Unchanged is a version Vigil already had (same id and modified, or
	// an SCO whose id it already had: a deterministic id is the object).
	Unchanged
	// Refused is a version newer than a revocation: a revoked object
	// stays revoked (STIX 2.1 section 3.6).
	Refused
)

// Report is what an import did.
type Report struct {
	Source string
	// Format is what the input was: stix, misp-event, misp-feed or csv.
	Format string
	// Flagged counts values a warning list named (kept, not indicators).
	Flagged                                int
	Objects, Added, NewVersions, Unchanged int
	// Pending counts the versions added to a moderated collection that
	// wait for an approver (submissions.go).
	Pending int
	// Refused lists the versions not stored, with why.
	Refused []string
}

// Import stores the objects of one source (a file name, a feed) in one
// transaction: all of them or, on a database error, none. It is audited
// as one intel.import entry.
func (s *Store) Import(ctx context.Context, sc scope.Scope, source string, objs []*stix.Object) (Report, error) {
	return s.importTx(ctx, sc, source, "", "", objs, nil)
}

// ImportInto is Import that also adds every version given to a collection
// the caller may write (ErrCollectionNotFound otherwise, and when it
// may only read it: nobody learns of a collection by writing to it).
func (s *Store) ImportInto(ctx context.Context, sc scope.Scope, collection, source string, objs []*stix.Object) (Report, error) {
	c, err := s.GetCollection(ctx, sc, collection)
	if err != nil {
		return Report{Source: source}, err
	}
	if !c.CanWrite {
		return Report{Source: source}, ErrCollectionNotFound
	}
	pendingOrg, err := pendingFor(sc, c)
	if err != nil {
		return Report{Source: source}, err
	}
	return s.importTx(ctx, sc, source, c.ID, pendingOrg, objs, nil)
}

// importTx stores objs in one transaction; after, when not nil, runs in
// the same transaction once they are stored (a feed's cursor moves with
// the objects it covers). pendingOrg, when not "", makes every version
// added to the collection a submission pending for that organisation
// (submissions.go).
func (s *Store) importTx(ctx context.Context, sc scope.Scope, source, collection, pendingOrg string, objs []*stix.Object, after func(*store.Tx, Report) error) (Report, error) {
	rep := Report{Source: source, Objects: len(objs)}
	added := versionKey(s.now())
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		known, err := latestVersions(ctx, tx, objs)
		if err != nil {
			return err
		}
		verdicts := 0
		words := &tokenBatch{tx: tx}
		for i, o := range objs {
			out, why, err := put(ctx, tx, o, added, source, known)
			if err != nil {
				return fmt.Errorf("%s: object %d (%s): %w", source, i, o.ID, err)
			}
			if collection != "" && out != Refused {
				res, err := tx.ExecPrepared(ctx, `INSERT INTO intel_collection_objects (collection_id, id, version, added_at, pending_org) VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection_id, id, version) DO NOTHING`,
					collection, o.ID, versionKey(o.Version()), added, pendingOrg)
				if err != nil {
					return fmt.Errorf("%s: object %d (%s): %w", source, i, o.ID, err)
				}
				if n, _ := res.RowsAffected(); n == 1 && pendingOrg != "" {
					if err := submit(ctx, tx, sc, collection, o, pendingOrg, added); err != nil {
						return fmt.Errorf("%s: object %d (%s): %w", source, i, o.ID, err)
					}
					rep.Pending++
				}
			}
			if out != Refused && sc.UserID != "" {
				// Whoever brings a TLP:RED or AMBER+STRICT object is its
				// first recipient; nobody else reads it until shared.
				if t, _ := stix.TLPOfObject(o); t >= stix.TLPAmberStrict {
					if _, err := tx.ExecPrepared(ctx, `INSERT INTO intel_object_recipients (id, kind, recipient, added_by, added_at) VALUES (?, 'user', ?, ?, ?) ON CONFLICT (id, kind, recipient) DO NOTHING`,
						o.ID, sc.UserID, sc.UserID, added); err != nil {
						return fmt.Errorf("%s: object %d (%s): %w", source, i, o.ID, err)
					}
				}
			}
			if o.Type == "sighting" && (out == Added || out == NewVersion) {
				ok, err := reportedSighting(ctx, tx, sc, source, o)
				if err != nil {
					return fmt.Errorf("%s: object %d (%s): %w", source, i, o.ID, err)
				}
				if ok {
					verdicts++
				}
			}
			if out == Added || out == NewVersion {
				if err := words.add(ctx, o); err != nil {
					return fmt.Errorf("%s: object %d (%s): search index: %w", source, i, o.ID, err)
				}
			}
			switch out {
			case Added:
				rep.Added++
			case NewVersion:
				rep.NewVersions++
			case Unchanged:
				rep.Unchanged++
			case Refused:
				rep.Refused = append(rep.Refused, fmt.Sprintf("object %d (%s): %s", i, o.ID, why))
			}
		}
		if verdicts > 0 {
			if err := s.lifecycleChanged(ctx, tx, sc.UserID); err != nil {
				return err
			}
		}
		if err := words.flush(ctx); err != nil {
			return fmt.Errorf("%s: search index: %w", source, err)
		}
		if after != nil {
			if err := after(tx, rep); err != nil {
				return err
			}
		}
		if s.audit == nil {
			return nil
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.import", ObjectType: "stix-source", ObjectID: source,
			After: map[string]any{"collection": collection, "objects": rep.Objects, "added": rep.Added, "new_versions": rep.NewVersions, "unchanged": rep.Unchanged, "refused": len(rep.Refused), "pending": rep.Pending}})
		return err
	})
	if err != nil {
		return Report{Source: source}, err
	}
	if rep.Added+rep.NewVersions > 0 {
		s.changed.fire()
	}
	return rep, nil
}

// latest is an object's newest stored version and whether it is revoked.
type latest struct {
	version string
	revoked bool
}

// latestVersions reads the newest stored version of every object among
// objs, a few hundred ids a query: one look-up per object was a sixth of
// the time of importing ATT&CK.
func latestVersions(ctx context.Context, tx *store.Tx, objs []*stix.Object) (map[string]latest, error) {
	m := make(map[string]latest, len(objs))
	const chunk = 500
	for start := 0; start < len(objs); start += chunk {
		part := objs[start:min(start+chunk, len(objs))]
		args := make([]any, len(part))
		for i, o := range part {
			args[i] = o.ID
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, version, revoked FROM intel_objects WHERE id IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, v string
			var rev int
			if err := rows.Scan(&id, &v, &rev); err != nil {
				rows.Close()
				return nil, err
			}
			if l, ok := m[id]; !ok || v > l.version {
				m[id] = latest{v, rev != 0}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// put stores one version, keeping known (the newest version of each id)
// up to date for the objects after it in the same import.
func put(ctx context.Context, tx *store.Tx, o *stix.Object, added, source string, known map[string]latest) (Outcome, string, error) {
	version := versionKey(o.Version())
	l, isKnown := known[o.ID]
	if isKnown && l.revoked && version > l.version {
		return Refused, "newer than its revocation of " + l.version, nil
	}
	body, err := o.MarshalJSON()
	if err != nil {
		return 0, "", err
	}
	tlp, _ := stix.TLPOfObject(o)
	rev := 0
	if o.Revoked {
		rev = 1
	}
	res, err := tx.ExecPrepared(ctx, `INSERT INTO intel_objects (id, version, type, revoked, tlp, added_at, source, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, version) DO NOTHING`,
		o.ID, version, o.Type, rev, int(tlp), added, source, string(body))
	if err != nil {
		return 0, "", err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, "", err
	} else if n == 0 {
		return Unchanged, "", nil
	}
	if !isKnown || version > l.version {
		known[o.ID] = latest{version, o.Revoked}
	}
	if isKnown {
		return NewVersion, "", nil
	}
	return Added, "", nil
}

// Get returns the latest version of an object.
func (s *Store) Get(ctx context.Context, id string) (*stix.Object, error) {
	var body string
	err := s.db.Q().QueryRowContext(ctx, `SELECT body FROM intel_objects WHERE id = ? ORDER BY version DESC LIMIT 1`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return stix.Parse([]byte(body))
}

// Versions lists an object's versions, oldest first (their modified
// timestamps; one zero time for an SCO).
func (s *Store) Versions(ctx context.Context, id string) ([]time.Time, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT version FROM intel_objects WHERE id = ? ORDER BY version`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []time.Time
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		var t time.Time
		if v != "" {
			if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return nil, fmt.Errorf("intel: stored version %q of %s: %w", v, id, err)
			}
		}
		vs = append(vs, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, ErrNotFound
	}
	return vs, nil
}

// Count returns how many objects (not versions) of each type are stored.
func (s *Store) Count(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT type, COUNT(DISTINCT id) FROM intel_objects GROUP BY type`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var t string
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		m[t] = n
	}
	return m, rows.Err()
}

// ImportFiles imports files and MISP feed directories (ImportFilesWith
// without warning lists): each is read before anything is stored — a bad
// file stops the import with nothing stored — and then imported in its
// own transaction, into collection too unless it is "".
func (s *Store) ImportFiles(ctx context.Context, sc scope.Scope, collection string, paths []string) ([]Report, error) {
	return s.ImportFilesWith(ctx, sc, collection, paths, ImportOptions{})
}
