package supply

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
)

// What a register row may hold. Every row type has one check method that
// normalises it (trims, upper-cases codes, canonicalises services and CVE
// IDs) and lists what is wrong with it alone; Put methods refuse the first
// problem, Import reports every one at its file, line and column. Checks
// against other rows, the organisation tree and the caller's scope come
// after, in the Put methods and validate.

// Length limits beyond safetext's names and free text.
const (
	maxIDLen   = 128 // supplier, product and contract IDs (bytes)
	maxCodeLen = 64  // codes and short labels: ODS codes, country, version, service
	// maxContractGBP bounds a contract's value: £1 trillion is several
	// years of the whole NHS budget, so anything larger is a typing error
	// (and sums over thousands of contracts stay exact in a float64).
	maxContractGBP = 1e12
)

const idRule = "want 1–128 characters without control characters or ':'"

// problem is one bad field of a row.
type problem struct{ field, reason string }

// problems collects a row's bad fields in the order they are found.
type problems []problem

func (ps *problems) add(field, format string, a ...any) {
	*ps = append(*ps, problem{field, fmt.Sprintf(format, a...)})
}

// text checks a value against the shared rules for its kind.
func (ps *problems) text(field, v string, k safetext.Kind, max int) {
	if p := safetext.Problem(v, k, max); p != "" {
		ps.add(field, "%s", p)
	}
}

// required checks a name that must be present.
func (ps *problems) required(field, v string, max int) {
	if v == "" {
		ps.add(field, "is required")
		return
	}
	ps.text(field, v, safetext.Name, max)
}

// err is the first problem as a fault.Invalid, or nil.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &fault.Invalid{Field: ps[0].field, Reason: ps[0].reason}
}

// check normalises sp and lists its problems.
func (sp *Supplier) check() problems {
	var ps problems
	sp.ID, sp.Name, sp.ParentID = strings.TrimSpace(sp.ID), strings.TrimSpace(sp.Name), strings.TrimSpace(sp.ParentID)
	sp.CompaniesHouseNumber, sp.DUNS, sp.Country = strings.TrimSpace(sp.CompaniesHouseNumber), strings.TrimSpace(sp.DUNS), strings.TrimSpace(sp.Country)
	sp.ODSCode, sp.TenantOrg = strings.ToUpper(strings.TrimSpace(sp.ODSCode)), strings.TrimSpace(sp.TenantOrg)
	sp.Contacts = strings.TrimSpace(sp.Contacts)
	if !validID(sp.ID) {
		ps.add("supplier_id", idRule)
		return ps
	}
	ps.required("name", sp.Name, safetext.MaxName)
	for _, f := range []struct{ name, v string }{{"companies_house_number", sp.CompaniesHouseNumber}, {"parent_supplier_id", sp.ParentID},
		{"country", sp.Country}, {"ods_code", sp.ODSCode}, {"duns", sp.DUNS}, {"tenant_org", sp.TenantOrg}} {
		max := maxCodeLen
		if f.name == "parent_supplier_id" {
			max = maxIDLen
		}
		ps.text(f.name, f.v, safetext.Name, max)
	}
	ps.text("contacts", sp.Contacts, safetext.Text, safetext.MaxText)
	if sp.ParentID == sp.ID {
		ps.add("parent_supplier_id", "a supplier cannot be its own parent")
	}
	return ps
}

// check normalises p and lists its problems.
func (p *Product) check() problems {
	var ps problems
	p.ID, p.Name, p.SupplierID, p.Version = strings.TrimSpace(p.ID), strings.TrimSpace(p.Name), strings.TrimSpace(p.SupplierID), strings.TrimSpace(p.Version)
	checkEnum(&ps, productKinds, "kind", &p.Kind)
	checkEnum(&ps, dataClasses, "data", &p.Data)
	if !validID(p.ID) {
		ps.add("product_id", idRule)
		return ps
	}
	ps.required("name", p.Name, safetext.MaxName)
	ps.text("version", p.Version, safetext.Name, maxCodeLen)
	return ps
}

// check normalises d and lists its problems.
func (d *Dependency) check() problems {
	var ps problems
	d.ProductID, d.DependsOnID = strings.TrimSpace(d.ProductID), strings.TrimSpace(d.DependsOnID)
	checkEnum(&ps, dependencyKinds, "kind", &d.Kind)
	if d.ProductID == d.DependsOnID {
		ps.add("depends_on_product_id", "a product cannot depend on itself")
	}
	return ps
}

// check normalises d and lists its problems.
func (d *Deployment) check() problems {
	var ps problems
	d.OrgODS, d.ProductID, d.Service = strings.ToUpper(strings.TrimSpace(d.OrgODS)), strings.TrimSpace(d.ProductID), normService(d.Service)
	checkEnum(&ps, criticalities, "criticality", &d.Criticality)
	ps.required("service", d.Service, maxCodeLen)
	return ps
}

// check normalises v and lists its problems.
func (v *Vuln) check() problems {
	var ps problems
	v.ProductID, v.CVE, v.Component = strings.TrimSpace(v.ProductID), normCVE(v.CVE), strings.TrimSpace(v.Component)
	switch {
	case v.CVE == "":
		ps.add("cve", "is required")
	case !validCVE(v.CVE):
		ps.add("cve", "%q is not a CVE ID: want CVE-YYYY-NNNN", v.CVE)
	}
	ps.text("component", v.Component, safetext.Name, safetext.MaxName)
	return ps
}

// check normalises c and lists its problems.
func (c *Contract) check() problems {
	var ps problems
	c.ID, c.OrgODS, c.SupplierID, c.ProductID = strings.TrimSpace(c.ID), strings.ToUpper(strings.TrimSpace(c.OrgODS)), strings.TrimSpace(c.SupplierID), strings.TrimSpace(c.ProductID)
	c.StartDate, c.EndDate = strings.TrimSpace(c.StartDate), strings.TrimSpace(c.EndDate)
	checkEnum(&ps, substitutabilities, "substitutability", &c.Substitutability)
	if !validID(c.ID) {
		ps.add("contract_id", idRule)
		return ps
	}
	switch v := c.ValueGBP; {
	case math.IsNaN(v) || math.IsInf(v, 0):
		ps.add("value_gbp", "%v is not an amount", v)
	case v < 0:
		ps.add("value_gbp", "%v is negative", v)
	case v > maxContractGBP:
		ps.add("value_gbp", "%v is too large: at most 1,000,000,000,000", v)
	}
	start, sOK := checkDate(&ps, "start_date", c.StartDate)
	end, eOK := checkDate(&ps, "end_date", c.EndDate)
	if sOK && eOK && c.StartDate != "" && c.EndDate != "" && end.Before(start) {
		ps.add("end_date", "%s is before start_date %s", c.EndDate, c.StartDate)
	}
	ps.text("data_processed", c.DataProcessed, safetext.Text, safetext.MaxText)
	ps.text("exit_plan", c.ExitPlan, safetext.Text, safetext.MaxText)
	return ps
}

// checkDate parses an optional YYYY-MM-DD date.
func checkDate(ps *problems, field, s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		ps.add(field, "%q is not a date: want YYYY-MM-DD", s)
		return time.Time{}, false
	}
	return t, true
}

// parseAmount reads a CSV amount of pounds: digits with optional thousands
// commas, decimals and exponent, and an optional leading £. Infinity, NaN,
// hexadecimal and negative amounts, which strconv.ParseFloat would
// accept, are not amounts.
func parseAmount(s string) (float64, string) {
	v := strings.ReplaceAll(strings.TrimPrefix(s, "£"), ",", "")
	if !amountRE().MatchString(v) {
		return 0, fmt.Sprintf("%q is not an amount: want a number of pounds such as 1200000 or 1,200,000.50", s)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f > maxContractGBP {
		return 0, fmt.Sprintf("%q is too large: at most 1,000,000,000,000", s)
	}
	return f, ""
}

var amountRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`) })

// validID reports whether s is a usable register ID: 1–128 bytes of
// UTF-8 without control or bidirectional characters or colons (which would
// break node names such as "product:ID"). An ID that is not valid cannot
// name a stored row, so lookups answer "not found" without asking the
// database (PostgreSQL refuses NUL bytes in parameters).
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen || strings.ContainsRune(s, ':') {
		return false
	}
	return safetext.Problem(s, safetext.Name, 0) == ""
}

// validCVE reports whether s (normalised by normCVE) is a CVE ID:
// CVE-YYYY-NNNN with four or more sequence digits (CVE IDs have had
// arbitrary-length sequence numbers since 2014).
func validCVE(s string) bool {
	m := cveRE().FindStringSubmatch(s)
	if m == nil {
		return false
	}
	year, _ := strconv.Atoi(m[1])
	return year >= 1999 && utf8.RuneCountInString(s) <= maxIDLen
}

var cveRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^CVE-([0-9]{4})-[0-9]{4,19}$`) })

// validKey reports whether every s could be part of a stored key, so a
// query with any other value can answer "nothing" without the database.
func validKey(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return false
		}
	}
	return true
}
