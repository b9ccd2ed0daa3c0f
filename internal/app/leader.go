package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/vuln"
)

// Leader duties (docs/adr/0010-leader-lease.md): of the background work
// a `vigil serve` does, some would only repeat itself on every server of
// a deployment, each copy racing the others on the same rows —
//
//   - the cases' clocks: SLA and regulatory clocks past due breached
//     and escalated, and open national incidents refreshed from the
//     register (cases.RunClocks, every ClockInterval and when the
//     organisation tree or register changes);
//   - event retention: days older than --events-max-age or beyond
//     --events-max-bytes dropped (events.RunRetention, hourly);
//   - the national cyber alerts' clocks: reminders and the escalation of
//     a missed 48-hour acknowledgement to the region and ICB
//     (vuln.Alerts.RunClocks, every ClockInterval);
//   - assurance campaigns' reminders 7 and 1 days before the deadline
//     and the overdue notice (assurance.Service.RunReminders, every
//     ClockInterval);
//   - matching the stored SBOMs and inventories against --vuln-osv, so
//     an OSV directory kept in sync re-matches what changed
//     (vuln.SBOMs.RunMatch, every VulnMatchInterval);
//   - supplier evidence expiry: an inbox alert when a certificate or
//     other dated evidence comes within --assurance-expiry-notice of its
//     date and again when it lapses, each once
//     (assurance.Service.RunExpiry, every ExpiryInterval).
//   - pulling the intelligence feeds whose scheduled pull is due: remote
//     TAXII collections and MISP feeds (pull.Puller.Run, checked every
//     FeedPullTick), so a feed is pulled once, not by every server.
//   - fetching the vulnerability sources (NVD, KEV, EPSS, CSAF) named by
//     --vuln-sync-* into --vuln-sync-dir (vuln.RunSync, every
//     --vuln-sync-interval): one server fetching keeps within NVD's rate
//     limit and writes the directory once.
//
// All are already safe to run twice (a clock is breached by a guarded
// update; a second retention pass finds nothing), so the lease is not
// what keeps them correct: it makes them run once, on the server holding
// the lease on the key of the deployment (the database's identity) in
// the JetStream key-value bucket LeaderBucket, and move to another
// server within --leader-lease when that one dies.
//
// What stays on every server, on purpose: the consumers of the EVENTS,
// ALERTS and CASE_EVENTS streams (shared durable consumers already hand
// each message to one server), the audit head publisher (deduplicated by
// the head), the Microsoft 365 poller (each tenant's cursor is a
// compare-and-set in its own bucket), and each server's own views of its
// listeners — the ingest health samples and silent-source check, the
// analytics' windows — which see only the senders and events that server
// handled.
//
// With the embedded NATS server a deployment is one server, which leads
// for as long as it runs.

// FeedPullTick is how often the leader looks for intelligence feeds due
// a pull (each feed has its own interval, a minute at least).
var FeedPullTick = 30 * time.Second

// LeaderBucket is the key-value bucket of the servers' leases.
const LeaderBucket = "VIGIL_LEADER"

// leaderDuties runs the duties until ctx is done, and returns once they
// have stopped.
func (s *Server) leaderDuties(ctx context.Context) {
	stopClocks := s.Cases.RunClocks(ctx, ClockInterval)
	defer stopClocks()
	stopAlerts := s.Alerts.RunClocks(ctx, ClockInterval)
	defer stopAlerts()
	stopMatch := s.SBOMs.RunMatch(ctx, VulnMatchInterval)
	defer stopMatch()
	if d := s.duties; d.expiryOK {
		stopExpiry := s.Assurance.RunExpiry(ctx, ExpiryInterval, d.expiryNotice, s.raiseExpiry, s.Log.With("component", "assurance-expiry"))
		defer stopExpiry()
	}
	stopFeeds := s.Feeds.Run(ctx, FeedPullTick)
	defer stopFeeds()
	stopSync := vuln.RunSync(ctx, s.duties.sync, s.duties.syncEvery, s.Log.With("component", "vuln-sync"))
	defer stopSync()
	stopReminders := s.Assurance.RunReminders(ctx, ClockInterval)
	defer stopReminders()
	if p, ok := s.retentionPolicy(); ok {
		stop := events.RunRetention(ctx, s.Events, p, RetentionInterval, s.Log.With("component", "events"))
		defer stop()
	}
	<-ctx.Done()
}

// startLeaderDuties takes part in the election of the deployment's
// leader, or, with the embedded bus, just runs the duties.
// leaderSettings are what the leader duties read of the configuration.
type leaderSettings struct {
	expiryNotice time.Duration
	expiryOK     bool
	sync         vuln.SyncOptions
	syncEvery    time.Duration
}

func (s *Server) startLeaderDuties(ctx context.Context) error {
	// Read once, here: the duties run on goroutines of their own while
	// Start goes on writing Config.
	var err error
	s.duties.expiryNotice, err = s.Config.ExpiryNotice() // checked at start-up
	s.duties.expiryOK = err == nil
	s.duties.syncEvery, _ = s.Config.VulnSyncEvery() // checked by Config.Validate
	s.duties.sync = s.vulnSyncOptions()
	if s.Bus.Embedded() {
		dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); s.leaderDuties(dctx) }()
		s.leading = func() bool { return true }
		s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
		return nil
	}
	ttl, err := s.Config.LeaderLeaseDuration()
	if err != nil {
		return fmt.Errorf("--leader-lease: %w", err)
	}
	deployment, err := s.DB.Identity(ctx)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	lease, err := s.Bus.Lead(ctx, bus.LeaseOptions{
		Bucket: LeaderBucket, Key: deployment, TTL: ttl,
		Holder: fmt.Sprintf("%s pid %d (%s)", host, os.Getpid(), s.changes.origin),
		Logger: s.Log.With("component", "leader"),
		Run:    s.leaderDuties,
	})
	if err != nil {
		return err
	}
	s.leading = lease.Leader
	s.closers = append(s.closers, lease.Close)
	return nil
}
