package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/supply"
)

// The published scoring method, disputes and the supply-chain views
// (issue 20), as the operator (national): the CLI answers disputes as a
// national assessor; suppliers raise them on the web or over the API.

func (e *env) assuranceViewCmds() []*cobra.Command {
	return []*cobra.Command{e.methodologyCmd(), e.disputeCmd(), e.heatMapCmd(), e.gapsCmd(), e.prioritiesCmd()}
}

func (e *env) methodologyCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "methodology [--format table|json]",
		Short: "The scoring method in force (generated from the scoring code) and its change log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m := assurance.GetMethodology()
			return e.result(out, m, func() error {
				printf(e.stdout, "Scoring method version %d\n%s\n\n", m.Version, m.Summary)
				if err := printRows(e.stdout, 0, m.Cases,
					col("CASE", func(c assurance.MethodCase) any { return c.Case }),
					col("WEIGHT 1", func(c assurance.MethodCase) any { return fmt.Sprintf("%d of %d", c.Points1, c.Max1) }),
					col(fmt.Sprintf("WEIGHT %d", m.WeightExample), func(c assurance.MethodCase) any { return fmt.Sprintf("%d of %d", c.PointsW, c.MaxW) }),
					col("WHY", func(c assurance.MethodCase) any { return c.Why })); err != nil {
					return err
				}
				printf(e.stdout, "\n")
				for _, l := range append(append(m.Aggregation, m.Profile...), m.Priority.Rules...) {
					printf(e.stdout, "- %s\n", l)
				}
				printf(e.stdout, "\nChange log:\n")
				for _, ch := range m.Changes {
					printf(e.stdout, "  %d  %s  %s\n", ch.Version, ch.Date, ch.Summary)
				}
				return nil
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) disputeCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "dispute",
		Short: "Suppliers' disputes of scores and review decisions: list them, answer one",
		Example: `  vigil assurance dispute list --status open
  vigil assurance dispute answer DP-… --uphold --note "The weights are the campaign's"
  vigil assurance dispute answer DP-… --amend --review accepted --note "Page 4 shows MFA"`,
	}
	c.AddCommand(e.disputeListCmd(), e.disputeAnswerCmd())
	return c
}

func (e *env) disputeListCmd() *cobra.Command {
	var f assurance.DisputeFilter
	var out *output
	c := &cobra.Command{
		Use:   "list [--supplier ID] [--status open|upheld|amended] [--format table|json]",
		Short: "List disputes, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.ListDisputes(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("ID", func(d assurance.Dispute) any { return d.ID }),
					col("STATEMENT", func(d assurance.Dispute) any { return d.StatementID }),
					col("SUPPLIER", func(d assurance.Dispute) any { return d.SupplierID }),
					col("DISPUTED", func(d assurance.Dispute) any { return d.Subject }),
					col("STATUS", func(d assurance.Dispute) any { return d.Status }),
					col("REASON", func(d assurance.Dispute) any { return d.Reason }))
				for _, x := range list {
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	c.Flags().StringVar(&f.SupplierID, "supplier", "", "one supplier's disputes")
	c.Flags().StringVar(&f.Status, "status", "", "open, upheld or amended")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) disputeAnswerCmd() *cobra.Command {
	var in assurance.DisputeAnswer
	var uphold, amend bool
	var review string
	var out *output
	c := &cobra.Command{
		Use:   "answer ID (--uphold | --amend --review accepted|rejected [--seq N]) --note TEXT [--format table|json]",
		Short: "Answer a dispute as the assessor: uphold the decision, or amend an answer's review (the score is recomputed and recorded)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case uphold == amend:
				return fmt.Errorf("give one of --uphold or --amend")
			case uphold:
				in.Decision = assurance.Uphold
			default:
				in.Decision, in.Review = assurance.Amend, assurance.Review(review)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				d, err := a.Assurance.AnswerDispute(cmd.Context(), operator(), args[0], in)
				if err != nil {
					return err
				}
				return e.result(out, d, func() error {
					printf(e.stdout, "%s %s: %s\n", d.ID, d.Status, d.DecisionNote)
					return nil
				})
			})
		},
	}
	f := c.Flags()
	f.BoolVar(&uphold, "uphold", false, "the disputed decision stands")
	f.BoolVar(&amend, "amend", false, "change an answer's review")
	f.StringVar(&review, "review", "", "with --amend: the new decision, accepted or rejected")
	f.IntVar(&in.Seq, "seq", 0, "with --amend: the requirement's number (default: the disputed one)")
	f.StringVar(&in.Note, "note", "", "why (required)")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) heatMapCmd() *cobra.Command {
	var set string
	var out *output
	c := &cobra.Command{
		Use:   "heatmap [--set ID] [--format table|json|csv]",
		Short: "Suppliers × requirements: each supplier's latest accepted statement on a set",
		Long: `Suppliers × requirements of one requirement set (by default the set with the most accepted
statements): each cell is met, partly, not_met, rejected, not_applicable or not_answered; empty
where the supplier's campaign did not ask. CSV cells a spreadsheet would run as formulas start
with an apostrophe.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				hm, err := a.Assurance.GetHeatMap(cmd.Context(), operator(), set)
				if err != nil {
					return err
				}
				if out.is("csv") {
					return hm.WriteCSV(e.stdout)
				}
				return e.result(out, hm, func() error {
					if hm.SetID == "" {
						printf(e.stdout, "no accepted statements yet\n")
						return nil
					}
					cols := []column[assurance.HeatRow]{col("SUPPLIER", func(r assurance.HeatRow) any { return r.SupplierID }),
						col("SCORE", func(r assurance.HeatRow) any { return fmt.Sprintf("%.1f%%", r.Percent) })}
					for i, rq := range hm.Requirements {
						cols = append(cols, col(rq.Label(), func(r assurance.HeatRow) any { return dash(string(r.Cells[i])) }))
					}
					printf(e.stdout, "%s: %d suppliers × %d requirements\n\n", hm.SetID, len(hm.Rows), len(hm.Requirements))
					return printRows(e.stdout, 0, hm.Rows, cols...)
				})
			})
		},
	}
	c.Flags().StringVar(&set, "set", "", "the requirement set version")
	out = formatFlag(c, "table", "json", "csv")
	return c
}

func (e *env) gapsCmd() *cobra.Command {
	var q assurance.GapQuery
	var crit string
	var out *output
	c := &cobra.Command{
		Use:     "gaps [--set ID] [--requirement REF] [--tier critical|all] [--criticality critical|high|medium|low] [--format table|json]",
		Short:   "Per requirement, the suppliers whose latest accepted statement does not meet it",
		Example: `  vigil assurance gaps --requirement B2.a --tier critical     # which critical suppliers do not enforce MFA`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Criticality = supply.Criticality(crit)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				g, err := a.Assurance.GetGaps(cmd.Context(), operator(), q)
				if err != nil {
					return err
				}
				return e.result(out, g, func() error {
					printf(e.stdout, "%s: %d suppliers with an accepted statement match\n\n", dash(g.Query.SetID), g.Suppliers)
					return printRows(e.stdout, 0, g.Rows,
						col("REQUIREMENT", func(r assurance.GapRow) any { return r.Label() }),
						col("ASSESSED", func(r assurance.GapRow) any { return r.Assessed }),
						col("SHORT", func(r assurance.GapRow) any { return len(r.Suppliers) }),
						col("SUPPLIERS", func(r assurance.GapRow) any {
							var s []string
							for _, x := range r.Suppliers {
								s = append(s, x.SupplierID+" ("+string(x.State)+")")
							}
							return dash(strings.Join(s, ", "))
						}))
				})
			})
		},
	}
	f := c.Flags()
	f.StringVar(&q.SetID, "set", "", "the requirement set version")
	f.StringVar(&q.Requirement, "requirement", "", "one requirement, by key or ref")
	f.StringVar(&q.Tier, "tier", "", "critical (designated critical) or all")
	f.StringVar(&crit, "criticality", "", "only suppliers with a deployment at least this critical")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) prioritiesCmd() *cobra.Command {
	var supplier string
	var out *output
	c := &cobra.Command{
		Use:   "priorities [--supplier ID] [--format table|json]",
		Short: "Prioritisation: assurance gap, systemic importance and live exposure per supplier, and their mean",
		Long: `A labelled combination for ranking where to look first, not an assurance score: the
three parts are printed beside the priority (vigil assurance methodology gives the rules).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				p, err := a.Assurance.GetPriorities(cmd.Context(), operator(), supplier)
				if err != nil {
					return err
				}
				return e.result(out, p, func() error {
					return printRows(e.stdout, 0, p.Rows,
						col("SUPPLIER", func(r assurance.PriorityRow) any { return r.SupplierID }),
						col("PRIORITY", func(r assurance.PriorityRow) any { return r.Priority }),
						col("ASSURANCE", func(r assurance.PriorityRow) any {
							if r.Assurance == nil {
								return "-"
							}
							return fmt.Sprintf("%.1f%%", *r.Assurance)
						}),
						col("GAP", func(r assurance.PriorityRow) any { return r.AssuranceGap }),
						col("ORGS", func(r assurance.PriorityRow) any { return r.Organisations }),
						col("IMPORTANCE", func(r assurance.PriorityRow) any { return r.Importance }),
						col("FINDINGS", func(r assurance.PriorityRow) any { return fmt.Sprintf("%d (%d P1/P2)", r.Findings, r.UrgentFindings) }),
						col("INCIDENTS", func(r assurance.PriorityRow) any { return r.Incidents }),
						col("EXPOSURE", func(r assurance.PriorityRow) any { return r.Exposure }))
				})
			})
		},
	}
	c.Flags().StringVar(&supplier, "supplier", "", "one supplier")
	out = formatFlag(c, "table", "json")
	return c
}
