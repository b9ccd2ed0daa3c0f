package supply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

// Recent register changes come from the audit log and show each caller
// only what the register lets it see: everything of the shared register
// to NHS readers, its own supplier's to a representative, deployments
// only of organisations it reads — and never who made the change.
func TestRecentChanges(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		step := func() { e.clock.t = e.clock.t.Add(time.Minute) }
		step()
		if _, err := e.svc.PutDeployment(ctx, national, Deployment{OrgODS: "RJZ", ProductID: "EMIS-WEB", Service: "gp-clinical", Criticality: High}); err != nil {
			t.Fatal(err)
		}
		step()
		if _, err := e.svc.PutVuln(ctx, national, Vuln{ProductID: "SYN-LIMS", CVE: "CVE-2099-0002"}); err != nil {
			t.Fatal(err)
		}
		step()
		if _, err := e.svc.PutDeployment(ctx, national, Deployment{OrgODS: "RJ1", ProductID: "FALCON", Service: "endpoint", Criticality: Medium}); err != nil {
			t.Fatal(err)
		}
		text := func(sc scope.Scope) string {
			t.Helper()
			cs, err := e.svc.RecentChanges(ctx, sc, 10)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range cs {
				s := fmt.Sprintf("%s:%s:%s", c.Kind, c.ID, c.Name)
				if c.Rows > 0 {
					s += fmt.Sprintf(":%d", c.Rows)
				}
				out = append(out, s)
			}
			return strings.Join(out, "|")
		}
		nat := grant(scope.NationalAnalyst, "ENG", "/ENG/")
		if got, want := text(nat), "deployment:RJ1:Guy's and St Thomas' NHS Foundation Trust · Falcon sensor · endpoint|"+
			"vuln:SYN-LIMS:Synnovis pathology LIMS and managed service · CVE-2099-0002|"+
			"deployment:RJZ:King's College Hospital NHS Foundation Trust · EMIS Web · gp-clinical|"+
			"import::Register import:24"; got != want {
			t.Errorf("national analyst sees\n%s\nwant\n%s", got, want)
		}
		// RJ1's analyst sees its own deployment and the shared register,
		// not King's College's deployment.
		if got := text(grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")); strings.Contains(got, "RJZ") || !strings.HasPrefix(got, "deployment:RJ1:") ||
			!strings.Contains(got, "vuln:SYN-LIMS") {
			t.Errorf("RJ1's analyst sees %s", got)
		}
		// Synnovis's representative sees its own product's vulnerability
		// and nothing else: no deployments, no other suppliers, no imports.
		if got := text(grant(scope.SupplierRep, "S-SYN", "/ENG/S-SYN/")); got != "vuln:SYN-LIMS:Synnovis pathology LIMS and managed service · CVE-2099-0002" {
			t.Errorf("Synnovis's representative sees %s", got)
		}
		if got := text(scope.Scope{}); got != "" {
			t.Errorf("nobody sees %s", got)
		}
	})
}

// Own gives a representative exactly what ListSuppliers and ListProducts
// give it, read without the rest of the register; NHS readers own nothing.
func TestOwn(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		rep := grant(scope.SupplierRep, "S-SYN", "/ENG/S-SYN/")
		sups, prods, err := e.svc.Own(ctx, rep)
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := e.svc.ListSuppliers(ctx, rep)
		lp, _ := e.svc.ListProducts(ctx, rep, "")
		if fmt.Sprint(sups) != fmt.Sprint(ls) || fmt.Sprint(prods) != fmt.Sprint(lp) || len(sups) != 2 || len(prods) != 1 {
			t.Errorf("Own = %v %v\nlists = %v %v", sups, prods, ls, lp)
		}
		if s, p, err := e.svc.Own(ctx, grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")); err != nil || len(s)+len(p) != 0 {
			t.Errorf("an NHS reader owns %v %v (%v)", s, p, err)
		}
	})
}
