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

// TestAttributeGalaxies reads PyMISP's galaxy sample, whose attributes
// carry clusters of their own: each known cluster is an object with a
// relationship from the attribute's object (indicates from an
// indicator to an attack pattern), the report refers to the
// relationship and not to a cluster the event does not carry, and the
// clusters go back onto their attributes, not onto the event.
func TestAttributeGalaxies(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(need(t, "events"), "pymisp-galaxy_1.json"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseEvents("pymisp-galaxy_1.json", b)
	if err != nil {
		t.Fatal(err)
	}
	clusters := func(e Event) (n int) {
		attrs := e.Attributes
		for _, ob := range e.Objects {
			attrs = append(attrs, ob.Attributes...)
		}
		for _, a := range attrs {
			for _, g := range a.Galaxies {
				n += len(g.Clusters)
			}
		}
		return n
	}
	onAttrs := clusters(evs[0])
	values := map[string]bool{}
	for _, ob := range evs[0].Objects {
		for _, a := range append(ob.Attributes, evs[0].Attributes...) {
			for _, g := range a.Galaxies {
				for _, cl := range g.Clusters {
					values[cl.Value] = true
				}
			}
		}
	}
	if onAttrs == 0 {
		t.Fatal("the sample's attributes carry no clusters as parsed")
	}
	objs, _, err := ToSTIX(evs[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*stix.Object{}
	var report *stix.Object
	for _, o := range objs {
		byID[o.ID] = o
		if o.Type == "report" {
			report = o
		}
	}
	var refs []string
	_, _ = report.Get("object_refs", &refs)
	var rels int
	for _, o := range objs {
		if o.Type != "relationship" || o.Props["x_misp_attribute_galaxy"] == nil {
			continue
		}
		rels++
		src, tgt := byID[str(o, "source_ref")], byID[str(o, "target_ref")]
		if src == nil || tgt == nil {
			t.Fatalf("%s: an end is missing", o.ID)
		}
		if src.Type == "indicator" && tgt.Type == "attack-pattern" && str(o, "relationship_type") != "indicates" {
			t.Errorf("%s: indicator to attack-pattern is %q, want indicates", o.ID, str(o, "relationship_type"))
		}
		if !contains(refs, o.ID) {
			t.Errorf("the report does not refer to %s", o.ID)
		}
		if !values[str(tgt, "name")] {
			t.Errorf("%s: a cluster %q no attribute carries", o.ID, str(tgt, "name"))
		}
	}
	if rels == 0 {
		t.Fatal("no attribute-galaxy relationships")
	}
	back := FromSTIX(objs, NameUUID("x"), "x", time.Now())
	backOnAttrs := clusters(back[0])
	var backOnEvent, onEvent int
	for _, g := range back[0].Galaxies {
		backOnEvent += len(g.Clusters)
	}
	for _, g := range evs[0].Galaxies {
		for _, cl := range g.Clusters {
			if galaxyType(g.Type) != "" && cl.Value != "" {
				onEvent++
			}
		}
	}
	if backOnAttrs != rels || backOnEvent != onEvent {
		t.Errorf("back: %d clusters on attributes (want %d), %d on the event (want %d)", backOnAttrs, rels, backOnEvent, onEvent)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
