package supply

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// tableOrgs is an OrgSource over the orgs table, as the org package's will be.
type tableOrgs struct{ db *store.DB }

func (t tableOrgs) All(ctx context.Context) ([]org.Org, error) {
	rows, err := t.db.Q().QueryContext(ctx, `SELECT code, name, type, parent, path, status, region, icb, population FROM orgs ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []org.Org
	for rows.Next() {
		var o org.Org
		if err := rows.Scan(&o.Code, &o.Name, &o.Type, &o.Parent, &o.Path, &o.Status, &o.Region, &o.ICB, &o.Population); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// sliceOrgs is an OrgSource over a slice (benchmarks, generator tests).
type sliceOrgs []org.Org

func (s sliceOrgs) All(context.Context) ([]org.Org, error) { return append([]org.Org(nil), s...), nil }

var sets = []store.MigrationSet{org.Migrations(), audit.Migrations(), Migrations()}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type env struct {
	db    *store.DB
	svc   *Service
	audit *audit.Log
	clock *clock
}

// readOrgsCSV reads testdata/cases/orgs.csv.
func readOrgsCSV(t testing.TB) []org.Org {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "cases", "orgs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []org.Org
	for _, r := range recs[1:] {
		pop, _ := strconv.ParseInt(r[6], 10, 64)
		out = append(out, org.Org{Code: r[0], Name: r[1], Type: org.Type(r[2]), Parent: r[3], Region: r[4], ICB: r[5], Population: pop, Status: org.Active})
	}
	paths := orgPaths(out)
	for i := range out {
		out[i].Path = paths[i]
	}
	return out
}

func insertOrgs(t testing.TB, db *store.DB, orgs []org.Org) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		for _, o := range orgs {
			if _, err := tx.ExecContext(context.Background(), `INSERT INTO orgs (code, name, type, parent, path, status, region, icb, population, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.Code, o.Name, string(o.Type), o.Parent, o.Path, string(o.Status), o.Region, o.ICB, o.Population, "2026-01-01T00:00:00Z"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	insertOrgs(t, db, readOrgsCSV(t))
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	al := audit.New(db, c.now)
	svc, err := New(Options{DB: db, Audit: al, Orgs: tableOrgs{db}, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, svc: svc, audit: al, clock: c}
}

var national = scope.System("test@vigil")

func grant(role scope.Role, orgCode, path string) scope.Scope {
	return scope.Scope{UserID: "u-" + orgCode, Email: string(role) + "@" + orgCode, Via: "session", Grants: []scope.Grant{{Role: role, Org: orgCode, Path: path}}}
}

func caseFiles(t testing.TB, cases ...string) []ImportFile {
	t.Helper()
	var dirs []string
	for _, c := range cases {
		dirs = append(dirs, filepath.Join("testdata", "cases", c))
	}
	files, err := ReadImportPaths(dirs)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func mustImport(t testing.TB, e *env, sc scope.Scope, files []ImportFile) ImportReport {
	t.Helper()
	rep, err := e.svc.Import(context.Background(), sc, files, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Applied {
		for _, x := range rep.Errors {
			t.Errorf("import error %s", x)
		}
		t.Fatalf("import not applied: %s", rep.Message)
	}
	return rep
}

func eachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db)) }, sets...)
}

func storetestSQLite(t *testing.T) *store.DB   { return storetest.SQLite(t, sets...) }
func storetestPostgres(t *testing.T) *store.DB { return storetest.Postgres(t, sets...) }
