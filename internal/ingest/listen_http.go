package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
)

// Sender is who an ingest token identifies: the one organisation whose
// events it may post, and the token's label (recorded as
// events.Source.Token).
type Sender struct {
	Org   string
	Label string
}

// Authenticate resolves an ingest token. An unknown, wrong or revoked
// token is fault.ErrNotFound, an expired one ErrTokenExpired; any other
// error is the service failing. The composition root adapts
// auth.Service.IngestSender to it:
//
//	func(ctx context.Context, tok string) (ingest.Sender, error) {
//		t, err := authSvc.IngestSender(ctx, tok)
//		if errors.Is(err, auth.ErrExpired) {
//			err = ingest.ErrTokenExpired
//		}
//		return ingest.Sender{Org: t.Org, Label: t.Name}, err
//	}
type Authenticate func(ctx context.Context, token string) (Sender, error)

// ErrTokenExpired is an ingest token past its expiry.
var ErrTokenExpired = errors.New("ingest token expired")

// HTTP defaults.
const (
	// DefaultMaxBody bounds one request's body after decompression:
	// above Filebeat's, Fluent Bit's and Logstash's usual batches (a few
	// MiB) and Vector's 10 MB default, with room.
	DefaultMaxBody = 32 << 20
	// DefaultMaxRequests bounds requests being read or published at
	// once; one more is answered 429. With DefaultMaxBody this bounds
	// the HTTP listeners' memory at about 16 × 32 MiB of bodies plus
	// their events.
	DefaultMaxRequests = 16
	// retryAfter is what 429 and 503 answers ask senders to wait, in
	// seconds.
	retryAfter = "1"
)

// HTTPOptions configure the HTTP handlers.
type HTTPOptions struct {
	// Authenticate resolves ingest tokens. Required.
	Authenticate Authenticate
	// Normaliser, Publisher, Metrics, Logger and Now as for listeners;
	// Normaliser and Publisher required.
	Normaliser *Normaliser
	Publisher  *Publisher
	Metrics    *Metrics
	Logger     *slog.Logger
	Now        func() time.Time
	// MaxBody bounds a request body after decompression
	// (DefaultMaxBody when 0).
	MaxBody int64
	// MaxRequests bounds requests in progress (DefaultMaxRequests when
	// 0); beyond it senders get 429.
	MaxRequests int
	// ESVersion is the Elasticsearch version the _bulk handler reports
	// (DefaultESVersion when ""). Beats refuse a server older than
	// themselves unless allow_older_versions is set.
	ESVersion string
}

func (o *HTTPOptions) validate() error {
	switch {
	case o.Authenticate == nil:
		return errors.New("ingest HTTP: Authenticate is required")
	case o.Normaliser == nil:
		return errors.New("ingest HTTP: Normaliser is required")
	case o.Publisher == nil:
		return errors.New("ingest HTTP: Publisher is required")
	case o.MaxBody < 0 || o.MaxRequests < 0:
		return errors.New("ingest HTTP: MaxBody and MaxRequests must not be negative")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.ESVersion == "" {
		o.ESVersion = DefaultESVersion
	}
	return nil
}

// httpBase is what both HTTP handlers share: authentication, the request
// bound, bodies.
type httpBase struct {
	o     HTTPOptions
	slots chan struct{}
}

func newHTTPBase(o HTTPOptions) (httpBase, error) {
	if err := o.validate(); err != nil {
		return httpBase{}, err
	}
	return httpBase{o: o, slots: make(chan struct{}, o.MaxRequests)}, nil
}

// tokenFrom finds the ingest token in the Authorization header, in any
// of the forms log shippers send: "Bearer TOKEN" (Vigil's own), "Basic"
// with the token as password (Beats, Fluent Bit, Vector and Logstash
// with a username and password; the username is ignored, unless the
// password is empty), or "ApiKey"
// (Elastic's API keys: base64 of "id:key", where the token is the key —
// or the token itself unencoded).
func tokenFrom(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer":
		return cred
	case "basic":
		if user, pass, ok := r.BasicAuth(); ok {
			if pass == "" {
				return user // a shipper that has only a user name field
			}
			return pass
		}
	case "apikey":
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, key, ok := strings.Cut(string(dec), ":"); ok {
				return key
			}
			return string(dec)
		}
		return cred
	}
	return ""
}

// errUnauthorized is a request without a valid ingest token.
type errUnauthorized struct{ reason string }

func (e *errUnauthorized) Error() string { return e.reason }

// authenticate resolves the request's token.
func (h *httpBase) authenticate(r *http.Request) (Sender, error) {
	tok := tokenFrom(r)
	if tok == "" {
		return Sender{}, &errUnauthorized{"an ingest token is required: send Authorization: Bearer <token> (make one with vigil tokens create --ingest)"}
	}
	s, err := h.o.Authenticate(r.Context(), tok)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		return Sender{}, &errUnauthorized{"the ingest token is not valid (unknown, wrong or revoked)"}
	case errors.Is(err, ErrTokenExpired):
		return Sender{}, &errUnauthorized{"the ingest token has expired; ask the organisation's administrator for a new one"}
	case err != nil:
		return Sender{}, err
	case !orgCode().MatchString(s.Org):
		return Sender{}, fmt.Errorf("ingest token for %q: not an organisation code", s.Org)
	}
	return s, nil
}

// acquire takes a request slot, or reports none free.
func (h *httpBase) acquire() bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (h *httpBase) release() { <-h.slots }

// errTooLarge is a body over MaxBody.
type errTooLarge struct{ limit int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("the body is over the %d-byte limit (after decompression); send smaller batches", e.limit)
}

// errEncoding is a Content-Encoding Vigil does not read.
type errEncoding struct{ enc string }

func (e *errEncoding) Error() string {
	return fmt.Sprintf("Content-Encoding %q is not supported; send gzip or no encoding", e.enc)
}

// errBadBody is a body that cannot be read (broken gzip, a connection cut
// mid-body).
type errBadBody struct{ reason string }

func (e *errBadBody) Error() string { return e.reason }

// body returns the request body, decompressed, bounded by MaxBody.
func (h *httpBase) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	raw := http.MaxBytesReader(w, r.Body, h.o.MaxBody)
	var rd io.Reader = raw
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &errTooLarge{h.o.MaxBody}
			}
			return nil, &errBadBody{"the gzip body is not valid: " + err.Error()}
		}
		// Close only releases the decompressor; a corrupt stream has
		// already failed the read below.
		defer func() { _ = zr.Close() }()
		rd = zr
	default:
		return nil, &errEncoding{enc}
	}
	// One byte more than the limit tells a body at the limit from one
	// over it (a gzip bomb stops here, not in memory).
	data, err := io.ReadAll(io.LimitReader(rd, h.o.MaxBody+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), int64(len(data)) > h.o.MaxBody:
		return nil, &errTooLarge{h.o.MaxBody}
	case err != nil:
		return nil, &errBadBody{"the body could not be read: " + err.Error()}
	}
	return data, nil
}

// lines calls fn for each non-blank line of data with its 1-based
// number; fn returning an error stops it.
func lines(data []byte, fn func(n int, line []byte) error) error {
	n := 0
	for len(data) > 0 {
		n++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return nil
}

// httpRecord normalises one posted line for sender.
func (h *httpBase) httpRecord(line []byte, protocol string, sender Sender, remote netip.AddrPort, now time.Time) events.Event {
	src := events.Source{Protocol: protocol, Token: sender.Label}
	if remote.IsValid() {
		src.Addr = remote.String()
	}
	ev := h.o.Normaliser.Normalise(Record{Raw: line, Source: src, ReceivedAt: now})
	ev.Org = sender.Org
	return ev
}

// claimedOrg returns the organisation an event names itself as, from its
// top-level "org" field ("" when it names none). Vigil's own exported
// events carry one; so may a sender's.
func claimedOrg(ev *events.Event) string {
	if s, ok := ev.Fields["org"].(string); ok {
		return strings.ToUpper(strings.TrimSpace(s))
	}
	return ""
}

func requestRemote(r *http.Request) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap
}

// EventsHandler is POST /api/v1/events: newline-delimited JSON, one
// event per line (any JSON shape Vigil parses — Winlogbeat, EVTX JSON,
// Zeek, Suricata EVE, a flat object), optionally gzip-compressed, with
// an ingest token. Every event belongs to the token's organisation; a
// line whose top-level "org" names another is refused. The batch is all
// or nothing: any bad line refuses the whole request with 400 naming the
// line, and 200 comes only once every event is on the stream.
type EventsHandler struct {
	httpBase
}

// NewEventsHandler returns the handler; the API layer mounts it at
// POST /api/v1/events.
func NewEventsHandler(o HTTPOptions) (*EventsHandler, error) {
	b, err := newHTTPBase(o)
	if err != nil {
		return nil, err
	}
	return &EventsHandler{b}, nil
}

// EventsResult is the answer to an accepted batch.
type EventsResult struct {
	// Accepted is how many events are now durably on the stream.
	Accepted int `json:"accepted"`
}

// LineError names one refused line.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (h *EventsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeProblem(w, r, http.StatusMethodNotAllowed, "POST newline-delimited JSON events here", nil)
		return
	}
	sender, err := h.authenticate(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.acquire() {
		w.Header().Set("Retry-After", retryAfter)
		writeProblem(w, r, http.StatusTooManyRequests, "Vigil is receiving as many batches as it can; retry after the Retry-After seconds", nil)
		return
	}
	defer h.release()
	data, err := h.body(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now, remote := h.o.Now(), requestRemote(r)
	var evs []events.Event
	var bad []LineError
	_ = lines(data, func(n int, line []byte) error {
		if t := bytes.TrimLeft(line, " \t\ufeff"); len(t) == 0 || t[0] != '{' {
			bad = append(bad, LineError{n, "not a JSON object: each line must be one event as a JSON object"})
			return nil
		}
		// An Azure Monitor / Event Hub message is its records.
		recs, ok := SplitAzureRecords(line)
		if !ok {
			recs = []json.RawMessage{line}
		}
		for _, rec := range recs {
			ev := h.httpRecord(rec, ListenerHTTP, sender, remote, now)
			if ev.ParseError != "" && !ev.Truncated {
				bad = append(bad, LineError{n, "not valid JSON: " + ev.ParseError})
				return nil
			}
			if c := claimedOrg(&ev); c != "" && c != sender.Org {
				bad = append(bad, LineError{n, fmt.Sprintf("the event's org is %s, but this ingest token posts for %s only", c, sender.Org)})
				return nil
			}
			evs = append(evs, ev)
		}
		return nil
	})
	if len(bad) > 0 {
		detail := fmt.Sprintf("line %d: %s", bad[0].Line, bad[0].Reason)
		if len(bad) > 1 {
			detail += fmt.Sprintf(" (and %d more lines; nothing was stored)", len(bad)-1)
		} else {
			detail += " (nothing was stored)"
		}
		if len(bad) > 100 {
			bad = bad[:100]
		}
		writeProblem(w, r, http.StatusBadRequest, detail, bad)
		return
	}
	if err := h.o.Publisher.TryPublish(r.Context(), evs); err != nil {
		h.fail(w, r, err)
		return
	}
	h.o.Metrics.accepted(ListenerHTTP, h.o.Now(), acceptedOf(evs, remote))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(EventsResult{Accepted: len(evs)})
}

// acceptedOf is the metrics' view of a published HTTP batch.
func acceptedOf(evs []events.Event, remote netip.AddrPort) []acceptedEvent {
	host := ""
	if remote.IsValid() {
		host = remote.Addr().Unmap().String()
	}
	acc := make([]acceptedEvent, len(evs))
	for i := range evs {
		acc[i] = acceptedEvent{org: evs[i].Org, addr: host, token: evs[i].Source.Token, bytes: len(evs[i].Raw), parseError: evs[i].ParseError != ""}
	}
	return acc
}

// fail answers err as a problem document.
func (h *EventsHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := h.classify(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil ingest"`)
	}
	writeProblem(w, r, status, detail, nil)
}

// classify maps an error of the HTTP path to its status and the words a
// sender's operator reads; failures of Vigil itself are logged, not
// told.
func (h *httpBase) classify(err error) (int, string) {
	var ua *errUnauthorized
	var tl *errTooLarge
	var ee *errEncoding
	var bb *errBadBody
	switch {
	case errors.As(err, &ua):
		return http.StatusUnauthorized, ua.reason
	case errors.As(err, &tl):
		return http.StatusRequestEntityTooLarge, tl.Error()
	case errors.As(err, &ee):
		return http.StatusUnsupportedMediaType, ee.Error()
	case errors.Is(err, ErrBusy):
		return http.StatusTooManyRequests, "Vigil has as many events in flight as it holds; retry after the Retry-After seconds"
	case errors.As(err, &bb):
		return http.StatusBadRequest, bb.reason
	}
	h.o.Logger.Warn("ingest HTTP: batch not stored", "err", err)
	return http.StatusServiceUnavailable, "the events could not be stored now (nothing was acknowledged); retry after the Retry-After seconds"
}

// Problem types: the same closed set as the API's (internal/api), which
// this package cannot import (the API mounts these handlers).
const problemBase = "https://vigil.nhs.invalid/problems/"

type problem struct {
	Type     string      `json:"type"`
	Title    string      `json:"title"`
	Status   int         `json:"status"`
	Detail   string      `json:"detail,omitempty"`
	Instance string      `json:"instance,omitempty"`
	Lines    []LineError `json:"lines,omitempty"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string, lines []LineError) {
	t := "bad-request"
	switch status {
	case http.StatusUnauthorized:
		t = "unauthorized"
	case http.StatusTooManyRequests:
		t = "rate-limited"
	case http.StatusServiceUnavailable:
		t = "unavailable"
	}
	if lines != nil {
		t = "validation"
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: problemBase + t, Title: http.StatusText(status), Status: status,
		Detail: detail, Instance: r.URL.Path, Lines: lines})
}
