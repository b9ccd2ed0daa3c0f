// Package casereport exports a case (issue 15): a case report in
// Markdown, HTML and PDF, and a regulatory report pack with what the NIS
// incident report and the ICO personal-data breach report ask for.
//
// A report is read only through the cases service's scoped reads —
// GetCase, Timeline, ListObservables, Comments, ListAttachments — with the
// caller's scope, and this package cannot reach the tables: an export
// shows exactly what the caller's routes show, never more. Every export
// is audited ("case.report").
package casereport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// Cases is what a report reads of a case: the scoped reads the routes use.
type Cases interface {
	GetCase(ctx context.Context, sc scope.Scope, id string) (cases.Case, error)
	Timeline(ctx context.Context, sc scope.Scope, caseID string) ([]cases.TimelineEntry, error)
	ListObservables(ctx context.Context, sc scope.Scope, caseID string) ([]cases.CaseObservable, error)
	Comments(ctx context.Context, sc scope.Scope, caseID string) ([]cases.Comment, error)
	ListAttachments(ctx context.Context, sc scope.Scope, caseID string) ([]cases.Attachment, error)
	Template(name string) (cases.Template, error)
}

// Orgs names organisations, within the caller's scope.
type Orgs interface {
	Get(ctx context.Context, sc scope.Scope, code string) (org.Org, error)
}

// Options are the Service's dependencies.
type Options struct {
	Cases Cases
	Orgs  Orgs
	Audit *audit.Log
	Now   func() time.Time
	// Location is the zone times are written in (Europe/London when nil).
	Location *time.Location
}

// Service builds and renders reports.
type Service struct{ o Options }

// New checks o.
func New(o Options) (*Service, error) {
	if o.Cases == nil || o.Orgs == nil || o.Audit == nil {
		return nil, errors.New("casereport: Options.Cases, Orgs and Audit are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		loc, err := time.LoadLocation("Europe/London")
		if err != nil {
			return nil, fmt.Errorf("casereport: %w", err)
		}
		o.Location = loc
	}
	return &Service{o: o}, nil
}

// Field is one custom field of the case, labelled by its template.
type Field struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// Report is everything a case report shows.
type Report struct {
	GeneratedAt time.Time              `json:"generated_at"`
	GeneratedBy string                 `json:"generated_by"`
	Case        cases.Case             `json:"case"`
	OrgName     string                 `json:"org_name"`
	Template    string                 `json:"template_title,omitempty"`
	Fields      []Field                `json:"fields"`
	Timeline    []cases.TimelineEntry  `json:"timeline"`
	Observables []cases.CaseObservable `json:"observables"`
	Comments    []cases.Comment        `json:"comments"`
	Attachments []cases.Attachment     `json:"attachments"`
	loc         *time.Location
}

// Build reads the case with the caller's scope; fault.ErrNotFound when
// they may not see it.
func (s *Service) Build(ctx context.Context, sc scope.Scope, id string) (Report, error) {
	c, err := s.o.Cases.GetCase(ctx, sc, id)
	if err != nil {
		return Report{}, err
	}
	r := Report{GeneratedAt: s.o.Now().UTC(), GeneratedBy: who(sc), Case: c, OrgName: c.Org, loc: s.o.Location}
	if o, err := s.o.Orgs.Get(ctx, sc, c.Org); err == nil {
		r.OrgName = o.Name
	}
	var tpl cases.Template
	if c.Template != "" {
		if tpl, err = s.o.Cases.Template(c.Template); err == nil {
			r.Template = tpl.Title
		}
	}
	r.Fields = fields(c, tpl)
	if r.Timeline, err = s.o.Cases.Timeline(ctx, sc, id); err != nil {
		return Report{}, err
	}
	if r.Observables, err = s.o.Cases.ListObservables(ctx, sc, id); err != nil {
		return Report{}, err
	}
	if r.Comments, err = s.o.Cases.Comments(ctx, sc, id); err != nil {
		return Report{}, err
	}
	if r.Attachments, err = s.o.Cases.ListAttachments(ctx, sc, id); err != nil {
		return Report{}, err
	}
	return r, nil
}

func who(sc scope.Scope) string {
	if sc.Email != "" {
		return sc.Email
	}
	return sc.UserID
}

// fields lists the case's custom fields in the template's order, labelled,
// then any others by name.
func fields(c cases.Case, tpl cases.Template) []Field {
	out := []Field{}
	seen := map[string]bool{}
	for _, d := range tpl.Fields {
		if v, ok := c.Fields[d.Name]; ok {
			out = append(out, Field{Name: d.Name, Label: d.Label, Value: fieldText(v)})
			seen[d.Name] = true
		}
	}
	var rest []string
	for k := range c.Fields {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, Field{Name: k, Label: k, Value: fieldText(c.Fields[k])})
	}
	return out
}

func fieldText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "Yes"
		}
		return "No"
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%g", x)
	}
	return fmt.Sprint(v)
}

// when writes a time for people: UK time with its zone.
func (r Report) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := r.loc
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2 Jan 2006 15:04 MST")
}

func (r Report) whenP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return r.when(*t)
}

// Summary is the header of every rendering: label and value pairs.
func (r Report) Summary() [][2]string {
	c := r.Case
	rows := [][2]string{
		{"Case", c.ID},
		{"Organisation", r.OrgName + " (" + c.Org + ")"},
		{"Severity", titleCase(string(c.Severity))},
		{"Status", string(c.Status)},
		{"TLP / PAP", strings.ToUpper(string(c.TLP)) + " / " + strings.ToUpper(string(c.PAP))},
		{"Assignee", dash(c.Assignee)},
		{"Team", dash(c.Team)},
		{"Template", dash(r.Template)},
		{"Tags", dash(strings.Join(c.Tags, ", "))},
		{"Opened", r.when(c.CreatedAt) + " by " + c.CreatedBy},
		{"Acknowledged", r.whenP(c.AcknowledgedAt)},
		{"Resolved", r.whenP(c.ResolvedAt)},
		{"Closed", r.whenP(c.ClosedAt)},
	}
	if c.Resolution != "" {
		rows = append(rows, [2]string{"Resolution", string(c.Resolution) + ", impact " + dash(string(c.Impact))})
	}
	if c.Summary != "" {
		rows = append(rows, [2]string{"Summary", c.Summary})
	}
	if c.ParentID != "" {
		rows = append(rows, [2]string{"National incident", c.ParentID})
	}
	if c.MergedInto != "" {
		rows = append(rows, [2]string{"Merged into", c.MergedInto})
	}
	if len(c.Alerts) > 0 {
		rows = append(rows, [2]string{"Alerts", strings.Join(c.Alerts, ", ")})
	}
	return rows
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Formats are the renderings offered.
func Formats() []string { return []string{"md", "html", "pdf"} }

// Kinds of export.
const (
	KindCase       = "case"
	KindRegulatory = "regulatory"
)

// Export is a rendered report.
type Export struct {
	Body        []byte
	ContentType string
	FileName    string
}

// Export builds, renders and audits one export: kind is KindCase or
// KindRegulatory, format one of Formats.
func (s *Service) Export(ctx context.Context, sc scope.Scope, id, kind, format string) (Export, error) {
	if format == "" {
		format = "pdf"
	}
	if !slices.Contains(Formats(), format) {
		return Export{}, fault.Invalidf("format", "%q is not one of %s", format, strings.Join(Formats(), ", "))
	}
	r, err := s.Build(ctx, sc, id)
	if err != nil {
		return Export{}, err
	}
	var b strings.Builder
	var body []byte
	name := r.Case.ID
	switch kind {
	case KindCase:
		switch format {
		case "md":
			err = r.Markdown(&b)
		case "html":
			err = r.HTML(&b)
		case "pdf":
			body, err = r.PDF()
		}
	case KindRegulatory:
		name += "-regulatory"
		p := Regulatory(r)
		switch format {
		case "md":
			err = p.Markdown(&b)
		case "html":
			err = p.HTML(&b)
		case "pdf":
			body, err = p.PDF()
		}
	default:
		return Export{}, fault.Invalidf("kind", "%q is not case or regulatory", kind)
	}
	if err != nil {
		return Export{}, fmt.Errorf("render %s %s: %w", kind, format, err)
	}
	if body == nil {
		body = []byte(b.String())
	}
	if err := s.o.Audit.Record(ctx, sc, audit.Change{Action: "case.report", ObjectType: "case", ObjectID: r.Case.ID, Org: r.Case.Org,
		After: map[string]string{"kind": kind, "format": format}}); err != nil {
		return Export{}, err
	}
	ct := map[string]string{"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}[format]
	return Export{Body: body, ContentType: ct, FileName: name + "." + format}, nil
}

// writer collects the first write error, so renderers read straight.
type writer struct {
	w   io.Writer
	err error
}

func (w *writer) printf(format string, a ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, a...)
	}
}
