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
	"sort"
	"strconv"
	"strings"
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
	var doc struct {
		CatalogVersion  string `json:"catalogVersion"`
		Vulnerabilities []struct {
			CVE       string `json:"cveID"`
			DateAdded string `json:"dateAdded"`
			DueDate   string `json:"dueDate"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("KEV catalogue %s: %w", path, positioned(b, err))
	}
	if doc.Vulnerabilities == nil {
		return nil, fmt.Errorf("KEV catalogue %s: no vulnerabilities list (is it CISA's known_exploited_vulnerabilities.json?)", path)
	}
	k := &KEV{Version: doc.CatalogVersion, Entries: make(map[string]KEVEntry, len(doc.Vulnerabilities))}
	for i, v := range doc.Vulnerabilities {
		if v.CVE == "" {
			return nil, fmt.Errorf("KEV catalogue %s: vulnerability %d has no cveID", path, i)
		}
		k.Entries[v.CVE] = KEVEntry{CVE: v.CVE, DateAdded: v.DateAdded, DueDate: v.DueDate}
	}
	return k, nil
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
