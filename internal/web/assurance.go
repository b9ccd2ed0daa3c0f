package web

import (
	"net/http"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerAssurance adds a requirement set's page (issue 20); the list,
// /assurance, is an area (areas.go). The sets
// are published reference data that every signed-in person may read.
func (w *Web) registerAssurance(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	h("GET", "/assurance/sets/{id}", httpd.Authenticated, "One requirement set: its tree, indicators and profiles", w.assuranceSet)
}

func (w *Web) assuranceSets(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	list, err := w.o.Assurance.List(r.Context())
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Requirement sets", "assurance")
	v.D = list
	w.render(rw, r, http.StatusOK, "assurance", v)
}

// setRow is one node of a set's tree with its indicators and each
// profile's target for it (the zero Level where the profile sets none).
type setRow struct {
	Node       assurance.Node
	Indicators []assurance.Indicator
	Targets    []assurance.Level
}

type setData struct {
	Set      assurance.Set
	Summary  assurance.Summary
	Profiles []string
	Rows     []setRow
}

func (w *Web) assuranceSet(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	set, err := w.o.Assurance.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := setData{Set: *set, Summary: set.Summarise()}
	d.Profiles = d.Summary.Profiles
	ind := map[string][]assurance.Indicator{}
	for _, in := range set.Indicators {
		ind[in.Outcome] = append(ind[in.Outcome], in)
	}
	targets := make([]map[string]assurance.Level, len(set.Profiles))
	for i, p := range set.Profiles {
		targets[i] = make(map[string]assurance.Level, len(p.Targets))
		for _, t := range p.Targets {
			targets[i][t.Node] = t.Level
		}
	}
	d.Rows = make([]setRow, len(set.Nodes))
	for i, n := range set.Nodes {
		row := setRow{Node: n, Indicators: ind[n.Key], Targets: make([]assurance.Level, len(targets))}
		for j, t := range targets {
			row.Targets[j] = t[n.Key]
		}
		d.Rows[i] = row
	}
	v := w.page(r, sc, set.Name, "assurance")
	v.D = d
	w.render(rw, r, http.StatusOK, "assurance_set", v)
}
