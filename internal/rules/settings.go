package rules

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// ruleExists reads a rule's global settings inside tx, or not found.
func ruleExists(ctx context.Context, q store.Queryer, id string) (enabled bool, level string, err error) {
	var e int
	err = q.QueryRowContext(ctx, `SELECT enabled, level_override FROM sigma_rules WHERE id = ?`, id).Scan(&e, &level)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", fault.NotFoundf("rule %s not found", id)
	}
	if err != nil {
		return false, "", fmt.Errorf("rules: read %s: %w", id, err)
	}
	return e == 1, level, nil
}

// orgSetting reads org's setting for id ("" level and nil enabled when
// it has none).
func orgSetting(ctx context.Context, q store.Queryer, id, org string) (enabled *bool, level string, err error) {
	var e sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT enabled, level FROM sigma_rule_orgs WHERE rule_id = ? AND org = ?`, id, org).Scan(&e, &level)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("rules: read %s for %s: %w", id, org, err)
	}
	if e.Valid {
		b := e.Int64 == 1
		enabled = &b
	}
	return enabled, level, nil
}

// setting is one change of enabled or level, for every organisation (org
// "") or one.
func (s *Service) setting(ctx context.Context, sc scope.Scope, id, org, action string, apply func(tx *store.Tx, org string) (before, after any, err error)) error {
	if org == "" {
		if err := mayChangeAll(sc); err != nil {
			return err
		}
	} else {
		var err error
		if org, err = s.orgFor(ctx, sc, org); err != nil {
			return err
		}
	}
	if err := mayRead(sc); err != nil {
		return err
	}
	changed := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, _, err := ruleExists(ctx, tx, id); err != nil {
			return err
		}
		before, after, err := apply(tx, org)
		if err != nil || fmt.Sprint(before) == fmt.Sprint(after) {
			return err
		}
		changed = true
		if err := bump(ctx, tx); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: action, ObjectType: "rule", ObjectID: id, Org: org, Before: before, After: after})
		return err
	})
	if err == nil && changed {
		s.changed()
	}
	return err
}

// upsertOrg writes org's setting for id, keeping the part not given.
func upsertOrg(ctx context.Context, tx *store.Tx, id, org string, enabled *bool, level string, by string, now time.Time) error {
	var e any
	if enabled != nil {
		e = boolInt(*enabled)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sigma_rule_orgs (rule_id, org, enabled, level, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (rule_id, org) DO UPDATE SET enabled = excluded.enabled, level = excluded.level, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		id, org, e, level, ts(now), by)
	if err != nil {
		return fmt.Errorf("rules: set %s for %s: %w", id, org, err)
	}
	return nil
}

func onOff(b *bool) string {
	switch {
	case b == nil:
		return "inherit"
	case *b:
		return "on"
	}
	return "off"
}

// SetEnabled enables or disables rule id for every organisation (org "")
// or for one, whose setting then wins over the global one.
func (s *Service) SetEnabled(ctx context.Context, sc scope.Scope, id, org string, enabled bool) error {
	return s.setting(ctx, sc, id, org, "rule.enable", func(tx *store.Tx, org string) (any, any, error) {
		if org == "" {
			was, _, err := ruleExists(ctx, tx, id)
			if err != nil {
				return nil, nil, err
			}
			_, err = tx.ExecContext(ctx, `UPDATE sigma_rules SET enabled = ?, updated_at = ?, updated_by = ? WHERE id = ?`, boolInt(enabled), ts(s.now()), who(sc), id)
			return map[string]string{"enabled": onOff(&was)}, map[string]string{"enabled": onOff(&enabled)}, err
		}
		was, level, err := orgSetting(ctx, tx, id, org)
		if err != nil {
			return nil, nil, err
		}
		return map[string]string{"enabled": onOff(was)}, map[string]string{"enabled": onOff(&enabled)}, upsertOrg(ctx, tx, id, org, &enabled, level, who(sc), s.now())
	})
}

// SetLevel overrides rule id's level for every organisation (org "") or
// for one; level "" removes the override.
func (s *Service) SetLevel(ctx context.Context, sc scope.Scope, id, org, level string) error {
	level = strings.ToLower(strings.TrimSpace(level))
	if level != "" && !ValidLevel(level) {
		return fault.Invalidf("level", "%q: want one of %s, or empty to remove the override", level, strings.Join(Levels, ", "))
	}
	return s.setting(ctx, sc, id, org, "rule.level", func(tx *store.Tx, org string) (any, any, error) {
		if org == "" {
			_, was, err := ruleExists(ctx, tx, id)
			if err != nil {
				return nil, nil, err
			}
			_, err = tx.ExecContext(ctx, `UPDATE sigma_rules SET level_override = ?, updated_at = ?, updated_by = ? WHERE id = ?`, level, ts(s.now()), who(sc), id)
			return map[string]string{"level": was}, map[string]string{"level": level}, err
		}
		en, was, err := orgSetting(ctx, tx, id, org)
		if err != nil {
			return nil, nil, err
		}
		return map[string]string{"level": was}, map[string]string{"level": level}, upsertOrg(ctx, tx, id, org, en, level, who(sc), s.now())
	})
}

// ResetOrg removes org's own settings for rule id: it follows the global
// ones again.
func (s *Service) ResetOrg(ctx context.Context, sc scope.Scope, id, org string) error {
	if strings.TrimSpace(org) == "" {
		return fault.Invalidf("org", "is required: whose settings to reset")
	}
	return s.setting(ctx, sc, id, org, "rule.reset", func(tx *store.Tx, org string) (any, any, error) {
		en, level, err := orgSetting(ctx, tx, id, org)
		if err != nil {
			return nil, nil, err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sigma_rule_orgs WHERE rule_id = ? AND org = ?`, id, org)
		return map[string]string{"enabled": onOff(en), "level": level}, map[string]string{"enabled": "inherit", "level": ""}, err
	})
}

// Limits of exceptions.
const (
	// MaxMatches is the most field=value pairs of one exception.
	MaxMatches = 10
	// MaxExceptionLife is the longest an exception may last: tuning is
	// reviewed, not forgotten.
	MaxExceptionLife = 366 * 24 * time.Hour
)

// NewException is an exception to add.
type NewException struct {
	RuleID string `json:"rule_id"`
	// Org is the organisation it applies to; "" is every one (national
	// roles only).
	Org    string  `json:"org,omitempty"`
	Match  []Match `json:"match"`
	Owner  string  `json:"owner"`
	Reason string  `json:"reason"`
	// Expires is when it stops applying: after now, within
	// MaxExceptionLife.
	Expires time.Time `json:"expires_at"`
}

// ParseMatch reads "field=value" (the CLI's and the forms' spelling).
func ParseMatch(s string) (Match, error) {
	f, v, ok := strings.Cut(s, "=")
	f = strings.TrimSpace(f)
	if !ok || f == "" {
		return Match{}, fault.Invalidf("match", "%q: want field=value, e.g. Image=C:\\Tools\\backup.exe", s)
	}
	return Match{Field: f, Value: v}, nil
}

// ParseExpiry reads an exception's expiry as people write it: a duration
// from now ("30d", "2w", "12h") or a date or time ("2027-01-31",
// RFC 3339).
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 1 {
		if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && n > 0 && n <= 10000 {
			switch s[len(s)-1] {
			case 'd':
				return now.AddDate(0, 0, n), nil
			case 'w':
				return now.AddDate(0, 0, 7*n), nil
			case 'h':
				return now.Add(time.Duration(n) * time.Hour), nil
			}
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fault.Invalidf("expires", "%q: want a duration such as 30d, 2w or 12h, or a date such as 2027-01-31", s)
}

// AddException adds an exception to rule id.
func (s *Service) AddException(ctx context.Context, sc scope.Scope, in NewException) (Exception, error) {
	now := s.now()
	in.Owner, in.Reason = strings.TrimSpace(in.Owner), strings.TrimSpace(in.Reason)
	switch {
	case len(in.Match) == 0:
		return Exception{}, fault.Invalidf("match", "is required: the field=value pairs an event must hold to be excepted")
	case len(in.Match) > MaxMatches:
		return Exception{}, fault.Invalidf("match", "at most %d field=value pairs", MaxMatches)
	case in.Owner == "":
		return Exception{}, fault.Invalidf("owner", "is required: who answers for the exception")
	case in.Reason == "":
		return Exception{}, fault.Invalidf("reason", "is required: why the matches are expected")
	case in.Expires.IsZero() || !in.Expires.After(now):
		return Exception{}, fault.Invalidf("expires_at", "must be in the future")
	case in.Expires.Sub(now) > MaxExceptionLife:
		return Exception{}, fault.Invalidf("expires_at", "at most a year ahead: renew an exception rather than forget it")
	}
	for i, m := range in.Match {
		m.Field = strings.TrimSpace(m.Field)
		if m.Field == "" {
			return Exception{}, fault.Invalidf("match", "pair %d has no field", i+1)
		}
		if p := safetext.Problem(m.Field, safetext.Name, 200); p != "" {
			return Exception{}, fault.Invalidf("match", "field %s", p)
		}
		if p := safetext.Problem(m.Value, safetext.Name, 1000); p != "" {
			return Exception{}, fault.Invalidf("match", "value %s", p)
		}
		in.Match[i] = m
	}
	if p := safetext.Problem(in.Owner, safetext.Name, safetext.MaxName); p != "" {
		return Exception{}, fault.Invalidf("owner", "%s", p)
	}
	if p := safetext.Problem(in.Reason, safetext.Text, safetext.MaxText); p != "" {
		return Exception{}, fault.Invalidf("reason", "%s", p)
	}
	x := Exception{ID: randid.New("EX"), RuleID: in.RuleID, Match: in.Match, Owner: in.Owner, Reason: in.Reason,
		Expires: in.Expires.UTC(), CreatedAt: now.UTC(), CreatedBy: who(sc)}
	match, _ := json.Marshal(in.Match)
	err := s.setting(ctx, sc, in.RuleID, in.Org, "rule.except", func(tx *store.Tx, org string) (any, any, error) {
		x.Org = org
		_, err := tx.ExecContext(ctx, `INSERT INTO sigma_rule_exceptions (id, rule_id, org, match, owner, reason, expires_at, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, x.ID, x.RuleID, org, string(match), x.Owner, x.Reason, ts(x.Expires), ts(now), x.CreatedBy)
		return nil, map[string]any{"exception": x.ID, "match": x.Match, "owner": x.Owner, "reason": x.Reason, "expires_at": x.Expires}, err
	})
	if err != nil {
		return Exception{}, err
	}
	return x, nil
}

// RemoveException removes an exception before it expires.
func (s *Service) RemoveException(ctx context.Context, sc scope.Scope, id string) error {
	var ruleID, org string
	err := s.db.Q().QueryRowContext(ctx, `SELECT rule_id, org FROM sigma_rule_exceptions WHERE id = ?`, id).Scan(&ruleID, &org)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.NotFoundf("exception %s not found", id)
	}
	if err != nil {
		return fmt.Errorf("rules: read exception %s: %w", id, err)
	}
	if org != "" {
		if _, err := s.orgReadable(ctx, sc, org); err != nil {
			return fault.NotFoundf("exception %s not found", id)
		}
	}
	return s.setting(ctx, sc, ruleID, org, "rule.unexcept", func(tx *store.Tx, _ string) (any, any, error) {
		_, err := tx.ExecContext(ctx, `DELETE FROM sigma_rule_exceptions WHERE id = ?`, id)
		return map[string]string{"exception": id}, nil, err
	})
}
