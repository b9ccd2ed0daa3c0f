package supply

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply/supplygen"
)

func estateFiles(e *supplygen.Estate) []ImportFile {
	b := e.Bytes()
	var out []ImportFile
	for _, n := range supplygen.FileNames {
		out = append(out, ImportFile{Name: n, Data: b[n]})
	}
	return out
}

// TestGeneratedEstateImports checks the generator's output is valid input
// and that every query runs on it (a small estate, on SQLite only: the
// engines are covered by the case tests).
func TestGeneratedEstateImports(t *testing.T) {
	est := supplygen.Generate(supplygen.Config{Seed: 1, SyntheticOrg: 400, Suppliers: 500, Products: 1200, Deployments: 8000, Dependencies: 2500})
	db := storetest.SQLite(t, sets...)
	svc, err := New(Options{DB: db, Audit: audit.New(db, nil), Orgs: sliceOrgs(est.Orgs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := svc.Import(ctx, national, estateFiles(est), ImportOptions{})
	if err != nil || !rep.Applied {
		t.Fatalf("%v %s %v", err, rep.Message, rep.Errors[:min(5, len(rep.Errors))])
	}
	res, err := svc.Impact(ctx, national, Query{Supplier: "S00000"}) // the largest hosting provider
	if err != nil || len(res.Affected) == 0 {
		t.Fatalf("impact: %v %d", err, len(res.Affected))
	}
	for _, a := range res.Affected {
		if len(a.Paths) == 0 || len(a.Paths) > 5 || a.PathCount < len(a.Paths) || a.Paths[0][0] != "supplier:S00000" || a.Paths[0][len(a.Paths[0])-1] != "org:"+a.ODS {
			t.Fatalf("bad paths for %s: %v (count %d)", a.ODS, a.Paths, a.PathCount)
		}
	}
	rc, err := svc.ConcentrationAll(ctx, national)
	if err != nil || len(rc.Services) < 30 {
		t.Fatalf("concentration: %v %d services", err, len(rc.Services))
	}
	for _, r := range rc.Results {
		for _, g := range r.Groups {
			if g.HHI < 0 || g.HHI > 10000+1e-6 {
				t.Fatalf("%s %s %s: HHI %f", r.Service, r.By, g.Code, g.HHI)
			}
		}
	}
	if _, err := svc.Systemic(ctx, national, SystemicOptions{}); err != nil {
		t.Fatal(err)
	}
}

// nationalService builds a Service whose graph holds the generated
// national estate without going through the store (the import benchmark
// measures that path).
func nationalService(b *testing.B) (*Service, *graph, *supplygen.Estate) {
	b.Helper()
	est := supplygen.Generate(supplygen.National(42))
	reg := estateRegister(b, est)
	db := storetest.SQLite(b, sets...)
	svc, err := New(Options{DB: db, Audit: audit.New(db, nil), Orgs: sliceOrgs(est.Orgs), MaxGraphAge: time.Hour, CheckInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	g := buildGraph(append([]org.Org(nil), est.Orgs...), reg)
	g.builtAt = time.Now()
	svc.graph.Store(g)
	svc.lastCk.Store(time.Now().UnixNano())
	return svc, g, est
}

// estateRegister parses the generated estate's CSV into register rows.
func estateRegister(b *testing.B, est *supplygen.Estate) *Register {
	b.Helper()
	p := &parsed{errs: &errList{max: 10}}
	for _, f := range estateFiles(est) {
		p.parseFile(f)
	}
	if p.errs.count > 0 {
		b.Fatalf("generated estate has errors: %v", p.errs.errs)
	}
	reg := &Register{}
	for _, r := range p.suppliers {
		reg.Suppliers = append(reg.Suppliers, r.v)
	}
	for _, r := range p.products {
		reg.Products = append(reg.Products, r.v)
	}
	for _, r := range p.dependencies {
		reg.Dependencies = append(reg.Dependencies, r.v)
	}
	for _, r := range p.deployments {
		reg.Deployments = append(reg.Deployments, r.v)
	}
	for _, r := range p.vulns {
		reg.Vulns = append(reg.Vulns, r.v)
	}
	return reg
}

func report(b *testing.B, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(f float64) float64 { return float64(d[int(f*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}

// BenchmarkImpact runs a mix of impact queries with paths on the national
// estate: random tail suppliers and products, the big GP-system, EPR,
// hosting and security-agent suppliers, and CVEs.
func BenchmarkImpact(b *testing.B) {
	svc, g, _ := nationalService(b)
	r := rand.New(rand.NewPCG(9, 9))
	var qs []Query
	for i := 0; i < 1000; i++ {
		switch x := r.IntN(20); {
		case x < 8:
			qs = append(qs, Query{Supplier: g.sup[r.IntN(len(g.sup))].id})
		case x < 16:
			qs = append(qs, Query{Product: g.prod[r.IntN(len(g.prod))].id})
		case x < 18:
			qs = append(qs, Query{CVE: fmt.Sprintf("CVE-2099-%04d", r.IntN(150))})
		default:
			qs = append(qs, Query{Supplier: g.sup[r.IntN(40)].id}) // hosting, agents, IdPs, GP, EPR, pathology
		}
	}
	ctx := context.Background()
	d := make([]time.Duration, 0, b.N)
	affected := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, err := svc.Impact(ctx, national, qs[i%len(qs)])
		d = append(d, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		affected += len(res.Affected)
	}
	b.StopTimer()
	report(b, d)
	b.ReportMetric(float64(affected)/float64(b.N), "orgs/query")
}

// BenchmarkImpactWorst is the largest hosting provider: most of the estate.
func BenchmarkImpactWorst(b *testing.B) {
	svc, _, _ := nationalService(b)
	ctx := context.Background()
	d := make([]time.Duration, 0, b.N)
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, err := svc.Impact(ctx, national, Query{Supplier: "S00000"})
		d = append(d, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		n = len(res.Affected)
	}
	b.StopTimer()
	report(b, d)
	b.ReportMetric(float64(n), "orgs/query")
}

// BenchmarkConcentrationAll and BenchmarkSystemic measure computing the
// report, as the first caller after a rebuild does: the graph's cache is
// emptied before each run (BenchmarkFirstOverview measures the cache).
func BenchmarkConcentrationAll(b *testing.B) {
	svc, g, _ := nationalService(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		forgetReports(g)
		if _, err := svc.ConcentrationAll(ctx, national); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSystemic(b *testing.B) {
	svc, g, _ := nationalService(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		forgetReports(g)
		if _, err := svc.Systemic(ctx, national, SystemicOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstOverview is the Suppliers overview page right after a
// register change: a new graph is installed (as a rebuild does), then the
// page asks for the concentration report and the systemic ranking, in
// that order, as a national analyst. first-ms is that wait; again-ms is
// the same two calls once more on the same graph.
func BenchmarkFirstOverview(b *testing.B) {
	svc, _, est := nationalService(b)
	reg := estateRegister(b, est)
	ctx := context.Background()
	first := make([]time.Duration, 0, b.N)
	again := make([]time.Duration, 0, b.N)
	overview := func() time.Duration {
		t0 := time.Now()
		if _, err := svc.ConcentrationAll(ctx, national); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Systemic(ctx, national, SystemicOptions{Limit: 10}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g := buildGraph(append([]org.Org(nil), est.Orgs...), reg)
		g.gen = int64(i + 1)
		g.builtAt = time.Now()
		runtime.GC()
		b.StartTimer()
		installGraph(svc, g)
		first = append(first, overview())
		again = append(again, overview())
	}
	b.StopTimer()
	report(b, first)
	sort.Slice(again, func(i, j int) bool { return again[i] < again[j] })
	b.ReportMetric(float64(again[len(again)/2].Microseconds())/1000, "again-ms")
}

// installGraph makes g the Service's graph, as a rebuild does.
func installGraph(svc *Service, g *graph) { svc.install(g) }

// forgetReports empties g's report cache.
func forgetReports(g *graph) {
	g.reports.mu.Lock()
	g.reports.m = nil
	g.reports.mu.Unlock()
}

// BenchmarkGraphBuild measures building the graph from rows and its heap
// footprint (live heap after build minus before, and the estimate).
func BenchmarkGraphBuild(b *testing.B) {
	_, g0, est := nationalService(b)
	reg := estateRegister(b, est)
	var g *graph
	var heap uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m0, m1 runtime.MemStats
		g = nil
		runtime.GC()
		runtime.ReadMemStats(&m0)
		g = buildGraph(append([]org.Org(nil), est.Orgs...), reg)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = m1.HeapAlloc - m0.HeapAlloc
	}
	b.StopTimer()
	runtime.KeepAlive(g)
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(g.stats.Bytes)/(1<<20), "estimate-MB")
	b.Logf("orgs %d suppliers %d products %d dependencies %d deployments %d services %d cycles %d (first graph %d deployments)",
		g.stats.Orgs, g.stats.Suppliers, g.stats.Products, g.stats.Dependencies, g.stats.Deployments, g.stats.Services, len(g.stats.Cycles), g0.stats.Deployments)
}

// BenchmarkImportCSV imports the whole national estate from CSV into a
// fresh SQLite database (validation, diff and apply).
func BenchmarkImportCSV(b *testing.B) {
	est := supplygen.Generate(supplygen.National(42))
	files := estateFiles(est)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := storetest.SQLite(b, sets...)
		svc, err := New(Options{DB: db, Audit: audit.New(db, nil), Orgs: sliceOrgs(est.Orgs)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := svc.Import(ctx, national, files, ImportOptions{})
		if err != nil || !rep.Applied {
			b.Fatalf("%v %s %v", err, rep.Message, rep.Errors[:min(5, len(rep.Errors))])
		}
		b.StopTimer()
		if i == 0 {
			b.Logf("tables %+v", rep.Tables)
			t0 := time.Now()
			st, err := svc.Refresh(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("graph rebuilt from SQLite in %v: %+v", time.Since(t0), st.Bytes)
		}
		db.Close()
		b.StartTimer()
	}
}
