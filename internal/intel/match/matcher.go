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
}

// NewMatcher starts with ix (Empty when nil).
func NewMatcher(ix *Index) *Matcher {
	m := &Matcher{}
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
// (whose Info describes the hits) and the hits appended to dst.
func (m *Matcher) Match(ev *events.Event, now time.Time, dst []Hit) (*Index, []Hit) {
	ix := m.ix.Load()
	return ix, ix.Match(ev, now, dst)
}
