package supply

import (
	"context"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply/supplygen"
)

// peerImpactSQL is what a hand-written tool would run for "who is affected
// if supplier X is compromised": a recursive query over the same tables
// for the affected products, then their deployments. It answers less than
// Impact — no paths, no impact classes, no totals, no scope — so the ratio
// is a floor on what Vigil's in-memory graph saves.
const peerImpactSQL = `WITH RECURSIVE affected(product_id) AS (
	SELECT product_id FROM supply_products WHERE supplier_id = ?
	UNION
	SELECT d.product_id FROM supply_dependencies d JOIN affected a ON d.depends_on_product_id = a.product_id
)
SELECT DISTINCT org_ods, service FROM supply_deployments WHERE product_id IN (SELECT product_id FROM affected)`

// BenchmarkImpactVsRecursiveSQL runs the same supplier queries through
// Impact and through the recursive-SQL peer, on the national estate
// imported into SQLite, and reports both medians and tails.
func BenchmarkImpactVsRecursiveSQL(b *testing.B) {
	est := supplygen.Generate(supplygen.National(42))
	ctx := context.Background()
	db := storetest.SQLite(b, sets...)
	svc, err := New(Options{DB: db, Audit: audit.New(db, nil), Orgs: sliceOrgs(est.Orgs)})
	if err != nil {
		b.Fatal(err)
	}
	if rep, err := svc.Import(ctx, national, estateFiles(est), ImportOptions{}); err != nil || !rep.Applied {
		b.Fatalf("import: %v", err)
	}
	if _, err := svc.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	sups := est.Files["suppliers.csv"][1:] // supplier_id first; row 0 is the header
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = sups[r.IntN(len(sups))][0]
	}
	ids[0] = "S00000" // the largest hosting provider
	var vigil, peer []time.Duration
	var vigilOrgs, peerRows int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, id := range ids {
			t0 := time.Now()
			res, err := svc.Impact(ctx, national, Query{Supplier: id})
			vigil = append(vigil, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			vigilOrgs += len(res.Affected)

			t0 = time.Now()
			rows, err := db.QueryContext(ctx, peerImpactSQL, id)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				peerRows++
			}
			rows.Close()
			peer = append(peer, time.Since(t0))
		}
	}
	b.StopTimer()
	q := func(d []time.Duration, f float64) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[int(f*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(vigil, .5), "vigil-p50-ms")
	b.ReportMetric(q(vigil, .99), "vigil-p99-ms")
	b.ReportMetric(q(peer, .5), "sql-p50-ms")
	b.ReportMetric(q(peer, .99), "sql-p99-ms")
	var sv, sp time.Duration
	for i := range vigil {
		sv += vigil[i]
		sp += peer[i]
	}
	b.ReportMetric(float64(sp)/float64(sv), "sql/vigil-total")
	b.Logf("affected orgs (vigil) %d, org×service rows (sql) %d over %d queries", vigilOrgs, peerRows, len(vigil))
}
