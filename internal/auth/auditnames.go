package auth

import (
	"context"
	"database/sql"
	"errors"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// AuditNames resolves the people and organisations that audit entries
// name, for audit.Describe, as sc may see them: a user whose home is
// outside sc's scope, or an organisation outside it, has no name here, and
// the sentence keeps what the entry itself holds (an e-mail address, an
// ODS code) — an auditor learns nothing from the words that the entry did
// not already show. Answers are kept for the life of the value (one page,
// one listing); a lookup that fails for another reason is logged and
// leaves the name out.
func (s *Service) AuditNames(ctx context.Context, sc scope.Scope) audit.Names {
	return &auditNames{ctx: ctx, sc: sc, s: s, users: map[string]string{}, orgs: map[string]string{}}
}

type auditNames struct {
	ctx   context.Context
	sc    scope.Scope
	s     *Service
	users map[string]string
	orgs  map[string]string
}

func (n *auditNames) UserName(id string) string {
	if name, ok := n.users[id]; ok {
		return name
	}
	name := ""
	if storable(id) {
		where, args := n.sc.Filter("home_org", scope.Read)
		err := n.s.db.Q().QueryRowContext(n.ctx, `SELECT name FROM users WHERE id = ? AND (`+where+` OR id = ?)`,
			append(append([]any{id}, args...), n.sc.UserID)...).Scan(&name)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			n.s.log.Warn("audit names: user", "err", err)
		}
	}
	n.users[id] = name
	return name
}

func (n *auditNames) OrgName(code string) string {
	if name, ok := n.orgs[code]; ok {
		return name
	}
	o, err := n.s.orgs.Get(n.ctx, n.sc, code)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		n.s.log.Warn("audit names: organisation", "err", err)
	}
	n.orgs[code] = o.Name
	return o.Name
}
