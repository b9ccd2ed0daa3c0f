package vuln

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// Stored SBOMs and inventories (issue 18, items 1, 2 and 5).
//
// A supplier product's SBOM is stored per product version; an
// organisation's inventory of its own assets and software is stored per
// organisation, as an SBOM file too (CycloneDX or SPDX, read by
// ParseSBOM), with the asset's criticality and exposure. Components keep
// their purls as written. Match judges every stored component against an
// OSV directory with an Inventory held in memory: the first match (or one
// against another directory) is full; later ones load the directory
// again, find the advisories that changed, appeared or went, and judge
// only those (Inventory.Update), rewriting the findings of the SBOMs
// whose hits changed. An SBOM stored after a match is judged on its own
// (Inventory.AddMatched). Each finding is stored with its priority
// (Prioritize: CVSS, KEV, EPSS, and the supplier graph's deployments for
// a product or the asset's criticality and exposure for an inventory), the
// time it was first found and its SLA due time.
//
// Scope: a product's SBOMs and findings are seen by whoever sees the
// product in the supplier register (the register is shared reference data
// for NHS staff; a supplier's representatives see their own products), and
// stored or removed by whoever may change the product (supply-chain
// managers, the supplier's representatives). An inventory is seen with
// read on its organisation and stored or removed with write there: a trust
// sees its own, never another's. Matching is the national team's (write
// on the national root). Anything not seen is fault.ErrNotFound.

// Kinds of stored SBOM.
const (
	KindProduct   = "product"
	KindInventory = "inventory"
)

// Exposures an inventory's asset may have.
const (
	ExposureInternet = "internet"
	ExposureInternal = "internal"
)

// Criticalities an inventory's asset may have.
func Criticalities() []string { return []string{"critical", "high", "medium", "low"} }

const (
	maxSBOMName    = 200
	maxVersion     = 100
	maxStoredBytes = 64 << 20
)

// SBOMRegister is what stored SBOMs read of the supplier register.
type SBOMRegister interface {
	GetProduct(ctx context.Context, sc scope.Scope, id string) (supply.Product, error)
	EditableProduct(ctx context.Context, sc scope.Scope, id string) (supply.Product, error)
	Impact(ctx context.Context, sc scope.Scope, q supply.Query) (supply.ImpactResult, error)
}

// SBOMOptions are the stored SBOM service's dependencies and settings.
type SBOMOptions struct {
	DB       *store.DB
	Audit    *audit.Log
	Register SBOMRegister
	Orgs     Orgs
	// OSVDir, when set, is the server's OSV directory: an SBOM stored is
	// matched against it at once, and Match uses it when asked for none.
	OSVDir string
	// KEVFile and EPSSFile, when set, are read at each match.
	KEVFile, EPSSFile string
	// SLA is the time to fix per priority (DefaultSLA when nil).
	SLA    SLA
	Now    func() time.Time
	Logger *slog.Logger
}

// SBOMs is the stored SBOM and inventory service.
type SBOMs struct {
	o   SBOMOptions
	db  *store.DB
	now func() time.Time
	log *slog.Logger

	mu sync.Mutex // one match at a time; guards st
	st *matchState
}

// matchState is the last match, kept for the next one to be incremental.
type matchState struct {
	dir, dirFP    string
	kevFP, epssFP string
	kev           *KEV
	epss          *EPSS
	db            *DB
	fp            map[string]string // advisory ID → its record's fingerprint
	records       recordCache       // what was read of each record
	inv           *Inventory
	ids           []string // stored SBOM ID per inventory index ("" once removed)
	at            map[string]int
	// levels is each SBOM's stored findings by priority level, kept as
	// they are written: counting them in the table took half of an
	// incremental match at national scale (BenchmarkNationalStored).
	levels map[int32]map[string]int
}

// NewSBOMs checks o and fills its defaults.
func NewSBOMs(o SBOMOptions) (*SBOMs, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("vuln: SBOMOptions.DB is required")
	case o.Audit == nil:
		return nil, errors.New("vuln: SBOMOptions.Audit is required")
	case o.Register == nil:
		return nil, errors.New("vuln: SBOMOptions.Register is required")
	case o.Orgs == nil:
		return nil, errors.New("vuln: SBOMOptions.Orgs is required")
	}
	if o.SLA == nil {
		o.SLA = DefaultSLA()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &SBOMs{o: o, db: o.DB, now: o.Now, log: o.Logger}, nil
}

// SLA is the service's time to fix per priority.
func (s *SBOMs) SLA() SLA { return s.o.SLA }

// StoredSBOM is one stored SBOM or inventory.
type StoredSBOM struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Product and Version: a supplier product's SBOM.
	Product string `json:"product_id,omitempty"`
	Version string `json:"version,omitempty"`
	// Org, Criticality and Exposure: an organisation's inventory.
	Org         string `json:"org,omitempty"`
	Criticality string `json:"criticality,omitempty"`
	Exposure    string `json:"exposure,omitempty"`
	// Name is the file's name or the name given.
	Name   string `json:"name"`
	Format string `json:"format"`
	SHA256 string `json:"sha256"`
	// Components counts those with a purl (stored); NoPURL those without;
	// Unsupported those of an ecosystem not matched.
	Components  int        `json:"components"`
	NoPURL      int        `json:"no_purl"`
	Unsupported int        `json:"unsupported"`
	AddedBy     string     `json:"added_by"`
	AddedAt     time.Time  `json:"added_at"`
	MatchedAt   *time.Time `json:"matched_at,omitempty"`
	// Findings counts the findings of the last match by priority level.
	Findings map[string]int `json:"findings"`
	// Items are the components (Get only).
	Items []StoredComponent `json:"component_list,omitempty"`
}

// Owner says whose SBOM it is, for people.
func (x StoredSBOM) Owner() string {
	if x.Kind == KindProduct {
		return "product " + x.Product + " " + x.Version
	}
	return "organisation " + x.Org
}

// StoredComponent is one component of a stored SBOM.
type StoredComponent struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	PURL      string `json:"purl"`
	Ecosystem string `json:"ecosystem,omitempty"`
	Package   string `json:"package,omitempty"`
}

// StoredFinding is one finding of a stored SBOM, with its priority and
// SLA due time.
type StoredFinding struct {
	SBOMID  string `json:"sbom_id"`
	Kind    string `json:"kind"`
	Product string `json:"product_id,omitempty"`
	// ProductVersion is the product version the SBOM describes; Version
	// (the finding's) is the component's.
	ProductVersion string `json:"product_version,omitempty"`
	Org            string `json:"org,omitempty"`
	SBOMName       string `json:"sbom_name"`
	Index          int    `json:"component_index"`
	Finding
	Priority  Priority  `json:"priority"`
	FirstSeen time.Time `json:"first_seen"`
	Due       time.Time `json:"due"`
	// Ref names the finding for the workflow: SBOM/component/ID.
	Ref string `json:"ref"`
	// State is what people said of it (findings_workflow.go); Overdue is
	// past its due time while still to be dealt with.
	State   FindingState `json:"state"`
	Overdue bool         `json:"overdue"`
}

// InventoryMeta describes an organisation's inventory.
type InventoryMeta struct {
	// Name names the inventory (the file's name when empty).
	Name string `json:"name,omitempty"`
	// Criticality of the asset: critical, high, medium, low or "".
	Criticality string `json:"criticality,omitempty"`
	// Exposure: internet, internal or "".
	Exposure string `json:"exposure,omitempty"`
}

func checkName(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fault.Invalidf(field, "is required")
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x00") {
		return "", fault.Invalidf(field, "must be one line of text")
	}
	if len(s) > max {
		return "", fault.Invalidf(field, "is %d bytes, more than %d", len(s), max)
	}
	return s, nil
}

// parse reads an uploaded SBOM; a file that does not parse is Invalid
// naming it (and its line for broken JSON).
func parseUpload(name string, data []byte) (*SBOM, error) {
	if len(data) > maxStoredBytes {
		return nil, fault.Invalidf("file", "%s is %d bytes, more than the %d a stored SBOM may have", name, len(data), maxStoredBytes)
	}
	sb, err := ParseSBOM(name, data)
	if err != nil {
		return nil, fault.Invalidf("file", "%v", err)
	}
	return sb, nil
}

// AddProductSBOM stores the SBOM of a supplier product at one version.
func (s *SBOMs) AddProductSBOM(ctx context.Context, sc scope.Scope, product, version, name string, data []byte) (StoredSBOM, error) {
	var err error
	if version, err = checkName("version", version, maxVersion); err != nil {
		return StoredSBOM{}, err
	}
	if name, err = checkName("name", filepath.Base(name), maxSBOMName); err != nil {
		return StoredSBOM{}, err
	}
	p, err := s.o.Register.GetProduct(ctx, sc, product)
	if err != nil {
		return StoredSBOM{}, err
	}
	if _, err := s.o.Register.EditableProduct(ctx, sc, p.ID); errors.Is(err, fault.ErrNotFound) {
		return StoredSBOM{}, fault.Forbiddenf("storing an SBOM of product %s needs the right to change it (a supply-chain manager or the supplier's representative)", p.ID)
	} else if err != nil {
		return StoredSBOM{}, err
	}
	sb, err := parseUpload(name, data)
	if err != nil {
		return StoredSBOM{}, err
	}
	x := StoredSBOM{Kind: KindProduct, Product: p.ID, Version: version, Name: name}
	return s.add(ctx, sc, x, sb, data, "vuln.sbom.add", "")
}

// AddInventory stores an organisation's inventory of its assets and
// software (an SBOM file).
func (s *SBOMs) AddInventory(ctx context.Context, sc scope.Scope, orgCode string, m InventoryMeta, fileName string, data []byte) (StoredSBOM, error) {
	if m.Name == "" {
		m.Name = filepath.Base(fileName)
	}
	var err error
	if m.Name, err = checkName("name", m.Name, maxSBOMName); err != nil {
		return StoredSBOM{}, err
	}
	m.Criticality = strings.ToLower(strings.TrimSpace(m.Criticality))
	if m.Criticality != "" && !slices.Contains(Criticalities(), m.Criticality) {
		return StoredSBOM{}, fault.Invalidf("criticality", "%q: want one of %s", m.Criticality, strings.Join(Criticalities(), ", "))
	}
	m.Exposure = strings.ToLower(strings.TrimSpace(m.Exposure))
	if m.Exposure != "" && m.Exposure != ExposureInternet && m.Exposure != ExposureInternal {
		return StoredSBOM{}, fault.Invalidf("exposure", "%q: want internet or internal", m.Exposure)
	}
	code, err := s.orgAt(ctx, sc, orgCode, scope.Write)
	if err != nil {
		return StoredSBOM{}, err
	}
	sb, err := parseUpload(m.Name, data)
	if err != nil {
		return StoredSBOM{}, err
	}
	x := StoredSBOM{Kind: KindInventory, Org: code, Name: m.Name, Criticality: m.Criticality, Exposure: m.Exposure}
	return s.add(ctx, sc, x, sb, data, "vuln.inventory.add", code)
}

// orgAt checks that sc holds p on organisation code: not readable is
// ErrNotFound, readable but not p is ErrForbidden.
func (s *SBOMs) orgAt(ctx context.Context, sc scope.Scope, code string, p scope.Perm) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return "", fault.Invalidf("org", "is required: the organisation's ODS code")
	}
	path, err := s.o.Orgs.PathOf(ctx, code)
	if errors.Is(err, fault.ErrNotFound) || errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.CanAt(scope.Read, path)) {
		return "", fault.NotFoundf("organisation %s", code)
	}
	if err != nil {
		return "", err
	}
	if !sc.CanAt(p, path) {
		return "", fault.Forbiddenf("changing the inventory of %s needs write there (an org-admin or org-analyst of it)", code)
	}
	return code, nil
}

func (s *SBOMs) add(ctx context.Context, sc scope.Scope, x StoredSBOM, sb *SBOM, data []byte, action, auditOrg string) (StoredSBOM, error) {
	now := s.now()
	sum := sha256.Sum256(data)
	x.ID = "SB-" + strings.TrimPrefix(randid.New(""), "-")[:12]
	x.Format, x.SHA256 = string(sb.Format), hex.EncodeToString(sum[:])
	x.Components, x.NoPURL = len(sb.Components), sb.NoPURL
	for _, c := range sb.Components {
		if c.Ecosystem == "" {
			x.Unsupported++
		}
	}
	x.AddedBy, x.AddedAt = actorName(sc), now
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vuln_sboms (id, kind, product_id, version, org, name, format, sha256, components, no_purl, unsupported,
			criticality, exposure, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.Kind, x.Product, x.Version, x.Org, x.Name, x.Format, x.SHA256, x.Components, x.NoPURL, x.Unsupported,
			x.Criticality, x.Exposure, x.AddedBy, ts(now)); err != nil {
			return fmt.Errorf("vuln: store SBOM: %w", err)
		}
		for i, c := range sb.Components {
			if _, err := tx.ExecPrepared(ctx, `INSERT INTO vuln_components (sbom_id, idx, name, version, purl, ecosystem, package) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				x.ID, i, c.Name, c.Version, c.PURL, c.Ecosystem, c.Package); err != nil {
				return fmt.Errorf("vuln: store SBOM component %d: %w", i, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vuln_sbom_files (sbom_id, content_type, data) VALUES (?, ?, ?)`, x.ID, contentTypeOf(sb.Format), data); err != nil {
			return fmt.Errorf("vuln: keep SBOM file: %w", err)
		}
		_, err := s.o.Audit.Append(ctx, tx, sc, audit.Change{Action: action, ObjectType: "sbom", ObjectID: x.ID, Org: auditOrg,
			After: map[string]any{"kind": x.Kind, "product": x.Product, "version": x.Version, "org": x.Org, "name": x.Name, "format": x.Format,
				"sha256": x.SHA256, "components": x.Components, "criticality": x.Criticality, "exposure": x.Exposure}})
		return err
	})
	if err != nil {
		return StoredSBOM{}, err
	}
	if s.o.OSVDir != "" {
		if err := s.matchAdded(ctx); err != nil {
			s.log.Warn("matching a stored SBOM", "sbom", x.ID, "err", err)
		}
	}
	return s.get(ctx, s.db.Q(), x.ID)
}

const sbomCols = `id, kind, product_id, version, org, name, format, sha256, components, no_purl, unsupported, criticality, exposure, added_by, added_at, matched_at`

func scanSBOM(r interface{ Scan(...any) error }) (StoredSBOM, error) {
	var x StoredSBOM
	var added, matched string
	err := r.Scan(&x.ID, &x.Kind, &x.Product, &x.Version, &x.Org, &x.Name, &x.Format, &x.SHA256, &x.Components, &x.NoPURL, &x.Unsupported,
		&x.Criticality, &x.Exposure, &x.AddedBy, &added, &matched)
	x.AddedAt, x.MatchedAt = parseTS(added), optTS(matched)
	x.Findings = map[string]int{}
	return x, err
}

func (s *SBOMs) get(ctx context.Context, q store.Queryer, id string) (StoredSBOM, error) {
	x, err := scanSBOM(q.QueryRowContext(ctx, `SELECT `+sbomCols+` FROM vuln_sboms WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return x, fault.NotFoundf("SBOM %s", id)
	}
	if err != nil {
		return x, err
	}
	return x, s.countFindings(ctx, q, []*StoredSBOM{&x})
}

func (s *SBOMs) countFindings(ctx context.Context, q store.Queryer, xs []*StoredSBOM) error {
	if len(xs) == 0 {
		return nil
	}
	by := map[string]*StoredSBOM{}
	args := make([]any, len(xs))
	for i, x := range xs {
		by[x.ID], args[i] = x, x.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT sbom_id, priority, COUNT(*) FROM vuln_findings WHERE sbom_id IN (`+store.Placeholders(len(xs))+`) GROUP BY sbom_id, priority`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, level string
		var n int
		if err := rows.Scan(&id, &level, &n); err != nil {
			return err
		}
		by[id].Findings[level] = n
	}
	return rows.Err()
}

// visible checks that sc may see x (read) or change it (write).
func (s *SBOMs) visible(ctx context.Context, sc scope.Scope, x StoredSBOM, write bool) error {
	if x.Kind == KindProduct {
		if _, err := s.o.Register.GetProduct(ctx, sc, x.Product); err != nil {
			if errors.Is(err, fault.ErrNotFound) {
				return fault.NotFoundf("SBOM %s", x.ID)
			}
			return err
		}
		if write {
			if _, err := s.o.Register.EditableProduct(ctx, sc, x.Product); errors.Is(err, fault.ErrNotFound) {
				return fault.Forbiddenf("removing an SBOM of product %s needs the right to change it", x.Product)
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	perm := scope.Read
	if write {
		perm = scope.Write
	}
	_, err := s.orgAt(ctx, sc, x.Org, perm)
	if errors.Is(err, fault.ErrNotFound) {
		return fault.NotFoundf("SBOM %s", x.ID)
	}
	return err
}

// Get returns a stored SBOM with its components.
func (s *SBOMs) Get(ctx context.Context, sc scope.Scope, id string) (StoredSBOM, error) {
	q := s.db.Q()
	x, err := s.get(ctx, q, id)
	if err != nil {
		return x, err
	}
	if err := s.visible(ctx, sc, x, false); err != nil {
		return StoredSBOM{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT idx, name, version, purl, ecosystem, package FROM vuln_components WHERE sbom_id = ? ORDER BY idx`, id)
	if err != nil {
		return x, err
	}
	defer rows.Close()
	x.Items = []StoredComponent{}
	for rows.Next() {
		var c StoredComponent
		if err := rows.Scan(&c.Index, &c.Name, &c.Version, &c.PURL, &c.Ecosystem, &c.Package); err != nil {
			return x, err
		}
		x.Items = append(x.Items, c)
	}
	return x, rows.Err()
}

// SBOMFilter chooses stored SBOMs: a product's, an organisation's, or
// with neither every one the caller may see.
type SBOMFilter struct {
	Product string
	Org     string
}

// List returns the stored SBOMs the caller may see, newest first.
func (s *SBOMs) List(ctx context.Context, sc scope.Scope, f SBOMFilter) ([]StoredSBOM, error) {
	where, args := "1=1", []any{}
	if f.Product != "" {
		p, err := s.o.Register.GetProduct(ctx, sc, f.Product)
		if err != nil {
			return nil, err
		}
		where, args = "kind = ? AND product_id = ?", []any{KindProduct, p.ID}
	}
	if f.Org != "" {
		code, err := s.orgAt(ctx, sc, f.Org, scope.Read)
		if err != nil {
			return nil, err
		}
		where += " AND kind = ? AND org = ?"
		args = append(args, KindInventory, code)
	}
	cond, cargs := sc.Filter("org", scope.Read)
	// Inventories within the caller's scope; products checked below.
	where += " AND (kind = '" + KindProduct + "' OR " + cond + ")"
	args = append(args, cargs...)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+sbomCols+` FROM vuln_sboms WHERE `+where+` ORDER BY added_at DESC, id`, args...)
	if err != nil {
		return nil, err
	}
	all, err := store.Collect(rows, scanSBOM)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]StoredSBOM, 0, len(all))
	ptrs := make([]*StoredSBOM, 0, len(all))
	for _, x := range all {
		if x.Kind == KindProduct {
			ok, done := seen[x.Product]
			if !done {
				_, err := s.o.Register.GetProduct(ctx, sc, x.Product)
				if err != nil && !errors.Is(err, fault.ErrNotFound) {
					return nil, err
				}
				ok = err == nil
				seen[x.Product] = ok
			}
			if !ok {
				continue
			}
		}
		out = append(out, x)
	}
	for i := range out {
		ptrs = append(ptrs, &out[i])
	}
	return out, s.countFindings(ctx, s.db.Q(), ptrs)
}

// Delete removes a stored SBOM and its findings.
func (s *SBOMs) Delete(ctx context.Context, sc scope.Scope, id string) error {
	x, err := s.get(ctx, s.db.Q(), id)
	if err != nil {
		return err
	}
	if err := s.visible(ctx, sc, x, true); err != nil {
		return err
	}
	action, auditOrg := "vuln.sbom.delete", ""
	if x.Kind == KindInventory {
		action, auditOrg = "vuln.inventory.delete", x.Org
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, t := range []string{"vuln_finding_ids", "vuln_findings", "vuln_components", "vuln_finding_states", "vuln_suppressions", "vuln_sbom_files"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE sbom_id = ?`, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM vuln_sboms WHERE id = ?`, id); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, sc, audit.Change{Action: action, ObjectType: "sbom", ObjectID: id, Org: auditOrg,
			Before: map[string]any{"kind": x.Kind, "product": x.Product, "version": x.Version, "org": x.Org, "name": x.Name}})
		return err
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if st := s.st; st != nil {
		if i, ok := st.at[id]; ok {
			st.ids[i] = ""
			delete(st.at, id)
		}
	}
	s.mu.Unlock()
	return nil
}

// FindingFilter chooses findings: one SBOM's, a product's (all its
// versions), or an organisation's inventories'. Level keeps one priority.
type FindingFilter struct {
	SBOM    string
	Product string
	Org     string
	Level   string
}

const findingCols = `f.sbom_id, s.kind, s.product_id, s.version, s.org, s.name, f.component, f.body, f.first_seen, f.due`

// Findings lists stored findings, most urgent first (priority points,
// then due time).
func (s *SBOMs) Findings(ctx context.Context, sc scope.Scope, f FindingFilter) ([]StoredFinding, error) {
	var where string
	var args []any
	switch {
	case f.SBOM != "":
		x, err := s.get(ctx, s.db.Q(), f.SBOM)
		if err != nil {
			return nil, err
		}
		if err := s.visible(ctx, sc, x, false); err != nil {
			return nil, err
		}
		where, args = "f.sbom_id = ?", []any{x.ID}
	default:
		var named bool
		var err error
		if where, args, named, err = s.ownerWhere(ctx, sc, f.Product, f.Org, "s."); err != nil {
			return nil, err
		}
		if !named {
			return nil, fault.Invalidf("sbom", "name an SBOM, a product or an organisation")
		}
	}
	if f.Level != "" {
		l := strings.ToUpper(f.Level)
		if !slices.Contains(PriorityLevels(), l) {
			return nil, fault.Invalidf("priority", "%q: want one of %s", f.Level, strings.Join(PriorityLevels(), ", "))
		}
		where += " AND f.priority = ?"
		args = append(args, l)
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+findingCols+` FROM vuln_findings f JOIN vuln_sboms s ON s.id = f.sbom_id WHERE `+where+
		` ORDER BY f.points DESC, f.due, f.sbom_id, f.component, f.vuln_id`, args...)
	if err != nil {
		return nil, err
	}
	out, err := store.Collect(rows, scanFinding)
	if err != nil {
		return nil, err
	}
	return out, s.annotate(ctx, out)
}

func scanFinding(r interface{ Scan(...any) error }) (StoredFinding, error) {
	var x StoredFinding
	var body, first, due string
	if err := r.Scan(&x.SBOMID, &x.Kind, &x.Product, &x.ProductVersion, &x.Org, &x.SBOMName, &x.Index, &body, &first, &due); err != nil {
		return x, err
	}
	var b findingBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return x, fmt.Errorf("vuln: stored finding %s: %w", x.SBOMID, err)
	}
	x.Finding, x.Priority = b.Finding, b.Priority
	x.FirstSeen, x.Due = parseTS(first), parseTS(due)
	return x, nil
}

// Finding returns one stored finding: of SBOM sbomID, the vulnerability
// id (its ID or one of its aliases) on the first component it affects.
func (s *SBOMs) Finding(ctx context.Context, sc scope.Scope, sbomID, id string) (StoredFinding, error) {
	fs, err := s.Findings(ctx, sc, FindingFilter{SBOM: sbomID})
	if err != nil {
		return StoredFinding{}, err
	}
	for _, f := range fs {
		if f.ID == id || slices.Contains(f.Aliases, id) {
			return f, nil
		}
	}
	return StoredFinding{}, fault.NotFoundf("finding %s in SBOM %s", id, sbomID)
}

// findingBody is what vuln_findings.body holds.
type findingBody struct {
	Finding
	Priority Priority `json:"priority"`
}

// ---- matching ----

// MatchRequest says what to match against. Empty fields take the
// service's options.
type MatchRequest struct {
	OSVDir   string `json:"osv_dir,omitempty"`
	KEVFile  string `json:"kev_file,omitempty"`
	EPSSFile string `json:"epss_file,omitempty"`
	// Full judges everything again (and re-reads the supplier graph's
	// deployments for every product's priority).
	Full bool `json:"full,omitempty"`
}

// MatchReport says what a match did.
type MatchReport struct {
	// Mode is "full" or "incremental".
	Mode       string `json:"mode"`
	OSVDir     string `json:"osv_dir"`
	Advisories int    `json:"advisories"`
	// Changed counts the advisories new, changed or gone since the last
	// match (incremental only).
	Changed    int `json:"changed"`
	SBOMs      int `json:"sboms"`
	Components int `json:"components"`
	// Rewritten counts the SBOMs judged again (their findings written
	// where they changed).
	Rewritten int `json:"rewritten"`
	// FindingsWritten counts the findings inserted, updated or deleted:
	// a finding whose state did not change is not written.
	FindingsWritten int            `json:"findings_written"`
	Findings        int            `json:"findings"`
	ByLevel         map[string]int `json:"by_level"`
	Warnings        []string       `json:"warnings,omitempty"`
	Took            string         `json:"took"`
}

// Match judges the stored SBOMs and inventories against an OSV directory
// and stores their findings: in full the first time (or against another
// directory, or when asked), else only what changed since the last match.
// Only the national team (write on the national root) may.
func (s *SBOMs) Match(ctx context.Context, sc scope.Scope, r MatchRequest) (MatchReport, error) {
	start := time.Now()
	root, err := s.o.Orgs.PathOf(ctx, org.RootCode)
	if err != nil {
		return MatchReport{}, fmt.Errorf("vuln: national root: %w", err)
	}
	if !sc.CanAt(scope.Write, root) {
		return MatchReport{}, fault.Forbiddenf("matching the stored SBOMs needs a national role that may change things")
	}
	if r.OSVDir == "" {
		r.OSVDir = s.o.OSVDir
	}
	if r.KEVFile == "" {
		r.KEVFile = s.o.KEVFile
	}
	if r.EPSSFile == "" {
		r.EPSSFile = s.o.EPSSFile
	}
	if r.OSVDir == "" {
		return MatchReport{}, fault.Invalidf("osv_dir", "no OSV directory: give one (vigil vuln match --osv DIR) or start the server with --vuln-osv")
	}
	var kev *KEV
	var epss *EPSS
	kevFP, epssFP := "", ""
	if r.KEVFile != "" {
		if kev, err = LoadKEV(r.KEVFile); err != nil {
			return MatchReport{}, fault.Invalidf("kev_file", "%v", err)
		}
		kevFP = fileFP(r.KEVFile)
	}
	if r.EPSSFile != "" {
		if epss, err = LoadEPSS(r.EPSSFile); err != nil {
			return MatchReport{}, fault.Invalidf("epss_file", "%v", err)
		}
		epssFP = fileFP(r.EPSSFile)
	}
	_, dirFP, err := recordFiles(r.OSVDir)
	if err != nil {
		return MatchReport{}, fault.Invalidf("osv_dir", "OSV directory: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var db *DB
	var fp map[string]string
	var records recordCache
	if st := s.st; st != nil && !r.Full && st.dir == r.OSVDir && st.dirFP == dirFP {
		// No record file changed (names, sizes, times): the advisories
		// of the last match stand, unread.
		db, fp, records = st.db, st.fp, st.records
	} else {
		// Records whose file or archive member has not changed since the
		// last match of this directory are taken as they were read then.
		var cache recordCache
		if st := s.st; st != nil && !r.Full && st.dir == r.OSVDir {
			cache = st.records
		}
		if db, fp, records, _, err = loadDBCached(r.OSVDir, cache); err != nil {
			return MatchReport{}, fault.Invalidf("osv_dir", "%v", err)
		}
	}
	rep := MatchReport{OSVDir: r.OSVDir, Advisories: len(db.Advisories), ByLevel: map[string]int{}}
	stored, err := s.storedIDs(ctx)
	if err != nil {
		return rep, err
	}
	st := s.st
	touched := touchSet{}
	if st == nil || r.Full || st.dir != r.OSVDir || st.kevFP != kevFP || st.epssFP != epssFP {
		rep.Mode = "full"
		st = &matchState{dir: r.OSVDir, dirFP: dirFP, kevFP: kevFP, epssFP: epssFP, kev: kev, epss: epss, db: db, fp: fp, records: records, inv: NewInventory(), at: map[string]int{}, levels: map[int32]map[string]int{}}
		s.st = nil // a failure below leaves no half state
		for _, id := range stored {
			sb, err := s.loadSBOM(ctx, id)
			if err != nil {
				return rep, err
			}
			st.at[id] = st.inv.Add(sb)
			st.ids = append(st.ids, id)
		}
		st.inv.Match(db)
		for i := range st.ids {
			touched.all(int32(i))
		}
	} else {
		rep.Mode = "incremental"
		// Advisories new, changed or gone: judged again on their own.
		var changed []*Advisory
		for id, a := range db.Advisories {
			if st.fp[id] != fp[id] {
				changed = append(changed, a)
			}
		}
		for id := range st.fp {
			if _, ok := db.Advisories[id]; !ok {
				changed = append(changed, &Advisory{ID: id, Withdrawn: "gone from the OSV directory"})
			}
		}
		sort.Slice(changed, func(i, j int) bool { return changed[i].ID < changed[j].ID })
		rep.Changed = len(changed)
		for _, a := range changed {
			added, removed := st.inv.Update(st.db, a)
			for _, h := range append(added, removed...) {
				for _, c := range h.Components {
					touched.comp(c)
				}
			}
		}
		st.fp, st.dirFP, st.kev, st.epss = fp, dirFP, kev, epss
		if records != nil {
			st.records = records
		}
		// SBOMs stored since (by another process too): judged on their own.
		for _, id := range stored {
			if _, ok := st.at[id]; ok {
				continue
			}
			sb, err := s.loadSBOM(ctx, id)
			if err != nil {
				return rep, err
			}
			i := st.inv.AddMatched(st.db, sb)
			st.at[id] = i
			st.ids = append(st.ids, id)
			touched.all(int32(i))
		}
		// SBOMs removed by another process.
		live := map[string]bool{}
		for _, id := range stored {
			live[id] = true
		}
		for i, id := range st.ids {
			if id != "" && !live[id] {
				st.ids[i] = ""
				delete(st.at, id)
			}
		}
	}
	s.st = nil
	n, err := s.write(ctx, st, touched, kev, epss, &rep)
	if err != nil {
		return rep, err
	}
	s.st = st
	rep.Rewritten = n
	if s.db.Dialect == store.Postgres && rep.FindingsWritten > 10_000 {
		// Many findings written (a full match, most of all the first):
		// PostgreSQL's planner, until autovacuum comes round, knows
		// nothing of them and reads a whole table where the next
		// incremental match wants a few rows by key (seconds instead of
		// milliseconds).
		if _, err := s.db.ExecContext(ctx, `ANALYZE vuln_findings, vuln_finding_ids`); err != nil {
			return rep, fmt.Errorf("vuln: refresh the findings' statistics: %w", err)
		}
	}
	for _, id := range st.ids {
		if id != "" {
			rep.SBOMs++
			rep.Components += st.inv.SBOM(int32(st.at[id])).len()
		}
	}
	rep.Findings = 0
	for _, id := range st.ids {
		if id == "" {
			continue
		}
		for l, c := range st.levels[int32(st.at[id])] {
			if c != 0 {
				rep.ByLevel[l] += c
				rep.Findings += c
			}
		}
	}
	rep.Took = time.Since(start).Round(time.Millisecond).String()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := s.o.Audit.Append(ctx, tx, sc, audit.Change{Action: "vuln.match", ObjectType: "osv", ObjectID: filepath.Base(r.OSVDir), Org: org.RootCode,
			After: map[string]any{"mode": rep.Mode, "advisories": rep.Advisories, "changed": rep.Changed, "sboms": rep.SBOMs, "rewritten": rep.Rewritten, "findings": rep.Findings}})
		return err
	})
	return rep, err
}

// RunMatch matches the stored SBOMs against the server's OSV directory
// every interval (the leader's duty, so an OSV directory kept in sync
// re-matches incrementally): a directory whose record files have not
// changed is not read again. It returns at once when there is no
// directory.
func (s *SBOMs) RunMatch(ctx context.Context, interval time.Duration) (stop func()) {
	if s.o.OSVDir == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if rep, err := s.Match(ctx, scope.System("vuln-match"), MatchRequest{}); err != nil && ctx.Err() == nil {
				s.log.Warn("matching the stored SBOMs failed; trying again next tick", "err", err)
			} else if err == nil && rep.Rewritten > 0 {
				s.log.Info("stored SBOMs matched", "mode", rep.Mode, "changed", rep.Changed, "rewritten", rep.Rewritten, "findings", rep.Findings)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// matchAdded judges the SBOMs stored since the last match against that
// match's advisories, without reading the OSV directory again (a national
// OSV directory takes seconds to read; an SBOM is judged in
// milliseconds). With no match yet, or one against another directory, it
// is a full Match against the server's directory.
func (s *SBOMs) matchAdded(ctx context.Context) error {
	s.mu.Lock()
	st := s.st
	if st == nil || st.dir != s.o.OSVDir {
		s.mu.Unlock()
		_, err := s.Match(ctx, scope.System("sbom-add"), MatchRequest{})
		return err
	}
	defer s.mu.Unlock()
	stored, err := s.storedIDs(ctx)
	if err != nil {
		return err
	}
	touched := touchSet{}
	for _, id := range stored {
		if _, ok := st.at[id]; ok {
			continue
		}
		sb, err := s.loadSBOM(ctx, id)
		if err != nil {
			return err
		}
		i := st.inv.AddMatched(st.db, sb)
		st.at[id] = i
		st.ids = append(st.ids, id)
		touched.all(int32(i))
	}
	s.st = nil
	if _, err := s.write(ctx, st, touched, st.kev, st.epss, &MatchReport{ByLevel: map[string]int{}}); err != nil {
		return err
	}
	s.st = st
	return nil
}

func (s *SBOM) len() int { return len(s.Components) }

// fileFP is a file's size and modification time, to notice a new KEV or
// EPSS file.
func fileFP(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return path
	}
	return fmt.Sprintf("%s:%d:%d", path, st.Size(), st.ModTime().UnixNano())
}

func (s *SBOMs) storedIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id FROM vuln_sboms ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// loadSBOM reads a stored SBOM's components back (every one, so the
// inventory's component indexes are the stored ones).
func (s *SBOMs) loadSBOM(ctx context.Context, id string) (*SBOM, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT name, version, purl, ecosystem, package FROM vuln_components WHERE sbom_id = ? ORDER BY idx`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sb := &SBOM{File: id}
	for rows.Next() {
		var c Component
		if err := rows.Scan(&c.Name, &c.Version, &c.PURL, &c.Ecosystem, &c.Package); err != nil {
			return nil, err
		}
		sb.Components = append(sb.Components, c)
	}
	return sb, rows.Err()
}

// sbomMeta is what a match reads of every stored SBOM, by ID, in one
// query.
func (s *SBOMs) sbomMeta(ctx context.Context) (map[string]StoredSBOM, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, kind, product_id, org, name, criticality, exposure FROM vuln_sboms`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]StoredSBOM{}
	for rows.Next() {
		var x StoredSBOM
		if err := rows.Scan(&x.ID, &x.Kind, &x.Product, &x.Org, &x.Name, &x.Criticality, &x.Exposure); err != nil {
			return nil, err
		}
		out[x.ID] = x
	}
	return out, rows.Err()
}

// placeholders is n comma-separated "?".
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// valueRows is n rows of cols placeholders for a multi-row INSERT.
func valueRows(n, cols int) string {
	row := "(" + placeholders(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// ---- what alerts read ----

// sbomCarrier is a supplier product whose stored SBOM has a finding
// answering to a CVE.
type sbomCarrier struct {
	product, version       string
	component, compVersion string
	id                     string
	cve                    string
}

// sbomCarriers lists, once per product (its lowest version and first
// component), the supplier products whose stored SBOM has a finding with
// cve as its ID, an alias or a related ID.
func sbomCarriers(ctx context.Context, q store.Queryer, cve string) ([]sbomCarrier, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.product_id, s.version, f.body FROM vuln_finding_ids i
		JOIN vuln_findings f ON f.sbom_id = i.sbom_id AND f.component = i.component AND f.vuln_id = i.vuln_id
		JOIN vuln_sboms s ON s.id = i.sbom_id
		WHERE i.name = ? AND s.kind = ? ORDER BY s.product_id, s.version, f.component, f.vuln_id`, cve, KindProduct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sbomCarrier
	seen := map[string]bool{}
	for rows.Next() {
		var c sbomCarrier
		var body string
		if err := rows.Scan(&c.product, &c.version, &body); err != nil {
			return nil, err
		}
		if seen[c.product] {
			continue
		}
		seen[c.product] = true
		var b findingBody
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			return nil, err
		}
		c.component, c.compVersion, c.id, c.cve = b.Component, b.Version, b.ID, cve
		out = append(out, c)
	}
	return out, rows.Err()
}

// words says what the SBOM shows: "SBOM of product Flux 0.26.3 contains
// golang.org/x/net 0.0.0-… (GO-2023-2102, CVE-2023-44487)".
func (c sbomCarrier) words(productName string) string {
	ids := c.id
	if c.cve != c.id {
		ids += ", " + c.cve
	}
	return "SBOM of product " + productName + " " + c.version + " contains " + c.component + " " + c.compVersion + " (" + ids + ")"
}

// CVEs are the CVE IDs a finding answers to: its ID, aliases and related
// IDs, in that order.
func (f Finding) CVEs() []string {
	var out []string
	for _, id := range append(append([]string{f.ID}, f.Aliases...), f.Related...) {
		if cveRE().MatchString(id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// AlertFromFinding is a cyber alert about a stored finding: n with the
// finding's CVEs (so its scope is every organisation deploying a product
// whose SBOM carries them, and those the register lists them on), and the
// finding's summary as the title when n has none.
func AlertFromFinding(f StoredFinding, n NewAlert) (NewAlert, error) {
	n.CVEs = f.CVEs()
	if len(n.CVEs) == 0 {
		return n, fault.Invalidf("vuln", "finding %s names no CVE (IDs %s), so an alert from it would reach nobody; issue one naming the product instead", f.ID, strings.Join(append([]string{f.ID}, f.Aliases...), ", "))
	}
	if strings.TrimSpace(n.Title) == "" {
		n.Title = f.ID + " in " + f.Package + " " + f.Version
		if f.Summary != "" {
			n.Title += ": " + f.Summary
		}
		if len(n.Title) > maxTitle {
			n.Title = strings.TrimSpace(n.Title[:maxTitle-3]) + "..."
			for !utf8.ValidString(n.Title) {
				n.Title = n.Title[:len(n.Title)-4] + "..."
			}
		}
	}
	if n.Severity == "" {
		n.Severity = map[string]string{P1: SevCritical, P2: SevHigh, P3: SevMedium, P4: SevLow}[f.Priority.Level]
	}
	return n, nil
}

// inventoryCarrier is an organisation whose own stored inventory has a
// finding answering to a CVE.
type inventoryCarrier struct {
	org                             supply.AffectedOrg
	sbom, name                      string
	component, compVersion, id, cve string
}

// inventoryCarriers lists, once per organisation (its first inventory
// by name and first component), the organisations whose stored inventory
// has a finding with cve as its ID, an alias or a related ID; only their
// codes are filled in (the caller asks the org domain for the rest).
func inventoryCarriers(ctx context.Context, q store.Queryer, cve string) ([]inventoryCarrier, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.org, s.id, s.name, f.body
		FROM vuln_finding_ids x
		JOIN vuln_findings f ON f.sbom_id = x.sbom_id AND f.component = x.component AND f.vuln_id = x.vuln_id
		JOIN vuln_sboms s ON s.id = x.sbom_id
		WHERE x.name = ? AND s.kind = ? ORDER BY s.org, s.name, s.id, f.component, f.vuln_id`, cve, KindInventory)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inventoryCarrier
	seen := map[string]bool{}
	for rows.Next() {
		var c inventoryCarrier
		var body string
		a := &c.org
		if err := rows.Scan(&a.ODS, &c.sbom, &c.name, &body); err != nil {
			return nil, err
		}
		if seen[a.ODS] {
			continue
		}
		seen[a.ODS] = true
		var b findingBody
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			return nil, err
		}
		c.component, c.compVersion, c.id, c.cve = b.Component, b.Version, b.ID, cve
		out = append(out, c)
	}
	return out, rows.Err()
}

// words: "Guy's and St Thomas' runs “GitOps cluster” (its inventory
// SB-…), which contains golang.org/x/net … (GO-2023-2102, CVE-2023-44487)".
func (c inventoryCarrier) words() string {
	ids := c.id
	if c.cve != c.id {
		ids += ", " + c.cve
	}
	return c.org.Name + " runs " + c.name + " (its inventory " + c.sbom + "), which contains " + c.component + " " + c.compVersion + " (" + ids + ")"
}
