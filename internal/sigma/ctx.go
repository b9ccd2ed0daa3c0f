package sigma

import (
	"strings"
	"sync"
	"unsafe"
)

// fieldSlots numbers every field name a compiled rule tests, so that an
// evaluation context can keep one cache entry a field in a slice rather
// than a map. The numbering is process-wide (rules compiled apart share
// it) and only grows; SigmaHQ's rules name about 1,500 fields. Past
// maxFieldSlots names (a server compiling rules people write, for
// years) a name gets no slot and is looked up uncached.
var fieldSlots = struct {
	sync.RWMutex
	ids map[string]int
}{ids: map[string]int{}}

func fieldSlot(name string) int {
	fieldSlots.RLock()
	id, ok := fieldSlots.ids[name]
	fieldSlots.RUnlock()
	if ok {
		return id
	}
	fieldSlots.Lock()
	defer fieldSlots.Unlock()
	if id, ok := fieldSlots.ids[name]; ok {
		return id
	}
	if len(fieldSlots.ids) >= maxFieldSlots {
		return -1
	}
	id = len(fieldSlots.ids)
	fieldSlots.ids[name] = id
	return id
}

// maxFieldSlots bounds fieldSlots (and each context's cache).
const maxFieldSlots = 1 << 16

// evalCtx is the scratch of one event's evaluation, shared by every rule
// the event meets: each field a rule tests is looked up once and its
// text lower-cased once, however many rules (and patterns) test it, and
// the keyword texts are collected and lower-cased once. Patterns are
// lower-cased at compile time, so case-insensitive tests become plain
// strings.Contains, HasPrefix, HasSuffix and == (vectorised) on the
// cached text. A context serves one goroutine; reset starts a new event.
type evalCtx struct {
	ev    Event
	gen   uint32
	slots []slotVal
	// raw are the keyword texts as the event has them, when rawGen ==
	// gen; kw the same prepared, when kwGen == gen.
	raw    []string
	rawGen uint32
	kw     []text
	kwGen  uint32
	// buf holds the lower-cased ASCII texts of the current event; the
	// strings made over it (unsafe.String) are only ever compared, never
	// kept beyond the event, so reset may overwrite it.
	buf []byte
	// hits is the prefilter's scratch (see prefilter).
	hits []uint64
}

// slotVal is one field of the current event, valid when gen matches.
type slotVal struct {
	gen uint32
	ok  bool
	str bool // v is a string and t its text
	v   any
	t   text
}

var ctxPool = sync.Pool{New: func() any { return new(evalCtx) }}

// reset makes c ready for ev, dropping what it cached of the last event.
func (c *evalCtx) reset(ev Event) {
	c.ev = ev
	c.gen++
	if c.gen == 0 { // wrapped: no slot may look current
		clear(c.slots)
		c.kwGen, c.rawGen = 0, 0
		c.gen = 1
	}
	c.buf = c.buf[:0]
}

// field is ev.Field(name) through the cache; slot is fieldSlot(name).
func (c *evalCtx) field(slot int, name string) *slotVal {
	if slot < 0 {
		s := &slotVal{gen: c.gen}
		c.fill(s, name)
		return s
	}
	if slot >= len(c.slots) {
		c.slots = append(c.slots, make([]slotVal, slot+1-len(c.slots))...)
	}
	s := &c.slots[slot]
	if s.gen == c.gen {
		return s
	}
	s.gen = c.gen
	c.fill(s, name)
	return s
}

func (c *evalCtx) fill(s *slotVal, name string) {
	s.v, s.ok = c.ev.Field(name)
	s.str = false
	if str, isStr := s.v.(string); isStr {
		s.str = true
		s.t = c.prepare(str)
	}
}

// rawKeywords are the event's keyword texts, gathered once an event.
func (c *evalCtx) rawKeywords() ([]string, bool) {
	kw, ok := c.ev.(Keyworder)
	if !ok {
		return nil, false
	}
	if c.rawGen != c.gen {
		c.raw = c.raw[:0]
		kw.Keywords(func(s string) bool {
			c.raw = append(c.raw, s)
			return true
		})
		c.rawGen = c.gen
	}
	return c.raw, true
}

// keywords are the event's keyword texts, prepared once an event (only
// when a keyword search is evaluated: the prefilter reads them raw).
func (c *evalCtx) keywords() ([]text, bool) {
	raw, ok := c.rawKeywords()
	if !ok {
		return nil, false
	}
	if c.kwGen != c.gen {
		c.kw = c.kw[:0]
		for _, s := range raw {
			c.kw = append(c.kw, c.prepare(s))
		}
		c.kwGen = c.gen
	}
	return c.kw, true
}

// prepare lower-cases s once: ASCII into the context's buffer (no
// allocation), anything else with strings.ToLower (Unicode), as the
// patterns were.
func (c *evalCtx) prepare(s string) text {
	i := 0
	for ; i < len(s); i++ {
		b := s[i]
		if b >= 0x80 {
			return text{s: s, lower: strings.ToLower(s)}
		}
		if 'A' <= b && b <= 'Z' {
			break
		}
	}
	if i == len(s) {
		return text{s: s, lower: s} // already lower case
	}
	start := len(c.buf)
	c.buf = append(c.buf, s...)
	b := c.buf[start:]
	for j := i; j < len(b); j++ {
		x := b[j]
		if x >= 0x80 {
			c.buf = c.buf[:start]
			return text{s: s, lower: strings.ToLower(s)}
		}
		if 'A' <= x && x <= 'Z' {
			b[j] = x + 'a' - 'A'
		}
	}
	return text{s: s, lower: unsafe.String(&b[0], len(b))}
}

func getCtx(ev Event) *evalCtx {
	c := ctxPool.Get().(*evalCtx)
	c.reset(ev)
	return c
}

func putCtx(c *evalCtx) {
	c.ev = nil
	if cap(c.buf) > 1<<20 {
		c.buf = nil // one huge event should not pin its buffer
	}
	ctxPool.Put(c)
}
