package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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

	counter jetstream.Consumer // streamCount's reader
	counted uint64             // events streamCount has read
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

// streamMsgs is how many messages the EVENTS stream holds (each holds
// one or more events).
func (r *rig) streamMsgs() uint64 {
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

// streamCount is how many events the EVENTS stream holds: its messages'
// counts (events.StreamCountHeader) summed, read on from where the last
// call stopped.
func (r *rig) streamCount() uint64 {
	r.t.Helper()
	ctx := context.Background()
	if r.counter == nil {
		c, err := r.bus.JetStream().OrderedConsumer(ctx, EventStream, jetstream.OrderedConsumerConfig{})
		if err != nil {
			r.t.Fatal(err)
		}
		r.counter = c
	}
	for {
		batch, err := r.counter.FetchNoWait(1000)
		if err != nil {
			r.t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			r.counted += uint64(msgEvents(r.t, m))
		}
		if got == 0 {
			return r.counted
		}
	}
}

// msgEvents is how many events a stream message says it holds.
func msgEvents(t testing.TB, m jetstream.Msg) int {
	t.Helper()
	h := m.Headers().Get(events.StreamCountHeader)
	if h == "" {
		return 1
	}
	n, err := strconv.Atoi(h)
	if err != nil || n < 1 {
		t.Fatalf("message %s: %s %q", m.Subject(), events.StreamCountHeader, h)
	}
	return n
}

// waitEvents waits until the stream holds at least want events, then
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

// streamEvent is an event read back from the stream, with its message's
// subject and Nats-Msg-Id.
type streamEvent struct {
	subject string
	msgID   string
	ev      events.Event
}

// readAll reads every event on the stream, checking that each message's
// count header matches its lines and every event is its subject's
// organisation's.
func (r *rig) readAll() []streamEvent {
	r.t.Helper()
	ctx := context.Background()
	n := int(r.streamMsgs())
	if n == 0 {
		return nil
	}
	c, err := r.bus.JetStream().OrderedConsumer(ctx, EventStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []streamEvent
	for read := 0; read < n; {
		batch, err := c.Fetch(n-read, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			r.t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			// Decoded in full (AppendStreamEvents leaves the fields as
			// their JSON for the store), one line an event.
			var evs []events.Event
			if m.Headers().Get(events.StreamEncodingHeader) != "" {
				// Flow records (flowstream.go): as a consumer reads them.
				var err error
				if evs, err = events.AppendStreamMessage(nil, m.Headers(), m.Data()); err != nil {
					r.t.Fatalf("message %s: %v", m.Subject(), err)
				}
				for i := range evs {
					if err := evs[i].LoadFields(); err != nil {
						r.t.Fatal(err)
					}
				}
			}
			for l := range bytes.Lines(m.Data()) {
				if m.Headers().Get(events.StreamEncodingHeader) != "" {
					break
				}
				var ev events.Event
				if err := json.Unmarshal(l, &ev); err != nil {
					r.t.Fatalf("message %s line %d is not an event: %v", m.Subject(), len(evs)+1, err)
				}
				evs = append(evs, ev)
			}
			if want := msgEvents(r.t, m); len(evs) != want {
				r.t.Fatalf("message %s holds %d events, its header says %d", m.Subject(), len(evs), want)
			}
			for _, ev := range evs {
				if EventSubject(ev.Org) != m.Subject() {
					r.t.Fatalf("event %s of %s in a message on %s", ev.ID, ev.Org, m.Subject())
				}
				out = append(out, streamEvent{m.Subject(), m.Headers().Get(jetstream.MsgIDHeader), ev})
			}
		}
		if got == 0 {
			r.t.Fatalf("read %d of %d messages from the stream", read, n)
		}
		read += got
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

// checkMsgIDs checks every message's Nats-Msg-Id: its event's own ID when
// the message holds one event, otherwise a digest of its events' IDs
// ("b" and 32 hex digits); and that no two messages share one.
func checkMsgIDs(t *testing.T, got []streamEvent) {
	t.Helper()
	seen := map[string]bool{}
	for i := 0; i < len(got); {
		j := i + 1
		for j < len(got) && got[j].msgID == got[i].msgID {
			j++
		}
		id := got[i].msgID
		switch {
		case seen[id]:
			t.Errorf("two messages with Nats-Msg-Id %q", id)
		case j-i == 1 && id != got[i].ev.ID:
			t.Errorf("a message of one event %q has Nats-Msg-Id %q", got[i].ev.ID, id)
		case j-i > 1 && (len(id) != 33 || id[0] != 'b'):
			t.Errorf("a message of %d events has Nats-Msg-Id %q", j-i, id)
		}
		for _, e := range got[i:j] {
			if e.ev.ID == "" {
				t.Errorf("an event without an ID: %q", e.ev.Raw)
			}
		}
		seen[id] = true
		i = j
	}
}
