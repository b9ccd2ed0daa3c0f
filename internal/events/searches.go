package events

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Saved searches: a person's named event searches ("Failed sign-ins",
// "Mimikatz, last week"), kept by package savedview as kind "events". A
// saved search is a query in the query language with its time range
// (since, or from and to) and optionally one organisation; the query must
// compile when it is saved, so that running it later fails only if the
// data has changed, never because it was mistyped. What every saved view
// shares — owner only, at most savedview.MaxPerKind, replace by name,
// audit — is savedview's rule. Running one reads through the caller's
// scope, as every search does.

// SavedSearches is the saved-views kind of event searches. Its stored
// form is a query string, so a query of MaxQueryLen characters, each
// percent-encoded (three bytes), fits with its time range.
var SavedSearches = savedview.Kind{Name: "events", Noun: "search", Nouns: "searches", IDPrefix: "ES", Action: "event.search", ObjectType: "event_search",
	MaxQuery: 3*MaxQueryLen + 512}

// SavedSearch is one saved event search.
type SavedSearch struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Query is the search in the query language (docs/events-query.md);
	// empty matches every event in the time range.
	Query string `json:"query"`
	// Since is how far back (15m, 24h, 7d); or From and To, RFC 3339
	// times or dates. All empty: the last 24 hours.
	Since     string    `json:"since,omitempty"`
	From      string    `json:"from,omitempty"`
	To        string    `json:"to,omitempty"`
	Org       string    `json:"org,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Values is the search as the events page's and the API's query string
// holds it: q, since, from, to, org (empty ones left out).
func (s SavedSearch) Values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"q": s.Query, "since": s.Since, "from": s.From, "to": s.To, "org": s.Org} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// Search is the query to run at now, from the first page.
func (s SavedSearch) Search(now time.Time) (Query, error) {
	since, until, err := Window(s.Since, s.From, s.To, now)
	if err != nil {
		return Query{}, err
	}
	return Query{Text: s.Query, Since: since, Until: until, Org: s.Org}, nil
}

// CheckQuery returns why text is not a query every event store can run
// (a fault.Invalid naming the field "query" and the position), or nil.
func CheckQuery(text string) error {
	n, err := Parse(text)
	if err != nil {
		return err
	}
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		if _, _, err := compileWhere(d, n); err != nil {
			return &fault.Invalid{Field: "query", Reason: err.Error()}
		}
	}
	return nil
}

// Searches keeps people's saved event searches.
type Searches struct {
	views *savedview.Service
	now   func() time.Time
}

// NewSearches returns saved event searches kept by views; now is the
// clock a time range is checked against (default time.Now).
func NewSearches(views *savedview.Service, now func() time.Time) (*Searches, error) {
	if views == nil {
		return nil, errors.New("events: NewSearches needs the saved views")
	}
	if now == nil {
		now = time.Now
	}
	return &Searches{views: views, now: now}, nil
}

// Save stores s under s.Name for the caller, replacing a search of theirs
// of that name. The query must compile and the time range must be one
// Window accepts.
func (x *Searches) Save(ctx context.Context, sc scope.Scope, s SavedSearch) (SavedSearch, error) {
	s.Query = strings.TrimSpace(s.Query)
	s.Since, s.From, s.To = strings.TrimSpace(s.Since), strings.TrimSpace(s.From), strings.TrimSpace(s.To)
	s.Org = strings.ToUpper(strings.TrimSpace(s.Org))
	if err := CheckQuery(s.Query); err != nil {
		return SavedSearch{}, err
	}
	if _, _, err := Window(s.Since, s.From, s.To, x.now()); err != nil {
		return SavedSearch{}, err
	}
	if p := safetext.Problem(s.Org, safetext.Name, 20); p != "" {
		return SavedSearch{}, fault.Invalidf("org", "%s", p)
	}
	if s.Since == "" && s.From == "" && s.To == "" {
		s.Since = "24h" // what an empty range means today, kept should the default change
	}
	v, err := x.views.Save(ctx, sc, SavedSearches, s.Name, s.Values().Encode())
	if err != nil {
		return SavedSearch{}, err
	}
	return fromView(v), nil
}

// List returns the caller's saved searches by name.
func (x *Searches) List(ctx context.Context, sc scope.Scope) ([]SavedSearch, error) {
	vs, err := x.views.List(ctx, sc, SavedSearches)
	if err != nil {
		return nil, err
	}
	out := make([]SavedSearch, len(vs))
	for i, v := range vs {
		out[i] = fromView(v)
	}
	return out, nil
}

// Find returns the caller's saved search named name.
func (x *Searches) Find(ctx context.Context, sc scope.Scope, name string) (SavedSearch, error) {
	v, err := x.views.Find(ctx, sc, SavedSearches, name)
	if err != nil {
		return SavedSearch{}, err
	}
	return fromView(v), nil
}

// Delete deletes the caller's saved search id; another person's, or none,
// is not found.
func (x *Searches) Delete(ctx context.Context, sc scope.Scope, id string) error {
	return x.views.Delete(ctx, sc, SavedSearches, id)
}

func fromView(v savedview.View) SavedSearch {
	q, _ := url.ParseQuery(v.Query) // written by Save from url.Values
	return SavedSearch{ID: v.ID, Name: v.Name, Query: q.Get("q"), Since: q.Get("since"), From: q.Get("from"), To: q.Get("to"),
		Org: q.Get("org"), CreatedAt: v.CreatedAt}
}
