package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

type homeData struct {
	Home   string
	Grants []grantView
	Counts []typeCount
	Total  int
	Areas  []area
	Admin  bool
	Audit  bool
}

type grantView struct {
	scope.Grant
	OrgName string
	// Revocable: the viewer may take this grant away (on a user's page).
	Revocable bool
}

type typeCount struct {
	Type  org.Type
	Count int
}

func (w *Web) grantViews(r *http.Request, sc scope.Scope, gs []scope.Grant) []grantView {
	out := make([]grantView, 0, len(gs))
	for _, g := range gs {
		gv := grantView{Grant: g}
		if o, err := w.o.Orgs.Get(r.Context(), sc, g.Org); err == nil {
			gv.OrgName = o.Name
		}
		out = append(out, gv)
	}
	return out
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	counts, err := w.o.Orgs.Count(r.Context(), sc, org.View{})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := homeData{Grants: w.grantViews(r, sc, sc.Grants), Areas: w.areas(), Admin: sc.Can(scope.Admin), Audit: sc.Can(scope.Audit)}
	if o, err := w.o.Orgs.Get(r.Context(), sc, sc.Home); err == nil {
		d.Home = o.Name
	}
	for _, t := range org.Types() {
		if n := counts[t]; n > 0 {
			d.Counts = append(d.Counts, typeCount{t, n})
			d.Total += n
		}
	}
	v := w.page(r, sc, "Home", "home")
	v.D = d
	w.render(rw, r, http.StatusOK, "home", v)
}

// treeNode is an organisation in the rendered tree; Kids is filled for
// the nodes on the way to the one asked for, so the page works without
// the script that loads other levels on demand.
type treeNode struct {
	org.Node
	Kids []treeNode
	Open bool
}

type treeLevel struct {
	Nodes  []treeNode
	Closed bool
}

type orgsData struct {
	Query    string
	Type     string
	Closed   bool
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
	d := orgsData{Query: strings.TrimSpace(q.Get("q")), Type: q.Get("type"), Closed: q.Get("closed") == "1",
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
		f := org.ListFilter{Query: d.Query, Type: org.Type(d.Type), After: d.Cursor, Limit: searchPage}
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
		d.Names = w.regionAndICBNames(r, sc, list)
	} else {
		tree, err := w.tree(r, sc, d.At, d.Closed)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Tree = treeLevel{tree, d.Closed}
		d.NoAccess = len(tree) == 0
	}
	if d.Search {
		v.Title = "Organisations: search"
	}
	v.D = d
	w.render(rw, r, status, "orgs", v)
}

// regionAndICBNames names the regions and ICBs that the results refer to,
// with one query for each kind rather than one per row.
func (w *Web) regionAndICBNames(r *http.Request, sc scope.Scope, list []org.Org) map[string]string {
	names := map[string]string{}
	need := map[org.Type]bool{}
	for _, o := range list {
		if o.Region != "" {
			need[org.Region] = true
		}
		if o.ICB != "" {
			need[org.ICB] = true
		}
	}
	for t := range need {
		all, _, err := w.o.Orgs.List(r.Context(), sc, org.ListFilter{Type: t, Limit: 500})
		if err != nil {
			continue // names are a nicety; the codes are still shown
		}
		for _, o := range all {
			names[o.Code] = o.Name
		}
	}
	return names
}

// tree returns the caller's roots, with the levels down to at opened (or,
// without at, the first level under a single root, which is what people
// open first).
func (w *Web) tree(r *http.Request, sc scope.Scope, at string, closed bool) ([]treeNode, error) {
	ctx := r.Context()
	roots, err := w.o.Orgs.Children(ctx, sc, "", org.View{Closed: closed})
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
			kids, err := w.o.Orgs.Children(ctx, sc, n.Code, org.View{Closed: closed})
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
	q := r.URL.Query()
	parent := strings.ToUpper(q.Get("parent"))
	closed := q.Get("closed") == "1"
	kids, err := w.o.Orgs.Children(r.Context(), sc, parent, org.View{Closed: closed})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	nodes := make([]treeNode, len(kids))
	for i, k := range kids {
		nodes[i].Node = k
	}
	var buf strings.Builder
	if err := w.pages["orgs"].ExecuteTemplate(&buf, "tree-level", treeLevel{nodes, closed}); err != nil {
		w.serverError(rw, r, &sc, err)
		return
	}
	writeHTML(rw, http.StatusOK, []byte(buf.String()))
}

type orgData struct {
	Org       org.Org
	Ancestors []org.Org
	Children  []org.Node
	Users     []auth.User
	MoreUsers bool
	Admin     bool
	IsCurrent bool
}

func (w *Web) orgPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	code := strings.ToUpper(r.PathValue("code"))
	o, err := w.o.Orgs.Get(ctx, sc, code)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := orgData{Org: o, Admin: sc.CanAt(scope.Admin, o.Path)}
	if d.Ancestors, err = w.o.Orgs.Ancestors(ctx, sc, code); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if d.Children, err = w.o.Orgs.Children(ctx, sc, code, org.View{Closed: true}); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	users, next, err := w.o.Auth.ListUsers(ctx, sc, auth.UserFilter{Org: code, Limit: 25})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d.Users, d.MoreUsers = users, next != ""
	v := w.page(r, sc, o.Name, "orgs")
	d.IsCurrent = v.Current != nil && v.Current.Code == o.Code
	v.D = d
	w.render(rw, r, http.StatusOK, "org", v)
}
