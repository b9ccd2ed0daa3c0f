package cli

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/sigma"
)

// rulesCmd is `vigil rules`: Sigma detection content (issue 17).
func (e *env) rulesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "rules",
		Short: "Check, import and manage Sigma detection rules",
		Long: `Sigma rules are Vigil's detection content (SigmaHQ's corpus or your own). 'vigil rules check'
reads rule files and directories and reports, for every rule Vigil cannot run, the file, line
and exact reason; 'vigil hunt' runs rules over files of events.

Rules imported into the store ('vigil rules import') run live on every server, with their
history of versions; each can be enabled or disabled and given another level for every
organisation or for one, carry exceptions with an owner and an expiry, and is counted in the
hit statistics ('vigil rules noisy'). Files given to 'vigil serve --rules' run as well.`,
	}
	c.AddCommand(e.rulesCheckCmd(), e.rulesImportCmd(), e.rulesListCmd(), e.rulesShowCmd(), e.rulesEnableCmd(true), e.rulesEnableCmd(false),
		e.rulesLevelCmd(), e.rulesResetCmd(), e.rulesExceptCmd(), e.rulesUnexceptCmd(), e.rulesNoisyCmd())
	return c
}

// ruleCheck is `vigil rules check --format json`'s result.
type ruleCheck struct {
	Loaded   int            `json:"loaded"`
	Failed   []*sigma.Error `json:"failed"`
	ByLevel  map[string]int `json:"by_level"`
	ByStatus map[string]int `json:"by_status"`
}

func (e *env) rulesCheckCmd() *cobra.Command {
	var out *output
	var placeholders string
	var mappings []string
	c := &cobra.Command{
		Use:   "check [--mapping NAME|FILE]... PATH...",
		Short: "Load Sigma rules and report each one Vigil cannot run, with file, line and reason",
		Long: `Load Sigma rule files (*.yml, *.yaml) and directories, as detection and 'vigil hunt' would,
and report each rule that does not load: its file, line and the exact reason (a YAML error, an
unknown modifier, a condition naming a search that is not there, a placeholder with no value…).
A summary counts the rules that load by level and status. The exit status is 1 when any rule
does not load, so the command can guard a rule repository's CI. --mapping applies processing
pipelines as 'vigil hunt --mapping' does, and reports the rules they cannot be applied to.`,
		Example: `  vigil rules check ../shared/data/sigma/rules/windows
  vigil rules check my-rules/ --format json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := sigmaOptions(placeholders)
			if err != nil {
				return err
			}
			if opts.Pipelines, err = e.pipelines("rules check", mappings); err != nil {
				return err
			}
			corpus, err := sigma.LoadPaths(args, opts)
			if err != nil {
				return err
			}
			loaded, failed := corpus.Rules, corpus.Failed
			res := ruleCheck{Loaded: len(loaded), Failed: failed, ByLevel: map[string]int{}, ByStatus: map[string]int{}}
			for _, r := range loaded {
				res.ByLevel[orNone(r.Rule.Level)]++
				res.ByStatus[orNone(r.Rule.Status)]++
			}
			if res.Failed == nil {
				res.Failed = []*sigma.Error{}
			}
			if perr := e.result(out, res, func() error {
				for _, f := range failed {
					printf(e.stdout, "%v\n", f)
				}
				printf(e.stdout, "%s load, %s do not\n", phrase.Count(len(loaded), "rule", "rules"), phrase.Count(len(failed), "rule", "rules"))
				printf(e.stdout, "by level: %s\nby status: %s\n", counts(res.ByLevel), counts(res.ByStatus))
				return nil
			}); perr != nil {
				return perr
			}
			if len(failed) > 0 {
				return fmt.Errorf("%s did not load", phrase.Count(len(failed), "rule", "rules"))
			}
			return nil
		},
	}
	placeholderFlag(c, &placeholders)
	mappingFlag(c, &mappings)
	out = formatFlag(c, "table", "json")
	return c
}

// placeholderFlag gives c --placeholders FILE.
func placeholderFlag(c *cobra.Command, v *string) {
	c.Flags().StringVar(v, "placeholders", "", "a YAML file of placeholder values for rules using |expand (name: [value, …]; e.g. domain_controller_hostnames: [DC01, DC02])")
}

// sigmaOptions reads --placeholders (sigma.LoadPlaceholders).
func sigmaOptions(path string) (sigma.Options, error) {
	if path == "" {
		return sigma.Options{}, nil
	}
	ph, err := sigma.LoadPlaceholders(path)
	if err != nil {
		return sigma.Options{}, fmt.Errorf("--placeholders: %w", err)
	}
	return sigma.Options{Placeholders: ph}, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// counts is "high 3, medium 2" in descending count, then name.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) == 0 {
		return "none"
	}
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += k + " " + phrase.Int(m[k])
	}
	return s
}
