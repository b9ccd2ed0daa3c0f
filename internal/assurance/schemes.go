package assurance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// The UK health evidence schemes beyond DSPT and certificates, each an
// evidence type with its own rules:
//
//   - DTAC (NHS England's Digital Technology Assessment Criteria), per
//     product version: sections C1 clinical safety, C2 data protection,
//     C3 technical security and C4 interoperability each pass or fail;
//     section D, usability and accessibility, is scored (0–100) and does
//     not decide the pass.
//   - DCB0129, the manufacturer's clinical risk management, per product
//     version: a clinical safety case report, a hazard log and a named
//     Clinical Safety Officer.
//   - DCB0160, the deploying organisation's clinical risk management, per
//     deployment (organisation and product): the same three things.
//   - The NHS Cyber Security Charter: a supplier signs up to its eight
//     commitments, each on a date.
//   - The NCSC's 12 supply-chain security principles, per supplier: a state
//     for each.
//
// Who records what: a supplier's evidence (certificates, DTAC, DCB0129,
// charter, principles) is recorded by a supply-chain manager (an assessor,
// scope.Supply) or by the supplier's own representatives (Write on the
// supplier's tenant: supply.Service.Own) for their own supplier only — each
// record says which (Source) and who. DCB0160 is the deploying
// organisation's: Write (or Supply) on that organisation. Anything the
// caller may not see is not found. Every change is audited.

// Sources of a record: who stands behind it.
const (
	// SourceAssessor is evidence recorded by a supply-chain manager.
	SourceAssessor = "assessor"
	// SourceSupplier is evidence the supplier's representative declared.
	SourceSupplier = "supplier"
	// SourceOrganisation is a deploying organisation's own record (DCB0160).
	SourceOrganisation = "organisation"
)

// Result is one DTAC section's outcome.
type Result string

// DTAC section outcomes.
const (
	Pass Result = "pass"
	Fail Result = "fail"
)

// DTAC is a product version's Digital Technology Assessment Criteria
// assessment.
type DTAC struct {
	ProductID  string `json:"product_id"`
	Version    string `json:"version"`
	SupplierID string `json:"supplier_id"`
	// Assessed is the date of the assessment (YYYY-MM-DD).
	Assessed string `json:"assessed"`
	C1       Result `json:"c1_clinical_safety"`
	C2       Result `json:"c2_data_protection"`
	C3       Result `json:"c3_technical_security"`
	C4       Result `json:"c4_interoperability"`
	// DScore is section D (usability and accessibility), 0–100.
	DScore int `json:"d_usability_score"`
	// Expires is when the assessment is to be renewed, if one was set.
	Expires    string `json:"expires,omitempty"`
	Notes      string `json:"notes,omitempty"`
	Source     string `json:"source,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	UpdatedAt  string `json:"updated_at,omitempty"`
	// Passed is C1–C4 all pass.
	Passed bool `json:"passed"`
}

// Sections are the pass/fail sections by name, in order.
func (d DTAC) Sections() []struct {
	Name   string
	Result Result
} {
	return []struct {
		Name   string
		Result Result
	}{{"C1 clinical safety", d.C1}, {"C2 data protection", d.C2}, {"C3 technical security", d.C3}, {"C4 interoperability", d.C4}}
}

// ClinicalSafety is a DCB0129 (manufacturer) or DCB0160 (deployment)
// clinical safety record.
type ClinicalSafety struct {
	// SafetyCaseReport and HazardLog are references to the documents (a
	// document number or an https address).
	SafetyCaseReport string `json:"safety_case_report,omitempty"`
	HazardLog        string `json:"hazard_log,omitempty"`
	// CSOName is the named Clinical Safety Officer; CSORegistration their
	// professional registration (GMC, NMC, HCPC number), where given.
	CSOName         string `json:"cso_name,omitempty"`
	CSORegistration string `json:"cso_registration,omitempty"`
	// Issued is the date of the safety case (YYYY-MM-DD); ReviewDue when it
	// is to be reviewed, if set.
	Issued    string `json:"issued"`
	ReviewDue string `json:"review_due,omitempty"`
	// Missing names what the standard asks for that the record lacks;
	// Complete is none missing.
	Missing  []string `json:"missing"`
	Complete bool     `json:"complete"`
}

func (c *ClinicalSafety) fill() {
	c.Missing = []string{}
	for _, f := range []struct{ v, name string }{{c.SafetyCaseReport, "safety case report"}, {c.HazardLog, "hazard log"}, {c.CSOName, "named Clinical Safety Officer"}} {
		if f.v == "" {
			c.Missing = append(c.Missing, f.name)
		}
	}
	c.Complete = len(c.Missing) == 0
}

func (c *ClinicalSafety) check() error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"safety_case_report", &c.SafetyCaseReport}, {"hazard_log", &c.HazardLog}, {"cso_name", &c.CSOName}, {"cso_registration", &c.CSORegistration}} {
		*f.v = strings.TrimSpace(*f.v)
		if err := checkText(f.name, *f.v); err != nil {
			return err
		}
	}
	if err := checkDate("issued", c.Issued, true); err != nil {
		return err
	}
	if err := checkDate("review_due", c.ReviewDue, false); err != nil {
		return err
	}
	if c.ReviewDue != "" && c.ReviewDue <= c.Issued {
		return fault.Invalidf("review_due", "must fall after the safety case's date (%s)", c.Issued)
	}
	c.fill()
	return nil
}

// DCB0129 is a manufacturer's clinical safety record for a product version.
type DCB0129 struct {
	ProductID  string `json:"product_id"`
	Version    string `json:"version"`
	SupplierID string `json:"supplier_id"`
	ClinicalSafety
	Source     string `json:"source,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	UpdatedAt  string `json:"updated_at,omitempty"`
}

// DCB0160 is a deploying organisation's clinical safety record for a
// product it deploys.
type DCB0160 struct {
	OrgODS     string `json:"org_ods"`
	ProductID  string `json:"product_id"`
	SupplierID string `json:"supplier_id"`
	ClinicalSafety
	RecordedBy string `json:"recorded_by,omitempty"`
	UpdatedAt  string `json:"updated_at,omitempty"`
}

// CharterCommitment is one of the NHS Cyber Security Charter's commitments
// (NHS England's charter for suppliers to the NHS, May 2025).
type CharterCommitment struct {
	Key    string `json:"key"`
	Number int    `json:"number"`
	Text   string `json:"text"`
}

var charter = []CharterCommitment{
	{"patching", 1, "Systems are kept in support and patched against known vulnerabilities"},
	{"dspt", 2, "Achieve and maintain at least Standards Met in the Data Security and Protection Toolkit"},
	{"mfa", 3, "Multi-factor authentication on our own networks and systems, and federation or MFA in the products we supply"},
	{"monitoring", 4, "Effective 24/7 cyber monitoring and logging of our critical IT infrastructure"},
	{"backups", 5, "Immutable, tested backups of critical business data and of our products"},
	{"exercising", 6, "Board-level exercising of our response to a cyber attack"},
	{"reporting", 7, "Timely reporting to customers and work with NHS England when an attack affects patient care or data"},
	{"secure-software", 8, "Software produced to the DSIT/NCSC Software Security Code of Practice"},
}

// CharterCommitments lists the charter's commitments in order.
func CharterCommitments() []CharterCommitment { return slices.Clone(charter) }

func commitmentOf(key string) (CharterCommitment, bool) {
	key = strings.ToLower(strings.TrimSpace(key))
	for _, c := range charter {
		if c.Key == key || strconv.Itoa(c.Number) == key {
			return c, true
		}
	}
	return CharterCommitment{}, false
}

// CharterSignature is a supplier's signature of one commitment; Signed is
// empty for a commitment not signed.
type CharterSignature struct {
	CharterCommitment
	SupplierID string `json:"supplier_id"`
	Signed     string `json:"signed,omitempty"`
	SignedBy   string `json:"signed_by,omitempty"`
	SignerRole string `json:"signer_role,omitempty"`
	Source     string `json:"source,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	UpdatedAt  string `json:"updated_at,omitempty"`
}

// CharterInput signs commitments (by key or number, or "all") on a date.
type CharterInput struct {
	Commitments []string `json:"commitments"`
	Signed      string   `json:"signed"`
	SignedBy    string   `json:"signed_by"`
	SignerRole  string   `json:"signer_role,omitempty"`
}

// Principle is one of the NCSC's 12 supply-chain security principles,
// in its stage of the guidance.
type Principle struct {
	Number int    `json:"number"`
	Stage  string `json:"stage"`
	Title  string `json:"title"`
}

var principles = []Principle{
	{1, "Understand the risks", "Understand what needs to be protected and why"},
	{2, "Understand the risks", "Know who your suppliers are and build an understanding of what their security looks like"},
	{3, "Understand the risks", "Understand the security risk posed by your supply chain"},
	{4, "Establish control", "Communicate your view of security needs to your suppliers"},
	{5, "Establish control", "Set and communicate minimum security requirements for your suppliers"},
	{6, "Establish control", "Build security considerations into your contracting processes and require that your suppliers do the same"},
	{7, "Establish control", "Meet your own security responsibilities as a supplier and consumer"},
	{8, "Establish control", "Raise awareness of security within your supply chain"},
	{9, "Establish control", "Provide support for security incidents"},
	{10, "Check your arrangements", "Build assurance activities into your approach to managing your supply chain"},
	{11, "Continuous improvement", "Encourage the continuous improvement of security within your supply chain"},
	{12, "Continuous improvement", "Build trust with suppliers"},
}

// NCSCPrinciples lists the 12 principles in order.
func NCSCPrinciples() []Principle { return slices.Clone(principles) }

// PrincipleState is how far a supplier follows one principle.
type PrincipleState string

// Principle states.
const (
	PrincipleMet           PrincipleState = "met"
	PrinciplePartly        PrincipleState = "partly"
	PrincipleNotMet        PrincipleState = "not_met"
	PrincipleNotApplicable PrincipleState = "not_applicable"
)

// PrincipleStates lists the states.
func PrincipleStates() []PrincipleState {
	return []PrincipleState{PrincipleMet, PrinciplePartly, PrincipleNotMet, PrincipleNotApplicable}
}

// PrincipleAssessment is a supplier's state for one principle; State is
// empty for a principle not assessed.
type PrincipleAssessment struct {
	Principle
	SupplierID string         `json:"supplier_id"`
	State      PrincipleState `json:"state,omitempty"`
	Note       string         `json:"note,omitempty"`
	Assessed   string         `json:"assessed,omitempty"`
	Source     string         `json:"source,omitempty"`
	RecordedBy string         `json:"recorded_by,omitempty"`
	UpdatedAt  string         `json:"updated_at,omitempty"`
}

// PrinciplesInput sets the state of some principles as assessed on a date.
type PrinciplesInput struct {
	Assessed string           `json:"assessed"`
	States   []PrincipleInput `json:"states"`
}

// PrincipleInput is one principle's state.
type PrincipleInput struct {
	Principle int            `json:"principle"`
	State     PrincipleState `json:"state"`
	Note      string         `json:"note,omitempty"`
}

func checkText(field, v string) error {
	if strings.IndexFunc(v, unicode.IsControl) >= 0 || len(v) > 500 {
		return fault.Invalidf(field, "must be at most 500 characters without control characters")
	}
	return nil
}

func checkDate(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return fault.Invalidf(field, "%q is not a date (YYYY-MM-DD)", v)
	}
	return nil
}

func recorder(sc scope.Scope) string {
	if sc.Email != "" {
		return sc.Email
	}
	return sc.Name
}

// recordSource decides whether the caller may record evidence of a
// supplier, and as whom: an assessor (scope.Supply) or the supplier's own
// representative (Write, and the supplier among those it represents). A
// supplier it may not see is not found.
func (s *Service) recordSource(ctx context.Context, sc scope.Scope, supplierID string) (string, error) {
	if s.suppliers == nil {
		return "", errors.New("assurance: Options.Suppliers is not set")
	}
	if _, err := s.suppliers.GetSupplier(ctx, sc, supplierID); err != nil {
		return "", err
	}
	if sc.Can(scope.Supply) {
		return SourceAssessor, nil
	}
	if s.register != nil && sc.Can(scope.Write) {
		own, err := s.ownSuppliers(ctx, sc)
		if err != nil {
			return "", err
		}
		if own[supplierID] {
			return SourceSupplier, nil
		}
	}
	return "", fault.Forbiddenf("recording a supplier's evidence needs the supply permission, or to represent that supplier with write access")
}

// MayRecord reports whether the caller may record evidence of the
// supplier (for the pages, which offer the forms only then).
func (s *Service) MayRecord(ctx context.Context, sc scope.Scope, supplierID string) bool {
	_, err := s.recordSource(ctx, sc, supplierID)
	return err == nil
}

// productOf finds a product the caller may see and the version meant: the
// one given or else the product's recorded version.
func (s *Service) productOf(ctx context.Context, sc scope.Scope, productID, version string) (supply.Product, string, error) {
	if err := s.needRegister(); err != nil {
		return supply.Product{}, "", err
	}
	p, err := s.register.GetProduct(ctx, sc, productID)
	if err != nil {
		return supply.Product{}, "", err
	}
	version = strings.TrimSpace(version)
	if version == "" {
		version = p.Version
	}
	if version == "" {
		return p, "", fault.Invalidf("version", "is required: the product version assessed (the register records none for %s)", p.ID)
	}
	if err := checkText("version", version); err != nil {
		return p, "", err
	}
	return p, version, nil
}

func (d *DTAC) check() error {
	for _, f := range []struct {
		name string
		r    *Result
	}{{"c1_clinical_safety", &d.C1}, {"c2_data_protection", &d.C2}, {"c3_technical_security", &d.C3}, {"c4_interoperability", &d.C4}} {
		*f.r = Result(strings.ToLower(strings.TrimSpace(string(*f.r))))
		if *f.r != Pass && *f.r != Fail {
			return fault.Invalidf(f.name, "%q: give pass or fail", *f.r)
		}
	}
	if d.DScore < 0 || d.DScore > 100 {
		return fault.Invalidf("d_usability_score", "%d: give a score from 0 to 100", d.DScore)
	}
	if err := checkDate("assessed", d.Assessed, true); err != nil {
		return err
	}
	if err := checkDate("expires", d.Expires, false); err != nil {
		return err
	}
	if d.Expires != "" && d.Expires <= d.Assessed {
		return fault.Invalidf("expires", "must fall after the assessment (%s)", d.Assessed)
	}
	d.Notes = strings.TrimSpace(d.Notes)
	if len(d.Notes) > 2000 {
		return fault.Invalidf("notes", "must be at most 2,000 characters")
	}
	d.Passed = d.C1 == Pass && d.C2 == Pass && d.C3 == Pass && d.C4 == Pass
	return nil
}

// PutDTAC records (or replaces) the DTAC assessment of a product version.
func (s *Service) PutDTAC(ctx context.Context, sc scope.Scope, d DTAC) (DTAC, error) {
	p, version, err := s.productOf(ctx, sc, d.ProductID, d.Version)
	if err != nil {
		return DTAC{}, err
	}
	src, err := s.recordSource(ctx, sc, p.SupplierID)
	if err != nil {
		return DTAC{}, err
	}
	d.ProductID, d.Version, d.SupplierID = p.ID, version, p.SupplierID
	if err := d.check(); err != nil {
		return DTAC{}, err
	}
	d.Source, d.RecordedBy, d.UpdatedAt = src, recorder(sc), s.now().UTC().Format(time.RFC3339)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		before, err := dtacRows(ctx, tx, `WHERE product_id = ? AND version = ?`, d.ProductID, d.Version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM assurance_dtac WHERE product_id = ? AND version = ?`, d.ProductID, d.Version); err != nil {
			return fmt.Errorf("assurance: put DTAC: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_dtac (product_id, version, supplier_id, assessed, c1, c2, c3, c4, d_score, expires, notes, source, recorded_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ProductID, d.Version, d.SupplierID, d.Assessed, string(d.C1), string(d.C2), string(d.C3), string(d.C4),
			d.DScore, d.Expires, d.Notes, d.Source, d.RecordedBy, d.UpdatedAt); err != nil {
			return fmt.Errorf("assurance: put DTAC: %w", err)
		}
		ch := audit.Change{Action: "assurance.dtac.put", ObjectType: "dtac", ObjectID: d.ProductID + "@" + d.Version, After: d}
		if len(before) > 0 {
			ch.Before = before[0]
		}
		_, err = s.audit.Append(ctx, tx, sc, ch)
		return err
	})
	if err != nil {
		return DTAC{}, err
	}
	return d, nil
}

const dtacCols = `product_id, version, supplier_id, assessed, c1, c2, c3, c4, d_score, expires, notes, source, recorded_by, updated_at`

func dtacRows(ctx context.Context, q store.Queryer, where string, args ...any) ([]DTAC, error) {
	return queryRows(ctx, q, `SELECT `+dtacCols+` FROM assurance_dtac `+where+` ORDER BY product_id, assessed DESC, version`, func(r scanner) (DTAC, error) {
		var d DTAC
		err := r.Scan(&d.ProductID, &d.Version, &d.SupplierID, &d.Assessed, &d.C1, &d.C2, &d.C3, &d.C4, &d.DScore, &d.Expires, &d.Notes, &d.Source, &d.RecordedBy, &d.UpdatedAt)
		d.Passed = d.C1 == Pass && d.C2 == Pass && d.C3 == Pass && d.C4 == Pass
		return d, err
	}, args...)
}

// PutDCB0129 records (or replaces) the manufacturer's clinical safety
// record of a product version.
func (s *Service) PutDCB0129(ctx context.Context, sc scope.Scope, d DCB0129) (DCB0129, error) {
	p, version, err := s.productOf(ctx, sc, d.ProductID, d.Version)
	if err != nil {
		return DCB0129{}, err
	}
	src, err := s.recordSource(ctx, sc, p.SupplierID)
	if err != nil {
		return DCB0129{}, err
	}
	d.ProductID, d.Version, d.SupplierID = p.ID, version, p.SupplierID
	if err := d.ClinicalSafety.check(); err != nil {
		return DCB0129{}, err
	}
	d.Source, d.RecordedBy, d.UpdatedAt = src, recorder(sc), s.now().UTC().Format(time.RFC3339)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		before, err := dcb0129Rows(ctx, tx, `WHERE product_id = ? AND version = ?`, d.ProductID, d.Version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM assurance_dcb0129 WHERE product_id = ? AND version = ?`, d.ProductID, d.Version); err != nil {
			return fmt.Errorf("assurance: put DCB0129: %w", err)
		}
		c := d.ClinicalSafety
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_dcb0129 (product_id, version, supplier_id, safety_case, hazard_log, cso_name, cso_registration, issued, review_due, source, recorded_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ProductID, d.Version, d.SupplierID, c.SafetyCaseReport, c.HazardLog, c.CSOName, c.CSORegistration, c.Issued, c.ReviewDue,
			d.Source, d.RecordedBy, d.UpdatedAt); err != nil {
			return fmt.Errorf("assurance: put DCB0129: %w", err)
		}
		ch := audit.Change{Action: "assurance.dcb0129.put", ObjectType: "dcb0129", ObjectID: d.ProductID + "@" + d.Version, After: d}
		if len(before) > 0 {
			ch.Before = before[0]
		}
		_, err = s.audit.Append(ctx, tx, sc, ch)
		return err
	})
	if err != nil {
		return DCB0129{}, err
	}
	return d, nil
}

const safetyCols = `safety_case, hazard_log, cso_name, cso_registration, issued, review_due`

func scanSafety(c *ClinicalSafety) []any {
	return []any{&c.SafetyCaseReport, &c.HazardLog, &c.CSOName, &c.CSORegistration, &c.Issued, &c.ReviewDue}
}

func dcb0129Rows(ctx context.Context, q store.Queryer, where string, args ...any) ([]DCB0129, error) {
	return queryRows(ctx, q, `SELECT product_id, version, supplier_id, `+safetyCols+`, source, recorded_by, updated_at FROM assurance_dcb0129 `+where+` ORDER BY product_id, issued DESC, version`,
		func(r scanner) (DCB0129, error) {
			var d DCB0129
			err := r.Scan(append(append([]any{&d.ProductID, &d.Version, &d.SupplierID}, scanSafety(&d.ClinicalSafety)...), &d.Source, &d.RecordedBy, &d.UpdatedAt)...)
			d.fill()
			return d, err
		}, args...)
}

// PutDCB0160 records (or replaces) an organisation's clinical safety
// record for a product it deploys. It needs Write (or Supply) on the
// organisation, which must deploy the product.
func (s *Service) PutDCB0160(ctx context.Context, sc scope.Scope, d DCB0160) (DCB0160, error) {
	if err := s.needRegister(); err != nil {
		return DCB0160{}, err
	}
	if s.orgs == nil {
		return DCB0160{}, errors.New("assurance: Options.Orgs is not set")
	}
	d.OrgODS = strings.ToUpper(strings.TrimSpace(d.OrgODS))
	if d.OrgODS == "" {
		return DCB0160{}, fault.Invalidf("org_ods", "is required: the organisation deploying the product")
	}
	o, err := s.orgs.Get(ctx, sc, d.OrgODS)
	if err != nil {
		return DCB0160{}, err
	}
	p, err := s.register.GetProduct(ctx, sc, d.ProductID)
	if err != nil {
		return DCB0160{}, err
	}
	if !sc.CanAt(scope.Write, o.Path) && !sc.CanAt(scope.Supply, o.Path) {
		return DCB0160{}, fault.Forbiddenf("recording %s's DCB0160 needs write access to it", o.Code)
	}
	deps, err := s.register.ListDeployments(ctx, sc, supply.DeploymentFilter{OrgODS: o.Code, ProductID: p.ID, Limit: 1})
	if err != nil {
		return DCB0160{}, err
	}
	if len(deps) == 0 {
		return DCB0160{}, fault.Invalidf("product_id", "%s does not deploy %s in the register: DCB0160 is for a deployment", o.Code, p.ID)
	}
	d.OrgODS, d.ProductID, d.SupplierID = o.Code, p.ID, p.SupplierID
	if err := d.ClinicalSafety.check(); err != nil {
		return DCB0160{}, err
	}
	d.RecordedBy, d.UpdatedAt = recorder(sc), s.now().UTC().Format(time.RFC3339)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		before, err := dcb0160Rows(ctx, tx, `WHERE org_ods = ? AND product_id = ?`, d.OrgODS, d.ProductID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM assurance_dcb0160 WHERE org_ods = ? AND product_id = ?`, d.OrgODS, d.ProductID); err != nil {
			return fmt.Errorf("assurance: put DCB0160: %w", err)
		}
		c := d.ClinicalSafety
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_dcb0160 (org_ods, product_id, supplier_id, safety_case, hazard_log, cso_name, cso_registration, issued, review_due, recorded_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.OrgODS, d.ProductID, d.SupplierID, c.SafetyCaseReport, c.HazardLog, c.CSOName, c.CSORegistration, c.Issued, c.ReviewDue,
			d.RecordedBy, d.UpdatedAt); err != nil {
			return fmt.Errorf("assurance: put DCB0160: %w", err)
		}
		ch := audit.Change{Action: "assurance.dcb0160.put", ObjectType: "dcb0160", ObjectID: d.OrgODS + ":" + d.ProductID, Org: d.OrgODS, After: d}
		if len(before) > 0 {
			ch.Before = before[0]
		}
		_, err = s.audit.Append(ctx, tx, sc, ch)
		return err
	})
	if err != nil {
		return DCB0160{}, err
	}
	return d, nil
}

func dcb0160Rows(ctx context.Context, q store.Queryer, where string, args ...any) ([]DCB0160, error) {
	return queryRows(ctx, q, `SELECT org_ods, product_id, supplier_id, `+safetyCols+`, recorded_by, updated_at FROM assurance_dcb0160 `+where+` ORDER BY product_id, org_ods`,
		func(r scanner) (DCB0160, error) {
			var d DCB0160
			err := r.Scan(append(append([]any{&d.OrgODS, &d.ProductID, &d.SupplierID}, scanSafety(&d.ClinicalSafety)...), &d.RecordedBy, &d.UpdatedAt)...)
			d.fill()
			return d, err
		}, args...)
}

// SignCharter records the supplier's signature of charter commitments,
// replacing an earlier signature of the same commitment.
func (s *Service) SignCharter(ctx context.Context, sc scope.Scope, supplierID string, in CharterInput) ([]CharterSignature, error) {
	src, err := s.recordSource(ctx, sc, supplierID)
	if err != nil {
		return nil, err
	}
	var keys []CharterCommitment
	for _, k := range in.Commitments {
		if strings.EqualFold(strings.TrimSpace(k), "all") {
			keys = CharterCommitments()
			break
		}
		c, ok := commitmentOf(k)
		if !ok {
			return nil, fault.Invalidf("commitments", "%q is not a charter commitment: give 1–8, all, or one of %s", k, strings.Join(charterKeys(), ", "))
		}
		if !slices.Contains(keys, c) {
			keys = append(keys, c)
		}
	}
	if len(keys) == 0 {
		return nil, fault.Invalidf("commitments", "name at least one commitment (or all)")
	}
	in.SignedBy, in.SignerRole = strings.TrimSpace(in.SignedBy), strings.TrimSpace(in.SignerRole)
	if in.SignedBy == "" {
		return nil, fault.Invalidf("signed_by", "is required: who signed for the supplier")
	}
	for _, f := range []struct{ n, v string }{{"signed_by", in.SignedBy}, {"signer_role", in.SignerRole}} {
		if err := checkText(f.n, f.v); err != nil {
			return nil, err
		}
	}
	if err := checkDate("signed", in.Signed, true); err != nil {
		return nil, err
	}
	if in.Signed > s.now().UTC().Format(time.DateOnly) {
		return nil, fault.Invalidf("signed", "%s is in the future", in.Signed)
	}
	at := s.now().UTC().Format(time.RFC3339)
	by := recorder(sc)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, c := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM assurance_charter WHERE supplier_id = ? AND commitment = ?`, supplierID, c.Key); err != nil {
				return fmt.Errorf("assurance: sign charter: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_charter (supplier_id, commitment, signed, signed_by, signer_role, source, recorded_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				supplierID, c.Key, in.Signed, in.SignedBy, in.SignerRole, src, by, at); err != nil {
				return fmt.Errorf("assurance: sign charter: %w", err)
			}
		}
		names := make([]string, len(keys))
		for i, c := range keys {
			names[i] = c.Key
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.charter.sign", ObjectType: "supplier", ObjectID: supplierID,
			After: map[string]any{"supplier_id": supplierID, "commitments": names, "signed": in.Signed, "signed_by": in.SignedBy, "signer_role": in.SignerRole, "source": src}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.charterOf(ctx, supplierID)
}

func charterKeys() []string {
	out := make([]string, len(charter))
	for i, c := range charter {
		out[i] = c.Key
	}
	return out
}

// charterOf lists all eight commitments with the supplier's signatures.
func (s *Service) charterOf(ctx context.Context, supplierID string) ([]CharterSignature, error) {
	signed, err := queryRows(ctx, s.db.Q(), `SELECT commitment, signed, signed_by, signer_role, source, recorded_by, updated_at FROM assurance_charter WHERE supplier_id = ?`,
		func(r scanner) (CharterSignature, error) {
			var c CharterSignature
			err := r.Scan(&c.Key, &c.Signed, &c.SignedBy, &c.SignerRole, &c.Source, &c.RecordedBy, &c.UpdatedAt)
			return c, err
		}, supplierID)
	if err != nil {
		return nil, fmt.Errorf("assurance: charter: %w", err)
	}
	out := make([]CharterSignature, len(charter))
	for i, c := range charter {
		out[i] = CharterSignature{CharterCommitment: c, SupplierID: supplierID}
		for _, x := range signed {
			if x.Key == c.Key {
				x.CharterCommitment, x.SupplierID = c, supplierID
				out[i] = x
			}
		}
	}
	return out, nil
}

// SetPrinciples records the supplier's state for some of the NCSC
// principles as assessed on a date, replacing earlier states of those.
func (s *Service) SetPrinciples(ctx context.Context, sc scope.Scope, supplierID string, in PrinciplesInput) ([]PrincipleAssessment, error) {
	src, err := s.recordSource(ctx, sc, supplierID)
	if err != nil {
		return nil, err
	}
	if err := checkDate("assessed", in.Assessed, true); err != nil {
		return nil, err
	}
	if len(in.States) == 0 {
		return nil, fault.Invalidf("states", "give the state of at least one principle")
	}
	seen := map[int]bool{}
	for i, x := range in.States {
		if x.Principle < 1 || x.Principle > len(principles) {
			return nil, fault.Invalidf("states", "principle %d: the NCSC principles are numbered 1–12", x.Principle)
		}
		if seen[x.Principle] {
			return nil, fault.Invalidf("states", "principle %d is given twice", x.Principle)
		}
		seen[x.Principle] = true
		in.States[i].State = PrincipleState(strings.ToLower(strings.TrimSpace(string(x.State))))
		if !slices.Contains(PrincipleStates(), in.States[i].State) {
			return nil, fault.Invalidf("states", "principle %d: %q is not met, partly, not_met or not_applicable", x.Principle, x.State)
		}
		in.States[i].Note = strings.TrimSpace(x.Note)
		if err := checkText("note", in.States[i].Note); err != nil {
			return nil, err
		}
	}
	at := s.now().UTC().Format(time.RFC3339)
	by := recorder(sc)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, x := range in.States {
			if _, err := tx.ExecContext(ctx, `DELETE FROM assurance_ncsc_principles WHERE supplier_id = ? AND principle = ?`, supplierID, x.Principle); err != nil {
				return fmt.Errorf("assurance: principles: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_ncsc_principles (supplier_id, principle, state, note, assessed, source, recorded_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				supplierID, x.Principle, string(x.State), x.Note, in.Assessed, src, by, at); err != nil {
				return fmt.Errorf("assurance: principles: %w", err)
			}
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.principles.set", ObjectType: "supplier", ObjectID: supplierID,
			After: map[string]any{"supplier_id": supplierID, "assessed": in.Assessed, "states": in.States, "source": src}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.principlesOf(ctx, supplierID)
}

// principlesOf lists all twelve principles with the supplier's states.
func (s *Service) principlesOf(ctx context.Context, supplierID string) ([]PrincipleAssessment, error) {
	held, err := queryRows(ctx, s.db.Q(), `SELECT principle, state, note, assessed, source, recorded_by, updated_at FROM assurance_ncsc_principles WHERE supplier_id = ?`,
		func(r scanner) (PrincipleAssessment, error) {
			var p PrincipleAssessment
			err := r.Scan(&p.Number, &p.State, &p.Note, &p.Assessed, &p.Source, &p.RecordedBy, &p.UpdatedAt)
			return p, err
		}, supplierID)
	if err != nil {
		return nil, fmt.Errorf("assurance: principles: %w", err)
	}
	out := make([]PrincipleAssessment, len(principles))
	for i, p := range principles {
		out[i] = PrincipleAssessment{Principle: p, SupplierID: supplierID}
		for _, x := range held {
			if x.Number == p.Number {
				x.Principle, x.SupplierID = p, supplierID
				out[i] = x
			}
		}
	}
	return out, nil
}

// SupplierEvidence is everything held of the health schemes for one
// supplier, as the caller may see it, with the cross-links evaluated.
type SupplierEvidence struct {
	SupplierID   string                `json:"supplier_id"`
	Certificates []Certificate         `json:"certificates"`
	DSPT         []DSPTStatus          `json:"dspt"`
	DTAC         []DTAC                `json:"dtac"`
	DCB0129      []DCB0129             `json:"dcb0129"`
	DCB0160      []DCB0160             `json:"dcb0160"`
	Charter      []CharterSignature    `json:"charter"`
	Principles   []PrincipleAssessment `json:"ncsc_principles"`
	Checks       []CheckResult         `json:"checks"`
	// MayRecord says whether the caller may record the supplier's
	// evidence, and as whom (assessor or supplier).
	MayRecord string `json:"may_record,omitempty"`
}

// Evidence gathers a supplier's evidence and evaluates the cross-links.
// DCB0160 records are those of organisations the caller reads.
func (s *Service) Evidence(ctx context.Context, sc scope.Scope, supplierID string) (SupplierEvidence, error) {
	if err := s.needRegister(); err != nil {
		return SupplierEvidence{}, err
	}
	sp, err := s.register.GetSupplier(ctx, sc, supplierID)
	if err != nil {
		return SupplierEvidence{}, err
	}
	e := SupplierEvidence{SupplierID: sp.ID}
	if e.Certificates, err = s.Certificates(ctx, sc, sp.ID); err != nil {
		return e, err
	}
	e.DSPT = []DSPTStatus{}
	if sp.ODSCode != "" {
		if e.DSPT, err = s.dsptFor(ctx, sp.ODSCode); err != nil {
			return e, err
		}
	}
	q := s.db.Q()
	if e.DTAC, err = dtacRows(ctx, q, `WHERE supplier_id = ?`, sp.ID); err != nil {
		return e, err
	}
	if e.DCB0129, err = dcb0129Rows(ctx, q, `WHERE supplier_id = ?`, sp.ID); err != nil {
		return e, err
	}
	where, args := sc.Filter("org_ods", scope.Read)
	if e.DCB0160, err = dcb0160Rows(ctx, q, `WHERE supplier_id = ? AND `+where, append([]any{sp.ID}, args...)...); err != nil {
		return e, err
	}
	if e.Charter, err = s.charterOf(ctx, sp.ID); err != nil {
		return e, err
	}
	if e.Principles, err = s.principlesOf(ctx, sp.ID); err != nil {
		return e, err
	}
	if src, err := s.recordSource(ctx, sc, sp.ID); err == nil {
		e.MayRecord = src
	}
	e.Checks = evaluate(facts{supplier: sp, now: s.now(), certs: e.Certificates, dspt: e.DSPT, dtac: e.DTAC, dcb0129: e.DCB0129, dcb0160: e.DCB0160, charter: e.Charter})
	return e, nil
}

// ProductEvidence is a product's DTAC and clinical safety records, with
// the cross-links that concern it.
type ProductEvidence struct {
	ProductID  string        `json:"product_id"`
	SupplierID string        `json:"supplier_id"`
	DTAC       []DTAC        `json:"dtac"`
	DCB0129    []DCB0129     `json:"dcb0129"`
	DCB0160    []DCB0160     `json:"dcb0160"`
	Checks     []CheckResult `json:"checks"`
	MayRecord  string        `json:"may_record,omitempty"`
}

// ProductEvidence is Evidence narrowed to one product the caller may see.
func (s *Service) ProductEvidence(ctx context.Context, sc scope.Scope, productID string) (ProductEvidence, error) {
	if err := s.needRegister(); err != nil {
		return ProductEvidence{}, err
	}
	p, err := s.register.GetProduct(ctx, sc, productID)
	if err != nil {
		return ProductEvidence{}, err
	}
	all, err := s.Evidence(ctx, sc, p.SupplierID)
	if err != nil {
		return ProductEvidence{}, err
	}
	out := ProductEvidence{ProductID: p.ID, SupplierID: p.SupplierID, DTAC: []DTAC{}, DCB0129: []DCB0129{}, DCB0160: []DCB0160{}, Checks: []CheckResult{}, MayRecord: all.MayRecord}
	for _, d := range all.DTAC {
		if d.ProductID == p.ID {
			out.DTAC = append(out.DTAC, d)
		}
	}
	for _, d := range all.DCB0129 {
		if d.ProductID == p.ID {
			out.DCB0129 = append(out.DCB0129, d)
		}
	}
	for _, d := range all.DCB0160 {
		if d.ProductID == p.ID {
			out.DCB0160 = append(out.DCB0160, d)
		}
	}
	for _, c := range all.Checks {
		if c.ProductID == p.ID {
			out.Checks = append(out.Checks, c)
		}
	}
	return out, nil
}

type scanner = interface{ Scan(...any) error }

// queryRows reads every row of a query with scan.
func queryRows[T any](ctx context.Context, q store.Queryer, text string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: %w", err)
	}
	return store.Collect(rows, scan)
}
