package assurance

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/testneed"
)

// frameworks is the shared framework data beside the repository.
const frameworks = "../../../shared/data/frameworks"

func readData(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(frameworks, rel))
	if err != nil {
		testneed.Missing(t, "the framework data in ../shared/data/frameworks", err)
	}
	if strings.HasSuffix(rel, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func parseData(t testing.TB, rel string) *Set {
	t.Helper()
	set, err := Parse(filepath.Join(frameworks, rel), readData(t, rel), ParseOptions{})
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	return set
}

// independentCAF counts a WebCAF file by decoding it into plain maps (the
// YAML library resolving aliases itself), not with the Node walk Parse uses.
type cafCounts struct {
	outcomes   int
	indicators map[Level]int
	profiles   map[string]map[Level]int
}

func independentCAF(t *testing.T, data []byte) cafCounts {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	c := cafCounts{indicators: map[Level]int{}, profiles: map[string]map[Level]int{}}
	for _, o := range doc["objectives"].(map[string]any) {
		for _, p := range o.(map[string]any)["principles"].(map[string]any) {
			for _, oc := range p.(map[string]any)["outcomes"].(map[string]any) {
				c.outcomes++
				oc := oc.(map[string]any)
				for col, items := range oc["indicators"].(map[string]any) {
					m, _ := items.(map[string]any)
					c.indicators[Level(strings.ReplaceAll(col, "-", "_"))] += len(m)
				}
				if mp, ok := oc["min_profile_requirement"].(map[string]any); ok {
					for name, lv := range mp {
						if c.profiles[name] == nil {
							c.profiles[name] = map[Level]int{}
						}
						c.profiles[name][Level(strings.ReplaceAll(strings.ToLower(lv.(string)), " ", "_"))]++
					}
				}
			}
		}
	}
	return c
}

func TestWebCAFImportsEveryIndicatorAndProfile(t *testing.T) {
	for _, tc := range []struct {
		file                     string
		version                  string
		outcomes, a, pa, na      int // counted by hand, as in the data README
		baseline, enhanced       [3]int
		profiles, rules, objects int
	}{
		{"webcaf/cyber-assessment-framework-v3.2.yaml", "3.2", 39, 184, 111, 154, [3]int{10, 27, 2}, [3]int{24, 13, 2}, 2, 27, 4},
		{"webcaf/cyber-assessment-framework-v4.0.yaml", "4.0", 41, 224, 148, 183, [3]int{}, [3]int{}, 0, 3, 4},
	} {
		t.Run(tc.version, func(t *testing.T) {
			data := readData(t, tc.file)
			set := parseData(t, tc.file)
			if set.ID != "webcaf-caf@"+tc.version || set.Version != tc.version || set.Key != WebCAFKey {
				t.Errorf("id %q version %q key %q", set.ID, set.Version, set.Key)
			}
			sum := set.Summarise()
			if sum.Outcomes != tc.outcomes || sum.Requirements != tc.outcomes {
				t.Errorf("outcomes %d requirements %d, want %d", sum.Outcomes, sum.Requirements, tc.outcomes)
			}
			want := IndicatorCounts{tc.a, tc.pa, tc.na}
			if sum.Indicators != want {
				t.Errorf("indicators %+v, want %+v", sum.Indicators, want)
			}
			ind := independentCAF(t, data)
			if got := (IndicatorCounts{ind.indicators[Achieved], ind.indicators[PartiallyAchieved], ind.indicators[NotAchieved]}); got != want || ind.outcomes != tc.outcomes {
				t.Errorf("independent count %+v outcomes %d, want %+v %d", got, ind.outcomes, want, tc.outcomes)
			}
			kinds := map[string]int{}
			for _, n := range set.Nodes {
				kinds[n.Kind]++
			}
			if kinds[KindObjective] != tc.objects || kinds[KindPrinciple] != 14 {
				t.Errorf("kinds %v", kinds)
			}
			if len(set.Profiles) != tc.profiles {
				t.Fatalf("profiles %v", sum.Profiles)
			}
			for _, p := range set.Profiles {
				got := map[Level]int{}
				for _, tg := range p.Targets {
					got[tg.Level]++
				}
				w := tc.baseline
				if p.Name == "enhanced" {
					w = tc.enhanced
				}
				if got[Achieved] != w[0] || got[PartiallyAchieved] != w[1] || got[NotAchieved] != w[2] || len(p.Targets) != tc.outcomes {
					t.Errorf("profile %s: %v, want %v", p.Name, got, w)
				}
				for l, n := range ind.profiles[p.Name] {
					if got[l] != n {
						t.Errorf("profile %s level %s: %d, independent count %d", p.Name, l, got[l], n)
					}
				}
			}
			if len(set.Rules) != tc.rules {
				t.Errorf("rules %d, want %d", len(set.Rules), tc.rules)
			}
			// Every indicator sits under an outcome of the set.
			outcomes := map[string]bool{}
			for _, n := range set.Nodes {
				if n.Kind == KindOutcome {
					outcomes[n.Key] = true
				}
			}
			for _, in := range set.Indicators {
				if !outcomes[in.Outcome] || in.Description == "" {
					t.Fatalf("indicator %+v", in)
				}
			}
		})
	}
}

// TestCAF32ProfilesAgreeWithWebCAFLookup checks the profiles against the
// other published form, WebCAF's own profile lookup table (the statuses
// that meet each profile; the minimum is the lowest of them).
func TestCAF32ProfilesAgreeWithWebCAFLookup(t *testing.T) {
	set := parseData(t, "webcaf/cyber-assessment-framework-v3.2.yaml")
	var lookup []map[string]any
	if err := json.Unmarshal(readData(t, "webcaf/caf-profile-lookup.json"), &lookup); err != nil {
		t.Fatal(err)
	}
	if len(lookup) != 39 {
		t.Fatalf("%d lookup records", len(lookup))
	}
	codes := map[string]Level{"ACH": Achieved, "PAC": PartiallyAchieved, "NAC": NotAchieved}
	targets := map[string]Level{}
	for _, p := range set.Profiles {
		for _, tg := range p.Targets {
			targets[p.Name+"/"+tg.Node] = tg.Level
		}
	}
	for _, rec := range lookup {
		for _, name := range []string{"BASELINE", "ENHANCED"} {
			min := Level("")
			for _, c := range rec[name].([]any) {
				l := codes[c.(string)]
				if min == "" || l.Rank() < min.Rank() {
					min = l
				}
			}
			key := strings.ToLower(name) + "/" + rec["key"].(string)
			if targets[key] != min {
				t.Errorf("%s: %q, lookup says %q", key, targets[key], min)
			}
		}
	}
}

var assessableTrue = regexp.MustCompile(`(?m)^\s+assessable: true\s*$`)

func TestCISOAssistantLibrariesImport(t *testing.T) {
	for _, tc := range []struct {
		file                string
		id                  string
		nodes, requirements int // the data README's columns
		profiles            []string
	}{
		{"ciso-assistant/frameworks/ncsc-caf-3.2.yaml", "ncsc-caf-3.2@2", 241, 184, nil},
		{"ciso-assistant/frameworks/ncsc-caf-4.0.yaml", "ncsc-caf-4.0@1", 284, 225, nil},
		{"ciso-assistant/frameworks/cyber_essentials.yaml", "cyber_essentials_requirements_for_it_infrastructure@2", 285, 100, nil},
		{"ciso-assistant/frameworks/nist-csf-2.0.yaml", "nist-csf-2.0@6", 134, 106, nil},
		{"ciso-assistant/frameworks/owasp-asvs-5.0.0.yaml", "owasp-asvs-5.0.0@1", 442, 345, []string{"1", "2", "3"}},
		{"ciso-assistant/frameworks/nist-sp-800-66-rev2.yaml", "nist-sp-800-66-rev2@2", 179, 152, []string{"R", "A", "N"}},
		{"ciso-assistant/frameworks/cisa-vendor-scrm.yaml", "cisa-scrm@2", 286, 256, []string{"IG1", "IG2", "IG3", "IG4", "IG5", "IG6", "IG7", "IG8"}},
		{"ciso-assistant/frameworks/nist-sp-800-53-rev5.yaml.gz", "nist-sp-800-53-rev5@1", 1209, 1189, nil},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			data := readData(t, tc.file)
			set := parseData(t, tc.file)
			sum := set.Summarise()
			if sum.ID != tc.id || sum.Nodes != tc.nodes || sum.Requirements != tc.requirements {
				t.Errorf("%s: nodes %d requirements %d, want %s %d %d", sum.ID, sum.Nodes, sum.Requirements, tc.id, tc.nodes, tc.requirements)
			}
			// Counted a second way: the lines that say so.
			if n := len(assessableTrue.FindAll(data, -1)); n != sum.Requirements {
				t.Errorf("%d lines say assessable: true, parsed %d requirements", n, sum.Requirements)
			}
			if strings.Join(sum.Profiles, ",") != strings.Join(tc.profiles, ",") {
				t.Errorf("profiles %v, want %v", sum.Profiles, tc.profiles)
			}
			// Each implementation group's members, counted from plain maps.
			var doc struct {
				Objects struct {
					Framework struct {
						Nodes []struct {
							URN    string   `yaml:"urn"`
							Groups []string `yaml:"implementation_groups"`
						} `yaml:"requirement_nodes"`
					} `yaml:"framework"`
				} `yaml:"objects"`
			}
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			members := map[string]map[string]bool{}
			for _, n := range doc.Objects.Framework.Nodes {
				for _, g := range n.Groups {
					if members[g] == nil {
						members[g] = map[string]bool{}
					}
					members[g][n.URN] = true
				}
			}
			for _, p := range set.Profiles {
				if len(p.Targets) != len(members[p.Name]) || len(p.Targets) == 0 {
					t.Errorf("profile %s: %d targets, %d nodes list it", p.Name, len(p.Targets), len(members[p.Name]))
				}
			}
		})
	}
}

func TestReferenceControlCatalogueIsRefused(t *testing.T) {
	_, err := Parse("key-reference-controls.yaml", readData(t, "ciso-assistant/frameworks/key-reference-controls.yaml"), ParseOptions{})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "has no framework") || pe.Line == 0 {
		t.Fatalf("err %v", err)
	}
}

// TestMalformedFilesNameFileLineAndNode: each broken document says where
// and which node.
func TestMalformedFilesNameFileLineAndNode(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		line      int
		want      string
	}{
		{"bad.yaml", "objectives: [1, 2\n", 1, "not valid YAML"},
		{"neither.yaml", "foo: bar\n", 1, "neither a CISO Assistant library"},
		{"caf-v1.0.yaml", "objectives:\n  A:\n    code: B\n    title: x\n", 3, "objectives.A.code: is \"B\" but the key is \"A\""},
		{"caf-v1.0.yaml", "objectives:\n  A:\n    title: x\n    principles:\n      A1:\n        title: y\n        outcomes:\n          A1.a:\n            title: z\n            indicators:\n              achieved:\n                A1.a.1:\n                  ncsc-index: A1.a.A.1\n", 13, "objectives.A.principles.A1.outcomes.A1.a.indicators.achieved.A1.a.1: has no description"},
		{"caf-v1.0.yaml", "objectives:\n  A:\n    title: x\n    principles:\n      A1:\n        title: y\n        outcomes:\n          A1.a:\n            title: z\n            indicators:\n              mostly: {}\n", 11, "\"mostly\" is not an indicator column"},
		{"caf-v1.0.yaml", "objectives:\n  A:\n    title: x\n    principles:\n      A1:\n        title: y\n        outcomes:\n          A1.a:\n            title: z\n            indicators: {}\n            min_profile_requirement:\n              baseline: Great\n", 12, "\"Great\" is not a level"},
		{"caf.yaml", "objectives:\n  A:\n    title: x\n", 1, "name gives none"},
		{"lib.yaml", "urn: u\nversion: 1\nname: n\nobjects:\n  framework:\n    requirement_nodes:\n    - urn: a\n    - urn: b\n      parent_urn: c\n", 9, "requirement_nodes[1] (b).parent_urn: \"c\" is not a node listed before this one"},
		{"lib.yaml", "urn: u\nversion: 1\nname: n\nobjects:\n  framework:\n    requirement_nodes:\n    - urn: a\n      assessable: maybe\n", 8, "assessable: must be true or false"},
		{"lib.yaml", "urn: u\nversion: 1\nname: n\nobjects:\n  framework:\n    requirement_nodes:\n    - urn: a\n      implementation_groups: [X]\n", 8, "\"X\" is not in implementation_groups_definition"},
		{"lib.yaml", "urn: u\nversion: 1\nname: n\nobjects:\n  framework:\n    requirement_nodes:\n    - urn: a\n    - urn: a\n", 8, "urn \"a\" is used twice"},
		{"lib.yaml", "urn: u\nname: n\nobjects: {}\n", 1, "has no version"},
	} {
		_, err := Parse(tc.name, []byte(tc.doc), ParseOptions{})
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: err %v, want a ParseError", tc.doc, err)
			continue
		}
		if pe.File != tc.name || pe.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v (line %d)\nwant line %d containing %q", tc.doc, err, pe.Line, tc.line, tc.want)
		}
		if fault.Status(err) != 400 {
			t.Errorf("status %d", fault.Status(err))
		}
	}
}

// TestRuleFormsAgree: CAF 3.2's lookup table and CAF 4.0's ordered rules
// derive the same status for every selection, over outcomes with and
// without a partially-achieved column.
func TestRuleFormsAgree(t *testing.T) {
	v32 := parseData(t, "webcaf/cyber-assessment-framework-v3.2.yaml")
	v40 := parseData(t, "webcaf/cyber-assessment-framework-v4.0.yaml")
	lookup, ordered := v32.RulesFor("A1.a"), v40.RulesFor("A1.a")
	if len(lookup) != 27 || len(ordered) != 3 {
		t.Fatalf("rules %d %d", len(lookup), len(ordered))
	}
	for _, total := range []IndicatorCounts{{4, 0, 4}, {5, 3, 2}} {
		for a := 0; a <= total.Achieved; a++ {
			for pa := 0; pa <= total.PartiallyAchieved; pa++ {
				for na := 0; na <= total.NotAchieved; na++ {
					sel := Selection{Selected: IndicatorCounts{a, pa, na}, Total: total}
					x, err1 := Derive(lookup, sel)
					y, err2 := Derive(ordered, sel)
					if err1 != nil || err2 != nil || x.Status != y.Status {
						t.Fatalf("%+v: lookup %+v (%v), ordered %+v (%v)", sel, x, err1, y, err2)
					}
				}
			}
		}
	}
	d, _ := Derive(lookup, Selection{Selected: IndicatorCounts{4, 0, 0}, Total: IndicatorCounts{4, 0, 4}})
	if d.Status != Achieved || d.Rule != "lookup all_none_none" || !strings.Contains(d.Message, "all achieved") {
		t.Errorf("%+v", d)
	}
	d, _ = Derive(ordered, Selection{Selected: IndicatorCounts{5, 0, 1}, Total: IndicatorCounts{5, 3, 2}})
	if d.Status != NotAchieved || !strings.Contains(d.Rule, "not_achieved:any") {
		t.Errorf("%+v", d)
	}
	d, _ = Derive(ordered, Selection{Selected: IndicatorCounts{2, 3, 0}, Total: IndicatorCounts{5, 3, 2}})
	if d.Status != PartiallyAchieved || !Meets(d.Status, PartiallyAchieved) || Meets(d.Status, Achieved) {
		t.Errorf("%+v", d)
	}
}

// TestCAFIndicatorIDsRepeatAcrossColumns keeps the published CAF 4.0 quirk
// visible: A4.a.11 is both a partially-achieved and an achieved indicator.
func TestCAFIndicatorIDsRepeatAcrossColumns(t *testing.T) {
	set := parseData(t, "webcaf/cyber-assessment-framework-v4.0.yaml")
	var idx []string
	for _, in := range set.Indicators {
		if in.Ref == "A4.a.11" {
			idx = append(idx, string(in.Level)+" "+in.Index)
		}
	}
	sort.Strings(idx)
	if strings.Join(idx, "; ") != "achieved A4.a.A.1; partially_achieved A4.a.PA.7" {
		t.Errorf("A4.a.11: %v", idx)
	}
}
