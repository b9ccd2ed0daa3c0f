package auth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/auth/oidc"
	"github.com/vigil-health/vigil/internal/auth/oidc/oidctest"
	"github.com/vigil-health/vigil/internal/scope"
)

// ssoEnv is a real OpenID provider, a local callback for it to redirect
// to, and Vigil's SSO over them.
type ssoEnv struct {
	*env
	idp *oidctest.Server
	sso *auth.SSO

	mu       sync.Mutex
	callback url.Values // the query of the last request to the callback
}

func newSSO(t *testing.T, e *env) *ssoEnv {
	t.Helper()
	idp := oidctest.Start(t,
		oidctest.User{Username: "alice", Password: "alice-pw", Email: "Alice.SSO@example.org", EmailVerified: true, Name: "Alice SSO", Groups: []string{"staff", "vigil-analysts"}},
		oidctest.User{Username: "bob", Password: "bob-pw", Email: "bob@example.org", EmailVerified: true, Name: "Bob", Groups: []string{"staff"}},
		oidctest.User{Username: "carol", Password: "carol-pw", Email: "carol@example.org", EmailVerified: true, Name: "Carol", Groups: []string{"vigil-analysts"}},
		oidctest.User{Username: "mallory", Password: "mallory-pw", Email: "carol@example.org", EmailVerified: false, Name: "Not Carol", Groups: []string{"vigil-analysts"}},
	)
	s := &ssoEnv{env: e, idp: idp}
	// The callback keeps what the provider sent it, as Vigil's would.
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.callback = r.URL.Query()
		s.mu.Unlock()
		io.WriteString(w, "signed in")
	}))
	t.Cleanup(cb.Close)
	cfg := idp.Config(cb.URL + "/auth/callback")
	cfg.RoleMap = map[string]oidc.Grant{"vigil-analysts": {Role: string(scope.NationalAnalyst), Org: "ENG"}}
	sso, err := e.auth.NewSSO(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.sso = sso
	return s
}

// signIn runs Begin, the browser's trip through the provider's login
// form, and returns the state and code the callback received.
func (s *ssoEnv) signIn(t *testing.T, username, password, returnTo string) (state, code string) {
	t.Helper()
	ctx := t.Context()
	before := count(t, s.db, `SELECT COUNT(*) FROM oidc_states`)
	authURL, err := s.sso.Begin(ctx, returnTo)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, s.db, `SELECT COUNT(*) FROM oidc_states`); n != before+1 {
		t.Fatalf("Begin kept %d states, want %d", n, before+1)
	}
	jar, _ := cookiejar.New(nil)
	resp, err := s.idp.SignIn(ctx, &http.Client{Jar: jar}, authURL, username, password)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	at := resp.Request.URL
	if resp.StatusCode != http.StatusOK || at.Path != "/auth/callback" || string(body) != "signed in" {
		t.Fatalf("sign-in ended at %s with %d: %s", at, resp.StatusCode, body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callback.Encode() != at.Query().Encode() {
		t.Fatalf("callback received %v, browser ended at %s", s.callback, at)
	}
	return s.callback.Get("state"), s.callback.Get("code")
}

func TestSSO(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		s := newSSO(t, e)

		state, code := s.signIn(t, "alice", "alice-pw", "/orgs/RJ1")
		if state == "" || code == "" {
			t.Fatalf("callback got state %q code %q", state, code)
		}
		userID, returnTo, err := s.sso.Finish(ctx, state, code, "192.0.2.50")
		if err != nil {
			t.Fatalf("Finish: %v", err)
		}
		if returnTo != "/orgs/RJ1" {
			t.Errorf("returnTo = %q", returnTo)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM oidc_states`); n != 0 {
			t.Errorf("%d sign-in states left after Finish", n)
		}

		// Provisioned with the mapped grant.
		u, err := e.auth.GetUser(ctx, e.nat, userID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "alice.sso@example.org" || u.Name != "Alice SSO" || !u.OIDC || u.HasPass || u.HomeOrg != "ENG" {
			t.Errorf("provisioned user = %+v", u)
		}
		sc := e.scopeOf(t, userID)
		if len(sc.Grants) != 1 || sc.Grants[0] != (scope.Grant{Role: scope.NationalAnalyst, Org: "ENG", Path: "/ENG/"}) || !sc.National(scope.Read) || sc.Can(scope.Admin) {
			t.Errorf("SSO user's scope = %+v", sc.Grants)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND object_id = ? AND actor = 'oidc'`, userID); n != 1 {
			t.Errorf("%d user.create entries by oidc for alice, want 1", n)
		}

		// The same state and code again are refused: states are one use only.
		if _, _, err := s.sso.Finish(ctx, state, code, ""); !errors.Is(err, oidc.ErrStateMismatch) {
			t.Errorf("replayed state = %v, want ErrStateMismatch", err)
		}
		// A state Vigil never issued is refused.
		if _, _, err := s.sso.Finish(ctx, "forged-state", code, ""); !errors.Is(err, oidc.ErrStateMismatch) {
			t.Errorf("forged state = %v, want ErrStateMismatch", err)
		}
		// A real state with someone else's (already used) code fails at the provider, and the state is spent.
		st2, _ := s.signIn(t, "alice", "alice-pw", "")
		if _, _, err := s.sso.Finish(ctx, st2, code, ""); !errors.Is(err, oidc.ErrExchange) {
			t.Errorf("used code = %v, want ErrExchange", err)
		}
		if _, _, err := s.sso.Finish(ctx, st2, code, ""); !errors.Is(err, oidc.ErrStateMismatch) {
			t.Errorf("state after a failed Finish = %v, want ErrStateMismatch", err)
		}

		// A second sign-in finds the same user; grants are not duplicated.
		state, code = s.signIn(t, "alice", "alice-pw", "")
		again, _, err := s.sso.Finish(ctx, state, code, "")
		if err != nil || again != userID {
			t.Errorf("second sign-in = %q, %v; want %q", again, err, userID)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM users WHERE email = ?`, "alice.sso@example.org"); n != 1 {
			t.Errorf("%d users for alice after two sign-ins", n)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM grants WHERE user_id = ?`, userID); n != 1 {
			t.Errorf("%d grants for alice after two sign-ins", n)
		}

		// An identity whose groups map to no role gets no account.
		state, code = s.signIn(t, "bob", "bob-pw", "")
		if id, _, err := s.sso.Finish(ctx, state, code, "192.0.2.51"); !errors.Is(err, auth.ErrNoRole) || id != "" {
			t.Errorf("unmapped groups = %q, %v; want ErrNoRole", id, err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM users WHERE email = ?`, "bob@example.org"); n != 0 {
			t.Errorf("bob was provisioned")
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.signin_failed' AND actor = ?`, "bob@example.org"); n != 1 {
			t.Errorf("%d failed sign-ins audited for bob, want 1", n)
		}
	})
}

// A verified e-mail address links the IdP identity to an existing local
// account; an unverified one does not.
func TestSSOLinksVerifiedEmail(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		s := newSSO(t, e)
		carol := e.add(t, "carol@example.org", scope.OrgAdmin, "RJ1", "")

		// mallory claims carol's address without the provider vouching for it.
		state, code := s.signIn(t, "mallory", "mallory-pw", "")
		// Her address is taken, so she is refused rather than linked.
		mal, _, err := s.sso.Finish(ctx, state, code, "")
		if mal != "" || err == nil {
			t.Fatalf("mallory with carol's unverified address = %q, %v; want refused", mal, err)
		}
		if u, _ := e.auth.GetUser(ctx, e.nat, carol.ID); u.OIDC {
			t.Errorf("an unverified address linked carol's account")
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM users`); n != 2 {
			t.Errorf("%d users after mallory's attempt, want nat and carol", n)
		}

		state, code = s.signIn(t, "carol", "carol-pw", "")
		id, _, err := s.sso.Finish(ctx, state, code, "")
		if err != nil || id != carol.ID {
			t.Fatalf("carol's sign-in = %q, %v; want her local account %s", id, err, carol.ID)
		}
		u, _ := e.auth.GetUser(ctx, e.nat, carol.ID)
		if !u.OIDC {
			t.Errorf("carol's account is not linked: %+v", u)
		}
		// The local grant stays beside the one from the IdP.
		sc := e.scopeOf(t, carol.ID)
		if len(sc.Grants) != 2 || !sc.National(scope.Read) || !sc.CanAt(scope.Admin, "/ENG/Y56/QKK/RJ1/") {
			t.Errorf("carol's grants = %+v", sc.Grants)
		}
	})
}
