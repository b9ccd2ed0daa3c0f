package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"time"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/pull"
	"github.com/vigil-health/vigil/internal/intel/stix"
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

// IntelFeedEdit is the body of PATCH /intel/feeds/{id}: each field
// given replaces the feed's.
type IntelFeedEdit struct {
	Name             *string `json:"name,omitempty"`
	URL              *string `json:"url,omitempty"`
	RemoteCollection *string `json:"remote_collection,omitempty"`
	// Auth "" drops the credentials; a new basic or bearer needs auth_secret.
	Auth       *string `json:"auth,omitempty"`
	AuthUser   *string `json:"auth_user,omitempty"`
	AuthSecret *string `json:"auth_secret,omitempty"`
	// Collection moves the feed to another collection you write (its
	// cursor is cleared, as for a new url or remote_collection).
	Collection      *string `json:"collection,omitempty"`
	IntervalSeconds *int    `json:"interval_seconds,omitempty"`
	PageSize        *int    `json:"page_size,omitempty"`
	// Enabled false stops the scheduled pulls.
	Enabled *bool `json:"enabled,omitempty"`
}

// registerIntelFeeds adds the subscriptions to remote intelligence:
// TAXII 2.1 collections and MISP feeds pulled on a schedule into a
// local collection, and their status. A feed is seen by whoever may read
// its collection, added and pulled by whoever may write it; its secret
// is never returned.
func (a *API) registerIntelFeeds(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"IntelFeed": reflect.TypeFor[intel.Feed](), "IntelFeedList": reflect.TypeFor[List[intel.Feed]](),
		"IntelFeedAdd": reflect.TypeFor[IntelFeedAdd](), "IntelFeedEdit": reflect.TypeFor[IntelFeedEdit](), "IntelFeedPull": reflect.TypeFor[pull.Result](),
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
	a.route(rt, spec{Method: "PATCH", Path: "/intel/feeds/{id}", Tag: "intel",
		Summary: "Change a feed into a collection you write: name, URL, remote collection, credentials, collection, interval, page size, enabled (a new URL, remote collection or collection starts it again from nothing)",
		Params:  []param{id}, Body: "IntelFeedEdit", Response: "IntelFeed"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelFeedEdit
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		e := intel.FeedEdit{Name: in.Name, URL: in.URL, RemoteCollection: in.RemoteCollection, AuthKind: in.Auth, AuthUser: in.AuthUser, AuthSecret: in.AuthSecret,
			Collection: in.Collection, PageSize: in.PageSize, Enabled: in.Enabled}
		if in.IntervalSeconds != nil {
			d := time.Duration(*in.IntervalSeconds) * time.Second
			e.Interval = &d
		}
		return s.EditFeed(r.Context(), sc, r.PathValue("id"), e)
	})
	a.route(rt, spec{Method: "DELETE", Path: "/intel/feeds/{id}", Tag: "intel",
		Summary: "Remove a feed into a collection you write; what it pulled stays in the collection",
		Params:  []param{id}, Status: 204}, func(r *http.Request, sc scope.Scope) (any, error) {
		return nil, s.RemoveFeed(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/feeds/{id}/pull", Tag: "intel",
		Summary: "Pull a feed now, from where it stopped (you must write its collection); a failure is in the answer and the feed's status",
		Params:  []param{id}, Response: "IntelFeedPull"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return p.PullAs(r.Context(), sc, r.PathValue("id"))
	})
}

// IntelAllow is the body of POST /intel/allowlist.
type IntelAllow struct {
	Values []string `json:"values"`
	Reason string   `json:"reason"`
}

// IntelAllowed is what POST /intel/allowlist did.
type IntelAllowed struct {
	Added int `json:"added"`
}

// IntelBundle is a STIX 2.1 bundle.
type IntelBundle struct {
	Type    string            `json:"type"`
	ID      string            `json:"id"`
	Objects []json.RawMessage `json:"objects"`
}

// registerIntelLifecycle adds the indicator lifecycle's routes: the
// allowlist (read by anyone signed in, changed by national analysts and
// administrators, as it applies to every organisation) and the
// sightings Vigil's matcher recorded in the organisations the caller
// reads, as a list and as STIX sighting objects.
func (a *API) registerIntelLifecycle(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"IntelAllowEntry": reflect.TypeFor[intel.AllowEntry](), "IntelAllowList": reflect.TypeFor[List[intel.AllowEntry]](),
		"IntelAllow": reflect.TypeFor[IntelAllow](), "IntelAllowed": reflect.TypeFor[IntelAllowed](),
		"IntelSightingList": reflect.TypeFor[List[intel.Sighting]](), "IntelBundle": reflect.TypeFor[IntelBundle](),
	} {
		a.AddSchema(name, t)
	}
	s := a.o.Intel
	a.route(rt, spec{Method: "GET", Path: "/intel/allowlist", Tag: "intel",
		Summary:  "Values that never match an indicator (known-benign addresses, domains, URLs, hashes), with why and who said so",
		Response: "IntelAllowList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.Allowlist(r.Context()))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/allowlist", Tag: "intel",
		Summary: "Add values to the allowlist with a reason (national analysts and administrators: it applies to every organisation)",
		Body:    "IntelAllow", Response: "IntelAllowed", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelAllow
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		n, err := s.Allow(r.Context(), sc, in.Values, in.Reason, "analyst")
		if err != nil {
			return nil, err
		}
		return created{IntelAllowed{Added: n}}, nil
	})
	indicator := param{Name: "indicator", In: "query", Type: "string", Desc: "only this indicator's"}
	a.route(rt, spec{Method: "GET", Path: "/intel/sightings", Tag: "intel",
		Summary: "IOC matches recorded as sightings in the organisations you read: indicator, organisation, count, first and last seen",
		Params:  []param{indicator}, Response: "IntelSightingList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.Sightings(r.Context(), sc, r.URL.Query().Get("indicator")))
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/sightings/stix", Tag: "intel",
		Summary: "The same sightings as a STIX 2.1 bundle of sighting objects (TLP:AMBER) and the identities of the organisations",
		Params:  []param{indicator}, Response: "IntelBundle"}, func(r *http.Request, sc scope.Scope) (any, error) {
		objs, err := s.SightingObjects(r.Context(), sc, r.URL.Query().Get("indicator"))
		if err != nil {
			return nil, err
		}
		b := IntelBundle{Type: "bundle", ID: stix.NewID("bundle"), Objects: []json.RawMessage{}}
		for _, o := range objs {
			j, err := o.MarshalJSON()
			if err != nil {
				return nil, err
			}
			b.Objects = append(b.Objects, j)
		}
		return b, nil
	})
}
