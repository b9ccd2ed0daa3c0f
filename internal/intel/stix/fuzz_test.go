package stix

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadBundle checks that no input makes the bundle reader panic, that
// every failure is an error naming the input, and that what it accepts
// re-serialises to objects it accepts again, unchanged.
func FuzzReadBundle(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(stixData, "examples", "cti-documentation", "*.json"))
	for _, p := range files {
		// Only the small examples: with 10–16 KB seeds the fuzzer ran its
		// baseline and then stalled at 0 execs/s on this machine.
		if b, err := os.ReadFile(p); err == nil && len(b) < 2<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"1.2.3.4"}`))
	f.Add([]byte(`{"type":"bundle","spec_version":"2.0","objects":[{"type":"malware","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","labels":["malware"]}]}`))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`[{"type":"url","id":"url--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","value":"http://x"}]`))
	_ = zw.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBundle("in.json", bytes.NewReader(data))
		if err != nil {
			var oe *ObjectError
			if !errors.As(err, &oe) && !bytes.HasPrefix([]byte(err.Error()), []byte("in.json: ")) {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		for _, o := range b.Objects {
			out, err := json.Marshal(o)
			if err != nil {
				t.Fatalf("%s: %v", o.ID, err)
			}
			again, err := Parse(out)
			if err != nil {
				t.Fatalf("%s re-read: %v\n%s", o.ID, err, out)
			}
			out2, _ := json.Marshal(again)
			if !bytes.Equal(out, out2) {
				t.Fatalf("not stable:\n%s\n%s", out, out2)
			}
		}
	})
}
