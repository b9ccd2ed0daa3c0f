package cases

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// National incidents from a supplier compromise (issue 15; ADR 0005).
//
// OpenIncident asks the supplier register for the blast radius of a
// supplier (or one of its products) — supply's impact, the same answer
// `vigil supply impact` prints — and opens, in one transaction, the
// national incident (a case of the national root, template
// supplier-compromise) and one child case per affected organisation,
// owned by that organisation, carrying its impact class and the
// dependency paths that explain it. Scope then gives each organisation its
// own child and nothing else; the national team sees everything.
//
// The register changes: RefreshIncident (on demand, and from the serve
// ticker when the register's generation moves) opens children for
// organisations newly in scope, updates changed impact classes, and marks
// organisations no longer affected — their children stay. Organisations
// acknowledge and report status on their child (AcknowledgeIncident); the
// national view counts answers by ICB and region and lists who has not
// answered.

// Acknowledgement statuses an affected organisation reports.
const (
	AckServicesDown = "services-down"
	AckFallback     = "fallback-in-use"
	AckRestored     = "restored"
)

// AckStatuses lists what an organisation may report.
func AckStatuses() []string { return []string{AckServicesDown, AckFallback, AckRestored} }

// incidentTemplate is the template of a national incident and its children.
const incidentTemplate = "supplier-compromise"

// NewIncident is a national incident to open from a supplier compromise.
type NewIncident struct {
	// Supplier is the compromised supplier's register ID or name.
	Supplier string `json:"supplier"`
	// Product narrows the compromise to one of the supplier's products.
	Product     string   `json:"product,omitempty"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Incident is a national incident as the national team sees it.
type Incident struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Severity    Severity   `json:"severity"`
	Status      CaseStatus `json:"status"`
	Supplier    string     `json:"supplier"`
	Product     string     `json:"product,omitempty"`
	Subject     string     `json:"subject"`
	Generation  int64      `json:"generation"`
	OpenedBy    string     `json:"opened_by"`
	OpenedAt    time.Time  `json:"opened_at"`
	RefreshedAt time.Time  `json:"refreshed_at"`
	// Children are the affected organisations' cases, worst impact first,
	// then by ODS code; those no longer affected (in_scope false) last.
	Children []IncidentChild `json:"children"`
	Progress Progress        `json:"progress"`
	// Refresh says what the last refresh changed (RefreshIncident only).
	Refresh *RefreshSummary `json:"refresh,omitempty"`
}

// IncidentChild is one affected organisation's part in an incident.
type IncidentChild struct {
	Org        string `json:"org"`
	Impact     string `json:"impact"`
	CaseID     string `json:"case_id"`
	Name       string `json:"name"`
	ICB        string `json:"icb,omitempty"`
	ICBName    string `json:"icb_name,omitempty"`
	Region     string `json:"region,omitempty"`
	RegionName string `json:"region_name,omitempty"`
	// InScope is false for an organisation the register no longer shows
	// as affected (its case stays).
	InScope bool `json:"in_scope"`
	// Status is what the organisation reported ("" until it answers).
	Status string     `json:"status,omitempty"`
	Note   string     `json:"note,omitempty"`
	AckBy  string     `json:"acknowledged_by,omitempty"`
	AckAt  *time.Time `json:"acknowledged_at,omitempty"`
	// Incident is the national incident's ID (for the organisation's own
	// view; it shows nothing else of the parent).
	Incident string `json:"incident,omitempty"`
}

// Progress counts the answers of the organisations in scope.
type Progress struct {
	Organisations    int             `json:"organisations"`
	Answered         int             `json:"answered"`
	ByStatus         map[string]int  `json:"by_status"`
	NoLongerAffected int             `json:"no_longer_affected"`
	ByRegion         []GroupProgress `json:"by_region"`
	ByICB            []GroupProgress `json:"by_icb"`
	// NotAnswered lists the ODS codes of organisations in scope that have
	// not acknowledged, worst impact first.
	NotAnswered []string `json:"not_answered"`
}

// GroupProgress counts answers in one region or ICB.
type GroupProgress struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	Organisations int    `json:"organisations"`
	Answered      int    `json:"answered"`
	ServicesDown  int    `json:"services_down"`
	Fallback      int    `json:"fallback_in_use"`
	Restored      int    `json:"restored"`
}

// RefreshSummary says what a refresh changed.
type RefreshSummary struct {
	Generation int64    `json:"generation"`
	Added      []string `json:"added"`
	Changed    []string `json:"changed"`
	Dropped    []string `json:"no_longer_affected"`
	Returned   []string `json:"returned"`
}

func (r *RefreshSummary) empty() bool {
	return len(r.Added)+len(r.Changed)+len(r.Dropped)+len(r.Returned) == 0
}

var incidentActor = scope.System("incidents")

// impactOf asks the register for the blast radius of the incident's subject.
func (s *Service) impactOf(ctx context.Context, sc scope.Scope, supplierID, product string) (supply.ImpactResult, error) {
	if s.opts.Supply == nil {
		return supply.ImpactResult{}, errors.New("cases: national incidents need the supplier register (Options.Supply)")
	}
	q := supply.Query{Supplier: supplierID}
	if product != "" {
		q = supply.Query{Product: product}
	}
	return s.opts.Supply.Impact(ctx, sc, q)
}

// OpenIncident opens a national incident over every organisation the
// supplier's compromise affects. Only the national team (write on the
// national root) may.
func (s *Service) OpenIncident(ctx context.Context, sc scope.Scope, n NewIncident) (Incident, error) {
	n.Supplier, n.Product, n.Title = strings.TrimSpace(n.Supplier), strings.TrimSpace(n.Product), strings.TrimSpace(n.Title)
	if n.Supplier == "" {
		return Incident{}, fault.Invalidf("supplier", "is required: the compromised supplier's register ID or name")
	}
	if err := checkName("title", n.Title, true, maxTitle); err != nil {
		return Incident{}, err
	}
	if n.Severity == "" {
		n.Severity = High
	}
	if err := oneOf("severity", n.Severity, Severities()); err != nil {
		return Incident{}, err
	}
	if err := checkText("description", n.Description, maxDescription); err != nil {
		return Incident{}, err
	}
	rootPath, err := s.orgPath(ctx, org.RootCode)
	if err != nil {
		return Incident{}, err
	}
	if !sc.CanAt(scope.Write, rootPath) {
		return Incident{}, fault.Forbiddenf("opening a national incident needs a national role that may change cases")
	}
	// Resolve the supplier (ID or name) and, with a product, check the
	// product is the supplier's.
	res, err := s.impactOf(ctx, sc, n.Supplier, "")
	if err != nil {
		return Incident{}, err
	}
	supplierID := res.Query.Supplier
	if n.Product != "" {
		if res, err = s.impactOf(ctx, sc, "", n.Product); err != nil {
			return Incident{}, err
		}
		mine := false
		for _, p := range res.Products {
			mine = mine || p.Depth == 0 && strings.EqualFold(p.SupplierID, supplierID)
		}
		if !mine {
			return Incident{}, fault.Invalidf("product", "%s is not a product of supplier %s", res.Query.Product, supplierID)
		}
	}
	if res.Truncated {
		return Incident{}, errors.New("cases: the register answered a truncated blast radius")
	}
	now := s.now()
	parent := Case{ID: newID(prefixCase, now), Org: org.RootCode, Title: n.Title, Severity: n.Severity, TLP: TLPAmber, PAP: PAPAmber,
		Status: CaseNew, Template: incidentTemplate, CreatedBy: actorName(sc), CreatedAt: now, UpdatedAt: now}
	parent.Description = n.Description
	if parent.Description == "" {
		parent.Description = fmt.Sprintf("National incident: supplier **%s** compromised. %s affected (%d hard-down, %d degraded, %d exposed).",
			res.Subject, phrase.Count(res.Totals.Organisations, "organisation", ""), res.Totals.HardDown, res.Totals.Degraded, res.Totals.Exposed)
	}
	parent.Fields = map[string]any{"supplier": supplierID, "services_affected": clipText(servicesOfTotals(res.Totals), maxShortText)}
	if err := parent.checkHeader(); err != nil {
		return Incident{}, err
	}
	tpl := s.templates[incidentTemplate]
	if tags, err := normTags("tags", append(append([]string{}, tpl.Tags...), "national-incident")); err == nil {
		parent.Tags = tags
	} else {
		return Incident{}, err
	}
	product := ""
	if n.Product != "" {
		product = res.Query.Product
	}
	var opened []string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		b := newBulk(tx)
		var audits []audit.Actor
		if err := s.bulkCase(ctx, b, sc, &parent, tpl, "Case opened: national incident over "+phrase.Count(len(res.Affected), "organisation", "")); err != nil {
			return err
		}
		audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "incident.open", ObjectType: "case", ObjectID: parent.ID, Org: parent.Org,
			After: map[string]any{"title": parent.Title, "supplier": supplierID, "product": product, "organisations": res.Totals.Organisations,
				"hard_down": res.Totals.HardDown, "degraded": res.Totals.Degraded, "exposed": res.Totals.Exposed}}})
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, supplier, product, subject, generation, opened_by, opened_at, refreshed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			parent.ID, supplierID, product, res.Subject, res.Generation, actorName(sc), ts(now), ts(now)); err != nil {
			return fmt.Errorf("cases: open incident: %w", err)
		}
		for i := range res.Affected {
			a := &res.Affected[i]
			c, err := s.bulkChild(ctx, b, sc, &parent, tpl, &res, a, now)
			if err != nil {
				return err
			}
			audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "case.create", ObjectType: "case", ObjectID: c.ID, Org: c.Org, After: caseView(c)}})
			opened = append(opened, c.ID)
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		if _, err := s.audit.AppendAll(ctx, tx, audits); err != nil {
			return err
		}
		s.after(tx, "incident.open:"+parent.ID, Event{Kind: "incident.opened", Org: parent.Org, Case: parent.ID, Actor: actorName(sc), At: now,
			Detail: map[string]string{"supplier": supplierID, "product": product, "children": fmt.Sprint(len(opened))}})
		return nil
	})
	if err != nil {
		return Incident{}, err
	}
	return s.GetIncident(ctx, sc, parent.ID)
}

// bulkCase queues a new case with its tags, the template's tasks, its SLA
// clocks and its first timeline entry.
func (s *Service) bulkCase(ctx context.Context, b *bulk, sc scope.Scope, c *Case, tpl *Template, opened string) error {
	tags, _ := json.Marshal(c.Tags)
	fields, _ := json.Marshal(c.Fields)
	if err := b.add(ctx, "cases", `org, title, description, severity, tlp, pap, status, assignee, team, tags, template, fields, resolution, impact, summary,
		parent_id, merged_into, search, created_by, created_at, updated_at, acknowledged_at, resolved_at, closed_at, id`,
		c.Org, c.Title, c.Description, string(c.Severity), string(c.TLP), string(c.PAP), string(c.Status), c.Assignee, c.Team, string(tags),
		c.Template, string(fields), "", "", "", c.ParentID, "", c.searchText(), c.CreatedBy, ts(c.CreatedAt), ts(c.UpdatedAt), "", "", "", c.ID); err != nil {
		return err
	}
	for _, t := range c.Tags {
		if err := b.add(ctx, "case_tags", "case_id, tag", c.ID, t); err != nil {
			return err
		}
	}
	if tpl != nil {
		for i, td := range tpl.Tasks {
			list := []ChecklistItem{}
			for _, x := range td.Checklist {
				list = append(list, ChecklistItem{Text: strings.TrimSpace(x)})
			}
			cl, _ := json.Marshal(list)
			if err := b.add(ctx, "case_tasks", "case_id, title, description, status, assignee, checklist, position, created_at, updated_at, done_at, id",
				c.ID, td.Title, td.Description, string(TaskOpen), "", string(cl), i, ts(c.CreatedAt), ts(c.CreatedAt), "", newID(prefixTask, c.CreatedAt)); err != nil {
				return err
			}
		}
	}
	sla := s.opts.SLA[c.Severity]
	for _, k := range []ClockKind{ClockAck, ClockRespond, ClockResolve} {
		if d := sla.of(k); d > 0 {
			if err := b.add(ctx, "case_clocks", "case_id, clock, org, state, started_at, due_at, source", c.ID, string(k), c.Org, ClockRunning,
				ts(c.CreatedAt), ts(c.CreatedAt.Add(d)), "severity "+string(c.Severity)); err != nil {
				return err
			}
		}
	}
	return b.add(ctx, "case_timeline", "id, case_id, at, kind, title, body, ref_id, by_id, by_name, manual",
		newID(prefixEvent, c.CreatedAt), c.ID, ts(c.CreatedAt), "case.created", opened, "", c.ParentID, sc.UserID, actorName(sc), false)
}

// bulkChild queues the child case and membership of affected organisation a.
func (s *Service) bulkChild(ctx context.Context, b *bulk, sc scope.Scope, parent *Case, tpl *Template, res *supply.ImpactResult, a *supply.AffectedOrg, now time.Time) (Case, error) {
	c := Case{ID: newID(prefixCase, now), Org: a.ODS, Title: parent.Title, Severity: parent.Severity, TLP: parent.TLP, PAP: parent.PAP,
		Status: CaseNew, Template: incidentTemplate, ParentID: parent.ID, Tags: parent.Tags, CreatedBy: actorName(sc), CreatedAt: now, UpdatedAt: now,
		Description: childDescription(parent, res, a), Fields: childFields(res, a)}
	if err := s.bulkCase(ctx, b, sc, &c, tpl, "Case opened for national incident "+parent.ID+": impact "+string(a.Impact)); err != nil {
		return c, err
	}
	return c, b.add(ctx, "incident_members", "incident_id, org, case_id, name, icb, icb_name, region, region_name, impact, in_scope, added_at, changed_at",
		parent.ID, a.ODS, c.ID, a.Name, a.ICB, a.ICBName, a.Region, a.RegionName, string(a.Impact), true, ts(now), ts(now))
}

// childFields are the template fields that carry an organisation's impact.
func childFields(res *supply.ImpactResult, a *supply.AffectedOrg) map[string]any {
	f := map[string]any{"supplier": res.Query.Supplier, "impact_class": string(a.Impact)}
	if f["supplier"] == "" && len(res.Products) > 0 {
		f["supplier"] = res.Products[0].SupplierID
	}
	if s := servicesOf(a); s != "" {
		f["services_affected"] = clipText(s, maxShortText)
	}
	if len(a.Paths) > 0 {
		p := pathWords(res, a.Paths[0])
		if a.PathCount > 1 {
			p += fmt.Sprintf(" (and %s)", phrase.Count(a.PathCount-1, "other path", ""))
		}
		f["dependency_paths"] = clipText(p, maxShortText)
	}
	fallback := false
	for _, si := range a.ServiceImpacts {
		fallback = fallback || si.Fallback
	}
	if fallback {
		f["fallback_in_use"] = false // a fallback exists; the organisation says when it is in use
	}
	return f
}

func servicesOf(a *supply.AffectedOrg) string {
	var parts []string
	for _, si := range a.ServiceImpacts {
		p := si.Service + " (" + string(si.Impact)
		if si.Fallback {
			p += ", has a fallback"
		}
		parts = append(parts, p+")")
	}
	return strings.Join(parts, ", ")
}

func servicesOfTotals(t supply.ImpactTotals) string {
	var parts []string
	for _, x := range t.ByService {
		parts = append(parts, fmt.Sprintf("%s (%s)", x.Service, phrase.Count(x.Organisations, "organisation", "")))
	}
	return strings.Join(parts, ", ")
}

// pathWords names the nodes of a dependency path for people.
func pathWords(res *supply.ImpactResult, p []string) string {
	names := make([]string, len(p))
	for i, node := range p {
		names[i] = node
		if n, ok := res.Names[node]; ok && n != "" {
			names[i] = n
		}
	}
	return strings.Join(names, " → ")
}

// childDescription explains to an organisation why it is affected.
func childDescription(parent *Case, res *supply.ImpactResult, a *supply.AffectedOrg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "National incident %s: supplier **%s** compromised.\n\n", parent.ID, mdEscape(res.Subject))
	fmt.Fprintf(&b, "The supplier register shows **%s** as **%s**.\n\n", mdEscape(a.Name), a.Impact)
	if len(a.ServiceImpacts) > 0 {
		b.WriteString("Services affected:\n\n")
		for _, si := range a.ServiceImpacts {
			fb := ""
			if si.Fallback {
				fb = ", has a fallback"
			}
			fmt.Fprintf(&b, "- %s: %s%s\n", mdEscape(si.Service), si.Impact, fb)
		}
		b.WriteString("\n")
	}
	if len(a.Paths) > 0 {
		b.WriteString("How the organisation depends on the supplier:\n\n")
		for i, p := range a.Paths {
			if i == 10 {
				break
			}
			d := ""
			if i < len(a.PathDetails) {
				pd := a.PathDetails[i]
				d = fmt.Sprintf(" (service %s, %s", mdEscape(pd.Service), pd.Criticality)
				if pd.Critical {
					d += ", every link critical"
				}
				d += ")"
			}
			fmt.Fprintf(&b, "- %s%s\n", mdEscape(pathWords(res, p)), d)
		}
		if a.PathCount > len(a.Paths) || len(a.Paths) > 10 {
			fmt.Fprintf(&b, "\n%s found in all.\n", phrase.Count(a.PathCount, "path", ""))
		}
		b.WriteString("\n")
	}
	b.WriteString("Acknowledge this case and report your status (services down, fallback in use, restored) so the national team knows where you are.\n")
	return clipText(b.String(), maxDescription)
}

// mdEscaper keeps a register name from being read as Markdown. (Built
// once: building a Replacer per name cost a quarter of opening an
// incident's 10,000 children.)
var mdEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, "#", `\#`)

func mdEscape(s string) string { return mdEscaper.Replace(s) }

// clipText cuts s to at most n bytes on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// incidentRow is what incidents holds of one incident.
type incidentRow struct {
	id, supplier, product, subject, openedBy string
	generation                               int64
	openedAt, refreshedAt                    time.Time
}

func (s *Service) loadIncident(ctx context.Context, q store.Queryer, sc scope.Scope, id string, lock string) (Case, incidentRow, error) {
	c, _, err := s.loadCase(ctx, q, sc, id, lock)
	if err != nil {
		return Case{}, incidentRow{}, notFound("incident", id)
	}
	var r incidentRow
	var opened, refreshed string
	err = q.QueryRowContext(ctx, `SELECT id, supplier, product, subject, generation, opened_by, opened_at, refreshed_at FROM incidents WHERE id = ?`, id).
		Scan(&r.id, &r.supplier, &r.product, &r.subject, &r.generation, &r.openedBy, &opened, &refreshed)
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, incidentRow{}, notFound("incident", id)
	}
	if err != nil {
		return Case{}, incidentRow{}, fmt.Errorf("cases: incident %s: %w", id, err)
	}
	r.openedAt, r.refreshedAt = parseTS(opened), parseTS(refreshed)
	return c, r, nil
}

const memberCols = `org, impact, case_id, name, icb, icb_name, region, region_name, in_scope, ack_status, ack_note, ack_by, ack_at, incident_id`

func scanMember(r scanner) (IncidentChild, error) {
	var m IncidentChild
	var at string
	err := r.Scan(&m.Org, &m.Impact, &m.CaseID, &m.Name, &m.ICB, &m.ICBName, &m.Region, &m.RegionName, &m.InScope, &m.Status, &m.Note, &m.AckBy, &at, &m.Incident)
	m.AckAt = optTS(at)
	return m, err
}

func impactRank(i string) int {
	switch i {
	case string(supply.HardDown):
		return 0
	case string(supply.Degraded):
		return 1
	case string(supply.Exposed):
		return 2
	}
	return 3
}

func sortMembers(ms []IncidentChild) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.InScope != b.InScope {
			return a.InScope
		}
		if ra, rb := impactRank(a.Impact), impactRank(b.Impact); ra != rb {
			return ra < rb
		}
		return a.Org < b.Org
	})
}

// GetIncident returns a national incident with every child and the
// progress of their answers, for a caller who may read the parent (the
// national team); fault.ErrNotFound otherwise.
func (s *Service) GetIncident(ctx context.Context, sc scope.Scope, id string) (Incident, error) {
	q := s.db.Q()
	c, r, err := s.loadIncident(ctx, q, sc, id, "")
	if err != nil {
		return Incident{}, err
	}
	ms, err := queryAll(ctx, q, `SELECT `+memberCols+` FROM incident_members WHERE incident_id = ?`, scanMember, id)
	if err != nil {
		return Incident{}, err
	}
	for i := range ms {
		ms[i].Incident = ""
	}
	sortMembers(ms)
	if ms == nil {
		ms = []IncidentChild{}
	}
	return Incident{ID: c.ID, Title: c.Title, Severity: c.Severity, Status: c.Status, Supplier: r.supplier, Product: r.product, Subject: r.subject,
		Generation: r.generation, OpenedBy: r.openedBy, OpenedAt: r.openedAt, RefreshedAt: r.refreshedAt, Children: ms, Progress: progressOf(ms)}, nil
}

func progressOf(ms []IncidentChild) Progress {
	p := Progress{ByStatus: map[string]int{}, ByRegion: []GroupProgress{}, ByICB: []GroupProgress{}, NotAnswered: []string{}}
	regions, icbs := map[string]*GroupProgress{}, map[string]*GroupProgress{}
	group := func(m map[string]*GroupProgress, code, name string) *GroupProgress {
		if code == "" {
			code = "-"
		}
		g := m[code]
		if g == nil {
			g = &GroupProgress{Code: code, Name: name}
			m[code] = g
		}
		return g
	}
	for _, x := range ms {
		if !x.InScope {
			p.NoLongerAffected++
			continue
		}
		p.Organisations++
		gs := []*GroupProgress{group(regions, x.Region, x.RegionName), group(icbs, x.ICB, x.ICBName)}
		for _, g := range gs {
			g.Organisations++
		}
		if x.Status == "" {
			p.NotAnswered = append(p.NotAnswered, x.Org)
			continue
		}
		p.Answered++
		p.ByStatus[x.Status]++
		for _, g := range gs {
			g.Answered++
			switch x.Status {
			case AckServicesDown:
				g.ServicesDown++
			case AckFallback:
				g.Fallback++
			case AckRestored:
				g.Restored++
			}
		}
	}
	flat := func(m map[string]*GroupProgress) []GroupProgress {
		out := make([]GroupProgress, 0, len(m))
		for _, g := range m {
			out = append(out, *g)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
		return out
	}
	p.ByRegion, p.ByICB = flat(regions), flat(icbs)
	return p
}

// IncidentSummary is one incident in a listing.
type IncidentSummary struct {
	ID            string     `json:"id"`
	Title         string     `json:"title"`
	Severity      Severity   `json:"severity"`
	Status        CaseStatus `json:"status"`
	Supplier      string     `json:"supplier"`
	Subject       string     `json:"subject"`
	OpenedAt      time.Time  `json:"opened_at"`
	Organisations int        `json:"organisations"`
	Answered      int        `json:"answered"`
}

// ListIncidents returns the national incidents sc may read, newest first.
func (s *Service) ListIncidents(ctx context.Context, sc scope.Scope) ([]IncidentSummary, error) {
	where, args := sc.Filter("c.org", scope.Read)
	out, err := queryAll(ctx, s.db.Q(), `SELECT i.id, c.title, c.severity, c.status, i.supplier, i.subject, i.opened_at,
		(SELECT COUNT(*) FROM incident_members m WHERE m.incident_id = i.id AND m.in_scope),
		(SELECT COUNT(*) FROM incident_members m WHERE m.incident_id = i.id AND m.in_scope AND m.ack_status <> '')
		FROM incidents i JOIN cases c ON c.id = i.id WHERE `+where+` ORDER BY i.id DESC LIMIT 200`, func(r scanner) (IncidentSummary, error) {
		var x IncidentSummary
		var at string
		err := r.Scan(&x.ID, &x.Title, &x.Severity, &x.Status, &x.Supplier, &x.Subject, &at, &x.Organisations, &x.Answered)
		x.OpenedAt = parseTS(at)
		return x, err
	}, args...)
	if out == nil && err == nil {
		out = []IncidentSummary{}
	}
	return out, err
}

// RefreshIncident asks the register again: organisations newly affected
// get a child case, changed impact classes are updated on the child, and
// organisations no longer affected are marked (their cases stay), as are
// those affected again. A closed incident is not refreshed.
func (s *Service) RefreshIncident(ctx context.Context, sc scope.Scope, id string) (Incident, error) {
	q := s.db.Q()
	c, r, err := s.loadIncident(ctx, q, sc, id, "")
	if err != nil {
		return Incident{}, err
	}
	path, err := s.orgPath(ctx, c.Org)
	if err != nil {
		return Incident{}, err
	}
	if !sc.CanAt(scope.Write, path) {
		return Incident{}, fault.Forbiddenf("you may read but not refresh incident %s", id)
	}
	if c.Status == CaseClosed {
		return Incident{}, fault.Invalidf("status", "incident %s is closed: reopen it to refresh it", id)
	}
	res, err := s.impactOf(ctx, sc, r.supplier, r.product)
	if err != nil {
		return Incident{}, err
	}
	sum := RefreshSummary{Generation: res.Generation, Added: []string{}, Changed: []string{}, Dropped: []string{}, Returned: []string{}}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		parent, _, err := s.loadCase(ctx, tx, sc, id, forUpdate(tx))
		if err != nil {
			return err
		}
		ms, err := queryAll(ctx, tx, `SELECT `+memberCols+` FROM incident_members WHERE incident_id = ?`, scanMember, id)
		if err != nil {
			return err
		}
		have := make(map[string]IncidentChild, len(ms))
		for _, m := range ms {
			have[m.Org] = m
		}
		b := newBulk(tx)
		tpl := s.templates[incidentTemplate]
		var audits []audit.Actor
		seen := make(map[string]bool, len(res.Affected))
		note := func(caseID, title string) error {
			return b.add(ctx, "case_timeline", "id, case_id, at, kind, title, body, ref_id, by_id, by_name, manual",
				newID(prefixEvent, now), caseID, ts(now), "incident.refresh", title, "", id, sc.UserID, actorName(sc), false)
		}
		for i := range res.Affected {
			a := &res.Affected[i]
			seen[a.ODS] = true
			m, ok := have[a.ODS]
			switch {
			case !ok:
				child, err := s.bulkChild(ctx, b, sc, &parent, tpl, &res, a, now)
				if err != nil {
					return err
				}
				audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "case.create", ObjectType: "case", ObjectID: child.ID, Org: child.Org, After: caseView(child)}})
				sum.Added = append(sum.Added, a.ODS)
			case !m.InScope || m.Impact != string(a.Impact):
				if _, err := tx.ExecContext(ctx, `UPDATE incident_members SET impact = ?, in_scope = ?, changed_at = ? WHERE incident_id = ? AND org = ?`,
					string(a.Impact), true, ts(now), id, a.ODS); err != nil {
					return err
				}
				if err := s.setChildImpact(ctx, tx, m.CaseID, &res, a); err != nil {
					return err
				}
				title := fmt.Sprintf("The supplier register now shows this organisation as %s (was %s)", a.Impact, m.Impact)
				if !m.InScope {
					title = fmt.Sprintf("The supplier register shows this organisation as affected again: %s", a.Impact)
					sum.Returned = append(sum.Returned, a.ODS)
				} else {
					sum.Changed = append(sum.Changed, a.ODS)
				}
				if err := note(m.CaseID, title); err != nil {
					return err
				}
			}
		}
		for _, m := range ms {
			if seen[m.Org] || !m.InScope {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE incident_members SET in_scope = ?, changed_at = ? WHERE incident_id = ? AND org = ?`, false, ts(now), id, m.Org); err != nil {
				return err
			}
			if err := note(m.CaseID, "The supplier register no longer shows this organisation as affected; the case stays open until you close it"); err != nil {
				return err
			}
			sum.Dropped = append(sum.Dropped, m.Org)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET generation = ?, refreshed_at = ? WHERE id = ?`, res.Generation, ts(now), id); err != nil {
			return err
		}
		if sum.empty() {
			return nil
		}
		if err := note(id, fmt.Sprintf("Refreshed from the supplier register: %d new, %d changed, %d no longer affected, %d affected again",
			len(sum.Added), len(sum.Changed), len(sum.Dropped), len(sum.Returned))); err != nil {
			return err
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "incident.refresh", ObjectType: "case", ObjectID: id, Org: parent.Org,
			After: map[string]any{"generation": res.Generation, "added": len(sum.Added), "changed": len(sum.Changed), "dropped": len(sum.Dropped), "returned": len(sum.Returned)}}})
		if _, err := s.audit.AppendAll(ctx, tx, audits); err != nil {
			return err
		}
		s.after(tx, "incident.refresh:"+id, Event{Kind: "incident.refreshed", Org: parent.Org, Case: id, Actor: actorName(sc), At: now,
			Detail: map[string]string{"added": strings.Join(sum.Added, ","), "dropped": strings.Join(sum.Dropped, ",")}})
		return nil
	})
	if err != nil {
		return Incident{}, err
	}
	inc, err := s.GetIncident(ctx, sc, id)
	if err != nil {
		return Incident{}, err
	}
	inc.Refresh = &sum
	return inc, nil
}

// setChildImpact writes a's impact into its child case's fields.
func (s *Service) setChildImpact(ctx context.Context, tx *store.Tx, caseID string, res *supply.ImpactResult, a *supply.AffectedOrg) error {
	c, err := scanCase(tx.QueryRowContext(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ?`+forUpdate(tx), caseID))
	if err != nil {
		return fmt.Errorf("cases: child case %s: %w", caseID, err)
	}
	for k, v := range childFields(res, a) {
		if _, ok := c.Fields[k]; k == "fallback_in_use" && ok {
			continue // the organisation's own answer stands
		}
		c.Fields[k] = v
	}
	fields, _ := json.Marshal(c.Fields)
	_, err = tx.ExecContext(ctx, `UPDATE cases SET fields = ?, updated_at = ? WHERE id = ?`, string(fields), ts(s.now()), caseID)
	return err
}

// RefreshOpenIncidents refreshes every open incident whose register
// generation is behind the register's, as the system; the serve ticker
// calls it, and at once when a change notice arrives. It returns how many
// incidents it refreshed.
func (s *Service) RefreshOpenIncidents(ctx context.Context) (int, error) {
	if s.opts.Supply == nil {
		return 0, nil
	}
	st, err := s.opts.Supply.Stats(ctx)
	if err != nil {
		return 0, err
	}
	ids, err := queryAll(ctx, s.db.Q(), `SELECT i.id FROM incidents i JOIN cases c ON c.id = i.id WHERE c.status <> ? AND i.generation <> ? ORDER BY i.id`,
		scanString, string(CaseClosed), st.Generation)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, id := range ids {
		if _, err := s.RefreshIncident(ctx, incidentActor, id); err != nil {
			errs = append(errs, fmt.Errorf("refresh incident %s: %w", id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// RegisterChanged tells the ticker the supplier register or the
// organisation tree changed, so open incidents are refreshed now rather
// than at the next tick. It never blocks.
func (s *Service) RegisterChanged() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// IncidentAck is what an affected organisation reports on its child case.
type IncidentAck struct {
	// Status is services-down, fallback-in-use or restored.
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`
}

// AcknowledgeIncident records an affected organisation's acknowledgement
// and status on its child case (which moves to in-progress if new: the
// acknowledge clock is met) and returns its part in the incident.
func (s *Service) AcknowledgeIncident(ctx context.Context, sc scope.Scope, caseID string, a IncidentAck) (IncidentChild, error) {
	if err := oneOf("status", a.Status, AckStatuses()); err != nil {
		return IncidentChild{}, err
	}
	if err := checkText("note", a.Note, maxShortText); err != nil {
		return IncidentChild{}, err
	}
	now := s.now()
	_, err := s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, _ string) error {
		m, err := scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM incident_members WHERE case_id = ?`, c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Invalidf("case", "case %s is not an organisation's case in a national incident", c.ID)
		}
		if err != nil {
			return err
		}
		if c.Status == CaseClosed {
			return fault.Invalidf("status", "case %s is closed: reopen it first", c.ID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incident_members SET ack_status = ?, ack_note = ?, ack_by = ?, ack_at = ? WHERE case_id = ?`,
			a.Status, a.Note, actorName(sc), ts(now), c.ID); err != nil {
			return err
		}
		if a.Status == AckFallback {
			c.Fields["fallback_in_use"] = true
		}
		if c.Status == CaseNew {
			if err := s.setStatus(ctx, tx, sc, c, StatusChange{Status: CaseInProgress}, false); err != nil {
				return err
			}
		} else if err := writeCase(ctx, tx, c, false); err != nil {
			return err
		}
		title := "Acknowledged the national incident: " + strings.ReplaceAll(a.Status, "-", " ")
		if m.Status != "" {
			title = "Status reported to the national team: " + strings.ReplaceAll(a.Status, "-", " ")
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "incident.ack", title: title, body: a.Note, ref: m.Incident}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "incident.ack", ObjectType: "case", ObjectID: c.ID, Org: c.Org,
			Before: map[string]string{"status": m.Status}, After: map[string]string{"incident": m.Incident, "status": a.Status, "note": a.Note}}); err != nil {
			return err
		}
		s.after(tx, "incident.ack:"+c.ID, Event{Kind: "incident.acknowledged", Org: c.Org, Case: c.ID, Actor: actorName(sc), At: now,
			Detail: map[string]string{"incident": m.Incident, "status": a.Status}})
		return nil
	})
	if err != nil {
		return IncidentChild{}, err
	}
	return s.IncidentPart(ctx, sc, caseID)
}

// IncidentPart is an organisation's own part in a national incident: its
// child case's membership (fault.ErrNotFound for a case sc may not read
// or one that is no child of an incident).
func (s *Service) IncidentPart(ctx context.Context, sc scope.Scope, caseID string) (IncidentChild, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return IncidentChild{}, err
	}
	m, err := scanMember(q.QueryRowContext(ctx, `SELECT `+memberCols+` FROM incident_members WHERE case_id = ?`, caseID))
	if errors.Is(err, sql.ErrNoRows) {
		return IncidentChild{}, notFound("incident case", caseID)
	}
	return m, err
}

// IncidentUpdate is what the national team copies down to every affected
// organisation's case.
type IncidentUpdate struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
}

// ShareIncidentUpdate copies an update from the national team into the
// timeline of the incident and of every child case still in scope: the
// one way the parent's content reaches the organisations. It returns how
// many children received it.
func (s *Service) ShareIncidentUpdate(ctx context.Context, sc scope.Scope, id string, u IncidentUpdate) (int, error) {
	if err := checkName("title", strings.TrimSpace(u.Title), true, maxTitle); err != nil {
		return 0, err
	}
	if err := checkText("body", u.Body, maxShortText); err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	_, err := s.changeCase(ctx, sc, id, func(tx *store.Tx, c *Case, _ string) error {
		ids, err := queryAll(ctx, tx, `SELECT case_id FROM incident_members WHERE incident_id = ? AND in_scope ORDER BY org`, scanString, id)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ?`, id).Scan(&one); err != nil || one == 0 {
				return errors.Join(err, notFound("incident", id))
			}
		}
		b := newBulk(tx)
		for _, cid := range append([]string{id}, ids...) {
			if err := b.add(ctx, "case_timeline", "id, case_id, at, kind, title, body, ref_id, by_id, by_name, manual",
				newID(prefixEvent, now), cid, ts(now), "incident.update", "National team: "+strings.TrimSpace(u.Title), u.Body, id, sc.UserID, actorName(sc), true); err != nil {
				return err
			}
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		n = len(ids)
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "incident.update", ObjectType: "case", ObjectID: id, Org: c.Org,
			After: map[string]any{"title": u.Title, "children": n}})
		return err
	})
	return n, err
}
