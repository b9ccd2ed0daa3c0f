// Package org holds organisations — NHS England regions, ICBs, sub-ICB
// locations, trusts, GP practices, other providers and suppliers — their
// hierarchy, and the import of the public ODS extracts.
package org

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the organisation tables' schema.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "org", FS: sub}
}

// Type is the kind of organisation.
type Type string

const (
	National Type = "national"
	Region   Type = "region"
	// Nation is a body outside NHS England whose organisations the ODS
	// extracts list beside England's: NHS Wales and the Crown
	// dependencies (Isle of Man, Jersey, Guernsey, Alderney). See Nations.
	Nation        Type = "nation"
	ICB           Type = "icb"
	SubICB        Type = "sub-icb"
	Trust         Type = "trust"
	GPPractice    Type = "gp-practice"
	OtherProvider Type = "other-provider"
	Supplier      Type = "supplier"
)

// Types lists the organisation types in hierarchy order.
func Types() []Type {
	return []Type{National, Region, Nation, ICB, SubICB, Trust, GPPractice, OtherProvider, Supplier}
}

// Valid reports whether t is a known type.
func (t Type) Valid() bool {
	for _, k := range Types() {
		if t == k {
			return true
		}
	}
	return false
}

// Parents lists the types of organisation a t may sit directly under. The
// tree follows NHS England's hierarchy — national → region → ICB → sub-ICB
// → providers (trust, gp-practice, other-provider) — with supplier tenants
// directly under national. A provider may also sit directly under an ICB
// or a region, as the ODS extracts place one whose finer parent is not
// known (trusts belong to an ICB; a practice with no sub-ICB to its ICB),
// and an other-provider under a trust (its sites and services). Nothing
// sits under a practice, a supplier or another provider's site, and the
// national root has no parent. A body outside NHS England (Nation) sits
// under the national root, and its trusts, practices and other providers
// directly under it.
func Parents(t Type) []Type {
	switch t {
	case Region, Nation, Supplier:
		return []Type{National}
	case ICB:
		return []Type{Region}
	case SubICB:
		return []Type{ICB}
	case Trust, GPPractice:
		return []Type{Region, Nation, ICB, SubICB}
	case OtherProvider:
		return []Type{Region, Nation, ICB, SubICB, Trust}
	}
	return nil
}

// CheckParent reports whether an organisation of type t may sit directly
// under parent, as Parents says; the error names the field "parent". It
// applies to organisations created or moved through the service, for
// everyone; the ODS import places organisations where the published
// extracts put them (see Import).
func CheckParent(t Type, parent Org) error {
	allowed := Parents(t)
	for _, p := range allowed {
		if parent.Type == p {
			return nil
		}
	}
	if len(allowed) == 0 {
		return &fault.Invalid{Field: "parent", Reason: fmt.Sprintf("there is one %s organisation, %s, and Vigil makes it; create regions and suppliers under it", National, RootCode)}
	}
	names := make([]string, len(allowed))
	for i, p := range allowed {
		names[i] = string(p)
	}
	kinds := names[0]
	if n := len(names); n > 1 {
		kinds = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	return &fault.Invalid{Field: "parent", Reason: fmt.Sprintf("an organisation of type %s goes under one of type %s; %s is of type %s", t, kinds, parent.Code, parent.Type)}
}

// NationalStructure reports whether creating an organisation of type t,
// or moving one, is for national administrators only. Regions and ICBs
// are the national tree that region-lead grants and the supplier
// register's reach hang from, and supplier organisations are tenants of
// the national register: an administrator below the national root who
// could make one could then be given — or give itself — roles over it.
func NationalStructure(t Type) bool {
	return t == National || t == Region || t == Nation || t == ICB || t == Supplier
}

// Status is whether an organisation is open.
type Status string

const (
	Active Status = "active"
	Closed Status = "closed"
)

// RootCode is the code of the national root organisation, NHS England.
const RootCode = "ENG"

// Org is one organisation.
type Org struct {
	Code       string `json:"ods"`
	Name       string `json:"name"`
	Type       Type   `json:"type"`
	Parent     string `json:"parent"`
	Status     Status `json:"status"`
	Region     string `json:"region,omitempty"`
	ICB        string `json:"icb,omitempty"`
	Postcode   string `json:"postcode,omitempty"`
	Opened     string `json:"opened,omitempty"`
	Closed     string `json:"closed,omitempty"`
	Population int64  `json:"population,omitempty"`
	Source     string `json:"source,omitempty"`
	Demo       bool   `json:"demo,omitempty"`
	Path       string `json:"-"`
	UpdatedAt  string `json:"updated_at,omitempty"`
}
