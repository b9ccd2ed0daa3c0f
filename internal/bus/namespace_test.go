package bus_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/testneed"
)

func TestNamespaceNames(t *testing.T) {
	var none bus.Namespace
	if none.Name("EVENTS") != "EVENTS" || none.Subject("events.RB03") != "events.RB03" || none.Local("events.RB03") != "events.RB03" {
		t.Error("the empty namespace changed a name: deployments without a prefix would lose their streams")
	}
	cfg := jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}}
	if got := none.Stream(cfg); got.Name != "EVENTS" || !slices.Equal(got.Subjects, []string{"events.>"}) {
		t.Errorf("empty namespace Stream = %s %v", got.Name, got.Subjects)
	}
	ns := bus.Namespace("prod_2")
	for _, c := range []struct{ got, want string }{
		{ns.Name("EVENTS"), "prod_2-EVENTS"},
		{ns.Name("events-store"), "prod_2-events-store"},
		{ns.Name("VIGIL_LEADER"), "prod_2-VIGIL_LEADER"},
		{ns.Subject("events.RB03"), "prod_2.events.RB03"},
		{ns.Subject("alerts.>"), "prod_2.alerts.>"},
		{ns.Local("prod_2.alerts.RJ1"), "alerts.RJ1"},
		{ns.Local("alerts.RJ1"), "alerts.RJ1"}, // not in the namespace: unchanged
		{ns.Local("prod_22.alerts.RJ1"), "prod_22.alerts.RJ1"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	got := ns.Stream(cfg)
	if got.Name != "prod_2-EVENTS" || !slices.Equal(got.Subjects, []string{"prod_2.events.>"}) {
		t.Errorf("Stream = %s %v", got.Name, got.Subjects)
	}
	if cfg.Name != "EVENTS" || cfg.Subjects[0] != "events.>" {
		t.Errorf("Stream changed its argument: %s %v", cfg.Name, cfg.Subjects)
	}
	for _, ok := range []string{"", "a", "prod_2", "T0123456789abcdef", strings.Repeat("x", bus.MaxPrefix)} {
		if err := bus.ValidatePrefix(ok); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v", ok, err)
		}
	}
	// "-" and "." would let one prefix's names be another's; the rest
	// are not allowed in stream, bucket or subject tokens.
	for _, bad := range []string{"a-b", "a.b", "a b", "a*", "a>", "é", "a/b", strings.Repeat("x", bus.MaxPrefix+1)} {
		if err := bus.ValidatePrefix(bad); err == nil {
			t.Errorf("ValidatePrefix(%q) = nil, want an error", bad)
		}
	}
}

// TestNamespacesShareAServer opens three buses on the one external NATS
// server: A and A2 in one namespace (two servers of one deployment), B in
// another. Each declares the same stream, consumer, bucket and subjects by
// the same names, as every Vigil deployment does; B must see none of A's
// messages, notices or lease and A none of B's, while A2 shares all of
// A's.
func TestNamespacesShareAServer(t *testing.T) {
	open := func(prefix string) *bus.Bus {
		t.Helper()
		b, err := bus.Open(ctxT(t), bus.Options{URL: externalURL(), Prefix: prefix, StartTimeout: 5 * time.Second})
		if err != nil {
			testneed.Missing(t, "NATS with JetStream (start one, or set VIGIL_TEST_NATS_URL)", err)
		}
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return b
	}
	pa, pb := uniqueName(t, "nsA"), uniqueName(t, "nsB")
	a, a2, b := open(pa), open(pa), open(pb)
	ctx := ctxT(t)
	const stream, durable, bucket = "NSTEST", "nstest-store", "NSTEST_LEASE"
	cfg := jetstream.StreamConfig{Name: stream, Subjects: []string{"nstest.>"}, Storage: jetstream.MemoryStorage}
	for _, x := range []*bus.Bus{a, b} {
		if _, err := x.EnsureStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		// Before the buses close (cleanups run last first): the shared
		// server is left as it was, also when the test fails early.
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		for _, x := range []*bus.Bus{a, b} {
			if _, err := x.DeleteNamespace(ctx); err != nil {
				t.Errorf("delete namespace %s: %v", x.Namespace(), err)
			}
		}
	})
	// The server holds two streams, each under its namespace's name.
	for _, x := range []*bus.Bus{a, b} {
		name := x.Namespace().Name(stream)
		if name == stream || !strings.HasPrefix(name, x.Namespace().Prefix()+"-") {
			t.Fatalf("stream name %q is not in namespace %q", name, x.Namespace().Prefix())
		}
		if _, err := x.JetStream().Stream(ctx, name); err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
	}

	// Messages: A publishes 3, B 2, on the same subjects.
	for i := range 3 {
		if err := a.Publish(ctx, "nstest.RJ1", fmt.Appendf(nil, "a%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if err := b.Publish(ctx, "nstest.RJ1", fmt.Appendf(nil, "b%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	consume := func(x *bus.Bus, want int) []string {
		t.Helper()
		var mu sync.Mutex
		var got []string
		stop, err := x.Consume(ctx, stream, durable, func(_ context.Context, m jetstream.Msg) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, m.Subject()+" "+string(m.Data()))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		deadline := time.Now().Add(testTimeout)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// A moment more: anything from the other namespace would come now.
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(got)
		return got
	}
	// The handler sees the subject as published (not the server's
	// prefixed one), and only its own namespace's messages.
	if got, want := consume(a, 3), []string{"nstest.RJ1 a0", "nstest.RJ1 a1", "nstest.RJ1 a2"}; !slices.Equal(got, want) {
		t.Errorf("A's consumer got %q, want %q", got, want)
	}
	if got, want := consume(b, 2), []string{"nstest.RJ1 b0", "nstest.RJ1 b1"}; !slices.Equal(got, want) {
		t.Errorf("B's consumer got %q, want %q", got, want)
	}
	// The durable is one per namespace: A2, a second server of A's
	// deployment, resumes after what A acknowledged.
	if err := a2.Publish(ctx, "nstest.RJ1", []byte("a3"), ""); err != nil {
		t.Fatal(err)
	}
	if got, want := consume(a2, 1), []string{"nstest.RJ1 a3"}; !slices.Equal(got, want) {
		t.Errorf("A2's consumer got %q, want %q (A's durable, after A's acks)", got, want)
	}

	// Core NATS notices: A2 hears A, B does not.
	heard := func(x *bus.Bus) (func() []string, func()) {
		var mu sync.Mutex
		var got []string
		stop, err := x.Subscribe("nstest.changed.*", func(subject string, data []byte) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, subject+" "+string(data))
		})
		if err != nil {
			t.Fatal(err)
		}
		return func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }, stop
	}
	heardA2, stopA2 := heard(a2)
	defer stopA2()
	heardB, stopB := heard(b)
	defer stopB()
	if err := a.Notify("nstest.changed.orgs", []byte("from A")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testTimeout)
	for len(heardA2()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if got := heardA2(); !slices.Equal(got, []string{"nstest.changed.orgs from A"}) {
		t.Errorf("A2 heard %q, want A's notice under its own subject", got)
	}
	if got := heardB(); len(got) != 0 {
		t.Errorf("B heard A's notice: %q", got)
	}

	// Leases: A and B each lead their own deployment's duty of the same
	// bucket and key; A2 waits behind A.
	lead := func(x *bus.Bus, holder string) *bus.Lease {
		l, err := x.Lead(ctx, bus.LeaseOptions{Bucket: bucket, Key: "deployment", TTL: 5 * time.Second, Holder: holder, Run: func(ctx context.Context) { <-ctx.Done() }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
	la, la2, lb := lead(a, "A"), lead(a2, "A2"), lead(b, "B")
	if !la.Leader() || la2.Leader() || !lb.Leader() {
		t.Errorf("leaders: A %v, A2 %v, B %v; want A and B (one per namespace), not A2", la.Leader(), la2.Leader(), lb.Leader())
	}
	for _, l := range []*bus.Lease{la, la2, lb} {
		_ = l.Close()
	}

	// Taking A's deployment down deletes its stream and bucket, and
	// nothing of B's.
	deleted, err := a.DeleteNamespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(deleted)
	if want := []string{"KV_" + pa + "-" + bucket, pa + "-" + stream}; !slices.Equal(deleted, want) {
		t.Errorf("A's namespace deleted %q, want %q", deleted, want)
	}
	for _, name := range []string{pb + "-" + stream, "KV_" + pb + "-" + bucket} {
		if _, err := b.JetStream().Stream(ctx, name); err != nil {
			t.Errorf("B's %s after deleting A's namespace: %v", name, err)
		}
	}
	// The empty namespace is everyone's: it cannot be deleted.
	if _, err := bustest.Run(t).DeleteNamespace(ctx); err == nil {
		t.Error("DeleteNamespace without a prefix succeeded")
	}
}
