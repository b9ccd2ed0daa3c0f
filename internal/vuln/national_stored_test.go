package vuln

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// BenchmarkNationalStored is issue 18's national figure on the stored
// path: 10,000 generated SBOMs of 500 components (BenchmarkNationalInventory's
// generator, written as CycloneDX JSON) stored as organisations'
// inventories through AddInventory, then (a) the full match of everything
// stored against every advisory in the shared OSV directory, findings
// written, as the leader duty and `vigil vuln match` run it, and (b) one
// advisory at a time changed on disk (widened to every version of its
// packages, as BenchmarkNationalInventory does) and matched again
// incrementally, the way Match notices it. Storing the SBOMs is setup,
// reported apart. SQLite always; PostgreSQL too with
// VIGIL_NATIONAL_PG=1. VIGIL_NATIONAL_SBOMS scales the count down for a
// quick look:
//
//	go test -run '^$' -bench NationalStored -benchtime 1x -timeout 60m ./internal/vuln/
func BenchmarkNationalStored(b *testing.B) {
	if testing.Short() {
		b.Skip("national scale: not under -short")
	}
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("VIGIL_NATIONAL_SBOMS")); err == nil && v > 0 {
		n = v
	}
	const per = 500
	changes := 10
	dbs := map[string]func(testing.TB) *store.DB{
		"sqlite": func(t testing.TB) *store.DB { return storetest.SQLite(t, alertSets...) },
	}
	if os.Getenv("VIGIL_NATIONAL_PG") == "1" {
		dbs["postgres"] = func(t testing.TB) *store.DB { return storetest.Postgres(t, alertSets...) }
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open := dbs[name]
		if open == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			g, _, _ := newNationalGenerator(b)
			osv := copyOSV(b)
			e := newAlertEnv(b, open(b))
			ctx := context.Background()
			svc, err := NewSBOMs(SBOMOptions{DB: e.db, Audit: e.al, Register: e.sup, Orgs: e.svc.o.Orgs, KEVFile: kevFile, Now: e.clk.Now})
			if err != nil {
				b.Fatal(err)
			}
			orgs := []string{"RJ1", "RJZ", "RA7", "RBA"}
			r := rand.New(rand.NewPCG(1, 2))
			start := time.Now()
			for i := range n {
				data := cycloneDX(b, g.sbom(r, i, per))
				if _, err := svc.AddInventory(ctx, e.nadia, orgs[i%len(orgs)], InventoryMeta{Name: fmt.Sprintf("estate-%05d", i)}, "estate.cdx.json", data); err != nil {
					b.Fatal(err)
				}
			}
			setup := time.Since(start)
			files := advisoryFiles(b, osv)
			for b.Loop() {
				start = time.Now()
				rep, err := svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv, Full: true})
				if err != nil {
					b.Fatal(err)
				}
				full := time.Since(start)
				if rep.Mode != "full" || rep.SBOMs != n || rep.Components == 0 {
					b.Fatalf("full match %+v", rep)
				}
				st := svc.st
				var ids []string
				for id, a := range st.db.Advisories {
					for _, k := range a.packageKeys() {
						if st.inv.byKey[k] != nil {
							ids = append(ids, id)
							break
						}
					}
				}
				sort.Strings(ids)
				var worst, total time.Duration
				rewritten, findings, writes := 0, rep.Findings, 0
				done := 0
				if p := os.Getenv("VIGIL_NATIONAL_PROFILE"); p != "" {
					// The incremental matches' CPU profile.
					f, err := os.Create(p)
					if err != nil {
						b.Fatal(err)
					}
					if err := pprof.StartCPUProfile(f); err != nil {
						b.Fatal(err)
					}
					defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
				}
				for _, id := range ids {
					if done == changes {
						break
					}
					p := files[id]
					if p == "" {
						continue
					}
					widen(b, p)
					e.clk.Advance(time.Minute)
					start = time.Now()
					inc, err := svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv})
					d := time.Since(start)
					if err != nil || inc.Mode != "incremental" || inc.Changed != 1 {
						b.Fatalf("incremental match after %s: %+v %v", id, inc, err)
					}
					b.Logf("%s changed: %d SBOMs judged again, %d findings written, %s", id, inc.Rewritten, inc.FindingsWritten, d.Round(time.Millisecond))
					total += d
					worst = max(worst, d)
					rewritten += inc.Rewritten
					findings = inc.Findings
					writes += inc.FindingsWritten
					done++
				}
				var ru syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
				b.ReportMetric(float64(rep.SBOMs), "sboms")
				b.ReportMetric(float64(rep.Components), "components")
				b.ReportMetric(setup.Seconds(), "setup-s")
				b.ReportMetric(full.Seconds(), "full-match-s")
				b.ReportMetric(float64(rep.Findings), "findings-full")
				b.ReportMetric(total.Seconds()/float64(max(done, 1)), "incremental-s/advisory")
				b.ReportMetric(worst.Seconds(), "worst-incremental-s")
				b.ReportMetric(float64(rewritten)/float64(max(done, 1)), "sboms-rewritten/advisory")
				b.ReportMetric(float64(findings), "findings-after")
				b.ReportMetric(float64(rep.FindingsWritten), "findings-written-full")
				b.ReportMetric(float64(writes)/float64(max(done, 1)), "findings-written/advisory")
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
			}
		})
	}
}

// cycloneDX writes s as the CycloneDX JSON an organisation would upload:
// each component's name, version and purl (the purl carrying the
// generated version).
func cycloneDX(t testing.TB, s *SBOM) []byte {
	type comp struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		PURL    string `json:"purl"`
	}
	cs := make([]comp, len(s.Components))
	for i, c := range s.Components {
		p, err := packageurl.FromString(c.PURL)
		if err != nil {
			t.Fatal(err)
		}
		p.Version = c.Version
		cs[i] = comp{"library", c.Name, c.Version, p.ToString()}
	}
	b, err := json.Marshal(map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": cs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyOSV copies every shared OSV record to a directory of the
// benchmark's own, so it may change them.
func copyOSV(t testing.TB) string {
	src := filepath.Join(dataDir, "osv")
	dst := filepath.Join(t.TempDir(), "osv")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// advisoryFiles maps each advisory ID in dir to its record file.
func advisoryFiles(t testing.TB, dir string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var rec struct{ ID string }
		if json.Unmarshal(b, &rec) == nil && rec.ID != "" {
			out[rec.ID] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// widen rewrites the OSV record at p so that it affects every version of
// its packages.
func widen(t testing.TB, p string) {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	affected, _ := rec["affected"].([]any)
	for _, a := range affected {
		m, _ := a.(map[string]any)
		if m == nil {
			continue
		}
		delete(m, "versions")
		m["ranges"] = []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]any{"introduced": "0"}}}}
	}
	if b, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A match writes only the findings whose state changes, and what it
// leaves is what matching everything again from nothing writes.
func TestStoredMatchWritesOnlyChanges(t *testing.T) {
	data := readFile(t, flux2SBOM)
	other := readFile(t, filepath.Join(sharedVuln, "sbom", "go-minikube-v1.23.1.cdx15.json"))
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		osv := goOSV(t)
		ctx := context.Background()
		svc := newSBOMs(t, e, "")
		for _, x := range []struct {
			product, file string
			data          []byte
		}{{"ACME-TLS", "flux.json", data}, {"BRAVO-LIMS", "minikube.json", other}} {
			if _, err := svc.AddProductSBOM(ctx, e.nadia, x.product, "1", x.file, x.data); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv})
		if err != nil || rep.Findings == 0 || rep.FindingsWritten != rep.Findings {
			t.Fatalf("first match wrote %d of %d findings: %v", rep.FindingsWritten, rep.Findings, err)
		}
		wantCount(t, e.db, rep)
		if rep, err = svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv}); err != nil || rep.FindingsWritten != 0 {
			t.Fatalf("nothing changed, %d findings written: %v", rep.FindingsWritten, err)
		}
		// x/net's advisory widened to every version: new findings only
		// where an x/net version was not affected before.
		widen(t, filepath.Join(osv, "Go", "GO-2023-2102.json"))
		inc, err := svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv})
		if err != nil || inc.Mode != "incremental" || inc.Changed != 1 {
			t.Fatalf("after widening %+v %v", inc, err)
		}
		if inc.FindingsWritten == 0 || inc.FindingsWritten >= inc.Findings {
			t.Errorf("widening one advisory wrote %d of %d findings", inc.FindingsWritten, inc.Findings)
		}
		wantCount(t, e.db, inc)
		after := dumpFindings(t, e.db)
		// From nothing, at the same moment (the clock stands): the same rows.
		for _, tb := range []string{"vuln_finding_ids", "vuln_findings"} {
			if _, err := e.db.Q().ExecContext(ctx, `DELETE FROM `+tb); err != nil {
				t.Fatal(err)
			}
		}
		fresh := dumpFindings(t, e.db)
		if len(fresh) != 0 {
			t.Fatal("findings left")
		}
		if _, err := svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv, Full: true}); err != nil {
			t.Fatal(err)
		}
		full := dumpFindings(t, e.db)
		if len(full) != len(after) {
			t.Fatalf("incremental left %d rows, a full match from nothing %d", len(after), len(full))
		}
		for i := range full {
			if full[i] != after[i] {
				t.Fatalf("row %d: incremental\n%s\nfull\n%s", i, after[i], full[i])
			}
		}
		if rep, err = svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv, Full: true}); err != nil || rep.FindingsWritten != 0 {
			t.Fatalf("a full match changing nothing wrote %d findings: %v", rep.FindingsWritten, err)
		}
		wantCount(t, e.db, rep)
		// The advisory withdrawn again: its findings go, and the counts.
		b, err := os.ReadFile(filepath.Join(osv, "Go", "GO-2023-2102.json"))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), `"id":`, `"withdrawn": "2026-12-01T00:00:00Z", "id":`, 1))
		if err := os.WriteFile(filepath.Join(osv, "Go", "GO-2023-2102.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if rep, err = svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv}); err != nil || rep.Mode != "incremental" || rep.FindingsWritten == 0 {
			t.Fatalf("withdrawn: %+v %v", rep, err)
		}
		wantCount(t, e.db, rep)
	})
}

// wantCount checks a match's counts of findings against the table.
func wantCount(t *testing.T, db *store.DB, rep MatchReport) {
	t.Helper()
	rows, err := db.Q().QueryContext(context.Background(), `SELECT priority, COUNT(*) FROM vuln_findings GROUP BY priority`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var l string
		var c int
		if err := rows.Scan(&l, &c); err != nil {
			t.Fatal(err)
		}
		total += c
		if rep.ByLevel[l] != c {
			t.Errorf("%s: the match counted %d findings, the table has %d", l, rep.ByLevel[l], c)
		}
	}
	if rep.Findings != total || total == 0 {
		t.Errorf("the match counted %d findings, the table has %d", rep.Findings, total)
	}
}

// dumpFindings is every stored finding and finding ID row, as sorted
// text.
func dumpFindings(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT sbom_id || '|' || component || '|' || vuln_id || '|' || priority || '|' || points || '|' || first_seen || '|' || due || '|' || body FROM vuln_findings`,
		`SELECT 'id|' || name || '|' || sbom_id || '|' || component || '|' || vuln_id FROM vuln_finding_ids`,
	} {
		rows, err := db.Q().QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// A chunk of thousands of SBOMs each judged again in a component or two
// (a changed advisory at national scale) reads its old findings and
// writes the changes in statements both engines take: SQLite refuses an
// expression deeper than 1,000 terms, and both bound parameters.
func TestFindingsOfManySBOMs(t *testing.T) {
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		const n = 2_700
		jobs := make([]findingsJob, n)
		levels := map[int32]map[string]int{}
		for i := range jobs {
			f := Finding{ID: fmt.Sprintf("GHSA-%04d", i%7), Aliases: []string{fmt.Sprintf("CVE-2026-%04d", i)}}
			jobs[i] = findingsJob{id: fmt.Sprintf("SBOM-%05d", i), idx: int32(i), comps: []int32{3, 9}, rows: []findingRow{{3, f}}}
		}
		svc := newSBOMs(t, e, "")
		write := func(when string, want int) {
			t.Helper()
			err := e.db.InTx(ctx, func(tx *store.Tx) error {
				changed, err := svc.writeFindings(ctx, tx, jobs, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), levels)
				for i, c := range changed {
					if c != want {
						t.Fatalf("%s: SBOM %d: %d findings written, want %d", when, i, c, want)
					}
				}
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
		}
		write("new", 1)
		write("again, unchanged", 0)
		for i := range jobs {
			jobs[i].rows[0].f.Severity = "HIGH" // the body changes: deleted and written again
		}
		write("changed", 1)
		var rows, ids int
		if err := e.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM vuln_findings`).Scan(&rows); err != nil || rows != n {
			t.Errorf("%d findings stored, want %d: %v", rows, n, err)
		}
		if err := e.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM vuln_finding_ids`).Scan(&ids); err != nil || ids != 2*n {
			t.Errorf("%d finding IDs stored, want %d: %v", ids, 2*n, err)
		}
		for i := range jobs {
			jobs[i].rows = nil // no longer found
		}
		write("gone", 1)
		if err := e.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM vuln_findings`).Scan(&rows); err != nil || rows != 0 {
			t.Errorf("%d findings left: %v", rows, err)
		}
	})
}
