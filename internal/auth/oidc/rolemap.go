package oidc

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Grant is a Vigil role on one organisation, identified by its code (e.g. an ODS code).
// The auth package turns grants into a scope.Scope; this package only carries them.
type Grant struct {
	Role string `json:"role"`
	Org  string `json:"org"`
}

// String formats g as in a role map entry: "role@ORG".
func (g Grant) String() string { return g.Role + "@" + g.Org }

// ParseRoleMap parses a role map written as comma-separated "group=role@ORG" entries, e.g.
//
//	vigil-national-analysts=national-analyst@ENG, rj1-admins=org-admin@RJ1
//
// White space around entries and parts is ignored; an empty string is an empty map. Each error
// names the offending entry by position and text. A group may contain "=" (the last one separates
// it from the grant) but not ",", so a group given as an LDAP DN needs a claim that carries its CN.
func ParseRoleMap(s string) (map[string]Grant, error) {
	m := make(map[string]Grant)
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		fail := func(format string, args ...any) error {
			return fmt.Errorf("oidc: role map entry %d %q: %s", i+1, entry, fmt.Sprintf(format, args...))
		}
		if entry == "" {
			return nil, fail("is empty (stray comma?)")
		}
		eq := strings.LastIndexByte(entry, '=')
		if eq < 0 {
			return nil, fail(`want "group=role@ORG"`)
		}
		group := strings.TrimSpace(entry[:eq])
		role, org, ok := strings.Cut(strings.TrimSpace(entry[eq+1:]), "@")
		if !ok {
			return nil, fail(`want "group=role@ORG": the grant has no "@ORG"`)
		}
		g := Grant{Role: strings.TrimSpace(role), Org: strings.TrimSpace(org)}
		if problem := checkGrant(group, g); problem != "" {
			return nil, fail("%s", problem)
		}
		if prev, dup := m[group]; dup {
			return nil, fail("group %q is already mapped to %s; a group grants one role", group, prev)
		}
		m[group] = g
	}
	return m, nil
}

// FormatRoleMap formats m as ParseRoleMap reads it, sorted by group so the text is stable.
func FormatRoleMap(m map[string]Grant) string {
	var b strings.Builder
	for i, group := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(group)
		b.WriteByte('=')
		b.WriteString(m[group].String())
	}
	return b.String()
}

// checkGrant returns what is wrong with one role map entry, or "".
func checkGrant(group string, g Grant) string {
	switch {
	case strings.TrimSpace(group) == "":
		return "the group is empty"
	case strings.ContainsRune(group, ','):
		return "the group contains a comma"
	case g.Role == "":
		return "the role is empty"
	case strings.ContainsAny(g.Role, " \t\r\n@,="):
		return fmt.Sprintf("role %q contains white space or one of @,=", g.Role)
	case g.Org == "":
		return "the organisation code is empty"
	case strings.ContainsAny(g.Org, " \t\r\n@,="):
		return fmt.Sprintf("organisation code %q contains white space or one of @,=", g.Org)
	}
	return ""
}
