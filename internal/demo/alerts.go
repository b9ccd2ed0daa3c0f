package demo

import (
	"context"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// Demo alert sources, worth naming in help text and the README.
const (
	// EDRSource is a demonstration endpoint detection tool.
	EDRSource = "demo-edr"
	// MailSource is a demonstration e-mail gateway.
	MailSource = "demo-mailgw"
)

// Alerts is a small inbox for the demonstration estate: an endpoint tool's
// ransomware detections on two of Guy's and St Thomas' ward PCs, and an
// e-mail gateway's phishing catches at King's College Hospital and Barts
// Health. Hosts, addresses and domains are documentation values (RFC 5737
// addresses, the .invalid and example domains), and hashes are of nothing.
func Alerts() []cases.NewAlert {
	edr := func(ref, host, user string) cases.NewAlert {
		return cases.NewAlert{Source: EDRSource, Type: "ransomware-behaviour", SourceRef: ref,
			Title: "Ransomware behaviour blocked on " + host, Severity: cases.Critical, Org: "RJ1", TLP: cases.TLPAmber,
			Description: "Mass file renames with a new extension, then an attempt to delete shadow copies (demo).",
			Observables: []cases.Observable{{Type: cases.ObsHost, Value: host}, {Type: cases.ObsUser, Value: user},
				{Type: cases.ObsIP, Value: "203.0.113.45"},
				{Type: cases.ObsSHA256, Value: "9f2c1a0d6b3e4f5a7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"}}}
	}
	mail := func(ref, org, to string) cases.NewAlert {
		return cases.NewAlert{Source: MailSource, Type: "phishing", SourceRef: ref,
			Title: "Invoice lure with a credential-harvesting link", Severity: cases.Medium, Org: org, TLP: cases.TLPGreen,
			Observables: []cases.Observable{{Type: cases.ObsEmail, Value: "accounts@invoices-nhs.example"}, {Type: cases.ObsEmail, Value: to},
				{Type: cases.ObsURL, Value: "https://login.invoices-nhs.example/o365"}, {Type: cases.ObsDomain, Value: "invoices-nhs.example"}}}
	}
	return []cases.NewAlert{
		edr("EDR-DEMO-1001", "gst-ward4-pc12.demo.invalid", "ward4.nurse"),
		edr("EDR-DEMO-1002", "gst-ward4-pc15.demo.invalid", "ward4.hca"),
		mail("MAIL-DEMO-2001", "RJZ", "finance.team@kch.demo.invalid"),
		mail("MAIL-DEMO-2002", "RJZ", "estates@kch.demo.invalid"),
		mail("MAIL-DEMO-2003", "R1H", "payroll@barts.demo.invalid"),
	}
}

// LoadAlerts reports the demonstration alerts (a repeat only raises their
// occurrence counts) and says how many were new.
func LoadAlerts(ctx context.Context, sc scope.Scope, svc *cases.Service) (created int, err error) {
	for _, a := range Alerts() {
		res, err := svc.CreateAlert(ctx, sc, a)
		if err != nil {
			return created, err
		}
		if res.Created {
			created++
		}
	}
	return created, nil
}
