package vuln

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// An alert's scope worked out again after issue (issue 18, item 7), as
// national incidents do (cases.RefreshIncident): the supplier register,
// the stored SBOMs and inventories are asked again with the alert's CVEs
// and products. Organisations newly in scope get a row, with clocks
// running from now, and are told as at issue; organisations no longer in
// scope keep their row and answers, marked out of scope (their clocks
// stop); those back in scope are marked in again. The serve leader runs it
// for every alert not yet answered in full whenever the register's
// generation has moved (RefreshAlerts); the national team runs it on
// demand (POST /api/v1/cyber-alerts/{id}/refresh, `vigil cyberalert
// refresh`).

// ScopeRefresh says what a refresh changed.
type ScopeRefresh struct {
	Alert    string   `json:"alert_id"`
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Returned []string `json:"returned"`
}

// Empty reports whether nothing changed.
func (r ScopeRefresh) Empty() bool { return len(r.Added)+len(r.Removed)+len(r.Returned) == 0 }

// registerStats is the register's generation, when the register gives it
// (supply.Service does).
type registerStats interface {
	Stats(ctx context.Context) (supply.GraphStats, error)
}

func (s *Alerts) generation(ctx context.Context) int64 {
	if r, ok := s.o.Register.(registerStats); ok {
		if st, err := r.Stats(ctx); err == nil {
			return st.Generation
		}
	}
	return 0
}

// RefreshScope works out alert id's scope again. Only the national team
// (write on the national root) may.
func (s *Alerts) RefreshScope(ctx context.Context, sc scope.Scope, id string) (ScopeRefresh, error) {
	root, err := s.rootPath(ctx)
	if err != nil {
		return ScopeRefresh{}, err
	}
	if !sc.CanAt(scope.Write, root) {
		if _, err := s.Get(ctx, sc, id); err != nil {
			return ScopeRefresh{}, err // not seen: not found
		}
		return ScopeRefresh{}, fault.Forbiddenf("working out a cyber alert's scope again needs a national role that may change things")
	}
	a, err := scanAlert(s.db.Q().QueryRowContext(ctx, `SELECT `+alertCols+` FROM cyber_alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ScopeRefresh{}, notFound(id)
	}
	if err != nil {
		return ScopeRefresh{}, err
	}
	gen := s.generation(ctx)
	n := NewAlert{CVEs: a.CVEs, Products: a.Products}
	orgs, err := s.scopeOf(ctx, scope.System("cyberalert-scope"), &n)
	if err != nil {
		return ScopeRefresh{}, err
	}
	sum := ScopeRefresh{Alert: id, Added: []string{}, Removed: []string{}, Returned: []string{}}
	now := s.now()
	var added []AlertOrg
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT org, in_scope FROM cyber_alert_orgs WHERE alert_id = ?`, id)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for rows.Next() {
			var o string
			var in int
			if err := rows.Scan(&o, &in); err != nil {
				rows.Close()
				return err
			}
			have[o] = in != 0
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var audits []audit.Actor
		now := ts(now)
		seen := map[string]bool{}
		for _, o := range orgs {
			seen[o.a.ODS] = true
			in, ok := have[o.a.ODS]
			switch {
			case !ok:
				nodes, _ := json.Marshal(o.nodes)
				if _, err := tx.ExecContext(ctx, `INSERT INTO cyber_alert_orgs (alert_id, org, name, org_type, icb, icb_name, region, region_name, path, path_nodes, ack_due, update_due, scope_changed_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, o.a.ODS, o.a.Name, o.a.Type, o.a.ICB, o.a.ICBName, o.a.Region, o.a.RegionName,
					o.path, string(nodes), ts(s.now().Add(s.o.AckWithin)), ts(s.now().Add(s.o.UpdateWithin)), now); err != nil {
					return fmt.Errorf("vuln: alert %s organisation %s: %w", id, o.a.ODS, err)
				}
				audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "cyberalert.scope", ObjectType: "cyber_alert", ObjectID: id, Org: o.a.ODS,
					After: map[string]any{"path": o.path, "refresh": true}}})
				sum.Added = append(sum.Added, o.a.ODS)
			case !in:
				if _, err := tx.ExecContext(ctx, `UPDATE cyber_alert_orgs SET in_scope = 1, scope_changed_at = ?, path = ? WHERE alert_id = ? AND org = ?`, now, o.path, id, o.a.ODS); err != nil {
					return err
				}
				audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "cyberalert.scope", ObjectType: "cyber_alert", ObjectID: id, Org: o.a.ODS,
					After: map[string]any{"path": o.path, "refresh": true, "returned": true}}})
				sum.Returned = append(sum.Returned, o.a.ODS)
			}
		}
		for o, in := range have {
			if seen[o] || !in {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cyber_alert_orgs SET in_scope = 0, scope_changed_at = ? WHERE alert_id = ? AND org = ?`, now, id, o); err != nil {
				return err
			}
			audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "cyberalert.unscope", ObjectType: "cyber_alert", ObjectID: id, Org: o,
				After: map[string]any{"refresh": true}}})
			sum.Removed = append(sum.Removed, o)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cyber_alerts SET generation = ?, refreshed_at = ? WHERE id = ?`, gen, now, id); err != nil {
			return err
		}
		if len(audits) == 0 {
			return nil
		}
		_, err = s.o.Audit.AppendAll(ctx, tx, audits)
		return err
	})
	if err != nil {
		return ScopeRefresh{}, err
	}
	if len(sum.Added) > 0 && s.o.Notifier != nil {
		full, err := s.Get(ctx, scope.System("cyberalert-scope"), id)
		if err != nil {
			return sum, err
		}
		for _, m := range full.Orgs {
			for _, o := range sum.Added {
				if m.Org == o {
					added = append(added, m)
				}
			}
		}
		full.Orgs = added
		// Told at once (not in the background): a refresh is rare, and
		// the caller learns whether it worked.
		s.notifyIssued(context.WithoutCancel(ctx), full)
	}
	return sum, nil
}

// RefreshAlerts works out again the scope of every alert some
// organisation in it has yet to close, when the register's generation
// differs from the one the alert was last worked out at. It returns the
// refreshes that changed something.
func (s *Alerts) RefreshAlerts(ctx context.Context) ([]ScopeRefresh, error) {
	gen := s.generation(ctx)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT DISTINCT a.id FROM cyber_alerts a JOIN cyber_alert_orgs o ON o.alert_id = a.id
		WHERE a.generation <> ? AND o.closed_at = '' ORDER BY a.id`, gen)
	if err != nil {
		return nil, err
	}
	ids, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	var out []ScopeRefresh
	var errs []error
	for _, id := range ids {
		r, err := s.RefreshScope(ctx, clockActor, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("alert %s: %w", id, err))
			continue
		}
		if !r.Empty() {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}
