package intel

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestLinkObjectsValidate: what Link and EditIndicator store — the
// relationships, Vigil's identity, the indicator standing for a Sigma
// rule and an edited indicator's new version — validates against the
// OASIS STIX 2.1 schemas of its type.
func TestLinkObjectsValidate(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "data", "stix", "schemas")
	if _, err := os.Stat(root); err != nil {
		testneed.Missing(t, "the STIX schemas in ../shared/data/stix", err)
	}
	c := jsonschema.NewCompiler()
	ids := map[string]string{}
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
		ids[strings.TrimSuffix(d.Name(), ".json")] = id
		return c.AddResource(id, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := storetest.SQLite(t, audit.Migrations(), org.Migrations(), rules.Migrations(), Migrations())
	w := newLinksWorld(t, db)
	if _, err := w.s.Link(ctx, w.nadia, w.red.ID, LinkRequest{Technique: "T1059.001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Link(ctx, w.nadia, w.qak.ID, LinkRequest{Rule: ruleSub}); err != nil {
		t.Fatal(err)
	}
	forty := 40
	if _, err := w.s.EditIndicator(ctx, w.nadia, w.green.ID, IndicatorEdit{Confidence: &forty, Labels: &[]string{"loader"}}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Q().QueryContext(ctx, `SELECT body FROM intel_objects WHERE source IN ('vigil link', 'vigil edit')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := map[string]int{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			t.Fatal(err)
		}
		o, err := stix.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		types[o.Type]++
		s, err := c.Compile(ids[o.Type])
		if err != nil {
			t.Fatalf("%s: %v", o.Type, err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); err != nil {
			t.Errorf("%s does not validate: %v\n%s", o.ID, err, body)
		}
	}
	if types["relationship"] != 2 || types["identity"] != 1 || types["indicator"] != 2 {
		t.Errorf("stored by links and edits: %v", types)
	}
}
