package org

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseODS feeds arbitrary bytes, under every fixture's file name, to the
// parser. It calls parseODS, not ParseODS, so that a panic is not hidden by
// the recover at the entry point. Crashers go to testdata/fuzz/FuzzParseODS
// and are committed.
func FuzzParseODS(f *testing.F) {
	entries, err := os.ReadDir(odsTestdata)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(odsTestdata, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(e.Name(), data, false)
		f.Add(e.Name(), data, true)
	}
	f.Fuzz(func(t *testing.T, name string, data []byte, all bool) {
		res, err := parseODS(name, bytes.NewReader(data), ParseOptions{AllSettings: all})
		if err != nil {
			if len(res.Records) != 0 || len(res.Errors) != 0 {
				t.Fatalf("error %v with %d records and %d row errors", err, len(res.Records), len(res.Errors))
			}
			return
		}
		odsCheckInvariants(t, name, res)
	})
}
