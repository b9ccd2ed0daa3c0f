package assurance

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the assurance domain's schema.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "assurance", FS: sub}
}

// Options are the Service's dependencies.
type Options struct {
	DB    *store.DB
	Audit *audit.Log
	// Orgs and Suppliers say which organisations and suppliers a caller
	// may see, for their DSPT statuses.
	Orgs      OrgSource
	Suppliers SupplierSource
	// Register answers campaigns' questions of the supplier register
	// (supply.Service): which suppliers a caller represents, which its
	// organisations deploy. Campaigns and statements need it.
	Register Register
	// Graph, Findings and Incidents feed the prioritisation view and the
	// supplier page's posture (views.go): supply.Service, vuln.SBOMs and
	// cases.Service. Each is optional; a missing one counts nothing. The
	// composition root builds vulnerabilities and cases after assurance,
	// so it may give those two later with SetExposure.
	Graph     GraphSource
	Findings  FindingSource
	Incidents IncidentSource
	// Notifier e-mails campaign reminders and overdue notices; nil sends
	// none (the claims are still recorded). BaseURL makes their links.
	Notifier Notifier
	BaseURL  string
	// Logger is for the reminders' duty; none when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service keeps requirement sets and DSPT statuses. It is safe for
// concurrent use.
//
// Who may do what: requirement sets and DSPT statuses are published,
// national reference data, so anyone signed in may read them (an
// organisation's DSPT status is shown only where the caller may see the
// organisation, which the adapters check with the org package); importing
// either needs the Supply permission at the national level (the CLI runs
// as the system scope).
type Service struct {
	db        *store.DB
	audit     *audit.Log
	orgs      OrgSource
	suppliers SupplierSource
	register  Register
	graph     GraphSource
	findings  FindingSource
	incidents IncidentSource
	notifier  Notifier
	baseURL   string
	log       *slog.Logger
	now       func() time.Time
}

// New checks o and returns a Service.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("assurance: Options.DB is required")
	case o.Audit == nil:
		return nil, errors.New("assurance: Options.Audit is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	return &Service{db: o.DB, audit: o.Audit, orgs: o.Orgs, suppliers: o.Suppliers, register: o.Register, graph: o.Graph, findings: o.Findings, incidents: o.Incidents,
		notifier: o.Notifier, baseURL: o.BaseURL, log: o.Logger, now: o.Now}, nil
}

// SetExposure gives the sources of live exposure (vulnerability findings
// and national incidents) to a Service built before them. The composition
// root calls it once, before the Service is used.
func (s *Service) SetExposure(f FindingSource, i IncidentSource) {
	s.findings, s.incidents = f, i
}

// ErrVersionChanged is an import of a version already held with other
// content.
var ErrVersionChanged = fault.New(fault.ErrConflict, "this version of the requirement set is already imported with different content")

// ImportResult says what Import did with one set.
type ImportResult struct {
	Summary
	// Outcome is "imported" or "unchanged" (the same version with the
	// same bytes was already held).
	Outcome string `json:"outcome"`
}

func mayImport(sc scope.Scope) error {
	if !sc.National(scope.Supply) {
		return fault.Forbiddenf("importing requirement sets and DSPT statuses needs the supply permission nationally")
	}
	return nil
}

// Import stores set in one transaction with its audit entry. The same
// version with the same digest is left as it is ("unchanged"); the same
// version with another digest is ErrVersionChanged; another version is
// stored beside those held.
func (s *Service) Import(ctx context.Context, sc scope.Scope, set *Set) (ImportResult, error) {
	res, err := s.ImportAll(ctx, sc, []*Set{set})
	if err != nil {
		return ImportResult{}, err
	}
	return res[0], nil
}

// ImportAll is Import for several sets in one transaction: all or none.
func (s *Service) ImportAll(ctx context.Context, sc scope.Scope, sets []*Set) ([]ImportResult, error) {
	if err := mayImport(sc); err != nil {
		return nil, err
	}
	at := s.now().UTC().Format(time.RFC3339)
	out := make([]ImportResult, len(sets))
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		for i, set := range sets {
			var id, digest string
			err := tx.QueryRowContext(ctx, `SELECT set_id, digest FROM assurance_sets WHERE set_key = ? AND version = ?`, set.Key, set.Version).Scan(&id, &digest)
			switch {
			case err == nil && digest == set.Digest:
				out[i].Outcome = "unchanged"
				continue
			case err == nil:
				return fmt.Errorf("%w: %s (%s) version %s is held as %s from other content; give the new content a new version", ErrVersionChanged, set.Source, set.Key, set.Version, id)
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("assurance: look up %s: %w", set.ID, err)
			}
			if err := insertSet(ctx, tx, set, at); err != nil {
				if store.IsUniqueViolation(err) {
					return fault.Conflictf("requirement set %s is held already (from %s); two files give the same id", set.ID, set.Source)
				}
				return err
			}
			sum := set.Summarise()
			if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.set.import", ObjectType: "requirement-set", ObjectID: set.ID,
				After: map[string]any{"key": set.Key, "version": set.Version, "source": set.Source, "digest": set.Digest,
					"nodes": sum.Nodes, "indicators": sum.Indicators.Total(), "profiles": sum.Profiles}}); err != nil {
				return err
			}
			out[i].Outcome = "imported"
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, set := range sets {
		stored, err := s.Get(ctx, set.ID)
		if err != nil {
			return nil, err
		}
		out[i].Summary = stored.Summarise()
	}
	return out, nil
}

// batch inserts rows of n columns, many rows a statement.
func batch(ctx context.Context, tx *store.Tx, head string, n, rows int, row func(i int) []any) error {
	const per = 100
	for lo := 0; lo < rows; lo += per {
		hi := min(lo+per, rows)
		var b strings.Builder
		b.WriteString(head)
		b.WriteString(" VALUES ")
		args := make([]any, 0, (hi-lo)*n)
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.Placeholders(n) + ")")
			args = append(args, row(i)...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("assurance: %s: %w", head, err)
		}
	}
	return nil
}

func insertSet(ctx context.Context, tx *store.Tx, set *Set, at string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_sets (set_id, set_key, version, name, format, provider, description, copyright, source, digest, imported_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, set.ID, set.Key, set.Version, set.Name, set.Format, set.Provider, set.Description, set.Copyright, set.Source, set.Digest, at); err != nil {
		return fmt.Errorf("assurance: insert set %s: %w", set.ID, err)
	}
	if err := batch(ctx, tx, `INSERT INTO assurance_nodes (set_id, seq, node_key, ref, parent_key, kind, depth, name, description, assessable)`, 10, len(set.Nodes), func(i int) []any {
		n := set.Nodes[i]
		return []any{set.ID, i, n.Key, n.Ref, n.Parent, n.Kind, n.Depth, n.Name, n.Description, n.Assessable}
	}); err != nil {
		return err
	}
	if err := batch(ctx, tx, `INSERT INTO assurance_indicators (set_id, seq, outcome_key, ref, level, ncsc_index, description)`, 7, len(set.Indicators), func(i int) []any {
		in := set.Indicators[i]
		return []any{set.ID, i, in.Outcome, in.Ref, string(in.Level), in.Index, in.Description}
	}); err != nil {
		return err
	}
	if err := batch(ctx, tx, `INSERT INTO assurance_rules (set_id, outcome_key, seq, form, rule_key, status, message)`, 7, len(set.Rules), func(i int) []any {
		r := set.Rules[i]
		return []any{set.ID, r.Outcome, r.Seq, r.Form, r.Key, string(r.Status), r.Message}
	}); err != nil {
		return err
	}
	if err := batch(ctx, tx, `INSERT INTO assurance_profiles (set_id, seq, profile, title, description)`, 5, len(set.Profiles), func(i int) []any {
		p := set.Profiles[i]
		return []any{set.ID, i, p.Name, p.Title, p.Description}
	}); err != nil {
		return err
	}
	type pt struct {
		profile string
		t       Target
	}
	var targets []pt
	for _, p := range set.Profiles {
		for _, t := range p.Targets {
			targets = append(targets, pt{p.Name, t})
		}
	}
	return batch(ctx, tx, `INSERT INTO assurance_profile_targets (set_id, profile, node_key, level)`, 4, len(targets), func(i int) []any {
		return []any{set.ID, targets[i].profile, targets[i].t.Node, string(targets[i].t.Level)}
	})
}

// List summarises every set held, by key then version.
func (s *Service) List(ctx context.Context) ([]Summary, error) {
	q := s.db.Q()
	rows, err := q.QueryContext(ctx, `SELECT s.set_id, s.set_key, s.name, s.version, s.format, s.source, s.imported_at,
		(SELECT COUNT(*) FROM assurance_nodes n WHERE n.set_id = s.set_id),
		(SELECT COUNT(*) FROM assurance_nodes n WHERE n.set_id = s.set_id AND n.assessable),
		(SELECT COUNT(*) FROM assurance_nodes n WHERE n.set_id = s.set_id AND n.kind = 'outcome'),
		(SELECT COUNT(*) FROM assurance_indicators i WHERE i.set_id = s.set_id AND i.level = 'achieved'),
		(SELECT COUNT(*) FROM assurance_indicators i WHERE i.set_id = s.set_id AND i.level = 'partially_achieved'),
		(SELECT COUNT(*) FROM assurance_indicators i WHERE i.set_id = s.set_id AND i.level = 'not_achieved')
		FROM assurance_sets s ORDER BY s.set_key, s.version`)
	if err != nil {
		return nil, fmt.Errorf("assurance: list sets: %w", err)
	}
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		var x Summary
		if err := rows.Scan(&x.ID, &x.Key, &x.Name, &x.Version, &x.Format, &x.Source, &x.ImportedAt, &x.Nodes, &x.Requirements, &x.Outcomes,
			&x.Indicators.Achieved, &x.Indicators.PartiallyAchieved, &x.Indicators.NotAchieved); err != nil {
			return nil, fmt.Errorf("assurance: list sets: %w", err)
		}
		x.Profiles = []string{}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("assurance: list sets: %w", err)
	}
	profs, err := q.QueryContext(ctx, `SELECT set_id, profile FROM assurance_profiles ORDER BY set_id, seq`)
	if err != nil {
		return nil, fmt.Errorf("assurance: list profiles: %w", err)
	}
	defer profs.Close()
	byID := make(map[string]int, len(out))
	for i, x := range out {
		byID[x.ID] = i
	}
	for profs.Next() {
		var id, name string
		if err := profs.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("assurance: list profiles: %w", err)
		}
		if i, ok := byID[id]; ok {
			out[i].Profiles = append(out[i].Profiles, name)
		}
	}
	return out, profs.Err()
}

// Get reads one set whole.
func (s *Service) Get(ctx context.Context, id string) (*Set, error) {
	q := s.db.Q()
	set := &Set{}
	err := q.QueryRowContext(ctx, `SELECT set_id, set_key, version, name, format, provider, description, copyright, source, digest, imported_at
		FROM assurance_sets WHERE set_id = ?`, id).Scan(&set.ID, &set.Key, &set.Version, &set.Name, &set.Format, &set.Provider, &set.Description, &set.Copyright, &set.Source, &set.Digest, &set.ImportedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.NotFoundf("no requirement set %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("assurance: get %s: %w", id, err)
	}
	if err := each(ctx, q, `SELECT node_key, ref, parent_key, kind, depth, name, description, assessable FROM assurance_nodes WHERE set_id = ? ORDER BY seq`, id, func(r *sql.Rows) error {
		var n Node
		err := r.Scan(&n.Key, &n.Ref, &n.Parent, &n.Kind, &n.Depth, &n.Name, &n.Description, &n.Assessable)
		set.Nodes = append(set.Nodes, n)
		return err
	}); err != nil {
		return nil, err
	}
	if err := each(ctx, q, `SELECT outcome_key, ref, level, ncsc_index, description FROM assurance_indicators WHERE set_id = ? ORDER BY seq`, id, func(r *sql.Rows) error {
		var in Indicator
		err := r.Scan(&in.Outcome, &in.Ref, &in.Level, &in.Index, &in.Description)
		set.Indicators = append(set.Indicators, in)
		return err
	}); err != nil {
		return nil, err
	}
	if err := each(ctx, q, `SELECT outcome_key, seq, form, rule_key, status, message FROM assurance_rules WHERE set_id = ? ORDER BY outcome_key, seq`, id, func(r *sql.Rows) error {
		var x Rule
		err := r.Scan(&x.Outcome, &x.Seq, &x.Form, &x.Key, &x.Status, &x.Message)
		set.Rules = append(set.Rules, x)
		return err
	}); err != nil {
		return nil, err
	}
	idx := map[string]int{}
	if err := each(ctx, q, `SELECT profile, title, description FROM assurance_profiles WHERE set_id = ? ORDER BY seq`, id, func(r *sql.Rows) error {
		var p Profile
		err := r.Scan(&p.Name, &p.Title, &p.Description)
		idx[p.Name] = len(set.Profiles)
		set.Profiles = append(set.Profiles, p)
		return err
	}); err != nil {
		return nil, err
	}
	order := make(map[string]int, len(set.Nodes))
	for i, n := range set.Nodes {
		order[n.Key] = i
	}
	if err := each(ctx, q, `SELECT profile, node_key, level FROM assurance_profile_targets WHERE set_id = ?`, id, func(r *sql.Rows) error {
		var name string
		var t Target
		if err := r.Scan(&name, &t.Node, &t.Level); err != nil {
			return err
		}
		if i, ok := idx[name]; ok {
			set.Profiles[i].Targets = append(set.Profiles[i].Targets, t)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, p := range set.Profiles {
		slices.SortStableFunc(p.Targets, func(a, b Target) int { return order[a.Node] - order[b.Node] })
	}
	return set, nil
}

func each(ctx context.Context, q store.Queryer, text, id string, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, text, id)
	if err != nil {
		return fmt.Errorf("assurance: %s: %w", text[:min(len(text), 40)], err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("assurance: scan: %w", err)
		}
	}
	return rows.Err()
}
