package intel

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// BenchmarkSearch: the intelligence pages' search over Enterprise
// ATT&CK (24,771 objects) and 100,000 indicators (domains, addresses,
// URLs and hashes), all in a national collection that a trust's
// analyst reads through their organisation's grant: every answer goes
// through ReadCollection as the pages' do. VIGIL_BENCH_PG=1 runs it on
// PostgreSQL too. The setup (importing 125,000 objects) takes a minute
// or more and is not timed.
func BenchmarkSearch(b *testing.B) {
	if _, err := os.Stat(enterprise); err != nil {
		testneed.Missing(b, "ATT&CK in ../shared/data/attack", err)
	}
	engines := map[string]func(testing.TB, ...store.MigrationSet) *store.DB{"sqlite": storetest.SQLite}
	if os.Getenv("VIGIL_BENCH_PG") != "" {
		engines["postgres"] = storetest.Postgres
	}
	for name, open := range engines {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db := open(b, Migrations())
			s, _ := New(Options{DB: db, OrgPath: orgPath})
			nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
			alice := person("u-alice", scope.OrgAnalyst, "RJ1")
			c, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National", TLPCeiling: stix.TLPAmber})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.GrantCollection(ctx, nadia, c.ID, GrantOptions{Org: "ENG", Read: true}); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			bundle, err := stix.ReadBundleFile(enterprise)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.ImportInto(ctx, nadia, c.ID, "attack", bundle.Objects); err != nil {
				b.Fatal(err)
			}
			created := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			for chunk := 0; chunk < 10; chunk++ {
				var objs []*stix.Object
				for i := chunk * 10000; i < (chunk+1)*10000; i++ {
					var p string
					switch i % 4 {
					case 0:
						p = fmt.Sprintf("[domain-name:value = 'host-%d.bad-%d.example']", i, i%977)
					case 1:
						p = fmt.Sprintf("[ipv4-addr:value = '10.%d.%d.%d']", i>>16&255, i>>8&255, i&255)
					case 2:
						p = fmt.Sprintf("[url:value = 'https://cdn-%d.example/payload/%d.bin']", i%3001, i)
					default:
						p = fmt.Sprintf("[file:hashes.'SHA-256' = '%064x']", i*2654435761)
					}
					o, err := stix.NewIndicator(stix.IndicatorOptions{Name: fmt.Sprintf("feed indicator %d", i), Pattern: p, Created: created, Markings: []string{stix.TLP2Green}})
					if err != nil {
						b.Fatal(err)
					}
					objs = append(objs, o)
				}
				if _, err := s.ImportInto(ctx, nadia, c.ID, fmt.Sprintf("feed-%d", chunk), objs); err != nil {
					b.Fatal(err)
				}
			}
			var rows int
			_ = db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM intel_search_tokens`).Scan(&rows)
			b.Logf("%s: stored 124,771 objects, %d index rows, in %v", name, rows, time.Since(start))
			for _, q := range []struct{ name, text, typ string }{
				{"technique-id", "T1059.001", ""},
				{"word", "powershell", ""},
				{"two-words", "credential dumping", ""},
				{"malware-name", "qakbot", "malware"},
				{"ip-value", "10.1.2.3", ""},
				{"domain-prefix", "host-4242.bad", ""},
				{"hash", fmt.Sprintf("%064x", 7*2654435761), "indicator"},
				{"cve-absent", "CVE-2021-44228", ""},
			} {
				b.Run(q.name, func(b *testing.B) {
					n := 0
					for b.Loop() {
						found, err := s.Search(ctx, alice, q.text, q.typ, 201)
						if err != nil {
							b.Fatal(err)
						}
						n = len(found)
					}
					b.ReportMetric(float64(n), "results")
				})
			}
		})
	}
}
