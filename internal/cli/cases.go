package cli

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/phrase"
)

// alertsCmd is `vigil alerts`: the alerts inbox (issue 15). Commands run
// with the operator's national scope and print the domain's types: JSON
// exactly as the API answers (one object a line), or tables for people.
func (e *env) alertsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "alerts",
		Short: "The alerts inbox: list, show and triage alerts",
		Long: `Alerts come from every producer — the API (POST /api/v1/alerts, for EDR and e-mail
gateways), the ALERTS stream on the bus (detection, IOC matches, vulnerability alerts) — as one
model: source, type, source reference, title, severity, organisation, TLP and PAP, observables.
A repeat of (organisation, source, type, source_ref) raises the stored alert's occurrence count.`,
	}
	c.AddCommand(e.alertsListCmd(), e.alertsGetCmd(), e.alertsTriageCmd())
	return c
}

func (e *env) alertsListCmd() *cobra.Command {
	var f cases.AlertFilter
	var status, severity, since string
	var limit int
	var out *output
	c := &cobra.Command{
		Use:   "list [--status S] [--severity S] [--org ODS] [--source S] [--q TEXT] [--format table|json|ids]",
		Short: "List alerts, newest first (json: one object per line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.Status, f.Severity = cases.AlertStatus(status), cases.Severity(severity)
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return usagef("--since %q: want an RFC 3339 time such as 2026-11-30T09:00:00Z", since)
				}
				f.Since = t
			}
			if limit < 1 {
				return usagef("--limit %d: want at least 1", limit)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				l := newLister(e, out,
					col("ID", func(x cases.Alert) any { return x.ID }), col("SEVERITY", func(x cases.Alert) any { return x.Severity }),
					col("STATUS", func(x cases.Alert) any { return x.Status }), col("ORG", func(x cases.Alert) any { return x.Org }),
					col("SOURCE/TYPE", func(x cases.Alert) any { return x.Source + "/" + x.Type }),
					col("SEEN", func(x cases.Alert) any { return phrase.Int(x.Occurrences) }), col("TITLE", func(x cases.Alert) any { return x.Title }),
					col("CASE", func(x cases.Alert) any { return dash(x.CaseID) }))
				if err := pages(limit, cases.MaxPage, func(n int, after string) ([]cases.Alert, string, error) {
					f.Limit, f.After = n, after
					return a.Cases.ListAlerts(cmd.Context(), operator(), f)
				}, l.add); err != nil {
					return err
				}
				return l.flush()
			})
		},
	}
	c.Flags().StringVar(&status, "status", "", "new, acknowledged, in-case or closed")
	c.Flags().StringVar(&severity, "severity", "", "info, low, medium, high or critical")
	c.Flags().StringVar(&f.Org, "org", "", "only this organisation (ODS code)")
	c.Flags().StringVar(&f.Source, "source", "", "only this source")
	c.Flags().StringVar(&f.Type, "type", "", "only this type")
	c.Flags().StringVar(&f.Query, "q", "", "search the title, source, type, reference and observables: each word finds the words it begins (\"powershell\", \"ws-r3i2t4-004\", \"203.0.113\")")
	c.Flags().StringVar(&since, "since", "", "received at or after (RFC 3339)")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) alertsGetCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "get ID [--format table|json]",
		Short: "Show one alert with its observables and disposition history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.GetAlert(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				if out.is("json") {
					return e.printJSON(x)
				}
				tw := newTable(e.stdout)
				for _, kv := range [][2]any{{"id", x.ID}, {"title", x.Title}, {"organisation", x.Org}, {"source/type", x.Source + "/" + x.Type},
					{"reference", x.SourceRef}, {"severity", x.Severity}, {"tlp/pap", string(x.TLP) + "/" + string(x.PAP)}, {"status", x.Status},
					{"assignee", dash(x.Assignee)}, {"disposition", dash(string(x.Disposition))}, {"case", dash(x.CaseID)},
					{"occurrences", phrase.Int(x.Occurrences)}, {"first seen", x.FirstSeen.Format(time.RFC3339)}, {"last seen", x.LastSeen.Format(time.RFC3339)}} {
					tw.row(kv[0], kv[1])
				}
				for _, o := range x.Observables {
					tw.row("observable", string(o.Type)+" "+o.Value)
				}
				for _, d := range x.Dispositions {
					tw.row("verdict", tsprintf("%s by %s at %s: %s", d.Disposition, d.By, d.At.Format(time.RFC3339), d.Reason))
				}
				// The producer's fields: for a Sigma rule's alert, the rule,
				// its author (which the rules' licence asks to be shown with
				// every match) and what matched.
				keys := make([]string, 0, len(x.Fields))
				for k := range x.Fields {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					tw.row("field "+k, x.Fields[k])
				}
				if err := tw.flush(); err != nil {
					return err
				}
				if d := strings.TrimSpace(x.Description); d != "" {
					printf(e.stdout, "\n")
					for _, l := range strings.Split(d, "\n") {
						printf(e.stdout, "%s\n", l) // escaped a line at a time
					}
				}
				return nil
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) alertsTriageCmd() *cobra.Command {
	var t cases.Triage
	var action, disposition string
	var out *output
	c := &cobra.Command{
		Use:   "triage ID... --action assign|acknowledge|disposition|close|reopen [--assignee E-MAIL] [--disposition D] [--reason TEXT]",
		Short: "Triage alerts in bulk, all or none",
		Long: `Apply one action to every alert named, in one transaction: if any alert cannot be
found or changed, none is. Dispositions: true-positive, false-positive, benign, duplicate, test.
Closing needs a disposition (given, or one the alert has already).`,
		Example: `  vigil alerts triage AL-01J… AL-01K… --action close --disposition false-positive --reason "scanner"`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t.IDs, t.Action, t.Disposition = args, cases.TriageAction(action), cases.Disposition(disposition)
			if action == "" {
				return usagef("--action is required: one of %s", joinNames(cases.TriageActions()))
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				res, err := a.Cases.TriageAlerts(cmd.Context(), operator(), t)
				if err != nil {
					return err
				}
				return e.result(out, res, func() error {
					return printRows(e.stdout, 0, res.Alerts,
						col("ID", func(x cases.Alert) any { return x.ID }), col("STATUS", func(x cases.Alert) any { return x.Status }),
						col("ASSIGNEE", func(x cases.Alert) any { return dash(x.Assignee) }),
						col("DISPOSITION", func(x cases.Alert) any { return dash(string(x.Disposition)) }))
				})
			})
		},
	}
	c.Flags().StringVar(&action, "action", "", "assign, acknowledge, disposition, close or reopen")
	c.Flags().StringVar(&t.Assignee, "assignee", "", "e-mail of the analyst (assign; empty clears)")
	c.Flags().StringVar(&disposition, "disposition", "", "true-positive, false-positive, benign, duplicate or test")
	c.Flags().StringVar(&t.Reason, "reason", "", "why (kept in the disposition history)")
	out = formatFlag(c, "table", "json")
	return c
}

// casesCmd is `vigil cases`.
func (e *env) casesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cases",
		Short: "Cases: list, show, open, close and merge",
		Long: `A case is one organisation's investigation: alerts, tasks, observables, evidence, a timeline
and comments. Templates (` + "ransomware, phishing, supplier-compromise, data-breach" + `) give a new case its
tasks and custom fields; fields a template marks required must be filled before it closes.`,
	}
	c.AddCommand(e.casesListCmd(), e.casesGetCmd(), e.casesCreateCmd(), e.casesCloseCmd(), e.casesMergeCmd(), e.casesClocksCmd(), e.casesClockCmd())
	return c
}

// caseColumns are a case's columns in lists.
func caseColumns() []column[cases.Case] {
	return []column[cases.Case]{
		col("ID", func(x cases.Case) any { return x.ID }), col("SEVERITY", func(x cases.Case) any { return x.Severity }),
		col("STATUS", func(x cases.Case) any { return x.Status }), col("ORG", func(x cases.Case) any { return x.Org }),
		col("ASSIGNEE", func(x cases.Case) any { return dash(x.Assignee) }), col("TEMPLATE", func(x cases.Case) any { return dash(x.Template) }),
		col("TITLE", func(x cases.Case) any { return x.Title }),
	}
}

// printCase prints one case in the command's format.
func (e *env) printCase(out *output, x cases.Case) error {
	return e.resultID(out, x, x.ID, func() error { return e.caseTable(x) })
}

func (e *env) caseTable(x cases.Case) error {
	tw := newTable(e.stdout)
	for _, kv := range [][2]any{{"id", x.ID}, {"title", x.Title}, {"organisation", x.Org}, {"severity", x.Severity},
		{"tlp/pap", string(x.TLP) + "/" + string(x.PAP)}, {"status", x.Status}, {"assignee", dash(x.Assignee)}, {"team", dash(x.Team)},
		{"template", dash(x.Template)}, {"tags", dash(strings.Join(x.Tags, ", "))}, {"alerts", phrase.Count(len(x.Alerts), "alert", "")},
		{"opened", x.CreatedAt.Format(time.RFC3339) + " by " + x.CreatedBy}} {
		tw.row(kv[0], kv[1])
	}
	if x.Status == cases.CaseClosed {
		tw.row("closed", tsprintf("%s, impact %s: %s", x.Resolution, x.Impact, x.Summary))
	}
	if x.MergedInto != "" {
		tw.row("merged into", x.MergedInto)
	}
	for _, k := range sortedFieldKeys(x.Fields) {
		tw.row("field "+k, tsprintf("%v", x.Fields[k]))
	}
	for _, t := range x.Tasks {
		tw.row("task", tsprintf("[%s] %s", t.Status, t.Title))
	}
	for _, l := range x.Links {
		tw.row("link", tsprintf("%s %s %s", l.Kind, l.CaseID, l.Title))
	}
	for _, k := range x.Clocks {
		s := tsprintf("%s, due %s", k.State, k.DueAt.UTC().Format(time.RFC3339))
		if k.BreachedAt != nil {
			s += tsprintf(", breached %s", k.BreachedAt.UTC().Format(time.RFC3339))
		}
		tw.row("clock "+string(k.Clock), s)
	}
	return tw.flush()
}

func sortedFieldKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (e *env) casesListCmd() *cobra.Command {
	var f cases.CaseFilter
	var status, severity string
	var limit int
	var out *output
	c := &cobra.Command{
		Use:   "list [--status S] [--org ODS] [--tag T] [--q TEXT] [--format table|json|ids]",
		Short: "List cases, newest first (json: one object per line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return usagef("--limit %d: want at least 1", limit)
			}
			f.Status, f.Severity = cases.CaseStatus(status), cases.Severity(severity)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				l := newLister(e, out, caseColumns()...)
				if err := pages(limit, cases.MaxPage, func(n int, after string) ([]cases.Case, string, error) {
					f.Limit, f.After = n, after
					return a.Cases.ListCases(cmd.Context(), operator(), f)
				}, l.add); err != nil {
					return err
				}
				return l.flush()
			})
		},
	}
	c.Flags().StringVar(&status, "status", "", "new, in-progress, resolved or closed")
	c.Flags().StringVar(&severity, "severity", "", "info, low, medium, high or critical")
	c.Flags().StringVar(&f.Org, "org", "", "only this organisation (ODS code)")
	c.Flags().StringVar(&f.Assignee, "assignee", "", "only cases assigned to this e-mail")
	c.Flags().StringVar(&f.Tag, "tag", "", "only cases with this tag")
	c.Flags().StringVar(&f.Template, "template", "", "only cases of this template")
	c.Flags().StringVar(&f.Query, "q", "", "search the title and tags: each word finds the words it begins (\"ransom ward\")")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) casesGetCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "get ID [--format table|json]",
		Short: "Show one case with its tasks and links",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.GetCase(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.printCase(out, x)
			})
		},
	}
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) casesCreateCmd() *cobra.Command {
	var n cases.NewCase
	var severity, tlp string
	var out *output
	c := &cobra.Command{
		Use:   "create --org ODS --title T [--template NAME] [--alert ID]... [--format table|json]",
		Short: "Open a case, from a template or not; with --alert, promote those alerts into it",
		Example: `  vigil cases create --org RJ1 --template ransomware --title "Ransomware on ward PCs"
  vigil cases create --alert AL-01J… --alert AL-01K… --template phishing`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n.Severity, n.TLP = cases.Severity(severity), cases.TLP(tlp)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.CreateCase(cmd.Context(), operator(), n)
				if err != nil {
					return err
				}
				return e.printCase(out, x)
			})
		},
	}
	c.Flags().StringVar(&n.Org, "org", "", "the organisation (ODS code); with --alert, defaults to the alerts'")
	c.Flags().StringVar(&n.Title, "title", "", "title (defaults to the template's or the first alert's)")
	c.Flags().StringVar(&n.Description, "description", "", "Markdown description")
	c.Flags().StringVar(&n.Template, "template", "", "ransomware, phishing, supplier-compromise or data-breach")
	c.Flags().StringVar(&severity, "severity", "", "info, low, medium, high or critical")
	c.Flags().StringVar(&tlp, "tlp", "", "clear, green, amber, amber+strict or red")
	c.Flags().StringVar(&n.Assignee, "assignee", "", "e-mail of the analyst")
	c.Flags().StringSliceVar(&n.Tags, "tag", nil, "tags (repeat or comma-separate)")
	c.Flags().StringArrayVar(&n.AlertIDs, "alert", nil, "alerts to promote into the case (repeat)")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) casesCloseCmd() *cobra.Command {
	var ch cases.StatusChange
	var resolution, impact string
	var fields []string
	var out *output
	c := &cobra.Command{
		Use:   "close ID --resolution R --impact I [--field NAME=VALUE]... [--summary TEXT]",
		Short: "Close a case with its resolution and impact",
		Long: `Close a case. Resolutions: true-positive, false-positive, benign, duplicate, other.
Impacts: none, minor, significant, severe. Fields the case's template marks required must be set:
give them with --field (a number, true or false, a date or text, as the field's type says).`,
		Example: `  vigil cases close CS-01J… --resolution true-positive --impact minor --field clicked=2 --field credentials_entered=false`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch.Status, ch.Resolution, ch.Impact = cases.CaseClosed, cases.Resolution(resolution), cases.Impact(impact)
			set, err := fieldValues(fields)
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if len(set) > 0 {
					if _, err := a.Cases.UpdateCase(cmd.Context(), operator(), args[0], cases.CasePatch{Fields: set}); err != nil {
						return err
					}
				}
				x, err := a.Cases.SetStatus(cmd.Context(), operator(), args[0], ch)
				if err != nil {
					return err
				}
				return e.printCase(out, x)
			})
		},
	}
	c.Flags().StringVar(&resolution, "resolution", "", "true-positive, false-positive, benign, duplicate or other")
	c.Flags().StringVar(&impact, "impact", "", "none, minor, significant or severe")
	c.Flags().StringVar(&ch.Summary, "summary", "", "what happened and what was done")
	c.Flags().StringArrayVar(&fields, "field", nil, "a custom field, NAME=VALUE (repeat)")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

// fieldValues reads --field NAME=VALUE flags: a value that is a JSON
// number or boolean is that; anything else is text, which the template's
// field type then checks (dates, choices).
func fieldValues(flags []string) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usagef("--field %q: want NAME=VALUE", f)
		}
		var v any = value
		if n, err := strconv.ParseFloat(value, 64); err == nil {
			v = n
		} else if b, err := strconv.ParseBool(value); err == nil {
			v = b
		}
		out[strings.TrimSpace(name)] = v
	}
	return out, nil
}

func (e *env) casesMergeCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "merge INTO FROM",
		Short: "Merge case FROM into case INTO; FROM is closed as a duplicate",
		Long: `Everything in FROM — alerts, observables, tasks, comments, evidence, timeline, links —
moves to INTO, and FROM is closed as a duplicate naming INTO. FROM must belong to INTO's
organisation or one below it (otherwise link the cases).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Cases.MergeCases(cmd.Context(), operator(), args[0], args[1])
				if err != nil {
					return err
				}
				return e.printCase(out, x)
			})
		},
	}
	out = formatFlag(c, "table", "json", "ids")
	return c
}

// clockColumns are a clock's columns.
func clockColumns() []column[cases.Clock] {
	when := func(t *time.Time) any {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	return []column[cases.Clock]{
		col("CLOCK", func(x cases.Clock) any { return x.Clock }), col("STATE", func(x cases.Clock) any { return x.State }),
		col("STARTED", func(x cases.Clock) any { return x.StartedAt.UTC().Format(time.RFC3339) }),
		col("DUE", func(x cases.Clock) any { return x.DueAt.UTC().Format(time.RFC3339) }),
		col("MET", func(x cases.Clock) any { return when(x.MetAt) }), col("BREACHED", func(x cases.Clock) any { return when(x.BreachedAt) }),
		col("WHY", func(x cases.Clock) any { return dash(x.Source) }),
	}
}

func (e *env) printClocks(out *output, ks []cases.Clock) error {
	l := newLister(e, out, clockColumns()...)
	for _, k := range ks {
		if err := l.add(k); err != nil {
			return err
		}
	}
	return l.flush()
}

func (e *env) casesClocksCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "clocks ID [--format table|json]",
		Short: "Show a case's SLA and regulatory clocks: due times, met or breached",
		Long: `SLA clocks start when a case opens, with its severity's times (--case-sla of vigil serve):
ack is met when the case first moves to in-progress, respond when it is resolved, resolve when it
is closed. Regulatory clocks (nis, ico) run 72 hours from awareness; start them with
` + "`vigil cases clock ID --clock nis --action start`" + ` (data-breach's aware_on field starts ico).
A clock past due is breached by the server and escalated to the region and the national team.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				ks, err := a.Cases.Clocks(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.printClocks(out, ks)
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) casesClockCmd() *cobra.Command {
	var ca cases.ClockAction
	var clock, at string
	var out *output
	c := &cobra.Command{
		Use:   "clock ID --clock nis|ico --action start|reported|cancel [--at TIME] [--note TEXT]",
		Short: "Start a regulatory clock (72 hours from awareness), record its report as made, or cancel it",
		Example: `  vigil cases clock CS-01J… --clock nis --action start --at 2026-12-05T22:10:00Z
  vigil cases clock CS-01J… --clock nis --action reported --note "NCSC reference 4711"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ca.Clock = cases.ClockKind(clock)
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usagef("--at %q: want an RFC 3339 time such as 2026-12-05T22:10:00Z", at)
				}
				ca.At = &t
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				ks, err := a.Cases.ActOnClock(cmd.Context(), operator(), args[0], ca)
				if err != nil {
					return err
				}
				return e.printClocks(out, ks)
			})
		},
	}
	c.Flags().StringVar(&clock, "clock", "", "nis or ico")
	c.Flags().StringVar(&ca.Action, "action", "start", "start, reported or cancel")
	c.Flags().StringVar(&at, "at", "", "when the organisation became aware (start) or reported (reported); default now")
	c.Flags().StringVar(&ca.Note, "note", "", "the report's reference, or why the incident is not reportable (cancel)")
	out = formatFlag(c, "table", "json")
	return c
}
