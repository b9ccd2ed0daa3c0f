package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A lease makes one process of several the leader for a duty that must
// run once (docs/adr/0010-leader-lease.md): the key Options.Key in the
// JetStream key-value bucket LeaseOptions.Bucket, whose entries expire
// TTL after they were last written. No consensus of Vigil's own: the
// bucket is a JetStream stream replicated like any other (Options.
// Replicas), so NATS's Raft decides which write came first.
//
//   - A follower tries to create the key every TTL/3. Create succeeds
//     only when the key is absent: never written, deleted by a leader
//     that stopped, or expired because its leader died.
//   - The leader rewrites the key every TTL/3, on condition that its own
//     revision is still the last (Update). The write lands on the server
//     after the leader sent it, so the key lives at least TTL from the
//     moment it was sent.
//   - The leader steps down (cancels Run's context) when a rewrite is
//     refused — another process holds the key — or when 2/3 of TTL have
//     passed since it sent the last rewrite that succeeded: it cannot
//     know whether its key still lives, and after TTL another process
//     may take it. Stepping down a third of TTL early leaves the duty's
//     context that long to end before anyone else can start.
//   - Close stops Run and deletes the key, so a server stopped cleanly
//     hands over within TTL/3 rather than TTL.
//
// A duty can still overlap its successor if it ignores its context for
// more than TTL/3, or if a process is frozen (SIGSTOP, a VM paused) while
// it believes it leads and wakes after TTL. Duties run under a lease are
// therefore those already safe to run twice (guarded updates, idempotent
// deletes); the lease makes them run once in the normal case, which
// spares the database the duplicate work.

// LeaseOptions configures Bus.Lead.
type LeaseOptions struct {
	// Bucket is the key-value bucket holding leases (put in the bus's
	// Namespace); created (with Options.Replicas replicas and TTL as its
	// entries' age limit) if missing. Every process contending must use the same TTL, since it
	// is the bucket's.
	Bucket string
	// Key names the duty, e.g. the deployment's identity: processes with
	// the same Bucket and Key contend. Letters, digits, "-", "_", "/",
	// "=" and "." only.
	Key string
	// TTL is how long a lease lives without being renewed: how long a
	// dead leader's duty waits. At least one second.
	TTL time.Duration
	// Holder identifies this process in the bucket and in logs (e.g.
	// host:pid). Required.
	Holder string
	// Run is the duty. It is called in its own goroutine each time this
	// process becomes the leader, and must return soon after ctx is done
	// (the lease lost, or Close).
	Run func(ctx context.Context)
	// Logger receives elections and step-downs; nil uses the bus's.
	Logger *slog.Logger
}

// Lease is one process's place in the contention for a duty.
type Lease struct {
	kv     jetstream.KeyValue
	opts   LeaseOptions
	log    *slog.Logger
	leader atomic.Bool
	terms  atomic.Int64

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Lead joins the contention for opts.Key and returns once this process
// has made its first attempt, so a process alone in a deployment leads
// (and its duty runs) by the time Lead returns. Close leaves it.
func (b *Bus) Lead(ctx context.Context, opts LeaseOptions) (*Lease, error) {
	switch {
	case opts.Bucket == "" || opts.Key == "" || opts.Holder == "" || opts.Run == nil:
		return nil, errors.New("bus: lead: LeaseOptions.Bucket, Key, Holder and Run are required")
	case opts.TTL < time.Second:
		return nil, fmt.Errorf("bus: lead: LeaseOptions.TTL: want at least 1s, got %s", opts.TTL)
	}
	log := opts.Logger
	if log == nil {
		log = b.log
	}
	bucket := b.ns.Name(opts.Bucket)
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "Leases on duties that run on one Vigil server at a time",
		TTL:         opts.TTL,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    b.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: lease bucket %s: %w", bucket, err)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lease{kv: kv, opts: opts, log: log.With("lease", opts.Key, "holder", opts.Holder), cancel: cancel, done: make(chan struct{})}
	st := &leaseState{}
	l.step(lctx, st)
	go l.loop(lctx, st)
	return l, nil
}

// leaseState is the loop's own: the revision it holds and when it sent
// the write that made it.
type leaseState struct {
	rev       uint64
	sent      time.Time
	stopDuty  context.CancelFunc
	dutyEnded chan struct{}
}

// Leader reports whether this process leads now.
func (l *Lease) Leader() bool { return l.leader.Load() }

// Terms counts how many times this process has become the leader.
func (l *Lease) Terms() int64 { return l.terms.Load() }

func (l *Lease) loop(ctx context.Context, st *leaseState) {
	defer close(l.done)
	t := time.NewTicker(l.opts.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if l.leader.Load() {
				l.stepDown(st, "closing")
				// Hand over now rather than at expiry; a failure only
				// means the successor waits for TTL.
				dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if err := l.kv.Delete(dctx, l.opts.Key, jetstream.LastRevision(st.rev)); err != nil {
					l.log.Debug("lease: release", "err", err)
				}
				cancel()
			}
			return
		case <-t.C:
			l.step(ctx, st)
		}
	}
}

// step makes one attempt: to take the lease as a follower, to renew it
// as the leader.
func (l *Lease) step(ctx context.Context, st *leaseState) {
	// Each attempt gets at most a third of TTL, so a hung request cannot
	// hold the leader past the point it must step down.
	actx, cancel := context.WithTimeout(ctx, l.opts.TTL/3)
	defer cancel()
	sent := time.Now()
	if !l.leader.Load() {
		rev, err := l.kv.Create(actx, l.opts.Key, []byte(l.opts.Holder))
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyExists) && ctx.Err() == nil {
				l.log.Debug("lease: not taken", "err", err)
			}
			return
		}
		st.rev, st.sent = rev, sent
		dctx, stop := context.WithCancel(ctx)
		st.stopDuty, st.dutyEnded = stop, make(chan struct{})
		l.leader.Store(true)
		l.terms.Add(1)
		l.log.Info("lease: this server now leads", "ttl", l.opts.TTL)
		go func(done chan struct{}) { defer close(done); l.opts.Run(dctx) }(st.dutyEnded)
		return
	}
	rev, err := l.kv.Update(actx, l.opts.Key, []byte(l.opts.Holder), st.rev)
	switch {
	case err == nil:
		st.rev, st.sent = rev, sent
	case errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSequence(err):
		l.stepDown(st, "another server holds the lease")
	case time.Since(st.sent) > l.opts.TTL*2/3:
		l.stepDown(st, "lease not renewed in time: "+err.Error())
	default:
		l.log.Warn("lease: renewal failed; trying again", "err", err, "since_renewed", time.Since(st.sent).Round(time.Millisecond))
	}
}

// isWrongLastSequence reports JetStream's refusal of a conditional write
// whose expected revision is no longer the last: API error 10071, or
// 10164 from a replicated stream.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// stepDown ends the duty and waits for it.
func (l *Lease) stepDown(st *leaseState, why string) {
	l.leader.Store(false)
	st.stopDuty()
	<-st.dutyEnded
	if why == "closing" {
		l.log.Info("lease: this server no longer leads", "reason", why)
		return
	}
	l.log.Warn("lease: this server no longer leads", "reason", why)
}

// Close stops the duty if this process leads, releases the lease so
// another process takes it at its next attempt, and leaves the
// contention. Safe to call twice.
func (l *Lease) Close() error {
	l.once.Do(func() {
		l.cancel()
		<-l.done
	})
	return nil
}
