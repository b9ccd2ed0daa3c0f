package cases

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// The inbox benchmark: a million alerts over 210 trusts (7 regions × 6
// ICBs × 5 trusts), then the first page of each filter an analyst uses,
// as a national analyst, a region lead and a trust analyst. The count can
// be lowered with VIGIL_BENCH_ALERTS for a quick look.
//
//	go test -run '^$' -bench BenchmarkInboxFirstPage -benchtime 20x ./internal/cases/

type inboxEstate struct {
	e                       *env
	national, region, trust scope.Scope
	gen                     time.Duration
	count                   int
}

var (
	inboxOnce sync.Once
	inbox     *inboxEstate
	inboxErr  error
)

func benchAlerts() int {
	if n, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_ALERTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func loadInbox(b *testing.B) *inboxEstate {
	inboxOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-inbox-bench-")
		if err != nil {
			inboxErr = err
			return
		}
		db, err := store.Open(context.Background(), store.Options{DataDir: dir})
		if err != nil {
			inboxErr = err
			return
		}
		if _, err := db.Migrate(context.Background(), sets...); err != nil {
			inboxErr = err
			return
		}
		e := newEnvBare(b, db)
		ctx := context.Background()
		sys := scope.System("bench")
		var trusts []string
		for r := 1; r <= 7; r++ {
			reg := fmt.Sprintf("R%d", r)
			if _, err := e.orgs.Create(ctx, sys, org.Org{Code: reg, Name: "Region " + reg, Type: org.Region}); err != nil {
				inboxErr = err
				return
			}
			for i := 1; i <= 6; i++ {
				icb := fmt.Sprintf("%sI%d", reg, i)
				if _, err := e.orgs.Create(ctx, sys, org.Org{Code: icb, Name: "ICB " + icb, Type: org.ICB, Parent: reg}); err != nil {
					inboxErr = err
					return
				}
				for t := 1; t <= 5; t++ {
					code := fmt.Sprintf("%sT%d", icb, t)
					if _, err := e.orgs.Create(ctx, sys, org.Org{Code: code, Name: "Trust " + code, Type: org.Trust, Parent: icb}); err != nil {
						inboxErr = err
						return
					}
					trusts = append(trusts, code)
				}
			}
		}
		start := time.Now()
		n := benchAlerts()
		if inboxErr = e.svc.GenerateAlerts(ctx, sys, GenerateOptions{Count: n, Orgs: trusts, End: t0, Seed: 1}); inboxErr != nil {
			return
		}
		inbox = &inboxEstate{e: e, gen: time.Since(start), count: n,
			national: person("nat@nhs.test", scope.NationalAnalyst, "ENG", "/ENG/"),
			region:   person("lead@r3.nhs.test", scope.RegionLead, "R3", "/ENG/R3/"),
			trust:    person("analyst@r3i2t4.nhs.test", scope.OrgAnalyst, "R3I2T4", "/ENG/R3/R3I2/R3I2T4/")}
	})
	if inboxErr != nil {
		b.Fatal(inboxErr)
	}
	return inbox
}

// inboxQueries are the first pages measured: who asks, and the filter.
func inboxQueries(ie *inboxEstate) []struct {
	name string
	sc   scope.Scope
	f    AlertFilter
} {
	day := t0.Add(-24 * time.Hour)
	return []struct {
		name string
		sc   scope.Scope
		f    AlertFilter
	}{
		{"national/all", ie.national, AlertFilter{}},
		{"national/new", ie.national, AlertFilter{Status: AlertNew}},
		{"national/new+critical", ie.national, AlertFilter{Status: AlertNew, Severity: Critical}},
		{"national/source+type", ie.national, AlertFilter{Source: "email-gateway", Type: "phishing"}},
		{"national/one-trust+new", ie.national, AlertFilter{Org: "R5I1T2", Status: AlertNew}},
		{"national/last-24h+high", ie.national, AlertFilter{Since: day, Severity: High}},
		{"national/q-common", ie.national, AlertFilter{Query: "powershell"}},
		{"national/assignee-none", ie.national, AlertFilter{Assignee: "nobody@nhs.test"}},
		{"national/q-rare", ie.national, AlertFilter{Query: "ws-r3i2t4-0042"}},
		{"region/all", ie.region, AlertFilter{}},
		{"region/new", ie.region, AlertFilter{Status: AlertNew}},
		{"region/new+critical", ie.region, AlertFilter{Status: AlertNew, Severity: Critical}},
		{"trust/all", ie.trust, AlertFilter{}},
		{"trust/new", ie.trust, AlertFilter{Status: AlertNew}},
		{"trust/new+critical", ie.trust, AlertFilter{Status: AlertNew, Severity: Critical}},
		{"trust/source+type", ie.trust, AlertFilter{Source: "ioc", Type: "c2-beacon"}},
		{"trust/q-host", ie.trust, AlertFilter{Query: "ws-r3i2t4-004"}},
	}
}

func BenchmarkInboxFirstPage(b *testing.B) {
	ie := loadInbox(b)
	b.Logf("%d alerts generated in %v", ie.count, ie.gen.Round(time.Millisecond))
	ctx := context.Background()
	for _, q := range inboxQueries(ie) {
		b.Run(q.name, func(b *testing.B) {
			var all []time.Duration
			rows := 0
			for i := 0; i < b.N; i++ {
				f := q.f
				f.Limit = 50
				start := time.Now()
				list, _, err := ie.e.svc.ListAlerts(ctx, q.sc, f)
				all = append(all, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				rows = len(list)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
