package vuln

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadTestDB(t *testing.T) *DB {
	t.Helper()
	needData(t)
	db, err := LoadDB(filepath.Join(dataDir, "osv"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestFindingSeverity: findings carry each advisory vector scored here
// (snakeyaml's CVSS 3.1 vector is 8.3, HIGH, as GitHub's text says), a
// CVSS 4.0 vector is scored too, and a record with no vector gives its
// database's word.
func TestFindingSeverity(t *testing.T) {
	db := loadTestDB(t)
	s, err := ReadSBOM(sbomPath("maven-dropwizard-1.3.15.cdx12.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := Scan(s, db)
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %v", r.Warnings)
	}
	var snake *Finding
	for i, f := range r.Findings {
		if f.ID == "GHSA-mjmj-j48q-9wg2" {
			snake = &r.Findings[i]
		}
		if len(f.CVSS) == 0 || f.Severity == "" {
			t.Errorf("%s: no CVSS or severity: %+v", f.ID, f)
		}
	}
	want := CVSS{Vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:L", Version: "3.1", Score: 8.3, Severity: "HIGH"}
	if snake == nil || len(snake.CVSS) != 1 || snake.CVSS[0] != want || snake.Severity != "HIGH" || snake.Score() != 8.3 {
		t.Errorf("snakeyaml finding %+v", snake)
	}

	for _, tc := range []struct {
		id, severity string
		score        float64
	}{
		{"GHSA-3pxv-7cmr-fjr4", "MEDIUM", 6.9},  // CVSS 4.0, SI:L only
		{"GHSA-qwph-4952-7xr6", "MODERATE", -1}, // no vector: GitHub's word
		{"GO-2023-2102", "", -1},                // the Go database rates nothing
	} {
		a := db.Advisories[tc.id]
		if a == nil {
			t.Fatalf("%s not loaded", tc.id)
		}
		cvss, sev, warn := severities([]*Advisory{a}, nil)
		f := Finding{CVSS: cvss}
		if sev != tc.severity || f.Score() != tc.score || len(warn) != 0 {
			t.Errorf("%s: severity %q score %v (%+v) warnings %v, want %q %v", tc.id, sev, f.Score(), cvss, warn, tc.severity, tc.score)
		}
	}

	bad := &Advisory{ID: "X-1"}
	bad.Severity = append(bad.Severity, struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	}{"CVSS_V3", "CVSS:3.1/AV:Q"})
	if cvss, _, warn := severities([]*Advisory{bad}, nil); cvss != nil || len(warn) != 1 || !strings.HasPrefix(warn[0], "X-1: ") {
		t.Errorf("bad vector: %v, warnings %v", cvss, warn)
	}
}

// TestKEV loads CISA's catalogue and scans flux2: GO-2023-2102 (x/net
// HTTP/2) names the KEV-listed Rapid Reset CVE-2023-44487 as related,
// so its finding carries the KEV dates, says how it was reached, and
// sorts first.
func TestKEV(t *testing.T) {
	db := loadTestDB(t)
	kev, err := LoadKEV(filepath.Join(dataDir, "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(kev.Entries) != 1404 || kev.Version != "2025.08.25" {
		t.Errorf("%d KEV entries, version %q", len(kev.Entries), kev.Version)
	}
	s, err := ReadSBOM(sbomPath("go-flux2-v0.26.3.spdx22.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := Scan(s, db)
	Prioritise(r.Findings, kev, nil)
	var listed []string
	for i, f := range r.Findings {
		if f.KEV == nil {
			for _, g := range r.Findings[i:] {
				if g.KEV != nil {
					t.Errorf("%s is in KEV but sorted after %s, which is not", g.ID, f.ID)
				}
			}
			break
		}
		listed = append(listed, f.ID)
		if f.ID == "GO-2023-2102" {
			want := KEVEntry{CVE: "CVE-2023-44487", DateAdded: "2023-10-10", DueDate: "2023-10-31", Via: "related"}
			if *f.KEV != want {
				t.Errorf("GO-2023-2102 KEV %+v, want %+v", *f.KEV, want)
			}
		}
	}
	if !contains(listed, "GO-2023-2102") {
		t.Errorf("KEV findings %v, want GO-2023-2102 among them", listed)
	}

	// An own ID wins over a related one, and says so.
	f := Finding{ID: "GHSA-x", Aliases: []string{"CVE-2021-44228"}, Related: []string{"CVE-2023-44487"}}
	if e := kev.Lookup(&f); e == nil || e.CVE != "CVE-2021-44228" || e.Via != "alias" || e.DueDate != "2021-12-24" {
		t.Errorf("log4shell lookup %+v", e)
	}
	if e := (*KEV)(nil).Lookup(&f); e != nil {
		t.Errorf("nil catalogue gave %+v", e)
	}
	if _, err := LoadKEV(filepath.Join(dataDir, "osv", "Go", "GO-2023-2102.json")); err == nil {
		t.Error("an OSV record read as a KEV catalogue")
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestEPSS reads the fixture in FIRST's CSV layout, rejects broken
// files with the line, and orders findings: KEV, CVSS, then EPSS.
func TestEPSS(t *testing.T) {
	e, err := LoadEPSS(filepath.Join("testdata", "epss_scores-fixture.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if e.ModelVersion != "v2025.03.14" || e.ScoreDate != "2025-08-25T12:55:00Z" || len(e.Scores) != 5 {
		t.Errorf("model %q date %q, %d scores", e.ModelVersion, e.ScoreDate, len(e.Scores))
	}
	if s := e.Scores["CVE-2022-1471"]; s.Score != 0.93912 || s.Percentile != 0.99874 {
		t.Errorf("CVE-2022-1471 %+v", s)
	}
	if _, err := ParseEPSS([]byte("cve,epss,percentile\nCVE-1,0.5,0.5\n")); err != nil {
		t.Errorf("no comment line: %v", err)
	}
	for in, want := range map[string]string{
		"":                                       "line 1: header",
		"#model_version:x\ncve,score\n":          "line 2: header",
		"cve,epss,percentile\nCVE-1,0.5\n":       "line 2: want cve,epss,percentile",
		"cve,epss,percentile\nCVE-1,1.5,0.2\n":   "line 2: epss",
		"cve,epss,percentile\nCVE-1,0.1,x\n":     "line 2: percentile",
		"cve,epss,percentile\nCVE-1,0.1,0.2\n\"": "line 3",
	} {
		if _, err := ParseEPSS([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}

	kev := &KEV{Entries: map[string]KEVEntry{"CVE-K": {CVE: "CVE-K"}}}
	c := func(score float64) []CVSS { return []CVSS{{Score: score}} }
	fs := []Finding{
		{ID: "none"},
		{ID: "low-cvss", CVSS: c(3.1)},
		{ID: "high-cvss-no-epss", CVSS: c(8.3)},
		{ID: "high-cvss-epss", Aliases: []string{"CVE-2022-1471"}, CVSS: c(8.3)},
		{ID: "kev-low", Aliases: []string{"CVE-K"}, CVSS: c(2)},
		{ID: "related-epss", Related: []string{"CVE-2023-44487"}},
	}
	Prioritise(fs, kev, e)
	var order []string
	for _, f := range fs {
		order = append(order, f.ID)
	}
	if got := strings.Join(order, " "); got != "kev-low high-cvss-epss high-cvss-no-epss low-cvss related-epss none" {
		t.Errorf("order %s", got)
	}
	if fs[5].EPSS != nil || fs[4].EPSS == nil || fs[4].EPSS.Via != "related" || fs[1].EPSS.CVE != "CVE-2022-1471" {
		t.Errorf("EPSS marks %+v %+v %+v", fs[1].EPSS, fs[4].EPSS, fs[5].EPSS)
	}
}

// The explanation lists each input's contribution, and the level follows
// the points (KEV-listed is at least P2).
func TestPrioritizeExplains(t *testing.T) {
	kev := &KEVEntry{CVE: "CVE-2023-44487", DateAdded: "2023-10-10", DueDate: "2023-10-31", Via: "related"}
	epss := &EPSSScore{CVE: "CVE-2023-44487", Score: 0.94, Percentile: 0.99}
	for _, c := range []struct {
		name  string
		in    PriorityInput
		level string
		pts   int
		want  string
	}{
		{"KEV product deployed widely", PriorityInput{Score: 7.5, Severity: "HIGH", KEV: kev, EPSS: epss, Product: true, Organisations: 12, Critical: 1},
			P1, 30 + 35 + 20 + 10 + 10,
			"P1 (105 points): CVSS 7.5 HIGH +30; listed in CISA KEV as CVE-2023-44487 (a related ID), added 2023-10-10, CISA due 2023-10-31 +35; " +
				"EPSS 0.940 (percentile 0.99) for CVE-2023-44487 +20; the product is deployed by 12 organisations, directly or through products that depend on it +10; " +
				"1 organisation has a critical or high business service on it +10"},
		{"critical, no KEV, undeployed", PriorityInput{Score: 9.8, Severity: "CRITICAL", Product: true},
			P3, 40,
			"P3 (40 points): CVSS 9.8 CRITICAL +40; not in CISA KEV +0; no EPSS score +0; the product is deployed by 0 organisations, directly or through products that depend on it +0; no critical or high business service on it +0"},
		{"KEV lifts to P2", PriorityInput{Score: -1, KEV: &KEVEntry{CVE: "CVE-1", DateAdded: "a", DueDate: "b", Via: "alias"}},
			P2, 15 + 35,
			"P2 (50 points): no CVSS score or severity, counted as medium +15; listed in CISA KEV as CVE-1, added a, CISA due b +35; no EPSS score +0; listed in KEV, so at least P2"},
		{"inventory asset", PriorityInput{Score: -1, Severity: "MODERATE", EPSS: &EPSSScore{CVE: "CVE-2", Score: 0.2, Percentile: 0.9}, Inventory: true, Criticality: "critical", InternetFacing: true},
			P3, 15 + 10 + 15 + 10,
			"P3 (50 points): no CVSS vector; the advisory says MODERATE +15; not in CISA KEV +0; EPSS 0.200 (percentile 0.90) for CVE-2 +10; asset criticality critical +15; exposed to the internet +10"},
		{"low everything", PriorityInput{Score: 3.1, Severity: "LOW", Inventory: true},
			P4, 5,
			"P4 (5 points): CVSS 3.1 LOW +5; not in CISA KEV +0; no EPSS score +0; asset criticality not given +0; not exposed to the internet +0"},
	} {
		p := Prioritize(c.in)
		if p.Level != c.level || p.Points != c.pts || p.Explanation != c.want {
			t.Errorf("%s: got %s %d\n %q\nwant %s %d\n %q", c.name, p.Level, p.Points, p.Explanation, c.level, c.pts, c.want)
		}
		sum := 0
		for _, x := range p.Contributions {
			sum += x.Points
		}
		if sum != p.Points {
			t.Errorf("%s: contributions add to %d, points %d", c.name, sum, p.Points)
		}
	}
}

func TestParseSLA(t *testing.T) {
	s, err := ParseSLA("p1=48h, P3=45d")
	if err != nil {
		t.Fatal(err)
	}
	if s[P1] != 48*time.Hour || s[P2] != 14*24*time.Hour || s[P3] != 45*24*time.Hour || s.String() != "P1=2d,P2=14d,P3=45d,P4=90d" {
		t.Errorf("SLA %v %s", s, s)
	}
	for _, bad := range []string{"P5=1d", "P1", "P1=-1h", "P1=xd"} {
		if _, err := ParseSLA(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if d := DefaultSLA().String(); d != "P1=3d,P2=14d,P3=30d,P4=90d" {
		t.Errorf("defaults %s", d)
	}
}

// FuzzParseSLA: whatever the text, an SLA with every level positive, or an
// error; never a crash.
func FuzzParseSLA(f *testing.F) {
	for _, s := range []string{"", "P1=48h,P2=7d", "p3=45d P4=1h30m", "P1=", "P5=1d", "P1=99999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sla, err := ParseSLA(s)
		if err != nil {
			return
		}
		for _, l := range PriorityLevels() {
			if sla[l] <= 0 {
				t.Fatalf("%q: %s = %v", s, l, sla[l])
			}
		}
	})
}
