package cases

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// events records what the service emits.
type events struct {
	mu   sync.Mutex
	list []Event
}

func (r *events) add(e Event) { r.mu.Lock(); r.list = append(r.list, e); r.mu.Unlock() }
func (r *events) kinds(kind string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.list {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func clockOf(t *testing.T, ks []Clock, k ClockKind) Clock {
	t.Helper()
	for _, x := range ks {
		if x.Clock == k {
			return x
		}
	}
	t.Fatalf("no %s clock in %+v", k, ks)
	return Clock{}
}

// SLA clocks start with the case, are met by its status, and one past due
// is breached by the ticker once, with a timeline entry, an audit entry in
// words and the escalation events notify relies on.
func TestSLAClocks(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &events{}
		e.svc.OnEvent(rec.add)
		c, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "Ransomware on ward PCs", Severity: Critical, Assignee: "carol@rj1.nhs.test"})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Clocks) != 3 {
			t.Fatalf("clocks = %+v, want ack, respond, resolve", c.Clocks)
		}
		for k, d := range map[ClockKind]time.Duration{ClockAck: 15 * time.Minute, ClockRespond: time.Hour, ClockResolve: 24 * time.Hour} {
			if got := clockOf(t, c.Clocks, k); !got.DueAt.Equal(t0.Add(d)) || got.State != ClockRunning || got.Source != "severity critical" {
				t.Errorf("%s = %+v, want running, due %s", k, got, t0.Add(d))
			}
		}
		e.clk.advance(10 * time.Minute)
		if _, err := e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseInProgress}); err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.CheckClocks(ctx); err != nil || n != 0 {
			t.Fatalf("check before due = %d, %v", n, err)
		}
		e.clk.advance(51 * time.Minute) // 61 min: respond is due
		n, err := e.svc.CheckClocks(ctx)
		if err != nil || n != 1 {
			t.Fatalf("check after due = %d, %v; want 1", n, err)
		}
		if n, _ := e.svc.CheckClocks(ctx); n != 0 {
			t.Fatalf("second check breached %d again", n)
		}
		ks, err := e.svc.Clocks(ctx, e.alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a := clockOf(t, ks, ClockAck); a.State != ClockMet || a.MetAt == nil || !a.MetAt.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("ack = %+v, want met at 10 min", a)
		}
		if r := clockOf(t, ks, ClockRespond); r.State != ClockBreached || r.BreachedAt == nil || r.MetAt != nil {
			t.Errorf("respond = %+v, want breached", r)
		}
		if r := clockOf(t, ks, ClockResolve); r.State != ClockRunning {
			t.Errorf("resolve = %+v, want running", r)
		}
		br, esc := rec.kinds("clock.breached"), rec.kinds("case.escalated")
		if len(br) != 1 || len(esc) != 1 {
			t.Fatalf("events: %d breached, %d escalated; want 1 and 1", len(br), len(esc))
		}
		due := t0.Add(time.Hour).Format(time.RFC3339)
		if b := br[0]; b.Case != c.ID || b.Org != "RJ1" || b.Detail["clock"] != "respond" || b.Detail["due"] != due || len(b.Users) != 1 || b.Users[0] != "carol@rj1.nhs.test" {
			t.Errorf("clock.breached = %+v", b)
		}
		if x := esc[0]; x.Detail["escalate_to"] != "Y56,ENG" || x.Detail["clock"] != "respond" || x.Case != c.ID {
			t.Errorf("case.escalated = %+v, want escalate_to Y56,ENG", x)
		}
		tl, err := e.svc.Timeline(ctx, e.alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, x := range tl {
			found = found || x.Kind == "clock.breached" && x.Title == "Respond clock breached (due 2026-11-02 10:00 UTC); escalated to Y56, ENG"
		}
		if !found {
			t.Errorf("no breach in the timeline: %+v", tl)
		}
		entries, _, err := e.audit.List(ctx, scope.System("test"), audit.Filter{Action: "case.clock.breach"})
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit entries = %d, %v", len(entries), err)
		}
		if got := audit.Describe(entries[0], nil); got != "Vigil (clocks) recorded that the respond clock of case "+c.ID+" was breached (due "+due+") and escalated it to Y56 and ENG" {
			t.Errorf("described as %q", got)
		}
		// Another trust cannot see the clocks.
		_, err = e.svc.Clocks(ctx, e.bob, c.ID)
		wantKind(t, err, fault.ErrNotFound)
	})
}

// A case that reaches a state after the clock's due time, before a tick,
// is breached and escalated as the clock is met; a severity change moves
// the running clocks.
func TestClockMetLateAndSeverityChange(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &events{}
		e.svc.OnEvent(rec.add)
		c, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "Phish", Severity: Low})
		if err != nil {
			t.Fatal(err)
		}
		if got := clockOf(t, c.Clocks, ClockAck); !got.DueAt.Equal(t0.Add(24 * time.Hour)) {
			t.Fatalf("low ack due %s", got.DueAt)
		}
		high := High
		if c, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Severity: &high}); err != nil {
			t.Fatal(err)
		}
		if got := clockOf(t, c.Clocks, ClockAck); !got.DueAt.Equal(t0.Add(time.Hour)) || got.Source != "severity high" {
			t.Fatalf("after high: ack %+v, want due in 1 h", got)
		}
		e.clk.advance(2 * time.Hour)
		if c, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseInProgress}); err != nil {
			t.Fatal(err)
		}
		if a := clockOf(t, c.Clocks, ClockAck); a.State != ClockBreached || a.MetAt == nil {
			t.Errorf("ack met late = %+v, want breached with met_at", a)
		}
		if len(rec.kinds("case.escalated")) != 1 {
			t.Errorf("escalations = %d, want 1", len(rec.kinds("case.escalated")))
		}
		// Info has no clocks: they are cancelled.
		info := Info
		if c, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Severity: &info}); err != nil {
			t.Fatal(err)
		}
		if r := clockOf(t, c.Clocks, ClockResolve); r.State != ClockCancelled {
			t.Errorf("resolve after info = %+v, want cancelled", r)
		}
	})
}

// Regulatory clocks: data-breach's aware_on starts the ICO's 72 hours;
// NIS is started explicitly; a report meets a clock; cancelling needs a
// reason; the escalation of an ICB's case goes to its region.
func TestRegulatoryClocks(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &events{}
		e.svc.OnEvent(rec.add)
		c, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Template: "data-breach", Fields: map[string]any{"aware_on": "2026-11-01"}})
		if err != nil {
			t.Fatal(err)
		}
		ico := clockOf(t, c.Clocks, ClockICO)
		if want := time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC); !ico.DueAt.Equal(want) || ico.Source != "field aware_on" || ico.State != ClockRunning {
			t.Fatalf("ico = %+v, want due %s", ico, want)
		}
		// A corrected date moves the running clock.
		if c, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Fields: map[string]any{"aware_on": "2026-11-02"}}); err != nil {
			t.Fatal(err)
		}
		if ico = clockOf(t, c.Clocks, ClockICO); !ico.DueAt.Equal(time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("moved ico = %+v", ico)
		}
		aware := t0.Add(-2 * time.Hour)
		ks, err := e.svc.ActOnClock(ctx, e.alice, c.ID, ClockAction{Clock: ClockNIS, Action: "start", At: &aware})
		if err != nil {
			t.Fatal(err)
		}
		if nis := clockOf(t, ks, ClockNIS); !nis.DueAt.Equal(aware.Add(72*time.Hour)) || nis.Source != "started by alice@rj1.nhs.test" {
			t.Fatalf("nis = %+v", nis)
		}
		if _, err := e.svc.ActOnClock(ctx, e.alice, c.ID, ClockAction{Clock: ClockAck, Action: "start"}); err == nil {
			t.Error("started an SLA clock by hand")
		} else {
			wantInvalid(t, err, "clock")
		}
		_, err = e.svc.ActOnClock(ctx, e.alice, c.ID, ClockAction{Clock: ClockICO, Action: "cancel"})
		wantInvalid(t, err, "note")
		_, err = e.svc.ActOnClock(ctx, e.audrey, c.ID, ClockAction{Clock: ClockNIS, Action: "reported"})
		wantKind(t, err, fault.ErrForbidden)
		_, err = e.svc.ActOnClock(ctx, e.bob, c.ID, ClockAction{Clock: ClockNIS, Action: "reported"})
		wantKind(t, err, fault.ErrNotFound)
		e.clk.advance(24 * time.Hour)
		if ks, err = e.svc.ActOnClock(ctx, e.alice, c.ID, ClockAction{Clock: ClockNIS, Action: "reported", Note: "NCSC ref 123"}); err != nil {
			t.Fatal(err)
		}
		if nis := clockOf(t, ks, ClockNIS); nis.State != ClockMet {
			t.Errorf("nis after report = %+v", nis)
		}
		_, err = e.svc.ActOnClock(ctx, e.alice, c.ID, ClockAction{Clock: ClockNIS, Action: "reported"})
		wantKind(t, err, fault.ErrConflict)
		// The ICO clock (due 5 Nov 00:00) breaches at the next tick after it.
		e.clk.advance(48 * time.Hour) // 5 Nov 09:00
		if _, err := e.svc.CheckClocks(ctx); err != nil {
			t.Fatal(err)
		}
		ks, _ = e.svc.Clocks(ctx, e.alice, c.ID)
		if ico := clockOf(t, ks, ClockICO); ico.State != ClockBreached {
			t.Errorf("ico = %+v, want breached", ico)
		}
		found := false
		for _, x := range rec.kinds("clock.breached") {
			found = found || x.Detail["clock"] == "ico" && x.Detail["due"] == "2026-11-05T00:00:00Z"
		}
		if !found {
			t.Errorf("no ico breach event: %+v", rec.kinds("clock.breached"))
		}
		// An ICB's case escalates to its region and the root.
		icb, err := e.svc.CreateCase(ctx, e.rex, NewCase{Org: "QKK", Title: "ICB outage", Severity: Critical})
		if err != nil {
			t.Fatal(err)
		}
		e.clk.advance(20 * time.Minute)
		if _, err := e.svc.CheckClocks(ctx); err != nil {
			t.Fatal(err)
		}
		for _, x := range rec.kinds("case.escalated") {
			if x.Case == icb.ID && x.Detail["escalate_to"] != "Y56,ENG" {
				t.Errorf("ICB escalation to %q", x.Detail["escalate_to"])
			}
		}
	})
}

// Many clocks due at once are breached in batches, each once.
func TestClockBatches(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const n = clockBatch + 30
		for i := range n {
			if _, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "Case " + string(rune('A'+i%26)), Severity: Critical}); err != nil {
				t.Fatal(err)
			}
		}
		e.clk.advance(20 * time.Minute)
		got, err := e.svc.CheckClocks(ctx)
		if err != nil || got != n {
			t.Fatalf("breached %d, %v; want %d (the ack clocks)", got, err, n)
		}
	})
}

func TestParseSLA(t *testing.T) {
	p, err := ParseSLA("critical=10m/30m/12h, low=0/0/0")
	if err != nil {
		t.Fatal(err)
	}
	if p[Critical] != (SLA{10 * time.Minute, 30 * time.Minute, 12 * time.Hour}) || p[Low] != (SLA{}) || p[High] != DefaultSLA()[High] {
		t.Errorf("policy = %+v", p)
	}
	for _, bad := range []string{"critical", "urgent=1m/1m/1m", "high=1m/1m", "high=1m/soon/1h", "high=-1m/1m/1m"} {
		if _, err := ParseSLA(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
