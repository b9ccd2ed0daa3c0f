package sigma

import "strings"

// acMinNeedles is how many contains values of one field make it worth
// building an automaton: below it, a few IndexByte scans are as fast.
const acMinNeedles = 4

// acSearcher says whether any of a set of needles occurs in a text, in
// one pass over the text whatever the number of needles (Aho–Corasick,
// compiled to a DFA). Long contains lists are common in SigmaHQ's rules
// (dozens of command-line fragments for one field), and scanning the
// field once per fragment was the largest cost of matching. Bytes that
// occur in no needle share one class, so the table is states × classes.
type acSearcher struct {
	class   [256]uint8
	fold    [256]uint8 // class of the byte lower-cased (ASCII), for folding text
	nclass  int
	delta   []int32 // state*nclass + class → next state
	out     []bool  // a needle ends at this state (or at a suffix of it)
	needles []string
}

// newACSearcher builds the automaton for needles (lower-case; none
// empty), or returns nil when they use every byte value (class 0 must
// stay free for the bytes that occur in none).
func newACSearcher(needles []string) *acSearcher {
	a := &acSearcher{needles: needles, nclass: 1}
	for _, n := range needles {
		for i := 0; i < len(n); i++ {
			if a.class[n[i]] == 0 {
				if a.nclass == 256 {
					return nil
				}
				a.class[n[i]] = uint8(a.nclass)
				a.nclass++
			}
		}
	}
	// The trie, with -1 for no edge.
	type state struct {
		next []int32
		fail int32
		out  bool
	}
	newState := func() state {
		s := state{next: make([]int32, a.nclass)}
		for i := range s.next {
			s.next[i] = -1
		}
		return s
	}
	states := []state{newState()}
	for _, n := range needles {
		cur := int32(0)
		for i := 0; i < len(n); i++ {
			c := a.class[n[i]]
			if states[cur].next[c] < 0 {
				states = append(states, newState())
				states[cur].next[c] = int32(len(states) - 1)
			}
			cur = states[cur].next[c]
		}
		states[cur].out = true
	}
	// Breadth first: failure links, and the missing edges filled in
	// from them, so matching never follows a failure link.
	queue := make([]int32, 0, len(states))
	for c := 0; c < a.nclass; c++ {
		if nx := states[0].next[c]; nx > 0 {
			states[nx].fail = 0
			queue = append(queue, nx)
		} else {
			states[0].next[c] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if states[states[s].fail].out {
			states[s].out = true
		}
		for c := 0; c < a.nclass; c++ {
			nx := states[s].next[c]
			if nx < 0 {
				states[s].next[c] = states[states[s].fail].next[c]
				continue
			}
			states[nx].fail = states[states[s].fail].next[c]
			queue = append(queue, nx)
		}
	}
	for c := range 256 {
		a.fold[c] = a.class[lowerByte(byte(c))]
	}
	a.delta = make([]int32, len(states)*a.nclass)
	a.out = make([]bool, len(states))
	for i, s := range states {
		copy(a.delta[i*a.nclass:], s.next)
		a.out[i] = s.out
	}
	return a
}

// contains reports whether a needle occurs in s (lower-cased).
func (a *acSearcher) contains(s string) bool { return a.scan(s, false) }

// scan reports whether a needle occurs in s, folding ASCII letters
// of s to lower case when fold is set.
func (a *acSearcher) scan(s string, fold bool) bool {
	class := &a.class
	if fold {
		class = &a.fold // folding is in the table: no branch a byte
	}
	st := int32(0)
	for i := 0; i < len(s); i++ {
		st = a.delta[int(st)*a.nclass+int(class[s[i]])]
		if a.out[st] {
			return true
		}
	}
	return false
}

// containsValue is contains for a field value: text, a scalar's text, or
// any item of a list.
func (a *acSearcher) containsValue(v any) bool {
	switch x := v.(type) {
	case string:
		return a.containsString(x)
	case []any:
		for _, e := range x {
			if a.containsValue(e) {
				return true
			}
		}
		return false
	case nil:
		return false
	}
	if s, ok := scalarText(v); ok {
		return a.containsString(s)
	}
	return false
}

// containsString is contains for text not yet lower-cased.
func (a *acSearcher) containsString(s string) bool {
	if isASCII(s) {
		return a.scan(s, true)
	}
	return a.scan(strings.ToLower(s), false)
}
