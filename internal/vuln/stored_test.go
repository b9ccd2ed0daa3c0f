package vuln

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testneed"
)

var (
	sharedVuln = filepath.Join("..", "..", "..", "shared", "data", "vuln")
	flux2SBOM  = filepath.Join(sharedVuln, "sbom", "go-flux2-v0.26.3.spdx22.json")
	kevFile    = filepath.Join(sharedVuln, "kev", "known_exploited_vulnerabilities.json")
)

// goOSV copies the shared Go advisories to a directory of the test's own,
// so a test may change one.
func goOSV(t *testing.T) string {
	t.Helper()
	src := filepath.Join(sharedVuln, "osv", "Go")
	ents, err := os.ReadDir(src)
	if err != nil {
		testneed.Missing(t, "OSV advisories in ../shared/data/vuln/osv", err)
	}
	dir := filepath.Join(t.TempDir(), "osv", "Go")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Dir(dir)
}

func newSBOMs(t *testing.T, e *alertEnv, osvDir string) *SBOMs {
	t.Helper()
	s, err := NewSBOMs(SBOMOptions{DB: e.db, Audit: e.al, Register: e.sup, Orgs: e.svc.o.Orgs, OSVDir: osvDir, KEVFile: kevFile, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		testneed.Missing(t, "SBOMs in ../shared/data/vuln/sbom", err)
	}
	return b
}

// The issue's Done-when: a KEV-listed CVE inside a supplier product —
// found only by matching the product's stored SBOM, the register names no
// CVE on it — yields a cyber alert addressed to exactly the organisations
// deploying the product, directly (RA7) or through a product depending on
// it (RJ1), each path saying which SBOM component carries it.
func TestStoredSBOMAlertScope(t *testing.T) {
	kev, err := LoadKEV(kevFile)
	if err != nil {
		testneed.Missing(t, "the KEV catalogue in ../shared/data/vuln/kev", err)
	}
	if _, ok := kev.Entries["CVE-2023-44487"]; !ok {
		t.Fatal("CVE-2023-44487 is not in the shared KEV catalogue")
	}
	osv := goOSV(t)
	data := readFile(t, flux2SBOM)
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		svc := newSBOMs(t, e, osv)
		// Before any SBOM: nobody is in scope of the CVE.
		alert := NewAlert{Title: "HTTP/2 Rapid Reset", Severity: "high", CVEs: []string{"CVE-2023-44487"},
			RequiredAction: "Upgrade golang.org/x/net to 0.17.0.", Deadline: alertT0.Add(14 * 24 * time.Hour)}
		if a, err := e.svc.Issue(ctx, e.nadia, alert); err != nil || len(a.Orgs) != 0 {
			t.Fatalf("before the SBOM: %v %v", orgsOf(a.Orgs), err)
		}
		// An org analyst sees the register but may not change it.
		if _, err := svc.AddProductSBOM(ctx, e.alice, "ACME-TLS", "1.2", "flux.spdx.json", data); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("alice storing a product SBOM: %v", err)
		}
		x, err := svc.AddProductSBOM(ctx, e.nadia, "Acme TLS Library", "1.2", "/tmp/go-flux2-v0.26.3.spdx22.json", data)
		if err != nil {
			t.Fatal(err)
		}
		if x.Product != "ACME-TLS" || x.Name != "go-flux2-v0.26.3.spdx22.json" || x.Components == 0 || x.MatchedAt == nil {
			t.Fatalf("stored %+v", x)
		}
		// Stored with purls as written (Go module paths whole).
		full, err := svc.Get(ctx, e.alice, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(full.Items, func(c StoredComponent) bool {
			return c.PURL == "pkg:golang/golang.org/x/net@v0.0.0-20211216030914-fe4d6282115f" && c.Package == "golang.org/x/net"
		}) {
			t.Errorf("x/net component not stored with its purl")
		}
		fs, err := svc.Findings(ctx, e.alice, FindingFilter{Product: "ACME-TLS"})
		if err != nil {
			t.Fatal(err)
		}
		var rr *StoredFinding
		for i := range fs {
			if fs[i].ID == "GO-2023-2102" {
				rr = &fs[i]
			}
		}
		if rr == nil {
			t.Fatalf("no GO-2023-2102 among %d findings", len(fs))
		}
		if rr.KEV == nil || rr.KEV.CVE != "CVE-2023-44487" {
			t.Errorf("GO-2023-2102 KEV %+v", rr.KEV)
		}
		for _, w := range []string{"listed in CISA KEV as CVE-2023-44487 (a related ID)", "deployed by 2 organisations", "1 organisation has a critical or high business service on it"} {
			if !strings.Contains(rr.Priority.Explanation, w) {
				t.Errorf("explanation %q lacks %q", rr.Priority.Explanation, w)
			}
		}
		if rr.Priority.Level != P1 && rr.Priority.Level != P2 {
			t.Errorf("a KEV finding at %s", rr.Priority.Level)
		}
		if want := alertT0.Add(DefaultSLA()[rr.Priority.Level]); !rr.Due.Equal(want) || !rr.FirstSeen.Equal(alertT0) {
			t.Errorf("first seen %v due %v, want %v and %v", rr.FirstSeen, rr.Due, alertT0, want)
		}
		if fs[0].Priority.Points < fs[len(fs)-1].Priority.Points {
			t.Errorf("findings not most urgent first")
		}

		a, err := e.svc.Issue(ctx, e.nadia, alert)
		if err != nil {
			t.Fatal(err)
		}
		if got := orgsOf(a.Orgs); !slices.Equal(got, []string{"RA7", "RJ1"}) {
			t.Fatalf("in scope %v, want exactly RA7 (deploys Acme TLS) and RJ1 (deploys Acme EPR, which depends on it)", got)
		}
		for i, w := range []string{
			"Bristol Test Hospitals deploys Acme TLS Library (supplier Acme Health): SBOM of product Acme TLS Library 1.2 contains golang.org/x/net v0.0.0-20211216030914-fe4d6282115f (GO-2023-2102, CVE-2023-44487)",
			"Guy's and St Thomas' deploys Acme EPR (supplier Acme Health) which depends on affected component Acme TLS Library (supplier Acme Health): SBOM of product Acme TLS Library 1.2 contains golang.org/x/net",
		} {
			if !strings.HasPrefix(a.Orgs[i].Path, w) {
				t.Errorf("%s path\n %q\nwant prefix\n %q", a.Orgs[i].Org, a.Orgs[i].Path, w)
			}
		}
	})
}

// An organisation's inventory is its own: stored with write there, seen
// with read there, never by another trust; findings follow.
func TestInventoryScope(t *testing.T) {
	osv := goOSV(t)
	data := readFile(t, flux2SBOM)
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		svc := newSBOMs(t, e, osv)
		if _, err := svc.AddInventory(ctx, e.bob, "RJ1", InventoryMeta{}, "x.json", data); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("bob storing RJ1's inventory: %v", err)
		}
		if _, err := svc.AddInventory(ctx, e.audrey, "RJ1", InventoryMeta{}, "x.json", data); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("the auditor storing an inventory: %v", err)
		}
		if _, err := svc.AddInventory(ctx, e.alice, "RJ1", InventoryMeta{Criticality: "urgent"}, "x.json", data); err == nil {
			t.Fatal("a criticality outside the list was taken")
		}
		if _, err := svc.AddInventory(ctx, e.alice, "RJ1", InventoryMeta{}, "x.json", []byte("{\n\"not\": an sbom")); err == nil || !strings.Contains(err.Error(), "x.json") {
			t.Fatalf("a broken file: %v", err)
		}
		x, err := svc.AddInventory(ctx, e.alice, "rj1", InventoryMeta{Name: "GitOps cluster", Criticality: "high", Exposure: "internet"}, "flux.json", data)
		if err != nil {
			t.Fatal(err)
		}
		if x.Org != "RJ1" || x.Name != "GitOps cluster" || x.Findings[P1]+x.Findings[P2]+x.Findings[P3]+x.Findings[P4] == 0 {
			t.Fatalf("stored %+v", x)
		}
		for _, sc := range []scope.Scope{e.bob, e.rex} {
			if _, err := svc.Get(ctx, sc, x.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s reads RJ1's inventory: %v", sc.Email, err)
			}
			if _, err := svc.Findings(ctx, sc, FindingFilter{Org: "RJ1"}); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s reads RJ1's findings: %v", sc.Email, err)
			}
			if _, err := svc.Findings(ctx, sc, FindingFilter{SBOM: x.ID}); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s reads the inventory's findings: %v", sc.Email, err)
			}
			l, err := svc.List(ctx, sc, SBOMFilter{})
			if err != nil || len(l) != 0 {
				t.Errorf("%s lists %d (%v)", sc.Email, len(l), err)
			}
			if err := svc.Delete(ctx, sc, x.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s deletes RJ1's inventory: %v", sc.Email, err)
			}
		}
		for _, sc := range []scope.Scope{e.alice, e.audrey, e.nadia} {
			l, err := svc.List(ctx, sc, SBOMFilter{Org: "RJ1"})
			if err != nil || len(l) != 1 {
				t.Errorf("%s lists RJ1's: %d %v", sc.Email, len(l), err)
			}
		}
		fs, err := svc.Findings(ctx, e.alice, FindingFilter{Org: "RJ1"})
		if err != nil || len(fs) == 0 {
			t.Fatalf("alice's findings: %d %v", len(fs), err)
		}
		for _, w := range []string{"asset criticality high +10", "exposed to the internet +10"} {
			if !strings.Contains(fs[0].Priority.Explanation, w) {
				t.Errorf("explanation %q lacks %q", fs[0].Priority.Explanation, w)
			}
		}
		// An alert about a CVE an inventory carries reaches its
		// organisation, which deploys nothing from the register (RBA).
		rba, err := svc.AddInventory(ctx, e.nadia, "RBA", InventoryMeta{Name: "Build servers"}, "rba.json", data)
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.svc.Issue(ctx, e.nadia, NewAlert{Title: "Rapid Reset", CVEs: []string{"CVE-2023-44487"}, RequiredAction: "Upgrade x/net",
			Deadline: alertT0.Add(7 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if got := orgsOf(a.Orgs); !slices.Equal(got, []string{"RBA", "RJ1"}) {
			t.Fatalf("in scope %v, want the two organisations whose inventories carry it", got)
		}
		if want := "Somerset Test Trust runs Build servers (its inventory " + rba.ID + "), which contains golang.org/x/net v0.0.0-20211216030914-fe4d6282115f (GO-2023-2102, CVE-2023-44487)"; a.Orgs[0].Path != want || a.Orgs[0].ICB != "QJK" || a.Orgs[0].RegionName != "South West" {
			t.Errorf("RBA %+v\nwant path %q", a.Orgs[0], want)
		}
		for _, id := range []string{x.ID, rba.ID} {
			if err := svc.Delete(ctx, e.nadia, id); err != nil {
				t.Fatal(err)
			}
		}
		if l, _ := svc.List(ctx, e.nadia, SBOMFilter{}); len(l) != 0 {
			t.Errorf("left after delete: %d", len(l))
		}
	})
}

// A changed advisory is judged again on its own: the next match is
// incremental, rewrites only the SBOM it touches and keeps the first-seen
// time of findings that stay.
func TestStoredMatchIncremental(t *testing.T) {
	data := readFile(t, flux2SBOM)
	other := readFile(t, filepath.Join(sharedVuln, "sbom", "go-minikube-v1.23.1.cdx15.json"))
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		osv := goOSV(t)
		ctx := context.Background()
		svc := newSBOMs(t, e, "")
		if _, err := svc.Match(ctx, e.alice, MatchRequest{OSVDir: osv}); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("a trust matching: %v", err)
		}
		if _, err := svc.Match(ctx, e.nadia, MatchRequest{}); err == nil {
			t.Fatal("a match with no OSV directory")
		}
		flux, err := svc.AddProductSBOM(ctx, e.nadia, "ACME-TLS", "1.2", "flux.json", data)
		if err != nil {
			t.Fatal(err)
		}
		if flux.MatchedAt != nil {
			t.Fatal("matched with no OSV directory configured")
		}
		if _, err := svc.AddProductSBOM(ctx, e.nadia, "BRAVO-LIMS", "3", "minikube.json", other); err != nil {
			t.Fatal(err)
		}
		rep, err := svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Mode != "full" || rep.SBOMs != 2 || rep.Rewritten != 2 || rep.Findings == 0 {
			t.Fatalf("first match %+v", rep)
		}
		t.Logf("full match: %d SBOMs, %d components, %d findings in %s", rep.SBOMs, rep.Components, rep.Findings, rep.Took)
		before, _ := svc.Findings(ctx, e.nadia, FindingFilter{SBOM: flux.ID})
		// Nothing changed: nothing rewritten.
		e.clk.Advance(time.Hour)
		rep, err = svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv})
		if err != nil || rep.Mode != "incremental" || rep.Changed != 0 || rep.Rewritten != 0 {
			t.Fatalf("second match %+v %v", rep, err)
		}
		// GO-2023-2102 withdrawn: only the SBOMs carrying x/net change.
		p := filepath.Join(osv, "Go", "GO-2023-2102.json")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), `"id":`, `"withdrawn": "2026-12-01T00:00:00Z", "id":`, 1))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err = svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv})
		if err != nil || rep.Mode != "incremental" || rep.Changed != 1 || rep.Rewritten < 1 {
			t.Fatalf("after the change %+v %v", rep, err)
		}
		t.Logf("incremental match after one advisory changed: %d of %d SBOMs rewritten in %s", rep.Rewritten, rep.SBOMs, rep.Took)
		after, _ := svc.Findings(ctx, e.nadia, FindingFilter{SBOM: flux.ID})
		if len(after) != len(before)-1 {
			t.Errorf("findings %d → %d, want one fewer", len(before), len(after))
		}
		for _, f := range after {
			if f.ID == "GO-2023-2102" {
				t.Error("the withdrawn advisory is still a finding")
			}
			if !f.FirstSeen.Equal(alertT0) {
				t.Errorf("%s first seen %v, want kept at %v", f.ID, f.FirstSeen, alertT0)
			}
		}
		// Full on request: the same findings as incremental.
		rep, err = svc.Match(ctx, e.nadia, MatchRequest{OSVDir: osv, Full: true})
		if err != nil || rep.Mode != "full" {
			t.Fatal(rep, err)
		}
		again, _ := svc.Findings(ctx, e.nadia, FindingFilter{SBOM: flux.ID})
		if len(again) != len(after) {
			t.Errorf("full match %d findings, incremental %d", len(again), len(after))
		}
	})
}
