// Package assurance is supplier assurance (issue 20): requirement sets as
// versioned data, and the health schemes' own evidence (DSPT status by
// edition today).
//
// A requirement set is a tree of nodes — for the NCSC CAF objectives →
// principles → contributing outcomes; for a CISO Assistant library whatever
// depth it has, with its assessable nodes as requirements — plus, where the
// framework has them:
//
//   - indicators of good practice under each outcome, at one of three
//     levels (achieved, partially achieved, not achieved);
//   - rules that derive an outcome's status from the indicators selected
//     (Derive);
//   - profiles: a target per outcome (CAF 3.2 baseline and enhanced) or
//     the requirements in scope at that profile (CISO Assistant
//     implementation groups, e.g. OWASP ASVS levels 1–3).
//
// Sets are read from files by Parse (WebCAF CAF YAML and CISO Assistant
// library YAML; see webcaf.go and ciso.go) and kept by Service.Import in
// one transaction. A set is identified by its key (what the framework is)
// and its version: re-importing the same version with the same bytes
// changes nothing, a new version is kept beside the old, and the same
// version with other content is refused (a published version does not
// change; give the new content a new version).
package assurance

import (
	"fmt"
	"strings"
)

// Level is an indicator's column, an outcome's derived status or a
// profile's target for an outcome.
type Level string

// The three CAF levels, and the target an implementation-group profile
// gives each requirement it includes.
const (
	Achieved          Level = "achieved"
	PartiallyAchieved Level = "partially_achieved"
	NotAchieved       Level = "not_achieved"
	// InScope marks a requirement a CISO Assistant implementation group
	// includes; the library says nothing about the level to reach.
	InScope Level = "in_scope"
)

// Levels lists the three indicator levels in the order tables show them.
var Levels = [3]Level{Achieved, PartiallyAchieved, NotAchieved}

// Rank orders levels for comparing a status against a target: achieved 3,
// partially achieved 2, not achieved 1, anything else 0.
func (l Level) Rank() int {
	switch l {
	case Achieved:
		return 3
	case PartiallyAchieved:
		return 2
	case NotAchieved:
		return 1
	}
	return 0
}

// Label is the level as the CAF writes it.
func (l Level) Label() string {
	switch l {
	case Achieved:
		return "Achieved"
	case PartiallyAchieved:
		return "Partially achieved"
	case NotAchieved:
		return "Not achieved"
	case InScope:
		return "In scope"
	}
	return string(l)
}

// Formats of requirement-set files.
const (
	FormatWebCAF = "webcaf"
	FormatCISO   = "ciso-assistant"
)

// Node kinds.
const (
	KindObjective   = "objective"
	KindPrinciple   = "principle"
	KindOutcome     = "outcome"
	KindRequirement = "requirement" // an assessable node of a generic library
	KindSection     = "section"     // a grouping node of a generic library
)

// Set is one version of a requirement set.
type Set struct {
	// ID is Key's short name and the version: "webcaf-caf@3.2",
	// "nist-csf-2.0@6".
	ID string `json:"id"`
	// Key names the framework across its versions (the CISO Assistant
	// library URN; "webcaf:ncsc-caf" for the WebCAF CAF files).
	Key         string `json:"key"`
	Version     string `json:"version"`
	Name        string `json:"name"`
	Format      string `json:"format"`
	Provider    string `json:"provider,omitempty"`
	Description string `json:"description,omitempty"`
	Copyright   string `json:"copyright,omitempty"`
	// Source is the base name of the file it was read from.
	Source string `json:"source"`
	// Digest is the SHA-256 of the file's bytes, which is how a
	// re-import knows it holds nothing new.
	Digest     string      `json:"digest"`
	ImportedAt string      `json:"imported_at,omitempty"`
	Nodes      []Node      `json:"nodes,omitempty"`
	Indicators []Indicator `json:"indicators,omitempty"`
	// Rules are the set's default assessment rules (Outcome ""), followed
	// by any outcome's own rules where they differ from the default.
	Rules    []Rule    `json:"rules,omitempty"`
	Profiles []Profile `json:"profiles,omitempty"`
}

// Node is one node of a set's tree, in file order (a parent before its
// children).
type Node struct {
	// Key is unique in the set: the CAF code ("A1.a") or the library's URN.
	Key string `json:"key"`
	// Ref is what people call it ("A1.a", "GV.OC-01"); may be empty in
	// libraries that give none.
	Ref         string `json:"ref,omitempty"`
	Parent      string `json:"parent,omitempty"`
	Kind        string `json:"kind"`
	Depth       int    `json:"depth"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Assessable  bool   `json:"assessable"`
}

// Indicator is one indicator of good practice under an outcome.
type Indicator struct {
	Outcome string `json:"outcome"`
	// Ref is the indicator's id in the file ("A1.a.5").
	Ref   string `json:"ref"`
	Level Level  `json:"level"`
	// Index is NCSC's reference ("A1.a.A.1"); empty where the file gives
	// none (CAF 4.0 B3.a.9).
	Index       string `json:"index,omitempty"`
	Description string `json:"description"`
}

// Rule forms.
const (
	// RuleLookup: Key is "<achieved>_<partial>_<not>", each part all, some
	// or none of that column selected (the CAF 3.2 WebCAF table).
	RuleLookup = "lookup"
	// RuleOrdered: Key is "<level>:<all|any>", tried in Seq order (CAF 4.0).
	RuleOrdered = "ordered"
)

// Rule is one row of an outcome's assessment rules.
type Rule struct {
	// Outcome is "" for the set's default rules.
	Outcome string `json:"outcome,omitempty"`
	Seq     int    `json:"seq"`
	Form    string `json:"form"`
	Key     string `json:"key"`
	Status  Level  `json:"status"`
	Message string `json:"message,omitempty"`
}

// Profile is a named set of targets.
type Profile struct {
	Name        string   `json:"name"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Targets     []Target `json:"targets,omitempty"`
}

// Target is a profile's minimum for one outcome (or, for an
// implementation group, one requirement it includes).
type Target struct {
	Node  string `json:"node"`
	Level Level  `json:"level"`
}

// Summary is a set without its tree: what list shows.
type Summary struct {
	ID           string          `json:"id"`
	Key          string          `json:"key"`
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Format       string          `json:"format"`
	Source       string          `json:"source"`
	ImportedAt   string          `json:"imported_at"`
	Nodes        int             `json:"nodes"`
	Requirements int             `json:"requirements"`
	Outcomes     int             `json:"outcomes"`
	Indicators   IndicatorCounts `json:"indicators"`
	Profiles     []string        `json:"profiles"`
}

// IndicatorCounts counts a set's indicators per level.
type IndicatorCounts struct {
	Achieved          int `json:"achieved"`
	PartiallyAchieved int `json:"partially_achieved"`
	NotAchieved       int `json:"not_achieved"`
}

// Total is the sum of the three.
func (c IndicatorCounts) Total() int { return c.Achieved + c.PartiallyAchieved + c.NotAchieved }

func (c *IndicatorCounts) add(l Level) {
	switch l {
	case Achieved:
		c.Achieved++
	case PartiallyAchieved:
		c.PartiallyAchieved++
	case NotAchieved:
		c.NotAchieved++
	}
}

// Summarise counts s's parts.
func (s *Set) Summarise() Summary {
	sum := Summary{ID: s.ID, Key: s.Key, Name: s.Name, Version: s.Version, Format: s.Format, Source: s.Source,
		ImportedAt: s.ImportedAt, Nodes: len(s.Nodes), Profiles: []string{}}
	for _, n := range s.Nodes {
		if n.Assessable {
			sum.Requirements++
		}
		if n.Kind == KindOutcome {
			sum.Outcomes++
		}
	}
	for _, in := range s.Indicators {
		sum.Indicators.add(in.Level)
	}
	for _, p := range s.Profiles {
		sum.Profiles = append(sum.Profiles, p.Name)
	}
	return sum
}

// ParseError is a malformed requirement-set file: where, which node, and
// what is wrong with it.
type ParseError struct {
	File   string
	Line   int
	Column int
	// Path names the offending node from the document root
	// ("objectives.A.principles.A1.outcomes.A1.a.indicators").
	Path string
	Msg  string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
