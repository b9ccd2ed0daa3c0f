package assurance

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The WebCAF CAF format (GOV.UK WebCAF, co-cddo/domains-webcaf):
//
//	assessment-rules: &standard-rules     the default rules (two forms, below)
//	objectives:
//	  A: {code, title, description, principles:
//	    A1: {code, title, description, outcomes:
//	      A1.a: {code, title, description,
//	             indicators: {achieved | partially-achieved | not-achieved:
//	                            {A1.a.5: {description, ncsc-index: A1.a.A.1}}},
//	             assessment-rules: *standard-rules,
//	             min_profile_requirement: {baseline: *achieved, enhanced: *achieved}}}}}
//
// Rules come in two forms. CAF 3.2 has a 27-row lookup keyed
// "<achieved>_<partial>_<not>" (each all, some or none of that column
// selected) giving outcome_status and outcome_status_message. CAF 4.0 has
// numbered rows [level, all|any]. Profiles (min_profile_requirement) are
// only in CAF 3.2. The file has no name or version of its own: the version
// comes from the file name (…-v3.2.yaml) or ParseOptions.Version.

// WebCAFKey is the key of every WebCAF CAF file: versions of one framework.
const WebCAFKey = "webcaf:ncsc-caf"

var versionInName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`v(\d+(?:\.\d+)*)`) })

func (p *parser) webcaf(root *yaml.Node, o ParseOptions) (*Set, error) {
	version := o.Version
	if version == "" {
		m := versionInName().FindStringSubmatch(filepath.Base(p.file))
		if m == nil {
			return nil, p.errAt(root, "", "a WebCAF file has no version inside it and its name gives none (…-v3.2.yaml): name the version (--version)")
		}
		version = m[1]
	}
	set := &Set{Key: WebCAFKey, ID: "webcaf-caf@" + version, Version: version, Format: FormatWebCAF,
		Name: "NCSC Cyber Assessment Framework " + version, Provider: "NCSC"}
	var defRules *yaml.Node
	if r := p.get(root, "assessment-rules"); r != nil {
		rules, err := p.webcafRules(r, "assessment-rules", "")
		if err != nil {
			return nil, err
		}
		set.Rules = rules
		defRules = r
	}
	objs, err := p.pairs(p.get(root, "objectives"), "objectives")
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, p.errAt(p.get(root, "objectives"), "objectives", "is empty")
	}
	profiles := map[string]int{}
	seen := map[string]bool{}
	for _, ob := range objs {
		path := join("objectives", ob.key)
		n, err := p.webcafNode(ob, path, "", KindObjective, 1, seen)
		if err != nil {
			return nil, err
		}
		set.Nodes = append(set.Nodes, n)
		prs, err := p.pairs(p.get(ob.value, "principles"), join(path, "principles"))
		if err != nil {
			return nil, err
		}
		for _, pr := range prs {
			ppath := join(path, "principles."+pr.key)
			pn, err := p.webcafNode(pr, ppath, n.Key, KindPrinciple, 2, seen)
			if err != nil {
				return nil, err
			}
			set.Nodes = append(set.Nodes, pn)
			ocs, err := p.pairs(p.get(pr.value, "outcomes"), join(ppath, "outcomes"))
			if err != nil {
				return nil, err
			}
			for _, oc := range ocs {
				opath := join(ppath, "outcomes."+oc.key)
				on, err := p.webcafNode(oc, opath, pn.Key, KindOutcome, 3, seen)
				if err != nil {
					return nil, err
				}
				on.Assessable = true
				set.Nodes = append(set.Nodes, on)
				ins, err := p.webcafIndicators(oc.value, opath, on.Key, seen)
				if err != nil {
					return nil, err
				}
				set.Indicators = append(set.Indicators, ins...)
				if r := p.get(oc.value, "assessment-rules"); r != nil && r != defRules {
					rules, err := p.webcafRules(r, join(opath, "assessment-rules"), on.Key)
					if err != nil {
						return nil, err
					}
					set.Rules = append(set.Rules, rules...)
				}
				if mp := p.get(oc.value, "min_profile_requirement"); mp != nil {
					pps, err := p.pairs(mp, join(opath, "min_profile_requirement"))
					if err != nil {
						return nil, err
					}
					for _, pp := range pps {
						ppath := join(opath, "min_profile_requirement."+pp.key)
						if pp.value == nil || pp.value.Kind != yaml.ScalarNode {
							return nil, p.errAt(pp.keyN, ppath, "must be a level (Achieved, Partially achieved, Not achieved)")
						}
						lv, ok := levelOf(pp.value.Value)
						if !ok {
							return nil, p.errAt(pp.value, ppath, "%q is not a level (Achieved, Partially achieved, Not achieved)", pp.value.Value)
						}
						i, ok := profiles[pp.key]
						if !ok {
							i = len(set.Profiles)
							profiles[pp.key] = i
							set.Profiles = append(set.Profiles, Profile{Name: pp.key, Title: titleCase(pp.key)})
						}
						set.Profiles[i].Targets = append(set.Profiles[i].Targets, Target{Node: on.Key, Level: lv})
					}
				}
			}
		}
	}
	return set, nil
}

func (p *parser) webcafNode(pr pair, path, parent, kind string, depth int, seen map[string]bool) (Node, error) {
	if pr.value == nil || pr.value.Kind != yaml.MappingNode {
		return Node{}, p.errAt(pr.keyN, path, "must be a mapping with code, title and description")
	}
	code, err := p.str(pr.value, "code", path)
	if err != nil {
		return Node{}, err
	}
	if code == "" {
		code = pr.key
	} else if code != pr.key {
		return Node{}, p.errAt(p.get(pr.value, "code"), join(path, "code"), "is %q but the key is %q", code, pr.key)
	}
	if seen[code] {
		return Node{}, p.errAt(pr.keyN, path, "%q is used twice in this file", code)
	}
	seen[code] = true
	title, err := p.str(pr.value, "title", path)
	if err != nil {
		return Node{}, err
	}
	if title == "" {
		return Node{}, p.errAt(pr.keyN, path, "has no title")
	}
	desc, err := p.str(pr.value, "description", path)
	if err != nil {
		return Node{}, err
	}
	return Node{Key: code, Ref: code, Parent: parent, Kind: kind, Depth: depth, Name: title, Description: desc}, nil
}

// webcafColumns maps the file's indicator columns to levels.
var webcafColumns = map[string]Level{"achieved": Achieved, "partially-achieved": PartiallyAchieved, "not-achieved": NotAchieved}

func (p *parser) webcafIndicators(outcome *yaml.Node, path, key string, seen map[string]bool) ([]Indicator, error) {
	ipath := join(path, "indicators")
	cols, err := p.pairs(p.get(outcome, "indicators"), ipath)
	if err != nil {
		return nil, err
	}
	var out []Indicator
	for _, c := range cols {
		lv, ok := webcafColumns[c.key]
		if !ok {
			return nil, p.errAt(c.keyN, ipath, "%q is not an indicator column (achieved, partially-achieved, not-achieved)", c.key)
		}
		cpath := join(ipath, c.key)
		if c.value == nil || (c.value.Kind == yaml.ScalarNode && c.value.Tag == "!!null") {
			continue // an empty column
		}
		items, err := p.pairs(c.value, cpath)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			ipath := join(cpath, it.key)
			if it.value == nil || it.value.Kind != yaml.MappingNode {
				return nil, p.errAt(it.keyN, ipath, "must be a mapping with description and ncsc-index")
			}
			// An indicator id is unique within its column, not across the
			// file: CAF 4.0 as published numbers A4.a.11 both as the last
			// partially-achieved and the first achieved indicator, and both
			// are real indicators (the NCSC indexes differ).
			if k := string(lv) + "/" + it.key; seen[k] {
				return nil, p.errAt(it.keyN, ipath, "%q is used twice in this column", it.key)
			} else {
				seen[k] = true
			}
			desc, err := p.need(it.value, "description", ipath)
			if err != nil {
				return nil, err
			}
			idx, err := p.str(it.value, "ncsc-index", ipath)
			if err != nil {
				return nil, err
			}
			out = append(out, Indicator{Outcome: key, Ref: it.key, Level: lv, Index: idx, Description: desc})
		}
	}
	return out, nil
}

// webcafRules reads either rule form.
func (p *parser) webcafRules(r *yaml.Node, path, outcome string) ([]Rule, error) {
	rows, err := p.pairs(r, path)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(rows))
	for i, row := range rows {
		rpath := join(path, row.key)
		switch {
		case row.value != nil && row.value.Kind == yaml.MappingNode:
			parts := strings.Split(row.key, "_")
			if len(parts) != 3 || !quantifier(parts[0], false) || !quantifier(parts[1], false) || !quantifier(parts[2], false) {
				return nil, p.errAt(row.keyN, rpath, "a lookup rule's key must be <achieved>_<partial>_<not>, each all, some or none")
			}
			st, err := p.need(row.value, "outcome_status", rpath)
			if err != nil {
				return nil, err
			}
			lv, ok := levelOf(st)
			if !ok {
				return nil, p.errAt(p.get(row.value, "outcome_status"), join(rpath, "outcome_status"), "%q is not a level", st)
			}
			msg, err := p.str(row.value, "outcome_status_message", rpath)
			if err != nil {
				return nil, err
			}
			out = append(out, Rule{Outcome: outcome, Seq: i + 1, Form: RuleLookup, Key: row.key, Status: lv, Message: msg})
		case row.value != nil && row.value.Kind == yaml.SequenceNode:
			seq, err := strconv.Atoi(row.key)
			if err != nil || seq < 1 {
				return nil, p.errAt(row.keyN, rpath, "an ordered rule's key must be its number (1, 2, …)")
			}
			if len(row.value.Content) != 2 {
				return nil, p.errAt(row.value, rpath, "an ordered rule must be [level, all|any]")
			}
			a, b := p.resolve(row.value.Content[0]), p.resolve(row.value.Content[1])
			if a == nil || b == nil || a.Kind != yaml.ScalarNode || b.Kind != yaml.ScalarNode {
				return nil, p.errAt(row.value, rpath, "an ordered rule must be [level, all|any]")
			}
			lv, ok := levelOf(a.Value)
			if !ok {
				return nil, p.errAt(a, rpath, "%q is not a level", a.Value)
			}
			if b.Value != "all" && b.Value != "any" {
				return nil, p.errAt(b, rpath, "%q must be all or any", b.Value)
			}
			out = append(out, Rule{Outcome: outcome, Seq: seq, Form: RuleOrdered, Key: string(lv) + ":" + b.Value, Status: lv})
		default:
			return nil, p.errAt(row.keyN, rpath, "must be a lookup row {outcome_status, outcome_status_message} or an ordered row [level, all|any]")
		}
	}
	if len(out) > 0 {
		form := out[0].Form
		for _, r := range out {
			if r.Form != form {
				return nil, p.errAt(r2node(rows, r), path, "mixes lookup and ordered rules")
			}
		}
	}
	return out, nil
}

func r2node(rows []pair, r Rule) *yaml.Node {
	if r.Seq-1 < len(rows) && r.Seq >= 1 {
		return rows[r.Seq-1].keyN
	}
	return nil
}

func quantifier(s string, any bool) bool {
	return s == "all" || s == "some" || s == "none" || (any && s == "any")
}

// levelOf reads a level as either file writes it ("Partially achieved",
// "partially-achieved").
func levelOf(s string) (Level, bool) {
	k := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch Level(k) {
	case Achieved, PartiallyAchieved, NotAchieved:
		return Level(k), true
	}
	return "", false
}

func titleCase(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
