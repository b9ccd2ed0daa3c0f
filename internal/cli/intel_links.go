package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/safetext"
)

// The links between intelligence, ATT&CK and detection, search and
// indicator edits (issue 19 item 9; internal/intel/links.go, search.go
// and edit.go hold the rules).

func (e *env) intelSearchCmd() *cobra.Command {
	var typ string
	var limit int
	var out *output
	c := &cobra.Command{
		Use:   "search TEXT [--type TYPE] [--limit N]",
		Short: "Search the intelligence the operator may read",
		Long: `Search the objects of the collections the operator holds, through the search index: each
word of TEXT begins a word of an object's names, aliases, description, labels, pattern or value,
or external ids (T1059.001, CVE-2021-44228); or TEXT as a whole begins one of its values or its
id. Objects matched by name, value or id come before those matched by their description only.`,
		Example: `  vigil intel search T1059.001
  vigil intel search --type malware qakbot
  vigil intel search --format json 198.51.100.7`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || limit > 1000 {
				return usagef("--limit %d: want 1 to 1,000", limit)
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				found, err := a.Intel.Search(cmd.Context(), operator(), args[0], typ, limit)
				if err != nil {
					return err
				}
				return e.result(out, found, func() error {
					tab := newTable(e.stdout)
					tab.header("ID", "TYPE", "NAME", "TLP", "ATT&CK")
					for _, f := range found {
						tab.row(f.ID, f.Type, shortText(f.Name, 80), f.TLP, f.AttackID)
					}
					return tab.flush()
				})
			})
		},
	}
	c.Flags().StringVar(&typ, "type", "", "only objects of this STIX type")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many (1 to 1,000)")
	out = formatFlag(c, "table", "json")
	return c
}

func shortText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (e *env) intelDetectionsCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "detections OBJECT-ID",
		Short: "An object's ATT&CK techniques and the Sigma rules detecting them",
		Long: `The ATT&CK techniques an object is linked to (an attack-pattern itself; any other object
through its relationships to attack-patterns), the tactics its kill_chain_phases name, and the
Sigma rules Vigil holds that detect them: rules tagged with one of the techniques, with its
parent technique or with one of its sub-techniques, and rules linked to the object by hand.`,
		Example: `  vigil intel detections malware--fb4e3792-e915-4fdd-a9cd-92dfa2ace7aa
  vigil intel detections --format json indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				d, err := a.Intel.Detections(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, d, func() error {
					tab := newTable(e.stdout)
					tab.header("KIND", "ID", "NAME", "WHY")
					for _, t := range d.Techniques {
						tab.row("technique", t.AttackID, t.Object.Name, t.Via)
					}
					for _, t := range d.Tactics {
						tab.row("tactic", t.Tactic, fmt.Sprintf("%d rules tagged", t.Rules), "kill chain phase")
					}
					for _, r := range d.Rules {
						tab.row("rule", r.ID, r.Title, r.Via)
					}
					for _, i := range d.Indicators {
						tab.row("indicator", i.ID, shortText(i.Name, 80), "related")
					}
					return tab.flush()
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelLinkCmd() *cobra.Command {
	var req intel.LinkRequest
	var out *output
	c := &cobra.Command{
		Use:   "link OBJECT-ID (--technique T1059.001 | --rule RULE-ID) [--collection ID]",
		Short: "Link an indicator, malware or intrusion set to an ATT&CK technique or a Sigma rule",
		Long: `Adds a STIX relationship, created by Vigil's identity, from an object the operator reads (an
indicator, malware, intrusion set, campaign, threat actor or tool) to an ATT&CK technique in a
collection they read (indicates for an indicator, uses for the others), or to a Sigma rule Vigil
holds (related-to an indicator of pattern_type sigma standing for the rule). The relationship
carries the object's markings and goes into --collection, or the first collection holding the
object that the operator may write. Audited as intel.object.link.`,
		Example: `  vigil intel link indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f --technique T1071.001
  vigil intel link malware--fb4e3792-e915-4fdd-a9cd-92dfa2ace7aa --rule 5d3a1f62-1c0e-4a57-9a55-0e7f7c1b2071 --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (req.Technique == "") == (req.Rule == "") {
				return usagef("give one of --technique and --rule")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				rel, err := a.Intel.Link(cmd.Context(), operator(), args[0], req)
				if err != nil {
					return err
				}
				return e.result(out, rel, func() error {
					var typ, dst string
					_, _ = rel.Get("relationship_type", &typ) // set by Link
					_, _ = rel.Get("target_ref", &dst)
					printf(e.stdout, "%s %s %s (%s)\n", safetext.Terminal(args[0]), typ, dst, rel.ID)
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&req.Technique, "technique", "", "an ATT&CK technique ID (T1059.001) or attack-pattern id")
	c.Flags().StringVar(&req.Rule, "rule", "", "a Sigma rule's id")
	c.Flags().StringVar(&req.Collection, "collection", "", "the collection the relationship goes into (one you may write)")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelEditCmd() *cobra.Command {
	var confidence, validUntil, labels, collection string
	var out *output
	c := &cobra.Command{
		Use:   "edit INDICATOR-ID [--confidence N|none] [--valid-until TIME|none] [--labels A,B|none]",
		Short: "Edit an indicator: a new STIX version with its confidence, valid_until or labels changed",
		Long: `Makes a new version of an indicator the operator reads (modified now), with the properties
given changed and the others kept, and adds it to every collection holding the indicator that
the operator may write (and --collection). "none" removes a property. Audited as
intel.object.edit.`,
		Example: `  vigil intel edit indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f --confidence 30 --valid-until 2027-01-31
  vigil intel edit indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f --labels none --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ed := intel.IndicatorEdit{Collection: collection}
			if cmd.Flags().Changed("confidence") {
				n := -1
				if confidence != "none" {
					var err error
					if n, err = strconv.Atoi(confidence); err != nil || n < 0 || n > 100 {
						return usagef("--confidence %q: want 0 to 100, or none", confidence)
					}
				}
				ed.Confidence = &n
			}
			if cmd.Flags().Changed("valid-until") {
				var t time.Time
				if validUntil != "none" {
					var err error
					if t, err = time.Parse(time.RFC3339Nano, validUntil); err != nil {
						if t, err = time.Parse("2006-01-02", validUntil); err != nil {
							return usagef("--valid-until %q: want a date (2027-01-31), a timestamp (2027-01-31T12:00:00Z) or none", validUntil)
						}
					}
				}
				ed.ValidUntil = &t
			}
			if cmd.Flags().Changed("labels") {
				ls := []string{}
				if labels != "none" {
					for _, l := range strings.Split(labels, ",") {
						if l = strings.TrimSpace(l); l != "" {
							ls = append(ls, l)
						}
					}
				}
				ed.Labels = &ls
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				nv, err := a.Intel.EditIndicator(cmd.Context(), operator(), args[0], ed)
				if err != nil {
					return err
				}
				return e.result(out, nv, func() error {
					printf(e.stdout, "%s: new version %s\n", safetext.Terminal(nv.ID), nv.Version().UTC().Format(time.RFC3339Nano))
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&confidence, "confidence", "", "0 to 100, or none")
	c.Flags().StringVar(&validUntil, "valid-until", "", "a date or timestamp after valid_from, or none")
	c.Flags().StringVar(&labels, "labels", "", "labels separated by commas (replacing the indicator's), or none")
	c.Flags().StringVar(&collection, "collection", "", "also add the new version to this collection (one you may write)")
	out = formatFlag(c, "table", "json")
	return c
}
