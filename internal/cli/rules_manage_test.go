package cli

import (
	"archive/zip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testneed"
)

const (
	ldapWhoami   = "windows/process_creation/proc_creation_win_hktl_sharpldapwhoami.yml"
	ldapWhoamiID = "d9367cbb-c2e0-47ce-bdc0-128cb6da898d"
	sevenZip     = "windows/process_creation/proc_creation_win_7zip_password_compression.yml"
)

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../../shared/data/sigma/rules", name))
	if err != nil {
		testneed.Missing(t, "SigmaHQ's rules in ../shared/data/sigma/rules", err)
	}
	return b
}

// The rule management commands, as an operator uses them on a data
// directory: import a directory (a broken file reported, exit 1, the rest
// stored) and a release zip, list, show with history, disable for one
// trust, override a level, add an exception, and the noisiest report.
func TestRulesManagementCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []org.Org{{Code: "Y56", Name: "London", Type: org.Region}, {Code: "QKK", Name: "SEL ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's", Type: org.Trust, Parent: "QKK"}} {
		if _, err := a.Orgs.Create(ctx, scope.System("test"), o); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }

	pack := filepath.Join(t.TempDir(), "mypack")
	for name, data := range map[string][]byte{ldapWhoami: readCorpus(t, ldapWhoami),
		"custom/broken.yml": []byte("title: Broken\nid: 0b0b0b0b-0000-4000-8000-000000000001\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|nosuch: x\n  condition: sel\n")} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(pack, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pack, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := vigil("rules", "import", pack, "--note", "first")
	if r.code != 1 || !strings.Contains(r.stdout, "custom/broken.yml:7: ") || !strings.Contains(r.stdout, "pack mypack: 2 files read; 1 added, 0 updated, 0 unchanged, 1 not loaded") ||
		!strings.Contains(r.stderr, "1 file did not load and was not stored (the rest are)") {
		t.Fatalf("import with a broken file: %+v", r)
	}

	zp := filepath.Join(t.TempDir(), "sigma_all_rules.zip")
	f, err := os.Create(zp)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range []string{ldapWhoami, sevenZip} {
		w, _ := zw.Create("rules/" + name)
		if _, err := w.Write(readCorpus(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r = must(t, vigil("rules", "import", zp, "--format", "json"))
	var rep rules.ImportReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Pack != "sigma_all_rules" || len(rep.Added) != 1 || rep.Unchanged != 1 {
		t.Fatalf("zip import: %s %v", r.stdout, err)
	}

	r = must(t, vigil("rules", "list"))
	if !strings.Contains(r.stdout, ldapWhoamiID) || !strings.Contains(r.stdout, "HackTool - SharpLdapWhoami Execution") || strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("rules list:\n%s", r.stdout)
	}
	must(t, vigil("rules", "disable", ldapWhoamiID, "--org", "rj1"))
	must(t, vigil("rules", "level", ldapWhoamiID, "critical"))
	r = must(t, vigil("rules", "list", "--org", "RJ1", "--disabled", "--format", "ids"))
	if strings.TrimSpace(r.stdout) != ldapWhoamiID {
		t.Errorf("disabled for RJ1: %q", r.stdout)
	}
	if r = vigil("rules", "level", ldapWhoamiID, "severe"); r.code == 0 || !strings.Contains(r.stderr, "level") {
		t.Errorf("unknown level: %+v", r)
	}
	r = must(t, vigil("rules", "except", ldapWhoamiID, "--org", "RJ1", "--match", `Image=C:\Tools\*`, "--match", "User=svc_scan",
		"--owner", "alice@rj1.nhs.uk", "--reason", "weekly audit", "--expires", "30d", "--format", "ids"))
	exID := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(exID, "EX-") {
		t.Fatalf("except: %+v", r)
	}
	if r = vigil("rules", "except", ldapWhoamiID, "--match", "User=x", "--owner", "o", "--reason", "r"); r.code == 0 || !strings.Contains(r.stderr, "--expires") {
		t.Errorf("an exception without expiry: %+v", r)
	}

	r = must(t, vigil("rules", "show", ldapWhoamiID))
	for _, want := range []string{"HackTool - SharpLdapWhoami Execution", "raised as critical for every organisation", "RJ1", "off", exID,
		`Image=C:\Tools\* User=svc_scan`, "History", "first", "mypack"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	if r = must(t, vigil("rules", "show", ldapWhoamiID, "--yaml")); !strings.HasPrefix(r.stdout, "title: HackTool - SharpLdapWhoami Execution") {
		t.Errorf("show --yaml: %s", r.stdout)
	}

	// Hits as detection records them; the noisiest report.
	a, err = app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	h := rules.Hits{}
	for range 4 {
		h.Add(ldapWhoamiID, "RJ1", time.Now(), false)
	}
	h.Add(ldapWhoamiID, "RJ1", time.Now(), true)
	if err := a.Rules.RecordHits(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r = must(t, vigil("rules", "noisy", "--days", "7"))
	if !strings.Contains(r.stdout, ldapWhoamiID) || !strings.Contains(r.stdout, "SUPPRESSED") {
		t.Errorf("noisy:\n%s", r.stdout)
	}
	r = must(t, vigil("rules", "noisy", "--format", "json"))
	var n rules.Noise
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &n); err != nil || n.Hits != 4 || n.Suppressed != 1 || n.Orgs != 1 {
		t.Errorf("noisy json: %s %v", r.stdout, err)
	}
	must(t, vigil("rules", "unexcept", exID))
	must(t, vigil("rules", "reset", ldapWhoamiID, "--org", "RJ1"))
	if r = must(t, vigil("rules", "list", "--org", "RJ1", "--disabled", "--format", "ids")); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("after reset, disabled for RJ1: %q", r.stdout)
	}
}
