package pattern

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that an error always
// points inside the input, and that what parses compiles or says why not.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"pass.txt", "fail.txt"} {
		if fh, err := os.Open(filepath.Join(stixData, "patterns", name)); err == nil {
			sc := bufio.NewScanner(fh)
			for sc.Scan() {
				f.Add(sc.Text())
			}
			_ = fh.Close()
		}
	}
	f.Add(`[x:a = 'it\'s'] WITHIN 5 SECONDS REPEATS 2 TIMES START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T01:30:00.5Z'`)
	f.Add("[x:a /* c */ = b'aGk='] // end")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse(src)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Offset < 0 || e.Offset > len(src) || e.Line < 1 || e.Column < 1 {
				t.Fatalf("error %#v for %q", err, src)
			}
			_ = e.Caret(src)
			return
		}
		if m, err := Compile(p); err == nil {
			m.Match(Fields{"x:a": {"1", "b"}})
		}
	})
}
