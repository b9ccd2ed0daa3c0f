package cases

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestKPIs(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		carol := "carol@rj1.nhs.test"
		high, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "High case", Severity: High, Template: "phishing", Assignee: carol})
		if err != nil {
			t.Fatal(err)
		}
		crit, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "Critical case", Severity: Critical})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateCase(ctx, e.bob, NewCase{Org: "RJZ", Title: "Other trust's case", Severity: Low}); err != nil {
			t.Fatal(err)
		}
		e.clk.advance(30 * time.Minute)
		if _, err := e.svc.SetStatus(ctx, e.alice, high.ID, StatusChange{Status: CaseInProgress}); err != nil {
			t.Fatal(err)
		}
		e.clk.advance(30 * time.Minute)
		if _, err := e.svc.SetStatus(ctx, e.alice, crit.ID, StatusChange{Status: CaseInProgress}); err != nil {
			t.Fatal(err)
		}
		e.clk.advance(3 * time.Hour)
		if _, err := e.svc.SetStatus(ctx, e.alice, high.ID, StatusChange{Status: CaseResolved}); err != nil {
			t.Fatal(err)
		}
		// Alerts: edr 3 (one false positive, one true), mail 1 (false positive); RJZ's not counted for Alice.
		var ids []string
		for i, src := range []string{"edr", "edr", "edr", "mail"} {
			a := alertFor("RJ1", "kpi-"+string(rune('a'+i)))
			a.Source = src
			ids = append(ids, mustAlert(t, e, e.alice, a).ID)
		}
		rjz := alertFor("RJZ", "kpi-z")
		rjz.Source = "edr"
		mustAlert(t, e, e.bob, rjz)
		for _, x := range []struct {
			ids []string
			d   Disposition
		}{{[]string{ids[0], ids[3]}, FalsePositive}, {[]string{ids[1]}, TruePositive}} {
			if _, err := e.svc.TriageAlerts(ctx, e.alice, Triage{IDs: x.ids, Action: "disposition", Disposition: x.d, Reason: "kpi"}); err != nil {
				t.Fatal(err)
			}
		}

		k, err := e.svc.KPIs(ctx, e.alice, KPIFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if k.Total.Cases != 2 || k.Total.Acked != 2 || k.Total.Resolved != 1 || k.Total.Open != 1 {
			t.Errorf("total = %+v", k.Total)
		}
		if k.Total.MTTASeconds != (45*time.Minute).Seconds() || k.Total.MTTRSeconds != (4*time.Hour).Seconds() {
			t.Errorf("MTTA %v MTTR %v, want 45m and 4h", k.Total.MTTASeconds, k.Total.MTTRSeconds)
		}
		if len(k.BySeverity) != 2 || k.BySeverity[0].Key != "critical" || k.BySeverity[1].MTTASeconds != 1800 {
			t.Errorf("by severity = %+v", k.BySeverity)
		}
		if len(k.ByOrg) != 1 || k.ByOrg[0].Key != "RJ1" {
			t.Errorf("by org = %+v (RJZ must not show)", k.ByOrg)
		}
		if len(k.ByAnalyst) != 2 || (k.ByAnalyst[0].Key != carol && k.ByAnalyst[1].Key != carol) {
			t.Errorf("by analyst = %+v", k.ByAnalyst)
		}
		sla := map[string]SLARow{}
		for _, r := range k.SLA {
			sla[string(r.Severity)+" "+r.Target] = r
		}
		if r := sla["high acknowledge"]; r.Met != 1 || r.Rate != 1 {
			t.Errorf("high ack = %+v (acknowledged in 30m, target 1h)", r)
		}
		if r := sla["critical acknowledge"]; r.Missed != 1 || r.Rate != 0 {
			t.Errorf("critical ack = %+v (acknowledged in 1h, target 15m)", r)
		}
		if r := sla["critical resolve"]; r.Pending != 1 {
			t.Errorf("critical resolve = %+v (open 4h of 24h)", r)
		}
		fp := map[string]SourceRate{}
		for _, r := range k.FalsePositives {
			fp[r.Source] = r
		}
		if r := fp["edr"]; r.Alerts != 3 || r.Dispositioned != 2 || r.FalsePositive != 1 || r.Rate != 0.5 {
			t.Errorf("edr = %+v", r)
		}
		if r := fp["mail"]; r.Rate != 1 {
			t.Errorf("mail = %+v", r)
		}

		// The national analyst counts every trust; a filter to RJZ counts RJZ's.
		if k, err := e.svc.KPIs(ctx, e.nadia, KPIFilter{}); err != nil || k.Total.Cases != 3 {
			t.Errorf("national total = %+v, %v", k.Total, err)
		}
		if k, err := e.svc.KPIs(ctx, e.nadia, KPIFilter{Org: "rjz"}); err != nil || k.Total.Cases != 1 || k.ByOrg[0].Key != "RJZ" {
			t.Errorf("national, RJZ only = %+v, %v", k.Total, err)
		}
		// Alice may not ask for RJZ: the same answer as for no such organisation.
		_, err = e.svc.KPIs(ctx, e.alice, KPIFilter{Org: "RJZ"})
		wantInvalid(t, err, "org")
		_, err = e.svc.KPIs(ctx, e.alice, KPIFilter{Since: t0, Until: t0.Add(-time.Hour)})
		wantInvalid(t, err, "since")

		var b bytes.Buffer
		if err := k.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		csv := b.String()
		for _, want := range []string{"dimension,key,metric,value\n", "total,total,cases,2\n", "severity,high,mtta_minutes,30\n", "source,edr,false_positive_rate,0.5\n",
			"sla,critical acknowledge within 15m,missed,1\n"} {
			if !strings.Contains(csv, want) {
				t.Errorf("CSV lacks %q:\n%s", want, csv)
			}
		}
	})
}
