// Package geo keeps the map boundaries: the outlines of NHS England
// regions, ICBs and sub-ICB locations, imported from the ONS GeoJSON files
// (never shipped in the binary), simplified for drawing and stored in the
// geo tables. It owns those tables; the pictures (supplyviz) only draw what
// it gives them.
package geo

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the map boundaries' schema. The domain stays "geo",
// as databases have recorded it since the tables were made (when the
// package was supplyviz): the bookkeeping is by domain, so renaming it
// would make existing databases create the tables again.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "geo", FS: sub}
}

// Level is a kind of area on a map.
type Level string

// Map levels; the codes are ODS codes (Y56, QKK, 72Q).
const (
	LevelRegion Level = "region"
	LevelICB    Level = "icb"
	LevelSubICB Level = "sub-icb"
)

// Boundary is one area's outline.
type Boundary struct {
	Level   Level  `json:"level"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	ONSCode string `json:"ons_code,omitempty"`
	// Parent is the region of an ICB, or the ICB of a sub-ICB location.
	Parent string `json:"parent,omitempty"`
	// Label is where the area's label goes (ONS's label point), [lon, lat].
	Label [2]float64 `json:"label"`
	// Polygons are [polygon][ring][point] of [lon, lat]; the first ring of
	// each polygon is its outline, the others holes.
	Polygons [][][][2]float64 `json:"polygons"`
}

// Store keeps the map outlines.
type Store struct {
	db    *store.DB
	audit *audit.Log
	now   func() time.Time
}

// Options are the dependencies of Store.
type Options struct {
	DB    *store.DB
	Audit *audit.Log
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New checks o and returns the boundary store.
func New(o Options) (*Store, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("geo: Options.DB is required")
	case o.Audit == nil:
		return nil, errors.New("geo: Options.Audit is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{db: o.DB, audit: o.Audit, now: o.Now}, nil
}

// ErrForbidden means the caller may not import boundaries (a national
// administrator or supply-chain manager may).
var ErrForbidden = fault.New(fault.ErrForbidden, "importing map boundaries needs national administrator or national supply-chain rights")

// CanImport reports whether sc may import boundaries.
func CanImport(sc scope.Scope) bool { return sc.National(scope.Admin) || sc.National(scope.Supply) }

// ImportReport says what an import did (or, on a dry run, would do).
type ImportReport struct {
	Source   string `json:"source"`
	DryRun   bool   `json:"dry_run"`
	Features int    `json:"features"`
	// Levels counts features per level (region, icb, sub-icb).
	Levels  map[Level]int `json:"levels"`
	Created int           `json:"created"`
	Updated int           `json:"updated"`
	// PointsIn and PointsKept measure the simplification.
	PointsIn   int      `json:"points_in"`
	PointsKept int      `json:"points_kept"`
	Errors     []string `json:"errors,omitempty"`
}

// MaxGeoJSONBytes bounds one GeoJSON document (the ONS super-generalised
// files are under 1.2 MB; the full-resolution ones are far larger than a
// map needs).
const MaxGeoJSONBytes = 64 << 20

// ImportGeoJSON loads the boundaries in an ONS GeoJSON file (ICBs, NHS
// England regions or sub-ICB locations: the level is read from the
// properties, ICB23CDH, NHSER24CDH or SICBL23CDH, which hold ODS codes).
// Polygons are simplified (about 280 m), which is finer than any map
// Vigil draws. Existing rows of the same level and code are replaced. The
// import is all or nothing and is audited.
func (b *Store) ImportGeoJSON(ctx context.Context, sc scope.Scope, path string, dryRun bool) (ImportReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImportReport{}, fmt.Errorf("import boundaries: %w", err)
	}
	defer func() { _ = f.Close() }() // read only: closing loses nothing
	return b.ImportGeoJSONFrom(ctx, sc, filepath.Base(path), f, dryRun)
}

// ImportGeoJSONFrom is ImportGeoJSON over a reader (an uploaded file);
// name is the source named in the report and the audit log.
func (b *Store) ImportGeoJSONFrom(ctx context.Context, sc scope.Scope, name string, r io.Reader, dryRun bool) (rep ImportReport, err error) {
	rep = ImportReport{Source: name, DryRun: dryRun, Levels: map[Level]int{}}
	if !CanImport(sc) {
		return rep, ErrForbidden
	}
	defer func() {
		// Parsing untrusted input must never take the server down.
		if p := recover(); p != nil {
			err = fmt.Errorf("import boundaries %s: internal error: %v", name, p)
		}
	}()
	data, err := io.ReadAll(io.LimitReader(r, MaxGeoJSONBytes+1))
	if err != nil {
		return rep, fmt.Errorf("import boundaries %s: %w", name, err)
	}
	if len(data) > MaxGeoJSONBytes {
		rep.Errors = append(rep.Errors, fmt.Sprintf("%s: larger than %d MB; use the super-generalised (BSC) boundary set", name, MaxGeoJSONBytes>>20))
		return rep, nil
	}
	bs, in, errs := ParseGeoJSON(name, data)
	rep.Features, rep.PointsIn, rep.Errors = len(bs), in, errs
	for _, x := range bs {
		rep.Levels[x.Level]++
		for _, p := range x.Polygons {
			for _, ring := range p {
				rep.PointsKept += len(ring)
			}
		}
	}
	if len(errs) > 0 || len(bs) == 0 {
		if len(errs) == 0 {
			rep.Errors = append(rep.Errors, name+": no features")
		}
		return rep, nil
	}
	existing := map[string]bool{}
	rows, err := b.db.Q().QueryContext(ctx, `SELECT level, code FROM geo_boundaries`)
	if err != nil {
		return rep, fmt.Errorf("import boundaries: %w", err)
	}
	err = each(rows, func() error {
		var l, c string
		if err := rows.Scan(&l, &c); err != nil {
			return err
		}
		existing[l+"/"+c] = true
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("import boundaries: %w", err)
	}
	for _, x := range bs {
		if existing[string(x.Level)+"/"+x.Code] {
			rep.Updated++
		} else {
			rep.Created++
		}
	}
	if dryRun {
		return rep, nil
	}
	at := b.now().UTC().Format(time.RFC3339)
	err = b.db.InTx(ctx, func(tx *store.Tx) error {
		for _, x := range bs {
			geom, err := json.Marshal(x.Polygons)
			if err != nil {
				return err
			}
			pts := 0
			for _, p := range x.Polygons {
				for _, ring := range p {
					pts += len(ring)
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM geo_boundaries WHERE level = ? AND code = ?`, string(x.Level), x.Code); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO geo_boundaries (level, code, name, ons_code, parent, label_lon, label_lat, geometry, points, source, imported_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, string(x.Level), x.Code, x.Name, x.ONSCode, x.Parent, x.Label[0], x.Label[1], string(geom), pts, name, at); err != nil {
				return err
			}
		}
		summary := struct {
			Source   string        `json:"source"`
			Levels   map[Level]int `json:"levels"`
			Created  int           `json:"created"`
			Updated  int           `json:"updated"`
			PointsIn int           `json:"points_in"`
			Kept     int           `json:"points_kept"`
		}{name, rep.Levels, rep.Created, rep.Updated, rep.PointsIn, rep.PointsKept}
		_, err := b.audit.Append(ctx, tx, sc, audit.Change{Action: "geo.import", ObjectType: "geo_boundaries", ObjectID: name, After: summary})
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("import boundaries %s: %w", name, err)
	}
	return rep, nil
}

// Load returns the boundaries of one level, by code. Boundaries are public
// geography, so there is no scope: what a map shows on them is scoped by
// the data it is given.
func (b *Store) Load(ctx context.Context, level Level) ([]Boundary, error) {
	rows, err := b.db.Q().QueryContext(ctx, `SELECT level, code, name, ons_code, parent, label_lon, label_lat, geometry FROM geo_boundaries WHERE level = ? ORDER BY code`, string(level))
	if err != nil {
		return nil, fmt.Errorf("load boundaries: %w", err)
	}
	var out []Boundary
	err = each(rows, func() error {
		var x Boundary
		var l, geom string
		if err := rows.Scan(&l, &x.Code, &x.Name, &x.ONSCode, &x.Parent, &x.Label[0], &x.Label[1], &geom); err != nil {
			return fmt.Errorf("load boundaries: %w", err)
		}
		x.Level = Level(l)
		if err := json.Unmarshal([]byte(geom), &x.Polygons); err != nil {
			return fmt.Errorf("load boundaries: %s %s: %w", l, x.Code, err)
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// Counts returns how many boundaries each level holds.
func (b *Store) Counts(ctx context.Context) (map[Level]int, error) {
	rows, err := b.db.Q().QueryContext(ctx, `SELECT level, COUNT(*) FROM geo_boundaries GROUP BY level`)
	if err != nil {
		return nil, fmt.Errorf("count boundaries: %w", err)
	}
	out := map[Level]int{}
	err = each(rows, func() error {
		var l string
		var n int
		if err := rows.Scan(&l, &n); err != nil {
			return fmt.Errorf("count boundaries: %w", err)
		}
		out[Level(l)] = n
		return nil
	})
	return out, err
}

// each calls fn for every row and closes rows; it returns the first error
// of fn, of the iteration or of closing.
func each(rows *sql.Rows, fn func() error) error {
	for rows.Next() {
		if err := fn(); err != nil {
			return errors.Join(err, rows.Close())
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}
