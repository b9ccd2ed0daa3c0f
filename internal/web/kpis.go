package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// The case KPI dashboard (issue 15): the cases service counts, over what
// the caller may read (cases.KPIs); this page draws simple bar charts as
// server-made SVG — no script, so the strict CSP holds — with the numbers
// in tables beneath each and a CSV download.

// KPISource is what the dashboard needs of the cases service.
type KPISource interface {
	KPIs(ctx context.Context, sc scope.Scope, f cases.KPIFilter) (cases.KPIs, error)
}

type kpiData struct {
	K        cases.KPIs
	Form     *form
	Query    string
	Charts   map[string]template.HTML
	Since    string
	Until    string
	Org      string
	HasCases bool
	// Findings: the stored vulnerability findings of the organisations'
	// own inventories (with those beneath Org) against their SLA.
	Findings []vuln.LevelKPI
}

// The page is the "Case KPIs" area (areas.go), at /cases/kpis.

func (w *Web) kpis(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := r.URL.Query()
	d := kpiData{Form: &form{Values: map[string]string{}, Errors: map[string]string{}}, Since: q.Get("since"), Until: q.Get("until"), Org: strings.TrimSpace(q.Get("org"))}
	f := cases.KPIFilter{Org: d.Org}
	day := func(field, v string, t *time.Time, end bool) {
		if v == "" {
			return
		}
		x, err := time.ParseInLocation("2006-01-02", v, w.o.Location)
		if err != nil {
			d.Form.Set(field, "Enter a date such as 2026-11-01")
			return
		}
		if end {
			x = x.AddDate(0, 0, 1) // the whole of the last day
		}
		*t = x
	}
	day("since", d.Since, &f.Since, false)
	day("until", d.Until, &f.Until, true)
	status := http.StatusOK
	if d.Form.OK() {
		k, err := w.o.KPIs.KPIs(r.Context(), sc, f)
		if err != nil {
			if !d.Form.fieldError(err, "since", "until", "org") {
				w.fail(rw, r, sc, err)
				return
			}
			status = http.StatusUnprocessableEntity
		} else {
			d.K = k
			d.HasCases = k.Total.Cases > 0 || len(k.FalsePositives) > 0
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	v := url.Values{}
	if !f.Since.IsZero() {
		v.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	if d.Org != "" {
		v.Set("org", d.Org)
	}
	d.Query = v.Encode()
	d.Charts = kpiCharts(d.K)
	if w.o.SBOMs != nil && d.Form.OK() {
		if ks, err := w.o.SBOMs.FindingKPIs(r.Context(), sc, vuln.FindingQuery{ICB: d.Org, Kind: vuln.KindInventory}); err == nil {
			for _, k := range ks {
				if k.Active+k.Acknowledged+k.RiskAccepted+k.Closed+k.Suppressed > 0 {
					d.Findings = ks
					break
				}
			}
		} else if !errors.Is(err, fault.ErrNotFound) {
			w.fail(rw, r, sc, err)
			return
		}
	}
	p := w.page(r, sc, "Case KPIs", "kpis")
	p.D = d
	w.render(rw, r, status, "kpis", p)
}

// bar is one bar of a chart.
type bar struct {
	Label string
	Value float64
	Text  string
}

// barChart draws horizontal bars as SVG. Labels are escaped; colours are
// presentation attributes, which the CSP allows (no style attribute).
func barChart(title string, bars []bar, max float64, colour string) template.HTML {
	if len(bars) == 0 {
		return ""
	}
	if max <= 0 {
		for _, b := range bars {
			max = maxf(max, b.Value)
		}
	}
	if max <= 0 {
		max = 1
	}
	const labelW, barW, rowH, width = 170.0, 290.0, 24.0, 600.0
	h := rowH*float64(len(bars)) + 8
	var s strings.Builder
	// Scales to its column (width 100%, height from the viewBox).
	fmt.Fprintf(&s, `<svg class="kpi-chart" role="img" aria-label="%s" viewBox="0 0 %.0f %.0f" width="100%%" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(title), width, h)
	for i, b := range bars {
		y := 4 + float64(i)*rowH
		wd := barW * b.Value / max
		label := b.Label
		if r := []rune(label); len(r) > 28 {
			label = string(r[:27]) + "…"
		}
		fmt.Fprintf(&s, `<text x="%.0f" y="%.1f" text-anchor="end" font-size="13" fill="#212b32">%s</text>`, labelW-8, y+16, html.EscapeString(label))
		fmt.Fprintf(&s, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="%s"/>`, labelW, y+3, maxf(wd, 1), rowH-8, colour)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" font-size="12" fill="#212b32">%s</text>`, labelW+maxf(wd, 1)+6, y+16, html.EscapeString(b.Text))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every text escaped above
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// durationText is under 1m, 45m, 3h 20m, 2d 4h; — for none.
func durationText(sec float64) string {
	if sec <= 0 {
		return "—"
	}
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < 30*time.Second:
		return "under 1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()+0.5))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

func kpiCharts(k cases.KPIs) map[string]template.HTML {
	out := map[string]template.HTML{}
	var vol, mtta, mttr, sla, fp []bar
	for _, g := range k.BySeverity {
		vol = append(vol, bar{g.Key, float64(g.Cases), fmt.Sprint(g.Cases)})
		mtta = append(mtta, bar{g.Key, g.MTTASeconds, durationText(g.MTTASeconds)})
		mttr = append(mttr, bar{g.Key, g.MTTRSeconds, durationText(g.MTTRSeconds)})
	}
	for _, r := range k.SLA {
		if r.Met+r.Missed > 0 {
			sla = append(sla, bar{string(r.Severity) + " " + r.Target, r.Rate * 100, fmt.Sprintf("%.0f%% (%d of %d)", r.Rate*100, r.Met, r.Met+r.Missed)})
		}
	}
	for _, r := range k.FalsePositives {
		fp = append(fp, bar{r.Source, r.Rate * 100, fmt.Sprintf("%.0f%% (%d of %d)", r.Rate*100, r.FalsePositive, r.Dispositioned)})
	}
	out["volume"] = barChart("Cases by severity", vol, 0, "#005eb8")
	out["mtta"] = barChart("Mean time to acknowledge by severity", mtta, 0, "#007f3b")
	out["mttr"] = barChart("Mean time to resolve by severity", mttr, 0, "#330072")
	out["sla"] = barChart("SLA compliance by severity and target", sla, 100, "#007f3b")
	out["fp"] = barChart("False-positive rate by alert source", fp, 100, "#d5281b")
	return out
}

// kpiDim is one breakdown table.
type kpiDim struct {
	ID, Name, Head string
	Groups         []cases.KPIGroup
}

// kpiFuncs are the template functions of the KPI page.
func kpiFuncs() template.FuncMap {
	return template.FuncMap{
		"duration":    durationText,
		"reportLinks": reportLinks,
		"kpiDims": func(k cases.KPIs) []kpiDim {
			return []kpiDim{{"severity", "severity", "Severity", k.BySeverity}, {"template", "template", "Template", k.ByTemplate},
				{"org", "organisation", "Organisation", k.ByOrg}, {"analyst", "analyst", "Assignee", k.ByAnalyst}}
		},
	}
}
