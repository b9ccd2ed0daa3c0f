package web

import (
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

var intelPageNames = []string{"intel", "intel_object", "intel_feeds", "intel_allowlist", "intel_submissions"}

func (w *Web) registerIntel(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/intel/objects/{id}", authd, "One intelligence object: properties, TLP, sources, sightings and relationships", w.intelObject)
	h("GET", "/intel/feeds", authd, "The intelligence feeds into collections you read, their status and decay models", w.intelFeeds)
	h("POST", "/intel/feeds/{id}/edit", authd, "Change a feed into a collection you write: name, URL, remote collection, credentials, collection, interval, page size, enabled", w.intelFeedEdit)
	h("POST", "/intel/feeds/{id}/remove", authd, "Remove a feed into a collection you write (what it pulled stays)", w.intelFeedRemove)
	h("GET", "/intel/allowlist", authd, "Values that never match an indicator, and (national analysts) taking them off", w.intelAllowlist)
	h("POST", "/intel/allowlist/remove", authd, "Take a value off the allowlist (national analysts and administrators)", w.intelUnallow)
	h("POST", "/intel/objects/{id}/share", authd, "Name one more recipient of a TLP:RED or AMBER+STRICT object you are a recipient of", w.intelShare)
	h("POST", "/intel/objects/{id}/links", authd, "Link an object you read to an ATT&CK technique or a Sigma rule (a relationship in a collection you write)", w.intelLink)
	h("POST", "/intel/objects/{id}/edit", authd, "Edit an indicator's confidence, valid_until or labels: a new version in the collections you write", w.intelEdit)
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
	// Verdicts are the analysts' and trusts' verdicts on an indicator,
	// from the organisations the reader reads.
	Verdicts []intel.Verdict
	Graph    []graphNode
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
		// The sightings and verdicts the reader may see are those that
		// set the score here.
		ev, vs, err := w.o.Intel.EvidenceFor(r.Context(), sc, v.Object.ID)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		st, err := match.StatusOf(r.Context(), w.o.Intel, v.Object, v.Source, ev, time.Now())
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Verdicts = vs
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
	if !f.Refused(err, "form") {
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

// intelFeedsData is the feeds page: each feed, with its edit and remove
// forms when the reader may write its collection.
type intelFeedsData struct {
	Feeds []intelFeedRow
	// Writable are the collections a feed may be moved to.
	Writable    []intel.Collection
	Done, Error string
	Decay       intel.DecayConfig
	Kinds       []string
}

type intelFeedRow struct {
	intel.Feed
	CanWrite bool
	// Interval is IntervalSeconds as a duration for the form ("1h0m0s").
	Interval string
}

var intelFeedsDone = map[string]string{
	"edited":  "Done: the feed is changed, and the change is in the audit log.",
	"removed": "Done: the feed is removed; what it pulled stays in its collection.",
}

func (w *Web) intelFeeds(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	fs, err := w.o.Intel.Feeds(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	cs, err := w.o.Intel.Collections(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	dc, err := w.o.Intel.DecayView(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	q := r.URL.Query()
	d := intelFeedsData{Feeds: []intelFeedRow{}, Done: intelFeedsDone[q.Get("done")], Error: q.Get("error"), Decay: dc, Kinds: intel.DecayKinds()}
	writable := map[string]bool{}
	for _, c := range cs {
		if c.CanWrite {
			writable[c.ID] = true
			d.Writable = append(d.Writable, c)
		}
	}
	for _, f := range fs {
		d.Feeds = append(d.Feeds, intelFeedRow{Feed: f, CanWrite: writable[f.Collection], Interval: (time.Duration(f.IntervalSeconds) * time.Second).String()})
	}
	v := w.page(r, sc, "Intelligence feeds", "intel")
	v.D = d
	w.render(rw, r, http.StatusOK, "intel_feeds", v)
}

// intelFeedEdit changes the fields the form sends (a form may send a
// few); an empty password or token keeps the one stored.
func (w *Web) intelFeedEdit(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, &fault.Invalid{Field: "form", Reason: "unreadable"})
		return
	}
	field := func(k string) *string {
		if _, ok := r.PostForm[k]; !ok {
			return nil
		}
		v := r.PostForm.Get(k)
		return &v
	}
	e := intel.FeedEdit{Name: field("name"), URL: field("url"), RemoteCollection: field("remote_collection"), AuthKind: field("auth"),
		AuthUser: field("auth_user"), AuthSecret: field("auth_secret"), Collection: field("collection")}
	var err error
	if v := field("interval"); v != nil {
		d, perr := time.ParseDuration(strings.TrimSpace(*v))
		if perr != nil {
			err = &fault.Invalid{Field: "interval", Reason: "want a duration such as 30m, 6h or 24h"}
		}
		e.Interval = &d
	}
	if v := field("page_size"); v != nil && err == nil {
		n, perr := strconv.Atoi(strings.TrimSpace(*v))
		if perr != nil {
			err = &fault.Invalid{Field: "page_size", Reason: "want a number from 1 to 1,000 (0 for 1,000)"}
		}
		e.PageSize = &n
	}
	if v := field("enabled"); v != nil {
		on := *v == "yes"
		e.Enabled = &on
	}
	if err == nil {
		_, err = w.o.Intel.EditFeed(r.Context(), sc, r.PathValue("id"), e)
	}
	w.feedsBack(rw, r, sc, "edited", err)
}

func (w *Web) intelFeedRemove(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	w.feedsBack(rw, r, sc, "removed", w.o.Intel.RemoveFeed(r.Context(), sc, r.PathValue("id")))
}

// feedsBack sends the browser back to the feeds page, with what was done
// or the problem with the form; a feed the caller may not see or change
// is the error page.
func (w *Web) feedsBack(rw http.ResponseWriter, r *http.Request, sc scope.Scope, done string, err error) {
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		http.Redirect(rw, r, "/intel/feeds?error="+url.QueryEscape(msg)+"#feed-"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/intel/feeds?done="+done, http.StatusSeeOther)
}

type intelAllowlistData struct {
	Entries []intel.AllowEntry
	// CanChange: a national analyst or administrator.
	CanChange bool
}

func (w *Web) intelAllowlist(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	al, err := w.o.Intel.Allowlist(r.Context())
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Intelligence allowlist", "intel")
	v.D = intelAllowlistData{Entries: al, CanChange: sc.National(scope.Write)}
	w.render(rw, r, http.StatusOK, "intel_allowlist", v)
}

func (w *Web) intelUnallow(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f := newForm(r, "value", "reason")
	if _, err := w.o.Intel.Unallow(r.Context(), sc, []string{f.V("value")}, f.V("reason")); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/intel/allowlist", http.StatusSeeOther)
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
