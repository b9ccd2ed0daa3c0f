package cli

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel/feeds"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
)

// intelAllowlistCmd is `vigil intel allowlist`: values that never match.
func (e *env) intelAllowlistCmd() *cobra.Command {
	c := &cobra.Command{Use: "allowlist", Short: "Values that never match an indicator"}
	c.AddCommand(e.intelAllowlistAddCmd(), e.intelAllowlistListCmd(), e.intelAllowlistRemoveCmd())
	return c
}

func (e *env) intelAllowlistAddCmd() *cobra.Command {
	var reason string
	var warninglists []string
	c := &cobra.Command{
		Use:   "add --reason R (VALUE... | --warninglists DIR)",
		Short: "Allowlist values (addresses, domains, URLs, hashes) so that no indicator matches them",
		Long: `Add values to the allowlist: the IOC matcher never loads them, whatever indicator lists them (an
indicator listing nothing else is left out, counted as "every value allowlisted" in 'vigil intel
matcher'). Addresses are kept in their canonical form, everything else in lower case. --reason
is required and kept with each value.

--warninglists DIR|FILE (repeatable) adds the exact values of MISP warning lists of type string,
hostname and cidr, each with the list's name as its source; substring and regex lists cannot be
allowlisted value by value and are reported as left out. An allowlisted CIDR block covers the
addresses and blocks inside it, an allowlisted domain every name under it.`,
		Example: `  vigil intel allowlist add --reason "national DNS resolvers" 192.0.2.53 192.0.2.54
  vigil intel allowlist add --reason "MISP warning lists" --warninglists ../shared/data/misp/warninglists`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (len(warninglists) == 0) {
				return usagef("give values or --warninglists, not both")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if len(args) > 0 {
					n, err := a.Intel.Allow(cmd.Context(), operator(), args, reason, "analyst")
					if err != nil {
						return err
					}
					printf(e.stdout, "allowlisted %d new of %d values\n", n, len(args))
					return nil
				}
				ws, err := feeds.LoadWarninglists(warninglists...)
				if err != nil {
					return err
				}
				for _, w := range ws {
					if w.Type != "string" && w.Type != "hostname" && w.Type != "cidr" {
						printf(e.stderr, "vigil intel allowlist add: left out %s: a %s list has no exact values\n", safetext.Terminal(w.Name), safetext.Terminal(w.Type))
						continue
					}
					if len(w.List) == 0 {
						continue
					}
					n, err := a.Intel.Allow(cmd.Context(), operator(), w.List, reason, "warninglist:"+w.Name)
					if err != nil {
						return err
					}
					printf(e.stdout, "%s: allowlisted %d new of %d values\n", safetext.Terminal(w.Name), n, len(w.List))
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why the values are benign (required)")
	c.Flags().StringArrayVar(&warninglists, "warninglists", nil, "MISP warning lists (a list.json, or a directory of them)")
	return c
}

func (e *env) intelAllowlistListCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "list",
		Short: "List the allowlist",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				al, err := a.Intel.Allowlist(cmd.Context())
				if err != nil {
					return err
				}
				return e.result(out, al, func() error {
					tab := newTable(e.stdout)
					tab.header("VALUE", "SOURCE", "ADDED", "REASON")
					for _, x := range al {
						tab.row(safetext.Terminal(x.Value), safetext.Terminal(x.Source), x.AddedAt.UTC().Format(time.RFC3339), safetext.Terminal(x.Reason))
					}
					return tab.flush()
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelSightingsCmd() *cobra.Command {
	var out *output
	var indicator string
	c := &cobra.Command{
		Use:   "sightings [--indicator ID]",
		Short: "The IOC matcher's sightings: which indicator matched in which organisation, how often, when",
		Long: `List the sightings Vigil's IOC matcher recorded: one per indicator and organisation, with the
count of matching events and the first and last time. Sightings keep an indicator's score from
decaying. --format stix prints them as a STIX 2.1 bundle of sighting objects (marked TLP:AMBER)
with an identity for each organisation, for sharing upward.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if out.is("stix") {
					objs, err := a.Intel.SightingObjects(cmd.Context(), operator(), indicator)
					if err != nil {
						return err
					}
					raw := []json.RawMessage{}
					for _, o := range objs {
						b, err := o.MarshalJSON()
						if err != nil {
							return err
						}
						raw = append(raw, b)
					}
					return e.printJSON(map[string]any{"type": "bundle", "id": stix.NewID("bundle"), "objects": raw})
				}
				sg, err := a.Intel.Sightings(cmd.Context(), operator(), indicator)
				if err != nil {
					return err
				}
				return e.result(out, sg, func() error {
					tab := newTable(e.stdout)
					tab.header("INDICATOR", "ORG", "COUNT", "FIRST SEEN", "LAST SEEN")
					for _, x := range sg {
						tab.row(x.Indicator, x.Org, x.Count, x.FirstSeen.UTC().Format(time.RFC3339), x.LastSeen.UTC().Format(time.RFC3339))
					}
					return tab.flush()
				})
			})
		},
	}
	c.Flags().StringVar(&indicator, "indicator", "", "only this indicator's sightings")
	out = formatFlag(c, "table", "json", "stix")
	return c
}
