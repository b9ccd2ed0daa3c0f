package analytics

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// FuzzParseConfig: no configuration text panics the parser, and one it
// accepts builds an engine.
func FuzzParseConfig(f *testing.F) {
	f.Add(defaultConfig)
	f.Add([]byte(newAdminYAML))
	f.Add([]byte("analytics:\n  - {name: a, kind: volume, title: T, group: ['@host'], weeks: 1, neighbours: 12, min_samples: 25}\n"))
	f.Add([]byte("fields: {u: ['@org', x]}\nanalytics:\n  - {name: a, kind: rare, title: T, key: u, value: v, where: {not: {a: '*'}}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig("fuzz.yaml", b)
		if err != nil {
			return
		}
		if _, err := New(cfg); err != nil {
			t.Fatalf("accepted configuration does not build: %v", err)
		}
	})
}

// Odd events — no organisation, no fields, values of every type,
// coordinates out of range or not numbers, times at the epoch or far
// ahead — neither panic nor find anything, and the state still
// snapshots.
func TestObserveOddEvents(t *testing.T) {
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	signin := func(fields map[string]any, at time.Time) *events.Event {
		fields["properties.status.errorCode"] = 0.0
		return &events.Event{ID: "x", Org: "RJ1", Product: "azure", Service: "signinlogs", EventTime: at, ReceivedAt: at, Fields: fields}
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	odd := []*events.Event{
		nil,
		{},
		{Org: "RJ1"},
		{Org: "RJ1", Product: "windows", Category: "process_creation", Fields: map[string]any{"Image": []any{1.0, true, nil}, "ParentImage": map[string]any{}}},
		{Org: "RJ1", Product: "windows", Service: "security", Fields: map[string]any{"EventID": 4672.0, "SubjectUserName": []any{}, "Computer": ""}},
		signin(map[string]any{"userPrincipalName": "u", "location.geoCoordinates.latitude": 91.0, "location.geoCoordinates.longitude": 0.0}, at),
		signin(map[string]any{"userPrincipalName": "u", "location.geoCoordinates.latitude": "north", "location.geoCoordinates.longitude": "1"}, at),
		signin(map[string]any{"userPrincipalName": "u", "location.geoCoordinates.latitude": math.NaN(), "location.geoCoordinates.longitude": 1.0}, at),
		signin(map[string]any{"userPrincipalName": "u", "location.geoCoordinates.latitude": 0.0, "location.geoCoordinates.longitude": 0.0}, at),
		{Org: "RJ1", Product: "linux", Service: "sshd", Source: events.Source{Host: "h", Protocol: "udp"}, ReceivedAt: time.Unix(0, 0)},
		{Org: "RJ1", Product: "linux", Service: "sshd", Source: events.Source{Host: "h", Protocol: "udp"}, ReceivedAt: time.Unix(-1e9, 0)},
		{Org: "RJ1", Product: "linux", Service: "sshd", Source: events.Source{Host: "h", Protocol: "udp"}, ReceivedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, ev := range odd {
		if fs := e.Observe(ev); len(fs) != 0 {
			t.Errorf("%+v: %v", ev, summaries(fs))
		}
	}
	if fs := e.Tick(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)); len(fs) != 0 {
		t.Errorf("tick: %v", summaries(fs))
	}
	var b bytes.Buffer
	if err := e.Snapshot(&b); err != nil {
		t.Fatal(err)
	}
	if err := e.Restore(&b); err != nil {
		t.Fatal(err)
	}
}

// FuzzRestore: no snapshot text panics Restore, or the engine after it.
func FuzzRestore(f *testing.F) {
	e, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		e.Observe(&events.Event{ID: "e", Org: "RJ1", Product: "azure", Service: "signinlogs", EventTime: at, ReceivedAt: at.Add(time.Duration(i) * time.Hour),
			Fields: map[string]any{"userPrincipalName": "u", "location.countryOrRegion": "GB", "status.errorCode": 0.0,
				"location.geoCoordinates.latitude": 51.5, "location.geoCoordinates.longitude": -0.1}})
	}
	var b bytes.Buffer
	if err := e.Snapshot(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"version":1,"analytics":{"volume-by-sender":{"kind":"volume","state":{"RJ1":{"groups":{"x":{"cur":-5,"since":1,"last":1,"counts":[1]}}}}}}}`))
	f.Fuzz(func(t *testing.T, snap []byte) {
		e, err := New(nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.Restore(bytes.NewReader(snap)) != nil && e.RestoreOrg("RJ1", bytes.NewReader(snap)) != nil {
			return
		}
		e.Observe(&events.Event{ID: "e", Org: "RJ1", Product: "azure", Service: "signinlogs", EventTime: at, ReceivedAt: at.Add(200 * time.Hour),
			Fields: map[string]any{"userPrincipalName": "u", "location.countryOrRegion": "FR", "status.errorCode": 0.0,
				"location.geoCoordinates.latitude": 48.0, "location.geoCoordinates.longitude": 2.0}})
		e.Tick(at.Add(400 * time.Hour))
	})
}
