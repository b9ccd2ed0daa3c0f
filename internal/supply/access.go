package supply

import (
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
//   - Deployments, contracts and affected organisations in query results
//     are filtered to organisations where the caller holds Read: a region
//     lead sees only their region.
//   - Anything outside scope is store.ErrNotFound, never "forbidden".
//   - Concentration and systemic-risk reports need scope.Supply and count
//     only organisations the caller may Read.

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
