package ingest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/normalise/*.golden from the current output")

// TestNormaliseGolden normalises each testdata/normalise/<case>.input
// (one record, its final LF dropped as LF framing would) and compares the
// event, as the JSON the store and API will show, with <case>.golden.
// go test -run TestNormaliseGolden -update rewrites them; a .golden whose
// .input is gone is reported.
func TestNormaliseGolden(t *testing.T) {
	dir := filepath.Join("testdata", "normalise")
	inputs, err := filepath.Glob(filepath.Join(dir, "*.input"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in %s: %v", dir, err)
	}
	n := newNormaliser(t, Options{})
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ev := n.Parse(bytes.TrimSuffix(raw, []byte("\n")), srcTCP, received)
			got, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output (run with -update if the change is meant):\n%s", golden, got)
			}
		})
	}
	goldens, _ := filepath.Glob(filepath.Join(dir, "*.golden"))
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".golden") + ".input"); err != nil {
			t.Errorf("stale %s: its .input is gone", g)
		}
	}
}
