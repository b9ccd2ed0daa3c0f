package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/match"
	"github.com/vigil-health/vigil/internal/scope"
)

// The intelligence pages (issue 19 item 9): search the objects of the
// collections you read, an object's page (properties, TLP, sources,
// sightings, relationships as a list and a small SVG graph drawn on the
// server — no script), and the feeds' status. Every read is
// intel.Store's, through ReadCollection: a page shows exactly what
// TAXII, the API and the MISP feed give the same reader.

var intelPageNames = []string{"intel", "intel_object", "intel_feeds"}

func (w *Web) registerIntel(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/intel/objects/{id}", authd, "One intelligence object: properties, TLP, sources, sightings and relationships", w.intelObject)
	h("GET", "/intel/feeds", authd, "The intelligence feeds into collections you read, and their status", w.intelFeeds)
	h("POST", "/intel/objects/{id}/share", authd, "Name one more recipient of a TLP:RED or AMBER+STRICT object you are a recipient of", w.intelShare)
	h("POST", "/intel/objects/{id}/links", authd, "Link an object you read to an ATT&CK technique or a Sigma rule (a relationship in a collection you write)", w.intelLink)
	h("POST", "/intel/objects/{id}/edit", authd, "Edit an indicator's confidence, valid_until or labels: a new version in the collections you write", w.intelEdit)
}

// intelSearchRows caps a search's answer.
const intelSearchRows = 200

type intelSearchData struct {
	Q, Type string
	Types   []string
	Found   []intel.Summary
	More    bool
	Colls   []intel.Collection
}

func (w *Web) intelSearch(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d := intelSearchData{Q: r.URL.Query().Get("q"), Type: r.URL.Query().Get("type"),
		Types: []string{"indicator", "malware", "intrusion-set", "threat-actor", "attack-pattern", "tool", "campaign", "report", "vulnerability",
			"identity", "sighting", "relationship", "domain-name", "ipv4-addr", "ipv6-addr", "url", "file", "email-addr"}}
	found, err := w.o.Intel.Search(r.Context(), sc, d.Q, d.Type, intelSearchRows+1)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if len(found) > intelSearchRows {
		d.More, found = true, found[:intelSearchRows]
	}
	d.Found = found
	if d.Colls, err = w.o.Intel.Collections(r.Context(), sc); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Intelligence", "intel")
	v.D = d
	w.render(rw, r, http.StatusOK, "intel", v)
}

// graphNode is one node of an object's relationship graph.
type graphNode struct {
	X, Y       float64
	LX, LY     float64 // where its label goes
	Anchor     string  // text-anchor of the label
	Label, Rel string
	Href, Type string
	Out        bool
}

type intelObjectData struct {
	V intel.ObjectView
	// Match is, for an indicator, whether the IOC matcher loads it and
	// its decayed score.
	Match *match.Status
	Graph []graphNode
	// GraphW and GraphH are the SVG's size; CX, CY its centre.
	GraphW, GraphH, CX, CY float64
	// Form is the share, link and edit forms' values and errors.
	Form *form
	// Writes are the reader's collections holding the object that they
	// may write: the link and edit forms are shown when there is one.
	Writes []intel.Collection
	// Shareable is a TLP:RED or AMBER+STRICT object (it has recipients).
	Shareable, Linkable bool
}

// intelGraphNodes caps the graph (the list below it has every relationship).
const intelGraphNodes = 24

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (w *Web) intelObject(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderIntelObject(rw, r, sc, http.StatusOK, r.PathValue("id"), nil)
}

// intelEditValues are the edit form's fields as the indicator has them.
func intelEditValues(v intel.ObjectView) map[string]string {
	m := map[string]string{"kind": "org"}
	var conf int
	if ok, err := v.Object.Get("confidence", &conf); ok && err == nil {
		m["confidence"] = fmt.Sprint(conf)
	}
	var until string
	if ok, err := v.Object.Get("valid_until", &until); ok && err == nil {
		if t, err := time.Parse(time.RFC3339Nano, until); err == nil {
			m["valid_until"] = t.UTC().Format("2006-01-02")
		}
	}
	var labels []string
	if ok, err := v.Object.Get("labels", &labels); ok && err == nil {
		m["labels"] = strings.Join(labels, ", ")
	}
	return m
}

func (w *Web) renderIntelObject(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, id string, f *form) {
	v, err := w.o.Intel.ObjectView(r.Context(), sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if f == nil {
		f = &form{Values: intelEditValues(v), Errors: map[string]string{}}
	}
	d := intelObjectData{V: v, GraphW: 640, GraphH: 420, CX: 320, CY: 210, Form: f,
		Shareable: v.Summary.TLP == "TLP:RED" || v.Summary.TLP == "TLP:AMBER+STRICT", Linkable: intel.Linkable(v.Summary.Type) && !v.Summary.Revoked}
	for _, c := range v.Collections {
		if c.CanWrite {
			d.Writes = append(d.Writes, c)
		}
	}
	if v.Object.Type == "indicator" {
		// The sightings the reader may see are those that keep the score up here.
		var seen time.Time
		for _, x := range v.Sightings {
			if x.LastSeen.After(seen) {
				seen = x.LastSeen
			}
		}
		st, err := match.StatusOf(r.Context(), w.o.Intel, v.Object, seen, time.Now())
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Match = &st
	}
	n := min(len(v.Relations), intelGraphNodes)
	for i, rel := range v.Relations[:n] {
		a := 2*math.Pi*float64(i)/float64(n) - math.Pi/2
		x, y := d.CX+150*math.Cos(a), d.CY+150*math.Sin(a)
		anchor := "start"
		if math.Cos(a) < -0.2 {
			anchor = "end"
		} else if math.Abs(math.Cos(a)) <= 0.2 {
			anchor = "middle"
		}
		lx, ly := x+14*math.Cos(a), y+14*math.Sin(a)+4
		d.Graph = append(d.Graph, graphNode{X: round1(x), Y: round1(y), LX: round1(lx), LY: round1(ly), Anchor: anchor,
			Label: shorten(rel.Other.Name+" ("+rel.Other.Type+")", 34), Rel: rel.Type, Href: "/intel/objects/" + rel.Other.ID, Type: rel.Other.Type, Out: rel.Out})
	}
	title := v.Summary.Name
	if title == "" {
		title = v.Summary.ID
	}
	p := w.page(r, sc, shorten(title, 80), "intel")
	p.D = d
	p.Notice = intelNotices[r.URL.Query().Get("done")]
	w.render(rw, r, status, "intel_object", p)
}

// intelNotices are what the object page says after a change.
var intelNotices = map[string]string{"shared": "Shared: the recipient now reads this object.", "linked": "Linked.", "edited": "Saved as a new version."}

// intelFormError shows a refused change on the object's page (422), or
// fails the request when it is not about a field.
func (w *Web) intelFormError(rw http.ResponseWriter, r *http.Request, sc scope.Scope, id string, f *form, err error) {
	var inv *fault.Invalid
	switch {
	case errors.As(err, &inv):
		field := inv.Field
		if _, ok := f.Values[field]; !ok {
			field = "form"
		}
		f.Set(field, sentence(inv.Reason))
	case errors.Is(err, fault.ErrForbidden):
		f.Set("form", sentence(fault.Message(err)))
	default:
		w.fail(rw, r, sc, err)
		return
	}
	w.renderIntelObject(rw, r, sc, http.StatusUnprocessableEntity, id, f)
}

func intelDone(rw http.ResponseWriter, r *http.Request, id, done string) {
	http.Redirect(rw, r, "/intel/objects/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}

func (w *Web) intelShare(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	f := newForm(r, "kind", "recipient")
	if _, err := w.o.Intel.Share(r.Context(), sc, id, f.V("kind"), f.V("recipient")); err != nil {
		w.intelFormError(rw, r, sc, id, f, err)
		return
	}
	intelDone(rw, r, id, "shared")
}

func (w *Web) intelLink(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	f := newForm(r, "technique", "rule", "collection")
	if _, err := w.o.Intel.Link(r.Context(), sc, id, intel.LinkRequest{Technique: f.V("technique"), Rule: f.V("rule"), Collection: f.V("collection")}); err != nil {
		w.intelFormError(rw, r, sc, id, f, err)
		return
	}
	intelDone(rw, r, id, "linked")
}

// intelEdit saves what differs from the indicator's values: an emptied
// field removes the property.
func (w *Web) intelEdit(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	f := newForm(r, "confidence", "valid_until", "labels")
	v, err := w.o.Intel.ObjectView(r.Context(), sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	was := intelEditValues(v)
	var e intel.IndicatorEdit
	if c := f.V("confidence"); c != was["confidence"] {
		n := -1
		if c != "" {
			if n, err = strconv.Atoi(c); err != nil {
				w.intelFormError(rw, r, sc, id, f, fault.Invalidf("confidence", "want a whole number from 0 to 100"))
				return
			}
		}
		e.Confidence = &n
	}
	if u := f.V("valid_until"); u != was["valid_until"] {
		var t time.Time
		if u != "" {
			if t, err = time.Parse("2006-01-02", u); err != nil {
				w.intelFormError(rw, r, sc, id, f, fault.Invalidf("valid_until", "want a date such as 2027-01-31"))
				return
			}
		}
		e.ValidUntil = &t
	}
	if l := f.V("labels"); l != was["labels"] {
		ls := []string{}
		for _, x := range strings.Split(l, ",") {
			if x = strings.TrimSpace(x); x != "" {
				ls = append(ls, x)
			}
		}
		e.Labels = &ls
	}
	if _, err := w.o.Intel.EditIndicator(r.Context(), sc, id, e); err != nil {
		w.intelFormError(rw, r, sc, id, f, err)
		return
	}
	intelDone(rw, r, id, "edited")
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func (w *Web) intelFeeds(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	fs, err := w.o.Intel.Feeds(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Intelligence feeds", "intel")
	v.D = fs
	w.render(rw, r, http.StatusOK, "intel_feeds", v)
}

// tlpTag is the CSS class of a TLP label.
func tlpTag(tlp string) string {
	t := strings.ToLower(strings.TrimPrefix(tlp, "TLP:"))
	switch t {
	case "red":
		return "tag tag-sev-critical"
	case "amber", "amber+strict":
		return "tag tag-sev-high"
	case "green":
		return "tag tag-sev-low"
	}
	return "tag"
}

// feedState labels a feed's last pull: not pulled yet, OK, partly (some
// objects or events left out) or failed.
func feedState(f intel.Feed) [2]string {
	switch {
	case f.LastAttempt == nil:
		return [2]string{"Not pulled yet", "tag"}
	case f.LastSuccess == nil || f.LastSuccess.Before(*f.LastAttempt):
		return [2]string{"Failed", "tag tag-sev-high"}
	case f.LastError != "":
		return [2]string{"Partly", "tag tag-sev-medium"}
	}
	return [2]string{"OK", "tag tag-sev-low"}
}

func intelFuncs() map[string]any {
	return map[string]any{
		"feedState": feedState,
		"tlpTag":    tlpTag,
		"short":     shorten,
		"f1":        func(f float64) string { return fmt.Sprintf("%.1f", f) },
	}
}
