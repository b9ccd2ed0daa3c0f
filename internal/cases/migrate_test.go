package cases

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// byteOrderKeys are the sorted keys 0009_collate.postgres.sql makes
// byte-ordered, as table.column, with what each engine should report.
var byteOrderKeys = []string{"alerts.id", "cases.id", "case_tasks.case_id", "case_attachments.id"}

// keyCollation is the collation of table.column: SQLite's BINARY (its
// only order for TEXT without a COLLATE clause) or PostgreSQL's.
func keyCollation(t *testing.T, db *store.DB, table, column string) string {
	t.Helper()
	if db.Dialect == store.SQLite {
		return "BINARY"
	}
	var c *string
	if err := db.Q().QueryRowContext(t.Context(), `SELECT collation_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`, table, column).Scan(&c); err != nil {
		t.Fatal(err)
	}
	if c == nil {
		return "default"
	}
	return *c
}

func checkByteOrder(t *testing.T, db *store.DB) {
	t.Helper()
	want := "C"
	if db.Dialect == store.SQLite {
		want = "BINARY"
	}
	for _, k := range byteOrderKeys {
		table, column, _ := strings.Cut(k, ".")
		if c := keyCollation(t, db, table, column); c != want {
			t.Errorf("%s: %s collation %q, want %q", storetest.Name(db), k, c, want)
		}
	}
}

// TestCasesMigrationPortable: one portable cases schema and PostgreSQL's
// byte-ordered keys as a step of its own — on a new database, and on one
// made by the schema as it shipped (a whole copy of 0001 per engine),
// which gets the later steps and the recorded 0009, never 0001 again, and keeps its data.
func TestCasesMigrationPortable(t *testing.T) {
	t.Run("new", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			checkByteOrder(t, db)
		}, sets...)
	})
	t.Run("shipped", func(t *testing.T) {
		shipped := store.MigrationSet{Domain: "cases", FS: os.DirFS(filepath.Join("testdata", "schema-as-shipped"))}
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			ctx := t.Context()
			if _, err := db.Migrate(ctx, shipped); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO alert_counts (org, alerts) VALUES ('RJ1', 7)`); err != nil {
				t.Fatal(err)
			}
			done, err := db.Migrate(ctx, Migrations())
			if err != nil {
				t.Fatal(err)
			}
			// The shipped 0001 is not applied again: the upgrade applies
			// the later steps (clocks, incidents, …) and 0009 only.
			var versions []int
			for _, m := range done {
				if m.Domain != "cases" || m.Version == 1 {
					t.Fatalf("upgrading applied %s %d again", m.Domain, m.Version)
				}
				versions = append(versions, m.Version)
			}
			if !slices.Contains(versions, 9) {
				t.Fatalf("upgrading applied %v, want cases 0009 among them", versions)
			}
			if err := db.Check(ctx, org.Migrations(), audit.Migrations(), Migrations()); err != nil {
				t.Fatal(err)
			}
			checkByteOrder(t, db)
			var n int
			if err := db.QueryRowContext(ctx, `SELECT alerts FROM alert_counts WHERE org = 'RJ1'`).Scan(&n); err != nil || n != 7 {
				t.Errorf("after the upgrade: counter %d (%v), want 7", n, err)
			}
		}, org.Migrations(), audit.Migrations())
	})
}
