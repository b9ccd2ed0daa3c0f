package supply

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Level is the grouping of a concentration report.
type Level string

// Levels of grouping.
const (
	National Level = "national"
	ByRegion Level = "region"
	ByICB    Level = "icb"
)

// Levels lists the grouping levels, widest first.
func Levels() []Level { return []Level{National, ByRegion, ByICB} }

// ConcentrationResult is the market structure of one service at one level.
//
// Shares count organisations using each supplier's products for the
// service, with suppliers aggregated to their top group parent. An
// organisation using k suppliers' products for the same service counts 1/k
// for each, so shares in a group always sum to 1. HHI is the
// Herfindahl–Hirschman index: each share in percent, squared, summed
// (0–10,000; 10,000 is a monopoly; above 2,500 is "highly concentrated"
// in the usual competition-authority reading).
type ConcentrationResult struct {
	Service    string               `json:"service"`
	By         Level                `json:"by"`
	Generation int64                `json:"generation"`
	Groups     []ConcentrationGroup `json:"groups"`
}

// ConcentrationGroup is one region, ICB or the nation.
type ConcentrationGroup struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Organisations using the service in this group.
	Organisations int `json:"organisations"`
	// Population registered with those organisations, where known.
	Population int64   `json:"population"`
	HHI        float64 `json:"hhi"`
	Shares     []Share `json:"shares"`
}

// Share is one supplier group's share of a service in a group.
type Share struct {
	SupplierID string `json:"supplier_id"`
	Name       string `json:"name"`
	// Organisations is the (fractional) number of organisations counted.
	Organisations float64 `json:"organisations"`
	Share         float64 `json:"share"`
}

// ConcentrationReport is every service at every level, with monopolies.
type ConcentrationReport struct {
	Generation int64                 `json:"generation"`
	Services   []string              `json:"services"`
	Results    []ConcentrationResult `json:"results"`
	// Monopolies are ICBs (and regions) where one supplier serves 100% of a service.
	Monopolies []Monopoly `json:"monopolies"`
}

// Monopoly is a group where one supplier group serves every organisation.
type Monopoly struct {
	Service       string `json:"service"`
	By            Level  `json:"by"`
	Code          string `json:"code"`
	Name          string `json:"name"`
	SupplierID    string `json:"supplier_id"`
	SupplierName  string `json:"supplier_name"`
	Organisations int    `json:"organisations"`
}

type concKey struct {
	svc   uint16
	level Level
	group string
}

type concAcc struct {
	orgs   int
	pop    int64
	shares map[int32]float64 // supplier root → organisations
}

// concentration accumulates every (service, level, group) over the open
// organisations vis allows (nil: all).
func (g *graph) concentration(vis func(o int32) bool) map[concKey]*concAcc {
	acc := map[concKey]*concAcc{}
	type pair struct {
		svc  uint16
		root int32
	}
	var pairs []pair
	for o := range g.orgs {
		on := &g.orgs[o]
		if on.closed || g.orgDepOff[o] == g.orgDepOff[o+1] || (vis != nil && !vis(int32(o))) {
			continue
		}
		pairs = pairs[:0]
		for _, di := range g.orgDep[g.orgDepOff[o]:g.orgDepOff[o+1]] {
			d := &g.dep[di]
			pr := pair{d.svc, g.sup[g.prod[d.prod].supplier].root}
			dup := false
			for _, x := range pairs {
				dup = dup || x == pr
			}
			if !dup {
				pairs = append(pairs, pr)
			}
		}
		sort.Slice(pairs, func(i, j int) bool {
			if pairs[i].svc != pairs[j].svc {
				return pairs[i].svc < pairs[j].svc
			}
			return pairs[i].root < pairs[j].root
		})
		for i := 0; i < len(pairs); {
			j := i
			for j < len(pairs) && pairs[j].svc == pairs[i].svc {
				j++
			}
			w := 1 / float64(j-i)
			for _, k := range []concKey{{pairs[i].svc, National, org.RootCode}, {pairs[i].svc, ByRegion, on.region_}, {pairs[i].svc, ByICB, on.icbCode}} {
				a := acc[k]
				if a == nil {
					a = &concAcc{shares: map[int32]float64{}}
					acc[k] = a
				}
				a.orgs++
				a.pop += on.pop
				for _, x := range pairs[i:j] {
					a.shares[x.root] += w
				}
			}
			i = j
		}
	}
	return acc
}

func (g *graph) groupName(level Level, code string) string {
	if level == National {
		if i, ok := g.orgIdx[code]; ok {
			return g.orgs[i].name
		}
		return "England"
	}
	if i, ok := g.orgIdx[code]; ok {
		return g.orgs[i].name
	}
	if code == "" {
		return "(none recorded)"
	}
	return code
}

func (g *graph) concGroup(k concKey, a *concAcc) ConcentrationGroup {
	cg := ConcentrationGroup{Code: k.group, Name: g.groupName(k.level, k.group), Organisations: a.orgs, Population: a.pop, Shares: make([]Share, 0, len(a.shares))}
	for root, n := range a.shares {
		sh := n / float64(a.orgs)
		cg.Shares = append(cg.Shares, Share{SupplierID: g.sup[root].id, Name: g.sup[root].name, Organisations: n, Share: sh})
		cg.HHI += (100 * sh) * (100 * sh)
	}
	sort.Slice(cg.Shares, func(i, j int) bool {
		if cg.Shares[i].Share != cg.Shares[j].Share {
			return cg.Shares[i].Share > cg.Shares[j].Share
		}
		return cg.Shares[i].SupplierID < cg.Shares[j].SupplierID
	})
	return cg
}

func (s *Service) concVisibility(ctx context.Context, sc scope.Scope) (*graph, func(int32) bool, error) {
	if err := needSupply(sc, "concentration"); err != nil {
		return nil, nil, err
	}
	g, err := s.current(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range sc.Prefixes(scope.Read) {
		if p == "/" {
			return g, nil, nil
		}
	}
	return g, func(o int32) bool { return sc.CanAt(scope.Read, g.orgs[o].path) }, nil
}

// Concentration reports the market structure of one service at one level
// (National, ByRegion or ByICB), over the organisations the caller may
// read. It needs scope.Supply.
func (s *Service) Concentration(ctx context.Context, sc scope.Scope, service string, by Level) (ConcentrationResult, error) {
	if by == "" {
		by = National
	}
	if by != National && by != ByRegion && by != ByICB {
		return ConcentrationResult{}, fault.Invalidf("by", "%q is not one of national, region, icb", by)
	}
	g, vis, err := s.concVisibility(ctx, sc)
	if err != nil {
		return ConcentrationResult{}, err
	}
	// The service by Lookup's rule: its slug in any case, or its label
	// ("GP clinical system").
	i, err := g.resolve(g.viewFor(sc), KindService, service)
	if err != nil {
		return ConcentrationResult{}, err
	}
	sv := i
	service = g.services[i]
	res := ConcentrationResult{Service: service, By: by, Generation: g.gen, Groups: []ConcentrationGroup{}}
	for k, a := range g.concentration(vis) {
		if k.svc == uint16(sv) && k.level == by {
			res.Groups = append(res.Groups, g.concGroup(k, a))
		}
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].Code < res.Groups[j].Code })
	return res, nil
}

// ConcentrationAll reports every service at every level, and the groups
// where one supplier serves the whole service, over the organisations the
// caller may read. It needs scope.Supply. The report is computed once per
// register generation for each distinct visibility and shared
// (reports.go): its groups and shares must not be changed.
func (s *Service) ConcentrationAll(ctx context.Context, sc scope.Scope) (ConcentrationReport, error) {
	if err := needSupply(sc, "concentration"); err != nil {
		return ConcentrationReport{}, err
	}
	g, err := s.current(ctx)
	if err != nil {
		return ConcentrationReport{}, err
	}
	return s.concentrationAll(ctx, g, sc)
}

func (g *graph) concentrationReport(vis func(int32) bool) ConcentrationReport {
	acc := g.concentration(vis)
	rep := ConcentrationReport{Generation: g.gen, Services: []string{}, Results: []ConcentrationResult{}, Monopolies: []Monopoly{}}
	byKey := map[struct {
		svc   uint16
		level Level
	}]*ConcentrationResult{}
	for k, a := range acc {
		rk := struct {
			svc   uint16
			level Level
		}{k.svc, k.level}
		r := byKey[rk]
		if r == nil {
			r = &ConcentrationResult{Service: g.services[k.svc], By: k.level, Generation: g.gen}
			byKey[rk] = r
		}
		cg := g.concGroup(k, a)
		r.Groups = append(r.Groups, cg)
		if k.level != National && len(cg.Shares) == 1 {
			rep.Monopolies = append(rep.Monopolies, Monopoly{Service: r.Service, By: k.level, Code: cg.Code, Name: cg.Name,
				SupplierID: cg.Shares[0].SupplierID, SupplierName: cg.Shares[0].Name, Organisations: cg.Organisations})
		}
	}
	lvl := map[Level]int{National: 0, ByRegion: 1, ByICB: 2}
	for _, r := range byKey {
		sort.Slice(r.Groups, func(i, j int) bool { return r.Groups[i].Code < r.Groups[j].Code })
		rep.Results = append(rep.Results, *r)
		if r.By == National {
			rep.Services = append(rep.Services, r.Service)
		}
	}
	sort.Strings(rep.Services)
	sort.Slice(rep.Results, func(i, j int) bool {
		a, b := &rep.Results[i], &rep.Results[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return lvl[a.By] < lvl[b.By]
	})
	sort.Slice(rep.Monopolies, func(i, j int) bool {
		a, b := &rep.Monopolies[i], &rep.Monopolies[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.By != b.By {
			return lvl[a.By] < lvl[b.By]
		}
		return a.Code < b.Code
	})
	return rep
}

// Snapshot describes one recorded concentration snapshot.
type Snapshot struct {
	TakenAt string `json:"taken_at"`
	Rows    int    `json:"rows"`
}

// RecordSnapshot stores the national concentration report (every service,
// level, group and supplier share) so later reports can show change. It
// needs national scope.Supply.
func (s *Service) RecordSnapshot(ctx context.Context, sc scope.Scope) (Snapshot, error) {
	if !sc.National(scope.Supply) {
		return Snapshot{}, fmt.Errorf("concentration snapshot (needs national supply-chain manager): %w", fault.ErrNotFound)
	}
	g, err := s.current(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	rep := g.concentrationReport(nil)
	at := s.now().UTC().Format(time.RFC3339Nano)
	type row struct {
		svc, level, group, sup string
		orgs                   int
		n, share, hhi          float64
	}
	var rows []row
	for _, r := range rep.Results {
		for _, cg := range r.Groups {
			for _, sh := range cg.Shares {
				rows = append(rows, row{r.Service, string(r.By), cg.Code, sh.SupplierID, cg.Organisations, sh.Organisations, sh.Share, cg.HHI})
			}
		}
	}
	snap := Snapshot{TakenAt: at, Rows: len(rows)}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		err := upsert(ctx, tx, "supply_concentration_snapshots",
			[]string{"taken_at", "service", "level", "group_code", "supplier_id", "organisations", "supplier_organisations", "share", "hhi"},
			[]string{"taken_at", "service", "level", "group_code", "supplier_id"}, len(rows), func(i int, b []any) []any {
				r := &rows[i]
				return append(b, at, r.svc, r.level, r.group, r.sup, r.orgs, r.n, r.share, r.hhi)
			})
		if err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "supply.snapshot", ObjectType: "concentration_snapshot", ObjectID: at, After: snap})
		return err
	})
	return snap, err
}

// TrendPoint is one snapshot of one group's concentration.
type TrendPoint struct {
	TakenAt       string  `json:"taken_at"`
	Organisations int     `json:"organisations"`
	HHI           float64 `json:"hhi"`
	TopSupplierID string  `json:"top_supplier_id"`
	TopShare      float64 `json:"top_share"`
}

// Trend returns the recorded snapshots of one service and group, oldest
// first. It needs national scope.Supply (snapshots are national).
func (s *Service) Trend(ctx context.Context, sc scope.Scope, service string, by Level, group string) ([]TrendPoint, error) {
	if !sc.National(scope.Supply) {
		return nil, fmt.Errorf("concentration trend: %w", fault.ErrNotFound)
	}
	if by == "" {
		by = National
	}
	if by == National && group == "" {
		group = org.RootCode
	}
	// The service by Lookup's rule when the register still has it; a
	// service only the snapshots remember is asked for by its slug.
	service = normService(service)
	if id, ok := s.canonical(ctx, sc, KindService, service); ok {
		service = id
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT taken_at, organisations, hhi, supplier_id, share FROM supply_concentration_snapshots
		WHERE service = ? AND level = ? AND group_code = ? ORDER BY taken_at, share DESC, supplier_id`, service, string(by), group)
	if err != nil {
		return nil, fmt.Errorf("supply: trend: %w", err)
	}
	defer rows.Close()
	out := []TrendPoint{}
	for rows.Next() {
		var p TrendPoint
		if err := rows.Scan(&p.TakenAt, &p.Organisations, &p.HHI, &p.TopSupplierID, &p.TopShare); err != nil {
			return nil, err
		}
		if len(out) > 0 && out[len(out)-1].TakenAt == p.TakenAt {
			continue // first row of each snapshot is its top supplier
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
