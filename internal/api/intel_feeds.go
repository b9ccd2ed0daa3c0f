package api

import (
	"net/http"
	"reflect"
	"time"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/pull"
	"github.com/vigil-health/vigil/internal/scope"
)

// IntelFeedAdd is the body of POST /intel/feeds.
type IntelFeedAdd struct {
	Name string `json:"name"`
	// Kind is taxii (the default) or misp.
	Kind string `json:"kind"`
	// URL is the TAXII discovery URL, or the MISP feed's base URL.
	URL              string `json:"url"`
	RemoteCollection string `json:"remote_collection"`
	// Auth is "", basic (auth_user, auth_secret) or bearer (auth_secret).
	Auth       string `json:"auth"`
	AuthUser   string `json:"auth_user"`
	AuthSecret string `json:"auth_secret"`
	// Collection is the local collection to pull into (you must write it).
	Collection      string `json:"collection"`
	IntervalSeconds int    `json:"interval_seconds"`
	// PageSize is the TAXII limit to ask for (1 to 1,000; 0 for 1,000).
	PageSize int `json:"page_size"`
}

// registerIntelFeeds adds the subscriptions to remote intelligence:
// TAXII 2.1 collections and MISP feeds pulled on a schedule into a
// local collection, and their status. A feed is seen by whoever may read
// its collection, added and pulled by whoever may write it; its secret
// is never returned.
func (a *API) registerIntelFeeds(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"IntelFeed": reflect.TypeFor[intel.Feed](), "IntelFeedList": reflect.TypeFor[List[intel.Feed]](),
		"IntelFeedAdd": reflect.TypeFor[IntelFeedAdd](), "IntelFeedPull": reflect.TypeFor[pull.Result](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	s, p := a.o.Intel, a.o.Feeds
	a.route(rt, spec{Method: "GET", Path: "/intel/feeds", Tag: "intel",
		Summary:  "Intelligence feeds into collections you may read, with their status (last success, last error, objects added, next run)",
		Response: "IntelFeedList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.Feeds(r.Context(), sc))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/feeds", Tag: "intel",
		Summary: "Subscribe a collection you write to a remote TAXII 2.1 collection or MISP feed; pulled at once by the scheduler, then every interval_seconds (an hour by default)",
		Body:    "IntelFeedAdd", Response: "IntelFeed", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelFeedAdd
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		f, err := s.AddFeed(r.Context(), sc, intel.FeedOptions{Name: in.Name, Kind: in.Kind, URL: in.URL, RemoteCollection: in.RemoteCollection,
			AuthKind: in.Auth, AuthUser: in.AuthUser, AuthSecret: in.AuthSecret, Collection: in.Collection, Interval: time.Duration(in.IntervalSeconds) * time.Second, PageSize: in.PageSize})
		if err != nil {
			return nil, err
		}
		return created{f}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/feeds/{id}", Tag: "intel", Summary: "One feed and its status",
		Params: []param{id}, Response: "IntelFeed"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return s.GetFeed(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/feeds/{id}/pull", Tag: "intel",
		Summary: "Pull a feed now, from where it stopped (you must write its collection); a failure is in the answer and the feed's status",
		Params:  []param{id}, Response: "IntelFeedPull"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return p.PullAs(r.Context(), sc, r.PathValue("id"))
	})
}
