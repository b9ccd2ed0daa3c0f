package org

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Service reads and changes organisations.
type Service struct {
	db       *store.DB
	audit    *audit.Log
	now      func() time.Time
	log      *slog.Logger
	onChange []func()
	counts   matchCounts // search plans (search.go)
}

// OnChange registers f to be called after organisations change (create,
// update, import), so in-memory indexes built from them can rebuild.
func (s *Service) OnChange(f func()) { s.onChange = append(s.onChange, f) }

func (s *Service) changed() {
	s.counts.forget()
	for _, f := range s.onChange {
		f()
	}
}

// Generation is a counter that every committed change to organisations
// increases, for processes that keep something built from the tree and
// did not make the change themselves (OnChange tells only this process).
func (s *Service) Generation(ctx context.Context) (int64, error) {
	var gen int64
	if err := s.db.Q().QueryRowContext(ctx, `SELECT generation FROM org_meta WHERE id = 1`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("org: read generation: %w", err)
	}
	return gen, nil
}

// bump increases the generation inside the transaction of a change.
func bump(ctx context.Context, tx *store.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE org_meta SET generation = generation + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("org: bump generation: %w", err)
	}
	return nil
}

// Options are Service's dependencies.
type Options struct {
	DB     *store.DB
	Audit  *audit.Log
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.DB == nil {
		return nil, errors.New("org: Options.DB is required")
	}
	if o.Audit == nil {
		return nil, errors.New("org: Options.Audit is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{db: o.DB, audit: o.Audit, now: o.Now, log: o.Logger}, nil
}

const orgCols = `code, name, type, parent, path, status, region, icb, postcode, opened, closed, population, source, demo, updated_at`

func scanOrg(sc interface{ Scan(...any) error }) (Org, error) {
	var o Org
	err := sc.Scan(&o.Code, &o.Name, &o.Type, &o.Parent, &o.Path, &o.Status, &o.Region, &o.ICB, &o.Postcode,
		&o.Opened, &o.Closed, &o.Population, &o.Source, &o.Demo, &o.UpdatedAt)
	return o, err
}

// ListFilter narrows List. Zero fields match everything.
type ListFilter struct {
	Type   Type
	Status Status
	Parent string
	// Under restricts to the subtree of this organisation (itself included).
	Under string
	// Query keeps the organisations where each word of it begins a word of
	// the code or name, in any case and without regard to accents (see
	// search.go): "leeds teach" finds Leeds Teaching Hospitals, "RJ" the
	// codes beginning RJ.
	Query string
	// After is the cursor: the last code of the previous page.
	After string
	Limit int
	// Outside adds bodies outside NHS England (see View); it is implied
	// when Parent or Under is one of them.
	Outside bool
}

// MaxPage is the largest page List returns.
const MaxPage = 5000

// List returns organisations the scope may read, ordered by code, and the
// cursor for the next page ("" at the end).
func (s *Service) List(ctx context.Context, sc scope.Scope, f ListFilter) ([]Org, string, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > MaxPage {
		f.Limit = MaxPage
	}
	query, args, none, err := s.listQuery(ctx, sc, f)
	if err != nil {
		return nil, "", err
	}
	if none {
		return []Org{}, "", nil
	}
	rows, err := s.db.Q().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("org: list: %w", err)
	}
	defer rows.Close()
	out := make([]Org, 0, min(f.Limit, 256))
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].Code
	}
	return out, next, nil
}

// listQuery is the SQL List runs for f (f.Limit already bounded), or none
// when nothing can match.
func (s *Service) listQuery(ctx context.Context, sc scope.Scope, f ListFilter) (query string, args []any, none bool, err error) {
	if !storable(f.After) {
		return "", nil, false, &fault.Invalid{Field: "cursor", Reason: "not a cursor from this list"}
	}
	if !storable(f.Parent) {
		return "", nil, true, nil // no organisation has such a parent
	}
	where, args := sc.PathFilter("path", scope.Read)
	conds := []string{where}
	from := "orgs"
	if f.Type != "" {
		conds = append(conds, "type = ?")
		args = append(args, string(f.Type))
	}
	if f.Status != "" {
		conds = append(conds, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.Parent != "" {
		conds = append(conds, "parent = ?")
		args = append(args, f.Parent)
	}
	if f.Under != "" {
		p, err := s.pathOf(ctx, s.db.Q(), f.Under)
		if err != nil {
			return "", nil, false, err
		}
		conds = append(conds, "path >= ? AND path < ?")
		args = append(args, p, p[:len(p)-1]+"0")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		if p := safetext.SearchProblem(q); p != "" {
			return "", nil, false, &fault.Invalid{Field: "q", Reason: p}
		}
		c, a, ok := searchCond(s.db.Dialect, q)
		if !ok {
			return "", nil, true, nil
		}
		conds = append(conds, c)
		args = append(args, a...)
		if s.db.Dialect == store.SQLite && f.Type == "" && f.Parent == "" && f.Under == "" {
			if from, err = s.sqlitePlan(ctx, a[0].(string), f.Limit); err != nil {
				return "", nil, false, err
			}
		}
	}
	if f.After != "" {
		conds = append(conds, "code > ?")
		args = append(args, f.After)
	}
	if c, err := s.outsideCond(ctx, f); err != nil {
		return "", nil, false, err
	} else if c != "" {
		conds = append(conds, c)
	}
	args = append(args, f.Limit+1)
	return `SELECT ` + orgCols + ` FROM ` + from + ` WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY code LIMIT ?`, args, false, nil
}

// Get returns one organisation, or fault.ErrNotFound if it does not exist
// or the scope may not read it.
func (s *Service) Get(ctx context.Context, sc scope.Scope, code string) (Org, error) {
	if !storable(code) {
		return Org{}, fault.ErrNotFound
	}
	where, args := sc.PathFilter("path", scope.Read)
	row := s.db.Q().QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE code = ? AND `+where, append([]any{code}, args...)...)
	o, err := scanOrg(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Org{}, fault.ErrNotFound
	}
	if err != nil {
		return Org{}, fmt.Errorf("org: get %s: %w", code, err)
	}
	return o, nil
}

// Lookup returns an organisation without scope, for trusted callers (auth
// building a Scope, imports).
func (s *Service) Lookup(ctx context.Context, code string) (Org, error) {
	return s.Get(ctx, scope.System("lookup"), code)
}

// All returns every organisation, unscoped, for in-memory indexes (the
// supplier graph) that apply scope to their own results.
func (s *Service) All(ctx context.Context) ([]Org, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+orgCols+` FROM orgs ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("org: all: %w", err)
	}
	defer rows.Close()
	var out []Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (s *Service) pathOf(ctx context.Context, q store.Queryer, code string) (string, error) {
	if !storable(code) {
		return "", fault.ErrNotFound
	}
	var p string
	err := q.QueryRowContext(ctx, `SELECT path FROM orgs WHERE code = ?`, code).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.ErrNotFound
	}
	return p, err
}

// PathOf returns the materialised path of code (unscoped).
func (s *Service) PathOf(ctx context.Context, code string) (string, error) {
	return s.pathOf(ctx, s.db.Q(), code)
}

// Node is an organisation in a tree listing with its number of children.
type Node struct {
	Org
	// Children counts the organisations directly under it in the same View.
	Children int `json:"children"`
}

// Children returns the organisations directly under parent that the scope
// may read and the view shows, with their child counts in the same view,
// ordered by name. With parent "" it returns the scope's roots: the highest
// organisations it may read. The children of a body outside NHS England
// are shown whatever v.Outside says: whoever opens Wales wants Wales.
func (s *Service) Children(ctx context.Context, sc scope.Scope, parent string, v View) ([]Node, error) {
	var cond string
	var args []any
	kids := v // what the child counts count
	if parent == "" {
		roots := sc.Prefixes(scope.Read)
		if len(roots) == 0 {
			return nil, nil
		}
		var ors []string
		for _, r := range roots {
			if r == "/" {
				ors, args = []string{"o.parent = ''"}, nil
				break
			}
			ors = append(ors, "o.path = ?")
			args = append(args, r)
		}
		// A root is shown even when closed or outside England: it is
		// where the caller's grant is.
		cond = "(" + strings.Join(ors, " OR ") + ")"
	} else {
		p, err := s.Get(ctx, sc, parent)
		if err != nil {
			return nil, err
		}
		if out, err := s.outside(ctx, p); err != nil {
			return nil, err
		} else if out {
			v.Outside, kids.Outside = true, true
		}
		cond, args = "o.parent = ? AND "+v.cond("o"), []any{parent}
	}
	q := `SELECT ` + prefixed("o", orgCols) + `, (SELECT COUNT(*) FROM orgs c WHERE c.parent = o.code AND ` + kids.cond("c") + `)
		FROM orgs o WHERE ` + cond + ` ORDER BY o.type = 'supplier', o.name`
	rows, err := s.db.Q().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("org: children of %q: %w", parent, err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		o := &n.Org
		if err := rows.Scan(&o.Code, &o.Name, &o.Type, &o.Parent, &o.Path, &o.Status, &o.Region, &o.ICB, &o.Postcode,
			&o.Opened, &o.Closed, &o.Population, &o.Source, &o.Demo, &o.UpdatedAt, &n.Children); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = alias + "." + p
	}
	return strings.Join(parts, ", ")
}

// Ancestors returns the chain from the national root down to code's parent,
// limited to what the scope may read.
func (s *Service) Ancestors(ctx context.Context, sc scope.Scope, code string) ([]Org, error) {
	o, err := s.Get(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	codes := strings.Split(strings.Trim(o.Path, "/"), "/")
	var out []Org
	for _, c := range codes[:len(codes)-1] {
		a, err := s.Get(ctx, sc, c)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Count returns the number of organisations the scope may read and the
// view shows, by type.
func (s *Service) Count(ctx context.Context, sc scope.Scope, v View) (map[Type]int, error) {
	where, args := sc.PathFilter("o.path", scope.Read)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT o.type, COUNT(*) FROM orgs o WHERE `+where+` AND `+v.cond("o")+` GROUP BY o.type`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[Type]int{}
	for rows.Next() {
		var t Type
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, rows.Err()
}

var codeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,15}$`) })

func validate(o *Org) error {
	o.Code = strings.ToUpper(strings.TrimSpace(o.Code))
	o.Name = strings.TrimSpace(o.Name)
	o.Parent = strings.ToUpper(strings.TrimSpace(o.Parent))
	if !codeRE().MatchString(o.Code) {
		return &fault.Invalid{Field: "ods", Reason: "want 1–16 upper-case letters, digits or hyphens"}
	}
	if o.Name == "" || utf8.RuneCountInString(o.Name) > safetext.MaxName {
		return &fault.Invalid{Field: "name", Reason: "required, at most 200 characters"}
	}
	if err := checkFields(o); err != nil {
		return err
	}
	if !o.Type.Valid() {
		return &fault.Invalid{Field: "type", Reason: fmt.Sprintf("unknown type %q; want one of %v", o.Type, Types())}
	}
	if o.Status == "" {
		o.Status = Active
	}
	if o.Status != Active && o.Status != Closed {
		return &fault.Invalid{Field: "status", Reason: "want active or closed"}
	}
	if o.Type != National && o.Parent == "" {
		o.Parent = RootCode
	}
	if o.Parent == o.Code {
		return &fault.Invalid{Field: "parent", Reason: "an organisation cannot be its own parent"}
	}
	return nil
}

// MaxPopulation bounds an organisation's registered population: England
// has about 57 million people, and totals over tens of thousands of
// organisations must not overflow.
const MaxPopulation = 100_000_000

// checkFields applies the shared text rules (safetext) and the number and
// date rules to the fields people type.
func checkFields(o *Org) error {
	o.Postcode = strings.TrimSpace(o.Postcode)
	for _, f := range []struct {
		field, v string
		max      int
	}{{"name", o.Name, safetext.MaxName}, {"parent", o.Parent, 16}, {"postcode", o.Postcode, 16}, {"opened", o.Opened, 10}, {"closed", o.Closed, 10}} {
		if p := safetext.Problem(f.v, safetext.Name, f.max); p != "" {
			return &fault.Invalid{Field: f.field, Reason: p}
		}
	}
	if o.Population < 0 || o.Population > MaxPopulation {
		return &fault.Invalid{Field: "population", Reason: fmt.Sprintf("%d: want a number of people from 0 to %d", o.Population, MaxPopulation)}
	}
	for _, d := range []struct{ field, v string }{{"opened", o.Opened}, {"closed", o.Closed}} {
		if d.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d.v); err != nil {
			return &fault.Invalid{Field: d.field, Reason: fmt.Sprintf("%q is not a date: want YYYY-MM-DD", d.v)}
		}
	}
	if o.Opened != "" && o.Closed != "" && o.Closed < o.Opened {
		return &fault.Invalid{Field: "closed", Reason: fmt.Sprintf("%s is before opened %s", o.Closed, o.Opened)}
	}
	return nil
}

// storable reports whether s could be stored at all (valid UTF-8 without
// NUL), so a lookup of anything else answers "not found" without the
// database: PostgreSQL refuses such parameters with an error.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// Create adds an organisation under a parent the scope may administer,
// where its type fits (CheckParent); regions, ICBs and suppliers only by
// national administrators (NationalStructure).
func (s *Service) Create(ctx context.Context, sc scope.Scope, o Org) (Org, error) {
	if err := validate(&o); err != nil {
		return Org{}, err
	}
	if o.Type == National {
		return Org{}, CheckParent(National, Org{})
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		parent, err := s.placeUnder(ctx, tx, sc, o.Type, o.Parent, "")
		if err != nil {
			return err
		}
		pp := parent.Path
		if _, err := s.pathOf(ctx, tx, o.Code); err == nil {
			return fmt.Errorf("%w: organisation %s already exists", fault.ErrConflict, o.Code)
		}
		o.Path = pp + o.Code + "/"
		s.inherit(ctx, tx, &o)
		o.UpdatedAt = s.now().UTC().Format(time.RFC3339)
		if o.Source == "" {
			o.Source = "manual"
		}
		if err := insertOrg(ctx, tx, o); err != nil {
			return err
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "org.create", ObjectType: "org", ObjectID: o.Code, Org: o.Code, After: o})
		return err
	})
	if err == nil {
		s.changed()
	}
	return o, err
}

// placeUnder checks that the scope may put an organisation of type t under
// parentCode, and returns the parent: the parent must exist and the scope
// administer it (else it is "not found", so scope never leaks); t must fit
// under the parent's type (CheckParent); and national structure (regions,
// ICBs, suppliers) is placed by national administrators only. A move
// passes the moved organisation's path as from, which the parent must not
// be under.
func (s *Service) placeUnder(ctx context.Context, q store.Queryer, sc scope.Scope, t Type, parentCode, from string) (Org, error) {
	parent, err := scanOrg(q.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE code = ?`, parentCode))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.CanAt(scope.Admin, parent.Path)) {
		return Org{}, &fault.Invalid{Field: "parent", Reason: fmt.Sprintf("organisation %s not found", parentCode)}
	}
	if err != nil {
		return Org{}, err
	}
	if from != "" && strings.HasPrefix(parent.Path, from) {
		return Org{}, &fault.Invalid{Field: "parent", Reason: "cannot move an organisation under its own subtree"}
	}
	if err := CheckParent(t, parent); err != nil {
		return Org{}, err
	}
	if NationalStructure(t) && !sc.National(scope.Admin) {
		return Org{}, fmt.Errorf("%w: only national administrators create or move regions, ICBs and supplier organisations; ask one to make the %s you need", fault.ErrForbidden, t)
	}
	return parent, nil
}

// inherit fills region and ICB from the parent chain when not given.
func (s *Service) inherit(ctx context.Context, q store.Queryer, o *Org) {
	var pRegion, pICB, pType string
	if err := q.QueryRowContext(ctx, `SELECT region, icb, type FROM orgs WHERE code = ?`, o.Parent).Scan(&pRegion, &pICB, &pType); err != nil {
		return
	}
	if o.Region == "" {
		o.Region = pRegion
		if Type(pType) == Region || Type(pType) == Nation {
			o.Region = o.Parent
		}
	}
	if o.ICB == "" {
		o.ICB = pICB
		if Type(pType) == ICB {
			o.ICB = o.Parent
		}
	}
	if o.Type == Region || o.Type == Nation {
		o.Region = o.Code
	}
	if o.Type == ICB {
		o.ICB = o.Code
	}
}

func insertOrg(ctx context.Context, tx *store.Tx, o Org) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO orgs (`+orgCols+`, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Code, o.Name, string(o.Type), o.Parent, o.Path, string(o.Status), o.Region, o.ICB, o.Postcode, o.Opened, o.Closed,
		o.Population, o.Source, o.Demo, o.UpdatedAt, searchText(o.Code, o.Name))
	if store.IsUniqueViolation(err) {
		return fmt.Errorf("%w: organisation %s already exists", fault.ErrConflict, o.Code)
	}
	return err
}

// Patch is a partial update; nil fields are left alone.
type Patch struct {
	Name       *string `json:"name,omitempty"`
	Status     *Status `json:"status,omitempty"`
	Parent     *string `json:"parent,omitempty"`
	Postcode   *string `json:"postcode,omitempty"`
	Population *int64  `json:"population,omitempty"`
}

// Update changes an organisation the scope may administer. Moving it to a
// new parent moves its whole subtree (paths are rewritten in the same
// transaction); the new parent follows the same rules as in Create.
func (s *Service) Update(ctx context.Context, sc scope.Scope, code string, p Patch) (Org, error) {
	var after Org
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		before, err := scanOrg(tx.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE code = ?`, code))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.CanAt(scope.Read, before.Path)) {
			return fault.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !sc.CanAt(scope.Admin, before.Path) {
			return fmt.Errorf("%w: you may not change organisation %s", fault.ErrForbidden, code)
		}
		after = before
		if p.Name != nil {
			after.Name = *p.Name
		}
		if p.Status != nil {
			after.Status = *p.Status
		}
		if p.Postcode != nil {
			after.Postcode = *p.Postcode
		}
		if p.Population != nil {
			after.Population = *p.Population
		}
		if p.Parent != nil {
			after.Parent = *p.Parent
		}
		if err := validate(&after); err != nil {
			return err
		}
		if after.Parent != before.Parent {
			parent, err := s.placeUnder(ctx, tx, sc, after.Type, after.Parent, before.Path)
			if err != nil {
				return err
			}
			pp := parent.Path
			after.Path = pp + after.Code + "/"
			if err := movePaths(ctx, tx, before.Path, after.Path); err != nil {
				return err
			}
			// Region and ICB follow the new parent, here and in every
			// descendant that had them from the old one.
			after.Region, after.ICB = "", ""
			s.inherit(ctx, tx, &after)
			if err := moveAreas(ctx, tx, after.Path, before, after); err != nil {
				return err
			}
		}
		after.UpdatedAt = s.now().UTC().Format(time.RFC3339)
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET name = ?, status = ?, parent = ?, path = ?, region = ?, icb = ?, postcode = ?, population = ?, search = ?, updated_at = ? WHERE code = ?`,
			after.Name, string(after.Status), after.Parent, after.Path, after.Region, after.ICB, after.Postcode, after.Population, searchText(after.Code, after.Name), after.UpdatedAt, code); err != nil {
			return err
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "org.update", ObjectType: "org", ObjectID: code, Org: code, Before: before, After: after})
		return err
	})
	if err == nil {
		s.changed()
	}
	return after, err
}

func movePaths(ctx context.Context, tx *store.Tx, from, to string) error {
	// Rewrite every descendant's path prefix; done in Go for portability.
	rows, err := tx.QueryContext(ctx, `SELECT code, path FROM orgs WHERE path > ? AND path < ?`, from, from[:len(from)-1]+"0")
	if err != nil {
		return err
	}
	type cp struct{ code, path string }
	var list []cp
	for rows.Next() {
		var c cp
		if err := rows.Scan(&c.code, &c.path); err != nil {
			rows.Close()
			return err
		}
		list = append(list, c)
	}
	rows.Close()
	for _, c := range list {
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET path = ? WHERE code = ?`, to+strings.TrimPrefix(c.path, from), c.code); err != nil {
			return err
		}
	}
	return nil
}

// moveAreas rewrites the region and ICB of the descendants under path that
// carried the moved organisation's old ones.
func moveAreas(ctx context.Context, tx *store.Tx, path string, before, after Org) error {
	for _, c := range []struct{ col, from, to string }{{"region", before.Region, after.Region}, {"icb", before.ICB, after.ICB}} {
		if c.from == c.to {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET `+c.col+` = ? WHERE path > ? AND path < ? AND `+c.col+` = ?`,
			c.to, path, path[:len(path)-1]+"0", c.from); err != nil {
			return err
		}
	}
	return nil
}

// EnsureRoot creates the national root organisation if it is missing.
func (s *Service) EnsureRoot(ctx context.Context) error {
	if _, err := s.PathOf(ctx, RootCode); err == nil {
		return nil
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		o := Org{Code: RootCode, Name: "NHS England", Type: National, Status: Active, Path: "/" + RootCode + "/",
			Source: "vigil", UpdatedAt: s.now().UTC().Format(time.RFC3339)}
		if err := insertOrg(ctx, tx, o); err != nil {
			if errors.Is(err, fault.ErrConflict) {
				return nil
			}
			return err
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, scope.System("vigil"), audit.Change{Action: "org.create", ObjectType: "org", ObjectID: o.Code, Org: o.Code, After: o})
		return err
	})
}

// HasDemo reports whether any demonstration organisation exists, so the UI
// can mark every page while demo data is present.
func (s *Service) HasDemo(ctx context.Context) bool {
	var n int
	err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM orgs WHERE demo = ? LIMIT 1) d`, true).Scan(&n)
	return err == nil && n > 0
}
