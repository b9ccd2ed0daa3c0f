package flatjson_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/vigil-health/vigil/internal/flatjson"
)

func TestFlatten(t *testing.T) {
	m := map[string]any{}
	if err := flatjson.Flatten(`{"a":{"b":1,"c":[1,"x",null]},"n":null,"big":18446744073709551615,"e":"C:\\w\\\"q\""}`, m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a.b": 1.0, "a.c": []any{1.0, "x"}, "big": "18446744073709551615", "e": `C:\w\"q"`}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %#v, want %#v", m, want)
	}
	var se *flatjson.SyntaxError
	if err := flatjson.Flatten(`{"a":`, map[string]any{}); err == nil || !asSyntax(err, &se) || se.Offset != 5 {
		t.Fatalf("an unfinished object: %v", err)
	}
}

func asSyntax(err error, se **flatjson.SyntaxError) bool {
	x, ok := err.(*flatjson.SyntaxError)
	*se = x
	return ok
}

// TestDecodeRecordIsUnmarshal: what DecodeRecord decodes, encoding/json
// decodes to the same map; what it refuses is what the caller must give
// encoding/json (objects inside, numbers out of range, bad UTF-8).
func TestDecodeRecordIsUnmarshal(t *testing.T) {
	for _, s := range []string{
		`{}`, `{"a":1,"b":"x","c":true,"d":null,"e":[1,null,"y"],"f":[],"g":[null],"h":1e20,"i":18446744073709551615}`,
		`{"EventID":4688,"CommandLine":"C:\\Windows\\cmd.exe /c \"x\"","u":"\u00e9\ud83d\ude00\ud800"}`,
	} {
		checkRecord(t, s, true)
	}
	for _, s := range []string{`{"a":{"b":1}}`, `{"a":[[1]]}`, `{"a":[{"b":1}]}`, `{"a":1e400}`, "{\"a\":\"\xff\"}"} {
		if err := flatjson.DecodeRecord(s, map[string]any{}); err == nil {
			t.Errorf("DecodeRecord(%s) took what encoding/json decodes otherwise", s)
		}
	}
}

func checkRecord(t *testing.T, s string, mustDecode bool) {
	t.Helper()
	got := map[string]any{}
	err := flatjson.DecodeRecord(s, got)
	if err != nil {
		if mustDecode {
			t.Fatalf("DecodeRecord(%s): %v", s, err)
		}
		return
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(s), &want); err != nil {
		t.Fatalf("DecodeRecord took %s, which encoding/json refuses: %v", s, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeRecord(%s) = %#v, encoding/json %#v", s, got, want)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(`{"a":1,"b":"x","c":[true,null,2.5e-7],"d":"\u2028\\\""}`)
	f.Add(`{"a":-0,"b":0.1,"c":123456789012345678901234567890}`)
	f.Fuzz(func(t *testing.T, s string) { checkRecord(t, s, false) })
}

// PlainRun finds the first byte a string cannot pass over as a byte at a
// time would, wherever it falls in its eight-byte words.
func TestPlainRun(t *testing.T) {
	naive := func(b []byte, i int, ascii bool) int {
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 || ascii && c >= 0x80 {
				break
			}
		}
		return i
	}
	special := []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, '!', '#', '[', ']', 0x7f, 0x80, 0xc3, 0xff, 'a'}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = 'x'
			if rng.IntN(6) == 0 {
				b[i] = special[rng.IntN(len(special))]
			}
		}
		i := 0
		if len(b) > 0 {
			i = rng.IntN(len(b))
		}
		for _, ascii := range []bool{true, false} {
			want := naive(b, i, ascii)
			if got := flatjson.PlainRun(b, i, ascii); got != want {
				t.Fatalf("case %d: PlainRun(%q, %d, %v) = %d, want %d", n, b, i, ascii, got, want)
			}
			if got := flatjson.PlainRun(string(b), i, ascii); got != want {
				t.Fatalf("case %d: PlainRun of the string %q, %d, %v = %d, want %d", n, b, i, ascii, got, want)
			}
		}
	}
}
