package web

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

var refRE = regexp.MustCompile(`name="findings" value="([^"]+)"`)

// The findings pages as a trust uses them: Leeds uploads its inventory
// and a VEX document through the forms (with the CSRF token; refused
// without), sees its findings in the national view and not Bradford's,
// acknowledges two at once and accepts a risk (refused without a reason),
// and downloads the file it uploaded as an attachment that is never
// active content. Bradford cannot reach any of it.
func TestVulnFindingsPages(t *testing.T) {
	bom, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "vuln", "sbom", "go-flux2-v0.26.3.spdx22.json"))
	if err != nil {
		testneed.Missing(t, "SBOMs in ../shared/data/vuln/sbom", err)
	}
	vex, err := os.ReadFile(filepath.Join("..", "vuln", "testdata", "formats", "flux2-xnet.openvex.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{supply: true, cyberAlerts: true})
	leeds := e.signIn("analyst@leeds.test")
	p := leeds.get("/vuln/orgs/RR8")
	mustContain(t, "inventory page", p.body, `id="inventory-upload"`, `enctype="multipart/form-data"`, `id="vex-upload"`)
	wantStatus(t, "upload without the token", leeds.multipartPost("/vuln/orgs/RR8/inventories", "", nil, map[string]string{"flux.spdx.json": string(bom)}), 403)
	p = leeds.multipartPost("/vuln/orgs/RR8/inventories", leeds.csrf, map[string]string{"name": "GitOps", "criticality": "high"}, map[string]string{"flux.spdx.json": string(bom)})
	if p.status != 303 || !strings.Contains(p.location(), "done=inventory") {
		t.Fatalf("upload: %d %s %.300s", p.status, p.location(), p.body)
	}
	p = leeds.multipartPost("/vuln/orgs/RR8/inventories", leeds.csrf, nil, map[string]string{"broken.json": "{\n\"not\": an sbom"})
	if p.status != 303 || !strings.Contains(p.location(), "error=") || !strings.Contains(p.location(), "broken.json") {
		t.Errorf("a broken file: %d %s", p.status, p.location())
	}
	p = leeds.get("/vuln/orgs/RR8")
	mustContain(t, "inventory page", p.body, "GitOps", "/file\" download", `id="finding-kpis"`, `id="finding-actions"`)
	refs := refRE.FindAllStringSubmatch(p.body, -1)
	if len(refs) < 3 {
		t.Fatalf("%d findings listed", len(refs))
	}
	// The file itself, as an attachment only.
	sbomID := strings.Split(refs[0][1], "/")[0]
	f := leeds.get("/vuln/sboms/" + sbomID + "/file")
	if f.status != 200 || f.body != string(bom) || !strings.HasPrefix(f.header.Get("Content-Disposition"), "attachment") ||
		f.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(f.header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download %d %v", f.status, f.header)
	}
	bradford := e.signIn("analyst@bradford.test")
	wantStatus(t, "bradford downloads", bradford.get("/vuln/sboms/"+sbomID+"/file"), 404)
	wantStatus(t, "bradford's view of Leeds", bradford.get("/vuln/findings?org=RR8"), 404)
	mustNotContain(t, "bradford's findings", bradford.get("/vuln/findings").body, sbomID)
	bradford.get("/vuln/findings")
	wantStatus(t, "bradford acts on Leeds's", bradford.post("/vuln/findings/actions", url.Values{"findings": {refs[0][1]}, "action": {"acknowledge"}}), 404)

	// The CSV export: Leeds's findings, none of them for Bradford.
	csv := leeds.get("/vuln/findings.csv?org=RR8")
	if csv.status != 200 || !strings.HasPrefix(csv.body, "ref,priority,points,due,") || !strings.Contains(csv.body, refs[0][1]) ||
		!strings.HasPrefix(csv.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("csv %d %.200s", csv.status, csv.body)
	}
	mustNotContain(t, "bradford's csv", bradford.get("/vuln/findings.csv").body, sbomID)
	// The national view, filtered, and the workflow form.
	p = leeds.get("/vuln/findings?cve=CVE-2023-44487&overdue=")
	mustContain(t, "findings by CVE", p.body, "GO-2023-2102", `id="finding-filters"`)
	p = leeds.post("/vuln/findings/actions", url.Values{"findings": {refs[0][1], refs[1][1]}, "action": {"acknowledge"}, "back": {"/vuln/findings"}})
	if p.status != 303 || p.location() != "/vuln/findings?done=acted" {
		t.Fatalf("acknowledge: %d %s %.300s", p.status, p.location(), p.body)
	}
	p = leeds.post("/vuln/findings/actions", url.Values{"findings": {refs[2][1]}, "action": {"accept-risk"}, "expires": {"2099-01-01"}, "back": {"/vuln/orgs/RR8"}})
	if !strings.HasPrefix(p.location(), "/vuln/orgs/RR8?error=") {
		t.Errorf("accept-risk without a reason went to %q", p.location())
	}
	p = leeds.get("/vuln/findings?state=acknowledged")
	mustContain(t, "acknowledged", p.body, "acknowledged", "by analyst@leeds.test")
	if n := len(refRE.FindAllString(p.body, -1)); n != 2 {
		t.Errorf("%d acknowledged, want 2", n)
	}
	// VEX through the form: the suppressed finding shows its statement.
	leeds.get("/vuln/orgs/RR8")
	p = leeds.multipartPost("/vuln/orgs/RR8/vex", leeds.csrf, nil, map[string]string{"flux2-xnet.openvex.json": string(vex)})
	if p.status != 303 || !strings.Contains(p.location(), "done=vex") {
		t.Fatalf("vex upload: %d %s", p.status, p.location())
	}
	p = leeds.get("/vuln/findings?state=suppressed")
	mustContain(t, "suppressed", p.body, "GO-2023-2102", "suppressed</span> by VEX", "statements[0]", "vulnerable_code_not_in_execute_path")
	// The national team raises a cyber alert from a finding; a trust may not.
	admin := e.signIn("admin@vigil.test")
	p = admin.get("/vuln/findings?cve=CVE-2023-44487")
	mustContain(t, "national form", p.body, `<option value="cyber-alert">`, `name="required_action"`)
	mustNotContain(t, "trust form", leeds.get("/vuln/findings").body, `<option value="cyber-alert">`)
	kev := refRE.FindStringSubmatch(p.body)
	if kev == nil {
		t.Fatal("no CVE-2023-44487 finding listed for the national team")
	}
	alert := func() url.Values { // post adds the caller's CSRF token to it
		return url.Values{"findings": {kev[1]}, "action": {"cyber-alert"}, "required_action": {"Upgrade"}, "deadline": {"2099-01-31"}}
	}
	wantStatus(t, "a trust raising an alert", leeds.post("/vuln/findings/actions", alert()), 403)
	p = admin.post("/vuln/findings/actions", alert())
	if p.status != 303 || !strings.HasPrefix(p.location(), "/cyber-alerts/CA-") {
		t.Fatalf("alert from finding: %d %s %.300s", p.status, p.location(), p.body)
	}
	p = leeds.get(strings.TrimSuffix(p.location(), "?done=issued"))
	mustContain(t, "the alert, seen by Leeds", p.body, "CVE-2023-44487", `id="org-RR8"`, "its inventory")
	// The organisation's SLA view on the KPI page.
	p = leeds.get("/cases/kpis?org=RR8")
	mustContain(t, "case KPIs", p.body, `id="finding-kpis"`, "/vuln/findings?kind=inventory&amp;icb=RR8&amp;overdue=true")
}
