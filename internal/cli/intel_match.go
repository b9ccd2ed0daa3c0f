package cli

import (
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel/match"
)

func (e *env) intelMatcherCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "matcher",
		Short: "Show what the IOC matcher loads from the store, and what it leaves out and why",
		Long: `Build the IOC matcher's index from the store's indicators, as every vigil serve does, and
print what it holds: the indicators loaded, their values of each kind (ip, domain, url, md5,
sha1, sha256, email, user-agent, ja3), and the indicators left out, counted by why: revoked,
past valid_until, before valid_from, pattern_type is not stix, pattern does not parse, an
observation has no value to index on (only properties the matcher does not read, or a LIKE or
MATCHES it cannot scan; docs/intel.md), too many LIKE/MATCHES scans, TLP:RED or AMBER+STRICT
with no organisation among its recipients, score decayed below the threshold, every value
allowlisted ('vigil intel allowlist'), or the same values as another indicator (merged into it,
its source named beside the other's).

--format table (the default) prints one line a kind and a reason; --format json prints the
statistics (indicators, values, skipped, built, build_time in nanoseconds).`,
		Example: `  vigil intel matcher
  vigil intel matcher --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				inds, _, err := match.Load(cmd.Context(), a.Intel, time.Time{})
				if err != nil {
					return err
				}
				o, err := match.Lifecycle(cmd.Context(), a.Intel)
				if err != nil {
					return err
				}
				o.Now = a.Now
				_, st := match.Build(inds, o)
				return e.result(out, st, func() error {
					tab := newTable(e.stdout)
					tab.header("WHAT", "COUNT")
					tab.row("indicators loaded", st.Indicators)
					for _, k := range sortedCountKeys(st.Values) {
						tab.row("values: "+k, st.Values[k])
					}
					for _, k := range sortedCountKeys(st.Skipped) {
						tab.row("left out: "+k, st.Skipped[k])
					}
					return tab.flush()
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func sortedCountKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
