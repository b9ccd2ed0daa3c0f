package vuln

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

var dataDir = filepath.Join("..", "..", "..", "shared", "data", "vuln")

func needData(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, "sbom")); err != nil {
		testneed.Missing(t, "the SBOM and OSV test data in ../shared/data/vuln", err)
	}
}

func sbomPath(name string) string { return filepath.Join(dataDir, "sbom", name) }

// TestReadSBOMFormats reads one SBOM of each format and checks that the
// purls map to OSV names with what tells packages apart kept: a Maven
// group ID, an npm scope, a Go module's full path, a Debian source
// package and distro release, an Alpine release, a PEP 503 PyPI name.
func TestReadSBOMFormats(t *testing.T) {
	needData(t)
	for _, tc := range []struct {
		file       string
		format     Format
		components int
		want       Component // one component that must be there
	}{
		{"go-flux2-v0.26.3.spdx22.json", SPDXJSON, 189,
			Component{Version: "v0.0.0-20211216030914-fe4d6282115f", Ecosystem: "Go", Package: "golang.org/x/net"}},
		{"go-flux2-v0.26.3.spdx22.tag.spdx", SPDXTagValue, 189,
			Component{Version: "v0.0.0-20211216030914-fe4d6282115f", Ecosystem: "Go", Package: "golang.org/x/net"}},
		{"go-harp-v0.2.10-darwin-amd64.cdx14.json", CycloneDXJSON, 592,
			Component{Version: "v0.0.0-20211215153901-e495a2d5b3d3", Ecosystem: "Go", Package: "golang.org/x/crypto"}},
		{"go-minikube-v1.23.1.cdx15.json", CycloneDXJSON, 136,
			Component{Version: "v1.21.3", Ecosystem: "Go", Package: "k8s.io/kubernetes"}},
		{"pypi-poetry-regression-issue702.cdx16.json", CycloneDXJSON, 63,
			Component{Version: "3.11.12", Ecosystem: "PyPI", Package: "aiohttp"}},
		{"container-bitnami-airflow-debian11-pypi.spdx22.json", SPDXJSON, 713,
			Component{Version: "2.2.2", Ecosystem: "PyPI", Package: "flask"}},
		{"container-postgres-stretch-debian9.cdx14.xml", CycloneDXXML, 136,
			Component{Name: "libssl1.1", Version: "1.1.0l-1~deb9u5", Ecosystem: "Debian:9", Package: "openssl"}},
		{"container-alpine-3.17.cdx14.xml", CycloneDXXML, 14,
			Component{Version: "1.2.3-r4", Ecosystem: "Alpine:v3.17", Package: "musl"}},
		{"npm-juice-shop-v11.1.2.cdx14.json", CycloneDXJSON, 978,
			Component{Version: "7.19.4", Ecosystem: "npm", Package: "@babel/helper-string-parser"}},
		{"maven-dropwizard-1.3.15.cdx12.json", CycloneDXJSON, 167,
			Component{Version: "2.9.10", Ecosystem: "Maven", Package: "com.fasterxml.jackson.core:jackson-databind"}},
		{"maven-spdx-examples-examplemaven-0.0.1-enriched.spdx23.json", SPDXJSON, 0, Component{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s, err := ReadSBOM(sbomPath(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if s.Format != tc.format || len(s.Components) != tc.components {
				t.Fatalf("format %q with %d components, want %q with %d", s.Format, len(s.Components), tc.format, tc.components)
			}
			if tc.want.Package == "" {
				if s.NoPURL == 0 {
					t.Error("the SPDX example has packages without purls: NoPURL is 0")
				}
				return
			}
			for _, c := range s.Components {
				if c.Package == tc.want.Package && c.Version == tc.want.Version && c.Ecosystem == tc.want.Ecosystem &&
					(tc.want.Name == "" || c.Name == tc.want.Name) {
					return
				}
			}
			t.Errorf("no component %+v", tc.want)
		})
	}
}

// TestReadSBOMErrors: bad input is an error naming the file, and the
// line for broken JSON.
func TestReadSBOMErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"broken.cdx.json", "{\n  \"bomFormat\": \"CycloneDX\",\n  \"components\": [\n    {\"name\": }\n  ]\n}\n", "line 4"},
		{"notsbom.json", `{"hello": "world"}`, "not a CycloneDX (JSON or XML) or SPDX"},
		{"empty.json", "", "not a CycloneDX"},
		{"badpurl.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.4","components":[{"type":"library","name":"x","purl":"notapurl"}]}`, `component "x": purl "notapurl"`},
		{"broken.spdx", "SPDXVersion: SPDX-2.2\nPackageName\n", "SPDX tag-value"},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSBOM(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming the file and %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadSBOM(filepath.Join(dir, "absent.json")); err == nil || !strings.Contains(err.Error(), "absent.json") {
		t.Errorf("missing file: %v", err)
	}
}

// TestCompare checks each ecosystem's version order, where it differs
// from a plain string or semver order.
func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		eco, a, b string
		want      int
	}{
		{"Go", "v1.2.3", "1.2.3", 0},
		{"Go", "v0.0.0-20211216030914-fe4d6282115f", "0.0.0-20220127200216-cd36cc0744dd", -1},
		{"Go", "v1.0.1", "1.0.1-0.20211012131345-9c444070ec7b", 1}, // a pseudo-version is a prerelease
		{"Go", "v1.10.0", "1.9.9", 1},
		{"PyPI", "2.0.0rc1", "2.0.0", -1},
		{"PyPI", "1.0.post1", "1.0", 1},
		{"PyPI", "1.0.dev1", "1.0a1", -1},
		{"PyPI", "1!0.1", "2.0", 1}, // epoch
		{"npm", "1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"npm", "4.17.20", "4.17.21", -1},
		{"Maven", "2.9.10.8", "2.9.10", 1},
		{"Maven", "1.0-alpha-1", "1.0", -1},
		{"Maven", "1.0.RELEASE", "1.0", 0}, // release qualifiers are 1.0 itself
		{"Maven", "30.1-android", "30.1-jre", -1},
		{"Debian:9", "1.1.0l-1~deb9u5", "1.1.0l-1~deb9u6", -1},
		{"Debian:9", "1.0~rc1", "1.0", -1}, // tilde sorts before the end
		{"Debian:9", "1:0.9", "2.0", 1},    // epoch
		{"Alpine:v3.17", "1.2.3-r4", "1.2.3-r5", -1},
		{"Alpine:v3.17", "1.2.3_rc1", "1.2.3", -1},
		{"Alpine:v3.17", "1.2.3a", "1.2.3", 1},
	} {
		got, err := Compare(tc.eco, tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("Compare(%s, %s, %s) = %d, %v; want %d", tc.eco, tc.a, tc.b, got, err, tc.want)
		}
	}
	if _, err := Compare("NoSuchEcosystem", "1", "2"); err == nil {
		t.Error("an unknown ecosystem compares")
	}
}

// TestInRange evaluates OSV ranges: introduced/fixed, last_affected,
// several intervals, events out of order, no fix.
func TestInRange(t *testing.T) {
	ev := func(kv ...string) []Event {
		var out []Event
		for i := 0; i < len(kv); i += 2 {
			switch kv[i] {
			case "i":
				out = append(out, Event{Introduced: kv[i+1]})
			case "f":
				out = append(out, Event{Fixed: kv[i+1]})
			case "l":
				out = append(out, Event{LastAffected: kv[i+1]})
			}
		}
		return out
	}
	for _, tc := range []struct {
		eco, version string
		events       []Event
		why          string // "" when not affected
	}{
		{"Go", "1.0.0", ev("i", "0", "f", "1.2.0"), "SEMVER introduced 0, fixed 1.2.0"},
		{"Go", "1.2.0", ev("i", "0", "f", "1.2.0"), ""},
		{"Go", "1.5.0", ev("i", "0", "f", "1.2.0", "i", "1.4.0", "f", "1.5.1"), "SEMVER introduced 1.4.0, fixed 1.5.1"},
		{"Go", "1.3.0", ev("i", "0", "f", "1.2.0", "i", "1.4.0", "f", "1.5.1"), ""},
		{"Go", "1.5.0", ev("i", "1.4.0", "f", "1.5.1", "i", "0", "f", "1.2.0"), "SEMVER introduced 1.4.0, fixed 1.5.1"},
		{"Go", "2.0.0", ev("i", "1.0.0", "l", "2.0.0"), "SEMVER introduced 1.0.0, last_affected 2.0.0"},
		{"Go", "2.0.1", ev("i", "1.0.0", "l", "2.0.0"), ""},
		{"Go", "9.0.0", ev("i", "1.0.0"), "SEMVER introduced 1.0.0 (no fix)"},
		{"Go", "0.9.0", ev("i", "1.0.0"), ""},
	} {
		typ := "SEMVER"
		why, _, ok, err := inRange(tc.eco, tc.version, Range{Type: typ, Events: tc.events})
		if err != nil || why != tc.why || ok != (tc.why != "") {
			t.Errorf("%s in %+v: %q %v %v, want %q", tc.version, tc.events, why, ok, err, tc.why)
		}
	}
}

// TestScanAliasesAndWithdrawn: two advisories naming the same CVE make
// one finding that lists both; a withdrawn one is not loaded; an
// explicit versions list matches; the fixed version is reported.
func TestScanAliasesAndWithdrawn(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("GHSA-aaaa.json", `{"id":"GHSA-aaaa","aliases":["CVE-2024-1"],"affected":[{"package":{"ecosystem":"PyPI","name":"Flask"},
		"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.2.5"}]}]}]}`)
	write("PYSEC-1.json", `{"id":"PYSEC-1","aliases":["CVE-2024-1"],"affected":[{"package":{"ecosystem":"PyPI","name":"flask"},
		"versions":["2.2.2"]}]}`)
	write("PYSEC-2.json", `{"id":"PYSEC-2","withdrawn":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"flask"},
		"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`)
	db, err := LoadDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 2 || db.Withdrawn != 1 {
		t.Fatalf("%d advisories and %d withdrawn, want 2 and 1", db.Len(), db.Withdrawn)
	}
	c, err := componentOf("Flask", "pkg:pypi/Flask@2.2.2")
	if err != nil {
		t.Fatal(err)
	}
	r := Scan(&SBOM{File: "x.json", Components: []Component{c}}, db)
	if len(r.Findings) != 1 {
		t.Fatalf("%d findings, want 1: %+v", len(r.Findings), r.Findings)
	}
	f := r.Findings[0]
	if f.ID != "GHSA-aaaa" || !reflect.DeepEqual(f.Aliases, []string{"CVE-2024-1", "PYSEC-1"}) ||
		!reflect.DeepEqual(f.Merged, []string{"PYSEC-1"}) || f.Fixed != "2.2.5" || f.Matched != "ECOSYSTEM introduced 0, fixed 2.2.5" {
		t.Errorf("finding %+v", f)
	}

	// An all.zip as osv.dev publishes it is read too; a record already
	// read from a file keeps its first copy.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, body := range map[string]string{
		"GHSA-bbbb.json": `{"id":"GHSA-bbbb","affected":[{"package":{"ecosystem":"PyPI","name":"flask"},
			"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0"},{"last_affected":"2.2.2"}]}]}]}`,
		"PYSEC-1.json": `{"id":"PYSEC-1"}`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "PyPI"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "PyPI", "all.zip"), zb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err = LoadDB(dir); err != nil {
		t.Fatal(err)
	}
	r = Scan(&SBOM{File: "x.json", Components: []Component{c}}, db)
	if len(r.Findings) != 2 || r.Findings[1].ID != "GHSA-bbbb" || r.Findings[1].Matched != "ECOSYSTEM introduced 2.0, last_affected 2.2.2" ||
		len(db.Advisories["PYSEC-1"].Affected) != 1 {
		t.Errorf("with all.zip: %+v", r.Findings)
	}

	write("bad.json", "{\n\"id\": \"X\",\n\"affected\": [}\n")
	if _, err := LoadDB(dir); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a broken record: %v", err)
	}
}

// TestCorpus scans every SBOM of ../shared/data/vuln/sbom against
// ../shared/data/vuln/osv and compares the (advisory, package, version)
// triples with computed-sbom-matches.json, which its README calls "as
// far as we can tell". Each difference is listed and explained.
func TestCorpus(t *testing.T) {
	needData(t)
	db, err := LoadDB(filepath.Join(dataDir, "osv"))
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 845 || db.Withdrawn != 6 {
		t.Errorf("%d advisories loaded and %d withdrawn, want 845 and 6 (851 files)", db.Len(), db.Withdrawn)
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "computed-sbom-matches.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "_note")
	type computedSBOM struct {
		ComponentsWithPurl int `json:"components_with_purl"`
		Hits               []struct{ ID, Package, Version string }
	}
	computed := map[string]computedSBOM{}
	for k, v := range raw {
		var c computedSBOM
		if err := json.Unmarshal(v, &c); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		computed[k] = c
	}
	// Where we differ from computed-sbom-matches.json:
	//   - "missing" (computed lists it, we do not): all six are
	//     withdrawn advisories (GO-2025-3543 withdrawn 2025-03-26,
	//     GO-2022-0617 2024-08-21, PYSEC-2021-13 2023-07-25,
	//     PYSEC-2022-43059 2023-11-08, PYSEC-2023-73 2023-06-06), which
	//     OSV says a scanner must not report; the simple matcher did not
	//     look at "withdrawn".
	//   - "extra" GO-2022-0274 on runc v1.0.1: the range is introduced
	//     1.0.1-0.20211012131345-9c444070ec7b, fixed 1.1.0. That
	//     introduced version is a Go pseudo-version, a semver prerelease
	//     of 1.0.1, so 1.0.1 is inside the range by SEMVER order (as
	//     osv-scanner reads it too); the simple matcher compared it as if
	//     it were above 1.0.1.
	differences := map[string][]string{
		"container-bitnami-airflow-debian11-pypi.spdx22.json": {
			"missing GO-2025-3543 github.com/opencontainers/runc v1.1.0",
			"missing PYSEC-2021-13 flask-caching 2.0.1",
			"missing PYSEC-2022-43059 aiohttp 3.8.3",
			"missing PYSEC-2023-73 redis 3.5.3",
		},
		"container-postgres-stretch-debian9.cdx14.xml": {
			"extra GO-2022-0274 github.com/opencontainers/runc v1.0.1",
			"missing GO-2025-3543 github.com/opencontainers/runc v1.0.1",
		},
		"go-minikube-v1.23.1.cdx15.json": {
			"missing GO-2022-0617 k8s.io/kubernetes v1.21.3",
			"missing GO-2025-3543 github.com/opencontainers/runc v1.0.0-rc95",
		},
		"pypi-poetry-regression-issue702.cdx16.json": {
			"missing PYSEC-2022-43059 aiohttp 3.11.12",
		},
	}
	files, err := filepath.Glob(filepath.Join(dataDir, "sbom", "*"))
	if err != nil || len(files) != 11 {
		t.Fatalf("%d SBOMs, %v; want 11", len(files), err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		want, ok := computed[name]
		if !ok {
			t.Errorf("%s is not in computed-sbom-matches.json", name)
			continue
		}
		s, err := ReadSBOM(file)
		if err != nil {
			t.Error(err)
			continue
		}
		if n := len(s.Components); n != want.ComponentsWithPurl {
			t.Errorf("%s: %d components with a purl, computed says %d", name, n, want.ComponentsWithPurl)
		}
		r := Scan(s, db)
		if len(r.Warnings) > 0 {
			t.Errorf("%s: warnings %v", name, r.Warnings)
		}
		got := map[string]bool{}
		for _, f := range r.Findings {
			if f.Matched == "" || f.SBOM != file {
				t.Errorf("%s: finding %+v does not say what matched", name, f)
			}
			for _, id := range append([]string{f.ID}, f.Merged...) {
				got[id+" "+f.Package+" "+f.Version] = true
			}
		}
		exp := map[string]bool{}
		for _, h := range want.Hits {
			exp[h.ID+" "+h.Package+" "+h.Version] = true
		}
		var diff []string
		for k := range got {
			if !exp[k] {
				diff = append(diff, "extra "+k)
			}
		}
		for k := range exp {
			if !got[k] {
				diff = append(diff, "missing "+k)
			}
		}
		sort.Strings(diff)
		if !reflect.DeepEqual(diff, differences[name]) {
			t.Errorf("%s: differences from computed-sbom-matches.json\n%s\nwant\n%s", name,
				strings.Join(diff, "\n"), strings.Join(differences[name], "\n"))
		}
	}
}

// TestLoadPrepared indexes the directory once, then reads only the
// records a scan needs, and the scan finds what it finds against the
// whole database; a changed record file rebuilds the index.
func TestLoadPrepared(t *testing.T) {
	needData(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(dataDir, "osv"))); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(t.TempDir(), "cache", "index")
	all, err := LoadDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"npm-juice-shop-v11.1.2.cdx14.json", "container-postgres-stretch-debian9.cdx14.xml", "go-minikube-v1.23.1.cdx15.json"} {
		s, err := ReadSBOM(sbomPath(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []Prepared{PreparedBuilt, PreparedUsed} {
			if name != "npm-juice-shop-v11.1.2.cdx14.json" && want == PreparedBuilt {
				continue // built by the first SBOM
			}
			part, how, err := LoadPrepared(dir, s.Components, index)
			if err != nil {
				t.Fatal(err)
			}
			if how != want {
				t.Errorf("%s: index %s, want %s", name, how, want)
			}
			if part.Len() == 0 || part.Len() >= all.Len() || part.Total != all.Len() || part.Withdrawn != all.Withdrawn {
				t.Fatalf("%s: read %d advisories (total %d, %d withdrawn) of %d (%d withdrawn)", name, part.Len(), part.Total, part.Withdrawn, all.Len(), all.Withdrawn)
			}
			wantF, got := Scan(s, all).Findings, Scan(s, part).Findings
			if len(wantF) == 0 || len(got) != len(wantF) {
				t.Fatalf("%s: %d findings against the index, %d against all", name, len(got), len(wantF))
			}
			for i := range wantF {
				if got[i].ID != wantF[i].ID || got[i].Package != wantF[i].Package || got[i].Matched != wantF[i].Matched {
					t.Errorf("%s: finding %d: %s %s, want %s %s", name, i, got[i].ID, got[i].Package, wantF[i].ID, wantF[i].Package)
				}
			}
		}
	}
	// A record changed after the index was made: the index is rebuilt
	// and the change is seen.
	s, err := ReadSBOM(sbomPath("npm-juice-shop-v11.1.2.cdx14.json"))
	if err != nil {
		t.Fatal(err)
	}
	before := Scan(s, all).Findings[0]
	rec := filepath.Join(dir, "npm", before.ID+".json")
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Skipf("%s is not a file of its own: %v", before.ID, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["withdrawn"] = "2026-12-07T00:00:00Z"
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	part, how, err := LoadPrepared(dir, s.Components, index)
	if err != nil {
		t.Fatal(err)
	}
	if how != PreparedBuilt || part.Withdrawn != all.Withdrawn+1 {
		t.Errorf("after a change: index %s, %d withdrawn; want built, %d", how, part.Withdrawn, all.Withdrawn+1)
	}
	for _, f := range Scan(s, part).Findings {
		if f.ID == before.ID {
			t.Errorf("%s was withdrawn but is still found", f.ID)
		}
	}
}
