package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestAssuranceImportAndList imports both CAF files and four CISO
// Assistant libraries as an operator would, lists them as JSON and checks
// every count against the data README's (counted by hand; the parser
// tests count them a second way), imports again (nothing changes), and
// refuses a malformed file naming file and line, importing nothing.
func TestAssuranceImportAndList(t *testing.T) {
	fw := filepath.Join("..", "..", "..", "shared", "data", "frameworks")
	if _, err := os.Stat(fw); err != nil {
		testneed.Missing(t, "the framework data in ../shared/data/frameworks", err)
		return
	}
	dir := t.TempDir()
	files := []string{
		filepath.Join(fw, "webcaf", "cyber-assessment-framework-v3.2.yaml"),
		filepath.Join(fw, "webcaf", "cyber-assessment-framework-v4.0.yaml"),
		filepath.Join(fw, "ciso-assistant", "frameworks", "ncsc-caf-4.0.yaml"),
		filepath.Join(fw, "ciso-assistant", "frameworks", "cyber_essentials.yaml"),
		filepath.Join(fw, "ciso-assistant", "frameworks", "owasp-asvs-5.0.0.yaml"),
		filepath.Join(fw, "ciso-assistant", "frameworks", "nist-sp-800-53-rev5.yaml.gz"),
	}
	r := must(t, run(t, "", nil, append([]string{"--data-dir", dir, "assurance", "import"}, files...)...))
	if strings.Count(r.stdout, "imported") != 6 {
		t.Fatalf("import:\n%s", r.stdout)
	}
	type counts struct{ Achieved, PartiallyAchieved, NotAchieved int }
	type row struct {
		ID, Name, Version string
		Requirements      int
		Outcomes          int
		Indicators        struct {
			Achieved          int `json:"achieved"`
			PartiallyAchieved int `json:"partially_achieved"`
			NotAchieved       int `json:"not_achieved"`
		}
		Profiles []string
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "list", "--format", "json"))
	var list []row
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	want := map[string]struct {
		version  string
		req, out int
		ind      counts
		profiles string
	}{
		"webcaf-caf@3.2": {"3.2", 39, 39, counts{184, 111, 154}, "baseline,enhanced"},
		"webcaf-caf@4.0": {"4.0", 41, 41, counts{224, 148, 183}, ""},
		"ncsc-caf-4.0@1": {"1", 225, 0, counts{}, ""},
		"cyber_essentials_requirements_for_it_infrastructure@2": {"2", 100, 0, counts{}, ""},
		"owasp-asvs-5.0.0@1":    {"1", 345, 0, counts{}, "1,2,3"},
		"nist-sp-800-53-rev5@1": {"1", 1189, 0, counts{}, ""},
	}
	if len(list) != len(want) {
		t.Fatalf("%d sets listed:\n%s", len(list), r.stdout)
	}
	for _, x := range list {
		w, ok := want[x.ID]
		got := counts{x.Indicators.Achieved, x.Indicators.PartiallyAchieved, x.Indicators.NotAchieved}
		if !ok || x.Version != w.version || x.Requirements != w.req || x.Outcomes != w.out || got != w.ind || strings.Join(x.Profiles, ",") != w.profiles || x.Name == "" {
			t.Errorf("%+v, want %+v", x, w)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "import", files[0]))
	if !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("re-import:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "list"))
	if !strings.Contains(r.stdout, "184/111/154") || !strings.Contains(r.stdout, "baseline, enhanced") {
		t.Errorf("table:\n%s", r.stdout)
	}
	bad := filepath.Join(t.TempDir(), "caf-v9.yaml")
	if err := os.WriteFile(bad, []byte("objectives:\n  A:\n    code: A\n    principles: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	asvs := filepath.Join(fw, "ciso-assistant", "frameworks", "nist-csf-2.0.yaml")
	r = run(t, "", nil, "--data-dir", dir, "assurance", "import", asvs, bad)
	if r.code == 0 || !strings.Contains(r.stderr, bad+":2:3: objectives.A: has no title") || !strings.Contains(r.stderr, "nothing was imported") {
		t.Errorf("bad file: exit %d\n%s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "list", "--format", "json"))
	if strings.Contains(r.stdout, "nist-csf-2.0") {
		t.Errorf("a good file beside a bad one was imported")
	}
}

func TestAssuranceDSPTImport(t *testing.T) {
	snaps, err := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "nhs", "dspt", "*", "*.csv"))
	if err != nil || len(snaps) == 0 {
		testneed.Missing(t, "the DSPT snapshots in ../shared/data/nhs/dspt", err)
		return
	}
	dir := t.TempDir()
	r := must(t, run(t, "", nil, append([]string{"--data-dir", dir, "assurance", "dspt", "import"}, snaps...)...))
	if !strings.Contains(r.stdout, "2022-23: 26 exceeded, 172 met, 58 approaching, 1 not met") {
		t.Errorf("dspt import:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, append([]string{"--data-dir", dir, "assurance", "dspt", "import", "--format", "json"}, snaps...)...))
	var rep struct{ Created, Updated int }
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Created != 0 || rep.Updated != 0 {
		t.Errorf("re-import: %v %s", err, r.stdout)
	}
}
