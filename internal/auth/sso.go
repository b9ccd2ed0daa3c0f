package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth/oidc"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// ErrNoRole means the identity provider vouched for the user but none of
// their groups maps to a Vigil role.
var ErrNoRole = errors.New("your single sign-on account has no Vigil role; ask your administrator to add you to a Vigil group")

// SSO signs users in through OpenID Connect. Users are provisioned on
// first sign-in, and their grants follow their IdP groups through the role
// map on every sign-in (grants given locally are left alone).
type SSO struct {
	auth *Service
	p    *oidc.Provider
}

// NewSSO connects to the issuer in cfg.
func (s *Service) NewSSO(ctx context.Context, cfg oidc.Config) (*SSO, error) {
	p, err := oidc.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &SSO{auth: s, p: p}, nil
}

// Begin starts a sign-in and returns the provider URL to send the browser to.
func (o *SSO) Begin(ctx context.Context, returnTo string) (string, error) {
	u, st, err := o.p.Begin()
	if err != nil {
		return "", err
	}
	s := o.auth
	_, err = s.db.Q().ExecContext(ctx, `INSERT INTO oidc_states (state, nonce, verifier, return_to, created_at) VALUES (?, ?, ?, ?, ?)`,
		st.State, st.Nonce, st.Verifier, returnTo, st.Created.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return "", fmt.Errorf("auth: keep sign-in state: %w", err)
	}
	// Sweep abandoned sign-ins now and then; a failed sweep only leaves
	// them for the next one (each is refused after StateMaxAge anyway).
	if _, err := s.db.Q().ExecContext(ctx, `DELETE FROM oidc_states WHERE created_at < ?`, s.now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)); err != nil {
		s.log.Warn("sweep sign-in states", "err", err)
	}
	return u, nil
}

// Finish completes a sign-in from the callback's state and code, and
// returns the user ID and where the browser wanted to go.
func (o *SSO) Finish(ctx context.Context, gotState, code, remote string) (string, string, error) {
	s := o.auth
	var st oidc.State
	var returnTo, created string
	err := s.db.Q().QueryRowContext(ctx, `SELECT state, nonce, verifier, return_to, created_at FROM oidc_states WHERE state = ?`, gotState).
		Scan(&st.State, &st.Nonce, &st.Verifier, &returnTo, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", oidc.ErrStateMismatch
	}
	if err != nil {
		return "", "", err
	}
	// One use only, whatever happens next: a state that cannot be deleted
	// could be replayed, so the sign-in stops here.
	if _, err := s.db.Q().ExecContext(ctx, `DELETE FROM oidc_states WHERE state = ?`, gotState); err != nil {
		return "", "", fmt.Errorf("auth: use sign-in state: %w", err)
	}
	st.Created, _ = time.Parse(time.RFC3339Nano, created)
	id, err := o.p.Finish(ctx, st, gotState, code)
	if err != nil {
		return "", "", err
	}
	if len(id.Grants) == 0 {
		at := attempt{email: strings.ToLower(strings.TrimSpace(id.Email)), remote: remote}
		// Filed under the account's home organisation when it has one here.
		err := s.db.Q().QueryRowContext(ctx, `SELECT id, home_org FROM users WHERE oidc_subject = ? OR (email = ? AND email <> '')`,
			id.Issuer+"|"+id.Subject, at.email).Scan(&at.userID, &at.home)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			s.log.Error("single sign-on: look up the refused account", "err", err)
		}
		s.recordSignIn(ctx, at, "auth.signin_failed", map[string]any{"reason": "no role"})
		return "", "", ErrNoRole
	}
	subject := id.Issuer + "|" + id.Subject
	userID, err := s.provision(ctx, subject, id)
	if err != nil {
		return "", "", err
	}
	return userID, returnTo, nil
}

func (s *Service) provision(ctx context.Context, subject string, id oidc.Identity) (string, error) {
	var userID string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE oidc_subject = ?`, subject).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) && id.Email != "" && id.EmailVerified {
			// Link an existing local account with the same verified address.
			err = tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = ?`, strings.ToLower(id.Email)).Scan(&userID)
			if err == nil {
				_, err = tx.ExecContext(ctx, `UPDATE users SET oidc_subject = ? WHERE id = ?`, subject, userID)
			}
		}
		sys := scope.System("oidc")
		if errors.Is(err, sql.ErrNoRows) {
			email := strings.ToLower(id.Email)
			if email == "" {
				email = strings.ToLower(id.Subject) + "@sso.invalid"
			}
			name := id.Name
			if name == "" {
				name = email
			}
			userID = "u_" + randomID(10)
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, home_org, oidc_subject, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				userID, email, name, strings.ToUpper(id.Grants[0].Org), subject, s.ts(), s.ts()); err != nil {
				return err
			}
			if _, err := s.audit.Append(ctx, tx, sys, audit.Change{Action: "user.create", ObjectType: "user", ObjectID: userID, Org: strings.ToUpper(id.Grants[0].Org),
				After: map[string]any{"email": email, "name": name, "via": "oidc"}}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		// Grants from the IdP are replaced wholesale on each sign-in.
		if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE user_id = ? AND source = 'oidc'`, userID); err != nil {
			return err
		}
		for _, g := range id.Grants {
			if _, err := tx.ExecContext(ctx, `INSERT INTO grants (user_id, role, org, source) VALUES (?, ?, ?, 'oidc') ON CONFLICT (user_id, role, org) DO NOTHING`,
				userID, g.Role, strings.ToUpper(g.Org)); err != nil {
				return err
			}
		}
		return nil
	})
	return userID, err
}
