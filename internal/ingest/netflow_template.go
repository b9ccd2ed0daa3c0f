package ingest

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Template cache defaults.
const (
	// DefaultMaxTemplates bounds the templates held across all
	// exporters; past it the least recently used goes. A template is at
	// most 512 fields of 4 bytes, so the worst case is about 20 MiB; an
	// exporter typically has two to ten. UDP senders can be spoofed, so
	// a flood of templates evicts honest ones only until their exporter
	// resends them (every few seconds or packets).
	DefaultMaxTemplates = 10000
	// DefaultTemplateTTL is how long a template lives without being
	// resent: RFC 7011 §8.4 has templates over UDP expire unless
	// refreshed, and exporters resend every 16–20 packets or minute.
	DefaultTemplateTTL = 30 * time.Minute
)

// TemplateOptions bound a TemplateCache; zero values take the defaults.
type TemplateOptions struct {
	MaxTemplates int
	TTL          time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// templateKey identifies a template: RFC 3954 and 7011 scope template
// IDs to the exporter (here its address: a NAT between exporter and
// collector must keep them apart by source ID) and its source ID or
// observation domain. id 0 holds the domain's own state (systemInit).
type templateKey struct {
	exporter netip.Addr
	version  uint16
	domain   uint32
	id       uint16
}

type template struct {
	fields   []tmplField
	options  bool
	scope    int
	min      int  // bytes of a record at least (fixed fields; 1 per variable one)
	variable bool // has a variable-length field
	sysInit  time.Time
	updated  time.Time
	elem     *list.Element
}

type tmplField struct {
	length uint16
	kind   uint8
}

// finish computes the record's minimum length; it refuses a template
// whose records would be empty or longer than a datagram, and a
// variable-length field in v9 (ipfix false).
func (t *template) finish(ipfix bool) bool {
	for _, f := range t.fields {
		if f.length == 65535 && ipfix {
			t.variable = true
			t.min++
			continue
		}
		t.min += int(f.length)
	}
	return t.min > 0 && t.min <= 65535
}

// TemplateCache holds exporters' templates, bounded in number (least
// recently used evicted) and in age (a template not resent within the
// TTL is forgotten). Safe for concurrent use.
type TemplateCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	now     func() time.Time
	m       map[templateKey]*template
	lru     *list.List // of templateKey, most recently used at the front
	evicted int64
	expired int64
}

// NewTemplateCache returns an empty cache.
func NewTemplateCache(o TemplateOptions) *TemplateCache {
	if o.MaxTemplates <= 0 {
		o.MaxTemplates = DefaultMaxTemplates
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTemplateTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &TemplateCache{max: o.MaxTemplates, ttl: o.TTL, now: o.Now, m: map[templateKey]*template{}, lru: list.New()}
}

// put stores t under k, replacing what was there (an exporter may
// redefine a template ID at any time).
func (c *TemplateCache) put(k templateKey, t *template) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.updated = c.now()
	if old := c.m[k]; old != nil {
		t.elem = old.elem
		c.lru.MoveToFront(t.elem)
		c.m[k] = t
		return
	}
	for len(c.m) >= c.max {
		back := c.lru.Back()
		delete(c.m, back.Value.(templateKey))
		c.lru.Remove(back)
		c.evicted++
	}
	t.elem = c.lru.PushFront(k)
	c.m[k] = t
}

// get returns the template for k, nil when unknown or expired.
func (c *TemplateCache) get(k templateKey) *template {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.m[k]
	if t == nil {
		return nil
	}
	if c.now().Sub(t.updated) > c.ttl {
		c.remove(k, t)
		c.expired++
		return nil
	}
	c.lru.MoveToFront(t.elem)
	return t
}

func (c *TemplateCache) remove(k templateKey, t *template) {
	delete(c.m, k)
	c.lru.Remove(t.elem)
}

// withdraw forgets template k.id, or every template of the domain when
// k.id is 2 or 3 (IPFIX's "all templates" / "all options templates").
func (c *TemplateCache) withdraw(k templateKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k.id >= 256 {
		if t := c.m[k]; t != nil {
			c.remove(k, t)
		}
		return
	}
	options := k.id == 3
	for tk, t := range c.m {
		if tk.exporter == k.exporter && tk.version == k.version && tk.domain == k.domain && tk.id >= 256 && t.options == options {
			c.remove(tk, t)
		}
	}
}

// sysInit returns the domain's systemInitTimeMilliseconds (zero when
// not known).
func (c *TemplateCache) sysInit(k templateKey) time.Time {
	k.id = 0
	if t := c.get(k); t != nil {
		return t.sysInit
	}
	return time.Time{}
}

func (c *TemplateCache) setSysInit(k templateKey, at time.Time) {
	k.id = 0
	c.put(k, &template{sysInit: at})
}

// Len returns the number of templates held; Evicted and Expired how many
// went for room and for age.
func (c *TemplateCache) Len() (n int, evicted, expired int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.evicted, c.expired
}
