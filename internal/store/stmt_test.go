package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestReadsArePrepared: on SQLite a read outside a transaction is prepared
// once and reused; a query that does not prepare still reports its error;
// the cache stops growing at its bound, and every query still answers; a
// closed database's reads fail as before.
func TestReadsArePrepared(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t (n) VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE n > ?`, 1).Scan(&n); err != nil || n != 2 {
			t.Fatalf("count = %d, %v", n, err)
		}
	}
	if got := len(db.stmts.m); got != 1 {
		t.Errorf("%d statements cached after one query three times, want 1", got)
	}
	if err := db.Q().QueryRowContext(ctx, `SELECT nope FROM t`).Scan(new(int)); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a bad query: %v", err)
	}
	for i := range maxCachedStmts + 50 {
		var n int
		if err := db.Q().QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + COUNT(*) FROM t`, i)).Scan(&n); err != nil || n != i+3 {
			t.Fatalf("query %d = %d, %v", i, n, err)
		}
	}
	if got := len(db.stmts.m); got != maxCachedStmts {
		t.Errorf("%d statements cached, want the bound %d", got, maxCachedStmts)
	}
	rows, err := db.Q().QueryContext(ctx, `SELECT n FROM t ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	_ = rows.Close()
	if sum != 6 {
		t.Errorf("sum %d", sum)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE n > ?`, 1).Scan(new(int)); err == nil {
		t.Error("a read after Close succeeded")
	}
}
