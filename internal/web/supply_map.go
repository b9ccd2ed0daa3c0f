package web

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"

	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// The Map tab: a blast radius or a service's concentration by ICB or
// region. It always opens on its form: with nothing asked it invites a
// question, and a question that cannot be answered (invalid, naming
// nothing, about an organisation) is said above the form as it was filled
// in — never an error page.

type mapData struct {
	View     string // impact or concentration
	Level    string
	Query    template.URL // the picture's query string
	Title    string
	Problem  problemView
	Loaded   bool
	Import   bool
	Rows     []mapRow
	Unmapped []string
	Service  string
	Services []string
	By, Q    string
	Kinds    []kindChoice
	Choices  []supply.Match
}

type mapRow struct {
	Code, Name, Value, Detail string
	Sort                      float64
}

func (w *Web) supplyMap(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	m, err := w.buildMap(ctx, sc, r.URL.Query())
	status := http.StatusOK
	d := mapData{View: m.view, Level: string(m.level), Import: geo.CanImport(sc), Service: m.service,
		By: string(m.form.By), Q: m.form.Q, Kinds: impactKinds(true)}
	if d.By == "" {
		d.By = string(supply.KindSupplier)
	}
	switch {
	case err != nil:
		href := func(x supply.Match) string {
			v := url.Values{string(x.Kind): {x.ID}, "level": {d.Level}}
			if x.Kind == supply.KindService {
				v.Set("view", "concentration")
			}
			return "/suppliers/map?" + v.Encode()
		}
		p, ok := w.formProblem(ctx, sc, err, href)
		if !ok {
			w.fail(rw, r, sc, err)
			return
		}
		d.Problem, status = p, http.StatusUnprocessableEntity
	case m.Error != "":
		d.Problem, status = problemView{Error: m.Error}, http.StatusUnprocessableEntity
	case !m.empty:
		d.Query, d.Title, d.Loaded, d.Unmapped = template.URL(m.query), m.opts.Title, len(m.bounds) > 0, m.opts.Unmapped
	}
	if sc.Can(scope.Supply) {
		if rep, err := w.o.Supply.ConcentrationAll(ctx, sc); err == nil {
			d.Services = rep.Services
		} else {
			w.log.Warn("map: services", "err", err)
		}
	}
	if d.Query != "" {
		names := map[string]string{}
		for _, b := range m.bounds {
			names[b.Code] = b.Name
		}
		for code, val := range m.opts.Values {
			n := names[code]
			if n == "" {
				n = m.groupNames[code]
			}
			d.Rows = append(d.Rows, mapRow{Code: code, Name: n, Value: val.Label, Detail: val.Detail, Sort: val.Value})
		}
		sort.Slice(d.Rows, func(i, j int) bool { return d.Rows[i].Code < d.Rows[j].Code })
	}
	typed := ""
	if d.Query == "" {
		typed = d.Q
	}
	d.Choices = w.choices(ctx, sc, supply.Kind(d.By), typed)
	v := w.page(r, sc, "Map", "suppliers")
	v.D = d
	w.render(rw, r, status, "supply_map", v)
}
