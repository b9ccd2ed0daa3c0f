package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/config"
)

// TestEveryFormatFlagIsTheOne walks the whole command tree: every command
// that takes --format declares it through formatFlag — the same help
// ("output: table or json …"), table the default, json offered — and
// refuses an unknown format before touching any data, naming what it
// offers. A document export chooses a document's format, not how a
// listing prints, and is one exception (documents below); the other is a
// hunt, whose matches are a stream for other tools first (one JSON object
// a match, as issue 17 and chainsaw/hayabusa have it) and a table for
// people when asked (jsonFirst below).
func TestEveryFormatFlagIsTheOne(t *testing.T) {
	documents := map[string]string{"vigil cases report": "md, html or pdf"}
	jsonFirst := map[string]bool{"vigil hunt": true}
	e := &env{cfg: config.Default(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	var withFormat []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if f := c.Flags().Lookup("format"); f != nil && documents[c.CommandPath()] != "" {
			if f.Usage != documents[c.CommandPath()] {
				t.Errorf("%s --format: help %q, want %q", c.CommandPath(), f.Usage, documents[c.CommandPath()])
			}
		} else if f != nil && jsonFirst[c.CommandPath()] {
			withFormat = append(withFormat, c)
			if f.Usage != formatHelp([]string{"json", "table"}) || f.DefValue != "json" {
				t.Errorf("%s --format: help %q, default %q; want the shared help with json first and the default", c.CommandPath(), f.Usage, f.DefValue)
			}
		} else if f != nil {
			withFormat = append(withFormat, c)
			if !strings.HasPrefix(f.Usage, "output: table, json") && f.Usage != formatHelp([]string{"table", "json"}) {
				t.Errorf("%s --format: help %q is not the shared one", c.CommandPath(), f.Usage)
			}
			if f.DefValue != "table" {
				t.Errorf("%s --format: default %q, want table", c.CommandPath(), f.DefValue)
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(e.root())
	if len(withFormat) < 10 {
		t.Fatalf("only %d commands with --format", len(withFormat))
	}
	dir := filepath.Join(t.TempDir(), "data")
	for _, c := range withFormat {
		args := append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "vigil ")), "--format", "yaml")
		// Satisfy required arguments and flags, so only the format is wrong.
		switch c.CommandPath() {
		case "vigil orgs import", "vigil supply import":
			args = append(args, "x.csv")
		case "vigil supply impact":
			args = append(args, "--supplier", "X")
		case "vigil supply concentration", "vigil supply trend":
			args = append(args, "--service", "epr")
		}
		// As many positional arguments as the command needs.
		for n := 0; n < 4 && c.Args != nil; n++ {
			pos := make([]string, n)
			for i := range pos {
				pos[i] = fmt.Sprintf("X%d", i)
			}
			if c.Args(c, pos) == nil {
				args = append(args, pos...)
				break
			}
		}
		r := run(t, "", nil, append([]string{"--data-dir", dir}, args...)...)
		want := `--format "yaml": want one of table, json`
		if jsonFirst[c.CommandPath()] {
			want = `--format "yaml": want one of json, table`
		}
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s --format yaml: exit %d, stderr %q", c.CommandPath(), r.code, r.stderr)
		}
	}
}

// TestListsPrintOneObjectALine: a list in json is one object a line, the
// same objects the table shows, and the table escapes what it prints.
func TestListsPrintOneObjectALine(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "", nil, "--data-dir", dir, "demo"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "orgs", "list", "--type", "region", "--format", "json"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) < 2 {
		t.Fatalf("orgs list json: %q", r.stdout)
	}
	for _, l := range lines {
		var o map[string]any
		if err := json.Unmarshal([]byte(l), &o); err != nil || o["ods"] == nil {
			t.Errorf("line %q: %v", l, err)
		}
	}
	tab := must(t, run(t, "", nil, "--data-dir", dir, "orgs", "list", "--type", "region"))
	if rows := strings.Split(strings.TrimSpace(tab.stdout), "\n"); len(rows) != len(lines)+1 || !strings.HasPrefix(rows[0], "ODS") {
		t.Errorf("table has %d lines for %d objects:\n%s", len(rows), len(lines), tab.stdout)
	}
}
