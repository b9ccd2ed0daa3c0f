package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"

	"github.com/vigil-health/vigil/internal/audit"
)

func (e *env) auditCmd() *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Read and verify the hash-chained audit log"}
	var expect string
	verify := &cobra.Command{
		Use:   "verify [--expect-head SEQ:HASH]",
		Short: "Check the whole audit chain and report the first broken link",
		Long: `Check the whole audit chain: every entry follows from the one before, every MAC made with the
audit key (--audit-key-file, default <data-dir>/audit.key) matches, and the head row has not
been moved back. It prints the head as SEQ:HASH and from which entry the chain is keyed
(entries from before the key have plain SHA-256 hashes and verify as before).

No key can show that the end of the chain was cut off by someone who kept an old copy of the
head row. Record heads outside the database (vigil serve publishes them on the bus subject
` + "`vigil.audit.head`" + ` and as the vigil_audit_head_info metric) and check against one with
--expect-head: the chain must hold that entry with that hash. The hash may be shortened to
16 hexadecimal digits. Works on a read-only copy of the data directory.`,
		Example: `  vigil audit verify
  vigil audit verify --expect-head 48213:9f86d081884c7d65`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var o audit.VerifyOptions
			if expect != "" {
				h, err := audit.ParseHead(expect)
				if err != nil {
					return usagef("--expect-head: %v", err)
				}
				o.Expect = &h
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				v, err := a.Audit.Check(cmd.Context(), o)
				switch {
				case errors.Is(err, audit.ErrBroken):
					printf(e.stdout, "audit chain BROKEN at entry %d: %s\n", v.BrokenAt, v.Reason)
					printf(e.stdout, "%d entries before it verify.\n", v.Entries)
					return fmt.Errorf("audit chain broken at entry %d", v.BrokenAt)
				case errors.Is(err, audit.ErrNoKey):
					printf(e.stdout, "audit chain NOT VERIFIED: %s\n", v.Reason)
					printf(e.stdout, "%d entries before it verify.\n", v.Entries)
					return fmt.Errorf("the audit chain could not be verified without its key (--audit-key-file or VIGIL_AUDIT_KEY)")
				case err != nil:
					return err
				}
				printf(e.stdout, "audit chain OK: %d entries, head %d:%s\n", v.Entries, v.Entries, v.Head)
				printf(e.stdout, "anchoring: %s\n", v.Anchor)
				if v.Expected != nil {
					printf(e.stdout, "the chain holds the expected head %s\n", v.Expected)
				}
				return nil
			})
		},
	}
	verify.Flags().StringVar(&expect, "expect-head", "", "a head recorded earlier, SEQ:HASH: refuse unless the chain holds it")
	var f audit.Filter
	var since string
	var out *output
	list := &cobra.Command{
		Use:   "list [--action PREFIX] [--actor EMAIL] [--org ODS] [--since 24h|RFC3339] [--limit N]",
		Short: "Show audit entries, newest first, each in words (--format json for every field)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since != "" {
				if d, err := time.ParseDuration(since); err == nil {
					f.Since = time.Now().Add(-d)
				} else if t, err := time.Parse(time.RFC3339, since); err == nil {
					f.Since = t
				} else {
					return usagef("--since %q: want a duration like 24h or an RFC 3339 time", since)
				}
			}
			f.Org = strings.ToUpper(f.Org)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, _, err := a.Audit.List(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				names := a.Auth.AuditNames(cmd.Context(), operator())
				l := newLister(e, out,
					col("SEQ", func(en audit.Entry) any { return en.Seq }), col("TIME", func(en audit.Entry) any { return en.At.Format(time.RFC3339) }),
					col("WHAT", func(en audit.Entry) any { return audit.Describe(en, names) }), col("VIA", func(en audit.Entry) any { return en.Via }),
					col("FROM", func(en audit.Entry) any { return dash(en.Remote) }), col("ACTION", func(en audit.Entry) any { return en.Action }),
					col("ORG", func(en audit.Entry) any { return dash(en.Org) }))
				for _, en := range list {
					if err := l.add(en); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	list.Flags().StringVar(&f.Action, "action", "", "action prefix, e.g. user. or org.create")
	list.Flags().StringVar(&f.Actor, "actor", "", "actor e-mail or ID")
	list.Flags().StringVar(&f.Org, "org", "", "organisation code")
	list.Flags().StringVar(&since, "since", "", "only entries newer than this (24h, or an RFC 3339 time)")
	list.Flags().IntVar(&f.Limit, "limit", 50, "at most this many entries (max 1000)")
	out = formatFlag(list, "table", "json")
	c.AddCommand(verify, list)
	return c
}
