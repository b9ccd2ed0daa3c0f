package ingest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/events"
)

// testRoot is the national root the tests' org maps fall back to.
const testRoot = "ENG"

// rig is an embedded JetStream with the EVENTS stream, a publisher on it
// and what listeners need, for tests that send with real senders and read
// back from the stream.
type rig struct {
	t       testing.TB
	bus     *bus.Bus
	pub     *Publisher
	norm    *Normaliser
	orgs    *OrgMap
	metrics *Metrics
}

// newRig starts a bus and a publisher; mapYAML, when not empty, is the
// org mapping file's text.
func newRig(t testing.TB, mapYAML string, po PublisherOptions) *rig {
	t.Helper()
	b := bustest.Run(t)
	m := NewMetrics()
	po.Conn, po.Metrics = b.Conn(), m
	pub, err := NewPublisher(context.Background(), po)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := ""
	if mapYAML != "" {
		path = filepath.Join(t.TempDir(), "ingest-map.yaml")
		if err := os.WriteFile(path, []byte(mapYAML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	orgs, err := NewOrgMap(testRoot, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, bus: b, pub: pub, norm: norm, orgs: orgs, metrics: m}
}

// opts are listener options on the rig, listening on a free port.
func (r *rig) opts() ListenerOptions {
	return ListenerOptions{Addr: "127.0.0.1:0", Normaliser: r.norm, Publisher: r.pub, Orgs: r.orgs, Metrics: r.metrics}
}

// lifecycle is a listener's Start and Close.
type lifecycle interface {
	Start(context.Context) error
	Close() error
}

// start starts l (built with err) and closes it when the test ends.
func start(t *testing.T, l lifecycle, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
}

// streamCount is how many messages the EVENTS stream holds.
func (r *rig) streamCount() uint64 {
	r.t.Helper()
	ctx := context.Background()
	s, err := r.bus.JetStream().Stream(ctx, EventStream)
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return info.State.Msgs
}

// waitEvents waits until the stream holds at least want messages, then
// returns every event on it (with its subject), in stream order.
func (r *rig) waitEvents(want int) []streamEvent {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.streamCount() < uint64(want) {
		if time.Now().After(deadline) {
			r.t.Fatalf("stream holds %d events, want %d", r.streamCount(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r.readAll()
}

type streamEvent struct {
	subject string
	msgID   string
	ev      events.Event
}

func (r *rig) readAll() []streamEvent {
	r.t.Helper()
	ctx := context.Background()
	n := int(r.streamCount())
	if n == 0 {
		return nil
	}
	c, err := r.bus.JetStream().OrderedConsumer(ctx, EventStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []streamEvent
	for len(out) < n {
		batch, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			r.t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var ev events.Event
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				r.t.Fatalf("message %s is not an event: %v", m.Subject(), err)
			}
			out = append(out, streamEvent{m.Subject(), m.Headers().Get(jetstream.MsgIDHeader), ev})
		}
		if got == 0 {
			r.t.Fatalf("read %d of %d events from the stream", len(out), n)
		}
	}
	return out
}

// messages returns the events' syslog messages (or raw text), sorted.
func messages(evs []streamEvent) []string {
	var out []string
	for _, e := range evs {
		if m, ok := e.ev.Fields["message"].(string); ok {
			out = append(out, m)
		} else {
			out = append(out, e.ev.Raw)
		}
	}
	sort.Strings(out)
	return out
}
