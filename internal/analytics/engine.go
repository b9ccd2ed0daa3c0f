package analytics

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// Finding is what an analytic reports: which analytic, about which
// organisation, how serious, why (Explanation, which names the figures a
// person can check against the events), about whom (Entities), from which
// events and when.
type Finding struct {
	Analytic string `json:"analytic"`
	Kind     string `json:"kind"`
	Org      string `json:"org"`
	Title    string `json:"title"`
	// Level is one of the alerts inbox's severities: info, low, medium,
	// high, critical.
	Level       string `json:"level"`
	Explanation string `json:"explanation"`
	// About is the analytic's description: what it looks for and why.
	About    string   `json:"about,omitempty"`
	Entities Entities `json:"entities"`
	// Details are the figures behind the explanation (key, value, counts,
	// baseline median, distance…), by lower-case name.
	Details map[string]string `json:"details,omitempty"`
	// EventIDs are the events that triggered it (none for an hour of
	// silence).
	EventIDs []string  `json:"event_ids,omitempty"`
	Time     time.Time `json:"time"`
	// Ref identifies what the finding is about within its analytic and
	// organisation (a key and value, a source and hour, a sign-in): the
	// same thing found twice has the same Ref.
	Ref string `json:"ref"`
}

// Entities are who and what a finding is about, "" where unknown.
type Entities struct {
	User    string `json:"user,omitempty"`
	Host    string `json:"host,omitempty"`
	IP      string `json:"ip,omitempty"`
	Country string `json:"country,omitempty"`
}

var entityNames = []string{"user", "host", "ip", "country"}

// ID is a stable identifier of the finding (of its analytic, organisation
// and Ref): a publisher can use it as the message ID, so that a finding
// made again after a restart is not stored twice.
func (f Finding) ID() string {
	h := sha256.Sum256([]byte(f.Analytic + "\x00" + f.Org + "\x00" + f.Ref))
	return hex.EncodeToString(h[:16])
}

// Engine runs a configuration's analytics over events. Observe reads one
// event; Tick tells it the time, so that a silent source's empty hours are
// judged too; Snapshot and Restore save and reload what it has learnt.
// An Engine is safe for concurrent use (one mutex: Observe costs well
// under a microsecond, so a consumer goroutine never waits long).
type Engine struct {
	mu        sync.Mutex
	analytics []*analytic
	byName    map[string]*analytic
}

// analytic is one compiled Analytic with its state.
type analytic struct {
	cfg      Analytic
	filter   filter
	key, val []fieldRef
	entities [4]*fieldRef // user, host, ip, country
	travel   *travelRefs  // impossible_travel's fields
	quiet    filter       // first_seen's quiet conditions (fields only)
	det      detector
	// kbuf and vbuf are scratch space for keys and values (Observe
	// holds the engine's lock).
	kbuf, vbuf []byte
}

// newDetector returns a's kind of state, empty.
func newDetector(a *analytic) detector {
	switch a.cfg.Kind {
	case KindFirstSeen:
		return newFirstSeen()
	case KindRare:
		return newRare()
	case KindVolume:
		return newVolume()
	}
	return newTravel()
}

// detector is one kind of analytic's state and logic.
type detector interface {
	observe(a *analytic, ev *events.Event, out []Finding) []Finding
	tick(a *analytic, now time.Time, out []Finding) []Finding
	// save returns the state to snapshot, every organisation's (org "")
	// or one's; load replaces it from one, all of it or only org's.
	save(org string) any
	load(a *analytic, data []byte, org string) error
}

// New builds an Engine for cfg (DefaultConfig when nil); disabled
// analytics are left out.
func New(cfg *Config) (*Engine, error) {
	if cfg == nil {
		var err error
		if cfg, err = DefaultConfig(); err != nil {
			return nil, err
		}
	}
	e := &Engine{byName: map[string]*analytic{}}
	for _, ac := range cfg.Analytics {
		if ac.Disabled {
			continue
		}
		a := &analytic{cfg: ac, filter: cfg.compileFilter(ac.Where), quiet: cfg.compileFilter(Filter{Fields: ac.Quiet})}
		for _, k := range ac.Key {
			a.key = append(a.key, cfg.ref(k))
		}
		for _, k := range ac.Value {
			a.val = append(a.val, cfg.ref(k))
		}
		for i, name := range entityNames {
			src := ac.Entities[name]
			if src == "" {
				// A volume's source spans many events: only entities
				// named for it (the sender's @host) describe it.
				if _, ok := cfg.Fields[name]; !ok || ac.Kind == KindVolume {
					continue
				}
				src = name
			}
			r := cfg.ref(src)
			a.entities[i] = &r
		}
		switch ac.Kind {
		case KindFirstSeen, KindRare, KindTravel:
		case KindVolume:
			for _, k := range ac.Group {
				a.key = append(a.key, cfg.ref(k))
			}
		default:
			return nil, &ConfigError{File: cfg.File, Line: ac.Line, Msg: fmt.Sprintf("analytic %s: kind %q is unknown", ac.Name, ac.Kind)}
		}
		if ac.Kind == KindTravel {
			a.travel = &travelRefs{}
			for _, p := range []struct {
				dst  *fieldRef
				name string
			}{{&a.travel.user, ac.User}, {&a.travel.lat, ac.Latitude}, {&a.travel.lon, ac.Longitude}, {&a.travel.city, ac.City}, {&a.travel.country, ac.Country}, {&a.travel.ip, ac.IP}} {
				if p.name != "" {
					*p.dst = cfg.ref(p.name)
				}
			}
		}
		a.det = newDetector(a)
		e.analytics = append(e.analytics, a)
		e.byName[ac.Name] = a
	}
	return e, nil
}

// Analytics returns the names of the analytics the engine runs.
func (e *Engine) Analytics() []string {
	out := make([]string, len(e.analytics))
	for i, a := range e.analytics {
		out[i] = a.cfg.Name
	}
	return out
}

// Observe runs ev through every analytic whose filter it passes and
// returns what they found (usually nothing). Events without an
// organisation are ignored: every baseline belongs to one. An event that
// could not be parsed counts only towards volumes (a sender's junk is
// still its volume).
func (e *Engine) Observe(ev *events.Event) []Finding {
	if ev == nil || ev.Org == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Finding
	for _, a := range e.analytics {
		if ev.ParseError != "" && a.cfg.Kind != KindVolume {
			continue
		}
		if a.filter.match(ev) {
			out = a.det.observe(a, ev, out)
		}
	}
	return out
}

// Tick tells the engine the time is now: volume analytics judge every
// hour that has ended since their last event, so a source that fell
// silent is reported. Call it every minute or so.
func (e *Engine) Tick(now time.Time) []Finding {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Finding
	for _, a := range e.analytics {
		out = a.det.tick(a, now, out)
	}
	return out
}

// keyOf returns the values of refs joined by U+001F into buf (folded to
// lower case unless the analytic is case-sensitive), for a map lookup
// that does not allocate (m[string(b)]); ok is false when any is missing.
func (a *analytic) keyOf(refs []fieldRef, ev *events.Event, buf []byte) (b []byte, ok bool) {
	b = buf[:0]
	for i := range refs {
		t := refs[i].text(ev)
		if t == "" {
			return b, false
		}
		if i > 0 {
			b = append(b, 0x1f)
		}
		if a.cfg.CaseSensitive {
			b = append(b, t...)
		} else {
			b = appendLower(b, t)
		}
	}
	return b, true
}

// shown is refs' values as people read them: "Image=C:\…\svchost.exe".
func shown(refs []fieldRef, ev *events.Event) string {
	var s strings.Builder
	for i := range refs {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(refs[i].name + "=" + refs[i].text(ev))
	}
	return s.String()
}

// finding starts a finding of a from ev (nil for none).
func (a *analytic) finding(ev *events.Event, at time.Time) Finding {
	f := Finding{Analytic: a.cfg.Name, Kind: a.cfg.Kind, Title: a.cfg.Title, Level: a.cfg.Level, About: strings.TrimSpace(a.cfg.Description),
		Time: at.UTC(), Details: map[string]string{}}
	if ev != nil {
		f.Org = ev.Org
		f.EventIDs = []string{ev.ID}
		f.Entities = a.entitiesOf(ev)
	}
	return f
}

// entitiesOf reads the entities a names from ev.
func (a *analytic) entitiesOf(ev *events.Event) Entities {
	var e Entities
	for i, dst := range []*string{&e.User, &e.Host, &e.IP, &e.Country} {
		if r := a.entities[i]; r != nil {
			*dst = r.text(ev)
		}
	}
	return e
}

// evict drops the least recently seen entries of m, an eighth of max at a
// time, once it holds more than max: a capped map with approximate LRU
// order whose eviction costs O(log n) per insertion, amortised.
func evict[V any](m map[string]V, max int, last func(V) int64) {
	if len(m) <= max {
		return
	}
	ts := make([]int64, 0, len(m))
	for _, v := range m {
		ts = append(ts, last(v))
	}
	slices.Sort(ts)
	drop := len(m) - max + max/8
	if drop > len(ts) {
		drop = len(ts)
	}
	cut := ts[drop-1]
	for k, v := range m {
		if drop == 0 {
			break
		}
		if last(v) <= cut {
			delete(m, k)
			drop--
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// when formats a time for an explanation.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
