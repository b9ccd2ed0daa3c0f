package ingest

import (
	"sort"
	"sync"
	"time"
)

// maxSenders bounds the last-seen table: past it the sender seen longest
// ago is forgotten, so a scan from random source addresses (UDP is
// spoofable) cannot grow memory without limit.
const maxSenders = 20000

// Metrics counts what the listeners accept, per listener and
// organisation, and when each sender was last heard. It is a plain
// in-memory table for the ingest dashboard and the "log source silent"
// check to read (Snapshot, Senders); exporting it to Prometheus is a
// wrapper over those. The zero value is not usable: use NewMetrics.
type Metrics struct {
	mu         sync.Mutex
	counts     map[countKey]*Counts
	senders    map[senderKey]*Seen
	duplicates int64
	dropped    map[string]int64
	flows      map[string]*FlowCounts
}

type countKey struct{ listener, org string }

// senderKey names a sender: a listener and the sending host, or for the
// HTTP endpoints the ingest token's label (a shipper behind NAT or a
// load balancer posts from changing addresses but with one token).
type senderKey struct{ listener, addr string }

// Counts are one listener's figures for one organisation.
type Counts struct {
	Listener string `json:"listener"`
	Org      string `json:"org"`
	// Events accepted (published durably), of which ParseErrors were
	// kept raw because no parser could read them.
	Events      int64 `json:"events"`
	ParseErrors int64 `json:"parse_errors"`
	// Bytes of raw message accepted.
	Bytes int64 `json:"bytes"`
}

// Seen is one sender as a listener last saw it.
type Seen struct {
	Listener string `json:"listener"`
	// Addr is the sending host (the last one, for a token's sender).
	Addr string `json:"addr"`
	// Token is the ingest token's label for the HTTP endpoints' senders,
	// which are keyed by it; "" for the syslog listeners.
	Token    string    `json:"token,omitempty"`
	Org      string    `json:"org"`
	LastSeen time.Time `json:"last_seen"`
	Events   int64     `json:"events"`
	// Interval is the sender's usual gap between batches: an
	// exponentially weighted mean of the gaps of at least MinGap, learnt
	// from Gaps of them (0 until the first).
	Interval time.Duration `json:"interval_ns"`
	Gaps     int64         `json:"gaps"`
}

// Name is how people know the sender: "relp 10.0.0.5" or "http token
// winlogbeat on dc01".
func (s Seen) Name() string {
	if s.Token != "" {
		return s.Listener + " token " + s.Token
	}
	return s.Listener + " " + s.Addr
}

// MinGap is the shortest quiet spell that counts as a gap between a
// sender's batches when learning its usual interval: messages closer
// together are one burst.
const MinGap = time.Second

// gapWeight is the weight of the newest gap in the mean: about the last
// eight gaps matter.
const gapWeight = 0.25

// learnGap folds the quiet spell before now into s's usual interval.
func (s *Seen) learnGap(now time.Time) {
	if s.LastSeen.IsZero() {
		return
	}
	gap := now.Sub(s.LastSeen)
	if gap < MinGap {
		return
	}
	if s.Gaps == 0 {
		s.Interval = gap
	} else {
		s.Interval += time.Duration(gapWeight * float64(gap-s.Interval))
	}
	s.Gaps++
}

// NewMetrics returns an empty table.
func NewMetrics() *Metrics {
	return &Metrics{counts: map[countKey]*Counts{}, senders: map[senderKey]*Seen{}, dropped: map[string]int64{}, flows: map[string]*FlowCounts{}}
}

// accepted records a batch the listener published: one lock for the
// batch, not one per event.
func (m *Metrics) accepted(listener string, now time.Time, evs []acceptedEvent) {
	if m == nil || len(evs) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var c *Counts
	var s *Seen
	var sk senderKey
	for _, e := range evs {
		if c == nil || c.Org != e.org {
			k := countKey{listener, e.org}
			if c = m.counts[k]; c == nil {
				c = &Counts{Listener: listener, Org: e.org}
				m.counts[k] = c
			}
		}
		c.Events++
		c.Bytes += int64(e.bytes)
		if e.parseError {
			c.ParseErrors++
		}
		if e.addr == "" && e.token == "" {
			continue
		}
		k := senderKey{listener, e.addr}
		if e.token != "" {
			k.addr = tokenSender(e.org, e.token)
		}
		if s == nil || sk != k {
			sk = k
			if s = m.senders[k]; s == nil {
				if len(m.senders) >= maxSenders {
					m.forgetOldest()
				}
				s = &Seen{Listener: listener, Addr: e.addr, Token: e.token}
				m.senders[k] = s
			}
		}
		if !s.LastSeen.Equal(now) {
			s.learnGap(now)
		}
		s.Addr, s.Org = e.addr, e.org
		s.LastSeen = now
		s.Events++
	}
}

// tokenSender is the key of an HTTP sender: its token's label within its
// organisation, since two organisations may well both name a token
// "winlogbeat" — keyed by the label alone they were one sender, whose
// organisation and address flipped to whichever posted last.
func tokenSender(org, label string) string { return "token:" + org + ":" + label }

func (m *Metrics) forgetOldest() {
	var oldest senderKey
	var at time.Time
	first := true
	for k, s := range m.senders {
		if first || s.LastSeen.Before(at) {
			oldest, at, first = k, s.LastSeen, false
		}
	}
	delete(m.senders, oldest)
}

// acceptedEvent is what Metrics needs of one event.
type acceptedEvent struct {
	// addr is the sender's host (no port: a sender reconnects from a new
	// one), "" for transports without one.
	org, addr string
	// token is the ingest token's label (HTTP endpoints only).
	token      string
	bytes      int
	parseError bool
}

func (m *Metrics) duplicate(n int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.duplicates += int64(n)
	m.mu.Unlock()
}

// drop counts messages a listener could not accept (UDP with the
// publisher failing, a refused HTTP line is not a drop: its sender is
// told).
func (m *Metrics) drop(listener string, n int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.dropped[listener] += int64(n)
	m.mu.Unlock()
}

// Snapshot returns the counts per listener and organisation, sorted, and
// the number of events JetStream dropped as duplicates (resent events).
func (m *Metrics) Snapshot() (counts []Counts, duplicates int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.counts {
		counts = append(counts, *c)
	}
	sort.Slice(counts, func(i, j int) bool {
		if counts[i].Listener != counts[j].Listener {
			return counts[i].Listener < counts[j].Listener
		}
		return counts[i].Org < counts[j].Org
	})
	return counts, m.duplicates
}

// Dropped returns, per listener, messages received but lost (a UDP
// datagram whose publish failed: UDP has no way to tell the sender).
func (m *Metrics) Dropped() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.dropped))
	for k, v := range m.dropped {
		out[k] = v
	}
	return out
}

// Senders returns the last-seen table, most recently seen first.
func (m *Metrics) Senders() []Seen {
	out := m.senderList()
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		switch {
		case !a.LastSeen.Equal(b.LastSeen):
			return a.LastSeen.After(b.LastSeen)
		case a.Listener != b.Listener:
			return a.Listener < b.Listener
		case a.Token != b.Token:
			return a.Token < b.Token
		}
		return a.Addr < b.Addr
	})
	return out
}

// senderList is the last-seen table in no order.
func (m *Metrics) senderList() []Seen {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Seen, 0, len(m.senders))
	for _, s := range m.senders {
		out = append(out, *s)
	}
	return out
}

// FlowCounts are a flow listener's figures beside its events (each flow
// is an event, counted in Snapshot).
type FlowCounts struct {
	Listener string `json:"listener"`
	// Datagrams read, of which Malformed could not be read whole (their
	// flows before the damage are kept; one with none becomes an event
	// with a parse error).
	Datagrams int64 `json:"datagrams"`
	Malformed int64 `json:"malformed"`
	// Flows decoded.
	Flows int64 `json:"flows"`
	// NoTemplate counts data sets dropped because their template was not
	// known (yet): after Vigil or the exporter restarts, until the
	// exporter resends its templates.
	NoTemplate      int64 `json:"no_template_sets"`
	NoTemplateBytes int64 `json:"no_template_bytes"`
	// Templates learnt (refreshes included), withdrawn, and rejected
	// (too many fields, or malformed).
	Templates int64 `json:"templates"`
	Withdrawn int64 `json:"templates_withdrawn"`
	Rejected  int64 `json:"templates_rejected"`
	// Options counts options data records read (not flows).
	Options int64 `json:"options_records"`
}

// flowDatagram counts one datagram a flow listener decoded.
func (m *Metrics) flowDatagram(listener string, flows int, st DecodeStats, bad bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.flows[listener]
	if c == nil {
		c = &FlowCounts{Listener: listener}
		m.flows[listener] = c
	}
	c.Datagrams++
	if bad {
		c.Malformed++
	}
	c.Flows += int64(flows)
	c.NoTemplate += int64(st.NoTemplate)
	c.NoTemplateBytes += int64(st.NoTemplateBytes)
	c.Templates += int64(st.Templates)
	c.Withdrawn += int64(st.Withdrawn)
	c.Rejected += int64(st.Rejected)
	c.Options += int64(st.Options)
}

// Flows returns each flow listener's counts, sorted by listener.
func (m *Metrics) Flows() []FlowCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]FlowCounts, 0, len(m.flows))
	for _, c := range m.flows {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Listener < out[j].Listener })
	return out
}
