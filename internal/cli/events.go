package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/progress"
)

// eventsCmd is `vigil events`: search, count and import protective
// monitoring's events (issue 16). It works beside a running `serve` on
// the same data.
func (e *env) eventsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "events",
		Short: "Search, count and import security events",
		Long: `Events are the security telemetry organisations send (syslog, Windows events, firewall and
flow logs…), normalised and stored by day. Queries use the analysts' query language
(docs/events-query.md), for example:

  vigil events search 'EventID=1 AND CommandLine=*mimikatz*' --since 7d
  vigil events count 'src_ip=10.0.0.0/8 AND NOT dst_port in (80, 443)' --org RJ1

The time range is --since (15m, 24h, 7d; the default is the last 24 hours) or --from and
--to (RFC 3339 times or dates). A search saved under a name (vigil events searches save, or
the Events page) runs with --saved NAME instead of a QUERY.`,
	}
	c.AddCommand(e.eventsSearchCmd(), e.eventsCountCmd(), e.eventsImportCmd(), e.eventsSearchesCmd())
	return c
}

// window holds a command's time and organisation flags.
type window struct{ since, from, to, org string }

func (w *window) flags(c *cobra.Command) {
	c.Flags().StringVar(&w.since, "since", "", "how far back: 15m, 24h, 7d, 2w (default 24h)")
	c.Flags().StringVar(&w.from, "from", "", "start: an RFC 3339 time or a date (instead of --since)")
	c.Flags().StringVar(&w.to, "to", "", "end: an RFC 3339 time or a date (default now)")
	c.Flags().StringVar(&w.org, "org", "", "only this organisation's events (ODS code)")
}

func (w *window) query(text string) (events.Query, error) {
	since, until, err := events.Window(w.since, w.from, w.to, time.Now())
	if err != nil {
		return events.Query{}, err
	}
	return events.Query{Text: text, Since: since, Until: until, Org: strings.ToUpper(strings.TrimSpace(w.org))}, nil
}

func (e *env) eventsSearchCmd() *cobra.Command {
	var w window
	var limit int
	var saved, who string
	var out *output
	c := &cobra.Command{
		Use:   "search QUERY|--saved NAME [--since 24h | --from T --to T] [--org ODS] [--limit N] [--format table|json]",
		Short: "Find events, newest first",
		Example: `  vigil events search 'EventID=4625' --since 1h
  vigil events search 'Image=*\\powershell.exe AND CommandLine=*-enc*' --since 7d --format json
  vigil events search --saved 'Failed sign-ins' --since 1h`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit <= 0 || limit > events.MaxLimit {
				return usagef("--limit: want a number from 1 to %d", events.MaxLimit)
			}
			if saved == "" {
				if _, err := w.searchQuery(cmd, nil, args, "", ""); err != nil {
					return err
				}
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				q, err := w.searchQuery(cmd, a, args, saved, who)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("TIME", func(x events.Event) any { return x.EventTime.UTC().Format(time.RFC3339) }), col("ORG", func(x events.Event) any { return x.Org }),
					col("HOST", func(x events.Event) any { return dash(x.Source.Host) }),
					col("SOURCE", func(x events.Event) any { return dash(strings.Trim(x.Product+"/"+x.Category, "/")) }),
					col("EVENT", func(x events.Event) any { return clipText(x.Raw, 100) }))
				// json: one event a line as the store holds it — id, org,
				// received_at, event_time, source, log source, fields, raw.
				// Each page is printed as it comes (json streams; a
				// table is aligned over all rows before it prints).
				var last time.Time
				if err := pages(limit, min(limit, 5000), func(n int, after string) ([]events.Event, string, error) {
					q.Limit, q.Cursor = n, after
					if after != "" && (q.Until.IsZero() || last.Before(q.Until)) {
						// The next page ends at the last event printed: the
						// cursor alone (time before, or equal and ID before)
						// is an OR that SQLite cannot read as a range, and
						// without an end (--since) it sorted the whole range
						// for every page — 2 minutes a page at 10,000,000
						// events (docs/performance.md).
						q.Until = last.Add(time.Nanosecond)
					}
					p, err := a.Events.Search(cmd.Context(), operator(), q)
					if k := len(p.Events); k > 0 {
						last = p.Events[k-1].EventTime
					}
					return p.Events, p.Next, err
				}, l.add); err != nil {
					return err
				}
				return l.flush()
			})
		},
	}
	w.flags(c)
	savedFlags(c, &saved, &who)
	c.Flags().IntVar(&limit, "limit", 100, fmt.Sprintf("at most this many events (up to %s)", phrase.Int(events.MaxLimit)))
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) eventsCountCmd() *cobra.Command {
	var w window
	var saved, who string
	c := &cobra.Command{
		Use:     "count QUERY|--saved NAME [--since 24h | --from T --to T] [--org ODS]",
		Short:   "Print how many events match",
		Example: `  vigil events count 'EventID=1' --since 7d`,
		Args:    cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if saved == "" {
				if _, err := w.searchQuery(cmd, nil, args, "", ""); err != nil {
					return err
				}
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				q, err := w.searchQuery(cmd, a, args, saved, who)
				if err != nil {
					return err
				}
				n, err := a.Events.Count(cmd.Context(), operator(), q)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, n)
				return nil
			})
		},
	}
	w.flags(c)
	savedFlags(c, &saved, &who)
	return c
}

// savedFlags adds --saved and its --user.
func savedFlags(c *cobra.Command, saved, who *string) {
	c.Flags().StringVar(saved, "saved", "", "run the saved search of this name (its time range and organisation unless --since, --from, --to or --org is given)")
	c.Flags().StringVar(who, "user", "", "with --saved: whose saved search, a person's e-mail or user ID (default: yours)")
}

func (e *env) eventsImportCmd() *cobra.Command {
	var org, format string
	var out *output
	c := &cobra.Command{
		Use:   "import FILE... --org ODS [--parser NAME] [--format table|json]",
		Short: "Import events from files (JSON lines or arrays, CSV, CEF, LEEF, syslog text; gzip too)",
		Long: `Import events from files into the event store, owned by one organisation (--org). Each
file may be JSON lines, JSON objects written over several lines one after another (as evtx
dumps are), a JSON array, CSV with a header row, or one message a line in any
format Vigil parses (syslog RFC 5424 and 3164, CEF, LEEF, key=value, audit records, Windows
event JSON); gzipped files are read as they are. The shape is found from the file's bytes, and
each line's parser is chosen from its text unless --parser fixes one. A line no parser reads is
kept whole, with its parse error, never dropped. Importing the same file again stores nothing
twice. Progress is shown on a terminal.`,
		Example: `  vigil events import ../shared/data/events/windows/otrf/empire_psexec_dcerpc_tcp_svcctl.jsonl.gz --org RJ1`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(org) == "" {
				return usagef("--org is required: the organisation (ODS code) whose events these are")
			}
			n, err := ingest.New(ingest.Options{Format: format})
			if err != nil {
				return usagef("--parser %q is not a parser Vigil has", format)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				o, err := a.Orgs.Get(cmd.Context(), operator(), strings.ToUpper(strings.TrimSpace(org)))
				if err != nil {
					return fmt.Errorf("--org %s: %w", org, err)
				}
				bar := progress.New(e.stderr, "importing events")
				rep, err := ingest.ImportFiles(cmd.Context(), n, args, o.Code, a.Events.Append, func(read, total int64) {
					bar.Update(int(read>>10), int(max(total>>10, 1)))
				})
				bar.Done()
				if perr := e.result(out, rep, func() error {
					for _, f := range rep.Files {
						printf(e.stdout, "%s: %s, %s\n", f.Path, phrase.Count(f.Events, "event", "events"), phrase.Count(f.ParseErrors, "unparsed line", "unparsed lines"))
					}
					printf(e.stdout, "imported %s for %s\n", phrase.Count(rep.Events, "event", "events"), o.Code)
					return nil
				}); perr != nil {
					return perr
				}
				return err
			})
		},
	}
	c.Flags().StringVar(&org, "org", "", "the organisation (ODS code) the events belong to")
	c.Flags().StringVar(&format, "parser", "", "fix the parser (rfc5424, rfc3164, json, cef, leef, kv, auditd, evtx-json, winlogbeat, …); default: detect per line")
	out = formatFlag(c, "table", "json")
	return c
}

// clipText is s on one line, at most n characters.
func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
