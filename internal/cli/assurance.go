package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/phrase"
)

// assuranceCmd is `vigil assurance`: requirement sets and the health
// schemes' evidence for supplier assurance (issue 20).
func (e *env) assuranceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "assurance",
		Short: "Supplier assurance: requirement sets (CAF, CISO Assistant libraries), DSPT statuses, campaigns and statements",
		Long: `Requirement sets are frameworks kept as versioned data: a tree of objectives, principles and
outcomes (or a library's requirements), the CAF's indicators of good practice at three levels,
the rules that derive an outcome's status from them, and profiles (targets per outcome).

  vigil assurance import cyber-assessment-framework-v3.2.yaml nist-csf-2.0.yaml
  vigil assurance list
  vigil assurance dspt import dspt_trusts_snapshot_16_11_23.csv
  vigil assurance campaign create --name "CAF 2027" --set webcaf-caf@3.2 --profile baseline --tier critical --deadline 2027-03-31
  vigil assurance statement score ST-…
  vigil assurance certificate add --supplier SYNNOVIS --scheme cyber-essentials-plus --number IASME-CEP-1 --issued 2026-03-01
  vigil assurance evidence --supplier SYNNOVIS
  vigil assurance expiring --within 60d`,
	}
	dspt := &cobra.Command{Use: "dspt", Short: "Data Security and Protection Toolkit statuses by edition"}
	dspt.AddCommand(e.assuranceDSPTImportCmd())
	c.AddCommand(e.assuranceImportCmd(), e.assuranceListCmd(), dspt, e.assuranceCampaignCmd(), e.assuranceStatementCmd(), e.assuranceTiersCmd())
	c.AddCommand(e.assuranceSchemeCmds()...)
	c.AddCommand(e.assuranceViewCmds()...)
	return c
}

func (e *env) assuranceImportCmd() *cobra.Command {
	var version string
	var out *output
	c := &cobra.Command{
		Use:   "import FILE... [--version V] [--format table|json]",
		Short: "Import requirement sets from WebCAF CAF YAML or CISO Assistant library YAML files",
		Long: `Import requirement sets. The format is recognised from the content:

  WebCAF CAF YAML (GOV.UK WebCAF): objectives → principles → outcomes with their
      achieved / partially-achieved / not-achieved indicators, assessment rules and (CAF 3.2)
      baseline and enhanced profiles. The file holds no version: it is read from the name
      (cyber-assessment-framework-v3.2.yaml is 3.2) or given with --version.
  CISO Assistant library YAML: objects.framework.requirement_nodes (assessable nodes are
      requirements); implementation groups become profiles. Libraries of reference controls
      only are refused.

Files ending .gz are unpacked. Every file is read and checked first; a malformed one is
reported as file:line:column: node: reason and nothing is imported. The sets are then stored
in one transaction. A set is its key and version: the same version again is "unchanged", a
new version is kept beside the old, and the same version with other content is refused.`,
		Example: `  vigil assurance import shared/data/frameworks/webcaf/*.yaml
  vigil assurance import nist-sp-800-53-rev5.yaml.gz --format json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version != "" && len(args) > 1 {
				return errors.New("--version names the version of one file; import files with different versions one at a time")
			}
			var sets []*assurance.Set
			var errs []string
			for _, path := range args {
				data, err := assurance.ReadFile(path)
				if err == nil {
					var set *assurance.Set
					set, err = assurance.Parse(path, data, assurance.ParseOptions{Version: version})
					sets = append(sets, set)
				}
				if err != nil {
					errs = append(errs, err.Error())
				}
			}
			if len(errs) > 0 {
				for _, m := range errs {
					printf(e.stderr, "%s\n", m)
				}
				return fmt.Errorf("%d of %d file(s) could not be read: nothing was imported", len(errs), len(args))
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				res, err := a.Assurance.ImportAll(cmd.Context(), operator(), sets)
				if err != nil {
					return err
				}
				return e.result(out, res, func() error {
					return printRows(e.stdout, 0, res,
						col("ID", func(r assurance.ImportResult) any { return r.ID }),
						col("OUTCOME", func(r assurance.ImportResult) any { return r.Outcome }),
						col("NAME", func(r assurance.ImportResult) any { return r.Name }),
						col("REQUIREMENTS", func(r assurance.ImportResult) any { return phrase.Int(r.Requirements) }),
						col("INDICATORS", func(r assurance.ImportResult) any { return phrase.Int(r.Indicators.Total()) }),
						col("PROFILES", func(r assurance.ImportResult) any { return dash(strings.Join(r.Profiles, ", ")) }))
				})
			})
		},
	}
	c.Flags().StringVar(&version, "version", "", "the version of a WebCAF file whose name gives none")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) assuranceListCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "list [--format table|json]",
		Short: "List the requirement sets held, with their counts",
		Long: `List every requirement set held, by key then version. --format json prints one array:
[{"id", "key", "name", "version", "format", "source", "imported_at", "nodes", "requirements",
"outcomes", "indicators": {"achieved", "partially_achieved", "not_achieved"}, "profiles": [...]}].
requirements counts assessable nodes (a CAF outcome; a library's assessable requirement);
outcomes and indicators are 0 for frameworks without them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.List(cmd.Context())
				if err != nil {
					return err
				}
				return e.result(out, list, func() error {
					return printRows(e.stdout, 0, list,
						col("ID", func(s assurance.Summary) any { return s.ID }),
						col("NAME", func(s assurance.Summary) any { return s.Name }),
						col("VERSION", func(s assurance.Summary) any { return s.Version }),
						col("REQUIREMENTS", func(s assurance.Summary) any { return phrase.Int(s.Requirements) }),
						col("OUTCOMES", func(s assurance.Summary) any { return phrase.Int(s.Outcomes) }),
						col("A/PA/NA", func(s assurance.Summary) any {
							if s.Indicators.Total() == 0 {
								return "-"
							}
							return fmt.Sprintf("%d/%d/%d", s.Indicators.Achieved, s.Indicators.PartiallyAchieved, s.Indicators.NotAchieved)
						}),
						col("PROFILES", func(s assurance.Summary) any { return dash(strings.Join(s.Profiles, ", ")) }))
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) assuranceDSPTImportCmd() *cobra.Command {
	var snapshot string
	var out *output
	c := &cobra.Command{
		Use:   "import FILE... [--snapshot YYYY-MM-DD] [--format table|json]",
		Short: "Import DSPT status snapshots (CSV) by organisation code and edition",
		Long: `Import the published DSPT status snapshots: CSV files with a header naming Code (or ODS Code)
and Status (or Latest.Status), such as "22/23 Standards Met", and optionally Date Of
Publication. "Not Published", "#N/A" and empty statuses are skipped and counted.

The snapshot's date comes from the file name (…_16_11_23.csv, …_20220208.csv) or --snapshot.
Per organisation and edition the latest snapshot wins, whatever order the files are given in.
Every file is checked first; an error names file:line and nothing is imported.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if snapshot != "" && len(args) > 1 {
				return errors.New("--snapshot dates one file; import snapshots of different dates one at a time")
			}
			var in []assurance.DSPTInput
			for _, path := range args {
				data, err := assurance.ReadFile(path)
				if err != nil {
					return err
				}
				in = append(in, assurance.DSPTInput{Name: path, Data: data, Snapshot: snapshot})
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				rep, err := a.Assurance.ImportDSPT(cmd.Context(), operator(), in)
				if err != nil {
					return err
				}
				return e.result(out, rep, func() error {
					if err := printRows(e.stdout, tabwriter.AlignRight, rep.Files,
						col("FILE", func(f assurance.DSPTFile) any { return f.File }),
						col("SNAPSHOT", func(f assurance.DSPTFile) any { return f.Snapshot }),
						col("ROWS", func(f assurance.DSPTFile) any { return phrase.Int(f.Rows) }),
						col("STATUSES", func(f assurance.DSPTFile) any { return phrase.Int(f.Statuses) }),
						col("SKIPPED", func(f assurance.DSPTFile) any { return phrase.Int(f.Skipped) }),
						col("", func(assurance.DSPTFile) any { return "" })); err != nil {
						return err
					}
					printf(e.stdout, "%d created, %d updated, %d unchanged, %d older than the snapshot held\n", rep.Created, rep.Updated, rep.Unchanged, rep.Older)
					counts, err := a.Assurance.DSPTCounts(cmd.Context())
					if err != nil {
						return err
					}
					eds := make([]string, 0, len(counts))
					for ed := range counts {
						eds = append(eds, ed)
					}
					sort.Sort(sort.Reverse(sort.StringSlice(eds)))
					for _, ed := range eds {
						c := counts[ed]
						printf(e.stdout, "%s: %d exceeded, %d met, %d approaching, %d not met\n", ed,
							c[assurance.DSPTExceeded], c[assurance.DSPTMet], c[assurance.DSPTApproaching], c[assurance.DSPTNotMet])
					}
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&snapshot, "snapshot", "", "the snapshot's date (YYYY-MM-DD) when the file name gives none")
	out = formatFlag(c, "table", "json")
	return c
}
