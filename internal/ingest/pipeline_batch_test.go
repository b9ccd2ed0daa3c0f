package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// A batch becomes as few stream messages as it can: one per organisation
// (a message holds one organisation's events, on its subject), split
// where a message would pass maxMessageBytes, each saying how many events
// it holds; an event repeated within the batch goes once. The same batch
// published again is dropped whole by JetStream (the messages' IDs are
// digests of their events' IDs), every event counted as a duplicate.
func TestPublishBatches(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	var evs []events.Event
	for i := range 900 {
		org := []string{"RJ1", "RJZ", "X26"}[i%3]
		raw := fmt.Sprintf("event %d", i)
		if i%300 == 1 {
			raw = strings.Repeat("r", 200<<10) // three of RJZ's, 600 KiB: its message splits once
		}
		evs = append(evs, events.Event{ID: fmt.Sprintf("id%04d", i), Org: org, ReceivedAt: time.Now(), Raw: raw, Fields: map[string]any{"n": float64(i)}})
	}
	evs = append(evs, evs[3]) // repeated within the batch
	ctx := context.Background()
	if err := r.pub.Publish(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got := r.waitEvents(900)
	if len(got) != 900 {
		t.Fatalf("%d events on the stream, want 900", len(got))
	}
	checkMsgIDs(t, got)
	perOrg := map[string]int{}
	for i, e := range got {
		perOrg[e.subject]++
		if i > 0 && got[i-1].msgID == e.msgID && got[i-1].ev.ID >= e.ev.ID {
			t.Errorf("a message's events out of order: %s then %s", got[i-1].ev.ID, e.ev.ID)
		}
	}
	if perOrg["events.RJ1"] != 300 || perOrg["events.RJZ"] != 300 || perOrg["events.X26"] != 300 {
		t.Errorf("events per subject %v", perOrg)
	}
	// 900 events of three organisations in one publish (one chunk):
	// RJ1 and X26 a message each, RJZ's 600 KiB two.
	msgs := r.streamMsgs()
	if msgs != 4 {
		t.Errorf("%d messages for three organisations' events, want 4", msgs)
	}
	if _, dups := r.metrics.Snapshot(); dups != 1 {
		t.Errorf("%d duplicates, want the one event repeated in the batch", dups)
	}
	// The same batch again: the same messages, dropped whole.
	if err := r.pub.Publish(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if n := r.streamMsgs(); n != msgs {
		t.Errorf("the batch published again: %d messages, want %d", n, msgs)
	}
	if _, dups := r.metrics.Snapshot(); dups != 1+901 {
		t.Errorf("%d duplicates, want 902", dups)
	}
}
