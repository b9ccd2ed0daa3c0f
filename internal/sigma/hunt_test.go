package sigma

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
)

// TestHunterRoutes runs a rule only on events of its log source.
func TestHunterRoutes(t *testing.T) {
	rule := func(src string) *CompiledRule {
		c, err := ParseAndCompile([]byte("title: t\nlogsource:\n"+src+"detection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n"), src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h := NewHunter([]*CompiledRule{
		rule("  product: windows\n  category: process_creation\n"),
		rule("  product: linux\n"),
		rule("  category: process_creation\n"), // no product: any product's process creations
	})
	for _, c := range []struct {
		product, category, service string
		want                       int
	}{
		{"windows", "process_creation", "sysmon", 2},
		{"Windows", "Process_Creation", "security", 2},
		{"windows", "network_connection", "sysmon", 0},
		{"linux", "", "auditd", 1},
		{"linux", "process_creation", "auditd", 2},
		{"zeek", "", "conn", 0},
		{"", "", "", 0},
	} {
		ev := &events.Event{Product: c.product, Category: c.category, Service: c.service, Fields: map[string]any{"CommandLine": "cmd /c WHOAMI /all"}}
		n := 0
		h.Match(ev, func(*CompiledRule) { n++ })
		if n != c.want {
			t.Errorf("%s/%s/%s: %d rules matched, want %d", c.product, c.category, c.service, n, c.want)
		}
	}
	if h.Rules() != 3 {
		t.Errorf("Rules() = %d", h.Rules())
	}
}

// TestHuntFilesStops: reading runs ahead of matching on its own
// goroutine; an error from fn still stops the hunt at once and is the
// one returned, and a file that cannot be read is an error naming it,
// after the files before it were hunted.
func TestHuntFilesStops(t *testing.T) {
	c, err := ParseAndCompile([]byte("title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n"), "r.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHunter([]*CompiledRule{c})
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc%d","CommandLine":"whoami /all","Image":"C:\\Windows\\whoami.exe"}`+"\n", i)
	}
	file := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := HuntFiles(context.Background(), h, n, []string{file}, nil, func(Hit) error { return nil })
	if err != nil || rep.Events != 5000 || rep.Hits != 5000 || rep.Files != 1 {
		t.Fatalf("hunt: %+v, %v; want 5000 events and hits in 1 file", rep, err)
	}
	stop := errors.New("enough")
	seen := 0
	rep, err = HuntFiles(context.Background(), h, n, []string{file}, nil, func(x Hit) error {
		seen++
		if x.Line != int64(seen) {
			t.Errorf("hit %d on line %d", seen, x.Line)
		}
		if seen == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 10 || rep.Hits != 10 {
		t.Errorf("fn's error: %v after %d hits (%+v), want %v after 10", err, seen, rep, stop)
	}
	bad := filepath.Join(dir, "bad.jsonl.gz") // a gzip header, then nothing gzip can read
	if err := os.WriteFile(bad, []byte{0x1f, 0x8b, 0, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = HuntFiles(context.Background(), h, n, []string{file, bad}, nil, func(Hit) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "bad.jsonl.gz") || rep.Hits != 5000 || rep.Files != 2 {
		t.Errorf("unreadable file: %v (%+v), want an error naming bad.jsonl.gz after 5000 hits", err, rep)
	}
}
