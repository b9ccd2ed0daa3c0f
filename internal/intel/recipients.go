package intel

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
)

// RecipientOrgs maps each object that names organisations among its
// explicit recipients (Share) to those organisations' codes: the IOC
// matcher matches a TLP:RED or TLP:AMBER+STRICT indicator only against
// the events of these organisations, so its alerts go only to inboxes
// whose people may read it. A user recipient is a person, not an
// inbox, and is left out.
func (s *Store) RecipientOrgs(ctx context.Context) (map[string][]string, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, recipient FROM intel_object_recipients WHERE kind = 'org' ORDER BY id, recipient`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string][]string{}
	for rows.Next() {
		var id, org string
		if err := rows.Scan(&id, &org); err != nil {
			return nil, err
		}
		m[id] = append(m[id], org)
	}
	return m, rows.Err()
}

// SharedSince is, for every indicator that named organisations among its
// explicit recipients after since, its latest version with those
// organisations, and when the newest of those shares was made: the IOC
// matcher retro-matches a TLP:RED or AMBER+STRICT indicator for the
// organisations it is newly shared with, which the retro-match when it
// arrived left out.
func (s *Store) SharedSince(ctx context.Context, since time.Time) ([]StoredIndicator, map[string][]string, time.Time, error) {
	return s.indicatorsForOrgs(ctx, `SELECT r.id, r.recipient, r.added_at FROM intel_object_recipients r
WHERE r.kind = 'org' AND r.added_at > ? AND r.id LIKE 'indicator--%' ORDER BY r.id, r.recipient`, versionKey(since))
}

// indicatorsForOrgs runs q, whose rows are (indicator id, organisation,
// when), and returns the latest version of each indicator named, the
// organisations named with each (once each), and the newest time.
func (s *Store) indicatorsForOrgs(ctx context.Context, q string, args ...any) ([]StoredIndicator, map[string][]string, time.Time, error) {
	var newest time.Time
	rows, err := s.db.Q().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, newest, err
	}
	orgs := map[string][]string{}
	for rows.Next() {
		var id, org, at string
		if err := rows.Scan(&id, &org, &at); err != nil {
			rows.Close()
			return nil, nil, newest, err
		}
		if !slices.Contains(orgs[id], org) {
			orgs[id] = append(orgs[id], org)
		}
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil && t.After(newest) {
			newest = t
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(orgs) == 0 {
		return nil, orgs, newest, err
	}
	out, err := s.latestIndicatorsOf(ctx, orgs)
	return out, orgs, newest, err
}

// latestIndicatorsOf reads the latest version of the indicators that are
// keys of ids, a few hundred a query.
func (s *Store) latestIndicatorsOf(ctx context.Context, of map[string][]string) ([]StoredIndicator, error) {
	ids := make([]string, 0, len(of))
	for id := range of {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []StoredIndicator
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.db.Q().QueryContext(ctx, latestIndicators+` AND o.id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var body, source, added string
			if err := rows.Scan(&body, &source, &added); err != nil {
				rows.Close()
				return nil, err
			}
			o, err := stix.Parse([]byte(body))
			if err != nil {
				continue // as EachIndicator: no longer read, skipped
			}
			at, _ := time.Parse(time.RFC3339Nano, added)
			out = append(out, StoredIndicator{Object: o, Source: source, Added: at})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ApprovedSince is, for every indicator whose submission to a moderated
// collection was approved after since, its latest version with the
// organisations that submitted it, and when the newest approval was
// made: the IOC matcher retro-matches it for the organisations it now
// reaches, the retro-match when it arrived having been for the
// submitters' alone.
func (s *Store) ApprovedSince(ctx context.Context, since time.Time) ([]StoredIndicator, map[string][]string, time.Time, error) {
	return s.indicatorsForOrgs(ctx, `SELECT id, org, decided_at FROM intel_submissions WHERE state = ? AND decided_at > ? AND id LIKE 'indicator--%' ORDER BY id, org`,
		Approved, versionKey(since))
}
