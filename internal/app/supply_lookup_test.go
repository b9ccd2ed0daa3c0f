package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/supply"
)

// TestSupplyLookupAPI: the API takes IDs (and names) in any case; a miss
// is a 404 whose detail suggests only what the caller may see; a CVE field
// refuses what is not a CVE ID. The same server's pages offer a supplier's
// representative nothing of other suppliers and a trust's analyst no
// other organisation — the isolation walk's question for suggestions.
func TestSupplyLookupAPI(t *testing.T) { engines(t, testSupplyLookupAPI) }

func testSupplyLookupAPI(t *testing.T, start func(testing.TB) *Server) {
	s := startSupplyServer(t, start)
	c := http.DefaultClient
	if res, body := upload(t, s.url("/api/v1/supply/import"), s.national, caseFiles(t, "pathology", "gp-security", "shared-gateway")); res.StatusCode != 200 {
		t.Fatalf("import: %d %s", res.StatusCode, body)
	}
	q := url.QueryEscape

	// IDs in any case, and names.
	for _, p := range []string{"supplier=synlab", "supplier=" + q(" SynLab "), "supplier=" + q("synlab ag")} {
		res, body := get(t, c, s.url("/api/v1/supply/impact?"+p), s.national)
		imp := decodeJSON[supply.ImpactResult](t, body)
		if res.StatusCode != 200 || imp.Query.Supplier != "SYNLAB" || imp.Subject != "SYNLAB AG" || len(imp.Affected) != 6 ||
			imp.Names["supplier:SYNNOVIS"] != "Synnovis Analytics LLP" {
			t.Errorf("impact?%s = %d %.300s", p, res.StatusCode, body)
		}
	}
	if res, body := get(t, c, s.url("/api/v1/supply/impact?org=g85004"), s.national); res.StatusCode != 200 || !strings.Contains(body, `"ods":"G85004"`) {
		t.Errorf("org in lower case = %d %.200s", res.StatusCode, body)
	}
	if res, body := get(t, c, s.url("/api/v1/supply/concentration?service="+q("GP clinical system")), s.national); res.StatusCode != 200 ||
		!strings.Contains(body, `"service":"gp-clinical"`) {
		t.Errorf("service by label = %d %.200s", res.StatusCode, body)
	}
	if res, body := get(t, c, s.url("/api/v1/supply/graph?node=product:falcon"), s.national); res.StatusCode != 200 || !strings.Contains(body, `"center":"product:FALCON"`) {
		t.Errorf("graph node in lower case = %d %.200s", res.StatusCode, body)
	}

	// A miss: 404, a problem document, and "did you mean" from what the
	// caller may see.
	res, body := get(t, c, s.url("/api/v1/supply/impact?supplier=synovis"), s.national)
	if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(body, `"detail":"No supplier called \"synovis\" — did you mean Synnovis Analytics LLP (SYNNOVIS)?"`) {
		t.Errorf("typo = %d %s", res.StatusCode, body)
	}
	if res, body := get(t, c, s.url("/api/v1/supply/concentration?service=gp-clinicl"), s.national); res.StatusCode != 404 || !strings.Contains(body, `did you mean GP clinical system (gp-clinical)?"`) {
		t.Errorf("service typo = %d %s", res.StatusCode, body)
	}
	// The representative of EMIS is offered nothing of TPP, CrowdStrike
	// or Synnovis, however close the name.
	for _, p := range []string{"supplier=tpp", "supplier=" + q("The Phoenix Partnershp"), "supplier=crowdstrik", "supplier=synovis", "product=systmone", "org=RJ1"} {
		res, body := get(t, c, s.url("/api/v1/supply/impact?"+p), s.rep)
		if res.StatusCode != 404 {
			t.Errorf("rep impact?%s = %d, want 404", p, res.StatusCode)
		}
		for _, leak := range []string{"Phoenix Partnership", "TPP)", "CrowdStrike", "CROWDSTRIKE", "Synnovis Analytics", "SYNNOVIS", "SystmOne", "SYSTMONE", "Guy"} {
			if strings.Contains(body, leak) {
				t.Errorf("rep impact?%s suggests %q: %s", p, leak, body)
			}
		}
	}
	// A trust's analyst is offered no other organisation.
	for _, typed := range []string{"RJZ", "King's College Hospital", "g85001", "practice"} {
		res, body := get(t, c, s.url("/api/v1/supply/impact?org="+q(typed)), s.trust)
		// The detail repeats what was asked; nothing else may name another organisation.
		rest := strings.Replace(body, typed, "", 1)
		if res.StatusCode != 404 || strings.Contains(rest, "King") || strings.Contains(rest, "Practice") || strings.Contains(rest, "G8500") || strings.Contains(rest, "RJZ") {
			t.Errorf("trust impact?org=%s = %d %s", typed, res.StatusCode, body)
		}
	}

	// What is not a CVE ID is refused, naming the field; one in any case is answered.
	if res, body := get(t, c, s.url("/api/v1/supply/impact?cve=log4shell"), s.national); res.StatusCode != 400 || !strings.Contains(body, `"field":"cve"`) ||
		!strings.Contains(body, "is not a CVE ID") {
		t.Errorf("not a cve = %d %s", res.StatusCode, body)
	}
	if res, body := get(t, c, s.url("/api/v1/supply/impact?cve=cve-2099-0001"), s.national); res.StatusCode != 200 || !strings.Contains(body, `"cve":"CVE-2099-0001"`) {
		t.Errorf("cve in lower case = %d %.200s", res.StatusCode, body)
	}
	if res, body := get(t, c, s.url("/api/v1/supply/impact?supplier=SYNLAB&product=FALCON"), s.national); res.StatusCode != 400 || !strings.Contains(body, `"field":"product"`) ||
		!strings.Contains(body, "one thing at a time") {
		t.Errorf("two questions = %d %s", res.StatusCode, body)
	}
	if res, body := get(t, c, s.url("/api/v1/openapi.json"), s.national); res.StatusCode != 200 || !strings.Contains(body, "an exploited CVE") {
		t.Errorf("the API document says a CVE is exploited: %d", res.StatusCode)
	}

	// The pages of the same server: the representative typing another
	// supplier's name is offered nothing of it, in the message or in the
	// suggestion list.
	for _, p := range []string{"by=supplier&q=" + q("The Phoenix Partnership"), "by=supplier&q=tpp", "by=supplier&q=crowdstrke", "by=product&q=systm", "by=supplier&q="} {
		res, body := get(t, c, s.url("/suppliers/impact?"+p), s.rep)
		if res.StatusCode >= 500 || res.StatusCode == 404 {
			t.Errorf("rep page ?%s = %d", p, res.StatusCode)
		}
		for _, leak := range []string{"TPP", "CrowdStrike", "CROWDSTRIKE", "Synnovis", "SYNNOVIS", "SystmOne", "SYSTMONE"} {
			if strings.Contains(strings.ReplaceAll(body, `value="tpp"`, ""), leak) {
				t.Errorf("rep page ?%s offers %q", p, leak)
			}
		}
		if !strings.Contains(body, `<datalist id="f-q-list">`) {
			t.Errorf("rep page ?%s has no suggestion list", p)
		}
	}
	for _, p := range []string{"by=org&q=" + q("King's College"), "by=org&q=", "by=org&q=practice"} {
		_, body := get(t, c, s.url("/suppliers/impact?"+p), s.trust)
		if strings.Contains(body, "King&#39;s College Hospital") || strings.Contains(body, `value="RJZ"`) || strings.Contains(body, "Practice One") {
			t.Errorf("trust page ?%s offers another organisation", p)
		}
	}
}
