package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

// The ingest dashboard and the "log source silent" check (issue 16). A
// Health samples the listeners' Metrics every Every (10 s) and keeps the
// samples of the last Window (15 min) in a ring, so a Report can say how
// many events a second each listener took for each organisation over the
// last minute and the whole window, and what share of them no parser
// could read. It also knows every sender's usual interval between batches
// (Metrics learns it) and, at each sample, raises one Silence for a
// sender quiet for longer than its threshold (SilenceOptions). What a
// Silence becomes — an alert on the ALERTS stream — is the composition
// root's business (internal/app), so ingest needs no cases package.
//
// The figures are this process's: in a deployment of several servers each
// has its own listeners and counts (Prometheus sums them); a sender heard
// by one server is judged by that server alone.

// Defaults of HealthOptions and SilenceOptions.
const (
	DefaultHealthEvery    = 10 * time.Second
	DefaultHealthWindow   = 15 * time.Minute
	DefaultSilenceFactor  = 4.0
	DefaultSilenceFloor   = 5 * time.Minute
	DefaultSilenceMinGaps = 3
)

// SilenceOptions say when a sender is silent: quiet for longer than
// max(Factor × its usual interval, Floor), once it has shown its usual
// interval over at least MinGaps gaps. A sender heard fewer times (a test
// message, a one-off import) has no usual interval and is never called
// silent; nor is one whose address a full sender table forgot.
type SilenceOptions struct {
	// Factor multiplies the usual interval (default 4).
	Factor float64
	// Floor is the shortest silence reported (default 5 min), so a sender
	// that talks every second is not called silent after four.
	Floor time.Duration
	// MinGaps is how many gaps learn the usual interval (default 3).
	MinGaps int
	// Off turns the check off (the dashboard still shows thresholds).
	Off bool
}

func (o *SilenceOptions) defaults() error {
	switch {
	case o.Factor < 0:
		return fmt.Errorf("ingest: silence factor %g is negative", o.Factor)
	case o.Floor < 0:
		return fmt.Errorf("ingest: silence floor %s is negative", o.Floor)
	case o.MinGaps < 0:
		return fmt.Errorf("ingest: silence minimum gaps %d is negative", o.MinGaps)
	}
	if o.Factor == 0 {
		o.Factor = DefaultSilenceFactor
	}
	if o.Floor == 0 {
		o.Floor = DefaultSilenceFloor
	}
	if o.MinGaps == 0 {
		o.MinGaps = DefaultSilenceMinGaps
	}
	return nil
}

// Threshold is how long s may be quiet before it is silent, and false
// while its usual interval is still being learnt.
func (o SilenceOptions) Threshold(s Seen) (time.Duration, bool) {
	if s.Gaps < int64(o.MinGaps) {
		return 0, false
	}
	return max(time.Duration(o.Factor*float64(s.Interval)), o.Floor), true
}

// Silence is one sender gone quiet past its threshold.
type Silence struct {
	Sender Seen
	// Threshold is the quiet the sender was allowed.
	Threshold time.Duration
	// At is when the check found it.
	At time.Time
}

// Since is when the silence began: the sender's last batch.
func (s Silence) Since() time.Time { return s.Sender.LastSeen }

// Key identifies the silence — the sender and when it fell quiet — so a
// publisher can use it as a message ID: one silence, one alert.
func (s Silence) Key() string {
	return "ingest-silent/" + s.Sender.Name() + "/" + s.Sender.LastSeen.UTC().Format(time.RFC3339Nano)
}

// Lag is how far the event store's consumer is behind the stream.
type Lag struct {
	// Pending are messages on the stream it has not been given yet.
	Pending uint64 `json:"pending"`
	// AckPending are messages given to it and not yet stored.
	AckPending int `json:"ack_pending"`
}

// HealthOptions configure NewHealth.
type HealthOptions struct {
	// Metrics are the listeners' counters. Required.
	Metrics *Metrics
	// Publisher, when set, gives the in-flight figures.
	Publisher *Publisher
	// Lag, when set, reads the store consumer's lag.
	Lag func(ctx context.Context) (Lag, error)
	// Paths returns the materialised paths of organisations by code
	// (org.Service.Paths), to keep a Report within a caller's scope.
	// Required.
	Paths func(ctx context.Context, codes []string) (map[string]string, error)
	// Root is the national root's code: whoever reads it sees the
	// figures of the whole process (lag, in flight, losses).
	Root string
	// Every is the sampling interval (DefaultHealthEvery), Window how far
	// back samples are kept (DefaultHealthWindow).
	Every, Window time.Duration
	Silence       SilenceOptions
	// OnSilent is called once for each silence found (from the sampling
	// goroutine). An error is logged and the silence tried again at the
	// next sample.
	OnSilent func(ctx context.Context, s Silence) error
	Logger   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Health is the dashboard's memory: a ring of samples and the silences
// raised. Build it with NewHealth; Run samples until its context ends.
type Health struct {
	o HealthOptions

	mu      sync.Mutex
	samples []sample // oldest first, at most Window/Every+1
	// raised holds the silences reported, by sender, with the last-seen
	// time they were raised for: a sender heard again starts afresh.
	raised map[senderKey]time.Time
}

type sample struct {
	at     time.Time
	counts map[countKey]sampled
}

// sampled is what a sample keeps of one row: its key's strings are
// shared with Metrics' own, so a row costs about 80 bytes a sample.
type sampled struct{ Events, ParseErrors int64 }

// NewHealth checks o and returns a Health with no samples.
func NewHealth(o HealthOptions) (*Health, error) {
	switch {
	case o.Metrics == nil:
		return nil, errors.New("ingest: HealthOptions.Metrics is required")
	case o.Paths == nil:
		return nil, errors.New("ingest: HealthOptions.Paths is required")
	case o.Every < 0 || o.Window < 0:
		return nil, errors.New("ingest: health sampling interval and window must not be negative")
	}
	if o.Every == 0 {
		o.Every = DefaultHealthEvery
	}
	if o.Window == 0 {
		o.Window = DefaultHealthWindow
	}
	if o.Window < o.Every {
		return nil, fmt.Errorf("ingest: health window %s is shorter than its sampling interval %s", o.Window, o.Every)
	}
	if err := o.Silence.defaults(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Health{o: o, raised: map[senderKey]time.Time{}}, nil
}

// Run samples now and then every Every until ctx ends.
func (h *Health) Run(ctx context.Context) {
	t := time.NewTicker(h.o.Every)
	defer t.Stop()
	for {
		h.Tick(ctx, h.o.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick takes one sample at now and raises the silences due then (Run
// calls it; tests call it with their own clock).
func (h *Health) Tick(ctx context.Context, now time.Time) {
	counts, _ := h.o.Metrics.Snapshot()
	s := sample{at: now, counts: make(map[countKey]sampled, len(counts))}
	for _, c := range counts {
		s.counts[countKey{c.Listener, c.Org}] = sampled{c.Events, c.ParseErrors}
	}
	h.mu.Lock()
	h.samples = append(h.samples, s)
	// Keep one sample at or beyond the window's start.
	cut := 0
	for cut+1 < len(h.samples) && !h.samples[cut+1].at.After(now.Add(-h.o.Window)) {
		cut++
	}
	if cut > 0 {
		h.samples = append(h.samples[:0], h.samples[cut:]...)
	}
	h.mu.Unlock()
	if !h.o.Silence.Off {
		h.checkSilence(ctx, now)
	}
}

// checkSilence raises each sender newly silent at now.
func (h *Health) checkSilence(ctx context.Context, now time.Time) {
	senders := h.o.Metrics.senderList()
	for _, s := range senders {
		limit, ok := h.o.Silence.Threshold(s)
		if !ok || now.Sub(s.LastSeen) <= limit {
			continue
		}
		k := keyOf(s)
		h.mu.Lock()
		done := h.raised[k].Equal(s.LastSeen)
		h.mu.Unlock()
		if done {
			continue
		}
		si := Silence{Sender: s, Threshold: limit, At: now}
		if h.o.OnSilent != nil {
			if err := h.o.OnSilent(ctx, si); err != nil {
				h.o.Logger.Warn("ingest: raise a silent log source", "sender", s.Name(), "org", s.Org, "err", err)
				continue
			}
		}
		h.o.Logger.Warn("ingest: log source silent", "sender", s.Name(), "org", s.Org, "last_seen", s.LastSeen, "threshold", limit)
		h.mu.Lock()
		h.raised[k] = s.LastSeen
		h.mu.Unlock()
	}
	// A sender heard again after its silence: say so once, and forget it.
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.raised) == 0 {
		return
	}
	heard := make(map[senderKey]Seen, len(senders))
	for _, s := range senders {
		heard[keyOf(s)] = s
	}
	for k, last := range h.raised {
		s, ok := heard[k]
		if !ok {
			delete(h.raised, k) // forgotten by a full table
			continue
		}
		if s.LastSeen.After(last) {
			h.o.Logger.Info("ingest: log source heard again", "sender", s.Name(), "org", s.Org, "silent_for", s.LastSeen.Sub(last).Round(time.Second))
			delete(h.raised, k)
		}
	}
}

func keyOf(s Seen) senderKey {
	if s.Token != "" {
		return senderKey{s.Listener, tokenSender(s.Org, s.Token)}
	}
	return senderKey{s.Listener, s.Addr}
}

// Report is the ingest dashboard: what the caller may read of it.
type Report struct {
	// At is when the report was made; Window the span Rates cover.
	At     time.Time     `json:"at"`
	Window time.Duration `json:"window_ns"`
	// Sources are per listener and organisation, Orgs per organisation
	// over every listener.
	Sources []SourceRate   `json:"sources"`
	Orgs    []SourceRate   `json:"orgs"`
	Senders []SenderHealth `json:"senders"`
	// Process is the whole server's figures, for those who read the
	// national root; nil for everyone else.
	Process *ProcessHealth `json:"process,omitempty"`
	// Silence are the thresholds in force.
	Silence SilenceRule `json:"silence"`
}

// SilenceRule is SilenceOptions as a report states it.
type SilenceRule struct {
	Factor  float64       `json:"factor"`
	Floor   time.Duration `json:"floor_ns"`
	MinGaps int           `json:"min_gaps"`
	Off     bool          `json:"off,omitempty"`
}

// SourceRate is one row of the rates table: Listener is "" on a row for
// the whole organisation.
type SourceRate struct {
	Listener string `json:"listener,omitempty"`
	Org      string `json:"org"`
	// Events, ParseErrors and Bytes are counted since the server started.
	Events      int64 `json:"events"`
	ParseErrors int64 `json:"parse_errors"`
	Bytes       int64 `json:"bytes"`
	// PerSecond is events a second over the last minute, PerSecondWindow
	// over the window (each over as much of it as has been sampled).
	PerSecond       float64 `json:"per_second"`
	PerSecondWindow float64 `json:"per_second_window"`
	// ParseErrorShare is the fraction of the window's events that no
	// parser read (0 with no events).
	ParseErrorShare float64 `json:"parse_error_share"`
}

// Sender statuses.
const (
	SenderOK       = "ok"
	SenderLearning = "learning"
	SenderSilent   = "silent"
)

// SenderHealth is one sender's row.
type SenderHealth struct {
	Seen
	Name string `json:"name"`
	// Quiet is how long since its last batch.
	Quiet time.Duration `json:"quiet_ns"`
	// Threshold is its allowed quiet (0 while learning).
	Threshold time.Duration `json:"threshold_ns"`
	// Status is ok, learning (no usual interval yet) or silent.
	Status string `json:"status"`
}

// ProcessHealth is the server's own figures.
type ProcessHealth struct {
	InFlight      int64            `json:"in_flight"`
	InFlightLimit int64            `json:"in_flight_limit"`
	Duplicates    int64            `json:"duplicates"`
	Lost          map[string]int64 `json:"lost"`
	// Lag is the event store consumer's; nil when it could not be read
	// (LagError says why).
	Lag      *Lag   `json:"lag,omitempty"`
	LagError string `json:"lag_error,omitempty"`
}

// Report returns the dashboard at now with only the rows of
// organisations sc may read (scope.Read on the organisation's path):
// a trust's people see their trust's figures and senders, national
// readers everything. Rows of an organisation the tree does not know are
// national readers' only.
func (h *Health) Report(ctx context.Context, sc scope.Scope) (Report, error) {
	now := h.o.Now()
	counts, dup := h.o.Metrics.Snapshot()
	senders := h.o.Metrics.Senders()
	codes := []string{h.o.Root}
	for _, c := range counts {
		codes = append(codes, c.Org)
	}
	for _, s := range senders {
		codes = append(codes, s.Org)
	}
	paths, err := h.o.Paths(ctx, codes)
	if err != nil {
		return Report{}, fmt.Errorf("ingest: health: organisation paths: %w", err)
	}
	national := false
	if p, ok := paths[h.o.Root]; ok {
		national = sc.CanAt(scope.Read, p)
	}
	may := func(org string) bool {
		p, ok := paths[org]
		if !ok {
			return national
		}
		return sc.CanAt(scope.Read, p)
	}
	r := Report{At: now, Window: h.o.Window, Sources: []SourceRate{}, Orgs: []SourceRate{}, Senders: []SenderHealth{},
		Silence: SilenceRule{h.o.Silence.Factor, h.o.Silence.Floor, h.o.Silence.MinGaps, h.o.Silence.Off}}
	h.mu.Lock()
	minute, window := h.sampleAt(now.Add(-time.Minute)), h.sampleAt(now.Add(-h.o.Window))
	h.mu.Unlock()
	type orgSum struct {
		row              SourceRate
		dMin, dWin, dErr int64
	}
	orgs := map[string]*orgSum{}
	var orgCodes []string
	for _, c := range counts {
		if !may(c.Org) {
			continue
		}
		k := countKey{c.Listener, c.Org}
		row := SourceRate{Listener: c.Listener, Org: c.Org, Events: c.Events, ParseErrors: c.ParseErrors, Bytes: c.Bytes}
		o := orgs[c.Org]
		if o == nil {
			o = &orgSum{row: SourceRate{Org: c.Org}}
			orgs[c.Org] = o
			orgCodes = append(orgCodes, c.Org)
		}
		o.row.Events += c.Events
		o.row.ParseErrors += c.ParseErrors
		o.row.Bytes += c.Bytes
		if minute != nil {
			d := c.Events - minute.counts[k].Events
			row.PerSecond = rate(d, now.Sub(minute.at))
			o.dMin += d
		}
		if window != nil {
			d, e := c.Events-window.counts[k].Events, c.ParseErrors-window.counts[k].ParseErrors
			row.PerSecondWindow, row.ParseErrorShare = rate(d, now.Sub(window.at)), share(e, d)
			o.dWin += d
			o.dErr += e
		}
		r.Sources = append(r.Sources, row)
	}
	sort.Strings(orgCodes)
	for _, code := range orgCodes {
		o := orgs[code]
		if minute != nil {
			o.row.PerSecond = rate(o.dMin, now.Sub(minute.at))
		}
		if window != nil {
			o.row.PerSecondWindow, o.row.ParseErrorShare = rate(o.dWin, now.Sub(window.at)), share(o.dErr, o.dWin)
		}
		r.Orgs = append(r.Orgs, o.row)
	}
	for _, s := range senders {
		if !may(s.Org) {
			continue
		}
		row := SenderHealth{Seen: s, Name: s.Name(), Quiet: max(now.Sub(s.LastSeen), 0), Status: SenderOK}
		limit, ok := h.o.Silence.Threshold(s)
		switch {
		case !ok:
			row.Status = SenderLearning
		case row.Quiet > limit:
			row.Threshold, row.Status = limit, SenderSilent
		default:
			row.Threshold = limit
		}
		r.Senders = append(r.Senders, row)
	}
	if national {
		p := &ProcessHealth{Duplicates: dup, Lost: h.o.Metrics.Dropped()}
		if h.o.Publisher != nil {
			p.InFlight, p.InFlightLimit = h.o.Publisher.InFlight()
		}
		if h.o.Lag != nil {
			if l, err := h.o.Lag(ctx); err != nil {
				p.LagError = err.Error()
			} else {
				p.Lag = &l
			}
		}
		r.Process = p
	}
	return r, nil
}

// sampleAt returns the newest sample taken at or before t, or the oldest
// if all are later (the rates then cover what has been sampled), or nil
// with none. The caller holds h.mu.
func (h *Health) sampleAt(t time.Time) *sample {
	if len(h.samples) == 0 {
		return nil
	}
	i := sort.Search(len(h.samples), func(i int) bool { return h.samples[i].at.After(t) })
	if i == 0 {
		i = 1
	}
	s := h.samples[i-1]
	return &s
}

// rate is n events over d as events a second (0 over no time).
func rate(n int64, d time.Duration) float64 {
	if d <= 0 || n <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// share is part of whole as a fraction (0 of nothing).
func share(part, whole int64) float64 {
	if whole <= 0 || part <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// Silence returns the thresholds in force.
func (h *Health) Silence() SilenceOptions { return h.o.Silence }

// Statuses counts this process's senders by status at now (for
// Prometheus: no scope, the operator's view).
func (h *Health) Statuses() map[string]int {
	now := h.o.Now()
	out := map[string]int{SenderOK: 0, SenderLearning: 0, SenderSilent: 0}
	for _, s := range h.o.Metrics.senderList() {
		limit, ok := h.o.Silence.Threshold(s)
		switch {
		case !ok:
			out[SenderLearning]++
		case now.Sub(s.LastSeen) > limit:
			out[SenderSilent]++
		default:
			out[SenderOK]++
		}
	}
	return out
}
