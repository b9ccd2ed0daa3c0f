package pull

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// A feed's URL is chosen by whoever may write a collection, and the
// server fetches it: without a guard, a trust's analyst could make the
// server read its own network (a metadata service, an admin port on
// loopback). So the default client refuses to connect to loopback,
// private (RFC 1918, ULA), link-local, carrier-grade NAT, multicast and
// unspecified addresses. It checks the address actually dialled, after
// name resolution, so a name that resolves (or re-resolves) to such an
// address is refused too. `--intel-feeds-private` turns the guard off,
// for feeds inside a private network.
//
// Behind an HTTP(S)_PROXY the server dials the proxy, not the feed, so
// the guard can only check the URL's host when it is a literal address
// or "localhost"; the proxy must do the rest.

// ErrPrivateAddress is a feed reaching for a private address.
type ErrPrivateAddress struct{ Addr string }

func (e *ErrPrivateAddress) Error() string {
	return fmt.Sprintf("refused to connect to %s: a private, loopback or link-local address (start vigil serve with --intel-feeds-private to allow feeds inside the network)", e.Addr)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// private reports whether a is an address a feed may not reach.
func private(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a)
}

func proxied() bool {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// guardedClient is the feeds' HTTP client.
func guardedClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate && !proxied() {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &ErrPrivateAddress{Addr: address} // not an address: refuse rather than guess
			}
			if private(ap.Addr()) {
				return &ErrPrivateAddress{Addr: address}
			}
			return nil
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = d.DialContext
	c := &http.Client{Timeout: time.Minute, Transport: t}
	if !allowPrivate {
		// The URL's own host, checked before anything is dialled (and
		// the only check left behind a proxy).
		c.Transport = hostCheck{t}
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("stopped after %d redirects", len(via))
			}
			return checkHost(req.URL.Hostname())
		}
	}
	return c
}

type hostCheck struct{ next http.RoundTripper }

func (h hostCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := checkHost(r.URL.Hostname()); err != nil {
		return nil, err
	}
	return h.next.RoundTrip(r)
}

func checkHost(host string) error {
	if host == "localhost" || len(host) > 10 && host[len(host)-10:] == ".localhost" {
		return &ErrPrivateAddress{Addr: host}
	}
	if a, err := netip.ParseAddr(host); err == nil && private(a) {
		return &ErrPrivateAddress{Addr: host}
	}
	return nil
}
