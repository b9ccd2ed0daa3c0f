package org

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
	File string `json:"file"`
	// SHA256 is the hash of the file's bytes, so the audit entry says
	// exactly which extract was loaded.
	SHA256  string     `json:"sha256"`
	Kind    Kind       `json:"kind"`
	Rows    int        `json:"rows"`
	Records int        `json:"records"`
	Skipped int        `json:"skipped"`
	Errors  []RowError `json:"errors"`
}

// ImportChange is one organisation an import creates or changes.
type ImportChange struct {
	Code string `json:"ods"`
	Name string `json:"name"`
	// Action is created, updated or closed (an update that closes it).
	Action string `json:"action"`
	// Fields are what an update changed, before and after.
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one field of an organisation an import changed.
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// MaxAuditedChanges bounds the changes one import's audit entry lists;
// the entry counts the rest, and the import's own report lists them all.
// Updates come first: what an organisation was before exists nowhere
// else, while a created one is in the table (with the run's time in
// updated_at).
const MaxAuditedChanges = 1000

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
	// Changes lists every organisation created or changed (or, for a dry
	// run, that would be), in path order.
	Changes []ImportChange `json:"changes"`
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
// Names published in capitals are made readable (ReadableName). Bodies
// outside NHS England go under their nation's node (see View), and the
// former regions that closed practices still name are made, closed.
//
// The import does not apply CheckParent: it places organisations where the
// published extracts put them, which is the NHS's own record (an orphan
// waits under its ICB, region or the root until a file names its parent),
// and only national administrators, who may place anything, run it.
//
// One run is one audit entry ("org.import", filed under the caller's
// organisation), not one per organisation: a national import changes
// about 9,000 rows, and an entry for each buried everything else in the
// log. The entry records the files with their SHA-256, the counts, and the
// changes up to MaxAuditedChanges, each update with its fields before and
// after. It is written in the transaction of the first batch, so no change
// is ever committed without it; if a later batch fails, an
// "org.import.incomplete" entry says how far the run got.
func (s *Service) Import(ctx context.Context, sc scope.Scope, paths []string, opts ImportOptions) (ImportReport, error) {
	rep := ImportReport{DryRun: opts.DryRun, Changes: []ImportChange{}}
	if !sc.National(scope.Admin) {
		return rep, fmt.Errorf("%w: only national administrators may import organisations", fault.ErrForbidden)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	var full, pops, names []Record
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return rep, fmt.Errorf("import %s: %w", p, err)
		}
		res, err := ParseODS(filepath.Base(p), bytes.NewReader(b), opts.ParseOptions)
		if err != nil {
			return rep, fmt.Errorf("import %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		rep.Files = append(rep.Files, FileReport{File: p, SHA256: hex.EncodeToString(sum[:]), Kind: res.Summary.Kind, Rows: res.Summary.Rows,
			Records: res.Summary.Records, Skipped: res.Summary.Skipped, Errors: res.Errors})
		rep.RowError += len(res.Errors)
		for _, r := range res.Records {
			r.Org.Name = ReadableName(r.Org.Name)
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
	addMissingAreas(after)
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
	for _, n := range changes {
		c := ImportChange{Code: n.Code, Name: n.Name, Action: "created"}
		if old, existed := before[n.Code]; existed {
			c.Action, c.Fields = "updated", fieldChanges(old, n)
			if n.Status == Closed && old.Status != Closed {
				c.Action = "closed"
			}
		}
		rep.Changes = append(rep.Changes, c)
	}
	if opts.DryRun || len(changes) == 0 {
		return rep, nil
	}
	for start := 0; start < len(changes); start += opts.BatchSize {
		end := min(start+opts.BatchSize, len(changes))
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			if start == 0 {
				if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "org.import", ObjectType: "import", ObjectID: now,
					Org: audit.CallerOrg(sc), After: auditRun(rep)}); err != nil {
					return err
				}
			}
			for _, n := range changes[start:end] {
				if _, existed := before[n.Code]; existed {
					if _, err := tx.ExecContext(ctx, `UPDATE orgs SET name = ?, type = ?, parent = ?, path = ?, status = ?, region = ?, icb = ?, postcode = ?, opened = ?, closed = ?, population = ?, source = ?, search = ?, updated_at = ? WHERE code = ?`,
						n.Name, string(n.Type), n.Parent, n.Path, string(n.Status), n.Region, n.ICB, n.Postcode, n.Opened, n.Closed, n.Population, n.Source, searchText(n.Code, n.Name), n.UpdatedAt, n.Code); err != nil {
						return fmt.Errorf("update %s: %w", n.Code, err)
					}
				} else if err := insertOrg(ctx, tx, n); err != nil {
					return fmt.Errorf("insert %s: %w", n.Code, err)
				}
			}
			return bump(ctx, tx)
		})
		if err != nil {
			if start > 0 {
				// Best effort: the run's entry already says what it meant to
				// do; this says where it stopped.
				if aerr := s.audit.Record(context.WithoutCancel(ctx), sc, audit.Change{Action: "org.import.incomplete", ObjectType: "import", ObjectID: now,
					Org: audit.CallerOrg(sc), After: map[string]any{"applied": rep.Applied, "planned": len(changes), "error": err.Error()}}); aerr != nil {
					s.log.Error("org import: recording the incomplete run", "err", aerr)
				}
			}
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

// importRun is what an import's audit entry records.
type importRun struct {
	Files     []auditedFile  `json:"files"`
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Closed    int            `json:"closed"`
	Orphans   int            `json:"orphans"`
	RowErrors int            `json:"row_errors"`
	Changes   []ImportChange `json:"changes"`
	// ChangesOmitted counts the changes beyond MaxAuditedChanges.
	ChangesOmitted int `json:"changes_omitted,omitempty"`
}

type auditedFile struct {
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Kind    Kind   `json:"kind"`
	Rows    int    `json:"rows"`
	Records int    `json:"records"`
	Skipped int    `json:"skipped"`
	Errors  int    `json:"errors"`
}

// auditRun is the audit entry's record of an import: updates first, then
// creations, at most MaxAuditedChanges.
func auditRun(rep ImportReport) importRun {
	run := importRun{Created: rep.Created, Updated: rep.Updated, Unchanged: rep.Unchanged, Closed: rep.Closed,
		Orphans: len(rep.Orphans), RowErrors: rep.RowError, Changes: []ImportChange{}}
	for _, f := range rep.Files {
		run.Files = append(run.Files, auditedFile{File: f.File, SHA256: f.SHA256, Kind: f.Kind, Rows: f.Rows, Records: f.Records, Skipped: f.Skipped, Errors: len(f.Errors)})
	}
	for _, created := range []bool{false, true} {
		for _, c := range rep.Changes {
			if (c.Action == "created") != created {
				continue
			}
			if len(run.Changes) == MaxAuditedChanges {
				run.ChangesOmitted++
				continue
			}
			run.Changes = append(run.Changes, c)
		}
	}
	return run
}

// fieldChanges lists the fields that differ between a and b (the path
// follows the parent and is left out).
func fieldChanges(a, b Org) []FieldChange {
	var out []FieldChange
	add := func(field, x, y string) {
		if x != y {
			out = append(out, FieldChange{Field: field, Before: x, After: y})
		}
	}
	add("name", a.Name, b.Name)
	add("type", string(a.Type), string(b.Type))
	add("parent", a.Parent, b.Parent)
	add("status", string(a.Status), string(b.Status))
	add("region", a.Region, b.Region)
	add("icb", a.ICB, b.ICB)
	add("postcode", a.Postcode, b.Postcode)
	add("opened", a.Opened, b.Opened)
	add("closed", a.Closed, b.Closed)
	add("population", strconv.FormatInt(a.Population, 10), strconv.FormatInt(b.Population, 10))
	add("source", a.Source, b.Source)
	return out
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

// addMissingAreas makes the nodes that organisations name in their
// region column but no file defines: the nation nodes of the bodies
// outside NHS England (W00 Wales, YAC–YAF the Crown dependencies; see
// View), and the former regions (Y54, Y55, Y57) that closed practices
// still name. A region code that only closed organisations use is a
// former region and is made closed, so it stays out of the active views.
func addMissingAreas(m map[string]Org) {
	active := map[string]bool{}
	for _, o := range m {
		if o.Status == Active {
			active[o.Region] = true
		}
	}
	for _, o := range m {
		if o.Region == "" || o.Type == Region || o.Type == Nation {
			continue
		}
		if x, ok := m[o.Region]; ok && x.Source != "vigil" {
			continue
		}
		code := o.Region
		st := Closed
		if active[code] {
			st = Active
		}
		if name, ok := NationName(code); ok {
			m[code] = Org{Code: code, Name: name, Type: Nation, Parent: RootCode, Status: Active, Region: code, Source: "vigil"}
			continue
		}
		name, ok := formerRegions[code]
		if !ok {
			name = "Former region " + code
		}
		m[code] = Org{Code: code, Name: name, Type: Region, Parent: RootCode, Status: st, Region: code, Source: "vigil"}
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
