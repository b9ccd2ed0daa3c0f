package web

import (
	"context"
	"errors"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// orgSupply is an organisation's side of the supplier register, for its
// page and its people's home page: what it depends on (the reverse of the
// blast radius: supply.DependsOn) and where that exposes it
// (supply.Exposure), each list cut to the first rows with the number
// left out, the whole being a click away on the blast-radius page.
type orgSupply struct {
	Org           orgRef
	Suppliers     []supply.DependedSupplier
	MoreSuppliers int
	Products      []supply.DependedProduct
	MoreProducts  int
	// Deployed counts the products deployed directly (depth 0); AllProducts
	// and AllSuppliers count the whole lists.
	Deployed     int
	AllProducts  int
	AllSuppliers int
	Unprotected  []supply.UnprotectedService
	SinglePoints []supply.OrgSinglePoint
	MoreSPOFs    int
	Vulns        []supply.ExposedVuln
	MoreVulns    int
	// Supply: the caller holds the supply-chain role (the single points
	// then say where they leave a whole ICB or region hard-down).
	Supply bool
}

// orgSupplyRows caps each list of orgSupply.
const orgSupplyRows = 25

// deploys reports whether organisations of type t deploy products (the
// others — the national root, regions, nations, ICBs and supplier
// tenants — are where deployments are counted, not made).
func deploys(t org.Type) bool {
	switch t {
	case org.Trust, org.GPPractice, org.OtherProvider, org.SubICB:
		return true
	}
	return false
}

// orgSupply answers for o from what sc may see; nil without the register
// or when the register has no such organisation yet.
func (w *Web) orgSupply(ctx context.Context, sc scope.Scope, o org.Org) (*orgSupply, error) {
	if w.o.Supply == nil {
		return nil, nil
	}
	dep, err := w.o.Supply.DependsOn(ctx, sc, o.Code)
	if errors.Is(err, fault.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	exp, err := w.o.Supply.Exposure(ctx, sc, o.Code)
	if err != nil {
		return nil, err
	}
	d := &orgSupply{Org: orgRef{Code: o.Code, Name: o.Name}, Unprotected: exp.Unprotected, Supply: sc.Can(scope.Supply),
		AllProducts: len(dep.Products), AllSuppliers: len(dep.Suppliers)}
	d.Suppliers, d.MoreSuppliers = firstRows(dep.Suppliers, orgSupplyRows)
	d.Products, d.MoreProducts = firstRows(dep.Products, orgSupplyRows)
	d.SinglePoints, d.MoreSPOFs = firstRows(exp.SinglePoints, orgSupplyRows)
	d.Vulns, d.MoreVulns = firstRows(exp.Vulns, orgSupplyRows)
	for _, p := range dep.Products {
		if p.Depth == 0 {
			d.Deployed++
		}
	}
	return d, nil
}

// firstRows returns the first n of xs and how many are left out.
func firstRows[T any](xs []T, n int) ([]T, int) {
	if len(xs) <= n {
		return xs, 0
	}
	return xs[:n], len(xs) - n
}
