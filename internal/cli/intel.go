package cli

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/pattern"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
)

// intelCmd is `vigil intel`: threat intelligence (issue 19).
func (e *env) intelCmd() *cobra.Command {
	c := &cobra.Command{Use: "intel", Short: "Threat intelligence: STIX 2.1 objects and patterns"}
	c.AddCommand(e.intelImportCmd())
	c.AddCommand(e.intelMatcherCmd())
	col := &cobra.Command{Use: "collection", Short: "TAXII collections of intelligence"}
	col.AddCommand(e.intelCollectionCreateCmd())
	c.AddCommand(col)
	p := &cobra.Command{Use: "pattern", Short: "STIX 2.1 patterns"}
	p.AddCommand(e.intelPatternCheckCmd())
	c.AddCommand(p)
	return c
}

func (e *env) intelPatternCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check PATTERN",
		Short: "Check that a STIX 2.1 pattern is valid",
		Long: `Check a STIX 2.1 pattern (the 'pattern' of an indicator whose pattern_type is stix) against
the whole patterning grammar of STIX 2.1 section 9 and the checks OASIS's reference validator
adds: one WITHIN, REPEATS and START/STOP qualifier at most on an observation, and hash values
that fit their algorithm (file:hashes.'SHA-256' wants 64 hex digits). Keywords are upper case;
strings are in single quotes with \' and \\ as the only escapes; timestamps are t'…Z', binary
b'base64', hex h'…'. Give - to read the pattern from standard input.

The exit status is 0 when the pattern is valid: it prints "valid" and whether Vigil's IOC
matcher can decide it on one event (a single observation, or observations joined by OR) or
it needs several events (AND, FOLLOWEDBY, WITHIN, REPEATS, START/STOP). It is 1 when the
pattern is not valid: the error, its line and column, and the pattern with a caret under
the offending character are printed on standard error.`,
		Example: `  vigil intel pattern check "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"
  vigil intel pattern check "[file:hashes.'SHA-256' = 'aec0…'] FOLLOWEDBY [url:value = 'http://x.example/'] WITHIN 300 SECONDS"
  echo "[domain-name:value = 'evil.example']" | vigil intel pattern check -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := args[0]
			if src == "-" {
				b, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20))
				if err != nil {
					return err
				}
				src = strings.TrimRight(string(b), "\r\n")
			}
			p, err := pattern.Parse(src)
			if err != nil {
				var pe *pattern.Error
				if !errors.As(err, &pe) {
					return err
				}
				printf(e.stderr, "vigil intel pattern check: invalid pattern: %s\n", safetext.Terminal(pe.Error()))
				// The pattern's line, and a caret under the column.
				lines := strings.Split(pe.Caret(src), "\n")
				printf(e.stderr, "  %s\n  %s\n", safetext.Terminal(lines[0]), strings.TrimSuffix(lines[1], " "+pe.Msg))
				return reportedError{err}
			}
			if _, err := pattern.Compile(p); err != nil {
				printf(e.stdout, "valid; matched over several events (%s)\n", strings.TrimPrefix(err.Error(), pattern.ErrNotSingle.Error()+": "))
				return nil
			}
			printf(e.stdout, "valid; matched event by event\n")
			return nil
		},
	}
}

func (e *env) intelImportCmd() *cobra.Command {
	var out *output
	var collection string
	c := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import STIX 2.1 bundles (JSON or gzip) into the intelligence store",
		Long: `Import STIX 2.1 bundles into the intelligence store, keeping every version of every object.

Each FILE is a STIX 2.1 bundle, a single STIX object or a JSON array of objects, plain or
gzipped (recognised from the content, whatever the name). Every object is checked as it is
read: the common properties of STIX 2.1 section 3 (type, id as type--UUID, spec_version 2.1,
created and modified as STIX timestamps with modified not before created, created_by_ref,
object_marking_refs, confidence, external_references, granular_markings). Every file is read
before anything is stored, so a bad object stops the import with nothing stored, and the
error names the file and the object's index (from 0) and id.

An object is identified by its id and a version by its modified timestamp: a version already
stored is counted unchanged, any other is stored (older versions too, so the history is
whole). An SCO has one version; the same deterministic id from another source is the same
object. A version newer than a revocation (revoked: true) is refused and listed: a revoked
object stays revoked. Each file is one audited transaction (intel.import).

--collection ID adds every version read to that collection as well, dated now: what a TAXII
client of the collection then reads, within the collection's TLP ceiling.

--format table (the default) prints one line a file; --format json prints the reports as
one JSON array (source, objects, added, new_versions, unchanged, refused).`,
		Example: `  vigil intel import ../shared/data/stix/examples/cti-stix2-json-schemas/threat-reports/apt1.json
  vigil intel import --format json feed-2026-12-07.json.gz
  vigil intel import --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 indicators.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				reps, err := a.Intel.ImportFiles(cmd.Context(), operator(), collection, args)
				if err != nil {
					return err
				}
				type report struct {
					Source      string   `json:"source"`
					Objects     int      `json:"objects"`
					Added       int      `json:"added"`
					NewVersions int      `json:"new_versions"`
					Unchanged   int      `json:"unchanged"`
					Refused     []string `json:"refused"`
				}
				rs := make([]report, len(reps))
				for i, r := range reps {
					rs[i] = report{r.Source, r.Objects, r.Added, r.NewVersions, r.Unchanged, r.Refused}
					if rs[i].Refused == nil {
						rs[i].Refused = []string{}
					}
				}
				return e.result(out, rs, func() error {
					tab := newTable(e.stdout)
					tab.header("FILE", "OBJECTS", "ADDED", "NEW VERSIONS", "UNCHANGED", "REFUSED")
					for _, r := range reps {
						tab.row(r.Source, r.Objects, r.Added, r.NewVersions, r.Unchanged, len(r.Refused))
						for _, why := range r.Refused {
							printf(e.stderr, "vigil intel import: %s: refused %s\n", safetext.Terminal(r.Source), safetext.Terminal(why))
						}
					}
					return tab.flush()
				})
			})
		},
	}
	c.Flags().StringVar(&collection, "collection", "", "also add every object to this collection (its id; you must be able to write it)")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelCollectionCreateCmd() *cobra.Command {
	var title, description, ceiling string
	var out *output
	c := &cobra.Command{
		Use:   "create --title T [--description D] [--tlp-ceiling LEVEL]",
		Short: "Create a TAXII collection",
		Long: `Create a TAXII 2.1 collection. The user who creates it can read and write it.

--tlp-ceiling is the most restrictive TLP the collection hands out: CLEAR (or WHITE), GREEN (the
default), AMBER, AMBER+STRICT or RED. An object marked above the ceiling is never returned from
the collection, whoever reads it.

--format json prints the new collection as one JSON object: id (a UUID, as TAXII names
collections), title, description, tlp_ceiling ("TLP:GREEN"), can_read, can_write, created_by
and created_at. The table format (the default) prints the id, title and ceiling.`,
		Example: `  vigil intel collection create --title "National indicators" --tlp-ceiling AMBER --format json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(title) == "" {
				return usagef("--title is required")
			}
			var tlp stix.TLP
			if ceiling != "" {
				var ok bool
				if tlp, ok = stix.ParseTLP(ceiling); !ok {
					return usagef("--tlp-ceiling %q: want CLEAR, GREEN, AMBER, AMBER+STRICT or RED", ceiling)
				}
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				col, err := a.Intel.CreateCollection(cmd.Context(), operator(), intel.CollectionOptions{Title: title, Description: description, TLPCeiling: tlp})
				if err != nil {
					return err
				}
				return e.result(out, col, func() error {
					printf(e.stdout, "created collection %s: %s (%s)\n", col.ID, safetext.Terminal(col.Title), col.Ceiling)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&title, "title", "", "the collection's title (required)")
	c.Flags().StringVar(&description, "description", "", "what the collection holds")
	c.Flags().StringVar(&ceiling, "tlp-ceiling", "", "the most restrictive TLP it hands out (default GREEN)")
	out = formatFlag(c, "table", "json")
	return c
}
