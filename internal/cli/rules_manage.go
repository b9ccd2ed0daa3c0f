package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/rules"
)

// Rule management (issue 17 part 4): the commands run on the data
// directory's store with the operator's national scope, as the other
// commands do; a running server picks the change up within seconds
// (rules.Service's generation, or a change notice over an external NATS).

func (e *env) rulesImportCmd() *cobra.Command {
	var pack, note string
	var out *output
	c := &cobra.Command{
		Use:   "import PATH|ZIP",
		Short: "Import Sigma rules from a directory, a rule file or a SigmaHQ release zip into the store",
		Long: `Import a pack of Sigma rules into Vigil's store, from which every server runs them live.

PATH is a directory (every *.yml and *.yaml under it), one rule file, or a zip archive such as
SigmaHQ's release sigma_all_rules.zip (rules under rules/…). Each file is validated as detection
loads it; a file that does not load is reported with its file, line and reason and stored
nowhere. A rule is known by its Sigma id: a new id is a new rule (version 1, enabled for every
organisation); changed text is a new version, the old one kept in the rule's history; unchanged
text stores nothing. The whole import is one transaction: it never half-writes, and rules the
pack does not hold (or holds a broken copy of) stay as they were.

The exit status is 1 when any file did not load (the others are stored).`,
		Example: `  vigil rules import ../shared/data/sigma/rules/windows --pack sigmahq
  vigil rules import sigma_all_rules.zip --note "SigmaHQ r2026-12-01"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				rep, err := a.Rules.ImportPath(cmd.Context(), operator(), args[0], pack, note)
				if err != nil {
					return err
				}
				if err := e.result(out, rep, func() error {
					for _, f := range rep.Failed {
						printf(e.stdout, "%v\n", f)
					}
					printf(e.stdout, "pack %s: %s read; %s added, %s updated, %s unchanged, %s not loaded\n", rep.Pack,
						phrase.Count(rep.Files, "file", "files"), phrase.Int(len(rep.Added)), phrase.Int(len(rep.Updated)),
						phrase.Int(rep.Unchanged), phrase.Int(len(rep.Failed)))
					return nil
				}); err != nil {
					return err
				}
				if len(rep.Failed) > 0 {
					return fmt.Errorf("%s did not load and %s not stored (the rest are)", phrase.Count(len(rep.Failed), "file", "files"),
						map[bool]string{true: "was", false: "were"}[len(rep.Failed) == 1])
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&pack, "pack", "", "name of the pack the rules come from (default: the directory's or archive's name)")
	c.Flags().StringVar(&note, "note", "", "why: kept with each new version in the rules' history")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) rulesListCmd() *cobra.Command {
	var f rules.ListFilter
	var out *output
	c := &cobra.Command{
		Use:   "list [--org ODS] [--q TEXT] [--pack NAME] [--level LEVEL] [--disabled] [--format table|json|ids]",
		Short: "List the stored rules, with their settings (json: one object per line)",
		Long: `List the stored Sigma rules in id order: level, status, pack, version, and whether each runs.
With --org, each rule also shows that organisation's own settings and what detection does for it
(EFFECTIVE: on or off, and the level its alerts are raised at).`,
		Example: `  vigil rules list --q mimikatz
  vigil rules list --org RJ1 --disabled`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				l := newLister(e, out,
					col("ID", func(r rules.Rule) any { return r.ID }),
					col("LEVEL", func(r rules.Rule) any { return r.EffectiveLevel }),
					col("ON", func(r rules.Rule) any { return onOff(r.EffectiveEnabled) }),
					col("STATUS", func(r rules.Rule) any { return dash(r.Status) }),
					col("PACK", func(r rules.Rule) any { return r.Pack }),
					col("V", func(r rules.Rule) any { return r.Version }),
					col("TITLE", func(r rules.Rule) any { return r.Title }))
				for {
					rs, err := a.Rules.List(cmd.Context(), operator(), f)
					if err != nil {
						return err
					}
					for _, r := range rs {
						if err := l.add(r); err != nil {
							return err
						}
					}
					if len(rs) < rules.MaxPage {
						return l.flush()
					}
					f.After = rs[len(rs)-1].ID
				}
			})
		},
	}
	c.Flags().StringVar(&f.Org, "org", "", "show this organisation's settings (ODS code)")
	c.Flags().StringVar(&f.Query, "q", "", "rules whose id, title, tags or author contain this")
	c.Flags().StringVar(&f.Pack, "pack", "", "only this pack")
	c.Flags().StringVar(&f.Level, "level", "", "only this level (informational, low, medium, high, critical)")
	c.Flags().BoolVar(&f.Disabled, "disabled", false, "only rules that do not run (for --org when given)")
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (e *env) rulesShowCmd() *cobra.Command {
	var out *output
	var text bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show a stored rule: settings, exceptions, hits and its history of versions",
		Long: `Show one stored rule by its Sigma id: what it is, its settings for every organisation and for
each organisation's own, its exceptions (expired ones marked), its hits over the last 30 days
and every version it has had, newest first, with who changed it, when and why. --yaml prints
the current text alone (to edit and import again).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				d, err := a.Rules.Get(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				if text {
					printf(e.stdout, "%s", d.YAML)
					return nil
				}
				return e.result(out, d, func() error {
					w := e.stdout
					printf(w, "%s\n  id:       %s\n  level:    %s", d.Title, d.ID, dash(d.Level))
					if d.LevelOverride != "" {
						printf(w, " (raised as %s for every organisation)", d.LevelOverride)
					}
					printf(w, "\n  status:   %s\n  author:   %s\n  logsource: %s\n  tags:     %s\n  pack:     %s (%s)\n  enabled:  %s for every organisation\n  version:  %d, %s by %s\n",
						dash(d.Status), dash(d.Author), dash(strings.Trim(d.Product+"/"+d.Category+"/"+d.Service, "/")), dash(strings.Join(d.Tags, " ")),
						d.Pack, d.Path, onOff(d.Enabled), d.Version, d.UpdatedAt.Format(time.RFC3339), d.UpdatedBy)
					if len(d.Orgs) > 0 {
						printf(w, "\nOrganisations' own settings\n")
						if err := printRows(w, 0, d.Orgs,
							col("ORG", func(o rules.OrgSetting) any { return o.Org }),
							col("ENABLED", func(o rules.OrgSetting) any {
								if o.Enabled == nil {
									return "(as everywhere)"
								}
								return onOff(*o.Enabled)
							}),
							col("LEVEL", func(o rules.OrgSetting) any { return dash(o.Level) }),
							col("BY", func(o rules.OrgSetting) any { return o.UpdatedBy })); err != nil {
							return err
						}
					}
					if len(d.Exceptions) > 0 {
						printf(w, "\nExceptions\n")
						if err := printRows(w, 0, d.Exceptions,
							col("ID", func(x rules.Exception) any { return x.ID }),
							col("ORG", func(x rules.Exception) any { return orAll(x.Org) }),
							col("MATCH", func(x rules.Exception) any { return matchText(x.Match) }),
							col("OWNER", func(x rules.Exception) any { return x.Owner }),
							col("EXPIRES", func(x rules.Exception) any {
								if x.Expired {
									return x.Expires.Format(time.DateOnly) + " (expired)"
								}
								return x.Expires.Format(time.DateOnly)
							}),
							col("REASON", func(x rules.Exception) any { return x.Reason })); err != nil {
							return err
						}
					}
					if len(d.Hits) > 0 {
						printf(w, "\nHits, last 30 days\n")
						if err := printRows(w, 0, d.Hits,
							col("DAY", func(h rules.DayHits) any { return h.Day }),
							col("HITS", func(h rules.DayHits) any { return phrase.Int(int(h.Hits)) }),
							col("SUPPRESSED", func(h rules.DayHits) any { return phrase.Int(int(h.Suppressed)) })); err != nil {
							return err
						}
					}
					printf(w, "\nHistory\n")
					return printRows(w, 0, d.Versions,
						col("VERSION", func(v rules.Version) any { return v.Version }),
						col("WHEN", func(v rules.Version) any { return v.ChangedAt.Format(time.RFC3339) }),
						col("BY", func(v rules.Version) any { return v.ChangedBy }),
						col("PACK", func(v rules.Version) any { return v.Pack }),
						col("SHA-256", func(v rules.Version) any { return v.SHA256[:12] }),
						col("NOTE", func(v rules.Version) any { return dash(v.Note) }))
				})
			})
		},
	}
	c.Flags().BoolVar(&text, "yaml", false, "print the rule's current text only")
	out = formatFlag(c, "table", "json")
	return c
}

func orAll(org string) string {
	if org == "" {
		return "(all)"
	}
	return org
}

func matchText(ms []rules.Match) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Field + "=" + m.Value
	}
	return strings.Join(parts, " ")
}

const orgFlagHelp = "this organisation only (ODS code); without it, every organisation (national roles)"

func (e *env) rulesEnableCmd(enable bool) *cobra.Command {
	var org string
	verb, past := "enable", "enabled"
	if !enable {
		verb, past = "disable", "disabled"
	}
	c := &cobra.Command{
		Use:   verb + " ID [--org ODS]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a stored rule for every organisation or for one",
		Long: `Without --org, the rule is ` + past + ` for every organisation that has no setting of its own.
With --org, for that organisation only, whatever the global setting: a rule disabled everywhere
can run for one trust, and one trust can switch off a rule that is noisy there. 'vigil rules
reset ID --org ODS' returns an organisation to the global setting. Servers pick the change up
within seconds.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Rules.SetEnabled(cmd.Context(), operator(), args[0], org, enable); err != nil {
					return err
				}
				printf(e.stdout, "%s %s for %s\n", args[0], past, orEvery(org))
				return nil
			})
		},
	}
	c.Flags().StringVar(&org, "org", "", orgFlagHelp)
	return c
}

func orEvery(org string) string {
	if org == "" {
		return "every organisation"
	}
	return strings.ToUpper(org)
}

func (e *env) rulesLevelCmd() *cobra.Command {
	var org string
	c := &cobra.Command{
		Use:   "level ID LEVEL [--org ODS]",
		Short: "Override the level a rule's alerts are raised at, for every organisation or for one",
		Long: `Raise a rule's alerts at another level (informational, low, medium, high, critical) for every
organisation, or with --org for one (which wins over the global override). LEVEL "none" removes
the override: the rule's own level applies again.`,
		Example: `  vigil rules level 5a1f0000-0000-4000-8000-000000000001 critical --org RJ1`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			level := args[1]
			if strings.EqualFold(level, "none") {
				level = ""
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Rules.SetLevel(cmd.Context(), operator(), args[0], org, level); err != nil {
					return err
				}
				if level == "" {
					printf(e.stdout, "%s: level override removed for %s\n", args[0], orEvery(org))
				} else {
					printf(e.stdout, "%s raised as %s for %s\n", args[0], level, orEvery(org))
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&org, "org", "", orgFlagHelp)
	return c
}

func (e *env) rulesResetCmd() *cobra.Command {
	var org string
	c := &cobra.Command{
		Use:   "reset ID --org ODS",
		Short: "Remove an organisation's own settings for a rule: it follows the global ones again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if org == "" {
				return usagef("--org is required: whose settings to reset")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Rules.ResetOrg(cmd.Context(), operator(), args[0], org); err != nil {
					return err
				}
				printf(e.stdout, "%s: %s follows the global settings\n", args[0], strings.ToUpper(org))
				return nil
			})
		},
	}
	c.Flags().StringVar(&org, "org", "", "the organisation (ODS code)")
	return c
}

func (e *env) rulesExceptCmd() *cobra.Command {
	var in rules.NewException
	var matches []string
	var expires string
	var out *output
	c := &cobra.Command{
		Use:   "except ID --match FIELD=VALUE... --owner WHO --reason WHY --expires 30d [--org ODS]",
		Short: "Add an exception: matches of a rule on events holding every FIELD=VALUE raise no alert until it expires",
		Long: `Add an exception to a stored rule. A match on an event that holds every --match FIELD=VALUE
(compared without regard to case; '*' in VALUE stands for any run of characters; a field holding
a list matches when any item does) raises no alert, and is counted as suppressed in the hit
statistics. With --org it applies to that organisation's events only; without, to every
organisation's (national roles). An exception has an owner who answers for it, a reason, and an
expiry (at most a year ahead), after which it stops applying by itself.
'vigil rules unexcept EXC-ID' removes one early.`,
		Example: `  vigil rules except 5a1f0000-0000-4000-8000-000000000001 --org RJ1 \
    --match 'Image=C:\Program Files\Backup\*.exe' --match User=svc_backup \
    --owner alice@rj1.nhs.uk --reason "nightly backup job" --expires 30d`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, m := range matches {
				x, err := rules.ParseMatch(m)
				if err != nil {
					return err
				}
				in.Match = append(in.Match, x)
			}
			if len(in.Match) == 0 {
				return usagef("--match FIELD=VALUE is required (once or more)")
			}
			if strings.TrimSpace(expires) == "" {
				return usagef("--expires is required: an exception lasts a set time (e.g. 30d)")
			}
			t, err := rules.ParseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			in.RuleID, in.Expires = args[0], t
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Rules.AddException(cmd.Context(), operator(), in)
				if err != nil {
					return err
				}
				return e.resultID(out, x, x.ID, func() error {
					printf(e.stdout, "%s: %s's matches on %s raise no alert for %s until %s\n", x.ID, x.RuleID, matchText(x.Match), orEvery(x.Org), x.Expires.Format(time.RFC3339))
					return nil
				})
			})
		},
	}
	c.Flags().StringArrayVar(&matches, "match", nil, "FIELD=VALUE an event must hold (repeat: all must hold)")
	c.Flags().StringVar(&in.Owner, "owner", "", "who answers for the exception (required)")
	c.Flags().StringVar(&in.Reason, "reason", "", "why the matches are expected (required)")
	c.Flags().StringVar(&expires, "expires", "", "when it stops applying: 30d, 2w, 12h or a date (required, at most a year)")
	c.Flags().StringVar(&in.Org, "org", "", orgFlagHelp)
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) rulesUnexceptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unexcept EXC-ID",
		Short: "Remove an exception before it expires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Rules.RemoveException(cmd.Context(), operator(), args[0]); err != nil {
					return err
				}
				printf(e.stdout, "%s removed\n", args[0])
				return nil
			})
		},
	}
}

func (e *env) rulesNoisyCmd() *cobra.Command {
	var f rules.NoisyFilter
	var out *output
	c := &cobra.Command{
		Use:   "noisy [--days 7] [--org ODS] [--limit 50]",
		Short: "The noisiest rules: most matches over the last days (the ones to tune)",
		Long: `Report the rules with the most matches over the last --days days (today included), most first:
HITS raised alerts, SUPPRESSED were held back by exceptions, ORGS is how many organisations the
rule hit. Live detection counts every match per rule, organisation and day.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				ns, err := a.Rules.Noisy(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("RULE", func(n rules.Noise) any { return n.RuleID }),
					col("HITS", func(n rules.Noise) any { return phrase.Int(int(n.Hits)) }),
					col("SUPPRESSED", func(n rules.Noise) any { return phrase.Int(int(n.Suppressed)) }),
					col("ORGS", func(n rules.Noise) any { return n.Orgs }),
					col("LEVEL", func(n rules.Noise) any { return dash(n.Level) }),
					col("TITLE", func(n rules.Noise) any { return dash(n.Title) }))
				for _, n := range ns {
					if err := l.add(n); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	c.Flags().IntVar(&f.Days, "days", 7, "how many days back, today included (1 to 366)")
	c.Flags().StringVar(&f.Org, "org", "", "one organisation only (ODS code)")
	c.Flags().IntVar(&f.Limit, "limit", 50, "at most this many rules (up to 1,000)")
	out = formatFlag(c, "table", "json")
	return c
}
