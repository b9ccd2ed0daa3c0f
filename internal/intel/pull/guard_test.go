package pull

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
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

// TestGuardBehindProxy: with a proxy configured the server dials the
// proxy (on loopback here, which is allowed: it is the proxy), so the
// guard resolves each feed's host itself. A name resolving to a private
// address, a literal private address and a name that does not resolve
// are refused before the proxy sees anything; a public name goes
// through the proxy; a host the proxy settings send direct (NO_PROXY)
// is still checked at the dial.
func TestGuardBehindProxy(t *testing.T) {
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.String())
		w.WriteHeader(http.StatusNoContent)
	}))
	defer proxy.Close()
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer direct.Close()
	pu, _ := url.Parse(proxy.URL)
	oldProxy, oldLookup := proxyFor, lookupIP
	t.Cleanup(func() { proxyFor, lookupIP = oldProxy, oldLookup })
	proxyFor = func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "localhost" {
			return nil, nil // NO_PROXY
		}
		return pu, nil
	}
	lookupIP = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		switch host {
		case "intranet.feed.test":
			return []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("10.20.30.40")}, nil
		case "metadata.feed.test":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		case "public.feed.test":
			return []netip.Addr{netip.MustParseAddr("192.0.2.80")}, nil
		}
		return nil, errors.New("no such host")
	}
	c := guardedClient(false)
	for _, u := range []string{"http://intranet.feed.test/taxii2/", "http://metadata.feed.test/latest/", "http://10.1.2.3/", "http://LocalHost./", "http://a.localhost/"} {
		_, err := c.Get(u)
		var pe *ErrPrivateAddress
		if !errors.As(err, &pe) {
			t.Errorf("%s through the proxy: %v, want a refusal", u, err)
		}
	}
	// Sent direct (localhost is in NO_PROXY here): past the host check
	// (the transport under it), the address dialled is refused.
	port := direct.URL[strings.LastIndex(direct.URL, ":"):]
	req, _ := http.NewRequest("GET", "http://localhost"+port+"/", nil)
	_, err := c.Transport.(hostCheck).next.RoundTrip(req)
	var pe *ErrPrivateAddress
	if !errors.As(err, &pe) || !(strings.Contains(pe.Addr, "127.0.0.1") || strings.Contains(pe.Addr, "::1")) {
		t.Errorf("a direct (NO_PROXY) feed on loopback: %v", err)
	}
	if _, err := c.Get("http://nowhere.feed.test/"); err == nil || !strings.Contains(err.Error(), "could not be checked") {
		t.Errorf("an unresolvable name: %v", err)
	}
	if len(seen) != 0 {
		t.Fatalf("the proxy was asked for %v", seen)
	}
	res, err := c.Get("http://public.feed.test/taxii2/")
	if err != nil || res.StatusCode != http.StatusNoContent || len(seen) != 1 || seen[0] != "http://public.feed.test/taxii2/" {
		t.Fatalf("a public feed through the proxy: %v %v", err, seen)
	}
	_ = res.Body.Close()
	if res, err := guardedClient(true).Get("http://intranet.feed.test/"); err != nil || res.StatusCode != http.StatusNoContent {
		t.Errorf("allowed private feeds through the proxy: %v", err)
	}
}
