package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/scope"
)

// eventsSearchesCmd is `vigil events searches`: a person's saved event
// searches, the ones the Events page lists. Without --user they are the
// operator's own (the account running vigil, as cli:NAME); with --user
// those of that person, as they see them on the page.
func (e *env) eventsSearchesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "searches",
		Short: "List, save and delete saved event searches",
		Long: `A saved search is a query in the query language (docs/events-query.md) with its time range
(--since, or --from and --to) and optionally one organisation, kept under a name. It belongs to
one person: the account running vigil unless --user names someone, whose saved searches are
those the Events page shows them. Run one with vigil events search --saved NAME.`,
	}
	c.AddCommand(e.eventsSearchesListCmd(), e.eventsSearchesSaveCmd(), e.eventsSearchesDeleteCmd())
	return c
}

// searcher is the person whose saved searches a command reads: --user, or
// the operator.
func searcher(cmd *cobra.Command, a *app.App, who string) (scope.Scope, error) {
	if who == "" {
		return operator(), nil
	}
	return personScope(cmd, a, who)
}

func userFlag(c *cobra.Command, who *string) {
	c.Flags().StringVar(who, "user", "", "whose saved searches: a person's e-mail or user ID (default: yours, the account running vigil)")
}

func (e *env) eventsSearchesListCmd() *cobra.Command {
	var who string
	var out *output
	c := &cobra.Command{
		Use:   "list [--user E-MAIL] [--format table|json]",
		Short: "List saved event searches by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				sc, err := searcher(cmd, a, who)
				if err != nil {
					return err
				}
				list, err := a.EventSearches.List(cmd.Context(), sc)
				if err != nil {
					return err
				}
				l := newLister(e, out,
					col("NAME", func(s events.SavedSearch) any { return s.Name }),
					col("QUERY", func(s events.SavedSearch) any { return dash(s.Query) }),
					col("RANGE", func(s events.SavedSearch) any { return rangeText(s) }),
					col("ORG", func(s events.SavedSearch) any { return dash(s.Org) }))
				for _, s := range list {
					if err := l.add(s); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	userFlag(c, &who)
	out = formatFlag(c, "table", "json")
	return c
}

// rangeText is a saved search's time range as its flags say it.
func rangeText(s events.SavedSearch) string {
	switch {
	case s.Since != "":
		return "--since " + s.Since
	case s.From != "" && s.To != "":
		return "--from " + s.From + " --to " + s.To
	case s.From != "":
		return "--from " + s.From
	case s.To != "":
		return "--to " + s.To
	}
	return "-"
}

func (e *env) eventsSearchesSaveCmd() *cobra.Command {
	var w window
	var who string
	var out *output
	c := &cobra.Command{
		Use:   "save NAME QUERY [--since 24h | --from T --to T] [--org ODS] [--user E-MAIL]",
		Short: "Save an event search under a name (the same name replaces it)",
		Long: `Save QUERY with its time range under NAME. The query must be one the query language
accepts: a mistake is reported with its position and nothing is saved. Saving under a name
already used replaces that search. A person keeps at most 50.`,
		Example: `  vigil events searches save 'Failed sign-ins' 'EventID=4625' --since 7d
  vigil events searches save 'Encoded PowerShell' 'Image=*\\powershell.exe AND CommandLine=*-enc*' --since 24h`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				sc, err := searcher(cmd, a, who)
				if err != nil {
					return err
				}
				s, err := a.EventSearches.Save(cmd.Context(), sc, events.SavedSearch{Name: args[0], Query: args[1],
					Since: w.since, From: w.from, To: w.to, Org: w.org})
				if err != nil {
					return err
				}
				return e.resultID(out, s, s.ID, func() error {
					printf(e.stdout, "saved %q: %s (%s)\n", s.Name, dash(s.Query), rangeText(s))
					return nil
				})
			})
		},
	}
	w.flags(c)
	userFlag(c, &who)
	out = formatFlag(c, "table", "json", "ids")
	return c
}

func (e *env) eventsSearchesDeleteCmd() *cobra.Command {
	var who string
	c := &cobra.Command{
		Use:   "delete NAME [--user E-MAIL]",
		Short: "Delete a saved event search",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				sc, err := searcher(cmd, a, who)
				if err != nil {
					return err
				}
				s, err := a.EventSearches.Find(cmd.Context(), sc, args[0])
				if err != nil {
					return err
				}
				if err := a.EventSearches.Delete(cmd.Context(), sc, s.ID); err != nil {
					return err
				}
				printf(e.stdout, "deleted %q\n", s.Name)
				return nil
			})
		},
	}
	userFlag(c, &who)
	return c
}

// searchQuery is the query of `events search` and `events count`: the
// QUERY argument with the window's flags, or the saved search named by
// saved, whose time range and organisation the flags given replace.
func (w *window) searchQuery(cmd *cobra.Command, a *app.App, args []string, saved, who string) (events.Query, error) {
	if saved == "" {
		if len(args) != 1 {
			return events.Query{}, usagef("give a QUERY, or --saved NAME to run a saved search")
		}
		return w.query(args[0])
	}
	if len(args) != 0 {
		return events.Query{}, usagef("give either a QUERY or --saved NAME, not both")
	}
	sc, err := searcher(cmd, a, who)
	if err != nil {
		return events.Query{}, err
	}
	s, err := a.EventSearches.Find(cmd.Context(), sc, saved)
	if err != nil {
		return events.Query{}, err
	}
	if w.since != "" || w.from != "" || w.to != "" {
		s.Since, s.From, s.To = w.since, w.from, w.to
	}
	if w.org != "" {
		s.Org = strings.ToUpper(strings.TrimSpace(w.org))
	}
	return s.Search(time.Now())
}
