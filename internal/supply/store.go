package supply

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Register is the whole register as one document: the JSON import and
// export format, and what the graph is built from.
type Register struct {
	// FormatVersion is 1.
	FormatVersion int          `json:"format_version"`
	GeneratedAt   string       `json:"generated_at,omitempty"`
	Suppliers     []Supplier   `json:"suppliers"`
	Products      []Product    `json:"products"`
	Dependencies  []Dependency `json:"dependencies"`
	Deployments   []Deployment `json:"deployments"`
	Vulns         []Vuln       `json:"vulns"`
	Contracts     []Contract   `json:"contracts"`
}

const (
	supplierCols   = `supplier_id, name, companies_house_number, duns, parent_supplier_id, country, ods_code, tenant_org, designated_critical, contacts, updated_at`
	productCols    = `product_id, supplier_id, name, kind, version, data, updated_at`
	dependencyCols = `product_id, depends_on_product_id, kind, critical, updated_at`
	deploymentCols = `org_ods, product_id, service, criticality, has_fallback, updated_at`
	vulnCols       = `product_id, cve, component, updated_at`
	contractCols   = `contract_id, org_ods, supplier_id, product_id, start_date, end_date, value_gbp, data_processed, exit_plan, substitutability, updated_at`
)

type scanner interface{ Scan(...any) error }

func scanSupplier(r scanner) (Supplier, error) {
	var s Supplier
	err := r.Scan(&s.ID, &s.Name, &s.CompaniesHouseNumber, &s.DUNS, &s.ParentID, &s.Country, &s.ODSCode, &s.TenantOrg, &s.DesignatedCritical, &s.Contacts, &s.UpdatedAt)
	return s, err
}

func scanProduct(r scanner) (Product, error) {
	var p Product
	err := r.Scan(&p.ID, &p.SupplierID, &p.Name, &p.Kind, &p.Version, &p.Data, &p.UpdatedAt)
	return p, err
}

func scanDependency(r scanner) (Dependency, error) {
	var d Dependency
	err := r.Scan(&d.ProductID, &d.DependsOnID, &d.Kind, &d.Critical, &d.UpdatedAt)
	return d, err
}

func scanDeployment(r scanner) (Deployment, error) {
	var d Deployment
	err := r.Scan(&d.OrgODS, &d.ProductID, &d.Service, &d.Criticality, &d.HasFallback, &d.UpdatedAt)
	return d, err
}

func scanVuln(r scanner) (Vuln, error) {
	var v Vuln
	err := r.Scan(&v.ProductID, &v.CVE, &v.Component, &v.UpdatedAt)
	return v, err
}

func scanContract(r scanner) (Contract, error) {
	var c Contract
	err := r.Scan(&c.ID, &c.OrgODS, &c.SupplierID, &c.ProductID, &c.StartDate, &c.EndDate, &c.ValueGBP, &c.DataProcessed, &c.ExitPlan, &c.Substitutability, &c.UpdatedAt)
	return c, err
}

func queryAll[T any](ctx context.Context, q store.Queryer, sqlText string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("supply: %s: %w", firstWords(sqlText), err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("supply: scan: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func firstWords(s string) string {
	if len(s) > 60 {
		s = s[:60]
	}
	return strings.Join(strings.Fields(s), " ")
}

// readRegister reads every register row in key order, unscoped (callers
// apply scope). Contracts are read only when asked for: the graph does not
// need them.
func readRegister(ctx context.Context, q store.Queryer, contracts bool) (*Register, error) {
	r := &Register{FormatVersion: 1}
	var err error
	if r.Suppliers, err = queryAll(ctx, q, `SELECT `+supplierCols+` FROM supply_suppliers ORDER BY supplier_id`, scanSupplier); err != nil {
		return nil, err
	}
	if r.Products, err = queryAll(ctx, q, `SELECT `+productCols+` FROM supply_products ORDER BY product_id`, scanProduct); err != nil {
		return nil, err
	}
	if r.Dependencies, err = queryAll(ctx, q, `SELECT `+dependencyCols+` FROM supply_dependencies ORDER BY product_id, depends_on_product_id`, scanDependency); err != nil {
		return nil, err
	}
	if r.Deployments, err = queryAll(ctx, q, `SELECT `+deploymentCols+` FROM supply_deployments ORDER BY org_ods, product_id, service`, scanDeployment); err != nil {
		return nil, err
	}
	if r.Vulns, err = queryAll(ctx, q, `SELECT `+vulnCols+` FROM supply_product_vulns ORDER BY product_id, cve`, scanVuln); err != nil {
		return nil, err
	}
	if contracts {
		if r.Contracts, err = queryAll(ctx, q, `SELECT `+contractCols+` FROM supply_contracts ORDER BY contract_id`, scanContract); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func getSupplier(ctx context.Context, q store.Queryer, id string) (Supplier, error) {
	return queryByID(ctx, q, `SELECT `+supplierCols+` FROM supply_suppliers WHERE supplier_id = ?`, scanSupplier, id)
}

func getProduct(ctx context.Context, q store.Queryer, id string) (Product, error) {
	return queryByID(ctx, q, `SELECT `+productCols+` FROM supply_products WHERE product_id = ?`, scanProduct, id)
}

// queryByID reads the one row sqlText selects for id: fault.ErrNotFound
// when there is none, or id could not be an ID.
func queryByID[T any](ctx context.Context, q store.Queryer, sqlText string, scan func(scanner) (T, error), id string) (T, error) {
	if !validID(id) {
		var zero T
		return zero, fault.ErrNotFound
	}
	v, err := scan(q.QueryRowContext(ctx, sqlText, id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fault.ErrNotFound
	}
	return v, err
}

// chain returns supplier id and its group parents, nearest first.
func chain(ctx context.Context, q store.Queryer, id string) ([]Supplier, error) {
	var out []Supplier
	for n := 0; id != "" && n < 64; n++ {
		s, err := getSupplier(ctx, q, id)
		if err != nil {
			if errors.Is(err, fault.ErrNotFound) && n > 0 {
				break
			}
			return nil, err
		}
		out = append(out, s)
		id = s.ParentID
	}
	return out, nil
}

// orgPathOf returns an organisation's path from the graph's org index
// (organisations change rarely; a stale graph is fine for this lookup).
func (s *Service) orgPathOf(ctx context.Context, code string) (string, bool, error) {
	g := s.graph.Load()
	if g == nil {
		var err error
		if g, err = s.current(ctx); err != nil {
			return "", false, err
		}
	}
	if i, ok := g.orgIdx[code]; ok {
		return g.orgs[i].path, true, nil
	}
	// Not in the (possibly stale) graph: rebuild once before saying no.
	g, err := s.current(ctx)
	if err != nil {
		return "", false, err
	}
	if i, ok := g.orgIdx[code]; ok {
		return g.orgs[i].path, true, nil
	}
	return "", false, nil
}

// ownsChain reports whether sc holds p on the tenant of any supplier in c.
func (s *Service) ownsChain(ctx context.Context, sc scope.Scope, c []Supplier, p scope.Perm) (bool, error) {
	for _, sp := range c {
		if sp.TenantOrg == "" {
			continue
		}
		path, ok, err := s.orgPathOf(ctx, sp.TenantOrg)
		if err != nil {
			return false, err
		}
		if ok && sc.CanAt(p, path) {
			return true, nil
		}
	}
	return false, nil
}

// tenantOf is the organisation an audit entry about supplier chain c is filed under.
func tenantOf(c []Supplier) string {
	for _, sp := range c {
		if sp.TenantOrg != "" {
			return sp.TenantOrg
		}
	}
	return ""
}

// canSeeSupplier applies the register visibility rule of access.go.
func (s *Service) canSeeSupplier(ctx context.Context, sc scope.Scope, c []Supplier) (bool, error) {
	if nhsReader(sc) {
		return true, nil
	}
	return s.ownsChain(ctx, sc, c, scope.Read)
}

// canEditSupplier: supply-chain managers, or the supplier's own representatives.
func (s *Service) canEditSupplier(ctx context.Context, sc scope.Scope, c []Supplier) (bool, error) {
	if registerEditor(sc) {
		return true, nil
	}
	return s.ownsChain(ctx, sc, c, scope.Write)
}

// canWriteOrg: the organisation itself (Write) or a supply-chain manager over it (Supply).
func (s *Service) canWriteOrg(ctx context.Context, sc scope.Scope, code string) (bool, error) {
	path, ok, err := s.orgPathOf(ctx, code)
	if err != nil || !ok {
		return false, err
	}
	return sc.CanAt(scope.Write, path) || sc.CanAt(scope.Supply, path), nil
}

// change runs fn and its audit entry in one transaction, then marks the
// graph stale.
func (s *Service) change(ctx context.Context, sc scope.Scope, c audit.Change, fn func(tx *store.Tx) error) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, c); err != nil {
			return err
		}
		return bump(ctx, tx)
	})
	if err == nil {
		s.epoch.Add(1)
		s.changed()
	}
	return err
}

// ---- Suppliers ----

// PutSupplier creates or replaces a supplier. Supply-chain managers may
// change any supplier; a supplier's representatives may change their own
// supplier's description but not the register's fields (registerFields in
// access.go), and may not create suppliers.
func (s *Service) PutSupplier(ctx context.Context, sc scope.Scope, sp Supplier) (Supplier, error) {
	if err := sp.check().err(); err != nil {
		return Supplier{}, err
	}
	q := s.db.Q()
	before, err := chain(ctx, q, sp.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Supplier{}, err
	}
	var old Supplier
	if exists {
		if ok, err := s.canEditSupplier(ctx, sc, before); err != nil || !ok {
			return Supplier{}, notFoundOr(err, "supplier %s", sp.ID)
		}
		old = before[0]
	} else if !registerEditor(sc) {
		return Supplier{}, fmt.Errorf("supplier %s: %w", sp.ID, fault.ErrNotFound)
	}
	// Checked before anything is looked up for the new values, so a
	// representative learns nothing about organisations or suppliers
	// outside their view by naming them.
	if !registerEditor(sc) {
		if f, was := registerFieldChange(old, sp); f != "" {
			return Supplier{}, fmt.Errorf("%w: %s %s", fault.ErrForbidden, f, keptByRegister(was))
		}
	}
	if err := s.checkSupplierOrgs(ctx, sc, old, sp); err != nil {
		return Supplier{}, err
	}
	var parents []Supplier
	if sp.ParentID != "" {
		parents, err = chain(ctx, q, sp.ParentID)
		if errors.Is(err, fault.ErrNotFound) {
			return Supplier{}, fault.Invalidf("parent_supplier_id", "supplier %s not found", sp.ParentID)
		}
		if err != nil {
			return Supplier{}, err
		}
		for _, p := range parents {
			if p.ID == sp.ID {
				return Supplier{}, fault.Invalidf("parent_supplier_id", "%s is already in %s's group below it: that would make a cycle", sp.ParentID, sp.ID)
			}
		}
	}
	after := append([]Supplier{sp}, parents...)
	if !registerEditor(sc) {
		// A representative must still own the supplier after the change.
		if ok, err := s.ownsChain(ctx, sc, after, scope.Write); err != nil || !ok {
			return Supplier{}, notFoundOr(err, "supplier %s", sp.ID)
		}
	}
	sp.UpdatedAt = s.stamp()
	var prev any
	if exists {
		prev = old
	}
	err = s.change(ctx, sc, audit.Change{Action: "supply.supplier.put", ObjectType: "supplier", ObjectID: sp.ID, Org: tenantOf(after), Before: prev, After: sp},
		func(tx *store.Tx) error {
			// The unique index decides a race between two writers of the same code.
			if err := upsertSuppliers(ctx, tx, []Supplier{sp}); store.IsUniqueViolation(err) {
				return fmt.Errorf("%w: ods_code: %s is already the ODS code of another supplier", fault.ErrConflict, sp.ODSCode)
			} else if err != nil {
				return err
			}
			return nil
		})
	return sp, err
}

// checkSupplierOrgs checks the organisations sp names: tenant_org must
// exist; a new ods_code must name an organisation the caller holds Supply
// over (only a supply-chain manager says which NHS body a supplier is) and
// no other supplier may have it, since impact?supplier=CODE resolves the
// code to one supplier.
func (s *Service) checkSupplierOrgs(ctx context.Context, sc scope.Scope, old, sp Supplier) error {
	if sp.TenantOrg != "" {
		if _, ok, err := s.orgPathOf(ctx, sp.TenantOrg); err != nil {
			return err
		} else if !ok {
			return fault.Invalidf("tenant_org", "organisation %s not found", sp.TenantOrg)
		}
	}
	if sp.ODSCode == "" {
		return nil
	}
	path, ok, err := s.orgPathOf(ctx, sp.ODSCode)
	if err != nil {
		return err
	}
	if !ok || (sp.ODSCode != old.ODSCode && !sc.CanAt(scope.Supply, path)) {
		return fault.Invalidf("ods_code", "organisation %s not found", sp.ODSCode)
	}
	var other string
	err = s.db.Q().QueryRowContext(ctx, `SELECT supplier_id FROM supply_suppliers WHERE ods_code = ? AND supplier_id <> ? ORDER BY supplier_id LIMIT 1`, sp.ODSCode, sp.ID).Scan(&other)
	switch {
	case err == nil:
		return fmt.Errorf("%w: ods_code: %s is already the ODS code of supplier %s", fault.ErrConflict, sp.ODSCode, other)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	return nil
}

func notFoundOr(err error, format string, a ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), fault.ErrNotFound)
}

// GetSupplier returns one supplier the caller may see.
//
// id is the ID, or by Lookup's rule the ID in another case or the name.
func (s *Service) GetSupplier(ctx context.Context, sc scope.Scope, id string) (Supplier, error) {
	c, err := chain(ctx, s.db.Q(), id)
	if errors.Is(err, fault.ErrNotFound) {
		if other, ok := s.canonical(ctx, sc, KindSupplier, id); ok {
			return s.GetSupplier(ctx, sc, other)
		}
	}
	if err != nil {
		return Supplier{}, notFoundOr(errIfNot(err), "supplier %s", id)
	}
	if ok, err := s.canSeeSupplier(ctx, sc, c); err != nil || !ok {
		return Supplier{}, notFoundOr(err, "supplier %s", id)
	}
	return c[0], nil
}

// errIfNot turns ErrNotFound into nil so notFoundOr adds the object's name.
func errIfNot(err error) error {
	if errors.Is(err, fault.ErrNotFound) {
		return nil
	}
	return err
}

// ListSuppliers returns the suppliers the caller may see, by ID.
func (s *Service) ListSuppliers(ctx context.Context, sc scope.Scope) ([]Supplier, error) {
	all, err := queryAll(ctx, s.db.Q(), `SELECT `+supplierCols+` FROM supply_suppliers ORDER BY supplier_id`, scanSupplier)
	if err != nil || nhsReader(sc) {
		return all, err
	}
	g, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	v := g.viewFor(sc)
	out := all[:0]
	for _, sp := range all {
		if i, ok := g.supIdx[sp.ID]; ok && v.supplierVisible(i) {
			out = append(out, sp)
		}
	}
	return out, nil
}

// ---- Products ----

// PutProduct creates or replaces a product of a supplier the caller may edit.
func (s *Service) PutProduct(ctx context.Context, sc scope.Scope, p Product) (Product, error) {
	if err := p.check().err(); err != nil {
		return Product{}, err
	}
	q := s.db.Q()
	old, err := getProduct(ctx, q, p.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Product{}, err
	}
	if exists {
		oc, err := chain(ctx, q, old.SupplierID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return Product{}, err
		}
		if ok, err := s.canEditSupplier(ctx, sc, oc); err != nil || !ok {
			return Product{}, notFoundOr(err, "product %s", p.ID)
		}
	}
	c, err := chain(ctx, q, p.SupplierID)
	if err != nil {
		return Product{}, notFoundOr(errIfNot(err), "supplier %s", p.SupplierID)
	}
	if ok, err := s.canEditSupplier(ctx, sc, c); err != nil || !ok {
		return Product{}, notFoundOr(err, "supplier %s", p.SupplierID)
	}
	p.UpdatedAt = s.stamp()
	var prev any
	if exists {
		prev = old
	}
	err = s.change(ctx, sc, audit.Change{Action: "supply.product.put", ObjectType: "product", ObjectID: p.ID, Org: tenantOf(c), Before: prev, After: p},
		func(tx *store.Tx) error { return upsertProducts(ctx, tx, []Product{p}) })
	return p, err
}

// DeleteProduct removes a product the caller may change, with the
// dependencies it declares and the CVEs recorded against it. A product that
// organisations deploy, or that other products depend on, is refused with
// fault.ErrConflict: those records belong to the organisations and
// suppliers that made them, so they are removed first, by them.
func (s *Service) DeleteProduct(ctx context.Context, sc scope.Scope, id string) error {
	c, err := s.editableProduct(ctx, sc, id)
	if err != nil {
		return err
	}
	q := s.db.Q()
	old, err := getProduct(ctx, q, id)
	if err != nil {
		return err
	}
	return s.change(ctx, sc, audit.Change{Action: "supply.product.delete", ObjectType: "product", ObjectID: id, Org: tenantOf(c), Before: old},
		func(tx *store.Tx) error {
			// Counted inside the transaction, so nothing can start to
			// depend on the product between the check and the delete.
			var deployed int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM supply_deployments WHERE product_id = ?`, id).Scan(&deployed); err != nil {
				return err
			}
			dependents, err := queryAll(ctx, tx, `SELECT product_id FROM supply_dependencies WHERE depends_on_product_id = ? ORDER BY product_id`,
				func(r scanner) (string, error) { var p string; return p, r.Scan(&p) }, id)
			if err != nil {
				return err
			}
			if deployed > 0 || len(dependents) > 0 {
				return s.inUse(ctx, tx, sc, id, deployed, dependents)
			}
			for _, stmt := range []string{
				`DELETE FROM supply_dependencies WHERE product_id = ?`,
				`DELETE FROM supply_product_vulns WHERE product_id = ?`,
				`DELETE FROM supply_products WHERE product_id = ?`,
			} {
				if _, err := tx.ExecContext(ctx, stmt, id); err != nil {
					return err
				}
			}
			return nil
		})
}

// inUse is the conflict that refuses deleting product id, which
// organisations deploy (deployed times) or the dependents depend on. It
// counts only what the caller may see: a supplier representative sees no
// deployments and no other supplier's products, and a region lead only
// their region's deployments, so the numbers outside their view are
// neither given nor implied.
func (s *Service) inUse(ctx context.Context, tx *store.Tx, sc scope.Scope, id string, deployed int, dependents []string) error {
	where, args := sc.Filter("org_ods", scope.Read)
	var seenDeployed int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM supply_deployments WHERE product_id = ? AND `+where, append([]any{id}, args...)...).Scan(&seenDeployed); err != nil {
		return err
	}
	g, err := s.current(ctx)
	if err != nil {
		return err
	}
	v := g.viewFor(sc)
	seenDependents := 0
	for _, d := range dependents {
		if i, ok := g.prodIdx[d]; ok && v.productVisible(g, i) {
			seenDependents++
		}
	}
	switch {
	case seenDeployed == 0 && seenDependents == 0:
		return fmt.Errorf("%w: product %s is still deployed by organisations or depended on by products that you cannot see, so it cannot be deleted; ask a supply-chain manager", fault.ErrConflict, id)
	case seenDeployed == deployed && seenDependents == len(dependents):
		return fmt.Errorf("%w: product %s is deployed %d times and %d products depend on it; remove those first", fault.ErrConflict, id, deployed, len(dependents))
	}
	return fmt.Errorf("%w: product %s is deployed %d times and %d products depend on it as far as you can see, and by others outside your view; remove yours first and ask a supply-chain manager about the rest",
		fault.ErrConflict, id, seenDeployed, seenDependents)
}

// GetProduct returns one product the caller may see. id is the ID, or by
// Lookup's rule the ID in another case or the name.
func (s *Service) GetProduct(ctx context.Context, sc scope.Scope, id string) (Product, error) {
	q := s.db.Q()
	p, err := getProduct(ctx, q, id)
	if errors.Is(err, fault.ErrNotFound) {
		if other, ok := s.canonical(ctx, sc, KindProduct, id); ok {
			return s.GetProduct(ctx, sc, other)
		}
	}
	if err != nil {
		return Product{}, notFoundOr(errIfNot(err), "product %s", id)
	}
	c, err := chain(ctx, q, p.SupplierID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Product{}, err
	}
	if ok, err := s.canSeeSupplier(ctx, sc, c); err != nil || !ok {
		return Product{}, notFoundOr(err, "product %s", id)
	}
	return p, nil
}

// ListProducts returns the products of supplierID (all visible products
// when empty) that the caller may see.
func (s *Service) ListProducts(ctx context.Context, sc scope.Scope, supplierID string) ([]Product, error) {
	q := `SELECT ` + productCols + ` FROM supply_products`
	var args []any
	if supplierID != "" {
		sp, err := s.GetSupplier(ctx, sc, supplierID)
		if err != nil {
			return nil, err
		}
		q += ` WHERE supplier_id = ?`
		args = append(args, sp.ID)
	}
	all, err := queryAll(ctx, s.db.Q(), q+` ORDER BY product_id`, scanProduct, args...)
	if err != nil || nhsReader(sc) {
		return all, err
	}
	g, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	v := g.viewFor(sc)
	out := all[:0]
	for _, p := range all {
		if i, ok := g.prodIdx[p.ID]; ok && v.productVisible(g, i) {
			out = append(out, p)
		}
	}
	return out, nil
}

// EditableProduct returns product id if the caller may change it (a
// supply-chain manager, or the supplier's own representatives), else
// fault.ErrNotFound. Other domains attaching things to a product (its
// SBOMs) ask it.
func (s *Service) EditableProduct(ctx context.Context, sc scope.Scope, id string) (Product, error) {
	p, err := s.GetProduct(ctx, sc, id)
	if err != nil {
		return Product{}, err
	}
	if _, err := s.editableProduct(ctx, sc, p.ID); err != nil {
		return Product{}, err
	}
	return p, nil
}

// editableProduct returns product id's supplier chain if the caller may
// edit it, else ErrNotFound.
func (s *Service) editableProduct(ctx context.Context, sc scope.Scope, id string) ([]Supplier, error) {
	q := s.db.Q()
	p, err := getProduct(ctx, q, id)
	if err != nil {
		return nil, notFoundOr(errIfNot(err), "product %s", id)
	}
	c, err := chain(ctx, q, p.SupplierID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return nil, err
	}
	if ok, err := s.canEditSupplier(ctx, sc, c); err != nil || !ok {
		return nil, notFoundOr(err, "product %s", id)
	}
	return c, nil
}

// ---- Dependencies ----

// PutDependency records that d.ProductID depends on d.DependsOnID. The
// caller must be able to edit the depending product; the product depended
// on must exist (it may belong to any supplier). Cycles are allowed — real
// estates have them — and reported by Stats and imports.
func (s *Service) PutDependency(ctx context.Context, sc scope.Scope, d Dependency) (Dependency, error) {
	if err := d.check().err(); err != nil {
		return Dependency{}, err
	}
	c, err := s.editableProduct(ctx, sc, d.ProductID)
	if err != nil {
		return Dependency{}, err
	}
	if _, err := getProduct(ctx, s.db.Q(), d.DependsOnID); err != nil {
		return Dependency{}, notFoundOr(errIfNot(err), "product %s", d.DependsOnID)
	}
	d.UpdatedAt = s.stamp()
	err = s.change(ctx, sc, audit.Change{Action: "supply.dependency.put", ObjectType: "dependency", ObjectID: d.ProductID + "->" + d.DependsOnID, Org: tenantOf(c), After: d},
		func(tx *store.Tx) error { return upsertDependencies(ctx, tx, []Dependency{d}) })
	return d, err
}

// DeleteDependency removes one dependency edge.
func (s *Service) DeleteDependency(ctx context.Context, sc scope.Scope, productID, dependsOnID string) error {
	c, err := s.editableProduct(ctx, sc, productID)
	if err != nil {
		return err
	}
	if !validID(dependsOnID) {
		return fmt.Errorf("dependency %s -> %s: %w", productID, dependsOnID, fault.ErrNotFound)
	}
	old, err := scanDependency(s.db.Q().QueryRowContext(ctx, `SELECT `+dependencyCols+` FROM supply_dependencies WHERE product_id = ? AND depends_on_product_id = ?`, productID, dependsOnID))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("dependency %s -> %s: %w", productID, dependsOnID, fault.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return s.change(ctx, sc, audit.Change{Action: "supply.dependency.delete", ObjectType: "dependency", ObjectID: productID + "->" + dependsOnID, Org: tenantOf(c), Before: old},
		func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM supply_dependencies WHERE product_id = ? AND depends_on_product_id = ?`, productID, dependsOnID)
			return err
		})
}

// ListDependencies returns the dependencies declared by productID.
func (s *Service) ListDependencies(ctx context.Context, sc scope.Scope, productID string) ([]Dependency, error) {
	if _, err := s.GetProduct(ctx, sc, productID); err != nil {
		return nil, err
	}
	return queryAll(ctx, s.db.Q(), `SELECT `+dependencyCols+` FROM supply_dependencies WHERE product_id = ? ORDER BY depends_on_product_id`, scanDependency, productID)
}

// ---- Vulnerabilities ----

// PutVuln records that a product contains a CVE.
func (s *Service) PutVuln(ctx context.Context, sc scope.Scope, v Vuln) (Vuln, error) {
	if err := v.check().err(); err != nil {
		return Vuln{}, err
	}
	c, err := s.editableProduct(ctx, sc, v.ProductID)
	if err != nil {
		return Vuln{}, err
	}
	v.UpdatedAt = s.stamp()
	err = s.change(ctx, sc, audit.Change{Action: "supply.vuln.put", ObjectType: "product_vuln", ObjectID: v.ProductID + "/" + v.CVE, Org: tenantOf(c), After: v},
		func(tx *store.Tx) error { return upsertVulns(ctx, tx, []Vuln{v}) })
	return v, err
}

// DeleteVuln removes a CVE from a product.
func (s *Service) DeleteVuln(ctx context.Context, sc scope.Scope, productID, cve string) error {
	cve = normCVE(cve)
	c, err := s.editableProduct(ctx, sc, productID)
	if err != nil {
		return err
	}
	if !validCVE(cve) {
		return fmt.Errorf("vulnerability %s of %s: %w", cve, productID, fault.ErrNotFound)
	}
	return s.change(ctx, sc, audit.Change{Action: "supply.vuln.delete", ObjectType: "product_vuln", ObjectID: productID + "/" + cve, Org: tenantOf(c)},
		func(tx *store.Tx) error {
			r, err := tx.ExecContext(ctx, `DELETE FROM supply_product_vulns WHERE product_id = ? AND cve = ?`, productID, cve)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 0 {
				return fmt.Errorf("vulnerability %s of %s: %w", cve, productID, fault.ErrNotFound)
			}
			return nil
		})
}

// ---- Deployments ----

// PutDeployment records that an organisation uses a product for a service.
// The caller needs Write or Supply on the organisation.
func (s *Service) PutDeployment(ctx context.Context, sc scope.Scope, d Deployment) (Deployment, error) {
	if err := d.check().err(); err != nil {
		return Deployment{}, err
	}
	if ok, err := s.canWriteOrg(ctx, sc, d.OrgODS); err != nil || !ok {
		return Deployment{}, notFoundOr(err, "organisation %s", d.OrgODS)
	}
	if _, err := s.GetProduct(ctx, sc, d.ProductID); err != nil {
		return Deployment{}, err
	}
	q := s.db.Q()
	old, err := scanDeployment(q.QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM supply_deployments WHERE org_ods = ? AND product_id = ? AND service = ?`, d.OrgODS, d.ProductID, d.Service))
	var prev any
	if err == nil {
		prev = old
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, err
	}
	d.UpdatedAt = s.stamp()
	err = s.change(ctx, sc, audit.Change{Action: "supply.deployment.put", ObjectType: "deployment", ObjectID: d.OrgODS + "/" + d.ProductID + "/" + d.Service, Org: d.OrgODS, Before: prev, After: d},
		func(tx *store.Tx) error { return upsertDeployments(ctx, tx, []Deployment{d}) })
	return d, err
}

// DeleteDeployment removes one deployment.
func (s *Service) DeleteDeployment(ctx context.Context, sc scope.Scope, orgODS, productID, service string) error {
	service = normService(service)
	if ok, err := s.canWriteOrg(ctx, sc, orgODS); err != nil || !ok {
		return notFoundOr(err, "organisation %s", orgODS)
	}
	if !validID(productID) || !validKey(service) {
		return fmt.Errorf("deployment %s/%s/%s: %w", orgODS, productID, service, fault.ErrNotFound)
	}
	old, err := scanDeployment(s.db.Q().QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM supply_deployments WHERE org_ods = ? AND product_id = ? AND service = ?`, orgODS, productID, service))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("deployment %s/%s/%s: %w", orgODS, productID, service, fault.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return s.change(ctx, sc, audit.Change{Action: "supply.deployment.delete", ObjectType: "deployment", ObjectID: orgODS + "/" + productID + "/" + service, Org: orgODS, Before: old},
		func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM supply_deployments WHERE org_ods = ? AND product_id = ? AND service = ?`, orgODS, productID, service)
			return err
		})
}

// DeploymentFilter narrows ListDeployments; zero fields match everything.
type DeploymentFilter struct {
	OrgODS    string
	ProductID string
	Service   string
	Limit     int // default and maximum 10,000
}

// ListDeployments returns deployments of organisations the caller may read.
func (s *Service) ListDeployments(ctx context.Context, sc scope.Scope, f DeploymentFilter) ([]Deployment, error) {
	if !validKey(f.OrgODS, f.ProductID, f.Service) {
		return nil, nil // no stored row holds such a value
	}
	// The filters forgive as every field does (Lookup's rule); one that
	// names nothing the caller may see filters everything out.
	for _, x := range []struct {
		kind Kind
		v    *string
	}{{KindOrg, &f.OrgODS}, {KindProduct, &f.ProductID}, {KindService, &f.Service}} {
		if *x.v != "" {
			if id, ok := s.canonical(ctx, sc, x.kind, *x.v); ok {
				*x.v = id
			}
		}
	}
	where, args := sc.Filter("org_ods", scope.Read)
	conds := []string{where}
	if f.OrgODS != "" {
		conds, args = append(conds, "org_ods = ?"), append(args, f.OrgODS)
	}
	if f.ProductID != "" {
		conds, args = append(conds, "product_id = ?"), append(args, f.ProductID)
	}
	if f.Service != "" {
		conds, args = append(conds, "service = ?"), append(args, normService(f.Service))
	}
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 10000
	}
	args = append(args, f.Limit)
	return queryAll(ctx, s.db.Q(), `SELECT `+deploymentCols+` FROM supply_deployments WHERE `+strings.Join(conds, " AND ")+` ORDER BY org_ods, product_id, service LIMIT ?`, scanDeployment, args...)
}

// ---- Contracts ----

// PutContract creates or replaces a contract; the caller needs Write or
// Supply on the contracting organisation.
func (s *Service) PutContract(ctx context.Context, sc scope.Scope, c Contract) (Contract, error) {
	if err := c.check().err(); err != nil {
		return Contract{}, err
	}
	if ok, err := s.canWriteOrg(ctx, sc, c.OrgODS); err != nil || !ok {
		return Contract{}, notFoundOr(err, "organisation %s", c.OrgODS)
	}
	q := s.db.Q()
	old, err := scanContract(q.QueryRowContext(ctx, `SELECT `+contractCols+` FROM supply_contracts WHERE contract_id = ?`, c.ID))
	var prev any
	switch {
	case err == nil:
		if ok, err := s.canWriteOrg(ctx, sc, old.OrgODS); err != nil || !ok {
			return Contract{}, notFoundOr(err, "contract %s", c.ID)
		}
		prev = old
	case !errors.Is(err, sql.ErrNoRows):
		return Contract{}, err
	}
	if _, err := s.GetSupplier(ctx, sc, c.SupplierID); err != nil {
		return Contract{}, err
	}
	if c.ProductID != "" {
		if _, err := s.GetProduct(ctx, sc, c.ProductID); err != nil {
			return Contract{}, err
		}
	}
	c.UpdatedAt = s.stamp()
	err = s.change(ctx, sc, audit.Change{Action: "supply.contract.put", ObjectType: "contract", ObjectID: c.ID, Org: c.OrgODS, Before: prev, After: c},
		func(tx *store.Tx) error { return upsertContracts(ctx, tx, []Contract{c}) })
	return c, err
}

// ListContracts returns contracts of organisations the caller may read,
// optionally of one organisation.
func (s *Service) ListContracts(ctx context.Context, sc scope.Scope, orgODS string) ([]Contract, error) {
	if !validKey(orgODS) {
		return nil, nil
	}
	where, args := sc.Filter("org_ods", scope.Read)
	if orgODS != "" {
		where += " AND org_ods = ?"
		args = append(args, orgODS)
	}
	return queryAll(ctx, s.db.Q(), `SELECT `+contractCols+` FROM supply_contracts WHERE `+where+` ORDER BY contract_id`, scanContract, args...)
}
