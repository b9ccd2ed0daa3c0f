package org

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// ImportOptions control Import.
type ImportOptions struct {
	ParseOptions
	// DryRun validates and reports without writing anything.
	DryRun bool
	// BatchSize is how many organisations each transaction writes (default 500).
	BatchSize int
	// Progress, if set, is told how many of the total changes are written.
	Progress func(done, total int)
}

// FileReport is what one file contributed.
type FileReport struct {
	File    string     `json:"file"`
	Kind    Kind       `json:"kind"`
	Rows    int        `json:"rows"`
	Records int        `json:"records"`
	Skipped int        `json:"skipped"`
	Errors  []RowError `json:"errors"`
}

// ImportReport says what an import did (or, for a dry run, would do).
type ImportReport struct {
	DryRun    bool         `json:"dry_run"`
	Files     []FileReport `json:"files"`
	Created   int          `json:"created"`
	Updated   int          `json:"updated"`
	Unchanged int          `json:"unchanged"`
	// Closed counts organisations that are closed after the import and were
	// open (or absent) before it.
	Closed int `json:"closed"`
	// Orphans lists organisations whose parent is unknown; they are placed
	// directly under the national root until a file names their parent.
	Orphans []string `json:"orphans,omitempty"`
	// Applied counts changes committed; on error, those before the failing
	// batch stay committed and the report says how far it got.
	Applied  int `json:"applied"`
	RowError int `json:"row_errors"`
}

// typeRank orders types so that parents sort before children.
func typeRank(t Type) int {
	for i, k := range Types() {
		if k == t {
			return i
		}
	}
	return len(Types())
}

// Import loads organisations from ODS extracts and lookups. It is
// idempotent: running it again with the same files changes nothing; a
// newer extract updates organisations in place and marks closures. Bad
// rows are reported with file:line and skipped; every good row is applied.
// Only national administrators may import.
//
// The import does not apply CheckParent: it places organisations where the
// published extracts put them, which is the NHS's own record (a few Welsh
// trusts have no English region and sit under the root; an orphan waits
// under its ICB, region or the root until a file names its parent), and
// only national administrators, who may place anything, run it.
func (s *Service) Import(ctx context.Context, sc scope.Scope, paths []string, opts ImportOptions) (ImportReport, error) {
	rep := ImportReport{DryRun: opts.DryRun}
	if !sc.National(scope.Admin) {
		return rep, fmt.Errorf("%w: only national administrators may import organisations", fault.ErrForbidden)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	var full, pops, names []Record
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return rep, fmt.Errorf("import %s: %w", p, err)
		}
		res, err := ParseODS(filepath.Base(p), f, opts.ParseOptions)
		f.Close()
		if err != nil {
			return rep, fmt.Errorf("import %s: %w", p, err)
		}
		rep.Files = append(rep.Files, FileReport{File: p, Kind: res.Summary.Kind, Rows: res.Summary.Rows, Records: res.Summary.Records, Skipped: res.Summary.Skipped, Errors: res.Errors})
		rep.RowError += len(res.Errors)
		for _, r := range res.Records {
			switch {
			case r.PopulationOnly:
				pops = append(pops, r)
			case r.NameOnly:
				names = append(names, r)
			default:
				full = append(full, r)
			}
		}
	}
	existing, err := s.All(ctx)
	if err != nil {
		return rep, err
	}
	before := make(map[string]Org, len(existing))
	after := make(map[string]Org, len(existing)+len(full))
	for _, o := range existing {
		before[o.Code] = o
		after[o.Code] = o
	}
	now := s.now().UTC().Format(time.RFC3339)
	sort.SliceStable(full, func(i, j int) bool { return typeRank(full[i].Org.Type) < typeRank(full[j].Org.Type) })
	for _, r := range full {
		n := r.Org
		if old, ok := after[n.Code]; ok {
			// Keep what the file does not know: population and demo flag.
			n.Population, n.Demo = old.Population, old.Demo
			if n.Postcode == "" {
				n.Postcode = old.Postcode
			}
		}
		if n.Parent == "" && n.Type != National {
			n.Parent = RootCode
		}
		after[n.Code] = n
	}
	for _, r := range names {
		if o, ok := after[r.Org.Code]; ok && o.Type == ICB {
			o.Name = r.Org.Name
			after[o.Code] = o
		}
	}
	for _, r := range pops {
		if o, ok := after[r.Org.Code]; ok {
			o.Population = r.Org.Population
			after[o.Code] = o
		}
	}
	addMissingRegions(after)
	rep.Orphans = placeOrphans(after)
	if err := assignPaths(after); err != nil {
		return rep, err
	}
	// Work out the changes, parents first.
	var changes []Org
	for code, n := range after {
		old, existed := before[code]
		n.Source = sourceOr(n.Source, old.Source)
		after[code] = n
		if existed && sameOrg(old, n) {
			rep.Unchanged++
			continue
		}
		if !existed {
			rep.Created++
		} else {
			rep.Updated++
		}
		if n.Status == Closed && (!existed || old.Status != Closed) {
			rep.Closed++
		}
		n.UpdatedAt = now
		changes = append(changes, n)
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	if opts.DryRun || len(changes) == 0 {
		return rep, nil
	}
	for start := 0; start < len(changes); start += opts.BatchSize {
		end := min(start+opts.BatchSize, len(changes))
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			for _, n := range changes[start:end] {
				old, existed := before[n.Code]
				if existed {
					if _, err := tx.ExecContext(ctx, `UPDATE orgs SET name = ?, type = ?, parent = ?, path = ?, status = ?, region = ?, icb = ?, postcode = ?, opened = ?, closed = ?, population = ?, source = ?, search = ?, updated_at = ? WHERE code = ?`,
						n.Name, string(n.Type), n.Parent, n.Path, string(n.Status), n.Region, n.ICB, n.Postcode, n.Opened, n.Closed, n.Population, n.Source, searchText(n.Code, n.Name), n.UpdatedAt, n.Code); err != nil {
						return fmt.Errorf("update %s: %w", n.Code, err)
					}
				} else if err := insertOrg(ctx, tx, n); err != nil {
					return fmt.Errorf("insert %s: %w", n.Code, err)
				}
				c := audit.Change{Action: "org.import", ObjectType: "org", ObjectID: n.Code, Org: n.Code, After: n}
				if existed {
					c.Before = old
				}
				if _, err := s.audit.Append(ctx, tx, sc, c); err != nil {
					return err
				}
			}
			return bump(ctx, tx)
		})
		if err != nil {
			s.changed()
			return rep, fmt.Errorf("import: batch %d–%d: %w (the %d changes before it are committed; fix and re-run — the import is idempotent)", start+1, end, err, rep.Applied)
		}
		rep.Applied = end
		if opts.Progress != nil {
			opts.Progress(end, len(changes))
		}
	}
	s.changed()
	return rep, nil
}

func sourceOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sameOrg(a, b Org) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Parent == b.Parent && a.Path == b.Path && a.Status == b.Status &&
		a.Region == b.Region && a.ICB == b.ICB && a.Postcode == b.Postcode && a.Opened == b.Opened && a.Closed == b.Closed &&
		a.Population == b.Population && a.Source == b.Source
}

// placeOrphans re-parents organisations whose parent is unknown to the
// nearest known ancestor (ICB, then region, then the root) and returns them.
func placeOrphans(m map[string]Org) []string {
	var out []string
	for code, o := range m {
		if o.Type == National || o.Parent == "" {
			continue
		}
		if _, ok := m[o.Parent]; ok {
			continue
		}
		for _, alt := range []string{o.ICB, o.Region, RootCode} {
			if _, ok := m[alt]; ok && alt != code {
				o.Parent = alt
				break
			}
		}
		m[code] = o
		out = append(out, code)
	}
	sort.Strings(out)
	return out
}

// addMissingRegions creates a region for each region code that
// organisations name but no file defines — in practice "W00", the Welsh
// organisations that appear in the ODS extracts — so they sit in a tree
// node of their own instead of crowding the national root.
func addMissingRegions(m map[string]Org) {
	names := map[string]string{"W00": "WALES (OUTSIDE NHS ENGLAND)"}
	active := map[string]bool{}
	for _, o := range m {
		if o.Status == Active {
			active[o.Region] = true
		}
	}
	for _, o := range m {
		if o.Region == "" || o.Type == Region {
			continue
		}
		if _, ok := m[o.Region]; ok {
			continue
		}
		name, ok := names[o.Region]
		if !ok {
			name = "FORMER REGION " + o.Region
		}
		// A code only closed organisations use is a former region (Y54, Y55, Y57).
		st := Closed
		if active[o.Region] {
			st = Active
		}
		m[o.Region] = Org{Code: o.Region, Name: name, Type: Region, Parent: RootCode, Status: st, Region: o.Region, Source: "vigil"}
	}
}

// ErrCycle means the parent links loop.
var ErrCycle = errors.New("organisation hierarchy has a cycle")

// assignPaths sets every organisation's materialised path from its parent chain.
func assignPaths(m map[string]Org) error {
	done := make(map[string]string, len(m))
	var walk func(code string, depth int) (string, error)
	walk = func(code string, depth int) (string, error) {
		if p, ok := done[code]; ok {
			return p, nil
		}
		if depth > 32 {
			return "", fmt.Errorf("%w at %s", ErrCycle, code)
		}
		o, ok := m[code]
		if !ok {
			return "", fmt.Errorf("unknown organisation %s", code)
		}
		p := "/" + code + "/"
		if o.Parent != "" {
			pp, err := walk(o.Parent, depth+1)
			if err != nil {
				return "", err
			}
			p = pp + code + "/"
		}
		done[code] = p
		o.Path = p
		m[code] = o
		return p, nil
	}
	for code := range m {
		if _, err := walk(code, 0); err != nil {
			return err
		}
	}
	return nil
}
