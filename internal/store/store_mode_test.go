package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

func TestSQLiteFileIsOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `CREATE TABLE x (a TEXT)`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vigil.db", "vigil.db-wal"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v: readable by others", f, st.Mode().Perm())
		}
	}
}

// A database opened read-only refuses every write twice over: Vigil's own
// check (ErrReadOnly, before anything reaches the engine) and the engine's
// (SQLite mode=ro, PostgreSQL default_transaction_read_only), which holds
// even for a statement that bypasses the check and even as root.
func TestReadOnlyRefusesWrites(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, o store.Options) {
		db, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if !db.ReadOnly || db.ReadOnlyReason != "--read-only" {
			t.Errorf("ReadOnly %v, reason %q", db.ReadOnly, db.ReadOnlyReason)
		}
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM x WHERE a = ?`, "kept").Scan(&n); err != nil || n != 1 {
			t.Errorf("read: %d, %v", n, err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			t.Error("a transaction began on a read-only database")
			return nil
		})
		if !errors.Is(err, store.ErrReadOnly) || !strings.Contains(err.Error(), "--read-only") {
			t.Errorf("InTx = %v", err)
		}
		if _, err := db.Q().ExecContext(ctx, `INSERT INTO x VALUES ('y')`); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Exec = %v", err)
		}
		if _, err := db.DB.ExecContext(ctx, db.Rebind(`INSERT INTO x VALUES (?)`), "bypass"); err == nil {
			t.Error("the engine accepted a write that bypassed the read-only check")
		}
		if _, err := db.Migrate(ctx); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Migrate = %v", err)
		}
		st, err := db.Status(ctx)
		if err != nil || len(st) != 0 {
			t.Errorf("Status = %v, %v", st, err)
		}
		if err := db.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM x`)).Scan(&n); err != nil || n != 1 {
			t.Errorf("after the refused writes: %d rows, %v", n, err)
		}
	}
	seed := func(t *testing.T, o store.Options) {
		db, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, `CREATE TABLE x (a TEXT)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Q().ExecContext(ctx, `INSERT INTO x VALUES (?)`, "kept"); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		seed(t, store.Options{DataDir: dir})
		before := dirState(t, dir)
		check(t, store.Options{DataDir: dir, ReadOnly: true})
		if after := dirState(t, dir); after != before {
			t.Errorf("the data directory changed:\n%s\n%s", before, after)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		u := storetest.PostgresSchemaURL(t)
		seed(t, store.Options{URL: u})
		check(t, store.Options{URL: u, ReadOnly: true})
	})
	t.Run("sqlite without a database", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := store.Open(ctx, store.Options{DataDir: dir, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "no database") {
			t.Errorf("Open = %v", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("created %v", ents)
		}
	})
}

// A data directory whose files carry no write permission is opened
// read-only without being asked — also as root, whom the kernel would let
// write.
func TestUnwritableDataDirOpensReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	db.ExecContext(ctx, `CREATE TABLE x (a TEXT)`)
	db.Close()
	os.Chmod(filepath.Join(dir, "vigil.db"), 0o400)
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	before := dirState(t, dir)
	db, err = store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !db.ReadOnly || !strings.Contains(db.ReadOnlyReason, "not writable") {
		t.Errorf("ReadOnly %v, reason %q", db.ReadOnly, db.ReadOnlyReason)
	}
	if _, err := db.Q().ExecContext(ctx, `INSERT INTO x VALUES ('a')`); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("write = %v", err)
	}
	db.Close()
	if after := dirState(t, dir); after != before {
		t.Errorf("changed:\n%s\n%s", before, after)
	}
}

// dirState describes every file in dir: name, mode, size, time, content.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	st, _ := os.Stat(dir)
	fmt.Fprintf(&b, "%v %d\n", st.Mode(), st.ModTime().UnixNano())
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, _ := e.Info()
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s %v %d %d %x\n", e.Name(), fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), sha256.Sum256(data))
	}
	return b.String()
}

// AfterCommit runs once per key after a commit, and never after a rollback.
func TestAfterCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		runs := map[string]int{}
		err := db.InTx(ctx, func(tx *store.Tx) error {
			for range 3 {
				tx.AfterCommit("a", func() { runs["a"]++ })
			}
			tx.AfterCommit("b", func() { runs["b"]++ })
			if runs["a"]+runs["b"] != 0 {
				t.Error("ran before the commit")
			}
			return nil
		})
		if err != nil || runs["a"] != 1 || runs["b"] != 1 {
			t.Errorf("after commit: %v, %v", runs, err)
		}
		boom := errors.New("boom")
		err = db.InTx(ctx, func(tx *store.Tx) error {
			tx.AfterCommit("c", func() { runs["c"]++ })
			return boom
		})
		if !errors.Is(err, boom) || runs["c"] != 0 {
			t.Errorf("after rollback: %v, %v", runs, err)
		}
	})
}

// A data directory may be named anything: characters that mean something
// in an SQLite URI ("?" options, "#" fragment, "%" escapes) must not cut
// the path short, in a writable or a read-only open.
func TestDataDirWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case #1 ? 100%")
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE x (a TEXT)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vigil.db")); err != nil {
		t.Fatalf("the database is not where the data directory says: %v", err)
	}
	ro, err := store.Open(ctx, store.Options{DataDir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n int
	if err := ro.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM x`).Scan(&n); err != nil {
		t.Fatalf("read-only open of %q: %v", dir, err)
	}
}
