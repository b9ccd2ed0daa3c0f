package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
)

// The Rules pages (issue 17 part 4): the stored Sigma rules with what
// detection does for one organisation (switched on or off there with a
// button), the noisiest rules; one rule with its settings, exceptions,
// hits and history; and the editor, which tests the edited text on pasted
// sample events (sigma.TestRules, as the Hunt page) before saving it as a
// new version. Who may change what is the rules domain's rule. No script.

// rulesPage is how many rules one page of the list shows.
const rulesPage = 200

type rulesData struct {
	Org    string
	Query  string
	Rules  []rules.Rule
	Next   string
	Noisy  []rules.Noise
	Levels []string
	// National is whether the caller may change rules for every
	// organisation (the editor's Save, import).
	National bool
}

func (w *Web) registerRules(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/rules/new", authd, "The rule editor for a new rule", w.ruleNew)
	h("GET", "/rules/{id}", authd, "One stored rule: settings, exceptions, hits and history", w.rulePage)
	h("GET", "/rules/{id}/edit", authd, "The rule editor: edit, test on sample events, save a new version", w.ruleEdit)
	h("POST", "/rules/edit", authd, "Test an edited rule on sample events, or save it as a new version", w.ruleEditPost)
	h("POST", "/rules/{id}/settings", authd, "Enable or disable a rule, or set its level, for one organisation or every one", w.ruleSettings)
	h("POST", "/rules/{id}/reset", authd, "Return an organisation to a rule's global settings", w.ruleReset)
	h("POST", "/rules/{id}/exceptions", authd, "Add an exception to a rule", w.ruleAddException)
	h("POST", "/rules/exceptions/{id}/delete", authd, "Remove an exception", w.ruleRemoveException)
}

// rulesOrg is the organisation the list shows: ?org=, else the current
// organisation, else the caller's own.
func (w *Web) rulesOrg(r *http.Request, sc scope.Scope) string {
	if o := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("org"))); o != "" {
		return o
	}
	if o := w.currentOrg(r, sc); o != nil {
		return o.Code
	}
	return sc.Home
}

func (w *Web) rulesList(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := r.URL.Query()
	d := rulesData{Org: w.rulesOrg(r, sc), Query: q.Get("q"), Levels: rules.Levels, National: sc.National(scope.Write)}
	var err error
	d.Rules, err = w.o.Rules.List(r.Context(), sc, rules.ListFilter{Org: d.Org, Query: d.Query, After: q.Get("after"), Limit: rulesPage})
	if errors.Is(err, fault.ErrNotFound) && q.Get("org") == "" {
		// The caller's home is not readable (a supplier's tenant): no org.
		d.Org = ""
		d.Rules, err = w.o.Rules.List(r.Context(), sc, rules.ListFilter{Query: d.Query, After: q.Get("after"), Limit: rulesPage})
	}
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if len(d.Rules) == rulesPage {
		d.Next = d.Rules[len(d.Rules)-1].ID
	}
	if d.Noisy, err = w.o.Rules.Noisy(r.Context(), sc, rules.NoisyFilter{Days: 7, Limit: 10}); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	p := w.page(r, sc, "Detection rules", "rules")
	p.D = d
	w.render(rw, r, http.StatusOK, "rules", p)
}

type ruleData struct {
	Rule     rules.Detail
	Form     *form
	Levels   []string
	National bool
	Org      string
	// Techniques are the ATT&CK techniques its tags name, as
	// intelligence objects the reader may read (intel.TechniquesOf).
	Techniques []intel.TechniqueLink
}

func (w *Web) rulePage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderRule(rw, r, sc, http.StatusOK, r.PathValue("id"), &form{Values: map[string]string{"org": w.rulesOrg(r, sc), "exorg": w.rulesOrg(r, sc), "expires": "30d"}, Errors: map[string]string{}})
}

func (w *Web) renderRule(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, id string, f *form) {
	d, err := w.o.Rules.Get(r.Context(), sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	rd := ruleData{Rule: d, Form: f, Levels: rules.Levels, National: sc.National(scope.Write), Org: f.V("org")}
	if w.o.Intel != nil {
		if rd.Techniques, err = w.o.Intel.TechniquesOf(r.Context(), sc, d.Tags); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	p := w.page(r, sc, d.Title, "rules")
	p.D = rd
	w.render(rw, r, status, "rule", p)
}

// ruleFormError shows a refused change on the rule's page, or fails the
// request when it is not about a field.
func (w *Web) ruleFormError(rw http.ResponseWriter, r *http.Request, sc scope.Scope, id string, f *form, err error) {
	if !f.Refused(err, "form") {
		w.fail(rw, r, sc, err)
		return
	}
	w.renderRule(rw, r, sc, http.StatusUnprocessableEntity, id, f)
}

// backTo is where a change returns: the list (kept to /rules addresses)
// or the rule's page.
func backTo(f *form, id string) string {
	if b := f.V("back"); strings.HasPrefix(b, "/rules?") || b == "/rules" {
		return b
	}
	return "/rules/" + url.PathEscape(id)
}

func (w *Web) ruleSettings(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	f := newForm(r, "org", "enabled", "level", "back", "expires", "exorg")
	org := f.V("org")
	if f.V("scope") == "all" || r.PostFormValue("scope") == "all" {
		org = ""
	}
	var err error
	switch f.V("enabled") {
	case "on", "off":
		err = w.o.Rules.SetEnabled(r.Context(), sc, id, org, f.V("enabled") == "on")
	case "":
	default:
		err = fault.Invalidf("enabled", "want on or off")
	}
	if err == nil && f.V("level") != "" {
		level := f.V("level")
		if level == "none" {
			level = ""
		}
		err = w.o.Rules.SetLevel(r.Context(), sc, id, org, level)
	}
	if err != nil {
		w.ruleFormError(rw, r, sc, id, f, err)
		return
	}
	http.Redirect(rw, r, backTo(f, id), http.StatusSeeOther)
}

func (w *Web) ruleReset(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	f := newForm(r, "org", "back", "expires", "exorg")
	if err := w.o.Rules.ResetOrg(r.Context(), sc, id, f.V("org")); err != nil {
		w.ruleFormError(rw, r, sc, id, f, err)
		return
	}
	http.Redirect(rw, r, backTo(f, id), http.StatusSeeOther)
}

func (w *Web) ruleAddException(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	f := newForm(r, "exorg", "match", "owner", "reason", "expires", "scope", "org")
	in := rules.NewException{RuleID: id, Org: f.V("exorg"), Owner: f.V("owner"), Reason: f.V("reason")}
	if f.V("scope") == "all" {
		in.Org = ""
	}
	for _, line := range strings.Split(f.V("match"), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		m, err := rules.ParseMatch(line)
		if err != nil {
			w.ruleFormError(rw, r, sc, id, f, err)
			return
		}
		in.Match = append(in.Match, m)
	}
	exp, err := rules.ParseExpiry(f.V("expires"), w.o.Now())
	if err != nil {
		w.ruleFormError(rw, r, sc, id, f, err)
		return
	}
	in.Expires = exp
	if _, err := w.o.Rules.AddException(r.Context(), sc, in); err != nil {
		w.ruleFormError(rw, r, sc, id, f, err)
		return
	}
	http.Redirect(rw, r, "/rules/"+url.PathEscape(id), http.StatusSeeOther)
}

func (w *Web) ruleRemoveException(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f := newForm(r, "rule")
	if err := w.o.Rules.RemoveException(r.Context(), sc, r.PathValue("id")); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, backTo(f, f.V("rule")), http.StatusSeeOther)
}

type ruleEditData struct {
	Form     *form
	ID       string
	Title    string
	Test     *sigma.RuleTestResult
	National bool
}

// ruleExample is the editor's start for a new rule.
const ruleExample = `title: New rule
id: 00000000-0000-4000-8000-000000000000
status: experimental
level: medium
author: your name
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    CommandLine|contains: example
  condition: selection
`

func (w *Web) ruleNew(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f := &form{Values: map[string]string{"yaml": ruleExample, "base_version": "0"}, Errors: map[string]string{}}
	w.renderRuleEdit(rw, r, sc, http.StatusOK, ruleEditData{Form: f, Title: "New rule"})
}

func (w *Web) ruleEdit(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d, err := w.o.Rules.Get(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	f := &form{Values: map[string]string{"yaml": d.YAML, "id": d.ID, "base_version": strconv.Itoa(d.Version)}, Errors: map[string]string{}}
	w.renderRuleEdit(rw, r, sc, http.StatusOK, ruleEditData{Form: f, ID: d.ID, Title: d.Title})
}

func (w *Web) ruleEditPost(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	f := newForm(r, "id", "base_version", "yaml", "events", "note", "action")
	d := ruleEditData{Form: f, ID: f.V("id"), Title: "New rule"}
	if d.ID != "" {
		d.Title = d.ID
	}
	// The text keeps its own line breaks and indentation.
	f.Values["yaml"] = r.PostFormValue("yaml")
	status := http.StatusOK
	var err error
	switch f.V("action") {
	case "test":
		if f.V("events") == "" {
			f.Set("events", "Paste one or more sample events to test the rule on")
			status = http.StatusUnprocessableEntity
			break
		}
		var res sigma.RuleTestResult
		if res, err = sigma.TestRules(r.Context(), sigma.RuleTestRequest{Rules: f.V("yaml"), Events: f.V("events")}); err == nil {
			d.Test = &res
		}
	case "save":
		base := 0
		if s := f.V("base_version"); s != "" {
			if base, err = strconv.Atoi(s); err != nil {
				err = fault.Invalidf("yaml", "the form lost its version: reload the rule and edit again")
			}
		}
		if err == nil {
			var saved rules.Rule
			if saved, err = w.o.Rules.Save(r.Context(), sc, rules.SaveRequest{ID: d.ID, BaseVersion: base, YAML: f.V("yaml"), Note: f.V("note")}); err == nil {
				http.Redirect(rw, r, "/rules/"+url.PathEscape(saved.ID), http.StatusSeeOther)
				return
			}
		}
	default:
		f.Set("yaml", "Choose Test on the samples or Save")
		status = http.StatusUnprocessableEntity
	}
	if err != nil {
		if !f.Refused(err, "yaml") {
			w.fail(rw, r, sc, err)
			return
		}
		status = http.StatusUnprocessableEntity
	}
	w.renderRuleEdit(rw, r, sc, status, d)
}

func (w *Web) renderRuleEdit(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, d ruleEditData) {
	d.National = sc.National(scope.Write)
	p := w.page(r, sc, "Edit "+d.Title, "rules")
	p.D = d
	w.render(rw, r, status, "rule_edit", p)
}
