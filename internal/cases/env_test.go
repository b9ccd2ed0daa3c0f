package cases

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

var sets = []store.MigrationSet{org.Migrations(), audit.Migrations(), Migrations(), savedview.Migrations()}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// users is a Users over fixed scopes, by e-mail.
type users map[string]scope.Scope

func (u users) ScopeOf(_ context.Context, who string) (scope.Scope, error) {
	if sc, ok := u[who]; ok {
		return sc, nil
	}
	return scope.Scope{}, fault.ErrNotFound
}

type env struct {
	db    *store.DB
	svc   *Service
	orgs  *org.Service
	audit *audit.Log
	clk   *clock
	// The estate: two trusts of one ICB, a trust of another region.
	alice, bob, audrey, carol, rex, nadia scope.Scope
}

// estate is ENG → Y56 → QKK → {RJ1, RJZ}, ENG → Y58 → QJK → RA7.
var estate = []org.Org{
	{Code: "Y56", Name: "London", Type: org.Region},
	{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
	{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
	{Code: "RJZ", Name: "King's College Hospital", Type: org.Trust, Parent: "QKK"},
	{Code: "Y58", Name: "South West", Type: org.Region},
	{Code: "QJK", Name: "NHS Devon ICB", Type: org.ICB, Parent: "Y58"},
	{Code: "RA7", Name: "Bristol Test Hospitals", Type: org.Trust, Parent: "QJK"},
}

func person(email string, role scope.Role, code, path string) scope.Scope {
	return scope.Scope{UserID: "u-" + email, Email: email, Via: "session", Home: code, Grants: []scope.Grant{{Role: role, Org: code, Path: path}}}
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	e := newEnvBare(t, db)
	t.Cleanup(func() { e.svc.Close() })
	for _, o := range estate {
		if _, err := e.orgs.Create(context.Background(), scope.System("test"), o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	return e
}

// newEnvBare is the service over db with only the national root; the
// caller closes the service.
func newEnvBare(t testing.TB, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: t0}
	al := audit.New(db, clk.now)
	os, err := org.New(org.Options{DB: db, Audit: al, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, orgs: os, audit: al, clk: clk,
		alice:  person("alice@rj1.nhs.test", scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/"),
		carol:  person("carol@rj1.nhs.test", scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/"),
		bob:    person("bob@rjz.nhs.test", scope.OrgAnalyst, "RJZ", "/ENG/Y56/QKK/RJZ/"),
		audrey: person("audrey@rj1.nhs.test", scope.Auditor, "RJ1", "/ENG/Y56/QKK/RJ1/"),
		rex:    person("rex@y56.nhs.test", scope.RegionLead, "Y56", "/ENG/Y56/"),
		nadia:  person("nadia@nhs.test", scope.NationalAnalyst, "ENG", "/ENG/"),
	}
	us := users{}
	for _, sc := range []scope.Scope{e.alice, e.carol, e.bob, e.audrey, e.rex, e.nadia} {
		us[sc.Email] = sc
	}
	e.svc, err = New(Options{DB: db, Audit: al, Orgs: os, Users: us, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func eachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db)) }, sets...)
}

// alertFor is a minimal valid alert of org.
func alertFor(org, ref string) NewAlert {
	return NewAlert{Source: "edr", Type: "malware", SourceRef: ref, Title: "Malware on host " + ref, Severity: High, Org: org, TLP: TLPAmber,
		Observables: []Observable{{Type: ObsIP, Value: "192.0.2.10"}, {Type: ObsSHA256, Value: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}}}
}

func mustAlert(t testing.TB, e *env, sc scope.Scope, n NewAlert) Alert {
	t.Helper()
	r, err := e.svc.CreateAlert(context.Background(), sc, n)
	if err != nil {
		t.Fatalf("create alert: %v", err)
	}
	return r.Alert
}

func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

func wantInvalid(t testing.TB, err error, field string) *fault.Invalid {
	t.Helper()
	var inv *fault.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v, want invalid %s", err, field)
	}
	if inv.Field != field {
		t.Fatalf("invalid field %q (%v), want %q", inv.Field, err, field)
	}
	return inv
}
