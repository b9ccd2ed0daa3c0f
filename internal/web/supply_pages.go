package web

import (
	"context"
	"github.com/vigil-health/vigil/internal/assurance"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// ---- supplier and product pages ----

type productRow struct {
	supply.Product
	Dependencies []dependencyRow
	Deployments  int
	Orgs         int
	Services     []string
}

type supplierData struct {
	Supplier supply.Supplier
	// DSPT is the supplier's DSPT statuses when it is an NHS body (has an
	// ODS code) and the assurance service is on; nil otherwise.
	DSPT []assurance.DSPTStatus
	// Certificates are its Cyber Essentials and ISO 27001 certificates
	// (with the assurance service).
	Certificates []assurance.Certificate
	// Statements are its statements of adherence the caller may see: an
	// assessor's, the supplier's own, or accepted ones of a supplier the
	// caller's organisations deploy.
	Statements []assurance.StatementSummary
	// Schemes is the health-scheme evidence section (assurance_schemes.go).
	Schemes      *schemesView
	Parent       *supply.Supplier
	Subsidiaries []supply.Supplier
	Products     []productRow
	Deployments  []deploymentRow
	MoreDeploys  int
	Node         string
	Rep          bool
	// OpenIncident shows the national team the form that opens a
	// national incident from this supplier's compromise (incidents.go);
	// IncidentError is what went wrong with the last try.
	OpenIncident  bool
	IncidentError string
	// Posture joins assurance, graph position, vulnerabilities and
	// incidents for this supplier (assurance.GetPriorities for one
	// supplier, the three kept apart); Sharing is how it shares its
	// reviewed statements (CanShare: the caller may choose); Disputes are
	// its disputes (its representatives and the assessors); SharingNote
	// is what became of the last change.
	Posture     *assurance.PriorityRow
	GraphHidden bool
	Sharing     *assurance.Sharing
	CanShare    bool
	Disputes    []assurance.Dispute
	SharingNote string
	// ParentStatements are the group parents' accepted statements that
	// stand for this supplier and the caller may see.
	ParentStatements []assurance.StatementSummary
}

// dependencyRow is a dependency with the name of what it depends on, when
// the caller may see that product (a supplier's representative sees the
// IDs their products depend on, not other suppliers' products).
type dependencyRow struct {
	supply.Dependency
	Name string
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
	if sp.ID != id { // found by its ID in another case, or its name
		http.Redirect(rw, r, "/suppliers/s/"+url.PathEscape(sp.ID), http.StatusFound)
		return
	}
	d := supplierData{Supplier: sp, Node: "supplier:" + sp.ID, Rep: isRepOnly(sc), IncidentError: r.URL.Query().Get("incident"),
		OpenIncident: w.o.Cases != nil && sc.CanAt(scope.Write, "/"+org.RootCode+"/")}
	if w.o.Assurance != nil {
		if d.Certificates, err = w.o.Assurance.Certificates(ctx, sc, sp.ID); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		if d.Statements, err = w.o.Assurance.ListStatements(ctx, sc, assurance.StatementFilter{SupplierID: sp.ID}); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		if d.Schemes, err = w.supplierSchemes(ctx, r, sc, sp.ID); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		if err := w.supplierPosture(r, sc, &d); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	if w.o.Assurance != nil && sp.ODSCode != "" {
		if d.DSPT, err = w.o.Assurance.SupplierDSPT(ctx, sc, sp.ID); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
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
		deps, err := w.o.Supply.ListDependencies(ctx, sc, p.ID)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		for _, dp := range deps {
			dr := dependencyRow{Dependency: dp}
			// From the graph, within the caller's view: a product they may
			// not see keeps its bare ID.
			if m, err := w.o.Supply.Lookup(ctx, sc, supply.KindProduct, dp.DependsOnID); err == nil && m.ID == dp.DependsOnID {
				dr.Name = m.Name
			}
			row.Dependencies = append(row.Dependencies, dr)
		}
		deploys, err := w.o.Supply.ListDeployments(ctx, sc, supply.DeploymentFilter{ProductID: p.ID})
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		orgs := map[string]bool{}
		for _, dp := range deploys {
			orgs[dp.OrgODS] = true
			row.Services = appendOnce(row.Services, dp.Service)
			if len(d.Deployments) < maxDeploymentRows {
				d.Deployments = append(d.Deployments, deploymentRow{Deployment: dp, OrgName: names(dp.OrgODS), ProductName: p.Name})
			} else {
				d.MoreDeploys++
			}
		}
		sort.Strings(row.Services)
		row.Deployments, row.Orgs = len(deploys), len(orgs)
		d.Products = append(d.Products, row)
	}
	v := w.page(r, sc, sp.Name, "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_supplier", v)
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
	// Schemes is the product's DTAC and clinical safety section.
	Schemes *schemesView
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
	if p.ID != id { // found by its ID in another case, or its name
		http.Redirect(rw, r, "/suppliers/p/"+url.PathEscape(p.ID), http.StatusFound)
		return
	}
	sp, err := w.o.Supply.GetSupplier(ctx, sc, p.SupplierID)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := productData{Product: p, Supplier: sp, Node: "product:" + p.ID}
	if d.Schemes, err = w.productSchemes(ctx, r, sc, p.ID); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
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
