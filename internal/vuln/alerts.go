package vuln

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/osv-scalibr/semantic"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// National cyber alerts (issue 18, items 7–9).
//
// A national analyst issues an alert naming CVEs and affected products
// (with version ranges). Issue asks the supplier register which
// organisations deploy a product carrying one of the CVEs (supply's
// product vulnerabilities) or one of the named products, directly or
// through products that depend on it — supply's blast radius, the answer
// `vigil supply impact` prints — and records, in one transaction, the alert
// and one row per organisation in scope with the path that put it there.
// Each organisation is then e-mailed (Notifier).
//
// Each organisation answers on its own row: acknowledge (due 48 hours
// from issue), applicability (affected, not affected, investigating, with
// a reason), remediation updates (the first due 3 days from issue, then
// every UpdateEvery) and close with evidence. Every answer is audited and
// kept in cyber_alert_responses. Someone holding write on several
// organisations in scope answers for all of them at once (Respond with
// several orgs: all or nothing).
//
// CheckClocks (the leader's periodic duty) reminds an organisation whose
// acknowledgement is due within a day, and escalates by e-mail to the
// region and ICB above it once the 48 hours have passed; it reminds an
// organisation whose remediation update is overdue.
//
// Scope: a row is seen with read on its organisation, changed with write
// there; the alert's header is seen by the national team and by anyone who
// sees one of its rows. Anything else is fault.ErrNotFound.

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the vuln domain's schema (the cyber alert tables).
// Scope filters join the org domain's orgs table.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "vuln", FS: sub}
}

// Severities of a cyber alert, most severe first.
const (
	SevCritical = "critical"
	SevHigh     = "high"
	SevMedium   = "medium"
	SevLow      = "low"
)

// AlertSeverities lists the severities an alert may have.
func AlertSeverities() []string { return []string{SevCritical, SevHigh, SevMedium, SevLow} }

// TLPs lists the Traffic Light Protocol 2.0 labels an alert may carry.
func TLPs() []string { return []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"} }

// Applicability values an organisation reports.
const (
	AppAffected      = "affected"
	AppNotAffected   = "not-affected"
	AppInvestigating = "investigating"
)

// Applicabilities lists what an organisation may say about an alert.
func Applicabilities() []string { return []string{AppAffected, AppNotAffected, AppInvestigating} }

// Response actions.
const (
	ActAcknowledge   = "acknowledge"
	ActApplicability = "applicability"
	ActUpdate        = "update"
	ActClose         = "close"
)

// Actions lists the response actions.
func Actions() []string {
	return []string{ActAcknowledge, ActApplicability, ActUpdate, ActClose}
}

// Default clocks (issue 18, item 8).
const (
	DefaultAckWithin    = 48 * time.Hour
	DefaultUpdateWithin = 72 * time.Hour
	DefaultUpdateEvery  = 7 * 24 * time.Hour
	// DefaultRemindBefore: the acknowledgement reminder goes this long
	// before the 48 hours run out.
	DefaultRemindBefore = 24 * time.Hour
)

// Limits on what people type.
const (
	maxTitle    = 200
	maxText     = 4000
	maxCVEs     = 100
	maxProducts = 100
	maxRespOrgs = 1000
)

// Register is what alerts read of the supplier register.
type Register interface {
	Impact(ctx context.Context, sc scope.Scope, q supply.Query) (supply.ImpactResult, error)
	GetProduct(ctx context.Context, sc scope.Scope, id string) (supply.Product, error)
}

// Orgs finds an organisation's place in the tree (org.Service).
type Orgs interface {
	PathOf(ctx context.Context, code string) (string, error)
	Get(ctx context.Context, sc scope.Scope, code string) (org.Org, error)
}

// affectedOrg is an organisation as an alert lists it: its name, type and
// the names of its ICB and region, asked of the org domain (which owns
// the organisation tree).
func affectedOrg(ctx context.Context, orgs Orgs, code string) (supply.AffectedOrg, error) {
	sys := scope.System("vuln")
	o, err := orgs.Get(ctx, sys, code)
	if err != nil {
		return supply.AffectedOrg{}, err
	}
	a := supply.AffectedOrg{ODS: o.Code, Name: o.Name, Type: string(o.Type), ICB: o.ICB, Region: o.Region}
	for _, x := range []struct {
		code string
		name *string
	}{{o.ICB, &a.ICBName}, {o.Region, &a.RegionName}} {
		if x.code == "" {
			continue
		}
		if p, err := orgs.Get(ctx, sys, x.code); err == nil {
			*x.name = p.Name
		} else if !errors.Is(err, fault.ErrNotFound) {
			return supply.AffectedOrg{}, err
		}
	}
	return a, nil
}

// Message is one notice to people, by e-mail and, for those who set one,
// webhook (notify.Service.SendDirect).
type Message struct {
	// ID is stable for one notice, so a resend is recognised.
	ID string
	// Kind is cyberalert.issued, cyberalert.reminder or
	// cyberalert.escalated.
	Kind string
	// Ref is the alert's ID.
	Ref     string
	To      []string
	Subject string
	Body    string
	// Payload is the webhook's JSON body.
	Payload any
}

// Notifier finds people and tells them.
type Notifier interface {
	// HoldersOf lists the e-mails of enabled users holding one of roles on
	// one of orgs.
	HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error)
	Send(ctx context.Context, m Message) error
}

// Notice kinds.
const (
	KindIssued    = "cyberalert.issued"
	KindReminder  = "cyberalert.reminder"
	KindEscalated = "cyberalert.escalated"
	// KindUpdateEscalated: the first remediation update was missed.
	KindUpdateEscalated = "cyberalert.update-escalated"
)

// RespondRoles are the roles whose holders on an organisation in scope
// are told of an alert and reminded of it.
func RespondRoles() []scope.Role { return []scope.Role{scope.OrgAdmin, scope.OrgAnalyst} }

// EscalateRoles are the roles whose holders on a region or ICB hear of a
// missed clock of an organisation under it.
func EscalateRoles() []scope.Role { return []scope.Role{scope.RegionLead} }

// AlertOptions are the alert service's dependencies and settings.
type AlertOptions struct {
	DB       *store.DB
	Audit    *audit.Log
	Register Register
	Orgs     Orgs
	// Notifier tells organisations; nil sends nothing.
	Notifier Notifier
	// BaseURL is where people reach Vigil, for links in messages.
	BaseURL string
	// AckWithin, UpdateWithin, UpdateEvery, RemindBefore: the clocks
	// (defaults above).
	AckWithin, UpdateWithin, UpdateEvery, RemindBefore time.Duration
	Now                                                func() time.Time
	Logger                                             *slog.Logger
}

// Alerts is the national cyber alert service.
type Alerts struct {
	o   AlertOptions
	db  *store.DB
	now func() time.Time
	log *slog.Logger
	wg  sync.WaitGroup
}

// NewAlerts checks o and fills its defaults.
func NewAlerts(o AlertOptions) (*Alerts, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("vuln: AlertOptions.DB is required")
	case o.Audit == nil:
		return nil, errors.New("vuln: AlertOptions.Audit is required")
	case o.Register == nil:
		return nil, errors.New("vuln: AlertOptions.Register is required")
	case o.Orgs == nil:
		return nil, errors.New("vuln: AlertOptions.Orgs is required")
	case o.AckWithin < 0, o.UpdateWithin < 0, o.UpdateEvery < 0, o.RemindBefore < 0:
		return nil, errors.New("vuln: AlertOptions clocks must not be negative")
	}
	if o.AckWithin == 0 {
		o.AckWithin = DefaultAckWithin
	}
	if o.UpdateWithin == 0 {
		o.UpdateWithin = DefaultUpdateWithin
	}
	if o.UpdateEvery == 0 {
		o.UpdateEvery = DefaultUpdateEvery
	}
	if o.RemindBefore == 0 {
		o.RemindBefore = DefaultRemindBefore
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Alerts{o: o, db: o.DB, now: o.Now, log: o.Logger}, nil
}

// Close waits for notices still being sent.
func (s *Alerts) Close() error { s.wg.Wait(); return nil }

// AffectedProductSpec names a product an alert is about and, optionally,
// the versions affected: comparisons separated by commas or spaces, all of
// which must hold (">=2.0, <2.4.1"; "=1.3.0"; "<=5"). An empty range is
// every version. A deployed product whose register entry names no version
// is counted in scope: nobody has said it is not affected.
type AffectedProductSpec struct {
	Product  string `json:"product"`
	Versions string `json:"versions,omitempty"`
}

// NewAlert is what a national analyst issues.
type NewAlert struct {
	Title          string                `json:"title"`
	Severity       string                `json:"severity"`
	CVEs           []string              `json:"cves,omitempty"`
	Products       []AffectedProductSpec `json:"products,omitempty"`
	RequiredAction string                `json:"required_action"`
	// Deadline is when the required action must be done.
	Deadline time.Time `json:"deadline"`
	TLP      string    `json:"tlp,omitempty"`
}

// CyberAlert is an issued alert with the organisation rows the reader may
// see and their progress.
type CyberAlert struct {
	ID             string                `json:"id"`
	Title          string                `json:"title"`
	Severity       string                `json:"severity"`
	CVEs           []string              `json:"cves"`
	Products       []AffectedProductSpec `json:"products"`
	RequiredAction string                `json:"required_action"`
	Deadline       time.Time             `json:"deadline"`
	TLP            string                `json:"tlp"`
	IssuedBy       string                `json:"issued_by"`
	IssuedAt       time.Time             `json:"issued_at"`
	Orgs           []AlertOrg            `json:"orgs"`
	Stats          Stats                 `json:"stats"`
}

// AlertOrg is one organisation's part in an alert.
type AlertOrg struct {
	Alert      string `json:"alert_id"`
	Org        string `json:"org"`
	Name       string `json:"name"`
	Type       string `json:"type,omitempty"`
	ICB        string `json:"icb,omitempty"`
	ICBName    string `json:"icb_name,omitempty"`
	Region     string `json:"region,omitempty"`
	RegionName string `json:"region_name,omitempty"`
	// Path says, in words, what put the organisation in scope
	// ("Guy's and St Thomas' deploys Isolation LIMS (supplier …) which
	// depends on …"); PathNodes are the register's nodes.
	Path          string     `json:"path"`
	PathNodes     []string   `json:"path_nodes"`
	AckDue        time.Time  `json:"ack_due"`
	AckAt         *time.Time `json:"acknowledged_at,omitempty"`
	AckBy         string     `json:"acknowledged_by,omitempty"`
	Applicability string     `json:"applicability,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	UpdateDue     time.Time  `json:"update_due"`
	FirstUpdateAt *time.Time `json:"first_update_at,omitempty"`
	LastUpdateAt  *time.Time `json:"last_update_at,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	ClosedBy      string     `json:"closed_by,omitempty"`
	Evidence      string     `json:"evidence,omitempty"`
	NotifiedAt    *time.Time `json:"notified_at,omitempty"`
	EscalatedAt   *time.Time `json:"escalated_at,omitempty"`
	// UpdateEscalatedAt: the region was told the first remediation
	// update was missed.
	UpdateEscalatedAt *time.Time `json:"update_escalated_at,omitempty"`
	// InScope is false once the register no longer puts the organisation
	// in scope (RefreshScope); the row and its answers stay, and
	// ScopeChangedAt says when it left (or came back).
	InScope        bool       `json:"in_scope"`
	ScopeChangedAt *time.Time `json:"scope_changed_at,omitempty"`
	// AckOverdue and UpdateOverdue are the clocks as of the answer.
	AckOverdue    bool `json:"ack_overdue"`
	UpdateOverdue bool `json:"update_overdue"`
	// Responses is the organisation's history (Get only).
	Responses []ResponseEntry `json:"responses,omitempty"`
}

// State is the row's progress in one word.
func (m AlertOrg) State() string {
	switch {
	case m.ClosedAt != nil:
		return "closed"
	case m.AckAt == nil:
		return "awaiting acknowledgement"
	case m.Applicability == "":
		return "acknowledged"
	}
	return m.Applicability
}

// ResponseEntry is one answer an organisation gave.
type ResponseEntry struct {
	Action        string    `json:"action"`
	Applicability string    `json:"applicability,omitempty"`
	Text          string    `json:"text,omitempty"`
	By            string    `json:"by"`
	At            time.Time `json:"at"`
}

// Response is an answer to an alert for one or more organisations.
type Response struct {
	// Orgs are the organisations answered for (one, or several in bulk).
	Orgs   []string `json:"orgs"`
	Action string   `json:"action"`
	// Applicability is required for the applicability action.
	Applicability string `json:"applicability,omitempty"`
	// Text is the reason (applicability; required for not-affected), the
	// update (update; required) or the evidence (close; required).
	Text string `json:"text,omitempty"`
}

// ---- issue ----

var cveRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`) })

// TLP labels accept their common spellings.
func normTLP(s string) string {
	s = strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TLP:")))
	switch s {
	case "":
		return "AMBER"
	case "WHITE":
		return "CLEAR"
	case "AMBER-STRICT", "AMBER STRICT":
		return "AMBER+STRICT"
	}
	return s
}

func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fault.Invalidf(field, "is required")
	}
	if !utf8.ValidString(s) {
		return fault.Invalidf(field, "is not valid UTF-8")
	}
	if len(s) > max {
		return fault.Invalidf(field, "is %d bytes, more than %d", len(s), max)
	}
	return nil
}

func (n *NewAlert) check() error {
	n.Title = strings.TrimSpace(n.Title)
	if err := checkText("title", n.Title, maxTitle, true); err != nil {
		return err
	}
	if strings.ContainsAny(n.Title, "\r\n") {
		return fault.Invalidf("title", "must be one line")
	}
	n.Severity = strings.ToLower(strings.TrimSpace(n.Severity))
	if n.Severity == "" {
		n.Severity = SevHigh
	}
	if !slices.Contains(AlertSeverities(), n.Severity) {
		return fault.Invalidf("severity", "%q: want one of %s", n.Severity, strings.Join(AlertSeverities(), ", "))
	}
	n.TLP = normTLP(n.TLP)
	if !slices.Contains(TLPs(), n.TLP) {
		return fault.Invalidf("tlp", "%q: want one of %s", n.TLP, strings.Join(TLPs(), ", "))
	}
	if err := checkText("required_action", n.RequiredAction, maxText, true); err != nil {
		return err
	}
	if n.Deadline.IsZero() {
		return fault.Invalidf("deadline", "is required: when the required action must be done")
	}
	if len(n.CVEs)+len(n.Products) == 0 {
		return fault.Invalidf("cves", "name at least one CVE or affected product")
	}
	if len(n.CVEs) > maxCVEs {
		return fault.Invalidf("cves", "%d CVEs, more than %d", len(n.CVEs), maxCVEs)
	}
	if len(n.Products) > maxProducts {
		return fault.Invalidf("products", "%d products, more than %d", len(n.Products), maxProducts)
	}
	var cves []string
	for i, c := range n.CVEs {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !cveRE().MatchString(c) {
			return fault.Invalidf(fmt.Sprintf("cves[%d]", i), "%q is not a CVE ID (CVE-YYYY-NNNN)", n.CVEs[i])
		}
		if !slices.Contains(cves, c) {
			cves = append(cves, c)
		}
	}
	n.CVEs = cves
	for i := range n.Products {
		p := &n.Products[i]
		p.Product, p.Versions = strings.TrimSpace(p.Product), strings.TrimSpace(p.Versions)
		field := fmt.Sprintf("products[%d]", i)
		if p.Product == "" {
			return fault.Invalidf(field+".product", "is required: the product's register ID or name")
		}
		if _, err := ParseVersionRange(p.Versions); err != nil {
			return fault.Invalidf(field+".versions", "%v", err)
		}
	}
	return nil
}

// VersionRange is a conjunction of version comparisons.
type VersionRange []versionCmp

type versionCmp struct{ op, v string }

// ParseVersionRange reads ">=2.0, <2.4.1" (commas or spaces between
// comparisons; a bare version means "="). Versions are compared in
// semantic-version order, as far as a product version is one (osv-scalibr's
// lenient semver parser).
func ParseVersionRange(s string) (VersionRange, error) {
	var r VersionRange
	fields := strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' })
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		op := ""
		for _, o := range []string{">=", "<=", "==", "!=", ">", "<", "="} {
			if strings.HasPrefix(f, o) {
				op = o
				break
			}
		}
		v := strings.TrimPrefix(f, op)
		if v == "" && op != "" && i+1 < len(fields) { // "< 2.0"
			i++
			v = fields[i]
		}
		if op == "" || op == "==" {
			op = "="
		}
		if v == "" {
			return nil, fmt.Errorf("comparison %q names no version", f)
		}
		r = append(r, versionCmp{op, v})
	}
	return r, nil
}

// Contains reports whether version satisfies every comparison.
func (r VersionRange) Contains(version string) bool {
	for _, c := range r {
		d, err := semantic.ParseSemverVersion(strings.TrimPrefix(version, "v")).CompareStr(strings.TrimPrefix(c.v, "v"))
		if err != nil {
			return false
		}
		ok := false
		switch c.op {
		case "=":
			ok = d == 0
		case "!=":
			ok = d != 0
		case "<":
			ok = d < 0
		case "<=":
			ok = d <= 0
		case ">":
			ok = d > 0
		case ">=":
			ok = d >= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// String writes the range back.
func (r VersionRange) String() string {
	parts := make([]string, len(r))
	for i, c := range r {
		parts[i] = c.op + c.v
	}
	return strings.Join(parts, ", ")
}

// inScope is one organisation the register puts in an alert's scope.
type inScope struct {
	a     supply.AffectedOrg
	path  string
	nodes []string
}

// rootPath is the national root's path.
func (s *Alerts) rootPath(ctx context.Context) (string, error) {
	p, err := s.o.Orgs.PathOf(ctx, org.RootCode)
	if err != nil {
		return "", fmt.Errorf("vuln: national root: %w", err)
	}
	return p, nil
}

// scopeOf works out which organisations an alert reaches: those deploying
// a product the register lists with one of the CVEs, or one of the named
// products at an affected version, directly or through products that
// depend on it. The first explaining path found is kept per organisation.
// It sets each product spec's Product to the register's ID.
func (s *Alerts) scopeOf(ctx context.Context, sc scope.Scope, n *NewAlert) ([]inScope, error) {
	byOrg := map[string]*inScope{}
	var order []string
	add := func(res supply.ImpactResult, why func(p []string) string) {
		for _, a := range res.Affected {
			if _, ok := byOrg[a.ODS]; ok {
				continue
			}
			x := &inScope{a: a}
			if len(a.Paths) > 0 {
				x.nodes = a.Paths[0]
				x.path = why(a.Paths[0])
			}
			byOrg[a.ODS] = x
			order = append(order, a.ODS)
		}
	}
	for _, c := range n.CVEs {
		res, err := s.o.Register.Impact(ctx, sc, supply.Query{CVE: c})
		if err != nil {
			return nil, fmt.Errorf("cve %s: %w", c, err)
		}
		add(res, pathWords(res))
		// Products whose stored SBOM has a finding answering to the CVE,
		// though the register does not list it on them.
		carriers, err := sbomCarriers(ctx, s.db.Q(), c)
		if err != nil {
			return nil, fmt.Errorf("cve %s: stored SBOMs: %w", c, err)
		}
		for _, cr := range carriers {
			res, err := s.o.Register.Impact(ctx, sc, supply.Query{Product: cr.product})
			if errors.Is(err, fault.ErrNotFound) {
				continue // the product has left the register
			}
			if err != nil {
				return nil, fmt.Errorf("cve %s: product %s: %w", c, cr.product, err)
			}
			words, note := pathWords(res), cr.words(res.Subject)
			add(res, func(path []string) string { return words(path) + ": " + note })
		}
		// Organisations whose own inventory carries it.
		invs, err := inventoryCarriers(ctx, s.db.Q(), c)
		if err != nil {
			return nil, fmt.Errorf("cve %s: stored inventories: %w", c, err)
		}
		for _, ic := range invs {
			if _, ok := byOrg[ic.org.ODS]; ok {
				continue
			}
			if ic.org, err = affectedOrg(ctx, s.o.Orgs, ic.org.ODS); err != nil {
				return nil, fmt.Errorf("cve %s: inventory of %s: %w", c, ic.org.ODS, err)
			}
			byOrg[ic.org.ODS] = &inScope{a: ic.org, path: ic.words(), nodes: []string{"cve:" + c, "inventory:" + ic.sbom, "org:" + ic.org.ODS}}
			order = append(order, ic.org.ODS)
		}
	}
	for i, ps := range n.Products {
		p, err := s.o.Register.GetProduct(ctx, sc, ps.Product)
		if errors.Is(err, fault.ErrNotFound) {
			return nil, fault.Invalidf(fmt.Sprintf("products[%d].product", i), "no product %q in the supplier register", ps.Product)
		}
		if err != nil {
			return nil, err
		}
		n.Products[i].Product = p.ID
		r, _ := ParseVersionRange(ps.Versions) // check() parsed it
		if p.Version != "" && len(r) > 0 && !r.Contains(p.Version) {
			continue // the register's version is outside the range
		}
		res, err := s.o.Register.Impact(ctx, sc, supply.Query{Product: p.ID})
		if err != nil {
			return nil, fmt.Errorf("product %s: %w", p.ID, err)
		}
		ver := ""
		if p.Version != "" {
			ver = " " + p.Version
		}
		words := pathWords(res)
		add(res, func(path []string) string { return words(path) + " (affected: " + p.Name + ver + ")" })
	}
	sort.Strings(order)
	out := make([]inScope, len(order))
	for i, o := range order {
		out[i] = *byOrg[o]
	}
	return out, nil
}

// pathWords says in words why an organisation is in scope. A register
// path runs from the affected node to the organisation ("cve:X",
// "product:C", "product:P", "org:RJ1"); people read it the other way:
// "Guy's deploys Product P (supplier S) which depends on C, which carries X".
// It is built once per impact result: its products' suppliers, looked up
// afresh for each organisation, took minutes for an alert over 9,950
// organisations and 50,000 products.
func pathWords(res supply.ImpactResult) func(p []string) string {
	supplierOf := make(map[string]string, len(res.Products))
	for _, ap := range res.Products {
		supplierOf["product:"+ap.ID] = ap.SupplierName
	}
	return func(p []string) string { return pathWordsOf(res, supplierOf, p) }
}

func pathWordsOf(res supply.ImpactResult, supplierOf map[string]string, p []string) string {
	name := func(node string) string {
		if n, ok := res.Names[node]; ok && n != "" {
			return n
		}
		_, id, _ := strings.Cut(node, ":")
		return id
	}
	prod := func(node string) string {
		s := name(node)
		if sup := supplierOf[node]; sup != "" {
			s += " (supplier " + sup + ")"
		}
		return s
	}
	var orgNode string
	var prods []string
	cve := ""
	for _, x := range p {
		switch {
		case strings.HasPrefix(x, "org:"):
			orgNode = x
		case strings.HasPrefix(x, "product:"):
			prods = append(prods, x)
		case strings.HasPrefix(x, "cve:"):
			cve = name(x)
		}
	}
	if len(prods) == 0 {
		return strings.Join(p, " → ")
	}
	var b strings.Builder
	b.WriteString(name(orgNode))
	b.WriteString(" deploys ")
	b.WriteString(prod(prods[len(prods)-1]))
	for i := len(prods) - 2; i >= 0; i-- {
		b.WriteString(" which depends on ")
		if i == 0 {
			b.WriteString("affected component ")
		}
		b.WriteString(prod(prods[i]))
	}
	if cve != "" {
		b.WriteString(", which carries ")
		b.WriteString(cve)
	}
	return b.String()
}

const tsLayout = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) string { return t.UTC().Format(tsLayout) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(tsLayout, s)
	return t
}

func optTS(s string) *time.Time {
	if s == "" {
		return nil
	}
	t := parseTS(s)
	return &t
}

func actorName(sc scope.Scope) string {
	if sc.Email != "" {
		return sc.Email
	}
	return sc.UserID
}

// Issue issues an alert, works out the organisations in scope and tells
// them. Only the national team (write on the national root) may.
func (s *Alerts) Issue(ctx context.Context, sc scope.Scope, n NewAlert) (CyberAlert, error) {
	if err := n.check(); err != nil {
		return CyberAlert{}, err
	}
	root, err := s.rootPath(ctx)
	if err != nil {
		return CyberAlert{}, err
	}
	if !sc.CanAt(scope.Write, root) {
		return CyberAlert{}, fault.Forbiddenf("issuing a national cyber alert needs a national role that may change things (national analyst or administrator)")
	}
	gen := s.generation(ctx) // before scope: a change meanwhile makes the next refresh look again
	orgs, err := s.scopeOf(ctx, sc, &n)
	if err != nil {
		return CyberAlert{}, err
	}
	now := s.now()
	id := "CA-" + now.UTC().Format("20060102") + "-" + strings.TrimPrefix(randid.New(""), "-")[:8]
	cves, _ := json.Marshal(n.CVEs)
	prods, _ := json.Marshal(n.Products)
	if n.CVEs == nil {
		cves = []byte("[]")
	}
	if n.Products == nil {
		prods = []byte("[]")
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cyber_alerts (id, title, severity, cves, products, required_action, deadline, tlp, issued_by, issued_at, generation)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, n.Title, n.Severity, string(cves), string(prods), n.RequiredAction, ts(n.Deadline), n.TLP, actorName(sc), ts(now), gen); err != nil {
			return fmt.Errorf("vuln: issue alert: %w", err)
		}
		audits := []audit.Actor{{Scope: sc, Change: audit.Change{Action: "cyberalert.issue", ObjectType: "cyber_alert", ObjectID: id, Org: org.RootCode,
			After: map[string]any{"title": n.Title, "severity": n.Severity, "cves": n.CVEs, "products": n.Products, "tlp": n.TLP,
				"deadline": ts(n.Deadline), "organisations": len(orgs)}}}}
		for _, o := range orgs {
			nodes, _ := json.Marshal(o.nodes)
			if _, err := tx.ExecContext(ctx, `INSERT INTO cyber_alert_orgs (alert_id, org, name, org_type, icb, icb_name, region, region_name, path, path_nodes, ack_due, update_due)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, o.a.ODS, o.a.Name, o.a.Type, o.a.ICB, o.a.ICBName, o.a.Region, o.a.RegionName,
				o.path, string(nodes), ts(now.Add(s.o.AckWithin)), ts(now.Add(s.o.UpdateWithin))); err != nil {
				return fmt.Errorf("vuln: alert %s organisation %s: %w", id, o.a.ODS, err)
			}
			audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "cyberalert.scope", ObjectType: "cyber_alert", ObjectID: id, Org: o.a.ODS,
				After: map[string]any{"path": o.path}}})
		}
		_, err := s.o.Audit.AppendAll(ctx, tx, audits)
		return err
	})
	if err != nil {
		return CyberAlert{}, err
	}
	a, err := s.Get(ctx, sc, id)
	if err != nil {
		return CyberAlert{}, err
	}
	if s.o.Notifier != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.notifyIssued(context.WithoutCancel(ctx), a)
		}()
	}
	return a, nil
}

// ---- read ----

const alertCols = `id, title, severity, cves, products, required_action, deadline, tlp, issued_by, issued_at`

func scanAlert(r interface{ Scan(...any) error }) (CyberAlert, error) {
	var a CyberAlert
	var cves, prods, deadline, issued string
	if err := r.Scan(&a.ID, &a.Title, &a.Severity, &cves, &prods, &a.RequiredAction, &deadline, &a.TLP, &a.IssuedBy, &issued); err != nil {
		return a, err
	}
	_ = json.Unmarshal([]byte(cves), &a.CVEs)
	_ = json.Unmarshal([]byte(prods), &a.Products)
	a.Deadline, a.IssuedAt = parseTS(deadline), parseTS(issued)
	if a.CVEs == nil {
		a.CVEs = []string{}
	}
	if a.Products == nil {
		a.Products = []AffectedProductSpec{}
	}
	a.Orgs = []AlertOrg{}
	return a, nil
}

const memberCols = `alert_id, org, name, org_type, icb, icb_name, region, region_name, path, path_nodes, ack_due, ack_at, ack_by, applicability, reason,
	update_due, first_update_at, last_update_at, closed_at, closed_by, evidence, notified_at, ack_escalated_at, update_escalated_at, in_scope, scope_changed_at`

func (s *Alerts) scanMember(r interface{ Scan(...any) error }) (AlertOrg, error) {
	var m AlertOrg
	var nodes, ackDue, ackAt, upDue, first, last, closed, notified, escalated, upEscalated, scopeChanged string
	var inScope int
	err := r.Scan(&m.Alert, &m.Org, &m.Name, &m.Type, &m.ICB, &m.ICBName, &m.Region, &m.RegionName, &m.Path, &nodes, &ackDue, &ackAt, &m.AckBy,
		&m.Applicability, &m.Reason, &upDue, &first, &last, &closed, &m.ClosedBy, &m.Evidence, &notified, &escalated, &upEscalated, &inScope, &scopeChanged)
	if err != nil {
		return m, err
	}
	_ = json.Unmarshal([]byte(nodes), &m.PathNodes)
	m.AckDue, m.UpdateDue = parseTS(ackDue), parseTS(upDue)
	m.AckAt, m.FirstUpdateAt, m.LastUpdateAt, m.ClosedAt = optTS(ackAt), optTS(first), optTS(last), optTS(closed)
	m.NotifiedAt, m.EscalatedAt = optTS(notified), optTS(escalated)
	m.UpdateEscalatedAt, m.ScopeChangedAt, m.InScope = optTS(upEscalated), optTS(scopeChanged), inScope != 0
	now := s.now()
	m.AckOverdue = m.AckAt == nil && now.After(m.AckDue)
	m.UpdateOverdue = m.ClosedAt == nil && m.Applicability != AppNotAffected && now.After(m.UpdateDue)
	if !m.InScope {
		m.AckOverdue, m.UpdateOverdue = false, false // its clocks stopped when it left the scope
	}
	return m, nil
}

func (s *Alerts) members(ctx context.Context, q store.Queryer, sc scope.Scope, where string, args ...any) ([]AlertOrg, error) {
	cond, cargs := sc.Filter("org", scope.Read)
	rows, err := q.QueryContext(ctx, `SELECT `+memberCols+` FROM cyber_alert_orgs WHERE `+where+` AND `+cond+` ORDER BY alert_id, org`, append(args, cargs...)...)
	if err != nil {
		return nil, fmt.Errorf("vuln: alert organisations: %w", err)
	}
	return store.Collect(rows, s.scanMember)
}

// national reports whether sc reads the national root (sees every alert).
func (s *Alerts) national(ctx context.Context, sc scope.Scope) (bool, error) {
	root, err := s.rootPath(ctx)
	if err != nil {
		return false, err
	}
	return sc.CanAt(scope.Read, root), nil
}

func notFound(id string) error { return fault.NotFoundf("no cyber alert %s", id) }

// Get returns an alert with the organisation rows sc may read (each with
// its history of responses) and their statistics; fault.ErrNotFound for
// an alert sc sees no row of (unless national).
func (s *Alerts) Get(ctx context.Context, sc scope.Scope, id string) (CyberAlert, error) {
	q := s.db.Q()
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertCols+` FROM cyber_alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CyberAlert{}, notFound(id)
	}
	if err != nil {
		return CyberAlert{}, fmt.Errorf("vuln: alert %s: %w", id, err)
	}
	nat, err := s.national(ctx, sc)
	if err != nil {
		return CyberAlert{}, err
	}
	ms, err := s.members(ctx, q, sc, "alert_id = ?", id)
	if err != nil {
		return CyberAlert{}, err
	}
	if len(ms) == 0 && !nat {
		return CyberAlert{}, notFound(id)
	}
	cond, cargs := sc.Filter("org", scope.Read)
	rows, err := q.QueryContext(ctx, `SELECT org, action, applicability, body, by_name, at FROM cyber_alert_responses WHERE alert_id = ? AND `+cond+` ORDER BY at, id`,
		append([]any{id}, cargs...)...)
	if err != nil {
		return CyberAlert{}, err
	}
	defer rows.Close()
	idx := map[string]int{}
	for i, m := range ms {
		idx[m.Org] = i
	}
	for rows.Next() {
		var o, at string
		var r ResponseEntry
		if err := rows.Scan(&o, &r.Action, &r.Applicability, &r.Text, &r.By, &at); err != nil {
			return CyberAlert{}, err
		}
		r.At = parseTS(at)
		if i, ok := idx[o]; ok {
			ms[i].Responses = append(ms[i].Responses, r)
		}
	}
	if err := rows.Err(); err != nil {
		return CyberAlert{}, err
	}
	a.Orgs = ms
	a.Stats = statsOf(ms)
	return a, nil
}

// ListFilter narrows List.
type ListFilter struct {
	// Org lists only alerts with that organisation in scope.
	Org   string
	Limit int
}

// AlertSummary is one alert in a list, with the statistics of the rows
// the reader may see.
type AlertSummary struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	CVEs     []string  `json:"cves"`
	TLP      string    `json:"tlp"`
	Deadline time.Time `json:"deadline"`
	IssuedBy string    `json:"issued_by"`
	IssuedAt time.Time `json:"issued_at"`
	Stats    Stats     `json:"stats"`
}

// List returns the alerts sc may see, newest first: every alert for the
// national team, otherwise those with a row sc may read.
func (s *Alerts) List(ctx context.Context, sc scope.Scope, f ListFilter) ([]AlertSummary, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	nat, err := s.national(ctx, sc)
	if err != nil {
		return nil, err
	}
	q := s.db.Q()
	where, args := "1=1", []any{}
	cond, cargs := sc.Filter("m.org", scope.Read)
	if !nat {
		where, args = `EXISTS (SELECT 1 FROM cyber_alert_orgs m WHERE m.alert_id = a.id AND `+cond+`)`, cargs
	}
	if f.Org != "" {
		where += ` AND EXISTS (SELECT 1 FROM cyber_alert_orgs m2 WHERE m2.alert_id = a.id AND m2.org = ?)`
		args = append(args, strings.ToUpper(strings.TrimSpace(f.Org)))
	}
	rows, err := q.QueryContext(ctx, `SELECT `+alertCols+` FROM cyber_alerts a WHERE `+where+` ORDER BY issued_at DESC, id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("vuln: list alerts: %w", err)
	}
	as, err := store.Collect(rows, scanAlert)
	if err != nil {
		return nil, err
	}
	out := []AlertSummary{}
	for _, a := range as {
		ms, err := s.members(ctx, q, sc, "alert_id = ?", a.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, AlertSummary{ID: a.ID, Title: a.Title, Severity: a.Severity, CVEs: a.CVEs, TLP: a.TLP, Deadline: a.Deadline,
			IssuedBy: a.IssuedBy, IssuedAt: a.IssuedAt, Stats: statsOf(ms)})
	}
	return out, nil
}

// ---- respond ----

// Respond records one answer for each organisation of r (all or none):
// the caller needs write on each, and each must be in the alert's scope.
// It returns the rows as they now are.
func (s *Alerts) Respond(ctx context.Context, sc scope.Scope, alertID string, r Response) ([]AlertOrg, error) {
	r.Action = strings.ToLower(strings.TrimSpace(r.Action))
	r.Applicability = strings.ToLower(strings.TrimSpace(r.Applicability))
	if !slices.Contains(Actions(), r.Action) {
		return nil, fault.Invalidf("action", "%q: want one of %s", r.Action, strings.Join(Actions(), ", "))
	}
	if err := checkText("text", r.Text, maxText, false); err != nil {
		return nil, err
	}
	switch r.Action {
	case ActApplicability:
		if !slices.Contains(Applicabilities(), r.Applicability) {
			return nil, fault.Invalidf("applicability", "%q: want one of %s", r.Applicability, strings.Join(Applicabilities(), ", "))
		}
		if r.Applicability == AppNotAffected && strings.TrimSpace(r.Text) == "" {
			return nil, fault.Invalidf("text", "say why the alert does not apply (the reason)")
		}
	case ActUpdate:
		if strings.TrimSpace(r.Text) == "" {
			return nil, fault.Invalidf("text", "is required: what has been done to remediate")
		}
	case ActClose:
		if strings.TrimSpace(r.Text) == "" {
			return nil, fault.Invalidf("text", "is required: the evidence that the required action is done")
		}
	}
	if r.Action != ActApplicability && r.Applicability != "" {
		return nil, fault.Invalidf("applicability", "is only for the applicability action")
	}
	var orgs []string
	for _, o := range r.Orgs {
		o = strings.ToUpper(strings.TrimSpace(o))
		if o != "" && !slices.Contains(orgs, o) {
			orgs = append(orgs, o)
		}
	}
	if len(orgs) == 0 {
		return nil, fault.Invalidf("orgs", "name the organisation (or organisations) you answer for")
	}
	if len(orgs) > maxRespOrgs {
		return nil, fault.Invalidf("orgs", "%d organisations, more than %d in one answer", len(orgs), maxRespOrgs)
	}
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var audits []audit.Actor
		for _, o := range orgs {
			ms, err := s.members(ctx, tx, sc, "alert_id = ? AND org = ?", alertID, o)
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				return fault.NotFoundf("organisation %s is not in scope of cyber alert %s, or you may not see it", o, alertID)
			}
			m := ms[0]
			path, err := s.o.Orgs.PathOf(ctx, o)
			if err != nil {
				return err
			}
			if !sc.CanAt(scope.Write, path) {
				return fault.Forbiddenf("answering cyber alert %s for %s needs a role there that may change things", alertID, o)
			}
			if m.ClosedAt != nil {
				return fault.Invalidf("action", "%s closed its part in alert %s on %s", o, alertID, m.ClosedAt.UTC().Format(time.RFC3339))
			}
			if r.Action == ActClose && m.Applicability == "" {
				return fault.Invalidf("action", "%s: say whether the alert applies (applicability) before closing", o)
			}
			sets := []string{}
			args := []any{}
			if m.AckAt == nil {
				// Any answer acknowledges.
				sets, args = append(sets, "ack_at = ?", "ack_by = ?"), append(args, ts(now), actorName(sc))
			}
			switch r.Action {
			case ActApplicability:
				sets, args = append(sets, "applicability = ?", "reason = ?"), append(args, r.Applicability, r.Text)
			case ActUpdate:
				if m.FirstUpdateAt == nil {
					sets, args = append(sets, "first_update_at = ?"), append(args, ts(now))
				}
				sets, args = append(sets, "last_update_at = ?", "update_due = ?"), append(args, ts(now), ts(now.Add(s.o.UpdateEvery)))
			case ActClose:
				sets, args = append(sets, "closed_at = ?", "closed_by = ?", "evidence = ?"), append(args, ts(now), actorName(sc), r.Text)
			}
			if r.Action == ActAcknowledge && m.AckAt != nil {
				return fault.Conflictf("%s acknowledged alert %s already (%s)", o, alertID, m.AckBy)
			}
			if len(sets) > 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE cyber_alert_orgs SET `+strings.Join(sets, ", ")+` WHERE alert_id = ? AND org = ?`,
					append(args, alertID, o)...); err != nil {
					return fmt.Errorf("vuln: answer %s for %s: %w", alertID, o, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cyber_alert_responses (id, alert_id, org, action, applicability, body, by_name, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				randid.New("CAR"), alertID, o, r.Action, r.Applicability, r.Text, actorName(sc), ts(now)); err != nil {
				return fmt.Errorf("vuln: answer %s for %s: %w", alertID, o, err)
			}
			after := map[string]any{"action": r.Action, "text": r.Text, "bulk": len(orgs) > 1}
			if r.Applicability != "" {
				after["applicability"] = r.Applicability
			}
			audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: "cyberalert." + r.Action, ObjectType: "cyber_alert", ObjectID: alertID, Org: o,
				Before: map[string]any{"state": m.State()}, After: after}})
		}
		_, err := s.o.Audit.AppendAll(ctx, tx, audits)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []AlertOrg
	for _, o := range orgs {
		ms, err := s.members(ctx, s.db.Q(), sc, "alert_id = ? AND org = ?", alertID, o)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}
