package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
)

// testNATSURL is the external NATS JetStream the national deployment's
// tests use.
func testNATSURL() string {
	if u := os.Getenv("VIGIL_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// externalConfig points a server at one PostgreSQL schema and the external
// NATS, as every process of a national deployment is, with the
// deployment's one audit key and secrets key (every server writing a
// database needs them).
func externalConfig(dbURL string) func(*config.Config) {
	return func(c *config.Config) {
		c.DatabaseURL = dbURL
		useTestNATS(c)
		c.AuditKey = deploymentKey(dbURL)
		k := sha256.Sum256([]byte("secrets key for " + dbURL))
		c.SecretsKey = hex.EncodeToString(k[:]) // and its one secrets key
	}
}

// useTestNATS points c at the test NATS server, in a namespace
// (--nats-prefix) that follows from c's database: every process of one
// test deployment shares it, and tests running at once on the one server
// never share a stream, consumer or bucket — which they did before there
// were prefixes, so that one test's server could take and reject
// another's alerts (TestIssue15AlertToEscalationToPDF/postgres+nats
// flaked in parallel runs).
func useTestNATS(c *config.Config) {
	c.NATSURL = testNATSURL()
	c.NATSPrefix = testNATSPrefix(c.DatabaseURL)
}

// namespacesToDelete are the test namespaces whose deletion is arranged.
var namespacesToDelete sync.Map

// deleteNamespaceAtEnd deletes the namespace's streams and buckets from
// the shared NATS server when t ends, after every server of it started
// later in t has closed: each deployment's EVENTS stream reserves its
// size on the server, so namespaces left behind would soon exhaust it
// ("insufficient storage resources").
func deleteNamespaceAtEnd(t testing.TB, url, prefix string) {
	if _, arranged := namespacesToDelete.LoadOrStore(prefix, true); arranged {
		return
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := bus.Open(ctx, bus.Options{URL: url, Prefix: prefix, StartTimeout: 5 * time.Second})
		if err != nil {
			t.Errorf("delete NATS namespace %s: %v", prefix, err)
			return
		}
		defer func() { _ = b.Close() }()
		if _, err := b.DeleteNamespace(ctx); err != nil {
			t.Errorf("delete NATS namespace %s: %v", prefix, err)
		}
	})
}

// testNATSPrefix is the namespace of a test deployment on dbURL.
func testNATSPrefix(dbURL string) string {
	k := sha256.Sum256([]byte("NATS prefix for " + dbURL))
	return "t" + hex.EncodeToString(k[:6])
}

// deploymentKey is a test deployment's audit key: the same for every
// process on one database, different between databases.
func deploymentKey(dbURL string) string {
	k := sha256.Sum256([]byte("audit key for " + dbURL))
	return hex.EncodeToString(k[:])
}

// startPair runs two `vigil serve` processes on one fresh PostgreSQL schema
// and the external NATS: two servers of one deployment behind a load
// balancer. It returns the schema's URL too, for a third process.
func startPair(t *testing.T) (a, b *Server, dbURL string) {
	t.Helper()
	dbURL = storetest.PostgresSchemaURL(t)
	a = startWith(t, externalConfig(dbURL))
	b = startWith(t, externalConfig(dbURL))
	return a, b, dbURL
}

// Failures counted by one server throttle sign-ins on another: the limits
// live in the database both share.
func TestSignInThrottleIsSharedByServers(t *testing.T) {
	a, b, _ := startPair(t)
	ctx := context.Background()
	sys := scope.System("test")
	const pw = "saffron piston glacier"
	for _, o := range []org.Org{{Code: "Y56", Name: "London", Type: org.Region}, {Code: "QKK", Name: "ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Trust", Type: org.Trust, Parent: "QKK"}} {
		if _, err := a.Orgs.Create(ctx, sys, o); err != nil {
			t.Fatal(err)
		}
	}
	bob, err := a.Auth.AddUser(ctx, sys, auth.NewUser{Email: "bob@rj1.nhs.test", Name: "Bob", Org: "RJ1", Role: scope.OrgAnalyst, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	throttled := false
	for i := range 60 {
		_, err := a.Auth.Authenticate(ctx, bob.Email, fmt.Sprint("guess ", i), "198.51.100.1")
		if errors.Is(err, auth.ErrThrottled) {
			throttled = true
			break
		}
		if !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("guess %d on server A = %v", i+1, err)
		}
	}
	if !throttled {
		t.Fatal("server A never throttled 60 guesses")
	}
	if id, err := b.Auth.Authenticate(ctx, bob.Email, pw, "198.51.100.1"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("server B after server A throttled bob = %q, %v; want ErrThrottled", id, err)
	}
}

// clusterFixture is two regions, an ICB in each, two trusts in London and
// a supplier whose product both trusts deploy; a region lead of each
// region reads impact through the API.
type clusterFixture struct {
	london, northWest string // API tokens of the two region leads
}

func newClusterFixture(t *testing.T, s *Server) clusterFixture {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "GUY'S AND ST THOMAS'", Type: org.Trust, Parent: "QKK"},
		{Code: "RJZ", Name: "KING'S COLLEGE HOSPITAL", Type: org.Trust, Parent: "QKK"},
		{Code: "Y62", Name: "North West", Type: org.Region},
		{Code: "QOP", Name: "NHS Greater Manchester ICB", Type: org.ICB, Parent: "Y62"},
	} {
		if _, err := s.Orgs.Create(ctx, sys, o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	token := func(email, region string) string {
		if _, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: email, Name: email, Org: region, Role: scope.RegionLead}); err != nil {
			t.Fatal(err)
		}
		_, tok, err := s.Auth.CreateToken(ctx, sys, email, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	f := clusterFixture{london: token("lead@y56.nhs.test", "Y56"), northWest: token("lead@y62.nhs.test", "Y62")}
	steps := []func() error{
		func() error {
			_, err := s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "CL-SUP", Name: "Cluster Pathology Ltd"})
			return err
		},
		func() error {
			_, err := s.Supply.PutProduct(ctx, sys, supply.Product{ID: "CL-LIMS", SupplierID: "CL-SUP", Name: "Cluster LIMS", Kind: supply.ManagedService})
			return err
		},
		func() error {
			_, err := s.Supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RJ1", ProductID: "CL-LIMS", Service: "pathology", Criticality: supply.Critical})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("supply fixture: %v", err)
		}
	}
	return f
}

// affected returns the ODS codes in a caller's impact answer for the
// fixture's supplier on s.
func affected(t *testing.T, s *Server, token string) []string {
	t.Helper()
	var out []string
	for _, o := range impact(t, s, token).Affected {
		out = append(out, o.ODS)
	}
	slices.Sort(out)
	return out
}

// names returns the organisation names in a caller's impact answer.
func names(t *testing.T, s *Server, token string) []string {
	t.Helper()
	var out []string
	for _, o := range impact(t, s, token).Affected {
		out = append(out, o.Name)
	}
	return out
}

func impact(t *testing.T, s *Server, token string) supply.ImpactResult {
	t.Helper()
	var r supply.ImpactResult
	res, body := get(t, http.DefaultClient, s.url("/api/v1/supply/impact?supplier=CL-SUP"), token)
	if res.StatusCode == http.StatusNotFound {
		return r // the server does not know the supplier yet
	}
	if res.StatusCode != 200 {
		t.Fatalf("impact = %d %s", res.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// renameAndWait renames RJ1 through app and waits, without a deadline
// that matters, until s shows the new name. Whether s learnt it from a
// notice or from its periodic check of the generations, s has just looked
// when it shows it; so a second change made right after tests the notice
// alone, not a periodic check that happens to fall due.
func (f clusterFixture) renameAndWait(t *testing.T, changer *App, s *Server, name string) {
	t.Helper()
	if _, err := changer.Orgs.Update(context.Background(), scope.System("test"), "RJ1", org.Patch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := within(10*time.Second, func() bool { return slices.Equal(names(t, s, f.london), []string{name}) }); !ok {
		t.Fatalf("%s never showed RJ1's new name %q: %v", s.Addr, name, names(t, s, f.london))
	}
}

// waitFor waits, without a deadline that matters, until s answers the
// fixture: a server started before the fixture was written may take a
// periodic check to see it.
func (f clusterFixture) waitFor(t *testing.T, s *Server) {
	t.Helper()
	if ok, _ := within(10*time.Second, func() bool { return slices.Equal(affected(t, s, f.london), []string{"RJ1"}) }); !ok {
		t.Fatalf("London's lead on %s never saw the fixture", s.Addr)
	}
}

// within polls cond until it holds or d has passed, and reports whether it
// held. Each poll is a real request, so no sleeping is needed to let a
// message arrive; a short pause only keeps the loop from spinning.
func within(d time.Duration, cond func() bool) (bool, time.Duration) {
	start := time.Now()
	for {
		if cond() {
			return true, time.Since(start)
		}
		if time.Since(start) > d {
			return false, time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An organisation moved on one server has its new place on every other
// within a second: the supplier graph's paths decide what a region lead
// may read there.
func TestOrgMoveReachesOtherServersWithinASecond(t *testing.T) {
	a, b, _ := startPair(t)
	f := newClusterFixture(t, a)
	f.waitFor(t, b)
	f.renameAndWait(t, a.App, b, "GSTT")
	if got := affected(t, b, f.northWest); len(got) != 0 {
		t.Fatalf("North West's lead on B before the move sees %v, want nothing", got)
	}
	parent := "QOP"
	if _, err := a.Orgs.Update(context.Background(), scope.System("test"), "RJ1", org.Patch{Parent: &parent}); err != nil {
		t.Fatal(err)
	}
	ok, took := within(time.Second, func() bool {
		return len(affected(t, b, f.london)) == 0 && slices.Equal(affected(t, b, f.northWest), []string{"RJ1"})
	})
	if !ok {
		t.Fatalf("a second after RJ1 moved to North West on A, server B still answers London %v and North West %v",
			affected(t, b, f.london), affected(t, b, f.northWest))
	}
	t.Logf("server B saw the move after %s", took)
}

// A change to the supplier register on one server reaches every other
// within a second, not at its next generation check.
func TestSupplyChangeReachesOtherServersWithinASecond(t *testing.T) {
	a, b, _ := startPair(t)
	f := newClusterFixture(t, a)
	f.waitFor(t, b)
	ctx, sys := context.Background(), scope.System("test")
	// A first change, waited for without a deadline: B has just looked at
	// the register when it sees it, so the second change is not caught by
	// a periodic check that happens to fall due.
	if _, err := a.Supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RJZ", ProductID: "CL-LIMS", Service: "pathology", Criticality: supply.High}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := within(10*time.Second, func() bool { return slices.Equal(affected(t, b, f.london), []string{"RJ1", "RJZ"}) }); !ok {
		t.Fatalf("server B never saw RJZ's deployment: %v", affected(t, b, f.london))
	}
	if err := a.Supply.DeleteDeployment(ctx, sys, "RJZ", "CL-LIMS", "pathology"); err != nil {
		t.Fatal(err)
	}
	ok, took := within(time.Second, func() bool { return slices.Equal(affected(t, b, f.london), []string{"RJ1"}) })
	if !ok {
		t.Fatalf("a second after RJZ's deployment was deleted on A, server B still answers %v", affected(t, b, f.london))
	}
	t.Logf("server B saw the deletion after %s", took)
}

// A CLI command changes the database without the server's bus; with a NATS
// URL configured it tells the running servers itself.
func TestCLIChangeReachesServersWithinASecond(t *testing.T) {
	a, b, dbURL := startPair(t)
	f := newClusterFixture(t, a)
	f.waitFor(t, b)
	// What `vigil orgs …` does: open the app, change, close.
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	externalConfig(dbURL)(&cfg)
	command := func(change func(cli *App)) {
		cli, err := Open(context.Background(), cfg, NewLogger(cfg, io.Discard), MigrateAuto)
		if err != nil {
			t.Fatal(err)
		}
		change(cli)
		if err := cli.Close(); err != nil {
			t.Fatal(err)
		}
	}
	command(func(cli *App) { f.renameAndWait(t, cli, b, "GSTT") })
	command(func(cli *App) {
		parent := "QOP"
		if _, err := cli.Orgs.Update(context.Background(), scope.System("cli:test"), "RJ1", org.Patch{Parent: &parent}); err != nil {
			t.Fatal(err)
		}
	})
	if ok, _ := within(time.Second, func() bool { return len(affected(t, b, f.london)) == 0 }); !ok {
		t.Fatalf("a second after the CLI moved RJ1, server B still answers London %v", affected(t, b, f.london))
	}
}

// Deployments share the NATS cluster but never each other's notices: two
// test runs in parallel are two deployments.
func TestChangeMessagesStayInTheirDeployment(t *testing.T) {
	a, b, _ := startPair(t)
	o1, o2, _ := startPair(t) // another deployment on the same NATS
	f := newClusterFixture(t, a)
	f.waitFor(t, b)
	parent := "QOP"
	if _, err := a.Orgs.Update(context.Background(), scope.System("test"), "RJ1", org.Patch{Parent: &parent}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := within(time.Second, func() bool { return b.changes.heard.Load() > 0 }); !ok {
		t.Fatal("server B of the same deployment heard no change notice")
	}
	// Once the NATS server has answered A's ping it has handled (and fanned
	// out) every notice A sent; a notice sent after that by the other
	// deployment reaches its servers after any of A's that were for them.
	if err := a.Bus.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := o1.Orgs.Create(context.Background(), scope.System("test"), org.Org{Code: "Y58", Name: "South West", Type: org.Region}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := within(time.Second, func() bool { return o2.changes.heard.Load() > 0 }); !ok {
		t.Fatal("the other deployment's second server heard nothing from its first")
	}
	if n := o2.changes.heard.Load(); n != 1 {
		t.Errorf("a server of the other deployment heard %d change notices, want only its own deployment's one", n)
	}
}

// With the embedded engines a CLI command cannot reach the server's
// in-process NATS; the server notices the change at its periodic check of
// the organisation and register generations, within a few seconds rather
// than at the graph's ten-minute rebuild.
func TestCLIChangeReachesEmbeddedServer(t *testing.T) {
	s := startEmbedded(t)
	f := newClusterFixture(t, s)
	f.waitFor(t, s)
	cli, err := Open(context.Background(), s.Config, NewLogger(s.Config, io.Discard), MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	parent := "QOP"
	if _, err := cli.Orgs.Update(context.Background(), scope.System("cli:test"), "RJ1", org.Patch{Parent: &parent}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	ok, took := within(3*time.Second, func() bool { return len(affected(t, s, f.london)) == 0 })
	if !ok {
		t.Fatalf("3 s after the CLI moved RJ1, the server still answers London %v", affected(t, s, f.london))
	}
	t.Logf("the server saw the CLI's move after %s", took)
}
