package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// maxUpload caps an import upload (the router's body limit, 64 MiB by
// default, usually applies first). The national-scale synthetic register
// (≈300,000 deployments and the rest) is about 20 MB of CSV.
const maxUpload = 256 << 20

// registerSupply adds the supplier register, graph and risk routes
// (issue 8). Handlers only decode and call the supply service with the
// caller's Scope, which decides what they may see and change.
func (a *API) registerSupply(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"Supplier":            reflect.TypeFor[supply.Supplier](),
		"SupplierPage":        reflect.TypeFor[Page[supply.Supplier]](),
		"Product":             reflect.TypeFor[supply.Product](),
		"ProductPage":         reflect.TypeFor[Page[supply.Product]](),
		"Deployment":          reflect.TypeFor[supply.Deployment](),
		"DeploymentPage":      reflect.TypeFor[Page[supply.Deployment]](),
		"Dependency":          reflect.TypeFor[supply.Dependency](),
		"DependencyPage":      reflect.TypeFor[Page[supply.Dependency]](),
		"ImportReport":        reflect.TypeFor[supply.ImportReport](),
		"Register":            reflect.TypeFor[supply.Register](),
		"ImpactResult":        reflect.TypeFor[supply.ImpactResult](),
		"DependsResult":       reflect.TypeFor[supply.DependsResult](),
		"ConcentrationResult": reflect.TypeFor[supply.ConcentrationResult](),
		"ConcentrationReport": reflect.TypeFor[supply.ConcentrationReport](),
		"SystemicResult":      reflect.TypeFor[supply.SystemicResult](),
		"SupplyGraph":         reflect.TypeFor[supply.Graph](),
		"Snapshot":            reflect.TypeFor[supply.Snapshot](),
		"Contract":            reflect.TypeFor[supply.Contract](),
		"ContractPage":        reflect.TypeFor[Page[supply.Contract]](),
		"Trend":               reflect.TypeFor[[]supply.TrendPoint](),
	} {
		a.AddSchema(name, t)
	}
	idParam := func(name string) []param { return []param{{Name: name, In: "path", Type: "string", Required: true}} }

	a.route(rt, spec{Method: "GET", Path: "/supply/suppliers", Tag: "supply", Summary: "Suppliers you may see, by ID",
		Params: pageParams, Response: "SupplierPage"}, a.listSuppliers)
	a.route(rt, spec{Method: "GET", Path: "/supply/suppliers/{id}", Tag: "supply", Summary: "One supplier",
		Params: idParam("id"), Response: "Supplier"}, a.getSupplier)
	a.route(rt, spec{Method: "PUT", Path: "/supply/suppliers/{id}", Tag: "supply", Summary: "Create or replace a supplier (supply-chain managers; a supplier's representatives for their own)",
		Params: idParam("id"), Body: "Supplier", Response: "Supplier"}, a.putSupplier)

	a.route(rt, spec{Method: "GET", Path: "/supply/products", Tag: "supply", Summary: "Products you may see, by ID",
		Params: append([]param{{Name: "supplier", In: "query", Type: "string", Desc: "only this supplier's products"}}, pageParams...), Response: "ProductPage"}, a.listProducts)
	a.route(rt, spec{Method: "GET", Path: "/supply/products/{id}", Tag: "supply", Summary: "One product",
		Params: idParam("id"), Response: "Product"}, a.getProduct)
	a.route(rt, spec{Method: "PUT", Path: "/supply/products/{id}", Tag: "supply", Summary: "Create or replace a product of a supplier you may change",
		Params: idParam("id"), Body: "Product", Response: "Product"}, a.putProduct)
	a.route(rt, spec{Method: "DELETE", Path: "/supply/products/{id}", Tag: "supply", Summary: "Delete a product you may change, with its own dependencies and CVEs (refused with 409 while organisations deploy it or products depend on it)",
		Params: idParam("id"), Status: 204}, a.deleteProduct)

	a.route(rt, spec{Method: "GET", Path: "/supply/deployments", Tag: "supply", Summary: "Deployments of organisations you may read",
		Params: []param{{Name: "org", In: "query", Type: "string", Desc: "ODS code"}, {Name: "product", In: "query", Type: "string"},
			{Name: "service", In: "query", Type: "string"}, {Name: "limit", In: "query", Type: "integer", Desc: "at most 10,000 (the default)"}},
		Response: "DeploymentPage"}, a.listDeployments)
	a.route(rt, spec{Method: "PUT", Path: "/supply/deployments", Tag: "supply", Summary: "Record that an organisation you may change uses a product for a service",
		Body: "Deployment", Response: "Deployment"}, a.putDeployment)
	a.route(rt, spec{Method: "DELETE", Path: "/supply/deployments", Tag: "supply", Summary: "Remove a deployment",
		Params: []param{{Name: "org", In: "query", Type: "string", Required: true}, {Name: "product", In: "query", Type: "string", Required: true},
			{Name: "service", In: "query", Type: "string", Required: true}}, Status: 204}, a.deleteDeployment)

	a.route(rt, spec{Method: "GET", Path: "/supply/dependencies", Tag: "supply", Summary: "What a product depends on",
		Params: []param{{Name: "product", In: "query", Type: "string", Required: true}}, Response: "DependencyPage"}, a.listDependencies)
	a.route(rt, spec{Method: "PUT", Path: "/supply/dependencies", Tag: "supply", Summary: "Record that a product you may change depends on another",
		Body: "Dependency", Response: "Dependency"}, a.putDependency)
	a.route(rt, spec{Method: "DELETE", Path: "/supply/dependencies", Tag: "supply", Summary: "Remove a dependency",
		Params: []param{{Name: "product", In: "query", Type: "string", Required: true}, {Name: "depends_on", In: "query", Type: "string", Required: true}},
		Status: 204}, a.deleteDependency)

	a.route(rt, spec{Method: "POST", Path: "/supply/import", Tag: "supply",
		Summary: "Import CSV files (multipart/form-data, one part per file, named by its filename) or one JSON register document; all rows or none. Row errors are a validation problem whose errors name file:line:column",
		Params:  []param{{Name: "dry_run", In: "query", Type: "boolean", Desc: "check and report what would change; write nothing"}},
		Body:    "Register", Upload: true, Response: "ImportReport"}, a.importSupply)
	a.route(rt, spec{Method: "GET", Path: "/supply/export", Tag: "supply", Summary: "The register as you may see it, as one JSON document (recorded in the audit log)",
		Response: "Register"}, a.exportSupply)

	a.route(rt, spec{Method: "GET", Path: "/supply/impact", Tag: "supply",
		Summary: "Blast radius of a compromised supplier or product, or an exploited CVE: affected organisations you may read, impact classes, paths (with names), totals. With org: what that organisation depends on (DependsResult). Give exactly one of supplier, product, cve or org; IDs in any case, or names. A miss is 404 with suggestions you may see",
		Params: []param{{Name: "supplier", In: "query", Type: "string", Desc: "supplier ID or name (any case), or the ODS code of an NHS body acting as a supplier"},
			{Name: "product", In: "query", Type: "string", Desc: "product ID or name (any case)"}, {Name: "cve", In: "query", Type: "string", Desc: "CVE ID, CVE-YYYY-NNNN (any case)"},
			{Name: "org", In: "query", Type: "string", Desc: "ODS code or name: the reverse question, answered as a DependsResult"},
			{Name: "limit", In: "query", Type: "integer", Desc: "keep only the N worst affected organisations (totals still count all; truncated=true)"}},
		Response: "ImpactResult"}, a.supplyImpact)
	a.route(rt, spec{Method: "GET", Path: "/supply/concentration", Tag: "supply",
		Summary: "Market shares and Herfindahl–Hirschman index of a service (supply-chain managers); service=all gives the ConcentrationReport of every service and level",
		Params: []param{{Name: "service", In: "query", Type: "string", Required: true, Desc: "e.g. gp-clinical (or its label, GP clinical system), pathology, or all"},
			{Name: "by", In: "query", Type: "string", Desc: "national (default), region or icb"}},
		Response: "ConcentrationResult"}, a.supplyConcentration)
	a.route(rt, spec{Method: "GET", Path: "/supply/risk", Tag: "supply", Summary: "Suppliers and products ranked by systemic importance, and single points of failure (supply-chain managers)",
		Params: []param{{Name: "limit", In: "query", Type: "integer", Desc: "how many to rank (default 50)"}}, Response: "SystemicResult"}, a.supplyRisk)
	a.route(rt, spec{Method: "GET", Path: "/supply/graph", Tag: "supply", Summary: "The dependency graph around a supplier, product or organisation, for pictures",
		Params: []param{{Name: "node", In: "query", Type: "string", Required: true, Desc: "supplier:ID, product:ID or org:ODS (IDs in any case, or names)"},
			{Name: "depth", In: "query", Type: "integer", Desc: "hops, 1–6 (default 2)"}}, Response: "SupplyGraph"}, a.supplyGraph)
	a.route(rt, spec{Method: "GET", Path: "/supply/contracts", Tag: "supply", Summary: "Contracts of organisations you may read",
		Params: []param{{Name: "org", In: "query", Type: "string", Desc: "ODS code"}}, Response: "ContractPage"}, a.listContracts)
	a.route(rt, spec{Method: "PUT", Path: "/supply/contracts/{id}", Tag: "supply", Summary: "Create or replace a contract of an organisation you may change (dates, value, data processed, exit plan, substitutability)",
		Params: idParam("id"), Body: "Contract", Response: "Contract"}, a.putContract)
	a.route(rt, spec{Method: "POST", Path: "/supply/snapshots", Tag: "supply", Summary: "Record today's concentration report, for trends (national supply-chain managers)",
		Response: "Snapshot", Status: 201}, a.supplySnapshot)
	a.route(rt, spec{Method: "GET", Path: "/supply/trend", Tag: "supply", Summary: "How a service's concentration has changed across recorded snapshots (national supply-chain managers)",
		Params: []param{{Name: "service", In: "query", Type: "string", Required: true}, {Name: "by", In: "query", Type: "string", Desc: "national (default), region or icb"},
			{Name: "group", In: "query", Type: "string", Desc: "region or ICB code (with by=region or by=icb)"}}, Response: "Trend"}, a.supplyTrend)
}

func (a *API) supplySnapshot(r *http.Request, sc scope.Scope) (any, error) {
	snap, err := a.o.Supply.RecordSnapshot(r.Context(), sc)
	if err != nil {
		return nil, err
	}
	return created{snap}, nil
}

func (a *API) supplyTrend(r *http.Request, sc scope.Scope) (any, error) {
	v, err := required(r, "service")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	pts, err := a.o.Supply.Trend(r.Context(), sc, v[0], supply.Level(q.Get("by")), strings.ToUpper(q.Get("group")))
	if err != nil {
		return nil, err
	}
	if pts == nil {
		pts = []supply.TrendPoint{}
	}
	return pts, nil
}

// pageByKey pages a list the service returns whole, sorted by key: the
// cursor is the key of the last item of the previous page.
func pageByKey[T any](r *http.Request, items []T, key func(T) string) (Page[T], error) {
	limit, err := limitParam(r, 1000, 10000)
	if err != nil {
		return Page[T]{}, err
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		start := len(items)
		for i, it := range items {
			if key(it) > c {
				start = i
				break
			}
		}
		items = items[start:]
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = key(items[limit-1])
	}
	return page(items, next), nil
}

func (a *API) listSuppliers(r *http.Request, sc scope.Scope) (any, error) {
	list, err := a.o.Supply.ListSuppliers(r.Context(), sc)
	if err != nil {
		return nil, err
	}
	return pageByKey(r, list, func(s supply.Supplier) string { return s.ID })
}

func (a *API) getSupplier(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Supply.GetSupplier(r.Context(), sc, r.PathValue("id"))
}

// pathID fills an empty body ID from the path and refuses a different one.
func pathID(r *http.Request, field string, id *string) error {
	p := r.PathValue("id")
	if *id == "" {
		*id = p
	}
	if *id != p {
		return &fault.Invalid{Field: field, Reason: fmt.Sprintf("%q differs from the address's %q", *id, p)}
	}
	return nil
}

func (a *API) putSupplier(r *http.Request, sc scope.Scope) (any, error) {
	var s supply.Supplier
	if err := decode(r, &s); err != nil {
		return nil, err
	}
	if err := pathID(r, "supplier_id", &s.ID); err != nil {
		return nil, err
	}
	return a.o.Supply.PutSupplier(r.Context(), sc, s)
}

func (a *API) listProducts(r *http.Request, sc scope.Scope) (any, error) {
	list, err := a.o.Supply.ListProducts(r.Context(), sc, r.URL.Query().Get("supplier"))
	if err != nil {
		return nil, err
	}
	return pageByKey(r, list, func(p supply.Product) string { return p.ID })
}

func (a *API) getProduct(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Supply.GetProduct(r.Context(), sc, r.PathValue("id"))
}

func (a *API) putProduct(r *http.Request, sc scope.Scope) (any, error) {
	var p supply.Product
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if err := pathID(r, "product_id", &p.ID); err != nil {
		return nil, err
	}
	return a.o.Supply.PutProduct(r.Context(), sc, p)
}

func (a *API) listContracts(r *http.Request, sc scope.Scope) (any, error) {
	list, err := a.o.Supply.ListContracts(r.Context(), sc, strings.ToUpper(r.URL.Query().Get("org")))
	if err != nil {
		return nil, err
	}
	return page(list, ""), nil
}

func (a *API) putContract(r *http.Request, sc scope.Scope) (any, error) {
	var c supply.Contract
	if err := decode(r, &c); err != nil {
		return nil, err
	}
	if err := pathID(r, "contract_id", &c.ID); err != nil {
		return nil, err
	}
	return a.o.Supply.PutContract(r.Context(), sc, c)
}

func (a *API) deleteProduct(r *http.Request, sc scope.Scope) (any, error) {
	return nil, a.o.Supply.DeleteProduct(r.Context(), sc, r.PathValue("id"))
}

func (a *API) listDeployments(r *http.Request, sc scope.Scope) (any, error) {
	limit, err := limitParam(r, 10000, 10000)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	list, err := a.o.Supply.ListDeployments(r.Context(), sc, supply.DeploymentFilter{OrgODS: strings.ToUpper(q.Get("org")),
		ProductID: q.Get("product"), Service: q.Get("service"), Limit: limit})
	if err != nil {
		return nil, err
	}
	return page(list, ""), nil
}

func (a *API) putDeployment(r *http.Request, sc scope.Scope) (any, error) {
	var d supply.Deployment
	if err := decode(r, &d); err != nil {
		return nil, err
	}
	return a.o.Supply.PutDeployment(r.Context(), sc, d)
}

// required returns the named query parameters, or a validation error for
// the first one missing.
func required(r *http.Request, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		if out[i] = r.URL.Query().Get(n); out[i] == "" {
			return nil, &fault.Invalid{Field: n, Reason: "is required"}
		}
	}
	return out, nil
}

func (a *API) deleteDeployment(r *http.Request, sc scope.Scope) (any, error) {
	v, err := required(r, "org", "product", "service")
	if err != nil {
		return nil, err
	}
	return nil, a.o.Supply.DeleteDeployment(r.Context(), sc, strings.ToUpper(v[0]), v[1], v[2])
}

func (a *API) listDependencies(r *http.Request, sc scope.Scope) (any, error) {
	v, err := required(r, "product")
	if err != nil {
		return nil, err
	}
	list, err := a.o.Supply.ListDependencies(r.Context(), sc, v[0])
	if err != nil {
		return nil, err
	}
	return page(list, ""), nil
}

func (a *API) putDependency(r *http.Request, sc scope.Scope) (any, error) {
	var d supply.Dependency
	if err := decode(r, &d); err != nil {
		return nil, err
	}
	return a.o.Supply.PutDependency(r.Context(), sc, d)
}

func (a *API) deleteDependency(r *http.Request, sc scope.Scope) (any, error) {
	v, err := required(r, "product", "depends_on")
	if err != nil {
		return nil, err
	}
	return nil, a.o.Supply.DeleteDependency(r.Context(), sc, v[0], v[1])
}

// importFailed is an import whose rows had errors (nothing was applied).
type importFailed struct{ rep supply.ImportReport }

func (e importFailed) Error() string { return e.rep.Message }

// problem lists each row error as {field: "file:line:column", reason}.
func (e importFailed) problem() Problem {
	p := Problem{Type: TypeValidation, Title: "The import has errors", Status: 400, Detail: e.rep.Message}
	for _, re := range e.rep.Errors {
		f := re.File + ":" + strconv.Itoa(re.Line)
		if re.Column != "" {
			f += ":" + re.Column
		}
		p.Errors = append(p.Errors, FieldError{Field: f, Reason: re.Reason})
	}
	if e.rep.ErrorsTruncated {
		p.Detail += fmt.Sprintf(" (the first %d of %d errors are listed)", len(e.rep.Errors), e.rep.ErrorCount)
	}
	return p
}

func (a *API) importSupply(r *http.Request, sc scope.Scope) (any, error) {
	dry := false
	if s := r.URL.Query().Get("dry_run"); s != "" {
		var err error
		if dry, err = strconv.ParseBool(s); err != nil {
			return nil, &fault.Invalid{Field: "dry_run", Reason: "want true or false"}
		}
	}
	files, err := uploadedFiles(r)
	if err != nil {
		return nil, err
	}
	rep, err := a.o.Supply.Import(r.Context(), sc, files, supply.ImportOptions{DryRun: dry})
	if err != nil {
		return nil, err
	}
	if rep.ErrorCount > 0 {
		return nil, importFailed{rep}
	}
	return rep, nil
}

// uploadedFiles reads an import upload: multipart/form-data with one part
// per file (named by its filename, or else its form name), or a JSON
// register document as the whole body.
func uploadedFiles(r *http.Request) ([]supply.ImportFile, error) {
	body := http.MaxBytesReader(nil, r.Body, maxUpload)
	read := func(rd io.Reader) ([]byte, error) {
		b, err := io.ReadAll(rd)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			// The limit that stopped it: the router's or this one.
			return nil, &fault.Invalid{Reason: "the upload is larger than " + httpd.SizeText(mb.Limit) + "; import from the command line (vigil supply import)"}
		}
		return b, err
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		b, err := read(body)
		if err != nil {
			return nil, err
		}
		return []supply.ImportFile{{Name: "upload.json", Data: b}}, nil
	case "multipart/form-data":
		r.Body = body
		var files []supply.ImportFile
		err := eachPart(r, func(name, form string, part io.Reader) error {
			if name == "" {
				name = form
			}
			b, err := read(part)
			files = append(files, supply.ImportFile{Name: path.Base(name), Data: b})
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, &fault.Invalid{Reason: "the upload has no files: send suppliers.csv, products.csv, dependencies.csv, deployments.csv … as multipart/form-data parts"}
		}
		return files, nil
	}
	return nil, &fault.Invalid{Reason: "send the CSV files as multipart/form-data, or one JSON register document as application/json"}
}

func (a *API) exportSupply(r *http.Request, sc scope.Scope) (any, error) {
	// Streamed: the national register is ~66 MB of JSON.
	return a.o.Supply.OpenExport(r.Context(), sc)
}

func (a *API) supplyImpact(r *http.Request, sc scope.Scope) (any, error) {
	q := r.URL.Query()
	limit := 0
	if q.Get("limit") != "" {
		var err error
		if limit, err = limitParam(r, 0, supply.MaxImpactLimit); err != nil {
			return nil, err
		}
	}
	req, err := supply.NewImpactRequest(q.Get("supplier"), q.Get("product"), q.Get("cve"), q.Get("org"), limit)
	if err != nil {
		return nil, err
	}
	if req.Reverse() {
		res, err := a.o.Supply.DependsOn(r.Context(), sc, req.Org)
		return res, missProblem(err)
	}
	// Streamed: the answer for a national supplier is ~34 MB of JSON,
	// written one organisation at a time in the memory of one.
	st, err := a.o.Supply.OpenImpact(r.Context(), sc, req.Query, req.Limit)
	if err != nil {
		return nil, missProblem(err)
	}
	return st, nil
}

// missed is a lookup that found nothing the caller may see: a 404 whose
// detail, unlike other not-founds, says what was asked and suggests what
// the caller may see instead (the domain chose the suggestions within
// their scope, so nothing outside it is named).
type missed struct{ m *supply.Miss }

func (e missed) Error() string { return e.m.Error() }
func (e missed) Unwrap() error { return e.m }

func (e missed) problem() Problem {
	msg := e.m.Error()
	if !strings.HasSuffix(msg, "?") {
		msg += "."
	}
	return Problem{Type: TypeNotFound, Title: http.StatusText(http.StatusNotFound), Status: http.StatusNotFound,
		Detail: strings.ToUpper(msg[:1]) + msg[1:]}
}

// missProblem gives a *supply.Miss its own problem document; other errors
// pass unchanged.
func missProblem(err error) error {
	var m *supply.Miss
	if errors.As(err, &m) {
		return missed{m}
	}
	return err
}

func (a *API) supplyConcentration(r *http.Request, sc scope.Scope) (any, error) {
	v, err := required(r, "service")
	if err != nil {
		return nil, err
	}
	by := r.URL.Query().Get("by")
	if v[0] == "all" {
		if by != "" {
			return nil, &fault.Invalid{Field: "by", Reason: "service=all reports every level; leave by out"}
		}
		return a.o.Supply.ConcentrationAll(r.Context(), sc)
	}
	res, err := a.o.Supply.Concentration(r.Context(), sc, v[0], supply.Level(by))
	return res, missProblem(err)
}

func (a *API) supplyRisk(r *http.Request, sc scope.Scope) (any, error) {
	limit, err := limitParam(r, 50, 10000)
	if err != nil {
		return nil, err
	}
	return a.o.Supply.Systemic(r.Context(), sc, supply.SystemicOptions{Limit: limit})
}

func (a *API) supplyGraph(r *http.Request, sc scope.Scope) (any, error) {
	v, err := required(r, "node")
	if err != nil {
		return nil, err
	}
	depth := 2
	if s := r.URL.Query().Get("depth"); s != "" {
		if depth, err = strconv.Atoi(s); err != nil || depth < 1 || depth > 6 {
			return nil, &fault.Invalid{Field: "depth", Reason: "want a number from 1 to 6"}
		}
	}
	res, err := a.o.Supply.Neighbourhood(r.Context(), sc, v[0], depth)
	return res, missProblem(err)
}

// eachPart calls fn with each part of r's multipart/form-data body: its
// file name ("" for a form field), its form name and its content. A
// body that is not well-formed multipart is Invalid; an error from fn
// stops the reading and is returned.
func eachPart(r *http.Request, fn func(file, form string, part io.Reader) error) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return &fault.Invalid{Reason: "multipart upload: " + err.Error()}
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &fault.Invalid{Reason: "multipart upload: " + err.Error()}
		}
		if err := fn(part.FileName(), part.FormName(), part); err != nil {
			return err
		}
	}
}
