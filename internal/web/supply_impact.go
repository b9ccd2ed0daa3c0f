package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// The blast-radius page: the question form (with its suggestions), and
// the answer — totals, where, the affected organisations with the paths
// that explain them, the affected products — or what an organisation
// depends on. Everything it shows comes from one answer of the supply
// service, which names every node it mentions: the page reads nothing
// else (before, every view read the whole supplier and product tables
// for its suggestions and looked up group parents one query at a time).

type impactData struct {
	By      string
	Q       string
	Kinds   []kindChoice
	Query   template.URL // canonical query string (url.Values.Encode)
	Title   string
	Node    string
	Problem problemView
	Result  *supply.ImpactResult
	Rows    []impactRow
	// Listed says how many organisations the page lists.
	Listed   string
	Depends  *supply.DependsResult
	DepRows  []dependsRow
	MapLevel string
	HasMap   bool
	Rep      bool
	Choices  []supply.Match
}

type impactRow struct {
	supply.AffectedOrg
	Paths []pathView
	More  int
}

type dependsRow struct {
	supply.DependedProduct
	Paths []pathView
}

// pathView is a supply.PathTree in words: each step named, each end with
// what the path's deployment is.
type pathView struct {
	Steps    []string
	Detail   string
	Critical bool
	Branches []pathView
}

// pathViews names trees' steps from names and describes each end with
// detail (nil: no detail).
func pathViews(trees []supply.PathTree, names map[string]string, detail func(i int) (string, bool)) []pathView {
	out := make([]pathView, len(trees))
	for k, t := range trees {
		pv := pathView{Steps: make([]string, len(t.Steps)), Branches: pathViews(t.Branches, names, detail)}
		for i, s := range t.Steps {
			pv.Steps[i] = nodeLabel(s, names)
		}
		var ds []string
		for _, e := range t.Ends {
			if detail == nil {
				continue
			}
			d, crit := detail(e)
			ds = appendOnce(ds, d)
			pv.Critical = pv.Critical || crit
		}
		pv.Detail = strings.Join(ds, "; ")
		out[k] = pv
	}
	return out
}

// nodeLabel is a path node's name from the answer, else its ID.
func nodeLabel(node string, names map[string]string) string {
	if n := names[node]; n != "" {
		return n
	}
	_, id, _ := strings.Cut(node, ":")
	return id
}

// impactKinds are the questions the form offers: a supplier's
// representative reads no organisations, so not the reverse question.
func impactKinds(rep bool) []kindChoice {
	ks := []kindChoice{{supply.KindSupplier, "A supplier is compromised"}, {supply.KindProduct, "A product or service is compromised"},
		{supply.KindCVE, "A vulnerability (CVE) is exploited"}}
	if !rep {
		ks = append(ks, kindChoice{supply.KindOrg, "Reverse: what an organisation depends on"})
	}
	return ks
}

func impactHref(page string) func(supply.Match) string {
	return func(m supply.Match) string { return page + "?" + impactValues(m.Kind, m.ID).Encode() }
}

func (w *Web) supplyImpact(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	f := readImpactForm(r.URL.Query())
	d := impactData{By: string(f.By), Q: f.Q, Rep: isRepOnly(sc), MapLevel: "icb", HasMap: w.o.Boundaries != nil}
	d.Kinds = impactKinds(d.Rep)
	if r.URL.Query().Get("level") == "region" {
		d.MapLevel = "region"
	}
	status := http.StatusOK
	v := w.page(r, sc, "Blast radius", "suppliers")
	var err error
	switch {
	case f.Req.Empty():
	case f.Err != nil:
		err = f.Err
	case f.Req.Reverse():
		var res supply.DependsResult
		if res, err = w.o.Supply.DependsOn(ctx, sc, f.Req.Org); err == nil {
			d.showDepends(&res)
		}
	default:
		var res supply.ImpactResult
		if res, err = w.impactPage(ctx, sc, f.Req.Query); err == nil {
			d.showImpact(&res)
		}
	}
	if err != nil {
		p, ok := w.formProblem(ctx, sc, err, impactHref("/suppliers/impact"))
		if !ok {
			w.fail(rw, r, sc, err)
			return
		}
		// The form again, as it was filled in, saying what is wrong.
		d.Problem, status = p, http.StatusUnprocessableEntity
	}
	if d.Result == nil && d.Depends == nil {
		d.Choices = w.choices(ctx, sc, f.By, f.Q)
	} else {
		d.Choices = w.choices(ctx, sc, f.By, "")
	}
	v.D = d
	w.render(rw, r, status, "supply_impact", v)
}

// showImpact puts a blast radius on the page.
func (d *impactData) showImpact(res *supply.ImpactResult) {
	d.Result = res
	kind, id := supply.ImpactRequest{Query: res.Query}.Field()
	d.By, d.Q = string(kind), id
	d.Query = template.URL(impactValues(kind, id).Encode())
	if kind != supply.KindCVE {
		d.Node = string(kind) + ":" + id
	}
	d.Title = res.Headline()
	d.Listed = resultCount(len(res.Affected), res.Totals.Organisations)
	for _, a := range res.Affected {
		row := impactRow{AffectedOrg: a, More: a.PathCount - len(a.Paths)}
		// Every path ends at the row's organisation: shown once, as the row.
		paths := make([][]string, len(a.Paths))
		for i, p := range a.Paths {
			paths[i] = p
			if n := len(p); n > 1 && p[n-1] == "org:"+a.ODS {
				paths[i] = p[:n-1]
			}
		}
		row.Paths = pathViews(supply.GroupPaths(paths), res.Names, func(i int) (string, bool) {
			if i >= len(a.PathDetails) {
				return "", false
			}
			pd := a.PathDetails[i]
			s := supply.ServiceLabel(pd.Service) + ", " + string(pd.Criticality)
			if pd.Fallback {
				s += ", has a fallback"
			} else {
				s += ", no fallback"
			}
			if !pd.Critical {
				s += ", not critical"
			}
			return s, pd.Critical
		})
		d.Rows = append(d.Rows, row)
	}
}

// showDepends puts what an organisation depends on on the page.
func (d *impactData) showDepends(res *supply.DependsResult) {
	d.Depends = res
	d.By, d.Q = string(supply.KindOrg), res.Org.ODS
	d.Query = template.URL(impactValues(supply.KindOrg, res.Org.ODS).Encode())
	d.Node = "org:" + res.Org.ODS
	d.Title = fmt.Sprintf("What %s (%s) depends on", res.Org.Name, res.Org.ODS)
	for _, p := range res.Products {
		// Every path starts at the organisation the page is about.
		paths := make([][]string, len(p.Paths))
		for i, x := range p.Paths {
			paths[i] = x
			if len(x) > 1 && x[0] == d.Node {
				paths[i] = x[1:]
			}
		}
		d.DepRows = append(d.DepRows, dependsRow{DependedProduct: p, Paths: pathViews(supply.GroupPaths(paths), res.Names, nil)})
	}
}

// impactPage is the part of q's blast radius the page shows: the worst
// organisations and nearest products, Options.ImpactPageRows of each,
// with whole totals.
func (w *Web) impactPage(ctx context.Context, sc scope.Scope, q supply.Query) (supply.ImpactResult, error) {
	st, err := w.o.Supply.OpenImpact(ctx, sc, q, w.o.ImpactPageRows)
	if err != nil {
		return supply.ImpactResult{}, err
	}
	defer st.Close()
	return st.Result(w.o.ImpactPageRows), nil
}

// resultCount says how many organisations the page lists, for its
// heading: "3 organisations, worst first", "The worst 500 of 9,950
// organisations".
func resultCount(listed, total int) string {
	if listed < total {
		return fmt.Sprintf("The worst %s of %s", phrase.Int(listed), phrase.Count(total, "organisation", ""))
	}
	return phrase.Count(listed, "organisation", "") + ", worst first"
}
