package cli

import (
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/feeds"
	"github.com/vigil-health/vigil/internal/intel/pattern"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/safetext"
)

// intelCmd is `vigil intel`: threat intelligence (issue 19).
func (e *env) intelCmd() *cobra.Command {
	c := &cobra.Command{Use: "intel", Short: "Threat intelligence: STIX 2.1 objects and patterns"}
	c.AddCommand(e.intelPendingCmd(), e.intelApproveCmd(), e.intelRejectCmd())
	c.AddCommand(e.intelImportCmd(), e.intelExportCmd(), e.intelShareCmd(), e.intelMatcherCmd(), e.intelFeedCmd(),
		e.intelAllowlistCmd(), e.intelSightingsCmd(), e.intelPurgeCmd(), e.intelDecayCmd(), e.intelVerdictsCmd(),
		e.intelSearchCmd(), e.intelDetectionsCmd(), e.intelLinkCmd(), e.intelEditCmd())
	col := &cobra.Command{Use: "collection", Short: "TAXII collections of intelligence"}
	col.AddCommand(e.intelCollectionCreateCmd(), e.intelCollectionListCmd(), e.intelCollectionGrantCmd())
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
	var collection, feedTLP string
	var warninglists []string
	c := &cobra.Command{
		Use:   "import FILE|DIR...",
		Short: "Import STIX 2.1 bundles, MISP events and feeds, and CSV or text feeds into the intelligence store",
		Long: `Import threat intelligence into the store, keeping every version of every object.

What each argument is, is read from its content, whatever its name:
  - a directory holding manifest.json is a MISP feed: every event the manifest lists is read
    from <uuid>.json and checked against hashes.csv (the md5 of each attribute value); an
    event that fails the check is reported as refused and not imported;
  - a JSON file with "Event" (or "response", a MISP search result) is MISP events;
  - other JSON is STIX (below);
  - anything else is a CSV feed — abuse.ch Feodo Tracker, URLhaus and ThreatFox layouts, or
    any CSV whose header names a dst_ip, ip_address, url or ioc_value column, in any order,
    header in a # comment or not — or a text feed of one value a line (addresses, CIDR
    blocks, domains, URLs, e-mail addresses, MD5/SHA-1/SHA-256/SHA-512 hashes).
MISP events become STIX as docs/intel.md describes: a report per event, an indicator per
attribute for IDS that Vigil has a pattern for, observed data for the others, tlp:* and PAP:*
tags as markings, galaxies as intrusion sets, malware, tools or attack patterns, sightings as
sightings. A CSV or text feed is converted the same way, one indicator a value; abuse.ch
feeds are TLP:CLEAR, text feeds take --feed-tlp.

--warninglists DIR|FILE (repeatable) loads MISP warning lists (misp-warninglists' list.json
files): a value on one is known-benign and is kept as observed data marked
x_vigil_warninglists, never made an indicator.

STIX files:

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
one JSON array (source, format, objects, added, new_versions, unchanged, flagged, refused).`,
		Example: `  vigil intel import ../shared/data/stix/examples/cti-stix2-json-schemas/threat-reports/apt1.json
  vigil intel import --format json feed-2026-12-07.json.gz
  vigil intel import --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 indicators.json
  vigil intel import --warninglists ../shared/data/misp/warninglists ../shared/data/misp/feed-sample
  vigil intel import --feed-tlp GREEN blocklist.txt ../shared/data/misp/abusech/feodotracker-ipblocklist.csv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				o := intel.ImportOptions{}
				if feedTLP != "" {
					t, ok := stix.ParseTLP(feedTLP)
					if !ok {
						return usagef("--feed-tlp %q: want CLEAR, GREEN, AMBER, AMBER+STRICT or RED", feedTLP)
					}
					o.FeedTLP = strings.ToLower(t.String())
				}
				if len(warninglists) > 0 {
					ws, err := feeds.LoadWarninglists(warninglists...)
					if err != nil {
						return err
					}
					o.Warninglists = ws
				}
				reps, err := a.Intel.ImportFilesWith(cmd.Context(), operator(), collection, args, o)
				if err != nil {
					return err
				}
				type report struct {
					Source      string   `json:"source"`
					Format      string   `json:"format"`
					Objects     int      `json:"objects"`
					Added       int      `json:"added"`
					NewVersions int      `json:"new_versions"`
					Unchanged   int      `json:"unchanged"`
					Flagged     int      `json:"flagged"`
					Refused     []string `json:"refused"`
				}
				rs := make([]report, len(reps))
				for i, r := range reps {
					rs[i] = report{r.Source, r.Format, r.Objects, r.Added, r.NewVersions, r.Unchanged, r.Flagged, r.Refused}
					if rs[i].Refused == nil {
						rs[i].Refused = []string{}
					}
				}
				return e.result(out, rs, func() error {
					tab := newTable(e.stdout)
					tab.header("FILE", "FORMAT", "OBJECTS", "ADDED", "NEW VERSIONS", "UNCHANGED", "FLAGGED", "REFUSED")
					for _, r := range reps {
						tab.row(r.Source, r.Format, r.Objects, r.Added, r.NewVersions, r.Unchanged, r.Flagged, len(r.Refused))
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
	c.Flags().StringArrayVar(&warninglists, "warninglists", nil, "MISP warning lists (a list.json, or a directory of them) flagging known-benign values")
	c.Flags().StringVar(&feedTLP, "feed-tlp", "", "the TLP of text feeds' indicators (abuse.ch feeds are CLEAR)")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelCollectionCreateCmd() *cobra.Command {
	var title, description, ceiling string
	var moderated bool
	var out *output
	c := &cobra.Command{
		Use:   "create --title T [--description D] [--tlp-ceiling LEVEL] [--moderated]",
		Short: "Create a TAXII collection",
		Long: `Create a TAXII 2.1 collection. The user who creates it can read and write it.

--tlp-ceiling is the most restrictive TLP the collection hands out: CLEAR (or WHITE), GREEN (the
default), AMBER, AMBER+STRICT or RED. An object marked above the ceiling is never returned from
the collection, whoever reads it.

--moderated makes it a collection the national team publishes from: what anyone but its
approvers (national analysts and administrators who write it, and the operator) adds to it —
a trust submitting upward through TAXII, the API or the CLI — is pending until an approver
approves it ('vigil intel pending', 'vigil intel approve', 'vigil intel reject'). Meanwhile
only the submitter's organisation and the approvers read it.

--format json prints the new collection as one JSON object: id (a UUID, as TAXII names
collections), title, description, tlp_ceiling ("TLP:GREEN"), can_read, can_write, moderated,
approver, created_by and created_at. The table format (the default) prints the id, title and ceiling.`,
		Example: `  vigil intel collection create --title "National indicators" --tlp-ceiling AMBER --format json
  vigil intel collection create --title "Submitted by trusts" --moderated`,
		Args: cobra.NoArgs,
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
				col, err := a.Intel.CreateCollection(cmd.Context(), operator(), intel.CollectionOptions{Title: title, Description: description, TLPCeiling: tlp, Moderated: moderated})
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
	c.Flags().BoolVar(&moderated, "moderated", false, "hold what others than national analysts add until one approves it")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelExportCmd() *cobra.Command {
	var collection, feedDir, blocklist string
	c := &cobra.Command{
		Use:   "export --collection ID (--misp-feed DIR | --blocklist FILE)",
		Short: "Export a collection as a MISP feed or a CSV blocklist",
		Long: `Export a collection as the operator may read it — the same rules as every export path: the
collection's TLP ceiling, and TLP:RED or AMBER+STRICT objects only to their recipients.

--misp-feed DIR writes a MISP feed: manifest.json, hashes.csv and one <uuid>.json a event, which
a MISP instance can subscribe to (or serve DIR over HTTP). Every report becomes an event again
with its attributes, objects, galaxies, sightings and TLP and PAP tags; indicators no report
holds go into one more event named after the collection. Importing the feed gives the same
STIX objects back. The same feed is served at /api/v1/intel/collections/ID/misp/.

--blocklist FILE (- for standard output) writes the collection's single-value indicators as
CSV (type, value, indicator, tlp, pap, confidence, valid_from, valid_until), leaving out
revoked and expired ones and those marked PAP:AMBER or PAP:RED, which may not be used to block.`,
		Example: `  vigil intel export --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --misp-feed /srv/feeds/national
  vigil intel export --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --blocklist - > block.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if collection == "" || (feedDir == "") == (blocklist == "") {
				return usagef("give --collection and one of --misp-feed and --blocklist")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if feedDir != "" {
					n, err := a.Intel.ExportMISPFeed(cmd.Context(), operator(), collection, feedDir)
					if err != nil {
						return err
					}
					printf(e.stdout, "wrote a MISP feed of %d events to %s\n", n, safetext.Terminal(feedDir))
					return nil
				}
				rows, err := a.Intel.Blocklist(cmd.Context(), operator(), collection)
				if err != nil {
					return err
				}
				if blocklist == "-" {
					return intel.WriteBlocklistCSV(e.stdout, rows)
				}
				f, err := os.Create(blocklist)
				if err != nil {
					return err
				}
				if err := intel.WriteBlocklistCSV(f, rows); err != nil {
					_ = f.Close()
					return err
				}
				return f.Close()
			})
		},
	}
	c.Flags().StringVar(&collection, "collection", "", "the collection's id")
	c.Flags().StringVar(&feedDir, "misp-feed", "", "write a MISP feed into this directory")
	c.Flags().StringVar(&blocklist, "blocklist", "", "write a CSV blocklist to this file (- for standard output)")
	return c
}

func (e *env) intelCollectionListCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "list",
		Short: "List the collections the operator holds a grant on, and their grants to organisations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				cs, err := a.Intel.Collections(cmd.Context(), operator())
				if err != nil {
					return err
				}
				type row struct {
					intel.Collection
					Grants []intel.OrgGrant `json:"grants"`
				}
				rows := make([]row, 0, len(cs))
				for _, c := range cs {
					gs, err := a.Intel.CollectionGrants(cmd.Context(), operator(), c.ID)
					if err != nil {
						return err
					}
					if gs == nil {
						gs = []intel.OrgGrant{}
					}
					rows = append(rows, row{c, gs})
				}
				return e.result(out, rows, func() error {
					tab := newTable(e.stdout)
					tab.header("ID", "TITLE", "CEILING", "SHARED WITH")
					for _, r := range rows {
						var with []string
						for _, g := range r.Grants {
							w := g.Org
							if g.Role != "" {
								w += " (" + g.Role + ")"
							}
							if g.CanWrite {
								w += " rw"
							}
							with = append(with, w)
						}
						tab.row(r.ID, r.Title, r.Ceiling, strings.Join(with, ", "))
					}
					return tab.flush()
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelCollectionGrantCmd() *cobra.Command {
	var org, role string
	var write, revoke bool
	var out *output
	c := &cobra.Command{
		Use:   "grant ID --org CODE [--role ROLE] [--write | --revoke]",
		Short: "Share a collection with an organisation and everyone under it",
		Long: `Share a collection with an organisation: everyone holding a role there or under it may read it
(a grant to the national body reaches every organisation; a region's, its ICBs and trusts).
--role limits the grant to the holders of one role. --write lets them add to it too (TAXII
POST, vigil intel import --collection). --revoke removes the grant. Reading never passes the
collection's TLP ceiling, and TLP:RED objects go only to their recipients (vigil intel share).
Audited as intel.collection.grant or intel.collection.revoke.`,
		Example: `  vigil intel collection grant 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --org ENG
  vigil intel collection grant 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --org Y56 --role org-analyst --write`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if org == "" {
				return usagef("--org is required")
			}
			if write && revoke {
				return usagef("give --write or --revoke, not both")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				g, err := a.Intel.GrantCollection(cmd.Context(), operator(), args[0], intel.GrantOptions{Org: org, Role: role, Read: !revoke, Write: write})
				if err != nil {
					return err
				}
				return e.result(out, g, func() error {
					if revoke {
						printf(e.stdout, "collection %s is no longer shared with %s\n", args[0], safetext.Terminal(org))
					} else if write {
						printf(e.stdout, "collection %s shared with %s to read and write\n", args[0], safetext.Terminal(org))
					} else {
						printf(e.stdout, "collection %s shared with %s to read\n", args[0], safetext.Terminal(org))
					}
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&org, "org", "", "the organisation's ODS code")
	c.Flags().StringVar(&role, "role", "", "only the holders of this role there")
	c.Flags().BoolVar(&write, "write", false, "let them add to the collection as well")
	c.Flags().BoolVar(&revoke, "revoke", false, "remove the grant")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelShareCmd() *cobra.Command {
	var org, user string
	var out *output
	c := &cobra.Command{
		Use:   "share OBJECT-ID (--org CODE | --user ID|EMAIL)",
		Short: "Name a recipient of a TLP:RED or AMBER+STRICT object",
		Long: `A TLP:RED or TLP:AMBER+STRICT object is returned, by every path, only to its explicit
recipients: whoever imported it, and those named here — a user, or the people of an
organisation (its own, not the organisations under it). Only a recipient may name more.
Audited as intel.object.share.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (org == "") == (user == "") {
				return usagef("give one of --org and --user")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				kind, who := "org", org
				if user != "" {
					u, err := a.Auth.GetUser(cmd.Context(), operator(), user)
					if err != nil {
						return err
					}
					kind, who = "user", u.ID
				}
				r, err := a.Intel.Share(cmd.Context(), operator(), args[0], kind, who)
				if err != nil {
					return err
				}
				return e.result(out, r, func() error {
					printf(e.stdout, "%s shared with %s %s\n", safetext.Terminal(args[0]), kind, safetext.Terminal(who))
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&org, "org", "", "an organisation's ODS code")
	c.Flags().StringVar(&user, "user", "", "a user's id or e-mail")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelPurgeCmd() *cobra.Command {
	var reason string
	var out *output
	c := &cobra.Command{
		Use:   "purge OBJECT-ID --reason TEXT",
		Short: "Remove an intelligence object from Vigil altogether",
		Long: `Remove a STIX object from Vigil altogether: every version, its place in every collection,
its named recipients and the IOC matcher's sightings of it; the matcher stops matching it at
once. A TAXII DELETE only takes an object out of one collection; this is for what should never
have been stored (personal data posted by mistake, an indicator raising alerts everywhere).
Objects that refer to it keep their reference. National administrators only; the reason is
required and audited as intel.object.purge (the object's body is not kept in the audit log).

--format json prints {id, type, versions, collections}.`,
		Example: `  vigil intel purge indicator--2869076c-57f3-45b5-93c6-68f6213dd47e --reason "posted with a patient's name in it"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason is required: say why the object must go (it is audited)")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				r, err := a.Intel.Purge(cmd.Context(), operator(), args[0], reason)
				if err != nil {
					return err
				}
				return e.result(out, r, func() error {
					printf(e.stdout, "purged %s (%s): %s from %s\n", safetext.Terminal(r.ID), r.Type,
						phrase.Count(r.Versions, "version", "versions"), phrase.Count(r.Collections, "collection", "collections"))
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why the object must go (required; audited)")
	out = formatFlag(c, "table", "json")
	return c
}
