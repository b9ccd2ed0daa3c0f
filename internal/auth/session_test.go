package auth_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

func TestSessions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		alice := e.add(t, "alice@example.org", scope.OrgAdmin, "RJ1", "")
		if _, err := e.auth.Grant(ctx, e.nat, alice.ID, scope.Auditor, "Y56"); err != nil {
			t.Fatal(err)
		}

		se, err := e.auth.StartSession(ctx, alice.ID, "203.0.113.9", "Mozilla/5.0 "+strings.Repeat("x", 400))
		if err != nil {
			t.Fatal(err)
		}
		if len(se.Secret) < 40 || len(se.CSRF) < 20 || se.UserID != alice.ID || !se.Expires.Equal(t0.Add(12*time.Hour)) {
			t.Errorf("session = %+v", se)
		}

		sc, csrf, err := e.auth.SessionScope(ctx, se.Secret, "203.0.113.10")
		if err != nil {
			t.Fatal(err)
		}
		if csrf != se.CSRF || !auth.CheckCSRF(se.CSRF, csrf) {
			t.Errorf("CSRF %q, want %q", csrf, se.CSRF)
		}
		if sc.UserID != alice.ID || sc.Email != "alice@example.org" || sc.Via != "session" || sc.Remote != "203.0.113.10" || sc.Home != "RJ1" {
			t.Errorf("scope = %+v", sc)
		}
		// Grants come with their paths, widest first.
		want := []scope.Grant{{Role: scope.Auditor, Org: "Y56", Path: "/ENG/Y56/"}, {Role: scope.OrgAdmin, Org: "RJ1", Path: "/ENG/Y56/QKK/RJ1/"}}
		if len(sc.Grants) != 2 || sc.Grants[0] != want[0] || sc.Grants[1] != want[1] {
			t.Errorf("grants = %+v, want %+v", sc.Grants, want)
		}
		if !sc.CanAt(scope.Admin, "/ENG/Y56/QKK/RJ1/") || sc.CanAt(scope.Admin, "/ENG/Y56/QKK/RJZ/") || !sc.CanAt(scope.Audit, "/ENG/Y56/QKK/RJZ/") {
			t.Errorf("scope permissions wrong: %+v", sc.Grants)
		}

		// Only a hash of the secret is stored; the user agent is cut short.
		var idHash, ua, lastLogin string
		e.db.Q().QueryRowContext(ctx, `SELECT id_hash, user_agent FROM sessions WHERE user_id = ?`, alice.ID).Scan(&idHash, &ua)
		if idHash == "" || strings.Contains(idHash, se.Secret) || len(ua) != 300 {
			t.Errorf("stored id_hash %q, user agent of %d bytes", idHash, len(ua))
		}
		e.db.Q().QueryRowContext(ctx, `SELECT last_login FROM users WHERE id = ?`, alice.ID).Scan(&lastLogin)
		if lastLogin != "2025-05-01T10:00:00Z" {
			t.Errorf("last_login = %q", lastLogin)
		}
		if n := auditCount(t, e, "auth.signin"); n != 1 {
			t.Errorf("%d auth.signin entries, want 1", n)
		}

		for _, bad := range []string{"", "nope", se.Secret + "x", se.Secret[:len(se.Secret)-1], strings.Repeat("a", 101)} {
			if _, _, err := e.auth.SessionScope(ctx, bad, ""); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("SessionScope(%.20q…) = %v, want ErrNotFound", bad, err)
			}
		}
		for _, c := range []struct{ want, got string }{{se.CSRF, ""}, {se.CSRF, se.CSRF + "x"}, {"", ""}, {se.CSRF, strings.ToUpper(se.CSRF)}} {
			if auth.CheckCSRF(c.want, c.got) {
				t.Errorf("CheckCSRF(%q, %q) = true", c.want, c.got)
			}
		}

		// Valid until its twelfth hour, then expired.
		e.clk.Advance(12*time.Hour - time.Second)
		if _, _, err := e.auth.SessionScope(ctx, se.Secret, ""); err != nil {
			t.Errorf("a second before expiry: %v", err)
		}
		e.clk.Advance(time.Second)
		if _, _, err := e.auth.SessionScope(ctx, se.Secret, ""); !errors.Is(err, auth.ErrExpired) {
			t.Errorf("at expiry: %v, want ErrExpired", err)
		}

		// A new session sweeps the expired one; EndSession ends it.
		e.clk.Advance(time.Second)
		se2, err := e.auth.StartSession(ctx, alice.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM sessions`); n != 1 {
			t.Errorf("%d sessions after the sweep, want 1", n)
		}
		if err := e.auth.EndSession(ctx, scope.Scope{UserID: se2.UserID}, se2.Secret); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.auth.SessionScope(ctx, se2.Secret, ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("after EndSession: %v, want ErrNotFound", err)
		}
		if err := e.auth.EndSession(ctx, scope.Scope{UserID: se2.UserID}, se2.Secret); err != nil {
			t.Errorf("EndSession twice: %v", err)
		}
	})
}

func TestSessionTTLOption(t *testing.T) {
	eachWith(t, func(now func() time.Time) auth.Options { return auth.Options{Now: now, SessionTTL: time.Hour} }, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.add(t, "ttl@example.org", scope.OrgAnalyst, "RJ1", "")
		se, err := e.auth.StartSession(ctx, u.ID, "", "")
		if err != nil || !se.Expires.Equal(t0.Add(time.Hour)) {
			t.Fatalf("session = %+v, %v", se, err)
		}
		e.clk.Advance(time.Hour)
		if _, _, err := e.auth.SessionScope(ctx, se.Secret, ""); !errors.Is(err, auth.ErrExpired) {
			t.Errorf("after the configured hour: %v", err)
		}
	})
}

func TestDisablingAUserEndsSessions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		carol := e.add(t, "carol@example.org", scope.OrgAnalyst, "RJ1", "")
		other := e.add(t, "other@example.org", scope.OrgAnalyst, "RJ1", "")
		s1, _ := e.auth.StartSession(ctx, carol.ID, "", "")
		s2, _ := e.auth.StartSession(ctx, carol.ID, "", "")
		keep, _ := e.auth.StartSession(ctx, other.ID, "", "")
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")

		dis := true
		u, err := e.auth.UpdateUser(ctx, rj1Admin, carol.ID, auth.UserPatch{Disabled: &dis})
		if err != nil || !u.Disabled {
			t.Fatalf("disable = %+v, %v", u, err)
		}
		for _, se := range []auth.Session{s1, s2} {
			if _, _, err := e.auth.SessionScope(ctx, se.Secret, ""); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("session of a disabled user: %v, want ErrNotFound", err)
			}
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM sessions WHERE user_id = ?`, carol.ID); n != 0 {
			t.Errorf("%d sessions left for the disabled user", n)
		}
		if _, _, err := e.auth.SessionScope(ctx, keep.Secret, ""); err != nil {
			t.Errorf("another user's session ended too: %v", err)
		}
		// A session started for a disabled user (StartSession does not
		// check) still resolves to nothing.
		s3, _ := e.auth.StartSession(ctx, carol.ID, "", "")
		if _, _, err := e.auth.SessionScope(ctx, s3.Secret, ""); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("new session of a disabled user: %v, want ErrDisabled", err)
		}

		// Users cannot disable themselves, and others outside their organisation not at all.
		self := e.scopeOf(t, other.ID)
		_, err = e.auth.UpdateUser(ctx, rj1Admin, "admin@rj1.example.org", auth.UserPatch{Disabled: &dis})
		wantValidation(t, err, "disabled", "your own account")
		if _, err := e.auth.UpdateUser(ctx, self, carol.ID, auth.UserPatch{Disabled: &dis}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("analyst disabling a colleague = %v, want fault.ErrForbidden", err)
		}
		r0a := e.as(t, "admin@r0a.example.org", scope.OrgAdmin, "R0A")
		if _, err := e.auth.UpdateUser(ctx, r0a, other.ID, auth.UserPatch{Disabled: &dis}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("R0A admin disabling an RJ1 user = %v, want ErrNotFound", err)
		}
	})
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const oldPW, newPW = "marble orchid tempest", "gentle walnut breeze"
		dan := e.add(t, "dan@example.org", scope.OrgAnalyst, "RJ1", oldPW)
		s1, _ := e.auth.StartSession(ctx, dan.ID, "", "")
		s2, _ := e.auth.StartSession(ctx, dan.ID, "", "")
		self, _, err := e.auth.SessionScope(ctx, s1.Secret, "")
		if err != nil {
			t.Fatal(err)
		}

		// Users may change their own password (and name) without admin
		// rights, giving their current password.
		name, pw, cur := "Daniel", newPW, oldPW
		u, err := e.auth.UpdateUser(ctx, self, dan.ID, auth.UserPatch{Name: &name, Password: &pw, CurrentPassword: &cur})
		if err != nil || u.Name != "Daniel" || !u.HasPass {
			t.Fatalf("own password change = %+v, %v", u, err)
		}
		for _, se := range []auth.Session{s1, s2} {
			if _, _, err := e.auth.SessionScope(ctx, se.Secret, ""); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("session after a password change: %v, want ErrNotFound", err)
			}
		}
		if _, err := e.auth.Authenticate(ctx, "dan@example.org", oldPW, "192.0.2.1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("old password = %v", err)
		}
		if id, err := e.auth.Authenticate(ctx, "dan@example.org", newPW, "192.0.2.1"); err != nil || id != dan.ID {
			t.Errorf("new password = %q, %v", id, err)
		}
		short := "short"
		_, err = e.auth.UpdateUser(ctx, self, dan.ID, auth.UserPatch{Password: &short})
		wantValidation(t, err, "password", "at least")

		// The audit entry says the password changed, and nothing more.
		es, _, _ := e.audit.List(ctx, e.nat, audit.Filter{Action: "user.update", Object: dan.ID})
		if len(es) != 1 || !strings.Contains(string(es[0].After), `"password_changed":true`) || es[0].Actor != "dan@example.org" {
			t.Fatalf("user.update entries = %+v", es)
		}
		for _, line := range auditJSON(t, e.db) {
			if strings.Contains(line, oldPW) || strings.Contains(line, newPW) || strings.Contains(line, "$argon2id") {
				t.Errorf("audit entry shows a password: %s", line)
			}
		}
	})
}

func TestTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		analyst := e.add(t, "analyst@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		colleague := e.add(t, "colleague@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		r0a := e.add(t, "d@r0a.example.org", scope.OrgAnalyst, "R0A", "")
		analystScope := e.scopeOf(t, analyst.ID)
		r0aScope := e.scopeOf(t, r0a.ID)

		tok, _, err := e.auth.CreateToken(ctx, rj1Admin, "", "  CI pipeline ", 0)
		if err == nil {
			t.Fatalf("CreateToken with no user = %+v", tok)
		}
		tok, secret, err := e.auth.CreateToken(ctx, rj1Admin, rj1Admin.UserID, "  CI pipeline ", 0)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Name != "CI pipeline" || tok.UserID != rj1Admin.UserID || tok.User != "admin@rj1.example.org" || tok.ExpiresAt != "" || tok.CreatedAt != "2025-05-01T10:00:00Z" {
			t.Errorf("token = %+v", tok)
		}
		if !strings.HasPrefix(secret, auth.TokenPrefix+tok.ID+".") || len(secret) < len(auth.TokenPrefix+tok.ID)+30 {
			t.Errorf("secret %q does not look like vigil_<id>.<secret>", secret)
		}
		secretPart := secret[strings.IndexByte(secret, '.')+1:]

		e.clk.Advance(90 * time.Second)
		sc, err := e.auth.TokenScope(ctx, secret, "198.51.100.4")
		if err != nil {
			t.Fatal(err)
		}
		if sc.UserID != rj1Admin.UserID || sc.Via != "token" || sc.Remote != "198.51.100.4" || !sc.CanAt(scope.Admin, "/ENG/Y56/QKK/RJ1/") {
			t.Errorf("token scope = %+v", sc)
		}
		var lastUsed string
		e.db.Q().QueryRowContext(ctx, `SELECT last_used FROM tokens WHERE id = ?`, tok.ID).Scan(&lastUsed)
		if lastUsed != "2025-05-01T10:01:00Z" {
			t.Errorf("last_used = %q, want the minute of use", lastUsed)
		}
		// Written once a minute, not once a request: a later minute moves it on.
		e.clk.Advance(2 * time.Minute)
		for range 3 {
			if _, err := e.auth.TokenScope(ctx, secret, "198.51.100.4"); err != nil {
				t.Fatal(err)
			}
		}
		e.db.Q().QueryRowContext(ctx, `SELECT last_used FROM tokens WHERE id = ?`, tok.ID).Scan(&lastUsed)
		if lastUsed != "2025-05-01T10:03:00Z" {
			t.Errorf("last_used after a later use = %q, want 2025-05-01T10:03:00Z", lastUsed)
		}

		for name, bad := range map[string]string{
			"wrong secret":   secret[:len(secret)-1] + "x",
			"no secret":      auth.TokenPrefix + tok.ID + ".",
			"unknown id":     auth.TokenPrefix + "t_nothere." + secretPart,
			"no prefix":      tok.ID + "." + secretPart,
			"no dot":         auth.TokenPrefix + tok.ID + secretPart,
			"empty":          "",
			"too long":       secret + strings.Repeat("a", 200),
			"session secret": strings.Repeat("a", 50),
		} {
			if _, err := e.auth.TokenScope(ctx, bad, ""); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s: TokenScope = %v, want ErrNotFound", name, err)
			}
		}

		// Administrators make tokens for their organisation's users, not others'.
		forAnalyst, analystSecret, err := e.auth.CreateToken(ctx, rj1Admin, "analyst@rj1.example.org", "reporting", 0)
		if err != nil {
			t.Fatalf("RJ1 admin creating a token for an RJ1 analyst: %v", err)
		}
		if sc, err := e.auth.TokenScope(ctx, analystSecret, ""); err != nil || sc.UserID != analyst.ID {
			t.Errorf("analyst's token = %+v, %v", sc, err)
		}
		if _, _, err := e.auth.CreateToken(ctx, rj1Admin, r0a.ID, "x", 0); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("RJ1 admin creating a token for an R0A user = %v, want ErrNotFound", err)
		}
		if _, _, err := e.auth.CreateToken(ctx, analystScope, colleague.ID, "x", 0); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("analyst creating a token for a colleague = %v, want fault.ErrForbidden", err)
		}
		own, _, err := e.auth.CreateToken(ctx, analystScope, analyst.ID, "my laptop", 0)
		if err != nil {
			t.Errorf("analyst creating their own token: %v", err)
		}
		r0aTok, _, err := e.auth.CreateToken(ctx, r0aScope, r0a.ID, "r0a script", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"", "   ", strings.Repeat("n", 101)} {
			_, _, err := e.auth.CreateToken(ctx, analystScope, analyst.ID, name, 0)
			wantValidation(t, err, "name", "1–100 characters")
		}

		// Listing: administrators see their organisation's tokens, users their own; never a secret.
		ids := func(ts []auth.Token) []string {
			out := []string{}
			for _, t := range ts {
				out = append(out, t.ID)
			}
			return out
		}
		for _, c := range []struct {
			name  string
			sc    scope.Scope
			who   string
			want  []string
			wantN int
		}{
			{"RJ1 admin", rj1Admin, "", []string{tok.ID, forAnalyst.ID, own.ID}, 3},
			{"RJ1 admin, one user", rj1Admin, "ANALYST@rj1.example.org", []string{forAnalyst.ID, own.ID}, 2},
			{"RJ1 admin, an R0A user", rj1Admin, r0a.ID, nil, 0},
			{"analyst sees own", analystScope, "", []string{forAnalyst.ID, own.ID}, 2},
			{"R0A user sees own", r0aScope, "", []string{r0aTok.ID}, 1},
			{"national admin sees all", e.nat, "", []string{tok.ID, forAnalyst.ID, own.ID, r0aTok.ID}, 4},
		} {
			ts, err := e.auth.ListTokens(ctx, c.sc, c.who)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(ts)
			if len(got) != c.wantN {
				t.Errorf("%s: %v, want %d tokens", c.name, got, c.wantN)
			}
			for _, w := range c.want {
				if !strings.Contains(strings.Join(got, " "), w) {
					t.Errorf("%s: %s missing from %v", c.name, w, got)
				}
			}
			js, _ := json.Marshal(ts)
			for _, s := range []string{secret, secretPart, analystSecret, analystSecret[strings.IndexByte(analystSecret, '.')+1:]} {
				if strings.Contains(string(js), s) {
					t.Errorf("%s: the token list shows a secret: %s", c.name, js)
				}
			}
		}

		// Revoking: the token stops working; twice is harmless; out of scope is not found.
		if _, err := e.auth.RevokeToken(ctx, rj1Admin, r0aTok.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("RJ1 admin revoking an R0A token = %v, want ErrNotFound", err)
		}
		e.clk.Advance(time.Minute)
		rv, err := e.auth.RevokeToken(ctx, rj1Admin, forAnalyst.ID)
		if err != nil || rv.RevokedAt != "2025-05-01T10:04:30Z" {
			t.Fatalf("RevokeToken = %+v, %v", rv, err)
		}
		if _, err := e.auth.TokenScope(ctx, analystSecret, ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("revoked token = %v, want ErrNotFound", err)
		}
		e.clk.Advance(time.Minute)
		if again, err := e.auth.RevokeToken(ctx, analystScope, forAnalyst.ID); err != nil || again.RevokedAt != rv.RevokedAt {
			t.Errorf("revoke twice = %+v, %v", again, err)
		}
		if _, err := e.auth.RevokeToken(ctx, rj1Admin, "t_nothere"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("revoke unknown = %v", err)
		}

		// Audit: user.create, token.create and token.revoke, none with a secret.
		for action, want := range map[string]int{"user.create": 5, "token.create": 4, "token.revoke": 1} {
			if n := auditCount(t, e, action); n != want {
				t.Errorf("%d %s entries, want %d", n, action, want)
			}
		}
		for _, line := range auditJSON(t, e.db) {
			for _, s := range []string{secretPart, analystSecret[strings.IndexByte(analystSecret, '.')+1:]} {
				if strings.Contains(line, s) {
					t.Errorf("audit entry shows a token secret: %s", line)
				}
			}
		}
	})
}

func TestTokenExpiry(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.add(t, "exp@example.org", scope.OrgAnalyst, "RJ1", "")
		sc := e.scopeOf(t, u.ID)
		ttl, err := auth.ParseExpiry("2h")
		if err != nil {
			t.Fatal(err)
		}
		tok, secret, err := e.auth.CreateToken(ctx, sc, u.ID, "short-lived", ttl)
		if err != nil || tok.ExpiresAt != "2025-05-01T12:00:00Z" {
			t.Fatalf("token = %+v, %v", tok, err)
		}
		e.clk.Advance(2*time.Hour - time.Second)
		if _, err := e.auth.TokenScope(ctx, secret, ""); err != nil {
			t.Errorf("a second before expiry: %v", err)
		}
		e.clk.Advance(time.Second)
		if _, err := e.auth.TokenScope(ctx, secret, ""); !errors.Is(err, auth.ErrExpired) {
			t.Errorf("at expiry: %v, want ErrExpired", err)
		}
		// A disabled user's token is refused.
		_, live, _ := e.auth.CreateToken(ctx, sc, u.ID, "live", 0)
		dis := true
		if _, err := e.auth.UpdateUser(ctx, e.nat, u.ID, auth.UserPatch{Disabled: &dis}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.auth.TokenScope(ctx, live, ""); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("token of a disabled user = %v, want ErrDisabled", err)
		}
	})
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"":      0,
		"never": 0,
		" 90d ": 90 * 24 * time.Hour,
		"2w":    14 * 24 * time.Hour,
		"1y":    365 * 24 * time.Hour,
		"12h":   12 * time.Hour,
		"1h30m": 90 * time.Minute,
	} {
		got, err := auth.ParseExpiry(in)
		if err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0d", "-1d", "xd", "3651d", "forever", "-5h", "0s", "d"} {
		_, err := auth.ParseExpiry(in)
		var ve *fault.Invalid
		if !errors.As(err, &ve) || ve.Field != "expires" {
			t.Errorf("ParseExpiry(%q) = %v, want a fault.Invalid on expires", in, err)
		}
	}
}

func TestHTTPIdentifier(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.add(t, "web@example.org", scope.OrgAdmin, "RJ1", "")
		sc := e.scopeOf(t, u.ID)
		_, bearer, err := e.auth.CreateToken(ctx, sc, u.ID, "api", 0)
		if err != nil {
			t.Fatal(err)
		}
		se, err := e.auth.StartSession(ctx, u.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}

		// The cookie as the server writes it.
		cookieFor := func(tls bool) *http.Cookie {
			w := httptest.NewRecorder()
			auth.SetSessionCookie(w, se, tls)
			cs := w.Result().Cookies()
			if len(cs) != 1 {
				t.Fatalf("SetSessionCookie wrote %d cookies", len(cs))
			}
			return cs[0]
		}
		plain, secure := cookieFor(false), cookieFor(true)
		if plain.Name != "vigil_session" || plain.Value != se.Secret || !plain.HttpOnly || plain.Secure || plain.Path != "/" || plain.SameSite != http.SameSiteLaxMode || !plain.Expires.Equal(se.Expires.Truncate(time.Second)) {
			t.Errorf("cookie = %+v", plain)
		}
		if secure.Name != "__Host-vigil_session" || !secure.Secure || secure.Domain != "" || secure.Path != "/" {
			t.Errorf("TLS cookie = %+v", secure)
		}
		w := httptest.NewRecorder()
		auth.ClearSessionCookie(w, false)
		if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Name != "vigil_session" || cs[0].MaxAge >= 0 || cs[0].Value != "" {
			t.Errorf("ClearSessionCookie wrote %+v", cs)
		}

		type want struct {
			ok     bool
			via    string
			csrf   string
			remote string
		}
		cases := []struct {
			name    string
			tls     bool
			remote  string
			auth    string
			cookies []*http.Cookie
			want    want
		}{
			{"bearer token", false, "203.0.113.7:51234", "Bearer " + bearer, nil, want{true, "token", "", "203.0.113.7"}},
			{"bearer with spaces", false, "203.0.113.7:51234", "Bearer   " + bearer + " ", nil, want{true, "token", "", "203.0.113.7"}},
			{"bearer over IPv6", false, "[2001:db8::1]:443", "Bearer " + bearer, nil, want{true, "token", "", "2001:db8::1"}},
			{"wrong bearer", false, "203.0.113.7:1", "Bearer " + bearer + "x", nil, want{}},
			{"basic auth", false, "203.0.113.7:1", "Basic d2ViOnB3", nil, want{}},
			// The scheme is case-insensitive (RFC 9110 §11.1).
			{"lower-case scheme", false, "203.0.113.7:1", "bearer " + bearer, nil, want{true, "token", "", "203.0.113.7"}},
			{"upper-case scheme", false, "203.0.113.7:1", "BEARER " + bearer, nil, want{true, "token", "", "203.0.113.7"}},
			{"scheme alone", false, "203.0.113.7:1", "Bearer", nil, want{}},
			{"bad bearer does not fall back to the cookie", false, "203.0.113.7:1", "Bearer nope", []*http.Cookie{plain}, want{}},
			{"session cookie", false, "198.51.100.2:4000", "", []*http.Cookie{plain}, want{true, "session", se.CSRF, "198.51.100.2"}},
			{"TLS session cookie", true, "198.51.100.2:4000", "", []*http.Cookie{secure}, want{true, "session", se.CSRF, "198.51.100.2"}},
			{"plain cookie under TLS", true, "198.51.100.2:4000", "", []*http.Cookie{plain}, want{}},
			{"TLS cookie without TLS", false, "198.51.100.2:4000", "", []*http.Cookie{secure}, want{}},
			{"unknown cookie value", false, "198.51.100.2:4000", "", []*http.Cookie{{Name: "vigil_session", Value: "forged"}}, want{}},
			{"nothing", false, "198.51.100.2:4000", "", nil, want{}},
		}
		for _, c := range cases {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/orgs", nil)
			r.RemoteAddr = c.remote
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			for _, ck := range c.cookies {
				r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			id := auth.HTTPIdentifier{Auth: e.auth, TLS: c.tls}
			got, csrf, ok := id.Identify(r)
			if ok != c.want.ok {
				t.Errorf("%s: ok = %v, want %v", c.name, ok, c.want.ok)
				continue
			}
			if !ok {
				continue
			}
			if got.UserID != u.ID || got.Via != c.want.via || csrf != c.want.csrf || got.Remote != c.want.remote || len(got.Grants) != 1 {
				t.Errorf("%s: scope %+v, csrf %q; want %+v", c.name, got, csrf, c.want)
			}
			if s := auth.SessionFromCookie(r, c.tls); c.want.via == "session" && s != se.Secret {
				t.Errorf("%s: SessionFromCookie = %q", c.name, s)
			}
		}
	})
}
