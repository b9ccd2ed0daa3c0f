package analytics

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// The state of every kind stays within its configured bounds however
// many distinct keys, values, sources and users arrive, dropping the
// least recently seen first.
func TestStateBounded(t *testing.T) {
	e := engine(t, `
analytics:
  - {name: fs, kind: first_seen, title: T, key: k, value: v, max_entries: 100, max_values: 10, learning: 0d}
  - {name: rare, kind: rare, title: T, key: k, value: v, max_entries: 100, max_values: 10}
  - {name: vol, kind: volume, title: T, group: k, max_groups: 5}
  - {name: trav, kind: impossible_travel, title: T, user: k, latitude: lat, longitude: lon, max_users: 50}
`)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5000 {
		ev := &events.Event{ID: fmt.Sprint(i), Org: "RJ1", EventTime: at.Add(time.Duration(i) * time.Second), ReceivedAt: at.Add(time.Duration(i) * time.Second),
			Fields: map[string]any{"k": fmt.Sprint("key", i%300), "v": fmt.Sprint("value", i), "lat": 51.0, "lon": -1.0}}
		e.Observe(ev)
	}
	fs := e.byName["fs"].det.(*firstSeen).orgs["RJ1"]
	rare := e.byName["rare"].det.(*rare).orgs["RJ1"]
	vol := e.byName["vol"].det.(*volume).orgs["RJ1"]
	trav := e.byName["trav"].det.(*travel).orgs["RJ1"]
	total := 0
	for _, k := range fs.Keys {
		if len(k.Values) > 10 {
			t.Errorf("first_seen key with %d values", len(k.Values))
		}
		total += len(k.Values) + 1
	}
	if total > 100 || total != fs.N || total < 50 {
		t.Errorf("first_seen holds %d keys and values (N %d), want 50…100", total, fs.N)
	}
	total = 0
	for _, k := range rare.Keys {
		total += len(k.Values)
	}
	if total > 100 || total != rare.N {
		t.Errorf("rare holds %d values (N %d), want ≤ 100", total, rare.N)
	}
	if len(vol.Groups) > 5 || len(trav.Users) > 50 {
		t.Errorf("volume holds %d groups (≤ 5), travel %d users (≤ 50)", len(vol.Groups), len(trav.Users))
	}
	// The most recent key survives eviction.
	if _, ok := fs.Keys[fmt.Sprint("key", 4999%300)]; !ok {
		t.Error("the most recently seen key was dropped")
	}
}

// TestStateSize measures the memory of each kind's state per entry, the
// figures docs/analytics.md gives (run with -v to see them).
func TestStateSize(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory")
	}
	measure := func(yml string, n int, ev func(i int) *events.Event) float64 {
		e := engine(t, yml)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			e.Observe(ev(i))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(e)
		return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	mk := func(i int, k, v string) *events.Event {
		return &events.Event{ID: "e", Org: "RJ1", EventTime: at, ReceivedAt: at, Fields: map[string]any{"k": k, "v": v, "lat": 51.0, "lon": -1.0}}
	}
	value := `C:\Windows\System32\svchost.exe`
	fsB := measure("analytics: [{name: a, kind: first_seen, title: T, key: k, value: v}]", n, func(i int) *events.Event {
		return mk(i, fmt.Sprint("key", i/20), fmt.Sprint(value, i))
	})
	rareB := measure("analytics: [{name: a, kind: rare, title: T, key: k, value: v}]", n, func(i int) *events.Event {
		return mk(i, fmt.Sprint("key", i/20), fmt.Sprint(value, i))
	})
	volB := measure("analytics: [{name: a, kind: volume, title: T, group: k}]", 1000, func(i int) *events.Event {
		return mk(i, fmt.Sprint("host", i), "")
	})
	travB := measure("analytics: [{name: a, kind: impossible_travel, title: T, user: k, latitude: lat, longitude: lon}]", n, func(i int) *events.Event {
		return mk(i, fmt.Sprint("user", i, "@rj1.nhs.test"), "")
	})
	t.Logf("bytes per entry: first_seen value %.0f, rare value %.0f, volume source %.0f, travel user %.0f (keys and values of ~35 bytes)", fsB, rareB, volB, travB)
	if fsB > 400 || rareB > 600 || volB > 6000 || travB > 400 {
		t.Errorf("state larger than docs/analytics.md says")
	}
}

// Observe, Tick and Snapshot may run at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	done := make(chan struct{})
	for g := range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 2000 {
				ev := &events.Event{ID: fmt.Sprint(g, i), Org: "RJ1", Product: "linux", Service: "sshd", Source: events.Source{Protocol: "udp", Host: "h"},
					EventTime: at.Add(time.Duration(i) * time.Minute), ReceivedAt: at.Add(time.Duration(i) * time.Minute)}
				e.Observe(ev)
			}
		}()
	}
	go func() {
		defer func() { done <- struct{}{} }()
		for i := range 50 {
			e.Tick(at.Add(time.Duration(i) * time.Hour))
			var b bytes.Buffer
			if err := e.Snapshot(&b); err != nil {
				t.Error(err)
			}
		}
	}()
	for range 3 {
		<-done
	}
}
