package intel

import (
	"strings"
	"testing"
)

// FuzzSearchText: the tokenizer and matcher of the search index take
// any text from feeds. Every indexed word of a text is found by itself
// and by its first two letters, and the matcher never panics.
func FuzzSearchText(f *testing.F) {
	for _, s := range []string{"QakBot C2 at c2.loader.example", "T1059.001 PowerShell", "ÉVELINA Évelina", "a\x00b 10.0.0.1", "x"} {
		f.Add(s, "qak")
	}
	f.Fuzz(func(t *testing.T, s, q string) {
		st := searchText{names: []string{s}, whole: []string{s}}
		_ = st.matches(strings.ToLower(q), words(q))
		for tok := range st.tokens() {
			if tok == strings.ToLower(s) {
				continue // the whole value
			}
			if !st.matches(tok, []string{tok}) {
				t.Fatalf("%q: indexed word %q not found", s, tok)
			}
			if p := string([]rune(tok)[:min(2, len([]rune(tok)))]); !st.matches(p, []string{p}) {
				t.Fatalf("%q: beginning %q of %q not found", s, p, tok)
			}
		}
	})
}
