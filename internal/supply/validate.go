package supply

import (
	"cmp"
	"maps"
	"slices"
	"strconv"

	"github.com/vigil-health/vigil/internal/scope"
)

// An import is validated one CSV table at a time, each by a table: every
// row is normalised and checked alone (its check method), then by the
// table's rule against the rows before it, the stored register, the
// organisation tree and the caller's scope; rows are matched on the
// table's key and a later row with an earlier one's key is a duplicate;
// what remains is compared with the stored rows to give what changes.
// validate builds the six tables and iterates them in the order their
// references run (suppliers before the products that name them, …).

// tableCheck is one CSV table's validation.
type tableCheck interface {
	validate(e *errList)
	plan(pl *plan)
}

// table validates the rows of one table whose rows are T, keyed by K.
type table[T stamped, K comparable] struct {
	name  string
	rows  []row[T]
	check func(*T) problems
	key   func(*T) K
	// rule checks a row beyond check, adding to the problems check found,
	// and says whether the row takes part (has a key worth matching).
	rule func(r *row[T], ps *problems) (keyed bool)
	// duplicate is the problem of a row whose key an earlier row has;
	// ok=false drops the row silently.
	duplicate func(r, first *row[T]) (field, reason string, ok bool)
	// then runs after every row, for checks that need the whole table.
	then func()
	// byKey writes the table in key order (nil: in file order).
	byKey func(a, b K) int
	// into is where the plan keeps the rows that change.
	into func(*plan) *[]T

	stored   map[K]*T
	accepted map[K]row[T]
	order    []K // accepted keys, in file order
}

func newTable[T stamped, K comparable](name string, rows []row[T], stored []T, check func(*T) problems, key func(*T) K) *table[T, K] {
	t := &table[T, K]{name: name, rows: rows, check: check, key: key, stored: make(map[K]*T, len(stored)), accepted: map[K]row[T]{}}
	for i := range stored {
		t.stored[key(&stored[i])] = &stored[i]
	}
	return t
}

func (t *table[T, K]) validate(e *errList) {
	for i := range t.rows {
		r := &t.rows[i]
		ps := t.check(&r.v)
		keyed := t.rule(r, &ps)
		for _, x := range ps {
			e.add(r.pos, x.field, "%s", x.reason)
		}
		if !keyed {
			continue
		}
		k := t.key(&r.v)
		if first, dup := t.accepted[k]; dup {
			if field, reason, ok := t.duplicate(r, &first); ok {
				e.add(r.pos, field, "%s", reason)
			}
			continue
		}
		t.accepted[k] = *r
		t.order = append(t.order, k)
	}
	if t.then != nil {
		t.then()
	}
}

func (t *table[T, K]) plan(pl *plan) {
	keys := t.order
	if t.byKey != nil {
		keys = slices.SortedFunc(slices.Values(keys), t.byKey)
	}
	c := TableCounts{Table: t.name}
	out := t.into(pl)
	for _, k := range keys {
		v := t.accepted[k].v
		if diffRow(&c, &v, t.stored[k]) {
			*out = append(*out, v)
		}
	}
	pl.counts = append(pl.counts, c)
}

// get returns the row with key k as the import leaves it: imported, or
// stored.
func (t *table[T, K]) get(k K) (T, bool) {
	if r, ok := t.accepted[k]; ok {
		return r.v, true
	}
	if x := t.stored[k]; x != nil {
		return *x, true
	}
	var zero T
	return zero, false
}

// duplicateOf is the usual duplicate problem: field names the row's key
// and what says which row it repeats.
func duplicateOf[T any](field string, what func(*T) string) func(r, first *row[T]) (string, string, bool) {
	return func(r, first *row[T]) (string, string, bool) {
		return field, "duplicate " + what(&r.v) + " (first at " + first.file + ":" + strconv.Itoa(first.line) + ")", true
	}
}

type depKey struct{ o, p, s string }
type vkey struct{ p, c string }

// validation is one import's checks: the caller, the organisation tree,
// and the six tables, whose rules look at each other.
type validation struct {
	sc       scope.Scope
	g        *graph
	national bool
	// refused marks supplier rows whose register fields a representative
	// changed: nothing they name is looked up, so the errors reveal nothing.
	refused map[pos]bool

	sup  *table[Supplier, string]
	prod *table[Product, string]
	dep  *table[Dependency, dkey]
	depl *table[Deployment, depKey]
	vuln *table[Vuln, vkey]
	con  *table[Contract, string]
	e    *errList
}

// validate normalises every row, checks it alone, against the other rows,
// the stored register, the organisation tree and the caller's scope, and
// returns the rows to write.
func (s *Service) validate(sc scope.Scope, g *graph, ex *Register, p *parsed) *plan {
	v := &validation{sc: sc, g: g, national: registerEditor(sc), refused: map[pos]bool{}, e: p.errs}
	v.sup = newTable(TableSuppliers, p.suppliers, ex.Suppliers, (*Supplier).check, func(x *Supplier) string { return x.ID })
	v.sup.rule, v.sup.then, v.sup.byKey = v.supplier, v.supplierGroups, cmp.Compare[string]
	v.sup.duplicate = duplicateOf("supplier_id", func(x *Supplier) string { return "supplier " + x.ID })
	v.sup.into = func(pl *plan) *[]Supplier { return &pl.suppliers }

	v.prod = newTable(TableProducts, p.products, ex.Products, (*Product).check, func(x *Product) string { return x.ID })
	v.prod.rule, v.prod.byKey = v.product, cmp.Compare[string]
	v.prod.duplicate = duplicateOf("product_id", func(x *Product) string { return "product " + x.ID })
	v.prod.into = func(pl *plan) *[]Product { return &pl.products }

	v.dep = newTable(TableDependencies, p.dependencies, ex.Dependencies, (*Dependency).check, func(x *Dependency) dkey { return dkey{x.ProductID, x.DependsOnID} })
	v.dep.rule = v.dependency
	v.dep.duplicate = duplicateOf("depends_on_product_id", func(x *Dependency) string { return "dependency " + x.ProductID + " -> " + x.DependsOnID })
	v.dep.then = func() { cycleWarnings(ex, v.dep.accepted, v.e) }
	v.dep.into = func(pl *plan) *[]Dependency { return &pl.dependencies }

	v.depl = newTable(TableDeployments, p.deployments, ex.Deployments, (*Deployment).check, func(x *Deployment) depKey { return depKey{x.OrgODS, x.ProductID, x.Service} })
	v.depl.rule = v.deployment
	v.depl.duplicate = duplicateOf("service", func(x *Deployment) string {
		return "deployment of " + x.ProductID + " by " + x.OrgODS + " for " + x.Service
	})
	v.depl.into = func(pl *plan) *[]Deployment { return &pl.deployments }

	v.vuln = newTable(TableVulns, p.vulns, ex.Vulns, (*Vuln).check, func(x *Vuln) vkey { return vkey{x.ProductID, x.CVE} })
	v.vuln.rule = v.vulnerability
	// The same CVE twice for a product is one finding unless the rows
	// name different components.
	v.vuln.duplicate = func(r, first *row[Vuln]) (string, string, bool) {
		if first.v.Component == r.v.Component || r.v.Component == "" {
			return "", "", false
		}
		return duplicateOf("cve", func(x *Vuln) string { return x.CVE + " for " + x.ProductID })(r, first)
	}
	v.vuln.into = func(pl *plan) *[]Vuln { return &pl.vulns }

	v.con = newTable(TableContracts, p.contracts, ex.Contracts, (*Contract).check, func(x *Contract) string { return x.ID })
	v.con.rule, v.con.byKey = v.contract, cmp.Compare[string]
	v.con.duplicate = duplicateOf("contract_id", func(x *Contract) string { return "contract " + x.ID })
	v.con.into = func(pl *plan) *[]Contract { return &pl.contracts }

	tables := []tableCheck{v.sup, v.prod, v.dep, v.depl, v.vuln, v.con}
	for _, t := range tables {
		t.validate(v.e)
	}
	pl := &plan{}
	for _, t := range tables {
		t.plan(pl)
	}
	return pl
}

func (v *validation) orgPath(code string) (string, bool) {
	if i, ok := v.g.orgIdx[code]; ok {
		return v.g.orgs[i].path, true
	}
	return "", false
}

// ownedBefore checks the stored chain only, so a representative cannot
// take over a supplier by naming their own tenant in the import.
func (v *validation) ownedBefore(id string) bool {
	for n := 0; id != "" && n < 64; n++ {
		sp := v.sup.stored[id]
		if sp == nil {
			return false
		}
		if path, ok := v.orgPath(sp.TenantOrg); ok && sp.TenantOrg != "" && v.sc.CanAt(scope.Write, path) {
			return true
		}
		id = sp.ParentID
	}
	return false
}

// owns reports whether the caller holds perm on the tenant of supplier id
// or of a group parent, as the import leaves them.
func (v *validation) owns(id string, perm scope.Perm) bool {
	for n := 0; id != "" && n < 64; n++ {
		sp, ok := v.sup.get(id)
		if !ok {
			return false
		}
		if path, ok := v.orgPath(sp.TenantOrg); ok && sp.TenantOrg != "" && v.sc.CanAt(perm, path) {
			return true
		}
		id = sp.ParentID
	}
	return false
}

// seesSupplier applies the register visibility rule to id.
func (v *validation) seesSupplier(id string) bool {
	_, ok := v.sup.get(id)
	return ok && (nhsReader(v.sc) || v.owns(id, scope.Read))
}

// editableProduct reports whether the caller may change product id.
func (v *validation) editableProduct(id string) bool {
	pr, ok := v.prod.get(id)
	return ok && (v.national || v.owns(pr.SupplierID, scope.Write))
}

// canOrg reports whether the caller may record what organisation code uses.
func (v *validation) canOrg(code string) bool {
	path, ok := v.orgPath(code)
	return ok && (v.sc.CanAt(scope.Write, path) || v.sc.CanAt(scope.Supply, path))
}

func (v *validation) supplier(r *row[Supplier], ps *problems) bool {
	x := &r.v
	if !validID(x.ID) {
		return false
	}
	old := v.sup.stored[x.ID]
	if !v.national && old != nil && v.ownedBefore(x.ID) {
		fields, was := registerFieldChanges(*old, *x)
		for k, f := range fields {
			ps.add(f, "%s", keptByRegister(was[k]))
		}
		v.refused[r.pos] = len(fields) > 0
	}
	if !v.refused[r.pos] {
		if x.ODSCode != "" {
			path, ok := v.orgPath(x.ODSCode)
			changed := old == nil || old.ODSCode != x.ODSCode
			if !ok || (changed && !v.sc.CanAt(scope.Supply, path)) {
				ps.add("ods_code", "organisation %s not found", x.ODSCode)
			}
		}
		if x.TenantOrg != "" {
			if _, ok := v.orgPath(x.TenantOrg); !ok {
				ps.add("tenant_org", "organisation %s not found", x.TenantOrg)
			}
		}
	}
	return true
}

// supplierGroups checks what needs every supplier row: ODS codes unique
// after the import (a code may move from one supplier to another in one
// import), representatives changing only their own suppliers, and group
// parents that exist and form no cycle.
func (v *validation) supplierGroups() {
	e := v.e
	byODS := map[string]string{} // stored codes of suppliers the import leaves alone
	for id, x := range v.sup.stored {
		if _, replaced := v.sup.accepted[id]; !replaced && x.ODSCode != "" {
			byODS[x.ODSCode] = x.ID
		}
	}
	claimed := map[string]row[Supplier]{}
	for _, r := range v.sup.rows {
		if nr, ok := v.sup.accepted[r.v.ID]; !ok || nr.pos != r.pos || r.v.ODSCode == "" || v.refused[r.pos] {
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
	for _, id := range slices.Sorted(maps.Keys(v.sup.accepted)) {
		r := v.sup.accepted[id]
		x := r.v
		if !v.national {
			// Representatives may change their own suppliers (before and after), never create one.
			if v.sup.stored[id] == nil || !v.ownedBefore(id) || !v.owns(id, scope.Write) {
				e.add(r.pos, "supplier_id", "supplier %s not found", id)
				continue
			}
		}
		if x.ParentID == "" || v.refused[r.pos] {
			continue
		}
		if _, ok := v.sup.get(x.ParentID); !ok {
			e.add(r.pos, "parent_supplier_id", "supplier %s not found", x.ParentID)
			continue
		}
		// Follow parents: a cycle comes back to x.
		for cur, n := x.ParentID, 0; cur != "" && n < 64; n++ {
			if cur == x.ID {
				e.add(r.pos, "parent_supplier_id", "group parents form a cycle through %s", x.ParentID)
				break
			}
			sp, _ := v.sup.get(cur)
			cur = sp.ParentID
		}
	}
}

func (v *validation) product(r *row[Product], ps *problems) bool {
	x := &r.v
	if !validID(x.ID) {
		return false
	}
	if _, ok := v.sup.get(x.SupplierID); !ok || (!v.national && !v.owns(x.SupplierID, scope.Write)) {
		ps.add("supplier_id", "supplier %s not found", x.SupplierID)
	} else if old := v.prod.stored[x.ID]; old != nil && !v.national && !v.ownedBefore(old.SupplierID) {
		ps.add("product_id", "product %s not found", x.ID)
	}
	return true
}

func (v *validation) dependency(r *row[Dependency], ps *problems) bool {
	x := &r.v
	// In the order the columns are read: kind (check), then the products.
	if !v.editableProduct(x.ProductID) {
		ps.add("product_id", "product %s not found", x.ProductID)
	}
	if _, ok := v.prod.get(x.DependsOnID); !ok {
		ps.add("depends_on_product_id", "product %s not found", x.DependsOnID)
	}
	return x.ProductID != x.DependsOnID
}

func (v *validation) deployment(r *row[Deployment], ps *problems) bool {
	x := &r.v
	if !v.canOrg(x.OrgODS) {
		ps.add("org_ods", "organisation %s not found", x.OrgODS)
	}
	if pr, ok := v.prod.get(x.ProductID); !ok || (!nhsReader(v.sc) && !v.owns(pr.SupplierID, scope.Read)) {
		ps.add("product_id", "product %s not found", x.ProductID)
	}
	return true
}

func (v *validation) vulnerability(r *row[Vuln], ps *problems) bool {
	if len(*ps) > 0 {
		return false
	}
	if !v.editableProduct(r.v.ProductID) {
		ps.add("product_id", "product %s not found", r.v.ProductID)
	}
	return true
}

func (v *validation) contract(r *row[Contract], ps *problems) bool {
	x := &r.v
	if !validID(x.ID) {
		return false
	}
	if !v.canOrg(x.OrgODS) {
		ps.add("org_ods", "organisation %s not found", x.OrgODS)
	} else if old := v.con.stored[x.ID]; old != nil && !v.canOrg(old.OrgODS) {
		ps.add("contract_id", "contract %s not found", x.ID)
	}
	// The supplier and product must be ones the caller may see, as
	// PutContract requires: existence is not an answer to give away.
	if !v.seesSupplier(x.SupplierID) {
		ps.add("supplier_id", "supplier %s not found", x.SupplierID)
	}
	if x.ProductID != "" {
		if pr, ok := v.prod.get(x.ProductID); !ok || !v.seesSupplier(pr.SupplierID) {
			ps.add("product_id", "product %s not found", x.ProductID)
		}
	}
	return true
}
