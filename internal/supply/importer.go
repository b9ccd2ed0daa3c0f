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

// validate normalises every row, checks it alone, against the other rows,
// the stored register, the organisation tree and the caller's scope, and
// returns the rows to write.
func (s *Service) validate(sc scope.Scope, g *graph, ex *Register, p *parsed) *plan {
	e := p.errs
	pl := &plan{}
	national := registerEditor(sc)

	// Existing rows by key.
	exSup := make(map[string]*Supplier, len(ex.Suppliers))
	for i := range ex.Suppliers {
		exSup[ex.Suppliers[i].ID] = &ex.Suppliers[i]
	}
	exProd := make(map[string]*Product, len(ex.Products))
	for i := range ex.Products {
		exProd[ex.Products[i].ID] = &ex.Products[i]
	}
	orgPath := func(code string) (string, bool) {
		if i, ok := g.orgIdx[code]; ok {
			return g.orgs[i].path, true
		}
		return "", false
	}

	// ownedBefore checks the stored chain only, so a representative cannot
	// take over a supplier by naming their own tenant in the import.
	ownedBefore := func(id string) bool {
		for n := 0; id != "" && n < 64; n++ {
			sp := exSup[id]
			if sp == nil {
				return false
			}
			if path, ok := orgPath(sp.TenantOrg); ok && sp.TenantOrg != "" && sc.CanAt(scope.Write, path) {
				return true
			}
			id = sp.ParentID
		}
		return false
	}
	report := func(pos pos, ps problems) {
		for _, x := range ps {
			e.add(pos, x.field, "%s", x.reason)
		}
	}

	// Suppliers: alone, then duplicates.
	newSup := map[string]row[Supplier]{}
	// refused marks rows whose register fields a representative changed:
	// nothing they name is looked up, so the errors reveal nothing.
	refused := map[pos]bool{}
	for i := range p.suppliers {
		r := &p.suppliers[i]
		v := &r.v
		ps := v.check()
		report(r.pos, ps)
		if !validID(v.ID) {
			continue
		}
		if old := exSup[v.ID]; !national && old != nil && ownedBefore(v.ID) {
			fields, was := registerFieldChanges(*old, *v)
			for k, f := range fields {
				e.add(r.pos, f, "%s", keptByRegister(was[k]))
			}
			refused[r.pos] = len(fields) > 0
		}
		if !refused[r.pos] {
			if v.ODSCode != "" {
				path, ok := orgPath(v.ODSCode)
				changed := exSup[v.ID] == nil || exSup[v.ID].ODSCode != v.ODSCode
				if !ok || (changed && !sc.CanAt(scope.Supply, path)) {
					e.add(r.pos, "ods_code", "organisation %s not found", v.ODSCode)
				}
			}
			if v.TenantOrg != "" {
				if _, ok := orgPath(v.TenantOrg); !ok {
					e.add(r.pos, "tenant_org", "organisation %s not found", v.TenantOrg)
				}
			}
		}
		if first, dup := newSup[v.ID]; dup {
			e.add(r.pos, "supplier_id", "duplicate supplier %s (first at %s:%d)", v.ID, first.file, first.line)
			continue
		}
		newSup[v.ID] = *r
	}
	// ODS codes are unique among suppliers after the import: a code may
	// move from one supplier to another in one import.
	{
		byODS := map[string]string{} // stored codes of suppliers the import leaves alone
		for _, x := range ex.Suppliers {
			if _, replaced := newSup[x.ID]; !replaced && x.ODSCode != "" {
				byODS[x.ODSCode] = x.ID
			}
		}
		claimed := map[string]row[Supplier]{}
		for _, r := range p.suppliers {
			if nr, ok := newSup[r.v.ID]; !ok || nr.pos != r.pos || r.v.ODSCode == "" || refused[r.pos] {
				continue
			}
			switch first, dup := claimed[r.v.ODSCode]; {
			case dup:
				e.add(r.pos, "ods_code", "%s is also the ODS code of supplier %s (%s:%d)", r.v.ODSCode, first.v.ID, first.file, first.line)
			case byODS[r.v.ODSCode] != "":
				e.add(r.pos, "ods_code", "%s is already the ODS code of supplier %s", r.v.ODSCode, byODS[r.v.ODSCode])
			default:
				claimed[r.v.ODSCode] = r
			}
		}
	}
	supOf := func(id string) (Supplier, bool) {
		if r, ok := newSup[id]; ok {
			return r.v, true
		}
		if x := exSup[id]; x != nil {
			return *x, true
		}
		return Supplier{}, false
	}
	// owns reports whether sc holds perm on the tenant of id or a parent.
	owns := func(id string, perm scope.Perm) bool {
		for n := 0; id != "" && n < 64; n++ {
			sp, ok := supOf(id)
			if !ok {
				return false
			}
			if path, ok := orgPath(sp.TenantOrg); ok && sp.TenantOrg != "" && sc.CanAt(perm, path) {
				return true
			}
			id = sp.ParentID
		}
		return false
	}
	// seesSupplier applies the register visibility rule to id.
	seesSupplier := func(id string) bool {
		_, ok := supOf(id)
		return ok && (nhsReader(sc) || owns(id, scope.Read))
	}
	for _, id := range sortedKeys(newSup) {
		r := newSup[id]
		v := r.v
		old := exSup[id]
		if !national {
			// Representatives may change their own suppliers (before and after), never create one.
			if old == nil || !ownedBefore(id) || !owns(id, scope.Write) {
				e.add(r.pos, "supplier_id", "supplier %s not found", id)
				continue
			}
		}
		if v.ParentID != "" && !refused[r.pos] {
			if _, ok := supOf(v.ParentID); !ok {
				e.add(r.pos, "parent_supplier_id", "supplier %s not found", v.ParentID)
			} else {
				// Follow parents: a cycle comes back to v.
				cur, n := v.ParentID, 0
				for cur != "" && n < 64 {
					if cur == v.ID {
						e.add(r.pos, "parent_supplier_id", "group parents form a cycle through %s", v.ParentID)
						break
					}
					sp, _ := supOf(cur)
					cur, n = sp.ParentID, n+1
				}
			}
		}
	}

	// Products.
	newProd := map[string]row[Product]{}
	for i := range p.products {
		r := &p.products[i]
		v := &r.v
		report(r.pos, v.check())
		if !validID(v.ID) {
			continue
		}
		if _, ok := supOf(v.SupplierID); !ok || (!national && !owns(v.SupplierID, scope.Write)) {
			e.add(r.pos, "supplier_id", "supplier %s not found", v.SupplierID)
		} else if old := exProd[v.ID]; old != nil && !national && !ownedBefore(old.SupplierID) {
			e.add(r.pos, "product_id", "product %s not found", v.ID)
		}
		if first, dup := newProd[v.ID]; dup {
			e.add(r.pos, "product_id", "duplicate product %s (first at %s:%d)", v.ID, first.file, first.line)
			continue
		}
		newProd[v.ID] = *r
	}
	prodOf := func(id string) (Product, bool) {
		if r, ok := newProd[id]; ok {
			return r.v, true
		}
		if x := exProd[id]; x != nil {
			return *x, true
		}
		return Product{}, false
	}
	editableProd := func(id string) bool {
		pr, ok := prodOf(id)
		return ok && (national || owns(pr.SupplierID, scope.Write))
	}

	// Dependencies.
	newDep := map[dkey]row[Dependency]{}
	for i := range p.dependencies {
		r := &p.dependencies[i]
		v := &r.v
		ps := v.check()
		if !editableProd(v.ProductID) {
			ps.add("product_id", "product %s not found", v.ProductID)
		}
		if _, ok := prodOf(v.DependsOnID); !ok {
			ps.add("depends_on_product_id", "product %s not found", v.DependsOnID)
		}
		// In the order the columns are read: kind, then the products.
		report(r.pos, ps)
		if v.ProductID == v.DependsOnID {
			continue
		}
		key := dkey{v.ProductID, v.DependsOnID}
		if first, dup := newDep[key]; dup {
			e.add(r.pos, "depends_on_product_id", "duplicate dependency %s -> %s (first at %s:%d)", v.ProductID, v.DependsOnID, first.file, first.line)
			continue
		}
		newDep[key] = *r
	}

	// Deployments.
	type depKey struct{ o, p, s string }
	newDepl := map[depKey]row[Deployment]{}
	for i := range p.deployments {
		r := &p.deployments[i]
		v := &r.v
		report(r.pos, v.check())
		path, ok := orgPath(v.OrgODS)
		if !ok || !(sc.CanAt(scope.Write, path) || sc.CanAt(scope.Supply, path)) {
			e.add(r.pos, "org_ods", "organisation %s not found", v.OrgODS)
		}
		if pr, ok := prodOf(v.ProductID); !ok || (!nhsReader(sc) && !owns(pr.SupplierID, scope.Read)) {
			e.add(r.pos, "product_id", "product %s not found", v.ProductID)
		}
		key := depKey{v.OrgODS, v.ProductID, v.Service}
		if first, dup := newDepl[key]; dup {
			e.add(r.pos, "service", "duplicate deployment of %s by %s for %s (first at %s:%d)", v.ProductID, v.OrgODS, v.Service, first.file, first.line)
			continue
		}
		newDepl[key] = *r
	}

	// Vulnerabilities.
	type vkey struct{ p, c string }
	newVuln := map[vkey]row[Vuln]{}
	for i := range p.vulns {
		r := &p.vulns[i]
		v := &r.v
		ps := v.check()
		report(r.pos, ps)
		if len(ps) > 0 {
			continue
		}
		if !editableProd(v.ProductID) {
			e.add(r.pos, "product_id", "product %s not found", v.ProductID)
		}
		key := vkey{v.ProductID, v.CVE}
		if first, dup := newVuln[key]; dup {
			if first.v.Component != v.Component && v.Component != "" {
				e.add(r.pos, "cve", "duplicate %s for %s (first at %s:%d)", v.CVE, v.ProductID, first.file, first.line)
			}
			continue
		}
		newVuln[key] = *r
	}

	// Contracts.
	newCon := map[string]row[Contract]{}
	exCon := map[string]*Contract{}
	for i := range ex.Contracts {
		exCon[ex.Contracts[i].ID] = &ex.Contracts[i]
	}
	for i := range p.contracts {
		r := &p.contracts[i]
		v := &r.v
		report(r.pos, v.check())
		if !validID(v.ID) {
			continue
		}
		canOrg := func(code string) bool {
			path, ok := orgPath(code)
			return ok && (sc.CanAt(scope.Write, path) || sc.CanAt(scope.Supply, path))
		}
		if !canOrg(v.OrgODS) {
			e.add(r.pos, "org_ods", "organisation %s not found", v.OrgODS)
		} else if old := exCon[v.ID]; old != nil && !canOrg(old.OrgODS) {
			e.add(r.pos, "contract_id", "contract %s not found", v.ID)
		}
		// The supplier and product must be ones the caller may see, as
		// PutContract requires: existence is not an answer to give away.
		if !seesSupplier(v.SupplierID) {
			e.add(r.pos, "supplier_id", "supplier %s not found", v.SupplierID)
		}
		if v.ProductID != "" {
			if pr, ok := prodOf(v.ProductID); !ok || !seesSupplier(pr.SupplierID) {
				e.add(r.pos, "product_id", "product %s not found", v.ProductID)
			}
		}
		if first, dup := newCon[v.ID]; dup {
			e.add(r.pos, "contract_id", "duplicate contract %s (first at %s:%d)", v.ID, first.file, first.line)
			continue
		}
		newCon[v.ID] = *r
	}

	// Dependency cycles (warnings: real estates have them; queries cope).
	cycleWarnings(ex, newDep, e)

	// What changes.
	{
		c := TableCounts{Table: TableSuppliers}
		for _, id := range sortedKeys(newSup) {
			v := newSup[id].v
			if !diffRow(&c, &v, exSup[id]) {
				continue
			}
			pl.suppliers = append(pl.suppliers, v)
		}
		pl.counts = append(pl.counts, c)
	}
	{
		c := TableCounts{Table: TableProducts}
		for _, id := range sortedKeys(newProd) {
			v := newProd[id].v
			if !diffRow(&c, &v, exProd[id]) {
				continue
			}
			pl.products = append(pl.products, v)
		}
		pl.counts = append(pl.counts, c)
	}
	{
		exD := make(map[dkey]*Dependency, len(ex.Dependencies))
		for i := range ex.Dependencies {
			d := &ex.Dependencies[i]
			exD[dkey{d.ProductID, d.DependsOnID}] = d
		}
		c := TableCounts{Table: TableDependencies}
		for _, r := range p.dependencies {
			k := dkey{r.v.ProductID, r.v.DependsOnID}
			if nr, ok := newDep[k]; !ok || nr.pos != r.pos {
				continue
			}
			v := r.v
			if !diffRow(&c, &v, exD[k]) {
				continue
			}
			pl.dependencies = append(pl.dependencies, v)
		}
		pl.counts = append(pl.counts, c)
	}
	{
		exD := make(map[depKey]*Deployment, len(ex.Deployments))
		for i := range ex.Deployments {
			d := &ex.Deployments[i]
			exD[depKey{d.OrgODS, d.ProductID, d.Service}] = d
		}
		c := TableCounts{Table: TableDeployments}
		for _, r := range p.deployments {
			k := depKey{r.v.OrgODS, r.v.ProductID, r.v.Service}
			if nr, ok := newDepl[k]; !ok || nr.pos != r.pos {
				continue
			}
			v := r.v
			if !diffRow(&c, &v, exD[k]) {
				continue
			}
			pl.deployments = append(pl.deployments, v)
		}
		pl.counts = append(pl.counts, c)
	}
	{
		exV := make(map[vkey]*Vuln, len(ex.Vulns))
		for i := range ex.Vulns {
			exV[vkey{ex.Vulns[i].ProductID, ex.Vulns[i].CVE}] = &ex.Vulns[i]
		}
		c := TableCounts{Table: TableVulns}
		for _, r := range p.vulns {
			k := vkey{r.v.ProductID, r.v.CVE}
			if nr, ok := newVuln[k]; !ok || nr.pos != r.pos {
				continue
			}
			v := r.v
			if !diffRow(&c, &v, exV[k]) {
				continue
			}
			pl.vulns = append(pl.vulns, v)
		}
		pl.counts = append(pl.counts, c)
	}
	{
		c := TableCounts{Table: TableContracts}
		for _, id := range sortedKeys(newCon) {
			v := newCon[id].v
			if !diffRow(&c, &v, exCon[id]) {
				continue
			}
			pl.contracts = append(pl.contracts, v)
		}
		pl.counts = append(pl.counts, c)
	}
	return pl
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

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
