package auth

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Session is a signed-in browser.
type Session struct {
	// Secret goes in the cookie; only its hash is stored.
	Secret  string
	UserID  string
	CSRF    string
	Expires time.Time
}

// StartSession opens a session for a user who has just authenticated.
func (s *Service) StartSession(ctx context.Context, userID, remote, userAgent string) (Session, error) {
	se := Session{Secret: randomID(32), UserID: userID, CSRF: randomID(20), Expires: s.now().Add(s.ttl)}
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at, remote, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sha(se.Secret), userID, se.CSRF, s.ts(), se.Expires.UTC().Format(time.RFC3339), remote, userAgent); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login = ? WHERE id = ?`, s.ts(), userID); err != nil {
			return err
		}
		// Sweep expired sessions now and then rather than with a timer.
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, s.ts())
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("auth: start session: %w", err)
	}
	var email, home string
	if err := s.db.Q().QueryRowContext(ctx, `SELECT email, home_org FROM users WHERE id = ?`, userID).Scan(&email, &home); err != nil {
		// The entry is still written, without the e-mail and organisation.
		s.log.Error("audit sign-in: look up the user", "user", userID, "err", err)
	}
	// The session exists now: record it even if the browser has gone away.
	if err := s.audit.Record(context.WithoutCancel(ctx), scope.Scope{UserID: userID, Email: email, Via: "web", Remote: remote},
		audit.Change{Action: "auth.signin", ObjectType: "user", ObjectID: userID, Org: home}); err != nil {
		s.log.Error("audit sign-in", "user", userID, "err", err)
	}
	return se, nil
}

// SessionScope resolves a session cookie to the caller's Scope and the
// session's CSRF token.
func (s *Service) SessionScope(ctx context.Context, secret, remote string) (scope.Scope, string, error) {
	if secret == "" || len(secret) > 100 {
		return scope.Scope{}, "", fault.ErrNotFound
	}
	var userID, csrf, expires string
	err := s.db.Q().QueryRowContext(ctx, `SELECT user_id, csrf, expires_at FROM sessions WHERE id_hash = ?`, sha(secret)).Scan(&userID, &csrf, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return scope.Scope{}, "", fault.ErrNotFound
	}
	if err != nil {
		return scope.Scope{}, "", err
	}
	if exp, _ := time.Parse(time.RFC3339, expires); !s.now().Before(exp) {
		return scope.Scope{}, "", ErrExpired
	}
	sc, err := s.ScopeFor(ctx, userID, "session", remote)
	return sc, csrf, err
}

// EndSession signs a browser out: it deletes the session and records
// auth.signout, by sc (the caller the session identified) under the
// user's home organisation, in one transaction. Ending a session that is
// already gone does nothing.
func (s *Service) EndSession(ctx context.Context, sc scope.Scope, secret string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM sessions WHERE id_hash = ?`, sha(secret)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("auth: end session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, sha(secret)); err != nil {
			return fmt.Errorf("auth: end session: %w", err)
		}
		var home string
		if err := tx.QueryRowContext(ctx, `SELECT home_org FROM users WHERE id = ?`, userID).Scan(&home); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("auth: end session: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "auth.signout", ObjectType: "user", ObjectID: userID, Org: home})
		return err
	})
}

// CheckCSRF compares a submitted CSRF token with the session's in constant time.
func CheckCSRF(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// Token is an API token as listed: never its secret.
type Token struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	User      string `json:"user"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at,omitempty"`
	LastUsed  string `json:"last_used,omitempty"`
	RevokedAt string `json:"revoked_at,omitempty"`
}

// TokenPrefix starts every API token, so secret scanners can find leaked ones.
const TokenPrefix = "vigil_"

// maxTokenLife is the longest lifetime a token may be given.
const maxTokenLife = 3650 * 24 * time.Hour

// ParseExpiry reads "90d", "12h", "2w" or a Go duration; "" or "never" is no expiry.
func ParseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "never" {
		return 0, nil
	}
	mult := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if m, ok := mult[s[len(s)-1]]; ok {
		n, err := strconv.Atoi(s[:len(s)-1])
		// Bounded before multiplying: 3650y overflowed time.Duration
		// (about 292 years) into a token expiring at a wrapped date.
		if err != nil || n <= 0 || time.Duration(n) > maxTokenLife/m {
			return 0, &fault.Invalid{Field: "expires", Reason: fmt.Sprintf("%q: want a positive number of days like 90d, at most 10 years", s)}
		}
		return time.Duration(n) * m, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxTokenLife {
		return 0, &fault.Invalid{Field: "expires", Reason: fmt.Sprintf("%q: want a duration like 90d, 2w or 12h, at most 10 years", s)}
	}
	return d, nil
}

// CreateToken makes a new API token for a user and returns its secret,
// which is shown once and stored only as a hash. A caller may create tokens
// for themself, and for users they may manage (MayManage) — never for
// someone who holds more than the caller could grant, as the token would
// make the caller them.
func (s *Service) CreateToken(ctx context.Context, sc scope.Scope, idOrEmail, name string, ttl time.Duration) (Token, string, error) {
	u, err := s.GetUser(ctx, sc, idOrEmail)
	if err != nil {
		return Token{}, "", err
	}
	if u.ID != sc.UserID {
		if err := s.MayManage(ctx, sc, u); err != nil {
			return Token{}, "", err
		}
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return Token{}, "", &fault.Invalid{Field: "name", Reason: "a label of 1–100 characters is required"}
	}
	if p := safetext.Problem(name, safetext.Name, 0); p != "" {
		return Token{}, "", &fault.Invalid{Field: "name", Reason: p}
	}
	t := Token{ID: "t_" + randomID(8), UserID: u.ID, User: u.Email, Name: name, CreatedAt: s.ts()}
	if ttl > 0 {
		t.ExpiresAt = s.now().Add(ttl).UTC().Format(time.RFC3339)
	}
	secret := randomID(24)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, user_id, name, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.UserID, t.Name, sha(secret), t.CreatedAt, t.ExpiresAt); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "token.create", ObjectType: "token", ObjectID: t.ID, Org: u.HomeOrg, After: t})
		return err
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, TokenPrefix + t.ID + "." + secret, nil
}

// TokenScope resolves a bearer token to the caller's Scope.
func (s *Service) TokenScope(ctx context.Context, bearer, remote string) (scope.Scope, error) {
	rest, ok := strings.CutPrefix(bearer, TokenPrefix)
	id, secret, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(bearer) > 200 {
		return scope.Scope{}, fault.ErrNotFound
	}
	var userID, hash, expires, revoked string
	err := s.db.Q().QueryRowContext(ctx, `SELECT user_id, secret_hash, expires_at, revoked_at FROM tokens WHERE id = ?`, id).Scan(&userID, &hash, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return scope.Scope{}, fault.ErrNotFound
	}
	if err != nil {
		return scope.Scope{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(sha(secret))) != 1 || revoked != "" {
		return scope.Scope{}, fault.ErrNotFound
	}
	if expires != "" {
		if exp, _ := time.Parse(time.RFC3339, expires); !s.now().Before(exp) {
			return scope.Scope{}, ErrExpired
		}
	}
	// last_used to the minute: enough for "is this token still used?"
	// without a write on every request.
	// Each process writes a token's minute once (usedMinute).
	now := s.now().UTC().Truncate(time.Minute).Format(time.RFC3339)
	if prev, ok := s.usedMinute.Load(id); !ok || prev.(string) != now {
		if _, err := s.db.Q().ExecContext(ctx, `UPDATE tokens SET last_used = ? WHERE id = ? AND last_used <> ?`, now, id, now); err != nil {
			// The token is good; only its "last used" is stale.
			s.log.Warn("token last_used", "token", id, "err", err)
		} else {
			s.usedMinute.Store(id, now)
		}
	}
	return s.ScopeFor(ctx, userID, "token", remote)
}

// ListTokens returns the tokens the scope may see, newest first: its own,
// and those of the users it may manage (MayManage). With idOrEmail, only
// that user's — none if the scope may not manage them.
func (s *Service) ListTokens(ctx context.Context, sc scope.Scope, idOrEmail string) ([]Token, error) {
	// The SQL narrows to tokens of users whose home the scope administers;
	// MayManage then looks at each owner's grants.
	where, args := sc.Filter("u.home_org", scope.Admin)
	conds := []string{"(" + where + " OR t.user_id = ?)"}
	args = append(args, sc.UserID)
	if !storable(idOrEmail) {
		return []Token{}, nil
	}
	if idOrEmail != "" {
		conds = append(conds, "(u.id = ? OR u.email = ?)")
		k := strings.ToLower(idOrEmail)
		args = append(args, k, k)
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT t.id, t.user_id, u.email, u.home_org, t.name, t.created_at, t.expires_at, t.last_used, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE `+strings.Join(conds, " AND ")+` ORDER BY t.created_at DESC, t.id`, args...)
	if err != nil {
		return nil, err
	}
	all := []Token{}
	var others []User
	seen := map[string]bool{}
	for rows.Next() {
		var t Token
		var home string
		if err := rows.Scan(&t.ID, &t.UserID, &t.User, &home, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.LastUsed, &t.RevokedAt); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		all = append(all, t)
		if !seen[t.UserID] && t.UserID != sc.UserID {
			seen[t.UserID] = true
			others = append(others, User{ID: t.UserID, Email: t.User, HomeOrg: home})
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	// Whoever may grant national-admin at the root may grant anything and
	// so manage everyone: no need to load every owner's grants.
	if sc.CanGrant(scope.NationalAdmin, "/"+org.RootCode+"/") {
		return all, nil
	}
	if err := s.fillGrants(ctx, others); err != nil {
		return nil, err
	}
	homes := make([]string, len(others))
	for i, u := range others {
		homes[i] = u.HomeOrg
	}
	paths, err := s.orgs.Paths(ctx, homes)
	if err != nil {
		return nil, err
	}
	managed := map[string]bool{sc.UserID: true}
	for _, u := range others {
		// An owner whose home organisation is gone is managed by nobody
		// but national administrators (who returned above).
		p, ok := paths[u.HomeOrg]
		managed[u.ID] = ok && mayManage(sc, u, p) == nil
	}
	out := all[:0]
	for _, t := range all {
		if managed[t.UserID] {
			out = append(out, t)
		}
	}
	return out, nil
}

// RevokeToken revokes a token the scope may see; revoking twice is harmless.
func (s *Service) RevokeToken(ctx context.Context, sc scope.Scope, id string) (Token, error) {
	ts, err := s.ListTokens(ctx, sc, "")
	if err != nil {
		return Token{}, err
	}
	for _, t := range ts {
		if t.ID != id {
			continue
		}
		if t.RevokedAt != "" {
			return t, nil
		}
		before := t
		t.RevokedAt = s.ts()
		var home string
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ?`, t.RevokedAt, id); err != nil {
				return err
			}
			// A token whose owner is gone is filed under no organisation.
			if err := tx.QueryRowContext(ctx, `SELECT home_org FROM users WHERE id = ?`, t.UserID).Scan(&home); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "token.revoke", ObjectType: "token", ObjectID: id, Org: home, Before: before, After: t})
			return err
		})
		return t, err
	}
	return Token{}, fault.ErrNotFound
}
