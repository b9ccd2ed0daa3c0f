package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/supply"
)

func (e *env) supplyTrendCmd() *cobra.Command {
	var service, by, group string
	var out *output
	c := &cobra.Command{
		Use:   "trend --service NAME [--by national|region|icb --group CODE] [--format table|json]",
		Short: "How a service's concentration has changed across recorded snapshots",
		Long: `Show the Herfindahl–Hirschman index and the largest supplier's share of a service at each
recorded snapshot (vigil supply snapshot), oldest first: nationally, or for one region or ICB.`,
		Example: "  vigil supply trend --service gp-clinical\n  vigil supply trend --service pathology --by icb --group QKK",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if service == "" {
				return usagef("--service is required")
			}
			if by != "national" && group == "" {
				return usagef("--by %s needs --group (a region or ICB code)", by)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				pts, err := a.Supply.Trend(cmd.Context(), operator(), service, supply.Level(by), strings.ToUpper(group))
				if err != nil {
					return err
				}
				return e.result(out, pts, func() error {
					if len(pts) == 0 {
						fmt.Fprintln(e.stdout, "no snapshots of this service yet; record one with `vigil supply snapshot`")
						return nil
					}
					return printRows(e.stdout, 0, pts,
						col("TAKEN AT", func(p supply.TrendPoint) any { return p.TakenAt }),
						col("ORGANISATIONS", func(p supply.TrendPoint) any { return phrase.Int(p.Organisations) }),
						col("HHI", func(p supply.TrendPoint) any { return phrase.Round(p.HHI) }),
						col("LARGEST SUPPLIER", func(p supply.TrendPoint) any { return p.TopSupplierID }),
						col("SHARE", func(p supply.TrendPoint) any { return phrase.Percent(p.TopShare) }))
				})
			})
		},
	}
	c.Flags().StringVar(&service, "service", "", "business service, e.g. gp-clinical")
	c.Flags().StringVar(&by, "by", "national", "national, region or icb")
	c.Flags().StringVar(&group, "group", "", "the region or ICB code (with --by region|icb)")
	out = formatFlag(c, "table", "json")
	return c
}
