package analytics

import (
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// rare counts, per organisation, key and value, the events of a rolling
// window in ringBuckets buckets (each a 24th of the window: a 7-day window
// counts in 7-hour buckets, so "in the last 7 days" is exact to 7 hours),
// and reports a value seen fewer than Threshold times in the window
// before the event, among at least MinKeyEvents events of its key — at
// most once per window for one key and value.
type rare struct {
	orgs map[string]*rareOrg
}

const ringBuckets = 24

// ring is a rolling count in ringBuckets buckets; B is the newest bucket
// written (bucket numbers are time / bucket width).
type ring struct {
	B int64               `json:"b"`
	C [ringBuckets]uint32 `json:"c"`
}

// add counts one event in bucket b; a bucket older than the ring holds is
// not counted.
func (r *ring) add(b int64) {
	if b > r.B {
		for x := r.B + 1; x <= b && x <= r.B+ringBuckets; x++ {
			r.C[mod(x)] = 0
		}
		r.B = b
	}
	if b > r.B-ringBuckets {
		r.C[mod(b)]++
	}
}

// sum is the count in the window ending with bucket b: buckets b-23 … b.
func (r *ring) sum(b int64) uint64 {
	var s uint64
	lo, hi := b-ringBuckets+1, b
	if hi > r.B {
		hi = r.B
	}
	if lo < r.B-ringBuckets+1 {
		lo = r.B - ringBuckets + 1
	}
	for x := lo; x <= hi; x++ {
		s += uint64(r.C[mod(x)])
	}
	return s
}

func mod(x int64) int {
	m := x % ringBuckets
	if m < 0 {
		m += ringBuckets
	}
	return int(m)
}

type rareOrg struct {
	// Width is the bucket width in seconds the counts were made with: a
	// restore under another window starts the organisation afresh.
	Width int64               `json:"width"`
	Since int64               `json:"since"`
	N     int                 `json:"n"`
	Keys  map[string]*rareKey `json:"keys"`
}

type rareKey struct {
	Last   int64               `json:"last"`
	Total  ring                `json:"total"`
	Values map[string]*rareVal `json:"values"`
}

type rareVal struct {
	Last    int64 `json:"last"`
	Alerted int64 `json:"alerted,omitempty"`
	Count   ring  `json:"count"`
}

func newRare() *rare { return &rare{orgs: map[string]*rareOrg{}} }

func (d *rare) observe(a *analytic, ev *events.Event, out []Finding) []Finding {
	kb, ok := a.keyOf(a.key, ev, a.kbuf)
	a.kbuf = kb
	if !ok {
		return out
	}
	vb, ok := a.keyOf(a.val, ev, a.vbuf)
	a.vbuf = vb
	if !ok {
		return out
	}
	t := ev.EventTime.Unix()
	width := int64(a.cfg.Window/time.Second) / ringBuckets
	b := t / width
	o := d.orgs[ev.Org]
	if o == nil || o.Width != width {
		o = &rareOrg{Width: width, Since: t, Keys: map[string]*rareKey{}}
		d.orgs[ev.Org] = o
	}
	// Since stays the first event's time even if an older one comes
	// later: one event with a wrong clock (1970) must not end the
	// learning period at once.
	k := o.Keys[string(kb)]
	if k == nil {
		k = &rareKey{Values: map[string]*rareVal{}, Total: ring{B: b}}
		o.Keys[string(kb)] = k
	}
	if t > k.Last {
		k.Last = t
	}
	v := k.Values[string(vb)]
	if v == nil {
		v = &rareVal{Count: ring{B: b}}
		k.Values[string(vb)] = v
		o.N++
		if len(k.Values) > a.cfg.MaxValues {
			before := len(k.Values)
			evict(k.Values, a.cfg.MaxValues, func(v *rareVal) int64 { return v.Last })
			o.N -= before - len(k.Values)
		}
		if o.N > a.cfg.MaxEntries {
			o.N = trimKeys(o.Keys, o.N, a.cfg.MaxEntries, func(k *rareKey) (int64, int) { return k.Last, len(k.Values) })
		}
	}
	if t > v.Last {
		v.Last = t
	}
	count, total := v.Count.sum(b), k.Total.sum(b)
	v.Count.add(b)
	k.Total.add(b)
	window := int64(a.cfg.Window / time.Second)
	if t < o.Since+window || total < uint64(a.cfg.MinKeyEvents) || count >= uint64(a.cfg.Threshold) ||
		v.Alerted != 0 && t-v.Alerted < window {
		return out
	}
	v.Alerted = t
	keyShown, valShown := shown(a.key, ev), shown(a.val, ev)
	f := a.finding(ev, ev.EventTime)
	f.Ref = keyShown + " → " + valShown + " @ " + strconv.FormatInt(t/window, 10)
	f.Details["key"], f.Details["value"] = keyShown, valShown
	f.Details["count"], f.Details["key_events"] = strconv.FormatUint(count, 10), strconv.FormatUint(total, 10)
	f.Details["window"] = a.cfg.Window.String()
	f.Explanation = fmt.Sprintf("%s is rare for %s: in the %s before %s it was seen %d time%s among %d events of that key (rare is fewer than %d; counted in %s buckets). Organisation %s has been watched since %s.",
		valShown, keyShown, windowText(a.cfg.Window), when(ev.EventTime), count, plural(int(count)), total, a.cfg.Threshold,
		time.Duration(width)*time.Second, ev.Org, when(time.Unix(o.Since, 0)))
	return append(out, f)
}

func (d *rare) tick(_ *analytic, _ time.Time, out []Finding) []Finding { return out }

func (d *rare) save(org string) any { return saveOrgs(d.orgs, org) }

func (d *rare) load(_ *analytic, b []byte, only string) error {
	m, err := decodeOrgs[rareOrg](b, only)
	if err != nil {
		return err
	}
	for org, o := range m {
		if o == nil || o.Keys == nil {
			return fmt.Errorf("organisation %q: no keys", org)
		}
		n := 0
		for k, v := range o.Keys {
			if v == nil || v.Values == nil {
				return fmt.Errorf("organisation %q key %q: no values", org, k)
			}
			for val, x := range v.Values {
				if x == nil {
					return fmt.Errorf("organisation %q key %q value %q: empty", org, k, val)
				}
			}
			n += len(v.Values)
		}
		o.N = n
	}
	applyOrgs(&d.orgs, m, only)
	return nil
}

// windowText says a duration in days when it is whole days.
func windowText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		days := int(d / (24 * time.Hour))
		return fmt.Sprintf("%d day%s", days, plural(days))
	}
	return d.String()
}
