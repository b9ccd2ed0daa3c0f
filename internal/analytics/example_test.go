package analytics_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vigil-health/vigil/internal/analytics"
	"github.com/vigil-health/vigil/internal/events"
)

// The engine as a consumer of the events stream uses it: built from a
// configuration, fed every event, told the time, its state saved.
func Example() {
	cfg, err := analytics.ParseConfig("travel.yaml", []byte(`
analytics:
  - name: travel
    kind: impossible_travel
    title: Impossible travel
    level: high
    user: userPrincipalName
    latitude: location.geoCoordinates.latitude
    longitude: location.geoCoordinates.longitude
    city: location.city
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	eng, err := analytics.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	signIn := func(id, city string, lat, lon float64, when time.Time) *events.Event {
		return &events.Event{ID: id, Org: "RJ1", EventTime: when, ReceivedAt: when, Product: "azure", Service: "signinlogs",
			Fields: map[string]any{"userPrincipalName": "alice@rj1.nhs.test", "location.city": city,
				"location.geoCoordinates.latitude": lat, "location.geoCoordinates.longitude": lon}}
	}
	for _, ev := range []*events.Event{
		signIn("e1", "London", 51.5074, -0.1278, at),
		signIn("e2", "Sydney", -33.8688, 151.2093, at.Add(2*time.Hour)),
	} {
		for _, f := range eng.Observe(ev) {
			a := f.Alert() // what the ALERTS stream and POST /api/v1/alerts take
			fmt.Println(a.Type, a.Severity, f.Details["distance_km"], "km", f.EventIDs)
			fmt.Println(a.Title)
		}
	}
	eng.Tick(at.Add(3 * time.Hour)) // volumes judge ended hours; nothing here
	var snap bytes.Buffer
	if err := eng.Snapshot(&snap); err != nil {
		fmt.Println(err)
	}
	restarted, _ := analytics.New(cfg) // after a restart: what it had learnt
	fmt.Println("restored:", restarted.Restore(&snap) == nil)
	// Output:
	// travel high 16994 km [e1 e2]
	// Impossible travel: alice@rj1.nhs.test, London → Sydney
	// restored: true
}
