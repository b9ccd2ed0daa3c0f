package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/supplyviz"
)

// The Suppliers area: the register, blast radius, concentration, the
// dependency graph and maps, over the supply service. Every read goes
// through the caller's Scope in the service; anything outside it is 404.
// Without Options.Supply the area is not there (areas).

// registerSupply adds the Suppliers area's routes.
func (w *Web) registerSupply(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/suppliers/register", authd, "Supplier register: suppliers and their products", w.supplyRegister)
	h("GET", "/suppliers/s/{id}", authd, "One supplier: products, dependencies, who deploys them", w.supplierPage)
	h("GET", "/suppliers/p/{id}", authd, "One product: dependencies, dependents, deployments", w.productPage)
	h("GET", "/suppliers/impact", authd, "Blast radius of a supplier, product or CVE; what an organisation depends on", w.supplyImpact)
	h("GET", "/suppliers/impact/download", authd, "Download a blast-radius result as CSV or JSON (audited export)", w.supplyImpactDownload)
	h("GET", "/suppliers/concentration", authd, "Market concentration of a service by ICB or region, and its trend over recorded snapshots", w.supplyConcentration)
	h("POST", "/suppliers/concentration/snapshots", authd, "Record a concentration snapshot now (national supply-chain managers; audited)", w.supplySnapshot)
	h("GET", "/suppliers/graph", authd, "Interactive dependency graph around a node", w.supplyGraph)
	h("GET", "/suppliers/map", authd, "Map of impact or concentration by ICB or region", w.supplyMap)
	for _, p := range []struct{ name, summary string }{
		{"graph", "Dependency graph picture"}, {"map", "Map picture"}, {"concentration", "Concentration chart"},
		{"trend", "Concentration trend chart over recorded snapshots"},
	} {
		for _, ext := range []string{"svg", "png"} {
			h("GET", "/suppliers/pictures/"+p.name+"."+ext, authd, p.summary+" as "+strings.ToUpper(ext)+" (download=1 is an audited export)", w.supplyPicture(p.name, ext))
		}
	}
	h("GET", "/suppliers/import", authd, "Supplier register upload form", w.supplyImportForm)
	h("POST", "/suppliers/import", authd, "Check or import supplier register CSV or JSON files", w.supplyImport)
	h("GET", "/suppliers/boundaries", authd, "Map boundaries: what is loaded, and the upload form", w.supplyBoundariesForm)
	h("POST", "/suppliers/boundaries", authd, "Check or import ONS boundary GeoJSON", w.supplyBoundaries)
}

// ---- overview ----

// suppliers is the Suppliers area's page, the overview (registered only
// when the supply service is there: areas).
func (w *Web) suppliers(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.suppliersHome(rw, r, sc)
}

type supplyHomeData struct {
	Suppliers, Products int
	Supply              bool
	Stats               supply.GraphStats
	Systemic            *supply.SystemicResult
	Monopolies          []supply.Monopoly
	MoreMonopolies      int
	Services            []string
	Home                *org.Org
	Depends             *supply.DependsResult
	MyProducts          []supply.Product
	Rep                 bool
	GeoImport           bool
	BoundaryText        string
}

func (w *Web) suppliersHome(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	d := supplyHomeData{Supply: sc.Can(scope.Supply), GeoImport: geo.CanImport(sc)}
	sups, err := w.o.Supply.ListSuppliers(ctx, sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	prods, err := w.o.Supply.ListProducts(ctx, sc, "")
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d.Suppliers, d.Products = len(sups), len(prods)
	d.Rep = isRepOnly(sc)
	if d.Rep {
		d.MyProducts = prods
	}
	if d.Supply {
		if d.Stats, err = w.o.Supply.Stats(ctx); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		// Both reports are computed once per register generation and
		// visibility by the supply service, and warmed after a rebuild.
		sys, err := w.o.Supply.Systemic(ctx, sc, supply.SystemicOptions{Limit: 10})
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Systemic = &sys
		rep, err := w.o.Supply.ConcentrationAll(ctx, sc)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Services = rep.Services
		for _, m := range rep.Monopolies {
			if m.By == supply.ByICB {
				d.Monopolies = append(d.Monopolies, m)
			}
		}
		if len(d.Monopolies) > 15 {
			d.MoreMonopolies = len(d.Monopolies) - 15
			d.Monopolies = d.Monopolies[:15]
		}
	}
	if !d.Rep && sc.Home != "" {
		if o, err := w.o.Orgs.Get(ctx, sc, sc.Home); err == nil && o.Type != org.National && o.Type != org.Supplier {
			d.Home = &o
			if dep, err := w.o.Supply.DependsOn(ctx, sc, o.Code); err == nil {
				d.Depends = &dep
			}
		}
	}
	if w.o.Boundaries != nil {
		if c, err := w.o.Boundaries.Counts(ctx); err == nil {
			var parts []string
			for _, l := range []struct {
				level      geo.Level
				one, other string
			}{{geo.LevelRegion, "region", "regions"}, {geo.LevelICB, "ICB", "ICBs"}, {geo.LevelSubICB, "sub-ICB location", "sub-ICB locations"}} {
				if n := c[l.level]; n == 1 {
					parts = append(parts, "1 "+l.one)
				} else if n > 1 {
					parts = append(parts, strconv.Itoa(n)+" "+l.other)
				}
			}
			d.BoundaryText = strings.Join(parts, ", ")
		}
	}
	v := w.page(r, sc, "Suppliers", "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "suppliers", v)
}

// isRepOnly reports whether every grant of sc is a supplier
// representative's: they see their own products and no organisations.
func isRepOnly(sc scope.Scope) bool {
	if len(sc.Grants) == 0 {
		return false
	}
	for _, g := range sc.Grants {
		if g.Role != scope.SupplierRep {
			return false
		}
	}
	return true
}

// ---- register ----

type registerRow struct {
	supply.Supplier
	ParentName string
	Products   []supply.Product
}

type registerData struct {
	Query string
	Rows  []registerRow
	Total int
	More  int
	Error string
}

const registerPage = 200

func (w *Web) supplyRegister(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	d := registerData{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if p := safetext.SearchProblem(d.Query); p != "" {
		// The same bound as every other search, said in words.
		d.Error = "Your search " + p + "."
		v := w.page(r, sc, "Supplier register", "suppliers")
		v.D = d
		w.render(rw, r, http.StatusBadRequest, "supply_register", v)
		return
	}
	sups, err := w.o.Supply.ListSuppliers(ctx, sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	prods, err := w.o.Supply.ListProducts(ctx, sc, "")
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	bySup := map[string][]supply.Product{}
	for _, p := range prods {
		bySup[p.SupplierID] = append(bySup[p.SupplierID], p)
	}
	names := map[string]string{}
	for _, s := range sups {
		names[s.ID] = s.Name
	}
	q := strings.ToLower(d.Query)
	for _, s := range sups {
		if q != "" && !registerMatch(q, s, bySup[s.ID]) {
			continue
		}
		d.Total++
		if len(d.Rows) < registerPage {
			d.Rows = append(d.Rows, registerRow{Supplier: s, ParentName: names[s.ParentID], Products: bySup[s.ID]})
		}
	}
	d.More = d.Total - len(d.Rows)
	v := w.page(r, sc, "Supplier register", "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_register", v)
}

func registerMatch(q string, s supply.Supplier, ps []supply.Product) bool {
	for _, f := range []string{s.ID, s.Name, s.CompaniesHouseNumber, s.ODSCode, s.DUNS} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	for _, p := range ps {
		if strings.Contains(strings.ToLower(p.ID), q) || strings.Contains(strings.ToLower(p.Name), q) {
			return true
		}
	}
	return false
}

// ---- supplier and product pages ----

type productRow struct {
	supply.Product
	Dependencies []supply.Dependency
	Deployments  int
	Orgs         int
	Services     []string
}

type supplierData struct {
	Supplier     supply.Supplier
	Parent       *supply.Supplier
	Subsidiaries []supply.Supplier
	Products     []productRow
	Deployments  []deploymentRow
	MoreDeploys  int
	Node         string
	Rep          bool
}

type deploymentRow struct {
	supply.Deployment
	OrgName     string
	ProductName string
}

const maxDeploymentRows = 100

func (w *Web) supplierPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	id := r.PathValue("id")
	sp, err := w.o.Supply.GetSupplier(ctx, sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := supplierData{Supplier: sp, Node: "supplier:" + sp.ID, Rep: isRepOnly(sc)}
	if sp.ParentID != "" {
		if p, err := w.o.Supply.GetSupplier(ctx, sc, sp.ParentID); err == nil {
			d.Parent = &p
		}
	}
	all, err := w.o.Supply.ListSuppliers(ctx, sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	for _, s := range all {
		if s.ParentID == sp.ID {
			d.Subsidiaries = append(d.Subsidiaries, s)
		}
	}
	prods, err := w.o.Supply.ListProducts(ctx, sc, sp.ID)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	names := w.orgNames(ctx, sc)
	for _, p := range prods {
		row := productRow{Product: p}
		if row.Dependencies, err = w.o.Supply.ListDependencies(ctx, sc, p.ID); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		deps, err := w.o.Supply.ListDeployments(ctx, sc, supply.DeploymentFilter{ProductID: p.ID})
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		orgs := map[string]bool{}
		for _, dp := range deps {
			orgs[dp.OrgODS] = true
			row.Services = appendOnce(row.Services, dp.Service)
			if len(d.Deployments) < maxDeploymentRows {
				d.Deployments = append(d.Deployments, deploymentRow{Deployment: dp, OrgName: names(dp.OrgODS), ProductName: p.Name})
			} else {
				d.MoreDeploys++
			}
		}
		sort.Strings(row.Services)
		row.Deployments, row.Orgs = len(deps), len(orgs)
		d.Products = append(d.Products, row)
	}
	v := w.page(r, sc, sp.Name, "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_supplier", v)
}

func appendOnce(xs []string, s string) []string {
	for _, x := range xs {
		if x == s {
			return xs
		}
	}
	return append(xs, s)
}

// orgNames returns a lookup of organisation names the caller may read,
// fetched one at a time and remembered for the request.
func (w *Web) orgNames(ctx context.Context, sc scope.Scope) func(code string) string {
	seen := map[string]string{}
	return func(code string) string {
		if n, ok := seen[code]; ok {
			return n
		}
		n := ""
		if len(seen) < 500 {
			if o, err := w.o.Orgs.Get(ctx, sc, code); err == nil {
				n = o.Name
			}
		}
		seen[code] = n
		return n
	}
}

type productData struct {
	Product      supply.Product
	Supplier     supply.Supplier
	DependsOn    []linkRow
	DependedOnBy []linkRow
	Deployments  []deploymentRow
	MoreDeploys  int
	Vulns        []string
	Node         string
}

type linkRow struct {
	ID, Name, Kind string
	Critical       bool
}

func (w *Web) productPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, err := w.o.Supply.GetProduct(ctx, sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	sp, err := w.o.Supply.GetSupplier(ctx, sc, p.SupplierID)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := productData{Product: p, Supplier: sp, Node: "product:" + p.ID}
	// One step of the neighbourhood gives both directions of dependency,
	// already filtered to what the caller may see.
	g, err := w.o.Supply.Neighbourhood(ctx, sc, d.Node, 1)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	labels := map[string]string{}
	for _, n := range g.Nodes {
		labels[n.ID] = n.Label
	}
	for _, e := range g.Edges {
		switch {
		case e.Kind == "owns" || e.Kind == "parent" || e.Kind == "deployment":
		case e.From == d.Node:
			d.DependsOn = append(d.DependsOn, linkRow{ID: strings.TrimPrefix(e.To, "product:"), Name: labels[e.To], Kind: e.Kind, Critical: e.Critical})
		case e.To == d.Node:
			d.DependedOnBy = append(d.DependedOnBy, linkRow{ID: strings.TrimPrefix(e.From, "product:"), Name: labels[e.From], Kind: e.Kind, Critical: e.Critical})
		}
	}
	deps, err := w.o.Supply.ListDeployments(ctx, sc, supply.DeploymentFilter{ProductID: p.ID})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	names := w.orgNames(ctx, sc)
	for i, dp := range deps {
		if i >= maxDeploymentRows {
			d.MoreDeploys = len(deps) - i
			break
		}
		d.Deployments = append(d.Deployments, deploymentRow{Deployment: dp, OrgName: names(dp.OrgODS), ProductName: p.Name})
	}
	v := w.page(r, sc, p.Name, "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_product", v)
}

// ---- impact ----

// impactQuery is what the impact page was asked: exactly one of the four.
type impactQuery struct {
	Supplier, Product, CVE, Org string
}

func (q impactQuery) empty() bool { return q == impactQuery{} }

func (q impactQuery) values() url.Values {
	v := url.Values{}
	switch {
	case q.Supplier != "":
		v.Set("supplier", q.Supplier)
	case q.Product != "":
		v.Set("product", q.Product)
	case q.CVE != "":
		v.Set("cve", q.CVE)
	case q.Org != "":
		v.Set("org", q.Org)
	}
	return v
}

// by is the form's "what is compromised" choice and its value.
func (q impactQuery) by() (string, string) {
	switch {
	case q.Product != "":
		return "product", q.Product
	case q.CVE != "":
		return "cve", q.CVE
	case q.Org != "":
		return "org", q.Org
	}
	return "supplier", q.Supplier
}

func (q impactQuery) supply() supply.Query {
	return supply.Query{Supplier: q.Supplier, Product: q.Product, CVE: q.CVE}
}

func (q impactQuery) node() string {
	switch {
	case q.Supplier != "":
		return "supplier:" + q.Supplier
	case q.Product != "":
		return "product:" + q.Product
	case q.Org != "":
		return "org:" + q.Org
	}
	return ""
}

// readImpactQuery takes supplier=, product=, cve= or org= (links and
// downloads), or the form's by= and q=.
func readImpactQuery(v url.Values) (impactQuery, error) {
	clean := func(s string) string {
		s = strings.TrimSpace(s)
		if len(s) > 128 {
			s = s[:128]
		}
		return s
	}
	q := impactQuery{Supplier: clean(v.Get("supplier")), Product: clean(v.Get("product")), CVE: strings.ToUpper(clean(v.Get("cve"))), Org: strings.ToUpper(clean(v.Get("org")))}
	if q.empty() {
		val := clean(v.Get("q"))
		switch v.Get("by") {
		case "product":
			q.Product = val
		case "cve":
			q.CVE = strings.ToUpper(val)
		case "org":
			q.Org = strings.ToUpper(val)
		default:
			q.Supplier = val
		}
	}
	n := 0
	for _, s := range []string{q.Supplier, q.Product, q.CVE, q.Org} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return q, errors.New("Ask about one thing at a time: a supplier, a product, a CVE or an organisation.")
	}
	return q, nil
}

type chainView struct {
	Steps    []string
	Detail   string
	Critical bool
}

type impactRow struct {
	supply.AffectedOrg
	Chains []chainView
	More   int
}

type dependsRow struct {
	supply.DependedProduct
	Chains []chainView
}

type impactData struct {
	By, Q    string
	Query    template.URL // canonical query string (url.Values.Encode)
	Title    string
	Node     string
	Error    string
	Result   *supply.ImpactResult
	Rows     []impactRow
	Depends  *supply.DependsResult
	DepRows  []dependsRow
	MapLevel string
	HasMap   bool
	Rep      bool
	Choices  []choice
}

type choice struct{ Value, Label string }

func (w *Web) supplyImpact(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	q, qerr := readImpactQuery(r.URL.Query())
	d := impactData{Rep: isRepOnly(sc), MapLevel: "icb"}
	d.By, d.Q = q.by()
	if l := r.URL.Query().Get("level"); l == "region" {
		d.MapLevel = "region"
	}
	d.HasMap = w.o.Boundaries != nil
	v := w.page(r, sc, "Blast radius", "suppliers")
	if qerr != nil {
		d.Error = qerr.Error()
	} else if !q.empty() {
		d.Query = template.URL(q.values().Encode())
		d.Node = q.node()
		if q.Org != "" {
			res, err := w.o.Supply.DependsOn(ctx, sc, q.Org)
			if err != nil {
				w.fail(rw, r, sc, err)
				return
			}
			d.Depends = &res
			d.Title = fmt.Sprintf("What %s (%s) depends on", res.Org.Name, res.Org.ODS)
			label := w.labeller(ctx, sc, nil, &res)
			for _, p := range res.Products {
				row := dependsRow{DependedProduct: p}
				for _, path := range p.Paths {
					row.Chains = append(row.Chains, chainView{Steps: labelPath(path, label)})
				}
				d.DepRows = append(d.DepRows, row)
			}
		} else {
			res, err := w.impactPage(ctx, sc, q.supply())
			var ve *fault.Invalid
			switch {
			case errors.As(err, &ve):
				d.Error = sentence(ve.Reason) + "."
			case err != nil:
				w.fail(rw, r, sc, err)
				return
			default:
				d.Result = &res
				d.Title = "If " + w.queryName(ctx, sc, q) + " is compromised"
				label := w.labeller(ctx, sc, &res, nil)
				for _, a := range res.Affected {
					row := impactRow{AffectedOrg: a, More: a.PathCount - len(a.Paths)}
					for i, path := range a.Paths {
						cv := chainView{Steps: labelPath(path, label)}
						if i < len(a.PathDetails) {
							pd := a.PathDetails[i]
							cv.Critical = pd.Critical
							cv.Detail = pd.Service + ", " + string(pd.Criticality)
							if pd.Fallback {
								cv.Detail += ", has a fallback"
							} else {
								cv.Detail += ", no fallback"
							}
							if !pd.Critical {
								cv.Detail += ", not critical"
							}
						}
						row.Chains = append(row.Chains, cv)
					}
					d.Rows = append(d.Rows, row)
				}
			}
		}
	}
	d.Choices = w.impactChoices(ctx, sc)
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_impact", v)
}

// impactPage is the part of q's blast radius the page shows: the worst
// organisations and nearest products, Options.ImpactPageRows of each,
// with whole totals.
func (w *Web) impactPage(ctx context.Context, sc scope.Scope, q supply.Query) (supply.ImpactResult, error) {
	st, err := w.o.Supply.OpenImpact(ctx, sc, q, w.o.ImpactPageRows)
	if err != nil {
		return supply.ImpactResult{}, err
	}
	defer st.Close()
	return st.Result(w.o.ImpactPageRows), nil
}

// impactChoices lists suppliers and products for the form's suggestions
// (a datalist: typing still works for anything).
func (w *Web) impactChoices(ctx context.Context, sc scope.Scope) []choice {
	var out []choice
	sups, _ := w.o.Supply.ListSuppliers(ctx, sc)
	for i, s := range sups {
		if i == 500 {
			break
		}
		out = append(out, choice{s.ID, s.Name + " (supplier)"})
	}
	prods, _ := w.o.Supply.ListProducts(ctx, sc, "")
	for i, p := range prods {
		if i == 500 {
			break
		}
		out = append(out, choice{p.ID, p.Name + " (product)"})
	}
	return out
}

// queryName names the compromised thing in words.
func (w *Web) queryName(ctx context.Context, sc scope.Scope, q impactQuery) string {
	switch {
	case q.Supplier != "":
		if s, err := w.o.Supply.GetSupplier(ctx, sc, q.Supplier); err == nil {
			return s.Name
		}
		return "supplier " + q.Supplier
	case q.Product != "":
		if p, err := w.o.Supply.GetProduct(ctx, sc, q.Product); err == nil {
			return p.Name
		}
		return "product " + q.Product
	case q.CVE != "":
		return q.CVE
	}
	return q.Org
}

// labeller names the nodes of result paths: products and their suppliers
// from the result, other suppliers (group parents) looked up once.
func (w *Web) labeller(ctx context.Context, sc scope.Scope, res *supply.ImpactResult, dep *supply.DependsResult) func(string) string {
	names := map[string]string{}
	if res != nil {
		for _, p := range res.Products {
			names["product:"+p.ID] = p.Name
			names["supplier:"+p.SupplierID] = p.SupplierName
		}
		for _, a := range res.Affected {
			names["org:"+a.ODS] = a.Name
		}
	}
	if dep != nil {
		names["org:"+dep.Org.ODS] = dep.Org.Name
		for _, p := range dep.Products {
			names["product:"+p.ID] = p.Name
			names["supplier:"+p.SupplierID] = p.SupplierName
		}
	}
	return func(id string) string {
		if n, ok := names[id]; ok && n != "" {
			return n
		}
		kind, x, _ := strings.Cut(id, ":")
		n := x
		if kind == "supplier" {
			if s, err := w.o.Supply.GetSupplier(ctx, sc, x); err == nil {
				n = s.Name
			}
		}
		names[id] = n
		return n
	}
}

func labelPath(path []string, label func(string) string) []string {
	out := make([]string, len(path))
	for i, p := range path {
		out[i] = label(p)
	}
	return out
}

// ---- concentration ----

type concentrationData struct {
	Services []string
	Service  string
	By       string
	Result   *supply.ConcentrationResult
	Rows     []concRow
	Query    template.URL
	HasMap   bool
	Chart    string
	// Trends: snapshots are national, so only national supply-chain
	// managers see them (and may record one).
	Trends     bool
	Group      string // region or ICB code whose trend is shown; "" nationally
	GroupName  string
	ShowTrend  bool
	Trend      []trendRow
	TrendQuery template.URL
	Message    string
}

type trendRow struct {
	supply.TrendPoint
	When, Band, SupplierName string
}

type concRow struct {
	supply.ConcentrationGroup
	Band string
}

func (w *Web) supplyConcentration(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	if !sc.Can(scope.Supply) {
		w.errorPage(rw, r, &sc, http.StatusNotFound, "")
		return
	}
	rep, err := w.o.Supply.ConcentrationAll(ctx, sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	q := r.URL.Query()
	d := concentrationData{Services: rep.Services, Service: strings.TrimSpace(q.Get("service")), By: q.Get("by"), HasMap: w.o.Boundaries != nil, Chart: "shares"}
	if q.Get("chart") == "hhi" {
		d.Chart = "hhi"
	}
	if d.By != "region" && d.By != "national" {
		d.By = "icb"
	}
	if d.Service == "" && len(d.Services) > 0 {
		d.Service = d.Services[0]
	}
	if d.Service != "" {
		res, err := w.o.Supply.Concentration(ctx, sc, d.Service, supply.Level(d.By))
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Service = res.Service
		d.Result = &res
		for _, g := range res.Groups {
			d.Rows = append(d.Rows, concRow{ConcentrationGroup: g, Band: supplyviz.HHIBand(g.HHI)})
		}
		sort.SliceStable(d.Rows, func(i, j int) bool { return d.Rows[i].HHI > d.Rows[j].HHI })
		d.Query = template.URL(url.Values{"service": {d.Service}, "by": {d.By}}.Encode())
		if err := w.concentrationTrend(ctx, sc, &d, q.Get("group")); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	if q.Get("done") == "snapshot" {
		d.Message = "Snapshot recorded: every service, region and ICB as they are now. It is the newest row of the trend."
	}
	v := w.page(r, sc, "Concentration", "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_concentration", v)
}

// concentrationTrend fills the trend of the chosen group (nationally, the
// nation) from the recorded snapshots, for callers who may see them.
func (w *Web) concentrationTrend(ctx context.Context, sc scope.Scope, d *concentrationData, group string) error {
	// The domain refuses trends to anyone else (not found); asking it only
	// for national supply-chain managers keeps the page from offering
	// links that would 404.
	d.Trends = sc.National(scope.Supply)
	if !d.Trends {
		return nil
	}
	d.Group = cleanGroup(group)
	if d.By == "national" {
		d.Group = ""
	}
	if d.By != "national" && d.Group == "" {
		return nil
	}
	d.ShowTrend = true
	d.GroupName = "England"
	if d.Group != "" {
		d.GroupName = d.Group
	}
	names := map[string]string{}
	for _, g := range d.Result.Groups {
		if g.Code == d.Group || d.By == "national" {
			d.GroupName = g.Name
		}
		for _, sh := range g.Shares {
			names[sh.SupplierID] = sh.Name
		}
	}
	pts, err := w.o.Supply.Trend(ctx, sc, d.Service, supply.Level(d.By), d.Group)
	if err != nil {
		return err
	}
	name := w.supplierNames(ctx, sc, names)
	for _, p := range pts {
		row := trendRow{TrendPoint: p, When: p.TakenAt, Band: supplyviz.HHIBand(p.HHI), SupplierName: name(p.TopSupplierID)}
		if t, err := time.Parse(time.RFC3339Nano, p.TakenAt); err == nil {
			row.When = t.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		d.Trend = append(d.Trend, row)
	}
	d.TrendQuery = template.URL(trendValues(d.Service, d.By, d.Group).Encode())
	return nil
}

// cleanGroup keeps a region or ICB code: letters and digits, upper case,
// at most 16.
func cleanGroup(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 16 {
		return ""
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return ""
		}
	}
	return s
}

// readTrendQuery reads a trend's service, level and group (none nationally).
func readTrendQuery(v url.Values) (service, by, group string) {
	service = strings.TrimSpace(v.Get("service"))
	if len(service) > 128 {
		service = service[:128]
	}
	by = v.Get("by")
	if by != "region" && by != "national" {
		by = "icb"
	}
	if by != "national" {
		group = cleanGroup(v.Get("group"))
	}
	return service, by, group
}

func trendValues(service, by, group string) url.Values {
	v := url.Values{"service": {service}, "by": {by}}
	if group != "" {
		v.Set("group", group)
	}
	return v
}

// supplierNames names supplier IDs: from known, else looked up (a few
// dozen at most, for a trend's largest suppliers), else the ID itself.
func (w *Web) supplierNames(ctx context.Context, sc scope.Scope, known map[string]string) func(string) string {
	looked := 0
	return func(id string) string {
		if n, ok := known[id]; ok {
			return n
		}
		n := id
		if looked < 50 {
			looked++
			if sp, err := w.o.Supply.GetSupplier(ctx, sc, id); err == nil {
				n = sp.Name
			}
		}
		known[id] = n
		return n
	}
}

// supplySnapshot records the national concentration now and returns to
// the trend it was asked from. The domain checks the caller is a national
// supply-chain manager (anyone else gets not found) and audits it.
func (w *Web) supplySnapshot(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if _, err := w.o.Supply.RecordSnapshot(r.Context(), sc); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	r.ParseForm() // the CSRF check has parsed it already; the values only say where to return
	service, by, group := readTrendQuery(r.PostForm)
	v := trendValues(service, by, group)
	if service == "" {
		v.Del("service")
	}
	v.Set("done", "snapshot")
	http.Redirect(rw, r, "/suppliers/concentration?"+v.Encode()+"#trend", http.StatusSeeOther)
}

// ---- graph ----

type graphData struct {
	Node   string
	Depth  int
	Depths []int
	Error  string
	Graph  *supply.Graph
	SVG    any    // template.HTML of the inline picture
	Size   string // graph-s…graph-xl: how far the picture may shrink
	Rows   []graphRow
	// Queries built by url.Values.Encode, so safe to put in a URL as is.
	Query     template.URL
	LessQuery template.URL
	MoreQuery template.URL
	Impact    bool
	// ImpactQuery asks the blast radius of the centre (supplier or product).
	ImpactQuery template.URL
}

type graphRow struct {
	supply.GraphNode
	Page   string
	Centre string
	Class  string
}

func readGraphQuery(v url.Values) (string, int) {
	node := strings.TrimSpace(v.Get("node"))
	if len(node) > 140 {
		node = node[:140]
	}
	if k, x, ok := strings.Cut(node, ":"); ok && k == "org" {
		node = k + ":" + strings.ToUpper(x)
	}
	depth, err := strconv.Atoi(v.Get("depth"))
	if err != nil || depth < 1 {
		depth = 2
	}
	return node, min(depth, 6)
}

func graphQuery(node string, depth int) string {
	return url.Values{"node": {node}, "depth": {strconv.Itoa(depth)}}.Encode()
}

func (w *Web) supplyGraph(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	node, depth := readGraphQuery(r.URL.Query())
	d := graphData{Node: node, Depth: depth, Depths: []int{1, 2, 3, 4, 5, 6}}
	if node != "" {
		g, err := w.o.Supply.Neighbourhood(ctx, sc, node, depth)
		var ve *fault.Invalid
		switch {
		case errors.As(err, &ve):
			d.Error = "Give the centre as supplier:ID, product:ID or org:ODS code."
		case err != nil:
			w.fail(rw, r, sc, err)
			return
		default:
			d.Graph = &g
			s := w.graphScene(ctx, sc, g, true)
			html, err := inlineSVG(s, "vzg-")
			if err != nil {
				w.fail(rw, r, sc, err)
				return
			}
			d.SVG = html
			switch {
			case s.Width > 1800:
				d.Size = "graph-xl"
			case s.Width > 1400:
				d.Size = "graph-l"
			case s.Width > 1000:
				d.Size = "graph-m"
			default:
				d.Size = "graph-s"
			}
			d.Query = template.URL(graphQuery(node, depth))
			d.LessQuery = template.URL(graphQuery(node, max(1, depth-1)))
			d.MoreQuery = template.URL(graphQuery(node, min(6, depth+1)))
			k, x, _ := strings.Cut(g.Center, ":")
			d.Impact = k == "supplier" || k == "product"
			if d.Impact {
				d.ImpactQuery = template.URL(url.Values{k: {x}}.Encode())
			}
			for _, n := range g.Nodes {
				row := graphRow{GraphNode: n, Centre: "/suppliers/graph?" + graphQuery(n.ID, depth), Class: n.Impact}
				kind, x, _ := strings.Cut(n.ID, ":")
				switch kind {
				case "supplier":
					row.Page = "/suppliers/s/" + url.PathEscape(x)
				case "product":
					row.Page = "/suppliers/p/" + url.PathEscape(x)
				case "org":
					row.Page = "/orgs/" + url.PathEscape(x)
				}
				d.Rows = append(d.Rows, row)
			}
			sort.SliceStable(d.Rows, func(i, j int) bool {
				if d.Rows[i].ID == g.Center || d.Rows[j].ID == g.Center {
					return d.Rows[i].ID == g.Center
				}
				return impactOrder(d.Rows[i].Impact) < impactOrder(d.Rows[j].Impact)
			})
		}
	}
	v := w.page(r, sc, "Dependency graph", "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_graph", v)
}

func impactOrder(c string) int {
	switch c {
	case "hard-down":
		return 0
	case "degraded":
		return 1
	case "exposed":
		return 2
	case "affected":
		return 3
	}
	return 4
}

// ---- map page ----

type mapData struct {
	View     string // impact or concentration
	Level    string
	Query    template.URL // the picture's query string
	Title    string
	Error    string
	Loaded   bool
	Import   bool
	Rows     []mapRow
	Unmapped []string
	Impact   impactQuery
	Service  string
	Services []string
	By, Q    string
}

type mapRow struct {
	Code, Name, Value, Detail string
}

func (w *Web) supplyMap(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	m, err := w.buildMap(ctx, sc, r.URL.Query())
	var ve *fault.Invalid
	switch {
	case errors.As(err, &ve):
		m.Error = sentence(ve.Reason) + "."
	case err != nil:
		w.fail(rw, r, sc, err)
		return
	}
	d := mapData{View: m.view, Level: string(m.level), Query: template.URL(m.query), Title: m.opts.Title, Error: m.Error, Loaded: len(m.bounds) > 0,
		Import: geo.CanImport(sc), Unmapped: m.opts.Unmapped, Impact: m.impact, Service: m.service}
	d.By, d.Q = m.impact.by()
	if sc.Can(scope.Supply) {
		if rep, err := w.o.Supply.ConcentrationAll(ctx, sc); err == nil {
			d.Services = rep.Services
		}
	}
	names := map[string]string{}
	for _, b := range m.bounds {
		names[b.Code] = b.Name
	}
	for code, val := range m.opts.Values {
		n := names[code]
		if n == "" {
			n = m.groupNames[code]
		}
		d.Rows = append(d.Rows, mapRow{Code: code, Name: n, Value: val.Label, Detail: val.Detail})
	}
	sort.Slice(d.Rows, func(i, j int) bool { return d.Rows[i].Code < d.Rows[j].Code })
	v := w.page(r, sc, "Map", "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_map", v)
}
