package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/org"
)

// TestTreeCountsAgreeOnRealImport imports the real ODS extracts into a
// running server and walks England's tree from the root, asking at every
// organisation with anything below it: the count the tree shows for it
// (API and web fragment), the children its level lists, the count on its
// organisation page, and the API's list of organisations with that
// parent. They must all agree, and the organisations reached must be
// exactly those the home page counts. Bodies outside NHS England are not
// in England's tree but are there when asked for.
func TestTreeCountsAgreeOnRealImport(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the real ODS lists")
	}
	engines(t, testTreeCountsAgree)
}

var (
	dataCountRE = regexp.MustCompile(`<li id="n-([A-Z0-9]+)">\s*<details[^>]*>\s*<summary>.*?<span class="count" data-count="(\d+)">`)
	belowRE     = regexp.MustCompile(`<h2 id="below" data-count="(\d+)">`)
	totalRE     = regexp.MustCompile(`<th scope="row">Total</th><td class="num" data-label="Open" data-sort="(\d+)">`)
)

func testTreeCountsAgree(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	c := nationalSession(t, s)
	fetch := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url(path), nil)
		req.AddCookie(c)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d\n%.500s", path, res.StatusCode, b)
		}
		return string(b)
	}
	tree := func(query string) []org.Node {
		t.Helper()
		var lvl struct{ Children []org.Node }
		if err := json.Unmarshal([]byte(fetch("/api/v1/orgs/tree?"+query)), &lvl); err != nil {
			t.Fatal(err)
		}
		return lvl.Children
	}
	listed := func(parent string) int {
		t.Helper()
		n, cursor := 0, ""
		for {
			var p struct {
				Items      []org.Org
				NextCursor string `json:"next_cursor"`
			}
			q := url.Values{"parent": {parent}, "status": {"active"}, "limit": {"5000"}, "cursor": {cursor}}
			if err := json.Unmarshal([]byte(fetch("/api/v1/orgs?"+q.Encode())), &p); err != nil {
				t.Fatal(err)
			}
			n += len(p.Items)
			if cursor = p.NextCursor; cursor == "" {
				return n
			}
		}
	}

	roots := tree("")
	if len(roots) != 1 || roots[0].Code != org.RootCode {
		t.Fatalf("roots %v", roots)
	}
	reached, checked := 1, 0
	var walk func(code string, count int)
	walk = func(code string, count int) {
		kids := tree("parent=" + code)
		if len(kids) != count {
			t.Errorf("%s: the tree counts %d below it, its level lists %d", code, count, len(kids))
		}
		if n := listed(code); n != count {
			t.Errorf("%s: the tree counts %d, the API lists %d active organisations with that parent", code, count, n)
		}
		if m := belowRE.FindStringSubmatch(fetch("/orgs/" + code)); m == nil || m[1] != strconv.Itoa(count) {
			t.Errorf("%s: the tree counts %d, its page says %v", code, count, m)
		}
		// The web fragment of the level shows the same counts as the API.
		frag := fetch("/orgs/children?parent=" + code)
		shown := map[string]string{}
		for _, m := range dataCountRE.FindAllStringSubmatch(frag, -1) {
			shown[m[1]] = m[2]
		}
		checked++
		for _, k := range kids {
			reached++
			if k.Type == org.Nation || k.Status != org.Active {
				t.Errorf("%s: England's tree lists %s (%s, %s)", code, k.Code, k.Type, k.Status)
			}
			if k.Children == 0 {
				continue
			}
			if shown[k.Code] != strconv.Itoa(k.Children) {
				t.Errorf("%s: the API counts %d below it, the web tree %q", k.Code, k.Children, shown[k.Code])
			}
			walk(k.Code, k.Children)
		}
	}
	walk(roots[0].Code, roots[0].Children)
	t.Logf("checked %d organisations with something below them; %d reached", checked, reached)
	if m := totalRE.FindStringSubmatch(fetch("/")); m == nil || m[1] != strconv.Itoa(reached) {
		t.Errorf("the home page counts %v open organisations, walking the tree reaches %d", m, reached)
	}
	if reached != 1+7+42+106+206+6291 {
		t.Errorf("England's tree reaches %d organisations", reached)
	}

	// Outside NHS England: not in England's tree, there when asked, and
	// opening Wales lists its bodies whatever the view.
	wales := tree("parent=ENG&outside=true")
	var found bool
	for _, k := range wales {
		if k.Code == "W00" {
			found = true
			if k.Type != org.Nation || k.Children != 3+401 {
				t.Errorf("W00 = %+v, want a nation with 404 open bodies", k)
			}
		}
	}
	if !found {
		t.Error("W00 missing from the tree with outside=true")
	}
	if n := listed("W00"); n != 404 {
		t.Errorf("the API lists %d active bodies under W00, want 404", n)
	}
	if got := fetch("/orgs/RQF"); !strings.Contains(got, `<a href="/orgs/W00">NHS Wales</a> <span class="code">(W00)</span>`) {
		t.Errorf("a Welsh trust's page does not name NHS Wales as its parent")
	}
	var page struct{ Items []org.Org }
	if err := json.Unmarshal([]byte(fetch("/api/v1/orgs?q=velindre")), &page); err != nil || len(page.Items) != 0 {
		t.Errorf("a default search finds Welsh bodies: %v %v", page.Items, err)
	}
	if err := json.Unmarshal([]byte(fetch("/api/v1/orgs?q=velindre&outside=true")), &page); err != nil || len(page.Items) != 1 {
		t.Errorf("a search with outside=true finds %v, %v", page.Items, err)
	}
}
