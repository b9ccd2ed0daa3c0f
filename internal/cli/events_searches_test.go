package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestEventsSavedSearches: an operator saves a search with its time
// range, lists it, runs it with search --saved and count --saved (flags
// replacing its range), replaces it under the same name, is refused a
// query that does not compile, and deletes it; a person's searches
// (--user) are theirs, the same ones their Events page lists, and apart
// from the operator's.
func TestEventsSavedSearches(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	a, err := app.Open(context.Background(), cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Auth.AddUser(context.Background(), scope.System("test"), auth.NewUser{Email: "ana@rj1.nhs.test", Name: "Ana", Org: "ENG", Role: scope.OrgAnalyst}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	file := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(file, []byte(`{"EventID":4625,"TargetUserName":"root","TimeCreated":"2020-03-01T10:00:00Z"}
{"EventID":4625,"TargetUserName":"admin","TimeCreated":"2020-03-02T10:00:00Z"}
{"EventID":4624,"TargetUserName":"ana","TimeCreated":"2020-03-02T11:00:00Z"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, vigil("events", "import", file, "--org", "ENG"))

	r := must(t, vigil("events", "searches", "save", "Failed sign-ins", "EventID=4625", "--from", "2020-01-01", "--format", "ids"))
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "ES-") {
		t.Fatalf("saved: %q", r.stdout)
	}
	r = must(t, vigil("events", "searches", "list"))
	if !strings.Contains(r.stdout, "Failed sign-ins") || !strings.Contains(r.stdout, "EventID=4625") || !strings.Contains(r.stdout, "--from 2020-01-01") {
		t.Errorf("list:\n%s", r.stdout)
	}
	if n := strings.TrimSpace(must(t, vigil("events", "count", "--saved", "Failed sign-ins")).stdout); n != "2" {
		t.Errorf("count --saved = %s, want 2", n)
	}
	// Flags replace the saved range: nothing from 2030.
	if n := strings.TrimSpace(must(t, vigil("events", "count", "--saved", "Failed sign-ins", "--from", "2030-01-01")).stdout); n != "0" {
		t.Errorf("count --saved --from 2030-01-01 = %s, want 0", n)
	}
	r = must(t, vigil("events", "search", "--saved", "Failed sign-ins", "--format", "json"))
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.Contains(r.stdout, `"TargetUserName":"admin"`) {
		t.Errorf("search --saved:\n%s", r.stdout)
	}
	// The same name replaces it.
	must(t, vigil("events", "searches", "save", "Failed sign-ins", "EventID=4625 AND TargetUserName=root", "--from", "2020-01-01"))
	r = must(t, vigil("events", "searches", "list", "--format", "json"))
	var s events.SavedSearch
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &s); err != nil || s.ID != id || s.Query != "EventID=4625 AND TargetUserName=root" {
		t.Errorf("after replacing: %s (%v)", r.stdout, err)
	}
	// A person's saved searches are theirs: the operator's are not listed.
	must(t, vigil("events", "searches", "save", "Mine", "EventID=4624", "--since", "7d", "--user", "ana@rj1.nhs.test"))
	r = must(t, vigil("events", "searches", "list", "--user", "ana@rj1.nhs.test"))
	if !strings.Contains(r.stdout, "Mine") || strings.Contains(r.stdout, "Failed sign-ins") {
		t.Errorf("ana's list:\n%s", r.stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "searches", "save", "Broken", "EventID="}, "expected a value"},
		{[]string{"events", "searches", "save", "Range", "a=1", "--since", "soon"}, "want a duration"},
		{[]string{"events", "searches", "save", " ", "a=1"}, "name"},
		{[]string{"events", "search", "--saved", "Nope"}, "not found"},
		{[]string{"events", "search", "--saved", "Mine"}, "not found"},
		{[]string{"events", "search", "EventID=1", "--saved", "Failed sign-ins"}, "not both"},
		{[]string{"events", "count"}, "--saved NAME"},
		{[]string{"events", "searches", "delete", "Mine"}, "not found"},
	} {
		r := vigil(c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, r.code, r.stderr, c.want)
		}
	}
	r = must(t, vigil("events", "searches", "delete", "Failed sign-ins"))
	if !strings.Contains(r.stdout, `deleted "Failed sign-ins"`) {
		t.Errorf("delete: %s", r.stdout)
	}
	if r := must(t, vigil("events", "searches", "list")); strings.Contains(r.stdout, "Failed sign-ins") {
		t.Errorf("after deleting:\n%s", r.stdout)
	}
}
