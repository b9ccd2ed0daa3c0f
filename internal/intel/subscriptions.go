package intel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/seal"
	"github.com/vigil-health/vigil/internal/store"
)

// Feeds are subscriptions to remote intelligence (issue 19 item 4): a
// TAXII 2.1 collection, or a MISP feed by URL, pulled on a schedule into
// a local collection. The store keeps each feed's settings, its cursor
// (where the next pull resumes) and its status; the pulling is package
// intel/pull. A feed is seen by whoever may read its collection and
// pulled on demand by whoever may write it.

// The kinds of feed.
const (
	FeedTAXII = "taxii"
	FeedMISP  = "misp"
)

// ErrFeedNotFound means no feed has the id, or the caller may not read
// its collection.
var ErrFeedNotFound = fault.New(fault.ErrNotFound, "intel: feed not found")

// Feed is a subscription as a reader sees it: never its secret.
type Feed struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is taxii or misp.
	Kind string `json:"kind"`
	// URL is the TAXII discovery URL, or the MISP feed's base URL (the
	// one holding manifest.json).
	URL string `json:"url"`
	// RemoteCollection is the TAXII collection's id at the remote server.
	RemoteCollection string `json:"remote_collection,omitempty"`
	// Auth is "", basic or bearer; AuthUser the Basic user name.
	Auth     string `json:"auth"`
	AuthUser string `json:"auth_user,omitempty"`
	// Collection is the local collection the feed's objects go into.
	Collection string `json:"collection"`
	// DecayModel is the decay model its indicators' scores follow (the
	// model of the source "feed:NAME", else the default: decay.go).
	DecayModel      string `json:"decay_model"`
	IntervalSeconds int    `json:"interval_seconds"`
	// PageSize is the TAXII limit asked for (0: the puller's, 1,000).
	PageSize  int       `json:"page_size,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Cursor is where the next pull resumes: TAXII's added_after (the
	// last X-TAXII-Date-Added-Last), or for MISP the events already
	// imported with their timestamps.
	Cursor      string     `json:"cursor"`
	LastAttempt *time.Time `json:"last_attempt"`
	LastSuccess *time.Time `json:"last_success"`
	// LastError is the last pull's failure, "" when it succeeded.
	LastError string `json:"last_error"`
	// LastAdded is what the last successful pull stored (new objects and
	// new versions); ObjectsAdded the total over every pull.
	LastAdded    int `json:"last_added"`
	ObjectsAdded int `json:"objects_added"`
	Pulls        int `json:"pulls"`
	Failures     int `json:"failures"`
	// ConsecutiveFailures counts the failed pulls since the last
	// success; while it is above zero NextRun is the back-off's next
	// attempt (FeedRetryDelay).
	ConsecutiveFailures int `json:"consecutive_failures"`
	// NextRun is when the scheduler pulls the feed next (if Enabled).
	NextRun time.Time `json:"next_run"`
	// Enabled feeds alone are pulled by the scheduler.
	Enabled bool `json:"enabled"`
}

// FeedSpec is a feed with its secret, for the puller alone.
type FeedSpec struct {
	Feed
	Secret string
	// SecretProblem says why the stored secret could not be opened
	// (sealed with a key this server lacks, or altered): the pull fails
	// with it rather than sending no credentials.
	SecretProblem string
	sealed        string // auth_secret as stored
}

// FeedOptions describe a new feed.
type FeedOptions struct {
	Name, Kind, URL, RemoteCollection string
	// AuthKind is "", basic (AuthUser and AuthSecret) or bearer (AuthSecret).
	AuthKind, AuthUser, AuthSecret string
	// Collection is the local collection to pull into; the caller must
	// be able to write it.
	Collection string
	// Interval between scheduled pulls; an hour when zero, a minute at least.
	Interval time.Duration
	// PageSize is the TAXII limit to ask for, 1 to 1,000 (0: 1,000).
	PageSize int
}

// MinFeedInterval is the shortest interval between scheduled pulls.
const MinFeedInterval = time.Minute

func checkFeed(o *FeedOptions) error {
	o.Name, o.URL, o.Kind = strings.TrimSpace(o.Name), strings.TrimSpace(o.URL), strings.ToLower(strings.TrimSpace(o.Kind))
	o.RemoteCollection = strings.TrimSpace(o.RemoteCollection)
	if o.Kind == "" {
		o.Kind = FeedTAXII
	}
	if o.Interval == 0 {
		o.Interval = time.Hour
	}
	switch {
	case o.Name == "":
		return &InvalidError{"name", "required"}
	case safetext.Problem(o.Name, safetext.Name, safetext.MaxName) != "":
		return &InvalidError{"name", safetext.Problem(o.Name, safetext.Name, safetext.MaxName)}
	case safetext.Problem(o.AuthUser, safetext.Name, safetext.MaxName) != "":
		return &InvalidError{"auth_user", safetext.Problem(o.AuthUser, safetext.Name, safetext.MaxName)}
	case len(o.URL) > 2048:
		return &InvalidError{"url", "at most 2,048 characters"}
	case safetext.Problem(o.RemoteCollection, safetext.Name, safetext.MaxName) != "":
		return &InvalidError{"remote_collection", safetext.Problem(o.RemoteCollection, safetext.Name, safetext.MaxName)}
	case o.Kind != FeedTAXII && o.Kind != FeedMISP:
		return &InvalidError{"kind", "want taxii or misp"}
	case o.Collection == "":
		return &InvalidError{"collection", "required: the local collection the feed pulls into"}
	case o.PageSize < 0 || o.PageSize > 1000:
		return &InvalidError{"page_size", "from 1 to 1,000 (0 for 1,000)"}
	case o.Interval < MinFeedInterval:
		return &InvalidError{"interval", "at least a minute"}
	case o.Kind == FeedTAXII && strings.TrimSpace(o.RemoteCollection) == "":
		return &InvalidError{"remote_collection", "required for a TAXII feed: the remote collection's id"}
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &InvalidError{"url", "want an absolute http or https URL"}
	}
	if u.User != nil {
		return &InvalidError{"url", "put credentials in auth, not in the URL"}
	}
	if seal.IsSealed(o.AuthSecret) {
		return &InvalidError{"auth_secret", "not a password or token Vigil can send"}
	}
	if !strings.HasSuffix(u.Path, "/") {
		o.URL += "/"
	}
	switch o.AuthKind {
	case "":
		if o.AuthUser != "" || o.AuthSecret != "" {
			return &InvalidError{"auth", "give basic or bearer with credentials"}
		}
	case "basic":
		if o.AuthUser == "" || o.AuthSecret == "" {
			return &InvalidError{"auth", "basic needs a user name and a password"}
		}
	case "bearer":
		if o.AuthSecret == "" || o.AuthUser != "" {
			return &InvalidError{"auth", "bearer needs a token and no user name"}
		}
	default:
		return &InvalidError{"auth", "want basic or bearer"}
	}
	return nil
}

// AddFeed subscribes a collection the caller may write to a remote
// TAXII collection or MISP feed, audited as intel.feed.add (without the
// secret). The first scheduled pull is due at once.
func (s *Store) AddFeed(ctx context.Context, sc scope.Scope, o FeedOptions) (Feed, error) {
	if err := checkFeed(&o); err != nil {
		return Feed{}, err
	}
	c, err := s.GetCollection(ctx, sc, o.Collection)
	if err != nil {
		return Feed{}, err
	}
	if !c.CanWrite {
		return Feed{}, ErrCollectionForbidden
	}
	if c.Moderated && !c.Approver {
		// A feed pulls unattended, as nobody's submission: into a
		// moderated collection only its approvers bring one.
		return Feed{}, &InvalidError{"collection", "a moderated collection takes feeds from its approvers (national analysts) only; submit objects through TAXII or vigil intel import"}
	}
	now := s.now().UTC()
	f := Feed{ID: strings.TrimPrefix(stix.NewID("x"), "x--"), Name: o.Name, Kind: o.Kind, URL: o.URL, RemoteCollection: strings.TrimSpace(o.RemoteCollection),
		Auth: o.AuthKind, AuthUser: o.AuthUser, Collection: c.ID, IntervalSeconds: int(o.Interval / time.Second), PageSize: o.PageSize,
		CreatedBy: sc.UserID, CreatedAt: now, NextRun: now, Enabled: true}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO intel_feeds (id, name, kind, url, remote_collection, auth_kind, auth_user, auth_secret, collection_id, interval_seconds, page_size, created_by, created_at, next_run)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.Name, f.Kind, f.URL, f.RemoteCollection, f.Auth, f.AuthUser, s.secrets.Seal(o.AuthSecret, feedSecretContext(f.ID)), f.Collection, f.IntervalSeconds, f.PageSize, f.CreatedBy, versionKey(now), versionKey(now)); err != nil {
			return err
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.feed.add", ObjectType: "intel-feed", ObjectID: f.ID,
			After: map[string]any{"name": f.Name, "kind": f.Kind, "url": f.URL, "remote_collection": f.RemoteCollection, "auth": f.Auth, "collection": f.Collection, "collection_title": c.Title, "interval_seconds": f.IntervalSeconds, "page_size": f.PageSize}})
		return err
	})
	if err != nil {
		return Feed{}, err
	}
	return f, nil
}

const feedColumns = `id, name, kind, url, remote_collection, auth_kind, auth_user, auth_secret, collection_id, interval_seconds, page_size, created_by, created_at,
	cursor, last_attempt, last_success, last_error, last_added, objects_added, pulls, failures, next_run, consecutive_failures, enabled`

// feedSecretContext binds a sealed secret to its feed: copied into
// another feed's row, it does not open.
func feedSecretContext(id string) string { return "intel_feeds.auth_secret:" + id }

func scanFeed(r interface{ Scan(...any) error }) (FeedSpec, error) {
	var f FeedSpec
	var created, attempt, success, next string
	if err := r.Scan(&f.ID, &f.Name, &f.Kind, &f.URL, &f.RemoteCollection, &f.Auth, &f.AuthUser, &f.sealed, &f.Collection, &f.IntervalSeconds, &f.PageSize, &f.CreatedBy, &created,
		&f.Cursor, &attempt, &success, &f.LastError, &f.LastAdded, &f.ObjectsAdded, &f.Pulls, &f.Failures, &next, &f.ConsecutiveFailures, &f.Enabled); err != nil {
		return f, err
	}
	parse := func(v string) *time.Time {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return &t
		}
		return nil
	}
	if t := parse(created); t != nil {
		f.CreatedAt = *t
	}
	if t := parse(next); t != nil {
		f.NextRun = *t
	}
	f.LastAttempt, f.LastSuccess = parse(attempt), parse(success)
	return f, nil
}

func (s *Store) feedSpecs(ctx context.Context, where string, args ...any) ([]FeedSpec, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+feedColumns+` FROM intel_feeds `+where+` ORDER BY name, id`, args...)
	if err != nil {
		return nil, err
	}
	fs, err := store.Collect(rows, scanFeed)
	for i := range fs {
		s.openSecret(&fs[i])
	}
	return fs, err
}

// openSecret opens the feed's sealed secret into Secret, or says why it
// could not in SecretProblem.
func (s *Store) openSecret(f *FeedSpec) {
	v, err := s.secrets.Open(f.sealed, feedSecretContext(f.ID))
	if err != nil {
		f.SecretProblem = err.Error()
		return
	}
	f.Secret = v
}

// UnopenableFeedSecrets counts the feed secrets sealed with a key the
// store's keyring lacks: a server started with a new key file against a
// database whose secrets another key sealed.
func (s *Store) UnopenableFeedSecrets(ctx context.Context) (int, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, auth_secret FROM intel_feeds WHERE auth_secret <> ''`)
	if err != nil {
		return 0, err
	}
	n := 0
	_, err = store.Collect(rows, func(r interface{ Scan(...any) error }) (bool, error) {
		var id, v string
		if err := r.Scan(&id, &v); err != nil {
			return false, err
		}
		if _, err := s.secrets.Open(v, feedSecretContext(id)); errors.Is(err, seal.ErrUnknownKey) {
			n++
		}
		return true, nil
	})
	return n, err
}

// SealFeedSecrets seals every feed secret not yet sealed with the
// sealing key: those kept in clear text before secrets were sealed, and
// those sealed with an older key still in the keyring (rotation). A
// secret sealed with a key the keyring lacks is left as it is and
// counted in unknown. Each row is changed only if it still holds what
// was read, so servers starting together do not undo each other.
// `vigil serve` calls it on start.
func (s *Store) SealFeedSecrets(ctx context.Context) (sealed, unknown int, err error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, auth_secret FROM intel_feeds WHERE auth_secret <> ''`)
	if err != nil {
		return 0, 0, err
	}
	type row struct{ id, v string }
	all, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.v)
	})
	if err != nil {
		return 0, 0, err
	}
	for _, x := range all {
		if s.secrets.Current(x.v) {
			continue
		}
		plain, err := s.secrets.Open(x.v, feedSecretContext(x.id))
		if err != nil {
			unknown++
			continue
		}
		res, err := s.db.Q().ExecContext(ctx, `UPDATE intel_feeds SET auth_secret = ? WHERE id = ? AND auth_secret = ?`, s.secrets.Seal(plain, feedSecretContext(x.id)), x.id, x.v)
		if err != nil {
			return sealed, unknown, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			sealed++
		}
	}
	return sealed, unknown, nil
}

// Feeds lists the feeds into collections the caller may read.
func (s *Store) Feeds(ctx context.Context, sc scope.Scope) ([]Feed, error) {
	cs, err := s.Collections(ctx, sc)
	if err != nil {
		return nil, err
	}
	readable := map[string]bool{}
	for _, c := range cs {
		readable[c.ID] = c.CanRead
	}
	specs, err := s.feedSpecs(ctx, "")
	if err != nil {
		return nil, err
	}
	dc, err := s.Decay(ctx)
	if err != nil {
		return nil, err
	}
	out := []Feed{}
	for _, f := range specs {
		if readable[f.Collection] {
			f.DecayModel = dc.ModelFor("feed:" + f.Name)
			out = append(out, f.Feed)
		}
	}
	return out, nil
}

// GetFeed returns a feed into a collection the caller may read.
func (s *Store) GetFeed(ctx context.Context, sc scope.Scope, id string) (Feed, error) {
	f, err := s.FeedSpecOf(ctx, id)
	if err != nil {
		return Feed{}, err
	}
	c, err := s.GetCollection(ctx, sc, f.Collection)
	if err != nil || !c.CanRead {
		return Feed{}, ErrFeedNotFound
	}
	dc, err := s.Decay(ctx)
	if err != nil {
		return Feed{}, err
	}
	f.DecayModel = dc.ModelFor("feed:" + f.Name)
	return f.Feed, nil
}

// PullableFeed is a feed the caller may pull now: they may write its
// collection (ErrCollectionForbidden when they may only read it).
func (s *Store) PullableFeed(ctx context.Context, sc scope.Scope, id string) (FeedSpec, error) {
	f, err := s.FeedSpecOf(ctx, id)
	if err != nil {
		return FeedSpec{}, err
	}
	c, err := s.GetCollection(ctx, sc, f.Collection)
	if err != nil || !c.CanRead {
		return FeedSpec{}, ErrFeedNotFound
	}
	if !c.CanWrite {
		return FeedSpec{}, ErrCollectionForbidden
	}
	return f, nil
}

// FeedSpecOf returns a feed with its secret, whoever asks: for the
// scheduled puller.
func (s *Store) FeedSpecOf(ctx context.Context, id string) (FeedSpec, error) {
	f, err := scanFeed(s.db.Q().QueryRowContext(ctx, `SELECT `+feedColumns+` FROM intel_feeds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return FeedSpec{}, ErrFeedNotFound
	}
	if err == nil {
		s.openSecret(&f)
	}
	return f, err
}

// DueFeeds lists the enabled feeds whose next scheduled pull is due at now.
func (s *Store) DueFeeds(ctx context.Context, now time.Time) ([]FeedSpec, error) {
	return s.feedSpecs(ctx, `WHERE enabled = ? AND next_run <= ?`, true, versionKey(now))
}

// ImportFeedPage stores objects a feed pulled into its collection and
// moves its cursor, in one transaction: a failure stores neither, and
// the next pull starts again from the old cursor. The import is audited
// as intel.import from "feed:<name>", on behalf of the feed's creator
// (the first recipient of any TLP:RED object it brings).
func (s *Store) ImportFeedPage(ctx context.Context, f FeedSpec, objs []*stix.Object, cursor string) (Report, error) {
	sc := scope.System("feed " + f.ID)
	sc.UserID = f.CreatedBy
	return s.importTx(ctx, sc, "feed:"+f.Name, f.Collection, "", objs, func(tx *store.Tx, rep Report) error {
		_, err := tx.ExecContext(ctx, `UPDATE intel_feeds SET cursor = ?, objects_added = objects_added + ? WHERE id = ?`,
			cursor, rep.Added+rep.NewVersions, f.ID)
		return err
	})
}

// FeedRun is the outcome of one pull, for the feed's status.
type FeedRun struct {
	Started time.Time
	// Added is what the pull stored (new objects and versions).
	Added int
	// Err is why it failed (nil on success); what it stored before the
	// failure, whole pages only, stays stored with the cursor after it.
	Err error
	// Refused are objects or events left out of a pull that went on;
	// the status names how many and the first.
	Refused []string
	// RetryAfter is the wait a failing server asked for (Retry-After
	// on a 429 or 503): the next attempt is no sooner.
	RetryAfter time.Duration
}

// Back-off after failed pulls: the first retry comes FeedRetryBase after
// the failure, each further one twice as long after the last, up to
// MaxFeedBackoff (or the feed's interval, if longer), each up to a fifth
// earlier at random so feeds failing together do not retry together. A
// Retry-After is honoured up to MaxFeedRetryAfter. A success goes back
// to the feed's interval.
const (
	FeedRetryBase     = time.Minute
	MaxFeedBackoff    = 6 * time.Hour
	MaxFeedRetryAfter = 24 * time.Hour
)

// FeedRetryDelay is the wait before the next attempt of a feed whose
// last `failures` pulls failed (failures ≥ 1), with the server's
// Retry-After (0 if none) and jitter a number in [0, 1).
func FeedRetryDelay(interval time.Duration, failures int, retryAfter time.Duration, jitter float64) time.Duration {
	limit := max(interval, MaxFeedBackoff)
	d := FeedRetryBase
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	d -= time.Duration(jitter * float64(d) / 5)
	if ra := min(retryAfter, MaxFeedRetryAfter); ra > d {
		d = ra
	}
	return d
}

// FinishFeedPull records a pull's outcome and schedules the next one.
func (s *Store) FinishFeedPull(ctx context.Context, id string, r FeedRun) error {
	f, err := s.FeedSpecOf(ctx, id)
	if errors.Is(err, ErrFeedNotFound) {
		return nil // removed while it was pulled
	}
	if err != nil {
		return err
	}
	next := versionKey(r.Started.Add(time.Duration(f.IntervalSeconds) * time.Second))
	if r.Err != nil {
		msg := r.Err.Error()
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		wait := FeedRetryDelay(time.Duration(f.IntervalSeconds)*time.Second, f.ConsecutiveFailures+1, r.RetryAfter, rand.Float64())
		_, err = s.db.Q().ExecContext(ctx, `UPDATE intel_feeds SET last_attempt = ?, last_error = ?, failures = failures + 1, consecutive_failures = consecutive_failures + 1, pulls = pulls + 1, next_run = ? WHERE id = ?`,
			versionKey(r.Started), msg, versionKey(r.Started.Add(wait)), id)
		return err
	}
	msg := ""
	if len(r.Refused) > 0 {
		msg = fmt.Sprintf("pulled, but left out %d: %s", len(r.Refused), r.Refused[0])
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
	}
	_, err = s.db.Q().ExecContext(ctx, `UPDATE intel_feeds SET last_attempt = ?, last_success = ?, last_error = ?, last_added = ?, pulls = pulls + 1, consecutive_failures = 0, next_run = ? WHERE id = ?`,
		versionKey(r.Started), versionKey(r.Started), msg, r.Added, next, id)
	return err
}
