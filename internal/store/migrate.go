package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MigrationSet is one domain's embedded migrations: files named
// NNNN_description.sql in the root of FS, applied in number order. A file
// NNNN_description.postgres.sql or .sqlite.sql replaces the portable one on
// that engine, for the few statements the two spell differently; a version
// written for one engine only (no portable file) runs nothing on the
// others and is recorded there all the same, so that a schema is the same
// numbered steps everywhere and what one engine alone needs (PostgreSQL's
// COLLATE "C") is a small step of its own, not a copy of a whole table.
//
// Every version is recorded as it is applied, and a database gets every
// version it lacks, in number order — not only those above its highest:
// numbers need not run without gaps, so work on two branches can each
// take a number (an engine's own step takes a high one) and the two merge
// in either order, a database that has the higher already still getting
// the lower. Steps numbered apart must not depend on each other's order.
type MigrationSet struct {
	Domain string
	FS     fs.FS
}

// Migration is one numbered step of a domain's schema.
type Migration struct {
	Domain  string
	Version int
	Name    string
	SQL     string
}

// ErrSchemaNewer means the database was migrated by a newer Vigil.
var ErrSchemaNewer = errors.New("database schema is newer than this vigil")

// ErrSchemaOlder means migrations are pending and start-up was told not to apply them.
var ErrSchemaOlder = errors.New("database schema is older than this vigil")

func (s MigrationSet) load(d Dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(s.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations %s: %w", s.Domain, err)
	}
	portable := map[int]Migration{}
	variants := map[int]Migration{}
	elsewhere := map[int]string{} // versions with a file for another engine only
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		base := strings.TrimSuffix(name, ".sql")
		variant := ""
		if i := strings.LastIndexByte(base, '.'); i >= 0 {
			variant, base = base[i+1:], base[:i]
		}
		if variant != "" && variant != string(SQLite) && variant != string(Postgres) {
			return nil, fmt.Errorf("migrations %s: %s: unknown dialect suffix %q", s.Domain, name, variant)
		}
		num, desc, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations %s: %s: want NNNN_description.sql", s.Domain, name)
		}
		target := portable
		if variant != "" {
			if variant != string(d) {
				if _, ok := elsewhere[v]; !ok {
					elsewhere[v] = desc
				}
				continue
			}
			target = variants
		}
		if prev, dup := target[v]; dup {
			return nil, fmt.Errorf("migrations %s: version %d twice (%s and %s)", s.Domain, v, prev.Name, desc)
		}
		body, err := fs.ReadFile(s.FS, name)
		if err != nil {
			return nil, err
		}
		target[v] = Migration{Domain: s.Domain, Version: v, Name: desc, SQL: string(body)}
	}
	byVersion := portable
	for v, m := range variants {
		// An engine's file replaces the portable step of the same name; one
		// of another name is a second step given the same number.
		if p, ok := portable[v]; ok && p.Name != m.Name {
			return nil, fmt.Errorf("migrations %s: version %d twice (%s and %s)", s.Domain, v, p.Name, m.Name)
		}
		byVersion[v] = m
	}
	for v, desc := range elsewhere {
		if m, ok := byVersion[v]; ok && m.Name != desc {
			return nil, fmt.Errorf("migrations %s: version %d twice (%s and %s)", s.Domain, v, m.Name, desc)
		}
	}
	for v, desc := range elsewhere {
		if _, ok := byVersion[v]; !ok {
			byVersion[v] = Migration{Domain: s.Domain, Version: v, Name: desc} // nothing to run here
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// SchemaStatus is one domain's applied and known versions: Applied counts
// the known versions the database has, Known those this binary has, and
// Unknown lists versions the database has that this binary does not.
type SchemaStatus struct {
	Domain  string `json:"domain"`
	Applied int    `json:"applied"`
	Known   int    `json:"known"`
	Unknown []int  `json:"unknown,omitempty"`
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	domain TEXT NOT NULL,
	version BIGINT NOT NULL,
	name TEXT NOT NULL,
	applied_at TEXT NOT NULL,
	PRIMARY KEY (domain, version)
)`

// Status reports, per domain, the applied and known schema versions.
func (d *DB) Status(ctx context.Context, sets ...MigrationSet) ([]SchemaStatus, error) {
	applied := map[string]map[int]bool{}
	if d.ReadOnly {
		// Read-only: create nothing; a database without the table has
		// no migrations applied.
		exists, err := d.hasMigrationsTable(ctx)
		if err != nil {
			return nil, err
		}
		if exists {
			if applied, err = d.applied(ctx, d.Q()); err != nil {
				return nil, err
			}
		}
	} else {
		if _, err := d.ExecContext(ctx, createMigrationsTable); err != nil {
			return nil, fmt.Errorf("store: create schema_migrations: %w", err)
		}
		var err error
		if applied, err = d.applied(ctx, d.Q()); err != nil {
			return nil, err
		}
	}
	var out []SchemaStatus
	for _, s := range sets {
		ms, err := s.load(d.Dialect)
		if err != nil {
			return nil, err
		}
		st := SchemaStatus{Domain: s.Domain, Known: len(ms)}
		known := map[int]bool{}
		for _, m := range ms {
			known[m.Version] = true
			if applied[s.Domain][m.Version] {
				st.Applied++
			}
		}
		for v := range applied[s.Domain] {
			if !known[v] {
				st.Unknown = append(st.Unknown, v)
			}
		}
		sort.Ints(st.Unknown)
		out = append(out, st)
	}
	return out, nil
}

// Check returns ErrSchemaNewer if any domain is ahead of this binary and
// ErrSchemaOlder if migrations are pending, each with a message saying what
// to do.
func (d *DB) Check(ctx context.Context, sets ...MigrationSet) error {
	st, err := d.Status(ctx, sets...)
	if err != nil {
		return err
	}
	for _, s := range st {
		if len(s.Unknown) > 0 {
			return fmt.Errorf("%w: %s is at version %d but this vigil knows only %d; run a newer vigil (or restore the matching backup)", ErrSchemaNewer, s.Domain, s.Unknown[len(s.Unknown)-1], s.Known)
		}
	}
	for _, s := range st {
		if s.Applied < s.Known {
			return fmt.Errorf("%w: %s is at version %d of %d; run `vigil migrate` against this database", ErrSchemaOlder, s.Domain, s.Applied, s.Known)
		}
	}
	return nil
}

func (d *DB) hasMigrationsTable(ctx context.Context) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if d.Dialect == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	var n int
	if err := d.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, fmt.Errorf("store: look for schema_migrations: %w", err)
	}
	return n > 0, nil
}

func (d *DB) applied(ctx context.Context, q Queryer) (map[string]map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT domain, version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[string]map[int]bool{}
	for rows.Next() {
		var dom string
		var v int
		if err := rows.Scan(&dom, &v); err != nil {
			return nil, err
		}
		if out[dom] == nil {
			out[dom] = map[int]bool{}
		}
		out[dom][v] = true
	}
	return out, rows.Err()
}

// Migrate applies every pending migration of sets, each in its own
// transaction, and returns the ones it applied. It refuses to touch a
// database whose schema is newer than this binary knows. On PostgreSQL an
// advisory lock keeps several starting processes from racing.
func (d *DB) Migrate(ctx context.Context, sets ...MigrationSet) ([]Migration, error) {
	if d.ReadOnly {
		return nil, d.readOnlyErr()
	}
	if d.Dialect == Postgres {
		conn, err := d.DB.Conn(ctx)
		if err != nil {
			return nil, err
		}
		// Closing the connection ends its session, which drops the
		// advisory lock even if the unlock below failed.
		defer func() { _ = conn.Close() }()
		// 0x56494749 is "VIGI": an arbitrary, fixed lock key for migrations.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(1447642953)`); err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(1447642953)`) }()
	}
	if err := d.Check(ctx, sets...); err != nil && !errors.Is(err, ErrSchemaOlder) {
		return nil, err
	}
	if err := d.ensureIdentity(ctx); err != nil {
		return nil, err
	}
	applied, err := d.applied(ctx, d.Q())
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, s := range sets {
		ms, err := s.load(d.Dialect)
		if err != nil {
			return done, err
		}
		for _, m := range ms {
			if applied[s.Domain][m.Version] {
				continue
			}
			err := d.InTx(ctx, func(tx *Tx) error {
				for _, stmt := range splitStatements(m.SQL) {
					if _, err := tx.tx.ExecContext(ctx, stmt); err != nil {
						return fmt.Errorf("%s: %w", firstLine(stmt), err)
					}
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (domain, version, name, applied_at) VALUES (?, ?, ?, ?)`,
					m.Domain, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339))
				return err
			})
			if err != nil {
				return done, fmt.Errorf("store: migration %s %04d_%s: %w", m.Domain, m.Version, m.Name, err)
			}
			done = append(done, m)
		}
	}
	return done, nil
}

// splitStatements splits a migration file on semicolons that end a line.
// Migrations are plain DDL; the statements with semicolons inside are a
// trigger (CREATE TRIGGER … BEGIN …; …; END;), which ends at the line
// that is END; alone, and a PostgreSQL function whose body is quoted
// between $$ and $$, which ends only outside that quote.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	trigger := false
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		if cur.Len() == 0 {
			trigger = strings.HasPrefix(strings.ToUpper(t), "CREATE TRIGGER")
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		inBody := strings.Count(cur.String(), "$$")%2 == 1
		if strings.HasSuffix(t, ";") && !inBody && (!trigger || strings.EqualFold(t, "END;")) {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// ensureIdentity gives the database its identity, once: a random value
// made by the first migration and never changed.
func (d *DB) ensureIdentity(ctx context.Context) error {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	if _, err := d.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS store_identity (id INTEGER PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("store: create store_identity: %w", err)
	}
	if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO store_identity (id, value) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`), hex.EncodeToString(b[:])); err != nil {
		return fmt.Errorf("store: store_identity: %w", err)
	}
	return nil
}

// Identity returns the database's identity: a random value made when it was
// first migrated, the same for every process that opens it and different
// for every other database (another deployment, a test's own schema). The
// processes of one deployment share it and nothing else is guaranteed to be
// shared, so they use it to name what they share elsewhere, such as their
// NATS subjects.
func (d *DB) Identity(ctx context.Context) (string, error) {
	var v string
	if err := d.QueryRowContext(ctx, `SELECT value FROM store_identity WHERE id = 1`).Scan(&v); err != nil {
		return "", fmt.Errorf("store: database identity (run `vigil migrate`): %w", err)
	}
	return v, nil
}
