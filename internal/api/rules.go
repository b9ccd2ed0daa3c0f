package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerRules adds Sigma rule management (issue 17 part 4): the rules
// domain decides who may change what (national roles for every
// organisation, Write on an organisation for its own settings) and shows
// each caller only the organisations it may read.
func (a *API) registerRules(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"Rule": reflect.TypeFor[rules.Rule](), "RuleList": reflect.TypeFor[Page[rules.Rule]](), "RuleDetail": reflect.TypeFor[rules.Detail](),
		"RuleImportReport": reflect.TypeFor[rules.ImportReport](), "RuleSave": reflect.TypeFor[rules.SaveRequest](),
		"RuleSetting": reflect.TypeFor[RuleSetting](), "NewRuleException": reflect.TypeFor[rules.NewException](),
		"RuleException": reflect.TypeFor[rules.Exception](), "NoisyRules": reflect.TypeFor[Page[rules.Noise]](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true, Desc: "the rule's Sigma id"}
	a.route(rt, spec{Method: "GET", Path: "/rules", Tag: "detection",
		Summary: "Stored Sigma rules in id order, with their settings; with org, that organisation's own settings and what detection does for it",
		Params: []param{{Name: "org", In: "query", Type: "string", Desc: "ODS code of an organisation you may read"},
			{Name: "q", In: "query", Type: "string", Desc: "id, title, tags or author contain this"},
			{Name: "pack", In: "query", Type: "string"}, {Name: "level", In: "query", Type: "string"},
			{Name: "disabled", In: "query", Type: "boolean", Desc: "only rules that do not run (for org when given)"},
			{Name: "limit", In: "query", Type: "integer", Desc: "page size (at most 5,000)"}, {Name: "cursor", In: "query", Type: "string", Desc: "next_cursor of the previous page"}},
		Response: "RuleList"}, a.listRules)
	a.route(rt, spec{Method: "GET", Path: "/rules/noisy", Tag: "detection",
		Summary: "The noisiest rules over the last days, in the organisations you may read: matches raised and suppressed, most first",
		Params: []param{{Name: "days", In: "query", Type: "integer", Desc: "1 to 366, default 7"}, {Name: "org", In: "query", Type: "string"},
			{Name: "limit", In: "query", Type: "integer", Desc: "default 50, at most 1,000"}},
		Response: "NoisyRules"}, a.noisyRules)
	a.route(rt, spec{Method: "GET", Path: "/rules/{id}", Tag: "detection",
		Summary: "One stored rule: its text, every version, and the settings, exceptions and hits of the organisations you may read",
		Params:  []param{id}, Response: "RuleDetail"}, a.getRule)
	a.route(rt, spec{Method: "POST", Path: "/rules/import", Tag: "detection",
		Summary: "Import Sigma rules (national roles): multipart/form-data parts, each a rule file (.yml, .yaml) or a zip archive such as a SigmaHQ release; files that do not load are reported and not stored; one transaction",
		Params:  []param{{Name: "pack", In: "query", Type: "string", Required: true}, {Name: "note", In: "query", Type: "string"}},
		Upload:  true, Response: "RuleImportReport"}, a.importRules)
	a.route(rt, spec{Method: "POST", Path: "/rules", Tag: "detection",
		Summary: "Save a rule written in the editor (national roles): a new rule, or with id a new version of one (base_version guards against overwriting another's edit); it must load",
		Body:    "RuleSave", Response: "Rule", Status: 201}, a.saveRule)
	a.route(rt, spec{Method: "PUT", Path: "/rules/{id}/settings", Tag: "detection",
		Summary: "Enable or disable a rule, or override its level, for every organisation (no org: national roles) or for one you may change",
		Params:  []param{id}, Body: "RuleSetting", Response: "RuleDetail"}, a.setRule)
	a.route(rt, spec{Method: "DELETE", Path: "/rules/{id}/orgs/{org}", Tag: "detection",
		Summary: "Remove an organisation's own settings for a rule: it follows the global ones again",
		Params:  []param{id, {Name: "org", In: "path", Type: "string", Required: true}}, Status: 204}, a.resetRule)
	a.route(rt, spec{Method: "POST", Path: "/rules/{id}/exceptions", Tag: "detection",
		Summary: "Add an exception: matches on events holding every field=value raise no alert, for one organisation or (national roles) every one, until it expires",
		Params:  []param{id}, Body: "NewRuleException", Response: "RuleException", Status: 201}, a.addException)
	a.route(rt, spec{Method: "DELETE", Path: "/rules/exceptions/{id}", Tag: "detection",
		Summary: "Remove an exception before it expires",
		Params:  []param{{Name: "id", In: "path", Type: "string", Required: true}}, Status: 204}, a.removeException)
}

func (a *API) listRules(r *http.Request, sc scope.Scope) (any, error) {
	q := r.URL.Query()
	limit, err := limitParam(r, 1000, rules.MaxPage)
	if err != nil {
		return nil, err
	}
	f := rules.ListFilter{Org: q.Get("org"), Query: q.Get("q"), Pack: q.Get("pack"), Level: q.Get("level"), After: q.Get("cursor"), Limit: limit}
	if s := q.Get("disabled"); s != "" {
		if f.Disabled, err = strconv.ParseBool(s); err != nil {
			return nil, &fault.Invalid{Field: "disabled", Reason: "want true or false"}
		}
	}
	rs, err := a.o.Rules.List(r.Context(), sc, f)
	if err != nil {
		return nil, err
	}
	next := ""
	if len(rs) == limit {
		next = rs[len(rs)-1].ID
	}
	return page(rs, next), nil
}

func (a *API) noisyRules(r *http.Request, sc scope.Scope) (any, error) {
	q := r.URL.Query()
	f := rules.NoisyFilter{Org: q.Get("org")}
	var err error
	if s := q.Get("days"); s != "" {
		if f.Days, err = strconv.Atoi(s); err != nil {
			return nil, &fault.Invalid{Field: "days", Reason: "want a number of days, 1 to 366"}
		}
	}
	if f.Limit, err = limitParam(r, 50, 1000); err != nil {
		return nil, err
	}
	ns, err := a.o.Rules.Noisy(r.Context(), sc, f)
	if err != nil {
		return nil, err
	}
	return page(ns, ""), nil
}

func (a *API) getRule(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Rules.Get(r.Context(), sc, r.PathValue("id"))
}

func (a *API) importRules(r *http.Request, sc scope.Scope) (any, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, &fault.Invalid{Reason: "send the rule files or zip archives as multipart/form-data parts"}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxUpload)
	var files []rules.File
	err := eachPart(r, func(name, _ string, part io.Reader) error {
		if name == "" {
			return nil // a form field
		}
		b, err := io.ReadAll(part)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return &fault.Invalid{Reason: "the upload is larger than " + httpd.SizeText(mb.Limit) + "; import from the command line (vigil rules import)"}
		}
		if err != nil {
			return err
		}
		fs, err := rules.Uploaded(name, b)
		files = append(files, fs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &fault.Invalid{Field: "files", Reason: "the upload has no rule files"}
	}
	return a.o.Rules.Import(r.Context(), sc, r.URL.Query().Get("pack"), r.URL.Query().Get("note"), files)
}

func (a *API) saveRule(r *http.Request, sc scope.Scope) (any, error) {
	var in rules.SaveRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	rule, err := a.o.Rules.Save(r.Context(), sc, in)
	if err != nil {
		return nil, err
	}
	return created{rule}, nil
}

// RuleSetting changes a rule's settings for every organisation (Org
// empty) or for one; a field left out is left as it is.
type RuleSetting struct {
	Org     string `json:"org,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"`
	// Level overrides the rule's level; "" removes the override.
	Level *string `json:"level,omitempty"`
}

func (a *API) setRule(r *http.Request, sc scope.Scope) (any, error) {
	var in RuleSetting
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.Enabled == nil && in.Level == nil {
		return nil, &fault.Invalid{Reason: "give enabled, level or both"}
	}
	id := r.PathValue("id")
	if in.Enabled != nil {
		if err := a.o.Rules.SetEnabled(r.Context(), sc, id, in.Org, *in.Enabled); err != nil {
			return nil, err
		}
	}
	if in.Level != nil {
		if err := a.o.Rules.SetLevel(r.Context(), sc, id, in.Org, *in.Level); err != nil {
			return nil, err
		}
	}
	return a.o.Rules.Get(r.Context(), sc, id)
}

func (a *API) resetRule(r *http.Request, sc scope.Scope) (any, error) {
	return nil, a.o.Rules.ResetOrg(r.Context(), sc, r.PathValue("id"), r.PathValue("org"))
}

func (a *API) addException(r *http.Request, sc scope.Scope) (any, error) {
	var in rules.NewException
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	in.RuleID = r.PathValue("id")
	x, err := a.o.Rules.AddException(r.Context(), sc, in)
	if err != nil {
		return nil, err
	}
	return created{x}, nil
}

func (a *API) removeException(r *http.Request, sc scope.Scope) (any, error) {
	return nil, a.o.Rules.RemoveException(r.Context(), sc, r.PathValue("id"))
}
