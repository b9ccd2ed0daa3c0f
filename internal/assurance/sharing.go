package assurance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// "Assess once, share many": a supplier's accepted statements are seen by
// the organisations that deploy it, at the level the supplier chooses.
// Assessors and the supplier's own representatives always see them.

// Sharing levels.
const (
	// ShareDeployers: every organisation that deploys any of the
	// supplier's products (the default).
	ShareDeployers = "deployers"
	// ShareProducts: only organisations that deploy one of the products
	// listed (the products the assessment covers).
	ShareProducts = "products"
	// ShareNational: the national team only (assessors, and readers who
	// hold a national grant).
	ShareNational = "national"
)

// SharingLevels lists the levels in the order forms offer them.
func SharingLevels() []string { return []string{ShareDeployers, ShareProducts, ShareNational} }

// Sharing is a supplier's choice.
type Sharing struct {
	SupplierID string `json:"supplier_id"`
	Level      string `json:"level"`
	// Products are the product IDs a products-level sharing names (the
	// supplier's own or its subsidiaries').
	Products []string `json:"products,omitempty"`
	// Subsidiaries: the statements also stand for the supplier's
	// subsidiaries, so organisations deploying a subsidiary's products see
	// them too (at the same level).
	Subsidiaries bool   `json:"subsidiaries"`
	SetBy        string `json:"set_by,omitempty"`
	SetAt        string `json:"set_at,omitempty"`
}

// sharingOf reads a supplier's choice (the default when none).
func sharingOf(ctx context.Context, q store.Queryer, supplier string) (Sharing, error) {
	sh := Sharing{SupplierID: supplier, Level: ShareDeployers}
	var prods string
	err := q.QueryRowContext(ctx, `SELECT level, products, subsidiaries, set_by, set_at FROM assurance_sharing WHERE supplier_id = ?`, supplier).
		Scan(&sh.Level, &prods, &sh.Subsidiaries, &sh.SetBy, &sh.SetAt)
	if errors.Is(err, sql.ErrNoRows) {
		return sh, nil
	}
	if err != nil {
		return sh, fmt.Errorf("assurance: sharing of %s: %w", supplier, err)
	}
	if prods != "" {
		sh.Products = strings.Split(prods, ",")
	}
	return sh, nil
}

// GetSharing reads a supplier's sharing level; whoever may see the
// supplier may read it.
func (s *Service) GetSharing(ctx context.Context, sc scope.Scope, supplier string) (Sharing, error) {
	if err := s.needRegister(); err != nil {
		return Sharing{}, err
	}
	sp, err := s.register.GetSupplier(ctx, sc, supplier)
	if err != nil {
		return Sharing{}, err
	}
	return sharingOf(ctx, s.db.Q(), sp.ID)
}

// SetSharing records the level at which a supplier shares its reviewed
// statements. Only the supplier's representatives (with Write) choose it.
func (s *Service) SetSharing(ctx context.Context, sc scope.Scope, in Sharing) (Sharing, error) {
	if err := s.needRegister(); err != nil {
		return Sharing{}, err
	}
	own, err := s.ownSuppliers(ctx, sc)
	if err != nil {
		return Sharing{}, err
	}
	if !own[in.SupplierID] {
		if _, err := s.register.GetSupplier(ctx, sc, in.SupplierID); err != nil {
			return Sharing{}, err
		}
		return Sharing{}, fault.Forbiddenf("only the supplier's representatives choose how its statements are shared")
	}
	if !sc.Can(scope.Write) {
		return Sharing{}, fault.Forbiddenf("choosing the sharing level needs write access to the supplier")
	}
	if !slices.Contains(SharingLevels(), in.Level) {
		return Sharing{}, fault.Invalidf("level", "%q is not one of %s", in.Level, strings.Join(SharingLevels(), ", "))
	}
	var clean []string
	for _, p := range in.Products {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(clean, p) {
			clean = append(clean, p)
		}
	}
	slices.Sort(clean)
	if in.Level == ShareProducts {
		if len(clean) == 0 {
			return Sharing{}, fault.Invalidf("products", "name at least one product the statements cover, or share with every deploying organisation")
		}
		for _, p := range clean {
			pr, err := s.register.GetProduct(ctx, sc, p)
			if err != nil || !own[pr.SupplierID] {
				return Sharing{}, fault.Invalidf("products", "%q is not a product of this supplier or of a supplier you represent", p)
			}
		}
	} else {
		clean = nil
	}
	in.Products = clean
	in.SetBy = actor(sc)
	in.SetAt = s.now().UTC().Format("2006-01-02T15:04:05Z07:00")
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		before, err := sharingOf(ctx, tx, in.SupplierID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM assurance_sharing WHERE supplier_id = ?`, in.SupplierID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_sharing (supplier_id, level, products, subsidiaries, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)`,
			in.SupplierID, in.Level, strings.Join(in.Products, ","), in.Subsidiaries, in.SetBy, in.SetAt); err != nil {
			return fmt.Errorf("assurance: set sharing: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.sharing.set", ObjectType: "supplier", ObjectID: in.SupplierID,
			Before: map[string]any{"level": before.Level, "products": before.Products, "subsidiaries": before.Subsidiaries},
			After:  map[string]any{"level": in.Level, "products": in.Products, "subsidiaries": in.Subsidiaries}})
		return err
	})
	if err != nil {
		return Sharing{}, err
	}
	return in, nil
}

// deployedProducts maps each supplier of a product deployed by the
// organisations the caller reads to those products.
func (s *Service) deployedProducts(ctx context.Context, sc scope.Scope) (map[string]map[string]bool, error) {
	deps, err := s.register.ListDeployments(ctx, sc, supply.DeploymentFilter{})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]bool{}
	seen := map[string]bool{}
	for _, d := range deps {
		if seen[d.ProductID] {
			continue
		}
		seen[d.ProductID] = true
		p, err := s.register.GetProduct(ctx, sc, d.ProductID)
		if err != nil {
			if errors.Is(err, fault.ErrNotFound) {
				continue
			}
			return nil, err
		}
		if out[p.SupplierID] == nil {
			out[p.SupplierID] = map[string]bool{}
		}
		out[p.SupplierID][p.ID] = true
	}
	return out, nil
}

// covered reports whether deployments of prods (products of one supplier)
// reach a statement shared as sh.
func (sh Sharing) covered(prods map[string]bool) bool {
	if len(prods) == 0 {
		return false
	}
	switch sh.Level {
	case ShareDeployers:
		return true
	case ShareProducts:
		for _, p := range sh.Products {
			if prods[p] {
				return true
			}
		}
	}
	return false
}

// sharedSuppliers are the suppliers whose accepted statements the caller
// sees as (or for) a deploying organisation: a supplier it deploys, at the
// supplier's level, and a group parent whose statements stand for a
// subsidiary it deploys.
func (s *Service) sharedSuppliers(ctx context.Context, sc scope.Scope) (map[string]bool, error) {
	dep, err := s.deployedProducts(ctx, sc)
	if err != nil {
		return nil, err
	}
	shares := map[string]Sharing{}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT supplier_id FROM assurance_sharing`)
	if err != nil {
		return nil, fmt.Errorf("assurance: sharing: %w", err)
	}
	ids, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if shares[id], err = sharingOf(ctx, s.db.Q(), id); err != nil {
			return nil, err
		}
	}
	share := func(id string) Sharing {
		if sh, ok := shares[id]; ok {
			return sh
		}
		return Sharing{SupplierID: id, Level: ShareDeployers}
	}
	national := sc.National(scope.Read)
	out := map[string]bool{}
	for sup, prods := range dep {
		sh := share(sup)
		if sh.covered(prods) || (national && sh.Level == ShareNational) {
			out[sup] = true
		}
		// A group parent's statements stand for this subsidiary when the
		// parent says so.
		sp, err := s.register.GetSupplier(ctx, sc, sup)
		if err != nil {
			if errors.Is(err, fault.ErrNotFound) {
				continue
			}
			return nil, err
		}
		for p, hops := sp.ParentID, 0; p != "" && hops < 8; hops++ {
			psh := share(p)
			if psh.Subsidiaries && (psh.covered(prods) || (national && psh.Level == ShareNational)) {
				out[p] = true
			}
			parent, err := s.register.GetSupplier(ctx, sc, p)
			if err != nil {
				break
			}
			p = parent.ParentID
		}
	}
	return out, nil
}

// sharedWith reports whether the caller sees supplier's accepted
// statements as (or for) a deploying organisation.
func (s *Service) sharedWith(ctx context.Context, sc scope.Scope, supplier string) (bool, error) {
	sh, err := sharingOf(ctx, s.db.Q(), supplier)
	if err != nil {
		return false, err
	}
	if sh.Level == ShareNational {
		if !sc.National(scope.Read) {
			return false, nil
		}
		return s.deploysAny(ctx, sc, supplier, sh.Subsidiaries)
	}
	if sh.Level == ShareDeployers && !sh.Subsidiaries {
		return s.deploys(ctx, sc, supplier)
	}
	all, err := s.sharedSuppliers(ctx, sc)
	if err != nil {
		return false, err
	}
	return all[supplier], nil
}

// deploysAny: an organisation the caller reads deploys supplier (or, with
// subs, one of its subsidiaries). Errors count as no.
func (s *Service) deploysAny(ctx context.Context, sc scope.Scope, supplier string, subs bool) (bool, error) {
	if ok, err := s.deploys(ctx, sc, supplier); err != nil || ok || !subs {
		return ok, err
	}
	all, err := s.register.ListSuppliers(ctx, sc)
	if err != nil {
		return false, err
	}
	for _, sp := range all {
		if sp.ParentID == supplier {
			if ok, err := s.deploys(ctx, sc, sp.ID); err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

// MaySetSharing reports whether the caller may choose the supplier's
// sharing level (its representatives, with Write), for forms.
func (s *Service) MaySetSharing(ctx context.Context, sc scope.Scope, supplier string) bool {
	if s.register == nil || !sc.Can(scope.Write) {
		return false
	}
	own, err := s.ownSuppliers(ctx, sc)
	return err == nil && own[supplier]
}

// ParentStatements are the accepted statements of supplier's group
// parents (nearest first) that stand for it — the parent shares them with
// its subsidiaries — and that the caller may see: what a subsidiary's
// page shows beside its own statements.
func (s *Service) ParentStatements(ctx context.Context, sc scope.Scope, supplier string) ([]StatementSummary, error) {
	if err := s.needRegister(); err != nil {
		return nil, err
	}
	sp, err := s.register.GetSupplier(ctx, sc, supplier)
	if err != nil {
		return nil, err
	}
	out := []StatementSummary{}
	for p, hops := sp.ParentID, 0; p != "" && hops < 8; hops++ {
		sh, err := sharingOf(ctx, s.db.Q(), p)
		if err != nil {
			return nil, err
		}
		if sh.Subsidiaries {
			list, err := s.ListStatements(ctx, sc, StatementFilter{SupplierID: p, Status: StatusAccepted})
			if err != nil {
				return nil, err
			}
			out = append(out, list...)
		}
		parent, err := s.register.GetSupplier(ctx, sc, p)
		if err != nil {
			break
		}
		p = parent.ParentID
	}
	return out, nil
}
