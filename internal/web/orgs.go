package web

import (
	"errors"
	"github.com/vigil-health/vigil/internal/assurance"
	"net/http"
	"strings"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

type grantView struct {
	scope.Grant
	OrgName string
	// Revocable: the viewer may take this grant away (on a user's page).
	Revocable bool
}

// namesOf names the organisations among codes that sc may read, for a
// page that shows them as "Name (CODE)"; on failure the page shows the
// codes alone, and the failure is logged.
func (w *Web) namesOf(r *http.Request, sc scope.Scope, codes []string) map[string]string {
	names, err := w.o.Orgs.Names(r.Context(), sc, codes)
	if err != nil {
		w.log.Warn("names of organisations", "err", err)
	}
	return names
}

func (w *Web) grantViews(r *http.Request, sc scope.Scope, gs []scope.Grant) []grantView {
	codes := make([]string, len(gs))
	for i, g := range gs {
		codes[i] = g.Org
	}
	names := w.namesOf(r, sc, codes)
	out := make([]grantView, 0, len(gs))
	for _, g := range gs {
		out = append(out, grantView{Grant: g, OrgName: names[g.Org]})
	}
	return out
}

// treeNode is an organisation in the rendered tree; Kids is filled for
// the nodes on the way to the one asked for, so the page works without
// the script that loads other levels on demand.
type treeNode struct {
	org.Node
	Kids []treeNode
	Open bool
}

// treeLevel is one level of the tree and the view it was listed in, which
// the links that load the next levels keep.
type treeLevel struct {
	Nodes   []treeNode
	Closed  bool
	Outside bool
}

// viewQuery reads the view of a tree or list from the query string
// (closed=1, outside=1).
func viewQuery(r *http.Request) org.View {
	q := r.URL.Query()
	return org.View{Closed: q.Get("closed") == "1", Outside: q.Get("outside") == "1"}
}

type orgsData struct {
	// National: the caller reads nationally, so the bodies outside NHS
	// England are there to include.
	National bool
	Query    string
	Type     string
	Closed   bool
	Outside  bool
	Under    bool
	Search   bool
	Results  []org.Org
	Names    map[string]string
	Next     string
	Cursor   string
	Tree     treeLevel
	At       string
	NoAccess bool
	Error    string
}

// searchPage is the page size of organisation search.
const searchPage = 50

func (w *Web) orgs(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := r.URL.Query()
	view := viewQuery(r)
	d := orgsData{National: sc.National(scope.Read), Query: strings.TrimSpace(q.Get("q")), Type: q.Get("type"), Closed: view.Closed, Outside: view.Outside,
		Under: q.Get("under") == "1", Cursor: q.Get("cursor"), At: strings.ToUpper(q.Get("at"))}
	v := w.page(r, sc, "Organisations", "orgs")
	d.Search = d.Query != "" || d.Type != "" || d.Cursor != "" || d.Under
	if d.Type != "" && !org.Type(d.Type).Valid() {
		d.Error = "Choose an organisation type from the list."
		d.Search = false
		d.Type = ""
	}
	status := http.StatusOK
	if d.Search {
		f := org.ListFilter{Query: d.Query, Type: org.Type(d.Type), After: d.Cursor, Limit: searchPage, Outside: d.Outside}
		if !d.Closed {
			f.Status = org.Active
		}
		if d.Under && v.Current != nil {
			f.Under = v.Current.Code
		}
		list, next, err := w.o.Orgs.List(r.Context(), sc, f)
		var ve *fault.Invalid
		switch {
		case errors.As(err, &ve):
			// A search too large to run (each word is one SQL condition).
			d.Error, status = "Your search "+ve.Reason+".", http.StatusBadRequest
		case err != nil:
			w.fail(rw, r, sc, err)
			return
		}
		d.Results, d.Next = list, next
		var codes []string
		for _, o := range list {
			codes = append(codes, o.ICB, o.Region)
		}
		if d.Names, err = w.o.Orgs.Names(r.Context(), sc, codes); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	} else {
		tree, err := w.tree(r, sc, d.At, view)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Tree = treeLevel{tree, d.Closed, d.Outside}
		d.NoAccess = len(tree) == 0
	}
	if d.Search {
		v.Title = "Organisations: search"
	}
	v.D = d
	w.render(rw, r, status, "orgs", v)
}

// tree returns the caller's roots, with the levels down to at opened (or,
// without at, the first level under a single root, which is what people
// open first).
func (w *Web) tree(r *http.Request, sc scope.Scope, at string, view org.View) ([]treeNode, error) {
	ctx := r.Context()
	roots, err := w.o.Orgs.Children(ctx, sc, "", view)
	if err != nil {
		return nil, err
	}
	open := map[string]bool{}
	if at != "" {
		anc, err := w.o.Orgs.Ancestors(ctx, sc, at)
		if err != nil {
			return nil, err
		}
		for _, a := range anc {
			open[a.Code] = true
		}
		open[at] = true
	} else if len(roots) == 1 {
		open[roots[0].Code] = true
	}
	var expand func(nodes []org.Node) ([]treeNode, error)
	expand = func(nodes []org.Node) ([]treeNode, error) {
		out := make([]treeNode, len(nodes))
		for i, n := range nodes {
			out[i].Node = n
			if !open[n.Code] || n.Children == 0 {
				continue
			}
			kids, err := w.o.Orgs.Children(ctx, sc, n.Code, view)
			if err != nil {
				return nil, err
			}
			if out[i].Kids, err = expand(kids); err != nil {
				return nil, err
			}
			out[i].Open = true
		}
		return out, nil
	}
	return expand(roots)
}

// orgChildren answers the tree script with one level as an HTML fragment
// rendered by the same template as the page, so the two cannot differ.
func (w *Web) orgChildren(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	parent := strings.ToUpper(r.URL.Query().Get("parent"))
	view := viewQuery(r)
	kids, err := w.o.Orgs.Children(r.Context(), sc, parent, view)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	nodes := make([]treeNode, len(kids))
	for i, k := range kids {
		nodes[i].Node = k
	}
	var buf strings.Builder
	if err := w.pages["orgs"].ExecuteTemplate(&buf, "tree-level", treeLevel{nodes, view.Closed, view.Outside}); err != nil {
		w.serverError(rw, r, &sc, err)
		return
	}
	writeHTML(rw, http.StatusOK, []byte(buf.String()))
}

type orgData struct {
	Org org.Org
	// Names names the codes the page shows: parent, ICB, region, grants.
	Names     map[string]string
	Ancestors []org.Org
	// Children are the organisations directly below in England's active
	// view (the tree's count); Closed and Outside are the others, listed
	// when the view asks (?closed=1, ?outside=1).
	Children  []org.Node
	Closed    []org.Node
	Outside   []org.Node
	View      org.View
	Users     []auth.User
	MoreUsers bool
	Admin     bool
	IsCurrent bool
	// Supply is what it depends on and its exposure; nil without the
	// supplier register or for organisations that deploy nothing (the
	// national root, regions, ICBs, nations, suppliers).
	Supply *orgSupply
	// DSPT is its DSPT statuses by edition; nil without the assurance
	// service (the section is left out).
	DSPT []assurance.DSPTStatus
}

func (w *Web) orgPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	code := strings.ToUpper(r.PathValue("code"))
	o, err := w.o.Orgs.Get(ctx, sc, code)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := orgData{Org: o, Admin: sc.CanAt(scope.Admin, o.Path), View: viewQuery(r)}
	if d.Ancestors, err = w.o.Orgs.Ancestors(ctx, sc, code); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	// The children in England's active view, counted as the tree counts
	// them (the heading's number and each "below" are the tree's); then
	// the closed ones and those outside England, said and listed on
	// request.
	if d.Children, err = w.o.Orgs.Children(ctx, sc, code, org.View{}); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	shown := map[string]bool{}
	for _, k := range d.Children {
		shown[k.Code] = true
	}
	all, err := w.o.Orgs.Children(ctx, sc, code, org.View{Closed: true, Outside: true})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	for _, k := range all {
		switch {
		case shown[k.Code]:
		case k.Status != org.Active:
			d.Closed = append(d.Closed, k)
		default:
			d.Outside = append(d.Outside, k)
		}
	}
	users, next, err := w.o.Auth.ListUsers(ctx, sc, auth.UserFilter{Org: code, Limit: 25})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d.Users, d.MoreUsers = users, next != ""
	codes := []string{o.Parent, o.Region, o.ICB}
	for _, u := range users {
		for _, g := range u.Grants {
			codes = append(codes, g.Org)
		}
	}
	if d.Names, err = w.o.Orgs.Names(ctx, sc, codes); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if deploys(o.Type) {
		if d.Supply, err = w.orgSupply(ctx, sc, o); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	if w.o.Assurance != nil {
		if d.DSPT, err = w.o.Assurance.OrgDSPT(ctx, sc, code); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	v := w.page(r, sc, o.Name, "orgs")
	d.IsCurrent = v.Current != nil && v.Current.Code == o.Code
	v.D = d
	w.render(rw, r, http.StatusOK, "org", v)
}
