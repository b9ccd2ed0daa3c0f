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
	cache map[[3]string][]*CompiledRule
}

// NewRouter returns a Router over rules.
func NewRouter(rules []*CompiledRule) *Router {
	return &Router{rules: rules, cache: map[[3]string][]*CompiledRule{}}
}

// Rules returns the rules that apply to an event of this log source, in
// the order given to NewRouter. The slice is shared: do not modify it.
func (r *Router) Rules(product, category, service string) []*CompiledRule {
	key := [3]string{product, category, service}
	r.mu.RLock()
	rules, ok := r.cache[key]
	r.mu.RUnlock()
	if ok {
		return rules
	}
	rules = []*CompiledRule{}
	for _, c := range r.rules {
		if c.Rule.Logsource.Covers(product, category, service) {
			rules = append(rules, c)
		}
	}
	r.mu.Lock()
	if len(r.cache) > 4096 {
		// Log sources are few; this many keys means junk values: start over.
		clear(r.cache)
	}
	r.cache[key] = rules
	r.mu.Unlock()
	return rules
}

// Match calls fn with every rule that covers the event's log source and
// matches it, and returns how many did.
func (r *Router) Match(product, category, service string, ev Event, fn func(*CompiledRule)) int {
	n := 0
	x := getCtx(ev) // one event's fields, shared by all its rules
	defer putCtx(x)
	for _, c := range r.Rules(strings.ToLower(product), strings.ToLower(category), strings.ToLower(service)) {
		if c.match(x) {
			n++
			if fn != nil {
				fn(c)
			}
		}
	}
	return n
}
