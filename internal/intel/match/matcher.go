package match

import (
	"sync/atomic"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// Matcher holds the current Index. Match reads it with one atomic load
// and Swap replaces it, so a reload (building a new Index beside the old,
// seconds for a million indicators) never stops matching: events matched
// meanwhile are matched against the old set.
type Matcher struct {
	ix atomic.Pointer[Index]
	// Window holds the recent observations of patterns over several
	// events (window.go), kept across reloads.
	Window *Window
}

// NewMatcher starts with ix (Empty when nil).
func NewMatcher(ix *Index) *Matcher {
	m := &Matcher{Window: NewWindow(WindowOptions{})}
	if ix == nil {
		ix = Empty()
	}
	m.ix.Store(ix)
	return m
}

// Index is the current index.
func (m *Matcher) Index() *Index { return m.ix.Load() }

// Swap puts ix in place and returns the one it replaces.
func (m *Matcher) Swap(ix *Index) *Index { return m.ix.Swap(ix) }

// Match matches ev against the current index, returning the index used
// (whose Info describes the hits) and the hits appended to dst. A
// pattern over several events is a hit when ev completes it in the
// Window.
func (m *Matcher) Match(ev *events.Event, now time.Time, dst []Hit) (*Index, []Hit) {
	ix := m.ix.Load()
	start := len(dst)
	dst = ix.match(ev, now, dst, true)
	if ix.nMulti == 0 || len(dst) == start {
		return ix, dst
	}
	t := ev.EventTime
	if t.IsZero() {
		t = now
	}
	out := dst[:start]
	for _, h := range dst[start:] {
		if h.obs == 0 {
			out = append(out, h)
			continue
		}
		mt := &ix.inds[h.Indicator]
		if ok, n := m.Window.observe(ev.Org, mt.uuid, ix.complex[mt.extra-1], h.obs, t); ok {
			h.obs, h.Events = 0, n
			out = append(out, h)
		}
	}
	return ix, out
}
