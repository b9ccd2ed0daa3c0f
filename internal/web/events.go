package web

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
)

// Event search (issue 16): the analysts' query language over the events
// the caller may read, with a histogram over the time range (server-drawn
// SVG, no script), the fields of the newest matches with their commonest
// values (each a link that narrows the query), the matching events newest
// first a page at a time, and each event's page with its raw text beside
// its parsed fields. Every rule — the query, the time range, the scope —
// is the events package's; this file reads the form and draws.

type eventsData struct {
	Form      *form
	Searched  bool
	Count     int64
	Events    []events.Event
	Next      string
	Histogram template.HTML
	// HistogramCaption says what the histogram spans, in words.
	HistogramCaption string
	Fields           []events.FieldSummary
	// Query is the search's own query string, for the next page's link.
	Query string
	Range string
	// Saved are the caller's saved searches; SaveOn offers saving this
	// one (SaveForm holds a refused save's name and error); Message says
	// what was just done.
	Saved    []events.SavedSearch
	SaveOn   bool
	SaveForm *form
	Message  string
}

// eventData is one event's page: the event and its fields in name order,
// each with the search that finds events sharing its value.
type eventData struct {
	E      events.Event
	Fields []eventField
}

type eventField struct{ Name, Value, Narrow string }

// eventsPageSize is how many events a page lists.
const eventsPageSize = 50

func (w *Web) eventsSearch(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	msg := ""
	if r.URL.Query().Get("done") == "saved" {
		msg = "Search saved."
	}
	w.renderEvents(rw, r, sc, r.URL.Query(), http.StatusOK, nil, msg)
}

// renderEvents draws the Events page for the search v; save is a refused
// save of it (nil when none).
func (w *Web) renderEvents(rw http.ResponseWriter, r *http.Request, sc scope.Scope, v url.Values, status int, save *form, msg string) {
	f := &form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"q", "since", "from", "to", "org"} {
		f.Values[k] = strings.TrimSpace(v.Get(k))
	}
	d := eventsData{Form: f, SaveForm: save, Message: msg}
	if w.o.EventSearches != nil && sc.UserID != "" {
		saved, err := w.o.EventSearches.List(r.Context(), sc)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Saved, d.SaveOn = saved, true
	}
	now := w.o.Now()
	since, until, err := events.Window(f.V("since"), f.V("from"), f.V("to"), now)
	q := events.Query{Text: f.V("q"), Since: since, Until: until, Org: strings.ToUpper(f.V("org")), Limit: eventsPageSize, Cursor: v.Get("cursor")}
	if err == nil {
		err = w.searchEvents(r, sc, q, &d)
	}
	if err != nil {
		var inv *fault.Invalid
		if !errors.As(err, &inv) {
			w.fail(rw, r, sc, err)
			return
		}
		field := inv.Field
		if field == "query" || field == "" {
			field = "q"
		}
		f.fieldError(&fault.Invalid{Field: field, Reason: inv.Reason}, "q", "since", "from", "to", "org", "cursor")
		d.Searched, d.Events, d.Histogram, d.Fields = false, nil, "", nil
		if status == http.StatusOK {
			status = http.StatusBadRequest
		}
	}
	keep := url.Values{}
	for _, k := range []string{"q", "since", "from", "to", "org"} {
		if f.V(k) != "" {
			keep.Set(k, f.V(k))
		}
	}
	d.Query = keep.Encode()
	d.Range = rangeWords(f.V("from") != "" || f.V("to") != "", since, until, now, w.loc())
	sort.SliceStable(d.Fields, func(i, j int) bool { return d.Fields[i].Count > d.Fields[j].Count })
	if len(d.Fields) > 25 {
		d.Fields = d.Fields[:25]
	}
	p := w.page(r, sc, "Events", "events")
	p.D = d
	w.render(rw, r, status, "events", p)
}

// eventsSaveSearch saves the page's search (query, time range,
// organisation) under a name of the caller's; a refusal redraws the page
// with the reason beside the name.
func (w *Web) eventsSaveSearch(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	f := newForm(r, "name", "q", "since", "from", "to", "org")
	s, err := w.o.EventSearches.Save(r.Context(), sc, events.SavedSearch{Name: f.V("name"), Query: f.V("q"), Since: f.V("since"),
		From: f.V("from"), To: f.V("to"), Org: f.V("org")})
	back := url.Values{}
	for _, k := range []string{"q", "since", "from", "to", "org"} {
		if f.V(k) != "" {
			back.Set(k, f.V(k))
		}
	}
	if err != nil {
		var inv *fault.Invalid
		if !errors.As(err, &inv) {
			w.fail(rw, r, sc, err)
			return
		}
		reason := sentence(inv.Reason)
		if inv.Field != "name" && inv.Field != "" {
			reason = sentence(inv.Field) + ": " + inv.Reason
		}
		f.Set("name", reason)
		w.renderEvents(rw, r, sc, back, http.StatusUnprocessableEntity, f, "")
		return
	}
	v := s.Values()
	v.Set("done", "saved")
	http.Redirect(rw, r, "/events?"+v.Encode(), http.StatusSeeOther)
}

func (w *Web) eventsDeleteSearch(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if err := w.o.EventSearches.Delete(r.Context(), sc, r.PathValue("id")); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/events", http.StatusSeeOther)
}

// searchEvents fills d with one page of the search q, its count,
// histogram and fields.
func (w *Web) searchEvents(r *http.Request, sc scope.Scope, q events.Query, d *eventsData) error {
	ctx := r.Context()
	p, err := w.o.Events.Search(ctx, sc, q)
	if err != nil {
		return err
	}
	d.Searched, d.Events, d.Next = true, p.Events, p.Next
	if d.Count, err = w.o.Events.Count(ctx, sc, q); err != nil {
		return err
	}
	hq, bars := events.HistogramRange(q, w.o.Now(), 48)
	bs, err := w.o.Events.Histogram(ctx, sc, hq, bars)
	if err != nil {
		return err
	}
	d.Histogram, d.HistogramCaption = histogramSVG(bs, w.loc()), histogramCaption(bs, w.loc())
	d.Fields, err = w.o.Events.Fields(ctx, sc, q)
	return err
}

func (w *Web) eventPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ev, err := w.o.Events.Get(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	names := make([]string, 0, len(ev.Fields))
	for k := range ev.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	d := eventData{E: ev, Fields: make([]eventField, 0, len(names))}
	for _, k := range names {
		val := events.FieldText(ev.Fields[k])
		d.Fields = append(d.Fields, eventField{k, val, url.Values{"q": {narrowTerm(k, val)}, "since": {"7d"}}.Encode()})
	}
	p := w.page(r, sc, "Event", "events")
	p.D = d
	w.render(rw, r, http.StatusOK, "event", p)
}

func (w *Web) loc() *time.Location { return w.o.Location }

// narrowTerm is the query condition for field equal to value, quoted in
// the query language's way.
func narrowTerm(field, value string) string {
	return field + "=" + strconv.Quote(value)
}

// rangeWords says the time range as it ends a sentence: "in the last 24
// hours", "since 1 Jan 2020 00:00", "from … to …".
func rangeWords(fromTo bool, since, until, now time.Time, loc *time.Location) string {
	const layout = "2 Jan 2006 15:04"
	switch {
	case fromTo && until.IsZero() && !since.IsZero():
		return "since " + since.In(loc).Format(layout)
	case since.IsZero() && until.IsZero():
		return "at any time"
	case since.IsZero():
		return "until " + until.In(loc).Format(layout)
	case !until.IsZero():
		return "from " + since.In(loc).Format(layout) + " to " + until.In(loc).Format(layout)
	}
	d := now.Sub(since).Round(time.Minute)
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("in the last %d days", int(d.Hours())/24)
	case d == time.Hour:
		return "in the last hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("in the last %d hours", int(d.Hours()))
	case d < time.Hour:
		return fmt.Sprintf("in the last %d minutes", int(d.Minutes()))
	}
	return "since " + since.In(loc).Format(layout)
}

// histogramSVG draws the buckets as columns with the first, middle and
// last times beneath; every text is escaped.
func histogramSVG(bs []events.Bucket, loc *time.Location) template.HTML {
	if len(bs) == 0 {
		return ""
	}
	var max int64
	for _, b := range bs {
		max = max64(max, b.Count)
	}
	const width, height, top, bottom = 720.0, 140.0, 14.0, 22.0
	colW := width / float64(len(bs))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="event-histogram" role="img" aria-label="Matching events over time, %d buckets, at most %d in one" viewBox="0 0 %.0f %.0f" width="100%%" xmlns="http://www.w3.org/2000/svg">`,
		len(bs), max, width, height)
	plot := height - top - bottom
	for i, b := range bs {
		if b.Count == 0 || max == 0 {
			continue
		}
		h := plot * float64(b.Count) / float64(max)
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#005eb8"><title>%s: %d</title></rect>`,
			float64(i)*colW+1, top+plot-h, colW-2, h, html.EscapeString(b.Start.In(loc).Format("2 Jan 15:04")), b.Count)
	}
	fmt.Fprintf(&s, `<line x1="0" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#768692"/>`, top+plot, width, top+plot)
	fmt.Fprintf(&s, `<text x="0" y="10" font-size="11" fill="#4c6272">%d</text>`, max)
	for _, i := range []int{0, len(bs) / 2, len(bs) - 1} {
		anchor := "middle"
		x := float64(i)*colW + colW/2
		if i == 0 {
			anchor, x = "start", 0
		} else if i == len(bs)-1 {
			anchor, x = "end", width
		}
		fmt.Fprintf(&s, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="%s" fill="#4c6272">%s</text>`, x, height-6, anchor, html.EscapeString(bs[i].Start.In(loc).Format("2 Jan 15:04")))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every text escaped above
}

// eventFuncs are the event pages' template functions.
func eventFuncs() template.FuncMap {
	return template.FuncMap{
		// narrowQuery is query with field=value added to its q.
		"narrowQuery": func(query, field, value string) string {
			v, _ := url.ParseQuery(query)
			term := narrowTerm(field, value)
			if q := strings.TrimSpace(v.Get("q")); q != "" {
				term = "(" + q + ") AND " + term
			}
			v.Set("q", term)
			return v.Encode()
		},
		"clipText": func(s string, n int) string {
			if r := []rune(s); len(r) > n {
				return string(r[:n-1]) + "…"
			}
			return s
		},
		"logSource":    logSource,
		"eventSummary": eventSummary,
	}
}

// logSource is an event's Sigma log source in words: "windows /
// process_creation", "linux / sshd"; "" when unknown.
func logSource(ev events.Event) string {
	var parts []string
	for _, p := range []string{ev.Product, ev.Category} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if ev.Category == "" && ev.Service != "" {
		parts = append(parts, ev.Service)
	}
	return strings.Join(parts, " / ")
}

// summaryFields are shown, in this order, as an event's one-line summary
// when it has them; otherwise its message or raw text.
var summaryFields = []string{"CommandLine", "Image", "TargetFilename", "QueryName", "DestinationIp", "TargetUserName", "message", "msg"}

// eventSummary is one line saying what the event is, at most 200
// characters: its EventID and its most telling field, or its message.
func eventSummary(ev events.Event) string {
	var b strings.Builder
	if id, ok := ev.Fields["EventID"]; ok {
		b.WriteString(events.FieldText(id))
		b.WriteString(" · ")
	}
	text := ""
	for _, k := range summaryFields {
		if v, ok := ev.Fields[k]; ok {
			if s := events.FieldText(v); s != "" {
				text = k + ": " + s
				break
			}
		}
	}
	if text == "" {
		text = ev.Raw
	}
	b.WriteString(strings.Join(strings.Fields(text), " "))
	s := b.String()
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

// histogramCaption: "48 bars from 5 Dec 14:00 to 6 Dec 14:00, each 30
// minutes; the tallest 120 events".
func histogramCaption(bs []events.Bucket, loc *time.Location) string {
	if len(bs) < 2 {
		return ""
	}
	var most int64
	for _, b := range bs {
		most = max64(most, b.Count)
	}
	width := bs[1].Start.Sub(bs[0].Start)
	const layout = "2 Jan 2006 15:04"
	return fmt.Sprintf("%d bars from %s to %s, each %s; the tallest %s.", len(bs), bs[0].Start.In(loc).Format(layout),
		bs[len(bs)-1].Start.Add(width).In(loc).Format(layout), spanWords(width), plural(most, "event", "events"))
}

// spanWords is a bucket's width in words: "30 minutes", "2 hours", "6 days".
func spanWords(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return plural(int64(d.Round(time.Hour).Hours())/24, "day", "days")
	case d >= 2*time.Hour:
		return plural(int64(d.Round(time.Minute).Hours()), "hour", "hours")
	case d >= 2*time.Minute:
		return plural(int64(d.Round(time.Second).Minutes()), "minute", "minutes")
	}
	return plural(int64(d.Round(time.Second).Seconds()), "second", "seconds")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return phrase.Int(n) + " " + many
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
