// Package scope holds the caller's Scope — who they are, and which
// organisations they may read, change or administer — and the one SQL helper
// that applies it. Every store query that returns organisation-owned data
// passes through Filter, so no handler filters by hand.
//
// Organisations form a tree (national → region → ICB → sub-ICB → provider;
// suppliers hang off the national root). Each organisation row carries a
// materialised path such as "/ENG/Y56/QMF/R1K/"; a role granted on an
// organisation covers every organisation whose path starts with the grantee's
// path. The package imports nothing of Vigil's, so every layer can use it.
package scope

import (
	"sort"
	"strings"
)

// Role names a set of permissions, granted on one organisation's subtree.
type Role string

const (
	NationalAdmin   Role = "national-admin"
	NationalAnalyst Role = "national-analyst"
	RegionLead      Role = "region-lead"
	OrgAdmin        Role = "org-admin"
	OrgAnalyst      Role = "org-analyst"
	SupplierRep     Role = "supplier-rep"
	Auditor         Role = "auditor"
)

// Roles lists every role in the order the UI shows them.
func Roles() []Role {
	return []Role{NationalAdmin, NationalAnalyst, RegionLead, OrgAdmin, OrgAnalyst, SupplierRep, Auditor}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles() {
		if r == k {
			return true
		}
	}
	return false
}

// Perm is one kind of access.
type Perm uint8

const (
	// Read sees an organisation's data.
	Read Perm = 1 << iota
	// Write changes an organisation's data (its records, deployments, cases).
	Write
	// Admin manages an organisation itself and its users and tokens.
	Admin
	// Audit reads the audit log about an organisation.
	Audit
	// Supply manages the supplier register and its graph beyond one's own organisation.
	Supply
)

// Perms returns what r allows on its subtree.
func (r Role) Perms() Perm {
	switch r {
	case NationalAdmin:
		return Read | Write | Admin | Audit | Supply
	case NationalAnalyst:
		return Read | Write | Supply
	case RegionLead:
		return Read | Write | Admin | Supply
	case OrgAdmin:
		return Read | Write | Admin
	case OrgAnalyst:
		return Read | Write
	case SupplierRep:
		return Read | Write
	case Auditor:
		return Read | Audit
	}
	return 0
}

// String names the permissions in p, joined by "+": "admin+audit".
func (p Perm) String() string {
	var names []string
	for _, x := range []struct {
		p    Perm
		name string
	}{{Read, "read"}, {Write, "write"}, {Admin, "admin"}, {Audit, "audit"}, {Supply, "supply"}} {
		if p&x.p != 0 {
			names = append(names, x.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// Rank places r in the ranking of roles, highest first:
//
//	national-admin > auditor > national-analyst > region-lead > org-admin > supplier-rep > org-analyst
//
// The ranking says who may hand a role out: a role is granted (or revoked)
// only by someone who holds it or a higher one on the organisation or
// above it — and who also administers that organisation and holds every
// permission the role carries there (GrantGap). Each place is deliberate:
//
//   - national-admin: everything, everywhere; only its peers appoint one.
//   - auditor: reads the audit log, which records what administrators do,
//     so no administrator it watches below the national level may appoint
//     one (only national administrators hold Audit with Admin).
//   - national-analyst: reads and writes the whole country's data and the
//     supplier register; granted on the national root only.
//   - region-lead: administers a region or an ICB and edits the supplier
//     register (Supply), which an org-admin does not hold.
//   - org-admin: administers one organisation's subtree and its users.
//   - supplier-rep: a supplier's own staff; their org-admin appoints them.
//   - org-analyst: reads and writes one organisation's data.
//
// Unknown roles rank 0, below everything.
func (r Role) Rank() int {
	switch r {
	case NationalAdmin:
		return 7
	case Auditor:
		return 6
	case NationalAnalyst:
		return 5
	case RegionLead:
		return 4
	case OrgAdmin:
		return 3
	case SupplierRep:
		return 2
	case OrgAnalyst:
		return 1
	}
	return 0
}

// Grant is a role on one organisation (and so on its subtree).
type Grant struct {
	Role Role   `json:"role"`
	Org  string `json:"org"`
	// Path is the organisation's materialised path, filled by auth.
	Path string `json:"-"`
}

// Scope is the caller of one request or command: identity, grants and the
// network address the request came from (for the audit log).
type Scope struct {
	UserID string
	Email  string
	Name   string
	// Via says how the caller authenticated: "session", "token", "cli", "system".
	Via    string
	Remote string
	// Home is the organisation the user belongs to.
	Home   string
	Grants []Grant
}

// System is the scope of Vigil itself and of local CLI commands run by the
// operator on the server (who can read the database file anyway).
func System(who string) Scope {
	return Scope{UserID: "system", Email: who, Name: who, Via: "cli", Grants: []Grant{{Role: NationalAdmin, Org: "", Path: "/"}}}
}

// Can reports whether the scope holds p anywhere.
func (s Scope) Can(p Perm) bool {
	for _, g := range s.Grants {
		if g.Role.Perms()&p == p {
			return true
		}
	}
	return false
}

// CanAt reports whether the scope holds p on the organisation at path.
func (s Scope) CanAt(p Perm, path string) bool {
	for _, g := range s.Grants {
		if g.Role.Perms()&p == p && strings.HasPrefix(path, g.Path) {
			return true
		}
	}
	return false
}

// PermsAt returns every permission the scope holds on the organisation at
// path: the union over the grants whose subtree contains it.
func (s Scope) PermsAt(path string) Perm {
	var p Perm
	for _, g := range s.Grants {
		if g.Path != "" && strings.HasPrefix(path, g.Path) {
			p |= g.Role.Perms()
		}
	}
	return p
}

// RankAt returns the highest Rank of the roles the scope holds on the
// organisation at path (0 if none).
func (s Scope) RankAt(path string) int {
	n := 0
	for _, g := range s.Grants {
		if g.Path != "" && strings.HasPrefix(path, g.Path) {
			n = max(n, g.Role.Rank())
		}
	}
	return n
}

// GrantGap says what the scope lacks to grant — or revoke — role r on the
// organisation at path, or "" if nothing: it must administer the
// organisation, hold r or a higher role (Rank) there, and hold every
// permission r carries there, so nobody hands out more than they hold.
// (Which roles fit which kinds of organisation is auth's rule.)
func (s Scope) GrantGap(r Role, path string) string {
	held := s.PermsAt(path)
	switch {
	case held&Admin == 0:
		return "administration of the organisation"
	case s.RankAt(path) < r.Rank():
		return "the role " + string(r) + " or a higher one"
	case r.Perms()&^held != 0:
		return "the " + (r.Perms() &^ held).String() + " permission"
	}
	return ""
}

// CanGrant reports whether the scope may grant (or revoke) r on the
// organisation at path: GrantGap is empty.
func (s Scope) CanGrant(r Role, path string) bool { return s.GrantGap(r, path) == "" }

// GrantableRoles lists, in Roles order, the roles the scope may grant on at
// least one organisation it holds a grant on (for forms, which should not
// offer what would be refused).
func (s Scope) GrantableRoles() []Role {
	var out []Role
	for _, r := range Roles() {
		for _, g := range s.Grants {
			if g.Path != "" && s.CanGrant(r, g.Path) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// HasRole reports whether any grant is role r.
func (s Scope) HasRole(r Role) bool {
	for _, g := range s.Grants {
		if g.Role == r {
			return true
		}
	}
	return false
}

// National reports whether the scope holds p over the whole tree: a grant
// on the root organisation (path "/X/") or the system path "/".
func (s Scope) National(p Perm) bool {
	for _, g := range s.Grants {
		if g.Role.Perms()&p == p && strings.Count(g.Path, "/") <= 2 && g.Path != "" {
			return true
		}
	}
	return false
}

// upper returns the smallest string greater than every path that starts
// with prefix: paths end in "/", and "0" is the byte after "/". (On
// PostgreSQL the path column is COLLATE "C" so this byte order holds.)
func upper(prefix string) string {
	return prefix[:len(prefix)-1] + "0"
}

// Prefixes returns the minimal set of paths under which p holds: a grant
// nested inside another adds nothing.
func (s Scope) Prefixes(p Perm) []string {
	var ps []string
	for _, g := range s.Grants {
		if g.Role.Perms()&p == p && strings.HasSuffix(g.Path, "/") {
			ps = append(ps, g.Path)
		}
	}
	sort.Strings(ps)
	out := ps[:0]
	for _, x := range ps {
		if len(out) > 0 && strings.HasPrefix(x, out[len(out)-1]) {
			continue
		}
		out = append(out, x)
	}
	return out
}

// Filter returns an SQL condition and its arguments restricting orgColumn
// (a column holding an organisation code) to organisations where the scope
// holds p. It is the one place scope becomes SQL. With no grant it returns
// a condition that matches nothing.
//
// The condition joins through the organisations table's materialised path,
// which is indexed, so a region lead's scope costs one range scan per grant.
func (s Scope) Filter(orgColumn string, p Perm) (string, []any) {
	ps := s.Prefixes(p)
	if len(ps) == 0 {
		return "1=0", nil
	}
	for _, x := range ps {
		if x == "/" {
			return "1=1", nil
		}
	}
	var b strings.Builder
	args := make([]any, 0, len(ps)*2)
	b.WriteString(orgColumn)
	b.WriteString(" IN (SELECT code FROM orgs WHERE ")
	for i, x := range ps {
		if i > 0 {
			b.WriteString(" OR ")
		}
		// A range on path rather than LIKE: both engines use the index for it.
		b.WriteString("(path >= ? AND path < ?)")
		args = append(args, x, upper(x))
	}
	b.WriteString(")")
	return b.String(), args
}

// PathFilter is Filter for the organisations table itself, whose own path
// column needs no sub-select.
func (s Scope) PathFilter(pathColumn string, p Perm) (string, []any) {
	ps := s.Prefixes(p)
	if len(ps) == 0 {
		return "1=0", nil
	}
	var b strings.Builder
	args := make([]any, 0, len(ps)*2)
	b.WriteString("(")
	for i, x := range ps {
		if x == "/" {
			return "1=1", nil
		}
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(" + pathColumn + " >= ? AND " + pathColumn + " < ?)")
		args = append(args, x, upper(x))
	}
	b.WriteString(")")
	return b.String(), args
}
