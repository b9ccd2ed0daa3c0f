package cli

import (
	"strings"
	"testing"
)

// TestIntelPatternCheck runs `vigil intel pattern check` on a valid, a
// multi-event and a broken pattern, and on one given on standard input.
func TestIntelPatternCheck(t *testing.T) {
	r := must(t, run(t, "", nil, "intel", "pattern", "check", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"))
	if r.stdout != "valid; matched event by event\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	r = must(t, run(t, "", nil, "intel", "pattern", "check", "[a:b = 1] FOLLOWEDBY [a:b = 2]"))
	if !strings.Contains(r.stdout, "valid; matched over several events (FOLLOWEDBY at line 1 column 11)") {
		t.Errorf("stdout %q", r.stdout)
	}
	r = run(t, "", nil, "intel", "pattern", "check", "[file:size = ]")
	want := "vigil intel pattern check: invalid pattern: line 1 column 14: = wants a value (string, number, boolean, t'timestamp', h'hex' or b'base64'), got \"]\"\n" +
		"  [file:size = ]\n" +
		"               ^\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d\nstdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, want)
	}
	r = run(t, "[file:hashes.'SHA-256' = 'f00']\n", nil, "intel", "pattern", "check", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "'f00' is not a valid SHA-256 hash") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	// A pattern mentioning "flag" is still a bad pattern (1), not bad usage (2).
	if r = run(t, "", nil, "intel", "pattern", "check", "[x:flag = ]"); r.code != 1 {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	if r = run(t, "", nil, "intel", "pattern", "check"); r.code != 2 {
		t.Errorf("no pattern: exit %d, want 2 (usage)", r.code)
	}
	if r = must(t, run(t, "", nil, "intel", "pattern", "check", "--help")); !strings.Contains(r.stdout, "caret under") {
		t.Errorf("help: %s", r.stdout)
	}
}
