package cases

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Clocks (issue 15; docs/adr/0005-clocks-incidents.md). Every case gets
// the SLA clocks of its severity when it opens — acknowledge, respond,
// resolve — and may get the regulatory clocks: the NIS incident report
// and the ICO personal-data breach report, each due 72 hours after the
// organisation became aware. A clock is met when the case first reaches
// its state or a later one:
//
//	ack      the case moves to in-progress (or straight on to resolved or closed)
//	respond  the case is resolved (contained and remediated) or closed
//	resolve  the case is closed
//	nis, ico the report is made (StartClock with action "reported")
//
// A running clock past its due time is breached by the serve ticker
// (CheckClocks, with the injected clock), or at the moment the case
// reaches the state late. A breach writes a timeline entry and an audit
// entry, and emits clock.breached and case.escalated (to the case
// organisation's region and the national root) for notifications.

// ClockKind names a clock.
type ClockKind string

const (
	ClockAck     ClockKind = "ack"
	ClockRespond ClockKind = "respond"
	ClockResolve ClockKind = "resolve"
	ClockNIS     ClockKind = "nis"
	ClockICO     ClockKind = "ico"
)

// ClockKinds lists the clocks in the order they are shown.
func ClockKinds() []ClockKind {
	return []ClockKind{ClockAck, ClockRespond, ClockResolve, ClockNIS, ClockICO}
}

func (k ClockKind) regulatory() bool { return k == ClockNIS || k == ClockICO }

// Label is how people read the clock's name.
func (k ClockKind) Label() string {
	switch k {
	case ClockAck:
		return "Acknowledge"
	case ClockRespond:
		return "Respond"
	case ClockResolve:
		return "Resolve"
	case ClockNIS:
		return "NIS incident report"
	case ClockICO:
		return "ICO breach report"
	}
	return string(k)
}

// Clock states.
const (
	ClockRunning   = "running"
	ClockMet       = "met"
	ClockBreached  = "breached"
	ClockCancelled = "cancelled"
)

// RegulatoryWindow is the time the NIS Regulations 2018 (reg. 11: "without
// undue delay and in any event no later than 72 hours after becoming
// aware") and UK GDPR art. 33 give to report.
const RegulatoryWindow = 72 * time.Hour

// SLA is the time allowed to acknowledge, respond to and resolve a case of
// one severity, from when it opens; zero means no such clock.
type SLA struct {
	Ack     time.Duration `json:"ack"`
	Respond time.Duration `json:"respond"`
	Resolve time.Duration `json:"resolve"`
}

func (a SLA) of(k ClockKind) time.Duration {
	switch k {
	case ClockAck:
		return a.Ack
	case ClockRespond:
		return a.Respond
	case ClockResolve:
		return a.Resolve
	}
	return 0
}

// SLAPolicy is the SLA of each severity.
type SLAPolicy map[Severity]SLA

// DefaultSLA is the policy when none is configured: a critical case is
// acknowledged within 15 minutes (a person is on it), responded to —
// contained and remediated, status resolved — within 1 hour and closed
// within 24; each step down allows several times longer. Informational
// cases have no clocks.
func DefaultSLA() SLAPolicy {
	h := time.Hour
	return SLAPolicy{
		Critical: {Ack: 15 * time.Minute, Respond: h, Resolve: 24 * h},
		High:     {Ack: h, Respond: 4 * h, Resolve: 72 * h},
		Medium:   {Ack: 4 * h, Respond: 24 * h, Resolve: 7 * 24 * h},
		Low:      {Ack: 24 * h, Respond: 72 * h, Resolve: 30 * 24 * h},
		Info:     {},
	}
}

// ParseSLA reads overrides of the default policy, as --case-sla takes
// them: "critical=15m/1h/24h,high=30m/4h/72h" (acknowledge/respond/resolve
// as Go durations; 0 for no clock). Severities not named keep their
// defaults. Errors name the part at fault.
func ParseSLA(s string) (SLAPolicy, error) {
	p := DefaultSLA()
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		sev, times, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want severity=ack/respond/resolve, e.g. critical=15m/1h/24h", part)
		}
		sv := Severity(strings.ToLower(strings.TrimSpace(sev)))
		if err := oneOf("severity", sv, Severities()); err != nil {
			return nil, fmt.Errorf("%q: %s", part, fault.Message(err))
		}
		ds := strings.Split(times, "/")
		if len(ds) != 3 {
			return nil, fmt.Errorf("%q: want three durations ack/respond/resolve, e.g. 15m/1h/24h", part)
		}
		var v [3]time.Duration
		for i, d := range ds {
			x, err := time.ParseDuration(strings.TrimSpace(d))
			if err != nil || x < 0 {
				return nil, fmt.Errorf("%q: %q is not a duration such as 15m, 4h or 0 (none)", part, d)
			}
			v[i] = x
		}
		p[sv] = SLA{Ack: v[0], Respond: v[1], Resolve: v[2]}
	}
	return p, nil
}

// Clock is one clock of a case, as GetCase and Clocks return it.
type Clock struct {
	Clock      ClockKind  `json:"clock"`
	Label      string     `json:"label"`
	State      string     `json:"state"`
	StartedAt  time.Time  `json:"started_at"`
	DueAt      time.Time  `json:"due_at"`
	MetAt      *time.Time `json:"met_at,omitempty"`
	BreachedAt *time.Time `json:"breached_at,omitempty"`
	// Source says what started it: "severity high", "field aware_on",
	// "started by someone@…".
	Source string `json:"source,omitempty"`
}

const clockCols = `clock, state, started_at, due_at, met_at, breached_at, source`

func scanClock(r scanner) (Clock, error) {
	var k Clock
	var started, due, met, breached string
	if err := r.Scan(&k.Clock, &k.State, &started, &due, &met, &breached, &k.Source); err != nil {
		return k, err
	}
	k.Label = k.Clock.Label()
	k.StartedAt, k.DueAt = parseTS(started), parseTS(due)
	k.MetAt, k.BreachedAt = optTS(met), optTS(breached)
	return k, nil
}

func (s *Service) caseClocks(ctx context.Context, q store.Queryer, caseID string) ([]Clock, error) {
	ks, err := queryAll(ctx, q, `SELECT `+clockCols+` FROM case_clocks WHERE case_id = ?`, scanClock, caseID)
	if err != nil {
		return nil, err
	}
	order := ClockKinds()
	slices.SortFunc(ks, func(a, b Clock) int { return slices.Index(order, a.Clock) - slices.Index(order, b.Clock) })
	return ks, nil
}

// Clocks returns the clocks of a case sc may read.
func (s *Service) Clocks(ctx context.Context, sc scope.Scope, caseID string) ([]Clock, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return nil, err
	}
	ks, err := s.caseClocks(ctx, q, caseID)
	if ks == nil {
		ks = []Clock{}
	}
	return ks, err
}

// startSLAClocks starts the SLA clocks of a new case, from its creation.
func (s *Service) startSLAClocks(ctx context.Context, tx *store.Tx, c *Case) error {
	sla := s.opts.SLA[c.Severity]
	for _, k := range []ClockKind{ClockAck, ClockRespond, ClockResolve} {
		if d := sla.of(k); d > 0 {
			if err := insertClock(ctx, tx, c, k, c.CreatedAt, c.CreatedAt.Add(d), "severity "+string(c.Severity)); err != nil {
				return err
			}
		}
	}
	return nil
}

func insertClock(ctx context.Context, tx *store.Tx, c *Case, k ClockKind, start, due time.Time, source string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO case_clocks (case_id, clock, org, state, started_at, due_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, string(k), c.Org, ClockRunning, ts(start), ts(due), source)
	if err != nil {
		return fmt.Errorf("cases: start clock %s of %s: %w", k, c.ID, err)
	}
	return nil
}

// rescheduleSLA follows a change of severity: running SLA clocks take the
// new severity's times from the case's opening (a clock that is then
// past due is breached by the next tick), clocks the new severity lacks
// are cancelled, and ones it adds start as if the case had opened with it.
func (s *Service) rescheduleSLA(ctx context.Context, tx *store.Tx, c *Case) error {
	have, err := s.caseClocks(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	sla := s.opts.SLA[c.Severity]
	source := "severity " + string(c.Severity)
	for _, k := range []ClockKind{ClockAck, ClockRespond, ClockResolve} {
		d := sla.of(k)
		i := slices.IndexFunc(have, func(x Clock) bool { return x.Clock == k })
		switch {
		case i < 0 && d > 0 && !reached(c, k):
			if err := insertClock(ctx, tx, c, k, c.CreatedAt, c.CreatedAt.Add(d), source); err != nil {
				return err
			}
		case i >= 0 && have[i].State == ClockRunning && d > 0:
			if _, err := tx.ExecContext(ctx, `UPDATE case_clocks SET due_at = ?, source = ? WHERE case_id = ? AND clock = ?`,
				ts(have[i].StartedAt.Add(d)), source, c.ID, string(k)); err != nil {
				return err
			}
		case i >= 0 && have[i].State == ClockRunning:
			if _, err := tx.ExecContext(ctx, `UPDATE case_clocks SET state = ?, source = ? WHERE case_id = ? AND clock = ?`,
				ClockCancelled, source, c.ID, string(k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// reached reports whether case c has reached the state that meets SLA
// clock k.
func reached(c *Case, k ClockKind) bool {
	switch k {
	case ClockAck:
		return c.Status != CaseNew
	case ClockRespond:
		return c.Status == CaseResolved || c.Status == CaseClosed
	case ClockResolve:
		return c.Status == CaseClosed
	}
	return false
}

// meetClocks meets the running SLA clocks case c has now reached; one
// reached past its due time is breached (and escalated) as it is met.
func (s *Service) meetClocks(ctx context.Context, tx *store.Tx, c *Case) error {
	have, err := s.caseClocks(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	now := s.now()
	for _, k := range have {
		if k.State != ClockRunning || k.Clock.regulatory() || !reached(c, k.Clock) {
			continue
		}
		if now.After(k.DueAt) {
			if err := s.breach(ctx, tx, dueClock{caseID: c.ID, clock: k.Clock, org: c.Org, due: k.DueAt, assignee: c.Assignee, title: c.Title}, now, true); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE case_clocks SET state = ?, met_at = ? WHERE case_id = ? AND clock = ? AND state = ?`,
			ClockMet, ts(now), c.ID, string(k.Clock), ClockRunning); err != nil {
			return err
		}
	}
	return nil
}

// fieldClocks starts (or moves) the regulatory clocks that c's template
// fields start (starts_clock): a running clock follows a corrected date;
// one met or breached stays as it is.
func (s *Service) fieldClocks(ctx context.Context, tx *store.Tx, sc scope.Scope, c *Case) error {
	tpl := s.templates[c.Template]
	if tpl == nil {
		return nil
	}
	for _, f := range tpl.Fields {
		v, ok := c.Fields[f.Name].(string)
		if f.StartsClock == "" || !ok {
			continue
		}
		start, err := time.Parse(time.DateOnly, v)
		if err != nil {
			continue // checkFieldValues has checked it
		}
		if err := s.startRegulatory(ctx, tx, sc, c, f.StartsClock, start, "field "+f.Name, false); err != nil {
			return err
		}
	}
	return nil
}

// startRegulatory starts clock k of c from start, or moves a running one;
// explicit says whether a caller asked (a met clock is then a conflict).
func (s *Service) startRegulatory(ctx context.Context, tx *store.Tx, sc scope.Scope, c *Case, k ClockKind, start time.Time, source string, explicit bool) error {
	have, err := s.caseClocks(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	due := start.Add(RegulatoryWindow)
	i := slices.IndexFunc(have, func(x Clock) bool { return x.Clock == k })
	switch {
	case i < 0:
		if err := insertClock(ctx, tx, c, k, start, due, source); err != nil {
			return err
		}
	case have[i].State == ClockRunning || have[i].State == ClockCancelled && explicit:
		if have[i].State == ClockRunning && have[i].StartedAt.Equal(start) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE case_clocks SET state = ?, started_at = ?, due_at = ?, source = ? WHERE case_id = ? AND clock = ?`,
			ClockRunning, ts(start), ts(due), source, c.ID, string(k)); err != nil {
			return err
		}
	case explicit:
		return fault.Conflictf("the %s clock of case %s is already %s", k.Label(), c.ID, have[i].State)
	default:
		return nil
	}
	if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "clock.started",
		title: fmt.Sprintf("%s clock started: aware %s, due %s", k.Label(), start.UTC().Format("2006-01-02 15:04 MST"), due.UTC().Format("2006-01-02 15:04 MST"))}); err != nil {
		return err
	}
	_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.clock.start", ObjectType: "case", ObjectID: c.ID, Org: c.Org,
		After: map[string]string{"clock": string(k), "started": start.UTC().Format(time.RFC3339), "due": due.UTC().Format(time.RFC3339), "source": source}})
	return err
}

// ClockAction starts a regulatory clock, records that its report was made,
// or cancels it (the incident is not reportable).
type ClockAction struct {
	Clock ClockKind `json:"clock"`
	// Action is start, reported or cancel.
	Action string `json:"action"`
	// At is when the organisation became aware (start; default now) or
	// when the report was made (reported; default now).
	At *time.Time `json:"at,omitempty"`
	// Note says why (cancel) or with what reference (reported).
	Note string `json:"note,omitempty"`
}

// ClockActions lists ClockAction's actions.
func ClockActions() []string { return []string{"start", "reported", "cancel"} }

// ActOnClock starts, meets (reported) or cancels a regulatory clock of a
// case sc may change, and returns the case's clocks.
func (s *Service) ActOnClock(ctx context.Context, sc scope.Scope, caseID string, a ClockAction) ([]Clock, error) {
	if !a.Clock.regulatory() {
		return nil, fault.Invalidf("clock", "%q is not a regulatory clock: nis or ico (SLA clocks follow the case's status)", safetext.Terminal(string(a.Clock)))
	}
	if err := oneOf("action", a.Action, ClockActions()); err != nil {
		return nil, err
	}
	if err := checkText("note", a.Note, maxShortText); err != nil {
		return nil, err
	}
	now := s.now()
	at := now
	if a.At != nil {
		at = *a.At
		if at.After(now.Add(5 * time.Minute)) {
			return nil, fault.Invalidf("at", "%s is in the future", at.UTC().Format(time.RFC3339))
		}
		if at.Before(now.Add(-366 * 24 * time.Hour)) {
			return nil, fault.Invalidf("at", "%s is more than a year ago", at.UTC().Format(time.RFC3339))
		}
	}
	_, err := s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, _ string) error {
		if a.Action == "start" {
			if c.Status == CaseClosed {
				return fault.Invalidf("clock", "case %s is closed: reopen it first", c.ID)
			}
			return s.startRegulatory(ctx, tx, sc, c, a.Clock, at, "started by "+actorName(sc), true)
		}
		have, err := s.caseClocks(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(have, func(x Clock) bool { return x.Clock == a.Clock })
		if i < 0 {
			return fault.Invalidf("clock", "case %s has no %s clock: start it first", c.ID, a.Clock.Label())
		}
		k := have[i]
		if a.Action == "cancel" {
			if k.State != ClockRunning {
				return fault.Conflictf("the %s clock of case %s is %s, not running", k.Label, c.ID, k.State)
			}
			if strings.TrimSpace(a.Note) == "" {
				return fault.Invalidf("note", "is required to cancel a regulatory clock: say why the incident is not reportable")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE case_clocks SET state = ? WHERE case_id = ? AND clock = ?`, ClockCancelled, c.ID, string(k.Clock)); err != nil {
				return err
			}
		} else {
			if k.MetAt != nil {
				return fault.Conflictf("the %s of case %s was already recorded as made", k.Label, c.ID)
			}
			// A report made late meets the clock but leaves it breached.
			state := ClockMet
			if k.State == ClockBreached || at.After(k.DueAt) {
				state = ClockBreached
			}
			if _, err := tx.ExecContext(ctx, `UPDATE case_clocks SET state = ?, met_at = ? WHERE case_id = ? AND clock = ?`, state, ts(at), c.ID, string(k.Clock)); err != nil {
				return err
			}
		}
		verb := map[string]string{"reported": "report made", "cancel": "clock cancelled"}[a.Action]
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "clock." + a.Action, title: k.Label + " " + verb, body: a.Note}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.clock." + a.Action, ObjectType: "case", ObjectID: c.ID, Org: c.Org,
			Before: map[string]string{"clock": string(k.Clock), "state": k.State},
			After:  map[string]string{"clock": string(k.Clock), "at": at.UTC().Format(time.RFC3339), "note": a.Note}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Clocks(ctx, sc, caseID)
}

// dueClock is a running clock found past due.
type dueClock struct {
	caseID, org, assignee, title string
	clock                        ClockKind
	due                          time.Time
}

// clockBatch bounds the clocks breached in one transaction.
const clockBatch = 200

// CheckClocks breaches every running clock past due by the service's
// clock, a batch per transaction, and returns how many it breached.
// Several servers may run it at once: a clock is breached by whichever
// marks it first (the update is guarded by its state), once.
func (s *Service) CheckClocks(ctx context.Context) (int, error) {
	total := 0
	for {
		now := s.now()
		due, err := queryAll(ctx, s.db.Q(), `SELECT k.case_id, k.clock, k.org, k.due_at, c.assignee, c.title FROM case_clocks k
			JOIN cases c ON c.id = k.case_id WHERE k.state = ? AND k.due_at <= ? ORDER BY k.due_at LIMIT ?`,
			func(r scanner) (dueClock, error) {
				var d dueClock
				var at string
				err := r.Scan(&d.caseID, &d.clock, &d.org, &at, &d.assignee, &d.title)
				d.due = parseTS(at)
				return d, err
			}, ClockRunning, ts(now), clockBatch)
		if err != nil || len(due) == 0 {
			return total, err
		}
		// Escalation targets come from the organisation tree, asked
		// before the transaction.
		for _, d := range due {
			if _, err := s.escalateTo(ctx, d.org); err != nil {
				return total, err
			}
		}
		n := 0
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			n = 0
			for _, d := range due {
				if err := s.breach(ctx, tx, d, now, false); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if len(due) < clockBatch {
			return total, nil
		}
	}
}

// clockActor is who breaches clocks in timelines and the audit log.
var clockActor = scope.System("clocks")

// breach marks clock d breached (and met, when the case reached its state
// late), with a timeline entry, an audit entry and the events that
// escalate it. A clock another server breached first is left alone.
func (s *Service) breach(ctx context.Context, tx *store.Tx, d dueClock, now time.Time, met bool) error {
	q := `UPDATE case_clocks SET state = ?, breached_at = ? WHERE case_id = ? AND clock = ? AND state = ?`
	args := []any{ClockBreached, ts(now), d.caseID, string(d.clock), ClockRunning}
	if met {
		q = `UPDATE case_clocks SET state = ?, breached_at = ?, met_at = ? WHERE case_id = ? AND clock = ? AND state = ?`
		args = []any{ClockBreached, ts(now), ts(now), d.caseID, string(d.clock), ClockRunning}
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("cases: breach clock %s of %s: %w", d.clock, d.caseID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	to, err := s.escalateTo(ctx, d.org)
	if err != nil {
		return err
	}
	due := d.due.UTC().Format(time.RFC3339)
	title := fmt.Sprintf("%s clock breached (due %s); escalated to %s", d.clock.Label(), d.due.UTC().Format("2006-01-02 15:04 MST"), strings.Join(to, ", "))
	if met {
		title = fmt.Sprintf("%s clock met late (due %s); escalated to %s", d.clock.Label(), d.due.UTC().Format("2006-01-02 15:04 MST"), strings.Join(to, ", "))
	}
	if _, err := s.addTimeline(ctx, tx, clockActor, d.caseID, timelineEntry{kind: "clock.breached", title: title}); err != nil {
		return err
	}
	if _, err := s.audit.Append(ctx, tx, clockActor, audit.Change{Action: "case.clock.breach", ObjectType: "case", ObjectID: d.caseID, Org: d.org,
		After: map[string]string{"clock": string(d.clock), "label": d.clock.Label(), "due": due, "escalate_to": strings.Join(to, ",")}}); err != nil {
		return err
	}
	var users []string
	if d.assignee != "" {
		users = []string{d.assignee}
	}
	actor := actorName(clockActor)
	s.after(tx, "clock:"+d.caseID+":"+string(d.clock),
		Event{Kind: "clock.breached", Org: d.org, Case: d.caseID, Actor: actor, At: now, Users: users,
			Detail: map[string]string{"clock": string(d.clock), "due": due, "title": d.title}},
		Event{Kind: "case.escalated", Org: d.org, Case: d.caseID, Actor: actor, At: now, Users: users,
			Detail: map[string]string{"clock": string(d.clock), "due": due, "escalate_to": strings.Join(to, ","), "title": d.title}})
	return nil
}

// escalateTo is who a breach of a clock of org escalates to: the
// organisation's top-level division under the national root (its NHS
// England region, or its nation outside England) and the root itself,
// e.g. [Y61 ENG]; just the root for the root's own cases.
func (s *Service) escalateTo(ctx context.Context, org string) ([]string, error) {
	path, err := s.orgPath(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("cases: escalate a clock of %s: %w", org, err)
	}
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	switch len(segs) {
	case 0:
		return []string{org}, nil
	case 1:
		return segs, nil
	}
	return []string{segs[1], segs[0]}, nil
}

// RunClocks checks the clocks every interval (default 30 s) until ctx
// ends or stop is called; failures are logged and tried again next tick.
func (s *Service) RunClocks(ctx context.Context, interval time.Duration) (stop func()) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			n, err := s.CheckClocks(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("clocks: check failed; trying again next tick", "err", err)
			} else if n > 0 {
				s.log.Info("clocks breached", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}
