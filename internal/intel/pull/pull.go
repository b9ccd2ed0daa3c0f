// Package pull keeps Vigil's subscriptions to remote intelligence: it
// pulls TAXII 2.1 collections (taxii.Client) and MISP feeds by URL
// (manifest.json, hashes.csv and event files, checked as misp.ReadFeed
// checks a directory) into local collections, and runs the scheduled
// pulls (a leader duty of `vigil serve`). The feeds, their cursors and
// status are kept by intel.Store (subscriptions.go); docs/intel.md says
// how resumption works.
package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/misp"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/intel/taxii"
	"github.com/vigil-health/vigil/internal/scope"
)

// Options are what a Puller needs.
type Options struct {
	Store *intel.Store
	// HTTP does the requests; when nil, a client with a one-minute
	// timeout that refuses private addresses (guard.go) unless
	// AllowPrivate.
	HTTP *http.Client
	// AllowPrivate lets feeds reach loopback, private and link-local
	// addresses (`vigil serve --intel-feeds-private`).
	AllowPrivate bool
	Now          func() time.Time
	Log          *slog.Logger
	// PageSize is the TAXII limit asked for; 1,000 by default.
	PageSize int
	// BatchObjects is how many objects a TAXII pull reads before storing
	// them with the cursor after their last page; 20,000 by default, so
	// a first pull of a large collection neither holds it all in memory
	// nor starts again from nothing after a failure late on.
	BatchObjects int
}

// Puller pulls feeds.
type Puller struct{ o Options }

// New checks o and fills its defaults.
func New(o Options) (*Puller, error) {
	if o.Store == nil {
		return nil, errors.New("pull: Options.Store is required")
	}
	if o.HTTP == nil {
		o.HTTP = guardedClient(o.AllowPrivate)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	if o.BatchObjects <= 0 {
		o.BatchObjects = 20000
	}
	return &Puller{o: o}, nil
}

// Result is what one pull did.
type Result struct {
	Feed        string `json:"feed"`
	Name        string `json:"name"`
	Pages       int    `json:"pages"`
	Objects     int    `json:"objects"`
	Added       int    `json:"added"`
	NewVersions int    `json:"new_versions"`
	Unchanged   int    `json:"unchanged"`
	// Refused lists objects or events left out (invalid, failing their
	// integrity check, newer than a revocation).
	Refused []string `json:"refused"`
	// Cursor is where the next pull resumes.
	Cursor string `json:"cursor"`
}

func (r *Result) add(rep intel.Report) {
	r.Added += rep.Added
	r.NewVersions += rep.NewVersions
	r.Unchanged += rep.Unchanged
	r.Refused = append(r.Refused, rep.Refused...)
}

// Pull pulls one feed now and records the outcome in its status. On an
// error, what was stored before it stays stored (whole batches of pages
// only, each with the cursor after it), and the next pull resumes from
// there.
func (p *Puller) Pull(ctx context.Context, f intel.FeedSpec) (Result, error) {
	started := p.o.Now()
	res := Result{Feed: f.ID, Name: f.Name, Cursor: f.Cursor, Refused: []string{}}
	var err error
	switch {
	case f.SecretProblem != "":
		err = fmt.Errorf("its password or token cannot be used: %s", f.SecretProblem)
	case f.Kind == intel.FeedTAXII:
		err = p.pullTAXII(ctx, f, &res)
	case f.Kind == intel.FeedMISP:
		err = p.pullMISP(ctx, f, &res)
	default:
		err = fmt.Errorf("feed %s: unknown kind %q", f.ID, f.Kind)
	}
	if err != nil {
		err = fmt.Errorf("feed %q: %w", f.Name, err)
	}
	run := intel.FeedRun{Started: started, Added: res.Added + res.NewVersions, Err: err, Refused: res.Refused}
	if re := (*taxii.RemoteError)(nil); errors.As(err, &re) {
		run.RetryAfter = re.RetryAfter
	}
	if ferr := p.o.Store.FinishFeedPull(context.WithoutCancel(ctx), f.ID, run); ferr != nil {
		err = errors.Join(err, ferr)
	}
	return res, err
}

// RunDue pulls every feed whose scheduled pull is due, one after another.
func (p *Puller) RunDue(ctx context.Context) error {
	due, err := p.o.Store.DueFeeds(ctx, p.o.Now())
	if err != nil {
		return err
	}
	for _, f := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res, err := p.Pull(ctx, f)
		if err != nil {
			p.o.Log.Warn("intelligence feed pull failed; it will be tried again at its next run (backing off)", "feed", f.ID, "name", f.Name, "err", err)
			continue
		}
		p.o.Log.Info("intelligence feed pulled", "feed", f.ID, "name", f.Name, "objects", res.Objects, "added", res.Added, "new_versions", res.NewVersions, "refused", len(res.Refused))
	}
	return nil
}

// Run pulls the due feeds every tick until ctx is done or stop is
// called: a leader duty of `vigil serve`, so each feed is pulled by one
// server of a deployment.
func (p *Puller) Run(ctx context.Context, tick time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			if err := p.RunDue(ctx); err != nil && ctx.Err() == nil {
				p.o.Log.Warn("listing the intelligence feeds due failed; trying again next tick", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (p *Puller) taxiiClient(f intel.FeedSpec) *taxii.Client {
	c := &taxii.Client{HTTP: p.o.HTTP}
	switch f.Auth {
	case "basic":
		c.User, c.Password = f.AuthUser, f.Secret
	case "bearer":
		c.Token = f.Secret
	}
	return c
}

// maxPages stops a server that pages for ever.
const maxPages = 100000

// pullTAXII reads the remote collection from the feed's cursor
// (added_after: the last X-TAXII-Date-Added-Last stored), following next
// (TAXII 2.1 section 3.4), and stores what it read a batch at a time,
// each batch with the cursor after its last page in one transaction.
func (p *Puller) pullTAXII(ctx context.Context, f intel.FeedSpec, res *Result) error {
	c := p.taxiiClient(f)
	root, err := c.APIRootURL(ctx, f.URL)
	if err != nil {
		return err
	}
	col, err := c.Collection(ctx, root, f.RemoteCollection)
	if err != nil {
		return err
	}
	if !col.CanRead {
		return fmt.Errorf("the remote collection %s (%q) does not let these credentials read it", col.ID, col.Title)
	}
	var batch []*stix.Object
	cursor := f.Cursor
	store := func() error {
		if len(batch) == 0 && cursor == res.Cursor {
			return nil
		}
		rep, err := p.o.Store.ImportFeedPage(ctx, f, batch, cursor)
		if err != nil {
			return err
		}
		res.add(rep)
		res.Cursor, batch = cursor, nil
		return nil
	}
	size := p.o.PageSize
	if f.PageSize > 0 {
		size = f.PageSize
	}
	q := taxii.ObjectsQuery{AddedAfter: cursor, Limit: size}
	for res.Pages < maxPages {
		page, err := c.Objects(ctx, root, col.ID, q)
		if err != nil {
			return fmt.Errorf("page %d: %w (nothing of this page or those after the last stored batch kept; the next pull resumes after %q)", res.Pages+1, err, res.Cursor)
		}
		res.Pages++
		for i, raw := range page.Objects {
			res.Objects++
			o, err := stix.Parse(raw)
			if err != nil {
				res.Refused = append(res.Refused, fmt.Sprintf("page %d object %d: %v", res.Pages, i, err))
				continue
			}
			batch = append(batch, o)
		}
		if page.AddedLast != "" {
			cursor = page.AddedLast
		}
		if !page.More {
			break
		}
		if len(batch) >= p.o.BatchObjects {
			if err := store(); err != nil {
				return err
			}
		}
		if page.Next != "" {
			q.Next = page.Next
			continue
		}
		// More without next: page on by added_after (section 3.4).
		if cursor == q.AddedAfter {
			return fmt.Errorf("page %d: more objects, but neither next nor a later X-TAXII-Date-Added-Last to ask for them by", res.Pages)
		}
		q = taxii.ObjectsQuery{AddedAfter: cursor, Limit: size}
	}
	return store()
}

// mispCursor is a MISP feed's cursor: event uuid → the manifest
// timestamp imported.
type mispCursor map[string]int64

// pullMISP reads the feed's manifest.json and the events that are new or
// have a newer timestamp than the one imported, checks them against
// hashes.csv, and stores them with the new cursor in one transaction. An
// event that cannot be read or fails its check is refused and not
// marked, so the next pull tries it again.
func (p *Puller) pullMISP(ctx context.Context, f intel.FeedSpec, res *Result) error {
	seen := mispCursor{}
	if f.Cursor != "" {
		if err := json.Unmarshal([]byte(f.Cursor), &seen); err != nil {
			return fmt.Errorf("stored cursor: %w", err)
		}
	}
	get := func(name string) ([]byte, error) { return p.getFile(ctx, f, name) }
	want := func(u string, e misp.ManifestEntry) bool { return int64(e.Timestamp) > seen[strings.ToLower(u)] }
	feed, manifest, err := misp.ReadFeedWith(f.URL, get, want)
	if err != nil {
		return err
	}
	res.Refused = append(res.Refused, feed.Problems...)
	var objs []*stix.Object
	for _, fe := range feed.Events {
		o, _, err := misp.ToSTIX(fe.Event, misp.Options{})
		if err != nil {
			res.Refused = append(res.Refused, fmt.Sprintf("%s: %v", fe.File, err))
			continue
		}
		res.Pages++
		res.Objects += len(o)
		objs = append(objs, o...)
		for u, e := range manifest {
			if strings.EqualFold(u, fe.Event.UUID) {
				seen[strings.ToLower(u)] = int64(e.Timestamp)
			}
		}
	}
	if len(objs) == 0 {
		return nil
	}
	b, err := json.Marshal(seen)
	if err != nil {
		return err
	}
	rep, err := p.o.Store.ImportFeedPage(ctx, f, objs, string(b))
	if err != nil {
		return err
	}
	res.add(rep)
	res.Cursor = string(b)
	return nil
}

// maxFeedFile caps one file of a MISP feed.
const maxFeedFile = 256 << 20

func (p *Puller) getFile(ctx context.Context, f intel.FeedSpec, name string) ([]byte, error) {
	u := f.URL + name
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	switch f.Auth {
	case "basic":
		req.SetBasicAuth(f.AuthUser, f.Secret)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+f.Secret)
	}
	res, err := p.o.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }() // read fully below
	if res.StatusCode != http.StatusOK {
		e := &taxii.RemoteError{URL: u, Status: res.StatusCode}
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
			e.RetryAfter = taxii.RetryAfter(res.Header, p.o.Now())
		}
		return nil, e
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxFeedFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	if len(b) > maxFeedFile {
		return nil, fmt.Errorf("%s: over %d MiB", u, maxFeedFile>>20)
	}
	return b, nil
}

// PullAs pulls a feed now for a caller who may write its collection
// (intel.Store.PullableFeed): `vigil intel feed pull`, the API and the
// web's "pull now".
func (p *Puller) PullAs(ctx context.Context, sc scope.Scope, id string) (Result, error) {
	f, err := p.o.Store.PullableFeed(ctx, sc, id)
	if err != nil {
		return Result{}, err
	}
	res, err := p.Pull(ctx, f)
	if err != nil {
		// The remote end failed (or the store did): not the caller's
		// request, so 503 with what went wrong rather than a bare 500.
		return res, fmt.Errorf("%w: %v", fault.ErrUnavailable, err)
	}
	return res, nil
}
