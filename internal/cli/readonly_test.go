package cli

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cpA copies a data directory the way an investigator does: cp -a.
func cpA(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
}

// snapshot lists every file and directory under dir with its mode, size,
// modification time and content hash, so a test can prove nothing changed
// — even as root, whom chmod does not stop.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		out = append(out, fmt.Sprintf("%s %v %d %d %s", strings.TrimPrefix(p, dir), st.Mode(), st.Size(), st.ModTime().UnixNano(), sum))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readOnlyCommands are what an investigator runs on a copy.
var readOnlyCommands = []struct {
	args []string
	want string
}{
	{[]string{"audit", "verify"}, "audit chain OK"},
	{[]string{"audit", "list", "--limit", "5"}, "SEQ"},
	{[]string{"audit", "list", "--action", "user.", "--format", "json"}, `"action":"user.create"`},
	{[]string{"orgs", "list", "--type", "region"}, "Y56"},
	{[]string{"orgs", "get", "RJ1"}, `"ods": "RJ1"`},
	{[]string{"users", "list"}, "demo.vigil.invalid"},
	{[]string{"supply", "impact", "--supplier", "DEMO-PATH"}, "RJ1"},
	{[]string{"supply", "export", "--json", "-"}, `"suppliers"`},
	{[]string{"supply", "concentration", "--service", "pathology", "--by", "region"}, "HHI"},
	{[]string{"supply", "risk"}, "DEMO-PATH"},
	{[]string{"supply", "trend", "--service", "pathology"}, "TAKEN AT"},
	{[]string{"migrate", "--status"}, "up to date"},
	{[]string{"config", "check"}, "configuration OK"},
}

// writeCommands change the database and must be refused, saying why.
var writeCommands = [][]string{
	{"orgs", "create", "--ods", "ZZ9", "--name", "Nope", "--type", "supplier"},
	{"users", "disable", "kim.kings@demo.vigil.invalid"},
	{"migrate"},
	{"supply", "snapshot"},
	{"demo", "--password-stdin"},
}

// checkReadOnly runs every read command and every write command on the
// copy in dir with extra flags, and checks that nothing in dir changed.
func checkReadOnly(t *testing.T, dir string, flags ...string) {
	t.Helper()
	before := snapshot(t, dir)
	for _, c := range readOnlyCommands {
		r := run(t, "", nil, append(append([]string{"--data-dir", dir}, flags...), c.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, c.want) {
			t.Errorf("%v on a read-only copy: exit %d, want %q\nstdout: %.600s\nstderr: %s", c.args, r.code, c.want, r.stdout, r.stderr)
		}
		if c.args[0] == "supply" && c.args[1] == "export" && !strings.Contains(r.stderr, "not recorded in the audit log") {
			t.Errorf("read-only export does not say it was not audited: %s", r.stderr)
		}
	}
	for _, args := range writeCommands {
		r := run(t, "granite lantern orchard velvet\n", nil, append(append([]string{"--data-dir", dir}, flags...), args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "read-only") || !strings.Contains(r.stderr, "changes data") {
			t.Errorf("%v on a read-only copy: exit %d, want a refusal naming read-only\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
	}
	if after := snapshot(t, dir); !slices.Equal(before, after) {
		t.Errorf("the read-only copy changed:\nbefore %q\nafter  %q", before, after)
	}
}

// TestReadOnlyDataDirectory is the forensic use: a copy of a data
// directory made read-only (cp -a, chmod -R a-w) answers every read
// command — the audit verification included — refuses every write with a
// clear message, and is left byte for byte, mode and time as it was. The
// copy is detected as read-only without a flag; --read-only does the same
// on a writable copy.
func TestReadOnlyDataDirectory(t *testing.T) {
	src := filepath.Join(t.TempDir(), "vigil-data")
	must(t, run(t, "granite lantern orchard velvet\n", nil, "--data-dir", src, "demo", "--password-stdin"))
	must(t, run(t, "", nil, "--data-dir", src, "supply", "snapshot"))

	t.Run("chmod -R a-w", func(t *testing.T) {
		ro := filepath.Join(t.TempDir(), "ro")
		cpA(t, src, ro)
		if out, err := exec.Command("chmod", "-R", "a-w", ro).CombinedOutput(); err != nil {
			t.Fatalf("chmod: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", ro).Run() })
		checkReadOnly(t, ro)
		r := run(t, "", nil, "--data-dir", ro, "orgs", "get", "RJ1")
		if !strings.Contains(r.stderr, "opened read-only") {
			t.Errorf("no note that the directory was opened read-only: %q", r.stderr)
		}
	})
	t.Run("--read-only on a writable copy", func(t *testing.T) {
		ro := filepath.Join(t.TempDir(), "ro")
		cpA(t, src, ro)
		checkReadOnly(t, ro, "--read-only")
	})
	t.Run("changes still in the write-ahead log", func(t *testing.T) {
		// A copy of a running server's directory: the last transactions are
		// only in vigil.db-wal. They must be read, and the copy untouched.
		live, err := sql.Open("sqlite", "file:"+filepath.Join(src, "vigil.db")+"?_pragma=wal_autocheckpoint(0)")
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		live.SetMaxOpenConns(1)
		if _, err := live.Exec(`UPDATE orgs SET name = 'Held in the WAL' WHERE code = 'RJ1'`); err != nil {
			t.Fatal(err)
		}
		ro := filepath.Join(t.TempDir(), "ro")
		cpA(t, src, ro)
		if st, err := os.Stat(filepath.Join(ro, "vigil.db-wal")); err != nil || st.Size() == 0 {
			t.Fatalf("the copy has no write-ahead log to read (%v)", err)
		}
		exec.Command("chmod", "-R", "a-w", ro).Run()
		t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", ro).Run() })
		before := snapshot(t, ro)
		r := must(t, run(t, "", nil, "--data-dir", ro, "orgs", "get", "RJ1"))
		if !strings.Contains(r.stdout, "Held in the WAL") {
			t.Errorf("the change in the write-ahead log was not read: %s", r.stdout)
		}
		checkReadOnly(t, ro)
		if after := snapshot(t, ro); !slices.Equal(before, after) {
			t.Errorf("the copy changed:\nbefore %q\nafter  %q", before, after)
		}
	})
	t.Run("no database there", func(t *testing.T) {
		empty := t.TempDir()
		r := run(t, "", nil, "--data-dir", empty, "--read-only", "orgs", "list")
		if r.code != 1 || !strings.Contains(r.stderr, "no database") {
			t.Errorf("read-only on an empty directory: exit %d %s", r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(empty); len(entries) != 0 {
			t.Errorf("a read-only open created %v", entries)
		}
	})
}
