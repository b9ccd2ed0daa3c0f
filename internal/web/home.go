package web

import (
	"context"
	"net/http"
	"sort"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// The home page is the first thing each kind of user needs, from what
// their roles let them see:
//
//   - a supply-chain manager (national or regional: scope.Supply) gets the
//     estate's supply-chain risk — the most systemic suppliers, single
//     points of failure, the most concentrated markets and recent changes
//     to the register — from the supply service's cached reports (computed
//     once per register generation and visibility, reports.go), never
//     computed per view;
//   - someone whose home organisation deploys products (a trust, a
//     practice) gets what it depends on and where that exposes it, as on
//     its organisation page;
//   - a supplier's representative gets its own products and who can see
//     what about them — never which organisations deploy them;
//   - an auditor gets the latest audit entries of the organisations it
//     audits.
//
// A user with several roles gets each of their sections.
type homeData struct {
	Home   *org.Org
	Grants []grantView
	Counts []typeCount
	Total  int
	Admin  bool
	Audit  bool
	// Overview is for supply-chain managers.
	Overview *supplyOverview
	// Own is the home organisation's dependencies and exposure.
	Own *orgSupply
	// Rep is for supplier representatives.
	Rep *repHome
	// Activity is for auditors: the latest entries, Names for their
	// organisations.
	Activity []audit.Entry
	Names    map[string]string
}

type typeCount struct {
	Type  org.Type
	Count int
}

// supplyOverview is the estate's supply-chain risk as the caller sees it.
type supplyOverview struct {
	// National: the caller sees the whole estate (else the reports count
	// only its region's or ICB's organisations).
	National     bool
	Systemic     []supply.SupplierRisk
	SinglePoints []supply.SinglePoint
	MoreSPOFs    int
	HotSpots     []hotSpot
	Changes      []supply.RegisterChange
}

// hotSpot is one market — a service in a region or ICB, or nationally —
// with its concentration and its largest supplier.
type hotSpot struct {
	Service       string
	By            supply.Level
	Code, Name    string
	HHI           float64
	Organisations int
	Leader        supply.Share
}

// repHome is a supplier representative's view of its own entries.
type repHome struct {
	Suppliers []supply.Supplier
	Products  []supply.Product
	Changes   []supply.RegisterChange
}

// homeRows caps each list on the home page.
const homeRows = 10

func (w *Web) home(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	counts, err := w.o.Orgs.Count(ctx, sc, org.View{})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := homeData{Grants: w.grantViews(r, sc, sc.Grants), Admin: sc.Can(scope.Admin), Audit: sc.Can(scope.Audit)}
	if o, err := w.o.Orgs.Get(ctx, sc, sc.Home); err == nil {
		d.Home = &o
	}
	for _, t := range org.Types() {
		if n := counts[t]; n > 0 {
			d.Counts = append(d.Counts, typeCount{t, n})
			d.Total += n
		}
	}
	repOnly := isRepOnly(sc)
	if w.o.Supply != nil {
		if sc.Can(scope.Supply) {
			if d.Overview, err = w.supplyOverview(ctx, sc); err != nil {
				w.fail(rw, r, sc, err)
				return
			}
		}
		if !repOnly && d.Home != nil && deploys(d.Home.Type) {
			if d.Own, err = w.orgSupply(ctx, sc, *d.Home); err != nil {
				w.fail(rw, r, sc, err)
				return
			}
		}
		if repOnly {
			if d.Rep, err = w.repHome(ctx, sc); err != nil {
				w.fail(rw, r, sc, err)
				return
			}
		}
	}
	if d.Audit {
		es, _, err := w.o.Audit.List(ctx, sc, audit.Filter{Limit: homeRows})
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Activity = es
		var codes []string
		for _, e := range es {
			codes = append(codes, e.Org)
		}
		if d.Names, err = w.o.Orgs.Names(ctx, sc, codes); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	v := w.page(r, sc, "Home", "home")
	v.D = d
	w.render(rw, r, http.StatusOK, "home", v)
}

// supplyOverview reads the caller's cached reports: both are computed once
// per register generation and visibility and warmed for national callers
// after every rebuild, so a home page costs a copy of their top rows.
func (w *Web) supplyOverview(ctx context.Context, sc scope.Scope) (*supplyOverview, error) {
	sys, err := w.o.Supply.Systemic(ctx, sc, supply.SystemicOptions{Limit: homeRows})
	if err != nil {
		return nil, err
	}
	rep, err := w.o.Supply.ConcentrationAll(ctx, sc)
	if err != nil {
		return nil, err
	}
	changes, err := w.o.Supply.RecentChanges(ctx, sc, homeRows)
	if err != nil {
		return nil, err
	}
	d := &supplyOverview{National: sc.National(scope.Supply), Changes: changes}
	// The ranking also holds suppliers that others build on but that
	// reach none of the caller's organisations (another region's gateway):
	// not a risk to them.
	for _, s := range sys.Suppliers {
		if s.Organisations > 0 {
			d.Systemic = append(d.Systemic, s)
		}
	}
	// The widest single points first: most organisations, then people.
	sps := append([]supply.SinglePoint(nil), sys.SinglePoints...)
	sort.SliceStable(sps, func(i, j int) bool {
		if sps[i].Organisations != sps[j].Organisations {
			return sps[i].Organisations > sps[j].Organisations
		}
		return sps[i].Population > sps[j].Population
	})
	d.SinglePoints, d.MoreSPOFs = firstRows(sps, homeRows)
	d.HotSpots = hotSpots(rep, homeRows)
	return d, nil
}

// hotSpots picks the n most concentrated markets of the report: highest
// HHI first and, among equals (a monopoly is 10,000 wherever it is), the
// one serving most organisations. A market of one organisation is a
// monopoly by arithmetic, not a concentration, and is left out; so is a
// region's or the nation's market when it is exactly one of its ICBs'
// (same service, same organisations, same leader and HHI): one market
// seen at three levels, shown once, where it is.
func hotSpots(rep supply.ConcentrationReport, n int) []hotSpot {
	type market struct {
		service, leader string
		orgs            int
		hhi             float64
	}
	seen := map[market]bool{}
	var out []hotSpot
	for _, level := range []supply.Level{supply.ByICB, supply.ByRegion, supply.National} {
		for _, res := range rep.Results {
			if res.By != level {
				continue
			}
			for _, g := range res.Groups {
				if g.Organisations < 2 || len(g.Shares) == 0 || g.Code == "" && res.By != supply.National {
					continue
				}
				m := market{res.Service, g.Shares[0].SupplierID, g.Organisations, g.HHI}
				if seen[m] {
					continue
				}
				seen[m] = true
				out = append(out, hotSpot{Service: res.Service, By: res.By, Code: g.Code, Name: g.Name, HHI: g.HHI,
					Organisations: g.Organisations, Leader: g.Shares[0]})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.HHI != b.HHI {
			return a.HHI > b.HHI
		}
		if a.Organisations != b.Organisations {
			return a.Organisations > b.Organisations
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Code < b.Code
	})
	// At most hotSpotsPerService of one service, so that one service's
	// monopolies in every ICB do not hide the other services'.
	per := map[string]int{}
	picked := out[:0]
	for _, h := range out {
		if per[h.Service] == hotSpotsPerService || len(picked) == n {
			continue
		}
		per[h.Service]++
		picked = append(picked, h)
	}
	return picked
}

// hotSpotsPerService caps one service's rows among the hot spots.
const hotSpotsPerService = 3

// repHome lists a representative's own suppliers and products (the
// service shows a representative nothing else) and the latest changes to
// them.
func (w *Web) repHome(ctx context.Context, sc scope.Scope) (*repHome, error) {
	sups, prods, err := w.o.Supply.Own(ctx, sc)
	if err != nil {
		return nil, err
	}
	changes, err := w.o.Supply.RecentChanges(ctx, sc, homeRows)
	if err != nil {
		return nil, err
	}
	return &repHome{Suppliers: sups, Products: prods, Changes: changes}, nil
}

// changeWords says what a register change was, in words.
func changeWords(c supply.RegisterChange) string {
	what := map[string]string{"supplier": "Supplier", "product": "Product", "dependency": "Dependency", "vuln": "Vulnerability",
		"deployment": "Deployment", "contract": "Contract"}[c.Kind]
	switch {
	case c.Kind == "import":
		return "Import: " + count(c.Rows, "register row", "") + " added or changed"
	case c.Removed:
		return what + " removed"
	}
	return what + " added or changed"
}

// changeLink is the page of what a register change is about ("" for none).
func changeLink(c supply.RegisterChange) string {
	switch c.Kind {
	case "supplier":
		return "/suppliers/s/" + c.ID
	case "product", "dependency", "vuln":
		if c.Removed && c.Kind == "product" {
			return ""
		}
		return "/suppliers/p/" + c.ID
	case "deployment", "contract":
		return "/orgs/" + c.ID
	}
	return ""
}

// steps says how far down the dependency chain something is.
func steps(depth int) string {
	if depth == 0 {
		return "deployed directly"
	}
	return count(depth, "step", "") + " away"
}
