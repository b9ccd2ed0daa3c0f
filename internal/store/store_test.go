package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

func TestRebind(t *testing.T) {
	cases := []struct {
		q, sqlite, postgres string
	}{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ?", "SELECT * FROM t WHERE a = ?", "SELECT * FROM t WHERE a = $1"},
		{"INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)"},
		{"a IN (" + store.Placeholders(11) + ")", "a IN (" + store.Placeholders(11) + ")", "a IN ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
		{"x=?AND y=?", "x=?AND y=?", "x=$1AND y=$2"},
	}
	for _, c := range cases {
		sq := &store.DB{Dialect: store.SQLite}
		pg := &store.DB{Dialect: store.Postgres}
		if got := sq.Rebind(c.q); got != c.sqlite {
			t.Errorf("sqlite Rebind(%q) = %q, want %q", c.q, got, c.sqlite)
		}
		if got := pg.Rebind(c.q); got != c.postgres {
			t.Errorf("postgres Rebind(%q) = %q, want %q", c.q, got, c.postgres)
		}
		if got := pg.Q().Rebind(c.q); got != c.postgres {
			t.Errorf("postgres Q().Rebind(%q) = %q, want %q", c.q, got, c.postgres)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for n, want := range map[int]string{-1: "", 0: "", 1: "?", 3: "?, ?, ?"} {
		if got := store.Placeholders(n); got != want {
			t.Errorf("Placeholders(%d) = %q, want %q", n, got, want)
		}
	}
}

// Queries written with ? run on both engines through Q() and Tx.
func TestQueriesWithPlaceholdersRunOnBoth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		q := db.Q()
		if q.Dialect() != db.Dialect {
			t.Errorf("Q().Dialect() = %s, want %s", q.Dialect(), db.Dialect)
		}
		if _, err := q.ExecContext(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?), (?, ?)`, "a", 1, "b", 2); err != nil {
			t.Fatal(err)
		}
		var sum int
		if err := q.QueryRowContext(ctx, `SELECT SUM(v) FROM kv WHERE k IN (`+store.Placeholders(2)+`)`, "a", "b").Scan(&sum); err != nil || sum != 3 {
			t.Errorf("sum = %d, %v; want 3", sum, err)
		}
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if tx.Dialect() != db.Dialect || tx.Raw() == nil {
				t.Errorf("Tx dialect %s, raw %v", tx.Dialect(), tx.Raw())
			}
			if _, err := tx.ExecContext(ctx, `UPDATE kv SET v = v + ? WHERE k = ?`, 10, "a"); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT k FROM kv WHERE v > ? ORDER BY k`, 5)
			if err != nil {
				return err
			}
			defer rows.Close()
			var ks []string
			for rows.Next() {
				var k string
				rows.Scan(&k)
				ks = append(ks, k)
			}
			if fmt.Sprint(ks) != "[a]" {
				t.Errorf("keys with v > 5 = %v, want [a]", ks)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Q().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		insert := func(tx *store.Tx, id int) {
			t.Helper()
			if _, err := tx.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES (?, ?)`, id, "n"); err != nil {
				t.Fatalf("insert %d: %v", id, err)
			}
		}

		// Commits when fn returns nil.
		if err := db.InTx(ctx, func(tx *store.Tx) error { insert(tx, 1); return nil }); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "notes"); n != 1 {
			t.Fatalf("after commit: %d notes, want 1", n)
		}

		// Rolls back on error, and returns fn's error itself.
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *store.Tx) error { insert(tx, 2); insert(tx, 3); return fmt.Errorf("wrapped: %w", boom) })
		if !errors.Is(err, boom) {
			t.Errorf("InTx error = %v, want it to wrap fn's error", err)
		}
		if n := count(t, db, "notes"); n != 1 {
			t.Errorf("after error: %d notes, want 1 (rolled back)", n)
		}

		// Rolls back on panic and panics again with the same value.
		func() {
			defer func() {
				if p := recover(); p != "kaboom" {
					t.Errorf("recovered %v, want the original panic value", p)
				}
			}()
			db.InTx(ctx, func(tx *store.Tx) error { insert(tx, 4); panic("kaboom") })
			t.Error("InTx returned instead of re-panicking")
		}()
		if n := count(t, db, "notes"); n != 1 {
			t.Errorf("after panic: %d notes, want 1 (rolled back)", n)
		}

		// The connection and (on SQLite) the write lock were released: more
		// transactions than the pool holds still go through.
		for i := range 20 {
			if err := db.InTx(ctx, func(tx *store.Tx) error { insert(tx, 100+i); return nil }); err != nil {
				t.Fatalf("transaction %d after the panic: %v", i, err)
			}
		}
		if n := count(t, db, "notes"); n != 21 {
			t.Errorf("%d notes, want 21", n)
		}

		// A failing commit-time constraint is an error, with nothing committed.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			insert(tx, 500)
			_, err := tx.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES (?, ?)`, 1, "dup")
			return err
		})
		if err == nil || !store.IsUniqueViolation(err) {
			t.Errorf("duplicate key in InTx = %v, want a unique violation", err)
		}
		if n := count(t, db, "notes"); n != 21 {
			t.Errorf("%d notes after the failed transaction, want 21", n)
		}

		// A cancelled context is refused at BEGIN.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		called := false
		if err := db.InTx(cctx, func(*store.Tx) error { called = true; return nil }); err == nil || called {
			t.Errorf("InTx on a cancelled context = %v (fn called %v)", err, called)
		}
	})
}

func TestIsUniqueViolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		q := db.Q()
		if _, err := q.ExecContext(ctx, `CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)`); err != nil {
			t.Fatal(err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO people (id, email) VALUES (?, ?)`, 1, "a@example.org"); err != nil {
			t.Fatal(err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO people (id, email) VALUES (?, ?)`, 2, "a@example.org")
		if !store.IsUniqueViolation(err) {
			t.Errorf("unique column: IsUniqueViolation(%v) = false", err)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO people (id, email) VALUES (?, ?)`, 1, "b@example.org")
		if !store.IsUniqueViolation(err) {
			t.Errorf("primary key: IsUniqueViolation(%v) = false", err)
		}
		if !store.IsUniqueViolation(fmt.Errorf("context: %w", err)) {
			t.Errorf("wrapped: IsUniqueViolation = false")
		}
		// Other failures are not unique violations.
		_, err = q.ExecContext(ctx, `INSERT INTO people (id) VALUES (?)`, 3)
		if err == nil || store.IsUniqueViolation(err) {
			t.Errorf("NOT NULL failure: err %v, IsUniqueViolation true", err)
		}
		_, err = q.ExecContext(ctx, `SELEC nonsense`)
		if err == nil || store.IsUniqueViolation(err) {
			t.Errorf("syntax error: err %v, IsUniqueViolation true", err)
		}
		if store.IsUniqueViolation(nil) {
			t.Error("IsUniqueViolation(nil) = true")
		}
	})
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://vigil:s3cret-pw@db.example.org:5432/vigil?sslmode=require", "postgres://vigil:xxxxx@db.example.org:5432/vigil?sslmode=require"},
		{"postgresql://vigil:p%40ss@db/vigil", "postgresql://vigil:xxxxx@db/vigil"},
		{"postgres://vigil@db/vigil", "postgres://vigil@db/vigil"},
		{"postgres://db/vigil", "postgres://db/vigil"},
		{"postgres://vigil:s3cret-pw@db:badport/vigil", "(unparseable URL)"},
	}
	for _, c := range cases {
		got := store.Redact(c.in)
		if got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "p%40ss") {
			t.Errorf("Redact(%q) = %q still shows the password", c.in, got)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := t.Context()
	t.Run("sqlite location", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nested", "data")
		db, err := store.Open(ctx, store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if db.Dialect != store.SQLite || db.Location != "sqlite:"+filepath.Join(dir, "vigil.db") {
			t.Errorf("opened %s at %s", db.Dialect, db.Location)
		}
		// Foreign keys are on.
		var fk int
		if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v", fk, err)
		}
	})
	t.Run("sqlite needs a data dir", func(t *testing.T) {
		if _, err := store.Open(ctx, store.Options{}); err == nil || !strings.Contains(err.Error(), "data dir") {
			t.Errorf("Open without URL or data dir = %v", err)
		}
	})
	t.Run("unknown scheme", func(t *testing.T) {
		_, err := store.Open(ctx, store.Options{URL: "mysql://root:topsecret@db/vigil"})
		if err == nil || !strings.Contains(err.Error(), "want postgres://") || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("Open(mysql://…) = %v", err)
		}
	})
	t.Run("unreachable postgres hides the password", func(t *testing.T) {
		_, err := store.Open(ctx, store.Options{URL: "postgres://vigil:topsecret@127.0.0.1:1/vigil?sslmode=disable&connect_timeout=2"})
		if err == nil {
			t.Fatal("Open of a closed port succeeded")
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "vigil:xxxxx@127.0.0.1:1") {
			t.Errorf("error %q does not say where it tried to connect", err)
		}
	})
	t.Run("postgres location is redacted", func(t *testing.T) {
		u := storetest.PostgresURL()
		db, err := store.Open(ctx, store.Options{URL: u, MaxOpenConns: 1})
		if err != nil {
			testneed.Missing(t, "PostgreSQL", err)
		}
		defer db.Close()
		if db.Dialect != store.Postgres || db.Location != store.Redact(u) {
			t.Errorf("opened %s at %s", db.Dialect, db.Location)
		}
	})
}

// TestPostgresPlansEachRun: statements are planned with their values, so
// a scope's path range is not guessed (see Open).
func TestPostgresPlansEachRun(t *testing.T) {
	db := storetest.Postgres(t)
	var mode string
	if err := db.Q().QueryRowContext(t.Context(), `SHOW plan_cache_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" {
		t.Errorf("plan_cache_mode = %q, want force_custom_plan", mode)
	}
}
