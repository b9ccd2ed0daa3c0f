package cases

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
)

// Who sees and changes what.
//
//   - An alert or a case belongs to one organisation (org). scope.Read on
//     it sees the object and everything a case holds; scope.Write changes
//     it. Lists apply scope in SQL (scope.Filter on org); single lookups
//     answer fault.ErrNotFound for what the caller may not read, and
//     fault.ErrForbidden (naming only the object they can see) for what
//     they may read but not change.
//   - Data moves only to where its readers could already see it: an alert
//     joins a case, and a case is merged into another, only when the
//     target belongs to the same organisation or to one above it in the
//     tree (flowsTo). A trust's alert may sit in its ICB's case, whose
//     readers read the trust anyway; an ICB's alert never lands in a
//     trust's case. Splitting keeps the organisation.
//   - A national incident's child case belongs to the affected
//     organisation and its parent to the national team; the child's
//     readers see the parent's ID, not the parent (issue 15's incidents
//     step decides what the national team shares down).
//   - People named in assignments and mentions must be able to see the
//     case (Write for an assignee, Read for a mention); a name that is not
//     such a person is refused (assignee) or left as text (mention), with
//     the same answer whether or not the person exists.
//   - "Seen in other cases" and links list only cases the caller may read.

// orgPath returns the path of organisation code, or fault.ErrNotFound.
func (s *Service) orgPath(ctx context.Context, code string) (string, error) {
	p, err := s.orgs.PathOf(ctx, code)
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return "", fault.ErrNotFound
		}
		return "", fmt.Errorf("cases: organisation %s: %w", code, err)
	}
	return p, nil
}

// flowsTo reports whether data of organisation fromPath may move into an
// object of organisation toPath: the target is the same organisation or
// one above it, so its readers already read the data.
func flowsTo(fromPath, toPath string) bool { return strings.HasPrefix(fromPath, toPath) }

// assignee resolves who ("" for nobody) as the assignee of an object of
// organisation org at path: their e-mail, or an invalid-input error on
// the assignee field when they may not work on its cases.
func (s *Service) assignee(ctx context.Context, sc scope.Scope, who, org, path string) (string, error) {
	who = strings.TrimSpace(who)
	if who == "" {
		return "", nil
	}
	email, ok, err := s.userCan(ctx, sc, who, path, scope.Write)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fault.Invalidf("assignee", "%q is not a user who may work on cases of %s", safetext.Terminal(who), org)
	}
	return email, nil
}

// userCan resolves who (an e-mail or user ID) and checks that they hold p
// on organisation path. It returns their e-mail, or ok=false — the same
// for a person who does not exist and one who may not see the object.
func (s *Service) userCan(ctx context.Context, sc scope.Scope, who string, path string, p scope.Perm) (string, bool, error) {
	who = strings.TrimSpace(who)
	if strings.EqualFold(who, sc.Email) || who == sc.UserID {
		return sc.Email, sc.CanAt(p, path), nil
	}
	if s.users == nil {
		return "", false, nil
	}
	us, err := s.users.ScopeOf(ctx, who)
	if errors.Is(err, fault.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return us.Email, us.CanAt(p, path), nil
}
