package sigma

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestRetroHuntMappings: a retro-hunt with the built-in ecs pipeline
// finds the stored ECS events a rule written in Sigma's names misses
// without it, including one ingest gave no log source; a pipeline file
// is refused (a request must not make the server read files).
func TestRetroHuntMappings(t *testing.T) {
	db := storetest.SQLite(t, org.Migrations(), audit.Migrations(), events.Migrations())
	ctx := context.Background()
	orgs, err := org.New(org.Options{DB: db, Audit: audit.New(db, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := events.New(events.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ecs := func(id, product, category, cmd string) events.Event {
		return events.Event{ID: id, Org: "ENG", ReceivedAt: now, EventTime: now.Add(-time.Minute), Source: events.Source{Protocol: "file"},
			Product: product, Category: category, Raw: cmd,
			Fields: map[string]any{"winlog.channel": "Microsoft-Windows-Sysmon/Operational", "winlog.event_id": 1.0, "process.command_line": cmd}}
	}
	if err := st.Append(ctx, []events.Event{
		ecs("classified", "windows", "process_creation", "whoami /all"),
		ecs("unclassified", "", "", "whoami /all"),
		ecs("other", "windows", "process_creation", "notepad.exe"),
	}); err != nil {
		t.Fatal(err)
	}
	rule := "title: whoami\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n"
	hunt := func(mappings ...string) ([]string, error) {
		res, err := RetroHunt(ctx, st, scope.System("test"), HuntRequest{Rules: rule, Since: "1h", Mappings: mappings})
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.Event.ID)
		}
		return ids, err
	}
	if ids, err := hunt(); err != nil || len(ids) != 0 {
		t.Errorf("without a mapping: %v %v", ids, err)
	}
	ids, err := hunt("ecs")
	if err != nil || fmt.Sprint(ids) != "[classified unclassified]" && fmt.Sprint(ids) != "[unclassified classified]" {
		t.Errorf("with ecs: %v %v", ids, err)
	}
	_, err = hunt("/etc/passwd")
	var inv *fault.Invalid
	if !errors.As(err, &inv) || inv.Field != "mappings" || !strings.Contains(inv.Reason, "not a built-in pipeline") {
		t.Errorf("a pipeline file: %v", err)
	}
}
