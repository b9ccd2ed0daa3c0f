package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/progress"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/sigma/pipeline"
)

// huntMatch is one line of `vigil hunt --format json`.
type huntMatch struct {
	RuleID    string   `json:"rule_id"`
	RuleTitle string   `json:"rule_title"`
	Level     string   `json:"level"`
	Author    string   `json:"author,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	RuleFile  string   `json:"rule_file"`
	// Correlation is set when the match is a correlation rule's: the
	// event shown is the one that completed it.
	Correlation *huntCorrelation `json:"correlation,omitempty"`
	File        string           `json:"file"`
	Line        int64            `json:"line"`
	Event       *events.Event    `json:"event"`
}

// huntCorrelation says what a correlation rule counted.
type huntCorrelation struct {
	Type       string            `json:"type"`
	Group      map[string]string `json:"group,omitempty"`
	Value      float64           `json:"value"`
	LastRuleID string            `json:"last_rule_id"`
}

// huntCmd is `vigil hunt`: Sigma rules over files of events, offline,
// without a data directory or a server (issue 17: like chainsaw or
// hayabusa).
func (e *env) huntCmd() *cobra.Command {
	var rules []string
	var mappings []string
	var placeholders, query string
	var w window
	var limit int64
	var out *output
	c := &cobra.Command{
		Use:   "hunt --rules PATH... [--mapping NAME|FILE]... (FILE_OR_DIR... | --since 7d [--org ODS])",
		Short: "Run Sigma rules over files of events, or over the stored events (retro-hunt)",
		Long: `Run Sigma rules over files of events and print every match. No server or data directory is
needed: the files are read, normalised as ingest would, and each event is tried against the
rules of its log source (a process_creation rule sees Sysmon event 1 and Security 4688, never a
Zeek record).

--rules takes rule files and directories (searched for *.yml and *.yaml), and may be repeated.
A rule that cannot be loaded is reported on stderr with its file, line and reason, and the hunt
goes on with the rest. Every level runs. Sigma filters among the rules tune the rules beside
them; correlation rules (event_count, value_count, temporal…) count the events of the rules they
name, in the order the files are given.

--mapping applies Sigma processing pipelines to the rules before they run, for events whose
fields are not named as Sigma's: a built-in (vigil: events as Vigil's ingest stores them; ecs:
Elastic Common Schema, Winlogbeat 7+ and Elastic Agent) or a pySigma processing-pipeline or
legacy sigmac configuration YAML file. Repeat it to chain pipelines (they apply in order of
priority, as pySigma chains them). A pipeline item Vigil cannot apply is reported on stderr
with its file, line and id, and each rule it applies to is reported as not loaded. The default
(default) is Vigil's ingest mapping alone: no pipeline. An event ingest gives no log source
meets the rules a pipeline routes (its added conditions, such as a channel, pick the events).

The files may be JSON lines, JSON objects one after another over several lines (nested EVTX
JSON, {"Event":{"System":…,"EventData":…}}, as evtx dumps and SigmaHQ's regression data
are), JSON arrays, flat Windows JSON (NXLog, Winlogbeat), syslog, CEF, LEEF and the other
formats 'vigil events import' reads, gzipped or not. A directory is read file by file in name
order.

--format json (the default) prints one JSON object a match: rule_id, rule_title, level,
author (the Detection Rule License asks that it be shown with matches), tags, rule_file,
file, line (1-based, where the event starts) and the event. --format table is for people.
The exit status is 0 with or without matches; it is not 0 when a file cannot be read.

With no files and a time range (--since 7d, or --from and --to), the rules run over the events
stored in the data directory instead (a retro-hunt, beside a running server), newest first,
optionally for one organisation (--org) and narrowed by a query in the events query language
(--query); --limit stops after that many matches (default 10,000). Matches then have no file or
line. Correlation rules need events oldest first and do not run in a retro-hunt.`,
		Example: `  vigil hunt --rules ../shared/data/sigma/rules/windows ../shared/data/events/windows/otrf/
  vigil hunt --rules my-rule.yml --format table security.evtx.json
  vigil hunt --rules ../shared/data/sigma/rules/windows --mapping ecs winlogbeat.ndjson
  vigil hunt --rules rules/ --mapping splunk_windows.yml --mapping my-overrides.yml export.json
  vigil hunt --rules ../shared/data/sigma/rules/windows --since 7d --org RJ1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(rules) == 0 {
				return usagef("--rules is required: the Sigma rule files or directories to hunt with")
			}
			stored := w.since != "" || w.from != "" || w.to != ""
			switch {
			case len(args) == 0 && !stored:
				return usagef("give files or directories of events to hunt, or a time range (--since 7d) to hunt the stored events")
			case len(args) > 0 && stored:
				return usagef("hunt either files or the stored events (--since, --from, --to), not both")
			case !stored && (w.org != "" || query != ""):
				return usagef("--org and --query narrow a hunt of the stored events: give a time range too (--since 7d)")
			}
			start := time.Now()
			huntGC()
			opts, err := sigmaOptions(placeholders)
			if err != nil {
				return err
			}
			if opts.Pipelines, err = e.pipelines("hunt", mappings); err != nil {
				return err
			}
			corpus, err := sigma.LoadPaths(rules, opts)
			if err != nil {
				return err
			}
			loaded, failed := corpus.Rules, corpus.Failed
			for _, f := range failed {
				printf(e.stderr, "vigil hunt: rule not loaded: %v\n", f)
			}
			if len(loaded) == 0 {
				return errors.New("no rule could be loaded: nothing to hunt with")
			}
			hunter, err := sigma.NewCorpusHunter(corpus)
			if err != nil {
				return err
			}
			printf(e.stderr, "vigil hunt: %s and %s loaded (%s not)\n", phrase.Count(len(loaded), "rule", "rules"),
				phrase.Count(len(corpus.Correlations), "correlation", "correlations"), phrase.Count(len(failed), "rule", "rules"))
			bw := bufio.NewWriterSize(e.stdout, 64<<10)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			var tab *table
			if out.is("table") {
				tab = newTable(bw)
				tab.header("LEVEL", "RULE", "FILE OR ORG", "LINE", "HOST", "EVENT TIME")
			}
			emit := func(h sigma.Hit) error {
				r := h.Rule.Rule
				m := huntMatch{RuleID: r.ID, RuleTitle: r.Title, Level: r.Level, Author: r.Author, Tags: r.Tags,
					RuleFile: r.File, File: h.File, Line: h.Line, Event: h.Event}
				if c := h.Correlation; c != nil {
					m = huntMatch{RuleID: c.Correlation.ID, RuleTitle: c.Correlation.Title, Level: c.Correlation.Level,
						Author: c.Correlation.Author, Tags: c.Correlation.Tags, RuleFile: c.Correlation.File,
						Correlation: &huntCorrelation{Type: string(c.Correlation.Type), Group: c.Group, Value: c.Value, LastRuleID: r.ID},
						File:        h.File, Line: h.Line, Event: h.Event}
				}
				if tab != nil {
					where := h.File
					if where == "" {
						where = h.Event.Org
					}
					tab.row(m.Level, m.RuleTitle, where, h.Line, h.Event.Source.Host, h.Event.EventTime.Format(time.RFC3339))
					return nil
				}
				return enc.Encode(m)
			}
			finish := func(err error) error {
				if tab != nil {
					if ferr := tab.flush(); ferr != nil && err == nil {
						err = ferr
					}
				}
				if ferr := bw.Flush(); ferr != nil && err == nil {
					err = ferr
				}
				return err
			}
			if stored {
				q, err := w.query(query)
				if err != nil {
					return usagef("%v", err)
				}
				return e.withApp(cmd.Context(), func(a *app.App) error {
					rep, err := sigma.HuntStore(cmd.Context(), hunter, a.Events, operator(), q, limit, emit)
					err = finish(err)
					more := ""
					if rep.Truncated {
						more = fmt.Sprintf(" (stopped at --limit %d)", limit)
					}
					printf(e.stderr, "vigil hunt: %s stored events read, %s%s in %s\n", phrase.Int(rep.Scanned),
						phrase.Count(int(rep.Hits), "match", "matches"), more, time.Since(start).Round(time.Millisecond))
					return err
				})
			}
			n, err := ingest.New(ingest.Options{})
			if err != nil {
				return err
			}
			bar := progress.New(e.stderr, "hunting")
			rep, err := sigma.HuntFiles(cmd.Context(), hunter, n, args, func(read, total int64) {
				bar.Update(int(read>>10), int(max(total>>10, 1)))
			}, emit)
			bar.Done()
			err = finish(err)
			took := time.Since(start)
			printf(e.stderr, "vigil hunt: %s in %s, %s, %s (%s)\n", phrase.Count(int(rep.Events), "event", "events"),
				phrase.Count(rep.Files, "file", "files"), phrase.Count(int(rep.Hits), "match", "matches"),
				took.Round(time.Millisecond), phrase.Count(int(float64(rep.Events)/max(took.Seconds(), 1e-9)), "event/s", "events/s"))
			return err
		},
	}
	c.Flags().StringSliceVar(&rules, "rules", nil, "Sigma rule files or directories (repeat, or separate with commas)")
	mappingFlag(c, &mappings)
	placeholderFlag(c, &placeholders)
	w.flags(c)
	c.Flags().StringVar(&query, "query", "", "with a time range: only stored events this events query matches, e.g. 'host=dc01*'")
	c.Flags().Int64Var(&limit, "limit", 10_000, "with a time range: stop after this many matches (0: no limit)")
	out = formatFlag(c, "json", "table")
	return c
}

// huntGC trades memory the hunt does not use for collector time: a hunt
// allocates each event and drops it, and with the default GOGC=100 the
// collector was a tenth of its CPU time over the OTRF captures. Collect
// at three times the live heap, but under a soft limit of 384 MiB (issue
// 17 asks for a peak under 500 MB), unless GOGC or GOMEMLIMIT is set.
func huntGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(384 << 20)
	}
}

// mappingFlag gives c --mapping NAME|FILE, repeatable.
func mappingFlag(c *cobra.Command, v *[]string) {
	c.Flags().StringSliceVar(v, "mapping", nil, "a Sigma processing pipeline applied to the rules: default (none: Vigil's ingest mapping), "+
		strings.Join(pipeline.BuiltinNames(), ", ")+", or a pySigma or sigmac pipeline YAML file (repeat to chain them)")
}

// pipelines reads --mapping (sigma.LoadPipelines) and says on stderr
// which of the pipelines' items Vigil cannot apply: the rules they apply
// to are reported as not loaded, with the same reason.
func (e *env) pipelines(cmd string, specs []string) ([]*pipeline.Pipeline, error) {
	ps, err := sigma.LoadPipelines(specs)
	if err != nil {
		return nil, fmt.Errorf("--mapping: %w", err)
	}
	for _, p := range ps {
		for _, u := range p.Unsupported() {
			printf(e.stderr, "vigil %s: pipeline item not supported (the rules it applies to do not load): %s\n", cmd, u)
		}
	}
	return ps, nil
}
