package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/safetext"
)

// Submissions upward (intel/submissions.go): what organisations add to a
// moderated collection, pending until a national analyst (or the
// operator, here) approves or rejects it.

func (e *env) intelPendingCmd() *cobra.Command {
	var state string
	var out *output
	c := &cobra.Command{
		Use:   "pending [--state pending|approved|rejected|all]",
		Short: "List the submissions to moderated collections that wait for approval",
		Long: `List what organisations submitted to moderated collections (vigil intel collection create
--moderated): by default those still pending, which only the submitter's organisation and the
approvers read. --state approved, rejected or all lists the decided ones too, with who decided,
when and (for a rejection) why. Approve one with 'vigil intel approve ID', reject it with
'vigil intel reject ID --reason R'.

--format json prints a JSON array: id, collection, collection_title, object, version, type, name,
tlp, org, submitted_by, submitted_at, state, decided_by, decided_at, reason, can_decide.`,
		Example: `  vigil intel pending
  vigil intel pending --state rejected --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				xs, err := a.Intel.Submissions(cmd.Context(), operator(), intel.SubmissionQuery{State: state})
				if err != nil {
					return err
				}
				return e.result(out, xs, func() error {
					tab := newTable(e.stdout)
					tab.header("ID", "STATE", "ORG", "SUBMITTED", "OBJECT", "NAME", "TLP", "COLLECTION")
					for _, x := range xs {
						tab.row(x.ID, x.State, x.Org, x.SubmittedAt.UTC().Format(time.RFC3339), x.Object, safetext.Terminal(x.Name), x.TLP, safetext.Terminal(x.CollectionTitle))
					}
					return tab.flush()
				})
			})
		},
	}
	c.Flags().StringVar(&state, "state", "pending", "pending, approved, rejected or all")
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelApproveCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "approve SUBMISSION-ID",
		Short: "Approve a pending submission: it goes to every reader of its collection",
		Long: `Approve a submission listed by 'vigil intel pending': the version goes out to every reader of
the moderated collection by every path (TAXII, the API, the MISP feed, the blocklist, the
pages), dated added now so TAXII readers paging by added_after get it, and the IOC matcher
matches it for every organisation its marking allows. Audited as intel.submission.approve.`,
		Example: `  vigil intel approve 3b0c6f8e-2d1a-4c5b-9e7f-0a1b2c3d4e5f`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Intel.ApproveSubmission(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				return e.result(out, x, func() error {
					printf(e.stdout, "approved %s: %s from %s is in %s\n", x.ID, x.Object, x.Org, safetext.Terminal(x.CollectionTitle))
					return nil
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) intelRejectCmd() *cobra.Command {
	var reason string
	var out *output
	c := &cobra.Command{
		Use:   "reject SUBMISSION-ID --reason R",
		Short: "Reject a pending submission, saying why: it leaves the collection",
		Long: `Reject a submission listed by 'vigil intel pending': the version is taken out of the moderated
collection (the store keeps the object, and the submitter's own collections keep it). --reason
is required; the submitter's organisation reads it ('vigil intel pending --state rejected').
Audited as intel.submission.reject.`,
		Example: `  vigil intel reject 3b0c6f8e-2d1a-4c5b-9e7f-0a1b2c3d4e5f --reason "a CDN address: benign"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason is required: say why, for the submitter")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Intel.RejectSubmission(cmd.Context(), operator(), args[0], reason)
				if err != nil {
					return err
				}
				return e.result(out, x, func() error {
					printf(e.stdout, "rejected %s: %s from %s left %s\n", x.ID, x.Object, x.Org, safetext.Terminal(x.CollectionTitle))
					return nil
				})
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why (required)")
	out = formatFlag(c, "table", "json")
	return c
}
