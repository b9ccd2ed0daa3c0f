package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/phrase"
)

// Campaigns and statements (issue 20). The CLI acts as the operator
// (national), so it starts and reads campaigns; suppliers answer and
// assessors review on the web or over the API.

func (e *env) assuranceCampaignCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "campaign",
		Short: "Assurance campaigns: ask suppliers for statements of adherence to a requirement set",
		Example: `  vigil assurance campaign create --name "CAF 2027" --set webcaf-caf@3.2 --profile baseline --tier critical --deadline 2027-03-31
  vigil assurance campaign list
  vigil assurance campaign show AC-…
  vigil assurance campaign create --name "CAF by tier" --set webcaf-caf@3.2 --tier all --tier-profile tier-1=enhanced --tier-profile tier-2=baseline --deadline 2027-03-31
  vigil assurance campaign progress AC-…
  vigil assurance campaign edit AC-… --deadline 2027-04-30
  vigil assurance campaign close AC-… --reason "superseded"`,
	}
	c.AddCommand(e.campaignCreateCmd(), e.campaignListCmd(), e.campaignShowCmd(), e.campaignEditCmd(), e.campaignCloseCmd(), e.campaignProgressCmd())
	return c
}

func (e *env) campaignCreateCmd() *cobra.Command {
	var n assurance.NewCampaign
	var suppliers, weights []string
	var out *output
	c := &cobra.Command{
		Use:   "create --name N --set ID --deadline YYYY-MM-DD (--suppliers ID,… | --tier critical|all) [--profile P] [--weight REQ=N]… [--owner ORG]",
		Short: "Start a campaign: a draft statement for each supplier selected",
		Long: `Start a campaign against one requirement set version (vigil assurance list shows them),
optionally one of its profiles (only the requirements the profile names are asked). Suppliers
are listed by ID or name (--suppliers, repeatable or comma-separated) and/or by tier: critical
(designated critical in the register) or all. Each requirement weighs 1 unless --weight gives
another (1–100) by its key or ref, e.g. --weight B2.a=3. The campaign belongs to --owner (by
default the national root); whoever holds the supply permission there reviews it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range suppliers {
				n.Suppliers = append(n.Suppliers, splitComma(s)...)
			}
			for _, w := range weights {
				k, v, ok := strings.Cut(w, "=")
				x, err := strconv.Atoi(strings.TrimSpace(v))
				if !ok || err != nil {
					return fmt.Errorf("--weight %q: give REQUIREMENT=N, e.g. B2.a=3", w)
				}
				if n.Weights == nil {
					n.Weights = map[string]int{}
				}
				n.Weights[strings.TrimSpace(k)] = x
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				camp, err := a.Assurance.CreateCampaign(cmd.Context(), operator(), n)
				if err != nil {
					return err
				}
				return e.result(out, camp, func() error {
					printf(e.stdout, "started %s %q: %s asked about %s of %s by %s\n", camp.ID, camp.Name, phrase.Count(camp.Suppliers, "supplier", "suppliers"),
						phrase.Count(len(camp.Requirements), "requirement", "requirements"), camp.SetID, camp.Deadline)
					return nil
				})
			})
		},
	}
	f := c.Flags()
	f.StringVar(&n.Name, "name", "", "the campaign's name")
	f.StringVar(&n.SetID, "set", "", "the requirement set version, e.g. webcaf-caf@3.2")
	f.StringVar(&n.Profile, "profile", "", "a profile of the set, e.g. baseline")
	f.StringVar(&n.Deadline, "deadline", "", "the deadline, YYYY-MM-DD")
	f.StringVar(&n.Tier, "tier", "", "every supplier of a tier: critical, all, tier-1, tier-2 or tier-3 (vigil assurance tiers)")
	f.StringToStringVar(&n.TierProfiles, "tier-profile", nil, "ask each supplier against its tier's profile, TIER=PROFILE (repeatable), e.g. tier-1=enhanced")
	f.StringVar(&n.OwnerOrg, "owner", "", "the organisation the campaign belongs to (default: the national root)")
	f.StringArrayVar(&suppliers, "suppliers", nil, "supplier IDs or names, comma-separated (repeatable)")
	f.StringArrayVar(&weights, "weight", nil, "a requirement's weight, REQ=N (repeatable)")
	out = formatFlag(c, "table", "json")
	return c
}

func splitComma(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func progressText(p map[string]int) string {
	return fmt.Sprintf("%d/%d/%d/%d", p[assurance.StatusDraft], p[assurance.StatusSubmitted], p[assurance.StatusReturned], p[assurance.StatusAccepted])
}

func (e *env) campaignListCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "list [--format table|json]",
		Short: "List campaigns, newest first, with statements per status",
		Long: `List campaigns, newest first. The table's STATUSES column counts statements
draft/submitted/returned/accepted; --format json prints one object a line with "progress".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.ListCampaigns(cmd.Context(), operator())
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("ID", func(c assurance.Campaign) any { return c.ID }),
					col("NAME", func(c assurance.Campaign) any { return c.Name }),
					col("SET", func(c assurance.Campaign) any { return c.SetID + dashIf(c.Profile, " / ") }),
					col("DEADLINE", func(c assurance.Campaign) any { return c.Deadline }),
					col("SUPPLIERS", func(c assurance.Campaign) any { return phrase.Int(c.Suppliers) }),
					col("STATUSES", func(c assurance.Campaign) any { return progressText(c.Progress) }))
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

func dashIf(s, sep string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

func (e *env) campaignShowCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "show ID [--format table|json]",
		Short: "One campaign: its requirements' weights and each supplier's statement, status and score",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				camp, err := a.Assurance.GetCampaign(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, camp, func() error {
					printf(e.stdout, "%s %q: %s%s, deadline %s, %s (draft/submitted/returned/accepted %s)\n\n", camp.ID, camp.Name, camp.SetID, dashIf(camp.Profile, " profile "),
						camp.Deadline, phrase.Count(camp.Suppliers, "supplier", "suppliers"), progressText(camp.Progress))
					return printStatements(e, camp.Statements)
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func statementCols() []column[assurance.StatementSummary] {
	return []column[assurance.StatementSummary]{
		col("ID", func(s assurance.StatementSummary) any { return s.ID }),
		col("SUPPLIER", func(s assurance.StatementSummary) any { return s.SupplierID }),
		col("NAME", func(s assurance.StatementSummary) any { return s.SupplierName }),
		col("CAMPAIGN", func(s assurance.StatementSummary) any { return s.CampaignID }),
		col("STATUS", func(s assurance.StatementSummary) any { return s.Status }),
		col("ANSWERED", func(s assurance.StatementSummary) any { return fmt.Sprintf("%d/%d", s.Answered, s.Requirements) }),
		col("SCORE", func(s assurance.StatementSummary) any {
			return fmt.Sprintf("%d/%d (%.1f%%)", s.Points, s.Max, s.Percent)
		}),
	}
}

func printStatements(e *env, list []assurance.StatementSummary) error {
	return printRows(e.stdout, 0, list, statementCols()...)
}

func (e *env) assuranceStatementCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "statement",
		Short: "Statements of adherence: list, show one, and its score broken down",
		Example: `  vigil assurance statement list --campaign AC-… --status submitted
  vigil assurance statement show ST-…
  vigil assurance statement score ST-… --format json`,
	}
	c.AddCommand(e.statementListCmd(), e.statementShowCmd(), e.statementScoreCmd(), e.statementExportCmd(), e.statementImportCmd(), e.statementVersionsCmd(), e.statementVersionCmd())
	return c
}

func (e *env) statementListCmd() *cobra.Command {
	var f assurance.StatementFilter
	var out *output
	c := &cobra.Command{
		Use:   "list [--campaign ID] [--supplier ID] [--status S] [--format table|json]",
		Short: "List statements by deadline and supplier, with status and score",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.ListStatements(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				l := newLister(e, out, statementCols()...)
				for _, x := range list {
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	c.Flags().StringVar(&f.CampaignID, "campaign", "", "only this campaign's statements")
	c.Flags().StringVar(&f.SupplierID, "supplier", "", "only this supplier's statements (its ID)")
	c.Flags().StringVar(&f.Status, "status", "", "only statements in this status: draft, submitted, returned or accepted")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) statementShowCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "show ID [--format table|json]",
		Short: "One statement: each requirement's answer, review, evidence and conversation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				st, err := a.Assurance.GetStatement(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, st, func() error {
					printf(e.stdout, "%s: %s (%s) in %s %q, %s, version %d, score %d/%d (%.1f%%)\n\n", st.ID, st.SupplierName, st.SupplierID, st.CampaignID, st.CampaignName,
						st.Status, st.Version, st.Points, st.Max, st.Percent)
					return printRows(e.stdout, 0, st.Answers,
						col("#", func(a assurance.AnswerView) any { return strconv.Itoa(a.Seq) }),
						col("REQUIREMENT", func(a assurance.AnswerView) any { return a.Label() }),
						col("WEIGHT", func(a assurance.AnswerView) any { return strconv.Itoa(a.Weight) }),
						col("ANSWER", func(a assurance.AnswerView) any { return a.Answer.Label() }),
						col("REVIEW", func(a assurance.AnswerView) any {
							if a.Answer == "" {
								return "-"
							}
							return a.Review.Label()
						}),
						col("EVIDENCE", func(a assurance.AnswerView) any { return strconv.Itoa(len(a.Evidence)) }),
						col("COMMENTS", func(a assurance.AnswerView) any { return strconv.Itoa(len(a.Comments)) }))
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

// scoreRow is one line of the score's table: a group or a requirement.
type scoreRow struct {
	level, label, weight, answer, points, percent, why string
}

func (e *env) statementScoreCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "score ID [--format table|json]",
		Short: "A statement's score broken down by objective, principle and requirement",
		Long: `A statement's score: every requirement's weight, answer, review and points, added up by
principle, objective and in total (the parts add up to the whole exactly). ` + assurance.ScoreMethod,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				st, err := a.Assurance.GetStatement(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				sc := st.Score
				return e.result(out, sc, func() error {
					var rows []scoreRow
					group := func(level string, g assurance.ScoreGroup) {
						rows = append(rows, scoreRow{level, g.Name, "", "", fmt.Sprintf("%d/%d", g.Points, g.Max), fmt.Sprintf("%.1f%%", g.Percent), ""})
					}
					for _, o := range sc.Objectives {
						group("objective", o)
						for _, p := range o.Principles {
							group("principle", p)
							for _, l := range p.Lines {
								label := l.Ref
								if label == "" {
									label = l.Name
								}
								rows = append(rows, scoreRow{"requirement", label, strconv.Itoa(l.Weight), l.Answer.Label(), fmt.Sprintf("%d/%d", l.Points, l.Max), "", l.Why})
							}
						}
					}
					rows = append(rows, scoreRow{"total", "", "", "", fmt.Sprintf("%d/%d", sc.Points, sc.Max), fmt.Sprintf("%.1f%%", sc.Percent), ""})
					return printRows(e.stdout, 0, rows,
						col("LEVEL", func(r scoreRow) any { return r.level }),
						col("NAME", func(r scoreRow) any { return r.label }),
						col("WEIGHT", func(r scoreRow) any { return dash(r.weight) }),
						col("ANSWER", func(r scoreRow) any { return dash(r.answer) }),
						col("POINTS", func(r scoreRow) any { return r.points }),
						col("PERCENT", func(r scoreRow) any { return dash(r.percent) }),
						col("WHY", func(r scoreRow) any { return dash(r.why) }))
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}
