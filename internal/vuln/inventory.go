package vuln

import (
	"sort"
)

// Inventory is many SBOMs' components matched together: a national
// inventory (thousands of SBOMs, millions of components) repeats the
// same packages and versions over and over, so each advisory is judged
// once per distinct (package, version), not once per component, and when
// one advisory changes only the versions of the packages it names are
// judged again (Update). Scan of one SBOM and an Inventory holding it
// find the same (component, advisory) pairs.
type Inventory struct {
	sboms []*SBOM
	// byKey is packageKey → the inventory's versions of the package.
	byKey map[string]*invPackage
	// hits is advisory ID → the versions it affects, with why.
	hits map[string]map[verKey]Hit
	// Components counts the components held; Unsupported those of an
	// ecosystem not matched.
	Components, Unsupported int
}

type invPackage struct {
	ecosystem, name string
	versions        map[string][]CompRef
}

type verKey struct{ key, version string }

// CompRef is one component of an inventory: the SBOM's index (in the
// order Add was called) and the component's index in it.
type CompRef struct{ SBOM, Component int32 }

// Hit is one advisory affecting one version of a package.
type Hit struct {
	Advisory, Ecosystem, Package, Version string
	Matched, Fixed                        string
	// Components are the inventory's components at that version.
	Components []CompRef
}

// NewInventory returns an empty inventory.
func NewInventory() *Inventory {
	return &Inventory{byKey: map[string]*invPackage{}, hits: map[string]map[verKey]Hit{}}
}

// Add puts an SBOM's components in the inventory and returns its index.
// Call Match after adding.
func (inv *Inventory) Add(s *SBOM) int {
	i := int32(len(inv.sboms))
	inv.sboms = append(inv.sboms, s)
	for j, c := range s.Components {
		inv.Components++
		if c.Ecosystem == "" {
			inv.Unsupported++
			continue
		}
		k := packageKey(c.Ecosystem, c.Package)
		p := inv.byKey[k]
		if p == nil {
			p = &invPackage{ecosystem: c.Ecosystem, name: c.Package, versions: map[string][]CompRef{}}
			inv.byKey[k] = p
		}
		p.versions[c.Version] = append(p.versions[c.Version], CompRef{i, int32(j)})
	}
	return int(i)
}

// AddMatched puts an SBOM in an inventory already matched against db and
// judges only the packages it names, so a stored inventory grows without
// a full match. It returns the SBOM's index.
func (inv *Inventory) AddMatched(db *DB, s *SBOM) int {
	i := inv.Add(s)
	seen := map[string]bool{}
	for _, c := range s.Components {
		if c.Ecosystem == "" {
			continue
		}
		k := packageKey(c.Ecosystem, c.Package)
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, a := range db.byPackage[k] {
			inv.judge(a, k, inv.byKey[k])
		}
	}
	return i
}

// Len is how many SBOMs have been added.
func (inv *Inventory) Len() int { return len(inv.sboms) }

// each calls fn with every hit of the inventory.
func (inv *Inventory) each(fn func(h Hit)) {
	for _, m := range inv.hits {
		for _, h := range m {
			fn(h)
		}
	}
}

// SBOM is the SBOM of index i.
func (inv *Inventory) SBOM(i int32) *SBOM { return inv.sboms[i] }

// Match judges every package of the inventory against every advisory of
// db naming it, replacing what was found before, and returns how many
// (advisory, version) hits there are.
func (inv *Inventory) Match(db *DB) int {
	inv.hits = map[string]map[verKey]Hit{}
	n := 0
	for k, p := range inv.byKey {
		for _, a := range db.byPackage[k] {
			n += inv.judge(a, k, p)
		}
	}
	return n
}

// judge records which of p's versions a affects.
func (inv *Inventory) judge(a *Advisory, k string, p *invPackage) int {
	n := 0
	for v, refs := range p.versions {
		why, fixed, ok, _ := affects(a, Component{Ecosystem: p.ecosystem, Package: p.name, Version: v})
		if !ok {
			continue
		}
		m := inv.hits[a.ID]
		if m == nil {
			m = map[verKey]Hit{}
			inv.hits[a.ID] = m
		}
		m[verKey{k, v}] = Hit{Advisory: a.ID, Ecosystem: p.ecosystem, Package: p.name, Version: v, Matched: why, Fixed: fixed, Components: refs}
		n++
	}
	return n
}

// Update puts a new or changed advisory into db (a withdrawn one takes
// the old one out) and judges again only the inventory's versions of the
// packages the old and the new record name. It returns the hits that
// appeared and those that went.
func (inv *Inventory) Update(db *DB, a *Advisory) (added, removed []Hit) {
	old := inv.hits[a.ID]
	delete(inv.hits, a.ID)
	db.put(a)
	if a.Withdrawn == "" {
		for _, k := range a.packageKeys() {
			if p := inv.byKey[k]; p != nil {
				inv.judge(a, k, p)
			}
		}
	}
	now := inv.hits[a.ID]
	for vk, h := range now {
		if o, ok := old[vk]; !ok || o.Matched != h.Matched {
			added = append(added, h)
		}
	}
	for vk, h := range old {
		if n, ok := now[vk]; !ok || n.Matched != h.Matched {
			removed = append(removed, h)
		}
	}
	return added, removed
}

// Hits are the advisory's hits, in package and version order.
func (inv *Inventory) Hits(id string) []Hit {
	out := make([]Hit, 0, len(inv.hits[id]))
	for _, h := range inv.hits[id] {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// Affected are the advisories with at least one hit, in ID order.
func (inv *Inventory) Affected() []string {
	out := make([]string, 0, len(inv.hits))
	for id := range inv.hits {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// packageKeys are the packages the advisory names, each once.
func (a *Advisory) packageKeys() []string {
	var out []string
	seen := map[string]bool{}
	for _, af := range a.Affected {
		k := packageKey(af.Package.Ecosystem, af.Package.Name)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// put replaces the advisory of a's ID in db (a withdrawn a only takes the
// old one out), keeping each package's list in ID order.
func (db *DB) put(a *Advisory) {
	if old := db.Advisories[a.ID]; old != nil {
		for _, k := range old.packageKeys() {
			l := db.byPackage[k]
			for i, x := range l {
				if x == old {
					db.byPackage[k] = append(l[:i:i], l[i+1:]...)
					break
				}
			}
		}
		delete(db.Advisories, a.ID)
	}
	if a.Withdrawn != "" {
		db.Withdrawn++
		return
	}
	db.Advisories[a.ID] = a
	for _, k := range a.packageKeys() {
		l := append(db.byPackage[k], a)
		sort.Slice(l, func(i, j int) bool { return l[i].ID < l[j].ID })
		db.byPackage[k] = l
	}
}
