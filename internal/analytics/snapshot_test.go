package analytics

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// step is one thing that happens to an engine: an event or a tick.
type step func(e *Engine) []Finding

// mixedSteps is recorded activity for every shipped analytic: the OTRF
// lab's four months (first seen, rare, and their volumes), sign-ins for
// impossible travel and six weeks of an SSH server's volume with a surge
// and a silence.
func mixedSteps(t *testing.T) []step {
	var steps []step
	ev := func(ev events.Event) {
		steps = append(steps, func(e *Engine) []Finding { return e.Observe(&ev) })
	}
	lab := theshire(t)
	for _, x := range append(lab, forgedParent(t, lab)) {
		ev(x)
	}
	for i, p := range []place{london, leeds, sydney, london} {
		ev(entraSignIn(t, false, "s"+string(rune('0'+i)), "alice@rj1.nhs.test", p, t9.Add(time.Duration(i)*2*time.Hour)))
	}
	lines := readEvents(t, "linux/loghub/OpenSSH_2k.log", "RJ1")
	n := 0
	end := monday.Add(5*7*24*time.Hour + 3*24*time.Hour)
	for h := monday; h.Before(end.Add(24 * time.Hour)); h = h.Add(time.Hour) {
		if !h.Before(end) {
			at := h
			steps = append(steps, func(e *Engine) []Finding { return e.Tick(at) })
			continue
		}
		c := workingHours(h)
		if h.Equal(monday.Add(5*7*24*time.Hour + 34*time.Hour)) {
			c = 600
		}
		for i := range c {
			x := lines[n%len(lines)]
			n++
			x.ID = x.ID + "-" + string(rune(n))
			x.ReceivedAt = h.Add(time.Duration(i) * time.Hour / time.Duration(c))
			ev(x)
		}
	}
	return steps
}

// An engine restored from a snapshot taken halfway through finds exactly
// what one engine running throughout finds: learning periods, seen
// values, rolling counts, hourly baselines and last sign-ins all survive.
func TestSnapshotRoundTrip(t *testing.T) {
	steps := mixedSteps(t)
	run := func(e *Engine, steps []step) []string {
		var out []string
		for _, s := range steps {
			out = append(out, summaries(s(e))...)
		}
		return out
	}
	one, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := run(one, steps)
	if testing.Verbose() {
		t.Logf("findings:\n%s", strings.Join(want, "\n"))
	}
	kinds := map[string]bool{}
	for _, w := range want {
		kinds[strings.Fields(w)[0]] = true
	}
	for _, k := range []string{"windows-new-service-parent", "entra-impossible-travel", "volume-by-log-source", "volume-by-sender"} {
		if !kinds[k] {
			t.Errorf("the recorded activity raises no %s finding; the round trip would not test it (%d findings)", k, len(want))
		}
	}
	for _, cut := range []int{len(steps) / 3, len(steps) * 2 / 3} {
		first, _ := New(nil)
		got := run(first, steps[:cut])
		var snap bytes.Buffer
		if err := first.Snapshot(&snap); err != nil {
			t.Fatal(err)
		}
		second, _ := New(nil)
		if err := second.Restore(bytes.NewReader(snap.Bytes())); err != nil {
			t.Fatal(err)
		}
		got = append(got, run(second, steps[cut:])...)
		sameList(t, "findings across a restore", got, want)
		t.Logf("snapshot at step %d of %d: %d bytes", cut, len(steps), snap.Len())
	}
}

func TestRestoreRejects(t *testing.T) {
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want string }{
		{"", "not a snapshot"},
		{"{", "not a snapshot"},
		{`{"version":2,"analytics":{}}`, "snapshot version 2"},
		{`{"version":1,"analytics":{"entra-new-country":{"kind":"first_seen","state":{"RJ1":null}}}}`, "entra-new-country: organisation \"RJ1\""},
		{`{"version":1,"analytics":{"volume-by-sender":{"kind":"volume","state":{"RJ1":{"groups":{"x":{"counts":[]}}}}}}}`, "no counts"},
		{`{"version":1,"analytics":{"entra-impossible-travel":{"kind":"impossible_travel","state":[1]}}}`, "entra-impossible-travel"},
	} {
		err := e.Restore(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Restore(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
	// An analytic no longer configured, or of another kind, is skipped.
	if err := e.Restore(strings.NewReader(`{"version":1,"analytics":{"gone":{"kind":"rare","state":{}},"entra-new-country":{"kind":"rare","state":[]}}}`)); err != nil {
		t.Errorf("restore with a removed analytic: %v", err)
	}
}

// A snapshot restored under a changed configuration keeps what still
// applies: a volume source's recent hours survive fewer weeks of ring,
// and rare counts made in other buckets are dropped, not misread.
func TestRestoreChangedConfig(t *testing.T) {
	const vol = "analytics:\n  - {name: v, kind: volume, title: T, group: '@service', weeks: WEEKS}\n  - {name: r, kind: rare, title: T, key: k, value: v, window: WINDOW}\n"
	cfg := func(weeks, window string) string {
		return strings.NewReplacer("WEEKS", weeks, "WINDOW", window).Replace(vol)
	}
	first := engine(t, cfg("4", "7d"))
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for i := range 30 {
		first.Observe(&events.Event{ID: "e", Org: "RJ1", Service: "sshd", ReceivedAt: at.Add(time.Duration(i) * time.Minute), EventTime: at,
			Fields: map[string]any{"k": "a", "v": "b"}})
	}
	var snap bytes.Buffer
	if err := first.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	second := engine(t, cfg("2", "1d"))
	if err := second.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	g := second.byName["v"].det.(*volume).orgs["RJ1"].Groups["sshd"]
	if len(g.Counts) != 3*hoursPerWeek || g.Counts[g.Cur%int64(len(g.Counts))] != 30 {
		t.Errorf("volume ring %d hours, current hour %d events; want 504 and 30", len(g.Counts), g.Counts[g.Cur%int64(len(g.Counts))])
	}
	second.Observe(&events.Event{ID: "e", Org: "RJ1", EventTime: at.Add(time.Hour), ReceivedAt: at.Add(time.Hour), Fields: map[string]any{"k": "a", "v": "b"}})
	if o := second.byName["r"].det.(*rare).orgs["RJ1"]; o.Width != 3600 || o.Keys["a"].Values["b"].Count.sum(o.Keys["a"].Total.B) != 1 {
		t.Errorf("rare state after a change of window: %+v", o)
	}
}

// Saved and restored one organisation at a time (a key-value entry each),
// the state round-trips too, and restoring one organisation leaves the
// others alone.
func TestSnapshotOrgRoundTrip(t *testing.T) {
	steps := mixedSteps(t)
	run := func(e *Engine, steps []step) []string {
		var out []string
		for _, s := range steps {
			out = append(out, summaries(s(e))...)
		}
		return out
	}
	one, _ := New(nil)
	want := run(one, steps)
	cut := len(steps) / 2
	first, _ := New(nil)
	got := run(first, steps[:cut])
	// Another organisation's sign-in, held by the second engine only.
	other := entraSignIn(t, false, "z1", "zed@rjz.nhs.test", london, t9)
	other.Org = "RJZ"
	second, _ := New(nil)
	second.Observe(&other)
	if orgs := first.Orgs(); len(orgs) != 1 || orgs[0] != "RJ1" {
		t.Fatalf("orgs %v", orgs)
	}
	for _, org := range first.Orgs() {
		var b bytes.Buffer
		if err := first.SnapshotOrg(org, &b); err != nil {
			t.Fatal(err)
		}
		if err := second.Restore(bytes.NewReader(b.Bytes())); err == nil || !strings.Contains(err.Error(), "use RestoreOrg") {
			t.Errorf("Restore of one organisation's snapshot: %v", err)
		}
		if err := second.RestoreOrg("RJZ", bytes.NewReader(b.Bytes())); err == nil || !strings.Contains(err.Error(), "not RJZ") {
			t.Errorf("RestoreOrg of another organisation's snapshot: %v", err)
		}
		if err := second.RestoreOrg(org, &b); err != nil {
			t.Fatal(err)
		}
	}
	if orgs := second.Orgs(); strings.Join(orgs, ",") != "RJ1,RJZ" {
		t.Errorf("after restoring RJ1: orgs %v, want RJ1 and RJZ", orgs)
	}
	got = append(got, run(second, steps[cut:])...)
	sameList(t, "findings across a per-organisation restore", got, want)
	// RJZ's user is still known: Sydney an hour later is impossible.
	far := entraSignIn(t, false, "z2", "zed@rjz.nhs.test", sydney, t9.Add(time.Hour))
	far.Org = "RJZ"
	if fs := second.Observe(&far); len(fs) != 1 || fs[0].Org != "RJZ" {
		t.Errorf("RJZ after RJ1's restore: %v", summaries(fs))
	}
	var whole bytes.Buffer
	if err := second.Snapshot(&whole); err != nil {
		t.Fatal(err)
	}
	if err := second.RestoreOrg("RJ1", &whole); err == nil || !strings.Contains(err.Error(), "use Restore") {
		t.Errorf("RestoreOrg of a whole snapshot: %v", err)
	}
}
