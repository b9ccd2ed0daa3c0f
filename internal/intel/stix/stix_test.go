package stix

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

const stixData = "../../../../shared/data/stix"

func need(t *testing.T, p string) string {
	t.Helper()
	full := filepath.Join(stixData, p)
	if _, err := os.Stat(full); err != nil {
		testneed.Missing(t, "the STIX data in ../shared/data/stix", err)
	}
	return full
}

// TestSCOIDs checks deterministic ids against those python-stix2 computes
// (the canonical JSON here and uuid.uuid5 with the STIX namespace there).
func TestSCOIDs(t *testing.T) {
	for _, c := range []struct {
		typ   string
		props map[string]any
		want  string
	}{
		{"ipv4-addr", map[string]any{"value": "127.0.0.1/32"}, "ipv4-addr--81cf31a4-3afc-5e70-abbc-f1d8557ba791"},
		{"domain-name", map[string]any{"value": "example.com", "resolves_to_refs": []string{"ipv4-addr--81cf31a4-3afc-5e70-abbc-f1d8557ba791"}}, "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
		{"file", map[string]any{"name": "resume.pdf", "size": 83968, "hashes": map[string]any{"MD5": "1717b7fff97d37a1e1a0029d83492de1", "SHA-256": "0f0cb4ce4ac4bd16d22b8cb1b8b53d54e1ab41f86d8a0a0bb7a4c7ae6ffac7c8"}},
			"file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d"},
	} {
		o, err := NewSCO(c.typ, c.props)
		if err != nil {
			t.Fatal(err)
		}
		if o.ID != c.want {
			t.Errorf("%s %v: id %s, want %s", c.typ, c.props, o.ID, c.want)
		}
	}
	// The same address from two trusts, with other properties differing, is one object.
	a, _ := NewSCO("email-addr", map[string]any{"value": "jdoe@example.com", "display_name": "John"})
	b, _ := NewSCO("email-addr", map[string]any{"value": "jdoe@example.com", "display_name": "Johnny"})
	if a.ID != b.ID {
		t.Errorf("%s != %s", a.ID, b.ID)
	}
	// MD5 is preferred over SHA-256, whatever else is given.
	f1, _ := NewSCO("file", map[string]any{"hashes": map[string]any{"MD5": "cead3f77f6cda6ec00f57d76c9a6879f", "SHA-256": "aa"}})
	f2, _ := NewSCO("file", map[string]any{"hashes": map[string]any{"MD5": "cead3f77f6cda6ec00f57d76c9a6879f"}})
	if f1.ID != f2.ID {
		t.Errorf("hash choice: %s != %s", f1.ID, f2.ID)
	}
	// No contributing property: a random (version 4) id.
	p1, _ := NewSCO("process", map[string]any{"pid": 1})
	p2, _ := NewSCO("process", map[string]any{"pid": 1})
	if p1.ID == p2.ID || p1.ID[len("process--")+14] != '4' {
		t.Errorf("process ids %s %s", p1.ID, p2.ID)
	}
}

// TestSCOIDsOfOASISExamples recomputes the id of every SCO in the OASIS
// example bundles whose id is a version 5 UUID: each must come out the same.
func TestSCOIDsOfOASISExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(need(t, "examples/cti-documentation"), "*.json"))
	checked := 0
	for _, f := range files {
		b, err := ReadBundleFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var scos []map[string]json.RawMessage
		for _, o := range b.Objects {
			if CategoryOf(o.Type) == SCO {
				scos = append(scos, o.Props)
			}
			// observed-data's embedded objects (deprecated but common).
			var embedded map[string]map[string]json.RawMessage
			if ok, _ := o.Get("objects", &embedded); ok {
				for _, e := range embedded {
					scos = append(scos, e)
				}
			}
		}
		for _, p := range scos {
			var typ, id string
			_ = json.Unmarshal(p["type"], &typ)
			_ = json.Unmarshal(p["id"], &id)
			if len(id) < 15 || id[len(id)-22] != '5' {
				continue
			}
			got, det, err := SCOID(typ, p)
			if err != nil || !det || got != id {
				t.Errorf("%s: %s computed as %s (%v)", filepath.Base(f), id, got, err)
			}
			checked++
		}
	}
	if checked < 2 {
		t.Errorf("checked %d ids, want the 2 of sighting-of-observed-data.json", checked)
	}
}

func TestCanonical(t *testing.T) {
	// RFC 8785 section 3.2.2's example, and its number forms.
	var v any
	d := json.NewDecoder(strings.NewReader(`{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}`))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	got, err := Canonical(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Keys sort by UTF-16 code units: U+1F600 (surrogates D83D…) before U+FB33.
	got, _ = Canonical(map[string]any{"\ufb33": 1, "\U0001F600": 2, "a": 3})
	if string(got) != `{"a":3,"😀":2,"שּׁ":1}` && string(got) != "{\"a\":3,\"\U0001F600\":2,\"\ufb33\":1}" {
		t.Errorf("utf-16 order: %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"x","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}`: "",
		`{"type":"Indicator"}`:                        "type:",
		`{"type":"indicator","id":"indicator--nope"}`: "id:",
		`{"type":"indicator","id":"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","spec_version":"2.1"}`:                                                                                                                                               "id:",
		`{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`:                                                                                                                                                                  "spec_version: required",
		`{"type":"indicator","spec_version":"2.0","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`:                                                                                                                                             "only STIX 2.1",
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06 20:03:48","modified":"2016-04-06T20:03:48Z"}`:                                                                           "created:",
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48Z","modified":"2016-04-05T20:03:48Z"}`:                                                                          "modified: is before created",
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48Z","modified":"2016-04-06T20:03:48Z","object_marking_refs":["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}`: "object_marking_refs[0]",
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48Z","modified":"2016-04-06T20:03:48Z","confidence":101}`:                                                         "confidence",
		`{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"1.2.3.4"}`:                                                                                                                                                "",
	} {
		_, err := Parse([]byte(src))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", src, err)
			}
			continue
		}
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

func TestBundleErrors(t *testing.T) {
	_, err := ReadBundle("x.json", strings.NewReader(`{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[
		{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"1.2.3.4"},
		{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","spec_version":"2.1"}]}`))
	if err == nil || err.Error() != "x.json: object 1 (indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f): created: required" {
		t.Errorf("error %v", err)
	}
	_, err = ReadBundle("y.json", strings.NewReader("{\"type\":\"bundle\",\n\"objects\": [}"))
	if err == nil || !strings.HasPrefix(err.Error(), "y.json: line 2 column") {
		t.Errorf("error %v", err)
	}
}

// TestMarkings checks the TLP ids against the OASIS marking definitions.
func TestMarkings(t *testing.T) {
	for file, ids := range map[string]map[string]TLP{
		"markings/tlp1-marking-definitions.json": {TLP1White: TLPClear, TLP1Green: TLPGreen, TLP1Amber: TLPAmber, TLP1Red: TLPRed},
		"markings/tlp2-marking-definitions.json": {TLP2Clear: TLPClear, TLP2Green: TLPGreen, TLP2Amber: TLPAmber, TLP2AmberStrict: TLPAmberStrict, TLP2Red: TLPRed},
	} {
		b, err := ReadBundleFile(need(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Objects) != len(ids) {
			t.Errorf("%s: %d objects", file, len(b.Objects))
		}
		for _, o := range b.Objects {
			want, ok := ids[o.ID]
			if !ok {
				t.Errorf("%s: unknown %s", file, o.ID)
				continue
			}
			var name string
			if _, err := o.Get("name", &name); err != nil {
				t.Fatal(err)
			}
			if got, _ := TLPOf(o.ID); got != want || !strings.EqualFold(name, want.String()) && !(want == TLPClear && strings.EqualFold(name, "TLP:WHITE")) {
				t.Errorf("%s: %s named %q is %v, want %v", file, o.ID, name, got, want)
			}
		}
	}
	ext, err := ReadBundleFile(need(t, "markings/tlp2-oasis/objects_extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ext.Objects[0].ID != TLP2Extension {
		t.Errorf("extension %s", ext.Objects[0].ID)
	}
	if l, ok := ParseTLP("tlp:amber+strict"); !ok || l != TLPAmberStrict || TLP2ID(TLPRed) != TLP2Red {
		t.Error("ParseTLP / TLP2ID")
	}
	o, _ := NewSCO("url", map[string]any{"value": "http://x.example/", "object_marking_refs": []string{TLP1Green, TLP2Red}})
	if l, ok := TLPOfObject(o); !ok || l != TLPRed {
		t.Errorf("TLPOfObject %v", l)
	}
}
