package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-health/vigil/internal/auth/oidc"
	"github.com/vigil-health/vigil/internal/auth/oidc/oidctest"
)

var (
	alice = oidctest.User{
		Username: "alice", Password: "correct horse", Subject: "0f3c-alice",
		Email: "alice@nhs.example", EmailVerified: true, Name: "Alice Analyst",
		Groups: []string{"vigil-national-analysts", "staff", "vigil-rj1-admins", "vigil-analysts-copy"},
	}
	bob = oidctest.User{
		Username: "bob", Password: "hunter2",
		Email: "bob@rj1.example", Name: "Bob Nogroups",
	}
	roleMap = map[string]oidc.Grant{
		"vigil-national-analysts": {Role: "national-analyst", Org: "ENG"},
		"vigil-analysts-copy":     {Role: "national-analyst", Org: "ENG"}, // same grant twice: kept once
		"vigil-rj1-admins":        {Role: "org-admin", Org: "RJ1"},
		"vigil-unused":            {Role: "org-admin", Org: "XYZ"},
	}
	aliceGrants = []oidc.Grant{{Role: "national-analyst", Org: "ENG"}, {Role: "org-admin", Org: "RJ1"}}
)

// rig is a provider, a relying party configured for it, and a callback server that records
// every callback's query, so a test can drive Finish itself with tampered inputs.
type rig struct {
	idp      *oidctest.Server
	p        *oidc.Provider
	cfg      oidc.Config
	callback *httptest.Server
	client   *http.Client

	mu      sync.Mutex
	queries []url.Values
}

func newRig(t *testing.T, opts oidctest.Options, tweak func(*oidc.Config)) *rig {
	t.Helper()
	if opts.Users == nil {
		opts.Users = []oidctest.User{alice, bob}
	}
	r := &rig{idp: oidctest.StartWith(t, opts)}
	r.callback = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.queries = append(r.queries, req.URL.Query())
		r.mu.Unlock()
		_, _ = w.Write([]byte("callback reached"))
	}))
	t.Cleanup(r.callback.Close)
	r.cfg = r.idp.Config(r.callback.URL + "/auth/callback")
	r.cfg.RoleMap = roleMap
	if tweak != nil {
		tweak(&r.cfg)
	}
	p, err := oidc.New(t.Context(), r.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.p = p
	r.client = newBrowser(t)
	return r
}

// newBrowser is an http.Client that behaves like a browser: cookies, redirects followed.
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// authorize begins a sign-in, has user sign in at the provider and returns the stored State and
// the query the provider sent to the callback.
func (r *rig) authorize(t *testing.T, user oidctest.User) (oidc.State, url.Values) {
	t.Helper()
	authURL, st, err := r.p.Begin()
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	resp, err := r.idp.SignIn(t.Context(), r.client, authURL, user.Username, user.Password)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/auth/callback" {
		t.Fatalf("SignIn ended at %s with status %d, want the callback", resp.Request.URL, resp.StatusCode)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return st, r.queries[len(r.queries)-1]
}

// TestSignIn drives the whole flow as a browser would, with the callback handler calling
// Finish, the way the web layer will.
func TestSignIn(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, alice, bob)

	var (
		p       *oidc.Provider
		mu      sync.Mutex
		pending = map[string]oidc.State{} // the web layer's short-lived rows, by state
	)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		st, ok := pending[q.Get("state")]
		delete(pending, q.Get("state"))
		mu.Unlock()
		if !ok {
			http.Error(w, "no sign-in in progress", http.StatusBadRequest)
			return
		}
		id, err := p.Finish(r.Context(), st, q.Get("state"), q.Get("code"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(id)
	}))
	t.Cleanup(callback.Close)

	cfg := idp.Config(callback.URL + "/auth/callback")
	cfg.RoleMap = roleMap
	var err error
	if p, err = oidc.New(t.Context(), cfg); err != nil {
		t.Fatalf("New: %v", err)
	}

	signIn := func(user oidctest.User) oidc.Identity {
		t.Helper()
		authURL, st, err := p.Begin()
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		mu.Lock()
		pending[st.State] = st
		mu.Unlock()
		resp, err := idp.SignIn(t.Context(), newBrowser(t), authURL, user.Username, user.Password)
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("callback answered %d", resp.StatusCode)
		}
		var id oidc.Identity
		if err := json.NewDecoder(resp.Body).Decode(&id); err != nil {
			t.Fatalf("decode identity: %v", err)
		}
		return id
	}

	got := signIn(alice)
	want := oidc.Identity{
		Issuer: idp.Issuer, Subject: alice.Subject, Email: alice.Email, EmailVerified: true,
		Name: alice.Name, Groups: alice.Groups, Grants: aliceGrants,
	}
	checkIdentity(t, got, want)

	// A user whose groups map to nothing signs in with no grants; his subject defaults to his
	// username at this provider.
	got = signIn(bob)
	checkIdentity(t, got, oidc.Identity{
		Issuer: idp.Issuer, Subject: "bob", Email: bob.Email, Name: bob.Name, Groups: []string{},
	})
}

func checkIdentity(t *testing.T, got, want oidc.Identity) {
	t.Helper()
	if got.Issuer != want.Issuer || got.Subject != want.Subject || got.Email != want.Email ||
		got.EmailVerified != want.EmailVerified || got.Name != want.Name ||
		!slices.Equal(got.Groups, want.Groups) || !slices.Equal(got.Grants, want.Grants) {
		t.Errorf("identity:\n got %+v\nwant %+v", got, want)
	}
}

// TestSignInClaimsFromUserinfo covers providers that put only sub in the ID token: email, name
// and groups come from the userinfo endpoint.
func TestSignInClaimsFromUserinfo(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{ClaimsOnlyFromUserinfo: true}, nil)
	st, q := r.authorize(t, alice)
	id, err := r.p.Finish(t.Context(), st, q.Get("state"), q.Get("code"))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	checkIdentity(t, id, oidc.Identity{
		Issuer: r.idp.Issuer, Subject: alice.Subject, Email: alice.Email, EmailVerified: true,
		Name: alice.Name, Groups: alice.Groups, Grants: aliceGrants,
	})
}

// TestGroupsClaimName: a namespaced claim name with dots is read literally.
func TestGroupsClaimName(t *testing.T) {
	t.Parallel()
	const claim = "https://vigil.example/groups"
	r := newRig(t, oidctest.Options{GroupsClaim: claim}, nil)
	if r.cfg.GroupsClaim != claim {
		t.Fatalf("Config().GroupsClaim = %q", r.cfg.GroupsClaim)
	}
	st, q := r.authorize(t, alice)
	id, err := r.p.Finish(t.Context(), st, q.Get("state"), q.Get("code"))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !slices.Equal(id.Groups, alice.Groups) || !slices.Equal(id.Grants, aliceGrants) {
		t.Errorf("groups %q grants %v", id.Groups, id.Grants)
	}
}

func TestBeginURL(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{}, nil)
	authURL, st, err := r.p.Begin()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(st.Verifier))
	for param, want := range map[string]string{
		"response_type":         "code",
		"client_id":             r.idp.ClientID,
		"redirect_uri":          r.cfg.RedirectURL,
		"scope":                 "openid profile email",
		"state":                 st.State,
		"nonce":                 st.Nonce,
		"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
		"code_challenge_method": "S256",
	} {
		if got := q.Get(param); got != want {
			t.Errorf("%s = %q, want %q", param, got, want)
		}
	}
	if !strings.HasPrefix(authURL, r.idp.Issuer+"/") {
		t.Errorf("auth URL %s is not at the issuer", authURL)
	}
	if len(st.State) < 43 || len(st.Nonce) < 43 || len(st.Verifier) < 43 {
		t.Errorf("short secrets in %+v", st)
	}
	if st.Created.IsZero() {
		t.Error("Created not set")
	}
	if q.Has("client_secret") || strings.Contains(authURL, r.idp.ClientSecret) {
		t.Error("auth URL carries the client secret")
	}
	_, st2, _ := r.p.Begin()
	if st2.State == st.State || st2.Nonce == st.Nonce || st2.Verifier == st.Verifier {
		t.Error("two Begins share a secret")
	}
}

// TestFinishRefuses checks every way a callback can be wrong. Each case gets its own sign-in.
func TestFinishRefuses(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{}, nil)
	ctx := t.Context()

	t.Run("wrong state", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		for _, bad := range []string{"", q.Get("state") + "x", strings.Repeat("A", len(st.State))} {
			if _, err := r.p.Finish(ctx, st, bad, q.Get("code")); !errors.Is(err, oidc.ErrStateMismatch) {
				t.Errorf("state %q: err = %v, want ErrStateMismatch", bad, err)
			}
		}
		// The state is checked before the code is spent, so the right state still works.
		if _, err := r.p.Finish(ctx, st, q.Get("state"), q.Get("code")); err != nil {
			t.Errorf("right state after wrong ones: %v", err)
		}
	})

	t.Run("no stored state", func(t *testing.T) {
		_, q := r.authorize(t, alice)
		if _, err := r.p.Finish(ctx, oidc.State{}, "", q.Get("code")); !errors.Is(err, oidc.ErrStateMismatch) {
			t.Errorf("err = %v, want ErrStateMismatch", err)
		}
	})

	t.Run("tampered code", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		code := q.Get("code")
		for _, bad := range []string{code + "x", code[:len(code)-1], "not-a-code"} {
			if _, err := r.p.Finish(ctx, st, q.Get("state"), bad); !errors.Is(err, oidc.ErrExchange) {
				t.Errorf("code %q: err = %v, want ErrExchange", bad, err)
			}
		}
	})

	t.Run("replayed code", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		if _, err := r.p.Finish(ctx, st, q.Get("state"), q.Get("code")); err != nil {
			t.Fatalf("first Finish: %v", err)
		}
		if _, err := r.p.Finish(ctx, st, q.Get("state"), q.Get("code")); !errors.Is(err, oidc.ErrExchange) {
			t.Errorf("replay: err = %v, want ErrExchange", err)
		}
	})

	t.Run("code from another sign-in", func(t *testing.T) {
		// An attacker injects a code obtained for their own sign-in into the victim's callback,
		// with the victim's state: the victim's PKCE verifier does not match, so it is refused.
		stVictim, qVictim := r.authorize(t, alice)
		_, qAttacker := r.authorize(t, bob)
		_, err := r.p.Finish(ctx, stVictim, qVictim.Get("state"), qAttacker.Get("code"))
		if !errors.Is(err, oidc.ErrExchange) || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("err = %v, want ErrExchange with invalid_grant", err)
		}
	})

	t.Run("wrong verifier", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		st.Verifier = oauth2.GenerateVerifier()
		_, err := r.p.Finish(ctx, st, q.Get("state"), q.Get("code"))
		if !errors.Is(err, oidc.ErrExchange) || !strings.Contains(err.Error(), "invalid code_verifier") {
			t.Errorf("err = %v, want ErrExchange for the code_verifier", err)
		}
	})

	t.Run("missing verifier", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		noVerifier := st
		noVerifier.Verifier = ""
		if _, err := r.p.Finish(ctx, noVerifier, q.Get("state"), q.Get("code")); !errors.Is(err, oidc.ErrStateIncomplete) {
			t.Errorf("Finish: err = %v, want ErrStateIncomplete", err)
		}
		// Finish never sends a code without its verifier; the provider refuses one anyway.
		oc := oauth2.Config{
			ClientID: r.cfg.ClientID, ClientSecret: r.cfg.ClientSecret, RedirectURL: r.cfg.RedirectURL,
			Endpoint: oauth2.Endpoint{TokenURL: r.idp.Issuer + "/oauth/token"},
		}
		_, err := oc.Exchange(ctx, q.Get("code"))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_request" || !strings.Contains(re.ErrorDescription, "code_verifier required") {
			t.Errorf("provider: err = %v, want invalid_request: code_verifier required", err)
		}
	})

	t.Run("nonce mismatch", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		st.Nonce = "a-nonce-from-another-sign-in"
		if _, err := r.p.Finish(ctx, st, q.Get("state"), q.Get("code")); !errors.Is(err, oidc.ErrNonceMismatch) {
			t.Errorf("err = %v, want ErrNonceMismatch", err)
		}
	})

	t.Run("missing nonce", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		st.Nonce = ""
		if _, err := r.p.Finish(ctx, st, q.Get("state"), q.Get("code")); !errors.Is(err, oidc.ErrStateIncomplete) {
			t.Errorf("err = %v, want ErrStateIncomplete", err)
		}
	})

	t.Run("missing code", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		if _, err := r.p.Finish(ctx, st, q.Get("state"), ""); !errors.Is(err, oidc.ErrMissingCode) {
			t.Errorf("err = %v, want ErrMissingCode", err)
		}
	})

	t.Run("stale state", func(t *testing.T) {
		st, q := r.authorize(t, alice)
		st.Created = st.Created.Add(-oidc.DefaultStateMaxAge - time.Second)
		if _, err := r.p.Finish(ctx, st, q.Get("state"), q.Get("code")); !errors.Is(err, oidc.ErrStateExpired) {
			t.Errorf("err = %v, want ErrStateExpired", err)
		}
	})
}

// TestExpiredIDToken moves the relying party's clock past the ID token's one-hour lifetime.
func TestExpiredIDToken(t *testing.T) {
	t.Parallel()
	var offset time.Duration
	r := newRig(t, oidctest.Options{IDTokenLifetime: time.Hour}, func(c *oidc.Config) {
		c.Now = func() time.Time { return time.Now().Add(offset) }
		c.StateMaxAge = 3 * time.Hour
	})
	st, q := r.authorize(t, alice)
	offset = 2 * time.Hour // no other goroutine reads it: Finish runs below, on this one
	_, err := r.p.Finish(t.Context(), st, q.Get("state"), q.Get("code"))
	var expired *gooidc.TokenExpiredError
	if !errors.Is(err, oidc.ErrIDToken) || !errors.As(err, &expired) {
		t.Errorf("err = %v, want ErrIDToken wrapping TokenExpiredError", err)
	}
}

// TestWrongClientSecret: the token endpoint authenticates the client.
func TestWrongClientSecret(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{}, func(c *oidc.Config) { c.ClientSecret = "not-the-secret" })
	st, q := r.authorize(t, alice)
	_, err := r.p.Finish(t.Context(), st, q.Get("state"), q.Get("code"))
	if !errors.Is(err, oidc.ErrExchange) || strings.Contains(err.Error(), "not-the-secret") {
		t.Errorf("err = %v, want ErrExchange without the secret", err)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{}, nil)
	authURL, _, err := r.p.Begin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.idp.SignIn(t.Context(), r.client, authURL, "alice", "wrong")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Request.URL.Path != "/login" {
		t.Errorf("got %d at %s, want 401 at the login page", resp.StatusCode, resp.Request.URL)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queries) != 0 {
		t.Errorf("callback reached: %v", r.queries)
	}
}

// TestAutoLogin: following the authorisation URL signs the chosen user in with no form.
func TestAutoLogin(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{}, nil)
	r.idp.AutoLogin("alice")
	authURL, st, err := r.p.Begin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := resp.Request.URL.Query()
	id, err := r.p.Finish(t.Context(), st, q.Get("state"), q.Get("code"))
	if err != nil {
		t.Fatalf("Finish after AutoLogin: %v", err)
	}
	if id.Subject != alice.Subject {
		t.Errorf("subject %q, want %q", id.Subject, alice.Subject)
	}
}

// TestCancel: the user cancels at the provider, which answers the callback with access_denied.
func TestCancel(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{}, nil)
	authURL, st, err := r.p.Begin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	resp, err = r.client.PostForm(r.idp.Issuer+"/login", url.Values{"authRequestID": {id}, "cancel": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := resp.Request.URL.Query()
	if q.Get("state") != st.State {
		t.Errorf("callback state %q, want the sign-in's", q.Get("state"))
	}
	err = oidc.CallbackError(q)
	if !errors.Is(err, oidc.ErrProvider) || !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("CallbackError = %v, want ErrProvider: access_denied", err)
	}
	if err := oidc.CallbackError(url.Values{"code": {"c"}, "state": {"s"}}); err != nil {
		t.Errorf("CallbackError on a good callback = %v", err)
	}
}

// TestProviderRefusesNoPKCE: the test provider itself insists on PKCE, so a relying party that
// stopped sending it would fail here rather than pass silently.
func TestProviderRefusesNoPKCE(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{}, nil)
	oc := oauth2.Config{
		ClientID: r.cfg.ClientID, RedirectURL: r.cfg.RedirectURL, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: r.idp.Issuer + "/authorize"},
	}
	resp, err := r.client.Get(oc.AuthCodeURL("some-state"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := resp.Request.URL.Query()
	if q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "PKCE") {
		t.Errorf("got %s, want an invalid_request about PKCE", resp.Request.URL)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	if _, err := oidc.New(ctx, oidc.Config{}); err == nil || !strings.Contains(err.Error(), "Issuer") {
		t.Errorf("New(empty config) = %v, want a field error", err)
	}

	// Nothing listens at a closed server's address: discovery fails and says where.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err := oidc.New(ctx, oidc.Config{Issuer: dead.URL, ClientID: "vigil", RedirectURL: "http://127.0.0.1/cb"})
	if err == nil || !strings.Contains(err.Error(), "discovery at "+dead.URL) {
		t.Errorf("New(dead issuer) = %v", err)
	}

	// An issuer URL that differs from the one the provider declares is refused (Discovery §4.3).
	idp := oidctest.Start(t)
	_, err = oidc.New(ctx, oidc.Config{Issuer: idp.Issuer + "/", ClientID: "vigil", RedirectURL: "http://127.0.0.1/cb"})
	if err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Errorf("New(issuer with extra slash) = %v", err)
	}
}
