package intel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/feeds"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

const mispData = "../../../shared/data/misp"

func needMISP(t testing.TB, p string) string {
	t.Helper()
	p = filepath.Join(mispData, p)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%v (../shared/data is not here)", err)
	}
	return p
}

// everything is every stored version as "id version body", sorted.
func everything(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Q().QueryContext(context.Background(), `SELECT id, version, body FROM intel_objects`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, v, b string
		if err := rows.Scan(&id, &v, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, id+" "+v+" "+b)
	}
	sort.Strings(out)
	return out
}

// TestMISPFeedRoundTrip is issue 19's "a MISP feed from ../shared/data/misp/
// imports and an exported Vigil feed re-imports identically": the sample
// feed and every sample event go into a collection, the collection is
// exported as a MISP feed, and that feed imported into a fresh store gives
// the same objects, version for version and byte for byte.
func TestMISPFeedRoundTrip(t *testing.T) {
	feed := needMISP(t, "feed-sample")
	events, _ := filepath.Glob(filepath.Join(needMISP(t, "events"), "*.json"))
	ctx := context.Background()
	sc := scope.Scope{UserID: "u-nadia", Grants: []scope.Grant{{Role: scope.NationalAnalyst, Org: "ENG", Path: "/ENG/"}}}
	now := func() time.Time { return time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC) }
	db1 := storetest.SQLite(t, Migrations())
	s1, _ := New(Options{DB: db1, Now: now})
	c, err := s1.CreateCollection(ctx, sc, CollectionOptions{Title: "MISP", TLPCeiling: stix.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := s1.ImportFiles(ctx, sc, c.ID, append([]string{feed}, events...))
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Format != "misp-feed" || reps[0].Objects == 0 || len(reps[0].Refused) != 0 {
		t.Fatalf("feed: %+v", reps[0])
	}
	for _, r := range reps[1:] {
		if r.Format != "misp-event" || r.Objects == 0 {
			t.Fatalf("event: %+v", r)
		}
	}
	out := t.TempDir()
	n, err := s1.ExportMISPFeed(ctx, sc, c.ID, out)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6+9 {
		t.Errorf("%d events exported, want 15", n)
	}
	db2 := storetest.SQLite(t, Migrations())
	s2, _ := New(Options{DB: db2, Now: now})
	c2, _ := s2.CreateCollection(ctx, sc, CollectionOptions{Title: "again", TLPCeiling: stix.TLPRed})
	reps, err = s2.ImportFiles(ctx, sc, c2.ID, []string{out})
	if err != nil {
		t.Fatal(err)
	}
	if len(reps[0].Refused) != 0 {
		t.Fatalf("re-import refused %v", reps[0].Refused)
	}
	a, z := everything(t, db1), everything(t, db2)
	if len(a) != len(z) {
		t.Errorf("%d versions imported, %d re-imported", len(a), len(z))
	}
	for i := range min(len(a), len(z)) {
		if a[i] != z[i] {
			t.Fatalf("first difference:\n%.600s\n%.600s", a[i], z[i])
		}
	}
	t.Logf("%d versions identical after MISP export and re-import", len(a))
}

// TestMISPFeedIntegrity: an event file changed after hashes.csv was
// written is reported and not imported; the others are.
func TestMISPFeedIntegrity(t *testing.T) {
	src := needMISP(t, "feed-sample")
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(src, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(filepath.Base(f), "32cb8b54") {
			b = []byte(strings.Replace(string(b), `"value": "`, `"value": "6`, 1))
			if !strings.Contains(string(b), `"value": "6`) {
				t.Fatal("tampering missed")
			}
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := New(Options{DB: storetest.SQLite(t, Migrations())})
	reps, err := s.ImportFiles(context.Background(), scope.System("test"), "", []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(reps[0].Refused) != 1 || !strings.Contains(reps[0].Refused[0], "32cb8b54-a070-456b-b88e-fbae2f335c9d.json: integrity check against hashes.csv failed") {
		t.Fatalf("refused %v", reps[0].Refused)
	}
	if _, err := s.Get(context.Background(), "report--32cb8b54-a070-456b-b88e-fbae2f335c9d"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the tampered event was imported: %v", err)
	}
	if _, err := s.Get(context.Background(), "report--b7d50a39-3b0e-4831-bd4c-de16980324cd"); err != nil {
		t.Errorf("an intact event was not imported: %v", err)
	}
}

// TestImportCSVWithWarninglists: abuse.ch feeds import as indicators;
// a value on a warning list is kept as flagged observed data instead.
func TestImportCSVWithWarninglists(t *testing.T) {
	ws, err := feeds.LoadWarninglists(needMISP(t, "warninglists/rfc1918/list.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	txt := filepath.Join(dir, "blocklist.txt")
	if err := os.WriteFile(txt, []byte("# test\n10.0.0.5\n185.220.101.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := New(Options{DB: storetest.SQLite(t, Migrations())})
	reps, err := s.ImportFilesWith(context.Background(), scope.System("test"), "", []string{needMISP(t, "abusech/feodotracker-ipblocklist.csv"), txt},
		ImportOptions{Warninglists: ws, FeedTLP: "tlp:green"})
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Format != "csv" || reps[1].Flagged != 1 || reps[0].Flagged != 0 {
		t.Fatalf("%+v", reps)
	}
	n, _ := s.Count(context.Background())
	if n["indicator"] != 28+1 || n["observed-data"] != 1 {
		t.Errorf("counts %v", n)
	}
}
