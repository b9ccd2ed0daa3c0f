package analytics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// volume counts each source's events per hour (by arrival, or by the
// senders' clocks with use_event_time) and judges every hour when it ends
// against the same hour of the week in the previous weeks (and the hours
// either side of it, which also absorbs the hour that summer time moves):
// a robust baseline, the median and the median absolute deviation (MAD),
// so that one odd week does not move it. An hour is anomalous when its
// count lies more than K scaled MADs from the median — the MAD scaled by
// 1.4826 to estimate a standard deviation, and never below the square
// root of the median, the spread of a Poisson count, so that a perfectly
// regular source is not alarmed by ordinary chance — and at least
// MinChange events from it. Surges and drops are both reported, once per
// run of anomalous hours in one direction; a source that falls silent is
// judged by Tick, hour by hour, without any event arriving.
type volume struct {
	orgs map[string]*volOrg
}

type volOrg struct {
	Groups map[string]*volGroup `json:"groups"`
}

// volGroup is one source's hourly counts. Hours are Unix hours (seconds
// since the epoch / 3600); Counts is a ring of (weeks+1)·168 hours.
type volGroup struct {
	Shown string `json:"shown"`
	Since int64  `json:"since"` // the first whole hour watched
	Cur   int64  `json:"cur"`   // the open hour
	Last  int64  `json:"last"`  // the last hour with an event
	Dir   int8   `json:"dir,omitempty"`
	// Entities are those of the group's first event (the sender, for a
	// group by @host).
	Entities Entities `json:"entities"`
	Counts   []uint32 `json:"counts"`
}

const hoursPerWeek = 168

func newVolume() *volume { return &volume{orgs: map[string]*volOrg{}} }

func ringHours(a *analytic) int64 { return int64(a.cfg.Weeks+1) * hoursPerWeek }

func (d *volume) observe(a *analytic, ev *events.Event, out []Finding) []Finding {
	kb, ok := a.keyOf(a.key, ev, a.kbuf)
	a.kbuf = kb
	if !ok {
		return out
	}
	t := ev.ReceivedAt
	if a.cfg.UseEventTime {
		t = ev.EventTime
	}
	h := t.Unix() / 3600
	if h <= 0 {
		return out
	}
	o := d.orgs[ev.Org]
	if o == nil {
		o = &volOrg{Groups: map[string]*volGroup{}}
		d.orgs[ev.Org] = o
	}
	g := o.Groups[string(kb)]
	if g == nil {
		// The hour it is first seen in is only partly watched: the
		// baseline starts with the next.
		g = &volGroup{Shown: shown(a.key, ev), Since: h + 1, Cur: h, Last: h, Counts: make([]uint32, ringHours(a)), Entities: a.entitiesOf(ev)}
		o.Groups[string(kb)] = g
		if len(o.Groups) > a.cfg.MaxGroups {
			evict(o.Groups, a.cfg.MaxGroups, func(g *volGroup) int64 { return g.Last })
		}
	}
	if h > g.Cur {
		out = g.advance(a, ev.Org, h, out)
	}
	if h > g.Last {
		g.Last = h
	}
	n := int64(len(g.Counts))
	if h > g.Cur-n {
		g.Counts[h%n]++
	}
	return out
}

// advance closes the hours from the open one up to h (exclusive), judging
// each, and opens h.
func (g *volGroup) advance(a *analytic, org string, h int64, out []Finding) []Finding {
	n := int64(len(g.Counts))
	end := h
	if h-g.Cur > n {
		// A gap longer than the ring: after a ring's worth of hours
		// every count and baseline is zero, and so is every later hour's
		// judgement; skip them.
		end = g.Cur + n
	}
	for x := g.Cur; x < end; x++ {
		out = g.judge(a, org, x, out)
		g.Counts[(x+1)%n] = 0
	}
	if end < h {
		clear(g.Counts)
	}
	g.Cur = h
	return out
}

// judge compares the count of the ended hour x with its baseline.
func (g *volGroup) judge(a *analytic, org string, x int64, out []Finding) []Finding {
	if x < g.Since {
		return out
	}
	n := int64(len(g.Counts))
	samples := make([]float64, 0, a.cfg.Weeks*(2*a.cfg.Neighbours+1))
	for w := 1; w <= a.cfg.Weeks; w++ {
		for dh := -a.cfg.Neighbours; dh <= a.cfg.Neighbours; dh++ {
			y := x - int64(w)*hoursPerWeek + int64(dh)
			if y >= g.Since && y > x-n {
				samples = append(samples, float64(g.Counts[y%n]))
			}
		}
	}
	if len(samples) < a.cfg.MinSamples {
		return out
	}
	count := float64(g.Counts[x%n])
	med := median(samples)
	for i, s := range samples {
		samples[i] = math.Abs(s - med)
	}
	mad := median(samples)
	scale := math.Max(1.4826*mad, math.Sqrt(math.Max(med, 1)))
	dev := count - med
	dir := int8(0)
	busy := -1.0
	if math.Abs(dev) > a.cfg.K*scale && math.Abs(dev) >= a.cfg.MinChange {
		dir = 1
		if dev < 0 {
			dir = -1
		} else if a.cfg.SurgeQuantile > 0 {
			busy = g.quantile(x, a.cfg.SurgeQuantile)
			if count <= busy {
				dir = 0
			}
		}
	}
	prev := g.Dir
	g.Dir = dir
	if dir == 0 && prev < 0 && count == 0 {
		// Silence lasts until events come back, though a quiet night's
		// zero is within its baseline: one finding, not one a day.
		g.Dir = prev
	}
	if dir == 0 || dir == prev {
		return out
	}
	start := time.Unix(x*3600, 0).UTC()
	f := a.finding(nil, start.Add(time.Hour))
	f.Org, f.Entities = org, g.Entities
	f.Ref = g.Shown + " @ " + start.Format("2006-01-02T15")
	lo, hi := math.Max(0, med-a.cfg.K*scale), med+a.cfg.K*scale
	what := "surge"
	if dir < 0 {
		what = "drop"
		if count == 0 {
			what = "silence"
		}
	}
	f.Details["source"] = g.Shown
	f.Details["direction"] = what
	f.Details["hour"] = start.Format(time.RFC3339)
	f.Details["count"] = strconv.FormatFloat(count, 'f', 0, 64)
	f.Details["median"] = strconv.FormatFloat(med, 'f', -1, 64)
	f.Details["mad"] = strconv.FormatFloat(mad, 'f', -1, 64)
	f.Details["baseline_hours"] = strconv.Itoa(len(samples))
	gate := ""
	if busy >= 0 {
		f.Details["busy_hour"] = strconv.FormatFloat(busy, 'f', -1, 64)
		gate = fmt.Sprintf(" It is also above the source's busiest hours at any time of the week in the ring (%g quantile: %s).",
			a.cfg.SurgeQuantile, strconv.FormatFloat(busy, 'f', -1, 64))
	}
	ratio := "no events in the baseline"
	switch {
	case count == 0:
		ratio = "none at all"
	case med > 0:
		ratio = fmt.Sprintf("%.1f times the median", count/med)
	}
	clock := "arrival"
	if a.cfg.UseEventTime {
		clock = "the senders' clocks"
	}
	f.Explanation = fmt.Sprintf("A %s: %s events from %s of organisation %s in the hour from %s (%s %s; counted by %s), %s. "+
		"Baseline: the same hour of the week ±%d h over the previous %d weeks, %d hours: median %s, MAD %s; "+
		"the expected range is %s–%s (median ± %g × %s, the larger of 1.4826 × MAD and √median).%s",
		what, thousands(count), g.Shown, org, start.Format("2006-01-02 15:04 UTC"), start.Weekday(), start.Format("15:04"), clock, ratio,
		a.cfg.Neighbours, a.cfg.Weeks, len(samples), strconv.FormatFloat(med, 'f', -1, 64), strconv.FormatFloat(mad, 'f', -1, 64),
		thousands(math.Ceil(lo)), thousands(math.Floor(hi)), a.cfg.K, strconv.FormatFloat(math.Round(scale*10)/10, 'f', -1, 64), gate)
	return append(out, f)
}

// quantile is the q-quantile (nearest rank) of the group's watched hours
// before x that the ring still holds.
func (g *volGroup) quantile(x int64, q float64) float64 {
	n := int64(len(g.Counts))
	var hs []float64
	for y := max(g.Since, x-n+1); y < x; y++ {
		hs = append(hs, float64(g.Counts[y%n]))
	}
	if len(hs) == 0 {
		return 0
	}
	slices.Sort(hs)
	i := int(math.Ceil(q*float64(len(hs)))) - 1
	return hs[max(0, min(i, len(hs)-1))]
}

func (d *volume) tick(a *analytic, now time.Time, out []Finding) []Finding {
	h := now.Unix() / 3600
	for _, org := range sortedKeys(d.orgs) {
		o := d.orgs[org]
		for _, k := range sortedKeys(o.Groups) {
			if g := o.Groups[k]; h > g.Cur {
				out = g.advance(a, org, h, out)
			}
		}
	}
	return out
}

func (d *volume) save(org string) any { return saveOrgs(d.orgs, org) }

func (d *volume) load(a *analytic, b []byte, only string) error {
	m, err := decodeOrgs[volOrg](b, only)
	if err != nil {
		return err
	}
	for org, o := range m {
		if o == nil || o.Groups == nil {
			return fmt.Errorf("organisation %q: no groups", org)
		}
		for k, g := range o.Groups {
			if g == nil || len(g.Counts) == 0 {
				return fmt.Errorf("organisation %q source %q: no counts", org, k)
			}
			if len(g.Counts) > (maxWeeks+1)*hoursPerWeek || g.Cur <= 0 || g.Since <= 0 || g.Last <= 0 || g.Dir < -1 || g.Dir > 1 {
				return fmt.Errorf("organisation %q source %q: hours or counts out of range", org, k)
			}
			g.fit(a)
		}
	}
	applyOrgs(&d.orgs, m, only)
	return nil
}

// fit makes a restored group's ring the length a's weeks need (the
// configuration may have changed since the snapshot), keeping the hours
// both hold.
func (g *volGroup) fit(a *analytic) {
	want := ringHours(a)
	old := int64(len(g.Counts))
	if old == want {
		return
	}
	c := make([]uint32, want)
	for x := g.Cur - min(old, want) + 1; x <= g.Cur; x++ {
		if x >= 0 {
			c[x%want] = g.Counts[x%old]
		}
	}
	g.Counts = c
}

// median of xs, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// thousands writes a whole number with thousands separators.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
