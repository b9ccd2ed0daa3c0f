// Package httpd is Vigil's HTTP server plumbing shared by the REST API and
// the web UI: one routing table that records every route with how it is
// authenticated (so the tenant-isolation test can walk them all), request
// IDs, structured access logs, panic recovery with an error ID, security
// headers, caller identification (session cookie or bearer token) and
// Prometheus metrics.
package httpd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-health/vigil/internal/scope"
)

// Access says who may call a route.
type Access int

const (
	// Public routes need no sign-in (health, metrics, sign-in page, assets).
	Public Access = iota
	// Authenticated routes need a session or an API token; the handler gets
	// the caller's Scope, and every store query it makes applies it.
	Authenticated
)

// Route is one entry of the routing table.
type Route struct {
	Method  string
	Pattern string
	Access  Access
	// Area is "api" or "web" (or "ops" for health and metrics).
	Area    string
	Summary string
}

// Identifier resolves a request's credentials to a Scope. It returns
// ok=false when the request carries none (or invalid ones), and the CSRF
// token that state-changing form posts must echo when the credentials came
// from a session cookie ("" for bearer tokens, which browsers never send by
// themselves).
type Identifier interface {
	Identify(r *http.Request) (sc scope.Scope, csrf string, ok bool)
}

// Router is the routing table.
type Router struct {
	mux     *http.ServeMux
	routes  []Route
	ident   Identifier
	log     *slog.Logger
	tls     bool
	metrics *metrics
	// OnUnauthenticated answers an Authenticated route called without
	// credentials; the web UI redirects to sign-in. Areas without one
	// answer 401 through Fail.
	unauth  map[string]http.HandlerFunc
	failers map[string]Failer
	// idents are areas that identify callers their own way (IdentifyWith).
	idents  map[string]Identifier
	maxBody int64
	// errorPage renders an error for the web area (nil: plain text).
	errorPage func(w http.ResponseWriter, r *http.Request, status int, errID string)
	// onCSRFRefused is Options.OnCSRFRefused.
	onCSRFRefused func(r *http.Request, sc scope.Scope)
}

// Options configure a Router.
type Options struct {
	Identifier Identifier
	Logger     *slog.Logger
	// TLS turns on HSTS and Secure cookies.
	TLS bool
	// MaxBodyBytes bounds request bodies (default 64 MiB: a national
	// supplier register uploaded as CSV is about 16 MiB).
	MaxBodyBytes int64
	Registry     prometheus.Registerer
	// OnCSRFRefused, if set, is called (before the 403 is written) for
	// each request refused because its CSRF token was missing or wrong,
	// with the caller its session identified; app records it in the audit
	// log, which this package does not know.
	OnCSRFRefused func(r *http.Request, sc scope.Scope)
}

// NewRouter returns an empty routing table.
func NewRouter(o Options) (*Router, error) {
	if o.Identifier == nil {
		return nil, errors.New("httpd: Options.Identifier is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	rt := &Router{mux: http.NewServeMux(), ident: o.Identifier, log: o.Logger, tls: o.TLS, unauth: map[string]http.HandlerFunc{},
		failers: map[string]Failer{}, idents: map[string]Identifier{}, maxBody: o.MaxBodyBytes, onCSRFRefused: o.OnCSRFRefused}
	if o.Registry != nil {
		m, err := newMetrics(o.Registry)
		if err != nil {
			return nil, err
		}
		rt.metrics = m
	}
	return rt, nil
}

// TLS reports whether the server runs under TLS.
func (rt *Router) TLS() bool { return rt.tls }

// Routes returns the routing table.
func (rt *Router) Routes() []Route { return append([]Route(nil), rt.routes...) }

// OnUnauthenticated sets what an area answers to a caller without credentials.
func (rt *Router) OnUnauthenticated(area string, h http.HandlerFunc) { rt.unauth[area] = h }

// IdentifyWith makes an area identify its callers with id instead of the
// Router's Identifier: TAXII clients send HTTP Basic or a token, never a
// session cookie. Its routes are still Authenticated in the table, so the
// tenant-isolation walk covers them.
func (rt *Router) IdentifyWith(area string, id Identifier) { rt.idents[area] = id }

// Failer answers an error the router finds itself — no credentials, a
// failed CSRF check, a malformed address or form, an oversized body, a
// panic — in an area's own format (the API's problem documents). errID is
// set for 500s.
type Failer func(w http.ResponseWriter, r *http.Request, status int, detail, errID string)

// OnFail sets how an area other than "web" answers the router's own errors.
func (rt *Router) OnFail(area string, f Failer) { rt.failers[area] = f }

// MaxBodyBytes is the largest request body the router lets through.
func (rt *Router) MaxBodyBytes() int64 { return rt.maxBody }

// SizeText says a size in bytes the way limits are stated: "64 MiB",
// "1 MiB", "512 KiB", "100 bytes".
func SizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// SetErrorPage sets how the web area renders errors.
func (rt *Router) SetErrorPage(f func(w http.ResponseWriter, r *http.Request, status int, errID string)) {
	rt.errorPage = f
}

// Handler is an authenticated handler: it gets the caller's Scope.
type Handler func(w http.ResponseWriter, r *http.Request, sc scope.Scope)

// Handle registers h for method and pattern (Go 1.22 pattern syntax). For
// Authenticated routes, h is called only with a resolved Scope, and unsafe
// methods from a session must carry the session's CSRF token.
func (rt *Router) Handle(area, method, pattern string, access Access, summary string, h Handler) {
	rt.routes = append(rt.routes, Route{Method: method, Pattern: pattern, Access: access, Area: area, Summary: summary})
	full := method + " " + pattern
	rt.mux.Handle(full, rt.wrap(area, pattern, access, h))
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCSRF
	keyRoute
)

// RequestID returns the request's ID, also sent as X-Request-Id and logged.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// CSRFToken returns the session's CSRF token for forms ("" for tokens).
func CSRFToken(ctx context.Context) string {
	s, _ := ctx.Value(keyCSRF).(string)
	return s
}

// NewID returns a short random ID for requests and errors.
func NewID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ClientIP is the remote address without its port. Vigil does not trust
// X-Forwarded-For: a deployment behind a proxy sets the proxy to pass the
// real address at the TCP level or accepts the proxy's address here.
func ClientIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

func (rt *Router) wrap(area, pattern string, access Access, h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Defence in depth: every domain refuses NUL bytes and broken UTF-8
		// in what it stores, and here no handler sees them in an address
		// or query at all (PostgreSQL fails on them, which was a 500).
		if msg := badText(r.URL.Path, r.URL.Query()); msg != "" {
			rt.Fail(w, r, area, http.StatusBadRequest, "The address "+msg)
			return
		}
		// URL-encoded forms (sign-in included) are small and read whole by
		// their handlers anyway: check them here too. Multipart forms are
		// checked below once the CSRF check has parsed them.
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); !safeMethod(r.Method) && mt == "application/x-www-form-urlencoded" {
			if err := parseForm(r); err == nil {
				if msg := badText("", r.PostForm); msg != "" {
					rt.Fail(w, r, area, http.StatusBadRequest, "The form "+msg)
					return
				}
			}
		}
		if access == Public {
			h(w, r, scope.Scope{Remote: ClientIP(r)})
			return
		}
		ident := rt.ident
		if id := rt.idents[area]; id != nil {
			ident = id
		}
		sc, csrf, ok := ident.Identify(r)
		if !ok {
			if f := rt.unauth[area]; f != nil {
				f(w, r)
				return
			}
			rt.Fail(w, r, area, http.StatusUnauthorized, "Sign in first: send an API token as \"Authorization: Bearer vigil_…\" (vigil tokens create, or your account page).")
			return
		}
		if csrf != "" && !safeMethod(r.Method) {
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				if err := parseForm(r); err != nil {
					var mb *http.MaxBytesError
					if errors.As(err, &mb) {
						rt.Fail(w, r, area, http.StatusRequestEntityTooLarge, "The upload is larger than "+SizeText(mb.Limit)+", the most Vigil accepts in one request.")
						return
					}
				}
				got = r.PostFormValue("csrf")
			}
			if !constantEqual(csrf, got) {
				rt.log.Warn("csrf check failed", "path", r.URL.Path, "user", sc.Email, "request_id", RequestID(r.Context()))
				if rt.onCSRFRefused != nil {
					rt.onCSRFRefused(r, sc)
				}
				rt.Fail(w, r, area, http.StatusForbidden, "The form has expired or did not come from Vigil. Go back, reload the page and try again.")
				return
			}
			if msg := badText("", r.PostForm); msg != "" {
				rt.Fail(w, r, area, http.StatusBadRequest, "The form "+msg)
				return
			}
		}
		ctx := context.WithValue(r.Context(), keyCSRF, csrf)
		h(w, r.WithContext(ctx), sc)
	})
}

// parseForm parses a form body (multipart with up to 32 MiB in memory, as
// Request.FormValue would) and returns why it could not.
func parseForm(r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(32 << 20)
	}
	return r.ParseForm()
}

// badText says what is wrong with a path and form or query values that
// hold a NUL byte or are not valid UTF-8, or "" when nothing is.
func badText(path string, vals url.Values) string {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.ContainsRune(s, 0) }
	if bad(path) {
		return "holds a NUL byte or is not valid UTF-8."
	}
	for k, vs := range vals {
		for _, v := range vs {
			if bad(k) || bad(v) {
				return fmt.Sprintf("field %q holds a NUL byte or is not valid UTF-8.", strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "?"))
			}
		}
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func constantEqual(a, b string) bool {
	if len(a) != len(b) || a == "" {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// Fail answers an error the router found: the error page for web, the
// area's Failer (the API's problem documents) for the others.
func (rt *Router) Fail(w http.ResponseWriter, r *http.Request, area string, status int, msg string) {
	rt.fail(w, r, area, status, msg, "")
}

func (rt *Router) fail(w http.ResponseWriter, r *http.Request, area string, status int, msg, errID string) {
	if area == "web" && rt.errorPage != nil {
		rt.errorPage(w, r, status, errID)
		return
	}
	if f := rt.failers[area]; f != nil {
		f(w, r, status, msg, errID)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	id := ""
	if errID != "" {
		id = fmt.Sprintf(`,"error_id":%q`, errID)
	}
	fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d,"detail":%q%s}`, http.StatusText(status), status, msg, id)
}

// statusWriter records the status and size for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = 200
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// ServeHTTP runs the outer middleware (request ID, security headers,
// recovery, logging, metrics) around the routing table.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := NewID()
	ctx := context.WithValue(r.Context(), keyRequestID, id)
	r = r.WithContext(ctx)
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	// No inline script or style anywhere: everything comes from /static.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	if rt.tls {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	sw := &statusWriter{ResponseWriter: w}
	// Bound every request body before anything reads it — including the
	// CSRF check, which parses form bodies — so an oversized upload is
	// refused rather than spooled to disk.
	if r.Body != nil && r.ContentLength != 0 {
		r.Body = http.MaxBytesReader(sw, r.Body, rt.maxBody)
	}
	_, pattern := rt.mux.Handler(r)
	// A path segment that is a credential (a single-use link's {token}) is
	// not logged: the route's pattern stands for the path.
	path := r.URL.Path
	if strings.Contains(pattern, "{token}") {
		path = pattern
		if _, p, ok := strings.Cut(pattern, " "); ok {
			path = p
		}
	}
	area := "web"
	if strings.HasPrefix(r.URL.Path, "/api/") {
		area = "api"
	} else if strings.HasPrefix(r.URL.Path, "/taxii2/") {
		area = "taxii"
	}
	defer func() {
		aborted := false
		if p := recover(); p == http.ErrAbortHandler {
			// A handler cut a response it had begun (a streamed answer
			// that failed midway, or whose reader left): net/http then
			// drops the connection, so the client cannot take the
			// truncated body for a whole one. Logged below; re-raised last.
			aborted = true
		} else if p != nil {
			errID := NewID()
			rt.log.Error("panic", "error_id", errID, "request_id", id, "path", path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if sw.status == 0 {
				rt.fail(sw, r, area, http.StatusInternalServerError, "Something went wrong on our side. Quote the error ID if you report it.", errID)
			}
		}
		dur := time.Since(start)
		if sw.status == 0 {
			sw.status = 200
		}
		if pattern == "" {
			pattern = "unmatched"
		}
		if rt.metrics != nil {
			rt.metrics.requests.WithLabelValues(r.Method, pattern, strconv.Itoa(sw.status)).Inc()
			rt.metrics.latency.WithLabelValues(r.Method, pattern).Observe(dur.Seconds())
		}
		lvl := slog.LevelInfo
		switch {
		case sw.status >= 500:
			lvl = slog.LevelError
		case aborted:
			lvl = slog.LevelWarn
		}
		// The query string is not logged: it may carry an OIDC code.
		attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("path", path), slog.String("route", pattern), slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes), slog.Duration("duration", dur), slog.String("remote", ClientIP(r))}
		if aborted {
			attrs = append(attrs, slog.Bool("aborted", true))
		}
		rt.log.LogAttrs(r.Context(), lvl, "http", attrs...)
		if aborted {
			panic(http.ErrAbortHandler)
		}
	}()
	rt.mux.ServeHTTP(sw, r)
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_http_requests_total", Help: "HTTP requests by method, route and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vigil_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .5, 1, 2.5, 5}}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
