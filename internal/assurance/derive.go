package assurance

import (
	"fmt"
	"strings"
)

// Selection is how many indicators of each level an assessor selected for
// one outcome, against how many the outcome has.
type Selection struct {
	Selected IndicatorCounts
	Total    IndicatorCounts
}

// Derivation is an outcome's status and the rule that gave it.
type Derivation struct {
	Status  Level  `json:"status"`
	Rule    string `json:"rule"`
	Message string `json:"message,omitempty"`
}

// RulesFor returns the rules that apply to outcome: its own where it has
// them, else the set's defaults.
func (s *Set) RulesFor(outcome string) []Rule {
	var own, def []Rule
	for _, r := range s.Rules {
		switch r.Outcome {
		case outcome:
			own = append(own, r)
		case "":
			def = append(def, r)
		}
	}
	if len(own) > 0 {
		return own
	}
	return def
}

// Derive gives an outcome's status from a selection under rules.
//
// Lookup rules (CAF 3.2) are keyed by how much of each column is selected:
// "all" when every indicator of a non-empty column is, "none" when none is
// (an empty column is always "none"), else "some".
//
// Ordered rules (CAF 4.0: 1 achieved/all, 2 partially-achieved/all,
// 3 not-achieved/any) are read as the CAF reads them: any not-achieved
// indicator selected makes the outcome not achieved whatever else is
// selected, so a not-achieved "any" rule is tried first; the others in
// their number order, the first that holds deciding. A selection no rule
// covers is not achieved. On every selection the two forms agree
// (TestRuleFormsAgree), which is what the 3.2 table spells out.
func Derive(rules []Rule, sel Selection) (Derivation, error) {
	if len(rules) == 0 {
		return Derivation{}, fmt.Errorf("assurance: no assessment rules")
	}
	switch rules[0].Form {
	case RuleLookup:
		key := part(sel.Selected.Achieved, sel.Total.Achieved) + "_" + part(sel.Selected.PartiallyAchieved, sel.Total.PartiallyAchieved) + "_" + part(sel.Selected.NotAchieved, sel.Total.NotAchieved)
		for _, r := range rules {
			if r.Key == key {
				return Derivation{Status: r.Status, Rule: "lookup " + key, Message: r.Message}, nil
			}
		}
		return Derivation{Status: NotAchieved, Rule: "lookup " + key + " (no row: not achieved)"}, nil
	case RuleOrdered:
		holds := func(r Rule) bool {
			lv, q, _ := strings.Cut(r.Key, ":")
			n, total := count(sel.Selected, Level(lv)), count(sel.Total, Level(lv))
			if q == "any" {
				return n > 0
			}
			return total > 0 && n == total
		}
		for _, r := range rules {
			if r.Status == NotAchieved && strings.HasSuffix(r.Key, ":any") && holds(r) {
				return Derivation{Status: r.Status, Rule: fmt.Sprintf("rule %d %s", r.Seq, r.Key)}, nil
			}
		}
		for _, r := range rules {
			if holds(r) {
				return Derivation{Status: r.Status, Rule: fmt.Sprintf("rule %d %s", r.Seq, r.Key)}, nil
			}
		}
		return Derivation{Status: NotAchieved, Rule: "no rule holds: not achieved"}, nil
	}
	return Derivation{}, fmt.Errorf("assurance: unknown rule form %q", rules[0].Form)
}

func part(n, total int) string {
	switch {
	case n <= 0 || total == 0:
		return "none"
	case n >= total:
		return "all"
	}
	return "some"
}

func count(c IndicatorCounts, l Level) int {
	switch l {
	case Achieved:
		return c.Achieved
	case PartiallyAchieved:
		return c.PartiallyAchieved
	case NotAchieved:
		return c.NotAchieved
	}
	return 0
}

// Meets reports whether status reaches a profile's target.
func Meets(status, target Level) bool { return status.Rank() >= target.Rank() }
