package analytics

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// firstSeen remembers, per organisation and key, every value seen (up to
// the bounds), and reports a value never seen before for its key once the
// organisation's learning period is over. Times are the events' own, so a
// replay of recorded events learns and alerts as the live stream did.
type firstSeen struct {
	orgs map[string]*fsOrg
}

// fsOrg is one organisation's state. Times are Unix seconds.
type fsOrg struct {
	Since int64             `json:"since"` // the first matching event
	N     int               `json:"n"`     // keys and values held
	Keys  map[string]*fsKey `json:"keys"`
}

type fsKey struct {
	First  int64            `json:"first"`
	Last   int64            `json:"last"`
	Values map[string]int64 `json:"values"` // value → last seen
}

func newFirstSeen() *firstSeen { return &firstSeen{orgs: map[string]*fsOrg{}} }

func (d *firstSeen) observe(a *analytic, ev *events.Event, out []Finding) []Finding {
	kb, ok := a.keyOf(a.key, ev, a.kbuf)
	a.kbuf = kb
	if !ok {
		return out
	}
	quiet := len(a.quiet.fields) > 0 && a.quiet.match(ev)
	vb, ok := a.keyOf(a.val, ev, a.vbuf)
	a.vbuf = vb
	if !ok && !quiet {
		return out
	}
	t := ev.EventTime.Unix()
	o := d.orgs[ev.Org]
	if o == nil {
		o = &fsOrg{Since: t, Keys: map[string]*fsKey{}}
		d.orgs[ev.Org] = o
	}
	// Since stays the first event's time even if an older one comes
	// later: one event with a wrong clock (1970) must not end the
	// learning period at once.
	k := o.Keys[string(kb)]
	newKey := k == nil
	if newKey {
		k = &fsKey{First: t, Last: t, Values: map[string]int64{}}
		o.Keys[string(kb)] = k
		o.N++ // a key is an entry too, so keys without values are bounded
		if o.N > a.cfg.MaxEntries {
			o.N = trimKeys(o.Keys, o.N, a.cfg.MaxEntries, fsKeyStat)
			if o.Keys[string(kb)] != k {
				return out // an old event's key, the least recent: dropped at once
			}
		}
	}
	if t > k.Last {
		k.Last = t
	}
	if quiet {
		return out
	}
	if last, seen := k.Values[string(vb)]; seen {
		// Last seen is kept to the hour, for the eviction order: a
		// write per event would cost an allocation each.
		if t > last+3600 {
			k.Values[string(vb)] = t
		}
		return out
	}
	val := string(vb)
	known := len(k.Values)
	k.Values[val] = t
	o.N++
	if len(k.Values) > a.cfg.MaxValues {
		before := len(k.Values)
		evict(k.Values, a.cfg.MaxValues, func(v int64) int64 { return v })
		o.N -= before - len(k.Values)
	}
	if o.N > a.cfg.MaxEntries {
		o.N = trimKeys(o.Keys, o.N, a.cfg.MaxEntries, fsKeyStat)
	}
	learnUntil := o.Since + int64(a.cfg.Learning/time.Second)
	if t < learnUntil || newKey && !a.cfg.AlertNewKeys {
		return out
	}
	keyShown, valShown := shown(a.key, ev), shown(a.val, ev)
	f := a.finding(ev, ev.EventTime)
	f.Ref = keyShown + " → " + valShown
	f.Details["key"], f.Details["value"] = keyShown, valShown
	f.Details["known_values"] = strconv.Itoa(known)
	f.Details["watching_since"] = when(time.Unix(o.Since, 0))
	var b strings.Builder
	fmt.Fprintf(&b, "%s was seen for %s for the first time at %s.", valShown, keyShown, when(ev.EventTime))
	fmt.Fprintf(&b, " Organisation %s has been watched since %s (learning until %s);", ev.Org, when(time.Unix(o.Since, 0)), when(time.Unix(learnUntil, 0)))
	if newKey {
		b.WriteString(" the key itself is new.")
	} else {
		f.Details["key_first_seen"] = when(time.Unix(k.First, 0))
		fmt.Fprintf(&b, " the key was first seen at %s", when(time.Unix(k.First, 0)))
		if known == 0 {
			b.WriteString(" in quiet events only (which make a key known without values); this is its first value.")
		} else {
			fmt.Fprintf(&b, " and had %d known value%s", known, plural(known))
			if ex := examples(k.Values, val, 3); len(ex) > 0 {
				fmt.Fprintf(&b, ", most recently %s", strings.Join(ex, ", "))
			}
			b.WriteString(".")
		}
	}
	f.Explanation = b.String()
	return append(out, f)
}

// fsKeyStat is a key's last sighting and the entries it holds (itself
// and its values).
func fsKeyStat(k *fsKey) (int64, int) { return k.Last, len(k.Values) + 1 }

func (d *firstSeen) tick(_ *analytic, _ time.Time, out []Finding) []Finding { return out }

func (d *firstSeen) save(org string) any { return saveOrgs(d.orgs, org) }

func (d *firstSeen) load(_ *analytic, b []byte, only string) error {
	m, err := decodeOrgs[fsOrg](b, only)
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
			n += len(v.Values) + 1
		}
		o.N = n
	}
	applyOrgs(&d.orgs, m, only)
	return nil
}

// examples returns up to n of the most recently seen values other than
// skip, newest first.
func examples(vals map[string]int64, skip string, n int) []string {
	type tv struct {
		v string
		t int64
	}
	all := make([]tv, 0, len(vals))
	for v, t := range vals {
		if v != skip {
			all = append(all, tv{v, t})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t > all[j].t || all[i].t == all[j].t && all[i].v < all[j].v })
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].v)
	}
	return out
}

// trimKeys drops the least recently seen keys of m until the values they
// hold, n in all, are at most seven eighths of max; it returns the new n.
func trimKeys[K any](m map[string]K, n, max int, stat func(K) (last int64, size int)) int {
	type kl struct {
		k    string
		last int64
	}
	all := make([]kl, 0, len(m))
	for k, v := range m {
		last, _ := stat(v)
		all = append(all, kl{k, last})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].last < all[j].last })
	target := max - max/8
	for _, x := range all {
		if n <= target || len(m) == 1 {
			break
		}
		_, size := stat(m[x.k])
		delete(m, x.k)
		n -= size
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
