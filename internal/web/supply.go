package web

import (
	"context"
	"errors"
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// The Suppliers area: the register, blast radius, concentration, the
// dependency graph and maps, over the supply service, one file per page
// (supply_*.go; pictures and downloads in supplypics.go, uploads in
// supplyimport.go). Every read goes through the caller's Scope in the
// service; anything outside it is 404. Every rule — what a question is,
// how a typed name is found, what may be suggested — is the supply
// package's; these handlers read the form, call it and render. Without
// Options.Supply the area keeps its placeholder page.
//
// The pages stay in package web rather than web/supply: they are drawn
// in the frame (page, render, fail, the embedded templates), which lives
// here, so a subpackage would need the frame split out first.

// registerSupply adds the Suppliers area's routes.
func (w *Web) registerSupply(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/suppliers/register", authd, "Supplier register: suppliers and their products", w.supplyRegister)
	h("GET", "/suppliers/s/{id}", authd, "One supplier: products, dependencies, who deploys them", w.supplierPage)
	h("GET", "/suppliers/p/{id}", authd, "One product: dependencies, dependents, deployments", w.productPage)
	h("GET", "/suppliers/impact", authd, "Blast radius of a compromised supplier or product, or an exploited CVE; what an organisation depends on", w.supplyImpact)
	h("GET", "/suppliers/impact/download", authd, "Download a blast-radius result as CSV or JSON (audited export)", w.supplyImpactDownload)
	h("GET", "/suppliers/concentration", authd, "Market concentration of a service by ICB or region, and its trend over recorded snapshots", w.supplyConcentration)
	h("POST", "/suppliers/concentration/snapshots", authd, "Record a concentration snapshot now (national supply-chain managers; audited)", w.supplySnapshot)
	h("GET", "/suppliers/graph", authd, "Interactive dependency graph around a node", w.supplyGraph)
	h("GET", "/suppliers/map", authd, "Map of impact or concentration by ICB or region", w.supplyMap)
	for _, p := range []struct{ name, summary string }{
		{"graph", "Dependency graph picture"}, {"map", "Map picture"}, {"concentration", "Concentration chart"},
		{"trend", "Concentration trend chart over recorded snapshots"},
	} {
		for _, ext := range []string{"svg", "png"} {
			h("GET", "/suppliers/pictures/"+p.name+"."+ext, authd, p.summary+" as "+strings.ToUpper(ext)+" (download=1 is an audited export)", w.supplyPicture(p.name, ext))
		}
	}
	h("GET", "/suppliers/import", authd, "Supplier register upload form", w.supplyImportForm)
	h("POST", "/suppliers/import", authd, "Check or import supplier register CSV or JSON files", w.supplyImport)
	h("GET", "/suppliers/boundaries", authd, "Map boundaries: what is loaded, and the upload form", w.supplyBoundariesForm)
	h("POST", "/suppliers/boundaries", authd, "Check or import ONS boundary GeoJSON", w.supplyBoundaries)
}

// supplyFuncs are the template functions of the Suppliers area's words
// and numbers, all from phrase and supply.
func supplyFuncs() template.FuncMap {
	return template.FuncMap{
		// count writes "1 organisation", "2,500 organisations"; a
		// third argument is an irregular plural.
		"count": func(n any, singular string, plural ...string) string {
			p := ""
			if len(plural) > 0 {
				p = plural[0]
			}
			return phrase.Count(toInt64(n), singular, p)
		},
		// people writes a registered population, "unknown" when none is
		// registered (which is not nobody).
		"people":  func(n any) string { return phrase.People(toInt64(n)) },
		"service": supply.ServiceLabel,
		"services": func(slugs []string) string {
			out := make([]string, len(slugs))
			for i, s := range slugs {
				out[i] = supply.ServiceLabel(s)
			}
			return strings.Join(out, ", ")
		},
		// impactRank orders impact classes for sorting: worst first.
		"impactRank": func(i supply.Impact) int {
			switch i {
			case supply.HardDown:
				return 0
			case supply.Degraded:
				return 1
			}
			return 2
		},
		// list passes several values to a template.
		"list": func(xs ...any) []any { return xs },
		// sortKey is a number as a data-sort attribute: its raw value.
		"sortKey": func(n any) string {
			if f, ok := n.(float64); ok {
				return strconv.FormatFloat(f, 'f', -1, 64)
			}
			return strconv.FormatInt(toInt64(n), 10)
		},
	}
}

func toInt64(n any) int64 {
	switch x := n.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

// isRepOnly reports whether every grant of sc is a supplier
// representative's: they see their own products and no organisations.
func isRepOnly(sc scope.Scope) bool {
	if len(sc.Grants) == 0 {
		return false
	}
	for _, g := range sc.Grants {
		if g.Role != scope.SupplierRep {
			return false
		}
	}
	return true
}

func appendOnce(xs []string, s string) []string {
	for _, x := range xs {
		if x == s {
			return xs
		}
	}
	return append(xs, s)
}

// ---- the question forms: what was typed, what it found, what to suggest ----

// kindChoice is one option of a form's "what" select.
type kindChoice struct {
	Value supply.Kind
	Label string
}

// impactForm is a blast-radius question as a page received it: from a
// link (supplier=, product=, cve= or org=) or from the form (by= and q=).
// By and Q are shown again whatever happened; Req and Err are the supply
// package's reading of it.
type impactForm struct {
	By  supply.Kind
	Q   string
	Req supply.ImpactRequest
	Err error
}

func readImpactForm(v url.Values) impactForm {
	var f impactForm
	f.Req, f.Err = supply.NewImpactRequest(v.Get("supplier"), v.Get("product"), v.Get("cve"), v.Get("org"), 0)
	if f.Req.Empty() {
		f.By, f.Q = supply.Kind(v.Get("by")), strings.TrimSpace(v.Get("q"))
		var s, p, c, o string
		switch f.By {
		case supply.KindProduct:
			p = f.Q
		case supply.KindCVE:
			c = f.Q
		case supply.KindOrg:
			o = f.Q
		default:
			f.By, s = supply.KindSupplier, f.Q
		}
		f.Req, f.Err = supply.NewImpactRequest(s, p, c, o, 0)
		return f
	}
	f.By, f.Q = f.Req.Field()
	return f
}

// values is the canonical query string of a resolved question.
func impactValues(kind supply.Kind, id string) url.Values {
	return url.Values{string(kind): {id}}
}

// missView is a field that named nothing: what was typed, and links to
// what the caller may have meant.
type missView struct {
	Noun, Text  string
	Suggestions []suggestionLink
	// Elsewhere are things of another kind that the text names outright
	// ("DEMO-LIMS is a product").
	Elsewhere []suggestionLink
}

type suggestionLink struct {
	supply.Match
	Noun, Href string
	Sep        string // what comes before it in a list: "", ", " or " or "
}

// problemView is what a question form says is wrong: a field that could
// not be read (Error) or that named nothing (Miss).
type problemView struct {
	Error string
	Miss  *missView
}

// formProblem reads err from the supply service for a question form:
// invalid and missed are the form's to show (ok); anything else is for
// fail. href makes a suggestion's link.
func (w *Web) formProblem(ctx context.Context, sc scope.Scope, err error, href func(supply.Match) string) (problemView, bool) {
	var inv *fault.Invalid
	var m *supply.Miss
	switch {
	case errors.As(err, &m):
		mv := &missView{Noun: m.Kind.Noun(), Text: m.Text}
		for i, s := range m.Suggestions {
			mv.Suggestions = append(mv.Suggestions, suggestionLink{Match: s, Noun: s.Kind.Noun(), Href: href(s), Sep: listSep(i, len(m.Suggestions))})
		}
		// The same words may name a thing of another kind outright
		// (a product typed as a supplier), for the questions that take
		// all three.
		for _, k := range []supply.Kind{supply.KindSupplier, supply.KindProduct, supply.KindOrg} {
			if k == m.Kind || m.Kind == supply.KindService {
				continue
			}
			if x, err := w.o.Supply.Lookup(ctx, sc, k, m.Text); err == nil {
				mv.Elsewhere = append(mv.Elsewhere, suggestionLink{Match: x, Noun: k.Noun(), Href: href(x)})
			}
		}
		return problemView{Miss: mv}, true
	case errors.As(err, &inv):
		return problemView{Error: sentence(inv.Reason) + "."}, true
	}
	return problemView{}, false
}

func listSep(i, n int) string {
	switch {
	case i == 0:
		return ""
	case i == n-1:
		return " or "
	}
	return ", "
}

// choices are the suggestions a form's field offers with the page (a
// <datalist>, which browsers show as the field is typed in, no script
// needed): the best matches for what was typed, then the most used, at
// most maxChoices, all of them things the caller may see.
func (w *Web) choices(ctx context.Context, sc scope.Scope, kind supply.Kind, typed string) []supply.Match {
	const maxChoices, forTyped = 50, 25
	var out []supply.Match
	seen := map[string]bool{}
	add := func(text string, n int) {
		ms, err := w.o.Supply.Suggest(ctx, sc, kind, text, n)
		// Text no search may hold was reported with the form already and
		// has no suggestions. Anything else goes to the log: the page is
		// still useful without them.
		if err != nil && fault.Status(err) >= 500 {
			w.log.Warn("supply suggestions", "request_id", httpd.RequestID(ctx), "err", err)
		}
		for _, m := range ms {
			if !seen[m.ID] && len(out) < maxChoices {
				seen[m.ID] = true
				out = append(out, m)
			}
		}
	}
	if typed != "" {
		add(typed, forTyped)
	}
	add("", maxChoices)
	return out
}
