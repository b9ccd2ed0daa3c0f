package cli

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/store"
)

// BenchmarkSupplyImport times `vigil supply import` of the generated
// national register (supplygen.National(42): 10,000 organisations, 20,000
// suppliers, 50,000 products, 100,000 dependencies, 293,630 deployments)
// into a database that holds only the organisations, against a peer
// measured in the same run: the same CSV rows loaded with plain
// database/sql — one prepared single-row INSERT per row, one transaction,
// no validation, no diff against the stored register, no audit — into a
// copy of the same database. docs/performance.md quotes both.
//
//	go test -run '^$' -bench BenchmarkSupplyImport -benchtime 3x ./internal/cli/
func BenchmarkSupplyImport(b *testing.B) {
	work := b.TempDir()
	base, data := filepath.Join(work, "base"), filepath.Join(work, "national")
	if r := run(b, "", nil, "--data-dir", base, "supply", "generate", "--out", data, "--create-orgs"); r.code != 0 {
		b.Fatalf("generate: %s %s", r.stdout, r.stderr)
	}
	fresh := func(b *testing.B, i int, name string) string {
		b.Helper()
		dir := filepath.Join(work, name+"-"+strconv.Itoa(i))
		copyDir(b, base, dir)
		return dir
	}
	b.Run("vigil supply import", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := fresh(b, i, "cli")
			b.StartTimer()
			if r := run(b, "", nil, "--data-dir", dir, "supply", "import", data); r.code != 0 || !strings.Contains(r.stdout, "applied") {
				b.Fatalf("import: %s %s", r.stdout, r.stderr)
			}
		}
	})
	b.Run("peer: plain INSERTs", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := fresh(b, i, "peer")
			b.StartTimer()
			plainInsert(b, dir, data)
		}
	})
}

func copyDir(b *testing.B, from, to string) {
	b.Helper()
	if err := os.MkdirAll(to, 0o750); err != nil {
		b.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		in, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

// plainInsert is the peer: read each CSV and INSERT its rows as they are.
func plainInsert(b *testing.B, dir, data string) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	stamp := time.Now().UTC().Format(time.RFC3339)
	for _, f := range []struct{ file, table string }{
		{"suppliers.csv", "supply_suppliers"}, {"products.csv", "supply_products"}, {"dependencies.csv", "supply_dependencies"},
		{"deployments.csv", "supply_deployments"}, {"product_vulns.csv", "supply_product_vulns"},
	} {
		fh, err := os.Open(filepath.Join(data, f.file))
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(fh)
		r.ReuseRecord = true
		hdr, err := r.Read()
		if err != nil {
			b.Fatal(err)
		}
		cols := append(append([]string(nil), hdr...), "updated_at")
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+f.table+" ("+strings.Join(cols, ", ")+") VALUES ("+store.Placeholders(len(cols))+")")
		if err != nil {
			b.Fatal(err)
		}
		args := make([]any, len(cols))
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			for i, v := range rec {
				args[i] = v
				if cols[i] == "critical" || cols[i] == "has_fallback" {
					args[i] = v == "yes"
				}
			}
			args[len(cols)-1] = stamp
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				b.Fatal(err)
			}
		}
		stmt.Close()
		fh.Close()
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
