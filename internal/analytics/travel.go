package analytics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// travel keeps each user's latest sign-in with a location and reports a
// sign-in whose great-circle distance from it, over the time between the
// two, is a speed no traveller reaches (MaxSpeed, 900 km/h by default:
// an airliner's cruising speed) — for distances of at least MinDistance,
// since IP geolocation places a user tens or hundreds of kilometres off
// (a mobile network's gateway, a national ISP's exchange).
type travel struct {
	orgs map[string]*travelOrg
}

// travelRefs are the sign-in fields an impossible_travel analytic reads.
type travelRefs struct {
	user, lat, lon, city, country, ip fieldRef
}

type travelOrg struct {
	Users map[string]*signIn `json:"users"`
}

// signIn is where and when a user last signed in.
type signIn struct {
	T       int64   `json:"t"` // Unix milliseconds
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	City    string  `json:"city,omitempty"`
	Country string  `json:"country,omitempty"`
	IP      string  `json:"ip,omitempty"`
	Event   string  `json:"event"`
}

func newTravel() *travel { return &travel{orgs: map[string]*travelOrg{}} }

// earthRadius is the mean radius of the Earth in km (IUGG).
const earthRadius = 6371.0088

// Distance is the great-circle distance in km between two points given in
// degrees, by the haversine formula (within 0.5% of the ellipsoidal
// distance, far closer than IP geolocation is).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
}

// coordinate reads a latitude or longitude: a number or numeric text
// within ±limit.
func coordinate(r *fieldRef, ev *events.Event, limit float64) (float64, bool) {
	v, ok := r.raw(ev)
	if !ok {
		return 0, false
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.Abs(f) > limit {
		return 0, false
	}
	return f, true
}

func (d *travel) observe(a *analytic, ev *events.Event, out []Finding) []Finding {
	r := a.travel
	user := r.user.text(ev)
	if user == "" {
		return out
	}
	lat, ok1 := coordinate(&r.lat, ev, 90)
	lon, ok2 := coordinate(&r.lon, ev, 180)
	// Entra ID gives 0, 0 for a location it could not find.
	if !ok1 || !ok2 || lat == 0 && lon == 0 {
		return out
	}
	cur := signIn{T: ev.EventTime.UnixMilli(), Lat: lat, Lon: lon, City: r.city.text(ev), Country: r.country.text(ev), IP: r.ip.text(ev), Event: ev.ID}
	o := d.orgs[ev.Org]
	if o == nil {
		o = &travelOrg{Users: map[string]*signIn{}}
		d.orgs[ev.Org] = o
	}
	if !a.cfg.CaseSensitive {
		a.kbuf = appendLower(a.kbuf[:0], user)
	} else {
		a.kbuf = append(a.kbuf[:0], user...)
	}
	stored := o.Users[string(a.kbuf)]
	if stored == nil {
		c := cur
		o.Users[string(a.kbuf)] = &c
		if len(o.Users) > a.cfg.MaxUsers {
			evict(o.Users, a.cfg.MaxUsers, func(s *signIn) int64 { return s.T })
		}
		return out
	}
	// The user's latest sign-in is overwritten in place (no allocation
	// per sign-in); prev is its copy.
	prev := *stored
	if cur.T >= prev.T {
		*stored = cur
	}
	if prev.Event == cur.Event {
		return out
	}
	dist := Distance(prev.Lat, prev.Lon, lat, lon)
	if dist < a.cfg.MinDistance {
		return out
	}
	dt := time.Duration(cur.T-prev.T) * time.Millisecond
	if dt < 0 {
		dt = -dt
	}
	speed := math.Inf(1)
	if dt > 0 {
		speed = dist / dt.Hours()
	}
	if speed <= a.cfg.MaxSpeed {
		return out
	}
	first, second := &prev, &cur
	if cur.T < prev.T {
		first, second = &cur, &prev
	}
	f := a.finding(ev, ev.EventTime)
	if f.Entities.User == "" {
		f.Entities.User = user
	}
	if f.Entities.IP == "" {
		f.Entities.IP = cur.IP
	}
	if f.Entities.Country == "" {
		f.Entities.Country = cur.Country
	}
	f.EventIDs = []string{first.Event, second.Event}
	f.Ref = first.Event + " → " + second.Event
	speedText := "at the same moment"
	if !math.IsInf(speed, 1) {
		speedText = thousands(speed) + " km/h"
		f.Details["speed_kmh"] = strconv.FormatFloat(math.Round(speed), 'f', 0, 64)
	}
	f.Details["user"] = user
	f.Details["distance_km"] = strconv.FormatFloat(math.Round(dist), 'f', 0, 64)
	f.Details["interval"] = dt.String()
	f.Details["from"], f.Details["to"] = first.place(), second.place()
	f.Explanation = fmt.Sprintf("%s signed in from %s at %s and from %s at %s: %s km apart in %s, %s — faster than %s km/h, the most a traveller manages. "+
		"One of the two sign-ins is probably not the user, or a VPN or proxy moved one of them.",
		user, first.where(), when(time.UnixMilli(first.T)), second.where(), when(time.UnixMilli(second.T)),
		thousands(dist), dt, speedText, thousands(a.cfg.MaxSpeed))
	return append(out, f)
}

// place names a sign-in's place: city and country, or its coordinates.
func (s *signIn) place() string {
	var parts []string
	for _, p := range []string{s.City, s.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%.4f, %.4f", s.Lat, s.Lon)
	}
	return strings.Join(parts, ", ")
}

// where is place with coordinates and address, for an explanation.
func (s *signIn) where() string {
	w := fmt.Sprintf("%s (%.4f, %.4f", s.place(), s.Lat, s.Lon)
	if s.IP != "" {
		w += "; IP " + s.IP
	}
	return w + "; event " + s.Event + ")"
}

func (d *travel) tick(_ *analytic, _ time.Time, out []Finding) []Finding { return out }

func (d *travel) save(org string) any { return saveOrgs(d.orgs, org) }

func (d *travel) load(_ *analytic, b []byte, only string) error {
	m, err := decodeOrgs[travelOrg](b, only)
	if err != nil {
		return err
	}
	for org, o := range m {
		if o == nil || o.Users == nil {
			return fmt.Errorf("organisation %q: no users", org)
		}
		for u, s := range o.Users {
			if s == nil {
				return fmt.Errorf("organisation %q user %q: no sign-in", org, u)
			}
		}
	}
	applyOrgs(&d.orgs, m, only)
	return nil
}
