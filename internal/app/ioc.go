package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/match"
	"github.com/vigil-health/vigil/internal/scope"
)

// IOC matching (issue 19, docs/intel.md). Every server holds the index
// of the store's active indicators (intel/match) and matches the events
// of the EVENTS stream through a durable consumer of its own,
// "ioc-match", shared by the servers as "sigma-detect" is; each hit is
// an alert on the ALERTS stream in the event's organisation. A TLP:RED
// or TLP:AMBER+STRICT indicator is matched only for the organisations
// among its recipients (intel.Store.Share), so its alerts reach only
// inboxes whose people may read it; sharing one with an organisation
// through this process reloads the index at once.
//
// The index is built again, beside the one in use and swapped in, when
// the store changes: at once for an import through this process
// (intel.Store.OnChange), on another process's notice (a CLI import
// announces itself), and at the next IOCCheckInterval for a change no
// one announced (new objects, or a decay model, allowlist entry or
// verdict: intel.Store.LifecycleStamp); and every IOCRebuildInterval, for indicators whose
// valid_from has come (valid_until is checked at each hit).
//
// After a rebuild, the server holding the leader lease retro-matches the
// indicators added since the last retro-match against the last
// --ioc-retro-days of stored events, raising ioc-retro alerts; a
// TLP:RED or AMBER+STRICT indicator shared with organisations since,
// for those organisations alone; and a submission approved since, for
// everyone but its submitters. Where it
// got to is kept in <data-dir>/ioc-retro-mark; a server without one
// starts from the store as it finds it.

// IOCDurable is the matching consumer's name.
const IOCDurable = "ioc-match"

// How often the store is checked for changes no one announced, and how
// often the index is rebuilt regardless.
var (
	IOCCheckInterval   = 2 * time.Second
	IOCRebuildInterval = 15 * time.Minute
)

// IOC is live IOC matching.
type IOC struct {
	Matcher *match.Matcher
	kick    chan struct{}
	consume func() error // starts the consumer (only from the reloading goroutine)

	mu        sync.Mutex
	stats     match.Stats
	lastAdded time.Time // the store's LastAdded when the index was built
	lifeStamp string    // and its LifecycleStamp (models, allowlist, verdicts)
	swapped   time.Time // when the index in use was swapped in
	retroMark time.Time // indicators added after it are yet to be retro-matched
}

// Stats say what the index in use holds.
func (io *IOC) Stats() match.Stats {
	io.mu.Lock()
	defer io.mu.Unlock()
	return io.stats
}

// Reload asks for a rebuild (and a retro-match of what is new) soon.
func (io *IOC) Reload() {
	select {
	case io.kick <- struct{}{}:
	default:
	}
}

func (s *Server) retroMarkFile() string {
	return filepath.Join(s.Config.AbsDataDir(), "ioc-retro-mark")
}

// startIOC starts IOC matching: the first build and the consumer run in
// the background, so a large store does not hold up start-up (events
// wait on the stream meanwhile).
func (s *Server) startIOC(ctx context.Context) error {
	io := &IOC{Matcher: match.NewMatcher(nil), kick: make(chan struct{}, 1)}
	if b, err := os.ReadFile(s.retroMarkFile()); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b))); err == nil {
			io.retroMark = t
		}
	}
	if io.retroMark.IsZero() {
		t, err := s.Intel.LastAdded(ctx)
		if err != nil {
			return err
		}
		io.retroMark = t
	}
	s.IOC = io
	s.iocNotice.Store(io)
	s.Intel.OnChange(io.Reload)
	log := s.Log.With("component", "ioc")
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var stopConsumer func()
	// consume starts the consumer, once the index first holds an
	// indicator (a server with none has nothing to match). It starts at
	// the events published from then on: those already on the stream are
	// retro-matching's.
	io.consume = func() error {
		if stopConsumer != nil {
			return nil
		}
		stop, err := events.ConsumeWith(cctx, s.Bus.JetStream(), events.ConsumerOptions{
			Stream: ingest.EventStream, Durable: IOCDurable, Namespace: s.Bus.Namespace(), DecodeFields: true, DeliverNew: true, Logger: log,
		}, func(ctx context.Context, evs []events.Event) error { return s.iocMatch(ctx, io, evs) })
		if err != nil {
			return err
		}
		stopConsumer = stop
		return nil
	}
	go func() {
		defer close(done)
		if err := s.iocBuild(cctx, io); err != nil && cctx.Err() == nil {
			log.Error("ioc: the indicators were not loaded; matching waits for the next change", "err", err)
		}
		s.iocRetro(cctx, io, log)
		check, rebuild := time.NewTicker(IOCCheckInterval), time.NewTicker(IOCRebuildInterval)
		defer check.Stop()
		defer rebuild.Stop()
		for {
			changed := false
			select {
			case <-cctx.Done():
				return
			case <-io.kick:
				changed = true
			case <-check.C:
				la, err := s.Intel.LastAdded(cctx)
				ls, err2 := s.Intel.LifecycleStamp(cctx)
				io.mu.Lock()
				changed = err == nil && err2 == nil && (!la.Equal(io.lastAdded) || ls != io.lifeStamp)
				io.mu.Unlock()
			case <-rebuild.C:
				changed = true
			}
			if !changed {
				continue
			}
			if err := s.iocBuild(cctx, io); err != nil {
				if cctx.Err() == nil {
					log.Error("ioc: the indicators changed but were not reloaded; the previous ones stay", "err", err)
				}
				continue
			}
			s.iocRetro(cctx, io, log)
		}
	}()
	s.closers = append(s.closers, func() error {
		cancel()
		<-done
		if stopConsumer != nil {
			stopConsumer()
		}
		return nil
	})
	return nil
}

// iocBuild builds the index from the store and swaps it in.
func (s *Server) iocBuild(ctx context.Context, io *IOC) error {
	la, err := s.Intel.LastAdded(ctx) // before reading: a change meanwhile is seen again
	if err != nil {
		return err
	}
	ls, err := s.Intel.LifecycleStamp(ctx)
	if err != nil {
		return err
	}
	inds, _, err := match.Load(ctx, s.Intel, time.Time{})
	if err != nil {
		return err
	}
	o, err := match.Lifecycle(ctx, s.Intel)
	if err != nil {
		return err
	}
	o.Now = s.Now
	ix, st := match.Build(inds, o)
	if ix.Len() > 0 {
		// Before the swap, so no event published after it goes unmatched.
		if err := io.consume(); err != nil {
			return fmt.Errorf("start matching: %w", err)
		}
	}
	io.Matcher.Swap(ix)
	io.mu.Lock()
	io.stats, io.lastAdded, io.lifeStamp, io.swapped = st, la, ls, time.Now()
	io.mu.Unlock()
	s.Log.Info("ioc: indicators loaded", "indicators", st.Indicators, "values", st.Values, "skipped", st.Skipped, "took", st.BuildTime.Round(time.Millisecond))
	return nil
}

// iocRetro retro-matches the indicators added since the mark, on the
// leader only. Events received after the index holding them was swapped
// in were matched live and are left out.
func (s *Server) iocRetro(ctx context.Context, io *IOC, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	if s.Config.IOCRetroDays <= 0 || s.leading == nil || !s.leading() {
		return
	}
	io.mu.Lock()
	mark, swapped := io.retroMark, io.swapped
	io.mu.Unlock()
	inds, newest, err := match.Load(ctx, s.Intel, mark)
	if err != nil {
		log.Warn("ioc: retro-match: indicators not read", "err", err)
		return
	}
	// And TLP:RED or AMBER+STRICT ones shared since, for their new
	// recipients alone.
	loaded := make(map[string]bool, len(inds))
	for _, in := range inds {
		loaded[in.ID] = true
	}
	shared, sharedAt, err := match.LoadShared(ctx, s.Intel, mark, loaded)
	if err != nil {
		log.Warn("ioc: retro-match: shares not read", "err", err)
		return
	}
	inds = append(inds, shared...)
	if sharedAt.After(newest) {
		newest = sharedAt
	}
	// And submissions approved since, for everyone but their submitters
	// (whose events were retro-matched when they arrived).
	approved, submitters, approvedAt, err := match.LoadApproved(ctx, s.Intel, mark, loaded)
	if err != nil {
		log.Warn("ioc: retro-match: approvals not read", "err", err)
		return
	}
	inds = append(inds, approved...)
	if approvedAt.After(newest) {
		newest = approvedAt
	}
	if len(inds) == 0 {
		return
	}
	now := s.Now()
	o, err := match.Lifecycle(ctx, s.Intel)
	if err != nil {
		log.Warn("ioc: retro-match: allowlist not read", "err", err)
		return
	}
	o.Now, o.KeepValues = s.Now, true
	ix, _ := match.Build(inds, o)
	names := map[string][2]string{}
	var seen []intel.Sighting
	res, err := match.Retro(ctx, s.Events, scope.System("ioc-retro"), ix, ix.Values(),
		match.RetroOptions{Since: now.Add(-time.Duration(s.Config.IOCRetroDays) * 24 * time.Hour), Until: now.Add(time.Minute), Now: now},
		func(ev *events.Event, hits []match.Hit) error {
			if !ev.ReceivedAt.Before(swapped) {
				return nil
			}
			if len(submitters) > 0 {
				hits = slices.DeleteFunc(hits, func(h match.Hit) bool { return slices.Contains(submitters[ix.Info(h.Indicator).ID], ev.Org) })
				if len(hits) == 0 {
					return nil
				}
			}
			return s.publishSightings(ctx, ix, ev, hits, true, names, &seen)
		})
	if err == nil {
		err = s.Intel.RecordSightings(ctx, seen)
	}
	if err != nil {
		log.Warn("ioc: retro-match failed; it is tried again at the next change", "err", err)
		return
	}
	io.mu.Lock()
	io.retroMark = newest
	io.mu.Unlock()
	if err := os.WriteFile(s.retroMarkFile(), []byte(newest.Format(time.RFC3339Nano)+"\n"), 0o600); err != nil {
		log.Warn("ioc: retro-match mark not saved", "err", err)
	}
	log.Info("ioc: retro-matched new indicators", "indicators", ix.Len(), "days", s.Config.IOCRetroDays, "queries", res.Queries, "events", res.Events, "hits", res.Hits, "truncated", res.Truncated)
}

// iocMatch matches a batch of events and publishes an alert per hit.
func (s *Server) iocMatch(ctx context.Context, io *IOC, evs []events.Event) error {
	now := s.Now()
	var hits []match.Hit
	var ix *match.Index
	names := map[string][2]string{}
	var seen []intel.Sighting
	for i := range evs {
		ev := &evs[i]
		ix, hits = io.Matcher.Match(ev, now, hits[:0])
		if len(hits) == 0 {
			continue
		}
		if err := s.publishSightings(ctx, ix, ev, hits, false, names, &seen); err != nil {
			return err
		}
	}
	// One transaction a batch: a beaconing host's thousand hits are one write.
	if err := s.Intel.RecordSightings(ctx, seen); err != nil {
		return fmt.Errorf("ioc: record sightings: %w", err)
	}
	return nil
}

// publishSightings publishes one alert per hit, naming the indicator
// (its name and pattern read from the store once a batch), and adds a
// sighting per indicator hit to seen, which the caller records once a
// batch. A hit on an allowlisted value raises nothing.
func (s *Server) publishSightings(ctx context.Context, ix *match.Index, ev *events.Event, hits []match.Hit, retro bool, names map[string][2]string, seen *[]intel.Sighting) error {
	if ev.Org == "" {
		return nil
	}
	hits = slices.DeleteFunc(hits, ix.Allowlisted)
	// Each indicator hit is one sighting in the event's organisation
	// (however many fields matched), counted on the indicator.
	counted := map[uint32]bool{}
	at := ev.EventTime
	if at.IsZero() {
		at = s.Now()
	}
	for _, h := range hits {
		if !counted[h.Indicator] {
			counted[h.Indicator] = true
			*seen = append(*seen, intel.Sighting{Indicator: ix.Info(h.Indicator).ID, Org: ev.Org, Count: 1, LastSeen: at})
		}
	}
	for _, h := range hits {
		in := ix.Info(h.Indicator)
		np, ok := names[in.ID]
		if !ok {
			if o, err := s.Intel.Get(ctx, in.ID); err == nil {
				_, _ = o.Get("name", &np[0])    // a name of the wrong type is no name
				_, _ = o.Get("pattern", &np[1]) // the index read it already
			} else if !errors.Is(err, intel.ErrNotFound) {
				return err
			}
			names[in.ID] = np
		}
		sg := match.Sighting{Hit: h, Info: in, Name: np[0], Pattern: np[1], Retro: retro}
		a := sg.Alert(ev, DefaultAlertWindow)
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := s.Bus.Publish(ctx, cases.AlertSubject(a.Org), b, sg.MsgID(ev)); err != nil {
			return fmt.Errorf("ioc: publish an alert: %w", err)
		}
	}
	return nil
}
