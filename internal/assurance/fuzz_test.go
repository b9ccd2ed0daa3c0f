package assurance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedFuzz adds the small documents in testdata and a slice of each real
// file (the full files are large for a fuzzing corpus).
func seedFuzz(f *testing.F, files ...string) {
	f.Helper()
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(frameworks, rel))
		if err != nil {
			continue // the seeds above still run
		}
		f.Add(data[:min(len(data), 6000)])
	}
}

func fuzzParse(t *testing.T, name string, data []byte) {
	set, err := Parse(name, data, ParseOptions{})
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.File != name {
			t.Fatalf("error %v is not a ParseError naming the file", err)
		}
		return
	}
	// What parses is whole: nodes have keys, parents come first,
	// indicators and targets point at nodes.
	seen := map[string]bool{}
	for _, n := range set.Nodes {
		if n.Key == "" || seen[n.Key] || (n.Parent != "" && !seen[n.Parent]) {
			t.Fatalf("node %+v", n)
		}
		seen[n.Key] = true
	}
	for _, in := range set.Indicators {
		if !seen[in.Outcome] {
			t.Fatalf("indicator %+v", in)
		}
	}
	for _, p := range set.Profiles {
		for _, tg := range p.Targets {
			if !seen[tg.Node] {
				t.Fatalf("target %+v", tg)
			}
		}
	}
	_ = set.Summarise()
}

func FuzzParseWebCAF(f *testing.F) {
	seedFuzz(f, "webcaf/cyber-assessment-framework-v3.2.yaml", "webcaf/cyber-assessment-framework-v4.0.yaml")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, "caf-v3.2.yaml", data) })
}

func FuzzParseCISOAssistant(f *testing.F) {
	seedFuzz(f, "ciso-assistant/frameworks/owasp-asvs-5.0.0.yaml", "ciso-assistant/frameworks/cyber_essentials.yaml")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, "library.yaml", data) })
}
