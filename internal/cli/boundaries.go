package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
)

func (e *env) boundariesCmd() *cobra.Command {
	var dryRun bool
	c := &cobra.Command{
		Use:   "import-boundaries FILE...",
		Short: "Import ICB and region boundaries (ONS GeoJSON) for the impact and concentration maps",
		Long: `Import the ONS boundary files (GeoJSON, WGS84) that the maps of impact and concentration are
drawn on: ICBs, NHS England regions and sub-ICB locations, matched to organisations by their ODS
code properties. Polygons are simplified for drawing and stored in the database; re-importing
replaces them. Until boundaries are imported, map pages show tables instead.`,
		Example: "  vigil orgs import-boundaries ../shared/data/nhs/geo/icb_apr2023_en_bsc.geojson ../shared/data/nhs/geo/nhser_jan2024_en_bsc.geojson",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				for _, f := range args {
					rep, err := a.Geo.ImportGeoJSON(cmd.Context(), operator(), f, dryRun)
					if err != nil {
						return fmt.Errorf("%s: %w", f, err)
					}
					verb := "imported"
					if rep.DryRun {
						verb = "checked (dry run, nothing written)"
					}
					printf(e.stdout, "%s: %s %d boundaries (%d created, %d updated; %v), %d of %d points kept\n",
						f, verb, rep.Features, rep.Created, rep.Updated, rep.Levels, rep.PointsKept, rep.PointsIn)
					for _, msg := range rep.Errors {
						printf(e.stdout, "  %s\n", msg)
					}
					if len(rep.Errors) > 0 {
						return fmt.Errorf("%s: %d problem(s), listed above", f, len(rep.Errors))
					}
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "check the files, change nothing")
	return c
}
