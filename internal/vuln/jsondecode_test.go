package vuln

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// asV1 decodes b into fresh values of cdxJSON, spdxJSON and Advisory
// with decodeJSON and with encoding/json, and fails if the two differ:
// in a value, or in whether b is accepted.
func asV1(t *testing.T, b []byte) {
	t.Helper()
	for _, mk := range []func() any{
		func() any { return new(cdxJSON) },
		func() any { return new(spdxJSON) },
		func() any { return new(Advisory) },
	} {
		v1, v2 := mk(), mk()
		err1, err2 := json.Unmarshal(b, v1), decodeJSON(b, v2)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%T from %q: encoding/json %v, decodeJSON %v", v1, b, err1, err2)
		}
		if err1 == nil && !reflect.DeepEqual(v1, v2) {
			t.Fatalf("%T from %q:\nencoding/json %+v\ndecodeJSON    %+v", v1, b, v1, v2)
		}
	}
}

// TestDecodeJSONAsV1: decodeJSON reads the shared SBOMs and OSV records
// and hand-made edge cases exactly as encoding/json does, and its errors
// still name a line.
func TestDecodeJSONAsV1(t *testing.T) {
	for _, s := range []string{
		`{"components":[{"Name":"a","PURL":"pkg:npm/a@1","purl":"pkg:npm/b@1"}]}`, // case, and the last of two names
		`{"serialNumber":"x","serialNumber":"y","metadata":{"component":{"name":"m"}}}`,
		`{"components":[{"name":"\u00e9\ud800","version":"1","hashes":[{"alg":"SHA-1","content":"00"}],"components":[{"name":"n"}]}]}`,
		"{\"components\":[{\"name\":\"\xff\"}]}", // invalid UTF-8 is replaced
		`{"packages":[{"name":"p","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:pypi/p@1"}]}]}`,
		`{"id":"GO-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}],"database_specific":{"severity":"HIGH"}}`,
		`{"id":"GO-1","database_specific":{"severity":{"a":[1,2]}}}`,
		`{"components":null,"metadata":null}`,
		`{"components":[{"name":7}]}`, // a type error, in both
		`{"components":[{"name":}]}`,
		`{"components":[]} x`,
		`[]`,
		``,
	} {
		asV1(t, []byte(s))
	}
	files, _ := filepath.Glob(filepath.Join(dataDir, "sbom", "*.json"))
	records, _ := filepath.Glob(filepath.Join(dataDir, "osv", "*", "*.json"))
	if len(records) > 40 {
		records = records[:40]
	}
	for _, f := range append(files, records...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		asV1(t, b)
	}
	_, err := ParseSBOM("broken.cdx.json", []byte("{\"bomFormat\": \"CycloneDX\",\n\"components\": [\n{\"name\": 7}]}"))
	if err == nil || !strings.Contains(err.Error(), "broken.cdx.json: CycloneDX JSON: line 3 column") {
		t.Fatalf("error %v, want one naming line 3", err)
	}
}

// FuzzDecodeJSONAsV1: no input is read differently by decodeJSON and
// encoding/json.
func FuzzDecodeJSONAsV1(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"name":"a","purl":"pkg:npm/%40s/a@1.0.0","components":[{"name":"b"}]}]}`))
	f.Add([]byte(`{"packages":[{"name":"x","versionInfo":"1","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:pypi/x@1"}]}]}`))
	f.Add([]byte(`{"id":"A","aliases":["B"],"affected":[{"package":{"ecosystem":"npm","name":"a"},"versions":["1"]}],"severity":[{"type":"CVSS_V3","score":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { asV1(t, b) })
}
