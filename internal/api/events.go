package api

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// Count answers GET /events/count.
type Count struct {
	Count int64 `json:"count"`
}

// registerEvents adds protective monitoring's search (issue 16): every
// answer holds only events of organisations the caller may read.
func (a *API) registerEvents(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"Event":        reflect.TypeFor[events.Event](),
		"EventPage":    reflect.TypeFor[Page[events.Event]](),
		"EventCount":   reflect.TypeFor[Count](),
		"Histogram":    reflect.TypeFor[List[events.Bucket]](),
		"FieldSummary": reflect.TypeFor[List[events.FieldSummary]](),
	} {
		a.AddSchema(name, t)
	}
	window := []param{
		{Name: "q", In: "query", Type: "string", Desc: "a query in the analysts' query language (docs/events-query.md); empty for every event"},
		{Name: "since", In: "query", Type: "string", Desc: "how far back: 15m, 24h, 7d (default 24h)"},
		{Name: "from", In: "query", Type: "string", Desc: "start, RFC 3339 or a date (instead of since)"},
		{Name: "to", In: "query", Type: "string", Desc: "end, RFC 3339 or a date (default now)"},
		{Name: "org", In: "query", Type: "string", Desc: "only this organisation's events (ODS code)"},
	}
	a.route(rt, spec{Method: "GET", Path: "/events", Tag: "events", Summary: "Search events, newest first",
		Params: append(window, pageParams...), Response: "EventPage"}, a.searchEvents)
	a.route(rt, spec{Method: "GET", Path: "/events/count", Tag: "events", Summary: "How many events match",
		Params: window, Response: "EventCount"}, func(r *http.Request, sc scope.Scope) (any, error) {
		q, err := eventQuery(r)
		if err != nil {
			return nil, err
		}
		n, err := a.o.Events.Count(r.Context(), sc, q)
		return Count{n}, err
	})
	a.route(rt, spec{Method: "GET", Path: "/events/histogram", Tag: "events", Summary: "Matching events counted in equal buckets over the time range",
		Params: append(window, param{Name: "buckets", In: "query", Type: "integer", Desc: "how many (1–500, default 60)"}), Response: "Histogram"},
		func(r *http.Request, sc scope.Scope) (any, error) {
			q, err := eventQuery(r)
			if err != nil {
				return nil, err
			}
			n := 60
			if s := r.URL.Query().Get("buckets"); s != "" {
				if n, err = strconv.Atoi(s); err != nil || n < 1 || n > 500 {
					return nil, &fault.Invalid{Field: "buckets", Reason: "want a number from 1 to 500"}
				}
			}
			return list(a.o.Events.Histogram(r.Context(), sc, q, n))
		})
	a.route(rt, spec{Method: "GET", Path: "/events/fields", Tag: "events", Summary: "The fields of the newest matching events, with their commonest values",
		Params: window, Response: "FieldSummary"}, func(r *http.Request, sc scope.Scope) (any, error) {
		q, err := eventQuery(r)
		if err != nil {
			return nil, err
		}
		return list(a.o.Events.Fields(r.Context(), sc, q))
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/events/export", Tag: "events",
		Summary: "Download the matching events, newest first, as NDJSON (one event a line) or CSV; every export is recorded in the audit log",
		Params: append(window, param{Name: "format", In: "query", Type: "string", Desc: "ndjson (default) or csv"},
			param{Name: "limit", In: "query", Type: "integer", Desc: "at most this many events (default and most 1,000,000)"}), Binary: true}, a.exportEvents)
	if a.o.EventSearches != nil {
		a.registerEventSearches(rt)
	}
	a.route(rt, spec{Method: "GET", Path: "/events/{id}", Tag: "events", Summary: "One event, raw and parsed",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "Event"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.Events.Get(r.Context(), sc, r.PathValue("id"))
	})
}

// NewEventSearch is a search to save: the query with its time range.
type NewEventSearch struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	Since string `json:"since,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Org   string `json:"org,omitempty"`
}

// registerEventSearches adds the caller's saved event searches: theirs
// alone (another person's is 404), checked and audited by events and
// savedview.
func (a *API) registerEventSearches(rt *httpd.Router) {
	a.AddSchema("SavedEventSearch", reflect.TypeFor[events.SavedSearch]())
	a.AddSchema("SavedEventSearchList", reflect.TypeFor[List[events.SavedSearch]]())
	a.AddSchema("NewEventSearch", reflect.TypeFor[NewEventSearch]())
	a.route(rt, spec{Method: "GET", Path: "/events/searches", Tag: "events", Summary: "Your saved event searches, by name (run one with GET /events and its query, since, from, to and org)",
		Response: "SavedEventSearchList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.EventSearches.List(r.Context(), sc))
	})
	a.route(rt, spec{Method: "POST", Path: "/events/searches", Tag: "events",
		Summary: "Save an event search under a name of yours (the query must compile; saving under a name you have replaces that search; at most 50)",
		Body:    "NewEventSearch", Response: "SavedEventSearch", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in NewEventSearch
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		s, err := a.o.EventSearches.Save(r.Context(), sc, events.SavedSearch{Name: in.Name, Query: in.Query, Since: in.Since, From: in.From, To: in.To, Org: in.Org})
		if err != nil {
			return nil, err
		}
		return created{s}, nil
	})
	a.route(rt, spec{Method: "DELETE", Path: "/events/searches/{id}", Tag: "events", Summary: "Delete one of your saved event searches",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Status: 204}, func(r *http.Request, sc scope.Scope) (any, error) {
		return nil, a.o.EventSearches.Delete(r.Context(), sc, r.PathValue("id"))
	})
}

// eventQuery reads the query, the time range (events.Window) and the
// organisation of an events request.
func eventQuery(r *http.Request) (events.Query, error) {
	v := r.URL.Query()
	since, until, err := events.Window(v.Get("since"), v.Get("from"), v.Get("to"), time.Now())
	if err != nil {
		return events.Query{}, err
	}
	return events.Query{Text: v.Get("q"), Since: since, Until: until, Org: strings.ToUpper(strings.TrimSpace(v.Get("org"))), Cursor: v.Get("cursor")}, nil
}

func (a *API) exportEvents(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	q, err := eventQuery(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = events.FormatNDJSON
	}
	if err := events.CheckExportFormat(format); err != nil {
		return err
	}
	limit, err := limitParam(r, events.MaxExport, events.MaxExport)
	if err != nil {
		return err
	}
	// The query is checked before anything is written, so a mistake is a
	// problem document rather than a broken download.
	if _, err := a.o.Events.Count(r.Context(), sc, events.Query{Text: q.Text, Since: q.Since, Until: q.Until, Org: q.Org}); err != nil {
		return err
	}
	h := w.Header()
	ctype := "application/x-ndjson"
	if format == events.FormatCSV {
		ctype = "text/csv; charset=utf-8"
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="vigil-events.`+format+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := events.Export(r.Context(), a.o.Events, a.o.Audit, sc, q, format, limit, w); err != nil {
		// The status is sent: the download ends short, and the log says why.
		a.o.Logger.Warn("events export cut short", "err", err)
	}
	return nil
}

func (a *API) searchEvents(r *http.Request, sc scope.Scope) (any, error) {
	q, err := eventQuery(r)
	if err != nil {
		return nil, err
	}
	if q.Limit, err = limitParam(r, events.DefaultLimit, 1000); err != nil {
		return nil, err
	}
	p, err := a.o.Events.Search(r.Context(), sc, q)
	if err != nil {
		return nil, err
	}
	return page(p.Events, p.Next), nil
}
