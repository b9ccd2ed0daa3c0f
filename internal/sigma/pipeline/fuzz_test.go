package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds untrusted YAML to Parse and, when it parses, applies
// the pipeline to a rule made from the same input: neither may panic, and
// a parse error must name the file.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yml")
	builtins, _ := filepath.Glob("builtin/*.yml")
	for _, s := range append(seeds, builtins...) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("transformations:\n  - type: field_name_mapping\n    mapping: *a\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("b: &b {type: drop_detection_item}\ntransformations:\n  - <<: [*b, *b]\n    id: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yml:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		words := strings.Fields(string(data))
		if len(words) > 20 {
			words = words[:20]
		}
		r := Rule{LogSource: LogSource{Product: "windows", Category: "process_creation"}, Tags: words}
		for i, w := range words {
			r.Items = append(r.Items, DetectionItem{Field: w, Values: words[i:], Expand: i%2 == 0, Null: i%3 == 0})
		}
		_, _ = p.Apply(r)
		_ = p.Unsupported()
	})
}
