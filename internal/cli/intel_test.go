package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestIntelPatternCheck runs `vigil intel pattern check` on a valid, a
// multi-event and a broken pattern, and on one given on standard input.
func TestIntelPatternCheck(t *testing.T) {
	r := must(t, run(t, "", nil, "intel", "pattern", "check", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"))
	if r.stdout != "valid; matched event by event\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	r = must(t, run(t, "", nil, "intel", "pattern", "check", "[a:b = 1] FOLLOWEDBY [a:b = 2]"))
	if !strings.Contains(r.stdout, "valid; matched over several events (FOLLOWEDBY at line 1 column 11)") {
		t.Errorf("stdout %q", r.stdout)
	}
	r = run(t, "", nil, "intel", "pattern", "check", "[file:size = ]")
	want := "vigil intel pattern check: invalid pattern: line 1 column 14: = wants a value (string, number, boolean, t'timestamp', h'hex' or b'base64'), got \"]\"\n" +
		"  [file:size = ]\n" +
		"               ^\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d\nstdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, want)
	}
	r = run(t, "[file:hashes.'SHA-256' = 'f00']\n", nil, "intel", "pattern", "check", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "'f00' is not a valid SHA-256 hash") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	// A pattern mentioning "flag" is still a bad pattern (1), not bad usage (2).
	if r = run(t, "", nil, "intel", "pattern", "check", "[x:flag = ]"); r.code != 1 {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	if r = run(t, "", nil, "intel", "pattern", "check"); r.code != 2 {
		t.Errorf("no pattern: exit %d, want 2 (usage)", r.code)
	}
	if r = must(t, run(t, "", nil, "intel", "pattern", "check", "--help")); !strings.Contains(r.stdout, "caret under") {
		t.Errorf("help: %s", r.stdout)
	}
}

// TestIntelImport imports an OASIS example bundle gzipped and plain, then
// a broken one, through `vigil intel import`.
func TestIntelImport(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "data", "stix", "examples", "cti-stix2-json-schemas", "threat-reports", "apt1.json")
	raw, err := os.ReadFile(src)
	if err != nil {
		testneed.Missing(t, "the STIX examples in ../shared/data/stix", err)
		return
	}
	dir := t.TempDir()
	gz := filepath.Join(dir, "apt1.bin")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gz, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "import", "--format", "json", gz))
	var reps []struct {
		Source                    string
		Objects, Added, Unchanged int
		NewVersions               int `json:"new_versions"`
		Refused                   []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(reps) != 1 || reps[0].Source != gz || reps[0].Objects != 76 || reps[0].Added != 76 || reps[0].Refused == nil {
		t.Errorf("reports %+v", reps)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "import", src))
	if !strings.Contains(r.stdout, "FILE") || !strings.Contains(r.stdout, "76") {
		t.Errorf("table:\n%s", r.stdout)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","spec_version":"2.1","created":"2016-04-06T20:03:48Z","modified":"2016-04-06T20:03:48Z"},{"type":"x"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", nil, "--data-dir", data, "intel", "import", bad)
	if r.code != 1 || !strings.Contains(r.stderr, bad+": object 1: type: \"x\" is not a STIX type") {
		t.Errorf("exit %d stderr %s", r.code, r.stderr)
	}
}

func TestIntelCollectionCreate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "create", "--title", "National indicators", "--tlp-ceiling", "amber", "--format", "json"))
	var c struct {
		TLPCeiling string `json:"tlp_ceiling"`
		CanRead    bool   `json:"can_read"`
		CanWrite   bool   `json:"can_write"`
		CreatedBy  string `json:"created_by"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	var full map[string]any
	_ = json.Unmarshal([]byte(r.stdout), &full)
	if len(full["id"].(string)) != 36 || full["title"] != "National indicators" || c.TLPCeiling != "TLP:AMBER" || !c.CanRead || !c.CanWrite || !strings.HasPrefix(c.CreatedBy, "cli:") {
		t.Errorf("collection %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "import", "--collection", full["id"].(string), "--format", "json",
		filepath.Join("..", "..", "..", "shared", "data", "stix", "markings", "tlp2-marking-definitions.json")))
	if !strings.Contains(r.stdout, `"objects":5`) {
		t.Errorf("import into the collection: %s", r.stdout)
	}
	r = run(t, "", nil, "--data-dir", data, "intel", "import", "--collection", "0b6a5b2f-2d3b-4a50-9c83-5d9b3f8a2d11",
		filepath.Join("..", "..", "..", "shared", "data", "stix", "markings", "tlp2-marking-definitions.json"))
	if r.code != 1 || !strings.Contains(r.stderr, "collection 0b6a5b2f-2d3b-4a50-9c83-5d9b3f8a2d11: intel: collection not found") {
		t.Errorf("unknown collection: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "create", "--title", "Default"))
	if !strings.Contains(r.stdout, "(TLP:GREEN)") {
		t.Errorf("default ceiling: %s", r.stdout)
	}
	for _, args := range [][]string{{"--title", " "}, {"--title", "x", "--tlp-ceiling", "PURPLE"}} {
		if r = run(t, "", nil, append([]string{"--data-dir", data, "intel", "collection", "create"}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
}

// TestIntelMatcher: what the IOC matcher would load, and what it leaves
// out and why.
func TestIntelMatcher(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "iocs.json")
	ind := func(uuid, pat, extra string) string {
		return `{"type":"indicator","spec_version":"2.1","id":"indicator--` + uuid + `","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","pattern":"` + pat + `","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z"` + extra + `}`
	}
	objs := []string{
		ind("0b7e5a9c-1d2e-4f3a-8b4c-5d6e7f8a9b0c", "[domain-name:value = 'evil.example'] OR [ipv4-addr:value = '198.51.100.1']", ""),
		ind("1c8f6b0d-2e3f-4a4b-9c5d-6e7f8a9b0c1d", "[file:name = 'x.exe' AND file:size = 3]", ""),
		ind("2d9a7c1e-3f4a-4b5c-8d6e-7f8a9b0c1d2e", "[ipv4-addr:value = '198.51.100.2']", `,"revoked":true`),
		ind("3e0b8d2f-4a5b-4c6d-9e7f-8a9b0c1d2e3f", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND file:name = 'x.exe']", ""),
	}
	if err := os.WriteFile(bundle, []byte("["+strings.Join(objs, ",")+"]"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	must(t, run(t, "", nil, "--data-dir", data, "intel", "import", bundle))
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "matcher", "--format", "json"))
	var st struct {
		Indicators int
		Values     map[string]int
		Skipped    map[string]int
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if st.Indicators != 2 || st.Values["domain"] != 1 || st.Values["ip"] != 1 || st.Values["md5"] != 1 || st.Skipped["revoked"] != 1 ||
		st.Skipped["an observation has no value to index on"] != 1 {
		t.Errorf("stats %+v", st)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "matcher"))
	if !strings.Contains(r.stdout, "left out: revoked") || !strings.Contains(r.stdout, "indicators loaded") {
		t.Errorf("table:\n%s", r.stdout)
	}
}

// TestIntelMISPCLI imports the sample MISP feed and an abuse.ch feed
// with warning lists, shares the collection, exports it as a MISP feed
// and a blocklist, and re-imports the feed into a fresh data directory:
// the same objects come back.
func TestIntelMISPCLI(t *testing.T) {
	misp := filepath.Join("..", "..", "..", "shared", "data", "misp")
	if _, err := os.Stat(filepath.Join(misp, "feed-sample", "manifest.json")); err != nil {
		testneed.Missing(t, "the MISP samples in ../shared/data/misp", err)
		return
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "create", "--title", "National", "--tlp-ceiling", "AMBER", "--format", "json"))
	var col struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &col); err != nil {
		t.Fatal(err)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "import", "--collection", col.ID, "--format", "json",
		"--warninglists", filepath.Join(misp, "warninglists", "rfc1918", "list.json"),
		filepath.Join(misp, "feed-sample"), filepath.Join(misp, "abusech", "feodotracker-ipblocklist.csv")))
	var reps []struct {
		Format  string
		Objects int
		Refused []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(reps) != 2 || reps[0].Format != "misp-feed" || reps[1].Format != "csv" || len(reps[0].Refused) != 0 {
		t.Fatalf("%s", r.stdout)
	}
	must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "grant", col.ID, "--org", "ENG"))
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "list", "--format", "json"))
	if !strings.Contains(r.stdout, `"org":"ENG"`) {
		t.Errorf("list: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "export", "--collection", col.ID, "--blocklist", "-"))
	if !strings.HasPrefix(r.stdout, "type,value,indicator,tlp,pap") || !strings.Contains(r.stdout, "ip-dst,192.9.135.73,indicator--") {
		t.Errorf("blocklist:\n%.500s", r.stdout)
	}
	feed := filepath.Join(dir, "feed")
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "export", "--collection", col.ID, "--misp-feed", feed))
	if !strings.Contains(r.stdout, "MISP feed of 7 events") {
		t.Errorf("export: %s", r.stdout)
	}
	data2 := filepath.Join(dir, "data2")
	r = must(t, run(t, "", nil, "--data-dir", data2, "intel", "import", "--format", "json", "--warninglists", filepath.Join(misp, "warninglists", "rfc1918", "list.json"), feed))
	var again []struct {
		Objects, Added int
		Refused        []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &again); err != nil {
		t.Fatal(err)
	}
	if again[0].Objects != reps[0].Objects+reps[1].Objects || len(again[0].Refused) != 0 {
		t.Errorf("re-import %s; first import %d + %d objects", r.stdout, reps[0].Objects, reps[1].Objects)
	}
	// A TLP:RED indicator: the operator who imports it is its recipient and may name others.
	red := filepath.Join(dir, "red.json")
	ind := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-12-01T00:00:00Z","modified":"2026-12-01T00:00:00Z",` +
		`"pattern":"[domain-name:value = 'red.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}`
	if err := os.WriteFile(red, []byte(ind), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, run(t, "", nil, "--data-dir", data, "intel", "import", red))
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "share", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "--org", "ENG", "--format", "json"))
	if !strings.Contains(r.stdout, `"recipient":"ENG"`) {
		t.Errorf("share: %s", r.stdout)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "export", "--collection", col.ID); r.code != 2 {
		t.Errorf("export without a target: exit %d", r.code)
	}
}

// TestIntelPurge: `vigil intel purge` needs a reason and a known id,
// then removes the object (the matcher no longer lists it) and says so;
// the audit log describes it.
func TestIntelPurge(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const ind = "indicator--031778a4-057f-48e6-9db9-c8d72b81ccd5"
	must(t, run(t, "", nil, "--data-dir", data, "intel", "import",
		filepath.Join("..", "..", "..", "shared", "data", "stix", "examples", "cti-stix2-json-schemas", "threat-reports", "apt1.json")))
	if r := run(t, "", nil, "--data-dir", data, "intel", "purge", ind); r.code != 2 || !strings.Contains(r.stderr, "reason") {
		t.Errorf("no reason: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "", nil, "--data-dir", data, "intel", "purge", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "--reason", "x"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown: exit %d %s", r.code, r.stderr)
	}
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "purge", ind, "--reason", "a wrong indicator", "--format", "json"))
	if !strings.Contains(r.stdout, `"id":"`+ind+`"`) || !strings.Contains(r.stdout, `"versions":1`) {
		t.Errorf("purge: %s", r.stdout)
	}
	if r := run(t, "", nil, "--data-dir", data, "intel", "purge", ind, "--reason", "again"); r.code != 1 {
		t.Errorf("purged twice: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "audit", "list"))
	if !strings.Contains(r.stdout, "purged the intelligence object "+ind+" (indicator, 1 version, from 0 collections) from Vigil altogether") {
		t.Errorf("audit: %.2000s", r.stdout)
	}
}
