package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestEventsImportSearchCount: a real capture (OTRF's Empire PsExec run,
// NXLog's flat Windows JSON, gzipped) imported for one trust is found by
// the query language; json is one event a line with its fields; importing
// again stores nothing twice; another trust's --org finds none of it; bad
// input is refused naming what is wrong.
func TestEventsImportSearchCount(t *testing.T) {
	sample := filepath.Join("..", "..", "..", "shared", "data", "events", "windows", "otrf", "empire_psexec_dcerpc_tcp_svcctl.jsonl.gz")
	if _, err := os.Stat(sample); err != nil {
		testneed.Missing(t, "the event samples in ../shared/data/events", err)
		return
	}
	dir := t.TempDir()
	must(t, run(t, "", nil, "--data-dir", dir, "demo"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "events", "import", sample, "--org", "rj1"))
	if !strings.Contains(r.stdout, "imported 4,348 events for RJ1") || !strings.Contains(r.stdout, "0 unparsed lines") {
		t.Fatalf("import: %s", r.stdout)
	}
	count := func(q string, extra ...string) string {
		t.Helper()
		return strings.TrimSpace(must(t, run(t, "", nil, append([]string{"--data-dir", dir, "events", "count", q, "--from", "2020-01-01"}, extra...)...)).stdout)
	}
	if n := count("*"); n != "4348" {
		t.Errorf("count * = %s, want 4348", n)
	}
	if n := count("EventID=1"); n != "6" {
		t.Errorf("Sysmon process creations = %s, want 6", n)
	}
	// Flags may follow the query; the organisation narrows.
	if n := count("EventID=1", "--org", "RJZ"); n != "0" {
		t.Errorf("King's sees %s of Guy's events", n)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "events", "search", "EventID=1 AND CommandLine=*powershell*", "--from", "2020-01-01", "--format", "json"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no PowerShell process creation found")
	}
	for _, l := range lines {
		var ev struct {
			ID, Org, Raw, Category string
			EventTime              string         `json:"event_time"`
			ReceivedAt             string         `json:"received_at"`
			Fields                 map[string]any `json:"fields"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		cl, _ := ev.Fields["CommandLine"].(string)
		if ev.Org != "RJ1" || ev.Category != "process_creation" || !strings.Contains(strings.ToLower(cl), "powershell") || ev.Raw == "" ||
			!strings.HasPrefix(ev.EventTime, "2020-") || ev.ReceivedAt == "" {
			t.Errorf("event %s", l)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "events", "search", "EventID=1", "--from", "2020-01-01", "--limit", "2"))
	if got := strings.Count(strings.TrimSpace(r.stdout), "\n"); got != 2 || !strings.Contains(r.stdout, "windows/process_creation") {
		t.Errorf("table of 2:\n%s", r.stdout)
	}
	// Again: nothing stored twice.
	must(t, run(t, "", nil, "--data-dir", dir, "events", "import", sample, "--org", "RJ1"))
	if n := count("*"); n != "4348" {
		t.Errorf("after importing twice: %s events", n)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "import", sample}, "--org is required"},
		{[]string{"events", "import", sample, "--org", "NOPE"}, "--org NOPE"},
		{[]string{"events", "import", sample, "--org", "RJ1", "--parser", "yaml"}, `--parser "yaml"`},
		{[]string{"events", "import", filepath.Join(dir, "missing.log"), "--org", "RJ1"}, "missing.log"},
		{[]string{"events", "count", "EventID="}, "at 8"},
		{[]string{"events", "count", "*", "--since", "yesterday"}, "want a duration"},
		{[]string{"events", "search", "*", "--since", "1h", "--from", "2020-01-01"}, "not both"},
		{[]string{"events", "search", "*", "--limit", "0"}, "--limit"},
	} {
		r := run(t, "", nil, append([]string{"--data-dir", dir}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestEventsSearchPages: a search longer than one page (the CLI reads
// 5,000 at a time) prints every event once, newest first, through pages
// whose boundaries fall among events of the same time, with --since (no
// end: each page after the first ends at the last event printed) and
// with --from/--to.
func TestEventsSearchPages(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "", nil, "--data-dir", dir, "demo"))
	const n = 12001
	now := time.Now().UTC().Truncate(time.Second)
	var b strings.Builder
	for i := range n {
		// Three events a second: pages end inside a second's three.
		fmt.Fprintf(&b, `{"@timestamp":%q,"n":%d}`+"\n", now.Add(-time.Duration(i/3)*time.Second).Format(time.RFC3339Nano), i)
	}
	file := filepath.Join(dir, "pages.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, run(t, "", nil, "--data-dir", dir, "events", "import", file, "--org", "RJ1"))
	for _, c := range []struct {
		limit  int
		window []string
	}{
		{n, []string{"--since", "24h"}},
		{7002, []string{"--since", "24h"}}, // the newest 2,334 seconds' three
		{n, []string{"--from", now.Add(-24 * time.Hour).Format(time.RFC3339), "--to", now.Add(time.Hour).Format(time.RFC3339)}},
	} {
		args := append([]string{"--data-dir", dir, "events", "search", "", "--limit", strconv.Itoa(c.limit), "--format", "json"}, c.window...)
		r := must(t, run(t, "", nil, args...))
		seen := map[int]bool{}
		var prev time.Time
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var ev struct {
				EventTime time.Time      `json:"event_time"`
				Fields    map[string]any `json:"fields"`
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			k, _ := ev.Fields["n"].(float64)
			if seen[int(k)] || (!prev.IsZero() && ev.EventTime.After(prev)) {
				t.Fatalf("%v: event %v printed twice or out of order", c.window, k)
			}
			seen[int(k)], prev = true, ev.EventTime
		}
		if len(seen) != c.limit {
			t.Errorf("%v --limit %d: %d events", c.window, c.limit, len(seen))
		}
		for i := range c.limit {
			if !seen[i] {
				t.Fatalf("%v --limit %d: event %d missing", c.window, c.limit, i)
			}
		}
	}
}
