package cli

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/vuln"
)

// Stored SBOMs, inventories and findings (issue 18): thin commands over
// vuln.SBOMs, run as the operator.

func (e *env) vulnSBOMCmd() *cobra.Command {
	c := &cobra.Command{Use: "sbom", Short: "Stored SBOMs of supplier products, per product version"}
	c.AddCommand(e.vulnSBOMAddCmd(), e.vulnSBOMListCmd(vuln.KindProduct), e.vulnSBOMShowCmd(), e.vulnSBOMDeleteCmd())
	return c
}

func (e *env) vulnInventoryCmd() *cobra.Command {
	c := &cobra.Command{Use: "inventory", Short: "Stored inventories of organisations' assets and software"}
	c.AddCommand(e.vulnInventoryAddCmd(), e.vulnSBOMListCmd(vuln.KindInventory))
	return c
}

func (e *env) vulnSBOMAddCmd() *cobra.Command {
	var product, version string
	var out *output
	c := &cobra.Command{
		Use:   "add --product ID --version V FILE",
		Short: "Store a supplier product's SBOM at one version (CycloneDX or SPDX), matched at once when the server has an OSV directory",
		Long: `Stores the SBOM of a supplier product at one version. The components are kept with their purls as
written (Maven group IDs, npm scopes, Go module paths whole). With --vuln-osv set, the stored SBOMs
are matched at once; otherwise run vigil vuln match --osv DIR.`,
		Example: `  vigil vuln sbom add --product FLUX --version 0.26.3 ../shared/data/vuln/sbom/go-flux2-v0.26.3.spdx22.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if product == "" || version == "" {
				return usagef("--product and --version are required")
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.SBOMs.AddProductSBOM(cmd.Context(), operator(), product, version, args[0], data)
				if err != nil {
					return err
				}
				return e.resultID(out, x, x.ID, func() error { return e.sbomTable(x) })
			})
		},
	}
	c.Flags().StringVar(&product, "product", "", "the supplier product's register ID or name")
	c.Flags().StringVar(&version, "version", "", "the product version the SBOM describes")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) vulnInventoryAddCmd() *cobra.Command {
	var orgCode string
	var m vuln.InventoryMeta
	var out *output
	c := &cobra.Command{
		Use:   "add --org CODE [--name N] [--criticality C] [--exposure internet|internal] FILE",
		Short: "Store an organisation's inventory of assets and software (a CycloneDX or SPDX file)",
		Long: `The asset's criticality (critical, high, medium, low) and exposure (internet, internal) feed
the priority of its findings.`,
		Example: `  vigil vuln inventory add --org RJ1 --name "GitOps cluster" --criticality high --exposure internet flux.spdx.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if orgCode == "" {
				return usagef("--org is required")
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.SBOMs.AddInventory(cmd.Context(), operator(), orgCode, m, args[0], data)
				if err != nil {
					return err
				}
				return e.resultID(out, x, x.ID, func() error { return e.sbomTable(x) })
			})
		},
	}
	c.Flags().StringVar(&orgCode, "org", "", "the organisation's ODS code")
	c.Flags().StringVar(&m.Name, "name", "", "the inventory's name (default: the file's)")
	c.Flags().StringVar(&m.Criticality, "criticality", "", strings.Join(vuln.Criticalities(), ", "))
	c.Flags().StringVar(&m.Exposure, "exposure", "", "internet or internal")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) sbomTable(x vuln.StoredSBOM) error {
	tw := newTable(e.stdout)
	tw.row("id", x.ID)
	tw.row("owner", x.Owner())
	tw.row("name", x.Name)
	tw.row("format", x.Format)
	tw.row("components", phrase.Int(x.Components)+" with a purl ("+phrase.Int(x.NoPURL)+" without, "+phrase.Int(x.Unsupported)+" of an ecosystem not matched)")
	if x.Kind == vuln.KindInventory {
		tw.row("criticality", dash(x.Criticality))
		tw.row("exposure", dash(x.Exposure))
	}
	tw.row("sha256", x.SHA256)
	tw.row("added", x.AddedAt.UTC().Format(time.RFC3339)+" by "+x.AddedBy)
	matched := "not yet (vigil vuln match --osv DIR)"
	if x.MatchedAt != nil {
		matched = x.MatchedAt.UTC().Format(time.RFC3339)
	}
	tw.row("matched", matched)
	tw.row("findings", findingCounts(x.Findings))
	return tw.flush()
}

func findingCounts(m map[string]int) string {
	var parts []string
	for _, l := range vuln.PriorityLevels() {
		if m[l] > 0 {
			parts = append(parts, l+" "+phrase.Int(m[l]))
		}
	}
	return dash(strings.Join(parts, ", "))
}

func (e *env) vulnSBOMListCmd(kind string) *cobra.Command {
	var f vuln.SBOMFilter
	var out *output
	use, short := "list [--product ID] [--format table|json|ids]", "List stored product SBOMs (of one product with --product), newest first"
	if kind == vuln.KindInventory {
		use, short = "list [--org CODE] [--format table|json|ids]", "List stored inventories (of one organisation with --org), newest first"
	}
	c := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				xs, err := a.SBOMs.List(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("ID", func(x vuln.StoredSBOM) any { return x.ID }),
					col("OWNER", func(x vuln.StoredSBOM) any { return x.Owner() }),
					col("NAME", func(x vuln.StoredSBOM) any { return x.Name }),
					col("COMPONENTS", func(x vuln.StoredSBOM) any { return phrase.Int(x.Components) }),
					col("FINDINGS", func(x vuln.StoredSBOM) any { return findingCounts(x.Findings) }),
					col("ADDED", func(x vuln.StoredSBOM) any { return x.AddedAt.UTC().Format(time.RFC3339) }))
				for _, x := range xs {
					if x.Kind != kind {
						continue
					}
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	if kind == vuln.KindInventory {
		c.Flags().StringVar(&f.Org, "org", "", "only this organisation's")
	} else {
		c.Flags().StringVar(&f.Product, "product", "", "only this product's")
	}
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) vulnSBOMShowCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "show ID [--format table|json]",
		Short: "Show a stored SBOM or inventory with its components and purls",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.SBOMs.Get(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, x, func() error {
					if err := e.sbomTable(x); err != nil {
						return err
					}
					printf(e.stdout, "\n")
					return printRows(e.stdout, 0, x.Items,
						col("NAME", func(c vuln.StoredComponent) any { return c.Name }),
						col("VERSION", func(c vuln.StoredComponent) any { return c.Version }),
						col("ECOSYSTEM", func(c vuln.StoredComponent) any { return dash(c.Ecosystem) }),
						col("PURL", func(c vuln.StoredComponent) any { return c.PURL }))
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) vulnSBOMDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Remove a stored SBOM or inventory and its findings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.SBOMs.Delete(cmd.Context(), operator(), args[0]); err != nil {
					return err
				}
				printf(e.stdout, "removed %s\n", args[0])
				return nil
			})
		},
	}
}

func (e *env) vulnFindingsCmd() *cobra.Command {
	var f vuln.FindingFilter
	var q vuln.FindingQuery
	var all bool
	var limit int
	var out *output
	c := &cobra.Command{
		Use:   "findings (--all [filters] | --product ID | --org CODE | --sbom ID) [--priority P1] [--format table|json|ids]",
		Short: "List stored findings, most urgent first, with priority, SLA due date, state and why",
		Long: `Each finding of the last match (vigil vuln match) with its priority (P1–P4), the points each
input gave (CVSS, CISA KEV, EPSS, the supplier graph's deployments for a product, the asset's
criticality and exposure for an inventory), when it was first found and when it is due under the SLA.
REF names the finding for vigil vuln finding acknowledge|accept-risk|close|reopen.

--all is the national view across every product and organisation, listing the findings still to be
dealt with (--state to choose others), filtered by --priority, --ecosystem, --cve, --org, --icb,
--product, --kind and --overdue.`,
		Example: `  vigil vuln findings --all --priority P1 --overdue
  vigil vuln findings --all --cve CVE-2023-44487 --icb QKK --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all {
				q.Level, q.Org, q.Product = f.Level, f.Org, f.Product
				if f.SBOM != "" {
					return usagef("--sbom and --all do not go together")
				}
				return e.vulnFindingsAll(cmd, out, q, limit)
			}
			if q.Ecosystem != "" || q.CVE != "" || q.ICB != "" || q.State != "" || q.Kind != "" || q.Overdue {
				return usagef("--ecosystem, --cve, --icb, --state, --kind and --overdue filter the national view: add --all")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				fs, err := a.SBOMs.Findings(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				l := newLister(e, out, findingColumns()...)
				for _, x := range fs {
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "the national view: every finding you may see, across products and organisations")
	c.Flags().StringVar(&f.Product, "product", "", "a supplier product's findings (all its stored versions)")
	c.Flags().StringVar(&f.Org, "org", "", "an organisation's inventories' findings")
	c.Flags().StringVar(&f.SBOM, "sbom", "", "one stored SBOM's findings")
	c.Flags().StringVar(&f.Level, "priority", "", "only this priority (P1, P2, P3, P4)")
	c.Flags().StringVar(&q.Ecosystem, "ecosystem", "", "with --all: only this OSV ecosystem (Go, npm, Debian, Debian:9, …)")
	c.Flags().StringVar(&q.CVE, "cve", "", "with --all: only findings answering to this ID (own, alias or related)")
	c.Flags().StringVar(&q.ICB, "icb", "", "with --all: only inventories of organisations under this ICB or region")
	c.Flags().StringVar(&q.Kind, "kind", "", "with --all: product or inventory")
	c.Flags().StringVar(&q.State, "state", "", "with --all: open, acknowledged, risk-accepted, closed, suppressed or all (default: still to be dealt with)")
	c.Flags().BoolVar(&q.Overdue, "overdue", false, "with --all: only those past their SLA due date")
	c.Flags().IntVar(&limit, "limit", 0, "with --all: at most this many (default: every one)")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) vulnMatchCmd() *cobra.Command {
	var r vuln.MatchRequest
	var out *output
	c := &cobra.Command{
		Use:   "match [--osv DIR] [--kev FILE] [--epss FILE] [--full]",
		Short: "Match the stored SBOMs and inventories against OSV advisories and store their findings",
		Long: `Judges every stored component against the OSV directory (--osv, else the server's --vuln-osv)
and stores the findings with their priority and SLA due date. A command runs in its own process,
so each run here is a full match; a server (POST /api/v1/vuln/match) keeps the last match and
judges again only the advisories that changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				rep, err := a.SBOMs.Match(cmd.Context(), operator(), r)
				if err != nil {
					return err
				}
				return e.result(out, rep, func() error {
					tw := newTable(e.stdout)
					tw.row("mode", rep.Mode)
					tw.row("osv", rep.OSVDir)
					tw.row("advisories", phrase.Int(rep.Advisories))
					tw.row("sboms", phrase.Int(rep.SBOMs)+" ("+phrase.Int(rep.Components)+" components, "+phrase.Int(rep.Rewritten)+" rewritten)")
					tw.row("findings", phrase.Int(rep.Findings)+" ("+findingCounts(rep.ByLevel)+")")
					tw.row("took", rep.Took)
					return tw.flush()
				})
			})
		},
	}
	c.Flags().StringVar(&r.OSVDir, "osv", "", "directory of OSV advisories (default: the server's --vuln-osv)")
	c.Flags().StringVar(&r.KEVFile, "kev", "", "CISA KEV catalogue (default: --vuln-kev)")
	c.Flags().StringVar(&r.EPSSFile, "epss", "", "FIRST EPSS CSV (default: --vuln-epss)")
	c.Flags().BoolVar(&r.Full, "full", false, "judge everything again")
	out = formatFlag(c, "table", "json")
	return c
}
