package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// List is a whole list answered at once (a case's tasks, comments, …).
type List[T any] struct {
	Items []T `json:"items"`
}

func list[T any](items []T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items}, nil
}

// IDList is the body of calls that take alert IDs.
type IDList struct {
	IDs []string `json:"ids"`
}

// MergeRequest is the body of POST /cases/{id}/merge.
type MergeRequest struct {
	From string `json:"from"`
}

// LinkRequest is the body of POST /cases/{id}/links.
type LinkRequest struct {
	CaseID string `json:"case_id"`
}

// TaskLogRequest and CommentRequest carry Markdown text.
type TaskLogRequest struct {
	Body string `json:"body"`
}

// registerCases adds the alerts inbox and the case routes (issue 15).
// Handlers decode and call the cases service with the caller's Scope,
// which decides what they may see and change.
func (a *API) registerCases(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"Alert":            reflect.TypeFor[cases.Alert](),
		"NewAlert":         reflect.TypeFor[cases.NewAlert](),
		"AlertPage":        reflect.TypeFor[Page[cases.Alert]](),
		"Triage":           reflect.TypeFor[cases.Triage](),
		"TriageResult":     reflect.TypeFor[cases.TriageResult](),
		"Case":             reflect.TypeFor[cases.Case](),
		"NewCase":          reflect.TypeFor[cases.NewCase](),
		"CasePatch":        reflect.TypeFor[cases.CasePatch](),
		"CasePage":         reflect.TypeFor[Page[cases.Case]](),
		"StatusChange":     reflect.TypeFor[cases.StatusChange](),
		"IDList":           reflect.TypeFor[IDList](),
		"MergeRequest":     reflect.TypeFor[MergeRequest](),
		"LinkRequest":      reflect.TypeFor[LinkRequest](),
		"Split":            reflect.TypeFor[cases.Split](),
		"Task":             reflect.TypeFor[cases.Task](),
		"NewTask":          reflect.TypeFor[cases.NewTask](),
		"TaskPatch":        reflect.TypeFor[cases.TaskPatch](),
		"TaskList":         reflect.TypeFor[List[cases.Task]](),
		"TaskLog":          reflect.TypeFor[cases.TaskLog](),
		"TextBody":         reflect.TypeFor[TaskLogRequest](),
		"CaseObservable":   reflect.TypeFor[cases.CaseObservable](),
		"NewObservable":    reflect.TypeFor[cases.NewObservable](),
		"ObservableList":   reflect.TypeFor[List[cases.CaseObservable]](),
		"TimelineEntry":    reflect.TypeFor[cases.TimelineEntry](),
		"NewTimelineEntry": reflect.TypeFor[cases.NewTimelineEntry](),
		"TimelineList":     reflect.TypeFor[List[cases.TimelineEntry]](),
		"Comment":          reflect.TypeFor[cases.Comment](),
		"CommentList":      reflect.TypeFor[List[cases.Comment]](),
		"Attachment":       reflect.TypeFor[cases.Attachment](),
		"AttachmentList":   reflect.TypeFor[List[cases.Attachment]](),
		"CustodyList":      reflect.TypeFor[List[cases.Custody]](),
		"TemplateList":     reflect.TypeFor[List[cases.Template]](),
		"ClockList":        reflect.TypeFor[List[cases.Clock]](),
		"ClockAction":      reflect.TypeFor[cases.ClockAction](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	task := param{Name: "task", In: "path", Type: "string", Required: true}
	att := param{Name: "attachment", In: "path", Type: "string", Required: true}

	a.route(rt, spec{Method: "POST", Path: "/alerts", Tag: "alerts",
		Summary: "Report an alert for an organisation you may change: 201 with the new alert, or 200 with the stored one and its occurrence count raised when (org, source, type, source_ref) repeats",
		Body:    "NewAlert", Response: "Alert", Status: 201}, a.createAlert)
	a.route(rt, spec{Method: "GET", Path: "/alerts", Tag: "alerts", Summary: "The alerts inbox: alerts you may see, newest first",
		Params: append([]param{
			{Name: "status", In: "query", Type: "string", Desc: "new, acknowledged, in-case or closed"},
			{Name: "severity", In: "query", Type: "string", Desc: "info, low, medium, high or critical"},
			{Name: "org", In: "query", Type: "string", Desc: "ODS code"},
			{Name: "source", In: "query", Type: "string"}, {Name: "type", In: "query", Type: "string"},
			{Name: "assignee", In: "query", Type: "string"}, {Name: "case", In: "query", Type: "string", Desc: "alerts of this case"},
			{Name: "q", In: "query", Type: "string", Desc: "words to find in the title, source, type, reference or observables: each word must begin a word of the alert (case and accents ignored); a word with punctuation, such as a host name, address or e-mail, begins those words in a row"},
			{Name: "since", In: "query", Type: "string", Desc: "received at or after, RFC 3339"},
			{Name: "until", In: "query", Type: "string", Desc: "received before, RFC 3339"},
		}, pageParams...), Response: "AlertPage"}, a.listAlerts)
	a.route(rt, spec{Method: "GET", Path: "/alerts/{id}", Tag: "alerts", Summary: "One alert with its disposition history",
		Params: []param{id}, Response: "Alert"}, a.getAlert)
	a.route(rt, spec{Method: "POST", Path: "/alerts/triage", Tag: "alerts",
		Summary: "Bulk triage — assign, acknowledge, disposition, close or reopen — a list of alerts, all or none; one you may not see fails the call as not found",
		Body:    "Triage", Response: "TriageResult"}, a.triageAlerts)

	a.route(rt, spec{Method: "GET", Path: "/case-templates", Tag: "cases", Summary: "Case templates: their tasks and custom fields",
		Response: "TemplateList"}, func(r *http.Request, _ scope.Scope) (any, error) { return list(a.o.Cases.Templates(), nil) })
	a.route(rt, spec{Method: "GET", Path: "/cases", Tag: "cases", Summary: "Cases you may see, newest first",
		Params: append([]param{
			{Name: "status", In: "query", Type: "string", Desc: "new, in-progress, resolved or closed"},
			{Name: "severity", In: "query", Type: "string"}, {Name: "org", In: "query", Type: "string"},
			{Name: "assignee", In: "query", Type: "string"}, {Name: "tag", In: "query", Type: "string"},
			{Name: "template", In: "query", Type: "string"}, {Name: "parent", In: "query", Type: "string", Desc: "children of this national incident"},
			{Name: "q", In: "query", Type: "string", Desc: "words to find in the title or tags: each word must begin a word of the case (case and accents ignored)"},
		}, pageParams...), Response: "CasePage"}, a.listCases)
	a.route(rt, spec{Method: "POST", Path: "/cases", Tag: "cases",
		Summary: "Open a case, from a template or not; with alert_ids, promote those alerts into it",
		Body:    "NewCase", Response: "Case", Status: 201}, a.createCase)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}", Tag: "cases", Summary: "One case with its alerts, links and tasks",
		Params: []param{id}, Response: "Case"}, a.getCase)
	a.route(rt, spec{Method: "PATCH", Path: "/cases/{id}", Tag: "cases", Summary: "Change a case: title, description, severity, markings, assignee, team, tags, custom fields",
		Params: []param{id}, Body: "CasePatch", Response: "Case"}, a.updateCase)
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/status", Tag: "cases",
		Summary: "Move a case along its workflow (new → in-progress → resolved → closed, reopen); closing needs a resolution, an impact and the template's mandatory fields",
		Params:  []param{id}, Body: "StatusChange", Response: "Case"}, a.setCaseStatus)
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/alerts", Tag: "cases", Summary: "Add alerts to a case",
		Params: []param{id}, Body: "IDList", Response: "Case"}, a.addCaseAlerts)
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/merge", Tag: "cases",
		Summary: "Merge another case into this one: everything moves, and the other is closed as a duplicate",
		Params:  []param{id}, Body: "MergeRequest", Response: "Case"}, a.mergeCases)
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/links", Tag: "cases", Summary: "Link a case to another",
		Params: []param{id}, Body: "LinkRequest", Response: "Case"}, a.linkCases)
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/split", Tag: "cases",
		Summary: "Move chosen alerts, observables and tasks into a new, linked case",
		Params:  []param{id}, Body: "Split", Response: "Case", Status: 201}, a.splitCase)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/clocks", Tag: "cases",
		Summary: "A case's SLA clocks (acknowledge, respond, resolve) and regulatory clocks (NIS, ICO): started, due, met or breached",
		Params:  []param{id}, Response: "ClockList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.Clocks(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/clocks", Tag: "cases",
		Summary: "Start a regulatory clock (nis or ico: 72 hours from awareness), record its report as made, or cancel it with a reason",
		Params:  []param{id}, Body: "ClockAction", Response: "ClockList"}, a.actOnClock)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/tasks", Tag: "cases", Summary: "A case's tasks with their checklists and logs",
		Params: []param{id}, Response: "TaskList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.ListTasks(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/tasks", Tag: "cases", Summary: "Add a task to a case",
		Params: []param{id}, Body: "NewTask", Response: "Task", Status: 201}, a.createTask)
	a.route(rt, spec{Method: "PATCH", Path: "/cases/{id}/tasks/{task}", Tag: "cases", Summary: "Change a task: status, assignee, checklist",
		Params: []param{id, task}, Body: "TaskPatch", Response: "Task"}, a.updateTask)
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/tasks/{task}/logs", Tag: "cases", Summary: "Add a Markdown entry to a task's log",
		Params: []param{id, task}, Body: "TextBody", Response: "TaskLog", Status: 201}, a.addTaskLog)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/observables", Tag: "cases", Summary: "A case's observables, each with the other cases you may see that hold it",
		Params: []param{id}, Response: "ObservableList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.ListObservables(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/observables", Tag: "cases", Summary: "Add an observable to a case",
		Params: []param{id}, Body: "NewObservable", Response: "CaseObservable", Status: 201}, a.addObservable)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/timeline", Tag: "cases", Summary: "A case's timeline, in the order things happened",
		Params: []param{id}, Response: "TimelineList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.Timeline(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/timeline", Tag: "cases", Summary: "Record an event in a case's timeline",
		Params: []param{id}, Body: "NewTimelineEntry", Response: "TimelineEntry", Status: 201}, a.addTimelineEntry)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/comments", Tag: "cases", Summary: "A case's comments, oldest first",
		Params: []param{id}, Response: "CommentList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.Comments(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/comments", Tag: "cases", Summary: "Comment on a case (Markdown; @e-mail mentions tell people who may see the case)",
		Params: []param{id}, Body: "TextBody", Response: "Comment", Status: 201}, a.addComment)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/attachments", Tag: "cases", Summary: "A case's evidence files (names, sizes, SHA-256)",
		Params: []param{id}, Response: "AttachmentList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.ListAttachments(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/attachments", Tag: "cases",
		Summary: "Add an evidence file (multipart/form-data part \"file\"); recorded in its chain of custody",
		Params:  []param{id}, Upload: true, Response: "Attachment", Status: 201}, a.addAttachment)
	a.routeRaw(rt, spec{Method: "GET", Path: "/cases/{id}/attachments/{attachment}", Tag: "cases",
		Summary: "Download an evidence file, always as an attachment; recorded in its chain of custody",
		Params:  []param{id, att}, Binary: true}, a.downloadAttachment)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/attachments/{attachment}/custody", Tag: "cases", Summary: "An evidence file's chain of custody",
		Params: []param{id, att}, Response: "CustodyList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.CustodyOf(r.Context(), sc, r.PathValue("id"), r.PathValue("attachment")))
	})
}

func (a *API) createAlert(r *http.Request, sc scope.Scope) (any, error) {
	var n cases.NewAlert
	if err := decode(r, &n); err != nil {
		return nil, err
	}
	res, err := a.o.Cases.CreateAlert(r.Context(), sc, n)
	if err != nil {
		return nil, err
	}
	if res.Created {
		return created{res.Alert}, nil
	}
	return res.Alert, nil
}

// timeParam reads an optional RFC 3339 query parameter.
func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, &fault.Invalid{Field: name, Reason: "want an RFC 3339 time such as 2026-11-30T09:00:00Z"}
	}
	return t, nil
}

func (a *API) listAlerts(r *http.Request, sc scope.Scope) (any, error) {
	limit, err := limitParam(r, 100, cases.MaxPage)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	f := cases.AlertFilter{Status: cases.AlertStatus(q.Get("status")), Severity: cases.Severity(q.Get("severity")), Org: q.Get("org"),
		Source: q.Get("source"), Type: q.Get("type"), Assignee: q.Get("assignee"), Case: q.Get("case"), Query: q.Get("q"),
		After: q.Get("cursor"), Limit: limit}
	if f.Since, err = timeParam(q, "since"); err != nil {
		return nil, err
	}
	if f.Until, err = timeParam(q, "until"); err != nil {
		return nil, err
	}
	items, next, err := a.o.Cases.ListAlerts(r.Context(), sc, f)
	if err != nil {
		return nil, err
	}
	return page(items, next), nil
}

func (a *API) getAlert(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Cases.GetAlert(r.Context(), sc, r.PathValue("id"))
}

func (a *API) triageAlerts(r *http.Request, sc scope.Scope) (any, error) {
	var t cases.Triage
	if err := decode(r, &t); err != nil {
		return nil, err
	}
	return a.o.Cases.TriageAlerts(r.Context(), sc, t)
}

func (a *API) listCases(r *http.Request, sc scope.Scope) (any, error) {
	limit, err := limitParam(r, 100, cases.MaxPage)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	items, next, err := a.o.Cases.ListCases(r.Context(), sc, cases.CaseFilter{Status: cases.CaseStatus(q.Get("status")),
		Severity: cases.Severity(q.Get("severity")), Org: q.Get("org"), Assignee: q.Get("assignee"), Tag: q.Get("tag"),
		Template: q.Get("template"), Parent: q.Get("parent"), Query: q.Get("q"), After: q.Get("cursor"), Limit: limit})
	if err != nil {
		return nil, err
	}
	return page(items, next), nil
}

func (a *API) createCase(r *http.Request, sc scope.Scope) (any, error) {
	var n cases.NewCase
	if err := decode(r, &n); err != nil {
		return nil, err
	}
	c, err := a.o.Cases.CreateCase(r.Context(), sc, n)
	if err != nil {
		return nil, err
	}
	return created{c}, nil
}

func (a *API) actOnClock(r *http.Request, sc scope.Scope) (any, error) {
	var ca cases.ClockAction
	if err := decode(r, &ca); err != nil {
		return nil, err
	}
	return list(a.o.Cases.ActOnClock(r.Context(), sc, r.PathValue("id"), ca))
}

func (a *API) getCase(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Cases.GetCase(r.Context(), sc, r.PathValue("id"))
}

func (a *API) updateCase(r *http.Request, sc scope.Scope) (any, error) {
	var p cases.CasePatch
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	return a.o.Cases.UpdateCase(r.Context(), sc, r.PathValue("id"), p)
}

func (a *API) setCaseStatus(r *http.Request, sc scope.Scope) (any, error) {
	var ch cases.StatusChange
	if err := decode(r, &ch); err != nil {
		return nil, err
	}
	return a.o.Cases.SetStatus(r.Context(), sc, r.PathValue("id"), ch)
}

func (a *API) addCaseAlerts(r *http.Request, sc scope.Scope) (any, error) {
	var l IDList
	if err := decode(r, &l); err != nil {
		return nil, err
	}
	return a.o.Cases.AddAlerts(r.Context(), sc, r.PathValue("id"), l.IDs)
}

func (a *API) mergeCases(r *http.Request, sc scope.Scope) (any, error) {
	var m MergeRequest
	if err := decode(r, &m); err != nil {
		return nil, err
	}
	return a.o.Cases.MergeCases(r.Context(), sc, r.PathValue("id"), m.From)
}

func (a *API) linkCases(r *http.Request, sc scope.Scope) (any, error) {
	var l LinkRequest
	if err := decode(r, &l); err != nil {
		return nil, err
	}
	return a.o.Cases.LinkCases(r.Context(), sc, r.PathValue("id"), l.CaseID)
}

func (a *API) splitCase(r *http.Request, sc scope.Scope) (any, error) {
	var s cases.Split
	if err := decode(r, &s); err != nil {
		return nil, err
	}
	c, err := a.o.Cases.SplitCase(r.Context(), sc, r.PathValue("id"), s)
	if err != nil {
		return nil, err
	}
	return created{c}, nil
}

func (a *API) createTask(r *http.Request, sc scope.Scope) (any, error) {
	var n cases.NewTask
	if err := decode(r, &n); err != nil {
		return nil, err
	}
	t, err := a.o.Cases.CreateTask(r.Context(), sc, r.PathValue("id"), n)
	if err != nil {
		return nil, err
	}
	return created{t}, nil
}

func (a *API) updateTask(r *http.Request, sc scope.Scope) (any, error) {
	var p cases.TaskPatch
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	return a.o.Cases.UpdateTask(r.Context(), sc, r.PathValue("id"), r.PathValue("task"), p)
}

func (a *API) addTaskLog(r *http.Request, sc scope.Scope) (any, error) {
	var b TaskLogRequest
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	l, err := a.o.Cases.AddTaskLog(r.Context(), sc, r.PathValue("id"), r.PathValue("task"), b.Body)
	if err != nil {
		return nil, err
	}
	return created{l}, nil
}

func (a *API) addObservable(r *http.Request, sc scope.Scope) (any, error) {
	var n cases.NewObservable
	if err := decode(r, &n); err != nil {
		return nil, err
	}
	o, err := a.o.Cases.AddObservable(r.Context(), sc, r.PathValue("id"), n)
	if err != nil {
		return nil, err
	}
	return created{o}, nil
}

func (a *API) addTimelineEntry(r *http.Request, sc scope.Scope) (any, error) {
	var n cases.NewTimelineEntry
	if err := decode(r, &n); err != nil {
		return nil, err
	}
	e, err := a.o.Cases.AddTimelineEntry(r.Context(), sc, r.PathValue("id"), n)
	if err != nil {
		return nil, err
	}
	return created{e}, nil
}

func (a *API) addComment(r *http.Request, sc scope.Scope) (any, error) {
	var b TaskLogRequest
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	c, err := a.o.Cases.AddComment(r.Context(), sc, r.PathValue("id"), b.Body)
	if err != nil {
		return nil, err
	}
	return created{c}, nil
}

// addAttachment reads the first file part of a multipart/form-data body
// (named "file"; any name is accepted) and streams it to the service,
// which bounds it.
func (a *API) addAttachment(r *http.Request, sc scope.Scope) (any, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, &fault.Invalid{Field: "file", Reason: "send the file as a multipart/form-data part named \"file\""}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &fault.Invalid{Field: "file", Reason: "multipart upload: " + err.Error()}
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, &fault.Invalid{Field: "file", Reason: "the upload has no file part"}
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, &fault.Invalid{Field: "file", Reason: "the upload is larger than " + httpd.SizeText(mb.Limit)}
			}
			return nil, &fault.Invalid{Field: "file", Reason: "multipart upload: " + err.Error()}
		}
		if part.FileName() == "" {
			continue
		}
		att, err := a.o.Cases.AddAttachment(r.Context(), sc, r.PathValue("id"), part.FileName(), part)
		if err != nil {
			return nil, err
		}
		return created{att}, nil
	}
}

// downloadAttachment sends an evidence file so that no browser renders
// it: always an attachment, the service's safe type, nosniff (set by
// httpd for every answer) and a sandboxing Content-Security-Policy in case
// anything opens it in place anyway.
func (a *API) downloadAttachment(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	att, data, err := a.o.Cases.OpenAttachment(r.Context(), sc, r.PathValue("id"), r.PathValue("attachment"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", att.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": att.Name}))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data) // a failed write: the client has gone, and the download's custody entry stands
	return nil
}
