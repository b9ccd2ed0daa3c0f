package misp

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzEvent: any bytes either fail to parse with a *ParseError naming
// the file, or parse and convert to STIX (or fail to convert with an
// error) and back, without a panic.
func FuzzEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(data, "events", "*.json"))
	feed, _ := filepath.Glob(filepath.Join(data, "feed-sample", "*-*.json"))
	for _, p := range append(files, feed...) {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Event":{"uuid":"5c7641bf-a4e8-4d5d-a653-03240a00020f","info":"x","Attribute":[{"uuid":"5c7641bf-a4e8-4d5d-a653-03240a00020e","type":"ip-dst|port","value":"1.2.3.4|80","to_ids":"1"}]}}`))
	f.Add([]byte(`{"response":[{"Event":{"uuid":"x"}}]}`))
	f.Add([]byte(`[{"uuid":"5c7641bf-a4e8-4d5d-a653-03240a00020f","Tag":[{"name":"PAP:RED"},{"name":"tlp:amber+strict"}],"Galaxy":[{"type":"mitre-tool","GalaxyCluster":[{"value":"x"}]}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := ParseEvents("fuzz.json", b)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			return
		}
		for _, e := range evs {
			objs, _, err := ToSTIX(e, Options{})
			if err != nil {
				continue
			}
			FromSTIX(objs, NameUUID("f"), "f", time.Unix(0, 0))
		}
	})
}

// FuzzFeedIndex: manifest.json and hashes.csv parse or fail with an
// error naming the file, never panic.
func FuzzFeedIndex(f *testing.F) {
	for _, n := range []string{"manifest.json", "hashes.csv"} {
		if b, err := os.ReadFile(filepath.Join(data, "feed-sample", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("fe16b2822af0f2f9c557b78da3d6a745,32cb8b54-a070-456b-b88e-fbae2f335c9d\nx,y,z\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseManifest("manifest.json", b); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		if _, err := ParseHashes("hashes.csv", b); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
