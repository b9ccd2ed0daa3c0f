package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntelFeedCLI: `vigil intel feed add|list|pull|status` over a MISP
// feed served by URL (../shared/data/misp/feed-sample), behind a bearer
// token read from the environment: the first pull stores its events,
// the second reads none again, a feed that cannot be reached fails with
// exit 1 and says why in its status, and a feed on loopback is refused
// without --intel-feeds-private.
func TestIntelFeedCLI(t *testing.T) {
	sample := filepath.Join("..", "..", "..", "shared", "data", "misp", "feed-sample")
	if _, err := os.Stat(filepath.Join(sample, "manifest.json")); err != nil {
		t.Skipf("%s: %v (../shared/data is not here)", sample, err)
	}
	files := http.FileServer(http.Dir(sample))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer feed-token" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		http.StripPrefix("/feed", files).ServeHTTP(w, r)
	}))
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "data")
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "create", "--title", "Feeds in", "--format", "json"))
	var col struct{ ID string }
	_ = json.Unmarshal([]byte(r.stdout), &col)

	add := []string{"--data-dir", data, "intel", "feed", "add", "--kind", "misp", "--name", "Sample", "--url", srv.URL + "/feed/", "--collection", col.ID, "--auth", "bearer"}
	if r = run(t, "", nil, add...); r.code != 2 || !strings.Contains(r.stderr, "VIGIL_FEED_SECRET") {
		t.Fatalf("no secret in the environment: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", map[string]string{"VIGIL_FEED_SECRET": "feed-token"}, append(add, "--format", "json")...))
	if strings.Contains(r.stdout, "feed-token") {
		t.Fatalf("the secret is printed: %s", r.stdout)
	}
	var feed struct{ ID string }
	_ = json.Unmarshal([]byte(r.stdout), &feed)

	// The feed is on loopback: refused unless the server allows feeds
	// inside its network.
	if r = run(t, "", nil, "--data-dir", data, "intel", "feed", "pull", feed.ID); r.code != 1 || !strings.Contains(r.stderr, "--intel-feeds-private") {
		t.Fatalf("a loopback feed without --intel-feeds-private: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "--intel-feeds-private", "intel", "feed", "pull", feed.ID, "--format", "json"))
	var pr struct {
		Added   int
		Refused []string
	}
	if json.Unmarshal([]byte(r.stdout), &pr) != nil || pr.Added == 0 || len(pr.Refused) != 0 {
		t.Fatalf("first pull: %s %s", r.stdout, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "--intel-feeds-private", "intel", "feed", "pull", feed.ID))
	if !strings.Contains(r.stdout, "0 pages, 0 objects, 0 new") {
		t.Errorf("second pull: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "status", feed.ID, "--format", "json"))
	var st struct {
		ObjectsAdded int    `json:"objects_added"`
		Pulls        int    `json:"pulls"`
		LastError    string `json:"last_error"`
		Cursor       string `json:"cursor"`
	}
	if json.Unmarshal([]byte(r.stdout), &st) != nil || st.ObjectsAdded != pr.Added || st.Pulls != 3 || st.LastError != "" || st.Cursor == "" || strings.Contains(r.stdout, "feed-token") {
		t.Errorf("status: %s", r.stdout)
	}

	// A TAXII peer that is not there.
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "add", "--name", "Gone", "--url", "http://127.0.0.1:1/taxii2/", "--remote-collection", "x", "--collection", col.ID, "--format", "json"))
	var gone struct{ ID string }
	_ = json.Unmarshal([]byte(r.stdout), &gone)
	if r = run(t, "", nil, "--data-dir", data, "--intel-feeds-private", "intel", "feed", "pull", gone.ID); r.code != 1 || !strings.Contains(r.stderr, "Gone") {
		t.Errorf("unreachable peer: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "list"))
	if !strings.Contains(r.stdout, "Sample") || !strings.Contains(r.stdout, "Gone") || !strings.Contains(r.stdout, "connection refused") {
		t.Errorf("list: %s", r.stdout)
	}
	// A feed's indicators follow its source's decay model, shown with it.
	must(t, run(t, "", nil, "--data-dir", data, "intel", "decay", "set", "slow", "--half-life", "ip=90"))
	must(t, run(t, "", nil, "--data-dir", data, "intel", "decay", "assign", "feed:Gone", "slow"))
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "status", gone.ID))
	if !strings.Contains(r.stdout, "decay model:       slow") {
		t.Errorf("status: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "list", "--format", "json"))
	if !strings.Contains(r.stdout, `"decay_model":"slow"`) || !strings.Contains(r.stdout, `"decay_model":"standard"`) {
		t.Errorf("list: %s", r.stdout)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "feed", "add", "--name", "x", "--url", "ftp://x/", "--remote-collection", "x", "--collection", col.ID); r.code == 0 || !strings.Contains(r.stderr, "url") {
		t.Errorf("ftp URL: exit %d %s", r.code, r.stderr)
	}
}

// TestIntelFeedEditCLI: `vigil intel feed edit|remove`: only the flags
// given change; a new secret comes from the environment, never a flag,
// and is never printed; a new URL clears the cursor; --disable shows in
// list and status; remove keeps what the feed pulled; clear errors name
// the flag or field.
func TestIntelFeedEditCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "create", "--title", "Feeds in", "--format", "json"))
	var col struct{ ID string }
	_ = json.Unmarshal([]byte(r.stdout), &col)
	r = must(t, run(t, "", map[string]string{"VIGIL_FEED_SECRET": "first-token"}, "--data-dir", data, "intel", "feed", "add", "--name", "Peer", "--url", "https://peer.example/taxii2/",
		"--remote-collection", "c1", "--collection", col.ID, "--auth", "bearer", "--format", "json"))
	var feed struct{ ID string }
	_ = json.Unmarshal([]byte(r.stdout), &feed)
	if r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "edit", "--help")); !strings.Contains(r.stdout, "Example") && !strings.Contains(r.stdout, "Examples") {
		t.Errorf("help: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "edit", feed.ID, "--interval", "6h", "--disable", "--name", "Peer CERT", "--format", "json"))
	var f struct {
		Name            string
		URL             string
		IntervalSeconds int `json:"interval_seconds"`
		Enabled         bool
		Auth            string
	}
	if json.Unmarshal([]byte(r.stdout), &f) != nil || f.Name != "Peer CERT" || f.IntervalSeconds != 21600 || f.Enabled || f.Auth != "bearer" || f.URL != "https://peer.example/taxii2/" {
		t.Fatalf("edit: %s", r.stdout)
	}
	if r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "list")); !strings.Contains(r.stdout, "disabled") || !strings.Contains(r.stdout, "FAILING") {
		t.Errorf("list after --disable: %s", r.stdout)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "feed", "edit", feed.ID, "--new-secret"); r.code != 2 || !strings.Contains(r.stderr, "VIGIL_FEED_SECRET") {
		t.Errorf("--new-secret without the variable: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", map[string]string{"PEER_TOKEN": "second-token"}, "--data-dir", data, "intel", "feed", "edit", feed.ID, "--new-secret", "--secret-env", "PEER_TOKEN", "--url", "https://mirror.example/taxii2/", "--enable"))
	if strings.Contains(r.stdout+r.stderr, "second-token") || !strings.Contains(r.stdout, "changed feed") || !strings.Contains(r.stdout, "next run") {
		t.Errorf("edit with a new secret: %s %s", r.stdout, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "status", feed.ID))
	if !strings.Contains(r.stdout, "https://mirror.example/taxii2/") || !strings.Contains(r.stdout, "enabled:           true") || strings.Contains(r.stdout, "token") {
		t.Errorf("status: %s", r.stdout)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "feed", "edit", feed.ID, "--auth", "digest"); r.code != 2 || !strings.Contains(r.stderr, "--auth") {
		t.Errorf("--auth digest: exit %d %s", r.code, r.stderr)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "feed", "edit", feed.ID, "--interval", "5s"); r.code == 0 || !strings.Contains(r.stderr, "interval") {
		t.Errorf("--interval 5s: exit %d %s", r.code, r.stderr)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "feed", "edit", "no-such-feed", "--disable"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown feed: exit %d %s", r.code, r.stderr)
	}
	must(t, run(t, "", nil, "--data-dir", data, "intel", "feed", "remove", feed.ID))
	if r = run(t, "", nil, "--data-dir", data, "intel", "feed", "status", feed.ID); r.code == 0 {
		t.Errorf("status of a removed feed: exit %d %s", r.code, r.stdout)
	}
	if r = must(t, run(t, "", nil, "--data-dir", data, "audit", "list", "--action", "intel.feed", "--format", "json")); !strings.Contains(r.stdout, "intel.feed.edit") || !strings.Contains(r.stdout, "intel.feed.remove") ||
		strings.Contains(r.stdout, "first-token") || strings.Contains(r.stdout, "second-token") {
		t.Errorf("audit log: %.2000s", r.stdout)
	}
}

// TestIntelLifecycleCLI: `vigil intel allowlist add|list` (values and
// MISP warning lists), `vigil intel matcher` leaving allowlisted and
// merged indicators out, and `vigil intel sightings` (none yet).
func TestIntelLifecycleCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	bundle := `[{"type":"indicator","spec_version":"2.1","id":"indicator--11111111-1111-4111-8111-111111111111","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","pattern":"[domain-name:value = 'resolver.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","confidence":90},
{"type":"indicator","spec_version":"2.1","id":"indicator--22222222-2222-4222-8222-222222222222","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","confidence":90},
{"type":"indicator","spec_version":"2.1","id":"indicator--33333333-3333-4333-8333-333333333333","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","pattern":"[domain-name:value = 'EVIL.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","confidence":70}]`
	if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, run(t, "", nil, "--data-dir", data, "intel", "import", filepath.Join(dir, "b.json")))
	if r := run(t, "", nil, "--data-dir", data, "intel", "allowlist", "add", "resolver.example"); r.code == 0 || !strings.Contains(r.stderr, "reason") {
		t.Errorf("no reason: exit %d %s", r.code, r.stderr)
	}
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "allowlist", "add", "--reason", "our resolver", "Resolver.Example.", "192.0.2.53"))
	if !strings.Contains(r.stdout, "allowlisted 2 new of 2") {
		t.Errorf("add: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "allowlist", "list", "--format", "json"))
	if !strings.Contains(r.stdout, `"value":"resolver.example"`) || !strings.Contains(r.stdout, `"reason":"our resolver"`) {
		t.Errorf("list: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "matcher", "--format", "json"))
	if !strings.Contains(r.stdout, `"every value allowlisted":1`) || !strings.Contains(r.stdout, `"same values as another indicator (merged, sources kept)":1`) || !strings.Contains(r.stdout, `"indicators":1`) {
		t.Errorf("matcher: %s", r.stdout)
	}
	wl := filepath.Join("..", "..", "..", "shared", "data", "misp", "warninglists", "cloudflare")
	if _, err := os.Stat(wl); err == nil {
		r = must(t, run(t, "", nil, "--data-dir", data, "intel", "allowlist", "add", "--reason", "MISP warning lists", "--warninglists", wl))
		if !strings.Contains(r.stdout, "allowlisted") {
			t.Errorf("warning lists: %s %s", r.stdout, r.stderr)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "sightings", "--format", "stix"))
	if !strings.Contains(r.stdout, `"type":"bundle"`) || !strings.Contains(r.stdout, `"objects":[]`) {
		t.Errorf("sightings: %s", r.stdout)
	}
}
