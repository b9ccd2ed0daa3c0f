package assurance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Campaign upkeep (issue 20, item 3): editing and closing a campaign, its
// progress, and the reminders before its deadline and the overdue notice,
// sent once each by the leader's duty (CheckReminders from RunReminders,
// as vuln's cyber-alert clocks: a claim row first, then the e-mail).

// Notice is one e-mail (and webhook) to people about a campaign.
type Notice struct {
	// ID is stable for one notice, so a resend is recognised.
	ID      string
	Kind    string // assurance.reminder or assurance.overdue
	Ref     string // the statement
	To      []string
	Subject string
	Body    string
	Payload any
}

// Notifier finds people and tells them (app wires auth and notify).
type Notifier interface {
	// HoldersOf lists the e-mails of enabled users holding one of roles on
	// one of orgs.
	HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error)
	Send(ctx context.Context, n Notice) error
}

// Reminder kinds: 7 and 1 days before the deadline, and once it passed.
const (
	Remind7 = "remind-7"
	Remind1 = "remind-1"
	Overdue = "overdue"
)

// Notice kinds.
const (
	KindReminder = "assurance.reminder"
	KindOverdue  = "assurance.overdue"
)

var reminderActor = scope.System("assurance-reminders")

// due is when a campaign's deadline (a date) runs out: the end of that day, UTC.
func due(deadline string) (time.Time, bool) {
	d, err := time.Parse(time.DateOnly, deadline)
	if err != nil {
		return time.Time{}, false
	}
	return d.Add(24 * time.Hour), true
}

// reminderKind says which notice, if any, a statement awaiting the
// supplier is due at now: the most urgent only (a check first run 12
// hours before the deadline sends the 1-day reminder, not a stale 7-day).
func reminderKind(deadline string, now time.Time) string {
	d, ok := due(deadline)
	switch left := d.Sub(now); {
	case !ok:
		return ""
	case left <= 0:
		return Overdue
	case left <= 24*time.Hour:
		return Remind1
	case left <= 7*24*time.Hour:
		return Remind7
	}
	return ""
}

// CampaignEdit changes a campaign's name and deadline (nil: unchanged).
type CampaignEdit struct {
	Name     *string `json:"name,omitempty"`
	Deadline *string `json:"deadline,omitempty"`
}

// EditCampaign renames a campaign or moves its deadline (its assessors,
// while it is open). A new deadline earns new reminders.
func (s *Service) EditCampaign(ctx context.Context, sc scope.Scope, id string, e CampaignEdit) (Campaign, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.campaignFor(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if c.ClosedAt != "" {
			return fault.Conflictf("campaign %s is closed", id)
		}
		before, after := map[string]any{}, map[string]any{}
		name, deadline := c.Name, c.Deadline
		if e.Name != nil {
			n := strings.TrimSpace(*e.Name)
			if p := safetext.Problem(n, safetext.Name, safetext.MaxName); p != "" || n == "" {
				if p == "" {
					p = "is required"
				}
				return fault.Invalidf("name", "%s", p)
			}
			if n != c.Name {
				before["name"], after["name"], name = c.Name, n, n
			}
		}
		if e.Deadline != nil {
			dl, err := time.Parse(time.DateOnly, strings.TrimSpace(*e.Deadline))
			if err != nil {
				return fault.Invalidf("deadline", "%q is not a date (YYYY-MM-DD)", *e.Deadline)
			}
			if dl.Before(s.now().UTC().Truncate(24 * time.Hour)) {
				return fault.Invalidf("deadline", "%s has passed; give a date from today on", *e.Deadline)
			}
			if d := dl.Format(time.DateOnly); d != c.Deadline {
				before["deadline"], after["deadline"], deadline = c.Deadline, d, d
			}
		}
		if len(after) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assurance_campaigns SET name = ?, deadline = ? WHERE campaign_id = ?`, name, deadline, id); err != nil {
			return fmt.Errorf("assurance: edit campaign: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.campaign.edit", ObjectType: "assurance-campaign", ObjectID: id, Org: c.OwnerOrg, Before: before, After: after})
		return err
	})
	if err != nil {
		return Campaign{}, err
	}
	return s.GetCampaign(ctx, sc, id)
}

// CloseCampaign closes a campaign: suppliers may no longer answer, submit
// or comment, and reminders stop; assessors may still review and accept
// what was submitted. Closing is final.
func (s *Service) CloseCampaign(ctx context.Context, sc scope.Scope, id, reason string) (Campaign, error) {
	reason = strings.TrimSpace(reason)
	if p := safetext.Problem(reason, safetext.Text, safetext.MaxText); p != "" {
		return Campaign{}, fault.Invalidf("reason", "%s", p)
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.campaignFor(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if c.ClosedAt != "" {
			return fault.Conflictf("campaign %s was closed on %s", id, c.ClosedAt)
		}
		now := s.now().UTC().Format(time.RFC3339)
		res, err := tx.ExecContext(ctx, `UPDATE assurance_campaigns SET closed_at = ?, closed_by = ? WHERE campaign_id = ? AND closed_at = ''`, now, actor(sc), id)
		if err != nil {
			return fmt.Errorf("assurance: close campaign: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.Conflictf("campaign %s was closed meanwhile", id)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.campaign.close", ObjectType: "assurance-campaign", ObjectID: id, Org: c.OwnerOrg,
			Before: map[string]any{"closed": false}, After: map[string]any{"closed": true, "reason": reason}})
		return err
	})
	if err != nil {
		return Campaign{}, err
	}
	return s.GetCampaign(ctx, sc, id)
}

// ProgressCounts are a campaign's (or one tier's) statements by stage.
// Invited counts them all; Queried are those returned to the supplier;
// Overdue those still with the supplier (draft or queried) after the
// deadline.
type ProgressCounts struct {
	Invited   int `json:"invited"`
	Draft     int `json:"draft"`
	Submitted int `json:"submitted"`
	Queried   int `json:"queried"`
	Accepted  int `json:"accepted"`
	Overdue   int `json:"overdue"`
}

func (p *ProgressCounts) add(status string, overdue bool) {
	p.Invited++
	switch status {
	case StatusDraft:
		p.Draft++
	case StatusSubmitted:
		p.Submitted++
	case StatusReturned:
		p.Queried++
	case StatusAccepted:
		p.Accepted++
	}
	if overdue {
		p.Overdue++
	}
}

// TierProgress is the progress of one tier's suppliers.
type TierProgress struct {
	Tier string `json:"tier"`
	ProgressCounts
}

// Progress is a campaign's dashboard.
type Progress struct {
	CampaignID string `json:"campaign_id"`
	Name       string `json:"name"`
	Deadline   string `json:"deadline"`
	ClosedAt   string `json:"closed_at,omitempty"`
	ProgressCounts
	// ByTier has a row per tier of a tiered campaign ("" untiered).
	ByTier []TierProgress `json:"by_tier"`
	// OverdueSuppliers are the statements still with the supplier after
	// the deadline.
	OverdueSuppliers []StatementSummary `json:"overdue_suppliers"`
	// Reminders counts the notices sent, by kind.
	Reminders map[string]int `json:"reminders"`
}

// CampaignProgress is the dashboard of a campaign the caller assesses.
func (s *Service) CampaignProgress(ctx context.Context, sc scope.Scope, id string) (Progress, error) {
	c, err := s.campaignFor(ctx, s.db.Q(), sc, id)
	if err != nil {
		return Progress{}, err
	}
	sums, err := s.summaries(ctx, `st.campaign_id = ?`, []any{id})
	if err != nil {
		return Progress{}, err
	}
	p := Progress{CampaignID: c.ID, Name: c.Name, Deadline: c.Deadline, ClosedAt: c.ClosedAt, OverdueSuppliers: []StatementSummary{}, Reminders: map[string]int{}, ByTier: []TierProgress{}}
	late := reminderKind(c.Deadline, s.now()) == Overdue
	tiers := map[string]*ProgressCounts{}
	for _, x := range sums {
		overdue := late && (x.Status == StatusDraft || x.Status == StatusReturned)
		p.add(x.Status, overdue)
		if tiers[x.Tier] == nil {
			tiers[x.Tier] = &ProgressCounts{}
		}
		tiers[x.Tier].add(x.Status, overdue)
		if overdue {
			p.OverdueSuppliers = append(p.OverdueSuppliers, x)
		}
	}
	for _, t := range append([]string{""}, TierNames()...) {
		if n := tiers[t]; n != nil {
			p.ByTier = append(p.ByTier, TierProgress{Tier: t, ProgressCounts: *n})
		}
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT kind, COUNT(*) FROM assurance_reminders WHERE campaign_id = ? GROUP BY kind`, id)
	if err != nil {
		return Progress{}, fmt.Errorf("assurance: reminders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return Progress{}, err
		}
		p.Reminders[k] = n
	}
	return p, rows.Err()
}

// dueStatement is a statement awaiting its supplier in an open campaign.
type dueStatement struct {
	id, campaign, name, deadline, owner, supplier, supplierName, status string
}

// CheckReminders sends each reminder and overdue notice that is due, once,
// and returns how many it sent.
func (s *Service) CheckReminders(ctx context.Context) (int, error) {
	if err := s.needRegister(); err != nil {
		return 0, err
	}
	now := s.now()
	rows, err := s.db.Q().QueryContext(ctx, `SELECT st.statement_id, c.campaign_id, c.name, c.deadline, c.owner_org, st.supplier_id, st.supplier_name, st.status
		FROM assurance_statements st JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id
		WHERE c.closed_at = '' AND st.status IN (?, ?) AND c.deadline <= ? ORDER BY c.deadline, st.statement_id LIMIT 2000`,
		StatusDraft, StatusReturned, now.UTC().Add(7*24*time.Hour).Format(time.DateOnly))
	if err != nil {
		return 0, fmt.Errorf("assurance: reminders: %w", err)
	}
	var todo []dueStatement
	for rows.Next() {
		var d dueStatement
		if err := rows.Scan(&d.id, &d.campaign, &d.name, &d.deadline, &d.owner, &d.supplier, &d.supplierName, &d.status); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, d := range todo {
		kind := reminderKind(d.deadline, now)
		if kind == "" {
			continue
		}
		to, err := s.recipients(ctx, d, kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("statement %s: %w", d.id, err))
			continue
		}
		claimed := false
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO assurance_reminders (statement_id, kind, deadline, campaign_id, sent_at, recipients) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, d.id, kind, d.deadline, d.campaign, now.UTC().Format(time.RFC3339), len(to))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return nil // sent already, here or by another server
			}
			claimed = true
			_, err = s.audit.Append(ctx, tx, reminderActor, audit.Change{Action: "assurance.statement.remind", ObjectType: "assurance-statement", ObjectID: d.id, Org: d.owner,
				After: map[string]any{"kind": kind, "deadline": d.deadline, "campaign": d.campaign, "supplier_id": d.supplier, "recipients": len(to)}})
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("statement %s: %w", d.id, err))
			continue
		}
		if !claimed || len(to) == 0 || s.notifier == nil {
			continue
		}
		if err := s.notifier.Send(ctx, s.notice(d, kind, to)); err != nil {
			errs = append(errs, fmt.Errorf("statement %s: %s: %w", d.id, kind, err))
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// recipients are the supplier's representatives (and org-admins of its
// tenant), and for an overdue notice also the campaign's assessors.
func (s *Service) recipients(ctx context.Context, d dueStatement, kind string) ([]string, error) {
	if s.notifier == nil {
		return nil, nil
	}
	var to []string
	sp, err := s.register.GetSupplier(ctx, reminderActor, d.supplier)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return nil, err
	}
	if sp.TenantOrg != "" {
		if to, err = s.notifier.HoldersOf(ctx, []string{sp.TenantOrg}, []scope.Role{scope.SupplierRep, scope.OrgAdmin}); err != nil {
			return nil, err
		}
	}
	if kind == Overdue {
		more, err := s.notifier.HoldersOf(ctx, []string{d.owner}, []scope.Role{scope.NationalAdmin, scope.NationalAnalyst, scope.RegionLead})
		if err != nil {
			return nil, err
		}
		to = append(to, more...)
	}
	return to, nil
}

func (s *Service) statementURL(id string) string {
	return strings.TrimRight(s.baseURL, "/") + "/assurance/statements/" + id
}

func (s *Service) notice(d dueStatement, kind string, to []string) Notice {
	var subj string
	var b strings.Builder
	nk := KindReminder
	switch kind {
	case Overdue:
		nk = KindOverdue
		subj = fmt.Sprintf("Overdue: %s's statement of adherence for %s was due on %s", d.supplierName, d.name, d.deadline)
		fmt.Fprintf(&b, "The statement of adherence of %s (%s) for the assurance campaign %q was due by the end of %s and has not been submitted.\n", d.supplierName, d.supplier, d.name, d.deadline)
	default:
		days := "7 days"
		if kind == Remind1 {
			days = "1 day"
		}
		subj = fmt.Sprintf("Reminder: %s's statement of adherence for %s is due on %s", d.supplierName, d.name, d.deadline)
		fmt.Fprintf(&b, "The statement of adherence of %s (%s) for the assurance campaign %q is due by the end of %s (within %s).\n", d.supplierName, d.supplier, d.name, d.deadline, days)
	}
	if d.status == StatusReturned {
		b.WriteString("The assessor has queried some answers: amend them and submit again.\n")
	}
	fmt.Fprintf(&b, "\nAnswer in Vigil: %s\n", s.statementURL(d.id))
	return Notice{ID: kind + "/" + d.id + "/" + d.deadline, Kind: nk, Ref: d.id, To: to, Subject: subj, Body: b.String(),
		Payload: map[string]any{"kind": nk, "statement_id": d.id, "campaign_id": d.campaign, "supplier_id": d.supplier, "deadline": d.deadline, "reminder": kind, "url": s.statementURL(d.id)}}
}

// RunReminders checks the reminders every interval until ctx is done or
// stop is called (a leader duty: app/leader.go).
func (s *Service) RunReminders(ctx context.Context, interval time.Duration) (stop func()) {
	if interval <= 0 {
		interval = time.Minute
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if n, err := s.CheckReminders(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("assurance reminders: check failed; trying again next tick", "err", err)
			} else if n > 0 {
				s.log.Info("assurance reminders sent", "count", n)
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

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
