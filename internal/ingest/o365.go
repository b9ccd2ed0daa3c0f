package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/events"
)

// The Microsoft 365 / Entra ID poller (issue 16 item 5). For each tenant
// of the configuration file it signs in as the tenant's app registration
// with the OAuth 2.0 client-credentials grant, and then
//
//   - Office 365 Management Activity API (https://manage.office.com):
//     makes sure each content type has a subscription
//     (…/activity/feed/subscriptions/list, …/subscriptions/start), lists
//     the content blobs made available in a time window
//     (…/subscriptions/content?contentType&startTime&endTime, at most 24
//     hours and no more than 7 days back, more pages named by the
//     NextPageUri response header), fetches each blob's contentUri (a
//     JSON array of audit records) and publishes one event per record;
//   - Microsoft Graph (https://graph.microsoft.com): reads Entra ID's
//     /v1.0/auditLogs/signIns and /v1.0/auditLogs/directoryAudits from a
//     time on, following @odata.nextLink.
//
// Resume: per tenant and content type (or Graph log) a cursor in the
// JetStream key-value bucket O365CursorBucket holds the end of the last
// window finished and the content blobs (or Graph records) already
// published near it. A blob's records are published durably before the
// blob is written into the cursor, so a failure or restart at any point
// repeats at most that blob, and the repeated records carry the same
// event IDs (from the record's own Id), so the stream and the store keep
// them once. Each poll re-lists Overlap before the last end, because a
// blob can become listed a little after its contentCreated time.
//
// HTTP: 429 waits for Retry-After (seconds or an HTTP date) and retries;
// 5xx and 408 retry with backoff a few times before the poll fails (the
// next poll resumes from the cursor); a 401 fetches a new token once.

// ListenerO365 is the poller's name in Metrics and events' Source.Protocol.
const ListenerO365 = "o365"

// O365CursorBucket is the JetStream key-value bucket of the poller's
// cursors, one key per tenant and content type.
const O365CursorBucket = "INGEST_O365"

// Poller limits.
const (
	// o365MaxBody bounds one response body read into memory: a content
	// blob is typically a few MB; a larger body fails the poll rather
	// than exhaust memory.
	o365MaxBody = 128 << 20
	// o365MaxSeen bounds the IDs a cursor remembers, so its key-value
	// entry stays under NATS's 1 MB message limit; past it the oldest
	// are forgotten and a repeat is stopped by the event ID instead.
	o365MaxSeen = 5000
	// o365MaxWait caps a Retry-After; a longer one ends the poll, and the
	// next poll tries again.
	o365MaxWait = 10 * time.Minute
	// o365ThrottleRetries is how many 429s one request waits out.
	o365ThrottleRetries = 10
	// o365TimeLayout is the Management Activity API's startTime/endTime
	// layout (UTC).
	o365TimeLayout = "2006-01-02T15:04:05"
)

// O365Options configure NewO365Poller.
type O365Options struct {
	// Config is the loaded configuration file. Required.
	Config *O365Config
	// Conn is the bus's connection, for the cursor bucket. Required.
	Conn *nats.Conn
	// Namespace is the deployment's on the bus (bus.Bus.Namespace()):
	// the cursor bucket is named in it.
	Namespace bus.Namespace
	// Replicas of the cursor bucket (1 when 0), as the EVENTS stream's.
	Replicas int
	// Publisher, Normaliser and Metrics are the ingest service's.
	// Publisher and Normaliser are required.
	Publisher  *Publisher
	Normaliser *Normaliser
	Metrics    *Metrics
	// HTTPClient makes every request (a client with a 2-minute timeout
	// when nil).
	HTTPClient *http.Client
	// Retries is how many times a 5xx, 408 or network error is retried
	// (3 when 0; -1 for none); RetryBackoff the first wait, doubling (1s
	// when 0).
	Retries      int
	RetryBackoff time.Duration
	// Logger; nil discards. Now is the clock (time.Now when nil).
	Logger *slog.Logger
	Now    func() time.Time
}

// O365Poller polls every configured tenant. Build it with
// NewO365Poller; Poll runs one round (tests, a one-off catch-up), Start
// runs rounds every PollInterval until Close.
type O365Poller struct {
	o       O365Options
	cfg     *O365Config
	kv      jetstream.KeyValue
	tenants []*o365Tenant
	log     *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	closed bool
}

// o365Tenant is one tenant's clients and state.
type o365Tenant struct {
	O365Tenant
	p *O365Poller

	mu sync.Mutex
	// tokens by scope (the Management API's and Graph's are different
	// audiences).
	tokens map[string]oauth2.TokenSource
	// subscribed says the content types' subscriptions were checked in
	// this process.
	subscribed bool
	status     map[string]*O365Status
}

// O365Status is one tenant's content type (or Graph log) as last polled,
// for the ingest dashboard.
type O365Status struct {
	Tenant      string    `json:"tenant"`
	Stream      string    `json:"stream"`
	Org         string    `json:"org"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Cursor is the end of the last window finished.
	Cursor time.Time `json:"cursor,omitzero"`
	// Events published, blobs (or Graph pages) fetched, and 429s waited
	// out, since start.
	Events    int64 `json:"events"`
	Fetched   int64 `json:"fetched"`
	Throttled int64 `json:"throttled"`
}

// NewO365Poller checks the options and declares the cursor bucket.
func NewO365Poller(ctx context.Context, o O365Options) (*O365Poller, error) {
	switch {
	case o.Config == nil:
		return nil, errors.New("ingest o365: Config is required")
	case o.Conn == nil:
		return nil, errors.New("ingest o365: Conn is required")
	case o.Publisher == nil:
		return nil, errors.New("ingest o365: Publisher is required")
	case o.Normaliser == nil:
		return nil, errors.New("ingest o365: Normaliser is required")
	case o.Retries < -1:
		return nil, fmt.Errorf("ingest o365: Retries %d is below -1", o.Retries)
	case o.RetryBackoff < 0:
		return nil, fmt.Errorf("ingest o365: RetryBackoff %s is negative", o.RetryBackoff)
	}
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries == -1 {
		o.Retries = 0
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	js, err := jetstream.New(o.Conn)
	if err != nil {
		return nil, fmt.Errorf("ingest o365: JetStream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      o.Namespace.Name(O365CursorBucket),
		Description: "Microsoft 365 / Entra ID poller cursors, one per tenant and content type",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("ingest o365: cursor bucket %s: %w", o.Namespace.Name(O365CursorBucket), err)
	}
	p := &O365Poller{o: o, cfg: o.Config, kv: kv, log: o.Logger.With("listener", ListenerO365)}
	for _, t := range o.Config.Tenants {
		p.tenants = append(p.tenants, &o365Tenant{O365Tenant: t, p: p, tokens: map[string]oauth2.TokenSource{}, status: map[string]*O365Status{}})
	}
	return p, nil
}

// Start polls every tenant now and then every PollInterval, each tenant
// in its own goroutine, until Close. A failed round is logged and counted
// in Status; the next resumes from the cursors.
func (p *O365Poller) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.cancel != nil {
		return errors.New("ingest o365: poller already started or closed")
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel, p.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	for _, t := range p.tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(p.cfg.PollInterval)
			defer tick.Stop()
			for {
				if err := t.poll(ctx); err != nil && ctx.Err() == nil {
					p.log.Warn("o365 poll failed; the next poll resumes from the cursor", "tenant", t.Name, "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	go func() { wg.Wait(); close(p.done) }()
	p.log.Info("o365 poller started", "tenants", len(p.tenants), "interval", p.cfg.PollInterval.String())
	return nil
}

// Close stops polling and waits for the rounds in progress to stop; later
// calls do nothing.
func (p *O365Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Poll runs one round over every tenant and content type: each catches
// up to now. Errors are joined, each naming its tenant and content type.
func (p *O365Poller) Poll(ctx context.Context) error {
	var errs []error
	for _, t := range p.tenants {
		errs = append(errs, t.poll(ctx))
	}
	return errors.Join(errs...)
}

// Status returns every tenant's streams as last polled, sorted.
func (p *O365Poller) Status() []O365Status {
	var out []O365Status
	for _, t := range p.tenants {
		t.mu.Lock()
		for _, s := range t.status {
			out = append(out, *s)
		}
		t.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tenant != out[j].Tenant {
			return out[i].Tenant < out[j].Tenant
		}
		return out[i].Stream < out[j].Stream
	})
	return out
}

func (t *o365Tenant) stat(stream string) *O365Status {
	s := t.status[stream]
	if s == nil {
		s = &O365Status{Tenant: t.Name, Stream: stream, Org: t.Org}
		t.status[stream] = s
	}
	return s
}

func (t *o365Tenant) update(stream string, fn func(*O365Status)) {
	t.mu.Lock()
	fn(t.stat(stream))
	t.mu.Unlock()
}

// poll catches every stream of the tenant up; one stream's failure does
// not stop the others.
func (t *o365Tenant) poll(ctx context.Context) error {
	var errs []error
	if len(t.ContentTypes) > 0 {
		if err := t.subscribe(ctx); err != nil {
			// Every content type waits on its subscription: each shows
			// the error.
			for _, ct := range t.ContentTypes {
				_ = t.record(ct, err)
			}
			errs = append(errs, err)
		} else {
			for _, ct := range t.ContentTypes {
				errs = append(errs, t.record(ct, t.pollContent(ctx, ct)))
			}
		}
	}
	for _, log := range t.Entra {
		errs = append(errs, t.record(log, t.pollGraph(ctx, log)))
	}
	return errors.Join(errs...)
}

func (t *o365Tenant) record(stream string, err error) error {
	now := t.p.o.Now().UTC()
	t.update(stream, func(s *O365Status) {
		if err == nil {
			s.LastSuccess = now
		} else {
			s.LastError, s.LastErrorAt = err.Error(), now
		}
	})
	if err != nil {
		return fmt.Errorf("o365 tenant %s %s: %w", t.Name, stream, err)
	}
	return nil
}

// --- OAuth 2.0 client credentials -----------------------------------------

// O365AuthError is a refused sign-in: the token endpoint's error code and
// description (AADSTS…), never the secret.
type O365AuthError struct {
	Tenant, ClientID, Code, Description string
}

func (e *O365AuthError) Error() string {
	hint := ""
	switch e.Code {
	case "invalid_client", "unauthorized_client":
		hint = ": check the client secret (it may be wrong or expired) and client_id"
	case "invalid_request":
		hint = ": check tenant_id"
	}
	return fmt.Sprintf("sign-in as app %s to tenant %s refused: %s: %s%s", e.ClientID, e.Tenant, e.Code, e.Description, hint)
}

func (t *o365Tenant) tokenSource(ctx context.Context, scope string) oauth2.TokenSource {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ts := t.tokens[scope]; ts != nil {
		return ts
	}
	cc := clientcredentials.Config{
		ClientID: t.ClientID, ClientSecret: t.secret,
		TokenURL: t.p.cfg.LoginURL + "/" + url.PathEscape(t.TenantID) + "/oauth2/v2.0/token",
		Scopes:   []string{scope},
		// Microsoft's v2.0 endpoint documents client_id and
		// client_secret in the form body.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	// The token source keeps this context for its refreshes: the
	// poller's, not one request's.
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, t.p.o.HTTPClient)
	ts := cc.TokenSource(ctx)
	t.tokens[scope] = ts
	return ts
}

func (t *o365Tenant) dropToken(scope string) {
	t.mu.Lock()
	delete(t.tokens, scope)
	t.mu.Unlock()
}

func (t *o365Tenant) token(ctx context.Context, scope string) (string, error) {
	tok, err := t.tokenSource(ctx, scope).Token()
	if err != nil {
		// Forget the source so the next try signs in again.
		t.dropToken(scope)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return "", &O365AuthError{Tenant: t.TenantID, ClientID: t.ClientID, Code: re.ErrorCode, Description: firstLine(re.ErrorDescription)}
		}
		return "", fmt.Errorf("sign-in as app %s to tenant %s: %w", t.ClientID, t.TenantID, err)
	}
	return tok.AccessToken, nil
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// --- HTTP with throttling and retries -------------------------------------

// O365APIError is an error answer from the Management Activity API or
// Graph: {"error":{"code":"AF20022","message":"…"}}.
type O365APIError struct {
	Method, URL string
	Status      int
	Code        string
	Message     string
}

func (e *O365APIError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Code != "" || e.Message != "" {
		s += ": " + strings.TrimSpace(e.Code+" "+e.Message)
	}
	return s
}

// scopes of the two APIs' tokens.
func (t *o365Tenant) manageScope() string { return t.p.cfg.ManageURL + "/.default" }
func (t *o365Tenant) graphScope() string  { return t.p.cfg.GraphURL + "/.default" }

// sameOrigin says whether u is on base's scheme and host: a NextPageUri,
// contentUri or @odata.nextLink elsewhere would be handed the bearer
// token, so it is refused.
func sameOrigin(base, u string) bool {
	b, err1 := url.Parse(base)
	x, err2 := url.Parse(u)
	return err1 == nil && err2 == nil && b.Scheme == x.Scheme && strings.EqualFold(b.Host, x.Host)
}

// do sends method u with a bearer token for scope and returns the body
// of a 2xx answer and its header, waiting out 429s and retrying 5xx.
func (t *o365Tenant) do(ctx context.Context, stream, method, u, scope string) ([]byte, http.Header, error) {
	backoff := t.p.o.RetryBackoff
	failures, throttles, reauth := 0, 0, false
	for {
		tok, err := t.token(ctx, scope)
		if err != nil {
			return nil, nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		resp, err := t.p.o.HTTPClient.Do(req)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if failures >= t.p.o.Retries {
				return nil, nil, fmt.Errorf("%s %s: %w", method, u, err)
			}
			failures++
			wait, backoff = backoff, backoff*2
		} else {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, o365MaxBody+1))
			_ = resp.Body.Close() // read to the end or the limit: nothing more to learn
			switch {
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				if rerr != nil {
					return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", method, u, rerr)
				}
				if len(body) > o365MaxBody {
					return nil, nil, fmt.Errorf("%s %s: the answer is over %d MiB", method, u, o365MaxBody>>20)
				}
				return body, resp.Header, nil
			case resp.StatusCode == http.StatusTooManyRequests:
				throttles++
				t.update(stream, func(s *O365Status) { s.Throttled++ })
				wait = o365RetryAfter(resp.Header, t.p.o.Now(), backoff)
				if throttles > o365ThrottleRetries || wait > o365MaxWait {
					return nil, nil, apiError(method, u, resp.StatusCode, body)
				}
				t.p.log.Info("o365 throttled; waiting as Retry-After says", "tenant", t.Name, "stream", stream, "wait", wait.String())
			case resp.StatusCode == http.StatusUnauthorized && !reauth:
				// The token may have been revoked or expired early: sign in
				// again, once.
				reauth = true
				t.dropToken(scope)
				continue
			case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
				if failures >= t.p.o.Retries {
					return nil, nil, apiError(method, u, resp.StatusCode, body)
				}
				failures++
				wait, backoff = backoff, backoff*2
			default:
				return nil, nil, apiError(method, u, resp.StatusCode, body)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, ctx.Err()
		case <-timer.C:
		}
	}
}

func apiError(method, u string, status int, body []byte) error {
	e := &O365APIError{Method: method, URL: u, Status: status}
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil {
		e.Code, e.Message = b.Error.Code, firstLine(b.Error.Message)
	}
	return e
}

// o365RetryAfter reads Retry-After (delay-seconds or an HTTP date, RFC 9110
// section 10.2.3); def when absent or unreadable.
func o365RetryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return def
}

// --- subscriptions ----------------------------------------------------------

// subscribe starts the subscriptions the tenant's content types lack
// (once per process: a subscription, once started, stays on).
func (t *o365Tenant) subscribe(ctx context.Context) error {
	t.mu.Lock()
	done := t.subscribed
	t.mu.Unlock()
	if done {
		return nil
	}
	feed := t.p.cfg.ManageURL + "/api/v1.0/" + url.PathEscape(t.TenantID) + "/activity/feed/subscriptions/"
	pub := "PublisherIdentifier=" + url.QueryEscape(t.PublisherID)
	body, _, err := t.do(ctx, "subscriptions", http.MethodGet, feed+"list?"+pub, t.manageScope())
	if err != nil {
		return fmt.Errorf("o365 tenant %s: list subscriptions: %w", t.Name, err)
	}
	var subs []struct {
		ContentType string `json:"contentType"`
		Status      string `json:"status"`
	}
	if err := json.Unmarshal(body, &subs); err != nil {
		return fmt.Errorf("o365 tenant %s: list subscriptions: the answer is not a JSON array of subscriptions: %w", t.Name, err)
	}
	on := map[string]bool{}
	for _, s := range subs {
		if strings.EqualFold(s.Status, "enabled") {
			on[strings.ToLower(s.ContentType)] = true
		}
	}
	for _, ct := range t.ContentTypes {
		if on[strings.ToLower(ct)] {
			continue
		}
		if err := t.start(ctx, ct); err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.subscribed = true
	t.mu.Unlock()
	return nil
}

func (t *o365Tenant) start(ctx context.Context, ct string) error {
	u := t.p.cfg.ManageURL + "/api/v1.0/" + url.PathEscape(t.TenantID) + "/activity/feed/subscriptions/start?contentType=" +
		url.QueryEscape(ct) + "&PublisherIdentifier=" + url.QueryEscape(t.PublisherID)
	_, _, err := t.do(ctx, ct, http.MethodPost, u, t.manageScope())
	var ae *O365APIError
	// AF20024: the subscription is already enabled.
	if errors.As(err, &ae) && ae.Code == "AF20024" {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("o365 tenant %s: start the %s subscription: %w", t.Name, ct, err)
	}
	t.p.log.Info("o365 subscription started", "tenant", t.Name, "content_type", ct)
	return nil
}

// --- cursors ----------------------------------------------------------------

// o365Cursor is where a stream's polling stands: End is the end of the
// last window finished; Seen the blobs (Graph records) published at or
// after End-Overlap, by ID, with their time, so the overlapping re-list
// publishes none of them again.
type o365Cursor struct {
	End  time.Time            `json:"end"`
	Seen map[string]time.Time `json:"seen,omitempty"`

	rev uint64
}

func cursorKey(tenant, stream string) string {
	return strings.ToLower(tenant) + "." + strings.ReplaceAll(stream, ".", "_")
}

func (t *o365Tenant) loadCursor(ctx context.Context, stream string) (*o365Cursor, error) {
	c := &o365Cursor{Seen: map[string]time.Time{}}
	e, err := t.p.kv.Get(ctx, cursorKey(t.TenantID, stream))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("read the cursor: %w", err)
	}
	if err := json.Unmarshal(e.Value(), c); err != nil {
		return nil, fmt.Errorf("the cursor %s in bucket %s is not readable (delete the key to start again from initial_lookback): %w", e.Key(), t.p.o.Namespace.Name(O365CursorBucket), err)
	}
	if c.Seen == nil {
		c.Seen = map[string]time.Time{}
	}
	c.rev = e.Revision()
	return c, nil
}

// saveCursor writes c if nobody else changed it since it was read (a
// second server polling the same tenant): then this poll stops, and the
// events both published are one by their IDs.
func (t *o365Tenant) saveCursor(ctx context.Context, stream string, c *o365Cursor) error {
	if len(c.Seen) > o365MaxSeen {
		type kv struct {
			id string
			at time.Time
		}
		all := make([]kv, 0, len(c.Seen))
		for id, at := range c.Seen {
			all = append(all, kv{id, at})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].at.After(all[j].at) })
		for _, x := range all[o365MaxSeen:] {
			delete(c.Seen, x.id)
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	key := cursorKey(t.TenantID, stream)
	var rev uint64
	if c.rev == 0 {
		rev, err = t.p.kv.Create(ctx, key, b)
	} else {
		rev, err = t.p.kv.Update(ctx, key, b, c.rev)
	}
	if err != nil {
		return fmt.Errorf("save the cursor (another server may be polling this tenant): %w", err)
	}
	c.rev = rev
	t.update(stream, func(s *O365Status) { s.Cursor = c.End })
	return nil
}

// start returns where a stream's next window begins: the cursor's end
// less the overlap, never before oldest.
func (t *o365Tenant) windowStart(stream string, c *o365Cursor, now, oldest time.Time) time.Time {
	if c.End.IsZero() {
		c.End = now.Add(-t.p.cfg.InitialLookback)
	}
	if c.End.Before(oldest) {
		t.p.log.Warn("o365 cursor is older than Microsoft keeps content; events between are lost", "tenant", t.Name, "stream", stream, "cursor", c.End, "resume_from", oldest)
		c.End = oldest
	}
	return maxTime(c.End.Add(-t.p.cfg.Overlap), oldest)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// prune forgets the IDs older than the next window's start.
func (c *o365Cursor) prune(overlap time.Duration) {
	from := c.End.Add(-overlap)
	for id, at := range c.Seen {
		if at.Before(from) {
			delete(c.Seen, id)
		}
	}
}

// --- Management Activity API ----------------------------------------------

type o365Blob struct {
	ContentType string    `json:"contentType"`
	ContentID   string    `json:"contentId"`
	ContentURI  string    `json:"contentUri"`
	Created     time.Time `json:"contentCreated"`
}

// pollContent catches one content type up to now, a window of at most
// 24 hours at a time.
func (t *o365Tenant) pollContent(ctx context.Context, ct string) error {
	c, err := t.loadCursor(ctx, ct)
	if err != nil {
		return err
	}
	for {
		now := t.p.o.Now().UTC().Truncate(time.Second)
		// A minute's margin inside the seven days, so a request queued a
		// little is not refused as too old.
		oldest := now.Add(-o365Retention + time.Minute)
		start := t.windowStart(ct, c, now, oldest)
		end := start.Add(o365MaxWindow)
		if end.After(now) {
			end = now
		}
		if !end.After(c.End) {
			return nil
		}
		blobs, err := t.listContent(ctx, ct, start, end)
		if err != nil {
			return err
		}
		for _, b := range blobs {
			if _, done := c.Seen[b.ContentID]; done {
				continue
			}
			if err := t.fetchBlob(ctx, ct, b); err != nil {
				return err
			}
			c.Seen[b.ContentID] = b.Created
			if err := t.saveCursor(ctx, ct, c); err != nil {
				return err
			}
		}
		c.End = end
		c.prune(t.p.cfg.Overlap)
		if err := t.saveCursor(ctx, ct, c); err != nil {
			return err
		}
		if !end.Before(now) {
			return nil
		}
	}
}

// listContent lists the blobs of [start, end), every page, oldest first.
func (t *o365Tenant) listContent(ctx context.Context, ct string, start, end time.Time) ([]o365Blob, error) {
	u := t.p.cfg.ManageURL + "/api/v1.0/" + url.PathEscape(t.TenantID) + "/activity/feed/subscriptions/content?contentType=" +
		url.QueryEscape(ct) + "&startTime=" + start.UTC().Format(o365TimeLayout) + "&endTime=" + end.UTC().Format(o365TimeLayout) +
		"&PublisherIdentifier=" + url.QueryEscape(t.PublisherID)
	var all []o365Blob
	resubscribed := false
	for page := 1; u != ""; page++ {
		body, h, err := t.do(ctx, ct, http.MethodGet, u, t.manageScope())
		var ae *O365APIError
		// AF20022: no subscription for the content type; AF20023: it was
		// disabled. Start it again and repeat the listing once.
		if errors.As(err, &ae) && (ae.Code == "AF20022" || ae.Code == "AF20023") && !resubscribed {
			resubscribed = true
			if err := t.start(ctx, ct); err != nil {
				return nil, err
			}
			page--
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list content %s to %s, page %d: %w", start.Format(o365TimeLayout), end.Format(o365TimeLayout), page, err)
		}
		var blobs []o365Blob
		if err := json.Unmarshal(body, &blobs); err != nil {
			return nil, fmt.Errorf("list content page %d: the answer is not a JSON array of content blobs: %w", page, err)
		}
		for i, b := range blobs {
			if b.ContentID == "" || b.ContentURI == "" {
				return nil, fmt.Errorf("list content page %d: blob %d has no contentId or contentUri", page, i)
			}
			if !sameOrigin(t.p.cfg.ManageURL, b.ContentURI) {
				return nil, fmt.Errorf("list content page %d: blob %s's contentUri %s is not on %s; refusing to send it the token", page, b.ContentID, b.ContentURI, t.p.cfg.ManageURL)
			}
		}
		all = append(all, blobs...)
		u = h.Get("NextPageUri")
		if u != "" && !sameOrigin(t.p.cfg.ManageURL, u) {
			return nil, fmt.Errorf("list content page %d: NextPageUri %s is not on %s; refusing to send it the token", page, u, t.p.cfg.ManageURL)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Created.Equal(all[j].Created) {
			return all[i].Created.Before(all[j].Created)
		}
		return all[i].ContentID < all[j].ContentID
	})
	return all, nil
}

// fetchBlob fetches one blob's records and publishes them durably.
func (t *o365Tenant) fetchBlob(ctx context.Context, ct string, b o365Blob) error {
	body, _, err := t.do(ctx, ct, http.MethodGet, b.ContentURI, t.manageScope())
	if err != nil {
		return fmt.Errorf("fetch content %s: %w", b.ContentID, err)
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(body, &recs); err != nil {
		return fmt.Errorf("content %s: not a JSON array of records: %w", b.ContentID, err)
	}
	t.update(ct, func(s *O365Status) { s.Fetched++ })
	return t.publish(ctx, ct, recs)
}

// --- Microsoft Graph (Entra ID) --------------------------------------------

// pollGraph reads one Entra ID log from the cursor's end less the overlap
// up to now, every page; the cursor's end moves to the time the read
// began once every page is published.
func (t *o365Tenant) pollGraph(ctx context.Context, log string) error {
	c, err := t.loadCursor(ctx, log)
	if err != nil {
		return err
	}
	now := t.p.o.Now().UTC().Truncate(time.Second)
	// Entra ID keeps sign-ins and audits 30 days (7 without a P1/P2
	// licence); the cursor is not held to Microsoft's limit here, which
	// answers an error naming it.
	start := t.windowStart(log, c, now, now.Add(-30*24*time.Hour))
	field := "createdDateTime"
	if log == EntraDirectoryAudits {
		field = "activityDateTime"
	}
	// Spaces as %20, as Microsoft's examples send them (not '+').
	filter := strings.ReplaceAll(url.QueryEscape(field+" ge "+start.Format(time.RFC3339)), "+", "%20")
	u := t.p.cfg.GraphURL + "/v1.0/auditLogs/" + log + "?$filter=" + filter
	for page := 1; u != ""; page++ {
		body, _, err := t.do(ctx, log, http.MethodGet, u, t.graphScope())
		if err != nil {
			return fmt.Errorf("read %s page %d: %w", log, page, err)
		}
		var pg struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return fmt.Errorf("%s page %d: not a Graph collection: %w", log, page, err)
		}
		var fresh []json.RawMessage
		var seen []graphRecord
		for _, raw := range pg.Value {
			r := graphRecordOf(raw)
			if _, done := c.Seen[r.ID]; done && r.ID != "" {
				continue
			}
			fresh = append(fresh, raw)
			seen = append(seen, r)
		}
		if err := t.publish(ctx, log, fresh); err != nil {
			return err
		}
		t.update(log, func(s *O365Status) { s.Fetched++ })
		for _, r := range seen {
			if r.ID != "" {
				c.Seen[r.ID] = r.At
			}
		}
		if err := t.saveCursor(ctx, log, c); err != nil {
			return err
		}
		u = pg.NextLink
		if u != "" && !sameOrigin(t.p.cfg.GraphURL, u) {
			return fmt.Errorf("%s page %d: @odata.nextLink %s is not on %s; refusing to send it the token", log, page, u, t.p.cfg.GraphURL)
		}
	}
	c.End = now
	c.prune(t.p.cfg.Overlap)
	return t.saveCursor(ctx, log, c)
}

type graphRecord struct {
	ID string
	At time.Time
}

func graphRecordOf(raw json.RawMessage) graphRecord {
	var r struct {
		ID       string `json:"id"`
		Created  string `json:"createdDateTime"`
		Activity string `json:"activityDateTime"`
	}
	_ = json.Unmarshal(raw, &r) // a record that is not an object keeps no ID: it is published, raw
	at, _ := parseAnyTime(r.Created)
	if at.IsZero() {
		at, _ = parseAnyTime(r.Activity)
	}
	return graphRecord{ID: r.ID, At: at}
}

// --- records to events ------------------------------------------------------

// o365LogSource is the Sigma log source of each stream: the Management
// Activity API's records are Microsoft 365's unified audit log (product
// m365, service audit, whatever the workload); Graph's are Entra ID's
// (product azure).
func o365LogSource(stream string) (product, service string) {
	switch stream {
	case EntraSignIns:
		return "azure", "signinlogs"
	case EntraDirectoryAudits:
		return "azure", "auditlogs"
	}
	return "m365", "audit"
}

// O365EventID is the event ID of the record with the given Id in a
// tenant's stream (a content type, or a Graph log): the same record
// fetched again (an overlapping window, a blob refetched after a failure,
// a second server) is the same event. The stream is part of it because
// Graph's sign-in and the unified audit log's UserLoggedIn record of one
// sign-in are two different records, which may share a GUID.
func O365EventID(tenant, stream, recordID string) string {
	h := sha256.Sum256([]byte(ListenerO365 + "\x00" + strings.ToLower(tenant) + "\x00" + stream + "\x00" + recordID))
	return hex.EncodeToString(h[:16])
}

// o365Event makes one record an event.
func (t *o365Tenant) o365Event(stream string, raw []byte, received time.Time) events.Event {
	ev := t.p.o.Normaliser.Normalise(Record{Raw: raw, Source: events.Source{Protocol: ListenerO365, Addr: t.TenantID}, ReceivedAt: received})
	ev.Org = t.Org
	var r struct {
		ID       string `json:"id"` // the Management API's Id, Graph's id
		Created  string `json:"createdDateTime"`
		Activity string `json:"activityDateTime"`
	}
	if json.Unmarshal(raw, &r) == nil && r.ID != "" {
		ev.ID = O365EventID(t.TenantID, stream, r.ID)
	}
	ev.Product, ev.Service = o365LogSource(stream)
	ev.Category = ""
	for _, s := range []string{r.Created, r.Activity} {
		if at, ok := parseAnyTime(s); ok {
			ev.EventTime = at
			break
		}
	}
	if ev.ParseError == "" && stream == EntraSignIns {
		// Sigma's signinlogs rules name the Azure Monitor columns; Graph
		// gives the same values under status.
		if _, ok := ev.Fields["ResultType"]; !ok {
			if v, ok := ev.Fields["status.errorCode"]; ok {
				ev.Fields["ResultType"] = events.FieldText(v)
			}
		}
		if _, ok := ev.Fields["ResultDescription"]; !ok {
			if v, ok := ev.Fields["status.failureReason"]; ok {
				ev.Fields["ResultDescription"] = v
			}
		}
	}
	return ev
}

// publish makes recs events and publishes them durably, counting them.
func (t *o365Tenant) publish(ctx context.Context, stream string, recs []json.RawMessage) error {
	if len(recs) == 0 {
		return nil
	}
	now := t.p.o.Now().UTC()
	evs := make([]events.Event, len(recs))
	acc := make([]acceptedEvent, len(recs))
	sender := t.Name + "/" + stream
	for i, raw := range recs {
		evs[i] = t.o365Event(stream, raw, now)
		acc[i] = acceptedEvent{org: t.Org, addr: sender, bytes: len(evs[i].Raw), parseError: evs[i].ParseError != ""}
	}
	if err := t.p.o.Publisher.Publish(ctx, evs); err != nil {
		return err
	}
	t.p.o.Metrics.accepted(ListenerO365, now, acc)
	t.update(stream, func(s *O365Status) { s.Events += int64(len(evs)) })
	return nil
}
