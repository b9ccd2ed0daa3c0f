package org

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/scope"
)

// Bodies outside NHS England.
//
// The ODS extracts cover England and Wales, and epraccur also lists the
// practices and services of the Crown dependencies. Vigil serves NHS
// England: its regions, ICBs and their providers are the England tree,
// and every tree level, count and default search is about them. The
// others are kept — a national user may look them up, a supplier's
// deployments there are real, and the next import must find them — but
// each sits under a node of its own, of type Nation, directly under the
// national root, and England's active views leave that subtree out unless
// asked (View.Outside). Their region column holds the nation's code, as
// an English body's holds its region's, so the views can tell them apart
// in SQL without walking the tree.
//
// Why under the national root rather than a root of their own: a grant
// covers a subtree, and national roles are granted on ENG. A separate root
// would be outside every grant — nobody could see or correct those rows,
// nor be granted a role on them — while under ENG national users retrieve
// them and nobody else sees them (no region or ICB holds them). The one
// national organisation stays NHS England.
//
// Which rows are outside England is read from the extracts' geography, not
// from codes (English sub-ICB reporting entities have codes beginning S
// and Z): National Grouping W00, or GOR code W on a trust, is Wales; High
// Level Health Geography YAC, YAD, YAE and YAF are the Isle of Man,
// Jersey, Guernsey and Alderney. The extracts here hold no Scottish or
// Northern Irish bodies; a future extract that did would need its codes
// added to nations.
var nations = map[string]string{
	"W00": "NHS Wales",
	"YAC": "Isle of Man",
	"YAD": "Jersey",
	"YAE": "Guernsey",
	"YAF": "Alderney",
}

// NationName returns the name of the nation node with this code (W00 for
// Wales, YAC–YAF for the Crown dependencies) and whether it is one.
func NationName(code string) (string, bool) {
	n, ok := nations[code]
	return n, ok
}

// formerRegions are NHS England's regions of 2013–2018, which closed
// practices in epraccur still name (National Grouping Y54, Y55, Y57). No
// file defines them; the importer makes them closed, so they stay out of
// the active views and the practices under them can still be found.
var formerRegions = map[string]string{
	"Y54": "NHS England North (former region)",
	"Y55": "NHS England Midlands and East (former region)",
	"Y57": "NHS England South (former region)",
}

// View says which organisations a tree level, a count or a list shows.
// The zero View is England's active view: open organisations of NHS
// England. Closed organisations (former regions, closed practices,
// abolished CCGs) and bodies outside NHS England are left out of it, but
// Get still finds them and a View that asks for them shows them.
type View struct {
	// Closed adds closed organisations.
	Closed bool `json:"closed,omitempty"`
	// Outside adds bodies outside NHS England (NHS Wales, the Crown
	// dependencies) and the nation nodes they hang from.
	Outside bool `json:"outside,omitempty"`
}

// cond is the SQL condition that keeps the rows of alias this view shows
// ("1=1" for everything; alias "" for unqualified columns). It takes no
// arguments.
func (v View) cond(alias string) string {
	if alias != "" {
		alias += "."
	}
	c := "1=1"
	if !v.Closed {
		c += " AND " + alias + "status = 'active'"
	}
	if !v.Outside {
		c += " AND " + alias + "region NOT IN (SELECT n.code FROM orgs n WHERE n.type = '" + string(Nation) + "')"
	}
	return c
}

// outside reports whether o is a nation node or a body under one.
func (s *Service) outside(ctx context.Context, o Org) (bool, error) {
	if o.Type == Nation {
		return true, nil
	}
	if o.Region == "" {
		return false, nil
	}
	var n int
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs WHERE code = ? AND type = ?`, o.Region, string(Nation)).Scan(&n); err != nil {
		return false, fmt.Errorf("org: nation of %s: %w", o.Code, err)
	}
	return n > 0, nil
}

// outsideCond is the condition List adds to leave out bodies outside NHS
// England, or "" when the filter asks for them (Outside) or lists within
// one of them (Parent or Under names one).
func (s *Service) outsideCond(ctx context.Context, f ListFilter) (string, error) {
	if f.Outside {
		return "", nil
	}
	for _, code := range []string{f.Parent, f.Under} {
		if code == "" {
			continue
		}
		o, err := s.Lookup(ctx, code)
		if err != nil {
			continue // no such parent: the list is empty anyway
		}
		if out, err := s.outside(ctx, o); err != nil {
			return "", err
		} else if out {
			return "", nil
		}
	}
	return View{Closed: true}.cond(""), nil
}

// Names returns the names of the organisations among codes that the scope
// may read, in one query, for pages that show codes (a parent, an ICB, a
// region, a grant) as "Name (CODE)". Codes it may not read, or that do
// not exist, are left out: the page shows the bare code.
func (s *Service) Names(ctx context.Context, sc scope.Scope, codes []string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]bool{}
	var args []any
	for _, c := range codes {
		if c == "" || seen[c] || !storable(c) {
			continue
		}
		seen[c] = true
		args = append(args, c)
	}
	if len(args) == 0 {
		return out, nil
	}
	where, wargs := sc.PathFilter("path", scope.Read)
	q := `SELECT code, name FROM orgs WHERE code IN (?` + strings.Repeat(", ?", len(args)-1) + `) AND ` + where
	rows, err := s.db.Q().QueryContext(ctx, q, append(args, wargs...)...)
	if err != nil {
		return nil, fmt.Errorf("org: names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, name string
		if err := rows.Scan(&code, &name); err != nil {
			return nil, err
		}
		out[code] = name
	}
	return out, rows.Err()
}
