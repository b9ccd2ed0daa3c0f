package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestREADMEExamples runs every `./bin/vigil` command in README.md's shell
// blocks, in order, on one data directory — as a new user following it
// would, demo data first — and checks that each succeeds and prints
// something that answers it. The README cannot drift from the program: an
// example that fails, or prints nothing (as `--cve CVE-2024-3400` did on
// the demo data), fails here.
//
// The blocks are read by a small interpreter for the shell they use:
// quotes, $VAR, VAR=…, VAR=$(…), `echo '…' |`, `> file`, `&&`, trailing
// comments, and `cp -a` / `chmod -R a-w` for the forensic copy. Commands
// that are not vigil (make, cat, curl, export) are left out; so is `vigil
// serve`, which runs until stopped (TestServeIsQuietOnATerminal in app
// starts it as `make run` does).
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	haveData := true
	if _, err := os.Stat(filepath.Join(shared, "data", "nhs")); err != nil {
		if testneed.CI() {
			testneed.Missing(t, "the NHS data in ../shared/data/nhs", err)
		}
		haveData = false
	}
	// The README's paths are relative to a clone with ../shared beside it.
	root := t.TempDir()
	clone := filepath.Join(root, "vigil")
	if err := os.Mkdir(clone, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(root, "shared")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(clone)

	sh := &readmeShell{t: t, root: root, vars: map[string]string{}}
	ran := 0
	for _, line := range readmeCommands(string(readme)) {
		for _, cmd := range splitAnd(line) {
			if !haveData && (strings.Contains(cmd, "$D") || strings.Contains(cmd, "$E")) {
				t.Logf("skipped without ../shared/data: %s", cmd)
				continue
			}
			if sh.run(cmd) {
				ran++
			}
		}
	}
	t.Logf("ran %d vigil commands from README.md", ran)
	if ran < 20 {
		t.Errorf("ran only %d vigil commands from README.md: has the README lost its examples, or the reader its way?", ran)
	}
}

// readmeCommands returns the lines of README.md's ```sh blocks, with
// backslash continuations joined and comments removed.
func readmeCommands(md string) []string {
	var out []string
	in := false
	pending := ""
	for _, l := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
			continue
		case strings.HasPrefix(l, "```"):
			in = false
			continue
		case !in:
			continue
		}
		l = stripComment(l)
		if strings.HasSuffix(strings.TrimSpace(l), `\`) {
			pending += strings.TrimSuffix(strings.TrimSpace(l), `\`) + " "
			continue
		}
		l = strings.TrimSpace(pending + l)
		pending = ""
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// stripComment drops a "# …" that starts a word outside quotes.
func stripComment(l string) string {
	var q rune
	for i, r := range l {
		switch {
		case q != 0:
			if r == q {
				q = 0
			}
		case r == '\'' || r == '"':
			q = r
		case r == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return l[:i]
		}
	}
	return l
}

// splitAnd splits "a && b" outside quotes.
func splitAnd(l string) []string {
	var out []string
	var q rune
	start := 0
	for i := 0; i < len(l); i++ {
		c := rune(l[i])
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case strings.HasPrefix(l[i:], "&&"):
			out = append(out, strings.TrimSpace(l[start:i]))
			start = i + 2
			i++
		}
	}
	return append(out, strings.TrimSpace(l[start:]))
}

type readmeShell struct {
	t    *testing.T
	root string
	vars map[string]string
}

// words splits a command into words, expanding $VAR outside single quotes.
func (s *readmeShell) words(cmd string) []string {
	var out []string
	var cur strings.Builder
	have := false
	var q rune
	for i := 0; i < len(cmd); i++ {
		c := rune(cmd[i])
		switch {
		case q == '\'':
			if c == q {
				q = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '$' && i+1 < len(cmd) && isVarChar(cmd[i+1]):
			j := i + 1
			for j < len(cmd) && isVarChar(cmd[j]) {
				j++
			}
			// Outside quotes a variable's value splits into words, as
			// in the shell ($P holding two IDs is two arguments).
			v := s.vars[cmd[i+1:j]]
			if q == '"' {
				cur.WriteString(v)
				have = true
			} else {
				for k, part := range strings.Fields(v) {
					if k > 0 {
						out = append(out, cur.String())
						cur.Reset()
					}
					cur.WriteString(part)
					have = true
				}
			}
			i = j - 1
		case q == '"':
			if c == q {
				q = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			q, have = c, true
		case c == ' ' || c == '\t':
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(c)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// path maps the README's forensic mount point into the test's directory.
func (s *readmeShell) path(p string) string {
	if strings.HasPrefix(p, "/mnt/") {
		return filepath.Join(s.root, p)
	}
	return p
}

var assignRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// run interprets one simple command and reports whether it ran vigil.
func (s *readmeShell) run(cmd string) bool {
	t := s.t
	t.Helper()
	stdin := ""
	if m := regexp.MustCompile(`^echo\s+(.+?)\s*\|\s*(\./bin/vigil\b.*)$`).FindStringSubmatch(cmd); m != nil {
		stdin = strings.Join(s.words(m[1]), " ") + "\n"
		cmd = m[2]
	}
	capture := ""
	if m := assignRE.FindStringSubmatch(cmd); m != nil {
		inner, ok := strings.CutPrefix(m[2], "$(")
		if !ok {
			w := s.words(m[2])
			s.vars[m[1]] = strings.Join(w, " ")
			return false
		}
		capture, cmd = m[1], strings.TrimSuffix(inner, ")")
	}
	w := s.words(cmd)
	if len(w) == 0 {
		return false
	}
	switch w[0] {
	case "./bin/vigil":
	case "cp":
		if len(w) == 4 && w[1] == "-a" {
			copyTree(t, w[2], s.path(w[3]))
			return false
		}
		t.Fatalf("README: cp of a form this test cannot follow: %s", cmd)
	case "chmod":
		if len(w) == 4 && w[1] == "-R" && w[2] == "a-w" {
			readOnlyTree(t, s.path(w[3]))
			return false
		}
		t.Fatalf("README: chmod of a form this test cannot follow: %s", cmd)
	default:
		return false // make, cat, curl, export: not vigil
	}
	args := w[1:]
	out := ""
	if n := len(args); n >= 2 && args[n-2] == ">" {
		out, args = args[n-1], args[:n-2]
	}
	for i := range args {
		if i > 0 && args[i-1] == "--data-dir" {
			args[i] = s.path(args[i])
		}
	}
	if len(args) > 0 && args[0] == "serve" {
		return false
	}
	r := run(t, stdin, nil, args...)
	if r.code != 0 {
		t.Errorf("README: %s\nexit %d\nstdout: %s\nstderr: %s", cmd, r.code, r.stdout, r.stderr)
		return true
	}
	switch {
	case capture != "":
		s.vars[capture] = strings.TrimSpace(r.stdout)
		if s.vars[capture] == "" {
			t.Errorf("README: %s printed nothing to keep in $%s", cmd, capture)
		}
	case out != "":
		if err := os.WriteFile(out, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkREADMEOutput(t, cmd, r)
	return true
}

// checkREADMEOutput holds each command to printing an answer: something,
// and not an empty one.
func checkREADMEOutput(t *testing.T, cmd string, r result) {
	t.Helper()
	all := r.stdout + r.stderr
	if strings.TrimSpace(all) == "" {
		t.Errorf("README: %s printed nothing", cmd)
		return
	}
	for _, empty := range []string{" 0 organisations affected", `"affected":[]`, "not found", "no such"} {
		if strings.Contains(all, empty) {
			t.Errorf("README: %s answered with nothing (%q):\n%s", cmd, empty, all)
		}
	}
	// What a few examples are there to show (on the terminal: a command
	// whose output goes to a file is held only to the checks above).
	if strings.Contains(cmd, " > ") {
		return
	}
	for frag, want := range map[string]string{
		"supply impact --cve":           `"hard_down":`,
		"supply impact --supplier":      "organisations affected",
		"supply impact --product":       "organisations affected",
		"supply impact --org":           "depends on",
		"supply concentration":          "HHI",
		"supply risk":                   "SYSTEMIC",
		"supply import ./register/ --d": "dry run: valid",
		"audit verify":                  "audit chain OK",
		"audit list":                    "(command line)",
		"orgs list --type icb":          "icb",
		"users add":                     "ana@nhs.net",
		"vigil demo":                    "demo users",
		"cases clocks":                  "severity ",
		"incidents show $I --format":    `"children":[{"org":`,
		"incidents show $I":             "nswered",
		"incidents ack":                 "acknowledged incident",
		"incidents share":               "shared with 14 organisations",
		"incidents refresh":             "answered",
	} {
		if strings.Contains(cmd, frag) && !strings.Contains(all, want) {
			t.Errorf("README: %s does not show %q:\n%s", cmd, want, all)
		}
	}
}

// copyTree is `cp -a src dst` for a directory of regular files.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("cp -a %s %s: %v", src, dst, err)
	}
}

// readOnlyTree is `chmod -R a-w dir`, undone when the test ends so the
// temporary directory can be removed.
func readOnlyTree(t *testing.T, dir string) {
	t.Helper()
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	})
	for i := len(paths) - 1; i >= 0; i-- {
		info, err := os.Stat(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(paths[i], info.Mode().Perm()&^0o222)
	}
	t.Cleanup(func() {
		for _, p := range paths {
			info, err := os.Stat(p)
			if err == nil {
				os.Chmod(p, info.Mode().Perm()|0o200)
			}
		}
	})
}
