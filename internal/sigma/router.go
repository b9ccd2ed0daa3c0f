package sigma

import (
	"strings"
	"sync"
)

// Router routes events to the rules whose log source covers them, so an
// event is evaluated only against the rules written for its kind of log
// (a Sysmon process creation meets the process_creation rules, not the
// 2,000 others). The rule list for each (product, category, service) is
// worked out once and cached. A Router is safe for concurrent use.
type Router struct {
	rules []*CompiledRule
	mu    sync.RWMutex
	cache map[[3]string]*route
}

// route is the rules of one log source and their shared literal
// prefilter (built on the first event that needs it).
type route struct {
	rules []*CompiledRule
	once  sync.Once
	pf    *prefilter
}

func (rt *route) prefilter() *prefilter {
	rt.once.Do(func() { rt.pf = newPrefilter(rt.rules) })
	return rt.pf
}

// NewRouter returns a Router over rules.
func NewRouter(rules []*CompiledRule) *Router {
	return &Router{rules: rules, cache: map[[3]string]*route{}}
}

// Rules returns the rules that apply to an event of this log source, in
// the order given to NewRouter. The slice is shared: do not modify it.
func (r *Router) Rules(product, category, service string) []*CompiledRule {
	return r.route(product, category, service).rules
}

func (r *Router) route(product, category, service string) *route {
	key := [3]string{product, category, service}
	r.mu.RLock()
	rt, ok := r.cache[key]
	r.mu.RUnlock()
	if ok {
		return rt
	}
	rt = &route{rules: []*CompiledRule{}}
	// An event ingest gave no log source meets the rules a pipeline
	// routes as well: their added conditions (a channel, an event ID, a
	// Splunk source…) pick its events, as they do in pySigma's backends.
	unknown := product == "" && category == "" && service == ""
	for _, c := range r.rules {
		if c.Rule.Logsource.Covers(product, category, service) || (unknown && c.routed) {
			rt.rules = append(rt.rules, c)
		}
	}
	r.mu.Lock()
	if old, ok := r.cache[key]; ok {
		rt = old // another goroutine's, perhaps with its prefilter built
	} else {
		if len(r.cache) > 4096 {
			// Log sources are few; this many keys means junk values: start over.
			clear(r.cache)
		}
		r.cache[key] = rt
	}
	r.mu.Unlock()
	return rt
}

// Match calls fn with every rule that covers the event's log source and
// matches it, and returns how many did.
func (r *Router) Match(product, category, service string, ev Event, fn func(*CompiledRule)) int {
	n := 0
	rt := r.route(strings.ToLower(product), strings.ToLower(category), strings.ToLower(service))
	if len(rt.rules) == 0 {
		return 0
	}
	x := getCtx(ev) // one event's fields, shared by all its rules
	defer putCtx(x)
	pass := rt.prefilter().pass(x)
	for i, c := range rt.rules {
		if pass[i/64]&(1<<(i%64)) == 0 {
			continue // a literal the rule needs is absent
		}
		if c.match(x) {
			n++
			if fn != nil {
				fn(c)
			}
		}
	}
	return n
}
