package audit

import (
	"fmt"
	"strings"
)

// schemes describes the health-scheme evidence actions of supplier
// assurance (issue 20): DTAC, DCB0129, DCB0160, the charter, the NCSC
// principles and the expiry notices.
func (d describer) schemes() string {
	e := d.e
	var a struct {
		SupplierID  string   `json:"supplier_id"`
		ProductID   string   `json:"product_id"`
		Version     string   `json:"version"`
		OrgODS      string   `json:"org_ods"`
		Passed      bool     `json:"passed"`
		DScore      int      `json:"d_usability_score"`
		Complete    bool     `json:"complete"`
		Missing     []string `json:"missing"`
		Source      string   `json:"source"`
		Commitments []string `json:"commitments"`
		Signed      string   `json:"signed"`
		SignedBy    string   `json:"signed_by"`
		Assessed    string   `json:"assessed"`
		States      []struct {
			Principle int    `json:"principle"`
			State     string `json:"state"`
		} `json:"states"`
		What  string `json:"what"`
		Date  string `json:"date"`
		Stage string `json:"stage"`
	}
	doc(e.After, &a)
	as := ""
	if a.Source == "supplier" {
		as = " as the supplier's representative"
	}
	verb := "recorded"
	if len(e.Before) > 0 {
		verb = "replaced"
	}
	safety := func() string {
		if a.Complete {
			return "complete"
		}
		return "lacking a " + strings.Join(a.Missing, " and a ")
	}
	switch e.Action {
	case "assurance.dtac.put":
		res := "C1–C4 not all passed"
		if a.Passed {
			res = "C1–C4 passed"
		}
		return fmt.Sprintf("%s the DTAC assessment of %s %s%s: %s, usability score %d", verb, a.ProductID, a.Version, as, res, a.DScore)
	case "assurance.dcb0129.put":
		return fmt.Sprintf("%s the DCB0129 clinical safety record of %s %s%s (%s)", verb, a.ProductID, a.Version, as, safety())
	case "assurance.dcb0160.put":
		return fmt.Sprintf("%s the DCB0160 clinical safety record of %s for %s (%s)", verb, d.org(a.OrgODS, ""), a.ProductID, safety())
	case "assurance.charter.sign":
		return fmt.Sprintf("recorded that %s signed the NHS Cyber Security Charter commitments %s for supplier %s on %s%s",
			quoted(a.SignedBy), strings.Join(a.Commitments, ", "), a.SupplierID, a.Signed, as)
	case "assurance.principles.set":
		var ps []string
		for _, s := range a.States {
			ps = append(ps, fmt.Sprintf("%d %s", s.Principle, strings.ReplaceAll(s.State, "_", " ")))
		}
		return fmt.Sprintf("set the NCSC supply-chain principles of supplier %s as assessed on %s%s: %s", a.SupplierID, a.Assessed, as, strings.Join(ps, ", "))
	default: // assurance.evidence.expiry
		when := "comes within its notice period before"
		if a.Stage == "expired" {
			when = "lapsed after"
		}
		return fmt.Sprintf("raised an alert: the %s of supplier %s %s %s", a.What, a.SupplierID, when, a.Date)
	}
}
