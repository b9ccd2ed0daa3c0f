package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/supplyviz"
)

// ---- concentration ----

type concentrationData struct {
	Services []string
	Service  string
	By       string
	Result   *supply.ConcentrationResult
	Rows     []concRow
	Query    template.URL
	HasMap   bool
	Chart    string
	// Trends: snapshots are national, so only national supply-chain
	// managers see them (and may record one).
	Trends     bool
	Group      string // region or ICB code whose trend is shown; "" nationally
	GroupName  string
	ShowTrend  bool
	Trend      []trendRow
	TrendQuery template.URL
	Message    string
	Problem    problemView
}

type trendRow struct {
	supply.TrendPoint
	When, Band, SupplierName string
}

type concRow struct {
	supply.ConcentrationGroup
	Band string
}

func (w *Web) supplyConcentration(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	if !sc.Can(scope.Supply) {
		w.errorPage(rw, r, &sc, http.StatusNotFound, "")
		return
	}
	rep, err := w.o.Supply.ConcentrationAll(ctx, sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	q := r.URL.Query()
	d := concentrationData{Services: rep.Services, Service: strings.TrimSpace(q.Get("service")), By: q.Get("by"), HasMap: w.o.Boundaries != nil, Chart: "shares"}
	if q.Get("chart") == "hhi" {
		d.Chart = "hhi"
	}
	if d.By != "region" && d.By != "national" {
		d.By = "icb"
	}
	if d.Service == "" && len(d.Services) > 0 {
		d.Service = d.Services[0]
	}
	status := http.StatusOK
	if d.Service != "" {
		res, err := w.o.Supply.Concentration(ctx, sc, d.Service, supply.Level(d.By))
		if err != nil {
			// A service that names nothing: the form again, with what it may have meant.
			p, ok := w.formProblem(ctx, sc, err, func(m supply.Match) string {
				return "/suppliers/concentration?" + url.Values{"service": {m.ID}, "by": {d.By}}.Encode()
			})
			if !ok {
				w.fail(rw, r, sc, err)
				return
			}
			d.Problem = p
			v := w.page(r, sc, "Concentration", "suppliers")
			v.D = d
			w.render(rw, r, http.StatusUnprocessableEntity, "supply_concentration", v)
			return
		}
		d.Service = res.Service
		d.Result = &res
		for _, g := range res.Groups {
			d.Rows = append(d.Rows, concRow{ConcentrationGroup: g, Band: supplyviz.HHIBand(g.HHI)})
		}
		sort.SliceStable(d.Rows, func(i, j int) bool { return d.Rows[i].HHI > d.Rows[j].HHI })
		d.Query = template.URL(url.Values{"service": {d.Service}, "by": {d.By}}.Encode())
		if err := w.concentrationTrend(ctx, sc, &d, q.Get("group")); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	if q.Get("done") == "snapshot" {
		d.Message = "Snapshot recorded: every service, region and ICB as they are now. It is the newest row of the trend."
	}
	v := w.page(r, sc, "Concentration", "suppliers")
	v.D = d
	w.render(rw, r, status, "supply_concentration", v)
}

// concentrationTrend fills the trend of the chosen group (nationally, the
// nation) from the recorded snapshots, for callers who may see them.
func (w *Web) concentrationTrend(ctx context.Context, sc scope.Scope, d *concentrationData, group string) error {
	// The domain refuses trends to anyone else (not found); asking it only
	// for national supply-chain managers keeps the page from offering
	// links that would 404.
	d.Trends = sc.National(scope.Supply)
	if !d.Trends {
		return nil
	}
	d.Group = cleanGroup(group)
	if d.By == "national" {
		d.Group = ""
	}
	if d.By != "national" && d.Group == "" {
		return nil
	}
	d.ShowTrend = true
	d.GroupName = "England"
	if d.Group != "" {
		d.GroupName = d.Group
	}
	names := map[string]string{}
	for _, g := range d.Result.Groups {
		if g.Code == d.Group || d.By == "national" {
			d.GroupName = g.Name
		}
		for _, sh := range g.Shares {
			names[sh.SupplierID] = sh.Name
		}
	}
	pts, err := w.o.Supply.Trend(ctx, sc, d.Service, supply.Level(d.By), d.Group)
	if err != nil {
		return err
	}
	name := w.supplierNames(ctx, sc, names)
	for _, p := range pts {
		row := trendRow{TrendPoint: p, When: p.TakenAt, Band: supplyviz.HHIBand(p.HHI), SupplierName: name(p.TopSupplierID)}
		if t, err := time.Parse(time.RFC3339Nano, p.TakenAt); err == nil {
			row.When = t.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		d.Trend = append(d.Trend, row)
	}
	d.TrendQuery = template.URL(trendValues(d.Service, d.By, d.Group).Encode())
	return nil
}

// cleanGroup keeps a region or ICB code: letters and digits, upper case,
// at most 16.
func cleanGroup(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 16 {
		return ""
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return ""
		}
	}
	return s
}

// readTrendQuery reads a trend's service, level and group (none nationally).
func readTrendQuery(v url.Values) (service, by, group string) {
	service = strings.TrimSpace(v.Get("service"))
	if len(service) > 128 {
		service = service[:128]
	}
	by = v.Get("by")
	if by != "region" && by != "national" {
		by = "icb"
	}
	if by != "national" {
		group = cleanGroup(v.Get("group"))
	}
	return service, by, group
}

func trendValues(service, by, group string) url.Values {
	v := url.Values{"service": {service}, "by": {by}}
	if group != "" {
		v.Set("group", group)
	}
	return v
}

// supplierNames names supplier IDs: from known, else looked up (a few
// dozen at most, for a trend's largest suppliers), else the ID itself.
func (w *Web) supplierNames(ctx context.Context, sc scope.Scope, known map[string]string) func(string) string {
	looked := 0
	return func(id string) string {
		if n, ok := known[id]; ok {
			return n
		}
		n := id
		if looked < 50 {
			looked++
			if sp, err := w.o.Supply.GetSupplier(ctx, sc, id); err == nil {
				n = sp.Name
			}
		}
		known[id] = n
		return n
	}
}

// supplySnapshot records the national concentration now and returns to
// the trend it was asked from. The domain checks the caller is a national
// supply-chain manager (anyone else gets not found) and audits it.
func (w *Web) supplySnapshot(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if _, err := w.o.Supply.RecordSnapshot(r.Context(), sc); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	_ = r.ParseForm() // the CSRF check has parsed it already; the values only say where to return
	service, by, group := readTrendQuery(r.PostForm)
	v := trendValues(service, by, group)
	if service == "" {
		v.Del("service")
	}
	v.Set("done", "snapshot")
	http.Redirect(rw, r, "/suppliers/concentration?"+v.Encode()+"#trend", http.StatusSeeOther)
}
