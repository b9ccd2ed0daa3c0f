package org_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// pathCollation is the collation of orgs.path: "C" or the database's
// default ("") on PostgreSQL; SQLite compares TEXT by bytes ("BINARY").
func pathCollation(t *testing.T, db *store.DB) string {
	t.Helper()
	if db.Dialect == store.SQLite {
		var sql string
		if err := db.Q().QueryRowContext(t.Context(), `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'orgs'`).Scan(&sql); err != nil {
			t.Fatal(err)
		}
		if want := "path TEXT NOT NULL"; !strings.Contains(sql, want) {
			t.Fatalf("SQLite orgs table %q lacks %q", sql, want)
		}
		return "BINARY"
	}
	var c *string
	err := db.Q().QueryRowContext(t.Context(), `SELECT collation_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'orgs' AND column_name = 'path'`).Scan(&c)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil {
		return ""
	}
	return *c
}

func byteOrder(db *store.DB) string {
	if db.Dialect == store.SQLite {
		return "BINARY"
	}
	return "C"
}

// TestOrgsMigrationPortable: one portable orgs table, and PostgreSQL's
// byte-order path as a step of its own — on a new database and on one
// made by the schema as it shipped (a whole PostgreSQL copy of 0001), which
// keeps its organisations and gets nothing but the recorded step.
func TestOrgsMigrationPortable(t *testing.T) {
	t.Run("new", func(t *testing.T) {
		each(t, func(t *testing.T, e *env) {
			if c := pathCollation(t, e.db); c != byteOrder(e.db) {
				t.Errorf("%s: path collation %q, want %q", storetest.Name(e.db), c, byteOrder(e.db))
			}
			e.tree(t)
			// The range scope.Filter makes finds the subtree, nothing more.
			sc := e.as(t, scope.RegionLead, "Y56")
			got, _, err := e.svc.List(t.Context(), sc, org.ListFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if want := "[QKK RJ1 RJZ Y56]"; fmtCodes(got) != want {
				t.Errorf("region lead of Y56 lists %s, want %s", fmtCodes(got), want)
			}
		})
	})
	t.Run("shipped", func(t *testing.T) {
		shipped := store.MigrationSet{Domain: "org", FS: os.DirFS(filepath.Join("testdata", "schema-as-shipped"))}
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			ctx := t.Context()
			if _, err := db.Migrate(ctx, shipped); err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, db)
			e.tree(t)
			// The search column as the shipped Vigil wrote it: code and
			// name lower-cased, punctuation kept.
			if _, err := db.Q().ExecContext(ctx, `UPDATE orgs SET search = lower(code || ' ' || name)`); err != nil {
				t.Fatal(err)
			}
			done, err := db.Migrate(ctx, org.Migrations())
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, m := range done {
				steps = append(steps, fmt.Sprintf("%s %04d", m.Domain, m.Version))
			}
			if fmt.Sprint(steps) != "[org 0003 org 0004]" {
				t.Fatalf("upgrading applied %v, want org 0003 and 0004", steps)
			}
			if err := db.Check(ctx, org.Migrations(), audit.Migrations()); err != nil {
				t.Fatal(err)
			}
			if c := pathCollation(t, db); c != byteOrder(db) {
				t.Errorf("%s: path collation %q after the upgrade, want %q", storetest.Name(db), c, byteOrder(db))
			}
			all, err := e.svc.All(ctx)
			if err != nil || len(all) != 9 {
				t.Fatalf("after the upgrade: %d organisations (%v), want the root and 8", len(all), err)
			}
			if p, err := e.svc.PathOf(ctx, "RJ1"); err != nil || p != "/ENG/Y56/QKK/RJ1/" {
				t.Errorf("RJ1's path %q %v", p, err)
			}
			// The organisations written before the search index are in it.
			y56 := e.as(t, scope.RegionLead, "Y56")
			for _, c := range []struct {
				sc    scope.Scope
				query string
				want  string
			}{
				{nat, "guy's thom", "[RJ1]"},
				{nat, "KING", "[RJZ]"},
				{nat, "r0", "[R0A]"},
				{nat, "nhs", "[ENG QKK QOP R0A RJ1 RJZ]"},
				{nat, "sup-x", "[SUP-X]"},
				{y56, "nhs", "[QKK RJ1 RJZ]"},
				{y56, "manchester", "[]"},
			} {
				got, _, err := e.svc.List(ctx, c.sc, org.ListFilter{Query: c.query})
				if err != nil {
					t.Fatalf("search %q: %v", c.query, err)
				}
				if fmtCodes(got) != c.want {
					t.Errorf("%s: search %q after the upgrade = %s, want %s", storetest.Name(db), c.query, fmtCodes(got), c.want)
				}
			}
		}, audit.Migrations())
	})
}

func fmtCodes(os []org.Org) string { return "[" + strings.Join(codesOf(os), " ") + "]" }
