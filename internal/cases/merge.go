package cases

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// lockTwo reads two cases sc may change inside tx, in ID order (so two
// merges of the same pair lock alike on PostgreSQL).
func (s *Service) lockTwo(ctx context.Context, tx *store.Tx, sc scope.Scope, a, b string) (ca, cb Case, pa, pb string, err error) {
	if a == b {
		return ca, cb, "", "", fault.Invalidf("case_id", "a case cannot be merged or linked with itself")
	}
	first, second := a, b
	if second < first {
		first, second = second, first
	}
	got := map[string]Case{}
	paths := map[string]string{}
	for _, id := range []string{first, second} {
		c, p, err := s.loadCase(ctx, tx, sc, id, forUpdate(tx))
		if err != nil {
			return ca, cb, "", "", err
		}
		got[id], paths[id] = c, p
	}
	return got[a], got[b], paths[a], paths[b], nil
}

func needWrite(sc scope.Scope, c Case, path string) error {
	if !sc.CanAt(scope.Write, path) {
		return fault.Forbiddenf("you may read but not change case %s", c.ID)
	}
	return nil
}

// MergeCases merges case from into case into: its alerts, observables,
// tasks (with their logs), comments, evidence (with custody), timeline and
// links move to into, its tags and missing custom fields are added, and
// from is closed as a duplicate that names into. sc must change both, and
// from must belong to into's organisation or one below it.
func (s *Service) MergeCases(ctx context.Context, sc scope.Scope, into, from string) (Case, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		dst, src, dstPath, srcPath, err := s.lockTwo(ctx, tx, sc, into, from)
		if err != nil {
			return err
		}
		if err := needWrite(sc, dst, dstPath); err != nil {
			return err
		}
		if err := needWrite(sc, src, srcPath); err != nil {
			return err
		}
		switch {
		case dst.Status == CaseClosed:
			return fault.Invalidf("case_id", "case %s is closed: reopen it before merging into it", dst.ID)
		case src.MergedInto != "":
			return fault.Invalidf("from", "case %s was merged into %s already", src.ID, src.MergedInto)
		case !flowsTo(srcPath, dstPath):
			return fault.Invalidf("from", "case %s belongs to %s, which is not %s or under it: %s's readers could not see it; link the cases instead", src.ID, src.Org, dst.Org, dst.ID)
		}
		before := dst
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET case_id = ?, updated_at = ? WHERE case_id = ?`, dst.ID, ts(now), src.ID); err != nil {
			return fmt.Errorf("cases: merge alerts: %w", err)
		}
		// Observables: the ones into lacks move (taking into's
		// organisation); duplicates go.
		if _, err := tx.ExecContext(ctx, `UPDATE case_observables SET case_id = ?, org = ? WHERE case_id = ? AND NOT EXISTS (
			SELECT 1 FROM case_observables d WHERE d.case_id = ? AND d.type = case_observables.type AND d.value = case_observables.value)`,
			dst.ID, dst.Org, src.ID, dst.ID); err != nil {
			return fmt.Errorf("cases: merge observables: %w", err)
		}
		var maxPos int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), -1) + 1 FROM case_tasks WHERE case_id = ?`, dst.ID).Scan(&maxPos); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM case_observables WHERE case_id = ?`, src.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE case_tasks SET case_id = ?, position = position + ? WHERE case_id = ?`, dst.ID, maxPos, src.ID); err != nil {
			return fmt.Errorf("cases: merge tasks: %w", err)
		}
		for _, table := range []string{"case_task_logs", "case_comments", "case_attachments", "case_custody", "case_timeline"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET case_id = ? WHERE case_id = ?`, dst.ID, src.ID); err != nil {
				return fmt.Errorf("cases: merge %s: %w", table, err)
			}
		}
		// Links: from's links become into's (except to into itself).
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_links (case_id, other_id, kind, created_at)
			SELECT ?, other_id, kind, created_at FROM case_links WHERE case_id = ? AND other_id <> ?
			ON CONFLICT (case_id, other_id) DO NOTHING`, dst.ID, src.ID, dst.ID); err != nil {
			return fmt.Errorf("cases: merge links: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM case_links WHERE case_id = ? OR other_id = ?`, src.ID, src.ID); err != nil {
			return err
		}
		if err := link(ctx, tx, dst.ID, src.ID, "merged-from", "merged-into", now); err != nil {
			return err
		}
		// Tags and the custom fields into lacks, when both use one template.
		tags, _ := normTags("tags", append(append([]string{}, dst.Tags...), src.Tags...))
		dst.Tags = tags
		if dst.Template == src.Template {
			for k, v := range src.Fields {
				if _, ok := dst.Fields[k]; !ok {
					dst.Fields[k] = v
				}
			}
		}
		if src.Severity.Rank() > dst.Severity.Rank() {
			dst.Severity = src.Severity
		}
		dst.UpdatedAt = now
		if err := writeCase(ctx, tx, &dst, false); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, dst.ID, timelineEntry{kind: "case.merged", title: fmt.Sprintf("Case %s merged in: %s", src.ID, src.Title), ref: src.ID}); err != nil {
			return err
		}
		// from: closed as a duplicate naming into.
		src.MergedInto = dst.ID
		if err := s.setStatus(ctx, tx, sc, &src, StatusChange{Status: CaseClosed, Resolution: ResolvedDuplicate, Impact: ImpactNone,
			Summary: "Merged into " + dst.ID}, true); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, src.ID, timelineEntry{kind: "case.merged", title: "Merged into " + dst.ID + ": " + dst.Title, ref: dst.ID}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.merge", ObjectType: "case", ObjectID: dst.ID, Org: dst.Org,
			Before: caseView(before), After: map[string]any{"case": caseView(dst), "merged": src.ID}}); err != nil {
			return err
		}
		s.after(tx, "case.merge", Event{Kind: "case.merged", Org: dst.Org, Case: dst.ID, Actor: actorName(sc), At: now, Detail: map[string]string{"merged": src.ID}})
		return nil
	})
	if err != nil {
		return Case{}, err
	}
	return s.GetCase(ctx, sc, into)
}

// link records a relation in both directions (kindAB from a's side).
func link(ctx context.Context, tx *store.Tx, a, b, kindAB, kindBA string, now time.Time) error {
	for _, l := range []struct{ from, to, kind string }{{a, b, kindAB}, {b, a, kindBA}} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_links (case_id, other_id, kind, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (case_id, other_id) DO UPDATE SET kind = excluded.kind`, l.from, l.to, l.kind, ts(now)); err != nil {
			return fmt.Errorf("cases: link: %w", err)
		}
	}
	return nil
}

// LinkCases relates case id (which sc must be able to change) to other
// (which sc must be able to read). Each case lists the link to readers who
// may read the other case too.
func (s *Service) LinkCases(ctx context.Context, sc scope.Scope, id, other string) (Case, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, o, path, _, err := s.lockTwo(ctx, tx, sc, id, other)
		if err != nil {
			return err
		}
		if err := needWrite(sc, c, path); err != nil {
			return err
		}
		now := s.now()
		if err := link(ctx, tx, c.ID, o.ID, "related", "related", now); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "case.linked", title: "Linked to case " + o.ID, ref: o.ID}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.link", ObjectType: "case", ObjectID: c.ID, Org: c.Org,
			After: map[string]string{"linked": o.ID}}); err != nil {
			return err
		}
		return touch(ctx, tx, &c, now)
	})
	if err != nil {
		return Case{}, err
	}
	return s.GetCase(ctx, sc, id)
}

// Split says what moves out of a case into a new one.
type Split struct {
	Title         string   `json:"title"`
	AlertIDs      []string `json:"alert_ids,omitempty"`
	ObservableIDs []string `json:"observable_ids,omitempty"`
	TaskIDs       []string `json:"task_ids,omitempty"`
}

// SplitCase moves the chosen alerts, observables and tasks (with their
// logs) of case id into a new case of the same organisation, markings and
// template, linked to it. Every ID must be the case's.
func (s *Service) SplitCase(ctx context.Context, sc scope.Scope, id string, sp Split) (Case, error) {
	if err := checkName("title", strings.TrimSpace(sp.Title), true, maxTitle); err != nil {
		return Case{}, err
	}
	if len(sp.AlertIDs)+len(sp.ObservableIDs)+len(sp.TaskIDs) == 0 {
		return Case{}, fault.Invalidf("alert_ids", "name at least one alert, observable or task to move")
	}
	if len(sp.AlertIDs)+len(sp.ObservableIDs)+len(sp.TaskIDs) > maxIDs {
		return Case{}, fault.Invalidf("alert_ids", "move at most %d things in one split", maxIDs)
	}
	var newID_ string
	_, err := s.changeCase(ctx, sc, id, func(tx *store.Tx, c *Case, path string) error {
		if c.Status == CaseClosed {
			return fault.Invalidf("status", "case %s is closed: reopen it first", c.ID)
		}
		now := s.now()
		n := Case{ID: newID(prefixCase, now), Org: c.Org, Title: strings.TrimSpace(sp.Title), Severity: c.Severity, TLP: c.TLP, PAP: c.PAP,
			Status: CaseNew, Team: c.Team, Tags: c.Tags, Template: c.Template, Fields: map[string]any{}, ParentID: c.ParentID,
			Description: fmt.Sprintf("Split from case %s.", c.ID), CreatedBy: actorName(sc), CreatedAt: now, UpdatedAt: now}
		if err := writeCase(ctx, tx, &n, true); err != nil {
			return err
		}
		if err := s.startSLAClocks(ctx, tx, &n); err != nil {
			return err
		}
		move := func(table, field, prefix string, ids []string, extra string) error {
			for _, x := range ids {
				if !validID(prefix, x) {
					return fault.Invalidf(field, "%q is not one of case %s's", x, c.ID)
				}
				res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET case_id = ?`+extra+` WHERE id = ? AND case_id = ?`, n.ID, x, c.ID)
				if err != nil {
					return fmt.Errorf("cases: split %s: %w", table, err)
				}
				if k, _ := res.RowsAffected(); k != 1 {
					return fault.Invalidf(field, "%q is not one of case %s's", x, c.ID)
				}
			}
			return nil
		}
		if err := move("alerts", "alert_ids", prefixAlert, sp.AlertIDs, ""); err != nil {
			return err
		}
		if err := move("case_observables", "observable_ids", prefixObservable, sp.ObservableIDs, ""); err != nil {
			return err
		}
		if err := move("case_tasks", "task_ids", prefixTask, sp.TaskIDs, ""); err != nil {
			return err
		}
		for _, t := range sp.TaskIDs {
			if _, err := tx.ExecContext(ctx, `UPDATE case_task_logs SET case_id = ? WHERE task_id = ?`, n.ID, t); err != nil {
				return err
			}
		}
		if err := link(ctx, tx, c.ID, n.ID, "split-into", "split-from", now); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, n.ID, timelineEntry{kind: "case.created", title: "Case opened by splitting case " + c.ID, ref: c.ID}); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "case.split", title: fmt.Sprintf("Split into case %s: %s", n.ID, n.Title), ref: n.ID,
			body: fmt.Sprintf("%d alerts, %d observables, %d tasks moved", len(sp.AlertIDs), len(sp.ObservableIDs), len(sp.TaskIDs))}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.split", ObjectType: "case", ObjectID: c.ID, Org: c.Org,
			After: map[string]any{"new_case": n.ID, "alerts": sp.AlertIDs, "observables": sp.ObservableIDs, "tasks": sp.TaskIDs}}); err != nil {
			return err
		}
		s.after(tx, "case.split", Event{Kind: "case.created", Org: n.Org, Case: n.ID, Actor: actorName(sc), At: now, Detail: map[string]string{"split_from": c.ID}})
		newID_ = n.ID
		return touch(ctx, tx, c, now)
	})
	if err != nil {
		return Case{}, err
	}
	return s.GetCase(ctx, sc, newID_)
}
