package supply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// exposureText renders an ExposureResult compactly for comparison.
func exposureText(r ExposureResult) (unprotected, spofs, vulns string) {
	var u, s, v []string
	for _, x := range r.Unprotected {
		var ps []string
		for _, p := range x.Products {
			ps = append(ps, p.ID)
		}
		u = append(u, x.Service+"="+strings.Join(ps, "+"))
	}
	for _, x := range r.SinglePoints {
		a := ""
		for _, ar := range x.Areas {
			a += fmt.Sprintf("@%s:%s:%d", ar.By, ar.Code, ar.Organisations)
		}
		s = append(s, fmt.Sprintf("%s/%s/%d%s", x.Service, x.Node, x.Depth, a))
	}
	for _, x := range r.Vulns {
		v = append(v, fmt.Sprintf("%s/%s/%d/%v/%s", x.CVE, x.ID, x.Depth, x.Critical, strings.Join(x.Services, "+")))
	}
	return strings.Join(u, " "), strings.Join(s, " "), strings.Join(v, " ")
}

// An organisation's exposure, on the real-shaped cases: its critical
// services without a fallback, the nodes whose loss alone stops one of
// them (by the blast radius's own rule, so a fallback or a non-critical
// path rules a node out), and the known CVEs of what it depends on.
func TestExposure(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		for _, c := range []struct {
			org                       string
			unprotected, spofs, vulns string
		}{
			// Two GP systems for one service are two deployments each of
			// which stops it (the register's model: only a fallback is an
			// alternative), so each chain is a single point of failure.
			{"G85004", "gp-clinical=EMIS-WEB+SYSTMONE",
				"gp-clinical/supplier:EMIS/0 gp-clinical/supplier:TPP/0 gp-clinical/supplier:AWS/1 gp-clinical/supplier:CROWDSTRIKE/1 " +
					"gp-clinical/product:EMIS-WEB/0 gp-clinical/product:SYSTMONE/0 gp-clinical/product:AWS-LONDON/1 gp-clinical/product:FALCON/1",
				"CVE-2099-0001/FALCON/1/true/gp-clinical"},
			// A fallback protects the service: nothing is a single point.
			{"F84001", "", "", "CVE-2099-0001/FALCON/1/true/gp-clinical"},
			// Millennium reaches Falcon only through a non-critical
			// dependency: exposed, not a single point, and not critical.
			{"R1H", "epr=MILLENNIUM pathology=BARTS-LIMS",
				"epr/supplier:ORACLE/0 epr/product:MILLENNIUM/0 pathology/supplier:BARTSPATH/0 pathology/product:BARTS-LIMS/0",
				"CVE-2099-0001/FALCON/1/false/epr"},
			// The image exchange depends on the gateway non-critically, so
			// the gateway stops integration but not radiology.
			{"RTF", "integration=RTD-GW radiology=IMAGE-EXCH",
				"integration/supplier:NHS-RTD/0 integration/product:RTD-GW/0 radiology/supplier:PACSCO/0 radiology/product:IMAGE-EXCH/0", ""},
			// The hosting trust has a fallback for its own gateway.
			{"RTD", "", "", ""},
		} {
			res, err := e.svc.Exposure(ctx, national, c.org)
			if err != nil {
				t.Fatalf("%s: %v", c.org, err)
			}
			u, s, v := exposureText(res)
			if u != c.unprotected || s != c.spofs || v != c.vulns {
				t.Errorf("%s:\n unprotected %q\n want        %q\n spofs %q\n want  %q\n vulns %q\n want  %q", c.org, u, c.unprotected, s, c.spofs, v, c.vulns)
			}
		}

		// Each single point is one the blast radius agrees with: its loss
		// classes the service hard-down at the organisation.
		res, _ := e.svc.Exposure(ctx, national, "G85001")
		for _, sp := range res.SinglePoints {
			q := Query{Product: sp.ID}
			if sp.Kind == "supplier" {
				q = Query{Supplier: sp.ID}
			}
			imp, err := e.svc.Impact(ctx, national, q)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range imp.Affected {
				if a.ODS == "G85001" {
					found = true
					if a.Impact != HardDown {
						t.Errorf("%s is a single point of failure for G85001's %s, but its blast radius classes G85001 %s", sp.Node, sp.Service, a.Impact)
					}
				}
			}
			if !found {
				t.Errorf("%s's blast radius does not reach G85001", sp.Node)
			}
		}

		// A supply-chain manager also learns where the same node leaves a
		// whole ICB hard-down; a trust's analyst sees its own exposure only.
		if _, err := e.svc.PutDeployment(ctx, national, Deployment{OrgODS: "G85003", ProductID: "SYN-LIMS", Service: "pathology", Criticality: High}); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.Exposure(ctx, national, "RJ1")
		if err != nil {
			t.Fatal(err)
		}
		if _, s, _ := exposureText(res); s != "pathology/supplier:SYNLAB/0@icb:QKK:5 pathology/product:SYN-LIMS/0@icb:QKK:5" {
			t.Errorf("RJ1's single points for a national analyst: %s", s)
		}
		trust := grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")
		res, err = e.svc.Exposure(ctx, trust, "RJ1")
		if err != nil {
			t.Fatal(err)
		}
		if _, s, _ := exposureText(res); s != "pathology/supplier:SYNLAB/0 pathology/product:SYN-LIMS/0" {
			t.Errorf("RJ1's single points for its own analyst: %s", s)
		}
		// Outside the caller's scope: not found, never forbidden; a
		// supplier's representative reads no NHS organisation.
		for _, sc := range []scope.Scope{trust, grant(scope.SupplierRep, "S-SYN", "/ENG/S-SYN/")} {
			if _, err := e.svc.Exposure(ctx, sc, "RJZ"); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("exposure of RJZ for %v = %v, want not found", sc.Grants, err)
			}
		}
	})
}
