package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/store"
)

func (e *env) migrateCmd() *cobra.Command {
	var status bool
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (or show their status)",
		Long: `Apply every pending database migration, each in its own transaction. vigil serve does the
same at start-up unless --auto-migrate=false. A database migrated by a newer vigil is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.cfg.Validate(); err != nil {
				return err
			}
			db, err := store.Open(cmd.Context(), store.Options{URL: e.cfg.DatabaseURL, DataDir: e.cfg.DataDir, ReadOnly: e.cfg.ReadOnly})
			if err != nil {
				return err
			}
			defer func() { _ = db.Close() }() // the command's result is reported; closing changes nothing
			if status {
				st, err := db.Status(cmd.Context(), app.Migrations()...)
				if err != nil {
					return err
				}
				tw := newTable(e.stdout)
				tw.header("DOMAIN", "APPLIED", "KNOWN", "STATE")
				for _, s := range st {
					state := "up to date"
					switch {
					case s.Applied < s.Known:
						state = "pending: run vigil migrate"
					case s.Applied > s.Known:
						state = "NEWER than this vigil"
					}
					tw.row(s.Domain, s.Applied, s.Known, state)
				}
				return tw.flush()
			}
			done, err := db.Migrate(cmd.Context(), app.Migrations()...)
			for _, m := range done {
				printf(e.stdout, "applied %s %04d_%s\n", m.Domain, m.Version, m.Name)
			}
			if err != nil {
				return err
			}
			if len(done) == 0 {
				fmt.Fprintln(e.stdout, "database schema is up to date")
			}
			return nil
		},
	}
	c.Flags().BoolVar(&status, "status", false, "show applied and known versions per domain; change nothing (works on a read-only copy)")
	return c
}
