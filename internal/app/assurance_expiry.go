package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/org"
)

// ExpiryInterval is how often the leader checks supplier evidence for
// expiry (assurance.RunExpiry): dates are days, so hourly is plenty.
var ExpiryInterval = time.Hour

// ExpiryAlert is the inbox alert for a piece of supplier evidence near or
// past its date. It goes to the national organisation, whose supply-chain
// managers keep the register and review the evidence; its source
// reference is the evidence and its date, so a renewal that runs out in
// turn is a new alert and a repeat of the same one is counted, not
// stored twice.
func ExpiryAlert(n assurance.ExpiryNotice) cases.NewAlert {
	sev, typ, title := cases.Low, "evidence-expiring", "Supplier evidence expiring: "
	desc := fmt.Sprintf("The %s of supplier %s is valid until %s: %s left. Vigil tells the inbox %s before dated evidence lapses. "+
		"Ask the supplier for the renewed evidence and record it (vigil assurance certificate add, or the supplier page).",
		n.What, n.SupplierID, n.Date, days(n.Days), days(int(n.Notice/(24*time.Hour))))
	if n.Stage == assurance.StageExpired {
		sev, typ, title = cases.Medium, "evidence-expired", "Supplier evidence lapsed: "
		desc = fmt.Sprintf("The %s of supplier %s lapsed after %s and nothing has replaced it. "+
			"Checks that rest on it (DTAC C3 on Cyber Essentials, DTAC C1 and DCB0160 on DCB0129) now fail until renewed evidence is recorded.",
			n.What, n.SupplierID, n.Date)
	}
	fields := map[string]string{"evidence": n.Key, "kind": n.Kind, "supplier_id": n.SupplierID, "date": n.Date, "stage": n.Stage}
	if n.ProductID != "" {
		fields["product_id"] = n.ProductID
	}
	if n.OrgODS != "" {
		fields["org_ods"] = n.OrgODS
	}
	return cases.NewAlert{Source: "vigil-assurance", Type: typ, SourceRef: n.Key + "@" + n.Date, Title: title + n.What + " (" + n.SupplierID + ")",
		Description: desc, Severity: sev, Org: org.RootCode, TLP: cases.TLPAmber, Observables: []cases.Observable{}, Fields: fields}
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// raiseExpiry publishes a notice's alert on the ALERTS stream, its message
// ID the evidence, date and stage.
func (s *Server) raiseExpiry(ctx context.Context, n assurance.ExpiryNotice) error {
	a := ExpiryAlert(n)
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.Bus.Publish(ctx, cases.AlertSubject(a.Org), b, "assurance-expiry/"+n.Key+"@"+n.Date+"/"+n.Stage)
}
