package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// onCluster points a server at one PostgreSQL schema and a three-server
// NATS cluster, its streams replicated on all three, with a short lease.
func onCluster(dbURL string, c *bustest.Cluster) func(*config.Config) {
	return func(cfg *config.Config) {
		externalConfig(dbURL)(cfg)
		cfg.NATSURL = c.URL()
		cfg.NATSReplicas = 3
		cfg.LeaderLease = "2s"
	}
}

// leaders returns which of servers hold the deployment's lease.
func leaders(servers ...*Server) (who []int) {
	for i, s := range servers {
		if s.leading() {
			who = append(who, i)
		}
	}
	return who
}

// Two servers on one database and a three-server NATS cluster: every
// stream and the lease bucket are held by the three NATS servers; one
// Vigil server leads; a change on one reaches the other through the
// cluster within a second; when the leader stops, the other leads within
// the lease; losing a NATS server moves nothing.
func TestServersOnANATSCluster(t *testing.T) {
	c := bustest.RunCluster(t, 3)
	dbURL := storetest.PostgresSchemaURL(t)
	a := startWith(t, onCluster(dbURL, c))
	b := startWith(t, onCluster(dbURL, c))
	ctx := context.Background()

	js := a.Bus.JetStream()
	ns := a.Bus.Namespace() // the names on the server
	for _, name := range []string{ns.Name(ingest.EventStream), ns.Name(cases.AlertStream), ns.Name(notify.EventStream), ns.Name("AUDIT_HEAD"), "KV_" + ns.Name(LeaderBucket)} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Replicas != 3 {
			t.Errorf("stream %s has %d replicas, want 3", name, info.Config.Replicas)
		}
	}
	if got := leaders(a, b); !slices.Equal(got, []int{0}) {
		t.Fatalf("leaders = %v, want the first server alone", got)
	}

	f := newClusterFixture(t, a)
	f.waitFor(t, b)
	parent := "QOP"
	if _, err := a.Orgs.Update(ctx, scope.System("test"), "RJ1", org.Patch{Parent: &parent}); err != nil {
		t.Fatal(err)
	}
	ok, took := within(time.Second, func() bool { return slices.Equal(affected(t, b, f.northWest), []string{"RJ1"}) })
	if !ok {
		t.Fatalf("a second after RJ1 moved on A, B still answers North West %v", affected(t, b, f.northWest))
	}
	t.Logf("B saw the move through the NATS cluster after %s", took)

	// A NATS server lost: the lease stays where it is.
	c.Stop(0)
	time.Sleep(3 * time.Second)
	if got := leaders(a, b); !slices.Equal(got, []int{0}) {
		t.Errorf("leaders after losing a NATS server = %v, want the first server still", got)
	}
	// The leader stopped: B takes over within a third of the lease.
	began := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, took := within(5*time.Second, func() bool { return b.leading() }); !ok {
		t.Fatalf("B does not lead %s after A stopped", took)
	}
	t.Logf("B leads %s after A stopped", time.Since(began).Round(time.Millisecond))
	// And B still serves, on the two NATS servers left.
	if got := affected(t, b, f.northWest); !slices.Equal(got, []string{"RJ1"}) {
		t.Errorf("B answers North West %v after the faults", got)
	}
}
