package match

import (
	"slices"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/intel/pattern"
)

// Patterns over several events: observations joined by AND or
// FOLLOWEDBY, or qualified by WITHIN, REPEATS or START/STOP. An event
// that satisfies one of their observations is not an alert: the Window
// records when it was seen, per organisation and indicator, and the
// pattern's expression is evaluated over what is recorded. The event
// that completes a match raises it.
//
// The window is in memory, per server, and bounded (WindowOptions):
//   - at most MaxStates (organisation, indicator) pairs — when full, the
//     least recently seen of a random sample of 16 is dropped
//     (Window.Evicted counts them);
//   - at most MaxPerObs recent times per observation of a pair — older
//     ones are forgotten, so `REPEATS n TIMES` with n above it never
//     matches;
//   - nothing older than MaxAge before the newest event of the pair, so
//     a FOLLOWEDBY or AND further apart than that (with no WITHIN) is not
//     found.
//
// What is lost: the window starts empty at start-up, each server of a
// cluster sees only the events it consumes, and retro-matching decides
// single observations only. Every observation counts an event once:
// AND of two observations the same event satisfies is matched by that
// one event, as it would be on one observed-data object.

// WindowOptions bound a Window.
type WindowOptions struct {
	MaxStates int           // default 100,000
	MaxPerObs int           // default 16
	MaxAge    time.Duration // default 24 hours
}

// Window holds the recent observations of patterns over several events.
type Window struct {
	mu      sync.Mutex
	o       WindowOptions
	states  map[winKey]*winState
	Evicted int64
}

type winKey struct {
	org string
	ind [16]byte
}

type winState struct {
	times [][]time.Time // per observation, oldest first
	last  time.Time
}

// NewWindow makes an empty window, filling o's defaults.
func NewWindow(o WindowOptions) *Window {
	if o.MaxStates <= 0 {
		o.MaxStates = 100_000
	}
	if o.MaxPerObs <= 0 {
		o.MaxPerObs = 16
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 24 * time.Hour
	}
	return &Window{o: o, states: map[winKey]*winState{}}
}

// Len is how many (organisation, indicator) pairs the window holds.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.states)
}

// observe records that an event at t of org satisfied the observations
// in mask of indicator c, and reports whether the pattern now matches
// with this event completing it, and over how many events.
func (w *Window) observe(org string, ind [16]byte, c *complexInd, mask uint64, t time.Time) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := winKey{org, ind}
	st := w.states[k]
	if st == nil {
		if len(w.states) >= w.o.MaxStates {
			// The least recently seen of a sample of 16 (map order is
			// random): a scan of every pair at each new one would cost
			// 100,000 steps a hit once the window is full.
			var oldest winKey
			var at time.Time
			n := 0
			for k, s := range w.states {
				if n == 0 || s.last.Before(at) {
					oldest, at = k, s.last
				}
				if n++; n == 16 {
					break
				}
			}
			delete(w.states, oldest)
			w.Evicted++
		}
		st = &winState{times: make([][]time.Time, len(c.obs))}
		w.states[k] = st
	}
	if len(st.times) != len(c.obs) { // the indicator changed its pattern
		st.times = make([][]time.Time, len(c.obs))
	}
	if t.After(st.last) {
		st.last = t
	}
	cut := st.last.Add(-w.o.MaxAge)
	for i := range st.times {
		ts := st.times[i]
		j := 0
		for j < len(ts) && ts[j].Before(cut) {
			j++
		}
		ts = ts[j:]
		if mask&(1<<i) != 0 {
			p, _ := slices.BinarySearchFunc(ts, t, time.Time.Compare)
			ts = slices.Insert(ts, p, t)
			if len(ts) > w.o.MaxPerObs {
				ts = ts[len(ts)-w.o.MaxPerObs:]
			}
		}
		st.times[i] = ts
	}
	for _, s := range c.expr.eval(st.times) {
		if s.hi.Equal(t) || s.lo.Equal(t) {
			return true, s.n
		}
	}
	return false, 0
}

// The nodes of an observation expression.
const (
	opLeaf = iota
	opOr
	opAnd
	opFollowedBy
	opQualified
)

type node struct {
	op   int
	leaf int
	l, r *node
	q    pattern.Qualifier
}

// span is one match of an expression: from its first to its last
// event, over n events.
type span struct {
	lo, hi time.Time
	n      int
}

// eval lists the matches of an expression over the recorded times, at
// most maxSpansPerResult (the latest kept).
func (e *node) eval(times [][]time.Time) []span {
	var out []span
	switch e.op {
	case opLeaf:
		if e.leaf < 0 || e.leaf >= len(times) {
			return nil
		}
		for _, t := range times[e.leaf] {
			out = append(out, span{t, t, 1})
		}
	case opOr:
		out = append(e.l.eval(times), e.r.eval(times)...)
	case opAnd, opFollowedBy:
		l, r := e.l.eval(times), e.r.eval(times)
		for _, a := range l {
			for _, b := range r {
				if e.op == opFollowedBy && b.lo.Before(a.hi) {
					continue
				}
				lo, hi := a.lo, a.hi
				if b.lo.Before(lo) {
					lo = b.lo
				}
				if b.hi.After(hi) {
					hi = b.hi
				}
				out = append(out, span{lo, hi, a.n + b.n})
			}
		}
	case opQualified:
		in := e.l.eval(times)
		switch e.q.Kind {
		case pattern.Within:
			d := time.Duration(e.q.Seconds * float64(time.Second))
			for _, s := range in {
				if s.hi.Sub(s.lo) <= d {
					out = append(out, s)
				}
			}
		case pattern.StartStop:
			for _, s := range in {
				if !s.lo.Before(e.q.Start) && s.hi.Before(e.q.Stop) {
					out = append(out, s)
				}
			}
		case pattern.Repeats:
			// n matches in a row, by time: consecutive ones make the
			// tightest span, which is what an enclosing WITHIN asks.
			n := int(e.q.Times)
			slices.SortFunc(in, func(a, b span) int { return a.hi.Compare(b.hi) })
			for i := n - 1; n > 0 && i < len(in); i++ {
				s := span{in[i-n+1].lo, in[i].hi, 0}
				for _, x := range in[i-n+1 : i+1] {
					if x.lo.Before(s.lo) {
						s.lo = x.lo
					}
					s.n += x.n
				}
				out = append(out, s)
			}
		}
	}
	if len(out) > maxSpansPerResult {
		slices.SortFunc(out, func(a, b span) int { return a.hi.Compare(b.hi) })
		out = out[len(out)-maxSpansPerResult:]
	}
	return out
}
