package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supplyviz"
)

func (w *Web) funcs() template.FuncMap {
	m := template.FuncMap{
		"static":    w.staticURL,
		"roleLabel": roleLabel,
		"roleHelp":  roleHelp,
		"roles":     scope.Roles,
		"typeLabel": typeLabel,
		"types":     org.Types,
		"when":      func(v any) template.HTML { return w.times.html(v, false) },
		"whenSec":   func(v any) template.HTML { return w.times.html(v, true) },
		"unix":      unixTime,
		"level": func(nodes []treeNode, parent treeLevel) treeLevel {
			return treeLevel{nodes, parent.Closed, parent.Outside}
		},
		"json":     prettyJSON,
		"initials": initials,
		"field":    field,
		"pct":      percent,
		"thousands": func(v any) string {
			switch x := v.(type) {
			case int:
				return thousandsInt(float64(x))
			case int64:
				return thousandsInt(float64(x))
			case float64:
				return thousandsInt(x)
			}
			return fmt.Sprint(v)
		},
		"num":          num,
		"count":        count,
		"people":       phrase.People,
		"ref":          ref,
		"orgRefOf":     func(code, name string) orgRef { return orgRef{Code: code, Name: name} },
		"levelLabel":   levelLabel,
		"changeWords":  changeWords,
		"changeLink":   changeLink,
		"steps":        steps,
		"impactLabel":  impactLabel,
		"join":         strings.Join,
		"covShade":     coverageShade,
		"add":          func(a, b int) int { return a + b },
		"subnav":       supplyNav,
		"shortArea":    supplyviz.ShortArea,
		"orgTypeLabel": func(s string) string { return typeLabel(org.Type(s)) },
	}
	for k, f := range supplyFuncs() {
		m[k] = f
	}
	for k, f := range caseFuncs() {
		m[k] = f
	}
	for k, f := range eventFuncs() {
		m[k] = f
	}
	for k, f := range kpiFuncs() {
		m[k] = f
	}
	for k, f := range ingestFuncs() {
		m[k] = f
	}
	for k, f := range intelFuncs() {
		m[k] = f
	}
	return m
}

// impactLabel names an impact class in words (a class is never shown by
// colour alone).
func impactLabel(c any) string {
	switch fmt.Sprint(c) {
	case "hard-down":
		return "Hard-down"
	case "degraded":
		return "Degraded"
	case "exposed":
		return "Exposed"
	case "affected":
		return "Affected"
	}
	return "Not affected"
}

// fieldView is one labelled input with its hint and error, for the
// "input" template.
type fieldView struct {
	Name, Label, Type, Value, Error string
	Hint, Auto, List, Width         string
	Required                        bool
	Described                       string
}

// field builds a fieldView from a form; opts are "hint=…", "auto=…"
// (autocomplete), "list=…" (datalist ID), "width=…" (a CSS class) and
// "required".
func field(f *form, name, label, typ string, opts ...string) fieldView {
	fv := fieldView{Name: name, Label: label, Type: typ, Value: f.V(name), Error: f.E(name)}
	for _, o := range opts {
		k, val, _ := strings.Cut(o, "=")
		switch k {
		case "hint":
			fv.Hint = val
		case "auto":
			fv.Auto = val
		case "list":
			fv.List = val
		case "width":
			fv.Width = val
		case "required":
			fv.Required = true
		}
	}
	var ids []string
	if fv.Hint != "" {
		ids = append(ids, "f-"+name+"-hint")
	}
	if fv.Error != "" {
		ids = append(ids, "f-"+name+"-error")
	}
	fv.Described = strings.Join(ids, " ")
	return fv
}

var roleLabels = map[scope.Role]string{
	scope.NationalAdmin:   "National administrator",
	scope.NationalAnalyst: "National analyst",
	scope.RegionLead:      "Regional lead",
	scope.OrgAdmin:        "Organisation administrator",
	scope.OrgAnalyst:      "Organisation analyst",
	scope.SupplierRep:     "Supplier representative",
	scope.Auditor:         "Auditor",
}

func roleLabel(r scope.Role) string {
	if l, ok := roleLabels[r]; ok {
		return l
	}
	return string(r)
}

// roleHelp says in plain words what a role allows on its organisations.
func roleHelp(r scope.Role) string {
	p := r.Perms()
	var can []string
	if p&scope.Read != 0 {
		can = append(can, "see")
	}
	if p&scope.Write != 0 {
		can = append(can, "change data")
	}
	if p&scope.Admin != 0 {
		can = append(can, "manage users")
	}
	if p&scope.Audit != 0 {
		can = append(can, "read the audit log")
	}
	if p&scope.Supply != 0 {
		can = append(can, "manage suppliers")
	}
	return strings.Join(can, ", ")
}

var typeLabels = map[org.Type]string{
	org.National:      "National",
	org.Region:        "Region",
	org.Nation:        "Nation outside England",
	org.ICB:           "ICB",
	org.SubICB:        "Sub-ICB location",
	org.Trust:         "NHS trust",
	org.GPPractice:    "GP practice",
	org.OtherProvider: "Other provider",
	org.Supplier:      "Supplier",
}

func typeLabel(t org.Type) string {
	if l, ok := typeLabels[t]; ok {
		return l
	}
	return string(t)
}

// timeWords shows times as people say them: "today 09:14", "yesterday
// 17:02", "tomorrow 08:00", "3 Dec 2026 09:14", on the UK's clock (GMT or
// BST, as the reader's own), measured from an injected clock. The exact
// instant, in UTC, is kept in a <time> element's datetime and title, so
// an analyst comparing timelines can read it by hovering and a script or
// a screen reader can use it.
type timeWords struct {
	now func() time.Time
	loc *time.Location
}

// html renders v, a time.Time or an RFC 3339 string; "" for nothing or the
// zero time, and a string that is not a time as it is.
func (c timeWords) html(v any, seconds bool) template.HTML {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	case string:
		if x == "" {
			return ""
		}
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return template.HTML(template.HTMLEscapeString(x))
		}
		t = p
	default:
		return ""
	}
	if t.IsZero() {
		return ""
	}
	iso := t.UTC().Format(time.RFC3339)
	return template.HTML(`<time datetime="` + iso + `" title="` + iso + `">` + template.HTMLEscapeString(c.words(t, seconds)) + `</time>`)
}

// words is the readable part: the day relative to today, then the clock.
func (c timeWords) words(t time.Time, seconds bool) string {
	t = t.In(c.loc)
	clock := "15:04"
	if seconds {
		clock = "15:04:05"
	}
	ty, tm, td := t.Date()
	ny, nm, nd := c.now().In(c.loc).Date()
	// Whole days between the two calendar dates (noon UTC: no DST edge).
	days := int(time.Date(ty, tm, td, 12, 0, 0, 0, time.UTC).Sub(time.Date(ny, nm, nd, 12, 0, 0, 0, time.UTC)).Hours() / 24)
	switch days {
	case 0:
		return "today " + t.Format(clock)
	case -1:
		return "yesterday " + t.Format(clock)
	case 1:
		return "tomorrow " + t.Format(clock)
	}
	return t.Format("2 Jan 2006 " + clock)
}

// unixTime is a time (time.Time or RFC 3339 string) as Unix seconds, for a
// table cell's data-sort; "" for none, which sorts before every time.
func unixTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return ""
		}
		t = p
	}
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// prettyJSON indents an audit entry's before or after document, capped so
// a huge change does not swamp the table.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	const max = 4000
	if len(b) > max {
		return string(b[:max]) + "\n…"
	}
	return string(b)
}

func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(f)
		if unicode.IsLetter(r) {
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	return string(out)
}

// nav is the left navigation: home, the organisation tree, the product
// areas, and administration for those who administer or audit.
func (w *Web) nav(sc scope.Scope, current string) []navItem {
	items := []navItem{{Key: "home", Label: "Home", Href: "/"}, {Key: "orgs", Label: "Organisations", Href: "/orgs"}}
	for _, a := range w.areas() {
		if a.shown != nil && !a.shown(sc) {
			continue
		}
		items = append(items, navItem{Key: a.Key, Label: a.Label, Href: a.Href})
	}
	if sc.Can(scope.Admin) || sc.Can(scope.Audit) {
		items = append(items, navItem{Key: "admin", Label: "Admin", Href: "/admin"})
	}
	for i := range items {
		items[i].Current = items[i].Key == current
	}
	return items
}

// currentOrgCookie holds the organisation the user is working on. It is a
// preference, not a permission: every read still goes through the scope,
// and a code the user may not read is ignored.
func (w *Web) currentOrgCookie() string {
	if w.o.TLS {
		return "__Host-vigil_org"
	}
	return "vigil_org"
}

func (w *Web) currentOrg(r *http.Request, sc scope.Scope) *org.Org {
	c, err := r.Cookie(w.currentOrgCookie())
	if err != nil || c.Value == "" || len(c.Value) > 16 {
		return nil
	}
	o, err := w.o.Orgs.Get(r.Context(), sc, c.Value)
	if err != nil {
		return nil
	}
	return &o
}

// switchOptions are the organisations offered by the header's switcher:
// every organisation the user holds a grant on, and the current one.
func (w *Web) switchOptions(ctx context.Context, sc scope.Scope, current *org.Org) []switchOption {
	opts := []switchOption{{Code: "", Label: "All my organisations", Selected: current == nil}}
	seen := map[string]bool{}
	add := func(o org.Org) {
		if seen[o.Code] {
			return
		}
		seen[o.Code] = true
		opts = append(opts, switchOption{Code: o.Code, Label: o.Name + " (" + o.Code + ")", Selected: current != nil && current.Code == o.Code})
	}
	// One lookup per grant: people hold a handful of grants.
	for _, g := range sc.Grants {
		if g.Org == "" || seen[g.Org] {
			continue
		}
		if o, err := w.o.Orgs.Get(ctx, sc, g.Org); err == nil {
			add(o)
		}
	}
	if current != nil {
		add(*current)
	}
	return opts
}

func (w *Web) setCurrentOrg(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	code := strings.ToUpper(strings.TrimSpace(r.PostFormValue("org")))
	c := &http.Cookie{Name: w.currentOrgCookie(), Path: "/", HttpOnly: true, Secure: w.o.TLS, SameSite: http.SameSiteLaxMode}
	if code == "" {
		c.MaxAge = -1
	} else {
		if _, err := w.o.Orgs.Get(r.Context(), sc, code); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		c.Value = code
		c.MaxAge = 400 * 24 * 3600
	}
	http.SetCookie(rw, c)
	http.Redirect(rw, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// safeNext returns next if it is a path on this site, and "/" otherwise:
// no scheme, no host, no "//" or "/\" (which browsers read as another
// host), no control characters (which browsers strip, turning "/\t/x" into
// "//x"), and not the sign-in pages themselves.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2000 {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	if u.Path == "/signin" || strings.HasPrefix(u.Path, "/signin/") || u.Path == "/signout" {
		return "/"
	}
	return next
}

// form carries a submitted form back to its template with the errors next
// to each field, and a summary in field order at the top.
type form struct {
	Values map[string]string
	Errors map[string]string
	order  []string
}

func newForm(r *http.Request, fields ...string) *form {
	f := &form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range fields {
		f.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	return f
}

// V returns a field's value.
func (f *form) V(k string) string {
	if f == nil {
		return ""
	}
	return f.Values[k]
}

// E returns a field's error.
func (f *form) E(k string) string {
	if f == nil {
		return ""
	}
	return f.Errors[k]
}

func (f *form) Set(k, msg string) {
	if _, ok := f.Errors[k]; !ok {
		f.order = append(f.order, k)
	}
	f.Errors[k] = msg
}

func (f *form) OK() bool { return f == nil || len(f.Errors) == 0 }

// Refused puts a refused change's reason on the form: an invalid field's
// next to that field (or on fallback, when the form has no such field),
// and a forbidden or conflicting change's on fallback. It reports false
// for any other error, which is not the form's to show.
func (f *form) Refused(err error, fallback string) bool {
	var inv *fault.Invalid
	switch {
	case errors.As(err, &inv):
		field := inv.Field
		if _, ok := f.Values[field]; !ok || field == "" {
			field = fallback
		}
		f.Set(field, sentence(inv.Reason))
	case errors.Is(err, fault.ErrForbidden), errors.Is(err, fault.ErrConflict):
		f.Set(fallback, sentence(fault.Message(err)))
	default:
		return false
	}
	return true
}

type summaryItem struct{ Field, Message string }

// Summary lists the errors in the order they were found.
func (f *form) Summary() []summaryItem {
	if f == nil {
		return nil
	}
	out := make([]summaryItem, 0, len(f.order))
	for _, k := range f.order {
		out = append(out, summaryItem{k, f.Errors[k]})
	}
	return out
}

// fieldError puts a service's validation error next to its field, or at
// the top when no field of the form matches; it reports false for other
// errors, which the caller answers with fail.
func (f *form) fieldError(err error, fields ...string) bool {
	var inv *fault.Invalid
	if !errors.As(err, &inv) {
		return false
	}
	field, reason := inv.Field, inv.Reason
	known := false
	for _, k := range fields {
		known = known || k == field
	}
	if !known {
		field = "form"
	}
	f.Set(field, sentence(reason))
	return true
}

// sentence starts a service's reason with a capital letter.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func limitBody(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, 64<<10)
}

// remote is the caller's address as the audit log records it.
func remote(r *http.Request) string { return httpd.ClientIP(r) }

// supplyNav is the Suppliers area's own navigation; concentration is for
// supply-chain managers only, boundaries for those who may import them.
func supplyNav(v *view, current string) []navItem {
	items := []navItem{{Key: "home", Label: "Overview", Href: "/suppliers"}, {Key: "register", Label: "Register", Href: "/suppliers/register"},
		{Key: "impact", Label: "Blast radius", Href: "/suppliers/impact"}}
	if v.User != nil && v.User.Can(scope.Supply) {
		items = append(items, navItem{Key: "concentration", Label: "Concentration", Href: "/suppliers/concentration"})
	}
	items = append(items, navItem{Key: "graph", Label: "Dependency graph", Href: "/suppliers/graph"}, navItem{Key: "map", Label: "Map", Href: "/suppliers/map"},
		navItem{Key: "import", Label: "Import", Href: "/suppliers/import"})
	for i := range items {
		items[i].Current = items[i].Key == current
	}
	return items
}
