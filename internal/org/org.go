// Package org holds organisations — NHS England regions, ICBs, sub-ICB
// locations, trusts, GP practices, other providers and suppliers — their
// hierarchy, and the import of the public ODS extracts.
package org

import (
	"embed"
	"io/fs"

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
	National      Type = "national"
	Region        Type = "region"
	ICB           Type = "icb"
	SubICB        Type = "sub-icb"
	Trust         Type = "trust"
	GPPractice    Type = "gp-practice"
	OtherProvider Type = "other-provider"
	Supplier      Type = "supplier"
)

// Types lists the organisation types in hierarchy order.
func Types() []Type {
	return []Type{National, Region, ICB, SubICB, Trust, GPPractice, OtherProvider, Supplier}
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
