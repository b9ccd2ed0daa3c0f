package sigma

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/sigma/pipeline"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestSamplePipelines applies every sample pipeline of
// ../shared/data/sigma/pipelines (pySigma's community pipelines and the
// legacy sigmac configurations) to one SigmaHQ rule of each log source
// the corpus has, and compares with testdata/pipelines/samples.golden,
// per pipeline: the items Vigil cannot apply (file:line, id, type and
// why), how many of the rules load through it, and why each of the rest
// does not (the pipeline item that refused it). go test -update rewrites
// the golden file.
func TestSamplePipelines(t *testing.T) {
	dir := sharedData(t, "pipelines")
	rules := onePerLogsource(t, sharedData(t, "rules"))
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// rule.yml files beside pySigma's example pipelines are rules.
		if !d.IsDir() && d.Name() != "rule.yml" && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var b strings.Builder
	fmt.Fprintf(&b, "# %d sample pipelines, each applied alone to %d SigmaHQ rules (one per log source)\n", len(files), len(rules))
	totalUnsupported, applied := 0, 0
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, dir+string(filepath.Separator)))
		p, err := pipeline.ParseFile(f)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			fmt.Fprintf(&b, "\n%s: does not parse\n", rel)
			continue
		}
		trim := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }
		loaded := 0
		refused := map[string]int{}
		for _, r := range rules {
			if _, err := Compile(r, Options{Pipelines: []*pipeline.Pipeline{p}}); err != nil {
				msg := err.Error()
				if i := strings.Index(msg, ": pipeline "); i >= 0 {
					msg = msg[i+2:]
				} else if i := strings.Index(msg, ": the pipelines "); i >= 0 {
					msg = msg[i+2:]
				}
				refused[trim(msg)]++
				continue
			}
			loaded++
		}
		if loaded > 0 {
			applied++
		}
		fmt.Fprintf(&b, "\n%s (%s, %d items): %d of %d rules load\n", rel, p.Format, len(p.Items), loaded, len(rules))
		for _, u := range p.Unsupported() {
			totalUnsupported++
			fmt.Fprintf(&b, "  unsupported %s\n", trim(u))
		}
		var reasons []string
		for m := range refused {
			reasons = append(reasons, m)
		}
		sort.Strings(reasons)
		for _, m := range reasons {
			fmt.Fprintf(&b, "  refused %d: %s\n", refused[m], m)
		}
	}
	t.Logf("%d sample pipelines: %d unsupported items, %d apply to at least one rule", len(files), totalUnsupported, applied)
	if len(files) != 113 {
		t.Errorf("%d sample pipelines, want the snapshot's 113 (38 pySigma, 75 sigmac)", len(files))
	}
	golden := filepath.Join("testdata", "pipelines", "samples.golden")
	got := b.String()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("differs from %s at line %d (go test -update rewrites it):\n got: %s\nwant: %s", golden, i+1, g, w)
				break
			}
		}
	}
}

// onePerLogsource parses the rules under dir and keeps, for each log
// source (product, category, service), the first in path order that
// compiles without a pipeline.
func onePerLogsource(t *testing.T, dir string) []*Rule {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	seen := map[[3]string]bool{}
	var out []*Rule
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Parse(data, filepath.Base(p))
		if err != nil {
			continue // correlations, filters, and what the corpus test reports
		}
		k := [3]string{strings.ToLower(r.Logsource.Product), strings.ToLower(r.Logsource.Category), strings.ToLower(r.Logsource.Service)}
		if seen[k] {
			continue
		}
		if _, err := Compile(r, Options{}); err != nil {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// sharedData is a folder of SigmaHQ's data beside the repository.
func sharedData(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "sigma", sub)
	if _, err := os.Stat(dir); err != nil {
		testneed.Missing(t, "SigmaHQ's data in ../shared/data/sigma", err)
	}
	return dir
}
