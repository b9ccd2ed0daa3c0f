package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIntelDecayCLI: decay models defined, made the default and given
// to a source, as the matcher then loads; an allowlisted block and its
// removal; verdicts listed.
func TestIntelDecayCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	old := filepath.Join(t.TempDir(), "old.json")
	from := time.Now().UTC().Add(-10 * 24 * time.Hour).Format("2006-01-02T15:04:05Z")
	bundle := `[{"type":"indicator","spec_version":"2.1","id":"indicator--55555555-5555-4555-8555-555555555555","created":"` + from + `","modified":"` + from + `","pattern":"[ipv4-addr:value = '198.51.100.5']","pattern_type":"stix","valid_from":"` + from + `","confidence":80}]`
	if err := os.WriteFile(old, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) result {
		t.Helper()
		return must(t, run(t, "", nil, append([]string{"--data-dir", data, "intel"}, args...)...))
	}
	cli("import", old)
	matcher := func(want string) {
		t.Helper()
		if r := cli("matcher", "--format", "json"); !strings.Contains(r.stdout, want) {
			t.Errorf("matcher, want %s: %s", want, r.stdout)
		}
	}
	// Ten days old under the standard model: 80 × 0.5^(10/30) = 63.
	matcher(`"indicators":1`)
	if r := cli("decay", "set", "fast", "--half-life", "ip=2,domain=10", "--threshold", "20", "--fp-orgs", "2"); !strings.Contains(r.stdout, "decay model fast saved") {
		t.Errorf("set: %s", r.stdout)
	}
	if r := run(t, "", nil, "--data-dir", data, "intel", "decay", "set", "bad", "--half-life", "ipv4=2"); r.code == 0 || !strings.Contains(r.stderr, `"ipv4" is not a kind of value`) {
		t.Errorf("a bad kind: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "", nil, "--data-dir", data, "intel", "decay", "set", "standard", "--half-life", "ip=2"); r.code == 0 || !strings.Contains(r.stderr, "built-in") {
		t.Errorf("changing the built-in model: exit %d %s", r.code, r.stderr)
	}
	// Under fast, given to the file's source: 80 × 0.5^5 = 2.5, decayed.
	cli("decay", "assign", old, "fast")
	matcher(`"score decayed below the threshold":1`)
	cli("decay", "assign", old, "--clear")
	matcher(`"indicators":1`)
	cli("decay", "default", "fast")
	matcher(`"score decayed below the threshold":1`)
	r := cli("decay", "list")
	if !strings.Contains(r.stdout, "standard") || !strings.Contains(r.stdout, "fast (default)") || !strings.Contains(r.stdout, "2 orgs") {
		t.Errorf("list: %s", r.stdout)
	}
	if r := cli("decay", "list", "--format", "json"); !strings.Contains(r.stdout, `"default":"fast"`) || !strings.Contains(r.stdout, `"half_life_days":{"domain":10,"ip":2}`) {
		t.Errorf("list as JSON: %s", r.stdout)
	}
	if r := run(t, "", nil, "--data-dir", data, "intel", "decay", "default", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "no such decay model") {
		t.Errorf("an unknown default: exit %d %s", r.code, r.stderr)
	}
	cli("decay", "default", "standard")

	// An allowlisted block covers the address inside it, until removed.
	cli("allowlist", "add", "--reason", "documentation range", "198.51.100.0/24")
	matcher(`"every value allowlisted":1`)
	if r := cli("allowlist", "remove", "--reason", "not benign after all", "198.51.100.9/24"); !strings.Contains(r.stdout, "took 1 of 1") {
		t.Errorf("remove: %s", r.stdout)
	}
	matcher(`"indicators":1`)
	if r := run(t, "", nil, "--data-dir", data, "intel", "allowlist", "remove", "198.51.100.0/24"); r.code == 0 || !strings.Contains(r.stderr, "none of these values is on the allowlist") {
		t.Errorf("remove again: exit %d %s", r.code, r.stderr)
	}
	if r := cli("verdicts", "--format", "json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("verdicts: %s", r.stdout)
	}
}
