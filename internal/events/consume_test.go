package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestConsume: events published on the stream land in the store, once
// each however often they are published; a message that is not an event
// is dropped without stopping the rest; a consumer stopped and started
// again carries on where it was.
func TestConsume(t *testing.T) {
	each(t, func(t *testing.T, s *SQL, clk *clock) {
		ctx := context.Background()
		b := bustest.Run(t)
		js := b.JetStream()
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "EVENTS-TEST", Subjects: []string{"evtest.>"}, Duplicates: time.Minute}); err != nil {
			t.Fatal(err)
		}
		publish := func(from, to int, msgID bool) {
			t.Helper()
			for i := from; i < to; i++ {
				e := ev(fmt.Sprintf("c%05d", i), []string{"RJ1", "RJZ"}[i%2], time.Duration(i)*time.Second, map[string]any{"n": float64(i)})
				data, _ := json.Marshal(e)
				m := &nats.Msg{Subject: "evtest." + e.Org, Data: data, Header: nats.Header{}}
				if msgID {
					m.Header.Set(jetstream.MsgIDHeader, e.ID)
				}
				if _, err := js.PublishMsg(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		var stored atomic.Int64
		start := func() func() {
			stop, err := Consume(ctx, js, s, ConsumerOptions{Stream: "EVENTS-TEST", Batch: 300, MaxWait: 50 * time.Millisecond, Stored: func(n int) { stored.Add(int64(n)) }})
			if err != nil {
				t.Fatal(err)
			}
			return stop
		}
		count := func() int64 {
			n, err := s.Count(ctx, scope.System("test"), Query{})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		waitFor := func(want int64) {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for count() != want {
				if time.Now().After(deadline) {
					t.Fatalf("the store holds %d events, want %d", count(), want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		stop := start()
		publish(0, 1000, true)
		// Not an event: dropped, the rest still stored.
		if _, err := js.Publish(ctx, "evtest.RJ1", []byte("not json")); err != nil {
			t.Fatal(err)
		}
		// Published again without the stream's dedup header (a redelivery
		// from a sender): the store keeps one of each.
		publish(0, 200, false)
		waitFor(1000)
		stop()
		publish(1000, 1500, true)
		if n := count(); n != 1000 {
			t.Errorf("stored %d while stopped", n)
		}
		stop = start()
		defer stop()
		waitFor(1500)
		// Stored is told once the batch's acknowledgements are sent, a
		// moment after the store holds it.
		deadline := time.Now().Add(10 * time.Second)
		for stored.Load() < 1500 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := stored.Load(); got < 1500 {
			t.Errorf("Stored heard of %d events, want at least 1500", got)
		}
	})
}

// The consumer keeps a stream event's fields as the JSON they came in,
// unless encoding/json escaped < > & in them, which free text would then
// not find; a message whose fields are not an object is not an event.
func TestDecodeStreamEvent(t *testing.T) {
	for _, c := range []struct {
		data, fields string
		decoded      bool
		err          bool
	}{
		{`{"id":"a","org":"RJ1","fields":{"CommandLine":"a <b> & c"}}`, `{"CommandLine":"a <b> & c"}`, false, false},
		{`{"id":"a","org":"RJ1","fields":{"CommandLine":"a \u003cb\u003e \u0026 c"}}`, "", true, false},
		{`{"id":"a","org":"RJ1","fields":null}`, "", false, false},
		{`{"id":"a","org":"RJ1"}`, "", false, false},
		{`{"id":"a","org":"RJ1","fields":[1]}`, "", false, true},
		{`{"id":"a","org":"RJ1","fields":"x"}`, "", false, true},
		{`{"org":"RJ1","fields":{}}`, "", false, true},
		{`{"id":"a","fields":{}}`, "", false, true},
		{`{"id":"a","org":"RJ1","fields":{"x":}}`, "", false, true},
	} {
		ev, err := decodeStreamEvent([]byte(c.data))
		if (err != nil) != c.err {
			t.Errorf("%s: err %v", c.data, err)
			continue
		}
		if string(ev.fieldsJSON) != c.fields {
			t.Errorf("%s: kept fields %q, want %q", c.data, ev.fieldsJSON, c.fields)
		}
		if c.decoded && ev.Fields["CommandLine"] != "a <b> & c" {
			t.Errorf("%s: decoded fields %v", c.data, ev.Fields)
		}
	}
}
