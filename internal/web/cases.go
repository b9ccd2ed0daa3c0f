package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/httpd"
)

// The Alerts and Cases areas: the inbox with its filters, saved views,
// groups and bulk triage (cases_alerts.go), the case list and the case
// page with its forms (cases_list.go, cases_case.go). Every rule — what a
// filter means, who may triage, which status may follow which, what a
// template requires to close — is the cases package's; these handlers
// read the form, call it with the caller's Scope and render. Anything
// outside the scope is 404, as everywhere.
//
// The pages stay in package web for the reason the Suppliers area does:
// they are drawn in the frame (page, render, fail, the embedded
// templates), which lives here.

// casePageNames are the Alerts and Cases areas' page templates.
var casePageNames = []string{"alerts", "alert", "cases", "case", "case_new"}

// registerCases adds the Alerts and Cases areas' routes (the two area
// pages, /alerts and /cases, are added with the areas).
func (w *Web) registerCases(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("POST", "/alerts/triage", authd, "Bulk triage of the alerts ticked in the inbox: assign, verdict, close, add to a case, open a case", w.alertsTriage)
	h("POST", "/alerts/views", authd, "Save the inbox's filters as a named view (yours only)", w.alertsSaveView)
	h("POST", "/alerts/views/{id}/delete", authd, "Delete one of your saved inbox views", w.alertsDeleteView)
	h("GET", "/alerts/{id}", authd, "One alert: observables, fields and verdict history", w.alertPage)
	h("GET", "/cases/new", authd, "Open a case, from a template or blank", w.caseNewForm)
	h("POST", "/cases", authd, "Open a case", w.caseCreate)
	h("GET", "/cases/{id}", authd, "One case: details, custom fields, tasks, observables, evidence, timeline, comments", w.casePage)
	h("POST", "/cases/{id}", authd, "Change a case: title, description, severity, markings, assignee, team, tags, custom fields", w.caseUpdate)
	h("POST", "/cases/{id}/status", authd, "Move a case along its workflow (closing needs the template's required fields)", w.caseStatus)
	h("POST", "/cases/{id}/tasks", authd, "Add a task to a case", w.caseAddTask)
	h("POST", "/cases/{id}/tasks/{task}", authd, "Change a task's status or tick its checklist", w.caseUpdateTask)
	h("POST", "/cases/{id}/tasks/{task}/logs", authd, "Log work on a task", w.caseTaskLog)
	h("POST", "/cases/{id}/observables", authd, "Add an observable to a case", w.caseAddObservable)
	h("POST", "/cases/{id}/attachments", authd, "Upload evidence to a case", w.caseUpload)
	h("POST", "/cases/{id}/timeline", authd, "Record an event in a case's timeline", w.caseAddTimeline)
	h("POST", "/cases/{id}/comments", authd, "Comment on a case (@e-mail mentions)", w.caseComment)
	h("POST", "/cases/{id}/merge", authd, "Merge another case into this one", w.caseMerge)
	h("POST", "/cases/{id}/links", authd, "Link this case to another", w.caseLink)
	h("POST", "/cases/{id}/split", authd, "Split tasks, observables or alerts off into a new case", w.caseSplit)
}

// caseFuncs are the template functions of the Alerts and Cases areas.
func caseFuncs() template.FuncMap {
	return template.FuncMap{
		// sevClass is the tag class of a severity (shown in words too).
		"sevClass": func(s cases.Severity) string { return "tag-sev-" + string(s) },
		// words turns a code ("in-progress", "true-positive") into words.
		"words": func(s any) string {
			var v string
			switch x := s.(type) {
			case string:
				v = x
			default:
				v = strings.TrimSpace(template.HTMLEscapeString(toString(x)))
			}
			v = strings.ReplaceAll(v, "-", " ")
			return sentence(v)
		},
		"markdown": func(h string) template.HTML {
			// h is cases' sanitised rendering (RenderMarkdown): its
			// allow-list's output (sanitize.go), safe to place as it is.
			return template.HTML(h) //nolint:gosec // sanitised by cases.RenderMarkdown
		},
		// fieldValue is a custom field as people read it (yes/no, 1,234);
		// inputValue as its form input holds it (true/false, 1234).
		"fieldValue": func(fields map[string]any, name string) string {
			return fieldText(fields[name], "yes", "no", func(f float64) string { return num(f) })
		},
		"inputValue": func(fields map[string]any, name string) string {
			// FormatFloat, not Sprint: 1500000 is not "1.5e+06" in an input.
			return fieldText(fields[name], "true", "false", func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) })
		},
		// withQuery is path with an encoded query string, one attribute
		// value (a query written after "?" in a template would be escaped
		// again).
		"withQuery": func(path, query string) string {
			if query == "" {
				return path
			}
			return path + "?" + query
		},
	}
}

func toString(v any) string { return fmt.Sprint(v) }

// fieldText is a custom field's value as text: "" for none, yes or no for
// a bool, a number through number.
func fieldText(v any, yes, no string, number func(float64) string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return yes
		}
		return no
	case float64:
		return number(x)
	}
	return toString(v)
}
