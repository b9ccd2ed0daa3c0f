package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/assurance"
)

// The health schemes' evidence (issue 20): certificates, DTAC, DCB0129,
// DCB0160, the NHS Cyber Security Charter, the NCSC supply-chain
// principles, the cross-links and expiring evidence. The CLI acts as the
// operator (national, an assessor); suppliers' representatives and trusts
// record their own on the web or over the API.

func (e *env) assuranceSchemeCmds() []*cobra.Command {
	cert := &cobra.Command{Use: "certificate", Short: "Cyber Essentials, Cyber Essentials Plus and ISO/IEC 27001 certificates of suppliers"}
	cert.AddCommand(e.certificateAddCmd(), e.certificateListCmd())
	dtac := &cobra.Command{Use: "dtac", Short: "DTAC assessments of product versions (C1–C4 pass/fail, D score)"}
	dtac.AddCommand(e.dtacAddCmd())
	dcb0129 := &cobra.Command{Use: "dcb0129", Short: "Manufacturers' clinical safety records (DCB0129) per product version"}
	dcb0129.AddCommand(e.safetyAddCmd(false))
	dcb0160 := &cobra.Command{Use: "dcb0160", Short: "Deploying organisations' clinical safety records (DCB0160) per deployment"}
	dcb0160.AddCommand(e.safetyAddCmd(true))
	charter := &cobra.Command{Use: "charter", Short: "Suppliers' signatures of the NHS Cyber Security Charter commitments"}
	charter.AddCommand(e.charterSignCmd())
	principles := &cobra.Command{Use: "principles", Short: "Suppliers' states for the NCSC's 12 supply-chain security principles"}
	principles.AddCommand(e.principlesSetCmd())
	return []*cobra.Command{cert, dtac, dcb0129, dcb0160, charter, principles, e.evidenceCmd(), e.expiringCmd()}
}

func certificateCols() []column[assurance.Certificate] {
	return []column[assurance.Certificate]{
		col("SUPPLIER", func(c assurance.Certificate) any { return c.SupplierID }),
		col("SCHEME", func(c assurance.Certificate) any { return c.Scheme }),
		col("NUMBER", func(c assurance.Certificate) any { return c.Number }),
		col("ISSUED", func(c assurance.Certificate) any { return c.Issued }),
		col("EXPIRES", func(c assurance.Certificate) any { return c.Expires }),
		col("STATE", func(c assurance.Certificate) any { return dash(c.State) }),
		col("SOURCE", func(c assurance.Certificate) any { return dash(c.Source) }),
		col("SCOPE", func(c assurance.Certificate) any { return dash(c.Scope) }),
	}
}

func (e *env) certificateAddCmd() *cobra.Command {
	var c assurance.Certificate
	var out *output
	cmd := &cobra.Command{
		Use:   "add --supplier ID --scheme S --number N --issued YYYY-MM-DD [--expires D] [--scope TEXT] [--question-set V] [--body B --accreditation A]",
		Short: "Record (or renew, by scheme and number) a supplier's certificate",
		Long: `Record a certificate of a supplier. Schemes: cyber-essentials and cyber-essentials-plus (12
months from issue: the expiry is filled in, and refused if it differs; --question-set names the
requirements version, e.g. Willow), and iso27001 (--body, the certification body, is required;
--expires within the three-year cycle). Recording the same scheme and number again renews it;
a number recorded for another supplier is refused.`,
		Example: `  vigil assurance certificate add --supplier SYNNOVIS --scheme cyber-essentials-plus --number IASME-CEP-012345 --issued 2026-03-01 --question-set Willow`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				got, err := a.Assurance.PutCertificate(cmd.Context(), operator(), c)
				if err != nil {
					return err
				}
				return e.result(out, got, func() error { return printRows(e.stdout, 0, []assurance.Certificate{got}, certificateCols()...) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.SupplierID, "supplier", "", "the supplier's ID")
	f.StringVar(&c.Scheme, "scheme", "", "cyber-essentials, cyber-essentials-plus or iso27001")
	f.StringVar(&c.Number, "number", "", "the certificate number as printed")
	f.StringVar(&c.Issued, "issued", "", "issue date, YYYY-MM-DD")
	f.StringVar(&c.Expires, "expires", "", "expiry date, YYYY-MM-DD (computed for Cyber Essentials)")
	f.StringVar(&c.Scope, "scope", "", "what the certificate covers")
	f.StringVar(&c.QuestionSet, "question-set", "", "Cyber Essentials requirements version (e.g. Willow)")
	f.StringVar(&c.CertificationBody, "body", "", "ISO 27001 certification body")
	f.StringVar(&c.Accreditation, "accreditation", "", "ISO 27001 accreditation (e.g. UKAS)")
	out = formatFlag(cmd, "table", "json")
	return cmd
}

func (e *env) certificateListCmd() *cobra.Command {
	var supplier string
	var out *output
	cmd := &cobra.Command{
		Use:   "list --supplier ID [--format table|json]",
		Short: "A supplier's certificates, soonest expiry first, each valid, expiring (within 30 days) or expired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.Certificates(cmd.Context(), operator(), supplier)
				if err != nil {
					return err
				}
				return e.result(out, list, func() error { return printRows(e.stdout, 0, list, certificateCols()...) })
			})
		},
	}
	cmd.Flags().StringVar(&supplier, "supplier", "", "the supplier's ID")
	out = formatFlag(cmd, "table", "json")
	return cmd
}

func (e *env) dtacAddCmd() *cobra.Command {
	var d assurance.DTAC
	var c1, c2, c3, c4 string
	var out *output
	cmd := &cobra.Command{
		Use:   "add --product ID [--version V] --assessed YYYY-MM-DD --c1 pass|fail --c2 … --c3 … --c4 … --d-score N [--expires D]",
		Short: "Record (or replace) a product version's DTAC assessment",
		Long: `Record the Digital Technology Assessment Criteria of a product version: C1 clinical safety,
C2 data protection, C3 technical security and C4 interoperability each pass or fail; D
(usability and accessibility) is a score 0–100 that does not decide the pass. The version is the
product's recorded version unless given. --expires sets when it is to be reassessed, which the
expiry alerts follow. The cross-links then check C1 against DCB0129, C2 against the supplier's
DSPT and C3 against its Cyber Essentials certificate (vigil assurance evidence).`,
		Example: `  vigil assurance dtac add --product SYN-LIMS --version 7.2 --assessed 2026-10-01 --c1 pass --c2 pass --c3 pass --c4 pass --d-score 82`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d.C1, d.C2, d.C3, d.C4 = assurance.Result(c1), assurance.Result(c2), assurance.Result(c3), assurance.Result(c4)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				got, err := a.Assurance.PutDTAC(cmd.Context(), operator(), d)
				if err != nil {
					return err
				}
				return e.result(out, got, func() error {
					printf(e.stdout, "DTAC of %s %s (%s), assessed %s: C1 %s, C2 %s, C3 %s, C4 %s, D %d; passed: %v\n",
						got.ProductID, got.Version, got.SupplierID, got.Assessed, got.C1, got.C2, got.C3, got.C4, got.DScore, got.Passed)
					return nil
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&d.ProductID, "product", "", "the product's ID")
	f.StringVar(&d.Version, "version", "", "the product version assessed (default: the register's)")
	f.StringVar(&d.Assessed, "assessed", "", "date of the assessment, YYYY-MM-DD")
	f.StringVar(&c1, "c1", "", "C1 clinical safety: pass or fail")
	f.StringVar(&c2, "c2", "", "C2 data protection: pass or fail")
	f.StringVar(&c3, "c3", "", "C3 technical security: pass or fail")
	f.StringVar(&c4, "c4", "", "C4 interoperability: pass or fail")
	f.IntVar(&d.DScore, "d-score", 0, "D usability and accessibility score, 0–100")
	f.StringVar(&d.Expires, "expires", "", "when it is to be reassessed, YYYY-MM-DD")
	f.StringVar(&d.Notes, "notes", "", "notes")
	out = formatFlag(cmd, "table", "json")
	return cmd
}

// safetyAddCmd is `dcb0129 add` (per product version) or `dcb0160 add`
// (per organisation deploying the product).
func (e *env) safetyAddCmd(deployment bool) *cobra.Command {
	var cs assurance.ClinicalSafety
	var product, version, orgCode string
	var out *output
	use, short := "add --product ID [--version V] --issued YYYY-MM-DD [--safety-case REF] [--hazard-log REF] [--cso NAME] [--review-due D]",
		"Record (or replace) a product version's DCB0129 clinical safety record"
	if deployment {
		use = "add --org CODE --product ID --issued YYYY-MM-DD [--safety-case REF] [--hazard-log REF] [--cso NAME] [--review-due D]"
		short = "Record (or replace) an organisation's DCB0160 clinical safety record for a product it deploys"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `. The standard asks for a clinical safety case report, a hazard log and a named
Clinical Safety Officer: a record lacking any is kept and says what it lacks, and the
cross-links that rest on it fail until it is complete. --review-due is followed by the expiry
alerts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				var got any
				var err error
				var c assurance.ClinicalSafety
				var what string
				if deployment {
					var d assurance.DCB0160
					d, err = a.Assurance.PutDCB0160(cmd.Context(), operator(), assurance.DCB0160{OrgODS: orgCode, ProductID: product, ClinicalSafety: cs})
					got, c, what = d, d.ClinicalSafety, "DCB0160 of "+d.OrgODS+" for "+d.ProductID
				} else {
					var d assurance.DCB0129
					d, err = a.Assurance.PutDCB0129(cmd.Context(), operator(), assurance.DCB0129{ProductID: product, Version: version, ClinicalSafety: cs})
					got, c, what = d, d.ClinicalSafety, "DCB0129 of "+d.ProductID+" "+d.Version
				}
				if err != nil {
					return err
				}
				return e.result(out, got, func() error {
					state := "complete"
					if !c.Complete {
						state = "lacks " + strings.Join(c.Missing, ", ")
					}
					printf(e.stdout, "%s, issued %s: %s\n", what, c.Issued, state)
					return nil
				})
			})
		},
	}
	f := cmd.Flags()
	if deployment {
		f.StringVar(&orgCode, "org", "", "the deploying organisation's ODS code")
	} else {
		f.StringVar(&version, "version", "", "the product version (default: the register's)")
	}
	f.StringVar(&product, "product", "", "the product's ID")
	f.StringVar(&cs.SafetyCaseReport, "safety-case", "", "the clinical safety case report (reference or https link)")
	f.StringVar(&cs.HazardLog, "hazard-log", "", "the hazard log (reference or https link)")
	f.StringVar(&cs.CSOName, "cso", "", "the named Clinical Safety Officer")
	f.StringVar(&cs.CSORegistration, "cso-registration", "", "the officer's professional registration (GMC, NMC, HCPC number)")
	f.StringVar(&cs.Issued, "issued", "", "date of the safety case, YYYY-MM-DD")
	f.StringVar(&cs.ReviewDue, "review-due", "", "when it is to be reviewed, YYYY-MM-DD")
	out = formatFlag(cmd, "table", "json")
	return cmd
}

func (e *env) charterSignCmd() *cobra.Command {
	var supplier, commitments string
	var in assurance.CharterInput
	var out *output
	cmd := &cobra.Command{
		Use:   "sign --supplier ID --commitments all|KEY,… --signed YYYY-MM-DD --by NAME [--role R]",
		Short: "Record that a supplier signed NHS Cyber Security Charter commitments",
		Long:  "Record the supplier's signature of charter commitments, by number or key:\n\n" + charterText(),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Commitments = splitComma(commitments)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.SignCharter(cmd.Context(), operator(), supplier, in)
				if err != nil {
					return err
				}
				return e.result(out, list, func() error { return printCharter(e, list) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&supplier, "supplier", "", "the supplier's ID")
	f.StringVar(&commitments, "commitments", "", "all, or numbers or keys, comma-separated")
	f.StringVar(&in.Signed, "signed", "", "date signed, YYYY-MM-DD")
	f.StringVar(&in.SignedBy, "by", "", "who signed for the supplier")
	f.StringVar(&in.SignerRole, "role", "", "their role")
	out = formatFlag(cmd, "table", "json")
	return cmd
}

func charterText() string {
	var b strings.Builder
	for _, c := range assurance.CharterCommitments() {
		fmt.Fprintf(&b, "  %d %-16s %s\n", c.Number, c.Key, c.Text)
	}
	return b.String()
}

func printCharter(e *env, list []assurance.CharterSignature) error {
	return printRows(e.stdout, 0, list,
		col("#", func(c assurance.CharterSignature) any { return strconv.Itoa(c.Number) }),
		col("COMMITMENT", func(c assurance.CharterSignature) any { return c.Key }),
		col("SIGNED", func(c assurance.CharterSignature) any { return dash(c.Signed) }),
		col("BY", func(c assurance.CharterSignature) any {
			return dash(strings.TrimSpace(c.SignedBy + " " + c.SignerRole))
		}),
		col("SOURCE", func(c assurance.CharterSignature) any { return dash(c.Source) }))
}

func (e *env) principlesSetCmd() *cobra.Command {
	var supplier string
	var in assurance.PrinciplesInput
	var out *output
	cmd := &cobra.Command{
		Use:   "set --supplier ID --assessed YYYY-MM-DD N=STATE...",
		Short: "Set a supplier's state for NCSC supply-chain principles (1–12): met, partly, not_met or not_applicable",
		Example: `  vigil assurance principles set --supplier SYNNOVIS --assessed 2026-11-02 1=met 2=met 5=partly 6=not_met
  vigil assurance principles set --supplier SYNNOVIS --assessed 2026-11-02 "5=partly:minimums not yet in contracts"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, arg := range args {
				n, rest, ok := strings.Cut(arg, "=")
				state, note, _ := strings.Cut(rest, ":")
				p, err := strconv.Atoi(strings.TrimSpace(n))
				if !ok || err != nil {
					return fmt.Errorf("%q: give PRINCIPLE=STATE[:NOTE], e.g. 5=partly", arg)
				}
				in.States = append(in.States, assurance.PrincipleInput{Principle: p, State: assurance.PrincipleState(state), Note: note})
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.SetPrinciples(cmd.Context(), operator(), supplier, in)
				if err != nil {
					return err
				}
				return e.result(out, list, func() error { return printPrinciples(e, list) })
			})
		},
	}
	cmd.Flags().StringVar(&supplier, "supplier", "", "the supplier's ID")
	cmd.Flags().StringVar(&in.Assessed, "assessed", "", "date assessed, YYYY-MM-DD")
	out = formatFlag(cmd, "table", "json")
	return cmd
}

func printPrinciples(e *env, list []assurance.PrincipleAssessment) error {
	return printRows(e.stdout, 0, list,
		col("#", func(p assurance.PrincipleAssessment) any { return strconv.Itoa(p.Number) }),
		col("STAGE", func(p assurance.PrincipleAssessment) any { return p.Stage }),
		col("STATE", func(p assurance.PrincipleAssessment) any { return dash(string(p.State)) }),
		col("ASSESSED", func(p assurance.PrincipleAssessment) any { return dash(p.Assessed) }),
		col("PRINCIPLE", func(p assurance.PrincipleAssessment) any { return p.Title }))
}

func (e *env) evidenceCmd() *cobra.Command {
	var supplier, product string
	var out *output
	cmd := &cobra.Command{
		Use:   "evidence (--supplier ID | --product ID) [--format table|json]",
		Short: "A supplier's (or product's) health-scheme evidence with the cross-links evaluated: pass, fail or unknown, and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (supplier == "") == (product == "") {
				return fmt.Errorf("give --supplier or --product")
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				if product != "" {
					pe, err := a.Assurance.ProductEvidence(cmd.Context(), operator(), product)
					if err != nil {
						return err
					}
					return e.result(out, pe, func() error {
						printSchemes(e, pe.DTAC, pe.DCB0129, pe.DCB0160)
						return printChecks(e, pe.Checks)
					})
				}
				ev, err := a.Assurance.Evidence(cmd.Context(), operator(), supplier)
				if err != nil {
					return err
				}
				return e.result(out, ev, func() error {
					printf(e.stdout, "Certificates\n")
					if err := printRows(e.stdout, 0, ev.Certificates, certificateCols()...); err != nil {
						return err
					}
					for _, d := range ev.DSPT {
						printf(e.stdout, "DSPT %s %s: %s\n", d.OrgCode, d.Edition, d.Level.Label())
					}
					printSchemes(e, ev.DTAC, ev.DCB0129, ev.DCB0160)
					printf(e.stdout, "\nNHS Cyber Security Charter\n")
					if err := printCharter(e, ev.Charter); err != nil {
						return err
					}
					printf(e.stdout, "\nNCSC supply-chain principles\n")
					if err := printPrinciples(e, ev.Principles); err != nil {
						return err
					}
					return printChecks(e, ev.Checks)
				})
			})
		},
	}
	cmd.Flags().StringVar(&supplier, "supplier", "", "the supplier's ID")
	cmd.Flags().StringVar(&product, "product", "", "the product's ID")
	out = formatFlag(cmd, "table", "json")
	return cmd
}

func printSchemes(e *env, dtac []assurance.DTAC, m []assurance.DCB0129, o []assurance.DCB0160) {
	for _, d := range dtac {
		printf(e.stdout, "DTAC %s %s, assessed %s: C1 %s, C2 %s, C3 %s, C4 %s, D %d (%s)\n", d.ProductID, d.Version, d.Assessed, d.C1, d.C2, d.C3, d.C4, d.DScore, d.Source)
	}
	safety := func(c assurance.ClinicalSafety) string {
		if c.Complete {
			return "complete"
		}
		return "lacks " + strings.Join(c.Missing, ", ")
	}
	for _, d := range m {
		printf(e.stdout, "DCB0129 %s %s, issued %s: %s\n", d.ProductID, d.Version, d.Issued, safety(d.ClinicalSafety))
	}
	for _, d := range o {
		printf(e.stdout, "DCB0160 %s for %s, issued %s: %s\n", d.OrgODS, d.ProductID, d.Issued, safety(d.ClinicalSafety))
	}
}

func printChecks(e *env, checks []assurance.CheckResult) error {
	printf(e.stdout, "\nCross-links\n")
	return printRows(e.stdout, 0, checks,
		col("RESULT", func(c assurance.CheckResult) any { return c.Result }),
		col("LINK", func(c assurance.CheckResult) any { return c.Link }),
		col("SUBJECT", func(c assurance.CheckResult) any { return c.Subject }),
		col("WHY", func(c assurance.CheckResult) any { return c.Why }))
}

func (e *env) expiringCmd() *cobra.Command {
	var within string
	var out *output
	cmd := &cobra.Command{
		Use:   "expiring [--within 60d] [--format table|json]",
		Short: "Certificates and other dated supplier evidence lapsing within the period, or lapsed and not replaced",
		Long: `List dated evidence — certificates, DTAC renewal dates, DCB0129 and DCB0160 review dates —
valid through a date within the period from today (default 30d; days or weeks, e.g. 60d or 8w),
or already past it and not replaced by a later certificate of the same scheme. Soonest first,
with the days left (negative once lapsed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := assurance.ParseWithin(within)
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Assurance.Expiring(cmd.Context(), operator(), d)
				if err != nil {
					return err
				}
				return e.result(out, list, func() error {
					return printRows(e.stdout, 0, list,
						col("DATE", func(x assurance.ExpiringItem) any { return x.Date }),
						col("DAYS", func(x assurance.ExpiringItem) any { return strconv.Itoa(x.Days) }),
						col("STATE", func(x assurance.ExpiringItem) any { return x.State }),
						col("SUPPLIER", func(x assurance.ExpiringItem) any { return x.SupplierID }),
						col("EVIDENCE", func(x assurance.ExpiringItem) any { return x.What }))
				})
			})
		},
	}
	cmd.Flags().StringVar(&within, "within", "30d", "how far ahead to look: days or weeks, e.g. 60d")
	out = formatFlag(cmd, "table", "json")
	return cmd
}
