package cli

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
)

// TestCommandTable: the table rootFor builds one command from names every
// top-level command of the whole tree, each by its own name, and a
// command run through it is the one the whole tree would run.
func TestCommandTable(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }}
	var all, table []string
	for _, c := range e.root().Commands() {
		all = append(all, c.Name())
	}
	for name, mk := range e.commands() {
		if c := mk(); c.Name() != name {
			t.Errorf("commands()[%q] makes %q", name, c.Name())
		}
		table = append(table, name)
	}
	sort.Strings(all)
	sort.Strings(table)
	if strings.Join(all, " ") != strings.Join(table, " ") {
		t.Errorf("the whole tree has\n%v\nthe table\n%v", all, table)
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"vuln", "scan", "--help"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "vigil vuln scan") || !strings.Contains(out.String(), "--data-dir") {
		t.Errorf("vuln scan --help: %d %s %s", code, out.String(), errb.String())
	}
	// A mistyped subcommand: the same answer as from the whole tree
	// (a flag first makes the whole tree).
	for _, args := range [][]string{{"vuln", "scna"}, {"vuln", "scan"}, {"version", "x"}} {
		var o1, e1, o2, e2 bytes.Buffer
		c1 := Run(context.Background(), args, nil, &o1, &e1)
		c2 := Run(context.Background(), append([]string{"--read-only"}, args...), nil, &o2, &e2)
		if c1 != c2 || o1.String() != o2.String() || e1.String() != e2.String() {
			t.Errorf("%v: %d %q %q from one command, %d %q %q from the whole tree", args, c1, o1.String(), e1.String(), c2, o2.String(), e2.String())
		}
	}
	out.Reset()
	if code := Run(context.Background(), []string{"--help"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "cyberalert") || !strings.Contains(out.String(), "serve") {
		t.Errorf("--help lists not every command: %s", out.String())
	}
}
