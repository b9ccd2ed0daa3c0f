package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/vuln"
)

// cyberAlertCmd is `vigil cyberalert`: national cyber alerts (issue 18,
// items 7–9). `vigil alerts` is the SOC's alerts inbox.
func (e *env) cyberAlertCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cyberalert",
		Short: "National cyber alerts: issue one, follow and record organisations' responses",
		Long: `A national cyber alert tells every organisation running vulnerable software — its own or
inside a supplier's product — what to do, and by when. Issue works out the organisations in scope
from the supplier register: those deploying a product the register lists with one of the alert's
CVEs, or one of the named products at an affected version, directly or through products that
depend on it (the organisations ` + "`vigil supply impact --cve`" + ` lists), each with the path that put
it there, and e-mails them. Each must acknowledge within 48 hours, say whether the alert applies,
give a first remediation update within 3 days and close it with evidence. A missed 48 hours is
escalated by e-mail to the region and ICB (the server's leader checks every 30 s; ` + "`clocks`" + ` runs
the check once).`,
	}
	c.AddCommand(e.cyberIssueCmd(), e.cyberListCmd(), e.cyberShowCmd(), e.cyberRespondCmd(), e.cyberStatusCmd(), e.cyberClocksCmd(), e.cyberRefreshCmd())
	return c
}

// parseDeadline reads a date (the end of that working day, 17:00 UTC) or
// an RFC 3339 time.
func parseDeadline(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fault.Invalidf("--deadline", "%q: want a date (2026-12-31) or an RFC 3339 time", s)
	}
	return t.Add(17 * time.Hour), nil
}

func (e *env) cyberIssueCmd() *cobra.Command {
	var n vuln.NewAlert
	var products []string
	var deadline, fromFinding string
	var out *output
	c := &cobra.Command{
		Use:   "issue [--from-finding SBOM/ID] --title T --action TEXT --deadline DATE (--cve ID… | --product ID[:RANGE]…) [--severity S] [--tlp L] [--format table|json|ids]",
		Short: "Issue a national cyber alert to every organisation the supplier register puts in scope",
		Long: `--product takes the register's product ID or name, optionally followed by a colon and the
affected versions (">=4.0, <4.3"): a product whose register entry has a version outside the range
is left out; one with no version is kept in. --from-finding takes the CVEs (ID, aliases, related
IDs) of a stored finding (vigil vuln findings), its summary as the default title and its priority
as the default severity (P1 critical … P4 low). JSON output is the alert with its orgs:
[{"org","name","path","ack_due",…}].`,
		Example: `  vigil cyberalert issue --title "Sentinel agent RCE" --cve CVE-2099-4242 --severity critical \
    --action "Upgrade the Sentinel agent to 7.12" --deadline 2026-12-21
  vigil cyberalert issue --title "Acme EPR auth bypass" --product "Acme EPR:>=4.0, <4.3" --action "Apply hotfix 7" --deadline 2026-12-14 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if n.Deadline, err = parseDeadline(deadline); err != nil {
				return err
			}
			for _, p := range products {
				id, vers, _ := strings.Cut(p, ":")
				n.Products = append(n.Products, vuln.AffectedProductSpec{Product: id, Versions: vers})
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if fromFinding != "" {
					if len(n.CVEs) > 0 || len(n.Products) > 0 {
						return usagef("--from-finding takes its CVEs from the finding: leave out --cve and --product")
					}
					f, err := findingForAlert(a, cmd, fromFinding)
					if err != nil {
						return err
					}
					if !cmd.Flags().Changed("severity") {
						n.Severity = ""
					}
					if n, err = vuln.AlertFromFinding(f, n); err != nil {
						return err
					}
				}
				x, err := a.Alerts.Issue(cmd.Context(), operator(), n)
				if err != nil {
					return err
				}
				return e.resultID(out, x, x.ID, func() error { return e.cyberTable(x) })
			})
		},
	}
	c.Flags().StringVar(&n.Title, "title", "", "the alert's title")
	c.Flags().StringVar(&n.Severity, "severity", "high", strings.Join(vuln.AlertSeverities(), ", "))
	c.Flags().StringSliceVar(&n.CVEs, "cve", nil, "a CVE the alert is about (repeat, or separate with commas)")
	c.Flags().StringArrayVar(&products, "product", nil, "an affected product: ID or name, optionally :VERSIONS (repeat)")
	c.Flags().StringVar(&n.RequiredAction, "action", "", "what each organisation must do")
	c.Flags().StringVar(&deadline, "deadline", "", "when the action must be done: a date or an RFC 3339 time")
	c.Flags().StringVar(&n.TLP, "tlp", "AMBER", strings.Join(vuln.TLPs(), ", "))
	c.Flags().StringVar(&fromFinding, "from-finding", "", "raise the alert from a stored finding (SBOM/ID or a findings REF): its CVEs, its title and its priority's severity unless given")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

// cyberTable prints an alert for people: what it asks, the response
// counts and each organisation.
func (e *env) cyberTable(x vuln.CyberAlert) error {
	tw := newTable(e.stdout)
	s := x.Stats
	for _, kv := range [][2]any{{"id", x.ID}, {"title", x.Title}, {"severity", x.Severity}, {"tlp", "TLP:" + x.TLP}, {"cves", dash(strings.Join(x.CVEs, ", "))},
		{"deadline", x.Deadline.UTC().Format(time.RFC3339)}, {"issued", x.IssuedAt.UTC().Format(time.RFC3339) + " by " + x.IssuedBy},
		{"organisations", phrase.Count(s.Organisations, "organisation", "") + " in scope"},
		{"acknowledged", fmt.Sprintf("%s of %s (%s)", phrase.Int(s.Acknowledged), phrase.Int(s.Organisations), phrase.Percent(s.ResponseRate))},
		{"overdue", fmt.Sprintf("%s acknowledgements, %s updates", phrase.Int(s.AckOverdue), phrase.Int(s.UpdateOverdue))},
		{"closed", phrase.Int(s.Closed)}} {
		tw.row(kv[0], kv[1])
	}
	for _, p := range x.Products {
		tw.row("product", p.Product+" "+dash(p.Versions))
	}
	if err := tw.flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nRequired action: %s\n\nOrganisations:\n", x.RequiredAction)
	tw = newTable(e.stdout)
	tw.header("ORG", "NAME", "REGION", "ICB", "STATE", "ACK DUE", "OVERDUE", "WHY")
	for _, m := range x.Orgs {
		over := []string{}
		if m.AckOverdue {
			over = append(over, "ack")
		}
		if m.UpdateOverdue {
			over = append(over, "update")
		}
		tw.row(m.Org, m.Name, dash(m.Region), dash(m.ICB), m.State(), m.AckDue.UTC().Format(time.RFC3339), dash(strings.Join(over, ",")), m.Path)
	}
	return tw.flush()
}

func (e *env) cyberListCmd() *cobra.Command {
	var out *output
	var f vuln.ListFilter
	c := &cobra.Command{
		Use:   "list [--org ODS] [--format table|json|ids]",
		Short: "List national cyber alerts, newest first, with their response counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Alerts.List(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("ID", func(x vuln.AlertSummary) any { return x.ID }), col("SEVERITY", func(x vuln.AlertSummary) any { return x.Severity }),
					col("TLP", func(x vuln.AlertSummary) any { return x.TLP }),
					col("ACKNOWLEDGED", func(x vuln.AlertSummary) any {
						return phrase.Int(x.Stats.Acknowledged) + " of " + phrase.Int(x.Stats.Organisations)
					}),
					col("OVERDUE", func(x vuln.AlertSummary) any { return x.Stats.AckOverdue }),
					col("TITLE", func(x vuln.AlertSummary) any { return x.Title }))
				for _, x := range list {
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	c.Flags().StringVar(&f.Org, "org", "", "only alerts with this organisation in scope")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) cyberShowCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "show ID [--format table|json]",
		Short: "Show a cyber alert: what it asks, and each organisation's path into scope, clocks and responses",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Alerts.Get(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, x, func() error { return e.cyberTable(x) })
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) cyberRespondCmd() *cobra.Command {
	var r vuln.Response
	var out *output
	c := &cobra.Command{
		Use:   "respond ID --org ODS… --action acknowledge|applicability|update|close [--applicability A] [--text TEXT] [--format table|json]",
		Short: "Record an organisation's answer to a cyber alert (several --org: all or none)",
		Example: `  vigil cyberalert respond CA-20261207-AB12CD34 --org RJ1 --action acknowledge
  vigil cyberalert respond CA-20261207-AB12CD34 --org RJ1,RJZ --action applicability --applicability not-affected --text "agent not installed"
  vigil cyberalert respond CA-20261207-AB12CD34 --org RJ1 --action close --text "upgraded to 7.12 on all hosts (CHG-42)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				ms, err := a.Alerts.Respond(cmd.Context(), operator(), args[0], r)
				if err != nil {
					return err
				}
				return e.result(out, ms, func() error {
					for _, m := range ms {
						printf(e.stdout, "%s (%s): %s\n", m.Org, m.Name, m.State())
					}
					return nil
				})
			})
		},
	}
	c.Flags().StringSliceVar(&r.Orgs, "org", nil, "the organisation answered for (repeat, or separate with commas)")
	c.Flags().StringVar(&r.Action, "action", "", strings.Join(vuln.Actions(), ", "))
	c.Flags().StringVar(&r.Applicability, "applicability", "", strings.Join(vuln.Applicabilities(), ", ")+" (with --action applicability)")
	c.Flags().StringVar(&r.Text, "text", "", "the reason, the update or the evidence")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) cyberStatusCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "status [ID] [--format table|json|csv]",
		Short: "The response dashboard: response rate and overdue organisations by region, ICB and type, of one alert or all",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				d, err := a.Alerts.Dashboard(cmd.Context(), operator(), id)
				if err != nil {
					return err
				}
				if out.is("csv") {
					return d.WriteCSV(e.stdout)
				}
				return e.result(out, d, func() error { return e.cyberDashTable(d) })
			})
		},
	}
	out = formatFlag(c, "table", "json", "csv")
	return c
}

func (e *env) cyberDashTable(d vuln.Dashboard) error {
	t := d.Totals
	printf(e.stdout, "%s in scope, %s acknowledged (%s), %s closed; overdue: %s acknowledgements (%s escalated), %s updates\n",
		phrase.Int(t.Organisations), phrase.Int(t.Acknowledged), phrase.Percent(t.ResponseRate), phrase.Int(t.Closed),
		phrase.Int(t.AckOverdue), phrase.Int(t.Escalated), phrase.Int(t.UpdateOverdue))
	fmt.Fprintln(e.stdout, "\nAcknowledged over time:")
	tw := newTable(e.stdout)
	tw.header("WITHIN", "ACKNOWLEDGED", "RATE")
	for _, p := range d.OverTime {
		rate := phrase.Percent(p.Rate)
		if !p.Elapsed {
			rate += " so far"
		}
		tw.row(fmt.Sprintf("%d h", p.Hours), p.Acknowledged, rate)
	}
	if err := tw.flush(); err != nil {
		return err
	}
	for _, g := range []struct {
		title string
		rows  []vuln.GroupStats
	}{{"By region", d.ByRegion}, {"By ICB", d.ByICB}, {"By type", d.ByType}} {
		fmt.Fprintf(e.stdout, "\n%s:\n", g.title)
		tw := newTable(e.stdout)
		tw.header("CODE", "NAME", "IN SCOPE", "ACKNOWLEDGED", "RATE", "CLOSED", "ACK OVERDUE", "UPDATE OVERDUE")
		for _, r := range g.rows {
			tw.row(dash(r.Code), dash(r.Name), r.Organisations, r.Acknowledged, phrase.Percent(r.ResponseRate), r.Closed, r.AckOverdue, r.UpdateOverdue)
		}
		if err := tw.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "\nOverdue (%s):\n", phrase.Int(len(d.Overdue)))
	tw = newTable(e.stdout)
	tw.header("ALERT", "ORG", "NAME", "REGION", "ICB", "CLOCK", "DUE")
	for _, m := range d.Overdue {
		clock, due := "update", m.UpdateDue
		if m.AckOverdue {
			clock, due = "acknowledge", m.AckDue
		}
		tw.row(m.Alert, m.Org, m.Name, dash(m.Region), dash(m.ICB), clock, due.UTC().Format(time.RFC3339))
	}
	return tw.flush()
}

func (e *env) cyberClocksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "clocks",
		Short: "Check the alerts' clocks once: reminders, and escalation of missed 48-hour acknowledgements (the server does this every 30 s)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				n, err := a.Alerts.CheckClocks(cmd.Context())
				if err != nil {
					return err
				}
				printf(e.stdout, "%s sent\n", phrase.Count(n, "reminder or escalation", "reminders or escalations"))
				return nil
			})
		},
	}
}
