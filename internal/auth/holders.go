package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// HoldersOf returns the e-mail addresses of the enabled users who hold one
// of roles directly on one of the organisations orgs (ODS codes), sorted
// and without repeats. It is how notifications find the people an
// escalation goes to ("the region lead of Y61, the national team"): a
// grant on the organisation itself, not anywhere beneath it. It is a
// system question (the caller is Vigil, not a person), so it takes no
// scope; what is then sent is checked against each person's own scope.
func (s *Service) HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error) {
	if len(orgs) == 0 || len(roles) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(orgs)+len(roles))
	for _, o := range orgs {
		args = append(args, strings.ToUpper(strings.TrimSpace(o)))
	}
	for _, r := range roles {
		args = append(args, string(r))
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT DISTINCT u.email FROM grants g JOIN users u ON u.id = g.user_id
		WHERE g.org IN (`+store.Placeholders(len(orgs))+`) AND g.role IN (`+store.Placeholders(len(roles))+`) AND NOT u.disabled
		ORDER BY u.email`, args...)
	if err != nil {
		return nil, fmt.Errorf("auth: holders of grants: %w", err)
	}
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, errors.Join(fmt.Errorf("auth: holders of grants: %w", err), rows.Close())
		}
		out = append(out, e)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("auth: holders of grants: %w", err)
	}
	return out, nil
}
