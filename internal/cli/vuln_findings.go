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

// The national findings view, the findings workflow, stored VEX and a
// cyber alert raised from a finding (issue 18): thin commands over
// vuln.SBOMs and vuln.Alerts, run as the operator.

func findingColumns() []column[vuln.StoredFinding] {
	return []column[vuln.StoredFinding]{
		col("REF", func(x vuln.StoredFinding) any { return x.Ref }),
		col("PRIORITY", func(x vuln.StoredFinding) any { return x.Priority.Level }),
		col("DUE", func(x vuln.StoredFinding) any {
			d := x.Due.UTC().Format("2006-01-02")
			if x.Overdue {
				d += " overdue"
			}
			return d
		}),
		col("STATE", func(x vuln.StoredFinding) any { return x.Shown() }),
		col("OWNER", func(x vuln.StoredFinding) any {
			if x.Kind == vuln.KindProduct {
				return "product " + x.Product + " " + x.ProductVersion
			}
			return x.Org
		}),
		col("COMPONENT", func(x vuln.StoredFinding) any { return x.Package + " " + x.Version }),
		col("ID", func(x vuln.StoredFinding) any { return x.ID }),
		col("ALIASES", func(x vuln.StoredFinding) any { return strings.Join(x.Aliases, ",") }),
		col("FIXED", func(x vuln.StoredFinding) any { return dash(x.Fixed) }),
		col("WHY", func(x vuln.StoredFinding) any {
			if x.Suppressed != nil {
				return "VEX " + x.Suppressed.VEX + " " + x.Suppressed.Statement + ": " + x.Suppressed.Status + " " + x.Suppressed.Justification
			}
			return x.Priority.Explanation
		}),
	}
}

// vulnFindingsAll prints the national view, every page.
func (e *env) vulnFindingsAll(cmd *cobra.Command, out *output, q vuln.FindingQuery, max int) error {
	return e.withApp(cmd.Context(), func(a *app.App) error {
		l := newLister(e, out, findingColumns()...)
		n := 0
		for {
			q.Limit = vuln.MaxFindingPage
			if max > 0 {
				q.Limit = min(q.Limit, max-n)
			}
			p, err := a.SBOMs.Search(cmd.Context(), operator(), q)
			if err != nil {
				return err
			}
			for _, f := range p.Findings {
				if err := l.add(f); err != nil {
					return err
				}
			}
			n += len(p.Findings)
			if p.Next == "" || (max > 0 && n >= max) {
				if err := l.flush(); err != nil {
					return err
				}
				if !out.is("json") && !out.is("ids") {
					printf(e.stderr, "%s of %s\n", phrase.Int(n), phrase.Count(p.Total, "finding", "findings"))
				}
				return nil
			}
			q.Cursor = p.Next
		}
	})
}

func (e *env) vulnKPIsCmd() *cobra.Command {
	var q vuln.FindingQuery
	var out *output
	c := &cobra.Command{
		Use:   "kpis [--org CODE | --icb CODE | --product ID] [--format table|json]",
		Short: "Findings counted per priority by state, with those overdue against the SLA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				ks, err := a.SBOMs.FindingKPIs(cmd.Context(), operator(), q)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("PRIORITY", func(k vuln.LevelKPI) any { return k.Level }),
					col("SLA", func(k vuln.LevelKPI) any { return k.SLA }),
					col("TO DO", func(k vuln.LevelKPI) any { return phrase.Int(k.Active) }),
					col("OVERDUE", func(k vuln.LevelKPI) any { return phrase.Int(k.Overdue) }),
					col("ACKNOWLEDGED", func(k vuln.LevelKPI) any { return phrase.Int(k.Acknowledged) }),
					col("RISK ACCEPTED", func(k vuln.LevelKPI) any { return phrase.Int(k.RiskAccepted) }),
					col("CLOSED", func(k vuln.LevelKPI) any { return phrase.Int(k.Closed) }),
					col("SUPPRESSED", func(k vuln.LevelKPI) any { return phrase.Int(k.Suppressed) }))
				for _, k := range ks {
					if err := l.add(k); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	c.Flags().StringVar(&q.Org, "org", "", "one organisation's inventories")
	c.Flags().StringVar(&q.ICB, "icb", "", "the inventories under an ICB or region")
	c.Flags().StringVar(&q.Product, "product", "", "one product's SBOMs")
	out = formatFlag(c, "table", "json")
	return c
}

// vulnFindingActCmd is `vigil vuln finding acknowledge|accept-risk|close|reopen REF…`.
func (e *env) vulnFindingActCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "finding",
		Short: "Acknowledge, accept the risk of, close or reopen stored findings (several at once: all or none)",
		Long: `Findings are named by the REF a findings listing gives (SBOM/COMPONENT/ID). Several may be
given: all are changed or, if one may not be, none.`,
	}
	for _, act := range vuln.FindingActions() {
		var a vuln.FindingAction
		var expires string
		var out *output
		short := map[string]string{
			vuln.FindAcknowledge: "Acknowledge findings: seen, being dealt with",
			vuln.FindAcceptRisk:  "Accept the risk of findings until --expires, with --reason",
			vuln.FindClose:       "Close findings as --resolution fixed, or not-affected with --reason",
			vuln.FindReopen:      "Reopen findings",
		}[act]
		sub := &cobra.Command{
			Use: act + " REF...", Short: short, Args: cobra.MinimumNArgs(1),
			Example: map[string]string{
				vuln.FindAcceptRisk: `  vigil vuln finding accept-risk --reason "host segregated; replaced in March" --expires 2027-03-31 SB-abc/12/GO-2023-2102`,
				vuln.FindClose:      `  vigil vuln finding close --resolution not-affected --reason "HTTP/2 disabled" SB-abc/12/GO-2023-2102 SB-abc/12/GO-2023-2153`,
			}[act],
			RunE: func(cmd *cobra.Command, args []string) error {
				a.Action, a.Findings = act, args
				if expires != "" {
					t, err := time.Parse("2006-01-02", expires)
					if err != nil {
						return usagef("--expires %q: want a date such as 2027-03-31", expires)
					}
					a.Expires = t
				}
				return e.withApp(cmd.Context(), func(ap *app.App) error {
					fs, err := ap.SBOMs.Act(cmd.Context(), operator(), a)
					if err != nil {
						return err
					}
					l := newLister(e, out, findingColumns()...)
					for _, f := range fs {
						if err := l.add(f); err != nil {
							return err
						}
					}
					return l.flush()
				})
			},
		}
		switch act {
		case vuln.FindAcceptRisk:
			sub.Flags().StringVar(&a.Reason, "reason", "", "why the risk is acceptable (required)")
			sub.Flags().StringVar(&expires, "expires", "", "the date the acceptance lapses (required, within a year)")
		case vuln.FindClose:
			sub.Flags().StringVar(&a.Resolution, "resolution", "", "fixed or not-affected")
			sub.Flags().StringVar(&a.Reason, "reason", "", "why (required for not-affected)")
		default:
			sub.Flags().StringVar(&a.Reason, "reason", "", "a note")
		}
		out = formatFlag(sub, "table", "json", "ids")
		c.AddCommand(sub)
	}
	return c
}

func (e *env) vulnVEXCmd() *cobra.Command {
	c := &cobra.Command{Use: "vex", Short: "VEX stored for a supplier product or an organisation, applied to stored findings"}
	var product, orgCode string
	var out *output
	add := &cobra.Command{
		Use:   "add (--product ID | --org CODE) FILE",
		Short: "Store an OpenVEX, CycloneDX VEX or CSAF VEX document; its statements suppress stored findings",
		Long: `Stored for a product, a document speaks for every stored SBOM of it; for an organisation, for
its inventories. It is applied again after every match. A suppressed finding shows the statement.`,
		Example: `  vigil vuln vex add --org RJ1 internal/vuln/testdata/formats/flux2-xnet.openvex.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (product == "") == (orgCode == "") {
				return usagef("give one of --product or --org")
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				var x vuln.StoredVEX
				if product != "" {
					x, err = a.SBOMs.AddProductVEX(cmd.Context(), operator(), product, args[0], data)
				} else {
					x, err = a.SBOMs.AddOrgVEX(cmd.Context(), operator(), orgCode, args[0], data)
				}
				if err != nil {
					return err
				}
				return e.resultID(out, x, x.ID, func() error { return vexRows(e, []vuln.StoredVEX{x}) })
			})
		},
	}
	add.Flags().StringVar(&product, "product", "", "the supplier product's register ID or name")
	add.Flags().StringVar(&orgCode, "org", "", "the organisation's ODS code")
	out = formatFlag(add, "table", "json", "ids")
	var f vuln.SBOMFilter
	var lout *output
	list := &cobra.Command{
		Use: "list (--product ID | --org CODE) [--format table|json|ids]", Short: "List the VEX stored for a product or an organisation, in the order applied", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				xs, err := a.SBOMs.ListVEX(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				if lout.is("table") {
					return vexRows(e, xs)
				}
				l := newLister(e, lout, col("ID", func(x vuln.StoredVEX) any { return x.ID }))
				for _, x := range xs {
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	list.Flags().StringVar(&f.Product, "product", "", "a product's")
	list.Flags().StringVar(&f.Org, "org", "", "an organisation's")
	lout = formatFlag(list, "table", "json", "ids")
	del := &cobra.Command{
		Use: "delete ID", Short: "Remove a stored VEX document; the findings it suppressed are judged again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.SBOMs.DeleteVEX(cmd.Context(), operator(), args[0]); err != nil {
					return err
				}
				printf(e.stdout, "removed %s\n", args[0])
				return nil
			})
		},
	}
	c.AddCommand(add, list, del)
	return c
}

func vexRows(e *env, xs []vuln.StoredVEX) error {
	return printRows(e.stdout, 0, xs,
		col("ID", func(x vuln.StoredVEX) any { return x.ID }),
		col("FOR", func(x vuln.StoredVEX) any {
			if x.Kind == vuln.KindProduct {
				return "product " + x.Product
			}
			return "organisation " + x.Org
		}),
		col("NAME", func(x vuln.StoredVEX) any { return x.Name }),
		col("FORMAT", func(x vuln.StoredVEX) any { return x.Format }),
		col("STATEMENTS", func(x vuln.StoredVEX) any { return phrase.Int(x.Statements) }),
		col("SUPPRESSES", func(x vuln.StoredVEX) any { return phrase.Count(x.Suppressed, "finding", "findings") }),
		col("ADDED", func(x vuln.StoredVEX) any { return x.AddedAt.UTC().Format(time.RFC3339) + " by " + x.AddedBy }))
}

// findingForAlert finds the stored finding --from-finding names:
// SBOM/ID or a listing's ref SBOM/COMPONENT/ID.
func findingForAlert(a *app.App, cmd *cobra.Command, ref string) (vuln.StoredFinding, error) {
	sbom, id, ok := strings.Cut(ref, "/")
	if !ok || sbom == "" || id == "" {
		return vuln.StoredFinding{}, usagef("--from-finding %q: want SBOM/ID or a findings listing's REF", ref)
	}
	if r, err := vuln.ParseFindingRef(ref); err == nil {
		fs, err := a.SBOMs.Findings(cmd.Context(), operator(), vuln.FindingFilter{SBOM: r.SBOM})
		if err != nil {
			return vuln.StoredFinding{}, err
		}
		for _, f := range fs {
			if f.Ref == ref {
				return f, nil
			}
		}
	}
	return a.SBOMs.Finding(cmd.Context(), operator(), sbom, id)
}

func (e *env) cyberRefreshCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "refresh ID [--format table|json]",
		Short: "Work out an alert's scope again: organisations newly in scope are added and told; those no longer in scope are marked",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				r, err := a.Alerts.RefreshScope(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				_ = a.Alerts.Close() // the new organisations' notices
				return e.result(out, r, func() error {
					tw := newTable(e.stdout)
					tw.row("alert", r.Alert)
					tw.row("added", dash(strings.Join(r.Added, ", ")))
					tw.row("no longer in scope", dash(strings.Join(r.Removed, ", ")))
					tw.row("back in scope", dash(strings.Join(r.Returned, ", ")))
					return tw.flush()
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}
