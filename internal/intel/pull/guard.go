package pull

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
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
// the address dialled says nothing of the feed's. There the guard
// resolves the feed's host itself and refuses it if any address it
// resolves to is one a feed may not reach, or if it cannot be resolved
// (the proxy could resolve it to anything). The proxy's own address is
// dialled whatever it is (a proxy inside the network is the usual
// case); requests the proxy settings send direct (NO_PROXY) are
// checked at the dial as without a proxy. What is left to the proxy: a
// name it resolves differently from the server (split DNS, or a record
// that changes between the two lookups).

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

// proxyFor is the proxy a request goes through (nil: direct), and
// lookupIP resolves a host name; tests replace them (the standard
// library reads the proxy variables once per process).
var (
	proxyFor = http.ProxyFromEnvironment
	lookupIP = net.DefaultResolver.LookupNetIP
)

// dialingProxy marks a request's context with the proxy address its
// connection is dialled to, which the guarded dialer lets through.
type dialingProxy struct{}

// guardedClient is the feeds' HTTP client.
func guardedClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = func(r *http.Request) (*url.URL, error) { return proxyFor(r) }
	t.DialContext = d.DialContext
	c := &http.Client{Timeout: time.Minute, Transport: t}
	if !allowPrivate {
		guarded := &net.Dialer{Timeout: d.Timeout, KeepAlive: d.KeepAlive, Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &ErrPrivateAddress{Addr: address} // not an address: refuse rather than guess
			}
			if private(ap.Addr()) {
				return &ErrPrivateAddress{Addr: address}
			}
			return nil
		}}
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if p, _ := ctx.Value(dialingProxy{}).(string); p != "" && p == addr {
				return d.DialContext(ctx, network, addr)
			}
			return guarded.DialContext(ctx, network, addr)
		}
		// The URL's own host, checked before anything is dialled, and
		// behind a proxy resolved and checked here.
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
	host := r.URL.Hostname()
	if err := checkHost(host); err != nil {
		return nil, err
	}
	p, err := proxyFor(r)
	if err != nil || p == nil {
		return h.next.RoundTrip(r)
	}
	// Through a proxy: resolve the feed's host here, since the address
	// dialled is the proxy's.
	if _, err := netip.ParseAddr(host); err != nil {
		addrs, err := lookupIP(r.Context(), "ip", host)
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("refused to fetch %s through the proxy: its address could not be checked (%v); start vigil serve with --intel-feeds-private to allow feeds the server cannot resolve", host, err)
		}
		for _, a := range addrs {
			if private(a) {
				return nil, &ErrPrivateAddress{Addr: host + " (" + a.String() + ")"}
			}
		}
	}
	port := p.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080"}[p.Scheme]
	}
	ctx := context.WithValue(r.Context(), dialingProxy{}, net.JoinHostPort(p.Hostname(), port))
	return h.next.RoundTrip(r.WithContext(ctx))
}

func checkHost(host string) error {
	if h := strings.TrimSuffix(strings.ToLower(host), "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return &ErrPrivateAddress{Addr: host}
	}
	if a, err := netip.ParseAddr(host); err == nil && private(a) {
		return &ErrPrivateAddress{Addr: host}
	}
	return nil
}
