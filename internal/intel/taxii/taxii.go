// Package taxii is the protocol layer of Vigil's TAXII 2.1 server
// (OASIS TAXII 2.1, sections 4–5): discovery, API roots, collections and
// the objects of a collection a page at a time, with TAXII's media types,
// error resources and X-TAXII-Date-Added headers. Client (client.go) is
// the other side: what Vigil's feeds (package intel/pull) pull with.
//
// `vigil serve` mounts it at /taxii2/ (internal/app/taxii.go), which
// authenticates each request (HTTP Basic or an API token) and hands the
// caller over in the request's context (WithCaller). Who may see which
// collection, and the TLP ceilings, are the Source's job (StoreSource);
// see docs/intel.md.
package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// The media types of TAXII 2.1 (section 1.6.8).
const (
	MediaTAXII = "application/taxii+json;version=2.1"
	MediaSTIX  = "application/stix+json;version=2.1"
)

// Collection is a collection as TAXII describes it (section 5.2).
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// Source says which collections a request may see and gives their objects.
type Source interface {
	// Collections lists the collections of an API root the request may
	// know of; one it may not know of is left out (and is a 404).
	Collections(ctx context.Context, r *http.Request, root string) ([]Collection, error)
	// Objects runs q over a collection the request may read.
	Objects(ctx context.Context, r *http.Request, root, collection string, q intel.Query) (intel.Page, error)
}

// APIRoot is one API root (section 4.2).
type APIRoot struct {
	// Name is its path segment under /taxii2/.
	Name, Title, Description string
	MaxContentLength         int
}

// Options configure the server.
type Options struct {
	// Prefix is where the handler is mounted; "/taxii2/" by default.
	Prefix                      string
	Title, Description, Contact string
	Roots                       []APIRoot
	// Default names the default API root ("" for none).
	Default string
	Source  Source
	// MaxPage caps limit; 1000 by default.
	MaxPage int
}

// Server serves TAXII 2.1.
type Server struct {
	o      Options
	mux    *http.ServeMux
	routes []Route
}

// Route is one resource the server serves, for a host router that
// authenticates requests before handing them to ServeHTTP.
type Route struct {
	Method, Pattern, Summary string
}

// Routes lists the resources, each as a Go 1.22 pattern under Prefix.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// New checks o and builds the server.
func New(o Options) (*Server, error) {
	if o.Source == nil {
		return nil, errors.New("taxii: Options.Source is required")
	}
	if o.Title == "" {
		return nil, errors.New("taxii: Options.Title is required (the discovery title)")
	}
	if o.Prefix == "" {
		o.Prefix = "/taxii2/"
	}
	if !strings.HasPrefix(o.Prefix, "/") || !strings.HasSuffix(o.Prefix, "/") {
		return nil, errors.New("taxii: Options.Prefix must start and end with /")
	}
	if o.MaxPage <= 0 {
		o.MaxPage = 1000
	}
	for _, r := range o.Roots {
		if r.Name == "" || strings.Contains(r.Name, "/") {
			return nil, errors.New("taxii: Options.Roots: an API root's Name is one path segment")
		}
	}
	s := &Server{o: o, mux: http.NewServeMux()}
	p := o.Prefix
	handle := func(method, pattern, summary string, h http.HandlerFunc) {
		s.mux.HandleFunc(method+" "+p+pattern, h)
		s.routes = append(s.routes, Route{Method: method, Pattern: p + pattern, Summary: summary})
	}
	handle("GET", "{$}", "TAXII discovery", s.discovery)
	handle("GET", "{root}/{$}", "TAXII API root", s.apiRoot)
	handle("GET", "{root}/collections/{$}", "TAXII collections", s.collections)
	handle("GET", "{root}/collections/{id}/{$}", "TAXII collection", s.collection)
	handle("GET", "{root}/collections/{id}/objects/{$}", "TAXII objects of a collection", s.objects)
	handle("GET", "{root}/collections/{id}/objects/{object}/{$}", "TAXII an object of a collection", s.object)
	handle("GET", "{root}/collections/{id}/objects/{object}/versions/{$}", "TAXII the versions of an object", s.versions)
	handle("GET", "{root}/collections/{id}/manifest/{$}", "TAXII manifest of a collection", s.manifest)
	if _, ok := o.Source.(Writer); ok {
		handle("POST", "{root}/collections/{id}/objects/{$}", "TAXII add objects to a collection", s.postObjects)
		handle("GET", "{root}/status/{id}/{$}", "TAXII status of an add", s.status)
	}
	if _, ok := o.Source.(Deleter); ok {
		handle("DELETE", "{root}/collections/{id}/objects/{object}/{$}", "TAXII delete an object from a collection", s.deleteObject)
	}
	s.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.fail(w, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not served here yet")
			return
		}
		s.fail(w, http.StatusNotFound, "Not found", "no TAXII resource at "+r.URL.Path)
	})
	return s, nil
}

// ServeHTTP checks the Accept header (406 unless it accepts TAXII 2.1)
// and routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !accepts(r.Header.Get("Accept")) {
		s.fail(w, http.StatusNotAcceptable, "Not acceptable", "Accept must include "+MediaTAXII)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// accepts reports whether an Accept header admits TAXII 2.1: the media
// type application/taxii+json with version 2.1 or no version (section 1.6.8.1).
func accepts(h string) bool {
	for _, part := range strings.Split(h, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "application/taxii+json" {
			continue
		}
		if v, ok := params["version"]; !ok || v == "2.1" {
			return true
		}
	}
	return false
}

func (s *Server) write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Internal error", "")
		return
	}
	w.Header().Set("Content-Type", MediaTAXII)
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client has gone; nothing left to do
}

// fail writes a TAXII error message (section 3.6.1).
func (s *Server) fail(w http.ResponseWriter, status int, title, desc string) {
	Fail(w, status, title, desc)
}

// Fail writes a TAXII error message (section 3.6.1), for a host router's
// own errors (no credentials, a body too large) on TAXII's routes.
func Fail(w http.ResponseWriter, status int, title, desc string) {
	e := map[string]any{"title": title, "http_status": strconv.Itoa(status)}
	if desc != "" {
		e["description"] = desc
	}
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", MediaTAXII)
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client has gone; nothing left to do
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) (APIRoot, bool) {
	name := r.PathValue("root")
	for _, a := range s.o.Roots {
		if a.Name == name {
			return a, true
		}
	}
	s.fail(w, http.StatusNotFound, "API root not found", "no API root "+strconv.Quote(name))
	return APIRoot{}, false
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	d := map[string]any{"title": s.o.Title}
	if s.o.Description != "" {
		d["description"] = s.o.Description
	}
	if s.o.Contact != "" {
		d["contact"] = s.o.Contact
	}
	roots := make([]string, len(s.o.Roots))
	for i, a := range s.o.Roots {
		roots[i] = s.o.Prefix + a.Name + "/"
		if a.Name == s.o.Default {
			d["default"] = roots[i]
		}
	}
	d["api_roots"] = roots
	s.write(w, http.StatusOK, d)
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) {
	a, ok := s.root(w, r)
	if !ok {
		return
	}
	d := map[string]any{"title": a.Title, "versions": []string{MediaTAXII}, "max_content_length": a.MaxContentLength}
	if a.Description != "" {
		d["description"] = a.Description
	}
	s.write(w, http.StatusOK, d)
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request) {
	a, ok := s.root(w, r)
	if !ok {
		return
	}
	cs, err := s.o.Source.Collections(r.Context(), r, a.Name)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Internal error", "")
		return
	}
	if cs == nil {
		cs = []Collection{}
	}
	for i := range cs {
		if cs[i].MediaTypes == nil {
			cs[i].MediaTypes = []string{MediaSTIX}
		}
	}
	s.write(w, http.StatusOK, map[string]any{"collections": cs})
}

// find returns the collection of the request, or writes 404.
func (s *Server) find(w http.ResponseWriter, r *http.Request) (APIRoot, Collection, bool) {
	a, ok := s.root(w, r)
	if !ok {
		return a, Collection{}, false
	}
	cs, err := s.o.Source.Collections(r.Context(), r, a.Name)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Internal error", "")
		return a, Collection{}, false
	}
	id := r.PathValue("id")
	for _, c := range cs {
		if c.ID == id {
			if c.MediaTypes == nil {
				c.MediaTypes = []string{MediaSTIX}
			}
			return a, c, true
		}
	}
	s.fail(w, http.StatusNotFound, "Collection not found", "no collection "+strconv.Quote(id)+" in this API root")
	return a, Collection{}, false
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request) {
	if _, c, ok := s.find(w, r); ok {
		s.write(w, http.StatusOK, c)
	}
}

// page runs the request's query over the collection it names, after
// mod (nil: as given), writing the error and returning false when it
// cannot.
func (s *Server) page(w http.ResponseWriter, r *http.Request, mod func(*intel.Query)) (intel.Page, bool) {
	a, c, ok := s.find(w, r)
	if !ok {
		return intel.Page{}, false
	}
	if !c.CanRead {
		s.fail(w, http.StatusForbidden, "Forbidden", "this collection cannot be read with these credentials")
		return intel.Page{}, false
	}
	q, msg := s.query(r)
	if msg != "" {
		s.fail(w, http.StatusBadRequest, "Bad request", msg)
		return intel.Page{}, false
	}
	if mod != nil {
		mod(&q)
	}
	p, err := s.o.Source.Objects(r.Context(), r, a.Name, c.ID, q)
	if errors.Is(err, intel.ErrBadQuery) {
		s.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return p, false
	}
	if errors.Is(err, intel.ErrCollectionNotFound) { // gone, or its grant revoked, since find
		s.fail(w, http.StatusNotFound, "Collection not found", "no collection "+strconv.Quote(c.ID)+" in this API root")
		return p, false
	}
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Internal error", "")
		return p, false
	}
	if len(p.Entries) > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", stampAdded(p.Entries[0].DateAdded))
		w.Header().Set("X-TAXII-Date-Added-Last", stampAdded(p.Entries[len(p.Entries)-1].DateAdded))
	}
	return p, true
}

// envelope writes a page as an envelope (section 3.7).
func (s *Server) envelope(w http.ResponseWriter, p intel.Page) {
	env := map[string]any{"more": p.More}
	if p.More {
		env["next"] = p.Next
	}
	if len(p.Entries) > 0 {
		objs := make([]*stix.Object, len(p.Entries))
		for i, e := range p.Entries {
			objs[i] = e.Object
		}
		env["objects"] = objs
	}
	s.write(w, http.StatusOK, env)
}

// objects is GET …/objects/ (section 5.4): an envelope of one page, in
// the order objects were added, with the first and last date added in
// headers so a client can resume with added_after.
func (s *Server) objects(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.page(w, r, nil); ok {
		s.envelope(w, p)
	}
}

// object is GET …/objects/{object_id}/ (section 5.6): the object's
// versions in the collection (the last by default), 404 when it holds none.
func (s *Server) object(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r, func(q *intel.Query) {
		if !slices.Equal(q.IDs, noMatch) {
			q.IDs = []string{r.PathValue("object")}
		}
	})
	if !ok {
		return
	}
	if len(p.Entries) == 0 && r.URL.Query().Get("next") == "" {
		s.fail(w, http.StatusNotFound, "Object not found", "no object "+strconv.Quote(r.PathValue("object"))+" in this collection")
		return
	}
	s.envelope(w, p)
}

// versions is GET …/objects/{object_id}/versions/ (section 5.8): every
// version of the object the collection holds, in the order they were
// added to it (the specification takes no match[version] here).
func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r, func(q *intel.Query) {
		// match[spec_version] other than 2.1 matches nothing (query);
		// match[version] is not a filter of this endpoint.
		if !slices.Equal(q.IDs, noMatch) {
			q.IDs = []string{r.PathValue("object")}
		}
		q.Versions = []string{"all"}
	})
	if !ok {
		return
	}
	if len(p.Entries) == 0 && r.URL.Query().Get("next") == "" {
		s.fail(w, http.StatusNotFound, "Object not found", "no object "+strconv.Quote(r.PathValue("object"))+" in this collection")
		return
	}
	vs := make([]string, len(p.Entries))
	for i, e := range p.Entries {
		vs[i] = versionOf(e)
	}
	out := map[string]any{"more": p.More, "versions": vs}
	if p.More {
		out["next"] = p.Next
	}
	s.write(w, http.StatusOK, out)
}

// manifest is GET …/manifest/ (section 5.3): what objects reads, as
// manifest records.
func (s *Server) manifest(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r, nil)
	if !ok {
		return
	}
	out := map[string]any{"more": p.More}
	if p.More {
		out["next"] = p.Next
	}
	if len(p.Entries) > 0 {
		recs := make([]map[string]any, len(p.Entries))
		for i, e := range p.Entries {
			recs[i] = map[string]any{"id": e.Object.ID, "date_added": stampAdded(e.DateAdded), "version": versionOf(e), "media_type": MediaSTIX}
		}
		out["objects"] = recs
	}
	s.write(w, http.StatusOK, out)
}

// versionOf is an entry's version as TAXII names it: modified, created
// for an object without it, the date added for an SCO, which has neither.
func versionOf(e intel.Entry) string {
	if v := e.Object.Version(); !v.IsZero() {
		return stix.FormatVersion(v)
	}
	return stampAdded(e.DateAdded)
}

// stampAdded writes a date added with all its precision: a client passes
// it back as added_after, and a rounded value would repeat or skip objects.
func stampAdded(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// query reads the URL parameters of section 3.4 that this server serves.
func (s *Server) query(r *http.Request) (intel.Query, string) {
	v := r.URL.Query()
	q := intel.Query{Limit: s.o.MaxPage, Next: v.Get("next")}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			return q, "limit must be a positive whole number"
		}
		q.Limit = min(n, s.o.MaxPage)
	}
	if aa := v.Get("added_after"); aa != "" {
		t, err := stix.ParseTimestamp(aa)
		if err != nil {
			return q, "added_after: " + err.Error()
		}
		q.AddedAfter = t
	}
	split := func(name string) []string {
		var out []string
		for _, s := range v[name] {
			for _, x := range strings.Split(s, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
		}
		return out
	}
	q.IDs, q.Types, q.Versions = split("match[id]"), split("match[type]"), split("match[version]")
	if svs := split("match[spec_version]"); len(svs) > 0 && !slices.Contains(svs, "2.1") {
		// Vigil stores STIX 2.1 only: no object matches another version.
		q.IDs = noMatch
	}
	return q, ""
}

// noMatch is an id no object has: match[spec_version] without 2.1.
var noMatch = []string{"none--00000000-0000-4000-8000-000000000000"}
