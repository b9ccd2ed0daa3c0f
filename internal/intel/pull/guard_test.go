package pull

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestGuard: the feeds' default client refuses loopback, private and
// link-local targets — by the URL's host and by the address dialled —
// and follows no redirect into them; AllowPrivate lets them through.
// Public addresses pass.
func TestGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "http://10.0.0.1/", http.StatusFound)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	c := guardedClient(false)
	for _, u := range []string{srv.URL, "http://localhost" + port, "http://[::1]" + port, "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://100.64.0.1/"} {
		_, err := c.Get(u)
		var pe *ErrPrivateAddress
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a refusal", u, err)
		}
	}
	if res, err := guardedClient(true).Get(srv.URL); err != nil || res.StatusCode != 204 {
		t.Errorf("allowed: %v", err)
	}
	c.Transport = http.DefaultTransport // reach the test server, then check the redirect out of it
	_, err := c.Get(srv.URL + "/hop")
	var pe *ErrPrivateAddress
	if !errors.As(err, &pe) || pe.Addr != "10.0.0.1" {
		t.Errorf("redirect to a private address: %v", err)
	}
	for _, a := range []string{"203.0.113.7", "2001:db8::1", "8.8.8.8"} {
		if err := checkHost(a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
}
