package bus_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/bus/bustest"
)

// openCluster connects to every server of c with replicas of 3.
func openCluster(t *testing.T, c *bustest.Cluster) *bus.Bus {
	t.Helper()
	b, err := bus.Open(ctxT(t), bus.Options{URL: c.URL(), Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// A stream declared on a three-server cluster with Replicas 3 is held by
// all three; with one server stopped, publishing and consuming go on,
// and nothing acknowledged is lost. Subjects stay per organisation.
func TestClusterStreamSurvivesALostServer(t *testing.T) {
	c := bustest.RunCluster(t, 3)
	b := openCluster(t, c)
	// Not ctxT's ten seconds: electing a new stream leader after the
	// leader is lost took 5–10 s on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := uniqueName(t, "R3")
	s, err := b.EnsureStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream replicas = %d (%d followers), want 3 (2)", info.Config.Replicas, len(info.Cluster.Replicas))
	}
	col := newCollector()
	stop, err := b.Consume(ctx, name, "store", col.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			org := []string{"RJ1", "RQM", "Y56"}[i%3]
			// A leader election after a lost server can refuse a publish
			// for a moment; a sender retries with the same ID, as ingest
			// does, and the stream keeps one.
			var err error
			for try := 0; try < 60 && ctx.Err() == nil; try++ {
				pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
				err = b.Publish(pctx, name+"."+org, []byte(fmt.Sprint(i)), fmt.Sprintf("m%d", i))
				pcancel()
				if err == nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
	}
	publish(0, 100)
	// Stop the stream's leader: the worst server to lose.
	info, err = s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := info.Cluster.Leader
	var idx int
	if _, err := fmt.Sscanf(leader, "n%d", &idx); err != nil {
		t.Fatalf("stream leader %q: %v", leader, err)
	}
	c.Stop(idx - 1)
	t.Logf("stopped %s, the stream's leader", leader)
	publish(100, 200)
	col.waitWithin(t, 200, time.Minute) // the consumer's own leader is elected again too
	seqs, _ := col.snapshot()
	seen := map[uint64]bool{}
	for _, q := range seqs {
		seen[q] = true
	}
	if len(seen) != 200 {
		t.Errorf("consumed %d distinct messages, want 200", len(seen))
	}
	// Subjects per organisation: a consumer filtered on one sees its own.
	cons, err := b.JetStream().CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{Durable: "rj1", FilterSubject: name + ".RJ1", AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.NumPending != 67 {
		t.Errorf("RJ1's consumer has %d messages pending, want 67", ci.NumPending)
	}
	c.Start(idx - 1)
}

// The lease makes one of several contenders the leader; when it closes
// another takes over within a third of the lease, and when it dies
// without closing, within the lease and a third.
func TestLeaseFailsOver(t *testing.T) {
	c := bustest.RunCluster(t, 3)
	ctx := ctxT(t)
	const ttl = 2 * time.Second
	key := uniqueName(t, "lease")
	var running atomic.Int32 // duties running at once
	var most atomic.Int32
	type contender struct {
		b    *bus.Bus
		l    *bus.Lease
		name string
	}
	var cs []*contender
	for i := range 3 {
		ct := &contender{name: fmt.Sprintf("server-%d", i+1)}
		b, err := bus.Open(ctx, bus.Options{URL: c.NodeURL(i), Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		ct.b = b
		ct.l, err = b.Lead(ctx, bus.LeaseOptions{Bucket: "LEASE_TEST", Key: key, TTL: ttl, Holder: ct.name, Run: func(ctx context.Context) {
			n := running.Add(1)
			for {
				if m := most.Load(); n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			<-ctx.Done()
			running.Add(-1)
		}})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, ct)
		t.Cleanup(func() { _ = ct.l.Close(); _ = ct.b.Close() })
	}
	leaders := func() (who []*contender) {
		for _, ct := range cs {
			if ct.l.Leader() {
				who = append(who, ct)
			}
		}
		return who
	}
	// The first to try leads at once.
	if ls := leaders(); len(ls) != 1 || ls[0] != cs[0] {
		t.Fatalf("leaders after start: %d, want server-1 alone", len(ls))
	}
	waitLeader := func(within time.Duration, not *contender) *contender {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			if ls := leaders(); len(ls) == 1 && ls[0] != not {
				return ls[0]
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no new leader within %s", within)
		return nil
	}
	// A clean stop hands over within TTL/3 (and a little for NATS).
	began := time.Now()
	_ = cs[0].l.Close()
	next := waitLeader(ttl/3+3*time.Second, cs[0]) // generous: a loaded machine
	t.Logf("clean hand-over from server-1 to %s in %s", next.name, time.Since(began).Round(time.Millisecond))
	// A dead leader (its connection gone, no release) is replaced within
	// TTL + TTL/3.
	began = time.Now()
	next.b.Conn().Close()
	third := waitLeader(ttl+ttl/3+3*time.Second, next)
	t.Logf("failover from a dead %s to %s in %s", next.name, third.name, time.Since(began).Round(time.Millisecond))
	// The dead leader noticed it could not renew and stepped down.
	deadline := time.Now().Add(2 * ttl)
	for next.l.Leader() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if next.l.Leader() {
		t.Errorf("%s still believes it leads %s after losing its connection", next.name, 2*ttl)
	}
	// Losing a NATS server does not move the lease: the bucket is R3.
	terms := third.l.Terms()
	c.Stop(0) // server-1's NATS node; server-1 has left already
	time.Sleep(2 * ttl)
	if !third.l.Leader() || third.l.Terms() != terms {
		t.Errorf("%s lost the lease when a NATS server stopped", third.name)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d duties ran at once, want 1", m)
	}
}

// A stream declared with one replica (servers started before
// --nats-replicas 3) is scaled to three in place when a server declares
// it again with three, keeping its messages.
func TestStreamScalesUpToReplicas(t *testing.T) {
	c := bustest.RunCluster(t, 3)
	ctx := ctxT(t)
	one, err := bus.Open(ctx, bus.Options{URL: c.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	name := uniqueName(t, "SCALE")
	cfg := jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.FileStorage}
	if _, err := one.EnsureStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := one.Publish(ctx, name+".RJ1", []byte("kept"), "m1"); err != nil {
		t.Fatal(err)
	}
	three := openCluster(t, c)
	s, err := three.EnsureStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.State.Msgs != 1 {
		t.Errorf("after scaling: %d replicas, %d messages; want 3, 1", info.Config.Replicas, info.State.Msgs)
	}
}

// A leader whose key another process now holds (its own expired while it
// was frozen, say) steps down at its next renewal instead of running its
// duty beside the new leader's.
func TestLeaseStepsDownWhenTaken(t *testing.T) {
	b := bustest.Run(t)
	ctx := ctxT(t)
	const ttl = 1500 * time.Millisecond
	stopped := make(chan struct{})
	l, err := b.Lead(ctx, bus.LeaseOptions{Bucket: "LEASE_TAKEN", Key: "k", TTL: ttl, Holder: "old", Run: func(ctx context.Context) {
		<-ctx.Done()
		close(stopped)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Leader() {
		t.Fatal("the only contender does not lead")
	}
	kv, err := b.JetStream().KeyValue(ctx, "LEASE_TAKEN")
	if err != nil {
		t.Fatal(err)
	}
	// What another process does once the old key is gone.
	if err := kv.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "k", []byte("new")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(3 * time.Second): // its next renewal is due within ttl/3
		t.Fatalf("the old leader's duty still runs 3 s after another process took the lease")
	}
	if l.Leader() {
		t.Error("the old leader still says it leads")
	}
	if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "new" {
		t.Errorf("the new holder's key = %v, %v", e, err)
	}
}

// Asking for more replicas than the cluster has servers fails at once,
// saying which setting to check.
func TestTooManyReplicasSaysSo(t *testing.T) {
	c := bustest.RunCluster(t, 2)
	b, err := bus.Open(ctxT(t), bus.Options{URL: c.URL(), Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	name := uniqueName(t, "R3")
	_, err = b.EnsureStream(ctxT(t), jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}})
	if err == nil || !strings.Contains(err.Error(), "--nats-replicas") {
		t.Fatalf("a stream of 3 replicas on 2 servers: %v, want an error naming --nats-replicas", err)
	}
}
