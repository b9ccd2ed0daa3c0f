package supply

import (
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
)

// ImpactRequest is one blast-radius question, as the API, the pages and
// the command line all ask it: exactly one of a supplier, a product or a
// CVE (what is compromised or exploited: Impact, OpenImpact) or an
// organisation (the reverse question, what it depends on: DependsOn), and
// how many of the worst affected organisations to list. Build it with
// NewImpactRequest, which is the one place the rule is written.
type ImpactRequest struct {
	Query
	// Org is an organisation's ODS code or name: the reverse question.
	Org string `json:"org,omitempty"`
	// Limit lists only the Limit worst organisations (0: all; the totals
	// always count every one).
	Limit int `json:"limit,omitempty"`
}

// MaxImpactLimit bounds ImpactRequest.Limit.
const MaxImpactLimit = 1_000_000

// NewImpactRequest checks a question as it was asked (each field trimmed):
// exactly one of supplier, product, cve or org — a supplier, product or
// organisation by ID or name (Lookup's rule resolves it when the question
// is answered), a CVE by its ID in any case — and a limit from 0 to
// MaxImpactLimit. A bad question is a *fault.Invalid naming the field.
// The request is returned even then, so a form can be shown again as it
// was filled in.
func NewImpactRequest(supplier, product, cve, org string, limit int) (ImpactRequest, error) {
	r := ImpactRequest{Query: Query{Supplier: strings.TrimSpace(supplier), Product: strings.TrimSpace(product),
		CVE: strings.TrimSpace(cve)}, Org: strings.TrimSpace(org), Limit: limit}
	if r.CVE != "" && validCVE(normCVE(r.CVE)) {
		r.CVE = normCVE(r.CVE)
	}
	return r, r.Check()
}

// Check applies NewImpactRequest's rule to r as it stands.
func (r ImpactRequest) Check() error {
	given := ""
	for _, f := range [...]struct {
		field Kind
		value string
	}{{KindSupplier, r.Supplier}, {KindProduct, r.Product}, {KindCVE, r.CVE}, {KindOrg, r.Org}} {
		if f.value == "" {
			continue
		}
		if given != "" {
			return fault.Invalidf(string(f.field), "ask about one thing at a time: a supplier, a product, a CVE or an organisation (%s is given too)", given)
		}
		given = string(f.field)
		if p := safetext.SearchProblem(f.value); p != "" {
			return fault.Invalidf(string(f.field), "%s", p)
		}
	}
	switch {
	case given == "":
		return fault.Invalidf(string(KindSupplier), "give exactly one of supplier, product, cve or org")
	case r.CVE != "" && !validCVE(normCVE(r.CVE)):
		return cveInvalid(r.CVE)
	case r.Limit < 0 || r.Limit > MaxImpactLimit:
		return fault.Invalidf("limit", "want a number from 0 (all) to %d", MaxImpactLimit)
	}
	return nil
}

// Empty reports whether nothing was asked (a blank form).
func (r ImpactRequest) Empty() bool { return r.Query == Query{} && r.Org == "" }

// Reverse reports whether r asks what an organisation depends on.
func (r ImpactRequest) Reverse() bool { return r.Org != "" && r.Query == Query{} }

// Field is the field r asks about and its value: ("supplier", "DEMO-PATH").
// An empty or ambiguous request gives the first field set, or supplier.
func (r ImpactRequest) Field() (Kind, string) {
	switch {
	case r.Supplier != "":
		return KindSupplier, r.Supplier
	case r.Product != "":
		return KindProduct, r.Product
	case r.CVE != "":
		return KindCVE, r.CVE
	case r.Org != "":
		return KindOrg, r.Org
	}
	return KindSupplier, ""
}

// check is the rule for a Query alone: exactly one of its fields.
func (q Query) check() error {
	return ImpactRequest{Query: q}.Check()
}

// Verb is what happens to the thing a query names: a CVE is exploited, a
// supplier or product compromised.
func (q Query) Verb() string {
	if q.CVE != "" && q.Supplier == "" && q.Product == "" {
		return "exploited"
	}
	return "compromised"
}

// Headline says what the answer is about: "If Synnovis Analytics LLP is
// compromised", "If CVE-2024-3400 is exploited".
func (r *ImpactResult) Headline() string {
	return "If " + r.Subject + " is " + r.Query.Verb()
}
