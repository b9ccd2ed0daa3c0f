// Package demo loads a demonstration estate — real NHS England regions,
// ICBs and trusts by their ODS codes, invented GP practices, and one user
// per role — so a new user has something to look at. Every row it writes
// is flagged demo (the UI shows a DEMO DATA banner), practices have codes
// starting "DM" that no real practice has, and users have addresses under
// demo.vigil.invalid.
package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// Estate is the demonstration organisations, parents first. Names are
// written as the ODS extracts publish them and made readable as the ODS
// import makes them (org.ReadableName), so demo and real data look alike.
func Estate() []org.Org {
	var out []org.Org
	add := func(code, name string, t org.Type, parent string) {
		out = append(out, org.Org{Code: code, Name: org.ReadableName(name), Type: t, Parent: parent, Status: org.Active, Source: "demo", Demo: true})
	}
	regions := [][2]string{{"Y56", "London"}, {"Y58", "South West"}, {"Y59", "South East"}, {"Y60", "Midlands"},
		{"Y61", "East of England"}, {"Y62", "North West"}, {"Y63", "North East and Yorkshire"}}
	for _, r := range regions {
		add(r[0], r[1], org.Region, org.RootCode)
	}
	icbs := [][3]string{
		{"QMF", "NHS North East London ICB", "Y56"}, {"QKK", "NHS South East London ICB", "Y56"}, {"QMJ", "NHS North Central London ICB", "Y56"},
		{"QRV", "NHS North West London ICB", "Y56"}, {"QWE", "NHS South West London ICB", "Y56"},
		{"QJK", "NHS Devon ICB", "Y58"}, {"QRL", "NHS Hampshire and Isle of Wight ICB", "Y59"}, {"QHL", "NHS Birmingham and Solihull ICB", "Y60"},
		{"QUE", "NHS Cambridgeshire and Peterborough ICB", "Y61"}, {"QOP", "NHS Greater Manchester ICB", "Y62"}, {"QYG", "NHS Cheshire and Merseyside ICB", "Y62"},
		{"QHM", "NHS North East and North Cumbria ICB", "Y63"}, {"QWO", "NHS West Yorkshire ICB", "Y63"},
	}
	for _, i := range icbs {
		add(i[0], i[1], org.ICB, i[2])
	}
	trusts := [][3]string{
		{"R1H", "BARTS HEALTH NHS TRUST", "QMF"}, {"RQX", "HOMERTON HEALTHCARE NHS FOUNDATION TRUST", "QMF"},
		{"RJ1", "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", "QKK"}, {"RJZ", "KING'S COLLEGE HOSPITAL NHS FOUNDATION TRUST", "QKK"},
		{"RJ2", "LEWISHAM AND GREENWICH NHS TRUST", "QKK"}, {"RV5", "SOUTH LONDON AND MAUDSLEY NHS FOUNDATION TRUST", "QKK"},
		{"RAL", "ROYAL FREE LONDON NHS FOUNDATION TRUST", "QMJ"}, {"RRV", "UNIVERSITY COLLEGE LONDON HOSPITALS NHS FOUNDATION TRUST", "QMJ"},
		{"RYJ", "IMPERIAL COLLEGE HEALTHCARE NHS TRUST", "QRV"}, {"RJ7", "ST GEORGE'S UNIVERSITY HOSPITALS NHS FOUNDATION TRUST", "QWE"},
		{"RH8", "ROYAL DEVON UNIVERSITY HEALTHCARE NHS FOUNDATION TRUST", "QJK"}, {"RHM", "UNIVERSITY HOSPITAL SOUTHAMPTON NHS FOUNDATION TRUST", "QRL"},
		{"RRK", "UNIVERSITY HOSPITALS BIRMINGHAM NHS FOUNDATION TRUST", "QHL"}, {"RGT", "CAMBRIDGE UNIVERSITY HOSPITALS NHS FOUNDATION TRUST", "QUE"},
		{"R0A", "MANCHESTER UNIVERSITY NHS FOUNDATION TRUST", "QOP"}, {"REM", "LIVERPOOL UNIVERSITY HOSPITALS NHS FOUNDATION TRUST", "QYG"},
		{"RTD", "THE NEWCASTLE UPON TYNE HOSPITALS NHS FOUNDATION TRUST", "QHM"}, {"RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", "QWO"},
	}
	for _, t := range trusts {
		add(t[0], t[1], org.Trust, t[2])
	}
	practiceNames := []string{"RIVERSIDE MEDICAL CENTRE", "THE OLD SCHOOL SURGERY", "PARK VIEW HEALTH CENTRE", "ST MARK'S PRACTICE",
		"HIGH STREET SURGERY", "MEADOWBANK GROUP PRACTICE"}
	n := 0
	for _, i := range icbs {
		for j, name := range practiceNames {
			if j >= 3 && i[2] != "Y56" {
				break // London gets more practices: the demo's regional lead is there
			}
			n++
			add(fmt.Sprintf("DM%04d", n), name+" ("+i[0]+")", org.GPPractice, i[0])
			// Registered patients, so impact totals carry a population:
			// between 3,000 and 15,000, like most English practices.
			out[len(out)-1].Population = int64(3000 + (n*7919)%12000)
		}
	}
	add("SUP-ACME", "ACME CLINICAL SYSTEMS LTD (DEMO SUPPLIER)", org.Supplier, org.RootCode)
	return out
}

// User is a demonstration account.
type User struct {
	Email, Name string
	Role        scope.Role
	Org         string
}

// Users are one account per role.
func Users() []User {
	return []User{
		{"nadia.national@demo.vigil.invalid", "Nadia National (demo)", scope.NationalAnalyst, org.RootCode},
		{"laura.london@demo.vigil.invalid", "Laura London (demo)", scope.RegionLead, "Y56"},
		{"gary.guys@demo.vigil.invalid", "Gary Guy's (demo)", scope.OrgAdmin, "RJ1"},
		{"kim.kings@demo.vigil.invalid", "Kim King's (demo)", scope.OrgAnalyst, "RJZ"},
		{"priya.practice@demo.vigil.invalid", "Priya Practice (demo)", scope.OrgAnalyst, "DM0001"},
		{"audrey.auditor@demo.vigil.invalid", "Audrey Auditor (demo)", scope.Auditor, org.RootCode},
		{"sam.supplier@demo.vigil.invalid", "Sam Supplier (demo)", scope.SupplierRep, "SUP-ACME"},
	}
}

// Report says what Load did.
type Report struct {
	OrgsCreated   int
	OrgsExisting  int
	UsersCreated  int
	UsersExisting int
}

// Load creates the demonstration estate and users. It is idempotent:
// what exists already is left alone. password is given to new users.
func Load(ctx context.Context, sc scope.Scope, orgs *org.Service, users *auth.Service, password string) (Report, error) {
	var r Report
	for _, o := range Estate() {
		if _, err := orgs.Lookup(ctx, o.Code); err == nil {
			r.OrgsExisting++
			continue
		}
		if _, err := orgs.Create(ctx, sc, o); err != nil {
			return r, fmt.Errorf("demo organisation %s: %w", o.Code, err)
		}
		r.OrgsCreated++
	}
	for _, u := range Users() {
		_, err := users.AddUser(ctx, sc, auth.NewUser{Email: u.Email, Name: u.Name, Org: u.Org, Role: u.Role, Password: password, Demo: true})
		if errors.Is(err, fault.ErrConflict) {
			r.UsersExisting++
			continue
		}
		if err != nil {
			return r, fmt.Errorf("demo user %s: %w", u.Email, err)
		}
		r.UsersCreated++
	}
	return r, nil
}
