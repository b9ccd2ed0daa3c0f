package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/assurance"
)

// A statement's submitted versions (issue 20): each kept as submitted.

func (e *env) statementVersionsCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "versions ID [--format table|json]",
		Short: "A statement's submitted versions, oldest first: signed by whom, in what role, when, answers changed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				vs, err := a.Assurance.ListVersions(cmd.Context(), operator(), args[0])
				if err != nil {
					return err
				}
				if len(vs) == 0 && !out.is("json") {
					printf(e.stdout, "%s has not been submitted yet\n", args[0])
					return nil
				}
				l := newLister(e, out,
					col("VERSION", func(v assurance.StatementVersion) any { return strconv.Itoa(v.Version) }),
					col("SUBMITTED", func(v assurance.StatementVersion) any { return v.SubmittedAt }),
					col("SIGNED", func(v assurance.StatementVersion) any { return v.SignedName }),
					col("ROLE", func(v assurance.StatementVersion) any { return v.SignedRole }),
					col("CHANGED", func(v assurance.StatementVersion) any {
						if !v.Compared {
							return "-"
						}
						return strconv.Itoa(v.Changed)
					}))
				for _, v := range vs {
					if err := l.add(v); err != nil {
						return err
					}
				}
				return l.flush()
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}

func (e *env) statementVersionCmd() *cobra.Command {
	var out *output
	c := &cobra.Command{
		Use:   "version ID N [--format table|json]",
		Short: "One submitted version of a statement as submitted, and the answers changed since the version before",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a version number (1, 2, …)", args[1])
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				v, err := a.Assurance.GetVersion(cmd.Context(), operator(), args[0], n)
				if err != nil {
					return err
				}
				return e.result(out, v, func() error {
					printf(e.stdout, "%s version %d: submitted %s, signed by %s (%s)\n\n", v.StatementID, v.Version, v.SubmittedAt, v.SignedName, v.SignedRole)
					if err := printRows(e.stdout, 0, v.Answers,
						col("#", func(a assurance.VersionAnswer) any { return strconv.Itoa(a.Seq) }),
						col("REQUIREMENT", func(a assurance.VersionAnswer) any { return a.Label() }),
						col("ANSWER", func(a assurance.VersionAnswer) any { return a.Answer.Label() }),
						col("EVIDENCE", func(a assurance.VersionAnswer) any { return strconv.Itoa(len(a.Evidence)) }),
						col("JUSTIFICATION", func(a assurance.VersionAnswer) any { return dash(a.Justification) })); err != nil {
						return err
					}
					if !v.Compared {
						return nil
					}
					if len(v.Changes) == 0 {
						printf(e.stdout, "\nno answer changed since version %d\n", v.Version-1)
						return nil
					}
					printf(e.stdout, "\nchanged since version %d:\n", v.Version-1)
					return printRows(e.stdout, 0, v.Changes,
						col("#", func(c assurance.VersionChange) any { return strconv.Itoa(c.Seq) }),
						col("REQUIREMENT", func(c assurance.VersionChange) any { return c.Label() }),
						col("BEFORE", func(c assurance.VersionChange) any { return c.AnswerBefore.Label() }),
						col("AFTER", func(c assurance.VersionChange) any { return c.AnswerAfter.Label() }),
						col("JUSTIFICATION BEFORE", func(c assurance.VersionChange) any { return dash(c.JustificationBefore) }),
						col("JUSTIFICATION AFTER", func(c assurance.VersionChange) any { return dash(c.JustificationAfter) }))
				})
			})
		},
	}
	out = formatFlag(c, "table", "json")
	return c
}
