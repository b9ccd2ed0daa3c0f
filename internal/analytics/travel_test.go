package analytics

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
)

type place struct {
	city, country string
	lat, lon      float64
}

var (
	london = place{"London", "GB", 51.5074, -0.1278}
	leeds  = place{"Leeds", "GB", 53.8008, -1.5491}
	sydney = place{"Sydney", "AU", -33.8688, 151.2093}
)

// entraSignIn is a copy of the real Entra ID sign-in record (Azure Monitor's
// Event Hub shape, or with graph set the Microsoft Graph signIn resource
// the O365 poller reads: its properties) made successful, for user, at p
// and when, then normalised by the ingest normaliser as the live system
// does.
func entraSignIn(t testing.TB, graph bool, id, user string, p place, when time.Time) events.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(needSamples(t, "cloud/entra-id"), "signinlogs_eventhub.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	props := rec["properties"].(map[string]any)
	props["id"], props["userPrincipalName"] = id, user
	props["createdDateTime"] = when.Format(time.RFC3339Nano)
	props["status"] = map[string]any{"errorCode": 0}
	props["location"] = map[string]any{"city": p.city, "countryOrRegion": p.country, "geoCoordinates": map[string]any{"latitude": p.lat, "longitude": p.lon}}
	rec["time"], rec["resultType"], rec["location"] = when.Format(time.RFC3339Nano), "0", p.country
	var raw any = rec
	if graph {
		raw = props
	}
	out, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := n.Parse(out, events.Source{Protocol: "http"}, when)
	if graph {
		// The O365 poller names Graph's sign-ins (o365Event).
		ev.Product, ev.Service, ev.EventTime = "azure", "signinlogs", when
	}
	ev.Org, ev.ID = "RJ1", id
	if ev.Product != "azure" || ev.Service != "signinlogs" || !ev.EventTime.Equal(when) {
		t.Fatalf("sign-in normalised as %s/%s at %v", ev.Product, ev.Service, ev.EventTime)
	}
	return ev
}

var t9 = time.Date(2019, 10, 18, 9, 45, 48, 0, time.UTC)

func TestImpossibleTravel(t *testing.T) {
	for _, graph := range []bool{false, true} {
		t.Run("graph="+strconv.FormatBool(graph), func(t *testing.T) {
			e, err := New(nil)
			if err != nil {
				t.Fatal(err)
			}
			// London then Leeds three hours later (272 km, 91 km/h): no alert.
			evs := []events.Event{
				entraSignIn(t, graph, "a1", "alice@rj1.nhs.test", london, t9),
				entraSignIn(t, graph, "a2", "alice@rj1.nhs.test", leeds, t9.Add(3*time.Hour)),
				// Another user's sign-in in Sydney is not Alice's.
				entraSignIn(t, graph, "b1", "bob@rj1.nhs.test", sydney, t9.Add(3*time.Hour+10*time.Minute)),
				// Alice in London at 13:00, then Sydney two hours later.
				entraSignIn(t, graph, "a3", "alice@rj1.nhs.test", london, t9.Add(3*time.Hour+15*time.Minute)),
				entraSignIn(t, graph, "a4", "ALICE@rj1.nhs.test", sydney, t9.Add(5*time.Hour+15*time.Minute)),
			}
			var fs []Finding
			for _, f := range observeAll(e, evs) {
				if f.Kind == KindTravel {
					fs = append(fs, f)
				}
			}
			sameList(t, "findings", summaries(fs), []string{"entra-impossible-travel RJ1 2019-10-18T15:00:48Z a3 → a4"})
			if len(fs) != 1 {
				return
			}
			f := fs[0]
			// London–Sydney is 16,993 km on the WGS84 ellipsoid.
			dist, _ := strconv.ParseFloat(f.Details["distance_km"], 64)
			if math.Abs(dist-16993)/16993 > 0.01 {
				t.Errorf("distance %v km, want 16,993 ± 1%%", dist)
			}
			speed, _ := strconv.ParseFloat(f.Details["speed_kmh"], 64)
			if math.Abs(speed-dist/2) > 1 {
				t.Errorf("speed %v km/h, want %v", speed, dist/2)
			}
			for _, want := range []string{"ALICE@rj1.nhs.test signed in from London, GB (51.5074, -0.1278; IP 81.171.241.231; event a3) at 2019-10-18 13:00:48 UTC",
				"and from Sydney, AU (-33.8688, 151.2093; IP 81.171.241.231; event a4) at 2019-10-18 15:00:48 UTC", " km apart in 2h0m0s, ", " km/h — faster than 900 km/h"} {
				if !strings.Contains(f.Explanation, want) {
					t.Errorf("explanation lacks %q:\n%s", want, f.Explanation)
				}
			}
			if f.Entities.User != "ALICE@rj1.nhs.test" || f.Entities.Country != "AU" || f.Entities.IP != "81.171.241.231" || f.Level != "high" ||
				strings.Join(f.EventIDs, ",") != "a3,a4" || f.Details["from"] != "London, GB" || f.Details["to"] != "Sydney, AU" {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

// The real record is a failed sign-in (error 50140): the shipped analytic
// reads successful ones only, so it leaves no location to compare with.
func TestImpossibleTravelIgnoresFailures(t *testing.T) {
	real := readEvents(t, "cloud/entra-id/signinlogs_eventhub.json", "RJ1")
	if len(real) != 1 || real[0].Fields["properties.location.city"] != "Champs-Sur-Marne" {
		t.Fatalf("the sample: %+v", real)
	}
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Champs-Sur-Marne to Sydney in an hour would be impossible.
	evs := []events.Event{real[0], entraSignIn(t, false, "s1", "test@elastic.co", sydney, real[0].EventTime.Add(time.Hour))}
	for _, f := range observeAll(e, evs) {
		if f.Kind == KindTravel {
			t.Errorf("finding from a failed sign-in: %s", f.Explanation)
		}
	}
}

// Known distances (great circle on the mean radius; the ellipsoid's
// figures differ by under 0.5%).
func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b place
		km   float64
	}{
		{london, sydney, 16993},
		{london, leeds, 272},
		{place{lat: 0, lon: 0}, place{lat: 0, lon: 180}, math.Pi * earthRadius},
		{place{lat: 90, lon: 0}, place{lat: -90, lon: 0}, math.Pi * earthRadius},
		{london, london, 0},
	} {
		got := Distance(c.a.lat, c.a.lon, c.b.lat, c.b.lon)
		if math.Abs(got-c.km) > 0.005*c.km+0.001 {
			t.Errorf("%s–%s: %.1f km, want %.1f", c.a.city, c.b.city, got, c.km)
		}
	}
}

// A user who signed in from Great Britain every day for three weeks and
// then from Australia has signed in from a country new for them; the
// first fortnight is learning, so a first Australian sign-in on day 5 of
// another user's history is not reported.
func TestNewCountryForUser(t *testing.T) {
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []events.Event
	for day := range 21 {
		at := t9.Add(time.Duration(day) * 24 * time.Hour)
		evs = append(evs, entraSignIn(t, false, "a"+strconv.Itoa(day), "alice@rj1.nhs.test", london, at))
		if day == 4 {
			evs = append(evs, entraSignIn(t, false, "b4", "bob@rj1.nhs.test", london, at.Add(time.Hour)),
				entraSignIn(t, false, "b5", "bob@rj1.nhs.test", sydney, at.Add(30*time.Hour)))
		}
	}
	evs = append(evs, entraSignIn(t, true, "a21", "Alice@rj1.nhs.test", sydney, t9.Add(21*24*time.Hour)))
	var fs []Finding
	for _, f := range observeAll(e, evs) {
		if f.Kind == KindFirstSeen {
			fs = append(fs, f)
		}
	}
	sameList(t, "findings", summaries(fs), []string{"entra-new-country RJ1 2019-11-08T09:45:48Z user=Alice@rj1.nhs.test → country=AU"})
	if len(fs) == 1 && !strings.Contains(fs[0].Explanation, "had 1 known value, most recently gb.") {
		t.Errorf("explanation: %s", fs[0].Explanation)
	}
}
