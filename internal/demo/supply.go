package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"

	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// Demo register IDs worth naming in help text and tests.
const (
	// PathologySupplier is the pathology managed service serving two South
	// East London trusts and the region's practices (the shape of the 2024
	// ransomware attack on a pathology supplier).
	PathologySupplier = "DEMO-PATH"
	// SecurityAgent is the endpoint-security agent the main GP clinical
	// system depends on (the shape of the 2024 faulty security update: a
	// supplier of a supplier).
	SecurityAgent = "DEMO-SENTINEL-AGENT"
	// SharedGateway is the integration gateway hosted by one trust and
	// used by two others.
	SharedGateway = "DEMO-SLGW"
)

// SupplyFiles is the demonstration supplier register as the CSV files
// `vigil supply import` reads, over the organisations of Estate. Every
// supplier and product name says "(demo)"; CVE IDs are in the unassigned
// 2099 range.
func SupplyFiles() []supply.ImportFile {
	suppliers := [][]string{
		{"supplier_id", "name", "companies_house_number", "parent_supplier_id", "country", "ods_code", "tenant_org", "designated_critical"},
		{"DEMO-PATH-GROUP", "Demo Diagnostics Group plc (demo)", "", "", "GB", "", "", "no"},
		{PathologySupplier, "Demo Pathology Partnership LLP (demo)", "", "DEMO-PATH-GROUP", "GB", "", "", "yes"},
		{"DEMO-BARTS-PATH", "Barts pathology network (demo)", "", "", "GB", "R1H", "", "no"},
		{"DEMO-ACME", "ACME Clinical Systems Ltd (demo)", "", "", "GB", "", "SUP-ACME", "yes"},
		{"DEMO-NORTHGATE", "Northgate GP Systems Ltd (demo)", "", "", "GB", "", "", "no"},
		{"DEMO-SENTINEL", "Sentinel Endpoint Security Inc (demo)", "", "", "US", "", "", "no"},
		{"DEMO-CLOUD", "Demo Cloud Hosting Ltd (demo)", "", "", "GB", "", "", "no"},
		{"DEMO-EPR", "Demo EPR Systems Ltd (demo)", "", "", "US", "", "", "no"},
		{"DEMO-CARDINAL", "Cardinal Health Records Ltd (demo)", "", "", "GB", "", "", "no"},
		{"DEMO-GSTT-SS", "Guy's and St Thomas' shared services (demo)", "", "", "GB", "RJ1", "", "no"},
		{"DEMO-PACS", "Demo Imaging Exchange Ltd (demo)", "", "", "GB", "", "", "no"},
	}
	products := [][]string{
		{"product_id", "supplier_id", "name", "kind", "version", "cves"},
		{"DEMO-LIMS", PathologySupplier, "Pathology LIMS and managed service (demo)", "managed-service", "2024.1", ""},
		{"DEMO-BARTS-LIMS", "DEMO-BARTS-PATH", "Barts pathology LIMS (demo)", "shared-service", "", ""},
		{"DEMO-ACME-GP", "DEMO-ACME", "ACME GP Clinical (demo)", "saas", "9.1", ""},
		{"DEMO-NG-GP", "DEMO-NORTHGATE", "Northgate GP (demo)", "saas", "", ""},
		{SecurityAgent, "DEMO-SENTINEL", "Sentinel endpoint agent (demo)", "component", "7.11", "CVE-2099-4242"},
		{"DEMO-CLOUD-LDN", "DEMO-CLOUD", "Demo Cloud London region (demo)", "hosting", "", ""},
		{"DEMO-EPR-SYS", "DEMO-EPR", "Demo EPR (demo)", "software", "", ""},
		{"DEMO-CARDINAL-EPR", "DEMO-CARDINAL", "Cardinal EPR (demo)", "saas", "", ""},
		{SharedGateway, "DEMO-GSTT-SS", "South London integration gateway (demo)", "shared-service", "", ""},
		{"DEMO-IMG-EXCH", "DEMO-PACS", "Image exchange portal (demo)", "saas", "", ""},
	}
	dependencies := [][]string{
		{"product_id", "depends_on_product_id", "kind", "critical"},
		{"DEMO-ACME-GP", SecurityAgent, "component", "yes"},
		{"DEMO-ACME-GP", "DEMO-CLOUD-LDN", "hosting", "yes"},
		{"DEMO-LIMS", "DEMO-CLOUD-LDN", "hosting", "yes"},
		{"DEMO-EPR-SYS", SecurityAgent, "component", "no"},
		{"DEMO-CARDINAL-EPR", "DEMO-CLOUD-LDN", "hosting", "yes"},
		{"DEMO-IMG-EXCH", SharedGateway, "shared-service", "no"},
	}
	deployments := [][]string{{"org_ods", "product_id", "service", "criticality", "has_fallback"}}
	dep := func(ods, product, service, crit string, fallback bool) {
		deployments = append(deployments, []string{ods, product, service, crit, yesNo(fallback)})
	}
	// Pathology: the two South East London trusts and the ICB's practices
	// depend on the managed service; one practice has a fallback lab and
	// South West London's practices use it for routine tests only. North
	// East London uses the Barts network.
	dep("RJ1", "DEMO-LIMS", "pathology", "critical", false)
	dep("RJZ", "DEMO-LIMS", "pathology", "critical", false)
	dep("R1H", "DEMO-BARTS-LIMS", "pathology", "critical", false)
	practices, trusts := 0, 0
	for _, o := range Estate() {
		if o.Type == org.Trust {
			// Two EPR suppliers; every third trust runs Cardinal's, hosted
			// in the same cloud region as the main GP system.
			epr := "DEMO-EPR-SYS"
			if trusts%3 == 2 {
				epr = "DEMO-CARDINAL-EPR"
			}
			dep(o.Code, epr, "epr", "critical", false)
			trusts++
			continue
		}
		if o.Type != org.GPPractice {
			continue
		}
		// Most practices run ACME's system (which needs the security agent
		// and the cloud region); every fourth runs Northgate's.
		gp := "DEMO-ACME-GP"
		if practices%4 == 3 {
			gp = "DEMO-NG-GP"
		}
		dep(o.Code, gp, "gp-clinical", "critical", practices%5 == 4)
		switch o.Parent {
		case "QKK":
			dep(o.Code, "DEMO-LIMS", "pathology", "high", o.Code == "DM0009")
		case "QWE":
			dep(o.Code, "DEMO-LIMS", "pathology", "medium", false)
		case "QMF":
			dep(o.Code, "DEMO-BARTS-LIMS", "pathology", "high", false)
		}
		practices++
	}
	// The gateway's host trust can fall back to point-to-point feeds; its
	// two neighbours cannot.
	dep("RJ1", SharedGateway, "integration", "critical", true)
	dep("RJZ", SharedGateway, "integration", "critical", false)
	dep("RJ2", SharedGateway, "integration", "critical", false)
	dep("RV5", "DEMO-IMG-EXCH", "radiology", "high", false)

	return []supply.ImportFile{
		csvFile("demo/suppliers.csv", suppliers),
		csvFile("demo/products.csv", products),
		csvFile("demo/dependencies.csv", dependencies),
		csvFile("demo/deployments.csv", deployments),
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func csvFile(name string, rows [][]string) supply.ImportFile {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows) // writes to memory: cannot fail
	return supply.ImportFile{Name: name, Data: b.Bytes()}
}

// LoadSupply imports the demonstration supplier register through the
// ordinary import (validated, one audit entry). It is idempotent: a second
// run finds every row unchanged and writes nothing. The organisations of
// Estate must exist (Load creates them).
func LoadSupply(ctx context.Context, sc scope.Scope, svc *supply.Service) (supply.ImportReport, error) {
	rep, err := svc.Import(ctx, sc, SupplyFiles(), supply.ImportOptions{})
	if err != nil {
		return rep, fmt.Errorf("demo supplier register: %w", err)
	}
	if rep.ErrorCount > 0 {
		return rep, fmt.Errorf("demo supplier register: %d errors, the first: %s", rep.ErrorCount, rep.Errors[0])
	}
	return rep, nil
}
