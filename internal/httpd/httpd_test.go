package httpd

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/scope"
)

type fixedIdentity struct{}

func (fixedIdentity) Identify(r *http.Request) (scope.Scope, string, bool) {
	return scope.Scope{UserID: "u"}, "", r.Header.Get("Authorization") != ""
}

func TestRouterBasics(t *testing.T) {
	rt, err := NewRouter(Options{Identifier: fixedIdentity{}, Logger: nil, MaxBodyBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	var read int
	rt.Handle("api", "POST", "/api/v1/echo", Authenticated, "echo", func(w http.ResponseWriter, r *http.Request, sc scope.Scope) {
		b, err := io.ReadAll(r.Body)
		read = len(b)
		if err != nil {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		io.WriteString(w, sc.UserID)
	})
	rt.Handle("api", "GET", "/boom", Public, "panics", func(w http.ResponseWriter, r *http.Request, _ scope.Scope) { panic("boom") })

	do := func(method, path, body string, auth bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer x")
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, req)
		return w
	}
	if w := do("POST", "/api/v1/echo", "hi", false); w.Code != 401 {
		t.Errorf("no credentials: %d", w.Code)
	}
	if w := do("POST", "/api/v1/echo", "hi", true); w.Code != 200 || w.Body.String() != "u" {
		t.Errorf("with credentials: %d %q", w.Code, w.Body.String())
	}
	if w := do("POST", "/api/v1/echo", strings.Repeat("x", 101), true); w.Code != http.StatusRequestEntityTooLarge || read > 100 {
		t.Errorf("oversized body: %d, read %d bytes", w.Code, read)
	}
	w := do("GET", "/boom", "", false)
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"error_id"`) {
		t.Errorf("panic: %d %s", w.Code, w.Body.String())
	}
	if w.Header().Get("X-Request-Id") == "" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("headers: %v", w.Header())
	}
	if len(rt.Routes()) != 2 || rt.Routes()[0].Access != Authenticated {
		t.Errorf("routes: %+v", rt.Routes())
	}
}

// TestAbortedResponseIsCut: a handler that has begun a streamed answer and
// fails midway panics with http.ErrAbortHandler; the router logs it and
// lets net/http drop the connection, so the client sees an incomplete
// response instead of a truncated one that ends cleanly.
func TestAbortedResponseIsCut(t *testing.T) {
	var logs strings.Builder
	rt, err := NewRouter(Options{Identifier: fixedIdentity{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rt.Handle("api", "GET", "/api/v1/stream", Public, "streams", func(w http.ResponseWriter, r *http.Request, _ scope.Scope) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[`+strings.Repeat(`"x",`, 10000))
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewServer(rt)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != 200 || err == nil {
		t.Fatalf("status %d, %d bytes, read error %v: the cut response looked whole", res.StatusCode, len(b), err)
	}
	srv.Close() // waits for the handler, and so for its log line
	if !strings.Contains(logs.String(), "aborted=true") || strings.Contains(logs.String(), "msg=panic") {
		t.Errorf("logs: %s", logs.String())
	}
}

// machineIdentity accepts only "Authorization: Basic m".
type machineIdentity struct{}

func (machineIdentity) Identify(r *http.Request) (scope.Scope, string, bool) {
	return scope.Scope{UserID: "machine"}, "", r.Header.Get("Authorization") == "Basic m"
}

// TestIdentifyWith: an area with its own Identifier uses it alone (the
// Router's does not let a caller in there), other areas keep the
// Router's, and the area's unauthenticated handler answers.
func TestIdentifyWith(t *testing.T) {
	rt, err := NewRouter(Options{Identifier: fixedIdentity{}})
	if err != nil {
		t.Fatal(err)
	}
	rt.IdentifyWith("taxii", machineIdentity{})
	rt.OnUnauthenticated("taxii", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	who := func(w http.ResponseWriter, r *http.Request, sc scope.Scope) { io.WriteString(w, sc.UserID) }
	rt.Handle("taxii", "GET", "/taxii2/{$}", Authenticated, "t", who)
	rt.Handle("api", "GET", "/api/v1/me", Authenticated, "me", who)
	do := func(path, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, req)
		return w
	}
	if w := do("/taxii2/", "Bearer x"); w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("the Router's credentials on taxii: %d %v", w.Code, w.Header())
	}
	if w := do("/taxii2/", "Basic m"); w.Code != 200 || w.Body.String() != "machine" {
		t.Errorf("the area's credentials: %d %q", w.Code, w.Body.String())
	}
	if w := do("/api/v1/me", "Bearer x"); w.Code != 200 || w.Body.String() != "u" {
		t.Errorf("api keeps the Router's Identifier: %d %q", w.Code, w.Body.String())
	}
}

// TestTokenInPathNotLogged: a path segment named {token} (a single-use
// link's credential) is logged as the route's pattern, not as sent.
func TestTokenInPathNotLogged(t *testing.T) {
	var logs strings.Builder
	rt, err := NewRouter(Options{Identifier: fixedIdentity{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rt.Handle("web", "GET", "/assurance/link/{token}", Public, "link", func(w http.ResponseWriter, r *http.Request, _ scope.Scope) {
		io.WriteString(w, "ok")
	})
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, httptest.NewRequest("GET", "/assurance/link/s3cretTOKENvalue", nil))
	if w.Code != 200 || strings.Contains(logs.String(), "s3cretTOKENvalue") || !strings.Contains(logs.String(), "path=/assurance/link/{token}") {
		t.Errorf("status %d, logs: %s", w.Code, logs.String())
	}
}
