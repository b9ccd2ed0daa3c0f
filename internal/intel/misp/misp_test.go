package misp

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
)

const data = "../../../../shared/data/misp"

func need(t testing.TB, p string) string {
	t.Helper()
	p = filepath.Join(data, p)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s: %v (../shared/data is not here)", p, err)
	}
	return p
}

func bodies(t *testing.T, objs []*stix.Object) []string {
	t.Helper()
	var out []string
	for _, o := range objs {
		b, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// TestEventsRoundTrip converts every sample event to STIX, back to MISP
// and to STIX again: the objects are the same.
func TestEventsRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(need(t, "events"), "*.json"))
	if len(files) != 9 {
		t.Fatalf("%d event files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !IsEvent(b) {
			t.Errorf("%s: not recognised as a MISP event", f)
		}
		evs, err := ParseEvents(f, b)
		if err != nil {
			t.Fatal(err)
		}
		var first []*stix.Object
		for _, e := range evs {
			objs, _, err := ToSTIX(e, Options{})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			first = append(first, objs...)
		}
		back := FromSTIX(first, NameUUID("x"), "x", time.Now())
		if len(back) != len(evs) {
			t.Fatalf("%s: %d events back, want %d", f, len(back), len(evs))
		}
		var second []*stix.Object
		for _, e := range back {
			objs, _, err := ToSTIX(e, Options{})
			if err != nil {
				t.Fatalf("%s again: %v", f, err)
			}
			second = append(second, objs...)
		}
		a, z := bodies(t, first), bodies(t, second)
		if strings.Join(a, "\n") != strings.Join(z, "\n") {
			for i := range min(len(a), len(z)) {
				if a[i] != z[i] {
					t.Fatalf("%s: %d objects then %d; first difference:\n%s\n%s", f, len(a), len(z), a[i], z[i])
				}
			}
			t.Fatalf("%s: %d objects then %d", f, len(a), len(z))
		}
	}
}

func TestFeedSample(t *testing.T) {
	f, err := ReadFeed(need(t, "feed-sample"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Events) != 6 || len(f.Problems) != 0 {
		t.Fatalf("%d events, problems %v", len(f.Events), f.Problems)
	}
	n := 0
	for _, e := range f.Events {
		objs, st, err := ToSTIX(e.Event, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n += len(objs)
		if st.Indicators == 0 {
			t.Errorf("%s: no indicators", e.File)
		}
	}
	t.Logf("%d STIX objects from 6 events", n)
}

// TestErrors: bad MISP JSON names the file and the place.
func TestErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"Event": {"uuid": "5c7641bf-a4e8-4d5d-a653-03240a00020f", "Attribute": [{"uuid": "5c7641bf-a4e8-4d5d-a653-03240a00020e", "type": "url"}]}}`,
			`x.json: event 0 (5c7641bf-a4e8-4d5d-a653-03240a00020f): Attribute[0].value: required`},
		{`{"Event": {"uuid": "nope"}}`, `x.json: event 0 (nope): uuid: "nope" is not a UUID`},
		{"{\"Event\": {\n\"uuid\": }}", `x.json: line 2 column 10: not MISP JSON`},
		{`{"Event": {"uuid": "5c7641bf-a4e8-4d5d-a653-03240a00020f", "timestamp": "soon"}}`, `want an integer, got "soon"`},
	} {
		_, err := ParseEvents("x.json", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := ParseHashes("hashes.csv", []byte("fe16b2822af0f2f9c557b78da3d6a745,32cb8b54-a070-456b-b88e-fbae2f335c9d\nzz,32cb8b54-a070-456b-b88e-fbae2f335c9d\n")); err == nil ||
		err.Error() != `hashes.csv: line 2 field 1: "zz" is not an MD5` {
		t.Errorf("hashes: %v", err)
	}
}
