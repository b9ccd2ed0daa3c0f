package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// caseData is everything the case page shows.
type caseData struct {
	C           cases.Case
	Tpl         *cases.Template
	Tasks       []cases.Task
	Observables []cases.CaseObservable
	Attachments []cases.Attachment
	Timeline    []cases.TimelineEntry
	Comments    []cases.Comment
	// Next are the statuses the workflow allows from here.
	Next     []cases.CaseStatus
	CanWrite bool
	Message  string
	// Form holds the values and errors of the form that failed, its
	// fields named "<section>-<field>" (the inputs' IDs are "f-" + that).
	Form *form
	// Extras is where other parts of issue 15 put what they show on a
	// case (caseExtras, cases_extras.go).
	Extras caseExtras

	Sevs         []cases.Severity
	TLPs         []cases.TLP
	PAPs         []cases.PAP
	Resolutions  []cases.Resolution
	Impacts      []cases.Impact
	ObsTypes     []cases.ObservableType
	TaskStatuses []cases.TaskStatus
	Extensions   string
}

var caseDone = map[string]string{
	"created": "Case opened.", "updated": "Case updated.", "status": "Status changed.", "task": "Task added.", "taskupd": "Task saved.",
	"log": "Work logged.", "observable": "Observable added.", "upload": "Evidence uploaded.", "timeline": "Timeline entry recorded.",
	"acknowledged": "Acknowledgement sent to the national team.",
	"comment":      "Comment added.", "merged": "Case merged into this one.", "linked": "Cases linked.", "split": "Case split off from another.",
}

// casePage shows one case.
func (w *Web) casePage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderCase(rw, r, sc, http.StatusOK, nil, caseDone[r.URL.Query().Get("done")])
}

func (w *Web) renderCase(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, f *form, msg string) {
	ctx := r.Context()
	id := r.PathValue("id")
	svc := w.o.Cases
	c, err := svc.GetCase(ctx, sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := caseData{C: c, Next: cases.NextStatuses(c.Status), CanWrite: sc.Can(scope.Write), Message: msg, Form: f,
		Sevs: cases.Severities(), TLPs: cases.TLPs(), PAPs: cases.PAPs(), Resolutions: cases.Resolutions(), Impacts: cases.Impacts(),
		ObsTypes: cases.ObservableTypes(), TaskStatuses: cases.TaskStatuses(), Extensions: strings.Join(cases.AttachmentExtensions(), ", ")}
	if d.Form == nil {
		d.Form = &form{Values: map[string]string{}, Errors: map[string]string{}}
	}
	if c.Template != "" {
		if t, err := svc.Template(c.Template); err == nil {
			d.Tpl = &t
		}
	}
	if d.Tasks, err = svc.ListTasks(ctx, sc, id); err == nil {
		if d.Observables, err = svc.ListObservables(ctx, sc, id); err == nil {
			if d.Attachments, err = svc.ListAttachments(ctx, sc, id); err == nil {
				if d.Timeline, err = svc.Timeline(ctx, sc, id); err == nil {
					d.Comments, err = svc.Comments(ctx, sc, id)
				}
			}
		}
	}
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d.Extras = w.caseExtras(r, sc, c)
	v := w.page(r, sc, c.Title, "cases")
	v.D = d
	w.render(rw, r, status, "case", v)
}

// caseForm reads the posted fields of one section of the case page into a
// form keyed "<section>-<field>".
func caseForm(r *http.Request, section string, fields ...string) *form {
	f := &form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range fields {
		f.Values[section+"-"+k] = strings.TrimSpace(r.PostFormValue(k))
	}
	return f
}

// caseFailed answers a service error from one of the case page's forms:
// a validation error goes beside its field (a custom field named by its
// label) and the page is shown again; anything else is fail's.
func (w *Web) caseFailed(rw http.ResponseWriter, r *http.Request, sc scope.Scope, f *form, section string, err error, fields ...string) {
	var inv *fault.Invalid
	if !errors.As(err, &inv) {
		w.fail(rw, r, sc, err)
		return
	}
	key, msg := "form", sentence(inv.Reason)
	for _, k := range fields {
		if k == inv.Field {
			key = section + "-" + k
		}
	}
	if _, ok := strings.CutPrefix(inv.Field, "fields."); ok && section == "close" && strings.Contains(inv.Reason, "required to close") {
		// Every field still needed to close, each at its input and by its
		// label (the service names the first).
		if c, err := w.o.Cases.GetCase(r.Context(), sc, r.PathValue("id")); err == nil {
			if t, err := w.o.Cases.Template(c.Template); err == nil {
				missing := cases.MissingToClose(&t, c.Fields)
				for _, fd := range missing {
					f.Set(section+"-field-"+fd.Name, "“"+fd.Label+"” is required to close a "+t.Title+" case")
				}
				if len(missing) > 0 {
					w.renderCase(rw, r, sc, http.StatusUnprocessableEntity, f, "")
					return
				}
			}
		}
	}
	if name, ok := strings.CutPrefix(inv.Field, "fields."); ok {
		label := name
		if c, err := w.o.Cases.GetCase(r.Context(), sc, r.PathValue("id")); err == nil && c.Template != "" {
			if t, err := w.o.Cases.Template(c.Template); err == nil {
				for _, fd := range t.Fields {
					if fd.Name == name {
						label = fd.Label
					}
				}
			}
		}
		key, msg = section+"-field-"+name, "“"+label+"” "+inv.Reason
	} else if key == "form" && inv.Field != "" {
		msg = "“" + inv.Field + "”: " + inv.Reason
	}
	f.Set(key, sentence(msg))
	w.renderCase(rw, r, sc, http.StatusUnprocessableEntity, f, "")
}

func (w *Web) caseRedirect(rw http.ResponseWriter, r *http.Request, id, done, anchor string) {
	http.Redirect(rw, r, "/cases/"+url.PathEscape(id)+"?done="+done+"#"+anchor, http.StatusSeeOther)
}

// customFields reads a template's custom fields from a form ("field-" +
// name) into the types the cases package checks; blank ones are nil
// (cleared), or left out when onlyGiven.
func customFields(r *http.Request, t *cases.Template, onlyGiven bool) (map[string]any, error) {
	out := map[string]any{}
	if t == nil {
		return out, nil
	}
	for _, fd := range t.Fields {
		raw := strings.TrimSpace(r.PostFormValue("field-" + fd.Name))
		if raw == "" {
			if !onlyGiven {
				out[fd.Name] = nil
			}
			continue
		}
		switch fd.Type {
		case cases.FieldNumber:
			n, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return nil, fault.Invalidf("fields."+fd.Name, "%q is not a number", raw)
			}
			out[fd.Name] = n
		case cases.FieldBool:
			switch raw {
			case "true", "yes":
				out[fd.Name] = true
			case "false", "no":
				out[fd.Name] = false
			default:
				return nil, fault.Invalidf("fields."+fd.Name, "choose yes or no")
			}
		default:
			out[fd.Name] = raw
		}
	}
	return out, nil
}

func (w *Web) caseTemplate(r *http.Request, sc scope.Scope, id string) (*cases.Template, error) {
	c, err := w.o.Cases.GetCase(r.Context(), sc, id)
	if err != nil {
		return nil, err
	}
	if c.Template == "" {
		return nil, nil
	}
	t, err := w.o.Cases.Template(c.Template)
	if err != nil {
		return nil, nil // a template no longer known: the case keeps its fields as they are
	}
	return &t, nil
}

var caseDetailFields = []string{"title", "description", "severity", "tlp", "pap", "assignee", "team", "tags"}

// caseUpdate changes a case's details and custom fields.
func (w *Web) caseUpdate(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	f := caseForm(r, "details", caseDetailFields...)
	tpl, err := w.caseTemplate(r, sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	fields, err := customFields(r, tpl, false)
	if err != nil {
		w.caseFailed(rw, r, sc, f, "details", err, caseDetailFields...)
		return
	}
	str := func(k string) *string { v := r.PostFormValue(k); return &v }
	sev, tlp, pap := cases.Severity(r.PostFormValue("severity")), cases.TLP(r.PostFormValue("tlp")), cases.PAP(r.PostFormValue("pap"))
	var tags []string
	for _, t := range strings.Split(r.PostFormValue("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	p := cases.CasePatch{Title: str("title"), Description: str("description"), Severity: &sev, TLP: &tlp, PAP: &pap,
		Assignee: str("assignee"), Team: str("team"), Tags: &tags}
	if tpl != nil {
		p.Fields = fields
	}
	if _, err := w.o.Cases.UpdateCase(r.Context(), sc, id, p); err != nil {
		w.caseFailed(rw, r, sc, f, "details", err, caseDetailFields...)
		return
	}
	w.caseRedirect(rw, r, id, "updated", "details")
}

var caseCloseFields = []string{"status", "resolution", "impact", "summary"}

// caseStatus moves a case along its workflow. Closing saves the
// template's required fields given in the close form first, so one form
// does it; what is still missing is named by its label.
func (w *Web) caseStatus(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	f := caseForm(r, "close", caseCloseFields...)
	to := cases.CaseStatus(r.PostFormValue("status"))
	if to == cases.CaseClosed {
		tpl, err := w.caseTemplate(r, sc, id)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		fields, err := customFields(r, tpl, true)
		if err != nil {
			w.caseFailed(rw, r, sc, f, "close", err, caseCloseFields...)
			return
		}
		if len(fields) > 0 {
			if _, err := w.o.Cases.UpdateCase(r.Context(), sc, id, cases.CasePatch{Fields: fields}); err != nil {
				w.caseFailed(rw, r, sc, f, "close", err, caseCloseFields...)
				return
			}
		}
	}
	_, err := w.o.Cases.SetStatus(r.Context(), sc, id, cases.StatusChange{Status: to, Resolution: cases.Resolution(r.PostFormValue("resolution")),
		Impact: cases.Impact(r.PostFormValue("impact")), Summary: r.PostFormValue("summary")})
	if err != nil {
		w.caseFailed(rw, r, sc, f, "close", err, caseCloseFields...)
		return
	}
	w.caseRedirect(rw, r, id, "status", "workflow")
}

var caseTaskFields = []string{"title", "description", "assignee", "checklist"}

func (w *Web) caseAddTask(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	f := caseForm(r, "task", caseTaskFields...)
	var list []string
	for _, l := range strings.Split(r.PostFormValue("checklist"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			list = append(list, l)
		}
	}
	if _, err := w.o.Cases.CreateTask(r.Context(), sc, id, cases.NewTask{Title: strings.TrimSpace(r.PostFormValue("title")),
		Description: r.PostFormValue("description"), Assignee: strings.TrimSpace(r.PostFormValue("assignee")), Checklist: list}); err != nil {
		w.caseFailed(rw, r, sc, f, "task", err, caseTaskFields...)
		return
	}
	w.caseRedirect(rw, r, id, "task", "tasks")
}

// caseUpdateTask saves a task's status and its checklist ticks.
func (w *Web) caseUpdateTask(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.renderError(rw, r, &sc, http.StatusBadRequest, "", "The form could not be read.")
		return
	}
	id, task := r.PathValue("id"), r.PathValue("task")
	p := cases.TaskPatch{}
	if s := r.PostFormValue("status"); s != "" {
		st := cases.TaskStatus(s)
		p.Status = &st
	}
	if n, err := strconv.Atoi(r.PostFormValue("items")); err == nil && n > 0 && n <= 100 {
		p.Check = map[string]bool{}
		done := map[string]bool{}
		for _, d := range r.PostForm["done"] {
			done[d] = true
		}
		for i := 0; i < n; i++ {
			k := strconv.Itoa(i)
			p.Check[k] = done[k]
		}
	}
	if _, err := w.o.Cases.UpdateTask(r.Context(), sc, id, task, p); err != nil {
		w.caseFailed(rw, r, sc, caseForm(r, "taskupd"), "taskupd", err)
		return
	}
	w.caseRedirect(rw, r, id, "taskupd", "task-"+task)
}

func (w *Web) caseTaskLog(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id, task := r.PathValue("id"), r.PathValue("task")
	if _, err := w.o.Cases.AddTaskLog(r.Context(), sc, id, task, r.PostFormValue("body")); err != nil {
		w.caseFailed(rw, r, sc, caseForm(r, "log", "body"), "log", err, "body")
		return
	}
	w.caseRedirect(rw, r, id, "log", "task-"+task)
}

var caseObsFields = []string{"type", "value", "description"}

func (w *Web) caseAddObservable(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	f := caseForm(r, "obs", caseObsFields...)
	_, err := w.o.Cases.AddObservable(r.Context(), sc, id, cases.NewObservable{Type: cases.ObservableType(r.PostFormValue("type")),
		Value: strings.TrimSpace(r.PostFormValue("value")), Description: r.PostFormValue("description"), IOC: r.PostFormValue("ioc") != ""})
	if err != nil {
		var inv *fault.Invalid
		if errors.As(err, &inv) && strings.HasPrefix(inv.Field, "observable") {
			inv2 := *inv
			inv2.Field = "value"
			err = &inv2
		}
		w.caseFailed(rw, r, sc, f, "obs", err, caseObsFields...)
		return
	}
	w.caseRedirect(rw, r, id, "observable", "observables")
}

// caseUpload stores evidence files; they are downloaded through the API's
// safe route (always an attachment, never rendered).
func (w *Web) caseUpload(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	// Check the case before reading the upload, so a case out of scope is
	// 404 whatever was sent.
	if _, err := w.o.Cases.GetCase(r.Context(), sc, id); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	f := &form{Values: map[string]string{}, Errors: map[string]string{}}
	files, problem := readUpload(rw, r, "files", 10)
	if problem != "" {
		f.Set("upload-files", problem)
		w.renderCase(rw, r, sc, http.StatusUnprocessableEntity, f, "")
		return
	}
	for _, up := range files {
		if _, err := w.o.Cases.AddAttachment(r.Context(), sc, id, up.Name, bytes.NewReader(up.Data)); err != nil {
			var inv *fault.Invalid
			if errors.As(err, &inv) {
				inv2 := *inv
				inv2.Field, inv2.Reason = "files", up.Name+": "+inv.Reason
				err = &inv2
			}
			w.caseFailed(rw, r, sc, f, "upload", err, "files")
			return
		}
	}
	w.caseRedirect(rw, r, id, "upload", "evidence")
}

var caseTimelineFields = []string{"at", "title", "body"}

func (w *Web) caseAddTimeline(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	f := caseForm(r, "timeline", caseTimelineFields...)
	n := cases.NewTimelineEntry{Title: r.PostFormValue("title"), Body: r.PostFormValue("body")}
	if at := strings.TrimSpace(r.PostFormValue("at")); at != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", at, w.o.Location)
		if err != nil {
			w.caseFailed(rw, r, sc, f, "timeline", fault.Invalidf("at", "%q is not a date and time", at), caseTimelineFields...)
			return
		}
		n.At = &t
	}
	if _, err := w.o.Cases.AddTimelineEntry(r.Context(), sc, id, n); err != nil {
		w.caseFailed(rw, r, sc, f, "timeline", err, caseTimelineFields...)
		return
	}
	w.caseRedirect(rw, r, id, "timeline", "timeline")
}

func (w *Web) caseComment(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	if _, err := w.o.Cases.AddComment(r.Context(), sc, id, r.PostFormValue("body")); err != nil {
		w.caseFailed(rw, r, sc, caseForm(r, "comment", "body"), "comment", err, "body")
		return
	}
	w.caseRedirect(rw, r, id, "comment", "comments")
}

// caseMerge merges the case named into this one.
func (w *Web) caseMerge(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.withOtherCase(rw, r, sc, "merge", "from", "give the ID of the case to merge into this one (CS-…)", "merged",
		func(id, other string) error { _, err := w.o.Cases.MergeCases(r.Context(), sc, id, other); return err })
}

// caseLink links this case with another.
func (w *Web) caseLink(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.withOtherCase(rw, r, sc, "link", "case_id", "give the ID of the case to link (CS-…)", "linked",
		func(id, other string) error { _, err := w.o.Cases.LinkCases(r.Context(), sc, id, other); return err })
}

// withOtherCase is a case-page form naming another case in field (merge,
// link): an empty field asks for it, a case the caller cannot see is
// said at the field with the form kept, and success returns to the page's
// links with done.
func (w *Web) withOtherCase(rw http.ResponseWriter, r *http.Request, sc scope.Scope, form, field, ask, done string, act func(id, other string) error) {
	limitBody(rw, r)
	id := r.PathValue("id")
	f := caseForm(r, form, field)
	other := strings.TrimSpace(r.PostFormValue(field))
	if other == "" {
		w.caseFailed(rw, r, sc, f, form, fault.Invalidf(field, "%s", ask), field)
		return
	}
	if err := act(id, other); err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			if _, err2 := w.o.Cases.GetCase(r.Context(), sc, id); err2 == nil {
				f.Set(form+"-"+field, "There is no case "+other+" that you can see.")
				w.renderCase(rw, r, sc, http.StatusNotFound, f, "")
				return
			}
		}
		w.caseFailed(rw, r, sc, f, form, err, field)
		return
	}
	w.caseRedirect(rw, r, id, done, "links")
}

// caseSplit moves the ticked tasks, observables and alerts into a new
// case and shows it.
func (w *Web) caseSplit(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.renderError(rw, r, &sc, http.StatusBadRequest, "", "The form could not be read.")
		return
	}
	id := r.PathValue("id")
	f := caseForm(r, "split", "title")
	c, err := w.o.Cases.SplitCase(r.Context(), sc, id, cases.Split{Title: r.PostFormValue("title"), TaskIDs: r.PostForm["task_ids"],
		ObservableIDs: r.PostForm["observable_ids"], AlertIDs: r.PostForm["alert_ids"]})
	if err != nil {
		var inv *fault.Invalid
		if errors.As(err, &inv) && strings.HasSuffix(inv.Field, "_ids") {
			inv2 := *inv
			inv2.Field = "items"
			err = &inv2
		}
		w.caseFailed(rw, r, sc, f, "split", err, "title", "items")
		return
	}
	w.caseRedirect(rw, r, c.ID, "split", "links")
}
