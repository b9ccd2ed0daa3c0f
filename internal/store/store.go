// Package store opens Vigil's database — SQLite by default, PostgreSQL when
// given a postgres:// URL — and gives domain packages one way to run queries
// and transactions on either, plus versioned, embedded migrations.
//
// Domain packages own their tables: each embeds its own migrations and hands
// them to Migrate as a MigrationSet. Queries are written once with `?`
// placeholders; Rebind turns them into `$n` for PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver (pure Go)
)

// ErrNotFound is returned when a row does not exist or lies outside the
// caller's scope; callers answer 404 for both so scope never leaks.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("conflict")

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options says where the database is.
type Options struct {
	// URL is a postgres:// or postgresql:// URL; empty means SQLite in DataDir.
	URL string
	// DataDir holds vigil.db when URL is empty.
	DataDir string
	// MaxOpenConns bounds the pool; 0 picks a default per dialect.
	MaxOpenConns int
}

// DB is Vigil's database handle.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Location describes the database for humans, with any password removed.
	Location string
}

// Open connects to the database described by o and checks it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	var (
		db  *sql.DB
		err error
		d   *DB
	)
	switch {
	case o.URL == "":
		if o.DataDir == "" {
			return nil, errors.New("store: data dir is required when no database URL is given")
		}
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create data dir: %w", err)
		}
		path := filepath.Join(o.DataDir, "vigil.db")
		// _txlock=immediate makes every transaction take SQLite's write lock
		// at BEGIN, so two writers queue on busy_timeout instead of failing
		// with SQLITE_BUSY half-way through (and the audit chain head is
		// read and extended under the same lock).
		dsn := "file:" + path + "?_txlock=immediate" +
			"&_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)" +
			"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
		db, err = sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		n := o.MaxOpenConns
		if n == 0 {
			n = 8
		}
		db.SetMaxOpenConns(n)
		d = &DB{DB: db, Dialect: SQLite, Location: "sqlite:" + path}
	case strings.HasPrefix(o.URL, "postgres://") || strings.HasPrefix(o.URL, "postgresql://"):
		db, err = sql.Open("pgx", o.URL)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", Redact(o.URL), err)
		}
		n := o.MaxOpenConns
		if n == 0 {
			n = 16
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
		d = &DB{DB: db, Dialect: Postgres, Location: Redact(o.URL)}
	default:
		return nil, fmt.Errorf("store: database URL %q: want postgres://… or empty for SQLite", Redact(o.URL))
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", d.Location, err)
	}
	if d.Dialect == SQLite {
		// The file holds password hashes and the audit log: owner only.
		// SQLite gives the -wal and -shm files the database file's mode.
		path := strings.TrimPrefix(d.Location, "sqlite:")
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(f, 0o600); err != nil && !os.IsNotExist(err) {
				db.Close()
				return nil, fmt.Errorf("store: restrict %s: %w", f, err)
			}
		}
	}
	return d, nil
}

// Redact returns u with any password replaced, for logs and messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		if err != nil {
			return "(unparseable URL)"
		}
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return p.String()
}

// Rebind rewrites `?` placeholders as `$1, $2…` for PostgreSQL. Queries in
// Vigil never contain a literal `?` inside a string.
func (d *DB) Rebind(q string) string { return rebind(d.Dialect, q) }

func rebind(d Dialect, q string) string {
	if d != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Queryer is what read functions need: a DB or a Tx.
type Queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	Rebind(q string) string
	Dialect() Dialect
}

// Q returns d as a Queryer.
func (d *DB) Q() Queryer { return dbq{d} }

type dbq struct{ d *DB }

func (q dbq) QueryContext(ctx context.Context, s string, a ...any) (*sql.Rows, error) {
	return q.d.DB.QueryContext(ctx, q.d.Rebind(s), a...)
}
func (q dbq) QueryRowContext(ctx context.Context, s string, a ...any) *sql.Row {
	return q.d.DB.QueryRowContext(ctx, q.d.Rebind(s), a...)
}
func (q dbq) ExecContext(ctx context.Context, s string, a ...any) (sql.Result, error) {
	return q.d.DB.ExecContext(ctx, q.d.Rebind(s), a...)
}
func (q dbq) Rebind(s string) string { return q.d.Rebind(s) }
func (q dbq) Dialect() Dialect       { return q.d.Dialect }

// Tx is a transaction whose methods take `?` placeholders on both dialects.
type Tx struct {
	tx *sql.Tx
	d  Dialect
}

func (t *Tx) QueryContext(ctx context.Context, s string, a ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, rebind(t.d, s), a...)
}
func (t *Tx) QueryRowContext(ctx context.Context, s string, a ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, rebind(t.d, s), a...)
}
func (t *Tx) ExecContext(ctx context.Context, s string, a ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, rebind(t.d, s), a...)
}
func (t *Tx) Rebind(s string) string { return rebind(t.d, s) }
func (t *Tx) Dialect() Dialect       { return t.d }

// Raw exposes the underlying transaction for bulk work (prepared statements).
func (t *Tx) Raw() *sql.Tx { return t.tx }

// InTx runs fn in a transaction, committing if fn returns nil and rolling
// back otherwise (including on panic, which is re-raised).
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	stx, err := d.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: stx, d: d.Dialect}
	defer func() {
		if p := recover(); p != nil {
			stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// Placeholders returns "?, ?, …" with n marks, for IN lists and bulk inserts.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
