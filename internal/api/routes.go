package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// param documents one query or path parameter.
type param struct {
	Name, In, Type, Desc string
	Required             bool
}

// spec documents one route for the OpenAPI document.
type spec struct {
	Method, Path, Summary, Tag string
	Params                     []param
	Body                       string // schema name of the request body
	// Upload: the body may also be multipart/form-data file parts.
	Upload bool
	// Binary: the 2xx answer is a file (application/octet-stream), not JSON.
	Binary   bool
	Response string // schema name of the 2xx response
	Status   int
	Public   bool
}

var pageParams = []param{
	{Name: "limit", In: "query", Type: "integer", Desc: "page size"},
	{Name: "cursor", In: "query", Type: "string", Desc: "next_cursor of the previous page"},
}

func (a *API) route(rt *httpd.Router, s spec, h jsonHandler) {
	if s.Status == 0 {
		s.Status = 200
	}
	a.specs = append(a.specs, s)
	access := httpd.Authenticated
	if s.Public {
		access = httpd.Public
	}
	rt.Handle("api", s.Method, Prefix+s.Path, access, s.Summary, a.wrap(h))
}

// rawHandler writes its own answer (a file download) and returns an error
// only before it has written anything.
type rawHandler func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error

// routeRaw registers an authenticated route whose handler writes its own
// answer; its errors are problem documents like every other route's.
func (a *API) routeRaw(rt *httpd.Router, s spec, h rawHandler) {
	if s.Status == 0 {
		s.Status = 200
	}
	a.specs = append(a.specs, s)
	rt.Handle("api", s.Method, Prefix+s.Path, httpd.Authenticated, s.Summary, func(w http.ResponseWriter, r *http.Request, sc scope.Scope) {
		if err := h(w, r, sc); err != nil {
			a.fail(w, r, err)
		}
	})
}

// Register adds every API route to rt. Domain packages added later
// register theirs the same way, so the OpenAPI document and the isolation
// test see them.
func (a *API) Register(rt *httpd.Router) {
	// What the router refuses itself (no credentials, malformed addresses,
	// oversized bodies, panics) is answered as a problem document too.
	rt.OnFail("api", a.routerProblem)
	a.route(rt, spec{Method: "GET", Path: "/me", Tag: "me", Summary: "The caller: identity and grants", Response: "Me"}, a.me)

	a.route(rt, spec{Method: "GET", Path: "/orgs", Tag: "organisations", Summary: "List organisations in scope",
		Params: append([]param{
			{Name: "type", In: "query", Type: "string", Desc: "region, nation, icb, sub-icb, trust, gp-practice, other-provider, supplier, national"},
			{Name: "status", In: "query", Type: "string", Desc: "active or closed (default both)"},
			{Name: "outside", In: "query", Type: "boolean", Desc: "include bodies outside NHS England (NHS Wales, the Crown dependencies), left out by default unless parent or under is one of them"},
			{Name: "parent", In: "query", Type: "string", Desc: "direct children of this ODS code"},
			{Name: "under", In: "query", Type: "string", Desc: "the subtree of this ODS code"},
			{Name: "q", In: "query", Type: "string", Desc: "search code and name: each word (at most 20, 200 characters in all) finds the words it begins, in any case and without regard to accents; results in code order"},
		}, pageParams...), Response: "OrgPage"}, a.listOrgs)
	a.route(rt, spec{Method: "GET", Path: "/orgs/tree", Tag: "organisations", Summary: "Children of an organisation (or the caller's roots) with child counts",
		Params: []param{{Name: "parent", In: "query", Type: "string", Desc: "ODS code; empty for the caller's roots"}, {Name: "closed", In: "query", Type: "boolean", Desc: "include closed organisations"},
			{Name: "outside", In: "query", Type: "boolean", Desc: "include bodies outside NHS England (NHS Wales, the Crown dependencies)"}},
		Response: "OrgTree"}, a.orgTree)
	a.route(rt, spec{Method: "GET", Path: "/orgs/{code}", Tag: "organisations", Summary: "One organisation",
		Params: []param{{Name: "code", In: "path", Type: "string", Required: true}}, Response: "Org"}, a.getOrg)
	a.route(rt, spec{Method: "POST", Path: "/orgs", Tag: "organisations", Summary: "Create an organisation under one you administer",
		Body: "Org", Response: "Org", Status: 201}, a.createOrg)
	a.route(rt, spec{Method: "PATCH", Path: "/orgs/{code}", Tag: "organisations", Summary: "Change an organisation you administer",
		Params: []param{{Name: "code", In: "path", Type: "string", Required: true}}, Body: "OrgPatch", Response: "Org"}, a.updateOrg)

	a.route(rt, spec{Method: "GET", Path: "/users", Tag: "users", Summary: "List users of organisations in scope",
		Params: append([]param{{Name: "org", In: "query", Type: "string"}, {Name: "q", In: "query", Type: "string"}}, pageParams...), Response: "UserPage"}, a.listUsers)
	a.route(rt, spec{Method: "GET", Path: "/users/{id}", Tag: "users", Summary: "One user (by ID or e-mail)",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "User"}, a.getUser)
	a.route(rt, spec{Method: "POST", Path: "/users", Tag: "users", Summary: "Create a user with one role on an organisation you administer",
		Body: "NewUser", Response: "User", Status: 201}, a.createUser)
	a.route(rt, spec{Method: "PATCH", Path: "/users/{id}", Tag: "users", Summary: "Change a user's name, password (your own needs current_password) or disabled flag",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Body: "UserPatch", Response: "User"}, a.updateUser)
	a.route(rt, spec{Method: "POST", Path: "/users/{id}/grants", Tag: "users", Summary: "Grant a role on an organisation",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Body: "Grant", Response: "User"}, a.grant)
	a.route(rt, spec{Method: "DELETE", Path: "/users/{id}/grants", Tag: "users", Summary: "Revoke a role on an organisation",
		Params:   []param{{Name: "id", In: "path", Type: "string", Required: true}, {Name: "role", In: "query", Type: "string", Required: true}, {Name: "org", In: "query", Type: "string", Required: true}},
		Response: "User"}, a.revoke)

	a.route(rt, spec{Method: "GET", Path: "/tokens", Tag: "tokens", Summary: "List API tokens (never their secrets)",
		Params: []param{{Name: "user", In: "query", Type: "string"}}, Response: "TokenList"}, a.listTokens)
	a.route(rt, spec{Method: "POST", Path: "/tokens", Tag: "tokens", Summary: "Create an API token; its secret is in the response once",
		Body: "NewToken", Response: "CreatedToken", Status: 201}, a.createToken)
	a.route(rt, spec{Method: "DELETE", Path: "/tokens/{id}", Tag: "tokens", Summary: "Revoke an API token",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "Token"}, a.revokeToken)

	a.route(rt, spec{Method: "GET", Path: "/audit", Tag: "audit", Summary: "Audit entries you may see, newest first",
		Params: append([]param{{Name: "action", In: "query", Type: "string", Desc: "prefix, e.g. org. or user.create"}, {Name: "actor", In: "query", Type: "string"},
			{Name: "org", In: "query", Type: "string"}, {Name: "object", In: "query", Type: "string"},
			{Name: "since", In: "query", Type: "string", Desc: "RFC 3339"}, {Name: "until", In: "query", Type: "string", Desc: "RFC 3339"}}, pageParams...),
		Response: "AuditPage"}, a.listAudit)
	a.route(rt, spec{Method: "GET", Path: "/audit/verify", Tag: "audit", Summary: "Verify the whole audit hash chain and say how it is anchored (national auditors and admins)",
		Params:   []param{{Name: "expect", In: "query", Type: "string", Desc: "a head recorded earlier, SEQ:HASH: the chain must hold it"}},
		Response: "Verification"}, a.verifyAudit)

	if a.o.Assurance != nil {
		a.registerAssurance(rt)
	}
	if a.o.Supply != nil {
		a.registerSupply(rt)
	}
	if a.o.Cases != nil {
		a.registerCases(rt)
		a.registerIncidents(rt)
	}
	if a.o.Reports != nil {
		a.registerReports(rt)
	}
	if a.o.Notify != nil {
		a.registerNotify(rt)
	}
	if a.o.Events != nil {
		a.registerEvents(rt)
		a.registerHunts(rt)
	}
	if a.o.Rules != nil {
		a.registerRules(rt)
	}
	if a.o.CyberAlerts != nil {
		a.registerCyberAlerts(rt)
	}
	if a.o.SBOMs != nil {
		a.registerSBOMs(rt)
	}
	if a.o.IngestHealth != nil {
		a.registerIngestHealth(rt)
	}
	if a.o.Intel != nil {
		a.registerIntel(rt)
		a.registerIntelLifecycle(rt)
		a.registerIntelDecay(rt)
		if a.o.Feeds != nil {
			a.registerIntelFeeds(rt)
		}
	}

	a.route(rt, spec{Method: "GET", Path: "/openapi.json", Tag: "meta", Summary: "This document", Public: true, Response: "OpenAPI"},
		func(r *http.Request, _ scope.Scope) (any, error) { return a.OpenAPI(), nil })
}

// Me is the caller as the API sees them.
type Me struct {
	ID     string        `json:"id"`
	Email  string        `json:"email"`
	Name   string        `json:"name"`
	Org    string        `json:"org"`
	Via    string        `json:"via"`
	Grants []scope.Grant `json:"grants"`
}

func (a *API) me(r *http.Request, sc scope.Scope) (any, error) {
	g := sc.Grants
	if g == nil {
		g = []scope.Grant{}
	}
	return Me{ID: sc.UserID, Email: sc.Email, Name: sc.Name, Org: sc.Home, Via: sc.Via, Grants: g}, nil
}

func (a *API) listOrgs(r *http.Request, sc scope.Scope) (any, error) {
	q := r.URL.Query()
	limit, err := limitParam(r, 100, org.MaxPage)
	if err != nil {
		return nil, err
	}
	f := org.ListFilter{Type: org.Type(q.Get("type")), Status: org.Status(q.Get("status")), Parent: strings.ToUpper(q.Get("parent")),
		Under: strings.ToUpper(q.Get("under")), Query: q.Get("q"), After: q.Get("cursor"), Limit: limit, Outside: q.Get("outside") == "true"}
	if f.Type != "" && !f.Type.Valid() {
		return nil, &fault.Invalid{Field: "type", Reason: "unknown organisation type"}
	}
	if f.Status != "" && f.Status != org.Active && f.Status != org.Closed {
		return nil, &fault.Invalid{Field: "status", Reason: "want active or closed"}
	}
	list, next, err := a.o.Orgs.List(r.Context(), sc, f)
	if err != nil {
		return nil, err
	}
	return page(list, next), nil
}

// OrgTree is one level of the organisation tree.
type OrgTree struct {
	Parent    string     `json:"parent"`
	Ancestors []org.Org  `json:"ancestors"`
	Children  []org.Node `json:"children"`
}

func (a *API) orgTree(r *http.Request, sc scope.Scope) (any, error) {
	parent := strings.ToUpper(r.URL.Query().Get("parent"))
	q := r.URL.Query()
	kids, err := a.o.Orgs.Children(r.Context(), sc, parent, org.View{Closed: q.Get("closed") == "true", Outside: q.Get("outside") == "true"})
	if err != nil {
		return nil, err
	}
	t := OrgTree{Parent: parent, Children: kids, Ancestors: []org.Org{}}
	if t.Children == nil {
		t.Children = []org.Node{}
	}
	if parent != "" {
		if t.Ancestors, err = a.o.Orgs.Ancestors(r.Context(), sc, parent); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (a *API) getOrg(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Orgs.Get(r.Context(), sc, strings.ToUpper(r.PathValue("code")))
}

func (a *API) createOrg(r *http.Request, sc scope.Scope) (any, error) {
	var o org.Org
	if err := decode(r, &o); err != nil {
		return nil, err
	}
	o, err := a.o.Orgs.Create(r.Context(), sc, o)
	if err != nil {
		return nil, err
	}
	return created{o}, nil
}

func (a *API) updateOrg(r *http.Request, sc scope.Scope) (any, error) {
	var p org.Patch
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	return a.o.Orgs.Update(r.Context(), sc, strings.ToUpper(r.PathValue("code")), p)
}

func (a *API) listUsers(r *http.Request, sc scope.Scope) (any, error) {
	limit, err := limitParam(r, 100, 1000)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	list, next, err := a.o.Auth.ListUsers(r.Context(), sc, auth.UserFilter{Org: q.Get("org"), Query: q.Get("q"), After: q.Get("cursor"), Limit: limit})
	if err != nil {
		return nil, err
	}
	return page(list, next), nil
}

func (a *API) getUser(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Auth.GetUser(r.Context(), sc, r.PathValue("id"))
}

// NewUser is the body of POST /users.
type NewUser struct {
	Email    string     `json:"email"`
	Name     string     `json:"name"`
	Org      string     `json:"org"`
	Role     scope.Role `json:"role"`
	Password string     `json:"password,omitempty"`
}

func (a *API) createUser(r *http.Request, sc scope.Scope) (any, error) {
	var nu NewUser
	if err := decode(r, &nu); err != nil {
		return nil, err
	}
	u, err := a.o.Auth.AddUser(r.Context(), sc, auth.NewUser{Email: nu.Email, Name: nu.Name, Org: nu.Org, Role: nu.Role, Password: nu.Password})
	if err != nil {
		return nil, err
	}
	return created{u}, nil
}

func (a *API) updateUser(r *http.Request, sc scope.Scope) (any, error) {
	var p auth.UserPatch
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	return a.o.Auth.UpdateUser(r.Context(), sc, r.PathValue("id"), p)
}

func (a *API) grant(r *http.Request, sc scope.Scope) (any, error) {
	var g scope.Grant
	if err := decode(r, &g); err != nil {
		return nil, err
	}
	return a.o.Auth.Grant(r.Context(), sc, r.PathValue("id"), g.Role, g.Org)
}

func (a *API) revoke(r *http.Request, sc scope.Scope) (any, error) {
	q := r.URL.Query()
	return a.o.Auth.Revoke(r.Context(), sc, r.PathValue("id"), scope.Role(q.Get("role")), q.Get("org"))
}

func (a *API) listTokens(r *http.Request, sc scope.Scope) (any, error) {
	ts, err := a.o.Auth.ListTokens(r.Context(), sc, r.URL.Query().Get("user"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"items": ts}, nil
}

// NewToken is the body of POST /tokens.
type NewToken struct {
	User    string `json:"user,omitempty"`
	Name    string `json:"name"`
	Expires string `json:"expires,omitempty"`
}

// CreatedToken carries the secret, once.
type CreatedToken struct {
	auth.Token
	Secret string `json:"token"`
}

func (a *API) createToken(r *http.Request, sc scope.Scope) (any, error) {
	var nt NewToken
	if err := decode(r, &nt); err != nil {
		return nil, err
	}
	ttl, err := auth.ParseExpiry(nt.Expires)
	if err != nil {
		return nil, err
	}
	user := nt.User
	if user == "" {
		user = sc.UserID
	}
	t, secret, err := a.o.Auth.CreateToken(r.Context(), sc, user, nt.Name, ttl)
	if err != nil {
		return nil, err
	}
	return created{CreatedToken{t, secret}}, nil
}

func (a *API) revokeToken(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Auth.RevokeToken(r.Context(), sc, r.PathValue("id"))
}

func (a *API) listAudit(r *http.Request, sc scope.Scope) (any, error) {
	if !sc.Can(scope.Audit) {
		return nil, fault.ErrForbidden
	}
	limit, err := limitParam(r, 100, 1000)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action"), Actor: q.Get("actor"), Org: strings.ToUpper(q.Get("org")), Object: q.Get("object"), Limit: limit}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, &fault.Invalid{Field: t.name, Reason: "want an RFC 3339 time such as 2026-11-30T09:00:00Z"}
			}
			*t.dst = tm
		}
	}
	if c := q.Get("cursor"); c != "" {
		n, err := parseInt(c)
		if err != nil {
			return nil, &fault.Invalid{Field: "cursor", Reason: "not a cursor from this API"}
		}
		f.Before = n
	}
	list, next, err := a.o.Audit.List(r.Context(), sc, f)
	if err != nil {
		return nil, err
	}
	nc := ""
	if next > 0 {
		nc = formatInt(next)
	}
	return page(list, nc), nil
}

func (a *API) verifyAudit(r *http.Request, sc scope.Scope) (any, error) {
	if !sc.National(scope.Audit) {
		return nil, fault.ErrForbidden
	}
	var o audit.VerifyOptions
	if q := r.URL.Query().Get("expect"); q != "" {
		h, err := audit.ParseHead(q)
		if err != nil {
			return nil, &fault.Invalid{Reason: "expect: " + err.Error()}
		}
		o.Expect = &h
	}
	// A broken or unverifiable chain is an answer (ok: false, with the
	// reason), not an error.
	v, err := a.o.Audit.Check(r.Context(), o)
	if err != nil && !errors.Is(err, audit.ErrBroken) && !errors.Is(err, audit.ErrNoKey) {
		return nil, err
	}
	return v, nil
}
