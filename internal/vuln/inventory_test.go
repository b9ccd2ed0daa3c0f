package vuln

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// corpusInventory is every shared SBOM in one inventory, and the database.
func corpusInventory(t testing.TB) (*Inventory, *DB) {
	needData(t)
	db, err := LoadDB(filepath.Join(dataDir, "osv"))
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dataDir, "sbom", "*"))
	sort.Strings(paths)
	inv := NewInventory()
	for _, p := range paths {
		s, err := ReadSBOM(p)
		if err != nil {
			t.Fatal(err)
		}
		inv.Add(s)
	}
	return inv, db
}

// pairs are the (component, advisory) pairs an inventory found, as
// "SBOM|component|version|advisory".
func (inv *Inventory) pairs() map[string]bool {
	out := map[string]bool{}
	for _, id := range inv.Affected() {
		for _, h := range inv.Hits(id) {
			for _, r := range h.Components {
				s := inv.SBOM(r.SBOM)
				c := s.Components[r.Component]
				out[s.File+"|"+c.Name+"|"+c.Version+"|"+id] = true
			}
		}
	}
	return out
}

// TestInventoryMatchesScan: an inventory of every shared SBOM finds the
// same (component, advisory) pairs as scanning each SBOM on its own.
func TestInventoryMatchesScan(t *testing.T) {
	inv, db := corpusInventory(t)
	if inv.Match(db) == 0 {
		t.Fatal("no hits")
	}
	want := map[string]bool{}
	for i := range inv.sboms {
		s := inv.sboms[i]
		for _, f := range Scan(s, db).Findings {
			for _, id := range append([]string{f.ID}, f.Merged...) {
				want[s.File+"|"+f.Component+"|"+f.Version+"|"+id] = true
			}
		}
	}
	got := inv.pairs()
	if len(want) < 100 || len(got) != len(want) {
		t.Errorf("%d pairs from the inventory, %d from scanning each SBOM", len(got), len(want))
	}
	for p := range want {
		if !got[p] {
			t.Errorf("scan found %s, the inventory did not", p)
		}
	}
}

// TestInventoryUpdate: withdrawing, restoring and widening one advisory
// changes exactly its hits.
func TestInventoryUpdate(t *testing.T) {
	inv, db := corpusInventory(t)
	inv.Match(db)
	before := inv.pairs()
	id := "GHSA-mjmj-j48q-9wg2" // snakeyaml in dropwizard
	orig := db.Advisories[id]
	if orig == nil || len(inv.Hits(id)) == 0 {
		t.Fatalf("%s: not loaded or no hits", id)
	}
	hits := inv.Hits(id)

	w := *orig
	w.Withdrawn = "2026-12-07T00:00:00Z"
	added, removed := inv.Update(db, &w)
	if len(added) != 0 || len(removed) != len(hits) || db.Advisories[id] != nil {
		t.Errorf("withdrawn: %d added, %d removed (want 0, %d); still in the database: %v", len(added), len(removed), len(hits), db.Advisories[id] != nil)
	}
	back := *orig
	added, removed = inv.Update(db, &back)
	if len(added) != len(hits) || len(removed) != 0 {
		t.Errorf("restored: %d added, %d removed; want %d, 0", len(added), len(removed), len(hits))
	}
	if got := inv.pairs(); len(got) != len(before) {
		t.Errorf("after restoring: %d pairs, before %d", len(got), len(before))
	}

	// Every version of the package affected, with no fix.
	wide := *orig
	wide.Affected = []Affected{orig.Affected[0]}
	wide.Affected[0].Versions = nil
	wide.Affected[0].Ranges = []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}}}}
	added, _ = inv.Update(db, &wide)
	k := packageKey(orig.Affected[0].Package.Ecosystem, orig.Affected[0].Package.Name)
	if n := len(inv.byKey[k].versions); len(inv.Hits(id)) != n {
		t.Errorf("widened: %d hits, the inventory has %d versions of %s (%d added)", len(inv.Hits(id)), n, k, len(added))
	}
	if s := Scan(inv.sboms[0], db); s == nil {
		t.Fatal("scan after updates")
	}
}

// nationalGenerator draws generated SBOMs from the shared SBOMs' real
// components, a third of them moved to another version the data knows
// for the package (an SBOM's own, or one an advisory names).
type nationalGenerator struct {
	pool     []Component
	versions map[string][]string
}

func newNationalGenerator(t testing.TB) (*nationalGenerator, *Inventory, *DB) {
	base, db := corpusInventory(t)
	var pool []Component
	versions := map[string][]string{}
	for _, s := range base.sboms {
		for _, c := range s.Components {
			if c.Ecosystem == "" {
				continue
			}
			pool = append(pool, c)
			k := packageKey(c.Ecosystem, c.Package)
			versions[k] = append(versions[k], c.Version)
		}
	}
	for _, a := range db.Advisories {
		for _, af := range a.Affected {
			k := packageKey(af.Package.Ecosystem, af.Package.Name)
			if _, ok := versions[k]; !ok {
				continue
			}
			versions[k] = append(versions[k], af.Versions...)
			for _, r := range af.Ranges {
				for _, e := range r.Events {
					for _, v := range []string{e.Introduced, e.Fixed, e.LastAffected} {
						if v != "" && v != "0" {
							versions[k] = append(versions[k], v)
						}
					}
				}
			}
		}
	}
	return &nationalGenerator{pool: pool, versions: versions}, base, db
}

// sbom is the i-th generated SBOM of per components, drawn from r.
func (g *nationalGenerator) sbom(r *rand.Rand, i, per int) *SBOM {
	s := &SBOM{File: fmt.Sprintf("generated-%05d.cdx.json", i), Components: make([]Component, per)}
	for j := range per {
		c := g.pool[r.IntN(len(g.pool))]
		if r.IntN(3) == 0 {
			vs := g.versions[packageKey(c.Ecosystem, c.Package)]
			c.Version = vs[r.IntN(len(vs))]
		}
		s.Components[j] = c
	}
	return s
}

// BenchmarkNationalInventory is the national figure: 10,000
// generated SBOMs of 500 components each (5,000,000 components), drawn
// from the shared SBOMs' real components with a third of the versions
// moved to another version the data knows for the package, matched in
// full against every advisory, then one advisory changed at a time
// (each of 50 advisories naming the inventory's packages widened to
// every version) and matched incrementally:
//
//	go test -run '^$' -bench NationalInventory -benchtime 1x -timeout 30m ./internal/vuln/
func BenchmarkNationalInventory(b *testing.B) {
	g, _, db := newNationalGenerator(b)
	const sboms, per = 10_000, 500
	for b.Loop() {
		r := rand.New(rand.NewPCG(1, 2))
		start := time.Now()
		inv := NewInventory()
		for i := range sboms {
			inv.Add(g.sbom(r, i, per))
		}
		built := time.Since(start)
		start = time.Now()
		n := inv.Match(db)
		full := time.Since(start)
		ids := make([]string, 0, len(db.Advisories))
		for id, a := range db.Advisories {
			for _, k := range a.packageKeys() {
				if inv.byKey[k] != nil {
					ids = append(ids, id)
					break
				}
			}
		}
		sort.Strings(ids)
		var worst, total time.Duration
		changed := 0
		for _, id := range ids[:min(50, len(ids))] {
			wide := *db.Advisories[id]
			wide.Affected = append([]Affected(nil), wide.Affected...)
			for i := range wide.Affected {
				wide.Affected[i].Versions = nil
				wide.Affected[i].Ranges = []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}}}}
			}
			start = time.Now()
			added, removed := inv.Update(db, &wide)
			d := time.Since(start)
			total += d
			worst = max(worst, d)
			changed += len(added) + len(removed)
		}
		b.ReportMetric(float64(inv.Components), "components")
		b.ReportMetric(float64(len(inv.byKey)), "packages")
		b.ReportMetric(built.Seconds(), "build-s")
		b.ReportMetric(full.Seconds(), "full-match-s")
		b.ReportMetric(float64(n), "hits")
		b.ReportMetric(float64(total.Microseconds())/float64(min(50, len(ids))), "update-µs/advisory")
		b.ReportMetric(float64(worst.Microseconds()), "worst-update-µs")
		b.ReportMetric(float64(changed), "hits-changed")
	}
}
