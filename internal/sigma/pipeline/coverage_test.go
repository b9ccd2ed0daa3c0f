package pipeline

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestVigilRoutesSigmaHQ routes the log source of every SigmaHQ rule for
// Windows and Linux (rules-index.csv) through the built-in pipelines and
// lists the log sources neither routes: an engine must not run those
// rules on every event.
func TestVigilRoutesSigmaHQ(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedPipelines, "..", "rules-index.csv"))
	if err != nil {
		testneed.Missing(t, "the SigmaHQ rule index in ../shared/data/sigma", err)
		return
	}
	defer func() { _ = f.Close() }()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range BuiltinNames() {
		p := mustBuiltin(t, name)
		rules, routed := map[string]int{}, map[string]int{}
		unrouted := map[LogSource]int{}
		for _, r := range rows[1:] {
			ls := LogSource{Product: r[6], Category: r[7], Service: r[8]}
			if r[1] != "rules" || (ls.Product != "windows" && (name == "ecs" || ls.Product != "linux")) {
				continue
			}
			rules[ls.Product]++
			res, err := p.Route(ls)
			if err != nil {
				t.Fatalf("%s %s: %v", name, ls, err)
			}
			if res.Routed() {
				routed[ls.Product]++
			} else {
				unrouted[ls]++
			}
		}
		var list []string
		for ls, n := range unrouted {
			list = append(list, fmt.Sprintf("%s (%d rules)", ls, n))
		}
		sort.Strings(list)
		t.Logf("%s: windows %d of %d rules routed, linux %d of %d; unrouted log sources: %q",
			name, routed["windows"], rules["windows"], routed["linux"], rules["linux"], list)
		if rules["windows"] < 2000 {
			t.Errorf("%s: only %d Windows rules in the index", name, rules["windows"])
		}
		// Every Windows rule routed but 9: file_access (7) and file_rename
		// (1) come from ETW or EDR sensors, no event log channel; one
		// keyword rule names only product windows (all Windows events).
		// They are left unrouted, not failed: the issue wants every
		// SigmaHQ Windows rule to load, and the engine decides what an
		// unrouted rule runs on.
		if left := rules["windows"] - routed["windows"]; left > 9 {
			t.Errorf("%s: %d Windows rules unrouted", name, left)
		}
	}
}
