package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the in-memory op.Storage behind a Server: one client, a set of users, pending
// authorisation requests, codes and opaque access tokens. Refresh tokens, token exchange, JWT
// profile and device flows are refused: Vigil signs in with the code flow only.
type storage struct {
	clientID, clientSecret string
	opts                   Options
	signingKey             signingKey

	mu        sync.Mutex
	users     map[string]User // by username
	autoLogin string          // username, or "" to show the login form
	requests  map[string]*authRequest
	codes     map[string]string // code → request ID
	tokens    map[string]*accessToken
	nextID    int
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func newStorage(clientID, clientSecret string, opts Options) (*storage, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &storage{
		clientID:     clientID,
		clientSecret: clientSecret,
		opts:         opts,
		signingKey:   signingKey{id: "oidctest-1", key: key},
		users:        make(map[string]User),
		requests:     make(map[string]*authRequest),
		codes:        make(map[string]string),
		tokens:       make(map[string]*accessToken),
	}
	for _, u := range opts.Users {
		s.addUser(u)
	}
	return s, nil
}

func (s *storage) addUser(u User) {
	if u.Subject == "" {
		u.Subject = u.Username
	}
	u.Groups = slices.Clone(u.Groups)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Username] = u
}

func (s *storage) newID(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s-%d-%s", prefix, s.nextID, rand.Text())
}

func (s *storage) userBySubject(sub string) (User, bool) {
	for _, u := range s.users {
		if u.Subject == sub {
			return u, true
		}
	}
	return User{}, false
}

// login marks the pending request id as signed in by username if password matches.
func (s *storage) login(id, username, password string, checkPassword bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return errors.New("unknown or finished sign-in request")
	}
	u, ok := s.users[username]
	if !ok || (checkPassword && u.Password != password) {
		return errors.New("wrong username or password")
	}
	req.userID = u.Subject
	req.done = true
	req.authTime = time.Now()
	return nil
}

// authRequest implements op.AuthRequest. The storage hands out copies, so the provider's reads
// never race with a concurrent login on the same request.
type authRequest struct {
	id            string
	created       time.Time
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  zoidc.ResponseType
	responseMode  zoidc.ResponseMode
	codeChallenge *zoidc.CodeChallenge
	userID        string
	done          bool
	authTime      time.Time
}

func (a *authRequest) GetID() string                          { return a.id }
func (a *authRequest) GetACR() string                         { return "" }
func (a *authRequest) GetAudience() []string                  { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                 { return a.authTime }
func (a *authRequest) GetClientID() string                    { return a.clientID }
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                       { return a.nonce }
func (a *authRequest) GetRedirectURI() string                 { return a.redirectURI }
func (a *authRequest) GetResponseType() zoidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() zoidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                    { return a.scopes }
func (a *authRequest) GetState() string                       { return a.state }
func (a *authRequest) GetSubject() string                     { return a.userID }
func (a *authRequest) Done() bool                             { return a.done }
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

func (a *authRequest) copy() *authRequest {
	c := *a
	c.scopes = slices.Clone(a.scopes)
	return &c
}

type accessToken struct {
	id        string
	subject   string
	clientID  string
	scopes    []string
	expiresAt time.Time
}

// CreateAuthRequest refuses requests without PKCE S256: Vigil must always send it, and a test
// provider that accepted less would hide a regression.
func (s *storage) CreateAuthRequest(_ context.Context, r *zoidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if slices.Contains(r.Prompt, zoidc.PromptNone) {
		return nil, zoidc.ErrLoginRequired()
	}
	if r.CodeChallenge == "" || r.CodeChallengeMethod != zoidc.CodeChallengeMethodS256 {
		return nil, zoidc.ErrInvalidRequest().WithDescription("oidctest requires PKCE with code_challenge_method=S256")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := &authRequest{
		id:            s.newID("req"),
		created:       time.Now(),
		clientID:      r.ClientID,
		redirectURI:   r.RedirectURI,
		state:         r.State,
		nonce:         r.Nonce,
		scopes:        slices.Clone(r.Scopes),
		responseType:  r.ResponseType,
		responseMode:  r.ResponseMode,
		codeChallenge: &zoidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod},
		userID:        userID,
	}
	s.requests[req.id] = req
	return req.copy(), nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return nil, errors.New("auth request not found")
	}
	return req.copy(), nil
}

// AuthRequestByCode resolves a code once: DeleteAuthRequest drops the code after a successful
// exchange, so a replayed code is unknown here. Codes older than Options.CodeLifetime are refused.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errors.New("code unknown, already used or expired")
	}
	req, ok := s.requests[id]
	if !ok {
		return nil, errors.New("code unknown, already used or expired")
	}
	if time.Since(req.authTime) > s.opts.CodeLifetime {
		delete(s.codes, code)
		return nil, errors.New("code expired")
	}
	return req.copy(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[id]; !ok {
		return errors.New("auth request not found")
	}
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, reqID := range s.codes {
		if reqID == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clientID := s.clientID
	if req, ok := r.(*authRequest); ok {
		clientID = req.clientID
	}
	t := &accessToken{
		id:        s.newID("at"),
		subject:   r.GetSubject(),
		clientID:  clientID,
		scopes:    slices.Clone(r.GetScopes()),
		expiresAt: time.Now().Add(5 * time.Minute),
	}
	s.tokens[t.id] = t
	return t.id, t.expiresAt, nil
}

var errUnsupported = errors.New("not supported by oidctest")

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errUnsupported
}

func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *zoidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tokenOrID]; ok {
		if t.clientID != clientID {
			return zoidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.tokens, tokenOrID)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return &s.signingKey, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{&s.signingKey}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != s.clientID {
		return nil, errors.New("client not found")
	}
	return &client{id: s.clientID, opts: s.opts}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	if clientID != s.clientID || secret != s.clientSecret {
		return errors.New("wrong client ID or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *zoidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims. op has already removed profile and email
// scopes here when the client is in Options.ClaimsOnlyFromUserinfo mode, and the groups claim is
// withheld then too, so the ID token carries nothing but sub.
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *zoidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setUserinfo(ui, r.GetSubject(), scopes, !s.opts.ClaimsOnlyFromUserinfo)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, ui *zoidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok || time.Now().After(t.expiresAt) {
		return errors.New("access token unknown or expired")
	}
	return s.setUserinfo(ui, t.subject, t.scopes, true)
}

// setUserinfo sets the claims of the user with subject sub for scopes. s.mu must be held.
func (s *storage) setUserinfo(ui *zoidc.UserInfo, sub string, scopes []string, groups bool) error {
	u, ok := s.userBySubject(sub)
	if !ok {
		return errors.New("user not found")
	}
	ui.Subject = u.Subject
	for _, scope := range scopes {
		switch scope {
		case zoidc.ScopeEmail:
			ui.Email = u.Email
			ui.EmailVerified = zoidc.Bool(u.EmailVerified)
		case zoidc.ScopeProfile:
			ui.Name = u.Name
			ui.PreferredUsername = u.Username
		}
	}
	if groups {
		// Always a list, even an empty one, as real providers send it.
		ui.AppendClaims(s.opts.GroupsClaim, append([]string{}, u.Groups...))
	}
	return nil
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, in *zoidc.IntrospectionResponse, tokenID, _, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok || time.Now().After(t.expiresAt) || t.clientID != clientID {
		return errors.New("token is not active for this client")
	}
	ui := new(zoidc.UserInfo)
	if err := s.setUserinfo(ui, t.subject, t.scopes, true); err != nil {
		return err
	}
	in.SetUserInfo(ui)
	in.Scope = t.scopes
	in.ClientID = t.clientID
	in.Expiration = zoidc.FromTime(t.expiresAt)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}

func (s *storage) Health(context.Context) error { return nil }

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

// client is the one registered client: a confidential web application that authenticates with
// client_secret_basic (or _post) and uses the code flow.
type client struct {
	id   string
	opts Options
}

var _ op.HasRedirectGlobs = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.opts.RedirectURLs }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() zoidc.AuthMethod        { return zoidc.AuthMethodBasic }
func (c *client) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []zoidc.GrantType        { return []zoidc.GrantType{zoidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return loginPath + "?" + paramRequestID + "=" + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.opts.IDTokenLifetime }
func (c *client) DevMode() bool                        { return true } // allows http redirect URLs
func (c *client) IsScopeAllowed(scope string) bool     { return scope == "groups" }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return !c.opts.ClaimsOnlyFromUserinfo }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) PostLogoutRedirectURIGlobs() []string { return nil }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// RedirectURIGlobs accepts any loopback callback unless Options.RedirectURLs pins exact ones,
// so a test can register the URL of an httptest server it starts after the provider.
func (c *client) RedirectURIGlobs() []string {
	if len(c.opts.RedirectURLs) > 0 {
		return nil
	}
	return []string{"http://127.0.0.1:*/**", "http://localhost:*/**", "http://[[]::1]:*/**"}
}
