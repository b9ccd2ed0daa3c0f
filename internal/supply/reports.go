package supply

import (
	"context"
	"slices"
	"sync"

	"github.com/vigil-health/vigil/internal/scope"
)

// The whole-register reports — ConcentrationAll and Systemic — take from
// a tenth of a second to two seconds on a national register
// (docs/performance.md), and the Suppliers overview and concentration
// pages need both. They are pure functions of the graph and of what the
// caller can see, so each graph keeps them: computed once per graph (so
// once per register generation) and per visibility, shared by every
// caller that sees the same, with concurrent callers waiting for one
// computation rather than starting their own. Right after a rebuild the
// national ones are computed in the background (warm), so the first page
// after a register change seldom waits for them at all.
//
// Why per visibility and not one national result filtered: a report over
// the organisations a caller may read is not the national report cut down.
// A region lead's national row counts only their region's organisations;
// a lead granted on one ICB gets a region row over that ICB alone; and
// systemic scores and rankings sum over the organisations reached that
// the caller may see. So the key is exactly what the computation reads of
// the caller's scope (access.go): whether they are an NHS reader (which
// makes the whole register visible), and for every organisation in the
// graph whether they hold Read on it — which also decides the suppliers a
// non-reader sees, through their tenant organisations. Two callers share a
// result only when they would have computed the same one.

// maxReportKeys bounds the visibilities cached per graph and kind (the
// nation, seven regions and a few more); beyond it results are computed
// and not kept.
const maxReportKeys = 16

// cachedSystemicLimit is how many suppliers and products a cached
// systemic result keeps; a request for more computes its own. Truncating
// the sorted lists is what Limit does, so a shorter Limit is served from
// the cached lists exactly.
const cachedSystemicLimit = 1000

type reportKind uint8

const (
	concentrationReport reportKind = iota
	systemicReport
)

type reportKey struct {
	kind    reportKind
	minOrgs int
	vis     string // visibilityKey
}

// reports is one graph's cache.
type reports struct {
	mu sync.Mutex
	m  map[reportKey]*flight
	// warmed is closed when the background warm-up of this graph is over
	// (tests wait on it).
	warmed chan struct{}
}

// flight is one computation; done is closed when val is set (nil if the
// computation panicked: waiters then compute for themselves).
type flight struct {
	done chan struct{}
	val  any
}

// do returns the value for key, computing it with f at most once per
// graph while the cache has room. Waiting for another caller's computation
// ends early, with ctx's error, when ctx does.
func (r *reports) do(ctx context.Context, key reportKey, f func() any) (any, error) {
	r.mu.Lock()
	if fl, ok := r.m[key]; ok {
		r.mu.Unlock()
		select {
		case <-fl.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if fl.val != nil {
			return fl.val, nil
		}
		return f(), nil
	}
	if len(r.m) >= maxReportKeys*2 { // both kinds
		r.mu.Unlock()
		return f(), nil
	}
	if r.m == nil {
		r.m = map[reportKey]*flight{}
	}
	fl := &flight{done: make(chan struct{})}
	r.m[key] = fl
	r.mu.Unlock()
	defer func() {
		if fl.val == nil {
			r.mu.Lock()
			delete(r.m, key)
			r.mu.Unlock()
		}
		close(fl.done)
	}()
	fl.val = f()
	return fl.val, nil
}

// visibilityKey is what the reports read of sc: see the comment at the top
// of this file. Everything visible is "all", which the warm-up computes.
func (g *graph) visibilityKey(sc scope.Scope) string {
	reader := nhsReader(sc)
	if reader {
		for _, p := range sc.Prefixes(scope.Read) {
			if p == "/" {
				return "all"
			}
		}
	}
	bits := make([]byte, 1+(len(g.orgs)+7)/8)
	all := true
	for i := range g.orgs {
		if sc.CanAt(scope.Read, g.orgs[i].path) {
			bits[1+i/8] |= 1 << (i % 8)
		} else {
			all = false
		}
	}
	if all && reader {
		return "all"
	}
	if reader {
		bits[0] = 1
	}
	return string(bits)
}

// concentrationAll is ConcentrationAll over g for sc, from the cache.
func (s *Service) concentrationAll(ctx context.Context, g *graph, sc scope.Scope) (ConcentrationReport, error) {
	key := reportKey{kind: concentrationReport, vis: g.visibilityKey(sc)}
	v, err := g.reports.do(ctx, key, func() any {
		s.concRuns.Add(1)
		var vis func(int32) bool
		if key.vis != "all" {
			vis = func(o int32) bool { return sc.CanAt(scope.Read, g.orgs[o].path) }
		}
		rep := g.concentrationReport(vis)
		return &rep
	})
	if err != nil {
		return ConcentrationReport{}, err
	}
	rep := *v.(*ConcentrationReport)
	// Callers get their own top-level slices; the groups and shares inside
	// are shared and must not be changed.
	rep.Services = slices.Clone(rep.Services)
	rep.Results = slices.Clone(rep.Results)
	rep.Monopolies = slices.Clone(rep.Monopolies)
	return rep, nil
}

// systemicCached is Systemic over g for sc, from the cache when o.Limit
// allows.
func (s *Service) systemicCached(ctx context.Context, g *graph, sc scope.Scope, o SystemicOptions) (SystemicResult, error) {
	if o.Limit <= 0 {
		o.Limit = 50
	}
	if o.MinOrgs <= 0 {
		o.MinOrgs = 2
	}
	if o.Limit > cachedSystemicLimit {
		s.sysRuns.Add(1)
		return g.systemic(s, sc, o), nil
	}
	key := reportKey{kind: systemicReport, minOrgs: o.MinOrgs, vis: g.visibilityKey(sc)}
	v, err := g.reports.do(ctx, key, func() any {
		s.sysRuns.Add(1)
		res := g.systemic(s, sc, SystemicOptions{Limit: cachedSystemicLimit, MinOrgs: o.MinOrgs})
		return &res
	})
	if err != nil {
		return SystemicResult{}, err
	}
	res := *v.(*SystemicResult)
	res.Suppliers = slices.Clone(res.Suppliers[:min(o.Limit, len(res.Suppliers))])
	res.Products = slices.Clone(res.Products[:min(o.Limit, len(res.Products))])
	res.SinglePoints = slices.Clone(res.SinglePoints)
	return res, nil
}

// install makes g the current graph and starts warming its reports.
func (s *Service) install(g *graph) {
	g.reports.warmed = make(chan struct{})
	s.graph.Store(g)
	s.lastCk.Store(g.builtAt.UnixNano())
	go s.warm(g)
}

// warm computes g's national reports — what a national user's overview
// asks for — side by side, unless g has already been replaced. It touches
// only the graph, never the store, so it needs no lifecycle of its own.
func (s *Service) warm(g *graph) {
	defer close(g.reports.warmed)
	if s.graph.Load() != g {
		return
	}
	ctx, sc := context.Background(), scope.System("supply-warm")
	var wg sync.WaitGroup
	for _, f := range []func(){
		// Warming only fills the caches; a failure is met again, and
		// reported, by the request that asks.
		func() { _, _ = s.concentrationAll(ctx, g, sc) },
		func() { _, _ = s.systemicCached(ctx, g, sc, SystemicOptions{}) },
	} {
		wg.Go(func() {
			// A request would turn a panic into a 500; here it must not
			// take the process down. The next caller computes again.
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("supply report warm-up failed", "generation", g.gen, "panic", r)
				}
			}()
			f()
		})
	}
	wg.Wait()
}
