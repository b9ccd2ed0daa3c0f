package supply

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/jsonstream"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Export returns the register as the caller may see it: suppliers,
// products, dependencies and vulnerabilities per the register rule,
// deployments and contracts of readable organisations. The export is
// audited. For the national register (66 MB of JSON) prefer OpenExport,
// which writes it without building the document.
func (s *Service) Export(ctx context.Context, sc scope.Scope) (*Register, error) {
	ex, err := s.OpenExport(ctx, sc)
	if err != nil {
		return nil, err
	}
	defer ex.Close()
	return ex.Register(), nil
}

// ExportStream is the register as one caller may see it, read from the
// store and recorded in the audit log when opened, and written one row at
// a time. It holds the rows read (an estimated 80 MB for the national
// register) but never the document: built whole and encoded whole, an
// export of the national register held its rows twice and 66 MB of JSON,
// and twenty at once took a server to 4.7 GB (docs/performance.md). It holds one of the service's export
// slots (Options.MaxConcurrentExports) until Close.
type ExportStream struct {
	s   *Service
	reg *Register
}

// OpenExport reads the register as sc may see it and audits the export,
// waiting for a free export slot while ctx allows. The caller must Close
// the stream.
func (s *Service) OpenExport(ctx context.Context, sc scope.Scope) (*ExportStream, error) {
	g, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if err := take(ctx, s.exportSlots, "export"); err != nil {
		return nil, err
	}
	ex := &ExportStream{s: s}
	if ex.reg, err = s.export(ctx, g, sc); err != nil {
		ex.Close()
		return nil, err
	}
	return ex, nil
}

// export reads the register and keeps, in place, what sc may see.
func (s *Service) export(ctx context.Context, g *graph, sc scope.Scope) (*Register, error) {
	out, err := readRegister(ctx, s.db.Q(), true)
	if err != nil {
		return nil, err
	}
	out.GeneratedAt = s.stamp()
	v := g.viewFor(sc)
	supOK := func(id string) bool { i, ok := g.supIdx[id]; return ok && v.supplierVisible(i) }
	prodOK := func(id string) bool { i, ok := g.prodIdx[id]; return ok && v.productVisible(g, i) }
	orgOK := func(code string) bool { i, ok := g.orgIdx[code]; return ok && sc.CanAt(scope.Read, g.orgs[i].path) }
	out.Suppliers = keep(out.Suppliers, func(x Supplier) bool { return v.all || supOK(x.ID) })
	out.Products = keep(out.Products, func(x Product) bool { return v.all || prodOK(x.ID) })
	out.Dependencies = keep(out.Dependencies, func(x Dependency) bool { return v.all || prodOK(x.ProductID) })
	out.Vulns = keep(out.Vulns, func(x Vuln) bool { return v.all || prodOK(x.ProductID) })
	out.Deployments = keep(out.Deployments, func(x Deployment) bool { return orgOK(x.OrgODS) && (v.all || prodOK(x.ProductID)) })
	out.Contracts = keep(out.Contracts, func(x Contract) bool { return orgOK(x.OrgODS) })
	err = s.audit.Record(ctx, sc, audit.Change{Action: "export", ObjectType: "supply_register", ObjectID: out.GeneratedAt, Org: audit.CallerOrg(sc),
		After: map[string]int{"suppliers": len(out.Suppliers), "products": len(out.Products), "dependencies": len(out.Dependencies),
			"deployments": len(out.Deployments), "vulns": len(out.Vulns), "contracts": len(out.Contracts)}})
	if errors.Is(err, store.ErrReadOnly) {
		// A database opened read-only (a forensic copy, by the operator on
		// the machine, who can read its files anyway) cannot take the
		// entry; the export goes ahead and the caller says so.
		s.log.Warn("export from a read-only database is not recorded in the audit log", "actor", sc.Email)
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// keep filters xs in place (never nil, so an empty table is [] in JSON).
func keep[T any](xs []T, ok func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	clear(xs[len(out):]) // drop what was filtered out, for the collector
	if out == nil {
		out = []T{}
	}
	return out
}

// Register is the export as one value (the stream's rows; do not keep it
// past Close if memory matters).
func (ex *ExportStream) Register() *Register { return ex.reg }

// WriteJSON writes the export as the Register JSON document, one row at a
// time; see WriteJSON.
func (ex *ExportStream) WriteJSON(w io.Writer, indent string) error {
	return writeRegister(w, ex.reg, indent)
}

// Close gives the export slot back. It is safe to call twice.
func (ex *ExportStream) Close() {
	if ex.s != nil {
		<-ex.s.exportSlots
		ex.s, ex.reg = nil, nil
	}
}

// WriteJSON writes r as one indented JSON document (ImportFile *.json reads
// it back), one row at a time, without HTML escaping.
func WriteJSON(w io.Writer, r *Register) error { return writeRegister(w, r, "  ") }

// writeRegister writes r in the bytes encoding/json gives the whole
// document (compact when indent is empty), a row at a time.
func writeRegister(w io.Writer, r *Register, indent string) error {
	return jsonstream.Encode(w, r, indent)
}

// CSVFiles lists the files WriteCSV writes, in import order.
var CSVFiles = []string{"suppliers.csv", "products.csv", "dependencies.csv", "deployments.csv", "product_vulns.csv", "contracts.csv"}

// WriteCSV writes r in the CSV layout Import reads, one file per table,
// each opened through create (the caller closes nothing: create's writers
// are closed by WriteCSV when they implement io.Closer). Cells that a
// spreadsheet would run as formulas are neutralised (CSVCell); Import
// reverses that, so the files round-trip.
func WriteCSV(r *Register, create func(name string) (io.Writer, error)) error {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	write := func(name string, header []string, n int, rec func(i int) []string) error {
		w, err := create(name)
		if err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		cw.Write(header)
		for i := 0; i < n; i++ {
			cw.Write(CSVRow(rec(i)...))
		}
		cw.Flush()
		err = cw.Error()
		if c, ok := w.(io.Closer); ok {
			if cerr := c.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		return nil
	}
	colNames := func(t string) []string {
		var h []string
		for _, c := range csvColumns[t] {
			if c.name != "cves" {
				h = append(h, c.name)
			}
		}
		return h
	}
	if err := write("suppliers.csv", colNames(TableSuppliers), len(r.Suppliers), func(i int) []string {
		x := r.Suppliers[i]
		return []string{x.ID, x.Name, x.CompaniesHouseNumber, x.ParentID, x.Country, x.ODSCode, x.DUNS, x.TenantOrg, yn(x.DesignatedCritical), x.Contacts}
	}); err != nil {
		return err
	}
	if err := write("products.csv", colNames(TableProducts), len(r.Products), func(i int) []string {
		x := r.Products[i]
		return []string{x.ID, x.SupplierID, x.Name, string(x.Kind), x.Version, string(x.Data)}
	}); err != nil {
		return err
	}
	if err := write("dependencies.csv", colNames(TableDependencies), len(r.Dependencies), func(i int) []string {
		x := r.Dependencies[i]
		return []string{x.ProductID, x.DependsOnID, string(x.Kind), yn(x.Critical)}
	}); err != nil {
		return err
	}
	if err := write("deployments.csv", colNames(TableDeployments), len(r.Deployments), func(i int) []string {
		x := r.Deployments[i]
		return []string{x.OrgODS, x.ProductID, x.Service, string(x.Criticality), yn(x.HasFallback)}
	}); err != nil {
		return err
	}
	if err := write("product_vulns.csv", colNames(TableVulns), len(r.Vulns), func(i int) []string {
		x := r.Vulns[i]
		return []string{x.ProductID, x.CVE, x.Component}
	}); err != nil {
		return err
	}
	return write("contracts.csv", colNames(TableContracts), len(r.Contracts), func(i int) []string {
		x := r.Contracts[i]
		val := ""
		if x.ValueGBP != 0 {
			val = strconv.FormatFloat(x.ValueGBP, 'f', -1, 64)
		}
		return []string{x.ID, x.OrgODS, x.SupplierID, x.ProductID, x.StartDate, x.EndDate, val, x.DataProcessed, x.ExitPlan, string(x.Substitutability)}
	})
}

// CSVCell neutralises a spreadsheet formula (OWASP "CSV injection"): a
// cell that a spreadsheet would evaluate — one starting with = + - @, tab
// or carriage return — is written with a leading apostrophe, which
// spreadsheets show as text. A cell that is such a cell's form already
// (apostrophes, then a formula character) gets one more apostrophe, so
// Import, which removes exactly one from such cells, gives back what was
// stored: '=x is exported as ”=x and read back as '=x.
func CSVCell(v string) string {
	if formulaCell(v) {
		return "'" + v
	}
	return v
}

// CSVRow applies CSVCell to every cell, in place.
func CSVRow(cells ...string) []string {
	for i, c := range cells {
		cells[i] = CSVCell(c)
	}
	return cells
}

// uncell undoes CSVCell on a cell read by Import.
func uncell(v string) string {
	if strings.HasPrefix(v, "'") && formulaCell(v[1:]) {
		return v[1:]
	}
	return v
}

// formulaCell reports whether v is apostrophes followed by a character
// that starts a spreadsheet formula.
func formulaCell(v string) bool {
	v = strings.TrimLeft(v, "'")
	return v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0]))
}

// WriteImpactCSV writes the organisations of an impact result as CSV, one
// row each, formulas neutralised (the web download and the CLI's
// --format csv).
func WriteImpactCSV(w io.Writer, res ImpactResult) error {
	return writeAffectedCSV(w, func(yield func(*AffectedOrg) bool) {
		for i := range res.Affected {
			if !yield(&res.Affected[i]) {
				return
			}
		}
	})
}

// WriteCSV writes the stream's affected organisations as CSV, one at a
// time, formulas neutralised: the same bytes as WriteImpactCSV of the
// whole result.
func (st *ImpactStream) WriteCSV(w io.Writer) error { return writeAffectedCSV(w, st.Affected()) }

func writeAffectedCSV(w io.Writer, rows iter.Seq[*AffectedOrg]) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"ods", "name", "type", "icb", "icb_name", "region", "region_name", "population", "services", "impact", "paths"}); err != nil {
		return err
	}
	for a := range rows {
		if err := cw.Write(CSVRow(a.ODS, a.Name, a.Type, a.ICB, a.ICBName, a.Region, a.RegionName, strconv.FormatInt(a.Population, 10),
			strings.Join(a.Services, ";"), string(a.Impact), joinPaths(a.Paths))); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteDependsCSV writes the products an organisation depends on as CSV,
// formulas neutralised.
func WriteDependsCSV(w io.Writer, res DependsResult) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"product_id", "name", "kind", "supplier_id", "supplier_name", "group_id", "depth", "services", "critical", "paths"}); err != nil {
		return err
	}
	for _, p := range res.Products {
		if err := cw.Write(CSVRow(p.ID, p.Name, p.Kind, p.SupplierID, p.SupplierName, p.GroupID, strconv.Itoa(p.Depth), strings.Join(p.Services, ";"),
			strconv.FormatBool(p.Critical), joinPaths(p.Paths))); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// joinPaths writes paths as "a > b > c | d > e".
func joinPaths(ps [][]string) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.Join(p, " > ")
	}
	return strings.Join(out, " | ")
}

// WriteCSVDir writes r's CSV files into dir.
func WriteCSVDir(r *Register, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return WriteCSV(r, func(name string) (io.Writer, error) { return os.Create(filepath.Join(dir, name)) })
}
