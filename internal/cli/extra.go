package cli

import (
	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/demo"
)

// extraCommands are the domain commands beyond the foundation.
func (e *env) extraCommands() []*cobra.Command {
	cs := e.casesCmd()
	cs.AddCommand(e.casesReportCmd(), e.casesKPIsCmd())
	return []*cobra.Command{e.supplyCmd(), e.alertsCmd(), cs, e.incidentsCmd(), e.notificationsCmd(), e.eventsCmd(), e.huntCmd(), e.rulesCmd(), e.vulnCmd(), e.assuranceCmd(), e.intelCmd(), e.cyberAlertCmd()}
}

// loadExtraDemo adds the domains' demonstration data.
func (e *env) loadExtraDemo(cmd *cobra.Command, a *app.App) error {
	rep, err := demo.LoadSupply(cmd.Context(), operator(), a.Supply)
	if err != nil {
		return err
	}
	created, updated, unchanged := 0, 0, 0
	for _, t := range rep.Tables {
		created, updated, unchanged = created+t.Created, updated+t.Updated, unchanged+t.Unchanged
	}
	printf(e.stdout, "demo supplier register: %d rows created, %d updated, %d already there (try: vigil supply impact --supplier %s)\n",
		created, updated, unchanged, demo.PathologySupplier)
	n, err := demo.LoadAlerts(cmd.Context(), operator(), a.Cases)
	if err != nil {
		return err
	}
	printf(e.stdout, "demo alerts: %d new, %d already there (try: vigil alerts list)\n", n, len(demo.Alerts())-n)
	return nil
}
