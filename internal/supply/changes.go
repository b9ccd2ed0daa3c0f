package supply

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
)

// RegisterChange is one recent change to the supplier register, as the
// caller may see it: what changed and when, not who changed it (that is
// the audit log's, for auditors).
type RegisterChange struct {
	At time.Time `json:"at"`
	// Kind is supplier, product, dependency, vuln, deployment, contract or
	// import.
	Kind string `json:"kind"`
	// Removed: the row was deleted (otherwise added or changed).
	Removed bool `json:"removed,omitempty"`
	// ID is the supplier's or product's ID; for a dependency or a
	// vulnerability the product's, for a deployment or contract the
	// organisation's ODS code, for an import empty.
	ID string `json:"id"`
	// Name is what people call it: the supplier, product or organisation,
	// with the other product, the CVE or the service after " · ".
	Name string `json:"name"`
	// Rows counts what an import changed in the shared register
	// (suppliers, products, dependencies, vulnerabilities).
	Rows int `json:"rows,omitempty"`
}

// recentScan bounds the audit entries RecentChanges reads to fill limit.
const recentScan = 500

// RecentChanges lists the latest changes to the register that the caller
// may see, newest first, at most limit (default 10). They come from the
// audit log, where every change is recorded, filtered by the register's
// visibility rules (access.go) — not by the caller's audit rights: a
// supplier, product, dependency or vulnerability is seen by whoever sees
// that supplier or product; a deployment or contract by whoever reads its
// organisation; an import by NHS readers, as a count of the shared
// register's rows it changed (never of deployments or contracts, which
// would count other organisations'). Who made a change is left out.
func (s *Service) RecentChanges(ctx context.Context, sc scope.Scope, limit int) ([]RegisterChange, error) {
	if limit <= 0 {
		limit = 10
	}
	g, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	v := g.viewFor(sc)
	es, _, err := s.audit.List(ctx, scope.System("supply-changes"), audit.Filter{Action: "supply.", Limit: recentScan})
	if err != nil {
		return nil, err
	}
	out := []RegisterChange{}
	for _, e := range es {
		if len(out) == limit {
			break
		}
		c, ok := g.registerChange(e, v, sc)
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// registerChange turns an audit entry into a RegisterChange if the caller
// may see it.
func (g *graph) registerChange(e audit.Entry, v *view, sc scope.Scope) (RegisterChange, bool) {
	c := RegisterChange{At: e.At, Removed: strings.HasSuffix(e.Action, ".delete")}
	product := func(id string) (string, bool) {
		p, ok := g.prodIdx[id]
		if !ok {
			return id, v.all // a removed product: the register is NHS readers'
		}
		return g.prod[p].name, v.productVisible(g, p)
	}
	org := func(code string) (string, bool) {
		o, ok := g.orgIdx[code]
		if !ok || !sc.CanAt(scope.Read, g.orgs[o].path) {
			return "", false
		}
		return g.orgs[o].name, true
	}
	switch e.ObjectType {
	case "supplier":
		c.Kind, c.ID = "supplier", e.ObjectID
		i, ok := g.supIdx[e.ObjectID]
		if !ok {
			return c, false
		}
		c.Name = g.sup[i].name
		return c, v.supplierVisible(i)
	case "product":
		c.Kind, c.ID = "product", e.ObjectID
		name, ok := product(e.ObjectID)
		c.Name = name
		return c, ok
	case "dependency":
		from, to, _ := strings.Cut(e.ObjectID, "->")
		c.Kind, c.ID = "dependency", from
		a, ok1 := product(from)
		b, ok2 := product(to)
		c.Name = a + " · " + b
		return c, ok1 && ok2
	case "product_vuln":
		p, cve, _ := strings.Cut(e.ObjectID, "/")
		c.Kind, c.ID = "vuln", p
		name, ok := product(p)
		c.Name = name + " · " + cve
		return c, ok
	case "deployment":
		parts := strings.SplitN(e.ObjectID, "/", 3)
		if len(parts) != 3 {
			return c, false
		}
		c.Kind, c.ID = "deployment", parts[0]
		on, ok := org(parts[0])
		pn, pok := product(parts[1])
		c.Name = on + " · " + pn + " · " + parts[2]
		return c, ok && pok
	case "contract":
		c.Kind, c.ID = "contract", e.Org
		on, ok := org(e.Org)
		c.Name = on
		return c, ok
	case "import":
		if !v.all {
			return c, false
		}
		var sum struct {
			Tables []TableCounts `json:"tables"`
		}
		if json.Unmarshal(e.After, &sum) != nil {
			return c, false
		}
		c.Kind, c.Name = "import", "Register import"
		for _, t := range sum.Tables {
			switch t.Table {
			case TableSuppliers, TableProducts, TableDependencies, TableVulns:
				c.Rows += t.Created + t.Updated
			}
		}
		return c, c.Rows > 0
	}
	return c, false
}
