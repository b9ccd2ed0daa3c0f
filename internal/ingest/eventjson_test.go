package ingest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// checkEventJSON fails unless appendEventJSON's bytes decode to what
// encoding/json's do.
func checkEventJSON(t *testing.T, ev events.Event) {
	t.Helper()
	ours, err := appendEventJSON(nil, &ev)
	std, stdErr := json.Marshal(&ev)
	if (err == nil) != (stdErr == nil) {
		t.Fatalf("errors differ: %v, encoding/json %v", err, stdErr)
	}
	if err != nil {
		return
	}
	var a, b any
	if err := json.Unmarshal(ours, &a); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, ours)
	}
	if err := json.Unmarshal(std, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("differs from encoding/json:\n%s\n%s", ours, std)
	}
}

// The hand-written encoder gives what encoding/json gives, for every
// golden input's event and for the awkward values.
func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	n, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	inputs, _ := filepath.Glob("testdata/normalise/*.input")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		raw, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		ev := n.Parse(raw, srcTCP, received)
		ev.Org = "RJ1"
		checkEventJSON(t, ev)
	}
	odd := events.Event{ID: "x", Org: "RJ1", ReceivedAt: time.Date(2026, 12, 6, 13, 0, 0, 123456789, time.FixedZone("", 3600)),
		Fields: map[string]any{
			"ctl": "a\x00b\x1f\"\\\n\r\t<>&", "ls": "\u2028\u2029", "bad": "\xff\xfe", "tiny": 1e-7, "huge": 1e22, "neg": -0.5,
			"int": float64(1 << 53), "b": true, "list": []any{"a", 1.5, false, nil, []any{}}, "nil": nil, "": "empty key",
		}, Raw: "raw \xff", Truncated: true, ParseError: "bad"}
	checkEventJSON(t, odd)
	odd.Fields["nan"] = math.NaN()
	if _, err := appendEventJSON(nil, &odd); err == nil {
		t.Error("NaN encoded")
	}
	delete(odd.Fields, "nan")
	odd.Fields["other"] = int64(3) // not a Normaliser type: encoding/json decides
	checkEventJSON(t, odd)
	odd.EventTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	checkEventJSON(t, odd)
}

// FuzzEventJSON normalises arbitrary input and checks the event's JSON
// against encoding/json's.
func FuzzEventJSON(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/normalise/*.input")
	for _, in := range inputs {
		raw, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	n, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev := n.Parse(raw, srcTCP, received)
		ev.Org = "RJ1"
		checkEventJSON(t, ev)
	})
}

// BenchmarkEventJSON compares the hand-written encoder with
// encoding/json on a logger RFC 5424 event and a Winlogbeat Sysmon one.
func BenchmarkEventJSON(b *testing.B) {
	n, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	sysmon, err := os.ReadFile("testdata/normalise/winlogbeat8-sysmon11.input")
	if err != nil {
		b.Fatal(err)
	}
	for name, raw := range map[string][]byte{"rfc5424": []byte(loggerLines.rfc5424SD), "winlogbeat": sysmon} {
		ev := n.Parse(raw, srcTCP, received)
		ev.Org = "RJ1"
		b.Run(name+"/vigil", func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf, _ = appendEventJSON(buf[:0], &ev)
			}
		})
		b.Run(name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = json.Marshal(&ev)
			}
		})
	}
}

// A time is written as time.Time's MarshalJSON writes it, byte for byte:
// UTC by hand, other zones by the time package; years outside 0–9999
// refused as MarshalJSON refuses them.
func TestJSONTimeAsMarshalJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 2026))
	zones := []*time.Location{time.UTC, time.FixedZone("BST", 3600), time.FixedZone("", -5*3600-30*60)}
	for i := range 100_000 {
		sec := r.Int64N(400*365*86400) - 200*365*86400 + time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		ns := []int64{0, r.Int64N(1e9), r.Int64N(1000) * 1e6, 1e8, 999_999_999, r.Int64N(10) * 10}[i%6]
		tm := time.Unix(sec, ns).In(zones[i%len(zones)])
		if i%1000 == 0 {
			tm = time.Date(r.IntN(12000)-1000, 1, 1, 0, 0, 0, int(ns), time.UTC)
		}
		got, ok := appendJSONTime(nil, tm, true)
		want, err := tm.MarshalJSON()
		if ok != (err == nil) || ok && string(got) != string(want) {
			t.Fatalf("%v: %s %v, MarshalJSON %s %v", tm, got, ok, want, err)
		}
	}
}
