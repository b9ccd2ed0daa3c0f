package taxii

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// answer is a RoundTripper giving every request the same answer.
type answer struct {
	status int
	body   []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	h.Set("Content-Type", MediaTAXII)
	h.Set("X-TAXII-Date-Added-Last", "2026-12-07T08:00:00.000000Z")
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body)), Request: r}, nil
}

// FuzzClient feeds a remote server's answers (untrusted) to the client:
// discovery, collections and a page of objects must give a value or an
// error, never a panic, and an error for anything but 200.
func FuzzClient(f *testing.F) {
	for _, s := range []string{`{"title":"x","default":"/r/"}`, `{"collections":[{"id":"c","can_read":true}]}`,
		`{"more":true,"next":"n","objects":[{"type":"indicator"}]}`, `{"objects":null}`, `[]`, `{"title":1}`, ``} {
		f.Add(200, []byte(s))
	}
	f.Add(500, []byte(`{"title":"boom","description":"`+string(bytes.Repeat([]byte("x"), 400))+`"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		c := &Client{HTTP: &http.Client{Transport: answer{status, body}}, MaxBody: 1 << 16}
		ctx := context.Background()
		_, err1 := c.APIRootURL(ctx, "http://peer.example/taxii2/")
		_, err2 := c.Collections(ctx, "http://peer.example/r/")
		p, err3 := c.Objects(ctx, "http://peer.example/r/", "c", ObjectsQuery{AddedAfter: "x", Limit: 10, Next: "n"})
		if status != 200 && (err1 == nil || err2 == nil || err3 == nil) {
			t.Fatalf("HTTP %d accepted", status)
		}
		if err3 == nil && p.AddedLast == "" {
			t.Fatal("a page without its X-TAXII-Date-Added-Last")
		}
	})
}
