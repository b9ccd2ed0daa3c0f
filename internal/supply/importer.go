package supply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// DryRun validates everything and reports what would change, writing nothing.
	DryRun bool
	// MaxErrors caps the errors listed (default 1,000; all are counted).
	MaxErrors int
}

// ImportReport is the outcome of an import or a dry run.
type ImportReport struct {
	DryRun bool `json:"dry_run"`
	// Applied is true when the changes were written (never on a dry run or
	// when any row had an error: an import applies everything or nothing).
	Applied bool          `json:"applied"`
	Message string        `json:"message"`
	Files   []FileReport  `json:"files"`
	Tables  []TableCounts `json:"tables"`
	// ErrorCount counts every error; Errors lists at most MaxErrors.
	ErrorCount      int        `json:"error_count"`
	Errors          []RowError `json:"errors"`
	ErrorsTruncated bool       `json:"errors_truncated,omitempty"`
	// Warnings do not stop an import (e.g. dependency cycles).
	Warnings []RowError `json:"warnings"`
}

// TableCounts says what an import does to one table.
type TableCounts struct {
	Table     string `json:"table"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ReadImportPaths reads files and directories (every *.csv and *.json in a
// directory, not recursively) into ImportFiles named by their paths.
func ReadImportPaths(paths []string) ([]ImportFile, error) {
	var out []ImportFile
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		names := []string{p}
		if st.IsDir() {
			names = nil
			ents, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			for _, e := range ents {
				n := strings.ToLower(e.Name())
				if !e.IsDir() && (strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".json")) {
					names = append(names, filepath.Join(p, e.Name()))
				}
			}
			sort.Strings(names)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				return nil, err
			}
			out = append(out, ImportFile{Name: n, Data: b})
		}
	}
	return out, nil
}

// Import validates files against each other, the stored register and the
// organisation tree, then (unless DryRun) writes every created or changed
// row in one transaction with one audit entry. Any error in any row means
// nothing is written; the report lists each error with file, line and
// column. Rows the caller may not change are reported as not found. The
// import adds and updates; it never deletes.
func (s *Service) Import(ctx context.Context, sc scope.Scope, files []ImportFile, o ImportOptions) (rep ImportReport, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("supply: import: internal error: %v", r)
		}
	}()
	if o.MaxErrors <= 0 {
		o.MaxErrors = 1000
	}
	p := &parsed{errs: &errList{max: o.MaxErrors}}
	for _, f := range files {
		p.parseFile(f)
	}
	g, err := s.current(ctx)
	if err != nil {
		return ImportReport{}, err
	}
	existing, err := readRegister(ctx, s.db.Q(), true)
	if err != nil {
		return ImportReport{}, err
	}
	plan := s.validate(sc, g, existing, p)
	// Report errors in input order: by file as given, then line.
	fileIdx := map[string]int{}
	for i, f := range files {
		if _, ok := fileIdx[f.Name]; !ok {
			fileIdx[f.Name] = i
		}
	}
	for _, l := range [][]RowError{p.errs.errs, p.errs.warns} {
		sort.SliceStable(l, func(i, j int) bool {
			a, b := l[i], l[j]
			if fileIdx[a.File] != fileIdx[b.File] {
				return fileIdx[a.File] < fileIdx[b.File]
			}
			return a.Line < b.Line
		})
	}
	rep = ImportReport{DryRun: o.DryRun, Files: p.files, Tables: plan.counts, ErrorCount: p.errs.count, Errors: p.errs.errs,
		ErrorsTruncated: p.errs.truncated, Warnings: p.errs.warns}
	if rep.Errors == nil {
		rep.Errors = []RowError{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []RowError{}
	}
	// Per-file error counts include cross-file errors found by validate.
	for i := range rep.Files {
		rep.Files[i].Errors = 0
	}
	for _, e := range rep.Errors {
		for i := range rep.Files {
			if rep.Files[i].File == e.File {
				rep.Files[i].Errors++
			}
		}
	}
	switch {
	case p.errs.count > 0:
		rep.Message = fmt.Sprintf("%d errors: nothing was applied; fix them and import again", p.errs.count)
		return rep, nil
	case o.DryRun:
		rep.Message = "dry run: valid; nothing was written"
		return rep, nil
	case plan.empty():
		rep.Message = "nothing to change"
		return rep, nil
	}
	stamp := s.stamp()
	summary := map[string]any{"files": rep.Files, "tables": rep.Tables}
	err = s.change(ctx, sc, audit.Change{Action: "supply.import", ObjectType: "import", ObjectID: stamp, Org: audit.CallerOrg(sc), After: summary}, func(tx *store.Tx) error {
		for i := range plan.suppliers {
			plan.suppliers[i].UpdatedAt = stamp
		}
		for i := range plan.products {
			plan.products[i].UpdatedAt = stamp
		}
		for i := range plan.dependencies {
			plan.dependencies[i].UpdatedAt = stamp
		}
		for i := range plan.deployments {
			plan.deployments[i].UpdatedAt = stamp
		}
		for i := range plan.vulns {
			plan.vulns[i].UpdatedAt = stamp
		}
		for i := range plan.contracts {
			plan.contracts[i].UpdatedAt = stamp
		}
		if err := clearMovedODSCodes(ctx, tx, existing, plan.suppliers); err != nil {
			return err
		}
		if err := upsertSuppliers(ctx, tx, plan.suppliers); err != nil {
			return err
		}
		if err := upsertProducts(ctx, tx, plan.products); err != nil {
			return err
		}
		if err := upsertDependencies(ctx, tx, plan.dependencies); err != nil {
			return err
		}
		if err := upsertDeployments(ctx, tx, plan.deployments); err != nil {
			return err
		}
		if err := upsertVulns(ctx, tx, plan.vulns); err != nil {
			return err
		}
		return upsertContracts(ctx, tx, plan.contracts)
	})
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	rep.Message = "applied"
	return rep, nil
}

// clearMovedODSCodes clears the stored ods_code of every supplier whose
// code the import changes, before the suppliers are written: the unique
// index is checked row by row, so a code moving from one supplier to
// another would otherwise collide with itself half-way through.
func clearMovedODSCodes(ctx context.Context, tx *store.Tx, ex *Register, rows []Supplier) error {
	stored := make(map[string]string, len(ex.Suppliers))
	for _, x := range ex.Suppliers {
		if x.ODSCode != "" {
			stored[x.ID] = x.ODSCode
		}
	}
	for _, r := range rows {
		if code := stored[r.ID]; code != "" && code != r.ODSCode {
			if _, err := tx.ExecContext(ctx, `UPDATE supply_suppliers SET ods_code = '' WHERE supplier_id = ?`, r.ID); err != nil {
				return fmt.Errorf("supply: clear ods_code of %s: %w", r.ID, err)
			}
		}
	}
	return nil
}

// plan is the rows to write (created or changed) and the counts.
type plan struct {
	suppliers    []Supplier
	products     []Product
	dependencies []Dependency
	deployments  []Deployment
	vulns        []Vuln
	contracts    []Contract
	counts       []TableCounts
}

func (p *plan) empty() bool {
	return len(p.suppliers)+len(p.products)+len(p.dependencies)+len(p.deployments)+len(p.vulns)+len(p.contracts) == 0
}

// cycleWarnings reports each dependency cycle of the merged graph once, at
// the imported row that closes it (or at no row when the cycle is wholly stored).
func cycleWarnings(ex *Register, newDep map[dkey]row[Dependency], e *errList) {
	idx := map[string]int32{}
	var ids []string
	id := func(s string) int32 {
		if i, ok := idx[s]; ok {
			return i
		}
		idx[s] = int32(len(ids))
		ids = append(ids, s)
		return idx[s]
	}
	type pair struct{ a, b int32 }
	var pairs []pair
	for _, d := range ex.Dependencies {
		if _, replaced := newDep[dkey{d.ProductID, d.DependsOnID}]; !replaced {
			pairs = append(pairs, pair{id(d.ProductID), id(d.DependsOnID)})
		}
	}
	for k := range newDep {
		pairs = append(pairs, pair{id(k.a), id(k.b)})
	}
	if len(newDep) == 0 {
		return
	}
	g := &graph{prod: make([]prodNode, len(ids))}
	for i, s := range ids {
		g.prod[i].id = s
	}
	g.fwdOff, g.fwd = csrEdges(len(ids), len(pairs), func(emit func(int32, edge)) {
		for _, p := range pairs {
			emit(p.a, edge{to: p.b})
		}
	})
	for _, cyc := range g.findCycles(e.max) {
		in := map[string]bool{}
		for _, c := range cyc {
			in[c] = true
		}
		var at *row[Dependency]
		for k, r := range newDep {
			if in[k.a] && in[k.b] && (at == nil || r.file < at.file || (r.file == at.file && r.line < at.line)) {
				r := r
				at = &r
			}
		}
		if at == nil {
			continue // wholly stored already; Stats reports it
		}
		e.warn(at.pos, "depends_on_product_id", "dependency cycle among %s (allowed: impact walks visit each product once)", strings.Join(cyc, ", "))
	}
}

type dkey struct{ a, b string }

// stamped is a register row with an update time, which a comparison of
// old and new rows ignores.
type stamped interface {
	Supplier | Product | Dependency | Deployment | Vuln | Contract
}

// diffRow counts v against old (nil when v is new) in c and reports
// whether v must be written. It gives v old's update time first, so a row
// that differs only in that counts as unchanged.
func diffRow[T stamped](c *TableCounts, v *T, old *T) bool {
	if old == nil {
		c.Created++
		return true
	}
	setStamp(v, old)
	if *v == *old {
		c.Unchanged++
		return false
	}
	c.Updated++
	return true
}

func setStamp[T stamped](v, old *T) {
	switch x := any(v).(type) {
	case *Supplier:
		x.UpdatedAt = any(old).(*Supplier).UpdatedAt
	case *Product:
		x.UpdatedAt = any(old).(*Product).UpdatedAt
	case *Dependency:
		x.UpdatedAt = any(old).(*Dependency).UpdatedAt
	case *Deployment:
		x.UpdatedAt = any(old).(*Deployment).UpdatedAt
	case *Vuln:
		x.UpdatedAt = any(old).(*Vuln).UpdatedAt
	case *Contract:
		x.UpdatedAt = any(old).(*Contract).UpdatedAt
	}
}
