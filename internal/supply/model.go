package supply

import (
	"strings"

	"github.com/vigil-health/vigil/internal/enum"
)

// Supplier is one company (or NHS body acting as a supplier) in the register.
type Supplier struct {
	ID                   string `json:"supplier_id"`
	Name                 string `json:"name"`
	CompaniesHouseNumber string `json:"companies_house_number,omitempty"`
	DUNS                 string `json:"duns,omitempty"`
	// ParentID is the group parent, so closely linked companies aggregate.
	ParentID string `json:"parent_supplier_id,omitempty"`
	Country  string `json:"country,omitempty"`
	// ODSCode is set when the supplier is an NHS body (shared services).
	ODSCode string `json:"ods_code,omitempty"`
	// TenantOrg is the organisation (of type supplier) whose users represent
	// this supplier and maintain its products.
	TenantOrg          string `json:"tenant_org,omitempty"`
	DesignatedCritical bool   `json:"designated_critical,omitempty"`
	Contacts           string `json:"contacts,omitempty"`
	UpdatedAt          string `json:"updated_at,omitempty"`
}

// ProductKind is what a product is.
type ProductKind string

// Product kinds.
const (
	Software       ProductKind = "software"
	SaaS           ProductKind = "saas"
	ManagedService ProductKind = "managed-service"
	Hosting        ProductKind = "hosting"
	Component      ProductKind = "component"
	SharedService  ProductKind = "shared-service"
	Network        ProductKind = "network"
)

var productKinds = enum.Of(Software, SaaS, ManagedService, Hosting, Component, SharedService, Network).
	Aliases(map[string]ProductKind{"managed service": ManagedService, "managed_service": ManagedService, "shared service": SharedService, "shared_service": SharedService})

// ProductKinds lists the valid product kinds.
func ProductKinds() []ProductKind { return productKinds.Values() }

// Valid reports whether k is a product kind.
func (k ProductKind) Valid() bool { return productKinds.Valid(k) }

// Product is a product or service a supplier offers.
type Product struct {
	ID         string      `json:"product_id"`
	SupplierID string      `json:"supplier_id"`
	Name       string      `json:"name"`
	Kind       ProductKind `json:"kind"`
	Version    string      `json:"version,omitempty"`
	// Data is the most sensitive data the product processes: patient,
	// personal or none ("" when the register has not been told).
	// Assurance tiers read it (a supplier handling patient data is asked
	// for more).
	Data      DataClass `json:"data,omitempty"`
	UpdatedAt string    `json:"updated_at,omitempty"`
}

// DataClass is the most sensitive data a product processes.
type DataClass string

// Data classes, most sensitive first.
const (
	PatientData  DataClass = "patient"
	PersonalData DataClass = "personal"
	NoData       DataClass = "none"
)

var dataClasses = enum.Of(PatientData, PersonalData, NoData).
	Aliases(map[string]DataClass{"patient data": PatientData, "patient-data": PatientData, "personal data": PersonalData, "personal-data": PersonalData}).Optional()

// DataClasses lists the data classes, most sensitive first.
func DataClasses() []DataClass { return dataClasses.Values() }

// Valid reports whether d is a data class or unset.
func (d DataClass) Valid() bool { return dataClasses.Valid(d) }

// DependencyKind says how one product depends on another.
type DependencyKind string

// Dependency kinds.
const (
	DepHosting       DependencyKind = "hosting"
	DepComponent     DependencyKind = "component"
	DepSubcontractor DependencyKind = "subcontractor"
	DepIdentity      DependencyKind = "identity"
	DepSharedService DependencyKind = "shared-service"
	DepNetwork       DependencyKind = "network"
)

var dependencyKinds = enum.Of(DepHosting, DepComponent, DepSubcontractor, DepIdentity, DepSharedService, DepNetwork).
	Aliases(map[string]DependencyKind{"identity-provider": DepIdentity, "idp": DepIdentity, "sbom": DepComponent,
		"shared service": DepSharedService, "shared_service": DepSharedService})

// DependencyKinds lists the valid dependency kinds.
func DependencyKinds() []DependencyKind { return dependencyKinds.Values() }

// Valid reports whether k is a dependency kind.
func (k DependencyKind) Valid() bool { return dependencyKinds.Valid(k) }

// Dependency says ProductID depends on DependsOnID. Critical means the
// product stops working when the dependency does.
type Dependency struct {
	ProductID   string         `json:"product_id"`
	DependsOnID string         `json:"depends_on_product_id"`
	Kind        DependencyKind `json:"kind"`
	Critical    bool           `json:"critical"`
	UpdatedAt   string         `json:"updated_at,omitempty"`
}

// Criticality is how much a business service relies on a deployment.
// Critical and High count as critical for impact: a compromise through them
// can stop the service. Medium and Low degrade or merely expose it.
type Criticality string

// Criticality scale, most severe first.
const (
	Critical Criticality = "critical"
	High     Criticality = "high"
	Medium   Criticality = "medium"
	Low      Criticality = "low"
)

var criticalities = enum.Of(Critical, High, Medium, Low)

// Criticalities lists the scale, most severe first.
func Criticalities() []Criticality { return criticalities.Values() }

// Valid reports whether c is on the scale.
func (c Criticality) Valid() bool { return criticalities.Valid(c) }

// Stops reports whether losing a deployment of this criticality stops the
// service (critical and high do).
func (c Criticality) Stops() bool { return c == Critical || c == High }

// Deployment is one organisation using one product for one business
// service (pathology, epr, 111, gp-clinical, …).
type Deployment struct {
	OrgODS      string      `json:"org_ods"`
	ProductID   string      `json:"product_id"`
	Service     string      `json:"service"`
	Criticality Criticality `json:"criticality"`
	HasFallback bool        `json:"has_fallback"`
	UpdatedAt   string      `json:"updated_at,omitempty"`
}

// Vuln records that a product contains a known vulnerability (from an SBOM
// component or an advisory).
type Vuln struct {
	ProductID string `json:"product_id"`
	CVE       string `json:"cve"`
	Component string `json:"component,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// Substitutability is how easily a contract's supplier could be replaced.
type Substitutability string

// Substitutability values.
const (
	SubstEasy     Substitutability = "easy"
	SubstModerate Substitutability = "moderate"
	SubstHard     Substitutability = "hard"
	SubstNone     Substitutability = "none"
)

// substitutabilities are the values; a contract may leave it unset ("").
var substitutabilities = enum.Of(SubstEasy, SubstModerate, SubstHard, SubstNone).Optional()

// Substitutabilities lists the values, easiest first.
func Substitutabilities() []Substitutability { return substitutabilities.Values() }

// Valid reports whether s is a value or unset.
func (s Substitutability) Valid() bool { return substitutabilities.Valid(s) }

// Contract is an organisation's contract with a supplier.
type Contract struct {
	ID               string           `json:"contract_id"`
	OrgODS           string           `json:"org_ods"`
	SupplierID       string           `json:"supplier_id"`
	ProductID        string           `json:"product_id,omitempty"`
	StartDate        string           `json:"start_date,omitempty"`
	EndDate          string           `json:"end_date,omitempty"`
	ValueGBP         float64          `json:"value_gbp,omitempty"`
	DataProcessed    string           `json:"data_processed,omitempty"`
	ExitPlan         string           `json:"exit_plan,omitempty"`
	Substitutability Substitutability `json:"substitutability,omitempty"`
	UpdatedAt        string           `json:"updated_at,omitempty"`
}

// parseBool accepts yes/no, true/false, y/n and 1/0 in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "1", "y":
		return true, true
	case "no", "false", "0", "n":
		return false, true
	}
	return false, false
}

// normService canonicalises a business-service name: lower case, spaces
// and underscores as hyphens ("GP clinical system" → "gp-clinical-system").
func normService(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' {
			return '-'
		}
		return r
	}, s)
	return s
}

// normCVE upper-cases and trims a CVE ID (validCVE checks it).
func normCVE(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
