package cli

import (
	"errors"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/casereport"
)

// casesReportCmd exports a case report or its regulatory pack.
func (e *env) casesReportCmd() *cobra.Command {
	var format, out string
	var regulatory bool
	c := &cobra.Command{
		Use:   "report ID [--format md|html|pdf] [--regulatory] [-o FILE]",
		Short: "Export a case report (or, with --regulatory, its NIS and ICO report pack) as Markdown, HTML or PDF",
		Long: `The report holds the case's details, tasks, timeline, observables, evidence list and comments,
marked with its TLP on every page. --regulatory gives the questions of the NIS incident report and
the ICO personal-data breach report, answered from the case (what is missing says "Not recorded").
Without -o the report goes to standard output; a PDF needs -o, or a pipe.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := casereport.KindCase
			if regulatory {
				kind = casereport.KindRegulatory
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				x, err := a.Reports.Export(cmd.Context(), operator(), args[0], kind, strings.ToLower(format))
				if err != nil {
					return err
				}
				if out == "" || out == "-" {
					if f, ok := e.stdout.(*os.File); ok && format == "pdf" && isatty.IsTerminal(f.Fd()) {
						return usagef("a PDF on a terminal is unreadable: give -o FILE")
					}
					_, err := e.stdout.Write(x.Body)
					return err
				}
				if err := os.WriteFile(out, x.Body, 0o600); err != nil {
					return errors.New("write " + out + ": " + err.Error())
				}
				printf(e.stderr, "wrote %s (%d bytes)\n", out, len(x.Body))
				return nil
			})
		},
	}
	c.Flags().StringVar(&format, "format", "pdf", "md, html or pdf")
	c.Flags().StringVarP(&out, "output", "o", "", "file to write (default standard output)")
	c.Flags().BoolVar(&regulatory, "regulatory", false, "the regulatory report pack (NIS, ICO) instead of the case report")
	return c
}
