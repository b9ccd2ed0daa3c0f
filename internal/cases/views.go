package cases

import (
	"context"
	"net/url"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
)

// Saved views: a person's named inbox filters ("Critical, unassigned",
// "Phishing this week"), kept by package savedview as kind "inbox". A
// view holds the inbox's filter as a query string of the keys
// InboxFilterKeys lists; what every saved view shares (owner only, limits,
// replace by name, audit) is savedview's rule. It narrows nothing by
// itself: the inbox still reads through the caller's scope.

// SavedView is one saved inbox filter.
type SavedView = savedview.View

// InboxViews is the saved views' kind of the inbox's filters; its audit
// actions (alert.view.save, alert.view.delete) are those the inbox's views
// have always had.
var InboxViews = savedview.Kind{Name: "inbox", Noun: "view", Nouns: "views", IDPrefix: "VW", Action: "alert.view", ObjectType: "view"}

// InboxFilterKeys are the query keys an inbox filter (and so a saved view)
// may hold.
func InboxFilterKeys() []string {
	return []string{"status", "severity", "source", "type", "org", "assignee", "q", "since", "group"}
}

// SaveView stores the inbox filter query under name for the caller,
// replacing a view of theirs of the same name (savedview's rules: owner
// only, limits, audit). Keys outside InboxFilterKeys and empty values are
// dropped; at least one must remain.
func (s *Service) SaveView(ctx context.Context, sc scope.Scope, name, query string) (SavedView, error) {
	if len(query) > savedview.MaxQuery {
		return SavedView{}, fault.Invalidf("query", "is longer than %d characters", savedview.MaxQuery)
	}
	in, err := url.ParseQuery(strings.TrimPrefix(query, "?"))
	if err != nil {
		return SavedView{}, fault.Invalidf("query", "is not a query string: %v", err)
	}
	keep := url.Values{}
	for _, k := range InboxFilterKeys() {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			if err := checkName(k, v, false, safetext.MaxName); err != nil {
				return SavedView{}, err
			}
			keep.Set(k, v)
		}
	}
	if len(keep) == 0 {
		return SavedView{}, fault.Invalidf("query", "choose at least one filter to save as a view")
	}
	return s.views.Save(ctx, sc, InboxViews, name, keep.Encode())
}

// Views lists the caller's saved views by name.
func (s *Service) Views(ctx context.Context, sc scope.Scope) ([]SavedView, error) {
	return s.views.List(ctx, sc, InboxViews)
}

// DeleteView deletes one of the caller's saved views; another person's
// view, or none, is not found.
func (s *Service) DeleteView(ctx context.Context, sc scope.Scope, id string) error {
	return s.views.Delete(ctx, sc, InboxViews, id)
}

// AlertGroup is alerts of one page that look alike: the same source and
// type, the same title, or sharing an observable.
type AlertGroup struct {
	// Key is what they share, in words ("edr / malware", a title, "ip
	// 198.51.100.7").
	Key    string
	Alerts []Alert
}

// GroupBy lists the ways the inbox groups alerts.
func GroupBy() []string { return []string{"source", "title", "observable"} }

// GroupAlerts groups a page of alerts by "source" (source and type),
// "title" or "observable": each alert joins the group of its observable
// that most alerts of the page share (ties to the first in order), so an
// alert is in one group; groups keep the page's order (newest first) by
// their newest alert.
func GroupAlerts(list []Alert, by string) ([]AlertGroup, error) {
	if err := oneOf("group", by, GroupBy()); err != nil {
		return nil, err
	}
	obsKey := func(o Observable) string { return string(o.Type) + " " + o.Value }
	shared := map[string]int{}
	if by == "observable" {
		for _, a := range list {
			seen := map[string]bool{}
			for _, o := range a.Observables {
				if k := obsKey(o); !seen[k] {
					seen[k] = true
					shared[k]++
				}
			}
		}
	}
	index := map[string]int{}
	var out []AlertGroup
	for _, a := range list {
		var key string
		switch by {
		case "source":
			key = a.Source + " / " + a.Type
		case "title":
			key = a.Title
		case "observable":
			key = "no observables"
			keys := make([]string, 0, len(a.Observables))
			for _, o := range a.Observables {
				keys = append(keys, obsKey(o))
			}
			sort.Strings(keys)
			for _, k := range keys {
				if key == "no observables" || shared[k] > shared[key] {
					key = k
				}
			}
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, AlertGroup{Key: key})
		}
		out[i].Alerts = append(out[i].Alerts, a)
	}
	return out, nil
}

// NextStatuses lists the statuses a case of status from may move to (the
// workflow in case.go), for a page to offer only those.
func NextStatuses(from CaseStatus) []CaseStatus {
	return append([]CaseStatus(nil), transitions[from]...)
}

// MissingToClose lists the fields template t requires to close a case
// that fields (a case's custom fields) lack, in the template's order.
func MissingToClose(t *Template, fields map[string]any) []FieldDef {
	if t == nil {
		return nil
	}
	var out []FieldDef
	for _, f := range t.Fields {
		if _, ok := fields[f.Name]; f.RequiredOnClose && !ok {
			out = append(out, f)
		}
	}
	return out
}
