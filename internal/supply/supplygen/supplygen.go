// Package supplygen generates a synthetic, national-scale supplier estate
// in the supply package's CSV layout (suppliers.csv, products.csv,
// dependencies.csv, deployments.csv, product_vulns.csv), for benchmarks
// and demos. It is seeded and deterministic: the same Config gives the
// same bytes.
//
// The shape follows the real market: GP clinical systems split between
// two large suppliers (≈58% / 41%, as in NHS England's December 2025
// practice data) and a sliver for a third; a handful of EPR suppliers for
// trusts; regional pathology networks; a long Zipf tail of small suppliers
// for every other service; a few hosting providers under most products;
// a few endpoint-security agents and identity providers under many; and
// managed-service chains that add fourth and fifth parties.
package supplygen

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vigil-health/vigil/internal/org"
)

// Config sizes the estate. Zero fields take the national defaults.
type Config struct {
	Seed uint64
	// Orgs to deploy to; when empty, Synthetic(Orgs) organisations are made.
	Orgs         []org.Org
	SyntheticOrg int // default 10,000
	Suppliers    int // default 20,000
	Products     int // default 50,000
	Deployments  int // approximate target, default 300,000
	Dependencies int // approximate target, default 100,000
}

// National is the national scale.
func National(seed uint64) Config {
	return Config{Seed: seed, SyntheticOrg: 10000, Suppliers: 20000, Products: 50000, Deployments: 300000, Dependencies: 100000}
}

// Estate is a generated estate: the organisations used and the CSV rows
// (header first) of each file.
type Estate struct {
	Orgs  []org.Org
	Files map[string][][]string
}

// FileNames lists the generated files in import order.
var FileNames = []string{"suppliers.csv", "products.csv", "dependencies.csv", "deployments.csv", "product_vulns.csv"}

// Bytes returns each file's CSV bytes.
func (e *Estate) Bytes() map[string][]byte {
	out := map[string][]byte{}
	for name, rows := range e.Files {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.WriteAll(rows) // writes to memory: cannot fail
		out[name] = b.Bytes()
	}
	return out
}

// WriteDir writes the CSV files into dir.
func (e *Estate) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	for name, b := range e.Bytes() {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			return err
		}
	}
	return nil
}

// SyntheticOrgs makes n organisations in a realistic tree: 7 regions, 42
// ICBs, 5 trusts per ICB, GP practices (≈63% of all, with registered
// populations) and other providers.
func SyntheticOrgs(n int, seed uint64) []org.Org {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	regions := []string{"Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"}
	out := []org.Org{{Code: org.RootCode, Name: "NHS England", Type: org.National, Status: org.Active, Path: "/ENG/"}}
	var icbs []org.Org
	for i, rg := range regions {
		out = append(out, org.Org{Code: rg, Name: "Region " + rg, Type: org.Region, Parent: org.RootCode, Region: rg, Status: org.Active, Path: "/ENG/" + rg + "/"})
		for j := 0; j < 6; j++ {
			code := fmt.Sprintf("Q%c%c", 'A'+i, 'A'+j)
			icb := org.Org{Code: code, Name: "ICB " + code, Type: org.ICB, Parent: rg, Region: rg, ICB: code, Status: org.Active,
				Path: "/ENG/" + rg + "/" + code + "/", Population: 1_000_000 + r.Int64N(2_000_000)}
			icbs = append(icbs, icb)
			out = append(out, icb)
		}
	}
	rest := n - len(out)
	for k := 0; k < rest; k++ {
		icb := icbs[k%len(icbs)]
		o := org.Org{Parent: icb.Code, Region: icb.Region, ICB: icb.Code, Status: org.Active}
		switch {
		case k < 5*len(icbs):
			o.Code, o.Type, o.Name = fmt.Sprintf("R%04d", k), org.Trust, fmt.Sprintf("Trust %d", k)
		case k%8 < 5 || k%8 == 7:
			o.Code, o.Type, o.Name = fmt.Sprintf("G%05d", k), org.GPPractice, fmt.Sprintf("Practice %d", k)
			o.Population = 2000 + r.Int64N(16000)
		default:
			o.Code, o.Type, o.Name = fmt.Sprintf("N%05d", k), org.OtherProvider, fmt.Sprintf("Provider %d", k)
		}
		o.Path = icb.Path + o.Code + "/"
		out = append(out, o)
	}
	return out
}

type gen struct {
	r         *rand.Rand
	suppliers [][]string
	products  [][]string
	deps      [][]string
	depSet    map[[2]int]bool
	deploys   [][]string
	vulns     [][]string
	prodSup   []int // supplier index per product
	zc        map[int]zipf
}

func (g *gen) supplier(name, country string, parent int) int {
	i := len(g.suppliers)
	p := ""
	if parent >= 0 {
		p = g.suppliers[parent][0]
	}
	g.suppliers = append(g.suppliers, []string{fmt.Sprintf("S%05d", i), name, fmt.Sprintf("%08d", 1_000_000+i), p, country, ""})
	return i
}

func (g *gen) product(sup int, name, kind string) int {
	i := len(g.products)
	g.products = append(g.products, []string{fmt.Sprintf("P%06d", i), g.suppliers[sup][0], name, kind, fmt.Sprintf("%d.%d", 1+g.r.IntN(9), g.r.IntN(20))})
	g.prodSup = append(g.prodSup, sup)
	return i
}

func (g *gen) dep(a, b int, kind string, crit bool) {
	if a == b || g.depSet[[2]int{a, b}] {
		return
	}
	g.depSet[[2]int{a, b}] = true
	c := "no"
	if crit {
		c = "yes"
	}
	g.deps = append(g.deps, []string{g.products[a][0], g.products[b][0], kind, c})
}

// zipf picks an index in [0,n) with probability ∝ 1/(i+1)^s.
type zipf struct{ cdf []float64 }

func newZipf(n int, s float64) zipf {
	z := zipf{cdf: make([]float64, n)}
	sum := 0.0
	for i := range n {
		sum += 1 / math.Pow(float64(i+1), s)
		z.cdf[i] = sum
	}
	for i := range z.cdf {
		z.cdf[i] /= sum
	}
	return z
}

func (z zipf) pick(r *rand.Rand) int {
	x := r.Float64()
	lo, hi := 0, len(z.cdf)-1
	for lo < hi {
		m := (lo + hi) / 2
		if z.cdf[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// services that every kind of organisation may use, beyond the named ones.
var genericServices = []string{"email", "network", "telephony", "hr", "payroll", "finance", "rostering", "e-prescribing", "document-management",
	"patient-portal", "video-consultation", "backup", "endpoint-management", "print", "wifi", "remote-access", "booking", "referrals",
	"analytics", "dictation", "clinical-coding", "pharmacy-stock", "asset-management", "procurement", "learning", "intranet",
	"messaging", "translation", "transport", "facilities", "catering", "waste", "security-monitoring", "identity", "records-storage", "cctv"}

// Generate builds an estate.
func Generate(c Config) *Estate {
	if c.SyntheticOrg == 0 {
		c.SyntheticOrg = 10000
	}
	if c.Suppliers == 0 {
		c.Suppliers = 20000
	}
	if c.Products == 0 {
		c.Products = 50000
	}
	if c.Deployments == 0 {
		c.Deployments = 300000
	}
	if c.Dependencies == 0 {
		c.Dependencies = 100000
	}
	orgs := c.Orgs
	if len(orgs) == 0 {
		orgs = SyntheticOrgs(c.SyntheticOrg, c.Seed)
	}
	g := &gen{r: rand.New(rand.NewPCG(c.Seed, 0x50991)), depSet: map[[2]int]bool{}, zc: map[int]zipf{}}

	// Named infrastructure suppliers.
	hostingSup := []int{}
	for _, n := range []string{"Amazon Web Services", "Microsoft Azure", "Google Cloud", "UKCloud", "Crown Hosting", "Ark Data Centres", "Pulsant", "Iomart"} {
		hostingSup = append(hostingSup, g.supplier(n, "GB", -1))
	}
	var hosting []int
	for i, s := range hostingSup {
		for k := 0; k < 4-min(i, 3); k++ {
			hosting = append(hosting, g.product(s, fmt.Sprintf("%s region %d", g.suppliers[s][1], k+1), "hosting"))
		}
	}
	var agents []int
	for _, n := range []string{"CrowdStrike", "Microsoft Defender", "SentinelOne", "Sophos", "Trellix"} {
		agents = append(agents, g.product(g.supplier(n, "US", -1), n+" endpoint agent", "component"))
	}
	var idps []int
	for _, n := range []string{"Microsoft Entra ID", "NHS Care Identity Service 2", "Okta", "Ping Identity"} {
		idps = append(idps, g.product(g.supplier(n, "GB", -1), n, "saas"))
	}
	// Service-specific suppliers.
	emis := g.supplier("EMIS Health", "GB", -1)
	tpp := g.supplier("The Phoenix Partnership", "GB", -1)
	medicus := g.supplier("Medicus Health", "GB", -1)
	gpProds := []int{g.product(emis, "EMIS Web", "saas"), g.product(tpp, "SystmOne", "saas"), g.product(medicus, "Medicus", "saas")}
	var eprProds []int
	for _, n := range []string{"Epic", "Oracle Health", "System C", "Dedalus", "Meditech", "Nervecentre", "Alcidion", "InterSystems"} {
		eprProds = append(eprProds, g.product(g.supplier(n, "US", -1), n+" EPR", "software"))
	}
	var pathProds []int
	pathGroup := g.supplier("Pathology Group plc", "GB", -1)
	for i := 0; i < 14; i++ {
		parent := -1
		if i%3 == 0 {
			parent = pathGroup
		}
		s := g.supplier(fmt.Sprintf("Pathology network %d", i+1), "GB", parent)
		pathProds = append(pathProds, g.product(s, fmt.Sprintf("Pathology LIMS %d", i+1), "managed-service"))
	}
	var msps []int // managed service providers: the fourth-party layer
	for i := 0; i < 40; i++ {
		msps = append(msps, g.product(g.supplier(fmt.Sprintf("Managed services %d", i+1), "GB", -1), fmt.Sprintf("Managed platform %d", i+1), "managed-service"))
	}
	// The long tail, with some group structure.
	named := len(g.suppliers)
	for len(g.suppliers) < c.Suppliers {
		parent := -1
		if g.r.IntN(10) == 0 && len(g.suppliers) > named+10 {
			parent = named + g.r.IntN(min(500, len(g.suppliers)-named))
			if g.suppliers[parent][3] != "" { // keep groups two deep
				parent = -1
			}
		}
		g.supplier(fmt.Sprintf("Supplier %d Ltd", len(g.suppliers)), "GB", parent)
	}
	kinds := []string{"software", "saas", "saas", "managed-service", "component", "software"}
	var components []int
	for len(g.products) < c.Products {
		s := named + g.r.IntN(len(g.suppliers)-named)
		k := kinds[g.r.IntN(len(kinds))]
		p := g.product(s, fmt.Sprintf("Product %d", len(g.products)), k)
		if k == "component" {
			components = append(components, p)
		}
	}

	// Service pools: each generic service draws 20–200 tail products.
	firstTail := 0
	for i := range g.prodSup {
		if g.prodSup[i] >= named {
			firstTail = i
			break
		}
	}
	pools := map[string][]int{}
	for _, sv := range genericServices {
		n := 20 + g.r.IntN(180)
		for i := 0; i < n; i++ {
			pools[sv] = append(pools[sv], firstTail+g.r.IntN(len(g.products)-firstTail))
		}
	}

	// Dependencies: hosting under nearly everything, agents and identity
	// under many, MSP chains, components, until the target.
	hz, az, iz, cz := newZipf(len(hosting), 1.2), newZipf(len(agents), 1.0), newZipf(len(idps), 1.0), newZipf(max(1, len(components)), 1.1)
	for _, m := range msps {
		g.dep(m, hosting[hz.pick(g.r)], "hosting", true)
	}
	for _, p := range append(append(append([]int{}, gpProds...), eprProds...), pathProds...) {
		g.dep(p, hosting[hz.pick(g.r)], "hosting", true)
		g.dep(p, agents[az.pick(g.r)], "component", true)
		g.dep(p, idps[iz.pick(g.r)], "identity", g.r.IntN(2) == 0)
	}
	for p := firstTail; p < len(g.products) && len(g.deps) < c.Dependencies; p++ {
		switch x := g.r.IntN(10); {
		case x < 5:
			g.dep(p, hosting[hz.pick(g.r)], "hosting", g.r.IntN(10) < 9)
		case x < 7:
			g.dep(p, msps[g.r.IntN(len(msps))], "subcontractor", g.r.IntN(10) < 7)
		default:
			g.dep(p, idps[iz.pick(g.r)], "identity", g.r.IntN(10) < 3)
		}
		if g.r.IntN(3) == 0 {
			g.dep(p, agents[az.pick(g.r)], "component", g.r.IntN(10) < 4)
		}
	}
	for len(g.deps) < c.Dependencies && len(components) > 0 {
		a := firstTail + g.r.IntN(len(g.products)-firstTail)
		g.dep(a, components[cz.pick(g.r)], "component", g.r.IntN(10) < 4)
	}

	// Vulnerabilities on some components and agents.
	for i, p := range append(append([]int{}, agents...), components[:min(200, len(components))]...) {
		g.vulns = append(g.vulns, []string{g.products[p][0], fmt.Sprintf("CVE-2099-%04d", i%150), "lib" + strconv.Itoa(i%37)})
	}

	// Deployments.
	crit := []string{"critical", "high", "medium", "low"}
	perOrg := float64(c.Deployments) / float64(max(1, len(orgs)))
	pathByICB := map[string]int{}
	eprZ := newZipf(len(eprProds), 1.0)
	for _, o := range orgs {
		if o.Type != org.Trust && o.Type != org.GPPractice && o.Type != org.OtherProvider {
			continue
		}
		add := func(p int, service string, critIdx int) {
			fb := "no"
			if g.r.IntN(5) == 0 {
				fb = "yes"
			}
			g.deploys = append(g.deploys, []string{o.Code, g.products[p][0], service, crit[critIdx], fb})
		}
		pl, ok := pathByICB[o.ICB]
		if !ok {
			pl = g.r.IntN(len(pathProds))
			pathByICB[o.ICB] = pl
		}
		switch o.Type {
		case org.GPPractice:
			x := g.r.IntN(1000)
			gp := 0
			if x >= 580 {
				gp = 1
			}
			if x >= 995 {
				gp = 2
			}
			add(gpProds[gp], "gp-clinical", 0)
			add(pathProds[pl], "pathology", 1)
		case org.Trust:
			add(eprProds[eprZ.pick(g.r)], "epr", 0)
			if g.r.IntN(10) < 8 {
				add(pathProds[pl], "pathology", 0)
			} else {
				add(pathProds[g.r.IntN(len(pathProds))], "pathology", 0)
			}
		}
		// Generic services until this organisation's share is used.
		n := int(perOrg) - 2
		if g.r.Float64() < perOrg-math.Floor(perOrg) {
			n++
		}
		perm := g.r.Perm(len(genericServices))
		for i := 0; i < n && i < len(perm); i++ {
			sv := genericServices[perm[i]]
			pool := pools[sv]
			add(pool[g.zipfFor(len(pool)).pick(g.r)], sv, g.r.IntN(4))
		}
	}

	hdr := func(h ...string) []string { return h }
	return &Estate{Orgs: orgs, Files: map[string][][]string{
		"suppliers.csv":     append([][]string{hdr("supplier_id", "name", "companies_house_number", "parent_supplier_id", "country", "ods_code")}, g.suppliers...),
		"products.csv":      append([][]string{hdr("product_id", "supplier_id", "name", "kind", "version")}, g.products...),
		"dependencies.csv":  append([][]string{hdr("product_id", "depends_on_product_id", "kind", "critical")}, g.deps...),
		"deployments.csv":   dedupe(append([][]string{hdr("org_ods", "product_id", "service", "criticality", "has_fallback")}, g.deploys...)),
		"product_vulns.csv": append([][]string{hdr("product_id", "cve", "component")}, g.vulns...),
	}}
}

// zipfFor shares Zipf tables by size within one Generate.
func (g *gen) zipfFor(n int) zipf {
	if z, ok := g.zc[n]; ok {
		return z
	}
	z := newZipf(n, 1.1)
	g.zc[n] = z
	return z
}

// dedupe drops repeated (org, product, service) deployments, keeping the first.
func dedupe(rows [][]string) [][]string {
	seen := map[[3]string]bool{}
	out := rows[:1]
	for _, r := range rows[1:] {
		k := [3]string{r[0], r[1], r[2]}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}
