package rules

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// MaxPage is the most rules one List returns.
const MaxPage = 5000

// ListFilter narrows List.
type ListFilter struct {
	// Org, when set, adds that organisation's own settings and what
	// detection does for it to each rule.
	Org string
	// Query finds rules whose id, title, tags or author contain it
	// (case-insensitively).
	Query string
	Pack  string
	Level string
	// Disabled lists only rules disabled (for Org when given).
	Disabled bool
	After    string
	Limit    int
}

const ruleCols = `r.id, r.title, r.level, r.status, r.author, r.product, r.category, r.service, r.tags, r.pack, r.path, r.version,
	r.enabled, r.level_override, r.updated_at, r.updated_by`

type scanner interface{ Scan(...any) error }

func scanRule(row scanner, extra ...any) (Rule, error) {
	var r Rule
	var tags, at string
	var en int
	if err := row.Scan(append([]any{&r.ID, &r.Title, &r.Level, &r.Status, &r.Author, &r.Product, &r.Category, &r.Service, &tags,
		&r.Pack, &r.Path, &r.Version, &en, &r.LevelOverride, &at, &r.UpdatedBy}, extra...)...); err != nil {
		return Rule{}, err
	}
	r.Tags = strings.Fields(tags)
	if r.Tags == nil {
		r.Tags = []string{}
	}
	r.Enabled, r.UpdatedAt = en == 1, parseTS(at)
	r.EffectiveEnabled, r.EffectiveLevel = r.Enabled, orLevel(r.LevelOverride, r.Level)
	return r, nil
}

func orLevel(levels ...string) string {
	for _, l := range levels {
		if l != "" {
			return l
		}
	}
	return ""
}

// effective fills what detection does for r's organisation.
func (r *Rule) effective(orgEnabled *bool, orgLevel string) {
	r.OrgEnabled, r.OrgLevel = orgEnabled, orgLevel
	r.EffectiveEnabled = r.Enabled
	if orgEnabled != nil {
		r.EffectiveEnabled = *orgEnabled
	}
	r.EffectiveLevel = orLevel(orgLevel, r.LevelOverride, r.Level)
}

// List returns stored rules in id order, a page at a time: the next
// page's After is the last rule's id.
func (s *Service) List(ctx context.Context, sc scope.Scope, f ListFilter) ([]Rule, error) {
	if err := mayRead(sc); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = MaxPage
	}
	conds, args := []string{"r.id > ?"}, []any{f.After}
	from := "sigma_rules r"
	cols := ruleCols + ", NULL, ''"
	if f.Org != "" {
		org, err := s.orgReadable(ctx, sc, f.Org)
		if err != nil {
			return nil, err
		}
		f.Org = org
		from = "sigma_rules r LEFT JOIN sigma_rule_orgs o ON o.rule_id = r.id AND o.org = ?"
		cols = ruleCols + ", o.enabled, COALESCE(o.level, '')"
		args = append([]any{org}, args...)
		if f.Disabled {
			conds = append(conds, "COALESCE(o.enabled, r.enabled) = 0")
		}
	} else if f.Disabled {
		conds = append(conds, "r.enabled = 0")
	}
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q) + "%"
		conds = append(conds, `(LOWER(r.id) LIKE ? ESCAPE '\' OR LOWER(r.title) LIKE ? ESCAPE '\' OR LOWER(r.tags) LIKE ? ESCAPE '\' OR LOWER(r.author) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like, like)
	}
	if f.Pack != "" {
		conds, args = append(conds, "r.pack = ?"), append(args, f.Pack)
	}
	if f.Level != "" {
		conds, args = append(conds, "r.level = ?"), append(args, strings.ToLower(f.Level))
	}
	args = append(args, f.Limit)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+cols+` FROM `+from+` WHERE `+strings.Join(conds, " AND ")+` ORDER BY r.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("rules: list: %w", err)
	}
	defer rows.Close()
	out := []Rule{}
	for rows.Next() {
		var oe sql.NullInt64
		var ol string
		r, err := scanRule(rows, &oe, &ol)
		if err != nil {
			return nil, fmt.Errorf("rules: list: %w", err)
		}
		if f.Org != "" {
			r.Org = f.Org
			var en *bool
			if oe.Valid {
				b := oe.Int64 == 1
				en = &b
			}
			r.effective(en, ol)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Get returns rule id with its text, every version (newest first), and
// the settings, exceptions and last 30 days' hits of the organisations
// sc may read (global exceptions for everyone).
func (s *Service) Get(ctx context.Context, sc scope.Scope, id string) (Detail, error) {
	if err := mayRead(sc); err != nil {
		return Detail{}, err
	}
	q := s.db.Q()
	var d Detail
	r, err := scanRule(q.QueryRowContext(ctx, `SELECT `+ruleCols+`, r.yaml FROM sigma_rules r WHERE r.id = ?`, id), &d.YAML)
	if errors.Is(err, sql.ErrNoRows) {
		return Detail{}, fault.NotFoundf("rule %s not found", id)
	}
	if err != nil {
		return Detail{}, fmt.Errorf("rules: get %s: %w", id, err)
	}
	d.Rule = r
	d.Versions, d.Orgs, d.Exceptions = []Version{}, []OrgSetting{}, []Exception{}
	rows, err := q.QueryContext(ctx, `SELECT version, sha256, yaml, pack, path, changed_by, changed_at, note FROM sigma_rule_versions WHERE rule_id = ? ORDER BY version DESC`, id)
	if err != nil {
		return Detail{}, fmt.Errorf("rules: versions of %s: %w", id, err)
	}
	for rows.Next() {
		var v Version
		var at string
		if err := rows.Scan(&v.Version, &v.SHA256, &v.YAML, &v.Pack, &v.Path, &v.ChangedBy, &at, &v.Note); err != nil {
			_ = rows.Close()
			return Detail{}, err
		}
		v.ChangedAt = parseTS(at)
		d.Versions = append(d.Versions, v)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return Detail{}, err
	}
	where, args := sc.Filter("org", scope.Read)
	rows, err = q.QueryContext(ctx, `SELECT org, enabled, level, updated_at, updated_by FROM sigma_rule_orgs WHERE rule_id = ? AND `+where+` ORDER BY org`, append([]any{id}, args...)...)
	if err != nil {
		return Detail{}, fmt.Errorf("rules: settings of %s: %w", id, err)
	}
	for rows.Next() {
		var o OrgSetting
		var en sql.NullInt64
		var at string
		if err := rows.Scan(&o.Org, &en, &o.Level, &at, &o.UpdatedBy); err != nil {
			_ = rows.Close()
			return Detail{}, err
		}
		if en.Valid {
			b := en.Int64 == 1
			o.Enabled = &b
		}
		o.UpdatedAt = parseTS(at)
		d.Orgs = append(d.Orgs, o)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return Detail{}, err
	}
	d.Exceptions, err = s.exceptions(ctx, sc, id)
	if err != nil {
		return Detail{}, err
	}
	d.Hits, err = s.dayHits(ctx, sc, id, 30)
	return d, err
}

// exceptions lists rule id's exceptions that sc may see, newest first.
func (s *Service) exceptions(ctx context.Context, sc scope.Scope, id string) ([]Exception, error) {
	where, args := sc.Filter("org", scope.Read)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, rule_id, org, match, owner, reason, expires_at, created_at, created_by FROM sigma_rule_exceptions
		WHERE rule_id = ? AND (org = '' OR `+where+`) ORDER BY created_at DESC, id`, append([]any{id}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("rules: exceptions of %s: %w", id, err)
	}
	defer rows.Close()
	now := s.now()
	out := []Exception{}
	for rows.Next() {
		x, err := scanException(rows)
		if err != nil {
			return nil, err
		}
		x.Expired = !now.Before(x.Expires)
		out = append(out, x)
	}
	return out, rows.Err()
}

func scanException(row scanner) (Exception, error) {
	var x Exception
	var match, exp, at string
	if err := row.Scan(&x.ID, &x.RuleID, &x.Org, &match, &x.Owner, &x.Reason, &exp, &at, &x.CreatedBy); err != nil {
		return Exception{}, err
	}
	if err := json.Unmarshal([]byte(match), &x.Match); err != nil {
		return Exception{}, fmt.Errorf("rules: exception %s: %w", x.ID, err)
	}
	x.Expires, x.CreatedAt = parseTS(exp), parseTS(at)
	return x, nil
}
