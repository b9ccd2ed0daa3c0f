package intel

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestAddFeedChecks: a feed is refused, naming the field, for each way
// its settings can be wrong; a reader of the collection sees the feed
// but may not add one or pull it.
func TestAddFeedChecks(t *testing.T) {
	ctx := context.Background()
	s, _ := New(Options{DB: storetest.SQLite(t, Migrations()), OrgPath: orgPath})
	nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
	alice := person("u-alice", scope.OrgAnalyst, "RJ1")
	c, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GrantCollection(ctx, nadia, c.ID, GrantOptions{Org: "ENG", Read: true}); err != nil {
		t.Fatal(err)
	}
	ok := FeedOptions{Name: "Partner", URL: "https://partner.example/taxii2", RemoteCollection: "c1", Collection: c.ID}
	for _, x := range []struct {
		field string
		edit  func(*FeedOptions)
	}{
		{"name", func(o *FeedOptions) { o.Name = " " }},
		{"name", func(o *FeedOptions) { o.Name = "bad\x1b[31m" }},
		{"kind", func(o *FeedOptions) { o.Kind = "rss" }},
		{"url", func(o *FeedOptions) { o.URL = "ftp://partner.example/" }},
		{"url", func(o *FeedOptions) { o.URL = "https://user:pw@partner.example/" }},
		{"remote_collection", func(o *FeedOptions) { o.RemoteCollection = "" }},
		{"auth", func(o *FeedOptions) { o.AuthKind = "basic"; o.AuthSecret = "x" }},
		{"auth", func(o *FeedOptions) { o.AuthKind = "bearer"; o.AuthUser = "u"; o.AuthSecret = "x" }},
		{"auth", func(o *FeedOptions) { o.AuthSecret = "x" }},
		{"auth", func(o *FeedOptions) { o.AuthKind = "digest" }},
		{"interval", func(o *FeedOptions) { o.Interval = time.Second }},
		{"page_size", func(o *FeedOptions) { o.PageSize = 1001 }},
		{"collection", func(o *FeedOptions) { o.Collection = "" }},
	} {
		o := ok
		x.edit(&o)
		var inv *InvalidError
		if _, err := s.AddFeed(ctx, nadia, o); !errors.As(err, &inv) || inv.Field != x.field {
			t.Errorf("%+v: %v, want a problem with %s", o, err, x.field)
		}
	}
	f, err := s.AddFeed(ctx, nadia, ok)
	if err != nil || f.URL != "https://partner.example/taxii2/" || f.IntervalSeconds != 3600 || f.Kind != FeedTAXII {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := s.AddFeed(ctx, alice, ok); !errors.Is(err, ErrCollectionForbidden) {
		t.Errorf("a reader adds a feed: %v", err)
	}
	if _, err := s.GetFeed(ctx, alice, f.ID); err != nil {
		t.Errorf("a reader of the collection reads the feed: %v", err)
	}
	if _, err := s.PullableFeed(ctx, alice, f.ID); !errors.Is(err, ErrCollectionForbidden) {
		t.Errorf("a reader pulls the feed: %v", err)
	}
	if _, err := s.GetFeed(ctx, person("u-x", scope.OrgAnalyst, "R0A"), "nope"); !errors.Is(err, ErrFeedNotFound) {
		t.Errorf("unknown feed: %v", err)
	}
	due, err := s.DueFeeds(ctx, time.Now().Add(time.Second))
	if err != nil || len(due) != 1 || due[0].Secret != "" {
		t.Errorf("due: %+v %v", due, err)
	}
}
