package supply

import (
	"fmt"

	"github.com/vigil-health/vigil/internal/scope"
)

// Who sees and changes what.
//
//   - The register (suppliers, products, dependencies, vulnerabilities) is
//     shared reference data: anyone holding Read through a role other than
//     supplier-rep (NHS staff) sees all of it.
//   - Supply-chain managers — anyone holding scope.Supply, nationally or
//     for a region — maintain the register and may change deployments and
//     contracts of organisations under their grant.
//   - Organisations maintain their own deployments and contracts:
//     scope.Write (or Supply) on the deployment's org_ods.
//   - Supplier representatives: a supplier row names its tenant
//     organisation (an org of type "supplier") in tenant_org; a caller with
//     Read on that tenant (or on the tenant of a group parent) sees that
//     supplier, its group subsidiaries, their products and the dependencies
//     those products declare (including the IDs of the products they
//     depend on), and with Write changes them. They see no other supplier,
//     no deployments, contracts of other suppliers, or which organisations
//     deploy anything: impact for them lists their affected products only.
//   - Of a supplier row, representatives change only the supplier's own
//     description (name, country, contacts). The register's fields — what
//     the NHS records about the supplier — are changed only by callers
//     holding scope.Supply: see registerFields.
//   - A supplier's ods_code (the NHS body it is, so impact?supplier=CODE
//     finds it) is unique among suppliers and names an organisation the
//     writer holds Supply over.
//   - Deployments, contracts and affected organisations in query results
//     are filtered to organisations where the caller holds Read: a region
//     lead sees only their region.
//   - Anything outside scope is fault.ErrNotFound, never "forbidden".
//   - Concentration and systemic-risk reports need scope.Supply and count
//     only organisations the caller may Read.
//   - Messages count only what the caller may see: a refused delete tells a
//     supplier representative that the product is in use, not how much.

// nhsReader reports whether sc holds Read through any role other than
// supplier-rep, which makes the register visible.
func nhsReader(sc scope.Scope) bool {
	for _, g := range sc.Grants {
		if g.Role != scope.SupplierRep && g.Role.Perms()&scope.Read != 0 {
			return true
		}
	}
	return false
}

// registerEditor reports whether sc may change any register row.
func registerEditor(sc scope.Scope) bool { return sc.Can(scope.Supply) }

// view is a caller's visibility over one graph, computed once per query.
type view struct {
	sc       scope.Scope
	all      bool   // sees the whole register
	supplier []bool // per supplier index, when !all
}

func (g *graph) viewFor(sc scope.Scope) *view {
	v := &view{sc: sc, all: nhsReader(sc)}
	if !v.all {
		v.supplier = make([]bool, len(g.sup))
		for i := range g.sup {
			v.supplier[i] = g.ownedBy(int32(i), sc, scope.Read)
		}
	}
	return v
}

// ownedBy reports whether sc holds p on the tenant organisation of supplier
// i or of one of its group parents.
func (g *graph) ownedBy(i int32, sc scope.Scope, p scope.Perm) bool {
	for n := 0; i >= 0 && n < 64; n++ {
		if t := g.sup[i].tenant; t >= 0 && sc.CanAt(p, g.orgs[t].path) {
			return true
		}
		i = g.sup[i].parent
	}
	return false
}

func (v *view) supplierVisible(i int32) bool { return v.all || (i >= 0 && v.supplier[i]) }

func (v *view) productVisible(g *graph, p int32) bool {
	return v.all || v.supplier[g.prod[p].supplier]
}

// registerFields are a supplier's fields that belong to the register, not
// to the supplier's description of itself: which NHS body it is
// (ods_code: impact?supplier=CODE resolves through it), whether it is
// designated critical, its group parent (group totals and ownership of
// subsidiaries follow it), its tenant organisation (whose users represent
// it), and its legal identifiers (companies_house_number, duns), which
// link it to other sources. In CSV column order.
func registerFields(sp *Supplier) []struct {
	name  string
	value string
} {
	return []struct {
		name  string
		value string
	}{
		{"companies_house_number", fmt.Sprintf("%q", sp.CompaniesHouseNumber)},
		{"parent_supplier_id", fmt.Sprintf("%q", sp.ParentID)},
		{"ods_code", fmt.Sprintf("%q", sp.ODSCode)},
		{"duns", fmt.Sprintf("%q", sp.DUNS)},
		{"tenant_org", fmt.Sprintf("%q", sp.TenantOrg)},
		{"designated_critical", yesNo(sp.DesignatedCritical)},
	}
}

// registerFieldChanges lists the register fields that differ between old
// and sp, each with old's value as the message shows it.
func registerFieldChanges(old, sp Supplier) (fields, was []string) {
	a, b := registerFields(&old), registerFields(&sp)
	for i := range a {
		if a[i].value != b[i].value {
			fields, was = append(fields, a[i].name), append(was, a[i].value)
		}
	}
	return fields, was
}

// registerFieldChange is the first register field that differs, or "".
func registerFieldChange(old, sp Supplier) (field, was string) {
	f, w := registerFieldChanges(old, sp)
	if len(f) == 0 {
		return "", ""
	}
	return f[0], w[0]
}

// keptByRegister completes the message refusing a representative's change
// of a register field whose stored value is was.
func keptByRegister(was string) string {
	return "is kept by supply-chain managers, not by the supplier's representatives: leave it as the register has it (" + was + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
