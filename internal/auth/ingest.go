package auth

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Ingest tokens are senders' credentials (issue 16): a log shipper at a
// trust posts events with one, and it is bound to one organisation — it
// may post that organisation's events and nothing else. It carries no
// person's scope, so a leaked ingest token reads nothing and cannot post
// as another organisation. Whoever administers the organisation (an
// org-admin there, or an admin above it) creates, lists and revokes them.

// IngestTokenPrefix starts every ingest token ("vigil_ingest_i_…"), so a
// secret scanner finds leaked ones and an API token is never taken for one.
const IngestTokenPrefix = TokenPrefix + "ingest_"

// IngestToken is an ingest token as listed: never its secret.
type IngestToken struct {
	ID        string `json:"id"`
	Org       string `json:"org"`
	Name      string `json:"name"`
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at,omitempty"`
	LastUsed  string `json:"last_used,omitempty"`
	RevokedAt string `json:"revoked_at,omitempty"`
}

const ingestTokenCols = `id, org, name, created_by, created_at, expires_at, last_used, revoked_at`

func scanIngestToken(r interface{ Scan(...any) error }) (IngestToken, error) {
	var t IngestToken
	err := r.Scan(&t.ID, &t.Org, &t.Name, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &t.LastUsed, &t.RevokedAt)
	return t, err
}

// mayAdminister returns org's code and path when sc administers it, the
// not-found of an organisation sc cannot read, or forbidden.
func (s *Service) mayAdminister(ctx context.Context, sc scope.Scope, orgCode string) (string, error) {
	o, err := s.orgs.Get(ctx, sc, strings.ToUpper(strings.TrimSpace(orgCode)))
	if errors.Is(err, fault.ErrNotFound) {
		return "", &fault.Invalid{Field: "org", Reason: "no organisation " + safetext.Terminal(orgCode) + " that you can see"}
	}
	if err != nil {
		return "", err
	}
	if !sc.CanAt(scope.Admin, o.Path) {
		return "", fault.Forbiddenf("only an administrator of %s may manage its ingest tokens", o.Code)
	}
	return o.Code, nil
}

// CreateIngestToken makes an ingest token for organisation orgCode, which
// sc must administer, and returns its secret, shown once and stored only
// as a hash.
func (s *Service) CreateIngestToken(ctx context.Context, sc scope.Scope, orgCode, name string, ttl time.Duration) (IngestToken, string, error) {
	code, err := s.mayAdminister(ctx, sc, orgCode)
	if err != nil {
		return IngestToken{}, "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return IngestToken{}, "", &fault.Invalid{Field: "name", Reason: "a label of 1–100 characters is required (the sender, e.g. \"rsyslog on log01\")"}
	}
	if p := safetext.Problem(name, safetext.Name, 0); p != "" {
		return IngestToken{}, "", &fault.Invalid{Field: "name", Reason: p}
	}
	t := IngestToken{ID: "i_" + randomID(8), Org: code, Name: name, CreatedBy: actor(sc), CreatedAt: s.ts()}
	if ttl > 0 {
		t.ExpiresAt = s.now().Add(ttl).UTC().Format(time.RFC3339)
	}
	secret := randomID(24)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ingest_tokens (id, org, name, secret_hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Org, t.Name, sha(secret), t.CreatedBy, t.CreatedAt, t.ExpiresAt); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "ingest_token.create", ObjectType: "ingest_token", ObjectID: t.ID, Org: t.Org, After: t})
		return err
	})
	if err != nil {
		return IngestToken{}, "", err
	}
	return t, IngestTokenPrefix + t.ID + "." + secret, nil
}

// actor names the caller in a record: the e-mail, or the system name.
func actor(sc scope.Scope) string {
	if sc.Email != "" {
		return sc.Email
	}
	return sc.UserID
}

// ListIngestTokens returns the ingest tokens of the organisations sc
// administers, newest first; with orgCode, only that organisation's.
func (s *Service) ListIngestTokens(ctx context.Context, sc scope.Scope, orgCode string) ([]IngestToken, error) {
	where, args := sc.Filter("org", scope.Admin)
	if orgCode != "" {
		code, err := s.mayAdminister(ctx, sc, orgCode)
		if err != nil {
			return nil, err
		}
		where, args = "org = ?", []any{code}
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+ingestTokenCols+` FROM ingest_tokens WHERE `+where+` ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []IngestToken{}
	for rows.Next() {
		t, err := scanIngestToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeIngestToken revokes an ingest token of an organisation sc
// administers; revoking twice is harmless. Any other ID is not found.
func (s *Service) RevokeIngestToken(ctx context.Context, sc scope.Scope, id string) (IngestToken, error) {
	if !storable(id) {
		return IngestToken{}, fault.ErrNotFound
	}
	t, err := scanIngestToken(s.db.Q().QueryRowContext(ctx, `SELECT `+ingestTokenCols+` FROM ingest_tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return IngestToken{}, fault.ErrNotFound
	}
	if err != nil {
		return IngestToken{}, err
	}
	path, err := s.orgs.PathOf(ctx, t.Org)
	if err != nil || !sc.CanAt(scope.Admin, path) {
		return IngestToken{}, fault.ErrNotFound
	}
	if t.RevokedAt != "" {
		return t, nil
	}
	before := t
	t.RevokedAt = s.ts()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE ingest_tokens SET revoked_at = ? WHERE id = ?`, t.RevokedAt, id); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "ingest_token.revoke", ObjectType: "ingest_token", ObjectID: id, Org: t.Org, Before: before, After: t})
		return err
	})
	return t, err
}

// IngestSender resolves a bearer ingest token to the token (and so the one
// organisation whose events it may post). A wrong, unknown or revoked
// token is fault.ErrNotFound; an expired one ErrExpired.
func (s *Service) IngestSender(ctx context.Context, bearer string) (IngestToken, error) {
	rest, ok := strings.CutPrefix(bearer, IngestTokenPrefix)
	id, secret, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(bearer) > 200 || !storable(id) {
		return IngestToken{}, fault.ErrNotFound
	}
	var hash string
	var t IngestToken
	err := s.db.Q().QueryRowContext(ctx, `SELECT `+ingestTokenCols+`, secret_hash FROM ingest_tokens WHERE id = ?`, id).
		Scan(&t.ID, &t.Org, &t.Name, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &t.LastUsed, &t.RevokedAt, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return IngestToken{}, fault.ErrNotFound
	}
	if err != nil {
		return IngestToken{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(sha(secret))) != 1 || t.RevokedAt != "" {
		return IngestToken{}, fault.ErrNotFound
	}
	if t.ExpiresAt != "" {
		if exp, _ := time.Parse(time.RFC3339, t.ExpiresAt); !s.now().Before(exp) {
			return IngestToken{}, ErrExpired
		}
	}
	// Senders post constantly: last_used is written once a minute per
	// process (usedMinute), as for API tokens.
	now := s.now().UTC().Truncate(time.Minute).Format(time.RFC3339)
	if prev, ok := s.usedMinute.Load(id); !ok || prev.(string) != now {
		if _, err := s.db.Q().ExecContext(ctx, `UPDATE ingest_tokens SET last_used = ? WHERE id = ? AND last_used <> ?`, now, id, now); err != nil {
			s.log.Warn("ingest token last_used", "token", id, "err", err)
		} else {
			s.usedMinute.Store(id, now)
			t.LastUsed = now
		}
	}
	return t, nil
}
