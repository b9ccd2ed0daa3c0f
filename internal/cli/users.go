package cli

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

func roleList() string { return joinNames(scope.Roles()) }

func (e *env) usersCmd() *cobra.Command {
	c := &cobra.Command{Use: "users", Short: "Manage user accounts and their roles"}
	var nu auth.NewUser
	var role string
	var pwStdin bool
	add := &cobra.Command{
		Use:   "add --email E --name N --role ROLE [--org ODS] [--password-stdin]",
		Short: "Create a user with a role on an organisation (default: the national root)",
		Long: "Create a user with one role, granted on an organisation and covering its subtree.\nRoles: " + roleList() + `.
national-* roles are granted on ` + org.RootCode + `, region-lead on a region or ICB, supplier-rep on a supplier.
Without --password-stdin the user signs in with single sign-on only. A password has at least
` + fmt.Sprint(auth.MinPasswordLength) + ` characters and is not built on a common password, the user's name or e-mail address,
"Vigil" or "NHS", a date, or repeated, sequential or keyboard characters; a few unrelated words
make a good one.`,
		Example: `  echo 'a long passphrase here' | vigil users add --email ana@nhs.net --name "Ana Analyst" --role org-analyst --org RJ1 --password-stdin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if nu.Email == "" || nu.Name == "" || role == "" {
				return usagef("--email, --name and --role are required")
			}
			nu.Role = scope.Role(role)
			if pwStdin {
				pw, err := readLine(e)
				if err != nil {
					return err
				}
				nu.Password = pw
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				u, err := a.Auth.AddUser(cmd.Context(), operator(), nu)
				if err != nil {
					return err
				}
				printf(e.stdout, "created user %s (%s) with %s on %s\n", u.Email, u.ID, nu.Role, u.HomeOrg)
				return nil
			})
		},
	}
	add.Flags().StringVar(&nu.Email, "email", "", "e-mail address (the sign-in name)")
	add.Flags().StringVar(&nu.Name, "name", "", "full name")
	add.Flags().StringVar(&role, "role", "", "role: "+roleList())
	add.Flags().StringVar(&nu.Org, "org", org.RootCode, "ODS code of the organisation the role is granted on")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")

	var orgFilter string
	var out *output
	list := &cobra.Command{
		Use:   "list [--org ODS] [--format table|json]",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				l := newLister(e, out,
					col("EMAIL", func(u auth.User) any { return u.Email }), col("NAME", func(u auth.User) any { return u.Name }),
					col("ORG", func(u auth.User) any { return u.HomeOrg }),
					col("GRANTS", func(u auth.User) any {
						var gs []string
						for _, g := range u.Grants {
							gs = append(gs, string(g.Role)+"@"+g.Org)
						}
						return strings.Join(gs, " ")
					}),
					col("STATE", func(u auth.User) any {
						if u.Disabled {
							return "disabled"
						}
						return "active"
					}))
				if err := pages(math.MaxInt, 500, func(n int, after string) ([]auth.User, string, error) {
					return a.Auth.ListUsers(cmd.Context(), operator(), auth.UserFilter{Org: orgFilter, After: after, Limit: n})
				}, l.add); err != nil {
					return err
				}
				return l.flush()
			})
		},
	}
	out = formatFlag(list, "table", "json")
	list.Flags().StringVar(&orgFilter, "org", "", "only users of this organisation")

	type grantFunc func(ctx context.Context, sc scope.Scope, user string, role scope.Role, org string) (auth.User, error)
	grantCmd := func(verb, short, done, prep string, fn func(a *app.App) grantFunc) *cobra.Command {
		return &cobra.Command{
			Use:   verb + " EMAIL ROLE ORG",
			Short: short,
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				return e.withApp(cmd.Context(), func(a *app.App) error {
					if _, err := fn(a)(cmd.Context(), operator(), args[0], scope.Role(args[1]), args[2]); err != nil {
						return err
					}
					printf(e.stdout, "%s %s on %s %s %s\n", done, args[1], strings.ToUpper(args[2]), prep, args[0])
					return nil
				})
			},
		}
	}
	grant := grantCmd("grant", "Grant a role on an organisation", "granted", "to", func(a *app.App) grantFunc { return a.Auth.Grant })
	revoke := grantCmd("revoke", "Revoke a role on an organisation", "revoked", "from", func(a *app.App) grantFunc { return a.Auth.Revoke })
	passwd := &cobra.Command{
		Use:   "passwd EMAIL",
		Short: "Set a user's password from the first line of standard input",
		Long: `Set a user's password from the first line of standard input, as an administrator's reset:
their sessions end and their API tokens are revoked, since someone else may know the old
password. The password follows the same rules as in 'vigil users add --help'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readLine(e)
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if _, err := a.Auth.UpdateUser(cmd.Context(), operator(), args[0], auth.UserPatch{Password: &pw}); err != nil {
					return err
				}
				printf(e.stdout, "password changed for %s; their sessions are signed out and their API tokens revoked\n", args[0])
				return nil
			})
		},
	}
	setDisabled := func(use, short string, v bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " EMAIL",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return e.withApp(cmd.Context(), func(a *app.App) error {
					if _, err := a.Auth.UpdateUser(cmd.Context(), operator(), args[0], auth.UserPatch{Disabled: &v}); err != nil {
						return err
					}
					printf(e.stdout, "%sd %s\n", use, args[0])
					return nil
				})
			},
		}
	}
	c.AddCommand(add, list, grant, revoke, passwd, setDisabled("disable", "Disable a user and end their sessions", true), setDisabled("enable", "Enable a disabled user", false))
	return c
}

func readLine(e *env) (string, error) {
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 4096), 4096)
	if !sc.Scan() {
		return "", usagef("expected a password on standard input")
	}
	return strings.TrimRight(sc.Text(), "\r"), nil
}

func (e *env) tokensCmd() *cobra.Command {
	c := &cobra.Command{Use: "tokens", Short: "Manage API tokens and ingest tokens"}
	var userEmail, name, expires, ingestOrg string
	var ingest bool
	create := &cobra.Command{
		Use:   "create (--user EMAIL | --ingest --org ODS) --name LABEL [--expires 90d]",
		Short: "Create an API token or an ingest token and print it (only the token, on stdout)",
		Long: `Create an API token for a user and print it on stdout, alone, so scripts can capture it:
  TOKEN=$(vigil tokens create --user ana@nhs.net --name ci)
The token is shown once; Vigil stores only its hash. Use it as 'Authorization: Bearer $TOKEN'.

With --ingest, create an ingest token instead: a log sender's credential bound to one
organisation, which may post that organisation's events and nothing else (it reads nothing):
  vigil tokens create --ingest --org RJ1 --name "rsyslog on log01"
Only an administrator of the organisation (or above it) may create one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case ingest && (ingestOrg == "" || name == "" || userEmail != ""):
				return usagef("--ingest needs --org and --name, and no --user")
			case !ingest && (userEmail == "" || name == ""):
				return usagef("--user and --name are required (or --ingest --org ODS --name LABEL)")
			}
			ttl, err := auth.ParseExpiry(expires)
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if ingest {
					t, secret, err := a.Auth.CreateIngestToken(cmd.Context(), operator(), ingestOrg, name, ttl)
					if err != nil {
						return err
					}
					fmt.Fprintln(e.stdout, secret)
					printf(e.stderr, "ingest token %s for %s created; expires %s\n", t.ID, t.Org, cmp.Or(t.ExpiresAt, "never"))
					return nil
				}
				t, secret, err := a.Auth.CreateToken(cmd.Context(), operator(), userEmail, name, ttl)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, secret)
				exp := "never"
				if t.ExpiresAt != "" {
					exp = t.ExpiresAt
				}
				printf(e.stderr, "token %s for %s created; expires %s\n", t.ID, t.User, exp)
				return nil
			})
		},
	}
	create.Flags().StringVar(&userEmail, "user", "", "e-mail of the user the token acts as")
	create.Flags().StringVar(&name, "name", "", "a label saying what the token is for")
	create.Flags().StringVar(&expires, "expires", "90d", "lifetime: 90d, 2w, 12h or never")
	create.Flags().BoolVar(&ingest, "ingest", false, "an ingest token for a log sender (with --org)")
	create.Flags().StringVar(&ingestOrg, "org", "", "with --ingest: the organisation (ODS code) whose events it may post")

	var forUser, listOrg string
	var listIngest bool
	var out *output
	list := &cobra.Command{
		Use:   "list [--user EMAIL | --ingest [--org ODS]] [--format table|json]",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				now := time.Now()
				if listIngest {
					ts, err := a.Auth.ListIngestTokens(cmd.Context(), operator(), listOrg)
					if err != nil {
						return err
					}
					l := newLister(e, out,
						col("ID", func(t auth.IngestToken) any { return t.ID }), col("ORG", func(t auth.IngestToken) any { return t.Org }),
						col("NAME", func(t auth.IngestToken) any { return t.Name }), col("CREATED", func(t auth.IngestToken) any { return t.CreatedAt }),
						col("EXPIRES", func(t auth.IngestToken) any { return dash(t.ExpiresAt) }), col("LAST USED", func(t auth.IngestToken) any { return dash(t.LastUsed) }),
						col("STATE", func(t auth.IngestToken) any { return tokenState(t.RevokedAt, t.ExpiresAt, now) }))
					for _, t := range ts {
						if err := l.add(t); err != nil {
							return err
						}
					}
					return l.flush()
				}
				ts, err := a.Auth.ListTokens(cmd.Context(), operator(), forUser)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("ID", func(t auth.Token) any { return t.ID }), col("USER", func(t auth.Token) any { return t.User }),
					col("NAME", func(t auth.Token) any { return t.Name }), col("CREATED", func(t auth.Token) any { return t.CreatedAt }),
					col("EXPIRES", func(t auth.Token) any { return dash(t.ExpiresAt) }), col("LAST USED", func(t auth.Token) any { return dash(t.LastUsed) }),
					col("STATE", func(t auth.Token) any { return tokenState(t.RevokedAt, t.ExpiresAt, now) }))
				for _, t := range ts {
					if err := l.add(t); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	out = formatFlag(list, "table", "json")
	list.Flags().StringVar(&forUser, "user", "", "only this user's tokens")
	list.Flags().BoolVar(&listIngest, "ingest", false, "list ingest tokens (of the organisations you administer)")
	list.Flags().StringVar(&listOrg, "org", "", "with --ingest: only this organisation's")
	revoke := &cobra.Command{
		Use:   "revoke TOKEN_ID",
		Short: "Revoke an API or ingest token (it stops working at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				id := args[0]
				// Accept the whole token too, in case that is what the user has.
				if rest, ok := strings.CutPrefix(id, auth.IngestTokenPrefix); ok {
					id, _, _ = strings.Cut(rest, ".")
				} else if rest, ok := strings.CutPrefix(id, auth.TokenPrefix); ok {
					id, _, _ = strings.Cut(rest, ".")
				}
				if strings.HasPrefix(id, "i_") {
					t, err := a.Auth.RevokeIngestToken(cmd.Context(), operator(), id)
					if err != nil {
						return fmt.Errorf("ingest token %s: %w", id, err)
					}
					printf(e.stdout, "revoked ingest token %s (%s) of %s\n", t.ID, t.Name, t.Org)
					return nil
				}
				t, err := a.Auth.RevokeToken(cmd.Context(), operator(), id)
				if err != nil {
					return fmt.Errorf("token %s: %w", id, err)
				}
				printf(e.stdout, "revoked token %s (%s) of %s\n", t.ID, t.Name, t.User)
				return nil
			})
		},
	}
	c.AddCommand(create, list, revoke)
	return c
}

// tokenState is a token's state as listed: revoked, expired or active.
func tokenState(revokedAt, expiresAt string, now time.Time) string {
	if revokedAt != "" {
		return "revoked"
	}
	if exp, err := time.Parse(time.RFC3339, expiresAt); err == nil && now.After(exp) {
		return "expired"
	}
	return "active"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
