package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
)

// The Hunt page (issue 17): write or paste Sigma rules, test them on
// sample events (which rules each sample's log source reaches, which
// match and why) and run them over the stored events the caller may
// read. The rules are sigma's (RetroHunt, TestRules); this file draws
// them. No script: a form posted, a page drawn.

type huntData struct {
	Form   *form
	Action string
	Test   *sigma.RuleTestResult
	Hunt   *sigma.HuntResult
}

// huntExample is the rule the page starts with.
const huntExample = `title: Whoami run
status: experimental
level: low
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    CommandLine|contains: whoami
  condition: selection
`

func (w *Web) huntPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f := &form{Values: map[string]string{"rules": huntExample, "since": "24h"}, Errors: map[string]string{}}
	w.renderHunt(rw, r, sc, http.StatusOK, huntData{Form: f})
}

func (w *Web) huntRun(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	f := newForm(r, "rules", "events", "since", "from", "to", "org", "query", "limit", "mappings", "action")
	mappings := strings.Split(f.V("mappings"), ",")
	d := huntData{Form: f, Action: f.V("action")}
	status := http.StatusOK
	var err error
	switch d.Action {
	case "test":
		if f.V("events") == "" {
			f.Set("events", "Paste one or more sample events to test the rules on")
			status = http.StatusUnprocessableEntity
			break
		}
		var res sigma.RuleTestResult
		if res, err = sigma.TestRules(r.Context(), sigma.RuleTestRequest{Rules: f.V("rules"), Events: f.V("events"), Mappings: mappings}); err == nil {
			d.Test = &res
		}
	case "hunt":
		limit := 0
		if s := f.V("limit"); s != "" {
			if limit, err = strconv.Atoi(s); err != nil {
				err = &fault.Invalid{Field: "limit", Reason: "want a number of matches, 1 to 10,000"}
			}
		}
		if err == nil {
			var res sigma.HuntResult
			if res, err = sigma.RetroHunt(r.Context(), w.o.Events, sc, sigma.HuntRequest{Rules: f.V("rules"), Since: f.V("since"),
				From: f.V("from"), To: f.V("to"), Org: f.V("org"), Query: f.V("query"), Limit: limit, Mappings: mappings}); err == nil {
				d.Hunt = &res
			}
		}
	default:
		f.Set("rules", "Choose Test on the samples or Hunt stored events")
		status = http.StatusUnprocessableEntity
	}
	if err != nil {
		var inv *fault.Invalid
		if !errors.As(err, &inv) {
			w.fail(rw, r, sc, err)
			return
		}
		field := inv.Field
		if _, ok := f.Values[field]; !ok {
			field = "rules"
		}
		f.Set(field, sentence(inv.Reason))
		status = http.StatusUnprocessableEntity
	}
	w.renderHunt(rw, r, sc, status, d)
}

func (w *Web) renderHunt(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, d huntData) {
	p := w.page(r, sc, "Hunt", "hunt")
	p.D = d
	w.render(rw, r, status, "hunt", p)
}
