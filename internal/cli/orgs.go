package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"

	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/progress"
)

func typeList() string { return joinNames(org.Types()) }

func (e *env) orgsCmd() *cobra.Command {
	c := &cobra.Command{Use: "orgs", Short: "Organisations: list, show, import the ODS extracts, create"}
	var typ, status, under, query string
	var closed, outside bool
	var out *output
	list := &cobra.Command{
		Use:   "list [--type T] [--under ODS] [--q TEXT] [--format table|json]",
		Short: "List organisations (json: one object per line)",
		Long: "List organisations: by default the active ones of NHS England. --all adds closed ones; --outside adds bodies\n" +
			"outside NHS England (NHS Wales, the Crown dependencies), which --under a nation's code lists anyway. Types: " + typeList() + ".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ != "" && !org.Type(typ).Valid() {
				return usagef("--type %q: want one of %s", typ, typeList())
			}
			if status == "" && !closed {
				status = string(org.Active)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				l := newLister(e, out,
					col("ODS", func(o org.Org) any { return o.Code }), col("NAME", func(o org.Org) any { return o.Name }),
					col("TYPE", func(o org.Org) any { return o.Type }), col("PARENT", func(o org.Org) any { return o.Parent }),
					col("ICB", func(o org.Org) any { return dash(o.ICB) }), col("REGION", func(o org.Org) any { return dash(o.Region) }),
					col("STATUS", func(o org.Org) any { return o.Status }))
				f := org.ListFilter{Type: org.Type(typ), Status: org.Status(status), Under: strings.ToUpper(under), Query: query, Outside: outside}
				if err := pages(math.MaxInt, org.MaxPage, func(n int, after string) ([]org.Org, string, error) {
					f.Limit, f.After = n, after
					return a.Orgs.List(cmd.Context(), operator(), f)
				}, l.add); err != nil {
					return err
				}
				return l.flush()
			})
		},
	}
	list.Flags().StringVar(&typ, "type", "", "only this type: "+typeList())
	list.Flags().StringVar(&status, "status", "", "active or closed (default active)")
	list.Flags().BoolVar(&closed, "all", false, "include closed organisations")
	list.Flags().BoolVar(&outside, "outside", false, "include bodies outside NHS England (NHS Wales, the Crown dependencies)")
	list.Flags().StringVar(&under, "under", "", "only the subtree of this ODS code")
	list.Flags().StringVar(&query, "q", "", "search code and name: each word finds the words it begins (\"leeds teach\")")
	out = formatFlag(list, "table", "json")

	get := &cobra.Command{
		Use:   "get ODS",
		Short: "Show one organisation as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				o, err := a.Orgs.Get(cmd.Context(), operator(), strings.ToUpper(args[0]))
				if err != nil {
					return fmt.Errorf("organisation %s: %w", strings.ToUpper(args[0]), err)
				}
				enc := json.NewEncoder(jsonWriter{e.stdout})
				enc.SetIndent("", "  ")
				return enc.Encode(o)
			})
		},
	}

	var opts org.ImportOptions
	var importOut *output
	imp := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import organisations from the public ODS extracts and lookups",
		Long: `Import organisations from the public ODS CSV extracts and ONS/NHS lookups:
  lookups/derived-sicbl-icb-nhser-hierarchy.csv or the ONS SICBL→ICB→region lookup (regions, ICBs, sub-ICBs)
  lookups/icb24_names_codes_dec2024.csv  (current ICB names)
  ods/etr.csv, ods/ect.csv               (NHS trusts, care trusts)
  ods/eccg.csv                           (sub-ICB locations)
  ods/epraccur.csv                       (GP practices; --all-settings adds other prescribing settings)
  gp_patients/gp-reg-pat-prac-all*.csv   (registered patients per practice)
Files may be given in any order. Re-running updates organisations in place; closed ones are
marked closed; a bad row is reported as file:line and skipped, and the rest load. Names published
in capitals are made readable ("Guy's and St Thomas' NHS Foundation Trust"); NHS Wales and the
Crown dependencies go under nodes of their own, outside England's tree, counts and default lists
(orgs list --outside shows them). Writes are batched, one transaction per batch; the run is one
audit entry (files with their SHA-256, counts, up to 1,000 changes), and --format json lists every
change.`,
		Example: "  vigil orgs import ../shared/data/nhs/lookups/derived-sicbl-icb-nhser-hierarchy.csv ../shared/data/nhs/ods/*.csv",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				bar := progress.New(e.stderr, "importing organisations")
				opts.Progress = bar.Update
				rep, err := a.Orgs.Import(cmd.Context(), operator(), args, opts)
				bar.Done()
				if perr := e.result(importOut, rep, func() error { e.printImport(rep); return nil }); perr != nil {
					return errors.Join(err, perr)
				}
				if err != nil {
					return err
				}
				if rep.RowError > 0 {
					return fmt.Errorf("%d row(s) had errors and were skipped (listed above); the rest were imported", rep.RowError)
				}
				return nil
			})
		},
	}
	imp.Flags().BoolVar(&opts.DryRun, "dry-run", false, "validate and report, change nothing")
	imp.Flags().BoolVar(&opts.AllSettings, "all-settings", false, "also import non-GP prescribing settings and commissioning hubs as other-provider")
	importOut = formatFlag(imp, "table", "json")

	var no org.Org
	var ntype string
	create := &cobra.Command{
		Use:   "create --ods CODE --name NAME --type TYPE [--parent ODS]",
		Short: "Create an organisation (e.g. a supplier tenant)",
		Long: `Create an organisation under its parent. Types follow the NHS hierarchy: a region under
the national root (` + org.RootCode + `), an ICB under a region, a sub-ICB under an ICB, a trust or GP practice
under a sub-ICB, ICB or region, an other-provider there or under a trust, and a supplier under
the national root. Through the API, only national administrators create regions, ICBs and
suppliers; this command runs as the operator, who may.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			no.Type = org.Type(ntype)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				o, err := a.Orgs.Create(cmd.Context(), operator(), no)
				if err != nil {
					return err
				}
				printf(e.stdout, "created %s %s (%s) under %s\n", o.Type, o.Code, o.Name, o.Parent)
				return nil
			})
		},
	}
	create.Flags().StringVar(&no.Code, "ods", "", "code (ODS code for NHS bodies)")
	create.Flags().StringVar(&no.Name, "name", "", "name")
	create.Flags().StringVar(&ntype, "type", "", "type: "+typeList())
	create.Flags().StringVar(&no.Parent, "parent", "", "parent ODS code (default the national root)")
	c.AddCommand(list, get, imp, create, e.boundariesCmd())
	return c
}

func (e *env) printImport(rep org.ImportReport) {
	for _, f := range rep.Files {
		printf(e.stdout, "%s: %s, %d rows, %d records, %d skipped, %d errors\n", f.File, f.Kind, f.Rows, f.Records, f.Skipped, len(f.Errors))
		for i, re := range f.Errors {
			if i == 20 {
				printf(e.stdout, "  … and %d more errors (use --format json for all)\n", len(f.Errors)-20)
				break
			}
			printf(e.stdout, "  %s\n", re.Error())
		}
	}
	verb := "imported"
	if rep.DryRun {
		verb = "dry run, nothing written"
	}
	printf(e.stdout, "%s: %d created, %d updated, %d unchanged, %d newly closed", verb, rep.Created, rep.Updated, rep.Unchanged, rep.Closed)
	if len(rep.Orphans) > 0 {
		printf(e.stdout, "; %d with an unknown parent placed under their ICB, region or the national root", len(rep.Orphans))
	}
	fmt.Fprintln(e.stdout)
}
