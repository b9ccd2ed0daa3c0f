package sigma

import (
	"testing"

	"github.com/vigil-health/vigil/internal/events"
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
