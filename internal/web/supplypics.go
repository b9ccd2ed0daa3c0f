package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/supplyviz"
)

// Pictures and downloads of the Suppliers area. Pictures render from the
// same scoped results as the pages; with download=1 they are sent as
// attachments and recorded in the audit log as exports, like the CSV and
// JSON downloads of a blast radius.

// orgInfo is what a graph needs to know about an organisation node.
type orgInfo struct {
	Type, ICB, ICBName string
}

// graphScene builds the picture of g. Organisation nodes get their type
// and ICB (from the impact result when the centre can be compromised,
// otherwise looked up, at most a few hundred), so large sets aggregate by
// ICB; interactive pictures link each node to the graph recentred on it.
func (w *Web) graphScene(ctx context.Context, sc scope.Scope, g supply.Graph, interactive bool) *supplyviz.Scene {
	info := map[string]orgInfo{}
	kind, id, _ := strings.Cut(g.Center, ":")
	var q supply.Query
	switch kind {
	case "supplier":
		q.Supplier = id
	case "product":
		q.Product = id
	}
	if q != (supply.Query{}) {
		if st, err := w.o.Supply.OpenImpact(ctx, sc, q, 0); err == nil {
			drawn := map[string]bool{}
			for _, n := range g.Nodes {
				drawn[n.ID] = n.Kind == "org"
			}
			for a := range st.Affected() {
				if id := "org:" + a.ODS; drawn[id] {
					info[id] = orgInfo{Type: a.Type, ICB: a.ICB, ICBName: a.ICBName}
				}
			}
			st.Close()
		}
	}
	icbNames := map[string]string{}
	looked := 0
	for _, n := range g.Nodes {
		if n.Kind != "org" {
			continue
		}
		if _, ok := info[n.ID]; ok || looked >= 300 {
			continue
		}
		looked++
		o, err := w.o.Orgs.Get(ctx, sc, strings.TrimPrefix(n.ID, "org:"))
		if err != nil {
			continue
		}
		oi := orgInfo{Type: string(o.Type), ICB: o.ICB}
		if o.ICB != "" {
			if nm, ok := icbNames[o.ICB]; ok {
				oi.ICBName = nm
			} else if ic, err := w.o.Orgs.Get(ctx, sc, o.ICB); err == nil {
				oi.ICBName, icbNames[o.ICB] = ic.Name, ic.Name
			}
		}
		info[n.ID] = oi
	}
	o := supplyviz.GraphOptions{
		Footer: fmt.Sprintf("Source: Vigil supplier register (generation %d), drawn %s. Only what the viewer may see is shown.", g.Generation, time.Now().UTC().Format("2 January 2006")),
		Group: func(id string) (string, string) {
			oi := info[id]
			if oi.ICB == "" {
				return "", ""
			}
			n := oi.ICBName
			if n == "" {
				n = oi.ICB
			}
			return oi.ICB, n
		},
		Caption: func(n supply.GraphNode) string {
			switch n.Kind {
			case "org":
				oi := info[n.ID]
				c := "Organisation"
				if oi.Type != "" {
					c = typeLabel(org.Type(oi.Type))
				}
				if oi.ICB != "" {
					c += " · " + oi.ICB
				}
				return c
			case "supplier":
				return "Supplier · " + strings.TrimPrefix(n.ID, "supplier:")
			case "product":
				return "Product · " + strings.TrimPrefix(n.ID, "product:")
			}
			return ""
		},
	}
	if interactive {
		o.Link = func(id string) string { return "/suppliers/graph?" + graphQuery(id, g.Depth) }
	}
	return supplyviz.GraphPicture(g, o)
}

// inlineSVG prints s for embedding in a page. The printer escapes every
// text and attribute and writes no script or style, so the markup is safe
// to trust.
//
// It asks for its own size times supplyviz.PhoneScale: the stylesheet fits
// it to the column on wide screens, and on a phone shows it at that size
// (scrolling sideways), so its smallest text reads at 13 px.
func inlineSVG(s *supplyviz.Scene, prefix string) (template.HTML, error) {
	var buf bytes.Buffer
	if err := supplyviz.WriteSVG(&buf, s, supplyviz.SVGOptions{Inline: true, IDPrefix: prefix, Scale: supplyviz.PhoneScale(s)}); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

// mapBuild is a map picture's inputs, shared by the map page and the
// picture endpoints.
type mapBuild struct {
	view       string
	level      geo.Level
	query      string
	form       impactForm
	node       string // the question's node (supplier:ID, product:ID or cve:ID), for file names
	service    string
	bounds     []geo.Boundary
	opts       supplyviz.MapOptions
	groupNames map[string]string
	// empty: nothing asked yet. Error: what the form lacks. Neither is a
	// failure; the page shows its form, a picture answers 400.
	empty bool
	Error string
}

// buildMap reads a map question and draws its inputs. What the supply
// service refuses — an invalid question, a name that names nothing — is
// returned as its error, for the page to show with the form and for the
// picture to answer with its status.
func (w *Web) buildMap(ctx context.Context, sc scope.Scope, v url.Values) (mapBuild, error) {
	m := mapBuild{view: "impact", level: geo.LevelICB, groupNames: map[string]string{}}
	if v.Get("view") == "concentration" || (v.Get("view") == "" && v.Get("service") != "") {
		m.view = "concentration"
	}
	if v.Get("level") == "region" {
		m.level = geo.LevelRegion
	}
	byWord := "ICB"
	if m.level == geo.LevelRegion {
		byWord = "region"
	}
	if w.o.Boundaries != nil {
		bs, err := w.o.Boundaries.Load(ctx, m.level)
		if err != nil {
			return m, err
		}
		m.bounds = bs
	}
	mapped := map[string]bool{}
	for _, b := range m.bounds {
		mapped[b.Code] = true
	}
	o := supplyviz.MapOptions{Values: map[string]supplyviz.MapValue{}}
	switch m.view {
	case "concentration":
		m.service = strings.TrimSpace(v.Get("service"))
		if m.service == "" {
			m.Error = "Choose a service."
			break
		}
		res, err := w.o.Supply.Concentration(ctx, sc, m.service, supply.Level(m.level))
		if err != nil {
			return m, err
		}
		m.service = res.Service
		m.query = url.Values{"view": {"concentration"}, "service": {res.Service}, "level": {string(m.level)}}.Encode()
		label := supply.ServiceLabel(res.Service)
		o.Title = fmt.Sprintf("Concentration of %s by %s", label, byWord)
		o.Subtitle = "Herfindahl–Hirschman index of supplier shares among the organisations using the service"
		o.LegendTitle = "Concentration (HHI)"
		o.Bins = supplyviz.HHIBins()
		o.NoData = "No organisations using it (that you can see)"
		o.NoDataHatch = true
		unmapped := 0
		for _, g := range res.Groups {
			m.groupNames[g.Code] = g.Name
			detail := fmt.Sprintf("HHI %s, %s; %s", thousandsInt(g.HHI), strings.ToLower(supplyviz.HHIBand(g.HHI)), phrase.Count(g.Organisations, "organisation", ""))
			if len(g.Shares) > 0 {
				detail += fmt.Sprintf("; largest %s %s", g.Shares[0].Name, percent(g.Shares[0].Share))
			}
			o.Values[g.Code] = supplyviz.MapValue{Value: g.HHI, Label: thousandsInt(g.HHI), Detail: detail}
			if !mapped[g.Code] {
				unmapped += g.Organisations
			}
		}
		if unmapped > 0 && len(m.bounds) > 0 {
			o.Unmapped = append(o.Unmapped, fmt.Sprintf("%s in no mapped %s", phrase.Count(unmapped, "organisation", ""), byWord))
		}
	default:
		m.form = readImpactForm(v)
		switch f := m.form; {
		case f.Req.Empty():
			m.empty = true
		case f.Err != nil:
			return m, f.Err
		case f.Req.Reverse():
			m.Error = "A map shows who a compromise reaches: choose a supplier, product or CVE (an organisation's own dependencies are on the blast-radius page)."
		}
		if m.empty || m.Error != "" {
			break
		}
		// The map needs only the totals: computed when the stream opens,
		// with no organisation or path built.
		st, err := w.o.Supply.OpenImpact(ctx, sc, m.form.Req.Query, 0)
		if err != nil {
			return m, err
		}
		res := st.Summary()
		st.Close()
		kind, id := supply.ImpactRequest{Query: res.Query}.Field()
		m.form.By, m.form.Q, m.node = kind, id, string(kind)+":"+id
		metric := v.Get("metric")
		qv := impactValues(kind, id)
		qv.Set("level", string(m.level))
		if metric == "population" || metric == "hard-down" {
			qv.Set("metric", metric)
		}
		m.query = qv.Encode()
		groups := res.Totals.ByICB
		if m.level == geo.LevelRegion {
			groups = res.Totals.ByRegion
		}
		what := strings.TrimPrefix(res.Headline(), "If ")
		o.Subtitle = fmt.Sprintf("%s affected: %s hard-down, %s degraded, %s exposed", phrase.Count(res.Totals.Organisations, "organisation", ""),
			phrase.Int(res.Totals.HardDown), phrase.Int(res.Totals.Degraded), phrase.Int(res.Totals.Exposed))
		maxV := 0
		unmapped := 0
		for _, g := range groups {
			m.groupNames[g.Code] = g.Name
			detail := fmt.Sprintf("%s affected: %s hard-down, %s degraded, %s exposed", phrase.Int(g.Organisations), phrase.Int(g.HardDown), phrase.Int(g.Degraded), phrase.Int(g.Exposed))
			if g.Population > 0 {
				detail += fmt.Sprintf("; %s registered patients", phrase.Int(g.Population))
			}
			if g.Code == "" || !mapped[g.Code] {
				unmapped += g.Organisations
				if g.Code == "" {
					continue
				}
			}
			val := supplyviz.MapValue{Value: float64(g.Organisations), Label: phrase.Int(g.Organisations), Detail: detail}
			switch metric {
			case "hard-down":
				val.Value, val.Label = float64(g.HardDown), phrase.Int(g.HardDown)
				if g.HardDown == 0 {
					continue
				}
			case "population":
				if g.RegisteredPopulation <= 0 {
					continue
				}
				share := float64(g.Population) / float64(g.RegisteredPopulation)
				val.Value, val.Label = share, percent(share)
			}
			maxV = max(maxV, int(val.Value))
			o.Values[g.Code] = val
		}
		switch metric {
		case "hard-down":
			o.Title = fmt.Sprintf("Organisations hard-down if %s, by %s", what, byWord)
			o.LegendTitle = "Hard-down organisations"
			o.Bins = supplyviz.CountBins(max(1, maxV))
			o.NoData = "None hard-down"
		case "population":
			o.Title = fmt.Sprintf("Share of registered patients affected if %s, by %s", what, byWord)
			o.LegendTitle = "Registered population affected"
			o.Bins = supplyviz.ShareBins()
			o.NoData = "Not affected, or population not known"
		default:
			o.Title = fmt.Sprintf("Organisations affected if %s, by %s", what, byWord)
			o.LegendTitle = "Affected organisations"
			o.Bins = supplyviz.CountBins(max(1, maxV))
			o.NoData = "Not affected"
		}
		if unmapped > 0 && len(m.bounds) > 0 {
			o.Unmapped = append(o.Unmapped, fmt.Sprintf("%s with no mapped %s", phrase.Count(unmapped, "affected organisation", ""), byWord))
		}
	}
	o.Footer = fmt.Sprintf("Source: Vigil supplier register, drawn %s. Only organisations the viewer may see are counted.", time.Now().UTC().Format("2 January 2006"))
	m.opts = o
	return m, nil
}

func percent(f float64) string { return phrase.Percent(f) }

func thousandsInt(v float64) string { return phrase.Round(v) }

// safeName keeps letters, digits, '-' and '_' for a download's file name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// supplyPicture serves one picture as SVG or PNG.
func (w *Web) supplyPicture(name, ext string) func(http.ResponseWriter, *http.Request, scope.Scope) {
	return func(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
		ctx := r.Context()
		q := r.URL.Query()
		var s *supplyviz.Scene
		var file string
		// phone=1 asks for the variant a page offers narrow screens.
		phone := q.Get("phone") == "1"
		scale := 1.0
		switch name {
		case "graph":
			node, depth := readGraphQuery(q)
			g, err := w.o.Supply.Neighbourhood(ctx, sc, node, depth)
			if err != nil {
				w.pictureFail(rw, r, sc, err)
				return
			}
			s = w.graphScene(ctx, sc, g, false)
			if phone {
				scale = supplyviz.PhoneScale(s)
			}
			file = fmt.Sprintf("vigil-graph-%s-depth%d", safeName(node), depth)
		case "map":
			m, err := w.buildMap(ctx, sc, q)
			if err != nil {
				w.pictureFail(rw, r, sc, err)
				return
			}
			if m.empty {
				m.Error = "Choose a supplier, product or CVE."
			}
			if m.Error != "" {
				http.Error(rw, m.Error, http.StatusBadRequest)
				return
			}
			if phone {
				s = supplyviz.MapPicturePhone(m.bounds, m.opts)
			} else {
				s = supplyviz.MapPicture(m.bounds, m.opts)
			}
			file = "vigil-map-" + safeName(m.view+"-"+m.node+m.service+"-"+string(m.level))
		case "concentration":
			by := q.Get("by")
			if by != "region" && by != "national" {
				by = "icb"
			}
			res, err := w.o.Supply.Concentration(ctx, sc, q.Get("service"), supply.Level(by))
			if err != nil {
				w.pictureFail(rw, r, sc, err)
				return
			}
			co := supplyviz.ChartOptions{Footer: fmt.Sprintf("Source: Vigil supplier register (generation %d), drawn %s.", res.Generation, time.Now().UTC().Format("2 January 2006"))}
			chart := "shares"
			draw := supplyviz.SharesChart
			if q.Get("chart") == "hhi" {
				chart = "hhi"
				draw = supplyviz.HHIChart
				if phone {
					draw = supplyviz.HHIChartPhone
				}
			} else if phone {
				draw = supplyviz.SharesChartPhone
			}
			s = draw(res, co)
			file = "vigil-concentration-" + safeName(res.Service+"-"+by+"-"+chart)
		case "trend":
			service, by, group := readTrendQuery(q)
			pts, err := w.o.Supply.Trend(ctx, sc, service, supply.Level(by), group)
			if err != nil {
				w.pictureFail(rw, r, sc, err)
				return
			}
			place := "England"
			if group != "" {
				place = group
				if o, err := w.o.Orgs.Get(ctx, sc, group); err == nil {
					place = supplyviz.ShortArea(o.Name) + " (" + group + ")"
				}
			}
			names := map[string]string{}
			name := w.supplierNames(ctx, sc, names)
			for _, p := range pts {
				name(p.TopSupplierID)
			}
			draw := supplyviz.TrendChart
			if phone {
				draw = supplyviz.TrendChartPhone
			}
			s = draw(pts, supplyviz.ChartOptions{
				Title:    fmt.Sprintf("Concentration of %s in %s over time", supply.ServiceLabel(service), place),
				Subtitle: "HHI and the largest supplier group's share at each recorded snapshot",
				Footer:   fmt.Sprintf("Source: Vigil concentration snapshots, drawn %s.", time.Now().UTC().Format("2 January 2006")),
				Names:    names,
			})
			file = "vigil-trend-" + safeName(service+"-"+by+"-"+group)
		}
		var buf bytes.Buffer
		var err error
		ctype := "image/svg+xml"
		if ext == "png" {
			ctype = "image/png"
			err = supplyviz.WritePNG(&buf, s, 2)
		} else {
			err = supplyviz.WriteSVG(&buf, s, supplyviz.SVGOptions{Scale: scale})
		}
		if err != nil {
			w.serverError(rw, r, &sc, err)
			return
		}
		disp := "inline"
		if q.Get("download") == "1" {
			disp = "attachment"
			if err := w.o.Audit.Record(ctx, sc, audit.Change{Action: "export", ObjectType: "supply_picture", ObjectID: file + "." + ext, Org: audit.CallerOrg(sc),
				After: map[string]string{"picture": name, "format": ext, "query": r.URL.RawQuery}}); err != nil {
				w.serverError(rw, r, &sc, fmt.Errorf("audit picture export: %w", err))
				return
			}
		}
		h := rw.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s.%s"`, disp, file, ext))
		_, _ = rw.Write(buf.Bytes()) // a failed write: the client has gone
	}
}

// pictureFail answers an error for an image: a 404 or 400 with a short
// text body (an <img> shows its alt text), or the error page for a 500.
func (w *Web) pictureFail(rw http.ResponseWriter, r *http.Request, sc scope.Scope, err error) {
	var ve *fault.Invalid
	if errors.As(err, &ve) {
		http.Error(rw, sentence(ve.Reason), http.StatusBadRequest)
		return
	}
	w.fail(rw, r, sc, err)
}

// ---- blast-radius downloads ----

func (w *Web) supplyImpactDownload(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	v := r.URL.Query()
	format := v.Get("format")
	if format != "json" {
		format = "csv"
	}
	f := readImpactForm(v)
	if f.Err != nil {
		w.errorPage(rw, r, &sc, http.StatusBadRequest, "")
		return
	}
	q := f.Req
	var err error
	// writeJSON and writeCSV send the answer; they fail only when the
	// client has gone or the answer cannot be encoded, after the status.
	var rows int
	var writeJSON func() error
	var writeCSV func(io.Writer) error
	var node string // the question as resolved, for the file name and the audit entry
	if q.Reverse() {
		res, err := w.o.Supply.DependsOn(ctx, sc, q.Org)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		node = "org:" + res.Org.ODS
		rows = len(res.Products)
		writeJSON = func() error {
			enc := json.NewEncoder(rw)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}
		writeCSV = func(w io.Writer) error { return supply.WriteDependsCSV(w, res) }
	} else {
		// Streamed: the national answer for a large supplier is tens of
		// megabytes, written one organisation at a time.
		st, err := w.o.Supply.OpenImpact(ctx, sc, q.Query, 0)
		if err != nil {
			var ve *fault.Invalid
			if errors.As(err, &ve) {
				w.errorPage(rw, r, &sc, http.StatusBadRequest, "")
				return
			}
			w.fail(rw, r, sc, err)
			return
		}
		defer st.Close()
		kind, id := supply.ImpactRequest{Query: st.Summary().Query}.Field()
		node = string(kind) + ":" + id
		rows = st.Len()
		writeJSON = func() error { return st.WriteJSON(rw, "  ") }
		writeCSV = st.WriteCSV
	}
	kind, id, _ := strings.Cut(node, ":")
	file := "vigil-impact-" + safeName(kind+"-"+id)
	// Record the export before sending it: an export that cannot be
	// audited is not sent. An organisation's dependencies are filed under
	// that organisation (its auditors see who took them); a supplier's,
	// product's or CVE's blast radius under the caller's own.
	filed := audit.CallerOrg(sc)
	if kind == "org" {
		filed = id
	}
	if err := w.o.Audit.Record(ctx, sc, audit.Change{Action: "export", ObjectType: "supply_impact", ObjectID: file + "." + format, Org: filed,
		After: map[string]any{"query": impactValues(supply.Kind(kind), id).Encode(), "format": format, "rows": rows}}); err != nil {
		w.serverError(rw, r, &sc, fmt.Errorf("audit impact export: %w", err))
		return
	}
	h := rw.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, file, format))
	if format == "json" {
		h.Set("Content-Type", "application/json")
		err = writeJSON()
	} else {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		// Formulas are neutralised by the supply package's writers, the
		// same rule as every CSV the CLI writes.
		err = writeCSV(rw)
	}
	if err != nil {
		// The status is sent: cut the response so the client sees it
		// incomplete rather than a truncated file passed off as whole.
		w.log.Warn("impact download cut", "request_id", httpd.RequestID(ctx), "err", err)
		panic(http.ErrAbortHandler)
	}
}
