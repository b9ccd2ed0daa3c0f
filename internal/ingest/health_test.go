package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testclock"
)

var healthPaths = map[string]string{"ENG": "/ENG/", "RJ1": "/ENG/Y56/QKK/RJ1/", "RJZ": "/ENG/Y56/QKK/RJZ/"}

func pathsOf(_ context.Context, codes []string) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range codes {
		if p, ok := healthPaths[c]; ok {
			out[c] = p
		}
	}
	return out, nil
}

func newTestHealth(t *testing.T, clock *testclock.Clock, on func(context.Context, Silence) error) (*Health, *Metrics) {
	t.Helper()
	m := NewMetrics()
	h, err := NewHealth(HealthOptions{Metrics: m, Paths: pathsOf, Root: "ENG", Now: clock.Now, OnSilent: on})
	if err != nil {
		t.Fatal(err)
	}
	return h, m
}

// A sender that talks every minute learns a one-minute interval; quiet
// past max(4 × 1 min, 5 min) it is silent, raised once for that silence,
// and after it is heard again a new silence is raised afresh. A sender
// heard once has no usual interval and is never called silent.
func TestSilentSender(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := testclock.New(t0)
	var raised []Silence
	fail := false
	h, m := newTestHealth(t, clock, func(_ context.Context, s Silence) error {
		if fail {
			return errors.New("bus down")
		}
		raised = append(raised, s)
		return nil
	})
	ctx := context.Background()
	send := func(addr string) {
		m.accepted(ListenerRELP, clock.Now(), []acceptedEvent{{org: "RJ1", addr: addr, bytes: 10}, {org: "RJ1", addr: addr, bytes: 10}})
	}
	send("10.0.0.9") // heard once: never silent
	for i := 0; i < 4; i++ {
		send("10.0.0.5")
		// A burst within MinGap is one batch, not a gap.
		clock.Advance(200 * time.Millisecond)
		send("10.0.0.5")
		clock.Advance(time.Minute - 200*time.Millisecond)
	}
	last := t0.Add(3*time.Minute + 200*time.Millisecond)
	var seen Seen
	for _, s := range m.Senders() {
		if s.Addr == "10.0.0.5" {
			seen = s
		}
	}
	if seen.Gaps != 3 || seen.Interval < 59*time.Second || seen.Interval > 61*time.Second || !seen.LastSeen.Equal(last) {
		t.Fatalf("learnt %+v, want 3 gaps of about a minute, last seen %s", seen, last)
	}
	if th, ok := h.Silence().Threshold(seen); !ok || th != 5*time.Minute {
		t.Fatalf("threshold = %s %v, want the 5 min floor", th, ok)
	}
	clock.Set(last.Add(5 * time.Minute))
	h.Tick(ctx, clock.Now())
	if len(raised) != 0 {
		t.Fatalf("raised at exactly the threshold: %+v", raised)
	}
	// The publisher failing: tried again at the next tick.
	fail = true
	clock.Advance(10 * time.Second)
	h.Tick(ctx, clock.Now())
	fail = false
	clock.Advance(10 * time.Second)
	h.Tick(ctx, clock.Now())
	clock.Advance(10 * time.Minute)
	h.Tick(ctx, clock.Now())
	if len(raised) != 1 {
		t.Fatalf("raised %d silences, want 1: %+v", len(raised), raised)
	}
	s := raised[0]
	if s.Sender.Addr != "10.0.0.5" || s.Sender.Org != "RJ1" || !s.Since().Equal(last) || s.Threshold != 5*time.Minute {
		t.Errorf("silence = %+v", s)
	}
	first := s.Key()
	r, err := h.Report(ctx, scope.System("t"))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, x := range r.Senders {
		status[x.Addr] = x.Status
	}
	if status["10.0.0.5"] != SenderSilent || status["10.0.0.9"] != SenderLearning {
		t.Errorf("statuses = %v", status)
	}
	// Heard again, then silent again: a second, different silence.
	send("10.0.0.5")
	h.Tick(ctx, clock.Now())
	clock.Advance(time.Hour)
	h.Tick(ctx, clock.Now())
	if len(raised) != 2 || raised[1].Key() == first {
		t.Fatalf("after resuming and falling silent again: %+v", raised)
	}
	// A long silence changed the usual interval: 16 min now weighs in.
	if th := raised[1].Threshold; th <= 5*time.Minute {
		t.Errorf("threshold after a long gap = %s, want above the floor", th)
	}
}

func TestSilenceOptionsValidated(t *testing.T) {
	for _, o := range []SilenceOptions{{Factor: -1}, {Floor: -time.Second}, {MinGaps: -2}} {
		if _, err := NewHealth(HealthOptions{Metrics: NewMetrics(), Paths: pathsOf, Silence: o}); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := NewHealth(HealthOptions{Metrics: NewMetrics(), Paths: pathsOf, Every: time.Minute, Window: time.Second}); err == nil {
		t.Error("a window shorter than the sampling interval accepted")
	}
}

// Rates come from the ring of samples: per listener and organisation, and
// per organisation over every listener; a trust's reader sees only their
// trust's rows and senders, and not the process's figures.
func TestHealthReportRatesAndScope(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := testclock.New(t0)
	h, m := newTestHealth(t, clock, nil)
	ctx := context.Background()
	batch := func(listener, org, addr string, n, bad int) {
		acc := make([]acceptedEvent, n)
		for i := range acc {
			acc[i] = acceptedEvent{org: org, addr: addr, bytes: 100, parseError: i < bad}
		}
		m.accepted(listener, clock.Now(), acc)
	}
	batch(ListenerSyslogUDP, "RJ1", "10.1.0.1", 100, 0)
	h.Tick(ctx, clock.Now())
	// Over 15 minutes: RJ1 gets 900 more on UDP (90 unparsed) and 300 on
	// RELP; RJZ gets 1,800 on UDP, the last 600 in the last minute.
	for i := 0; i < 90; i++ {
		clock.Advance(10 * time.Second)
		batch(ListenerSyslogUDP, "RJ1", "10.1.0.1", 10, 1)
		if i%3 == 0 {
			batch(ListenerRELP, "RJ1", "10.1.0.2", 10, 0)
		}
		n := 10
		if i >= 84 {
			n = 100
		}
		batch(ListenerSyslogUDP, "RJZ", "10.2.0.1", n, 0)
		h.Tick(ctx, clock.Now())
	}
	r, err := h.Report(ctx, scope.System("t"))
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.01 {
			t.Errorf("%s = %.3f, want %.3f", what, got, want)
		}
	}
	rows := map[string]SourceRate{}
	for _, x := range r.Sources {
		rows[x.Listener+" "+x.Org] = x
	}
	udp := rows["syslog-udp RJ1"]
	if udp.Events != 1000 || udp.ParseErrors != 90 {
		t.Errorf("RJ1 udp row = %+v", udp)
	}
	near("RJ1 udp per second over 15 min", udp.PerSecondWindow, 900.0/900)
	near("RJ1 udp per second over the last minute", udp.PerSecond, 60.0/60)
	near("RJ1 udp parse-error share", udp.ParseErrorShare, 0.1)
	near("RJZ udp per second over the last minute", rows["syslog-udp RJZ"].PerSecond, 600.0/60)
	if len(r.Orgs) != 2 || r.Orgs[0].Org != "RJ1" || r.Orgs[0].Events != 1300 {
		t.Fatalf("org rows = %+v", r.Orgs)
	}
	near("RJ1 per second over 15 min", r.Orgs[0].PerSecondWindow, 1200.0/900)
	near("RJ1 parse-error share", r.Orgs[0].ParseErrorShare, 90.0/1200)
	if r.Process == nil || len(r.Senders) != 3 {
		t.Errorf("national report: process %+v, %d senders", r.Process, len(r.Senders))
	}

	trust := scope.Scope{UserID: "u", Grants: []scope.Grant{{Role: scope.OrgAnalyst, Org: "RJ1", Path: healthPaths["RJ1"]}}}
	r, err = h.Report(ctx, trust)
	if err != nil {
		t.Fatal(err)
	}
	if r.Process != nil {
		t.Errorf("a trust reader sees the process's figures: %+v", r.Process)
	}
	for _, x := range r.Sources {
		if x.Org != "RJ1" {
			t.Errorf("a trust reader sees %+v", x)
		}
	}
	for _, x := range r.Senders {
		if x.Org != "RJ1" {
			t.Errorf("a trust reader sees sender %+v", x)
		}
	}
	if len(r.Orgs) != 1 || len(r.Senders) != 2 {
		t.Errorf("trust report: %d org rows, %d senders", len(r.Orgs), len(r.Senders))
	}
	// Unknown organisations are national readers' only.
	batch(ListenerSyslogUDP, "NOPE", "10.9.0.1", 1, 0)
	if r, _ = h.Report(ctx, trust); len(r.Orgs) != 1 {
		t.Errorf("a trust reader sees an unknown organisation's rows: %+v", r.Orgs)
	}
}

// HTTP senders are keyed by their token's label, whatever address they
// post from.
func TestTokenSenders(t *testing.T) {
	m := NewMetrics()
	now := time.Now()
	m.accepted(ListenerHTTP, now, []acceptedEvent{{org: "RJ1", addr: "10.0.0.1", token: "winlogbeat dc01"}})
	m.accepted(ListenerHTTP, now.Add(time.Minute), []acceptedEvent{{org: "RJ1", addr: "10.0.0.2", token: "winlogbeat dc01"}})
	s := m.Senders()
	if len(s) != 1 || s[0].Addr != "10.0.0.2" || s[0].Events != 2 || s[0].Gaps != 1 || s[0].Name() != "http token winlogbeat dc01" {
		t.Fatalf("senders = %+v", s)
	}
	// Another trust's token of the same label is another sender: its
	// events neither join RJ1's row nor move it to RJZ.
	m.accepted(ListenerHTTP, now.Add(2*time.Minute), []acceptedEvent{{org: "RJZ", addr: "192.0.2.9", token: "winlogbeat dc01"}})
	s = m.Senders()
	if len(s) != 2 {
		t.Fatalf("two trusts' tokens of one label are %d senders: %+v", len(s), s)
	}
	for _, x := range s {
		if (x.Org == "RJ1") != (x.Addr == "10.0.0.2") || (x.Org == "RJ1" && x.Events != 2) || (x.Org == "RJZ" && x.Events != 1) {
			t.Errorf("sender %+v mixes the two trusts", x)
		}
	}
}

// benchHealth is a national-sized table: 500 organisations on 6
// listeners and 20,000 senders, with a full ring of samples.
func benchHealth(b *testing.B) (*Health, *testclock.Clock) {
	clock := testclock.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	m := NewMetrics()
	h, err := NewHealth(HealthOptions{Metrics: m, Root: "ENG", Now: clock.Now, Paths: func(_ context.Context, codes []string) (map[string]string, error) {
		out := make(map[string]string, len(codes))
		for _, c := range codes {
			out[c] = "/ENG/" + c + "/"
		}
		return out, nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	listeners := []string{ListenerSyslogUDP, ListenerSyslogTCP, ListenerSyslogTLS, ListenerRELP, ListenerHTTP, ListenerBulk}
	for i := 0; i < 20000; i++ {
		org := fmt.Sprintf("R%03d", i%500)
		m.accepted(listeners[i%6], clock.Now(), []acceptedEvent{{org: org, addr: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), bytes: 100}})
	}
	for i := 0; i < 91; i++ {
		h.Tick(context.Background(), clock.Now())
		clock.Advance(10 * time.Second)
	}
	return h, clock
}

func BenchmarkHealthTick(b *testing.B) {
	h, clock := benchHealth(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.Tick(context.Background(), clock.Now())
	}
}

func BenchmarkHealthReportNational(b *testing.B) {
	h, _ := benchHealth(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.Report(context.Background(), scope.System("b")); err != nil {
			b.Fatal(err)
		}
	}
}
