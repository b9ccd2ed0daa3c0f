package vuln

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// The clocks of cyber alerts (issue 18, item 8), checked by the leader's
// periodic duty (CheckClocks from RunClocks): each step claims a row with
// a conditional UPDATE before telling anyone, so two servers running it at
// once (a lease handed over) tell people once.

var clockActor = scope.System("cyberalerts")

// Payload is the JSON body of a cyber alert's webhook.
type Payload struct {
	Kind     string    `json:"kind"`
	Alert    string    `json:"alert_id"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	TLP      string    `json:"tlp"`
	Org      string    `json:"org"`
	AckDue   time.Time `json:"ack_due"`
	URL      string    `json:"url"`
}

func (s *Alerts) alertURL(id string) string {
	if s.o.BaseURL == "" {
		return "/cyber-alerts/" + id
	}
	return strings.TrimRight(s.o.BaseURL, "/") + "/cyber-alerts/" + id
}

func uk(t time.Time) string {
	if loc, err := time.LoadLocation("Europe/London"); err == nil {
		t = t.In(loc)
	}
	return t.Format("Mon 2 Jan 2006 15:04 MST")
}

// message composes what an organisation (or its region) is told. A
// TLP:RED alert's details stay in Vigil: the e-mail carries the link only.
func (s *Alerts) message(kind string, a CyberAlert, m AlertOrg, to []string) Message {
	var subj string
	var b strings.Builder
	switch kind {
	case KindIssued:
		subj = fmt.Sprintf("[TLP:%s] National cyber alert %s (%s): %s", a.TLP, a.ID, a.Severity, a.Title)
		fmt.Fprintf(&b, "The national cyber security team has issued cyber alert %s to %s (%s).\n\n", a.ID, m.Name, m.Org)
	case KindReminder:
		what := "acknowledge"
		due := m.AckDue
		if m.AckAt != nil {
			what, due = "give a remediation update on", m.UpdateDue
		}
		subj = fmt.Sprintf("[TLP:%s] Reminder: %s cyber alert %s by %s", a.TLP, what, a.ID, uk(due))
		fmt.Fprintf(&b, "%s (%s) has yet to %s national cyber alert %s; it is due %s.\n\n", m.Name, m.Org, what, a.ID, uk(due))
	case KindUpdateEscalated:
		subj = fmt.Sprintf("[TLP:%s] Escalation: %s (%s) has given no remediation update on cyber alert %s", a.TLP, m.Name, m.Org, a.ID)
		fmt.Fprintf(&b, "%s (%s), in %s, %s, gave no first remediation update on national cyber alert %s by %s.\n"+
			"You are told as a lead for its region or ICB: please follow it up.\n\n", m.Name, m.Org, m.ICBName, m.RegionName, a.ID, uk(m.UpdateDue))
	case KindEscalated:
		subj = fmt.Sprintf("[TLP:%s] Escalation: %s (%s) has not acknowledged cyber alert %s", a.TLP, m.Name, m.Org, a.ID)
		fmt.Fprintf(&b, "%s (%s), in %s, %s, did not acknowledge national cyber alert %s within 48 hours (due %s).\n"+
			"You are told as a lead for its region or ICB: please follow it up.\n\n", m.Name, m.Org, m.ICBName, m.RegionName, a.ID, uk(m.AckDue))
	}
	if a.TLP == "RED" {
		b.WriteString("This alert is TLP:RED: its details are in Vigil only.\n")
	} else {
		fmt.Fprintf(&b, "Title: %s\nSeverity: %s\nTLP: %s\n", a.Title, a.Severity, a.TLP)
		if len(a.CVEs) > 0 {
			fmt.Fprintf(&b, "CVEs: %s\n", strings.Join(a.CVEs, ", "))
		}
		for _, p := range a.Products {
			v := p.Versions
			if v == "" {
				v = "all versions"
			}
			fmt.Fprintf(&b, "Affected product: %s (%s)\n", p.Product, v)
		}
		fmt.Fprintf(&b, "\nWhy %s is in scope: %s\n\nRequired action:\n%s\n\nDeadline: %s\n", m.Org, m.Path, a.RequiredAction, uk(a.Deadline))
	}
	fmt.Fprintf(&b, "\nAcknowledge by %s; first remediation update by %s.\nAnswer in Vigil: %s\n", uk(m.AckDue), uk(m.UpdateDue), s.alertURL(a.ID))
	return Message{ID: kind + "/" + a.ID + "/" + m.Org, Kind: kind, Ref: a.ID, To: to, Subject: subj, Body: b.String(),
		Payload: Payload{Kind: kind, Alert: a.ID, Title: a.Title, Severity: a.Severity, TLP: a.TLP, Org: m.Org, AckDue: m.AckDue, URL: s.alertURL(a.ID)}}
}

// notifyIssued tells each organisation in scope, and marks those told, a
// few hundred rows a transaction: one UPDATE a row, each its own commit,
// took 4½ minutes for an alert over 9,950 organisations on SQLite.
func (s *Alerts) notifyIssued(ctx context.Context, a CyberAlert) {
	var told []string
	for _, m := range a.Orgs {
		sent, err := s.tell(ctx, KindIssued, a, m, []string{m.Org}, RespondRoles())
		if err != nil {
			s.log.Warn("cyber alert: notice failed", "alert", a.ID, "org", m.Org, "err", err)
			continue
		}
		if sent {
			told = append(told, m.Org)
		}
	}
	now := ts(s.now())
	for len(told) > 0 {
		n := min(len(told), 500)
		batch := told[:n]
		told = told[n:]
		args := []any{now, a.ID}
		for _, o := range batch {
			args = append(args, o)
		}
		if _, err := s.db.Q().ExecContext(ctx, `UPDATE cyber_alert_orgs SET notified_at = ? WHERE alert_id = ? AND org IN (`+store.Placeholders(len(batch))+`)`, args...); err != nil {
			s.log.Warn("cyber alert: record notices", "alert", a.ID, "err", err)
		}
	}
}

// tell sends kind about m to the holders of roles on orgs, and reports
// whether there was anyone to tell.
func (s *Alerts) tell(ctx context.Context, kind string, a CyberAlert, m AlertOrg, orgs []string, roles []scope.Role) (bool, error) {
	if s.o.Notifier == nil {
		return false, nil
	}
	to, err := s.o.Notifier.HoldersOf(ctx, orgs, roles)
	if err != nil {
		return false, err
	}
	if len(to) == 0 {
		s.log.Info("cyber alert: nobody to tell", "alert", a.ID, "org", m.Org, "kind", kind, "orgs", orgs)
		return false, nil
	}
	return true, s.o.Notifier.Send(ctx, s.message(kind, a, m, to))
}

// CheckClocks reminds and escalates once each row whose clock calls for
// it, and returns how many notices it sent.
func (s *Alerts) CheckClocks(ctx context.Context) (int, error) {
	now := s.now()
	q := s.db.Q()
	alerts := map[string]CyberAlert{}
	alertOf := func(id string) (CyberAlert, error) {
		if a, ok := alerts[id]; ok {
			return a, nil
		}
		a, err := s.Get(ctx, clockActor, id)
		if err == nil {
			alerts[id] = a
		}
		return a, err
	}
	sent := 0
	var errs []error
	regionOf := func(m AlertOrg) []string {
		var o []string
		for _, x := range []string{m.Region, m.ICB} {
			if x != "" {
				o = append(o, x)
			}
		}
		return o
	}
	steps := []struct {
		kind, where, claim string
		args               func() []any
		orgs               func(m AlertOrg) []string
		roles              []scope.Role
	}{
		{ // the 48 hours ran out: escalate to the region and ICB
			kind: KindEscalated, where: `in_scope = 1 AND ack_at = '' AND closed_at = '' AND ack_escalated_at = '' AND ack_due <= ?`, claim: "ack_escalated_at",
			args: func() []any { return []any{ts(now)} }, roles: EscalateRoles(),
			orgs: func(m AlertOrg) []string {
				var o []string
				for _, x := range []string{m.Region, m.ICB} {
					if x != "" {
						o = append(o, x)
					}
				}
				return o
			},
		},
		{ // the first remediation update was missed: escalate once to the region and ICB
			// (an organisation that never acknowledged was escalated for that already)
			kind: KindUpdateEscalated, where: `in_scope = 1 AND ack_at <> '' AND closed_at = '' AND applicability <> 'not-affected' AND first_update_at = '' AND update_escalated_at = '' AND update_due <= ?`,
			claim: "update_escalated_at", args: func() []any { return []any{ts(now)} }, roles: EscalateRoles(), orgs: regionOf,
		},
		{ // acknowledgement due within RemindBefore (once it is overdue, the escalation speaks)
			kind: KindReminder, where: `in_scope = 1 AND ack_at = '' AND closed_at = '' AND ack_reminded_at = '' AND ack_due <= ? AND ack_due > ?`, claim: "ack_reminded_at",
			args: func() []any { return []any{ts(now.Add(s.o.RemindBefore)), ts(now)} }, roles: RespondRoles(),
			orgs: func(m AlertOrg) []string { return []string{m.Org} },
		},
		{ // a remediation update overdue, not reminded since it fell due
			kind: KindReminder, where: `in_scope = 1 AND ack_at <> '' AND closed_at = '' AND applicability <> 'not-affected' AND update_due <= ? AND update_reminded_at < update_due`,
			claim: "update_reminded_at", args: func() []any { return []any{ts(now)} }, roles: RespondRoles(),
			orgs: func(m AlertOrg) []string { return []string{m.Org} },
		},
	}
	for _, st := range steps {
		rows, err := q.QueryContext(ctx, `SELECT `+memberCols+` FROM cyber_alert_orgs WHERE `+st.where+` ORDER BY alert_id, org LIMIT 1000`, st.args()...)
		if err != nil {
			return sent, fmt.Errorf("vuln: alert clocks: %w", err)
		}
		var due []AlertOrg
		for rows.Next() {
			m, err := s.scanMember(rows)
			if err != nil {
				rows.Close()
				return sent, err
			}
			due = append(due, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sent, err
		}
		for _, m := range due {
			claimed := false
			err := s.db.InTx(ctx, func(tx *store.Tx) error {
				res, err := tx.ExecContext(ctx, `UPDATE cyber_alert_orgs SET `+st.claim+` = ? WHERE alert_id = ? AND org = ? AND `+st.where,
					append([]any{ts(now), m.Alert, m.Org}, st.args()...)...)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return nil // another server took it
				}
				claimed = true
				action := "cyberalert.remind"
				if st.kind == KindEscalated || st.kind == KindUpdateEscalated {
					action = "cyberalert.escalate"
				}
				_, err = s.o.Audit.Append(ctx, tx, clockActor, audit.Change{Action: action, ObjectType: "cyber_alert", ObjectID: m.Alert, Org: m.Org,
					After: map[string]any{"clock": st.claim, "ack_due": ts(m.AckDue), "update_due": ts(m.UpdateDue), "to": st.orgs(m)}})
				return err
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("alert %s org %s: %w", m.Alert, m.Org, err))
				continue
			}
			if !claimed {
				continue
			}
			if st.kind == KindEscalated {
				t := now
				m.EscalatedAt = &t
			}
			a, err := alertOf(m.Alert)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if _, err := s.tell(ctx, st.kind, a, m, st.orgs(m), st.roles); err != nil {
				errs = append(errs, fmt.Errorf("alert %s org %s: %s: %w", m.Alert, m.Org, st.kind, err))
				continue
			}
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// RunClocks checks the clocks every interval until ctx is done or stop is
// called (a leader duty: app/leader.go).
func (s *Alerts) RunClocks(ctx context.Context, interval time.Duration) (stop func()) {
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
			if n, err := s.CheckClocks(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("cyber alert clocks: check failed; trying again next tick", "err", err)
			} else if n > 0 {
				s.log.Info("cyber alert reminders and escalations sent", "count", n)
			}
			// The register changed: alerts' scopes worked out again.
			if rs, err := s.RefreshAlerts(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("cyber alert scopes: refresh failed; trying again next tick", "err", err)
			} else {
				for _, r := range rs {
					s.log.Info("cyber alert scope worked out again", "alert", r.Alert, "added", r.Added, "removed", r.Removed, "returned", r.Returned)
				}
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
