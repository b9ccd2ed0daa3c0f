package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The webhook signature. Every POST carries
//
//	Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// where the HMAC is keyed with the webhook secret (the settings' exact
// string, as bytes) over the timestamp, a full stop, and the raw request
// body: "1733480000.{...}". A receiver recomputes it over the bytes it
// received (before parsing the JSON), compares in constant time, and
// refuses a timestamp more than five minutes from its own clock, so a
// captured request cannot be replayed later. VerifySignature does all of
// that. Vigil-Event names the kind and Vigil-Delivery identifies the
// delivery (the same on every retry of one, so a receiver can drop
// repeats).
const (
	SignatureHeader = "Vigil-Signature"
	EventHeader     = "Vigil-Event"
	DeliveryHeader  = "Vigil-Delivery"
	// SignatureTolerance is how far a signature's time may be from the
	// receiver's clock.
	SignatureTolerance = 5 * time.Minute
)

// Sign returns the Vigil-Signature header value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// ErrBadSignature is what VerifySignature returns for any signature that
// does not check out.
var ErrBadSignature = errors.New("webhook signature does not verify")

// VerifySignature checks a Vigil-Signature header against the body
// received, with the receiver's clock now; tolerance 0 means
// SignatureTolerance. Any v1 entry that matches is accepted (there is one
// today; more may follow while a secret is being rotated).
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance == 0 {
		tolerance = SignatureTolerance
	}
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<seconds>,v1=<hex>", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now", ErrBadSignature, time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	want := []byte(mac(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrBadSignature
}

// webhooks posts signed events.
type webhooks struct {
	client   *http.Client
	attempts int
	backoff  time.Duration
	now      func() time.Time
}

// errOtherHost refuses a redirect away from the webhook's host: the
// signature and the event were meant for that receiver only.
var errOtherHost = errors.New("redirect to another host refused")

func newWebhooks(o Options) *webhooks {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: refuseLinkLocal}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: o.WebhookRoots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: o.WebhookTimeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		// A proxy from the environment would see every event; a
		// deployment that needs one sets it here on purpose, not by accident.
		Proxy: nil,
	}
	c := &http.Client{Transport: tr, Timeout: o.WebhookTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != via[0].URL.Scheme || !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
				return fmt.Errorf("%w (%s)", errOtherHost, req.URL.Host)
			}
			return nil
		}}
	return &webhooks{client: c, attempts: o.WebhookAttempts, backoff: o.WebhookBackoff, now: o.Now}
}

// refuseLinkLocal stops a webhook reaching link-local addresses, where
// cloud metadata services answer (169.254.169.254): a user's webhook URL
// must not turn Vigil into a way to read them. Private and loopback
// networks stay allowed: NHS receivers often live on them.
func refuseLinkLocal(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil
	}
	if a := ap.Addr().Unmap(); a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() {
		return fmt.Errorf("webhook to %s refused: link-local and unspecified addresses are not reachable from Vigil", a)
	}
	return nil
}

// post delivers body to url, retrying a failure that may pass (a network
// error, 408, 429, 5xx) with doubling waits; a 4xx other than those is
// final. It returns the last error, nil on a 2xx.
func (w *webhooks) post(ctx context.Context, url, secret, kind, delivery string, body []byte) error {
	var err error
	wait := w.backoff
	for attempt := 1; attempt <= w.attempts; attempt++ {
		var retry bool
		retry, err = w.once(ctx, url, secret, kind, delivery, body)
		if err == nil || !retry || attempt == w.attempts {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	return err
}

func (w *webhooks) once(ctx context.Context, url, secret, kind, delivery string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil-Webhook/1")
	req.Header.Set(EventHeader, kind)
	req.Header.Set(DeliveryHeader, delivery)
	// Signed at each attempt, so a retry an hour later still verifies.
	req.Header.Set(SignatureHeader, Sign(secret, w.now(), body))
	resp, err := w.client.Do(req)
	if err != nil {
		return !errors.Is(err, errOtherHost), err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drain for reuse; the body says nothing we use
	_ = resp.Body.Close()                                         // a read-only body: nothing to lose
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return false, fmt.Errorf("webhook answered %s (redirects are followed only on the same host)", resp.Status)
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return false, fmt.Errorf("webhook answered %s", resp.Status)
	}
}
