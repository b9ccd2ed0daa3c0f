package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/scope"
)

// notificationsCmd shows and changes one person's notification settings
// (notify). The operator on the server acts for the person named by --user.
func (e *env) notificationsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "notifications",
		Short: "A person's notification settings: which case events reach them by e-mail and signed webhook",
		Long: `Kinds of event: ` + strings.Join(notify.Kinds(), ", ") + `.
E-mail goes through the SMTP server of vigil serve (--smtp-addr); a webhook is an https:// URL that
receives a JSON POST signed with HMAC-SHA256 (header Vigil-Signature: t=<unix>,v1=<hex> over
"<t>.<body>"; see docs/adr/0006-notify.md).`,
	}
	c.AddCommand(e.notificationsGetCmd(), e.notificationsSetCmd())
	return c
}

// personScope is the scope of the user named by who, for commands that
// act on a person's own things.
func personScope(cmd *cobra.Command, a *app.App, who string) (scope.Scope, error) {
	if strings.TrimSpace(who) == "" {
		return scope.Scope{}, usagef("--user: name the person (e-mail or ID)")
	}
	u, err := a.Auth.GetUser(cmd.Context(), operator(), who)
	if err != nil {
		return scope.Scope{}, err
	}
	return a.Auth.ScopeFor(cmd.Context(), u.ID, "cli", "")
}

func (e *env) printSettings(out *output, st notify.Settings) error {
	return e.result(out, st, func() error {
		tw := newTable(e.stdout)
		tw.row("e-mail", dash(strings.Join(st.Email, ", ")))
		tw.row("webhook", dash(strings.Join(st.Webhook, ", ")))
		tw.row("webhook url", dash(st.WebhookURL))
		tw.row("webhook secret", dash(st.WebhookSecret))
		if !st.EmailAvailable {
			tw.row("note", "no SMTP server is configured (--smtp-addr): no e-mail is sent")
		}
		return tw.flush()
	})
}

// personSettings resolves who and reads their notification settings.
func personSettings(cmd *cobra.Command, a *app.App, who string) (scope.Scope, notify.Settings, error) {
	sc, err := personScope(cmd, a, who)
	if err != nil {
		return scope.Scope{}, notify.Settings{}, err
	}
	st, err := a.Notify.Settings(cmd.Context(), sc)
	return sc, st, err
}

func (e *env) notificationsGetCmd() *cobra.Command {
	var who string
	var out *output
	c := &cobra.Command{
		Use:   "get --user E-MAIL [--format table|json]",
		Short: "Show a person's notification settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				_, st, err := personSettings(cmd, a, who)
				if err != nil {
					return err
				}
				return e.printSettings(out, st)
			})
		},
	}
	c.Flags().StringVar(&who, "user", "", "the person (e-mail or user ID)")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) notificationsSetCmd() *cobra.Command {
	var who, email, hook, url string
	var rotate bool
	var out *output
	c := &cobra.Command{
		Use:   "set --user E-MAIL [--email KINDS] [--webhook KINDS] [--webhook-url URL] [--rotate-secret]",
		Short: "Change a person's notification settings (flags not given keep their value)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				sc, st, err := personSettings(cmd, a, who)
				if err != nil {
					return err
				}
				ch := notify.SettingsChange{Email: st.Email, Webhook: st.Webhook, WebhookURL: st.WebhookURL, RotateSecret: rotate}
				kinds := func(s string) []string {
					out := []string{}
					for k := range strings.SplitSeq(s, ",") {
						if k = strings.TrimSpace(k); k != "" && k != "none" {
							out = append(out, k)
						}
					}
					return out
				}
				if cmd.Flags().Changed("email") {
					ch.Email = kinds(email)
				}
				if cmd.Flags().Changed("webhook") {
					ch.Webhook = kinds(hook)
				}
				if cmd.Flags().Changed("webhook-url") {
					ch.WebhookURL = url
				}
				if st, err = a.Notify.SetSettings(cmd.Context(), sc, ch); err != nil {
					return err
				}
				return e.printSettings(out, st)
			})
		},
	}
	c.Flags().StringVar(&who, "user", "", "the person (e-mail or user ID)")
	c.Flags().StringVar(&email, "email", "", "kinds sent by e-mail, comma-separated, or none")
	c.Flags().StringVar(&hook, "webhook", "", "kinds sent to the webhook, comma-separated, or none")
	c.Flags().StringVar(&url, "webhook-url", "", "the https:// URL of the webhook (empty: none)")
	c.Flags().BoolVar(&rotate, "rotate-secret", false, "make a new webhook secret")
	out = formatFlag(c, "table", "json")
	return c
}
