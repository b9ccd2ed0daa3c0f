package bus_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// testTimeout bounds every wait in these tests, so a broken bus fails
// instead of hanging the run.
const testTimeout = 10 * time.Second

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// uniqueName returns a stream name no other test run uses, so tests against
// a shared external server never collide.
func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + "_" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// collector is a handler that records what it received.
type collector struct {
	mu   sync.Mutex
	seqs []uint64
	data []string
	got  chan struct{}
}

func newCollector() *collector { return &collector{got: make(chan struct{}, 1000)} }

func (c *collector) handle(_ context.Context, msg jetstream.Msg) error {
	md, err := msg.Metadata()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.seqs = append(c.seqs, md.Sequence.Stream)
	c.data = append(c.data, string(msg.Data()))
	c.mu.Unlock()
	c.got <- struct{}{}
	return nil
}

func (c *collector) wait(t *testing.T, n int) {
	t.Helper()
	c.waitWithin(t, n, testTimeout)
}

// waitWithin is wait with a deadline of its own.
func (c *collector) waitWithin(t *testing.T, n int, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for i := 0; i < n; i++ {
		select {
		case <-c.got:
		case <-deadline:
			t.Fatalf("received %d of %d messages", i, n)
		}
	}
}

func (c *collector) snapshot() ([]uint64, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.seqs...), append([]string(nil), c.data...)
}

// waitAcked waits until the server has processed every ack of the consumer,
// so what the test asserts next does not race the asynchronous acks.
func waitAcked(t *testing.T, js jetstream.JetStream, stream, durable string, floor uint64) {
	t.Helper()
	ctx := ctxT(t)
	for {
		cons, err := js.Consumer(ctx, stream, durable)
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream >= floor && info.NumAckPending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumer %s: ack floor %d, %d pending; want floor %d", durable, info.AckFloor.Stream, info.NumAckPending, floor)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// exercise runs publish → consume → nak/redeliver on any bus, embedded or
// external.
func exercise(t *testing.T, b *bus.Bus, stream string) {
	ctx := ctxT(t)
	subject := strings.ToLower(stream) + ".events"
	if _, err := b.EnsureStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{strings.ToLower(stream) + ".>"}}); err != nil {
		t.Fatal(err)
	}
	// A second call with a changed config updates rather than fails.
	if _, err := b.EnsureStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{strings.ToLower(stream) + ".>"}, MaxMsgs: 1000}); err != nil {
		t.Fatalf("update stream: %v", err)
	}
	if err := b.Healthy(ctx); err != nil {
		t.Fatalf("Healthy: %v", err)
	}
	for i := range 3 {
		if err := b.Publish(ctx, subject, fmt.Appendf(nil, "m%d", i), fmt.Sprintf("id-%d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// The first delivery of m1 fails; it must come back after the nak
	// backoff, and the other messages must not wait for it.
	var (
		mu       sync.Mutex
		attempts = map[string][]time.Time{}
		acked    = make(chan string, 10)
	)
	stop, err := b.Consume(ctx, stream, "worker", func(_ context.Context, msg jetstream.Msg) error {
		d := string(msg.Data())
		mu.Lock()
		attempts[d] = append(attempts[d], time.Now())
		n := len(attempts[d])
		mu.Unlock()
		if d == "m1" && n == 1 {
			return errors.New("transient store error")
		}
		acked <- d
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got := map[string]bool{}
	for len(got) < 3 {
		select {
		case d := <-acked:
			got[d] = true
		case <-ctx.Done():
			t.Fatalf("acked %v, want m0 m1 m2", got)
		}
	}
	stop()
	stop() // idempotent
	mu.Lock()
	defer mu.Unlock()
	if n := len(attempts["m1"]); n != 2 {
		t.Errorf("m1 delivered %d times, want 2 (nak then success)", n)
	} else if gap := attempts["m1"][1].Sub(attempts["m1"][0]); gap < 400*time.Millisecond {
		t.Errorf("m1 redelivered after %s, want the nak backoff (~500ms)", gap)
	}
	if n := len(attempts["m0"]); n != 1 {
		t.Errorf("m0 delivered %d times, want 1", n)
	}
	waitAcked(t, b.JetStream(), stream, "worker", 3)
}

func TestEmbedded(t *testing.T) {
	b, err := bus.Open(ctxT(t), bus.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Embedded() {
		t.Error("Embedded() = false for a bus without URL")
	}
	if b.Conn() == nil || b.JetStream() == nil {
		t.Fatal("Conn or JetStream is nil")
	}
	exercise(t, b, "EVENTS")
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Healthy(ctxT(t)); err == nil {
		t.Error("Healthy after Close = nil, want an error")
	}
}

func TestBustestRun(t *testing.T) {
	b := bustest.Run(t)
	if err := b.Healthy(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestRestartKeepsMessagesAndConsumerPosition(t *testing.T) {
	const (
		stream  = "EVENTS"
		durable = "store"
		acked   = 8
		total   = 20
	)
	dir := t.TempDir()
	open := func() *bus.Bus {
		t.Helper()
		b, err := bus.Open(ctxT(t), bus.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	b := open()
	ctx := ctxT(t)
	if _, err := b.EnsureStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"events.>"}}); err != nil {
		t.Fatal(err)
	}
	publish := func(from, to int) {
		for i := from; i <= to; i++ {
			if err := b.Publish(ctx, "events.org1", fmt.Appendf(nil, "m%d", i), fmt.Sprintf("m%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The consumer handles and acks the first messages, stops, and the rest
	// arrive while it is not running.
	publish(1, acked)
	c := newCollector()
	stop, err := b.Consume(ctx, stream, durable, c.handle)
	if err != nil {
		t.Fatal(err)
	}
	c.wait(t, acked)
	stop()
	waitAcked(t, b.JetStream(), stream, durable, acked)
	publish(acked+1, total)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = open()
	defer b.Close()
	ctx = ctxT(t)
	if n := streamMsgs(t, b.JetStream(), stream); n != total {
		t.Fatalf("after restart stream holds %d messages, want %d", n, total)
	}
	s, err := b.JetStream().Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= total; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d lost: %v", seq, err)
		}
		if want := fmt.Sprintf("m%d", seq); string(m.Data) != want {
			t.Errorf("message %d = %q, want %q", seq, m.Data, want)
		}
	}

	c = newCollector()
	stop, err = b.Consume(ctx, stream, durable, c.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c.wait(t, total-acked)
	waitAcked(t, b.JetStream(), stream, durable, total)
	seqs, data := c.snapshot()
	if len(seqs) != total-acked {
		t.Fatalf("after restart consumer received %d messages (%v), want %d", len(seqs), data, total-acked)
	}
	for i, seq := range seqs {
		if want := uint64(acked + 1 + i); seq != want {
			t.Errorf("after restart delivery %d is seq %d (%s), want seq %d", i, seq, data[i], want)
		}
	}
}

func TestPublishDeduplicatesOnMsgID(t *testing.T) {
	b := bustest.Run(t)
	ctx := ctxT(t)
	if _, err := b.EnsureStream(ctx, jetstream.StreamConfig{Name: "ALERTS", Subjects: []string{"alerts.>"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := b.Publish(ctx, "alerts.org1", []byte("a"), "alert-1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := streamMsgs(t, b.JetStream(), "ALERTS"); n != 1 {
		t.Fatalf("same msgID twice stored %d messages, want 1", n)
	}
	if err := b.Publish(ctx, "alerts.org1", []byte("a"), "alert-2"); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, b.JetStream(), "ALERTS"); n != 2 {
		t.Fatalf("a new msgID stored %d messages in total, want 2", n)
	}
}

func TestPublishToNoStreamFails(t *testing.T) {
	b := bustest.Run(t)
	err := b.Publish(ctxT(t), "nowhere.at.all", []byte("x"), "")
	if err == nil || !strings.Contains(err.Error(), "nowhere.at.all") {
		t.Fatalf("Publish without a stream: err = %v, want an error naming the subject", err)
	}
}

// externalURL is the real NATS server the external tests use.
func externalURL() string {
	if u := os.Getenv("VIGIL_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

func TestExternal(t *testing.T) {
	b, err := bus.Open(ctxT(t), bus.Options{URL: externalURL(), StartTimeout: 5 * time.Second})
	if err != nil {
		// err names the server with credentials redacted; url may hold them.
		testneed.Missing(t, "NATS with JetStream (start one, or set VIGIL_TEST_NATS_URL)", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if b.Embedded() {
		t.Error("Embedded() = true for a URL bus")
	}
	stream := uniqueName(t, "VIGILTEST")
	t.Cleanup(func() {
		// Runs before Close (cleanups are LIFO), so the shared server is left
		// as it was found.
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := b.JetStream().DeleteStream(ctx, stream); err != nil {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	})
	exercise(t, b, stream)

	// Dedup holds on the real server too.
	ctx := ctxT(t)
	before := streamMsgs(t, b.JetStream(), stream)
	for range 2 {
		if err := b.Publish(ctx, strings.ToLower(stream)+".events", []byte("d"), "dup-1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := streamMsgs(t, b.JetStream(), stream); n != before+1 {
		t.Errorf("same msgID twice added %d messages, want 1", n-before)
	}
}

func TestBadOptions(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  bus.Options
		field string
	}{
		{"embedded without DataDir", bus.Options{}, "Options.DataDir"},
		{"DataDir is a file", bus.Options{DataDir: notADir}, "Options.DataDir"},
		{"negative StartTimeout", bus.Options{DataDir: t.TempDir(), StartTimeout: -time.Second}, "Options.StartTimeout"},
		{"http scheme", bus.Options{URL: "http://127.0.0.1:4222"}, "Options.URL"},
		{"not a URL", bus.Options{URL: "nats://127.0.0.1:port"}, "Options.URL"},
		{"no host", bus.Options{URL: "nats://"}, "Options.URL"},
		{"bad second server", bus.Options{URL: "nats://a:4222, ftp://b:4222"}, "Options.URL"},
		{"bad URL with password", bus.Options{URL: "nats://vigil:s3cret@127.0.0.1:port"}, "Options.URL"},
		{"SyncAlways with URL", bus.Options{URL: "nats://127.0.0.1:4222", SyncAlways: true}, "Options.SyncAlways"},
		{"prefix with a dot", bus.Options{URL: "nats://127.0.0.1:4222", Prefix: "a.b"}, "Options.Prefix"},
		{"prefix with a dash", bus.Options{DataDir: t.TempDir(), Prefix: "a-b"}, "Options.Prefix"},
		{"prefix too long", bus.Options{DataDir: t.TempDir(), Prefix: strings.Repeat("p", bus.MaxPrefix+1)}, "Options.Prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bus.Open(ctxT(t), tt.opts)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

// freePort returns a local port with nothing listening on it.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestNoServerFailsQuickly(t *testing.T) {
	port := freePort(t)
	url := fmt.Sprintf("nats://vigil:s3cret@127.0.0.1:%d", port)
	start := time.Now()
	b, err := bus.Open(context.Background(), bus.Options{URL: url, StartTimeout: 2 * time.Second})
	elapsed := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatal("Open succeeded with no server listening")
	}
	if elapsed > 5*time.Second {
		t.Errorf("Open took %s to fail, want it bounded by StartTimeout", elapsed)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("error %q does not name the server", msg)
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error %q reveals the password", msg)
	}
}

func TestSilentServerFailsWithinStartTimeout(t *testing.T) {
	// A port that accepts TCP but never speaks NATS, like a hung server or a
	// wrong port behind a load balancer: the dial succeeds, so only the
	// timeout ends the wait for the server's INFO.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	start := time.Now()
	b, err := bus.Open(context.Background(), bus.Options{URL: "nats://" + l.Addr().String(), StartTimeout: time.Second})
	elapsed := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatal("Open succeeded against a server that never answers")
	}
	if elapsed > 4*time.Second {
		t.Errorf("Open took %s to fail with StartTimeout 1s", elapsed)
	}
	if !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("error %q does not name the server", err)
	}
	t.Logf("failed after %s: %v", elapsed.Round(time.Millisecond), err)
}

func TestServerWithoutJetStream(t *testing.T) {
	// A real server without JetStream, listening on a random port.
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(testTimeout) {
		t.Fatal("test server not ready")
	}
	port := srv.Addr().(*net.TCPAddr).Port
	url := fmt.Sprintf("nats://vigil:s3cret@127.0.0.1:%d", port)

	b, err := bus.Open(ctxT(t), bus.Options{URL: url, StartTimeout: 2 * time.Second})
	if err == nil {
		b.Close()
		t.Fatal("Open succeeded against a server without JetStream")
	}
	msg := err.Error()
	if !strings.Contains(msg, "JetStream") || !strings.Contains(msg, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("error %q should say JetStream is missing and name the server", msg)
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error %q reveals the password", msg)
	}
	// The half-failed Open closed the connection it had made.
	deadline := time.Now().Add(testTimeout)
	for srv.NumClients() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("server still has %d clients after the failed Open", srv.NumClients())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkPublish measures what Options.SyncAlways costs: one fsync per
// stored message. Run with -benchtime and a TMPDIR on the disk that matters.
func BenchmarkPublish(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("SyncAlways=%t", sync), func(b *testing.B) {
			bs, err := bus.Open(context.Background(), bus.Options{DataDir: b.TempDir(), SyncAlways: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer bs.Close()
			ctx := context.Background()
			if _, err := bs.EnsureStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}}); err != nil {
				b.Fatal(err)
			}
			data := make([]byte, 512) // about one normalised event
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := bs.Publish(ctx, "bench.org1", data, strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestConsumeStopsWhenContextDone(t *testing.T) {
	b := bustest.Run(t)
	ctx := ctxT(t)
	if _, err := b.EnsureStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "events.org1", []byte("slow"), "slow-1"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	started, returned := make(chan struct{}), make(chan struct{})
	// On a slow machine the message can be delivered a second time (after
	// the first delivery's NAK) before stop takes effect: close once.
	var startOnce, returnOnce sync.Once
	stop, err := b.Consume(cctx, "EVENTS", "worker", func(hctx context.Context, _ jetstream.Msg) error {
		startOnce.Do(func() { close(started) })
		<-hctx.Done() // a handler blocked on I/O that honours its context
		returnOnce.Do(func() { close(returned) })
		return hctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(testTimeout):
		t.Fatal("stop did not return after the context was cancelled")
	}
	select {
	case <-returned:
	default:
		t.Fatal("stop returned before the running handler did")
	}

	// The interrupted message was handed back at once, not after AckWait.
	c := newCollector()
	start := time.Now()
	stop2, err := b.Consume(ctx, "EVENTS", "worker", c.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	c.wait(t, 1)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("interrupted message redelivered after %s, want immediately", d)
	}
}

// Notify and Subscribe carry core NATS notices: every subscriber at the time
// gets each one, wildcards included; after stop, none.
func TestNotifySubscribe(t *testing.T) {
	b := bustest.Run(t)
	subject := uniqueName(t, "vigil.test")
	type notice struct{ subject, data string }
	got1, got2 := make(chan notice, 10), make(chan notice, 10)
	stop1, err := b.Subscribe(subject+".changed.*", func(s string, d []byte) { got1 <- notice{s, string(d)} })
	if err != nil {
		t.Fatal(err)
	}
	stop2, err := b.Subscribe(subject+".changed.orgs", func(s string, d []byte) { got2 <- notice{s, string(d)} })
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	if err := b.Notify(subject+".changed.orgs", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan notice{got1, got2} {
		select {
		case n := <-ch:
			if n.subject != subject+".changed.orgs" || n.data != "x" {
				t.Errorf("got %+v", n)
			}
		case <-time.After(testTimeout):
			t.Fatal("notice not delivered")
		}
	}
	stop1()
	stop1() // harmless twice
	if err := b.Notify(subject+".changed.supply", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if err := b.Notify(subject+".changed.orgs", []byte("z")); err != nil {
		t.Fatal(err)
	}
	// The second subscriber's copy of the last notice arrives after
	// anything the stopped one could still have been sent.
	if n := <-got2; n.data != "z" {
		t.Errorf("second subscriber got %+v, want z", n)
	}
	select {
	case n := <-got1:
		t.Errorf("a stopped subscription received %+v", n)
	default:
	}
}

// The embedded server's notices (its start-up banner, JetStream's settings,
// "Server is ready", the shutdown lines) are for debugging the bus, not for
// the person who ran `vigil serve`: at info only Vigil's own one line about
// the bus is logged; the server's warnings and errors still pass.
func TestEmbeddedServerIsQuiet(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := bus.Open(ctxT(t), bus.Options{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	for _, noise := range []string{"nats-server", "Starting", "JETSTREAM", "Server is ready", "Version", "Exiting"} {
		if strings.Contains(out, noise) {
			t.Errorf("the embedded server's %q reached the info log:\n%s", noise, out)
		}
	}
	if !strings.Contains(out, "embedded NATS server started") {
		t.Errorf("Vigil's own line about the bus is missing:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A handler's Reject ends a message's deliveries at once: it is not
// redelivered with backoff, and the messages after it are handled.
func TestRejectTerminatesMessage(t *testing.T) {
	b := bustest.Run(t)
	ctx := ctxT(t)
	if _, err := b.EnsureStream(ctx, jetstream.StreamConfig{Name: "POISON", Subjects: []string{"poison.>"}}); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"bad", "good"} {
		if err := b.Publish(ctx, "poison.x", []byte(body), fmt.Sprint("m-", i)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	stop, err := b.Consume(ctx, "POISON", "worker", func(_ context.Context, m jetstream.Msg) error {
		mu.Lock()
		seen[string(m.Data())]++
		mu.Unlock()
		if string(m.Data()) == "bad" {
			return bus.Reject(errors.New("not an event"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// The first NAK would redeliver after 500 ms: wait well past it.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["bad"] != 1 || seen["good"] != 1 {
		t.Fatalf("deliveries = %v, want the rejected message once and the next one once", seen)
	}
	if !bus.IsRejected(bus.Reject(errors.New("x"))) || bus.IsRejected(errors.New("x")) || bus.Reject(nil) != nil {
		t.Error("IsRejected/Reject disagree")
	}
}

// TestRestartWithStreamsReservingTheRoom: streams made when the disk had
// room keep their reservations; after a restart where those reservations
// take all the room nats-server's default would give (three quarters of
// the free space, as when the disk has filled since), the embedded server
// still declares its streams. (The margins, 512 MiB and 2 GiB, keep the
// test steady while other processes write to the disk.) Before, every stream change failed with
// "insufficient storage resources available" and serve would not start.
func TestRestartWithStreamsReservingTheRoom(t *testing.T) {
	dir := t.TempDir()
	open := func() *bus.Bus {
		t.Helper()
		b, err := bus.Open(ctxT(t), bus.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	room := int64(fs.Bavail) * int64(fs.Bsize) / 4 * 3 //nolint:unconvert // platform field types
	big := jetstream.StreamConfig{Name: "BIG", Subjects: []string{"big"}, Storage: jetstream.FileStorage, MaxBytes: room - (512 << 20)}
	small := jetstream.StreamConfig{Name: "SMALL", Subjects: []string{"small"}, Storage: jetstream.FileStorage, MaxBytes: 2 << 30}
	b := open()
	ctx := ctxT(t)
	if _, err := b.EnsureStream(ctx, big); err != nil {
		t.Fatalf("a stream of three quarters of the free space on a fresh store: %v", err)
	}
	if _, err := b.EnsureStream(ctx, small); err == nil {
		t.Fatal("a 2 GiB stream fitted beside one reserving all but 512 MiB of the room: the test no longer shows the limit")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = open()
	defer b.Close()
	if _, err := b.EnsureStream(ctx, big); err != nil {
		t.Errorf("the big stream again after the restart: %v", err)
	}
	if _, err := b.EnsureStream(ctx, small); err != nil {
		t.Errorf("a 2 GiB stream after the restart: %v", err)
	}
}
