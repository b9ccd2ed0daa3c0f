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
	class  [256]uint8
	fold   [256]uint8 // class of the byte lower-cased (ASCII), for folding text
	nclass int
	// delta is state*nclass + class → the next state's row offset
	// (state*nclass), so the scan multiplies nothing; a state where a
	// needle ends (there or at a suffix) is stored complemented (^row),
	// so the scan tests the sign of what it loaded rather than looking
	// the state up again.
	delta   []int32
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
	for i, s := range states {
		row := a.delta[i*a.nclass : (i+1)*a.nclass]
		for c, nx := range s.next {
			row[c] = nx * int32(a.nclass)
			if states[nx].out {
				row[c] = ^row[c]
			}
		}
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
	delta := a.delta
	row := int32(0)
	for i := 0; i < len(s); i++ {
		row = delta[int(row)+int(class[s[i]])]
		if row < 0 {
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

// acMulti is an Aho–Corasick automaton that reports every needle found,
// not only whether one was: the prefilter's, over the literals of many
// rules. Each state lists the needles ending there and links to the
// nearest shorter suffix state that ends some (its dictionary link), so
// reporting costs only the needles found.
type acMulti struct {
	class  [256]uint8
	fold   [256]uint8 // class of the byte lower-cased (ASCII)
	nclass int
	delta  []int32   // as acSearcher's: row offsets, complemented where hasOut
	own    [][]int32 // state → needles ending exactly there
	dict   []int32   // state → nearest proper suffix state with needles, or -1
}

// newACMulti builds the automaton for needles (none empty), or nil when
// they use every byte value.
func newACMulti(needles []string) *acMulti {
	a := &acMulti{nclass: 1}
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
	next := [][]int32{a.newRow()}
	fail := []int32{0}
	a.own = [][]int32{nil}
	for k, n := range needles {
		cur := int32(0)
		for i := 0; i < len(n); i++ {
			c := a.class[n[i]]
			if next[cur][c] < 0 {
				next = append(next, a.newRow())
				fail = append(fail, 0)
				a.own = append(a.own, nil)
				next[cur][c] = int32(len(next) - 1)
			}
			cur = next[cur][c]
		}
		a.own[cur] = append(a.own[cur], int32(k))
	}
	a.dict = make([]int32, len(next))
	hasOut := make([]bool, len(next)) // own or dict
	a.dict[0] = -1
	queue := make([]int32, 0, len(next))
	for c := 0; c < a.nclass; c++ {
		if nx := next[0][c]; nx > 0 {
			fail[nx] = 0
			queue = append(queue, nx)
		} else {
			next[0][c] = 0
		}
	}
	for h := 0; h < len(queue); h++ { // queue keeps the breadth-first order
		s := queue[h]
		f := fail[s] // shallower: its row and dictionary link are done
		if len(a.own[f]) > 0 {
			a.dict[s] = f
		} else {
			a.dict[s] = a.dict[f]
		}
		hasOut[s] = len(a.own[s]) > 0 || a.dict[s] >= 0
		for c := 0; c < a.nclass; c++ {
			nx := next[s][c]
			if nx < 0 {
				next[s][c] = next[f][c]
				continue
			}
			fail[nx] = next[f][c]
			queue = append(queue, nx)
		}
	}
	// Renumber the states breadth first, so the shallow states, where a
	// scan spends most of its time, share a few cache lines.
	order := make([]int32, 0, len(next))
	order = append(order, 0)
	order = append(order, queue...)
	renum := make([]int32, len(next))
	for i, s := range order {
		renum[s] = int32(i)
	}
	a.delta = make([]int32, len(next)*a.nclass)
	own := make([][]int32, len(next))
	dict := make([]int32, len(next))
	for i, s := range order {
		row := a.delta[i*a.nclass : (i+1)*a.nclass]
		for c, nx := range next[s] {
			row[c] = renum[nx] * int32(a.nclass)
			if hasOut[nx] {
				row[c] = ^row[c]
			}
		}
		own[i] = a.own[s]
		dict[i] = -1
		if d := a.dict[s]; d >= 0 {
			dict[i] = renum[d]
		}
	}
	a.own, a.dict = own, dict
	for c := range 256 {
		a.fold[c] = a.class[lowerByte(byte(c))]
	}
	return a
}

func (a *acMulti) newRow() []int32 {
	r := make([]int32, a.nclass)
	for i := range r {
		r[i] = -1
	}
	return r
}

// each calls found with every needle occurring in s, as often as it
// occurs; s is lower-cased, or ASCII to fold as it is read when fold is
// set.
func (a *acMulti) each(s string, fold bool, found func(needle int32)) {
	class := &a.class
	if fold {
		class = &a.fold
	}
	delta, n := a.delta, int32(a.nclass)
	row := int32(0)
	for i := 0; i < len(s); i++ {
		row = delta[int(row)+int(class[s[i]])]
		if row >= 0 {
			continue
		}
		row = ^row
		for t := row / n; t > 0; t = a.dict[t] {
			for _, k := range a.own[t] {
				found(k)
			}
		}
	}
}
