package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
)

// Issue 20, items 2-4 on the command line: supplier tiers, campaign edit,
// close and progress, and the statement spreadsheet round trip.

func (e *env) assuranceTiersCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "tiers [--format table|json]",
		Short: "Every supplier's tier, most demanding first, and the rule, deployment or product that put it there",
		Long: `Every supplier's tier from the register: the first of these rules that matches gives it.
  1 tier-1  designated critical in the register
  2 tier-1  a deployment is critical to a service
  3 tier-1  a deployment of high criticality processes patient data
  4 tier-2  a deployment is of high criticality
  5 tier-2  a product processes patient data
  6 tier-2  a deployment of medium criticality processes personal data
  7 tier-3  none of the above
A product says what data it processes in the register's data column (patient, personal, none).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.Tiers(cmd.Context(), operator())
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("SUPPLIER", func(t assurance.SupplierTier) any { return t.SupplierID }),
					col("NAME", func(t assurance.SupplierTier) any { return t.SupplierName }),
					col("TIER", func(t assurance.SupplierTier) any { return t.Tier }),
					col("RULE", func(t assurance.SupplierTier) any { return t.Rule }),
					col("WHY", func(t assurance.SupplierTier) any { return t.Reason }))
				for _, x := range list {
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) campaignEditCmd() *cobra.Command {
	var name, deadline string
	var out *output
	c := &cobra.Command{
		Use:   "edit ID [--name N] [--deadline YYYY-MM-DD] [--format table|json]",
		Short: "Rename an open campaign or move its deadline (a new deadline earns new reminders)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ed assurance.CampaignEdit
			if cmd.Flags().Changed("name") {
				ed.Name = &name
			}
			if cmd.Flags().Changed("deadline") {
				ed.Deadline = &deadline
			}
			if ed.Name == nil && ed.Deadline == nil {
				return usagef("give --name or --deadline")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				camp, err := a.Assurance.EditCampaign(cmd.Context(), operator(), args[0], ed)
				if err != nil {
					return err
				}
				return e.result(out, camp, func() error {
					printf(e.stdout, "%s %q: deadline %s\n", camp.ID, camp.Name, camp.Deadline)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&name, "name", "", "the new name")
	c.Flags().StringVar(&deadline, "deadline", "", "the new deadline, YYYY-MM-DD")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) campaignCloseCmd() *cobra.Command {
	var reason string
	var out *output
	c := &cobra.Command{
		Use:   "close ID [--reason R] [--format table|json]",
		Short: "Close a campaign: suppliers answer no more, reminders stop; submitted statements may still be reviewed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				camp, err := a.Assurance.CloseCampaign(cmd.Context(), operator(), args[0], reason)
				if err != nil {
					return err
				}
				return e.result(out, camp, func() error {
					printf(e.stdout, "closed %s %q\n", camp.ID, camp.Name)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why (kept in the audit log)")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) campaignProgressCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "progress ID [--format table|json]",
		Short: "A campaign's dashboard: statements invited, draft, submitted, queried, accepted and overdue, by tier, and the overdue suppliers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				p, err := a.Assurance.CampaignProgress(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, p, func() error {
					closed := ""
					if p.ClosedAt != "" {
						closed = ", closed " + p.ClosedAt
					}
					printf(e.stdout, "%s %q, deadline %s%s\n\n", p.CampaignID, p.Name, p.Deadline, closed)
					rows := append([]assurance.TierProgress{{Tier: "all", ProgressCounts: p.ProgressCounts}}, p.ByTier...)
					if err := printRows(e.stdout, 0, rows,
						col("TIER", func(t assurance.TierProgress) any { return dash(t.Tier) }),
						col("INVITED", func(t assurance.TierProgress) any { return t.Invited }),
						col("DRAFT", func(t assurance.TierProgress) any { return t.Draft }),
						col("SUBMITTED", func(t assurance.TierProgress) any { return t.Submitted }),
						col("QUERIED", func(t assurance.TierProgress) any { return t.Queried }),
						col("ACCEPTED", func(t assurance.TierProgress) any { return t.Accepted }),
						col("OVERDUE", func(t assurance.TierProgress) any { return t.Overdue })); err != nil {
						return err
					}
					printf(e.stdout, "\nreminders sent: 7 days %d, 1 day %d, overdue %d\n", p.Reminders[assurance.Remind7], p.Reminders[assurance.Remind1], p.Reminders[assurance.Overdue])
					if len(p.OverdueSuppliers) > 0 {
						printf(e.stdout, "\noverdue (%s):\n", phrase.Count(len(p.OverdueSuppliers), "supplier", "suppliers"))
						return printStatements(e, p.OverdueSuppliers)
					}
					return nil
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

// actorFor is the operator, or the person --user names.
func actorFor(cmd *cobra.Command, a *app.App, user string) (scope.Scope, error) {
	if user == "" {
		return operator(), nil
	}
	return personScope(cmd, a, user)
}

func (e *env) statementExportCmd() *cobra.Command {
	var outFile, user string
	c := &cobra.Command{
		Use:   "export ID --out FILE.xlsx|FILE.csv [--user EMAIL]",
		Short: "Write a statement's requirements and answers as a spreadsheet to fill in (XLSX or CSV by the file's extension)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format := assurance.FormatXLSX
			switch strings.ToLower(filepath.Ext(outFile)) {
			case ".csv":
				format = assurance.FormatCSV
			case ".xlsx":
			default:
				return usagef("--out: name a .xlsx or .csv file")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				sc, err := actorFor(cmd, a, user)
				if err != nil {
					return err
				}
				_, _, data, err := a.Assurance.ExportSheet(cmd.Context(), sc, args[0], format)
				if err != nil {
					return err
				}
				if err := os.WriteFile(outFile, data, 0o600); err != nil {
					return err
				}
				printf(e.stdout, "wrote %s (%s)\n", outFile, phrase.Count(len(data), "byte", "bytes"))
				return nil
			})
		},
	}
	c.Flags().StringVar(&outFile, "out", "", "the file to write: .xlsx or .csv")
	c.Flags().StringVar(&user, "user", "", "act as this person (e-mail or ID), e.g. the supplier's representative")
	return c
}

func (e *env) statementImportCmd() *cobra.Command {
	var user string
	var out *output
	c := &cobra.Command{
		Use:   "import ID FILE --user EMAIL [--format table|json]",
		Short: "Store the answers of a filled-in statement spreadsheet, as the supplier's representative --user: all or none",
		Long: `Store the answers of a filled-in spreadsheet (from vigil assurance statement export, XLSX or CSV)
as the person --user names, a representative of the supplier: by the rules of answering on the
web (a draft, or the queried answers of a returned statement). Every bad cell is reported by
sheet, row and column, and then nothing is stored.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readLimited(args[1], assurance.MaxSheet)
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				sc, err := personScope(cmd, a, user)
				if err != nil {
					return err
				}
				res, err := a.Assurance.ImportSheet(cmd.Context(), sc, args[0], filepath.Base(args[1]), data)
				var se *assurance.SheetError
				if errors.As(err, &se) {
					for _, c := range se.Cells {
						printf(e.stderr, "%s: %s\n", args[1], c)
					}
					return fmt.Errorf("%s: %s, nothing imported", args[1], phrase.Count(len(se.Cells), "bad cell", "bad cells"))
				}
				if err != nil {
					return err
				}
				return e.result(out, res, func() error {
					printf(e.stdout, "imported %s into %s: %d saved, %d unchanged\n", args[1], res.StatementID, res.Saved, res.Unchanged)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&user, "user", "", "the supplier's representative to act as (e-mail or ID)")
	out = formatFlag(c, "table", "json")
	return c
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: larger than %d bytes, the most accepted", path, max)
	}
	return os.ReadFile(path)
}
