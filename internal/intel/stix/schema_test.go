package stix

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemas loads the OASIS STIX 2.1 JSON schemas into one compiler, keyed
// by their $id, and returns a validator per object type.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	root := need(t, "schemas")
	c := jsonschema.NewCompiler()
	var ids = map[string]string{} // type → $id
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			return err
		}
		dir := filepath.Base(filepath.Dir(p))
		if name := strings.TrimSuffix(d.Name(), ".json"); dir != "common" || CategoryOf(name) == Meta {
			ids[name] = id
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for typ, id := range ids {
		s, err := c.Compile(id)
		if err != nil {
			t.Fatalf("compile %s: %v", id, err)
		}
		out[typ] = s
	}
	if len(out) != 42 {
		t.Fatalf("%d object schemas, want 42 (19 SDOs, 18 SCOs, 2 SROs, 3 meta)", len(out))
	}
	return out
}

func validate(t *testing.T, sch map[string]*jsonschema.Schema, what string, o *Object) {
	t.Helper()
	s, ok := sch[o.Type]
	if !ok {
		t.Errorf("%s: no schema for %s", what, o.Type)
		return
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s: %s does not validate: %v\n%s", what, o.ID, err, b)
	}
}

// TestProducedObjectsValidate builds every kind of object Vigil produces —
// an SCO of each of the 18 types through NewSCO, the TLP 1.0 and 2.0
// marking definitions — and checks each against the OASIS schema of its
// type; and re-serialises every object of the OASIS examples through
// Parse and MarshalJSON (what the store and TAXII hand out) and checks it
// still validates.
func TestProducedObjectsValidate(t *testing.T) {
	sch := schemas(t)
	md5 := map[string]any{"MD5": "cead3f77f6cda6ec00f57d76c9a6879f"}
	ip := "ipv4-addr--81cf31a4-3afc-5e70-abbc-f1d8557ba791"
	scos := map[string]map[string]any{
		"artifact":             {"mime_type": "application/zip", "payload_bin": "aGk=", "hashes": md5},
		"autonomous-system":    {"number": 15169, "name": "Google"},
		"directory":            {"path": `C:\Windows\System32`},
		"domain-name":          {"value": "evil.example", "resolves_to_refs": []string{ip}},
		"email-addr":           {"value": "jdoe@example.com", "display_name": "J Doe"},
		"email-message":        {"is_multipart": false, "subject": "Invoice", "body": "see attached"},
		"file":                 {"name": "invoice.exe", "hashes": md5, "size": 1024},
		"ipv4-addr":            {"value": "198.51.100.3"},
		"ipv6-addr":            {"value": "2001:db8::1"},
		"mac-addr":             {"value": "d2:fb:49:24:37:18"},
		"mutex":                {"name": "__CLEANSWEEP__"},
		"network-traffic":      {"src_ref": ip, "dst_port": 443, "protocols": []string{"ipv4", "tcp", "tls"}},
		"process":              {"pid": 1221, "command_line": "./gedit-bin --new-window"},
		"software":             {"name": "Word", "vendor": "Microsoft", "version": "2002"},
		"url":                  {"value": "https://evil.example/payload"},
		"user-account":         {"account_type": "unix", "user_id": "1001", "account_login": "jdoe"},
		"windows-registry-key": {"key": `HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\WSALG2`},
		"x509-certificate":     {"serial_number": "36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06", "hashes": md5},
	}
	if len(scos) != len(scoTypes) {
		t.Fatalf("%d SCO samples for %d types", len(scos), len(scoTypes))
	}
	for typ, props := range scos {
		props["object_marking_refs"] = []string{TLP2Amber}
		o, err := NewSCO(typ, props)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		validate(t, sch, "NewSCO("+typ+")", o)
	}
	for _, f := range []string{"markings/tlp1-marking-definitions.json", "markings/tlp2-marking-definitions.json"} {
		b, err := ReadBundleFile(need(t, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range b.Objects {
			validate(t, sch, f, o)
		}
	}
	ind, err := NewIndicator(IndicatorOptions{
		Name: "C2 address", Pattern: "[ipv4-addr:value = '198.51.100.3']", ValidFrom: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Created: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), Markings: []string{TLP2Green}, Confidence: 80,
		Types: []string{"malicious-activity"}, CreatedBy: "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
	})
	if err != nil {
		t.Fatal(err)
	}
	validate(t, sch, "NewIndicator", ind)
	// A control: the same indicator without pattern_type must fail.
	delete(ind.Props, "pattern_type")
	b, _ := json.Marshal(ind)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err := sch["indicator"].Validate(inst); err == nil {
		t.Error("an indicator without pattern_type validates: the schemas check nothing")
	}
	if _, err := NewIndicator(IndicatorOptions{Pattern: "[ipv4-addr:value = ]"}); err == nil || !strings.Contains(err.Error(), "pattern: line 1 column 20") {
		t.Errorf("bad pattern: %v", err)
	}

	n := 0
	files, _ := filepath.Glob(filepath.Join(need(t, "examples"), "cti-*", "*.json"))
	more, _ := filepath.Glob(filepath.Join(need(t, "examples"), "cti-*", "*", "*.json"))
	for _, f := range append(files, more...) {
		b, err := ReadBundleFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range b.Objects {
			validate(t, sch, filepath.Base(f), o)
			n++
		}
	}
	if n < 300 {
		t.Errorf("%d example objects, want the 300-odd of the OASIS examples", n)
	}
}
