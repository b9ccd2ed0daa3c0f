package assurance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Certificate schemes kept as evidence types with their own rules.
const (
	// CyberEssentials and CyberEssentialsPlus certificates last 12 months
	// from issue (IASME); the question set names the requirements version
	// answered ("Willow", "Montpellier", "Danzell").
	CyberEssentials     = "cyber-essentials"
	CyberEssentialsPlus = "cyber-essentials-plus"
	// ISO27001 certificates run for a three-year cycle set by the
	// certification body, which is named with its accreditation (UKAS).
	ISO27001 = "iso27001"
)

// ExpiringWithin is how long before expiry a certificate counts as expiring.
const ExpiringWithin = 30 * 24 * time.Hour

// Certificate is one certificate a supplier holds.
type Certificate struct {
	SupplierID string `json:"supplier_id"`
	Scheme     string `json:"scheme"`
	Number     string `json:"number"`
	// Scope is what the certificate covers ("whole organisation", "the
	// EPR hosting service").
	Scope string `json:"scope,omitempty"`
	// QuestionSet is the Cyber Essentials requirements version answered.
	QuestionSet string `json:"question_set,omitempty"`
	// CertificationBody and Accreditation are an ISO 27001 certificate's.
	CertificationBody string `json:"certification_body,omitempty"`
	Accreditation     string `json:"accreditation,omitempty"`
	// Issued and Expires are YYYY-MM-DD. A Cyber Essentials certificate's
	// expiry is its issue date plus 12 months (filled in when empty).
	Issued    string `json:"issued"`
	Expires   string `json:"expires"`
	UpdatedAt string `json:"updated_at,omitempty"`
	// Source is who stands behind the record: assessor or supplier (its
	// own representative); RecordedBy who entered it.
	Source     string `json:"source,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	// State is valid, expiring (within 30 days) or expired, as of reading.
	State string `json:"state,omitempty"`
}

// Check normalises c and says what is wrong with it, naming the field.
func (c *Certificate) Check() error {
	c.Scheme = strings.ToLower(strings.TrimSpace(c.Scheme))
	c.Number = strings.TrimSpace(c.Number)
	for _, f := range []struct{ name, v string }{{"supplier_id", c.SupplierID}, {"number", c.Number}, {"scope", c.Scope},
		{"question_set", c.QuestionSet}, {"certification_body", c.CertificationBody}, {"accreditation", c.Accreditation}} {
		if strings.IndexFunc(f.v, unicode.IsControl) >= 0 || len(f.v) > 500 {
			return fault.Invalidf(f.name, "must be at most 500 characters without control characters")
		}
	}
	if c.SupplierID == "" {
		return fault.Invalidf("supplier_id", "is required")
	}
	if c.Number == "" {
		return fault.Invalidf("number", "is required: the certificate number as printed")
	}
	issued, err := time.Parse(time.DateOnly, c.Issued)
	if err != nil {
		return fault.Invalidf("issued", "%q is not a date (YYYY-MM-DD)", c.Issued)
	}
	switch c.Scheme {
	case CyberEssentials, CyberEssentialsPlus:
		want := issued.AddDate(1, 0, 0).Format(time.DateOnly)
		if c.Expires == "" {
			c.Expires = want
		}
		if c.Expires != want {
			return fault.Invalidf("expires", "a Cyber Essentials certificate lasts 12 months: issued %s, so it expires %s, not %s", c.Issued, want, c.Expires)
		}
		if c.CertificationBody != "" || c.Accreditation != "" {
			return fault.Invalidf("certification_body", "belongs to ISO 27001 certificates; Cyber Essentials names its question_set")
		}
	case ISO27001:
		exp, err := time.Parse(time.DateOnly, c.Expires)
		if err != nil {
			return fault.Invalidf("expires", "%q is not a date (YYYY-MM-DD): an ISO 27001 certificate states its expiry", c.Expires)
		}
		if !exp.After(issued) || exp.After(issued.AddDate(3, 0, 1)) {
			return fault.Invalidf("expires", "must fall after issue and within the three-year certification cycle (issued %s)", c.Issued)
		}
		if c.CertificationBody == "" {
			return fault.Invalidf("certification_body", "is required for ISO 27001")
		}
		if c.QuestionSet != "" {
			return fault.Invalidf("question_set", "belongs to Cyber Essentials certificates")
		}
	default:
		return fault.Invalidf("scheme", "%q is not cyber-essentials, cyber-essentials-plus or iso27001", c.Scheme)
	}
	return nil
}

// StateAt is valid, expiring (within ExpiringWithin of the end of its
// expiry day) or expired at now.
func (c Certificate) StateAt(now time.Time) string {
	exp, err := time.Parse(time.DateOnly, c.Expires)
	if err != nil {
		return "expired"
	}
	end := exp.AddDate(0, 0, 1) // valid through its expiry date
	switch {
	case !now.Before(end):
		return "expired"
	case end.Sub(now) <= ExpiringWithin:
		return "expiring"
	}
	return "valid"
}

// PutCertificate records a certificate of a supplier the caller may see,
// replacing one of the same scheme and number. Supply-chain managers
// (scope.Supply) record them as assessors, and a supplier's own
// representatives (Write on its tenant) for their own supplier only; the
// record says which (Source).
func (s *Service) PutCertificate(ctx context.Context, sc scope.Scope, c Certificate) (Certificate, error) {
	if s.suppliers == nil {
		return Certificate{}, errors.New("assurance: Options.Suppliers is not set")
	}
	if err := c.Check(); err != nil {
		return Certificate{}, err
	}
	src, err := s.recordSource(ctx, sc, c.SupplierID)
	if err != nil {
		return Certificate{}, err
	}
	c.Source, c.RecordedBy = src, recorder(sc)
	c.UpdatedAt = s.now().UTC().Format(time.RFC3339)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var before Certificate
		err := tx.QueryRowContext(ctx, `SELECT supplier_id FROM assurance_certificates WHERE scheme = ? AND number = ?`, c.Scheme, c.Number).Scan(&before.SupplierID)
		switch {
		case err == nil && before.SupplierID != c.SupplierID:
			return fault.Conflictf("%s certificate %s is recorded for another supplier", c.Scheme, c.Number)
		case err == nil:
			_, err = tx.ExecContext(ctx, `UPDATE assurance_certificates SET cert_scope = ?, question_set = ?, certification_body = ?, accreditation = ?, issued = ?, expires = ?, updated_at = ?, source = ?, recorded_by = ? WHERE scheme = ? AND number = ?`,
				c.Scope, c.QuestionSet, c.CertificationBody, c.Accreditation, c.Issued, c.Expires, c.UpdatedAt, c.Source, c.RecordedBy, c.Scheme, c.Number)
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO assurance_certificates (scheme, number, supplier_id, cert_scope, question_set, certification_body, accreditation, issued, expires, updated_at, source, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.Scheme, c.Number, c.SupplierID, c.Scope, c.QuestionSet, c.CertificationBody, c.Accreditation, c.Issued, c.Expires, c.UpdatedAt, c.Source, c.RecordedBy)
		}
		if err != nil {
			return fmt.Errorf("assurance: put certificate: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.certificate.put", ObjectType: "certificate", ObjectID: c.Scheme + ":" + c.Number, After: c})
		return err
	})
	if err != nil {
		return Certificate{}, err
	}
	c.State = c.StateAt(s.now())
	return c, nil
}

// Certificates lists the certificates of a supplier the caller may see,
// soonest expiry first, each with its state now.
func (s *Service) Certificates(ctx context.Context, sc scope.Scope, supplierID string) ([]Certificate, error) {
	if s.suppliers == nil {
		return nil, errors.New("assurance: Options.Suppliers is not set")
	}
	if _, err := s.suppliers.GetSupplier(ctx, sc, supplierID); err != nil {
		return nil, err
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT supplier_id, scheme, number, cert_scope, question_set, certification_body, accreditation, issued, expires, updated_at, source, recorded_by
		FROM assurance_certificates WHERE supplier_id = ? ORDER BY expires, scheme, number`, supplierID)
	if err != nil {
		return nil, fmt.Errorf("assurance: certificates: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []Certificate{}
	for rows.Next() {
		var c Certificate
		if err := rows.Scan(&c.SupplierID, &c.Scheme, &c.Number, &c.Scope, &c.QuestionSet, &c.CertificationBody, &c.Accreditation, &c.Issued, &c.Expires, &c.UpdatedAt, &c.Source, &c.RecordedBy); err != nil {
			return nil, fmt.Errorf("assurance: certificates: %w", err)
		}
		c.State = c.StateAt(now)
		out = append(out, c)
	}
	return out, rows.Err()
}
