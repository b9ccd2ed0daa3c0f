package cli

import (
	"crypto/rand"
	"fmt"
	"math/big"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"

	"github.com/vigil-health/vigil/internal/demo"
)

func (e *env) demoCmd() *cobra.Command {
	var pwStdin bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Load a demonstration estate (clearly marked demo data) with one user per role",
		Long: `Load a demonstration estate: the seven NHS England regions, thirteen ICBs and eighteen
trusts by their real ODS codes, invented GP practices (codes DM0001…), a demo supplier, and one
user per role under demo.vigil.invalid. Every row is flagged as demo data and the web UI shows a
DEMO DATA banner while any is present. Safe to run twice; existing rows are left alone.
The demo users' password is printed at the end (or read from stdin with --password-stdin).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw := ""
			if pwStdin {
				var err error
				if pw, err = readLine(e); err != nil {
					return err
				}
			} else {
				pw = demoPassword()
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				r, err := demo.Load(cmd.Context(), operator(), a.Orgs, a.Auth, pw)
				if err != nil {
					return err
				}
				printf(e.stdout, "demo estate: %d organisations created (%d already there), %d users created (%d already there)\n",
					r.OrgsCreated, r.OrgsExisting, r.UsersCreated, r.UsersExisting)
				if err := e.loadExtraDemo(cmd, a); err != nil {
					return err
				}
				if r.UsersCreated > 0 {
					fmt.Fprintln(e.stdout, "demo users (all with the same password):")
					for _, u := range demo.Users() {
						printf(e.stdout, "  %-40s %-17s on %s\n", u.Email, u.Role, u.Org)
					}
					if !pwStdin {
						printf(e.stdout, "demo password: %s\n", pw)
					}
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the demo users' password from standard input")
	return c
}

func demoPassword() string {
	const words = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
		b[i] = words[n.Int64()]
	}
	return "demo-" + string(b)
}
