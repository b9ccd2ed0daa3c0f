package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/phrase"
)

// incidentsCmd is `vigil incidents`: national incidents from a supplier
// compromise (issue 15).
func (e *env) incidentsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "incidents",
		Short: "National incidents: open one from a supplier compromise, follow acknowledgements",
		Long: `A national incident is a case of the national team over one child case per affected
organisation. Opened from a supplier compromise, it asks the supplier register for the blast
radius (the organisations ` + "`vigil supply impact`" + ` lists) and gives each organisation a case carrying
its impact class (hard-down, degraded, exposed) and the dependency paths that explain it. Each
organisation sees only its own case, acknowledges it and reports its status.`,
	}
	c.AddCommand(e.incidentsOpenCmd(), e.incidentsShowCmd(), e.incidentsListCmd(), e.incidentsRefreshCmd(), e.incidentsAckCmd(), e.incidentsShareCmd())
	return c
}

func (e *env) incidentsOpenCmd() *cobra.Command {
	var n cases.NewIncident
	var severity string
	var out *output
	c := &cobra.Command{
		Use:   "open --supplier ID [--product ID] --title T [--severity S] [--format table|json|ids]",
		Short: "Open a national incident from a supplier compromise, with a child case per affected organisation",
		Long: `JSON output is the incident with its id and children: [{"org","impact","case_id",…}], exactly
the organisations ` + "`vigil supply impact`" + ` gives for the same supplier (or product).`,
		Example: `  vigil incidents open --supplier DEMO-PATH --title "Pathology supplier ransomware" --severity critical
  vigil incidents open --supplier DEMO-PATH --product demo-path-lims --title "LIMS compromised" --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n.Severity = cases.Severity(severity)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.OpenIncident(cmd.Context(), operator(), n)
				if err != nil {
					return err
				}
				return e.resultID(out, x, x.ID, func() error { return e.incidentTable(x, false) })
			})
		},
	}
	c.Flags().StringVar(&n.Supplier, "supplier", "", "the compromised supplier's register ID or name")
	c.Flags().StringVar(&n.Product, "product", "", "only this product of the supplier (ID or name)")
	c.Flags().StringVar(&n.Title, "title", "", "the incident's title")
	c.Flags().StringVar(&severity, "severity", "high", "info, low, medium, high or critical")
	c.Flags().StringVar(&n.Description, "description", "", "Markdown description of the incident")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

// incidentTable prints an incident for people: totals, progress by
// region, who has not answered; all children with --children.
func (e *env) incidentTable(x cases.Incident, children bool) error {
	tw := newTable(e.stdout)
	p := x.Progress
	for _, kv := range [][2]any{{"id", x.ID}, {"title", x.Title}, {"supplier", tsprintf("%s (%s)", x.Subject, x.Supplier)}, {"product", dash(x.Product)},
		{"severity", x.Severity}, {"status", x.Status}, {"opened", x.OpenedAt.UTC().Format(time.RFC3339) + " by " + x.OpenedBy},
		{"organisations", phrase.Count(p.Organisations, "organisation", "") + " affected"},
		{"answered", fmt.Sprintf("%s of %s", phrase.Int(p.Answered), phrase.Int(p.Organisations))},
		{"services down", phrase.Int(p.ByStatus[cases.AckServicesDown])}, {"fallback in use", phrase.Int(p.ByStatus[cases.AckFallback])},
		{"restored", phrase.Int(p.ByStatus[cases.AckRestored])}} {
		tw.row(kv[0], kv[1])
	}
	if p.NoLongerAffected > 0 {
		tw.row("no longer affected", phrase.Int(p.NoLongerAffected))
	}
	if r := x.Refresh; r != nil {
		tw.row("refresh", tsprintf("%d new, %d changed, %d no longer affected, %d affected again", len(r.Added), len(r.Changed), len(r.Dropped), len(r.Returned)))
	}
	if err := tw.flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nAcknowledgements by region:")
	tw = newTable(e.stdout)
	tw.header("REGION", "NAME", "AFFECTED", "ANSWERED", "DOWN", "FALLBACK", "RESTORED")
	for _, g := range p.ByRegion {
		tw.row(g.Code, dash(g.Name), g.Organisations, g.Answered, g.ServicesDown, g.Fallback, g.Restored)
	}
	if err := tw.flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nAcknowledgements by ICB:")
	tw = newTable(e.stdout)
	tw.header("ICB", "NAME", "AFFECTED", "ANSWERED", "DOWN", "FALLBACK", "RESTORED")
	for _, g := range p.ByICB {
		tw.row(g.Code, dash(g.Name), g.Organisations, g.Answered, g.ServicesDown, g.Fallback, g.Restored)
	}
	if err := tw.flush(); err != nil {
		return err
	}
	list := x.Children
	title := "\nAffected organisations:"
	if !children {
		waiting := map[string]bool{}
		for _, o := range p.NotAnswered {
			waiting[o] = true
		}
		list = nil
		for _, c := range x.Children {
			if waiting[c.Org] {
				list = append(list, c)
			}
		}
		title = fmt.Sprintf("\nNot answered (%s):", phrase.Int(len(list)))
	}
	fmt.Fprintln(e.stdout, title)
	tw = newTable(e.stdout)
	tw.header("ORG", "NAME", "IMPACT", "ICB", "REGION", "STATUS", "CASE")
	for _, c := range list {
		st := dash(c.Status)
		if !c.InScope {
			st += " (no longer affected)"
		}
		tw.row(c.Org, c.Name, c.Impact, dash(c.ICB), dash(c.Region), st, c.CaseID)
	}
	return tw.flush()
}

func (e *env) incidentsShowCmd() *cobra.Command {
	var out *output
	var children bool
	c := &cobra.Command{
		Use:   "show ID [--children] [--format table|json]",
		Short: "Show a national incident: acknowledgement progress by region and ICB, and who has not answered",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.GetIncident(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, x, func() error { return e.incidentTable(x, children) })
			})
		},
	}
	c.Flags().BoolVar(&children, "children", false, "list every affected organisation, not only those yet to answer")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) incidentsListCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "list [--format table|json|ids]",
		Short: "List national incidents, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Cases.ListIncidents(cmd.Context(), operator())
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("ID", func(x cases.IncidentSummary) any { return x.ID }), col("SEVERITY", func(x cases.IncidentSummary) any { return x.Severity }),
					col("STATUS", func(x cases.IncidentSummary) any { return x.Status }), col("SUPPLIER", func(x cases.IncidentSummary) any { return x.Supplier }),
					col("ANSWERED", func(x cases.IncidentSummary) any {
						return phrase.Int(x.Answered) + " of " + phrase.Int(x.Organisations)
					}),
					col("TITLE", func(x cases.IncidentSummary) any { return x.Title }))
				for _, x := range list {
					if err := l.add(x); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) incidentsRefreshCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "refresh ID [--format table|json]",
		Short: "Ask the supplier register again: new organisations get a case, those no longer affected are marked",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.RefreshIncident(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, x, func() error { return e.incidentTable(x, false) })
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) incidentsAckCmd() *cobra.Command {
	var ack cases.IncidentAck
	var out *output
	c := &cobra.Command{
		Use:     "ack CASE --status services-down|fallback-in-use|restored [--note TEXT]",
		Short:   "Acknowledge an organisation's case of a national incident and report its status",
		Example: `  vigil incidents ack CS-01J… --status fallback-in-use --note "paper requests to the hub lab"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.AcknowledgeIncident(cmd.Context(), operator(), args[0], ack)
				if err != nil {
					return err
				}
				return e.result(out, x, func() error {
					printf(e.stdout, "%s (%s) acknowledged incident %s: %s\n", x.Org, x.Name, x.Incident, x.Status)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&ack.Status, "status", "", strings.Join(cases.AckStatuses(), ", "))
	c.Flags().StringVar(&ack.Note, "note", "", "what the organisation is doing")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) incidentsShareCmd() *cobra.Command {
	var u cases.IncidentUpdate
	c := &cobra.Command{
		Use:   "share ID --title T [--body TEXT]",
		Short: "Copy an update from the national team into every affected organisation's case",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				n, err := a.Cases.ShareIncidentUpdate(cmd.Context(), operator(), args[0], u)
				if err != nil {
					return err
				}
				printf(e.stdout, "shared with %s\n", phrase.Count(n, "organisation", ""))
				return nil
			})
		},
	}
	c.Flags().StringVar(&u.Title, "title", "", "the update's headline")
	c.Flags().StringVar(&u.Body, "body", "", "the update (Markdown)")
	return c
}
