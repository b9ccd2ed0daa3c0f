package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-health/vigil/internal/store"
)

// DefaultDeviceTTL is how long a browser stays trusted for an account after
// the sign-in that made it a device: long enough that people who sign in
// every few weeks keep it, short enough that a forgotten laptop loses it.
const DefaultDeviceTTL = 180 * 24 * time.Hour

// maxDevicesPerUser bounds the trusted browsers kept per account; the
// oldest go first.
const maxDevicesPerUser = 20

// trustedDevice returns the hash of secret when it is a device cookie
// issued to userID and still within its lifetime, and "" otherwise.
func (s *Service) trustedDevice(ctx context.Context, userID, secret string) (string, error) {
	if secret == "" || len(secret) > 100 {
		return "", nil
	}
	h := sha(secret)
	var created string
	err := s.db.Q().QueryRowContext(ctx, `SELECT created_at FROM signin_devices WHERE id_hash = ? AND user_id = ?`, h, userID).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("auth: device: %w", err)
	}
	if t, err := time.Parse(time.RFC3339, created); err != nil || !s.now().Before(t.Add(s.deviceTTL)) {
		return "", nil
	}
	return h, nil
}

// newDevice trusts a new browser for userID and returns the cookie's
// secret, which is stored only as a hash.
func (s *Service) newDevice(ctx context.Context, userID string) (string, error) {
	secret := randomID(24)
	// The sign-in has succeeded: trust the browser even if it has gone.
	ctx = context.WithoutCancel(ctx)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO signin_devices (id_hash, user_id, created_at) VALUES (?, ?, ?)`, sha(secret), userID, s.ts()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_devices WHERE user_id = ? AND id_hash NOT IN
			(SELECT id_hash FROM signin_devices WHERE user_id = ? ORDER BY created_at DESC, id_hash LIMIT ?)`, userID, userID, maxDevicesPerUser); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_devices WHERE created_at < ?`, s.now().Add(-s.deviceTTL).UTC().Format(time.RFC3339))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("auth: device: %w", err)
	}
	return secret, nil
}

// DeviceCookieName is the device cookie's name; under TLS it carries the
// __Host- prefix, as the session cookie does.
func DeviceCookieName(tls bool) string {
	if tls {
		return "__Host-vigil_device"
	}
	return "vigil_device"
}

// SetDeviceCookie writes a device cookie lasting ttl: HttpOnly, and
// SameSite=Strict because only Vigil's own sign-in form needs it.
func SetDeviceCookie(w http.ResponseWriter, secret string, ttl time.Duration, tls bool) {
	http.SetCookie(w, &http.Cookie{Name: DeviceCookieName(tls), Value: secret, Path: "/", HttpOnly: true, Secure: tls,
		SameSite: http.SameSiteStrictMode, MaxAge: int(ttl.Seconds())})
}

// DeviceFromCookie returns the device cookie's secret of a request, if any.
func DeviceFromCookie(r *http.Request, tls bool) string {
	if c, err := r.Cookie(DeviceCookieName(tls)); err == nil {
		return c.Value
	}
	return ""
}

// DeviceTTL is how long device cookies are trusted.
func (s *Service) DeviceTTL() time.Duration { return s.deviceTTL }
