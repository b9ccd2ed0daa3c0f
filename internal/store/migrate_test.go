package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// file returns a MapFS entry.
func file(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }

// stepSet returns a domain with n migrations named 1_…sql to n_…sql. The
// first creates a table; each one (the first included) appends its own
// number at the next position, so the table shows the order they ran in.
// Names without zero padding sort "10" before "2", so applying them in
// file-name order would show.
func stepSet(domain string, n int) store.MigrationSet {
	fs := fstest.MapFS{}
	table := domain + "_steps"
	for v := 1; v <= n; v++ {
		sql := ""
		if v == 1 {
			sql = "CREATE TABLE " + table + " (pos INTEGER NOT NULL, n INTEGER NOT NULL);\n"
		}
		sql += fmt.Sprintf("-- step %d\nINSERT INTO %s (pos, n)\n  SELECT COUNT(*) + 1, %d FROM %s;\n", v, table, v, table)
		fs[fmt.Sprintf("%d_step_%d.sql", v, v)] = file(sql)
	}
	fs["README.md"] = file("not a migration")
	return store.MigrationSet{Domain: domain, FS: fs}
}

type applied struct {
	Domain  string
	Version int
	Name    string
}

func recorded(t *testing.T, db *store.DB) []applied {
	t.Helper()
	rows, err := db.Q().QueryContext(t.Context(), `SELECT domain, version, name FROM schema_migrations ORDER BY domain, version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []applied
	for rows.Next() {
		var a applied
		if err := rows.Scan(&a.Domain, &a.Version, &a.Name); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrateAppliesInOrderRecordsAndIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		alpha, beta := stepSet("alpha", 11), stepSet("beta", 2)
		done, err := db.Migrate(ctx, alpha, beta)
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		var got []string
		for _, m := range done {
			got = append(got, fmt.Sprintf("%s/%d", m.Domain, m.Version))
		}
		want := []string{"alpha/1", "alpha/2", "alpha/3", "alpha/4", "alpha/5", "alpha/6", "alpha/7", "alpha/8", "alpha/9", "alpha/10", "alpha/11", "beta/1", "beta/2"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("applied %v, want %v", got, want)
		}
		if done[9].Name != "step_10" || !strings.Contains(done[9].SQL, "-- step 10") {
			t.Errorf("migration 10 = %q with SQL %q", done[9].Name, done[9].SQL)
		}

		// The table records the order the steps actually ran in.
		rows, err := db.Q().QueryContext(ctx, `SELECT pos, n FROM alpha_steps ORDER BY pos`)
		if err != nil {
			t.Fatal(err)
		}
		var ran []int
		for rows.Next() {
			var pos, n int
			if err := rows.Scan(&pos, &n); err != nil {
				t.Fatal(err)
			}
			if pos != n {
				t.Errorf("step %d ran in position %d", n, pos)
			}
			ran = append(ran, n)
		}
		rows.Close()
		if len(ran) != 11 {
			t.Errorf("alpha steps ran: %v, want 11", ran)
		}

		rec := recorded(t, db)
		if len(rec) != 13 {
			t.Fatalf("schema_migrations has %d rows, want 13: %v", len(rec), rec)
		}
		if rec[0] != (applied{"alpha", 1, "step_1"}) || rec[12] != (applied{"beta", 2, "step_2"}) {
			t.Errorf("schema_migrations = %v", rec)
		}

		st, err := db.Status(ctx, alpha, beta)
		if err != nil {
			t.Fatal(err)
		}
		wantSt := []store.SchemaStatus{{Domain: "alpha", Applied: 11, Known: 11}, {Domain: "beta", Applied: 2, Known: 2}}
		if fmt.Sprint(st) != fmt.Sprint(wantSt) {
			t.Errorf("Status = %v, want %v", st, wantSt)
		}
		if err := db.Check(ctx, alpha, beta); err != nil {
			t.Errorf("Check after Migrate: %v", err)
		}

		// Running again applies nothing and changes nothing.
		again, err := db.Migrate(ctx, alpha, beta)
		if err != nil || len(again) != 0 {
			t.Fatalf("second Migrate = %v, %v; want nothing applied", again, err)
		}
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM alpha_steps`).Scan(&n); err != nil || n != 11 {
			t.Errorf("alpha_steps has %d rows (%v) after re-run, want 11", n, err)
		}
		if got := len(recorded(t, db)); got != 13 {
			t.Errorf("schema_migrations has %d rows after re-run, want 13", got)
		}

		// A new migration in one domain applies just that one.
		more, err := db.Migrate(ctx, stepSet("alpha", 12), beta)
		if err != nil || len(more) != 1 || more[0].Version != 12 || more[0].Domain != "alpha" {
			t.Fatalf("Migrate with a 12th step = %v, %v", more, err)
		}
	})
}

func TestCheckSchemaNewerAndOlder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.Migrate(ctx, stepSet("gamma", 3)); err != nil {
			t.Fatal(err)
		}

		// This binary knows only two of gamma's three migrations.
		old := stepSet("gamma", 2)
		err := db.Check(ctx, old)
		if !errors.Is(err, store.ErrSchemaNewer) {
			t.Fatalf("Check with fewer known migrations = %v, want ErrSchemaNewer", err)
		}
		for _, want := range []string{"gamma", "version 3", "knows only 2", "run a newer vigil"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ErrSchemaNewer message %q lacks %q", err, want)
			}
		}
		done, err := db.Migrate(ctx, old)
		if !errors.Is(err, store.ErrSchemaNewer) || len(done) != 0 {
			t.Errorf("Migrate on a newer schema = %v, %v; want ErrSchemaNewer and nothing applied", done, err)
		}

		// This binary knows five: two are pending.
		newer := stepSet("gamma", 5)
		err = db.Check(ctx, newer)
		if !errors.Is(err, store.ErrSchemaOlder) {
			t.Fatalf("Check with pending migrations = %v, want ErrSchemaOlder", err)
		}
		for _, want := range []string{"gamma", "version 3 of 5", "run `vigil migrate`"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ErrSchemaOlder message %q lacks %q", err, want)
			}
		}
		// A domain never migrated at all is pending too.
		if err := db.Check(ctx, newer, stepSet("delta", 1)); !errors.Is(err, store.ErrSchemaOlder) {
			t.Errorf("Check with an unmigrated domain = %v, want ErrSchemaOlder", err)
		}
		// Newer wins over older when both hold: refusing to run is the safe answer.
		if err := db.Check(ctx, old, stepSet("delta", 1)); !errors.Is(err, store.ErrSchemaNewer) {
			t.Errorf("Check with one newer and one pending domain = %v, want ErrSchemaNewer", err)
		}
		if done, err := db.Migrate(ctx, newer); err != nil || len(done) != 2 {
			t.Fatalf("Migrate pending = %v, %v; want 2 applied", done, err)
		}
		if err := db.Check(ctx, newer); err != nil {
			t.Errorf("Check after migrating = %v", err)
		}
	})
}

func TestMigrateDialectFileOverridesPortable(t *testing.T) {
	set := store.MigrationSet{Domain: "dialect", FS: fstest.MapFS{
		"0001_values.sql":          file("CREATE TABLE dialect_values (v INTEGER NOT NULL, s TEXT NOT NULL);\nINSERT INTO dialect_values (v, s) VALUES (1, 'portable');\n"),
		"0001_values.sqlite.sql":   file("CREATE TABLE dialect_values (v INTEGER NOT NULL, s TEXT NOT NULL);\nINSERT INTO dialect_values (v, s) VALUES (1, 'sqlite');\n"),
		"0001_values.postgres.sql": file("CREATE TABLE dialect_values (v INTEGER NOT NULL, s TEXT NOT NULL);\nINSERT INTO dialect_values (v, s) VALUES (1, 'postgres');\n"),
		// Only PostgreSQL spells version 2 differently.
		"0002_more.sql":          file("INSERT INTO dialect_values (v, s) VALUES (2, 'portable');\n"),
		"0002_more.postgres.sql": file("INSERT INTO dialect_values (v, s) VALUES (2, 'postgres');\n"),
		"0003_third.sql":         file("INSERT INTO dialect_values (v, s) VALUES (3, 'portable');\n"),
		// A dialect file may stand alone when the other engine needs
		// nothing: there the version is recorded and runs nothing, so the
		// engines' versions stay the same numbers.
		"0004_bytes.postgres.sql": file("ALTER TABLE dialect_values ALTER COLUMN s TYPE TEXT COLLATE \"C\";\nINSERT INTO dialect_values (v, s) VALUES (4, 'postgres');\n"),
		"0005_last.sql":           file("INSERT INTO dialect_values (v, s) VALUES (5, 'portable');\n"),
	}}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		done, err := db.Migrate(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 5 {
			t.Fatalf("applied %d migrations, want 5", len(done))
		}
		want := map[int]string{1: string(db.Dialect), 2: "portable", 3: "portable", 5: "portable"}
		if db.Dialect == store.Postgres {
			want[2], want[4] = "postgres", "postgres"
		}
		var versions []int
		for _, a := range recorded(t, db) {
			if a.Domain == "dialect" {
				versions = append(versions, a.Version)
			}
		}
		if fmt.Sprint(versions) != "[1 2 3 4 5]" {
			t.Errorf("%s recorded versions %v, want 1 to 5 (4 running nothing on SQLite)", storetest.Name(db), versions)
		}
		if st, err := db.Status(ctx, set); err != nil || st[0].Applied != 5 || st[0].Known != 5 {
			t.Errorf("status %+v %v", st, err)
		}
		rows, err := db.Q().QueryContext(ctx, `SELECT v, s FROM dialect_values ORDER BY v`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[int]string{}
		for rows.Next() {
			var v int
			var s string
			if err := rows.Scan(&v, &s); err != nil {
				t.Fatal(err)
			}
			got[v] = s
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s ran %v, want %v", storetest.Name(db), got, want)
		}
	})
}

// TestMigrateNumbersMergedInAnyOrder: two branches each add a step to a
// domain, one numbered 2 and one (an engine's own) numbered 9. Whichever
// lands first, a database gets both: one that already has 9 still gets 2.
func TestMigrateNumbersMergedInAnyOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		engine := string(db.Dialect)
		first := store.MigrationSet{Domain: "merge", FS: fstest.MapFS{
			"0001_t.sql":                   file("CREATE TABLE merge_t (v INTEGER NOT NULL);\n"),
			"0009_late." + engine + ".sql": file("INSERT INTO merge_t (v) VALUES (9);\n"),
		}}
		if done, err := db.Migrate(ctx, first); err != nil || len(done) != 2 {
			t.Fatalf("first: %v %v", done, err)
		}
		both := store.MigrationSet{Domain: "merge", FS: fstest.MapFS{
			"0001_t.sql":                   file("CREATE TABLE merge_t (v INTEGER NOT NULL);\n"),
			"0002_early.sql":               file("INSERT INTO merge_t (v) VALUES (2);\n"),
			"0009_late." + engine + ".sql": file("INSERT INTO merge_t (v) VALUES (9);\n"),
		}}
		if err := db.Check(ctx, both); !errors.Is(err, store.ErrSchemaOlder) {
			t.Fatalf("Check with 2 missing = %v, want ErrSchemaOlder", err)
		}
		done, err := db.Migrate(ctx, both)
		if err != nil || len(done) != 1 || done[0].Version != 2 {
			t.Fatalf("second: %v %v, want only version 2", done, err)
		}
		var sum int
		if err := db.QueryRowContext(ctx, `SELECT SUM(v) FROM merge_t`).Scan(&sum); err != nil || sum != 11 {
			t.Errorf("rows sum to %d (%v), want 2 + 9", sum, err)
		}
		if err := db.Check(ctx, both); err != nil {
			t.Errorf("Check after both: %v", err)
		}
		// The binary that knows only the first: the database is newer.
		if err := db.Check(ctx, first); !errors.Is(err, store.ErrSchemaNewer) {
			t.Errorf("Check by the older binary = %v, want ErrSchemaNewer", err)
		}
	})
}

func TestMigrateRejectsBadFileNames(t *testing.T) {
	good := "CREATE TABLE should_not_exist (x INTEGER);\n"
	cases := []struct {
		name  string
		files []string
		want  string
	}{
		{"no number", []string{"create.sql"}, "create.sql: want NNNN_description.sql"},
		{"no underscore", []string{"0001create.sql"}, "0001create.sql: want NNNN_description.sql"},
		{"letters in number", []string{"00a1_create.sql"}, "00a1_create.sql: want NNNN_description.sql"},
		{"zero", []string{"0000_create.sql"}, "0000_create.sql: want NNNN_description.sql"},
		{"negative", []string{"-1_create.sql"}, "-1_create.sql: want NNNN_description.sql"},
		{"unknown dialect", []string{"0001_create.mysql.sql"}, `0001_create.mysql.sql: unknown dialect suffix "mysql"`},
		{"dot in description", []string{"0001_v1.2.sql"}, `unknown dialect suffix "2"`},
		{"same version twice", []string{"0001_a.sql", "0001_b.sql"}, "version 1 twice (a and b)"},
		{"same dialect version twice", []string{"0001_a.sql", "0002_b.sqlite.sql", "0002_b.postgres.sql", "0002_c.sqlite.sql", "0002_c.postgres.sql"}, "version 2 twice"},
		{"engine step named apart from the portable one", []string{"0001_a.sql", "0002_b.sql", "0002_c.postgres.sql", "0002_c.sqlite.sql"}, "version 2 twice (b and c)"},
		{"one engine's step on another's number", []string{"0001_a.sql", "0002_b.sqlite.sql", "0002_c.postgres.sql"}, "version 2 twice"},
		{"portable and other engine's step", []string{"0001_a.sql", "0002_b.sql", "0002_c.sqlite.sql", "0002_c.postgres.sql"}, "version 2 twice"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				fs := fstest.MapFS{}
				for _, f := range c.files {
					fs[f] = file(good)
				}
				set := store.MigrationSet{Domain: "bad", FS: fs}
				done, err := db.Migrate(t.Context(), set)
				if err == nil {
					t.Fatalf("Migrate(%v) succeeded, applied %v", c.files, done)
				}
				if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "migrations bad") {
					t.Errorf("Migrate(%v) = %q, want it to name the domain and say %q", c.files, err, c.want)
				}
				if len(done) != 0 {
					t.Errorf("applied %v despite the bad set", done)
				}
				if _, err := db.Status(t.Context(), set); err == nil {
					t.Errorf("Status accepted the bad set")
				}
				for _, a := range recorded(t, db) {
					if a.Domain == "bad" {
						t.Errorf("recorded %v for a rejected set", a)
					}
				}
			})
		}
	})
}

// A failing migration rolls back whole: its earlier statements and its
// record; the migrations before it stay applied.
func TestMigrateFailureRollsBackThatStep(t *testing.T) {
	set := store.MigrationSet{Domain: "fail", FS: fstest.MapFS{
		"0001_ok.sql":     file("CREATE TABLE fail_ok (x INTEGER);\n"),
		"0002_broken.sql": file("CREATE TABLE fail_half (x INTEGER);\nTHIS IS NOT SQL;\n"),
	}}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		done, err := db.Migrate(ctx, set)
		if err == nil {
			t.Fatal("Migrate with a broken step succeeded")
		}
		if !strings.Contains(err.Error(), "fail 0002_broken") || !strings.Contains(err.Error(), "THIS IS NOT SQL") {
			t.Errorf("error %q does not name the migration and statement", err)
		}
		if len(done) != 1 || done[0].Version != 1 {
			t.Errorf("done = %v, want only version 1", done)
		}
		if rec := recorded(t, db); len(rec) != 1 || rec[0].Version != 1 {
			t.Errorf("recorded %v, want only fail/1", rec)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO fail_ok (x) VALUES (1)`); err != nil {
			t.Errorf("version 1's table is missing: %v", err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO fail_half (x) VALUES (1)`); err == nil {
			t.Errorf("half of the failed version 2 was committed")
		}
	})
}

// On PostgreSQL concurrent Migrate calls serialise on an advisory lock, so
// each migration runs once.
func TestMigrateConcurrentPostgres(t *testing.T) {
	db := storetest.Postgres(t)
	set := stepSet("conc", 4)
	var wg sync.WaitGroup
	counts := make([]int, 3)
	errs := make([]error, 3)
	for i := range counts {
		wg.Go(func() {
			done, err := db.Migrate(context.Background(), set)
			counts[i], errs[i] = len(done), err
		})
	}
	wg.Wait()
	total := 0
	for i := range counts {
		if errs[i] != nil {
			t.Errorf("Migrate %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	if total != 4 {
		t.Errorf("concurrent Migrate calls applied %v migrations in all, want 4 once", counts)
	}
}

// A database has one identity, made by its first migration and kept by
// every later one; another database has another.
func TestIdentity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		id, err := db.Identity(ctx)
		if err != nil || len(id) < 16 {
			t.Fatalf("Identity after migrating = %q, %v", id, err)
		}
		if _, err := db.Migrate(ctx, stepSet("gamma", 1)); err != nil {
			t.Fatal(err)
		}
		if again, err := db.Identity(ctx); err != nil || again != id {
			t.Errorf("Identity after another migration = %q, %v; want %q", again, err, id)
		}
		other := storetest.SQLite(t)
		if oid, err := other.Identity(ctx); err != nil || oid == id {
			t.Errorf("another database's identity = %q, %v; want its own", oid, err)
		}
	}, stepSet("alpha", 1))
}

// TestMigrateTrigger: a trigger's body has semicolons of its own; the
// statement runs to the line that is END; alone.
func TestMigrateTrigger(t *testing.T) {
	set := store.MigrationSet{Domain: "trigger", FS: fstest.MapFS{
		"0001_counted.sql": file("CREATE TABLE trig_items (v INTEGER NOT NULL);\nCREATE TABLE trig_log (v INTEGER NOT NULL);\n"),
		"0002_log.sqlite.sql": file(`-- Two statements in the body, each ending its line with a semicolon.
CREATE TRIGGER trig_items_insert AFTER INSERT ON trig_items BEGIN
	INSERT INTO trig_log (v) VALUES (new.v);
	INSERT INTO trig_log (v) VALUES (new.v * 10);
END;
INSERT INTO trig_items (v) VALUES (4);
`),
	}}
	db := storetest.SQLite(t, set)
	var n, sum int
	if err := db.Q().QueryRowContext(t.Context(), `SELECT COUNT(*), SUM(v) FROM trig_log`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 2 || sum != 44 {
		t.Errorf("the trigger logged %d rows summing %d, want 2 summing 44", n, sum)
	}
}
