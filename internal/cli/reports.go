package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/casereport"
	"github.com/vigil-health/vigil/internal/cases"
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

// casesKPIsCmd prints the KPIs.
func (e *env) casesKPIsCmd() *cobra.Command {
	var f cases.KPIFilter
	var since, until string
	var out *output
	c := &cobra.Command{
		Use:   "kpis [--since RFC3339] [--until RFC3339] [--org ODS] [--format table|json|csv]",
		Short: "Case KPIs: volume, MTTA and MTTR by severity, template, organisation and analyst; SLA compliance; false positives per alert source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, x := range []struct {
				flag, v string
				t       *time.Time
			}{{"since", since, &f.Since}, {"until", until, &f.Until}} {
				if x.v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339, x.v)
				if err != nil {
					return usagef("--%s %q: want an RFC 3339 time such as 2026-11-01T00:00:00Z", x.flag, x.v)
				}
				*x.t = t
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				k, err := a.Cases.KPIs(cmd.Context(), operator(), f)
				if err != nil {
					return err
				}
				if out.is("csv") {
					return k.WriteCSV(e.stdout)
				}
				return e.result(out, k, func() error { return e.kpiTable(k) })
			})
		},
	}
	c.Flags().StringVar(&since, "since", "", "cases opened at or after (default 90 days ago)")
	c.Flags().StringVar(&until, "until", "", "cases opened before (default now)")
	c.Flags().StringVar(&f.Org, "org", "", "only this organisation and those beneath it")
	out = formatFlag(c, "table", "json", "csv")
	return c
}

func minutes(sec float64) string {
	if sec == 0 {
		return "-"
	}
	d := time.Duration(sec * float64(time.Second)).Round(time.Minute)
	return d.String()
}

func (e *env) kpiTable(k cases.KPIs) error {
	tw := newTable(e.stdout)
	tw.row("BREAKDOWN", "KEY", "CASES", "OPEN", "MTTA", "MTTR")
	tw.row("total", "", k.Total.Cases, k.Total.Open, minutes(k.Total.MTTASeconds), minutes(k.Total.MTTRSeconds))
	for _, x := range []struct {
		name string
		gs   []cases.KPIGroup
	}{{"severity", k.BySeverity}, {"template", k.ByTemplate}, {"organisation", k.ByOrg}, {"analyst", k.ByAnalyst}} {
		for _, g := range x.gs {
			tw.row(x.name, g.Key, g.Cases, g.Open, minutes(g.MTTASeconds), minutes(g.MTTRSeconds))
		}
	}
	if err := tw.flush(); err != nil {
		return err
	}
	printf(e.stdout, "\n")
	tw = newTable(e.stdout)
	tw.row("SLA", "WITHIN", "MET", "MISSED", "PENDING", "COMPLIANCE")
	for _, r := range k.SLA {
		if r.Met+r.Missed+r.Pending == 0 {
			continue
		}
		tw.row(string(r.Severity)+" "+r.Target, r.Within, r.Met, r.Missed, r.Pending, fmt.Sprintf("%.0f%%", r.Rate*100))
	}
	if err := tw.flush(); err != nil {
		return err
	}
	printf(e.stdout, "\n")
	tw = newTable(e.stdout)
	tw.row("SOURCE", "ALERTS", "DISPOSITIONED", "FALSE POSITIVES", "RATE")
	for _, r := range k.FalsePositives {
		tw.row(r.Source, r.Alerts, r.Dispositioned, r.FalsePositive, fmt.Sprintf("%.0f%%", r.Rate*100))
	}
	return tw.flush()
}
