package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client is a TAXII 2.1 client (sections 4–5): discovery, API roots,
// collections and a collection's objects a page at a time. It speaks
// the protocol only; what is kept of a pull, and where it resumes, is
// package intel/pull's.
type Client struct {
	// HTTP does the requests; http.DefaultClient when nil.
	HTTP *http.Client
	// User and Password are HTTP Basic credentials; Token a bearer token.
	// At most one kind is sent.
	User, Password, Token string
	// MaxBody caps one answer; 64 MiB when zero.
	MaxBody int64
}

// Discovery is a server's discovery resource (section 4.1).
type Discovery struct {
	Title    string   `json:"title"`
	Default  string   `json:"default,omitempty"`
	APIRoots []string `json:"api_roots,omitempty"`
}

// Envelope is a page of objects (section 3.7).
type Envelope struct {
	More    bool              `json:"more,omitempty"`
	Next    string            `json:"next,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`
}

// Page is an envelope with its X-TAXII-Date-Added headers.
type Page struct {
	Envelope
	AddedFirst, AddedLast string
}

// RemoteError is an answer other than 200 from a TAXII server, with the
// title and description of its error resource when it sent one.
type RemoteError struct {
	URL    string
	Status int
	Title  string
	Detail string
	// RetryAfter is the wait a 429 or 503 asked for (Retry-After in
	// seconds or as an HTTP date), 0 when none.
	RetryAfter time.Duration
}

// RetryAfter reads a Retry-After header (RFC 9110 section 10.2.3):
// delay-seconds or an HTTP date, measured from now; 0 when absent or
// unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(365*24*3600))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (e *RemoteError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.URL, e.Status)
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// get asks for one TAXII resource and decodes it into v.
func (c *Client) get(ctx context.Context, u string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", MediaTAXII)
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.User != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }() // read fully below; a close error changes nothing
	limit := c.MaxBody
	if limit <= 0 {
		limit = 64 << 20
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: answer over %d bytes", u, limit)
	}
	if res.StatusCode != http.StatusOK {
		e := &RemoteError{URL: u, Status: res.StatusCode}
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
			e.RetryAfter = RetryAfter(res.Header, time.Now())
		}
		var er struct{ Title, Description string }
		if json.Unmarshal(b, &er) == nil {
			e.Title, e.Detail = trim(er.Title), trim(er.Description)
		}
		return nil, e
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/taxii+json") {
		return nil, fmt.Errorf("%s: Content-Type %q, not application/taxii+json", u, ct)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return res.Header, nil
}

// trim keeps a remote message short enough for a status line.
func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// resolve makes ref absolute against base (API roots may be given as
// paths or full URLs), keeping the trailing slash TAXII's URLs have.
func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(r)
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// Discover reads the discovery resource at u.
func (c *Client) Discover(ctx context.Context, u string) (Discovery, error) {
	var d Discovery
	_, err := c.get(ctx, u, &d)
	return d, err
}

// APIRootURL finds the API root to use from the discovery URL: the
// default one, or the only one listed.
func (c *Client) APIRootURL(ctx context.Context, discovery string) (string, error) {
	d, err := c.Discover(ctx, discovery)
	if err != nil {
		return "", err
	}
	root := d.Default
	if root == "" {
		if len(d.APIRoots) != 1 {
			return "", fmt.Errorf("%s: no default API root, and %d listed", discovery, len(d.APIRoots))
		}
		root = d.APIRoots[0]
	}
	return resolve(discovery, root)
}

// Collections lists an API root's collections.
func (c *Client) Collections(ctx context.Context, root string) ([]Collection, error) {
	var cs struct {
		Collections []Collection `json:"collections"`
	}
	_, err := c.get(ctx, root+"collections/", &cs)
	return cs.Collections, err
}

// Collection reads one collection.
func (c *Client) Collection(ctx context.Context, root, id string) (Collection, error) {
	var col Collection
	_, err := c.get(ctx, root+"collections/"+url.PathEscape(id)+"/", &col)
	return col, err
}

// ObjectsQuery is a GET of a collection's objects.
type ObjectsQuery struct {
	// AddedAfter is a timestamp as the server wrote it in
	// X-TAXII-Date-Added-Last ("" for everything).
	AddedAfter string
	Limit      int
	Next       string
}

// Objects reads one page of a collection's objects.
func (c *Client) Objects(ctx context.Context, root, collection string, q ObjectsQuery) (Page, error) {
	v := url.Values{}
	if q.AddedAfter != "" {
		v.Set("added_after", q.AddedAfter)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Next != "" {
		v.Set("next", q.Next)
	}
	u := root + "collections/" + url.PathEscape(collection) + "/objects/"
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	var p Page
	h, err := c.get(ctx, u, &p.Envelope)
	if err != nil {
		return Page{}, err
	}
	p.AddedFirst, p.AddedLast = h.Get("X-TAXII-Date-Added-First"), h.Get("X-TAXII-Date-Added-Last")
	return p, nil
}
