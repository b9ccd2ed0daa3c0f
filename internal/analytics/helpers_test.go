package analytics

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// sharedEvents is the real telemetry beside the repository.
const sharedEvents = "../../../shared/data/events"

// needSamples returns the directory of the shared samples under sub, or
// stops the test (a skip locally, a failure under CI=true).
func needSamples(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join(sharedEvents, sub)
	if _, err := os.Stat(dir); err != nil {
		testneed.Missing(t, "the event samples in ../shared/data/events", err)
	}
	return dir
}

// readEvents normalises a shared sample file as the live system does
// (the ingest normaliser), gives every event org and, as a replay
// would, receives each when it happened.
func readEvents(t testing.TB, rel, org string) []events.Event {
	t.Helper()
	path := filepath.Join(needSamples(t, filepath.Dir(rel)), filepath.Base(rel))
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Event
	err = ingest.ReadFile(context.Background(), path, ingest.FileOptions{ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, nil, func(r ingest.Record) error {
		ev := n.Normalise(r)
		ev.Org = org
		ev.ReceivedAt = ev.EventTime
		out = append(out, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// byTime sorts events by when they happened (captures are not in order).
func byTime(evs []events.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].EventTime.Before(evs[j].EventTime) })
}

// engine builds an engine from YAML text.
func engine(t testing.TB, yml string) *Engine {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// observeAll runs evs through e and returns every finding.
func observeAll(e *Engine, evs []events.Event) []Finding {
	var out []Finding
	for i := range evs {
		out = append(out, e.Observe(&evs[i])...)
	}
	return out
}

// summary is a finding in one line, for exact comparison.
func summary(f Finding) string {
	return fmt.Sprintf("%s %s %s %s", f.Analytic, f.Org, f.Time.Format(time.RFC3339), f.Ref)
}

func summaries(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = summary(f)
	}
	return out
}

// sameList fails t unless got and want hold the same lines in order.
func sameList(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot  %d:\n\t%s\nwant %d:\n\t%s", what, len(got), strings.Join(got, "\n\t"), len(want), strings.Join(want, "\n\t"))
	}
}

// testEvent builds a small event for filter tests.
type testEvent struct {
	Product string
	Fields  map[string]any
}

func (e *testEvent) event() *events.Event {
	return &events.Event{Org: "RJ1", Product: e.Product, Fields: e.Fields}
}

func (e *testEvent) matchesNot(f filter) bool { return !f.match(e.event()) }
