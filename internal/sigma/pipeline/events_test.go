package pipeline

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-health/vigil/internal/testneed"
)

// satisfies reports whether event ev meets every added condition, values
// compared case-insensitively as Sigma does (plain values and '*' only:
// what the built-in routing uses).
func satisfies(ev map[string]any, r *Result) error {
	for _, c := range r.Conditions {
		for _, it := range c.Items {
			ok := false
			for _, f := range it.Fields {
				v, present := ev[f]
				if !present {
					continue
				}
				s := fmt.Sprint(v)
				for _, want := range it.Values {
					if want == "*" || strings.EqualFold(s, want) {
						ok = true
					}
				}
			}
			if ok == c.Negated {
				return fmt.Errorf("condition %v = %q not met", it.Fields, it.Values)
			}
		}
	}
	return nil
}

// TestVigilOnRealProcessCreation takes a real Sysmon 1 and a real
// Security 4688 event (OTRF's flat export, as ingest stores them) and
// checks that a process_creation rule is routed to both and that each
// field it reads is present in both.
func TestVigilOnRealProcessCreation(t *testing.T) {
	path := filepath.Join(sharedPipelines, "..", "..", "events", "windows", "otrf", "cmd_wevtutil_modify_security_eventlog_path.jsonl.gz")
	f, err := os.Open(path)
	if err != nil {
		testneed.Missing(t, "the OTRF Windows events in ../shared/data/events", err)
		return
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]map[string]any{}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() && len(found) < 2 {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint(ev["EventID"])
		switch {
		case ev["Channel"] == "Security" && id == "4688":
			found["4688"] = ev
		case ev["Channel"] == "Microsoft-Windows-Sysmon/Operational" && id == "1":
			found["sysmon1"] = ev
		}
	}
	if len(found) != 2 {
		t.Fatalf("found %d of the two process creation events", len(found))
	}
	p := mustBuiltin(t, "vigil")
	names := []string{"Image", "ParentImage", "CommandLine", "User", "LogonId"}
	var items []DetectionItem
	for _, n := range names {
		items = append(items, DetectionItem{Field: n, Values: []string{"*"}})
	}
	r, err := p.Apply(Rule{LogSource: pcWindows, Items: items})
	if err != nil {
		t.Fatal(err)
	}
	for kind, ev := range found {
		if err := satisfies(ev, r); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
		for i, it := range r.Items {
			ok := false
			for _, f := range it.Fields {
				if _, present := ev[f]; present {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: none of %q (for %s) in the event", kind, it.Fields, names[i])
			}
		}
	}
	// And not to a network connection rule.
	r, err = p.Route(LogSource{Product: "windows", Category: "network_connection"})
	if err != nil {
		t.Fatal(err)
	}
	for kind, ev := range found {
		if satisfies(ev, r) == nil {
			t.Errorf("%s is routed to network_connection rules", kind)
		}
	}
}

// TestVigilAgreesWithIngest checks the built-in routing against the
// ingest's own classification (internal/ingest/logsources.yaml): every
// channel and event ID ingest calls a category is routed to that
// category's rules.
func TestVigilAgreesWithIngest(t *testing.T) {
	b, err := os.ReadFile("../../ingest/logsources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules []struct {
			Name       string            `yaml:"name"`
			Match      map[string]string `yaml:"match"`
			Product    string            `yaml:"product"`
			Service    string            `yaml:"service"`
			Categories map[string]string `yaml:"categories"`
		} `yaml:"rules"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	p := mustBuiltin(t, "vigil")
	checked := 0
	for _, rule := range doc.Rules {
		ch, ok := rule.Match["Channel"]
		if !ok || rule.Product != "windows" {
			continue
		}
		ev := map[string]any{"Channel": ch}
		if rule.Service != "" {
			r, err := p.Route(LogSource{Product: "windows", Service: rule.Service})
			if err != nil {
				t.Fatal(err)
			}
			if err := satisfies(ev, r); err != nil || !r.Routed() {
				t.Errorf("ingest's %s (Channel %s) is service %s, but its rules are not routed to it: %v", rule.Name, ch, rule.Service, err)
			}
			checked++
		}
		for id, cat := range rule.Categories {
			ev := map[string]any{"Channel": ch, "EventID": id}
			r, err := p.Route(LogSource{Product: "windows", Category: cat})
			if err != nil {
				t.Fatal(err)
			}
			if err := satisfies(ev, r); err != nil || !r.Routed() {
				t.Errorf("ingest calls %s EventID %s %s, but those rules are not routed to it: %v", ch, id, cat, err)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Errorf("checked only %d channel/category pairs", checked)
	}
	t.Logf("%d of ingest's Windows channel and category pairs routed alike", checked)
}
