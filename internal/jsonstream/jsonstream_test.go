package jsonstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

type row struct {
	ID    string   `json:"id"`
	Tags  []string `json:"tags"`
	Note  string   `json:"note,omitempty"`
	Score float64  `json:"score"`
	Paths [][]string
	//lint:ignore U1000 an unexported field, which the encoder must leave out as encoding/json does
	skip int
}

// ptrMarshal encodes itself only through its pointer, as encoding/json
// calls it for addressable values (slice elements, fields reached by
// pointer).
type ptrMarshal struct{ N int }

func (p *ptrMarshal) MarshalJSON() ([]byte, error) {
	return []byte(`"p` + strings.Repeat("!", p.N) + `"`), nil
}

type inner struct{ A int }

type embeds struct {
	inner
	B int `json:"b"`
}

type stringOpt struct {
	N int `json:"n,string"`
}

type zeroOpt struct {
	T time.Time `json:"t,omitzero"`
}

type doc struct {
	Generation int64             `json:"generation"`
	Title      string            `json:"title,omitempty"`
	Rows       []row             `json:"rows"`
	None       []row             `json:"none"`
	Empty      []row             `json:"empty"`
	Omitted    []row             `json:"omitted,omitempty"`
	Bytes      []byte            `json:"bytes"`
	When       time.Time         `json:"when"`
	Ptr        *inner            `json:"ptr"`
	NilPtr     *inner            `json:"nil_ptr,omitempty"`
	Map        map[string]int    `json:"map"`
	Any        any               `json:"any"`
	Marsh      []ptrMarshal      `json:"marsh"`
	Nested     map[string][]row  `json:"nested"`
	Dash       int               `json:"-"`
	Untagged   int               //
	HTML       string            `json:"html"`
	Totals     struct{ X []int } `json:"totals"`
}

func sample() doc {
	return doc{
		Generation: 7,
		Rows: []row{{ID: "a", Tags: []string{"x", "y"}, Score: 1.5, Paths: [][]string{{"s", "p"}}},
			{ID: "b<&>", Note: "n", Tags: nil, Score: 0}},
		Empty: []row{}, Bytes: []byte("hi"), When: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC),
		Ptr: &inner{A: 1}, Map: map[string]int{"b": 2, "a": 1}, Any: []int{1, 2},
		Marsh: []ptrMarshal{{N: 1}, {N: 2}}, Nested: map[string][]row{"k": {{ID: "c"}}},
		Dash: 9, Untagged: 3, HTML: "<b>&</b>", Totals: struct{ X []int }{[]int{1}},
	}
}

func whole(t *testing.T, v any, indent string) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestEncodeIsEncodingJSON: for every shape Vigil's answers take, Encode
// writes exactly what json.Encoder writes for the whole value.
func TestEncodeIsEncodingJSON(t *testing.T) {
	d := sample()
	values := map[string]any{
		"struct": d, "pointer": &d, "slice": d.Rows, "nil slice": []row(nil), "empty slice": []row{},
		"nil": nil, "nil pointer": (*doc)(nil), "map": d.Map, "string": "x<y", "number": 3,
		"embedded": embeds{inner{1}, 2}, "string option": stringOpt{5}, "omitzero": zeroOpt{},
		"pointer-receiver elements": []ptrMarshal{{1}}, "pointer-receiver struct": &ptrMarshal{3},
		"time": d.When, "slice of pointers": []*row{&d.Rows[0], nil},
		"generic page": struct {
			Items []row  `json:"items"`
			Next  string `json:"next_cursor,omitempty"`
		}{Items: d.Rows},
	}
	for name, v := range values {
		for _, indent := range []string{"", "  ", "\t"} {
			var got bytes.Buffer
			if err := Encode(&got, v, indent); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if want := whole(t, v, indent); got.String() != want {
				t.Errorf("%s, indent %q:\n got %s\nwant %s", name, indent, got.String(), want)
			}
		}
	}
}

// TestWriterByHand: members written one at a time make the document the
// whole value makes.
func TestWriterByHand(t *testing.T) {
	d := sample()
	for _, indent := range []string{"", "  "} {
		var got bytes.Buffer
		o := NewWriter(&got, indent)
		o.Open('{')
		o.Field("generation", d.Generation)
		o.Key("rows")
		o.Open('[')
		for i := range d.Rows {
			o.Elem(&d.Rows[i])
		}
		o.Close(']')
		o.Key("empty")
		o.Open('[')
		o.Close(']')
		o.Close('}')
		if err := o.End(); err != nil {
			t.Fatal(err)
		}
		want := whole(t, struct {
			Generation int64 `json:"generation"`
			Rows       []row `json:"rows"`
			Empty      []row `json:"empty"`
		}{d.Generation, d.Rows, []row{}}, indent)
		if got.String() != want {
			t.Errorf("indent %q:\n got %s\nwant %s", indent, got.String(), want)
		}
	}
}

type failAfter struct{ n int }

var errGone = errors.New("reader gone")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errGone
	}
	return len(p), nil
}

// TestErrorsStick: a reader that goes away stops the writing, and a value
// that cannot be encoded is an error, not a short document passed off as
// whole.
func TestErrorsStick(t *testing.T) {
	rows := make([]row, 20000)
	for i := range rows {
		rows[i] = row{ID: strings.Repeat("x", 40)}
	}
	if err := Encode(&failAfter{n: 100 << 10}, rows, ""); !errors.Is(err, errGone) {
		t.Errorf("write error = %v, want the writer's", err)
	}
	var b bytes.Buffer
	err := Encode(&b, []row{{ID: "a"}, {Score: math.Inf(1)}}, "")
	if err == nil || !strings.Contains(err.Error(), "unsupported value") {
		t.Errorf("encode error = %v", err)
	}
}
