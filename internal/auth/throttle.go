package auth

import (
	"sync"
	"time"
)

// Throttle limits sign-in attempts per key (an e-mail address, a remote
// address). Each key has a bucket of Burst attempts refilled at one per
// Every; a failed attempt takes one, a successful one refills the bucket.
// It is per process: behind a load balancer each process throttles on its
// own, which still bounds guessing to Burst × processes per Every.
type Throttle struct {
	Burst int
	Every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewThrottle returns a throttle allowing burst attempts, then one per every.
func NewThrottle(burst int, every time.Duration, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{Burst: burst, Every: every, now: now, buckets: map[string]*bucket{}}
}

func (t *Throttle) get(key string) *bucket {
	now := t.now()
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) > 100000 {
			t.sweep(now)
		}
		b = &bucket{tokens: float64(t.Burst), last: now}
		t.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() / t.Every.Seconds()
	if b.tokens > float64(t.Burst) {
		b.tokens = float64(t.Burst)
	}
	b.last = now
	return b
}

// sweep forgets full buckets so memory stays bounded under a spray of keys.
func (t *Throttle) sweep(now time.Time) {
	for k, b := range t.buckets {
		if b.tokens+now.Sub(b.last).Seconds()/t.Every.Seconds() >= float64(t.Burst) {
			delete(t.buckets, k)
		}
	}
}

// Allow reports whether every key may make an attempt now, and if not how
// long until it may.
func (t *Throttle) Allow(keys ...string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if b := t.get(k); b.tokens < 1 {
			return false, time.Duration((1 - b.tokens) * float64(t.Every))
		}
	}
	return true, 0
}

// Fail takes an attempt from every key.
func (t *Throttle) Fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		t.get(k).tokens--
	}
}

// Succeed refills the keys' buckets.
func (t *Throttle) Succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.buckets, k)
	}
}
