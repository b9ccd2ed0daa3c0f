package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-health/vigil/internal/config"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverLogged signs in with a password, fails a sign-in, and
// uses an API token, with debug logging on, and then looks for each secret
// in everything the server logged.
func TestSecretsNeverLogged(t *testing.T) {
	var logs syncBuffer
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.LogLevel = "debug"
	cfg.LogFormat = "json"
	s, err := Start(context.Background(), cfg, NewLogger(cfg, &logs))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := newFixture(t, s)
	const wrong = "Wrong-Password-Not-To-Log"
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	for _, pw := range []string{wrong, "correct horse battery"} {
		_, page := get(t, c, s.url("/signin"), "")
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no csrf field on the sign-in form")
		}
		res, err := c.PostForm(s.url("/signin"), url.Values{"csrf": {m[1]}, "email": {f.alice.Email}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	res, body := get(t, c, s.url("/"), "")
	if res.StatusCode != 200 || !strings.Contains(body, "Alice") {
		t.Fatalf("sign-in did not work: %d", res.StatusCode)
	}
	get(t, http.DefaultClient, s.url("/api/v1/me"), f.aliceTok)
	get(t, http.DefaultClient, s.url("/api/v1/me"), f.aliceTok+"x") // a bad token is logged as a 401, not echoed
	var session string
	for _, ck := range jar.Cookies(res.Request.URL) {
		if strings.Contains(ck.Name, "session") {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie")
	}
	out := logs.String()
	if !strings.Contains(out, `"path":"/signin"`) {
		t.Fatalf("the log did not capture the requests:\n%.500s", out)
	}
	secret := strings.SplitN(f.aliceTok, ".", 2)[1]
	for name, v := range map[string]string{"password": "correct horse battery", "wrong password": wrong, "token secret": secret, "session": session} {
		if strings.Contains(out, v) {
			t.Errorf("the log contains the %s", name)
		}
	}
}
