package sigma

import (
	"sort"

	"github.com/vigil-health/vigil/internal/attack"
)

// Coverage is how much of ATT&CK a rule set covers, and what it has
// found: per technique, the rules tagged with it (or with one of its
// sub-techniques) and the alerts those rules raised.
type Coverage struct {
	Matrix string `json:"matrix"`
	// Org, when set, is the organisation the coverage is for: the rules
	// enabled for it and the alerts raised in it.
	Org string `json:"org,omitempty"`
	// Tactics are the matrix's columns in order, each with its techniques.
	Tactics []TacticCoverage `json:"tactics"`
	// Rules is how many rules were read; Tagged how many name at least one
	// technique of this matrix.
	Rules  int `json:"rules"`
	Tagged int `json:"tagged"`
	// Covered is how many of the matrix's techniques have a rule.
	Covered    int `json:"covered"`
	Techniques int `json:"techniques"`
	// Unknown are tags naming nothing in this matrix (a newer ATT&CK
	// release's techniques or tactics), with how many rules carry each.
	Unknown map[string]int `json:"unknown"`
}

// TacticCoverage is one column.
type TacticCoverage struct {
	Tactic     *attack.Tactic      `json:"tactic"`
	Techniques []TechniqueCoverage `json:"techniques"`
	Covered    int                 `json:"covered"`
}

// TechniqueCoverage is one cell: a technique, the rules for it and the
// alerts they raised.
type TechniqueCoverage struct {
	Technique *attack.Technique `json:"technique"`
	Rules     []string          `json:"rules"`
	Hits      int64             `json:"hits"`
}

// CoverageOf lays rules over the matrix. hits, when given, counts
// alerts per technique ID (sub-techniques counted under their technique
// too), as CountHits makes.
func CoverageOf(m *attack.Matrix, rules []*Rule, hits map[string]int64) Coverage {
	c := Coverage{Matrix: m.Name, Rules: len(rules), Unknown: map[string]int{}}
	byTech := map[string][]string{}
	for _, r := range rules {
		seen := map[string]bool{}
		tagged := false
		for _, tag := range r.Tags {
			t := m.ResolveTag(tag)
			switch t.Kind {
			case attack.TagTechnique:
				tagged = true
				id := t.Technique.ID
				if t.Technique.Parent != "" {
					id = t.Technique.Parent
				}
				if !seen[id] {
					seen[id] = true
					byTech[id] = append(byTech[id], r.Title)
				}
			case attack.TagUnknown:
				c.Unknown[tag]++
			}
		}
		if tagged {
			c.Tagged++
		}
	}
	covered := map[string]bool{}
	for _, col := range m.Columns() {
		tc := TacticCoverage{Tactic: col.Tactic}
		for _, t := range col.Techniques {
			rs := byTech[t.ID]
			sort.Strings(rs)
			tc.Techniques = append(tc.Techniques, TechniqueCoverage{Technique: t, Rules: rs, Hits: hits[t.ID]})
			if len(rs) > 0 {
				tc.Covered++
				covered[t.ID] = true
			}
		}
		c.Tactics = append(c.Tactics, tc)
	}
	c.Covered, c.Techniques = len(covered), len(m.Techniques)
	return c
}

// CountHits adds one alert's techniques to hits: tags is the alert's
// rules' tags as text ("attack.t1059.001 attack.execution"), and each
// technique is counted under its parent technique as well.
func CountHits(m *attack.Matrix, tags []string, hits map[string]int64) {
	seen := map[string]bool{}
	for _, tag := range tags {
		t := m.ResolveTag(tag)
		if t.Kind != attack.TagTechnique {
			continue
		}
		id := t.Technique.ID
		if t.Technique.Parent != "" {
			id = t.Technique.Parent
		}
		if !seen[id] {
			seen[id] = true
			hits[id]++
		}
	}
}
