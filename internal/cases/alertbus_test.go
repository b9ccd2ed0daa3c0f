package cases

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Alerts from the ALERTS stream are stored once however often they are
// delivered, and a message that can never be stored is set aside without
// holding up the ones behind it.
func TestConsumeAlertsIdempotentAndPoisonSafe(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, sets...))
	b := bustest.Run(t)
	ctx := context.Background()
	stop, err := e.svc.ConsumeAlerts(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	js := b.JetStream()
	publish := func(subject, msgID string, body []byte) {
		t.Helper()
		m := nats.NewMsg(subject)
		m.Data = body
		if msgID != "" {
			m.Header.Set(jetstream.MsgIDHeader, msgID)
		}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	good, _ := json.Marshal(alertFor("RJ1", "sigma-42"))
	// Poison first: not JSON, an unknown field, an invalid alert, a
	// subject naming another organisation, an unknown organisation.
	publish(AlertSubject("RJ1"), "p-1", []byte("{not json"))
	publish(AlertSubject("RJ1"), "p-2", []byte(`{"source":"sigma","colour":"red"}`))
	bad, _ := json.Marshal(NewAlert{Source: "sigma", Type: "x", SourceRef: "r", Title: "t", Severity: "urgent", Org: "RJ1", TLP: TLPAmber})
	publish(AlertSubject("RJ1"), "p-3", bad)
	publish(AlertSubject("RJZ"), "p-4", good)
	unknown, _ := json.Marshal(alertFor("NOPE", "x"))
	publish(AlertSubject("NOPE"), "p-5", unknown)
	// Then a good alert, twice with one ID (JetStream drops the second
	// within its window), and once more under another ID (a repeat).
	publish(AlertSubject("RJ1"), "good-1", good)
	publish(AlertSubject("RJ1"), "good-1", good)
	publish(AlertSubject("RJ1"), "good-2", good)
	count := func() (n int64) {
		list, _, _ := e.svc.ListAlerts(ctx, scope.System("t"), AlertFilter{})
		for _, a := range list {
			n += a.Occurrences
		}
		return n
	}
	waitFor(t, "two occurrences stored", func() bool { return count() == 2 })
	// A redelivery of a stored message — JetStream's window is past, or
	// the ack was lost — stores nothing: handle it again directly.
	msgs, err := js.OrderedConsumer(ctx, AlertStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{AlertSubject("RJ1")}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := msgs.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	redelivered := 0
	for m := range batch.Messages() {
		if m.Headers().Get(jetstream.MsgIDHeader) == "good-1" {
			if err := e.svc.handleAlertMessage(ctx, m); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
			redelivered++
		}
	}
	if redelivered != 1 {
		t.Fatalf("found %d copies of good-1 on the stream, want 1", redelivered)
	}
	if n := count(); n != 2 {
		t.Fatalf("after a redelivery: %d occurrences, want 2", n)
	}
	list, _, _ := e.svc.ListAlerts(ctx, scope.System("t"), AlertFilter{})
	if len(list) != 1 || list[0].Org != "RJ1" || list[0].Occurrences != 2 {
		t.Fatalf("stored %+v", list)
	}
	// The consumer has nothing left pending: the poison was terminated,
	// not left to circle.
	waitFor(t, "no pending messages", func() bool {
		ci, err := js.Consumer(ctx, AlertStream, alertConsumer)
		if err != nil {
			return false
		}
		info, err := ci.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	// The audit log names the bus as the reporter.
	var actor string
	e.db.QueryRowContext(ctx, `SELECT actor_id FROM audit_log WHERE action = 'alert.create'`).Scan(&actor)
	if actor != "bus" {
		t.Errorf("audit actor = %q, want bus", actor)
	}
}
