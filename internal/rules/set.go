package rules

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"github.com/vigil-health/vigil/internal/sigma"
)

// Set is every stored rule that runs somewhere, with the settings and
// exceptions detection applies to each match: what a server loads, and
// loads again when the Generation moves. It is read-only once made and
// safe for concurrent use.
type Set struct {
	// Generation is the Service's generation the set was read at.
	Generation int64
	// Texts identifies the rule texts the set runs (a hash of each
	// file's name and SHA-256): two sets with equal Texts load the same
	// rules, so a change of settings alone needs no recompiling.
	Texts      string
	files      fstest.MapFS
	rules      map[string]ruleSetting
	orgs       map[[2]string]orgRule
	exceptions map[string][]Exception
}

type ruleSetting struct {
	enabled bool
	level   string // the override, "" none
}

type orgRule struct {
	enabled *bool
	level   string
}

// Snapshot reads the stored rules that are enabled for every organisation
// or for at least one, with every setting and every exception not expired
// by now (one that expires later stops applying at its time: Decide
// compares).
func (s *Service) Snapshot(ctx context.Context) (*Set, error) {
	q := s.db.Q()
	set := &Set{files: fstest.MapFS{}, rules: map[string]ruleSetting{}, orgs: map[[2]string]orgRule{}, exceptions: map[string][]Exception{}}
	if err := q.QueryRowContext(ctx, `SELECT generation FROM sigma_rules_state WHERE id = 1`).Scan(&set.Generation); err != nil {
		return nil, fmt.Errorf("rules: snapshot: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT rule_id, org, enabled, level FROM sigma_rule_orgs`)
	if err != nil {
		return nil, fmt.Errorf("rules: snapshot: %w", err)
	}
	enabledSomewhere := map[string]bool{}
	for rows.Next() {
		var id, org, level string
		var en sql.NullInt64
		if err := rows.Scan(&id, &org, &en, &level); err != nil {
			_ = rows.Close()
			return nil, err
		}
		o := orgRule{level: level}
		if en.Valid {
			b := en.Int64 == 1
			o.enabled = &b
			if b {
				enabledSomewhere[id] = true
			}
		}
		set.orgs[[2]string{id, org}] = o
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT id, pack, path, yaml, sha256, enabled, level_override FROM sigma_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("rules: snapshot: %w", err)
	}
	texts := sha256.New()
	for rows.Next() {
		var id, pack, p, text, sum, level string
		var en int
		if err := rows.Scan(&id, &pack, &p, &text, &sum, &en, &level); err != nil {
			_ = rows.Close()
			return nil, err
		}
		set.rules[id] = ruleSetting{enabled: en == 1, level: level}
		if en == 1 || enabledSomewhere[id] {
			// Named by pack and file, so an alert's rule_file says where
			// the rule came from; the id keeps two packs' files apart.
			name := path.Join(safeName(pack), id, path.Base(p))
			set.files[name] = &fstest.MapFile{Data: []byte(text)}
			fmt.Fprintf(texts, "%s\x00%s\n", name, sum)
		}
	}
	set.Texts = hex.EncodeToString(texts.Sum(nil))
	if err := rows.Close(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT id, rule_id, org, match, owner, reason, expires_at, created_at, created_by FROM sigma_rule_exceptions WHERE expires_at > ?`, ts(s.now()))
	if err != nil {
		return nil, fmt.Errorf("rules: snapshot: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		x, err := scanException(rows)
		if err != nil {
			return nil, err
		}
		set.exceptions[x.RuleID] = append(set.exceptions[x.RuleID], x)
	}
	return set, rows.Err()
}

// safeName keeps a pack name one path element.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}

// Rules is how many stored rules the set runs.
func (set *Set) Rules() int { return len(set.files) }

// Corpus loads the set's rules as detection runs them (filters applied,
// correlations resolved across the set). Rules that no longer load — a
// placeholder given no values on this server — are in Corpus.Failed.
func (set *Set) Corpus(opts sigma.Options) (*sigma.Corpus, error) {
	if len(set.files) == 0 {
		return &sigma.Corpus{}, nil
	}
	return sigma.LoadFS(set.files, ".", "", opts)
}

// EnabledFor says whether the rule runs for org: its organisation
// setting, else its global one; a rule the store does not hold (given
// only to --rules) runs for all.
func (set *Set) EnabledFor(id, org string) bool {
	if set == nil {
		return true
	}
	on := true
	if r, ok := set.rules[id]; ok {
		on = r.enabled
	}
	if o, ok := set.orgs[[2]string{id, org}]; ok && o.enabled != nil {
		on = *o.enabled
	}
	return on
}

// Decision is what to do with one match for one organisation.
type Decision struct {
	// Raise is false when the rule is disabled for the organisation or an
	// exception holds the match back.
	Raise bool
	// Level is the level to raise it at: the organisation's override,
	// the global one, or the rule's own.
	Level string
	// Exception is the exception that held the match back, if one did.
	Exception string
}

// Decide says whether a match of rule id (level its own level) on ev of
// organisation org is raised, and at which level, at time now. A rule the
// store does not hold (given only to --rules) has no settings or
// exceptions: it is raised at its own level.
func (set *Set) Decide(id, level, org string, ev sigma.Event, now time.Time) Decision {
	d := Decision{Raise: true, Level: level}
	if set == nil {
		return d
	}
	if r, ok := set.rules[id]; ok {
		d.Raise = r.enabled
		d.Level = orLevel(r.level, level)
	}
	if o, ok := set.orgs[[2]string{id, org}]; ok {
		if o.enabled != nil {
			d.Raise = *o.enabled
		}
		d.Level = orLevel(o.level, d.Level)
	}
	if !d.Raise {
		return d
	}
	for _, x := range set.exceptions[id] {
		if (x.Org == "" || x.Org == org) && now.Before(x.Expires) && x.holds(ev) {
			d.Raise, d.Exception = false, x.ID
			return d
		}
	}
	return d
}

// holds reports whether ev has every field=value of the exception:
// compared case-insensitively, '*' in a value standing for any run of
// characters; a field holding a list matches when any item does.
func (x *Exception) holds(ev sigma.Event) bool {
	for _, m := range x.Match {
		v, ok := ev.Field(m.Field)
		if !ok || !valueMatches(v, m.Value) {
			return false
		}
	}
	return true
}

func valueMatches(v any, want string) bool {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if valueMatches(e, want) {
				return true
			}
		}
		return false
	case nil:
		return want == ""
	case string:
		return glob(strings.ToLower(want), strings.ToLower(t))
	case float64:
		return glob(strings.ToLower(want), strconv.FormatFloat(t, 'f', -1, 64))
	case bool:
		return glob(strings.ToLower(want), strconv.FormatBool(t))
	}
	return glob(strings.ToLower(want), strings.ToLower(fmt.Sprint(v)))
}

// glob matches s against pattern, where '*' is any run of characters
// (nothing else is special: Windows paths keep their backslashes).
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last) && len(s) >= len(last)
}
