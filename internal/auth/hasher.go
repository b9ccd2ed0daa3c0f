package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"golang.org/x/crypto/argon2"
)

// HashMemoryMiB is what one argon2id computation allocates (argonMemory).
// Measured: 40 concurrent wrong passwords with no bound took a server from
// 35 MB to 1.9 GB resident.
const HashMemoryMiB = argonMemory / 1024

// DefaultHashMemoryMiB is the default budget for password hashing: four
// computations at once, about 184 MiB. On the 2-core servers Vigil is sized
// for, four already keep both cores busy, so more would only add memory and
// latency, not throughput.
const DefaultHashMemoryMiB = 4 * HashMemoryMiB

// DefaultHashWait bounds how long a sign-in waits for a hashing slot before
// it is told the server is busy. Forty concurrent sign-ins behind four
// slots took 5.8 s on a busy 2-core server (docs/performance.md): long
// enough a wait that such a burst is served, short enough that nobody
// stares at a spinner.
const DefaultHashWait = 10 * time.Second

// ErrBusy means every password-hashing slot stayed taken for the whole
// bounded wait. It counts as throttling (errors.Is(ErrBusy, ErrThrottled)),
// so adapters answer it with 429, and no attempt is charged to the account.
var ErrBusy error = busyError{}

type busyError struct{}

func (busyError) Error() string {
	return "busy checking other sign-ins; try again in a few seconds"
}
func (busyError) Is(target error) bool {
	return target == ErrThrottled || target == fault.ErrRateLimited
}

// HashSlotsFor returns how many argon2id computations fit in a memory budget
// of mib MiB: at least one, or nobody could sign in.
func HashSlotsFor(mib int) int {
	return max(1, mib/HashMemoryMiB)
}

// Hasher runs argon2id computations, at most a fixed number at once, so
// memory stays bounded however many sign-ins arrive together: the others
// wait for a slot, for as long as their context and the hasher's bounded
// wait allow. Every argon2id computation of the Service goes through it.
// Its zero value is not usable; call NewHasher.
type Hasher struct {
	slots chan struct{}
	wait  time.Duration

	active atomic.Int64
	peak   atomic.Int64
	busy   atomic.Int64
}

// NewHasher returns a Hasher running at most slots computations at once
// (at least 1) and letting callers wait at most wait for a slot
// (DefaultHashWait when zero).
func NewHasher(slots int, wait time.Duration) *Hasher {
	if wait <= 0 {
		wait = DefaultHashWait
	}
	return &Hasher{slots: make(chan struct{}, max(1, slots)), wait: wait}
}

// Slots is the number of computations allowed at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// Peak is the largest number of computations that have run at once, counted
// inside the bounded section.
func (h *Hasher) Peak() int { return int(h.peak.Load()) }

// Active is the number of computations running now.
func (h *Hasher) Active() int { return int(h.active.Load()) }

// Busy counts the callers turned away with ErrBusy.
func (h *Hasher) Busy() int64 { return h.busy.Load() }

// run calls f in a slot. It returns ErrBusy when no slot came free within
// the bounded wait, or ctx's error when ctx ended first.
func (h *Hasher) run(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		t := time.NewTimer(h.wait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-t.C:
			h.busy.Add(1)
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-h.slots }()
	n := h.active.Add(1)
	defer h.active.Add(-1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	f()
	return nil
}

// Hash is HashPassword in a slot.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	var hash string
	var herr error
	if err := h.run(ctx, func() { hash, herr = HashPassword(pw) }); err != nil {
		return "", err
	}
	return hash, herr
}

// Check is CheckPassword in a slot.
func (h *Hasher) Check(ctx context.Context, hash, pw string) (bool, error) {
	var ok bool
	err := h.run(ctx, func() { ok = CheckPassword(hash, pw) })
	return ok, err
}

// dummyHash returns a PHC string with the parameters of HashPassword and a
// random salt and key, without computing argon2id: checking a password
// against it costs what a real check costs, and it matches nothing.
func dummyHash() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString([]byte(randomID(16))[:16]), b64.EncodeToString([]byte(randomID(32))[:argonKeyLen]))
}
