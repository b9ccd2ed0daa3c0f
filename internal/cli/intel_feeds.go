package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/safetext"
)

// intelFeedCmd is `vigil intel feed`: subscriptions to remote TAXII
// collections and MISP feeds (intel.Store's feeds, pulled by intel/pull).
func (e *env) intelFeedCmd() *cobra.Command {
	c := &cobra.Command{Use: "feed", Short: "Subscriptions to remote TAXII 2.1 collections and MISP feeds"}
	c.AddCommand(e.intelFeedAddCmd(), e.intelFeedListCmd(), e.intelFeedPullCmd(), e.intelFeedStatusCmd(), e.intelFeedEditCmd(), e.intelFeedRemoveCmd())
	return c
}

func (e *env) intelFeedAddCmd() *cobra.Command {
	var o intel.FeedOptions
	var secretEnv string
	var out *output
	c := &cobra.Command{
		Use:   "add --name N --url URL --collection ID [--remote-collection ID] [--kind taxii|misp]",
		Short: "Subscribe a collection to a remote TAXII collection or MISP feed",
		Long: `Subscribe a local collection (--collection, one you may write) to remote intelligence, pulled
by the leading 'vigil serve' at once and then every --interval (an hour by default, a minute at
least):

  --kind taxii (the default): --url is the TAXII 2.1 discovery URL (https://peer.example/taxii2/),
    --remote-collection the id of the collection there. The default API root is used. Objects
    are read a page at a time (--page-size, 1,000 by default) by next, from added_after: the
    X-TAXII-Date-Added-Last of the last page stored, so each pull brings only what was added
    since. A page that fails stores nothing of itself or of the pages read since the last
    stored batch, and the next pull starts again from there.
  --kind misp: --url is the feed's base URL (the one holding manifest.json); events new or
    changed since the last pull are read and checked against hashes.csv.

--auth basic (with --auth-user) or bearer sends credentials; the password or token is read
from the environment variable --secret-env (VIGIL_FEED_SECRET by default), never a flag. It
is kept in the database and never shown again.`,
		Example: `  VIGIL_FEED_SECRET=… vigil intel feed add --name "Partner CERT" --url https://cert.example/taxii2/ \
      --remote-collection 4f3a… --collection 91a7b528-… --auth basic --auth-user vigil@nhs.test
  vigil intel feed add --kind misp --name CIRCL --url https://www.circl.lu/doc/misp/feed-osint/ --collection 91a7b528-…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.AuthKind != "" {
				o.AuthSecret = e.getenv(secretEnv)
				if o.AuthSecret == "" {
					return usagef("--auth %s: set the password or token in the environment variable %s", o.AuthKind, secretEnv)
				}
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				f, err := a.Intel.AddFeed(cmd.Context(), operator(), o)
				if err != nil {
					return err
				}
				return e.result(out, f, func() error {
					printf(e.stdout, "added feed %s: %s, pulled into %s every %s\n", f.ID, safetext.Terminal(f.Name), f.Collection, time.Duration(f.IntervalSeconds)*time.Second)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&o.Name, "name", "", "the feed's name (required)")
	c.Flags().StringVar(&o.Kind, "kind", "taxii", "taxii or misp")
	c.Flags().StringVar(&o.URL, "url", "", "the TAXII discovery URL, or the MISP feed's base URL (required)")
	c.Flags().StringVar(&o.RemoteCollection, "remote-collection", "", "the remote TAXII collection's id (taxii)")
	c.Flags().StringVar(&o.Collection, "collection", "", "the local collection to pull into (required)")
	c.Flags().StringVar(&o.AuthKind, "auth", "", "basic or bearer")
	c.Flags().StringVar(&o.AuthUser, "auth-user", "", "the Basic user name")
	c.Flags().StringVar(&secretEnv, "secret-env", "VIGIL_FEED_SECRET", "the environment variable holding the password or token")
	c.Flags().DurationVar(&o.Interval, "interval", time.Hour, "time between scheduled pulls")
	c.Flags().IntVar(&o.PageSize, "page-size", 0, "the TAXII page size to ask for (1 to 1,000)")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) printFeeds(fs []intel.Feed) error {
	tab := newTable(e.stdout)
	tab.header("ID", "NAME", "KIND", "COLLECTION", "LAST SUCCESS", "NEXT RUN", "FAILING", "ADDED", "DECAY MODEL", "LAST ERROR")
	when := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, f := range fs {
		next := f.NextRun.UTC().Format(time.RFC3339)
		if !f.Enabled {
			next = "disabled"
		}
		tab.row(f.ID, safetext.Terminal(f.Name), f.Kind, f.Collection, when(f.LastSuccess), next, f.ConsecutiveFailures, f.ObjectsAdded, safetext.Terminal(f.DecayModel), safetext.Terminal(f.LastError))
	}
	return tab.flush()
}

func (e *env) intelFeedListCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "list",
		Short: "List the feeds and their status",
		Long: `List the feeds into collections the operator may read: last success, next scheduled run,
objects added over every pull, the decay model its indicators' scores follow (vigil intel decay),
and the last error ("" when the last pull succeeded).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				fs, err := a.Intel.Feeds(cmd.Context(), operator())
				if err != nil {
					return err
				}
				return e.result(out, fs, func() error { return e.printFeeds(fs) })
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelFeedStatusCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "status ID",
		Short: "Show one feed's status",
		Long: `Show a feed's status: its cursor (where the next pull resumes), last attempt and success,
last error, objects added by the last pull and by all, pulls and failures, and the next run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				f, err := a.Intel.GetFeed(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, f, func() error {
					when := func(t *time.Time) string {
						if t == nil {
							return "never"
						}
						return t.UTC().Format(time.RFC3339)
					}
					for _, kv := range [][2]string{{"feed", f.ID}, {"name", safetext.Terminal(f.Name)}, {"kind", f.Kind}, {"url", safetext.Terminal(f.URL)},
						{"remote collection", f.RemoteCollection}, {"collection", f.Collection}, {"cursor", safetext.Terminal(f.Cursor)},
						{"last attempt", when(f.LastAttempt)}, {"last success", when(f.LastSuccess)}, {"last error", safetext.Terminal(f.LastError)},
						{"last added", fmt.Sprint(f.LastAdded)}, {"objects added", fmt.Sprint(f.ObjectsAdded)},
						{"pulls", fmt.Sprintf("%d (%d failed)", f.Pulls, f.Failures)}, {"failing", fmt.Sprintf("%d in a row", f.ConsecutiveFailures)},
						{"enabled", fmt.Sprint(f.Enabled)}, {"next run", f.NextRun.UTC().Format(time.RFC3339)},
						{"decay model", safetext.Terminal(f.DecayModel)}} {
						printf(e.stdout, "%-18s %s\n", kv[0]+":", kv[1])
					}
					return nil
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelFeedPullCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "pull ID",
		Short: "Pull a feed now, from where it stopped",
		Long: `Pull a feed now (the operator must be able to write its collection), from its cursor, and
record the outcome in its status as a scheduled pull does. It exits 1 when the pull fails; what
was stored before the failure (whole batches of pages, each with its cursor) stays.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				r, err := a.Feeds.PullAs(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, r, func() error {
					printf(e.stdout, "pulled %s: %d pages, %d objects, %d new, %d new versions, %d unchanged, %d refused\n",
						safetext.Terminal(r.Name), r.Pages, r.Objects, r.Added, r.NewVersions, r.Unchanged, len(r.Refused))
					for _, why := range r.Refused {
						printf(e.stderr, "vigil intel feed pull: refused %s\n", safetext.Terminal(why))
					}
					return nil
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelFeedEditCmd() *cobra.Command {
	var x struct {
		name, url, remote, collection, auth, user, secretEnv string
		interval                                             time.Duration
		pageSize                                             int
		enable, disable                                      bool
	}
	var out *output
	c := &cobra.Command{
		Use:   "edit ID [--name N] [--url URL] [--remote-collection ID] [--collection ID] [--interval D] [--page-size N] [--auth none|basic|bearer] [--auth-user U] [--new-secret] [--enable|--disable]",
		Short: "Change a feed: where it reads, where it stores, its credentials, schedule, or whether it is pulled",
		Long: `Change a feed into a collection the operator may write; only the flags given change, and the
change is audited (intel.feed.edit).

  --url, --remote-collection or --collection (another collection the operator writes) start the
    feed again from nothing: its cursor is cleared, and the next pull reads everything.
  --auth none drops the credentials; --auth basic|bearer, or --new-secret, reads the new password
    or token from the environment variable --secret-env (VIGIL_FEED_SECRET by default), never a
    flag. A new place or new credentials make the feed due at once, its back-off reset.
  --interval reschedules the next pull from the last attempt; --disable stops the scheduled
    pulls (vigil intel feed pull still pulls it), --enable starts them again.`,
		Example: `  vigil intel feed edit 5d0c… --interval 6h
  VIGIL_FEED_SECRET=… vigil intel feed edit 5d0c… --new-secret
  vigil intel feed edit 5d0c… --url https://cert.example/taxii2/ --remote-collection 9e1b…
  vigil intel feed edit 5d0c… --disable`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			var ed intel.FeedEdit
			str := func(flag string, v *string) *string {
				if fl.Changed(flag) {
					return v
				}
				return nil
			}
			ed.Name, ed.URL, ed.RemoteCollection, ed.Collection, ed.AuthUser = str("name", &x.name), str("url", &x.url), str("remote-collection", &x.remote), str("collection", &x.collection), str("auth-user", &x.user)
			if fl.Changed("auth") {
				switch x.auth {
				case "none":
					none := ""
					ed.AuthKind = &none
				case "basic", "bearer":
					ed.AuthKind = &x.auth
				default:
					return usagef("--auth: want none, basic or bearer, not %q", x.auth)
				}
			}
			newSecret, _ := fl.GetBool("new-secret")
			if newSecret || (ed.AuthKind != nil && *ed.AuthKind != "") {
				v := e.getenv(x.secretEnv)
				if v == "" {
					return usagef("set the new password or token in the environment variable %s", x.secretEnv)
				}
				ed.AuthSecret = &v
			}
			if fl.Changed("interval") {
				ed.Interval = &x.interval
			}
			if fl.Changed("page-size") {
				ed.PageSize = &x.pageSize
			}
			switch {
			case x.enable && x.disable:
				return usagef("--enable and --disable: give one")
			case x.enable:
				on := true
				ed.Enabled = &on
			case x.disable:
				off := false
				ed.Enabled = &off
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				f, err := a.Intel.EditFeed(cmd.Context(), operator(), args[0], ed)
				if err != nil {
					return err
				}
				return e.result(out, f, func() error {
					state := "next run " + f.NextRun.UTC().Format(time.RFC3339)
					if !f.Enabled {
						state = "disabled"
					}
					printf(e.stdout, "changed feed %s: %s, pulled into %s every %s, %s\n", f.ID, safetext.Terminal(f.Name), f.Collection, time.Duration(f.IntervalSeconds)*time.Second, state)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&x.name, "name", "", "the feed's new name")
	c.Flags().StringVar(&x.url, "url", "", "the new TAXII discovery URL or MISP feed base URL (clears the cursor)")
	c.Flags().StringVar(&x.remote, "remote-collection", "", "the new remote TAXII collection's id (clears the cursor)")
	c.Flags().StringVar(&x.collection, "collection", "", "another local collection to pull into (clears the cursor)")
	c.Flags().StringVar(&x.auth, "auth", "", "none, basic or bearer (basic and bearer read the secret from --secret-env)")
	c.Flags().StringVar(&x.user, "auth-user", "", "the Basic user name")
	c.Flags().Bool("new-secret", false, "replace the password or token with the one in --secret-env")
	c.Flags().StringVar(&x.secretEnv, "secret-env", "VIGIL_FEED_SECRET", "the environment variable holding the new password or token")
	c.Flags().DurationVar(&x.interval, "interval", time.Hour, "time between scheduled pulls")
	c.Flags().IntVar(&x.pageSize, "page-size", 0, "the TAXII page size to ask for (1 to 1,000; 0 for 1,000)")
	c.Flags().BoolVar(&x.enable, "enable", false, "pull the feed on its schedule again")
	c.Flags().BoolVar(&x.disable, "disable", false, "stop the scheduled pulls")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelFeedRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a feed; what it pulled stays in its collection",
		Long: `Remove a feed into a collection the operator may write (audited as intel.feed.remove). The
objects it pulled stay in the collection, with their provenance (the imports audited from
"feed:<name>"); remove them from the collection separately if they should go too.`,
		Example: `  vigil intel feed remove 5d0c…`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Intel.RemoveFeed(cmd.Context(), operator(), args[0]); err != nil {
					return err
				}
				printf(e.stdout, "removed feed %s\n", args[0])
				return nil
			})
		},
	}
}
