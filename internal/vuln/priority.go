package vuln

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// severities scores every CVSS v3/v4 vector of a finding's advisories
// (once each), and gives the rating of the highest score, or the
// database's own severity word when no vector scores. A vector that does
// not parse is a warning naming the advisory; CVSS v2 vectors are left
// out silently, since they are not scored here.
func severities(group []*Advisory, warnings []string) ([]CVSS, string, []string) {
	var out []CVSS
	seen := map[string]bool{}
	word := ""
	for _, a := range group {
		for _, sv := range a.Severity {
			if (sv.Type != "CVSS_V3" && sv.Type != "CVSS_V4") || seen[sv.Score] {
				continue
			}
			seen[sv.Score] = true
			c, err := ScoreCVSS(sv.Score)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %v", a.ID, err))
				continue
			}
			out = append(out, c)
		}
		var w string
		if word == "" && json.Unmarshal(a.DatabaseSpecific.Severity, &w) == nil {
			word = strings.ToUpper(w)
		}
	}
	if len(out) == 0 {
		return nil, word, warnings
	}
	best := out[0]
	for _, c := range out[1:] {
		if c.Score > best.Score {
			best = c
		}
	}
	return out, best.Severity, warnings
}

// Score is the finding's highest computed CVSS score, or -1 when it has
// no vector.
func (f *Finding) Score() float64 {
	best := -1.0
	for _, c := range f.CVSS {
		best = max(best, c.Score)
	}
	return best
}

// names are the IDs KEV and EPSS are looked up by, in order: the
// finding's own ID and aliases, then the related IDs.
func (f *Finding) names() (same, related []string) {
	return append([]string{f.ID}, f.Aliases...), f.Related
}

// KEVEntry is a finding's entry in CISA's Known Exploited
// Vulnerabilities catalogue.
type KEVEntry struct {
	CVE       string `json:"cve"`
	DateAdded string `json:"date_added"`
	// DueDate is the remediation deadline CISA set for US federal
	// agencies (BOD 22-01), a useful yardstick elsewhere.
	DueDate string `json:"due_date"`
	// Via is "alias" when the CVE is the finding's own ID or an alias,
	// "related" when the advisory only names it as related (GO-2023-2102
	// and the HTTP/2 Rapid Reset CVE-2023-44487).
	Via string `json:"via"`
}

// KEV is the catalogue by CVE ID.
type KEV struct {
	Version string
	Entries map[string]KEVEntry
}

// LoadKEV reads CISA's known_exploited_vulnerabilities.json.
func LoadKEV(path string) (*KEV, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("KEV catalogue: %w", err)
	}
	return ParseKEV(path, b)
}

// Lookup is the KEV entry for the first of f's IDs listed, own IDs first.
func (k *KEV) Lookup(f *Finding) *KEVEntry {
	if k == nil {
		return nil
	}
	same, related := f.names()
	for i, ids := range [][]string{same, related} {
		for _, id := range ids {
			if e, ok := k.Entries[id]; ok {
				e.Via = [...]string{"alias", "related"}[i]
				return &e
			}
		}
	}
	return nil
}

// EPSSScore is FIRST's probability of exploitation in the next 30 days
// for a CVE, and its percentile among all scored CVEs.
type EPSSScore struct {
	CVE        string  `json:"cve"`
	Score      float64 `json:"score"`
	Percentile float64 `json:"percentile"`
	Via        string  `json:"via"`
}

// EPSS is one day's EPSS scores by CVE ID.
type EPSS struct {
	ModelVersion, ScoreDate string
	Scores                  map[string]EPSSScore
}

// LoadEPSS reads FIRST's daily CSV (epss_scores-YYYY-MM-DD.csv, gunzipped).
func LoadEPSS(path string) (*EPSS, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("EPSS scores: %w", err)
	}
	e, err := ParseEPSS(b)
	if err != nil {
		return nil, fmt.Errorf("EPSS scores %s: %w", path, err)
	}
	return e, nil
}

// ParseEPSS reads FIRST's published layout: an optional comment line
// "#model_version:v2023.03.01,score_date:2023-08-28T00:00:00+0000", the
// header "cve,epss,percentile", then one row a CVE. Errors name the line.
func ParseEPSS(b []byte) (*EPSS, error) {
	e := &EPSS{Scores: map[string]EPSSScore{}}
	br := bufio.NewReader(bytes.NewReader(b))
	line := 0
	if first, _ := br.Peek(1); len(first) == 1 && first[0] == '#' {
		comment, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line++
		for _, kv := range strings.Split(strings.TrimSpace(strings.TrimPrefix(comment, "#")), ",") {
			k, v, _ := strings.Cut(kv, ":")
			switch k {
			case "model_version":
				e.ModelVersion = v
			case "score_date":
				e.ScoreDate = v
			}
		}
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	line++
	if err != nil {
		return nil, fmt.Errorf("line %d: header: %w", line, err)
	}
	if len(header) < 3 || header[0] != "cve" || header[1] != "epss" || header[2] != "percentile" {
		return nil, fmt.Errorf("line %d: header %q, want cve,epss,percentile", line, strings.Join(header, ","))
	}
	for {
		rec, err := r.Read()
		line++
		if errors.Is(err, io.EOF) {
			return e, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) < 3 || rec[0] == "" {
			return nil, fmt.Errorf("line %d: want cve,epss,percentile, got %q", line, strings.Join(rec, ","))
		}
		s := EPSSScore{CVE: rec[0]}
		for i, p := range []*float64{&s.Score, &s.Percentile} {
			v, err := strconv.ParseFloat(rec[i+1], 64)
			if err != nil || !(v >= 0 && v <= 1) { // NaN too
				return nil, fmt.Errorf("line %d: %s %q is not a probability between 0 and 1", line, header[i+1], rec[i+1])
			}
			*p = v
		}
		e.Scores[s.CVE] = s
	}
}

// Lookup is the EPSS score for the first of f's IDs scored, own IDs first.
func (e *EPSS) Lookup(f *Finding) *EPSSScore {
	if e == nil {
		return nil
	}
	same, related := f.names()
	for i, ids := range [][]string{same, related} {
		for _, id := range ids {
			if s, ok := e.Scores[id]; ok {
				s.Via = [...]string{"alias", "related"}[i]
				return &s
			}
		}
	}
	return nil
}

// Prioritise marks each finding with its KEV entry and EPSS score
// (either may be nil: not loaded) and sorts the findings by priority:
// listed in KEV first, then by highest CVSS score (findings without a
// vector last), then by EPSS score; ties keep the scan's order. It is a
// simple order, not yet issue 18's priority with asset criticality and
// exposure.
func Prioritise(fs []Finding, kev *KEV, epss *EPSS) {
	for i := range fs {
		fs[i].KEV = kev.Lookup(&fs[i])
		fs[i].EPSS = epss.Lookup(&fs[i])
	}
	epssOf := func(f *Finding) float64 {
		if f.EPSS == nil {
			return -1
		}
		return f.EPSS.Score
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if (a.KEV != nil) != (b.KEV != nil) {
			return a.KEV != nil
		}
		if sa, sb := a.Score(), b.Score(); sa != sb {
			return sa > sb
		}
		return epssOf(a) > epssOf(b)
	})
}

// ---- Priority levels with an explanation (issue 18, item 5) ----

// Priority levels, most urgent first.
const (
	P1 = "P1"
	P2 = "P2"
	P3 = "P3"
	P4 = "P4"
)

// PriorityLevels lists the levels, most urgent first.
func PriorityLevels() []string { return []string{P1, P2, P3, P4} }

// The points a level needs (Level): at least P1Points is P1, and so on;
// below P3Points is P4. A finding listed in KEV is at least P2.
const (
	P1Points = 85
	P2Points = 60
	P3Points = 35
)

// DefaultSLA is how long each level gives to fix a finding, from when it
// was first found: P1 3 days (the cyber alert's 48-hour acknowledgement
// and 3-day first update), P2 14 days (the DSPT's 14 days for critical and
// high-risk patches), P3 30 days, P4 90 days.
func DefaultSLA() SLA {
	return SLA{P1: 3 * 24 * time.Hour, P2: 14 * 24 * time.Hour, P3: 30 * 24 * time.Hour, P4: 90 * 24 * time.Hour}
}

// SLA is the time to fix per priority level.
type SLA map[string]time.Duration

// ParseSLA reads "P1=72h,P2=14d" (hours, minutes or days); levels not
// named keep DefaultSLA's. An empty string is the defaults.
func ParseSLA(s string) (SLA, error) {
	out := DefaultSLA()
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		if !ok || !slices.Contains(PriorityLevels(), k) {
			return nil, fmt.Errorf("%q: want LEVEL=DURATION with LEVEL one of %s", part, strings.Join(PriorityLevels(), ", "))
		}
		var d time.Duration
		var err error
		if n, ok := strings.CutSuffix(v, "d"); ok {
			var days int
			days, err = strconv.Atoi(n)
			if err == nil && (days < 1 || days > 3650) {
				err = errors.New("out of range")
			}
			d = time.Duration(days) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(v)
		}
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s=%s: want a positive duration (72h, 14d)", k, v)
		}
		out[k] = d
	}
	return out, nil
}

// String writes the SLA back in level order.
func (s SLA) String() string {
	parts := make([]string, 0, 4)
	for _, l := range PriorityLevels() {
		d := s[l]
		if d%(24*time.Hour) == 0 {
			parts = append(parts, fmt.Sprintf("%s=%dd", l, d/(24*time.Hour)))
		} else {
			parts = append(parts, l+"="+d.String())
		}
	}
	return strings.Join(parts, ",")
}

// PriorityInput is what a finding's priority is drawn from.
type PriorityInput struct {
	// Score is the finding's highest CVSS score, -1 when it has no
	// vector; Severity is its rating or the database's word.
	Score    float64
	Severity string
	KEV      *KEVEntry
	EPSS     *EPSSScore
	// Product is set for a supplier product's SBOM: Organisations are
	// those deploying it, directly or through products that depend on it
	// (the supplier graph's blast radius), Critical those of them where a
	// critical or high business service goes down with it.
	Product       bool
	Organisations int
	Critical      int
	// Inventory is set for an organisation's own inventory: the asset's
	// criticality (critical, high, medium, low or "") and whether it is
	// exposed to the internet.
	Inventory      bool
	Criticality    string
	InternetFacing bool
}

// Contribution is one input's part in a priority.
type Contribution struct {
	Factor string `json:"factor"`
	Points int    `json:"points"`
	Why    string `json:"why"`
}

// Priority is a finding's level, its points and the written explanation
// listing each contribution.
type Priority struct {
	Level         string         `json:"level"`
	Points        int            `json:"points"`
	Explanation   string         `json:"explanation"`
	Contributions []Contribution `json:"contributions"`
}

// Prioritize works out a finding's priority. Points: CVSS critical 40,
// high 30, medium 15, low 5, no score 15 (counted as medium); listed in
// CISA KEV 35; EPSS ≥ 0.5 20, ≥ 0.1 10, ≥ 0.01 5; a product deployed by
// ≥ 50 organisations 15, ≥ 10 10, ≥ 1 5, with a critical or high service
// on it somewhere 10 more; an inventory asset critical 15, high 10, medium
// 5, exposed to the internet 10. P1 from 85 points, P2 from 60, P3 from
// 35, else P4; KEV-listed is at least P2.
func Prioritize(in PriorityInput) Priority {
	var cs []Contribution
	add := func(factor string, pts int, why string) { cs = append(cs, Contribution{factor, pts, why}) }
	sev := strings.ToUpper(in.Severity)
	switch {
	case in.Score >= 0:
		pts := 0
		switch {
		case in.Score >= 9:
			pts = 40
		case in.Score >= 7:
			pts = 30
		case in.Score >= 4:
			pts = 15
		case in.Score > 0:
			pts = 5
		}
		add("cvss", pts, fmt.Sprintf("CVSS %.1f %s", in.Score, sev))
	case sev == "CRITICAL":
		add("cvss", 40, "no CVSS vector; the advisory says CRITICAL")
	case sev == "HIGH":
		add("cvss", 30, "no CVSS vector; the advisory says HIGH")
	case sev == "MODERATE" || sev == "MEDIUM":
		add("cvss", 15, "no CVSS vector; the advisory says "+sev)
	case sev == "LOW":
		add("cvss", 5, "no CVSS vector; the advisory says LOW")
	default:
		add("cvss", 15, "no CVSS score or severity, counted as medium")
	}
	if in.KEV != nil {
		why := "listed in CISA KEV as " + in.KEV.CVE
		if in.KEV.Via == "related" {
			why += " (a related ID)"
		}
		why += ", added " + in.KEV.DateAdded + ", CISA due " + in.KEV.DueDate
		add("kev", 35, why)
	} else {
		add("kev", 0, "not in CISA KEV")
	}
	if in.EPSS != nil {
		pts := 0
		switch {
		case in.EPSS.Score >= 0.5:
			pts = 20
		case in.EPSS.Score >= 0.1:
			pts = 10
		case in.EPSS.Score >= 0.01:
			pts = 5
		}
		add("epss", pts, fmt.Sprintf("EPSS %.3f (percentile %.2f) for %s", in.EPSS.Score, in.EPSS.Percentile, in.EPSS.CVE))
	} else {
		add("epss", 0, "no EPSS score")
	}
	if in.Product {
		pts := 0
		switch {
		case in.Organisations >= 50:
			pts = 15
		case in.Organisations >= 10:
			pts = 10
		case in.Organisations >= 1:
			pts = 5
		}
		add("deployment", pts, fmt.Sprintf("the product is deployed by %s, directly or through products that depend on it",
			plural(in.Organisations, "organisation", "organisations")))
		if in.Critical > 0 {
			add("criticality", 10, fmt.Sprintf("%s a critical or high business service on it",
				plural(in.Critical, "organisation has", "organisations have")))
		} else {
			add("criticality", 0, "no critical or high business service on it")
		}
	}
	if in.Inventory {
		pts := map[string]int{"critical": 15, "high": 10, "medium": 5}[in.Criticality]
		if in.Criticality == "" {
			add("criticality", 0, "asset criticality not given")
		} else {
			add("criticality", pts, "asset criticality "+in.Criticality)
		}
		if in.InternetFacing {
			add("exposure", 10, "exposed to the internet")
		} else {
			add("exposure", 0, "not exposed to the internet")
		}
	}
	p := Priority{Contributions: cs}
	for _, c := range cs {
		p.Points += c.Points
	}
	switch {
	case p.Points >= P1Points:
		p.Level = P1
	case p.Points >= P2Points:
		p.Level = P2
	case p.Points >= P3Points:
		p.Level = P3
	default:
		p.Level = P4
	}
	floor := ""
	if in.KEV != nil && (p.Level == P3 || p.Level == P4) {
		p.Level, floor = P2, "; listed in KEV, so at least P2"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s +%d", c.Why, c.Points)
	}
	p.Explanation = fmt.Sprintf("%s (%d points): %s%s", p.Level, p.Points, strings.Join(parts, "; "), floor)
	return p
}

// Due is when a finding first found at first must be fixed under sla.
func (s SLA) Due(level string, first time.Time) time.Time {
	d, ok := s[level]
	if !ok {
		d = DefaultSLA()[level]
	}
	return first.Add(d)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
