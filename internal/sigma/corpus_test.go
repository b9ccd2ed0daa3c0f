package sigma_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/testneed"
)

// sharedSigma is SigmaHQ's data beside the repository (../shared/data/sigma).
const sharedSigma = "../../../shared/data/sigma"

func needSigmaData(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join(sharedSigma, sub)
	if _, err := os.Stat(dir); err != nil {
		testneed.Missing(t, "SigmaHQ's data in ../shared/data/sigma", err)
	}
	return dir
}

// TestLoadWindowsCorpus loads every SigmaHQ Windows rule: the issue's
// figure is all 2,407, compiled and evaluable.
func TestLoadWindowsCorpus(t *testing.T) {
	dir := needSigmaData(t, "rules/windows")
	start := time.Now()
	corpus, err := sigma.LoadDir(dir, sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules, failed := corpus.Rules, corpus.Failed
	for _, f := range failed {
		t.Errorf("not loaded: %v", f)
	}
	if len(rules) != 2407 {
		t.Errorf("loaded %d Windows rules, want 2407", len(rules))
	}
	// Every rule is evaluable: it runs on an empty event and on a busy one.
	ev := sigma.Map{"EventID": 4688.0, "Image": `C:\Windows\System32\cmd.exe`, "CommandLine": "cmd.exe /c whoami"}
	for _, r := range rules {
		r.Match(sigma.Map{})
		r.Match(ev)
	}
	t.Logf("%d rules in %v", len(rules), time.Since(start))
}

// TestLoadOtherCorpora loads SigmaHQ's other rule folders and checks what
// does not load is exactly what this engine reports as unsupported.
func TestLoadOtherCorpora(t *testing.T) {
	for _, c := range []struct {
		dir           string
		files, failed int
		placeholders  map[string][]string
	}{
		{dir: "rules", files: 3141},
		// Two rules use the placeholder %known_cdcs%.
		{dir: "rules-emerging-threats", files: 472, failed: 2},
		{dir: "rules-emerging-threats", files: 472, placeholders: placeholdersIn(t, "rules-emerging-threats")},
		{dir: "rules-threat-hunting", files: 140},
		{dir: "rules-placeholder", files: 23, failed: 23},
		{dir: "rules-placeholder", files: 23, placeholders: placeholdersIn(t, "rules-placeholder")},
		{dir: "rules-compliance", files: 3},
	} {
		t.Run(c.dir, func(t *testing.T) {
			dir := needSigmaData(t, c.dir)
			corpus, err := sigma.LoadDir(dir, sigma.Options{Placeholders: c.placeholders})
			if err != nil {
				t.Fatal(err)
			}
			rules, failed := corpus.Rules, corpus.Failed
			for _, f := range failed {
				t.Logf("not loaded: %v", f)
			}
			t.Logf("%s: %d loaded, %d not (%d placeholders given)", c.dir, len(rules), len(failed), len(c.placeholders))
			if len(failed) != c.failed {
				t.Errorf("%d rules not loaded, want %d", len(failed), c.failed)
			}
			if len(rules)+len(failed) != c.files {
				t.Errorf("%d rules + %d failures, want %d files", len(rules), len(failed), c.files)
			}
		})
	}
}

// placeholdersIn gives every %name% placeholder of the rules under sub a
// value, so their rules compile.
func placeholdersIn(t *testing.T, sub string) map[string][]string {
	dir := filepath.Join(sharedSigma, sub)
	out := map[string][]string{}
	re := regexp.MustCompile(`%([A-Za-z0-9_-]+)%`)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			out[string(m[1])] = []string{"placeholder-value-" + string(m[1])}
		}
		return nil
	})
	if err != nil {
		return nil // the subtest reports the missing directory
	}
	return out
}
