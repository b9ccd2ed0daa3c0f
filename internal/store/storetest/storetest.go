// Package storetest opens real databases for tests: a fresh SQLite file in a
// temporary directory, and a fresh schema in the PostgreSQL named by
// VIGIL_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
// Each runs the given migrations first. Every store test runs on both
// engines through Each.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/testneed"
)

// DefaultPostgresURL is the loopback PostgreSQL that CI and developers run.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the base URL tests use for PostgreSQL.
func PostgresURL() string {
	if u := os.Getenv("VIGIL_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// SQLite opens a migrated SQLite database in t.TempDir().
func SQLite(t testing.TB, sets ...store.MigrationSet) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background(), sets...); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// PostgresSchemaURL creates a fresh schema and returns a URL whose
// connections use it, and a function that drops it. Without a reachable
// server it fails the test under CI (CI=true) and skips it elsewhere.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	admin, err := store.Open(context.Background(), store.Options{URL: base, MaxOpenConns: 2})
	if err != nil {
		testneed.Missing(t, "PostgreSQL (VIGIL_TEST_DATABASE_URL, default "+DefaultPostgresURL+")", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop test schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad VIGIL_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a migrated database in a fresh PostgreSQL schema.
func Postgres(t testing.TB, sets ...store.MigrationSet) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{URL: PostgresSchemaURL(t), MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background(), sets...); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return db
}

// Each runs fn as a subtest on SQLite and on PostgreSQL.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB), sets ...store.MigrationSet) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, sets...)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, sets...)) })
}

// Name returns a readable label for db in failure messages.
func Name(db *store.DB) string { return fmt.Sprint(db.Dialect) }
