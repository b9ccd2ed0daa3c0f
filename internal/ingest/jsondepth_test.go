package ingest

import (
	"math/rand/v2"
	"testing"
)

// refDepth is jsonDepth a byte at a time, as it was written first: the
// vectorised jsonDepth must agree with it on any bytes and any state.
func refDepth(b []byte, depth int, inStr, escape bool) (int, bool, bool) {
	for _, c := range b {
		switch {
		case escape:
			escape = false
		case inStr:
			if c == '\\' {
				escape = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return depth, inStr, escape
}

func checkDepth(t *testing.T, b []byte) {
	t.Helper()
	for _, st := range []struct{ inStr, escape bool }{{false, false}, {true, false}, {true, true}} {
		d1, s1, e1 := jsonDepth(b, 3, st.inStr, st.escape)
		d2, s2, e2 := refDepth(b, 3, st.inStr, st.escape)
		if d1 != d2 || s1 != s2 || e1 != e2 {
			t.Fatalf("jsonDepth(%q, in string %v, escape %v) = %d %v %v, want %d %v %v", b, st.inStr, st.escape, d1, s1, e1, d2, s2, e2)
		}
	}
}

func TestJSONDepthAgreesBytewise(t *testing.T) {
	for _, s := range []string{
		``, `{`, `}`, `"`, `\`, `\\`, `\"`, `"\\"`, `"\\\"{"`, `{"a":"b\\"}`, `{"a":"b\"}"`,
		`{"CommandLine":"C:\\Windows\\system32\\cmd.exe /c \"echo {\""}`, `[{"x":[1,2,{"y":"]"}]}]`,
		`"abc\\\\`, `"abc\\\`, `{"k":"v"`, `"}{"`,
	} {
		checkDepth(t, []byte(s))
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]"\\ax:,`)
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		checkDepth(t, b)
	}
}

func FuzzJSONDepth(f *testing.F) {
	f.Add([]byte(`{"a":"b\\\"c"}`))
	f.Add([]byte(`"\\`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDepth(t, b)
		// Cut anywhere, the state carried over gives the same result.
		if len(b) > 1 {
			cut := len(b) / 2
			d, s, e := jsonDepth(b[:cut], 0, false, false)
			d, s, e = jsonDepth(b[cut:], d, s, e)
			d2, s2, e2 := refDepth(b, 0, false, false)
			if d != d2 || s != s2 || e != e2 {
				t.Fatalf("cut %q at %d: %d %v %v, want %d %v %v", b, cut, d, s, e, d2, s2, e2)
			}
		}
	})
}
