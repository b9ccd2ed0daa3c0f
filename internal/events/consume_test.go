package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
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

// TestConsumeBatches: the stream's messages hold many events each
// (NDJSON, as ingest.Publisher writes them) and messages written before
// batching hold one event without a newline; the consumer reads both on
// one stream. A batch redelivered (published again, cut differently, no
// dedup header) stores nothing twice; a line that is not an event is
// dropped and the rest of its message stored; a message larger than a
// fetch's byte bound is still fetched (alone).
func TestConsumeBatches(t *testing.T) {
	each(t, func(t *testing.T, s *SQL, clk *clock) {
		ctx := context.Background()
		b := bustest.Run(t)
		js := b.JetStream()
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "EVENTS-TEST", Subjects: []string{"evtest.>"}}); err != nil {
			t.Fatal(err)
		}
		mk := func(i int, org string) Event {
			return ev(fmt.Sprintf("b%05d", i), org, time.Duration(i)*time.Second, map[string]any{"n": float64(i), "text": "a <b> & c"})
		}
		publish := func(org string, lines [][]byte) {
			t.Helper()
			data := append(bytes.Join(lines, []byte("\n")), '\n')
			m := &nats.Msg{Subject: "evtest." + org, Data: data, Header: nats.Header{}}
			m.Header.Set(StreamCountHeader, fmt.Sprint(len(lines)))
			if _, err := js.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		line := func(e Event) []byte {
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
		batch := func(from, to int, org string) [][]byte {
			var out [][]byte
			for i := from; i < to; i++ {
				out = append(out, line(mk(i, org)))
			}
			return out
		}
		// Old messages, one event each and no newline, left by a server
		// before the upgrade.
		for i := range 50 {
			if _, err := js.Publish(ctx, "evtest.RJ1", line(mk(i, "RJ1"))); err != nil {
				t.Fatal(err)
			}
		}
		publish("RJ1", batch(50, 550, "RJ1"))
		publish("RJZ", batch(550, 800, "RJZ"))
		// Redelivered, cut differently: nothing stored twice.
		publish("RJ1", batch(40, 300, "RJ1"))
		publish("RJ1", batch(300, 560, "RJ1")[:250])
		// One bad line among good ones.
		bad := batch(800, 810, "RJ1")
		bad[4] = []byte(`{"id":"broken"`)
		publish("RJ1", bad)
		// Larger than the fetch's byte bound below.
		big := mk(810, "RJZ")
		big.Raw = strings.Repeat("x", 20000)
		publish("RJZ", [][]byte{line(big)})

		var stored atomic.Int64
		stop, err := Consume(ctx, js, s, ConsumerOptions{Stream: "EVENTS-TEST", Batch: 300, MaxBytes: 8 << 10, MaxWait: 50 * time.Millisecond, Stored: func(n int) { stored.Add(int64(n)) }})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		const want = 810 // 0–809 but the broken line's, and the big one
		count := func(org string) int64 {
			t.Helper()
			n, err := s.Count(ctx, scope.System("test"), Query{Org: org})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		deadline := time.Now().Add(20 * time.Second)
		for count("") < want {
			if time.Now().After(deadline) {
				t.Fatalf("the store holds %d events, want %d", count(""), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // anything more would have landed
		if n := count(""); n != want {
			t.Errorf("the store holds %d events, want %d", n, want)
		}
		if n := count("RJZ"); n != 251 {
			t.Errorf("RJZ holds %d events, want 251", n)
		}
		got, err := s.Get(ctx, scope.System("test"), "b00810")
		if err != nil || len(got.Raw) != 20000 {
			t.Errorf("the big event: %d bytes of raw, %v", len(got.Raw), err)
		}
		if _, err := s.Get(ctx, scope.System("test"), "b00804"); err == nil {
			t.Error("the broken line was stored")
		}
		if e, err := s.Get(ctx, scope.System("test"), "b00123"); err != nil || e.Fields["text"] != "a <b> & c" {
			t.Errorf("b00123: %v, fields %v", err, e.Fields)
		}
	})
}

// AppendStreamEvents reads NDJSON and the one-event messages of before,
// reports a bad line by number and keeps the rest.
func TestAppendStreamEvents(t *testing.T) {
	for _, c := range []struct {
		data string
		ids  string
		err  string
	}{
		{`{"id":"a","org":"RJ1"}`, "a", ""},
		{`{"id":"a","org":"RJ1"}` + "\n", "a", ""},
		{`{"id":"a","org":"RJ1"}` + "\n" + `{"id":"b","org":"RJ1"}` + "\n", "a,b", ""},
		{`{"id":"a","org":"RJ1"}` + "\r\n\n" + `{"id":"b","org":"RJ1"}`, "a,b", ""},
		{`{"id":"a","org":"RJ1"}` + "\nnot json\n" + `{"id":"c","org":"RJ1"}` + "\n", "a,c", "line 2"},
		{`{"id":"a","org":"RJ1"}` + "\n" + `{"org":"RJ1"}`, "a", "line 2: no id"},
		{"", "", ""},
	} {
		evs, err := AppendStreamEvents(nil, []byte(c.data))
		var got []string
		for _, e := range evs {
			got = append(got, e.ID)
		}
		if strings.Join(got, ",") != c.ids {
			t.Errorf("%q: ids %v, want %s", c.data, got, c.ids)
		}
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: err %v, want %q", c.data, err, c.err)
		}
	}
}

// BenchmarkConsume: the store's consumer alone — b.N syslog-sized events
// already on an embedded stream in messages of 512 (a TCP listener's
// batch, as ingest.Publisher writes them), fetched, decoded and appended
// to SQLite until the store holds them all:
//
//	go test -run '^$' -bench Consume -benchtime 100000x ./internal/events/
func BenchmarkConsume(b *testing.B) {
	b.Run("rows", func(b *testing.B) {
		s, _ := newStore(b, storetest.SQLite(b, sets...))
		benchmarkConsume(b, s)
	})
	b.Run("blocks", func(b *testing.B) {
		db := storetest.SQLite(b, sets...)
		_, clk := newStore(b, db)
		s, err := NewBlocks(Options{DB: db, Now: clk.now})
		if err != nil {
			b.Fatal(err)
		}
		benchmarkConsume(b, s)
	})
}

// benchmarkConsume publishes b.N syslog events to a stream and times s's
// consumer storing them all.
func benchmarkConsume(b *testing.B, s Store) {
	ctx := context.Background()
	bs := bustest.Run(b)
	js := bs.JetStream()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "EVENTS-BENCH", Subjects: []string{"evbench.>"}, Storage: jetstream.FileStorage, Compression: jetstream.S2Compression}); err != nil {
		b.Fatal(err)
	}
	msg := "seq: %010d, thread: 0000, runid: 1733510000, stamp: 2026-12-06T18:50:51 PADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADD"
	var data []byte
	n := 0
	flush := func() {
		m := &nats.Msg{Subject: "evbench.RJ1", Data: data, Header: nats.Header{}}
		m.Header.Set(StreamCountHeader, fmt.Sprint(n))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			b.Fatal(err)
		}
		data, n = nil, 0
	}
	for i := range b.N {
		text := fmt.Sprintf(msg, i)
		// IDs as ingest makes them: the event's time in milliseconds,
		// then a hash (ADR 0011).
		id := fmt.Sprintf("%011x%021x", t0.Add(time.Duration(i)*10*time.Microsecond).UnixMilli(), i*2654435761%(1<<62))
		e := Event{ID: id, Org: "RJ1", ReceivedAt: t0.Add(time.Duration(i) * time.Microsecond), EventTime: t0,
			Source: Source{Protocol: "syslog-tcp", Addr: "127.0.0.1:40112", Format: "rfc5424", Host: "localhost"},
			Fields: map[string]any{"syslog.facility": "auth", "syslog.severity": "notice", "syslog.appname": "prg00000", "syslog.procid": "1234", "message": text, "host.name": "localhost"},
			Raw:    "<38>1 2026-12-06T18:50:51+00:00 localhost prg00000 1234 - - " + text}
		line, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		data = append(append(data, line...), '\n')
		if n++; n == 512 {
			flush()
		}
	}
	if n > 0 {
		flush()
	}
	var stored atomic.Int64
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	stop, err := Consume(ctx, js, s, ConsumerOptions{Stream: "EVENTS-BENCH", Stored: func(n int) {
		if stored.Add(int64(n)) == int64(b.N) {
			close(done)
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("stored %d of %d", stored.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// The process's CPU (the embedded NATS server's delivery included):
	// what a change is judged on when the machine is shared.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "CPU-µs/event")
}
