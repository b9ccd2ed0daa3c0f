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
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"               // registers the "sqlite" driver (pure Go)
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vigil-health/vigil/internal/fault"
)

// ErrReadOnly is returned by every write to a database opened read-only;
// it is of the kind fault.ErrUnavailable.
var ErrReadOnly = fault.New(fault.ErrUnavailable, "the database is open read-only")

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
	// ReadOnly opens the database so that nothing can write it: SQLite
	// with mode=ro (and immutable=1 when no write-ahead log holds
	// changes), PostgreSQL with default_transaction_read_only. Nothing in
	// the data directory is created or changed, not even file modes. An
	// SQLite database whose data directory is not writable is opened this
	// way by itself (see DB.ReadOnlyReason).
	ReadOnly bool
}

// DB is Vigil's database handle.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Location describes the database for humans, with any password removed.
	Location string
	// ReadOnly is true when the database was opened read-only; every
	// write through DB, Tx and Migrate then fails with ErrReadOnly.
	ReadOnly bool
	// ReadOnlyReason says why, for messages: "--read-only", or that the
	// data directory is not writable.
	ReadOnlyReason string

	closeOnce sync.Once
	cleanup   func() error
	stmts     stmtCache
}

// Close closes the pool and removes any private copy a read-only open
// made. Safe to call twice.
func (d *DB) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.stmts.close()
		err = d.DB.Close()
		if d.cleanup != nil {
			if cerr := d.cleanup(); err == nil {
				err = cerr
			}
		}
	})
	return err
}

// ReadOnlyError is what a write to a read-only database returns; it is
// ErrReadOnly (errors.Is) and says why the database is read-only.
type ReadOnlyError struct{ Reason string }

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("%v (%s): this would change it; run it against a writable database without --read-only", ErrReadOnly, e.Reason)
}

func (e *ReadOnlyError) Is(target error) bool {
	return target == ErrReadOnly || target == fault.ErrUnavailable
}

func (d *DB) readOnlyErr() error { return &ReadOnlyError{Reason: d.ReadOnlyReason} }

// Open connects to the database described by o and checks it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	var (
		db      *sql.DB
		err     error
		d       *DB
		cleanup func() error
	)
	reason := ""
	if o.ReadOnly {
		reason = "--read-only"
	}
	switch {
	case o.URL == "":
		if o.DataDir == "" {
			return nil, errors.New("store: data dir is required when no database URL is given")
		}
		path := filepath.Join(o.DataDir, "vigil.db")
		if !o.ReadOnly {
			if why := notWritable(o.DataDir, path); why != "" {
				o.ReadOnly, reason = true, why
			}
		}
		var dsn string
		if o.ReadOnly {
			dsn, cleanup, err = readOnlyDSN(path)
			if err != nil {
				return nil, err
			}
		} else {
			if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
				return nil, fmt.Errorf("store: create data dir: %w", err)
			}
			// _txlock=immediate makes every transaction take SQLite's write lock
			// at BEGIN, so two writers queue on busy_timeout instead of failing
			// with SQLITE_BUSY half-way through (and the audit chain head is
			// read and extended under the same lock).
			dsn = fileURI(path) + "?_txlock=immediate" +
				"&_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)" +
				"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)" +
				// 16 MB of page cache a connection rather than 2: the event
				// store's writer touches four indexes per event.
				"&_pragma=cache_size(-16384)" +
				// The statement journal of a multi-row INSERT (a copy of
				// each page it changes, in case it must be undone) in
				// memory rather than spilled to a temporary file: its
				// writes were a twentieth of serve's CPU at full ingest.
				"&_pragma=temp_store(MEMORY)"
		}
		db, err = sql.Open("sqlite", dsn)
		if err != nil {
			err = fmt.Errorf("store: open sqlite %s: %w", path, err)
			if cleanup != nil {
				err = errors.Join(err, cleanup())
			}
			return nil, err
		}
		n := o.MaxOpenConns
		if n == 0 {
			n = 8
		}
		db.SetMaxOpenConns(n)
		// Keep them all open between requests: database/sql keeps two idle
		// by default, so under concurrent load the others were closed after
		// each use and opened again (file, WAL and four pragmas), 8 % of
		// the CPU of creating alerts through the API.
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
		d = &DB{DB: db, Dialect: SQLite, Location: "sqlite:" + path}
	case strings.HasPrefix(o.URL, "postgres://") || strings.HasPrefix(o.URL, "postgresql://"):
		pu, perr := url.Parse(o.URL)
		if perr != nil {
			return nil, fmt.Errorf("store: database URL %s: %w", Redact(o.URL), perr)
		}
		// pgx passes unknown URL parameters to the server as run-time
		// settings of every connection.
		q := pu.Query()
		if o.ReadOnly {
			// Every transaction is read-only: the server refuses any write.
			q.Set("default_transaction_read_only", "on")
		}
		if !q.Has("plan_cache_mode") {
			// pgx prepares and caches each statement, and after five runs
			// PostgreSQL may plan it once for any parameters. A scope is a
			// path range in parameters, which such a generic plan guesses
			// to be a few rows, so it reads the national range through the
			// path index and filters every row: organisation search took
			// 21 ms instead of 0.05 ms (docs/performance.md). Planning each
			// run with its values costs about 0.1 ms.
			q.Set("plan_cache_mode", "force_custom_plan")
		}
		pu.RawQuery = q.Encode()
		u := pu.String()
		db, err = sql.Open("pgx", u)
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
	d.ReadOnly, d.ReadOnlyReason, d.cleanup = o.ReadOnly, reason, cleanup
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: connect to %s: %w", d.Location, err), d.Close())
	}
	if d.Dialect == SQLite && d.ReadOnly {
		// SQLite opens lazily: read the schema now, so a file that is not a
		// database says so here rather than in the first query.
		var n int
		if err := db.QueryRowContext(pctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n); err != nil {
			return nil, errors.Join(fmt.Errorf("store: read %s: %w", d.Location, err), d.Close())
		}
	}
	if d.Dialect == SQLite && !d.ReadOnly {
		// The file holds password hashes and the audit log: owner only.
		// SQLite gives the -wal and -shm files the database file's mode.
		path := strings.TrimPrefix(d.Location, "sqlite:")
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(f, 0o600); err != nil && !os.IsNotExist(err) {
				return nil, errors.Join(fmt.Errorf("store: restrict %s: %w", f, err), d.Close())
			}
		}
	}
	return d, nil
}

// notWritable says why an SQLite data directory must be opened read-only,
// or "" when it may be written. The permission bits count as well as what
// the kernel would allow, because the kernel lets root write anywhere: a
// copy made read-only with `chmod -R a-w` for forensics stays untouched
// even when root reads it. A directory that does not exist yet is
// writable (Open creates it).
func notWritable(dir, dbPath string) string {
	st, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	if unix.Access(dir, unix.W_OK) != nil || st.Mode().Perm()&0o222 == 0 {
		return "the data directory " + dir + " is not writable"
	}
	if fst, err := os.Stat(dbPath); err == nil {
		if unix.Access(dbPath, unix.W_OK) != nil || fst.Mode().Perm()&0o222 == 0 {
			return "the database file " + dbPath + " is not writable"
		}
	}
	return ""
}

// readOnlyDSN returns how to open the SQLite database at path so that
// nothing in its directory changes, and what to remove afterwards.
//
// immutable=1 tells SQLite the file cannot change: it takes no locks and
// creates no -wal or -shm file, so it works on a read-only mount and
// leaves every byte and time stamp alone. But an immutable database
// ignores its write-ahead log, and a copy of a running server's data
// directory can hold committed transactions only in vigil.db-wal. Then
// the database and its log are copied to a private temporary directory
// and read there (mode=ro), because reading a log needs a writable -shm
// index beside it, and as root SQLite would write the original's.
// query_only refuses writes even if something bypassed DB's own checks.
func readOnlyDSN(path string) (string, func() error, error) {
	if _, err := os.Stat(path); err != nil {
		return "", nil, fmt.Errorf("store: no database at %s (a read-only open creates nothing): %w", path, err)
	}
	const pragmas = "&_pragma=busy_timeout(15000)&_pragma=query_only(1)&_pragma=foreign_keys(ON)"
	wal, err := os.Stat(path + "-wal")
	if err != nil || wal.Size() == 0 {
		return fileURI(path) + "?mode=ro&immutable=1" + pragmas, nil, nil
	}
	tmp, err := os.MkdirTemp("", "vigil-readonly-")
	if err != nil {
		return "", nil, fmt.Errorf("store: the database's write-ahead log must be read from a private copy: %w", err)
	}
	cleanup := func() error { return os.RemoveAll(tmp) }
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(path+suffix, filepath.Join(tmp, "vigil.db"+suffix)); err != nil {
			return "", nil, errors.Join(fmt.Errorf("store: copy %s to read its write-ahead log: %w", path+suffix, err), cleanup())
		}
	}
	return fileURI(filepath.Join(tmp, "vigil.db")) + "?mode=ro" + pragmas, cleanup, nil
}

// fileURI makes path an SQLite file: URI. A data directory may be named
// anything, and in a URI "?" starts the options, "#" a fragment and "%" an
// escape (RFC 3986 as SQLite reads it), so those three are escaped.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read only: closing cannot lose data
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return errors.Join(err, out.Close())
	}
	return out.Close()
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
	if st := q.d.stmt(ctx, s); st != nil {
		return st.QueryContext(ctx, a...)
	}
	return q.d.DB.QueryContext(ctx, q.d.Rebind(s), a...)
}
func (q dbq) QueryRowContext(ctx context.Context, s string, a ...any) *sql.Row {
	if st := q.d.stmt(ctx, s); st != nil {
		return st.QueryRowContext(ctx, a...)
	}
	return q.d.DB.QueryRowContext(ctx, q.d.Rebind(s), a...)
}
func (q dbq) ExecContext(ctx context.Context, s string, a ...any) (sql.Result, error) {
	if q.d.ReadOnly {
		return nil, q.d.readOnlyErr()
	}
	return q.d.DB.ExecContext(ctx, q.d.Rebind(s), a...)
}
func (q dbq) Rebind(s string) string { return q.d.Rebind(s) }
func (q dbq) Dialect() Dialect       { return q.d.Dialect }

// Tx is a transaction whose methods take `?` placeholders on both dialects.
type Tx struct {
	tx *sql.Tx
	d  Dialect
	db *DB
	// after runs once the transaction has committed, each key once.
	after []afterCommit
}

type afterCommit struct {
	key string
	fn  func()
}

// AfterCommit arranges for fn to run once the transaction has committed
// (never if it rolls back). Several registrations with one key run once,
// so a package may register on every write of a bulk transaction.
func (t *Tx) AfterCommit(key string, fn func()) {
	for _, a := range t.after {
		if a.key == key {
			return
		}
	}
	t.after = append(t.after, afterCommit{key, fn})
}

func (t *Tx) QueryContext(ctx context.Context, s string, a ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, rebind(t.d, s), a...)
}

// QueryPrepared is QueryContext through the DB's cache of prepared
// statements on SQLite, for a statement a bulk write runs again and again
// (a multi-row INSERT of a fixed number of rows): parsing its text on
// every call was 4 % of the CPU of storing events.
func (t *Tx) QueryPrepared(ctx context.Context, s string, a ...any) (*sql.Rows, error) {
	if st := t.db.stmt(ctx, s); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, a...)
	}
	return t.QueryContext(ctx, s, a...)
}

// ExecPrepared is ExecContext through the DB's cache of prepared
// statements on SQLite, as QueryPrepared.
func (t *Tx) ExecPrepared(ctx context.Context, s string, a ...any) (sql.Result, error) {
	if st := t.db.stmt(ctx, s); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, a...)
	}
	return t.ExecContext(ctx, s, a...)
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
	if d.ReadOnly {
		return d.readOnlyErr()
	}
	stx, err := d.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: stx, d: d.Dialect, db: d}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback() // the panic is what to report
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		// The change's own error is the one to report; a rollback that
		// fails leaves the server to abort the transaction with the
		// connection.
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	for _, a := range tx.after {
		a.fn()
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either engine, classified by the drivers' error types: PostgreSQL's
// SQLSTATE 23505 (unique_violation) and SQLite's extended result codes
// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Placeholders returns "?, ?, …" with n marks, for IN lists and bulk inserts.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// Reads outside a transaction on SQLite run as prepared statements kept
// for the life of the DB: neither database/sql nor the driver caches
// them, and parsing the SQL again on every call was a fifth of the CPU of
// answering an API request (the token check alone is three queries).
// PostgreSQL's driver caches its own. The cache holds at most
// maxCachedStmts texts; queries built with varying text beyond that run
// unprepared as before.
const maxCachedStmts = 512

type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// stmt returns the prepared statement for s, or nil to run s unprepared
// (PostgreSQL, a full cache, or a statement that does not prepare —
// running it unprepared then reports the error as before).
func (d *DB) stmt(ctx context.Context, s string) *sql.Stmt {
	if d.Dialect != SQLite {
		return nil
	}
	c := &d.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[s]; ok || c.closed {
		return st
	}
	if len(c.m) >= maxCachedStmts {
		return nil
	}
	st, err := d.DB.PrepareContext(context.WithoutCancel(ctx), s)
	if err != nil {
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[s] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close() // the database is closing: nothing to lose
	}
	c.m, c.closed = nil, true
}
