package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/supply/supplygen"
)

// supplyCmd is `vigil supply`: the supplier register, its dependency graph,
// blast radius, concentration and systemic risk (issue 8). Every
// subcommand calls the supply service with the operator's national scope;
// the answers are the domain's result types, printed as JSON exactly or as
// tables for people.
func (e *env) supplyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "supply",
		Short: "Supplier register and dependency graph: import, export, impact, concentration, risk",
		Long: `The national supplier register: suppliers (with group parents), products, dependencies
between products to any depth, and which organisations deploy which product for which
business service. Over it: blast radius ("who is affected if X is compromised, or a CVE
exploited?"),
market concentration (HHI) per service, and systemic risk.

Load a register with 'vigil supply import', then ask questions:
  vigil supply impact --supplier SYNNOVIS
  vigil supply concentration --service gp-clinical --by icb
  vigil supply risk`,
	}
	c.AddCommand(e.supplyImportCmd(), e.supplyExportCmd(), e.supplyImpactCmd(), e.supplyConcentrationCmd(),
		e.supplyRiskCmd(), e.supplySnapshotCmd(), e.supplyTrendCmd(), e.supplyGenerateCmd())
	return c
}

// withSupply opens the app, runs fn and closes the app.
func (e *env) supplyImportCmd() *cobra.Command {
	var dryRun bool
	var out *output
	c := &cobra.Command{
		Use:   "import DIR_OR_FILES... [--dry-run] [--format table|json]",
		Short: "Import suppliers, products, dependencies and deployments from CSV or JSON",
		Long: `Import the supplier register from CSV files (what supply-chain teams keep) or a JSON
document written by 'vigil supply export --json'. A directory means every *.csv and *.json in it.
Files are recognised by name (a prefix is allowed, e.g. 2024-deployments.csv):

  suppliers.csv     supplier_id, name, companies_house_number, parent_supplier_id, country,
                    ods_code (when the supplier is an NHS body), duns, tenant_org,
                    designated_critical, contacts
  products.csv      product_id, supplier_id, name, kind, version, cves
  dependencies.csv  product_id, depends_on_product_id, kind, critical
  deployments.csv   org_ods, product_id, service, criticality, has_fallback
  product_vulns.csv product_id, cve, component
  contracts.csv     contract_id, org_ods, supplier_id, product_id, start_date, end_date,
                    value_gbp, data_processed, exit_plan, substitutability

Names and codes may not hold control characters or bidirectional overrides; amounts are
plain numbers of pounds (1200000, 1,200,000.50), dates YYYY-MM-DD, CVEs CVE-YYYY-NNNN. A cell
of an apostrophe followed by = + - @ (how exports neutralise spreadsheet formulas) loses that
apostrophe. A supplier's ods_code is unique among suppliers.

Every row is checked against the other files, the stored register and the organisation
tree first. The import is all or nothing: if any row has an error, each is listed as
file:line:column: reason, nothing is applied, and the command exits 1. --dry-run checks
and reports what would be created, updated or left unchanged, and writes nothing. Rows are
added or updated, never deleted. The applied import is one audit entry.`,
		Example: `  vigil supply import ./register/ --dry-run
  vigil supply import suppliers.csv products.csv dependencies.csv deployments.csv
  vigil supply import register.json --format json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := supply.ReadImportPaths(args)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return fmt.Errorf("no *.csv or *.json files in %s", strings.Join(args, ", "))
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				rep, err := a.Supply.Import(cmd.Context(), operator(), files, supply.ImportOptions{DryRun: dryRun})
				if err != nil {
					return err
				}
				if err := e.result(out, rep, func() error { return e.printSupplyImport(rep) }); err != nil {
					return err
				}
				if rep.ErrorCount > 0 {
					return fmt.Errorf("%d row error(s): nothing was applied (an import applies every row or none); fix the rows listed and run it again", rep.ErrorCount)
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "check every row and report what would change; write nothing")
	out = formatFlag(c, "table", "json")
	return c
}

// rowRef is how a row error is named: file:line:column.
func rowRef(re supply.RowError) string {
	s := re.File + ":" + strconv.Itoa(re.Line)
	if re.Column != "" {
		s += ":" + re.Column
	}
	return s
}

func (e *env) printSupplyImport(rep supply.ImportReport) error {
	for _, f := range rep.Files {
		printf(e.stdout, "%s: %s, %d rows, %d errors", f.File, f.Table, f.Rows, f.Errors)
		if len(f.IgnoredColumns) > 0 {
			printf(e.stdout, " (ignored columns: %s)", strings.Join(f.IgnoredColumns, ", "))
		}
		fmt.Fprintln(e.stdout)
	}
	const show = 50
	for i, re := range rep.Errors {
		if i == show {
			printf(e.stdout, "  … and %d more errors (use --format json for all)\n", rep.ErrorCount-show)
			break
		}
		printf(e.stdout, "  %s: %s\n", rowRef(re), re.Reason)
	}
	if rep.ErrorsTruncated && len(rep.Errors) <= show {
		printf(e.stdout, "  … %d errors in all; only the first %d are listed\n", rep.ErrorCount, len(rep.Errors))
	}
	for _, w := range rep.Warnings {
		printf(e.stdout, "  warning: %s: %s\n", rowRef(w), w.Reason)
	}
	if rep.ErrorCount == 0 {
		// Right-aligned numbers; the empty last column ends each line with
		// a tab, as AlignRight needs.
		err := printRows(e.stdout, tabwriter.AlignRight, rep.Tables,
			col("TABLE", func(t supply.TableCounts) any { return t.Table }), col("CREATED", func(t supply.TableCounts) any { return phrase.Int(t.Created) }),
			col("UPDATED", func(t supply.TableCounts) any { return phrase.Int(t.Updated) }), col("UNCHANGED", func(t supply.TableCounts) any { return phrase.Int(t.Unchanged) }),
			col("", func(supply.TableCounts) any { return "" }))
		if err != nil {
			return err
		}
	}
	printf(e.stdout, "%s\n", rep.Message)
	return nil
}

func (e *env) supplyExportCmd() *cobra.Command {
	var dir, jsonFile string
	c := &cobra.Command{
		Use:   "export --dir DIR | --json FILE",
		Short: "Export the register as CSV files or one JSON document (audited)",
		Long: `Export the whole register — suppliers, products, dependencies, vulnerabilities, deployments
and contracts — as the CSV files 'vigil supply import' reads (--dir) or as one JSON document
(--json FILE, or --json - for standard output). The two forms round-trip. A CSV cell that a
spreadsheet would run as a formula (starting with = + - @, tab or carriage return) is written
with a leading apostrophe, which 'vigil supply import' removes again. Every export is
recorded in the audit log with the number of rows of each table (except from a database open
read-only, which cannot be written; the command then says so).`,
		Example: `  vigil supply export --dir ./register-backup
  vigil supply export --json register.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (dir == "") == (jsonFile == "") {
				return usagef("give exactly one of --dir DIR or --json FILE")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				reg, err := a.Supply.Export(cmd.Context(), operator())
				if err != nil {
					return err
				}
				where := dir
				switch {
				case dir != "":
					err = supply.WriteCSVDir(reg, dir)
				case jsonFile == "-":
					where = "standard output"
					err = supply.WriteJSON(jsonWriter{e.stdout}, reg)
				default:
					where = jsonFile
					err = writeFile(jsonFile, func(w io.Writer) error { return supply.WriteJSON(w, reg) })
				}
				if err != nil {
					return fmt.Errorf("the export was recorded in the audit log but writing it failed: %w", err)
				}
				msg := e.stdout
				if jsonFile == "-" {
					msg = e.stderr
				}
				recorded := "recorded in the audit log"
				if a.DB.ReadOnly {
					recorded = "not recorded in the audit log: the database is open read-only"
				}
				printf(msg, "exported %d suppliers, %d products, %d dependencies, %d vulnerabilities, %d deployments, %d contracts to %s (%s)\n",
					len(reg.Suppliers), len(reg.Products), len(reg.Dependencies), len(reg.Vulns), len(reg.Deployments), len(reg.Contracts), where, recorded)
				return nil
			})
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "write the CSV files into this directory")
	c.Flags().StringVar(&jsonFile, "json", "", "write one JSON document to this file (- for standard output)")
	return c
}

// writeFile creates name and writes it with fn, reporting the close error too.
func writeFile(name string, fn func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		return errors.Join(err, f.Close())
	}
	return f.Close()
}

func (e *env) supplyImpactCmd() *cobra.Command {
	var supplier, product, cve, orgODS string
	var impactLimit int
	var out *output
	c := &cobra.Command{
		Use:   "impact (--supplier ID | --product ID | --cve CVE-ID | --org ODS) [--format table|json|csv]",
		Short: "Blast radius: who is affected if a supplier or product is compromised, or a CVE exploited",
		Long: `Blast radius. For a compromised supplier (with its group subsidiaries) or product, or an
exploited CVE, list every affected organisation with its ICB and region, the services affected,
the impact class and the dependency paths that explain it, then totals by region and ICB with
registered population:

  hard-down  for some service every path is critical and the organisation has no fallback
  degraded   a critical path exists, but so does a fallback or a non-critical path
  exposed    only non-critical paths reach it

--supplier, --product and --org take an ID in any case (demo-path is DEMO-PATH) or a name
(ignoring case, spaces and punctuation). Anything else is not guessed: the command says
"did you mean …" with the nearest names and exits 1. --supplier also takes the ODS code of
an NHS body registered as a supplier (a shared service). --cve takes a CVE ID
(CVE-YYYY-NNNN, any case). --org answers the reverse question: what the organisation
depends on, at every depth, with the path to each product.

--format json prints one object, the documented result:
  {"query":…, "subject":…, "affected":[{"ods","name","type","icb","region","services","impact","paths"}…],
   "totals":{…}, "names":{node: name…}}
--format csv prints one row per affected organisation (with --org: per product), the columns
of the web download; cells a spreadsheet would run as formulas start with an apostrophe.`,
		Example: `  vigil supply impact --supplier DEMO-PATH
  vigil supply impact --supplier "Demo Pathology Partnership LLP (demo)"
  vigil supply impact --product demo-sentinel-agent --format json
  vigil supply impact --supplier DEMO-PATH --format csv > demo-path.csv
  vigil supply impact --cve CVE-2099-4242
  vigil supply impact --org RJ1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The question's rule is the supply package's, for every adapter.
			req, err := supply.NewImpactRequest(supplier, product, cve, orgODS, impactLimit)
			if req.Empty() {
				return usagef("give exactly one of --supplier, --product, --cve or --org")
			}
			if inv := (*fault.Invalid)(nil); errors.As(err, &inv) {
				return usagef("--%s: %s", inv.Field, inv.Reason)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if req.Reverse() {
					res, err := a.Supply.DependsOn(cmd.Context(), operator(), req.Org)
					if err != nil {
						return err
					}
					if out.is("csv") {
						return supply.WriteDependsCSV(e.stdout, res)
					}
					return e.result(out, res, func() error { return e.printDependsOn(res) })
				}
				if out.is("json") {
					// Streamed, one organisation at a time: the national
					// answer for a large supplier is tens of megabytes.
					st, err := a.Supply.OpenImpact(cmd.Context(), operator(), req.Query, req.Limit)
					if err != nil {
						return err
					}
					defer st.Close()
					return st.WriteJSON(e.stdout, "")
				}
				res, err := a.Supply.Impact(cmd.Context(), operator(), req.Query)
				if err != nil {
					return err
				}
				res.Limit(req.Limit)
				if out.is("csv") {
					return supply.WriteImpactCSV(e.stdout, res)
				}
				return e.printImpact(res)
			})
		},
	}
	c.Flags().StringVar(&supplier, "supplier", "", "a supplier's ID or name (any case), or the ODS code of an NHS body acting as a supplier")
	c.Flags().StringVar(&product, "product", "", "a product's ID or name (any case)")
	c.Flags().StringVar(&cve, "cve", "", "a CVE ID (CVE-YYYY-NNNN), through the products known to contain it")
	c.Flags().IntVar(&impactLimit, "limit", 0, "list only the N worst affected organisations (totals still count all)")
	c.Flags().StringVar(&orgODS, "org", "", "an organisation's ODS code or name: what it depends on, at every depth")
	out = formatFlag(c, "table", "json", "csv")
	return c
}

func pathText(p []string) string { return strings.Join(p, " → ") }

func (e *env) printImpact(res supply.ImpactResult) error {
	t := res.Totals
	printf(e.stdout, "%s: %s affected (%s hard-down, %s degraded, %s exposed), registered population %s, through %s.\n",
		res.Headline(), phrase.Count(t.Organisations, "organisation", ""), phrase.Int(t.HardDown), phrase.Int(t.Degraded), phrase.Int(t.Exposed),
		phrase.People(t.Population), phrase.Count(t.Products, "product", ""))
	if len(res.Affected) == 0 {
		return nil
	}
	fmt.Fprintln(e.stdout)
	err := printRows(e.stdout, 0, res.Affected,
		col("ODS", func(o supply.AffectedOrg) any { return o.ODS }), col("NAME", func(o supply.AffectedOrg) any { return o.Name }),
		col("TYPE", func(o supply.AffectedOrg) any { return o.Type }), col("ICB", func(o supply.AffectedOrg) any { return dash(o.ICB) }),
		col("REGION", func(o supply.AffectedOrg) any { return dash(o.Region) }), col("IMPACT", func(o supply.AffectedOrg) any { return o.Impact }),
		col("SERVICES", func(o supply.AffectedOrg) any { return strings.Join(o.Services, ", ") }),
		col("PATH", func(o supply.AffectedOrg) any {
			path := ""
			if len(o.Paths) > 0 {
				path = pathText(o.Paths[0])
			}
			if o.PathCount > 1 {
				path += "  (+" + phrase.Int(o.PathCount-1) + " more)"
			}
			return path
		}))
	if err != nil {
		return err
	}
	if res.Truncated {
		printf(e.stdout, "… the worst %s of %s shown (--limit); the totals below count all of them\n", phrase.Int(len(res.Affected)), phrase.Int(t.Organisations))
	}
	if err := e.printGroupTotals("BY REGION", t.ByRegion); err != nil {
		return err
	}
	return e.printGroupTotals("BY ICB", t.ByICB)
}

func (e *env) printGroupTotals(title string, gs []supply.GroupTotal) error {
	if len(gs) == 0 {
		return nil
	}
	printf(e.stdout, "\n%s\n", title)
	return printRows(e.stdout, 0, gs,
		col("CODE", func(g supply.GroupTotal) any { return dash(g.Code) }), col("NAME", func(g supply.GroupTotal) any { return dash(g.Name) }),
		col("ORGS", func(g supply.GroupTotal) any { return phrase.Int(g.Organisations) }), col("HARD-DOWN", func(g supply.GroupTotal) any { return phrase.Int(g.HardDown) }),
		col("DEGRADED", func(g supply.GroupTotal) any { return phrase.Int(g.Degraded) }), col("EXPOSED", func(g supply.GroupTotal) any { return phrase.Int(g.Exposed) }),
		col("AFFECTED POPULATION", func(g supply.GroupTotal) any { return phrase.People(g.Population) }),
		col("REGISTERED POPULATION", func(g supply.GroupTotal) any { return phrase.People(g.RegisteredPopulation) }))
}

func (e *env) printDependsOn(res supply.DependsResult) error {
	o := res.Org
	printf(e.stdout, "%s %s (%s, ICB %s, region %s) depends on %s of %s.\n\n",
		o.ODS, o.Name, o.Type, dash(o.ICB), dash(o.Region), phrase.Count(len(res.Products), "product", ""), phrase.Count(len(res.Suppliers), "supplier group", ""))
	if len(res.Products) == 0 {
		return nil
	}
	err := printRows(e.stdout, 0, res.Products,
		col("DEPTH", func(p supply.DependedProduct) any { return p.Depth }), col("PRODUCT", func(p supply.DependedProduct) any { return p.ID }),
		col("NAME", func(p supply.DependedProduct) any { return p.Name }), col("KIND", func(p supply.DependedProduct) any { return p.Kind }),
		col("SUPPLIER", func(p supply.DependedProduct) any { return p.SupplierName }),
		col("SERVICES", func(p supply.DependedProduct) any { return strings.Join(p.Services, ", ") }),
		col("CRITICAL", func(p supply.DependedProduct) any { return yesNo(p.Critical) }),
		col("PATH", func(p supply.DependedProduct) any {
			if len(p.Paths) > 0 {
				return pathText(p.Paths[0])
			}
			return ""
		}))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nSUPPLIER GROUPS")
	return printRows(e.stdout, 0, res.Suppliers,
		col("GROUP", func(s supply.DependedSupplier) any { return s.GroupID }), col("NAME", func(s supply.DependedSupplier) any { return s.Name }),
		col("PRODUCTS", func(s supply.DependedSupplier) any { return phrase.Int(s.Products) }),
		col("NEAREST DEPTH", func(s supply.DependedSupplier) any { return s.MinDepth }),
		col("SERVICES", func(s supply.DependedSupplier) any { return strings.Join(s.Services, ", ") }),
		col("CRITICAL", func(s supply.DependedSupplier) any { return yesNo(s.Critical) }))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func levelList() string {
	var ls []string
	for _, l := range supply.Levels() {
		ls = append(ls, string(l))
	}
	return strings.Join(ls, ", ")
}

func (e *env) supplyConcentrationCmd() *cobra.Command {
	var service, by string
	var out *output
	c := &cobra.Command{
		Use:   "concentration --service NAME|all [--by icb|region|national] [--format table|json]",
		Short: "Market concentration of a service: shares and Herfindahl–Hirschman index",
		Long: `Market concentration of one business service (gp-clinical, pathology, epr, …) nationally,
per region or per ICB: each supplier group's share of the organisations using the service (an
organisation using two suppliers counts half to each) and the Herfindahl–Hirschman index, the
sum of the squared percentage shares (0–10,000; 10,000 is one supplier serving everyone; above
2,500 is highly concentrated).

--format json prints one object:
  {"service":…, "by":…, "groups":[{"code","name","organisations","hhi","shares":[{"supplier_id","share"}…]}…]}
with shares as fractions. --service all prints the full report: every service at every level,
and the regions and ICBs where one supplier serves the whole service (--by does not apply).`,
		Example: `  vigil supply concentration --service gp-clinical --by icb
  vigil supply concentration --service pathology --by region --format json
  vigil supply concentration --service all --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if service == "" {
				return usagef("--service is required (a service such as gp-clinical, or all)")
			}
			all := service == "all"
			if all && by != "" {
				return usagef("--by does not apply to --service all, which reports every level")
			}
			if !all {
				if by == "" {
					by = string(supply.National)
				}
				if supply.Level(by) != supply.National && supply.Level(by) != supply.ByRegion && supply.Level(by) != supply.ByICB {
					return usagef("--by %q: want one of %s", by, levelList())
				}
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if all {
					rep, err := a.Supply.ConcentrationAll(cmd.Context(), operator())
					if err != nil {
						return err
					}
					return e.result(out, rep, func() error {
						for i, r := range rep.Results {
							if i > 0 {
								fmt.Fprintln(e.stdout)
							}
							if err := e.printConcentration(r); err != nil {
								return err
							}
						}
						return e.printMonopolies(rep.Monopolies)
					})
				}
				res, err := a.Supply.Concentration(cmd.Context(), operator(), service, supply.Level(by))
				if err != nil {
					return err
				}
				return e.result(out, res, func() error { return e.printConcentration(res) })
			})
		},
	}
	c.Flags().StringVar(&service, "service", "", "the business service (e.g. gp-clinical, pathology), or all")
	c.Flags().StringVar(&by, "by", "", "group by "+levelList()+" (default national)")
	out = formatFlag(c, "table", "json")
	return c
}

func levelTitle(l supply.Level) string {
	switch l {
	case supply.ByICB:
		return "by ICB"
	case supply.ByRegion:
		return "by region"
	}
	return "nationally"
}

func (e *env) printConcentration(r supply.ConcentrationResult) error {
	printf(e.stdout, "%s %s\n", r.Service, levelTitle(r.By))
	return printRows(e.stdout, 0, r.Groups,
		col("CODE", func(g supply.ConcentrationGroup) any { return g.Code }), col("NAME", func(g supply.ConcentrationGroup) any { return g.Name }),
		col("ORGS", func(g supply.ConcentrationGroup) any { return phrase.Int(g.Organisations) }),
		col("HHI", func(g supply.ConcentrationGroup) any { return phrase.Round(g.HHI) }),
		col("SHARES", func(g supply.ConcentrationGroup) any {
			var shares []string
			for i, s := range g.Shares {
				if i == 4 {
					shares = append(shares, "+"+phrase.Int(len(g.Shares)-4)+" more")
					break
				}
				shares = append(shares, s.SupplierID+" "+phrase.Percent(s.Share))
			}
			return strings.Join(shares, ", ")
		}))
}

func (e *env) printMonopolies(ms []supply.Monopoly) error {
	printf(e.stdout, "\nONE SUPPLIER SERVES EVERY ORGANISATION (%s)\n", phrase.Int(len(ms)))
	if len(ms) == 0 {
		return nil
	}
	return printRows(e.stdout, 0, ms,
		col("SERVICE", func(m supply.Monopoly) any { return m.Service }), col("LEVEL", func(m supply.Monopoly) any { return m.By }),
		col("CODE", func(m supply.Monopoly) any { return m.Code }), col("NAME", func(m supply.Monopoly) any { return m.Name }),
		col("SUPPLIER", func(m supply.Monopoly) any { return tsprintf("%s (%s)", m.SupplierID, m.SupplierName) }),
		col("ORGS", func(m supply.Monopoly) any { return phrase.Int(m.Organisations) }))
}

func (e *env) supplyRiskCmd() *cobra.Command {
	var out *output
	var limit int
	c := &cobra.Command{
		Use:   "risk [--limit N] [--format table|json]",
		Short: "Systemic risk: suppliers and products ranked by reach, and single points of failure",
		Long: `Systemic risk. Supplier groups and products are ranked by systemic importance: every
organisation their compromise reaches, at any depth (so hosting, security-agent and identity
suppliers collect the organisations of everything built on them), weighted by impact class
(hard-down 1, degraded 0.5, exposed 0.1) and by registered population (10,000 people count as
one more organisation). Single points of failure are suppliers or products whose loss alone
makes every organisation using a service in a region or ICB hard-down.`,
		Example: `  vigil supply risk
  vigil supply risk --limit 100 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return usagef("--limit must be at least 1")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				res, err := a.Supply.Systemic(cmd.Context(), operator(), supply.SystemicOptions{Limit: limit})
				if err != nil {
					return err
				}
				return e.result(out, res, func() error { return e.printRisk(res) })
			})
		},
	}
	c.Flags().IntVar(&limit, "limit", 20, "how many suppliers and products to rank")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) printRisk(res supply.SystemicResult) error {
	fmt.Fprintln(e.stdout, "SUPPLIER GROUPS BY SYSTEMIC IMPORTANCE")
	rank := 0
	err := printRows(e.stdout, 0, res.Suppliers,
		col("#", func(supply.SupplierRisk) any { rank++; return rank }), col("GROUP", func(s supply.SupplierRisk) any { return s.GroupID }),
		col("NAME", func(s supply.SupplierRisk) any { return s.Name }), col("CRITICAL", func(s supply.SupplierRisk) any { return yesNo(s.DesignatedCritical) }),
		col("PRODUCTS", func(s supply.SupplierRisk) any { return phrase.Int(s.Products) }),
		col("DEPENDENT PRODUCTS", func(s supply.SupplierRisk) any { return phrase.Int(s.DependentProducts) }),
		col("ORGS", func(s supply.SupplierRisk) any { return phrase.Int(s.Organisations) }),
		col("HARD-DOWN", func(s supply.SupplierRisk) any { return phrase.Int(s.HardDown) }),
		col("DEGRADED", func(s supply.SupplierRisk) any { return phrase.Int(s.Degraded) }),
		col("EXPOSED", func(s supply.SupplierRisk) any { return phrase.Int(s.Exposed) }),
		col("POPULATION", func(s supply.SupplierRisk) any { return phrase.People(s.Population) }),
		col("SCORE", func(s supply.SupplierRisk) any { return tsprintf("%.1f", s.Score) }))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nPRODUCTS BY SYSTEMIC IMPORTANCE")
	rank = 0
	err = printRows(e.stdout, 0, res.Products,
		col("#", func(supply.ProductRisk) any { rank++; return rank }), col("PRODUCT", func(p supply.ProductRisk) any { return p.ProductID }),
		col("NAME", func(p supply.ProductRisk) any { return p.Name }), col("SUPPLIER", func(p supply.ProductRisk) any { return p.SupplierID }),
		col("DEPENDENT PRODUCTS", func(p supply.ProductRisk) any { return phrase.Int(p.DependentProducts) }),
		col("ORGS", func(p supply.ProductRisk) any { return phrase.Int(p.Organisations) }),
		col("HARD-DOWN", func(p supply.ProductRisk) any { return phrase.Int(p.HardDown) }),
		col("POPULATION", func(p supply.ProductRisk) any { return phrase.People(p.Population) }),
		col("SCORE", func(p supply.ProductRisk) any { return tsprintf("%.1f", p.Score) }))
	if err != nil {
		return err
	}
	printf(e.stdout, "\nSINGLE POINTS OF FAILURE (%s)\n", phrase.Int(len(res.SinglePoints)))
	if len(res.SinglePoints) == 0 {
		return nil
	}
	return printRows(e.stdout, 0, res.SinglePoints,
		col("NODE", func(s supply.SinglePoint) any { return s.Node }), col("NAME", func(s supply.SinglePoint) any { return s.Name }),
		col("SERVICE", func(s supply.SinglePoint) any { return s.Service }), col("LEVEL", func(s supply.SinglePoint) any { return s.By }),
		col("CODE", func(s supply.SinglePoint) any { return s.Code }), col("GROUP", func(s supply.SinglePoint) any { return s.GroupName }),
		col("ORGS", func(s supply.SinglePoint) any { return phrase.Int(s.Organisations) }),
		col("POPULATION", func(s supply.SinglePoint) any { return phrase.People(s.Population) }))
}

func (e *env) supplySnapshotCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "snapshot [--format table|json]",
		Short: "Record today's concentration report, so later reports can show the trend",
		Long: `Record the national concentration report — every service, level, group and supplier share —
with the current time, so that trends over time can be shown. Run it on a schedule (e.g. monthly
from cron). The snapshot is recorded in the audit log.`,
		Example: "  vigil supply snapshot",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				snap, err := a.Supply.RecordSnapshot(cmd.Context(), operator())
				if err != nil {
					return err
				}
				return e.result(out, snap, func() error {
					printf(e.stdout, "concentration snapshot taken at %s: %s\n", snap.TakenAt, phrase.Count(snap.Rows, "row", ""))
					return nil
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) supplyGenerateCmd() *cobra.Command {
	var out string
	var seed uint64
	var fromDB, createOrgs bool
	c := &cobra.Command{
		Use:   "generate --out DIR [--seed N] [--orgs-from-db | --create-orgs]",
		Short: "Write a synthetic national-scale register (CSV) for benchmarks and demos",
		Long: `Write a synthetic, national-scale supplier register into DIR as the CSV files 'vigil supply
import' reads: about 20,000 suppliers, 50,000 products, 100,000 dependencies and 300,000
deployments over 39 services, shaped like the real market (two large GP clinical-system
suppliers, a few EPRs, regional pathology networks, hosting, security agents and identity
providers under most products, and a long tail). The same --seed gives the same files.

The deployments name organisations, which must exist before the import:
  --orgs-from-db  deploy to the active trusts, GP practices and other providers already in
                  the database (e.g. after 'vigil orgs import' of the real ODS extracts)
  --create-orgs   deploy to 10,000 synthetic organisations and create those missing in the
                  database first (flagged as demo data; use a scratch data directory)
Without either, the files name synthetic organisations and nothing is written to the database.`,
		Example: `  vigil --data-dir /tmp/bench supply generate --out /tmp/national --create-orgs
  vigil --data-dir /tmp/bench supply import /tmp/national`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			if fromDB && createOrgs {
				return usagef("give --orgs-from-db or --create-orgs, not both")
			}
			cfg := supplygen.National(seed)
			if !fromDB && !createOrgs {
				return e.writeEstate(supplygen.Generate(cfg), out)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if fromDB {
					all, err := a.Orgs.All(cmd.Context())
					if err != nil {
						return err
					}
					for _, o := range all {
						if o.Status == org.Active {
							cfg.Orgs = append(cfg.Orgs, o)
						}
					}
					return e.writeEstate(supplygen.Generate(cfg), out)
				}
				est := supplygen.Generate(cfg)
				made := 0
				for _, o := range est.Orgs {
					if _, err := a.Orgs.Lookup(cmd.Context(), o.Code); err == nil {
						continue
					}
					o.Path, o.Demo, o.Source = "", true, "supplygen"
					if _, err := a.Orgs.Create(cmd.Context(), operator(), o); err != nil {
						return fmt.Errorf("synthetic organisation %s: %w", o.Code, err)
					}
					made++
				}
				printf(e.stdout, "synthetic organisations: %d created, %d already there\n", made, len(est.Orgs)-made)
				return e.writeEstate(est, out)
			})
		},
	}
	c.Flags().StringVar(&out, "out", "", "directory to write the CSV files into")
	c.Flags().Uint64Var(&seed, "seed", 42, "random seed (the same seed gives the same files)")
	c.Flags().BoolVar(&fromDB, "orgs-from-db", false, "deploy to the organisations already in the database")
	c.Flags().BoolVar(&createOrgs, "create-orgs", false, "deploy to synthetic organisations, creating them in the database")
	return c
}

func (e *env) writeEstate(est *supplygen.Estate, dir string) error {
	if err := est.WriteDir(dir); err != nil {
		return err
	}
	var parts []string
	for _, name := range supplygen.FileNames {
		parts = append(parts, fmt.Sprintf("%s %d rows", name, len(est.Files[name])-1))
	}
	printf(e.stdout, "wrote %s: %s (for %d organisations)\n", dir, strings.Join(parts, ", "), len(est.Orgs))
	return nil
}
