package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/safetext"
)

// intelDecayCmd is `vigil intel decay`: decay models, the deployment
// default and the model of each source.
func (e *env) intelDecayCmd() *cobra.Command {
	c := &cobra.Command{Use: "decay", Short: "Decay models of indicator scores: list, define, choose the default, give a source one"}
	c.AddCommand(e.intelDecayListCmd(), e.intelDecaySetCmd(), e.intelDecayDefaultCmd(), e.intelDecayAssignCmd())
	return c
}

func (e *env) intelDecayListCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "list",
		Short: "List the decay models, the default and the sources' models",
		Long: `List every decay model (the built-in "standard" and those defined with 'vigil intel decay set'):
its half-life in days by kind of value, the threshold under which an indicator stops matching and
how many organisations' false positives withdraw one. Then the default model, and the sources
given a model of their own. An indicator follows the model of the source of its latest version.`,
		Example: `  vigil intel decay list
  vigil intel decay list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				dc, err := a.Intel.Decay(cmd.Context())
				if err != nil {
					return err
				}
				return e.result(out, dc, func() error {
					tab := newTable(e.stdout)
					kinds := intel.DecayKinds()
					tab.header(append(append([]string{"MODEL"}, upper(kinds)...), "THRESHOLD", "WITHDRAWN AT")...)
					for _, m := range dc.Models {
						name := m.Name
						if m.Name == dc.Default {
							name += " (default)"
						}
						row := []any{safetext.Terminal(name)}
						for _, k := range kinds {
							if d, ok := m.HalfLifeDays[k]; ok {
								row = append(row, strconv.FormatFloat(d, 'f', -1, 64)+"d")
							} else {
								row = append(row, "-")
							}
						}
						fp := "never"
						if m.FalsePositiveOrgs > 0 {
							fp = fmt.Sprintf("%d orgs", m.FalsePositiveOrgs)
						}
						tab.row(append(row, strconv.FormatFloat(m.Threshold, 'f', -1, 64), fp)...)
					}
					if err := tab.flush(); err != nil {
						return err
					}
					printf(e.stdout, "\ndefault: %s\n", safetext.Terminal(dc.Default))
					if len(dc.Sources) > 0 {
						printf(e.stdout, "\n")
						tab := newTable(e.stdout)
						tab.header("SOURCE", "MODEL", "SET BY", "SET AT")
						for _, s := range dc.Sources {
							tab.row(safetext.Terminal(s.Source), safetext.Terminal(s.Model), safetext.Terminal(s.SetBy), s.SetAt.UTC().Format(time.RFC3339))
						}
						return tab.flush()
					}
					return nil
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func upper(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToUpper(x)
	}
	return out
}

func (e *env) intelDecaySetCmd() *cobra.Command {
	var out *output
	var halfLives []string
	var threshold float64
	var fpOrgs int
	var description string
	c := &cobra.Command{
		Use:   "set NAME --half-life KIND=DAYS... [--threshold N] [--fp-orgs N]",
		Short: "Define or change a decay model",
		Long: `Define a decay model, or change one (every setting is replaced; "standard" is built in and
cannot be changed). --half-life KIND=DAYS (repeatable, or comma-separated) gives the half-life of
a kind of value: ip, domain, url, email, md5, sha1, sha256, ja3, user-agent; a kind left out does
not decay. --threshold is the score (0–100) under which an indicator stops matching; --fp-orgs the
number of organisations whose false positives withdraw an indicator (each before that halves
its score; 0: never withdrawn). National analysts and administrators only; audited
(intel.decay.model). A changed model applies at the matcher's next build, within seconds.`,
		Example: `  vigil intel decay set fast-ips --half-life ip=7,domain=30,url=30 --threshold 25 --fp-orgs 2
  vigil intel decay set hashes-forever --half-life ip=30 --half-life domain=90 --description "hashes never decay"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := intel.DecayModel{Name: args[0], Threshold: threshold, FalsePositiveOrgs: fpOrgs, Description: description, HalfLifeDays: map[string]float64{}}
			for _, hl := range halfLives {
				for _, kv := range strings.Split(hl, ",") {
					k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
					d, err := strconv.ParseFloat(strings.TrimSuffix(v, "d"), 64)
					if !ok || err != nil {
						return usagef("--half-life %q: want KIND=DAYS, as ip=30", kv)
					}
					if !slices.Contains(intel.DecayKinds(), k) {
						return usagef("--half-life %q: %q is not a kind of value: one of %s", kv, k, strings.Join(intel.DecayKinds(), ", "))
					}
					m.HalfLifeDays[k] = d
				}
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				got, err := a.Intel.SetDecayModel(cmd.Context(), operator(), m)
				if err != nil {
					return err
				}
				return e.result(out, got, func() error {
					printf(e.stdout, "decay model %s saved\n", safetext.Terminal(got.Name))
					return nil
				})
			})
		},
	}
	c.Flags().StringArrayVar(&halfLives, "half-life", nil, "KIND=DAYS (repeatable, or comma-separated)")
	c.Flags().Float64Var(&threshold, "threshold", 20, "the score under which an indicator stops matching")
	c.Flags().IntVar(&fpOrgs, "fp-orgs", 3, "organisations whose false positives withdraw an indicator (0: never)")
	c.Flags().StringVar(&description, "description", "", "what the model is for")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelDecayDefaultCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "default MODEL",
		Short: "Make a model the deployment's default, for every source without one",
		Long: `Make a model the deployment's default: indicators whose source has no model of its own follow
it. "standard" is the built-in one. National analysts and administrators only; audited
(intel.decay.default).`,
		Example: `  vigil intel decay default fast-ips
  vigil intel decay default standard`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Intel.SetDefaultDecay(cmd.Context(), operator(), args[0]); err != nil {
					return err
				}
				printf(e.stdout, "the default decay model is %s\n", safetext.Terminal(args[0]))
				return nil
			})
		},
	}
	return c
}

func (e *env) intelDecayAssignCmd() *cobra.Command {
	var clear bool
	c := &cobra.Command{
		Use:   "assign SOURCE (MODEL | --clear)",
		Short: "Give a source's indicators a decay model (or, with --clear, take it away)",
		Long: `Give the indicators of a source a decay model. SOURCE is a source as an indicator's page and
'vigil intel import' name it — a feed as feed:NAME, a file's name as imported, taxii:STATUS — or
a prefix ending in * (taxii:* for every TAXII post); the longest that fits an indicator's source
wins, an exact source before any prefix. --clear takes the source's model away, so it follows
the default. National analysts and administrators only; audited (intel.decay.assign).`,
		Example: `  vigil intel decay assign feed:abuse-ch fast-ips
  vigil intel decay assign 'taxii:*' standard
  vigil intel decay assign feed:abuse-ch --clear`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			model := ""
			switch {
			case clear && len(args) == 2:
				return usagef("give a MODEL or --clear, not both")
			case !clear && len(args) == 1:
				return usagef("give a MODEL, or --clear to take the source's model away")
			case len(args) == 2:
				model = args[1]
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Intel.AssignDecay(cmd.Context(), operator(), args[0], model); err != nil {
					return err
				}
				if model == "" {
					printf(e.stdout, "%s follows the default decay model\n", safetext.Terminal(args[0]))
				} else {
					printf(e.stdout, "%s decays by %s\n", safetext.Terminal(args[0]), safetext.Terminal(model))
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&clear, "clear", false, "take the source's own model away")
	return c
}

func (e *env) intelAllowlistRemoveCmd() *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use:   "remove VALUE... [--reason R]",
		Short: "Take values off the allowlist, so indicators listing them match again",
		Long: `Take values off the allowlist (written as they were added; addresses and blocks in any form).
Indicators listing them match again from the matcher's next build, within seconds. National
analysts and administrators only; audited (intel.allowlist.remove), with what each value's entry
said. Values not on the list are ignored; none being there is an error.`,
		Example: `  vigil intel allowlist remove 192.0.2.53
  vigil intel allowlist remove --reason "resolver retired" 192.0.2.0/24 resolver.example`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				n, err := a.Intel.Unallow(cmd.Context(), operator(), args, reason)
				if err != nil {
					return err
				}
				printf(e.stdout, "took %d of %d values off the allowlist\n", n, len(args))
				return nil
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why they are no longer known-benign")
	return c
}

func (e *env) intelVerdictsCmd() *cobra.Command {
	var out *output
	var indicator string
	c := &cobra.Command{
		Use:   "verdicts [--indicator ID]",
		Short: "Verdicts on indicators: IOC alerts closed as true or false positives, and reported sightings",
		Long: `List the verdicts on indicators from the organisations the operator reads: an IOC alert an
analyst gave a true-positive or false-positive disposition (origin alert:ID), and a sighting a
trust reported (origin sighting:ID: seen, false-positive or expired). A true positive or a seen
sighting keeps an indicator's score fresh; each organisation holding it false halves the score,
and the decay model's number of them withdraws it (docs/intel.md).`,
		Example: `  vigil intel verdicts --indicator indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f
  vigil intel verdicts --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				vs, err := a.Intel.Verdicts(cmd.Context(), operator(), indicator)
				if err != nil {
					return err
				}
				return e.result(out, vs, func() error {
					tab := newTable(e.stdout)
					tab.header("INDICATOR", "ORG", "VERDICT", "ORIGIN", "BY", "AT")
					for _, v := range vs {
						tab.row(v.Indicator, safetext.Terminal(v.Org), v.Verdict, safetext.Terminal(v.Origin), safetext.Terminal(v.By), v.At.UTC().Format(time.RFC3339))
					}
					return tab.flush()
				})
			})
		},
	}
	c.Flags().StringVar(&indicator, "indicator", "", "only this indicator's verdicts")
	out = formatFlag(c, "table", "json")
	return c
}
