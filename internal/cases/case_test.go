package cases

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
)

func TestEmbeddedTemplates(t *testing.T) {
	tpls, err := LoadTemplates(templateFS, "templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ransomware", "phishing", "supplier-compromise", "data-breach"} {
		tp := tpls[name]
		if tp == nil {
			t.Fatalf("template %s missing", name)
		}
		if len(tp.Tasks) == 0 || len(tp.Fields) == 0 {
			t.Errorf("%s: %d tasks, %d fields", name, len(tp.Tasks), len(tp.Fields))
		}
		required := 0
		for _, f := range tp.Fields {
			if f.RequiredOnClose {
				required++
			}
		}
		if required == 0 {
			t.Errorf("%s has no field required on close", name)
		}
	}
}

func TestTemplateErrorsNamePositions(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "name: x\ntitle: X\nseverity: high\ntlp: amber\ncolour: red\n", "t.yaml:5:1: colour: unknown key"},
		{"bad severity", "name: x\ntitle: X\nseverity: urgent\ntlp: amber\n", `t.yaml:3:11: severity: "urgent" is not one of`},
		{"missing", "name: x\ntitle: X\n", "t.yaml:1:1: severity: is required"},
		{"bad field type", "name: x\ntitle: X\nseverity: high\ntlp: amber\nfields:\n  - name: n\n    type: numbr\n", `t.yaml:7:11: fields[0].type: "numbr" is not one of`},
		{"enum without values", "name: x\ntitle: X\nseverity: high\ntlp: amber\nfields:\n  - name: n\n    type: enum\n", "t.yaml:6:5: fields[0].values: an enum needs its values"},
		{"duplicate field", "name: x\ntitle: X\nseverity: high\ntlp: amber\nfields:\n  - {name: n, type: bool}\n  - {name: n, type: bool}\n", `t.yaml:7:12: fields[1].name: "n" is defined twice`},
		{"required not bool", "name: x\ntitle: X\nseverity: high\ntlp: amber\nfields:\n  - {name: n, type: bool, required_on_close: yes please}\n", "t.yaml:6:46: fields[0].required_on_close: want true or false"},
		{"task without title", "name: x\ntitle: X\nseverity: high\ntlp: amber\ntasks:\n  - description: d\n", "t.yaml:6:5: tasks[0].title: is required"},
		{"not yaml", "name: [x\n", "t.yaml:1:1: not valid YAML"},
		{"list at top", "- a\n", "t.yaml:1:1: the template: want a mapping"},
		{"bad name", "name: Big Name\ntitle: X\nseverity: high\ntlp: amber\n", `t.yaml:1:7: name: "Big Name"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadTemplates(fstest.MapFS{"tpl/t.yaml": {Data: []byte(c.yaml)}}, "tpl")
			if err == nil || !strings.Contains(err.Error(), strings.Replace(c.want, "t.yaml", "tpl/t.yaml", 1)) {
				t.Errorf("error = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, name := range []string{"ransomware.yaml", "phishing.yaml"} {
		b, _ := templateFS.ReadFile("templates/" + name)
		f.Add(b)
	}
	f.Add([]byte("name: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tp, errs := ParseTemplate("f.yaml", b)
		if tp == nil && len(errs) == 0 {
			t.Fatal("no template and no error")
		}
	})
}

func TestCaseWorkflow(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Template: "ransomware", Title: "Ransomware on ward PCs", Assignee: e.carol.Email})
		if err != nil {
			t.Fatal(err)
		}
		if c.Severity != Critical || c.TLP != TLPAmber || c.Status != CaseNew || len(c.Tasks) != 5 || c.Assignee != e.carol.Email || c.Tags[0] != "ransomware" {
			t.Fatalf("created %+v", c)
		}
		if !strings.Contains(c.DescriptionHTML, "<p>") {
			t.Errorf("description not rendered: %q", c.DescriptionHTML)
		}
		// Invalid transitions are refused, naming the allowed ones.
		_, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseNew})
		inv := wantInvalid(t, err, "status")
		if !strings.Contains(inv.Reason, "in-progress, resolved, closed") {
			t.Errorf("reason %q does not list the allowed statuses", inv.Reason)
		}
		c, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseInProgress})
		if err != nil || c.AcknowledgedAt == nil {
			t.Fatalf("in progress: %+v %v", c, err)
		}
		// Closing needs resolution, impact and the mandatory fields.
		_, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseClosed, Impact: ImpactMinor})
		wantInvalid(t, err, "resolution")
		_, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseClosed, Resolution: ResolvedTruePositive})
		wantInvalid(t, err, "impact")
		_, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseClosed, Resolution: ResolvedTruePositive, Impact: ImpactSevere})
		inv = wantInvalid(t, err, "fields.encrypted_hosts")
		if !strings.Contains(inv.Reason, "backups_intact") {
			t.Errorf("reason %q does not list every missing field", inv.Reason)
		}
		// Typed fields.
		_, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Fields: map[string]any{"encrypted_hosts": "many"}})
		wantInvalid(t, err, "fields.encrypted_hosts")
		_, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Fields: map[string]any{"strain": "wannacry"}})
		wantInvalid(t, err, "fields.strain")
		_, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Fields: map[string]any{"encryption_started": "2026-13-01"}})
		wantInvalid(t, err, "fields.encryption_started")
		_, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Fields: map[string]any{"colour": "red"}})
		wantInvalid(t, err, "fields.colour")
		c, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Fields: map[string]any{"encrypted_hosts": 42.0, "backups_intact": true,
			"data_exfiltrated": false, "strain": "lockbit", "encryption_started": "2026-11-01"}})
		if err != nil {
			t.Fatal(err)
		}
		c, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseClosed, Resolution: ResolvedTruePositive, Impact: ImpactSevere, Summary: "Restored from backups"})
		if err != nil || c.Status != CaseClosed || c.ClosedAt == nil || c.Resolution != ResolvedTruePositive {
			t.Fatalf("close: %+v %v", c, err)
		}
		// A closed case is not edited; reopening clears the closure.
		_, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Title: ptr("x")})
		wantInvalid(t, err, "status")
		_, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseResolved})
		wantInvalid(t, err, "status")
		c, err = e.svc.SetStatus(ctx, e.alice, c.ID, StatusChange{Status: CaseInProgress})
		if err != nil || c.ClosedAt != nil || c.Resolution != "" {
			t.Fatalf("reopen: %+v %v", c, err)
		}
		// The timeline recorded the story, in order.
		tl, err := e.svc.Timeline(ctx, e.alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, x := range tl {
			kinds = append(kinds, x.Kind)
		}
		if got := strings.Join(kinds, ","); got != "case.created,case.status,case.status,case.status" {
			t.Errorf("timeline kinds = %s", got)
		}
		// Others: Bob cannot see it, the auditor cannot change it.
		_, err = e.svc.GetCase(ctx, e.bob, c.ID)
		wantKind(t, err, fault.ErrNotFound)
		_, err = e.svc.SetStatus(ctx, e.bob, c.ID, StatusChange{Status: CaseResolved})
		wantKind(t, err, fault.ErrNotFound)
		_, err = e.svc.UpdateCase(ctx, e.audrey, c.ID, CasePatch{Title: ptr("x")})
		wantKind(t, err, fault.ErrForbidden)
		// Assignment to someone who cannot work on the case is refused.
		_, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Assignee: ptr(e.bob.Email)})
		wantInvalid(t, err, "assignee")
		_, err = e.svc.UpdateCase(ctx, e.alice, c.ID, CasePatch{Assignee: ptr(e.audrey.Email)})
		wantInvalid(t, err, "assignee")
	})
}

func ptr[T any](v T) *T { return &v }

func TestPromoteAddMergeSplit(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a1 := mustAlert(t, e, e.alice, alertFor("RJ1", "p-1"))
		n2 := alertFor("RJ1", "p-2")
		n2.Severity = Critical
		n2.Observables = append(n2.Observables, Observable{Type: ObsDomain, Value: "evil.example"})
		a2 := mustAlert(t, e, e.alice, n2)
		a3 := mustAlert(t, e, e.alice, alertFor("RJ1", "p-3"))
		b1 := mustAlert(t, e, e.bob, alertFor("RJZ", "p-b"))
		// Promote with an invisible alert: not found, nothing made.
		_, err := e.svc.CreateCase(ctx, e.alice, NewCase{AlertIDs: []string{a1.ID, b1.ID}})
		wantKind(t, err, fault.ErrNotFound)
		c1, err := e.svc.CreateCase(ctx, e.alice, NewCase{Template: "phishing", AlertIDs: []string{a1.ID, a2.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if c1.Org != "RJ1" || len(c1.Alerts) != 2 || c1.Severity != Medium {
			t.Fatalf("promoted %+v", c1)
		}
		got, _ := e.svc.GetAlert(ctx, e.alice, a1.ID)
		if got.Status != AlertInCase || got.CaseID != c1.ID {
			t.Fatalf("alert after promotion %+v", got)
		}
		obs, err := e.svc.ListObservables(ctx, e.alice, c1.ID)
		if err != nil || len(obs) != 3 {
			t.Fatalf("observables %v %v", obs, err)
		}
		// A second case from the third alert, without template: severity from the alert.
		c2, err := e.svc.CreateCase(ctx, e.alice, NewCase{AlertIDs: []string{a3.ID}, Tags: []string{"wave-2"}})
		if err != nil || c2.Severity != High || c2.Title != a3.Title {
			t.Fatalf("second case %+v %v", c2, err)
		}
		if _, err := e.svc.CreateTask(ctx, e.alice, c2.ID, NewTask{Title: "Check proxy logs", Checklist: []string{"web proxy", "DNS"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddComment(ctx, e.alice, c2.ID, "Looks like the same wave as the first."); err != nil {
			t.Fatal(err)
		}
		// "Seen in other cases": the shared IP shows c2 in c1's list.
		obs, _ = e.svc.ListObservables(ctx, e.alice, c1.ID)
		for _, o := range obs {
			if o.Value == "192.0.2.10" && (len(o.SeenIn) != 1 || o.SeenIn[0].CaseID != c2.ID) {
				t.Errorf("seen in = %+v, want %s", o.SeenIn, c2.ID)
			}
		}
		// Adding an alert twice is refused.
		_, err = e.svc.AddAlerts(ctx, e.alice, c2.ID, []string{a1.ID})
		wantInvalid(t, err, "ids")
		// Merge c2 into c1: everything moves; c2 closes as a duplicate.
		m, err := e.svc.MergeCases(ctx, e.alice, c1.ID, c2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Alerts) != 3 || !contains(m.Tags, "wave-2") || len(m.Tasks) != 4 {
			t.Fatalf("merged %d alerts, tags %v, %d tasks", len(m.Alerts), m.Tags, len(m.Tasks))
		}
		old, err := e.svc.GetCase(ctx, e.alice, c2.ID)
		if err != nil || old.Status != CaseClosed || old.Resolution != ResolvedDuplicate || old.MergedInto != c1.ID {
			t.Fatalf("merged-away case %+v %v", old, err)
		}
		comments, _ := e.svc.Comments(ctx, e.alice, c1.ID)
		if len(comments) != 1 {
			t.Errorf("comments after merge: %d", len(comments))
		}
		obs, _ = e.svc.ListObservables(ctx, e.alice, c1.ID)
		if len(obs) != 3 {
			t.Errorf("observables after merge: %d, want 3 (duplicates dropped)", len(obs))
		}
		_, err = e.svc.MergeCases(ctx, e.alice, c1.ID, c2.ID)
		wantInvalid(t, err, "from")
		// Bob's case cannot be merged into Alice's (nor the other way).
		cb, err := e.svc.CreateCase(ctx, e.bob, NewCase{Org: "RJZ", Title: "Bob's", AlertIDs: []string{b1.ID}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.MergeCases(ctx, e.alice, c1.ID, cb.ID)
		wantKind(t, err, fault.ErrNotFound)
		// The region lead may see both, but RJZ's data may not move into RJ1's case.
		_, err = e.svc.MergeCases(ctx, e.rex, c1.ID, cb.ID)
		wantInvalid(t, err, "from")
		// An ICB case may take a trust's alert.
		a4 := mustAlert(t, e, e.alice, alertFor("RJ1", "p-4"))
		icb, err := e.svc.CreateCase(ctx, e.rex, NewCase{Org: "QKK", Title: "ICB-wide phishing"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddAlerts(ctx, e.rex, icb.ID, []string{a4.ID}); err != nil {
			t.Fatalf("trust alert into ICB case: %v", err)
		}
		// Split: move a task and an observable into a new case.
		var obsID string
		for _, o := range obs {
			if o.Value == "evil.example" {
				obsID = o.ID
			}
		}
		sp, err := e.svc.SplitCase(ctx, e.alice, c1.ID, Split{Title: "Domain takedown", ObservableIDs: []string{obsID}, TaskIDs: []string{m.Tasks[0].ID}, AlertIDs: []string{a2.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if sp.Org != "RJ1" || len(sp.Tasks) != 1 || len(sp.Alerts) != 1 || len(sp.Links) != 1 || sp.Links[0].CaseID != c1.ID {
			t.Fatalf("split case %+v", sp)
		}
		_, err = e.svc.SplitCase(ctx, e.alice, c1.ID, Split{Title: "x", AlertIDs: []string{b1.ID}})
		wantInvalid(t, err, "alert_ids")
		// Links: Alice links her cases; a link to Bob's is not found.
		if _, err := e.svc.LinkCases(ctx, e.alice, c1.ID, icb.ID); err == nil {
			t.Fatal("Alice linked to an ICB case she cannot read")
		}
		if _, err := e.svc.LinkCases(ctx, e.rex, icb.ID, c1.ID); err != nil {
			t.Fatal(err)
		}
		got1, _ := e.svc.GetCase(ctx, e.alice, c1.ID)
		for _, l := range got1.Links {
			if l.CaseID == icb.ID {
				t.Errorf("Alice sees a link to the ICB case she cannot read")
			}
		}
	})
}

func TestCommentsMentionOnlyThoseWhoMaySee(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var evs []Event
		e.svc.OnEvent(func(ev Event) { evs = append(evs, ev) })
		c, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "Mentions"})
		if err != nil {
			t.Fatal(err)
		}
		cm, err := e.svc.AddComment(ctx, e.alice, c.ID, "@carol@rj1.nhs.test please check; @bob@rjz.nhs.test and @ghost@nowhere.test too. mail me at x@y.test <img src=x onerror=alert(1)>")
		if err != nil {
			t.Fatal(err)
		}
		if len(cm.Mentions) != 1 || cm.Mentions[0] != e.carol.Email {
			t.Fatalf("mentions = %v, want only carol", cm.Mentions)
		}
		if strings.Contains(cm.BodyHTML, "<img") {
			t.Errorf("comment HTML holds an image: %s", cm.BodyHTML)
		}
		var mention *Event
		for i := range evs {
			if evs[i].Kind == "comment.mention" {
				mention = &evs[i]
			}
		}
		if mention == nil || len(mention.Users) != 1 || mention.Users[0] != e.carol.Email {
			t.Fatalf("mention event = %+v", mention)
		}
		_, err = e.svc.AddComment(ctx, e.bob, c.ID, "hello")
		wantKind(t, err, fault.ErrNotFound)
		list, err := e.svc.Comments(ctx, e.audrey, c.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("auditor's comments %v %v", list, err)
		}
	})
}

func TestAttachments(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.svc.opts.MaxAttachment = 1024
		c, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "Evidence"})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"page.html", "x.svg", "run.exe", "payload.js", "noext"} {
			_, err := e.svc.AddAttachment(ctx, e.alice, c.ID, name, strings.NewReader("<script>alert(1)</script>"))
			wantInvalid(t, err, "file")
		}
		_, err = e.svc.AddAttachment(ctx, e.alice, c.ID, "big.log", bytes.NewReader(make([]byte, 1025)))
		if inv := wantInvalid(t, err, "file"); !strings.Contains(inv.Reason, "1 KiB") {
			t.Errorf("size refusal %q does not state the limit", inv.Reason)
		}
		_, err = e.svc.AddAttachment(ctx, e.bob, c.ID, "x.txt", strings.NewReader("x"))
		wantKind(t, err, fault.ErrNotFound)
		a, err := e.svc.AddAttachment(ctx, e.alice, c.ID, `C:\evidence\..\firewall.log`, strings.NewReader("deny tcp 192.0.2.10\n"))
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "firewall.log" || a.ContentType != "text/plain; charset=utf-8" || a.SHA256 != "7ce4d2cc2f6b5e9f1a0d3dc4b2c1c0d3cc6f81e3a0e4baf5b2a6c4bd3c0b8a2e" && len(a.SHA256) != 64 {
			t.Fatalf("attachment %+v", a)
		}
		e.clk.advance(time.Second)
		_, data, err := e.svc.OpenAttachment(ctx, e.audrey, c.ID, a.ID)
		if err != nil || string(data) != "deny tcp 192.0.2.10\n" {
			t.Fatalf("download %q %v", data, err)
		}
		_, _, err = e.svc.OpenAttachment(ctx, e.bob, c.ID, a.ID)
		wantKind(t, err, fault.ErrNotFound)
		cu, err := e.svc.CustodyOf(ctx, e.alice, c.ID, a.ID)
		if err != nil || len(cu) != 2 || cu[0].Action != "upload" || cu[1].Action != "download" || cu[1].By != e.audrey.Email || cu[1].SHA256 != a.SHA256 {
			t.Fatalf("custody %+v %v", cu, err)
		}
		// Tampered evidence is refused, not handed out.
		if _, err := e.db.ExecContext(ctx, e.db.Rebind(`UPDATE case_attachments SET data = ? WHERE id = ?`), []byte("allow all\n"), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.OpenAttachment(ctx, e.alice, c.ID, a.ID); err == nil {
			t.Fatal("tampered attachment served")
		}
	})
}
