package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
)

func TestCreateAlertAndRepeat(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r, err := e.svc.CreateAlert(ctx, e.alice, alertFor("rj1", "det-1"))
		if err != nil {
			t.Fatal(err)
		}
		a := r.Alert
		if !r.Created || !validID(prefixAlert, a.ID) || a.Org != "RJ1" || a.Occurrences != 1 || a.Status != AlertNew || a.PAP != PAPAmber {
			t.Fatalf("created %+v", r)
		}
		if got := a.Observables[1].Value; got != strings.ToLower(got) {
			t.Errorf("hash not normalised: %s", got)
		}
		e.clk.advance(time.Minute)
		r2, err := e.svc.CreateAlert(ctx, e.carol, alertFor("RJ1", "det-1"))
		if err != nil {
			t.Fatal(err)
		}
		if r2.Created || r2.Alert.ID != a.ID || r2.Alert.Occurrences != 2 || !r2.Alert.LastSeen.After(a.LastSeen) {
			t.Fatalf("repeat = created %v id %s occ %d last %v", r2.Created, r2.Alert.ID, r2.Alert.Occurrences, r2.Alert.LastSeen)
		}
		// The same reference in another trust is another alert.
		r3, err := e.svc.CreateAlert(ctx, e.bob, alertFor("RJZ", "det-1"))
		if err != nil || !r3.Created || r3.Alert.ID == a.ID {
			t.Fatalf("other trust's alert = %+v, %v", r3, err)
		}
		// Bob may not report, see or find Alice's.
		_, err = e.svc.CreateAlert(ctx, e.bob, alertFor("RJ1", "det-1"))
		wantInvalid(t, err, "org")
		_, err = e.svc.GetAlert(ctx, e.bob, a.ID)
		wantKind(t, err, fault.ErrNotFound)
		list, _, err := e.svc.ListAlerts(ctx, e.bob, AlertFilter{})
		if err != nil || len(list) != 1 || list[0].Org != "RJZ" {
			t.Fatalf("bob's inbox = %v, %v", list, err)
		}
		// The auditor reads but may not report.
		if _, err := e.svc.GetAlert(ctx, e.audrey, a.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CreateAlert(ctx, e.audrey, alertFor("RJ1", "det-2"))
		wantKind(t, err, fault.ErrForbidden)
		// The audit log has both the creation and the repeat, filed under RJ1.
		var n int
		e.db.QueryRowContext(ctx, e.db.Rebind(`SELECT COUNT(*) FROM audit_log WHERE org = 'RJ1' AND action IN ('alert.create', 'alert.repeat')`)).Scan(&n)
		if n != 2 {
			t.Errorf("audit entries = %d, want 2", n)
		}
	})
}

func TestCreateAlertValidation(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, c := range []struct {
			name  string
			edit  func(n *NewAlert)
			field string
		}{
			{"no source", func(n *NewAlert) { n.Source = "" }, "source"},
			{"source with spaces", func(n *NewAlert) { n.Source = "my edr" }, "source"},
			{"no ref", func(n *NewAlert) { n.SourceRef = " " }, "source_ref"},
			{"no title", func(n *NewAlert) { n.Title = "" }, "title"},
			{"control char", func(n *NewAlert) { n.Title = "x\x1b[2J" }, "title"},
			{"bad severity", func(n *NewAlert) { n.Severity = "urgent" }, "severity"},
			{"no tlp", func(n *NewAlert) { n.TLP = "" }, "tlp"},
			{"bad tlp", func(n *NewAlert) { n.TLP = "white" }, "tlp"},
			{"bad pap", func(n *NewAlert) { n.PAP = "black" }, "pap"},
			{"no org", func(n *NewAlert) { n.Org = "" }, "org"},
			{"unknown org", func(n *NewAlert) { n.Org = "NOPE" }, "org"},
			{"bad ip", func(n *NewAlert) { n.Observables = []Observable{{Type: ObsIP, Value: "300.1.1.1"}} }, "observables[0].value"},
			{"bad type", func(n *NewAlert) { n.Observables = []Observable{{Type: "phone", Value: "1"}} }, "observables[0].type"},
			{"bad field key", func(n *NewAlert) { n.Fields = map[string]string{"Bad Key": "x"} }, "fields"},
			{"seen backwards", func(n *NewAlert) {
				a, b := t0.Add(-time.Hour), t0.Add(-2*time.Hour)
				n.FirstSeen, n.LastSeen = &a, &b
			}, "last_seen"},
		} {
			t.Run(c.name, func(t *testing.T) {
				n := alertFor("RJ1", "v-"+c.name)
				c.edit(&n)
				_, err := e.svc.CreateAlert(ctx, e.alice, n)
				wantInvalid(t, err, c.field)
			})
		}
	})
}

func TestNormaliseObservable(t *testing.T) {
	for _, c := range []struct {
		typ       ObservableType
		in, want  string
		wantError bool
	}{
		{ObsIP, " 192.0.2.1 ", "192.0.2.1", false},
		{ObsIP, "::ffff:192.0.2.1", "192.0.2.1", false},
		{ObsIP, "2001:DB8:0:0::1", "2001:db8::1", false},
		{ObsIP, "fe80::1%eth0", "", true},
		{ObsIP, "evil.example", "", true},
		{ObsDomain, "Evil.Example.COM.", "evil.example.com", false},
		{ObsDomain, "xn--bcher-kva.example", "xn--bcher-kva.example", false},
		{ObsDomain, "bücher.example", "", true},
		{ObsDomain, "-bad.example", "", true},
		{ObsDomain, "a..b", "", true},
		{ObsURL, "HTTPS://Evil.Example/Path?Q=1", "https://evil.example/Path?Q=1", false},
		{ObsURL, "/relative", "", true},
		{ObsURL, "javascript:alert(1)", "", true},
		{ObsMD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e", false},
		{ObsMD5, "d41d8cd98f00b204e9800998ecf8427", "", true},
		{ObsSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709", false},
		{ObsSHA256, strings.Repeat("g", 64), "", true},
		{ObsEmail, "Bad.Actor@Evil.Example", "Bad.Actor@evil.example", false},
		{ObsEmail, "Bad Actor <bad@evil.example>", "", true},
		{ObsHost, "WS-0042.Trust.NHS.UK", "ws-0042.trust.nhs.uk", false},
		{ObsUser, "TRUST\\jsmith", "TRUST\\jsmith", false},
		{ObsFile, "C:\\Users\\x\\invoice.pdf.exe", "C:\\Users\\x\\invoice.pdf.exe", false},
		{ObsFile, "a\x00b", "", true},
		{ObsUser, "", "", true},
	} {
		got, err := NormaliseObservable("o", Observable{Type: c.typ, Value: c.in})
		if c.wantError {
			if err == nil {
				t.Errorf("%s %q = %q, want an error", c.typ, c.in, got.Value)
			}
			continue
		}
		if err != nil || got.Value != c.want {
			t.Errorf("%s %q = %q, %v; want %q", c.typ, c.in, got.Value, err, c.want)
		}
	}
	// Repeats after normalisation are dropped.
	obs, err := normObservables("o", []Observable{{ObsIP, "::ffff:10.0.0.1"}, {ObsIP, "10.0.0.1"}, {ObsDomain, "A.example"}, {ObsDomain, "a.example."}})
	if err != nil || len(obs) != 2 {
		t.Errorf("normObservables = %v, %v", obs, err)
	}
}

// Fifty clients post the same alert at once: one alert, fifty
// occurrences — through one service, and through two services on one
// database (two servers), where the unique index decides.
func TestCreateAlertConcurrentRepeats(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		other, err := New(Options{DB: e.db, Audit: e.audit, Orgs: e.orgs, Now: e.clk.now, MaxBatch: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		var wg sync.WaitGroup
		ids := make([]string, 50)
		created := make([]bool, 50)
		errs := make([]error, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc := e.svc
				if i%2 == 1 {
					svc = other
				}
				r, err := svc.CreateAlert(ctx, e.alice, alertFor("RJ1", "same"))
				ids[i], created[i], errs[i] = r.Alert.ID, r.Created, err
			}()
		}
		wg.Wait()
		nCreated := 0
		for i := range 50 {
			if errs[i] != nil {
				t.Fatalf("client %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("client %d got alert %s, client 0 %s", i, ids[i], ids[0])
			}
			if created[i] {
				nCreated++
			}
		}
		a, err := e.svc.GetAlert(ctx, e.alice, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if nCreated != 1 || a.Occurrences != 50 {
			t.Fatalf("created %d times, occurrences %d; want 1 and 50", nCreated, a.Occurrences)
		}
		var rows int
		e.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts`).Scan(&rows)
		if rows != 1 {
			t.Fatalf("%d alert rows, want 1", rows)
		}
	})
}

func TestListAlertsFiltersAndCursor(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var made []Alert
		for i := range 12 {
			n := alertFor("RJ1", fmt.Sprintf("r-%02d", i))
			if i%3 == 0 {
				n.Severity = Critical
				n.Source = "email-gateway"
				n.Title = "Phishing wave " + fmt.Sprint(i)
			}
			made = append(made, mustAlert(t, e, e.alice, n))
			e.clk.advance(time.Second)
		}
		mustAlert(t, e, e.bob, alertFor("RJZ", "bob-1"))
		// Newest first, pages join up exactly.
		var got []string
		cursor := ""
		for {
			list, next, err := e.svc.ListAlerts(ctx, e.alice, AlertFilter{Limit: 5, After: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range list {
				got = append(got, a.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != 12 || got[0] != made[11].ID || got[11] != made[0].ID {
			t.Fatalf("paged %d alerts, first %s last %s", len(got), got[0], got[len(got)-1])
		}
		check := func(f AlertFilter, want int) {
			t.Helper()
			list, _, err := e.svc.ListAlerts(ctx, e.alice, f)
			if err != nil || len(list) != want {
				t.Errorf("filter %+v = %d alerts, %v; want %d", f, len(list), err, want)
			}
		}
		check(AlertFilter{Severity: Critical}, 4)
		check(AlertFilter{Source: "Email-Gateway"}, 4)
		check(AlertFilter{Query: "phishing WAVE"}, 4)
		check(AlertFilter{Query: "192.0.2.10"}, 12)
		check(AlertFilter{Query: "50%_"}, 0)
		check(AlertFilter{Status: AlertNew, Org: "rj1"}, 12)
		check(AlertFilter{Org: "RJZ"}, 0) // not Alice's to see
		check(AlertFilter{Since: t0.Add(6 * time.Second)}, 6)
		check(AlertFilter{Since: t0.Add(2 * time.Second), Until: t0.Add(4 * time.Second)}, 2)
		_, _, err := e.svc.ListAlerts(ctx, e.alice, AlertFilter{Status: "open"})
		wantInvalid(t, err, "status")
		_, _, err = e.svc.ListAlerts(ctx, e.alice, AlertFilter{After: "x'; DROP TABLE alerts"})
		wantInvalid(t, err, "cursor")
		// The region lead sees both trusts — read both ways the inbox
		// reads (inboxScope): organisation by organisation for a page of
		// 100, newest first for a page of 3 (13² > 4 × 13).
		list, _, _ := e.svc.ListAlerts(ctx, e.rex, AlertFilter{})
		if len(list) != 13 {
			t.Errorf("region lead sees %d, want 13", len(list))
		}
		var paged []string
		cursor = ""
		for {
			page, next, err := e.svc.ListAlerts(ctx, e.rex, AlertFilter{Limit: 3, After: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				paged = append(paged, a.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		for i := range list {
			if i >= len(paged) || paged[i] != list[i].ID {
				t.Fatalf("newest-first pages %v differ from the whole list", paged)
			}
		}
		if _, _, hint, _ := e.svc.inboxScope(ctx, e.rex, 4); e.db.Dialect == "sqlite" && hint != "" {
			t.Errorf("a page of 3 over the region read by organisation (%q)", hint)
		}
		if _, _, hint, _ := e.svc.inboxScope(ctx, e.alice, 101); e.db.Dialect == "sqlite" && hint == "" {
			t.Errorf("a trust's page of 100 read newest first")
		}
		if w, _, _, _ := e.svc.inboxScope(ctx, e.nadia, 101); w != "1=1" {
			t.Errorf("national scope condition %q", w)
		}
	})
}

func TestTriageAllOrNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a1 := mustAlert(t, e, e.alice, alertFor("RJ1", "t-1"))
		a2 := mustAlert(t, e, e.alice, alertFor("RJ1", "t-2"))
		b1 := mustAlert(t, e, e.bob, alertFor("RJZ", "t-b"))
		// One invisible alert: not found, naming none, nothing changed.
		_, err := e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: []string{a1.ID, b1.ID, a2.ID}, Action: TriageDisposition, Disposition: FalsePositive, Reason: "scanner"})
		wantKind(t, err, fault.ErrNotFound)
		if strings.Contains(err.Error(), b1.ID) || strings.Contains(err.Error(), a1.ID) {
			t.Errorf("error names an alert: %v", err)
		}
		got, _ := e.svc.GetAlert(ctx, e.alice, a1.ID)
		if got.Disposition != "" || len(got.Dispositions) != 0 {
			t.Fatalf("a1 changed by a refused triage: %+v", got)
		}
		// The auditor may see but not triage.
		_, err = e.svc.TriageAlerts(ctx, e.audrey, Triage{IDs: []string{a1.ID}, Action: TriageAcknowledge})
		wantKind(t, err, fault.ErrForbidden)
		// Assign to a colleague who may work on them; not to Bob.
		_, err = e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: []string{a1.ID, a2.ID}, Action: TriageAssign, Assignee: e.bob.Email})
		inv := wantInvalid(t, err, "assignee")
		_, err2 := e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: []string{a1.ID}, Action: TriageAssign, Assignee: "nobody@nowhere.test"})
		if inv2 := wantInvalid(t, err2, "assignee"); strings.ReplaceAll(inv2.Reason, "nobody@nowhere.test", "X") != strings.ReplaceAll(inv.Reason, e.bob.Email, "X") {
			t.Errorf("an unknown and an invisible assignee answer differently: %q vs %q", inv.Reason, inv2.Reason)
		}
		res, err := e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: []string{a1.ID, a2.ID}, Action: TriageAssign, Assignee: e.carol.Email})
		if err != nil || res.Alerts[0].Assignee != e.carol.Email || res.Alerts[1].Status != AlertAcknowledged {
			t.Fatalf("assign = %+v, %v", res, err)
		}
		// Closing needs a verdict.
		_, err = e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: []string{a1.ID}, Action: TriageClose})
		wantInvalid(t, err, "disposition")
		if _, err := e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: []string{a1.ID, a2.ID}, Action: TriageClose, Disposition: Benign, Reason: "pen test"}); err != nil {
			t.Fatal(err)
		}
		got, _ = e.svc.GetAlert(ctx, e.alice, a2.ID)
		if got.Status != AlertClosed || got.Disposition != Benign || len(got.Dispositions) != 1 || got.Dispositions[0].By != e.alice.Email || got.Dispositions[0].Reason != "pen test" {
			t.Fatalf("after close: %+v", got)
		}
		b, _ := json.Marshal(got)
		if !strings.Contains(string(b), `"dispositions":[{"disposition":"benign"`) {
			t.Errorf("JSON lacks the history: %s", b)
		}
		_, err = e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: []string{a1.ID}, Action: "delete"})
		wantInvalid(t, err, "action")
	})
}
