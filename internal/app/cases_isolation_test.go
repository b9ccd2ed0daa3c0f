package app

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// casesIsolation are the cases objects of the isolation estate: Alice's
// (RJ1) and Bob's (RJZ). Both sides share an observable (198.51.100.7), so
// "seen in other cases" is walked too.
type casesIsolation struct {
	aAlert, aTriage, aAdd         string // RJ1 alerts
	bAlert                        string // RJZ alert
	aCase, aMergeSrc, aLink, aSpl string // RJ1 cases
	bCase                         string // RJZ case
	aTask, aSplitTask, bTask      string
	aAtt, bAtt                    string
	// For the web pages, objects of their own (the API's checks change
	// the ones above).
	wTriage, wTriage2             string // RJ1 alerts
	wCase, wMergeSrc, wLink, wSpl string // RJ1 cases
	wTask, wSplitTask             string
	aView, bView                  string // Alice's and Bob's saved inbox views
}

func seedCasesIsolation(t *testing.T, s *Server) casesIsolation {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	svc := s.Cases
	var ci casesIsolation
	alert := func(org, ref, title string) string {
		r, err := svc.CreateAlert(ctx, sys, cases.NewAlert{Source: "edr", Type: "malware", SourceRef: ref, Title: title, Severity: cases.High,
			Org: org, TLP: cases.TLPAmber, Observables: []cases.Observable{{Type: cases.ObsIP, Value: "198.51.100.7"}}})
		if err != nil {
			t.Fatalf("alert %s: %v", ref, err)
		}
		return r.Alert.ID
	}
	ci.aAlert = alert("RJ1", "iso-rj1-1", "Isolation alert of RJ1")
	ci.aTriage = alert("RJ1", "iso-rj1-triage", "Isolation triage alert")
	ci.aAdd = alert("RJ1", "iso-rj1-add", "Isolation alert to add")
	ci.bAlert = alert("RJZ", "iso-rjz-1", "Isolation alert of the other trust")
	newCase := func(n cases.NewCase) cases.Case {
		c, err := svc.CreateCase(ctx, sys, n)
		if err != nil {
			t.Fatalf("case %s: %v", n.Title, err)
		}
		return c
	}
	a := newCase(cases.NewCase{Org: "RJ1", Title: "Isolation case of RJ1", Template: "phishing", AlertIDs: []string{ci.aAlert}})
	ci.aCase = a.ID
	ci.aMergeSrc = newCase(cases.NewCase{Org: "RJ1", Title: "Isolation duplicate case"}).ID
	ci.aLink = newCase(cases.NewCase{Org: "RJ1", Title: "Isolation linked case"}).ID
	ci.aSpl = newCase(cases.NewCase{Org: "RJ1", Title: "Isolation case to split"}).ID
	b := newCase(cases.NewCase{Org: "RJZ", Title: "Isolation case of the other trust", AlertIDs: []string{ci.bAlert}})
	ci.bCase = b.ID
	task := func(caseID, title string) string {
		tk, err := svc.CreateTask(ctx, sys, caseID, cases.NewTask{Title: title})
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	ci.aTask = task(ci.aCase, "Isolation task of RJ1")
	ci.aSplitTask = task(ci.aSpl, "Isolation task to move")
	ci.bTask = task(ci.bCase, "Isolation task of the other trust")
	for _, c := range []struct{ id, text string }{{ci.aCase, "Isolation comment of RJ1"}, {ci.bCase, "Isolation comment of the other trust"}} {
		if _, err := svc.AddComment(ctx, sys, c.id, c.text); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddTimelineEntry(ctx, sys, c.id, cases.NewTimelineEntry{Title: strings.Replace(c.text, "comment", "timeline entry", 1)}); err != nil {
			t.Fatal(err)
		}
	}
	att, err := svc.AddAttachment(ctx, sys, ci.aCase, "evidence-rj1.log", strings.NewReader("rj1 firewall evidence\n"))
	if err != nil {
		t.Fatal(err)
	}
	ci.aAtt = att.ID
	if att, err = svc.AddAttachment(ctx, sys, ci.bCase, "evidence-rjz.log", strings.NewReader("other trust's evidence\n")); err != nil {
		t.Fatal(err)
	}
	ci.bAtt = att.ID

	ci.wTriage = alert("RJ1", "iso-rj1-web-triage", "Isolation web triage alert")
	ci.wTriage2 = alert("RJ1", "iso-rj1-web-triage-2", "Isolation web alert to add")
	ci.wCase = newCase(cases.NewCase{Org: "RJ1", Title: "Isolation web case"}).ID
	ci.wMergeSrc = newCase(cases.NewCase{Org: "RJ1", Title: "Isolation web duplicate case"}).ID
	ci.wLink = newCase(cases.NewCase{Org: "RJ1", Title: "Isolation web linked case"}).ID
	ci.wSpl = newCase(cases.NewCase{Org: "RJ1", Title: "Isolation web case to split"}).ID
	ci.wTask = task(ci.aCase, "Isolation web task of RJ1")
	ci.wSplitTask = task(ci.wSpl, "Isolation web task to move")
	return ci
}

// seedViews saves an inbox view of Alice's and one of Bob's.
func seedViews(t *testing.T, s *Server, w world, ci *casesIsolation) {
	t.Helper()
	ctx := context.Background()
	for _, v := range []struct {
		who string
		id  *string
	}{{alice, &ci.aView}, {bob, &ci.bView}} {
		sc, err := s.Auth.ScopeFor(ctx, w.user[v.who].ID, "session", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		view, err := s.Cases.SaveView(ctx, sc, "Isolation view of "+v.who, "severity=high")
		if err != nil {
			t.Fatal(err)
		}
		*v.id = view.ID
	}
}

// webCasesIsolationChecks walks the Alerts and Cases pages the same way:
// Alice at Bob's alerts, cases and what they hold (404 and nothing of
// his), everyone else at Alice's (404, or 403 for RJ1's auditor, who
// reads but changes nothing), and Alice's own calls succeeding.
func webCasesIsolationChecks(ci casesIsolation) map[string]routeCheck {
	c := "/cases/"
	readers := statuses(audrey, 200, nadia, 200)
	writers := statuses(audrey, 403, nadia, 303)
	noNadia := []string{nadia}
	return map[string]routeCheck{
		"GET /alerts": {attack: probe{path: "/alerts?q=isolation"},
			own:  own(alice, probe{path: "/alerts?q=isolation", want: []string{"Isolation alert of RJ1", ci.aAlert}}),
			deny: 200, seers: rj1Readers},
		"GET /alerts/{id}": {attack: probe{path: "/alerts/" + ci.bAlert, status: 404},
			own:  own(alice, probe{path: "/alerts/" + ci.aAlert, want: []string{"Isolation alert of RJ1", "198.51.100.7"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /alerts/triage": {attack: probe{body: "ids=" + ci.wTriage + "&ids=" + ci.bAlert + "&action=acknowledge", status: 404},
			own:  own(alice, probe{body: "ids=" + ci.wTriage + "&action=disposition&disposition=benign&reason=isolation", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /alerts/views": {attack: probe{body: "name=Isolation+attack&query=org%3DRJZ", status: 303},
			own:  own(alice, probe{body: "name=Isolation+mine&query=severity%3Dhigh", status: 303}),
			deny: 303},
		"POST /alerts/views/{id}/delete": {attack: probe{path: "/alerts/views/" + ci.bView + "/delete", status: 404},
			own:  own(alice, probe{path: "/alerts/views/" + ci.aView + "/delete", status: 303}),
			deny: 404},

		"GET /cases": {attack: probe{path: "/cases?q=isolation"},
			own:  own(alice, probe{path: "/cases?q=isolation", want: []string{"Isolation case of RJ1", ci.aCase}}),
			deny: 200, seers: rj1Readers},
		"GET /cases/new": {attack: probe{}, own: own(alice, probe{want: []string{`name="template"`}}), skip: everyone},
		"POST /cases": {attack: probe{body: "org=RJZ&title=Mine", status: 422},
			own:  own(alice, probe{body: "org=RJ1&title=Isolation+web+new+case&template=ransomware", status: 303}),
			deny: 422, status: statuses(audrey, 403, nadia, 303), seers: []string{nadia}},
		// Alice's case holds an observable Bob's case holds too: her page
		// must not name his case among "seen in other cases" (the leak
		// check looks for RJZ in every answer to her).
		"GET /cases/{id}": {attack: probe{path: c + ci.bCase, status: 404},
			own: own(alice, probe{path: c + ci.aCase, want: []string{"Isolation case of RJ1", "198.51.100.7", "Isolation comment of RJ1",
				"Isolation timeline entry of RJ1", "evidence-rj1.log", "Isolation task of RJ1"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /cases/{id}": {attack: probe{path: c + ci.bCase, body: "title=Mine+now&severity=high&tlp=amber&pap=amber", status: 404},
			own:  own(alice, probe{path: c + ci.aCase, body: "title=Isolation+case+of+RJ1&severity=high&tlp=amber&pap=amber&team=RJ1+SOC", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/status": {attack: probe{path: c + ci.bCase + "/status", body: "status=in-progress", status: 404},
			own:  own(alice, probe{path: c + ci.wCase + "/status", body: "status=in-progress", status: 303}),
			deny: 404, status: writers, skip: noNadia},
		"POST /cases/{id}/tasks": {attack: probe{path: c + ci.bCase + "/tasks", body: "title=x", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/tasks", body: "title=Isolation+web+added+task", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/tasks/{task}": {attack: probe{path: c + ci.aCase + "/tasks/" + ci.bTask, body: "status=done", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/tasks/" + ci.wTask, body: "status=in-progress", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/tasks/{task}/logs": {attack: probe{path: c + ci.aCase + "/tasks/" + ci.bTask + "/logs", body: "body=x", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/tasks/" + ci.wTask + "/logs", body: "body=Isolation+web+log", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/observables": {attack: probe{path: c + ci.bCase + "/observables", body: "type=ip&value=192.0.2.1", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/observables", body: "type=domain&value=isolation-web.example", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/attachments": {attack: probe{path: c + ci.bCase + "/attachments", files: map[string]string{"x.txt": "x"}, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/attachments", files: map[string]string{"upload-web-rj1.txt": "isolation web upload"}, status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/timeline": {attack: probe{path: c + ci.bCase + "/timeline", body: "title=x", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/timeline", body: "title=Isolation+web+event", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/comments": {attack: probe{path: c + ci.bCase + "/comments", body: "body=x", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/comments", body: "body=Isolation+web+note", status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/merge": {attack: probe{path: c + ci.wCase + "/merge", body: "from=" + ci.bCase, status: 404},
			own:  own(alice, probe{path: c + ci.wCase + "/merge", body: "from=" + ci.wMergeSrc, status: 303}),
			deny: 404, status: writers, skip: noNadia},
		"POST /cases/{id}/links": {attack: probe{path: c + ci.wCase + "/links", body: "case_id=" + ci.bCase, status: 404},
			own:  own(alice, probe{path: c + ci.wCase + "/links", body: "case_id=" + ci.wLink, status: 303}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /cases/{id}/split": {attack: probe{path: c + ci.bCase + "/split", body: "title=x&task_ids=" + ci.bTask, status: 404},
			own:  own(alice, probe{path: c + ci.wSpl + "/split", body: "title=Isolation+web+split&task_ids=" + ci.wSplitTask, status: 303}),
			deny: 404, status: writers, skip: noNadia},
	}
}

// casesIsolationChecks walks the alerts and case routes: Alice (RJ1) at
// Bob's (RJZ) alerts, cases and what they hold, and everyone else at
// Alice's. RJ1's auditor reads but changes nothing; the region lead of
// another region, the supplier representative and Bob see nothing of RJ1;
// the national administrator sees and may change everything.
func casesIsolationChecks(t *testing.T, s *Server, w world) map[string]routeCheck {
	ci := seedCasesIsolation(t, s)
	seedViews(t, s, w, &ci)
	web := webCasesIsolationChecks(ci)
	c := "/api/v1/cases/"
	readers := statuses(audrey, 200, nadia, 200)
	writers := statuses(audrey, 403, nadia, 200)
	writersNew := statuses(audrey, 403, nadia, 201)
	noNadia := []string{nadia} // her replay would do the owner's change first
	checks := map[string]routeCheck{
		"POST /api/v1/alerts": {
			attack: probe{body: `{"source":"edr","type":"malware","source_ref":"iso-x","title":"x","severity":"low","org":"RJZ","tlp":"amber","observables":[]}`, status: 400},
			own: own(alice, probe{body: `{"source":"edr","type":"malware","source_ref":"iso-own","title":"Own","severity":"low","org":"RJ1","tlp":"amber","observables":[{"type":"ip","value":"192.0.2.1"}]}`,
				status: 201, want: []string{`"occurrences":1`}}),
			deny: 400, status: statuses(audrey, 403), skip: noNadia},
		"GET /api/v1/alerts": {attack: probe{path: "/api/v1/alerts?org=RJZ&q=isolation"},
			own:  own(alice, probe{path: "/api/v1/alerts?q=iso-rj1-1", want: []string{ci.aAlert}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/alerts/{id}": {attack: probe{path: "/api/v1/alerts/" + ci.bAlert, status: 404},
			own:  own(alice, probe{path: "/api/v1/alerts/" + ci.aAlert, want: []string{"Isolation alert of RJ1"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /api/v1/alerts/triage": {attack: probe{body: `{"ids":["` + ci.aTriage + `","` + ci.bAlert + `"],"action":"disposition","disposition":"benign"}`, status: 404},
			own:  own(alice, probe{body: `{"ids":["` + ci.aTriage + `"],"action":"disposition","disposition":"benign","reason":"isolation"}`, want: []string{"Isolation triage alert"}}),
			deny: 404, status: writers, seers: []string{nadia}},

		"GET /api/v1/case-templates": {attack: probe{}, own: own(alice, probe{want: []string{"ransomware"}}), deny: 200, seers: everyone},
		"GET /api/v1/cases": {attack: probe{path: "/api/v1/cases?org=RJZ"},
			own:  own(alice, probe{path: "/api/v1/cases?q=isolation", want: []string{ci.aCase}}),
			deny: 200, seers: rj1Readers},
		"POST /api/v1/cases": {attack: probe{body: `{"org":"RJZ","title":"Mine"}`, status: 400},
			own:  own(alice, probe{body: `{"org":"RJ1","title":"Isolation new case","template":"ransomware"}`, status: 201, want: []string{`"status":"new"`}}),
			deny: 400, status: writersNew, seers: []string{nadia}},
		"GET /api/v1/cases/{id}": {attack: probe{path: c + ci.bCase, status: 404},
			own:  own(alice, probe{path: c + ci.aCase, want: []string{"Isolation case of RJ1"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"PATCH /api/v1/cases/{id}": {attack: probe{path: c + ci.bCase, body: `{"title":"Mine now"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase, body: `{"team":"RJ1 SOC"}`, want: []string{"Isolation case of RJ1"}}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /api/v1/cases/{id}/status": {attack: probe{path: c + ci.bCase + "/status", body: `{"status":"in-progress"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/status", body: `{"status":"in-progress"}`, want: []string{"acknowledged_at"}}),
			deny: 404, status: writers, skip: noNadia},
		"POST /api/v1/cases/{id}/alerts": {attack: probe{path: c + ci.aCase + "/alerts", body: `{"ids":["` + ci.bAlert + `"]}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/alerts", body: `{"ids":["` + ci.aAdd + `"]}`, want: []string{"Isolation case of RJ1"}}),
			deny: 404, status: writers, skip: noNadia},
		"POST /api/v1/cases/{id}/merge": {attack: probe{path: c + ci.aCase + "/merge", body: `{"from":"` + ci.bCase + `"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/merge", body: `{"from":"` + ci.aMergeSrc + `"}`, want: []string{"Isolation case of RJ1"}}),
			deny: 404, status: writers, skip: noNadia},
		"POST /api/v1/cases/{id}/links": {attack: probe{path: c + ci.aCase + "/links", body: `{"case_id":"` + ci.bCase + `"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/links", body: `{"case_id":"` + ci.aLink + `"}`, want: []string{"Isolation linked case"}}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /api/v1/cases/{id}/split": {attack: probe{path: c + ci.bCase + "/split", body: `{"title":"x","task_ids":["` + ci.bTask + `"]}`, status: 404},
			own:  own(alice, probe{path: c + ci.aSpl + "/split", body: `{"title":"Isolation split","task_ids":["` + ci.aSplitTask + `"]}`, status: 201, want: []string{"Isolation task to move"}}),
			deny: 404, status: writers, skip: noNadia},
		"GET /api/v1/cases/{id}/clocks": {attack: probe{path: c + ci.bCase + "/clocks", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/clocks", want: []string{`"clock":"ack"`}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /api/v1/cases/{id}/clocks": {attack: probe{path: c + ci.bCase + "/clocks", body: `{"clock":"nis","action":"start"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/clocks", body: `{"clock":"nis","action":"start"}`, want: []string{`"clock":"nis"`}}),
			deny: 404, status: writers, skip: noNadia},
		"GET /api/v1/cases/{id}/tasks": {attack: probe{path: c + ci.bCase + "/tasks", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/tasks", want: []string{"Isolation task of RJ1"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /api/v1/cases/{id}/tasks": {attack: probe{path: c + ci.bCase + "/tasks", body: `{"title":"x"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/tasks", body: `{"title":"Isolation added task"}`, status: 201, want: []string{`"status":"open"`}}),
			deny: 404, status: writersNew, seers: []string{nadia}},
		"PATCH /api/v1/cases/{id}/tasks/{task}": {attack: probe{path: c + ci.aCase + "/tasks/" + ci.bTask, body: `{"status":"done"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/tasks/" + ci.aTask, body: `{"status":"done"}`, want: []string{"done_at", "Isolation task of RJ1"}}),
			deny: 404, status: writers, seers: []string{nadia}},
		"POST /api/v1/cases/{id}/tasks/{task}/logs": {attack: probe{path: c + ci.aCase + "/tasks/" + ci.bTask + "/logs", body: `{"body":"x"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/tasks/" + ci.aTask + "/logs", body: `{"body":"Isolation log entry"}`, status: 201, want: []string{"body_html"}}),
			deny: 404, status: writersNew, seers: []string{nadia}},
		// Alice's own case shares an observable with Bob's: its "seen in
		// other cases" must not name Bob's case (RJZ is a leak).
		"GET /api/v1/cases/{id}/observables": {attack: probe{path: c + ci.aCase + "/observables", status: 200},
			own:  own(alice, probe{path: c + ci.aCase + "/observables", want: []string{"198.51.100.7"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /api/v1/cases/{id}/observables": {attack: probe{path: c + ci.bCase + "/observables", body: `{"type":"ip","value":"192.0.2.1"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/observables", body: `{"type":"domain","value":"isolation.example"}`, status: 201, want: []string{`"seen_in"`}}),
			deny: 404, status: writersNew, seers: []string{nadia}},
		"GET /api/v1/cases/{id}/timeline": {attack: probe{path: c + ci.bCase + "/timeline", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/timeline", want: []string{"Isolation timeline entry of RJ1"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /api/v1/cases/{id}/timeline": {attack: probe{path: c + ci.bCase + "/timeline", body: `{"title":"x"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/timeline", body: `{"title":"Isolation event"}`, status: 201, want: []string{`"manual":true`}}),
			deny: 404, status: writersNew, seers: []string{nadia}},
		"GET /api/v1/cases/{id}/comments": {attack: probe{path: c + ci.bCase + "/comments", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/comments", want: []string{"Isolation comment of RJ1"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /api/v1/cases/{id}/comments": {attack: probe{path: c + ci.bCase + "/comments", body: `{"body":"x"}`, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/comments", body: `{"body":"Isolation note"}`, status: 201, want: []string{"body_html"}}),
			deny: 404, status: writersNew, seers: []string{nadia}},
		"GET /api/v1/cases/{id}/attachments": {attack: probe{path: c + ci.bCase + "/attachments", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/attachments", want: []string{"evidence-rj1.log"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /api/v1/cases/{id}/attachments": {attack: probe{path: c + ci.bCase + "/attachments", files: map[string]string{"x.txt": "x"}, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/attachments", files: map[string]string{"upload-rj1.txt": "isolation upload"}, status: 201, want: []string{`"sha256"`}}),
			deny: 404, status: writersNew, seers: []string{nadia}},
		"GET /api/v1/cases/{id}/attachments/{attachment}": {attack: probe{path: c + ci.aCase + "/attachments/" + ci.bAtt, status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/attachments/" + ci.aAtt, want: []string{"rj1 firewall evidence"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"GET /api/v1/cases/{id}/attachments/{attachment}/custody": {attack: probe{path: c + ci.aCase + "/attachments/" + ci.bAtt + "/custody", status: 404},
			own:  own(alice, probe{path: c + ci.aCase + "/attachments/" + ci.aAtt + "/custody", want: []string{`"action":"upload"`}}),
			deny: 404, status: readers, seers: rj1Readers},
	}
	for k, v := range web {
		checks[k] = v
	}
	return checks
}
