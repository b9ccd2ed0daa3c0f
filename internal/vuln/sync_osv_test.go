package vuln

import (
	"archive/zip"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// osvZip builds an all.zip from the shared OSV records of one ecosystem.
func osvZip(t *testing.T, eco string) ([]byte, int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "osv", eco, "*.json"))
	if err != nil || len(files) == 0 {
		testneed.Missing(t, "the OSV records in ../shared/data/vuln/osv/"+eco, err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), len(files)
}

// TestSyncOSV: each ecosystem's all.zip is fetched from BASE/<Ecosystem>/
// into DIR/osv/<Ecosystem>/all.zip and LoadDB reads it; the second sync
// is a conditional GET answered 304. A corrupt archive, or one with a
// member that is not an OSV record, is an error naming the ecosystem,
// URL and member, and the previous copy stays; other ecosystems still sync.
func TestSyncOSV(t *testing.T) {
	goZip, nGo := osvZip(t, "Go")
	npmZip, nNPM := osvZip(t, "npm")
	var mu sync.Mutex
	serve := map[string][]byte{"/Go/all.zip": goZip, "/npm/all.zip": npmZip}
	var conditional []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		b, ok := serve[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := `"` + strings.Trim(r.URL.Path, "/") + "-" + time.Duration(len(b)).String() + `"`
		if r.Header.Get("If-None-Match") == etag {
			conditional = append(conditional, r.URL.Path)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		_, _ = w.Write(b)
	}))
	defer ts.Close()
	dir := t.TempDir()
	var progress bytes.Buffer
	o := SyncOptions{Dir: dir, OSV: ts.URL, OSVEcosystems: []string{"Go", "npm"}, Progress: &progress}
	rep, err := Sync(t.Context(), o)
	if err != nil || rep.OSV.Stored != 2 || rep.OSV.Fetched != 2 {
		t.Fatalf("first sync: %+v %v", rep.OSV, err)
	}
	if !strings.Contains(progress.String(), "OSV: "+ts.URL+"/Go/all.zip stored as "+filepath.Join(dir, "osv", "Go", "all.zip")) {
		t.Errorf("progress: %s", progress.String())
	}
	db, err := LoadDB(SyncedOSV(dir))
	if err != nil || db.Len()+db.Withdrawn != nGo+nNPM {
		t.Fatalf("LoadDB of the synced archives: %v, %d+%d records, want %d", err, db.Len(), db.Withdrawn, nGo+nNPM)
	}

	rep, err = Sync(t.Context(), o)
	if err != nil || rep.OSV.Unchanged != 2 || rep.OSV.Stored != 0 || len(conditional) != 2 {
		t.Fatalf("second sync: %+v %v, conditional %v", rep.OSV, err, conditional)
	}

	good, _ := os.ReadFile(filepath.Join(dir, "osv", "Go", "all.zip"))
	for _, c := range []struct {
		name string
		body func() []byte
		want string
	}{
		{"not a zip", func() []byte { return []byte("<html>gateway</html>") }, "Go: GET " + ts.URL + "/Go/all.zip: not a zip archive"},
		{"bad member", func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, _ := zw.Create("GO-2099-0001.json")
			_, _ = w.Write([]byte("{\"id\": \"GO-2099-0001\",\n \"affected\": 7}"))
			_ = zw.Close()
			return buf.Bytes()
		}, "Go: GET " + ts.URL + "/Go/all.zip: entry GO-2099-0001.json: OSV record: line 2"},
		{"truncated", func() []byte { return goZip[:len(goZip)/2] }, "Go: GET " + ts.URL + "/Go/all.zip: not a zip archive"},
	} {
		mu.Lock()
		serve["/Go/all.zip"] = c.body()
		mu.Unlock()
		rep, err := Sync(t.Context(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "the previous copy is kept") {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rep.OSV.Unchanged != 1 || len(rep.OSV.Errors) != 1 {
			t.Errorf("%s: npm still synced: %+v", c.name, rep.OSV)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "osv", "Go", "all.zip")); !bytes.Equal(b, good) {
			t.Fatalf("%s: the good copy was replaced", c.name)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "osv", "Go", ".sync-*")); len(left) != 0 {
			t.Fatalf("%s: temporary files left: %v", c.name, left)
		}
	}
	if _, err := Sync(t.Context(), SyncOptions{Dir: dir, OSV: ts.URL, OSVEcosystems: []string{"../x"}}); err == nil {
		t.Fatal("an ecosystem name with a slash was accepted")
	}
}
