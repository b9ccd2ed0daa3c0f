package cases

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/savedview"
)

// Saved views belong to the person who saved them: a save under the same
// name replaces the query, keys outside the inbox's filters are dropped,
// nobody else lists or deletes them, and each change is audited.
func TestSavedViews(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		v, err := e.svc.SaveView(ctx, e.alice, "  Critical new  ", "?status=new&severity=critical&after=AL-X&evil=1")
		if err != nil {
			t.Fatal(err)
		}
		if v.Name != "Critical new" || v.Query != "severity=critical&status=new" {
			t.Errorf("saved %+v", v)
		}
		again, err := e.svc.SaveView(ctx, e.alice, "Critical new", "severity=critical")
		if err != nil || again.ID != v.ID || again.Query != "severity=critical" {
			t.Errorf("re-save: %+v %v (first %s)", again, err, v.ID)
		}
		list, _ := e.svc.Views(ctx, e.alice)
		if len(list) != 1 || list[0].Query != "severity=critical" {
			t.Errorf("alice's views: %+v", list)
		}
		if list, _ := e.svc.Views(ctx, e.bob); len(list) != 0 {
			t.Errorf("bob sees %+v", list)
		}
		wantKind(t, e.svc.DeleteView(ctx, e.bob, v.ID), fault.ErrNotFound)
		_, err = e.svc.SaveView(ctx, e.alice, "", "status=new")
		wantInvalid(t, err, "name")
		_, err = e.svc.SaveView(ctx, e.alice, "Nothing", "after=AL-X")
		wantInvalid(t, err, "query")
		_, err = e.svc.SaveView(ctx, e.alice, "Control", "q=a%00b")
		wantInvalid(t, err, "q")
		for i := 1; i < savedview.MaxPerKind; i++ {
			if _, err := e.svc.SaveView(ctx, e.alice, fmt.Sprintf("View %02d", i), "status=new"); err != nil {
				t.Fatal(err)
			}
		}
		_, err = e.svc.SaveView(ctx, e.alice, "One too many", "status=new")
		if inv := wantInvalid(t, err, "name"); !strings.Contains(inv.Reason, "delete one first") {
			t.Errorf("reason: %s", inv.Reason)
		}
		if _, err := e.svc.SaveView(ctx, e.alice, "View 01", "status=closed"); err != nil {
			t.Errorf("replacing at the limit: %v", err)
		}
		if err := e.svc.DeleteView(ctx, e.alice, v.ID); err != nil {
			t.Fatal(err)
		}
		wantKind(t, e.svc.DeleteView(ctx, e.alice, v.ID), fault.ErrNotFound)
	})
}

// Grouping keeps the page's order and puts each alert in one group.
func TestGroupAlerts(t *testing.T) {
	a := []Alert{
		{ID: "3", Source: "edr", Type: "malware", Title: "A", Observables: []Observable{{Type: ObsIP, Value: "192.0.2.1"}}},
		{ID: "2", Source: "mail", Type: "phishing", Title: "B"},
		{ID: "1", Source: "edr", Type: "malware", Title: "A", Observables: []Observable{{Type: ObsIP, Value: "192.0.2.1"}, {Type: ObsDomain, Value: "x.example"}}},
	}
	for by, want := range map[string]string{"source": "edr / malware:3,1|mail / phishing:2", "title": "A:3,1|B:2", "observable": "ip 192.0.2.1:3,1|no observables:2"} {
		gs, err := GroupAlerts(a, by)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, g := range gs {
			var ids []string
			for _, x := range g.Alerts {
				ids = append(ids, x.ID)
			}
			parts = append(parts, g.Key+":"+strings.Join(ids, ","))
		}
		got := strings.Join(parts, "|")
		if got != want {
			t.Errorf("by %s: %s, want %s", by, got, want)
		}
	}
	_, err := GroupAlerts(a, "colour")
	wantInvalid(t, err, "group")
	if got := NextStatuses(CaseClosed); len(got) != 1 || got[0] != CaseInProgress {
		t.Errorf("after closed: %v", got)
	}
}
