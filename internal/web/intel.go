package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
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

var intelPageNames = []string{"intel", "intel_object", "intel_feeds", "intel_submissions"}

func (w *Web) registerIntel(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/intel/objects/{id}", authd, "One intelligence object: properties, TLP, sources, sightings and relationships", w.intelObject)
	h("GET", "/intel/feeds", authd, "The intelligence feeds into collections you read, and their status", w.intelFeeds)
	h("GET", "/intel/submissions", authd, "Submissions to moderated collections: pending ones to approve or reject, and your organisation's", w.intelSubmissions)
	h("POST", "/intel/submissions/{id}/approve", authd, "Approve a pending submission (national analysts who write its collection)", w.intelDecide)
	h("POST", "/intel/submissions/{id}/reject", authd, "Reject a pending submission with a reason (national analysts who write its collection)", w.intelDecide)
}

type intelSubmissionsData struct {
	State   string
	States  []string
	List    []intel.Submission
	Message string
	Error   string
}

var intelDecided = map[string]string{"approved": "Approved: it goes to every reader of its collection.", "rejected": "Rejected: it has left its collection."}

func (w *Web) intelSubmissions(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d := intelSubmissionsData{State: r.URL.Query().Get("state"), States: []string{intel.Pending, intel.Approved, intel.Rejected, "all"},
		Message: intelDecided[r.URL.Query().Get("done")], Error: r.URL.Query().Get("error")}
	if d.State == "" {
		d.State = intel.Pending
	}
	var err error
	if d.List, err = w.o.Intel.Submissions(r.Context(), sc, intel.SubmissionQuery{State: d.State}); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Intelligence submissions", "intel")
	v.D = d
	w.render(rw, r, http.StatusOK, "intel_submissions", v)
}

// intelDecide approves or rejects a submission (the path says which).
func (w *Web) intelDecide(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
		return
	}
	var err error
	done := intel.Approved
	if strings.HasSuffix(r.URL.Path, "/reject") {
		done = intel.Rejected
		_, err = w.o.Intel.RejectSubmission(r.Context(), sc, r.PathValue("id"), r.PostForm.Get("reason"))
	} else {
		_, err = w.o.Intel.ApproveSubmission(r.Context(), sc, r.PathValue("id"))
	}
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			http.Redirect(rw, r, "/intel/submissions?error="+url.QueryEscape(msg), http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/intel/submissions?done="+done, http.StatusSeeOther)
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
	v, err := w.o.Intel.ObjectView(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := intelObjectData{V: v, GraphW: 640, GraphH: 420, CX: 320, CY: 210}
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
	w.render(rw, r, http.StatusOK, "intel_object", p)
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
