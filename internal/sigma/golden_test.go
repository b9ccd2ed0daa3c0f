package sigma

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestCompileGolden compiles real SigmaHQ rules (copied under
// testdata/golden, DRL 1.1, authors kept in the files) and compares the
// dump of each matcher tree with its .golden file. go test -update
// rewrites them; a .golden without its rule is reported as stale.
func TestCompileGolden(t *testing.T) {
	rules, _ := filepath.Glob("testdata/golden/*.yml")
	if len(rules) == 0 {
		t.Fatal("no rules under testdata/golden")
	}
	for _, p := range rules {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseAndCompile(data, filepath.Base(p), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := c.String()
			golden := strings.TrimSuffix(p, ".yml") + ".golden"
			if *update {
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
				t.Errorf("compiled tree differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
	goldens, _ := filepath.Glob("testdata/golden/*.golden")
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".golden") + ".yml"); err != nil {
			t.Errorf("stale golden file %s: its rule is gone", g)
		}
	}
}
