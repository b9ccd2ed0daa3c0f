package assurance

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/supply"
)

// Cross-links between the schemes: evidence of one kind that the scheme
// says rests on evidence of another. They are data — the table links,
// one row a link with the reason the schemes give — evaluated whenever a
// supplier's or product's evidence is read, never stored, so a lapsed
// certificate or a new DSPT snapshot changes the answer at once.

// Check outcomes.
const (
	CheckPass    = "pass"
	CheckFail    = "fail"
	CheckUnknown = "unknown"
)

// CrossLink is one cross-link between schemes.
type CrossLink struct {
	ID string `json:"id"`
	// Scheme is the evidence that needs the other: dtac, dcb0160 or charter.
	Scheme string `json:"scheme"`
	Needs  string `json:"needs"`
	Reason string `json:"reason"`

	dtac    func(facts, DTAC) (string, string)
	dcb0160 func(facts, DCB0160) (string, string)
	charter func(facts, CharterSignature) (string, string)
	// section is the DTAC section the link backs ("C2"), whose recorded
	// result the explanation quotes.
	section string
}

// links is the table of cross-links.
var links = []CrossLink{
	{ID: "dtac-c1-dcb0129", Scheme: "dtac", section: "C1", Needs: "a complete DCB0129 record for the same product version",
		Reason: "DTAC section C1 (clinical safety) asks the manufacturer to show compliance with DCB0129: a clinical safety case report, a hazard log and a named Clinical Safety Officer for the product assessed.",
		dtac:   func(f facts, d DTAC) (string, string) { return f.dcb0129For(d.ProductID, d.Version) }},
	{ID: "dtac-c2-dspt", Scheme: "dtac", section: "C2", Needs: "the supplier's DSPT status Standards Met or Exceeded for a current edition",
		Reason: "DTAC section C2 (data protection) asks for the supplier's Data Security and Protection Toolkit at Standards Met or Exceeded.",
		dtac:   func(f facts, _ DTAC) (string, string) { return f.dsptMet() }},
	{ID: "dtac-c3-cyber-essentials", Scheme: "dtac", section: "C3", Needs: "a valid Cyber Essentials or Cyber Essentials Plus certificate",
		Reason: "DTAC section C3 (technical security) asks for a current Cyber Essentials certificate (Cyber Essentials Plus where the product's risk calls for it).",
		dtac:   func(f facts, _ DTAC) (string, string) { return f.cyberEssentials() }},
	{ID: "dcb0160-dcb0129", Scheme: "dcb0160", Needs: "the manufacturer's complete DCB0129 record for the product deployed",
		Reason:  "DCB0160 has the deploying organisation's clinical safety case build on the manufacturer's DCB0129 safety case and hazard log, which the manufacturer must supply.",
		dcb0160: func(f facts, d DCB0160) (string, string) { return f.dcb0129For(d.ProductID, "") }},
	{ID: "charter-dspt", Scheme: "charter", Needs: "the supplier's DSPT status Standards Met or Exceeded for a current edition",
		Reason: "Commitment 2 of the NHS Cyber Security Charter is to achieve and maintain at least Standards Met in the Data Security and Protection Toolkit.",
		charter: func(f facts, c CharterSignature) (string, string) {
			if c.Key != "dspt" {
				return "", ""
			}
			return f.dsptMet()
		}},
}

// Links lists the cross-links, for the docs and the pages.
func Links() []CrossLink { return slices.Clone(links) }

// CheckResult is one cross-link evaluated for one piece of evidence.
type CheckResult struct {
	Link    string `json:"link"`
	Scheme  string `json:"scheme"`
	Subject string `json:"subject"`
	// ProductID, Version and OrgODS say which record the check concerns.
	ProductID string `json:"product_id,omitempty"`
	Version   string `json:"version,omitempty"`
	OrgODS    string `json:"org_ods,omitempty"`
	Needs     string `json:"needs"`
	Reason    string `json:"reason"`
	// Result is pass, fail or unknown; Why says what was found.
	Result string `json:"result"`
	Why    string `json:"why"`
}

// facts is what the links are evaluated against.
type facts struct {
	supplier supply.Supplier
	now      time.Time
	certs    []Certificate
	dspt     []DSPTStatus
	dtac     []DTAC
	dcb0129  []DCB0129
	dcb0160  []DCB0160
	charter  []CharterSignature
}

// evaluate runs every link over every record it concerns, in table order.
func evaluate(f facts) []CheckResult {
	out := []CheckResult{}
	for _, l := range links {
		add := func(subject, product, version, org, result, why string) {
			out = append(out, CheckResult{Link: l.ID, Scheme: l.Scheme, Subject: subject, ProductID: product, Version: version, OrgODS: org,
				Needs: l.Needs, Reason: l.Reason, Result: result, Why: why})
		}
		switch {
		case l.dtac != nil:
			for _, d := range f.dtac {
				res, why := l.dtac(f, d)
				if rec := d.result(l.section); rec != "" {
					why += fmt.Sprintf(" (the DTAC records %s as %s)", l.section, rec)
				}
				add(fmt.Sprintf("DTAC %s of %s %s", l.section, d.ProductID, d.Version), d.ProductID, d.Version, "", res, why)
			}
		case l.dcb0160 != nil:
			for _, d := range f.dcb0160 {
				res, why := l.dcb0160(f, d)
				add(fmt.Sprintf("DCB0160 of %s for %s", d.OrgODS, d.ProductID), d.ProductID, "", d.OrgODS, res, why)
			}
		case l.charter != nil:
			for _, c := range f.charter {
				if c.Signed == "" {
					continue
				}
				if res, why := l.charter(f, c); res != "" {
					add(fmt.Sprintf("Charter commitment %d (%s), signed %s", c.Number, c.Key, c.Signed), "", "", "", res, why)
				}
			}
		}
	}
	return out
}

func (d DTAC) result(section string) Result {
	switch section {
	case "C1":
		return d.C1
	case "C2":
		return d.C2
	case "C3":
		return d.C3
	case "C4":
		return d.C4
	}
	return ""
}

// DSPTCurrent says whether a status of edition ("2023-24") is current at
// now: an edition's deadline is 30 June of its second year, and its
// status stands until the next edition's deadline a year later.
func DSPTCurrent(edition string, now time.Time) (bool, time.Time) {
	start, err := strconv.Atoi(strings.SplitN(edition, "-", 2)[0])
	if err != nil {
		return false, time.Time{}
	}
	until := time.Date(start+2, time.July, 1, 0, 0, 0, 0, time.UTC) // through 30 June
	return now.Before(until), until.AddDate(0, 0, -1)
}

func (f facts) dsptMet() (string, string) {
	if f.supplier.ODSCode == "" {
		return CheckUnknown, "the register records no ODS (DSPT organisation) code for this supplier, so its DSPT status cannot be looked up"
	}
	if len(f.dspt) == 0 {
		return CheckUnknown, fmt.Sprintf("no DSPT status is held for %s (import the published snapshots: vigil assurance dspt import)", f.supplier.ODSCode)
	}
	st := f.dspt[0] // newest edition first
	ok, until := DSPTCurrent(st.Edition, f.now)
	if !ok {
		return CheckFail, fmt.Sprintf("the newest DSPT status held for %s is %s for %s, which stood until %s: none for a current edition",
			f.supplier.ODSCode, st.Level.Label(), st.Edition, until.Format(time.DateOnly))
	}
	if st.Level.MeetsStandard() {
		return CheckPass, fmt.Sprintf("%s's DSPT for %s is %s (current until %s)", f.supplier.ODSCode, st.Edition, st.Level.Label(), until.Format(time.DateOnly))
	}
	return CheckFail, fmt.Sprintf("%s's DSPT for %s is %s: Standards Met or Exceeded is needed", f.supplier.ODSCode, st.Edition, st.Level.Label())
}

func (f facts) cyberEssentials() (string, string) {
	var lapsed []string
	for _, scheme := range []string{CyberEssentialsPlus, CyberEssentials} {
		for _, c := range f.certs {
			if c.Scheme != scheme {
				continue
			}
			if st := c.StateAt(f.now); st != "expired" {
				return CheckPass, fmt.Sprintf("%s certificate %s is %s until %s", SchemeLabel(c.Scheme), c.Number, st, c.Expires)
			}
			lapsed = append(lapsed, fmt.Sprintf("%s %s expired %s", SchemeLabel(c.Scheme), c.Number, c.Expires))
		}
	}
	if len(lapsed) > 0 {
		return CheckFail, "no valid Cyber Essentials certificate: " + strings.Join(lapsed, "; ")
	}
	return CheckFail, "no Cyber Essentials certificate is recorded for the supplier"
}

// dcb0129For checks for a complete DCB0129 of the product: of version
// when given, else of any version.
func (f facts) dcb0129For(product, version string) (string, string) {
	var others []string
	var incomplete string
	for _, d := range f.dcb0129 {
		if d.ProductID != product {
			continue
		}
		if version != "" && d.Version != version {
			others = append(others, d.Version)
			continue
		}
		if !d.Complete {
			incomplete = fmt.Sprintf("the DCB0129 record of %s %s lacks a %s", product, d.Version, strings.Join(d.Missing, " and a "))
			continue
		}
		if d.ReviewDue != "" && !f.now.Before(endOfDay(d.ReviewDue)) {
			incomplete = fmt.Sprintf("the DCB0129 safety case of %s %s was due for review on %s", product, d.Version, d.ReviewDue)
			continue
		}
		return CheckPass, fmt.Sprintf("DCB0129 of %s %s: safety case report %s, hazard log %s, Clinical Safety Officer %s", product, d.Version, d.SafetyCaseReport, d.HazardLog, d.CSOName)
	}
	if incomplete != "" {
		return CheckFail, incomplete
	}
	if len(others) > 0 {
		return CheckFail, fmt.Sprintf("no DCB0129 record for %s version %s (held for %s)", product, version, strings.Join(others, ", "))
	}
	return CheckFail, fmt.Sprintf("no DCB0129 record is held for %s", product)
}

// endOfDay is the moment a date (YYYY-MM-DD) ends, UTC; a bad date ends
// at once.
func endOfDay(date string) time.Time {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, 1)
}

// SchemeLabel is a certificate scheme as people write it.
func SchemeLabel(scheme string) string {
	switch scheme {
	case CyberEssentials:
		return "Cyber Essentials"
	case CyberEssentialsPlus:
		return "Cyber Essentials Plus"
	case ISO27001:
		return "ISO/IEC 27001"
	}
	return scheme
}
