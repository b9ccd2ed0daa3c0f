package web

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// The KPI page draws its charts as inline SVG (no script), escapes what
// producers named, links the CSV, and counts only what the viewer sees.
func TestKPIPage(t *testing.T) {
	e := newSupplyEnvWith(t, envOptions{})
	ctx := context.Background()
	sys := scope.System("test")
	cs := e.notify.cases
	for i, x := range []struct {
		org, source string
		sev         cases.Severity
	}{{"RR8", "edr", cases.High}, {"RR8", "mail-gateway", cases.Critical}, {"RR8", "mail-gateway", cases.Low}, {"RJ1", "edr", cases.Medium}} {
		r, err := cs.CreateAlert(ctx, sys, cases.NewAlert{Source: x.source, Type: "t", SourceRef: "kpi-" + string(rune('a'+i)), Title: "KPI alert", Severity: x.sev, Org: x.org, TLP: cases.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CreateCase(ctx, sys, cases.NewCase{Org: x.org, Title: "KPI case", Severity: x.sev, AlertIDs: []string{r.Alert.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.signIn("analyst@leeds.test") // RR8
	p := c.get("/cases/kpis")
	wantStatus(t, "kpis", p, 200)
	mustContain(t, "kpis", p.body, "<h1>Case KPIs</h1>", `<svg class="kpi-chart" role="img" aria-label="Cases by severity"`, `aria-label="False-positive rate by alert source"`,
		`href="/api/v1/kpis?format=csv"`, "3 cases")
	mustNotContain(t, "kpis", p.body, "<script>", `style="`)
	if strings.Contains(p.body, ">RJ1<") {
		t.Errorf("the Leeds analyst's KPIs count another trust")
	}
	if os.Getenv("VIGIL_SCREENSHOT_HTML") != "" {
		_ = os.WriteFile(os.Getenv("VIGIL_SCREENSHOT_HTML"), []byte(p.body), 0o644)
	}
	bad := c.get("/cases/kpis?" + url.Values{"since": {"yesterday"}}.Encode())
	wantStatus(t, "bad since", bad, 422)
	mustContain(t, "bad since", bad.body, "Enter a date such as 2026-11-01")
	other := c.get("/cases/kpis?org=RJ1")
	wantStatus(t, "another trust", other, 422)
	mustContain(t, "another trust", other.body, "not an organisation you may see")
}
