package pipeline

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// sharedPipelines is the pipeline sample data beside the repository.
const sharedPipelines = "../../../../shared/data/sigma/pipelines"

func samplesDir(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join(sharedPipelines, sub)
	if _, err := os.Stat(dir); err != nil {
		testneed.Missing(t, "the Sigma pipeline samples in ../shared/data/sigma/pipelines", err)
	}
	return dir
}

// pipelineFiles walks dir for YAML files, leaving out the example Sigma
// rules (rule.yml) that sit beside pySigma's example pipelines.
func pipelineFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == "rule.yml" {
			return nil
		}
		if strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// TestCommunityPipelines parses every pipeline of pySigma's community
// repository and logs, per file, what a matching engine cannot apply.
func TestCommunityPipelines(t *testing.T) {
	dir := samplesDir(t, "pySigma-community-pipelines")
	files := pipelineFiles(t, dir)
	parsed, withUnsupported, items := parseAll(t, dir, files)
	t.Logf("pySigma community pipelines: %d files, %d parsed, %d items, %d files with unsupported items", len(files), parsed, items, withUnsupported)
	if len(files) != 38 {
		t.Errorf("found %d pipeline files, want 38 (the snapshot's)", len(files))
	}
	if parsed != len(files) {
		t.Errorf("%d of %d parsed", parsed, len(files))
	}
}

// TestLegacySigmacConfigs reads every sigmac configuration.
func TestLegacySigmacConfigs(t *testing.T) {
	dir := samplesDir(t, "legacy-sigmac-config")
	files := pipelineFiles(t, dir)
	parsed, _, items := parseAll(t, dir, files)
	t.Logf("legacy sigmac configs: %d files, %d parsed, %d items", len(files), parsed, items)
	if len(files) != 75 {
		t.Errorf("found %d config files, want 75 (the snapshot's)", len(files))
	}
	if parsed != len(files) {
		t.Errorf("%d of %d parsed", parsed, len(files))
	}
}

func parseAll(t *testing.T, dir string, files []string) (parsed, withUnsupported, items int) {
	t.Helper()
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		p, err := ParseFile(f)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		parsed++
		items += len(p.Items)
		if u := p.Unsupported(); len(u) > 0 {
			withUnsupported++
			for _, s := range u {
				t.Logf("  unsupported %s", strings.TrimPrefix(s, dir+"/"))
			}
		}
		for _, n := range p.Notes {
			t.Logf("  not applicable %s", strings.TrimPrefix(n.String(), dir+"/"))
		}
	}
	return parsed, withUnsupported, items
}
