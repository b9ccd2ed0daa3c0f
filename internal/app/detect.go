package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/analytics"
	"github.com/vigil-health/vigil/internal/attack"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
)

// Live detection (issue 17): a durable consumer of the events stream of
// its own, "sigma-detect", runs the analytics of --analytics
// (internal/analytics: first seen, rare values, volume, impossible
// travel) and the Sigma rules of --rules over every event, the rules as
// `vigil hunt` runs them over files (sigma.Hunter: each event against the
// rules of its log source, correlations in arrival order), and publishes
// each match as an alert on the ALERTS stream. Its batches are
// acknowledged once their alerts are published, so a crash redelivers
// the batch and the alerts' message IDs (rule and event) keep each alert
// once. Every server of a deployment shares the consumer; correlation
// windows are each server's own, and start empty when a server starts or
// the rules are reloaded.

// DetectDurable is the detection consumer's name.
const DetectDurable = "sigma-detect"

// DefaultAlertWindow is how long one rule's matches on one host are one
// alert in the inbox (its occurrences count them), so one noisy host
// does not raise ten thousand alerts.
var DefaultAlertWindow = time.Hour

// Detection is the live rule set (ReloadRules swaps it) and analytics.
type Detection struct {
	mu     sync.Mutex    // serialises batches, since correlations keep state
	hunter *sigma.Hunter // nil with no rule to run
	// stored are the stored rules' settings and exceptions (internal/rules),
	// which decide, for each match, whether and at what level it is raised
	// for the event's organisation.
	stored *rules.Set
	rules  int
	corrs  int
	paths  []string
	ph     string
	// reload serialises reloads; consume starts the consumer when a
	// reload brings the first rule to a server that had nothing to run.
	reload    sync.Mutex
	consume   func() error
	consuming bool
	// stop stops the consumer; closed says the server is closing, so a
	// reload must not start one. Both under reload.
	stop   func()
	closed bool
	// analytics is nil with --analytics off; its state is saved under
	// the data directory (analyticsState) every AnalyticsSaveInterval
	// and at close, and read back at start.
	analytics *analytics.Engine
}

// RuleCounts says how many rules and correlation rules run live.
func (d *Detection) RuleCounts() (rules, correlations int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rules, d.corrs
}

// Generation is the stored rules' generation the live set was read at.
func (d *Detection) Generation() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stored == nil {
		return -1
	}
	return d.stored.Generation
}

// RulesCheckInterval is how often a server looks for stored rule changes
// made by another process that it was not told of (a CLI command beside
// an embedded bus).
var RulesCheckInterval = 2 * time.Second

// loadRules loads --rules with --rule-placeholders and the stored rules
// that run somewhere (internal/rules). Rules that do not load are logged
// with their file, line and reason and left out. A stored rule whose id a
// --rules file gives too is left out: the file wins.
func (s *Server) loadRules(paths []string, placeholders string) (*sigma.Hunter, *rules.Set, int, int, error) {
	var opts sigma.Options
	if placeholders != "" {
		ph, err := sigma.LoadPlaceholders(placeholders)
		if err != nil {
			return nil, nil, 0, 0, fmt.Errorf("--rule-placeholders: %w", err)
		}
		opts.Placeholders = ph
	}
	var err error
	if opts.Pipelines, err = sigma.LoadPipelines(splitPaths(s.Config.RulePipeline)); err != nil {
		return nil, nil, 0, 0, fmt.Errorf("--rule-pipeline: %w", err)
	}
	for _, p := range opts.Pipelines {
		for _, u := range p.Unsupported() {
			s.Log.Warn("detection: pipeline item not supported; the rules it applies to are not loaded", "item", u)
		}
	}
	corpus := &sigma.Corpus{}
	if len(paths) > 0 {
		if corpus, err = sigma.LoadPaths(paths, opts); err != nil {
			return nil, nil, 0, 0, fmt.Errorf("--rules: %w", err)
		}
	}
	set, err := s.Rules.Snapshot(context.Background())
	if err != nil {
		return nil, nil, 0, 0, err
	}
	stored, err := set.Corpus(opts)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("stored rules: %w", err)
	}
	fromFiles := map[string]bool{}
	for _, r := range corpus.Rules {
		fromFiles[r.Rule.ID] = true
	}
	for _, c := range corpus.Correlations {
		fromFiles[c.ID] = true
	}
	delete(fromFiles, "")
	for _, r := range stored.Rules {
		if !fromFiles[r.Rule.ID] || r.Rule.ID == "" {
			corpus.Rules = append(corpus.Rules, r)
		}
	}
	for _, c := range stored.Correlations {
		if !fromFiles[c.ID] || c.ID == "" {
			corpus.Correlations = append(corpus.Correlations, c)
		}
	}
	corpus.Failed = append(corpus.Failed, stored.Failed...)
	for _, f := range corpus.Failed {
		s.Log.Warn("detection: rule not loaded", "rule", f.Error())
	}
	if len(corpus.Rules) == 0 && len(corpus.Correlations) == 0 {
		return nil, set, 0, 0, nil
	}
	h, err := sigma.NewCorpusHunter(corpus)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("--rules: %w", err)
	}
	return h, set, len(corpus.Rules), len(corpus.Correlations), nil
}

// startDetection starts live detection: the analytics (unless
// --analytics off), the rules of --rules and the stored rules. A server
// with nothing to run starts the consumer when a stored rule arrives.
func (s *Server) startDetection(ctx context.Context) error {
	d := &Detection{paths: splitPaths(s.Config.Rules), ph: s.Config.RulePlaceholders}
	h, set, n, c, err := s.loadRules(d.paths, d.ph)
	if err != nil {
		return err
	}
	d.hunter, d.stored, d.rules, d.corrs = h, set, n, c
	if n+c > 0 {
		s.Log.Info("detection: rules loaded", "rules", n, "correlations", c, "stored", set.Rules())
	}
	if err := s.startAnalytics(d); err != nil {
		return err
	}
	cctx := context.WithoutCancel(ctx)
	// consume runs under d.reload, perhaps from a reload long after start:
	// it keeps its stop in d, for the closer registered here, rather than
	// adding a closer while Close may be reading them (a data race).
	d.consume = func() error {
		if d.closed {
			return nil
		}
		stop, err := events.ConsumeWith(cctx, s.Bus.JetStream(), events.ConsumerOptions{
			Stream: ingest.EventStream, Durable: DetectDurable, Namespace: s.Bus.Namespace(), Logger: s.Log.With("component", "detection"),
			// Flows as their records: writing out a flow's fields is
			// most of reading it, and few rules or analytics look at
			// flows (LoadFields writes out those they do).
			Records: true,
		}, func(ctx context.Context, evs []events.Event) error { return s.detect(ctx, d, evs) })
		if err != nil {
			return err
		}
		d.consuming, d.stop = true, stop
		return nil
	}
	s.closers = append(s.closers, func() error {
		d.reload.Lock()
		defer d.reload.Unlock()
		d.closed = true
		if d.stop != nil {
			d.stop()
			d.stop = nil
		}
		return nil
	})
	s.Detection = d
	if d.hunter != nil || d.analytics != nil {
		d.reload.Lock()
		err := d.consume()
		d.reload.Unlock()
		if err != nil {
			return err
		}
	}
	s.watchStoredRules(cctx, d)
	if d.analytics != nil {
		// Volume analytics judge hours that ended in silence too: a tick
		// a minute, and the state saved every few minutes and at close.
		tctx, cancel := context.WithCancel(cctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick, save := time.NewTicker(time.Minute), time.NewTicker(AnalyticsSaveInterval)
			defer tick.Stop()
			defer save.Stop()
			for {
				select {
				case <-tctx.Done():
					return
				case <-tick.C:
					if err := s.publishFindings(tctx, d.analytics.Tick(s.Now())); err != nil {
						s.Log.Warn("analytics: publish", "err", err)
					}
				case <-save.C:
					if err := s.saveAnalytics(d.analytics); err != nil {
						s.Log.Warn("analytics: save state", "err", err)
					}
				}
			}
		}()
		s.closers = append(s.closers, func() error {
			cancel()
			<-done
			return s.saveAnalytics(d.analytics)
		})
	}
	return nil
}

// watchStoredRules reloads the rules when the stored ones change: at once
// for a change made through this server (rules.Service.OnChange), on
// another server's notice, and at the next RulesCheckInterval for a
// change no one announced (a CLI command beside an embedded bus).
func (s *Server) watchStoredRules(ctx context.Context, d *Detection) {
	reload := func(why string) {
		if err := s.reloadStored(); err != nil {
			s.Log.Error("detection: the stored rules changed but were not reloaded; the previous ones stay", "why", why, "err", err)
		}
	}
	s.Rules.OnChange(func() { reload("changed here") })
	notice := func() { reload("another process's notice") }
	s.rulesNotice.Store(&notice)
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(RulesCheckInterval)
		defer t.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case <-t.C:
				g, err := s.Rules.Generation(tctx)
				if err == nil && g != d.Generation() {
					reload("generation moved")
				}
			}
		}
	}()
	s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
}

// CoverageHitsWindow is how far back the coverage page counts alerts,
// and CoverageHitsMax the most alerts it reads.
var (
	CoverageHitsWindow       = 30 * 24 * time.Hour
	CoverageHitsMax    int64 = 20_000
)

// loadAttack reads --attack for the coverage page.
func (s *Server) loadAttack() error {
	if s.Config.Attack == "" {
		return nil
	}
	m, err := attack.LoadFile(s.Config.Attack)
	if err != nil {
		return fmt.Errorf("--attack: %w", err)
	}
	s.attack = m
	return nil
}

// Coverage lays the live rules over ATT&CK, with the alerts the rules
// raised in the last CoverageHitsWindow in organisations sc may read;
// for org (one sc may read), only the rules enabled for it and the
// alerts raised in it.
func (s *Server) Coverage(ctx context.Context, sc scope.Scope, org string) (sigma.Coverage, error) {
	if org != "" {
		if _, err := s.Orgs.Get(ctx, sc, org); err != nil {
			return sigma.Coverage{}, err
		}
	}
	var running []*sigma.Rule
	if d := s.Detection; d != nil {
		d.mu.Lock()
		if d.hunter != nil {
			for _, r := range d.hunter.RuleList() {
				if org == "" || d.stored.EnabledFor(r.ID, org) {
					running = append(running, r)
				}
			}
		}
		d.mu.Unlock()
	}
	hits := map[string]int64{}
	f := cases.AlertFilter{Source: "sigma", Org: org, Since: s.Now().Add(-CoverageHitsWindow), Limit: cases.MaxPage}
	var read int64
	for read < CoverageHitsMax {
		as, next, err := s.Cases.ListAlerts(ctx, sc, f)
		if err != nil {
			return sigma.Coverage{}, err
		}
		for _, a := range as {
			sigma.CountHits(s.attack, strings.Fields(a.Fields["rule_tags"]), hits)
		}
		read += int64(len(as))
		if next == "" {
			break
		}
		f.After = next
	}
	c := sigma.CoverageOf(s.attack, running, hits)
	c.Org = org
	return c, nil
}

// AnalyticsSaveInterval is how often the analytics' state is saved.
var AnalyticsSaveInterval = 5 * time.Minute

// analyticsState is where this server keeps what its analytics learnt.
func (s *Server) analyticsState() string {
	return filepath.Join(s.Config.AbsDataDir(), "analytics-state.json")
}

// startAnalytics builds the analytics of --analytics and reads back the
// state a previous run saved; a state that cannot be read is logged and
// learning starts afresh.
func (s *Server) startAnalytics(d *Detection) error {
	file := strings.TrimSpace(s.Config.Analytics)
	if strings.EqualFold(file, "off") {
		return nil
	}
	var cfg *analytics.Config
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("--analytics: %w", err)
		}
		cfg, err = analytics.LoadConfig(file, f)
		_ = f.Close() // read only
		if err != nil {
			return fmt.Errorf("--analytics: %w", err)
		}
	}
	e, err := analytics.New(cfg)
	if err != nil {
		return fmt.Errorf("--analytics: %w", err)
	}
	if f, err := os.Open(s.analyticsState()); err == nil {
		if err := e.Restore(f); err != nil {
			s.Log.Warn("analytics: the saved state was not read; learning starts afresh", "file", s.analyticsState(), "err", err)
		}
		_ = f.Close() // read only
	}
	d.analytics = e
	return nil
}

// saveAnalytics writes the analytics' state, replacing the previous
// file only once the new one is whole.
func (s *Server) saveAnalytics(e *analytics.Engine) error {
	path := s.analyticsState()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = e.Snapshot(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// publishFindings puts the analytics' findings on the ALERTS stream,
// each under its stable ID.
func (s *Server) publishFindings(ctx context.Context, fs []analytics.Finding) error {
	for _, f := range fs {
		a := f.Alert()
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := s.Bus.Publish(ctx, cases.AlertSubject(a.Org), b, f.ID()); err != nil {
			return fmt.Errorf("publish an analytics alert: %w", err)
		}
	}
	return nil
}

// ReloadRules loads --rules and the stored rules again (serve does on
// SIGHUP and when stored rules change); rules that do not load are logged
// and left out, and a set that cannot load at all leaves the running one
// in force.
func (s *Server) ReloadRules() error {
	d := s.Detection
	if d == nil {
		return errors.New("detection is not running")
	}
	d.reload.Lock()
	defer d.reload.Unlock()
	h, set, n, c, err := s.loadRules(d.paths, d.ph)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.hunter, d.stored, d.rules, d.corrs = h, set, n, c
	d.mu.Unlock()
	if h != nil && !d.consuming {
		return d.consume()
	}
	return nil
}

// reloadStored follows a change of the stored rules: when the rule texts
// to run are the ones running (a change of settings or exceptions, or of
// a rule that runs nowhere) it swaps in the new settings at once;
// otherwise it loads everything again (1 to 2 s for SigmaHQ's 3,141
// rules).
func (s *Server) reloadStored() error {
	d := s.Detection
	d.reload.Lock()
	set, err := s.Rules.Snapshot(context.Background())
	if err != nil {
		d.reload.Unlock()
		return err
	}
	d.mu.Lock()
	same := d.stored != nil && d.stored.Texts == set.Texts
	if same {
		d.stored = set
	}
	d.mu.Unlock()
	d.reload.Unlock()
	if same {
		return nil
	}
	return s.ReloadRules()
}

// detect runs the rules over a batch and publishes its alerts. Each match
// is raised, at its level, as the stored settings of the event's
// organisation say (rules.Set.Decide), and counted in the rules' hit
// statistics.
func (s *Server) detect(ctx context.Context, d *Detection, evs []events.Event) error {
	type pending struct {
		a  cases.NewAlert
		id string
	}
	var out []pending
	var found []analytics.Finding
	hits := rules.Hits{}
	now := s.Now()
	d.mu.Lock()
	for i := range evs {
		ev := &evs[i]
		if d.analytics != nil {
			found = append(found, d.analytics.Observe(ev)...)
		}
		if d.hunter == nil || !d.hunter.Covers(ev) {
			continue
		}
		// The rules read the fields of every event of their log sources;
		// the consumer leaves them as the stream's JSON (or a flow's
		// record), which the analytics decode only for the events their
		// filters ask about.
		if err := ev.LoadFields(); err != nil {
			s.Log.Error("detection: an event whose fields do not decode", "id", ev.ID, "err", err)
		}
		decide := func(id, title, level string) (rules.Decision, bool) {
			dec := d.stored.Decide(id, strings.ToLower(level), ev.Org, sigma.FromEvent(ev), now)
			if dec.Raise || dec.Exception != "" {
				hits.Add(ruleKey(id, title), ev.Org, now, !dec.Raise)
			}
			return dec, dec.Raise
		}
		d.hunter.Detect(ev, func(c *sigma.CompiledRule) {
			dec, ok := decide(c.Rule.ID, c.Rule.Title, c.Rule.Level)
			if !ok {
				return
			}
			a := SigmaAlert(c, ev, DefaultAlertWindow)
			relevel(&a, c.Rule.Level, dec.Level)
			out = append(out, pending{a, "sigma/" + ruleKey(c.Rule.ID, c.Rule.Title) + "/" + ev.ID})
		}, func(c *sigma.CompiledRule, x sigma.CorrelationHit) {
			dec, ok := decide(x.Correlation.ID, x.Correlation.Title, x.Correlation.Level)
			if !ok {
				return
			}
			a := CorrelationAlert(x, ev)
			relevel(&a, x.Correlation.Level, dec.Level)
			out = append(out, pending{a, "sigma-corr/" + a.SourceRef + "/" + ev.ID})
		})
	}
	d.mu.Unlock()
	if err := s.publishFindings(ctx, found); err != nil {
		return err
	}
	for _, p := range out {
		b, err := json.Marshal(p.a)
		if err != nil {
			return err
		}
		if err := s.Bus.Publish(ctx, cases.AlertSubject(p.a.Org), b, p.id); err != nil {
			return fmt.Errorf("detection: publish an alert: %w", err)
		}
	}
	// Statistics are best effort: a batch redelivered after a failure
	// here would raise nothing twice but count its hits again.
	if err := s.Rules.RecordHits(ctx, hits); err != nil {
		s.Log.Warn("detection: rule hit statistics not recorded", "err", err)
	}
	return nil
}

// relevel gives an alert the level its organisation's settings chose,
// keeping the rule's own beside it.
func relevel(a *cases.NewAlert, own, level string) {
	if level == "" || strings.EqualFold(level, own) {
		return
	}
	a.Severity = sigmaSeverity(level)
	a.Fields["rule_level"] = level
	a.Fields["rule_level_own"] = own
}

// ruleKey is a rule's id, or its title when it has none.
func ruleKey(id, title string) string {
	if id != "" {
		return id
	}
	return title
}

// sigmaSeverity maps a Sigma level to the inbox's severity.
func sigmaSeverity(level string) cases.Severity {
	switch strings.ToLower(level) {
	case "informational":
		return cases.Info
	case "low":
		return cases.Low
	case "high":
		return cases.High
	case "critical":
		return cases.Critical
	}
	return cases.Medium
}

// SigmaAlert is the inbox alert for a rule's match. Its source_ref is the
// rule, the host and the window the event falls in, so one rule on one
// host raises one alert a window whose occurrences count the matches.
// The rule's author is shown with it, as SigmaHQ's Detection Rule
// License asks wherever matches are shown.
func SigmaAlert(c *sigma.CompiledRule, ev *events.Event, window time.Duration) cases.NewAlert {
	r := c.Rule
	host := eventHost(ev)
	t := ev.EventTime.UTC()
	win := t.Truncate(window)
	ex := c.Explain(sigma.FromEvent(ev))
	fields := map[string]string{
		"rule_id": r.ID, "rule_level": r.Level, "rule_status": r.Status, "rule_author": r.Author,
		"rule_file": r.File, "rule_tags": strings.Join(r.Tags, " "), "event_id": ev.ID,
		"event_time": t.Format(time.RFC3339Nano), "log_source": strings.Trim(ev.Product+"/"+ev.Category+"/"+ev.Service, "/"),
		"matched_searches": strings.Join(ex.Searches, ", "), "matched_fields": strings.Join(ex.Fields, ", "),
	}
	for _, f := range ex.Fields {
		if v, ok := ev.Fields[f]; ok && len(fields) < 40 {
			fields[fieldName("event."+f)] = clipBytes(events.FieldText(v), 2000)
		}
	}
	var desc strings.Builder
	desc.WriteString(r.Description)
	fmt.Fprintf(&desc, "\n\nSigma rule %q (%s, level %s) by %s matched event %s", r.Title, ruleKey(r.ID, r.File), r.Level, orUnknown(r.Author), ev.ID)
	if host != "" {
		fmt.Fprintf(&desc, " on %s", host)
	}
	fmt.Fprintf(&desc, " at %s.", t.Format(time.RFC3339))
	if len(ex.Searches) > 0 {
		fmt.Fprintf(&desc, " It matched %s on %s.", strings.Join(ex.Searches, ", "), strings.Join(ex.Fields, ", "))
	}
	if len(r.FalsePositives) > 0 {
		fmt.Fprintf(&desc, "\n\nKnown false positives: %s.", strings.Join(r.FalsePositives, "; "))
	}
	if len(r.References) > 0 {
		fmt.Fprintf(&desc, "\n\nReferences: %s", strings.Join(r.References, " "))
	}
	ref := ruleKey(r.ID, r.Title) + "/" + orUnknown(host) + "/" + win.Format(time.RFC3339)
	return cases.NewAlert{
		Source: "sigma", Type: "rule", SourceRef: clipBytes(ref, 200), Title: clipBytes(r.Title, 200),
		Description: clipBytes(desc.String(), 19_000), Severity: sigmaSeverity(r.Level), Org: ev.Org, TLP: cases.TLPAmber,
		Observables: eventObservables(ev), Fields: fields, FirstSeen: &t, LastSeen: &t,
	}
}

// CorrelationAlert is the inbox alert for a correlation rule that fired:
// one per correlation, group and window.
func CorrelationAlert(x sigma.CorrelationHit, ev *events.Event) cases.NewAlert {
	c := x.Correlation
	t := x.Time.UTC()
	var group []string
	fields := map[string]string{
		"rule_id": c.ID, "rule_level": c.Level, "rule_author": c.Author, "rule_file": c.File,
		"rule_tags": strings.Join(c.Tags, " "), "correlation_type": string(c.Type),
		"correlation_value": fmt.Sprint(x.Value), "timespan": c.Timespan.String(), "event_id": ev.ID,
		"event_time": t.Format(time.RFC3339Nano), "rules": strings.Join(c.Rules, ", "),
	}
	for k, v := range x.Group {
		group = append(group, k+"="+v)
		fields[fieldName("group."+k)] = clipBytes(v, 500)
	}
	slices.Sort(group)
	desc := fmt.Sprintf("%s\n\nSigma correlation %q (%s, %s, level %s) by %s: %s reached %v within %s for %s, completed by event %s at %s.",
		c.Description, c.Title, ruleKey(c.ID, c.File), c.Type, c.Level, orUnknown(c.Author), strings.Join(c.Rules, ", "),
		x.Value, c.Timespan, orUnknown(strings.Join(group, ", ")), ev.ID, t.Format(time.RFC3339))
	ref := ruleKey(c.ID, c.Title) + "/" + strings.Join(group, ",") + "/" + t.Truncate(max(c.Timespan, time.Minute)).Format(time.RFC3339)
	return cases.NewAlert{
		Source: "sigma", Type: "correlation", SourceRef: clipBytes(ref, 200), Title: clipBytes(c.Title, 200),
		Description: clipBytes(desc, 19_000), Severity: sigmaSeverity(c.Level), Org: ev.Org, TLP: cases.TLPAmber,
		Observables: eventObservables(ev), Fields: fields, FirstSeen: &t, LastSeen: &t,
	}
}

// fieldName is an event's field name as an alert's field may be named:
// lower case, letters, digits and _ . - only, at most 64.
func fieldName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// eventHost is the host an event names.
func eventHost(ev *events.Event) string {
	if ev.Source.Host != "" {
		return ev.Source.Host
	}
	for _, k := range []string{"Computer", "Hostname", "host.name", "hostname"} {
		if v, ok := ev.Fields[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// eventObservables are the host, users and addresses an event names.
func eventObservables(ev *events.Event) []cases.Observable {
	var out []cases.Observable
	seen := map[string]bool{}
	add := func(t cases.ObservableType, v string) {
		v = strings.TrimSpace(v)
		if v == "" || v == "-" || seen[string(t)+v] || len(out) >= 20 {
			return
		}
		if n, err := cases.NormaliseObservable("observables", cases.Observable{Type: t, Value: v}); err == nil {
			seen[string(t)+v] = true
			out = append(out, n)
		}
	}
	add(cases.ObsHost, eventHost(ev))
	for _, k := range []string{"User", "SubjectUserName", "TargetUserName", "user.name", "userPrincipalName"} {
		if v, ok := ev.Fields[k].(string); ok {
			add(cases.ObsUser, v)
		}
	}
	for _, k := range []string{"SourceIp", "DestinationIp", "IpAddress", "src_ip", "dst_ip", "source.ip", "destination.ip", "ipAddress"} {
		if v, ok := ev.Fields[k].(string); ok {
			if _, err := netip.ParseAddr(v); err == nil {
				add(cases.ObsIP, v)
			}
		}
	}
	return out
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}

// clipBytes cuts s to at most n bytes on a rune boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// splitPaths reads a comma-separated list of paths.
func splitPaths(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
