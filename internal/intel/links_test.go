package intel

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

type orgsFn func(ctx context.Context, code string) (string, error)

func (f orgsFn) PathOf(ctx context.Context, code string) (string, error) { return f(ctx, code) }

func sigmaRule(id, title string, tags ...string) rules.File {
	return rules.File{Name: id + ".yml", Data: []byte(`title: ` + title + `
id: ` + id + `
status: test
tags:
  - ` + strings.Join(tags, "\n  - ") + `
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\` + title + `.exe'
  condition: selection
level: high
`)}
}

const (
	ruleSub    = "11111111-0000-4000-8000-000000000001" // attack.t1059.001
	ruleParent = "11111111-0000-4000-8000-000000000002" // attack.t1059
	ruleOther  = "11111111-0000-4000-8000-000000000003" // attack.t1003
)

// linksWorld is a national collection read by every organisation with
// ATT&CK's T1059 and T1059.001, a malware using T1059.001 in the
// execution phase, a GREEN and a RED indicator, and three Sigma rules.
type linksWorld struct {
	s                     *Store
	al                    *audit.Log
	c                     Collection
	nadia, alice          scope.Scope
	t1059, t1059001, qak  *stix.Object
	green, red, described *stix.Object
	nadiaOwn              Collection
}

func newLinksWorld(t *testing.T, db *store.DB) linksWorld {
	t.Helper()
	ctx := context.Background()
	al := audit.New(db, time.Now)
	rs, err := rules.New(rules.Options{DB: db, Audit: al, Orgs: orgsFn(orgPath)})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := rs.Import(ctx, scope.System("test"), "test", "", []rules.File{
		sigmaRule(ruleSub, "PowerShellSub", "attack.execution", "attack.t1059.001"),
		sigmaRule(ruleParent, "ShellParent", "attack.t1059"),
		sigmaRule(ruleOther, "Dumper", "attack.credential_access", "attack.t1003"),
	}); err != nil || len(rep.Failed) > 0 {
		t.Fatalf("rules: %+v %v", rep, err)
	}
	s, _ := New(Options{DB: db, Audit: al, OrgPath: orgPath, Rules: rs})
	w := linksWorld{s: s, al: al, nadia: person("u-nadia", scope.NationalAnalyst, "ENG"), alice: person("u-alice", scope.OrgAnalyst, "RJ1")}
	if w.c, err = s.CreateCollection(ctx, w.nadia, CollectionOptions{Title: "National", TLPCeiling: stix.TLPRed}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GrantCollection(ctx, w.nadia, w.c.ID, GrantOptions{Org: "ENG", Read: true}); err != nil {
		t.Fatal(err)
	}
	mk := func(js string) *stix.Object {
		o, err := stix.Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	const ts = `"created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","spec_version":"2.1"`
	green := `"object_marking_refs":["` + stix.TLP2Green + `"]`
	ap := func(uuid, ext, name, desc string) *stix.Object {
		return mk(`{"type":"attack-pattern","id":"attack-pattern--` + uuid + `",` + ts + `,"name":"` + name + `","description":"` + desc + `",` +
			`"external_references":[{"source_name":"mitre-attack","external_id":"` + ext + `"}],"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}]}`)
	}
	w.t1059 = ap("aaaaaaaa-0000-4000-8000-000000000001", "T1059", "Command and Scripting Interpreter", "Adversaries may abuse interpreters, PowerShell among them.")
	w.t1059001 = ap("aaaaaaaa-0000-4000-8000-000000000002", "T1059.001", "PowerShell", "Adversaries may abuse PowerShell.")
	w.qak = mk(`{"type":"malware","id":"malware--bbbbbbbb-0000-4000-8000-000000000001",` + ts + `,"name":"QakBot","is_family":true,"aliases":["Qbot"],` +
		`"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}],` + green + `}`)
	uses := mk(`{"type":"relationship","id":"relationship--bbbbbbbb-0000-4000-8000-000000000002",` + ts + `,"relationship_type":"uses","source_ref":"` + w.qak.ID + `","target_ref":"` + w.t1059001.ID + `",` + green + `}`)
	w.green = mk(`{"type":"indicator","id":"indicator--cccccccc-0000-4000-8000-000000000001",` + ts + `,"name":"Loader C2","pattern":"[domain-name:value = 'c2.loader.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z",` + green + `}`)
	w.red = mk(`{"type":"indicator","id":"indicator--cccccccc-0000-4000-8000-000000000002",` + ts + `,"name":"Secret beacon","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","object_marking_refs":["` + stix.TLP2Red + `"]}`)
	w.described = mk(`{"type":"report","id":"report--dddddddd-0000-4000-8000-000000000001",` + ts + `,"name":"Weekly summary","published":"2026-12-01T00:00:00Z","description":"Loaders launched PowerShell again.","object_refs":["` + w.green.ID + `"],` + green + `}`)
	if _, err := s.ImportInto(ctx, w.nadia, w.c.ID, "national.json", []*stix.Object{w.t1059, w.t1059001, w.qak, uses, w.green, w.red, w.described}); err != nil {
		t.Fatal(err)
	}
	// Nadia's own collection, written by her alone.
	if w.nadiaOwn, err = s.CreateCollection(ctx, w.nadia, CollectionOptions{Title: "Nadia's", TLPCeiling: stix.TLPRed}); err != nil {
		t.Fatal(err)
	}
	return w
}

func ruleIDs(rs []RuleLink) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID+" "+r.Via)
	}
	slices.Sort(out)
	return out
}

// TestDetections: rules are linked to techniques by their tags, objects
// to techniques by their relationships and to tactics by their kill
// chain phases; a technique's page lists the rules of its parent and
// sub-techniques.
func TestDetections(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newLinksWorld(t, db)
		v, err := w.s.ObjectView(ctx, w.alice, w.qak.ID)
		if err != nil {
			t.Fatal(err)
		}
		d := v.Detections
		if len(d.Techniques) != 1 || d.Techniques[0].AttackID != "T1059.001" || d.Techniques[0].Via != "relationship uses" {
			t.Errorf("QakBot's techniques: %+v", d.Techniques)
		}
		want := []string{ruleSub + " T1059.001", ruleParent + " T1059 (parent of T1059.001)"}
		if got := ruleIDs(d.Rules); !slices.Equal(got, want) || !d.RulesRead {
			t.Errorf("QakBot's rules: %v, want %v", got, want)
		}
		if len(d.Tactics) != 1 || d.Tactics[0] != (TacticRules{"execution", 1}) {
			t.Errorf("QakBot's tactics: %+v", d.Tactics)
		}
		v, err = w.s.ObjectView(ctx, w.alice, w.t1059.ID)
		if err != nil {
			t.Fatal(err)
		}
		want = []string{ruleSub + " T1059.001 (sub-technique of T1059)", ruleParent + " T1059"}
		if got := ruleIDs(v.Detections.Rules); !slices.Equal(got, want) || v.Detections.Techniques[0].Via != "itself" {
			t.Errorf("T1059's rules: %v, want %v; %+v", got, want, v.Detections.Techniques)
		}
		// A rule's tags resolve to the techniques the reader may read.
		ts, err := w.s.TechniquesOf(ctx, w.alice, []string{"attack.execution", "attack.t1059.001", "attack.t1003"})
		if err != nil || len(ts) != 1 || ts[0].Object.ID != w.t1059001.ID {
			t.Errorf("techniques of a rule's tags: %+v %v", ts, err)
		}
		// Someone who reads no collection reads no technique.
		if ts, _ := w.s.TechniquesOf(ctx, scope.Scope{UserID: "u-x"}, []string{"attack.t1059.001"}); len(ts) != 0 {
			t.Errorf("a reader of nothing: %+v", ts)
		}
	}, audit.Migrations(), org.Migrations(), rules.Migrations(), Migrations())
}

// TestLink: an analyst links an indicator to a technique and to a rule;
// the links are relationships created by Vigil's identity in a
// collection the analyst writes, audited; a TLP:RED indicator's link
// is RED and shows only to its recipients.
func TestLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newLinksWorld(t, db)
		var inv *InvalidError
		// Alice reads the national collection but writes none.
		if _, err := w.s.Link(ctx, w.alice, w.green.ID, LinkRequest{Technique: "T1059.001"}); !errors.As(err, &inv) || inv.Field != "collection" {
			t.Errorf("alice links without a collection to write: %v", err)
		}
		for _, bad := range []LinkRequest{{}, {Technique: "T1059.001", Rule: ruleSub}, {Technique: "T99"}, {Technique: "T9999"}, {Rule: "no-such-rule"}} {
			if _, err := w.s.Link(ctx, w.nadia, w.green.ID, bad); !errors.As(err, &inv) {
				t.Errorf("link %+v: %v", bad, err)
			}
		}
		if _, err := w.s.Link(ctx, w.alice, w.red.ID, LinkRequest{Technique: "T1059"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("alice links the RED indicator she may not read: %v", err)
		}
		rel, err := w.s.Link(ctx, w.nadia, w.green.ID, LinkRequest{Technique: "t1059.001", Collection: w.c.ID})
		if err != nil {
			t.Fatal(err)
		}
		var by, typ string
		_, _ = rel.Get("created_by_ref", &by)
		_, _ = rel.Get("relationship_type", &typ)
		if by != VigilIdentity || typ != "indicates" {
			t.Errorf("the link: %s by %s", typ, by)
		}
		if _, err := w.s.Link(ctx, w.nadia, w.green.ID, LinkRequest{Rule: ruleOther}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.Link(ctx, w.nadia, w.red.ID, LinkRequest{Technique: w.t1059001.ID}); err != nil {
			t.Fatal(err)
		}
		v, err := w.s.ObjectView(ctx, w.alice, w.green.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{ruleSub + " T1059.001", ruleParent + " T1059 (parent of T1059.001)", ruleOther + " linked by hand"}
		if got := ruleIDs(v.Detections.Rules); !slices.Equal(got, want) || len(v.Detections.Techniques) != 1 || v.Detections.Techniques[0].Via != "relationship indicates" {
			t.Errorf("the indicator's detections: %v (want %v) %+v", got, want, v.Detections.Techniques)
		}
		for who, n := range map[string]int{"alice": 1, "nadia": 2} {
			sc := map[string]scope.Scope{"alice": w.alice, "nadia": w.nadia}[who]
			v, err := w.s.ObjectView(ctx, sc, w.t1059001.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Detections.Indicators) != n || v.Detections.Indicators[0].ID != w.green.ID && v.Detections.Indicators[len(v.Detections.Indicators)-1].ID != w.green.ID {
				t.Errorf("%s: the technique's indicators %+v", who, v.Detections.Indicators)
			}
		}
		// The rule is an indicator of pattern_type sigma that the matcher leaves alone.
		found, err := w.s.Search(ctx, w.alice, "Dumper", "indicator", 5)
		if err != nil || len(found) != 1 || found[0].RuleID != ruleOther {
			t.Errorf("the rule's indicator: %+v %v", found, err)
		}
		entries, _, err := w.al.List(ctx, scope.System("test"), audit.Filter{Action: "intel.object.link"})
		if err != nil || len(entries) != 3 {
			t.Errorf("audited links: %d %v", len(entries), err)
		}
	}, audit.Migrations(), org.Migrations(), rules.Migrations(), Migrations())
}

// TestEditIndicator: a new version with the changes, in the collections
// the editor writes; refused to a reader, and for bad values.
func TestEditIndicator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newLinksWorld(t, db)
		forty, until, labels := 40, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), []string{"loader", " c2 ", "loader"}
		var inv *InvalidError
		if _, err := w.s.EditIndicator(ctx, w.alice, w.green.ID, IndicatorEdit{Confidence: &forty}); !errors.As(err, &inv) || inv.Field != "collection" {
			t.Errorf("alice edits: %v", err)
		}
		bad, early := 101, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, e := range []IndicatorEdit{{}, {Confidence: &bad}, {ValidUntil: &early}, {Labels: &[]string{"a\x00b"}}} {
			if _, err := w.s.EditIndicator(ctx, w.nadia, w.green.ID, e); !errors.As(err, &inv) {
				t.Errorf("edit %+v: %v", e, err)
			}
		}
		if _, err := w.s.EditIndicator(ctx, w.nadia, w.qak.ID, IndicatorEdit{Confidence: &forty}); !errors.As(err, &inv) || inv.Field != "id" {
			t.Errorf("edit malware: %v", err)
		}
		nv, err := w.s.EditIndicator(ctx, w.nadia, w.green.ID, IndicatorEdit{Confidence: &forty, ValidUntil: &until, Labels: &labels})
		if err != nil {
			t.Fatal(err)
		}
		vs, _ := w.s.Versions(ctx, w.green.ID)
		got, _ := w.s.Get(ctx, w.green.ID)
		var conf int
		var ls []string
		var vu, name string
		_, _ = got.Get("confidence", &conf)
		_, _ = got.Get("labels", &ls)
		_, _ = got.Get("valid_until", &vu)
		_, _ = got.Get("name", &name)
		if len(vs) != 2 || !got.Version().Equal(nv.Version()) || conf != 40 || strings.Join(ls, ",") != "loader,c2" || vu != "2027-01-01T00:00:00.000Z" || name != "Loader C2" {
			t.Errorf("the new version: %d versions, confidence %d labels %v valid_until %s name %s", len(vs), conf, ls, vu, name)
		}
		// Alice reads the new version through the collection.
		v, err := w.s.ObjectView(ctx, w.alice, w.green.ID)
		if err != nil || !v.Object.Version().Equal(nv.Version()) {
			t.Errorf("alice's view: %v %v", v.Object, err)
		}
		// Removing.
		none := -1
		if _, err := w.s.EditIndicator(ctx, w.nadia, w.green.ID, IndicatorEdit{Confidence: &none, Labels: &[]string{}}); err != nil {
			t.Fatal(err)
		}
		got, _ = w.s.Get(ctx, w.green.ID)
		if _, ok := got.Props["confidence"]; ok {
			t.Errorf("confidence kept: %s", got.Props["confidence"])
		}
		if _, ok := got.Props["labels"]; ok {
			t.Errorf("labels kept")
		}
		if es, _, err := w.al.List(ctx, scope.System("test"), audit.Filter{Action: "intel.object.edit"}); err != nil || len(es) != 2 {
			t.Errorf("audited edits: %d %v", len(es), err)
		}
	}, audit.Migrations(), org.Migrations(), rules.Migrations(), Migrations())
}

// TestSearchIndex: words of names, aliases, descriptions, values and
// external ids are found by their beginnings; names come before
// descriptions; an index emptied (a store from before it) is filled
// again on the first search.
func TestSearchIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newLinksWorld(t, db)
		ids := func(q, typ string) []string {
			t.Helper()
			found, err := w.s.Search(ctx, w.alice, q, typ, 50)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, f := range found {
				out = append(out, f.ID)
			}
			return out
		}
		check := func() {
			t.Helper()
			for _, c := range []struct {
				q, typ string
				want   []string
			}{
				{"qbot", "", []string{w.qak.ID}},           // an alias
				{"QAK", "malware", []string{w.qak.ID}},     // a prefix
				{"qak", "indicator", nil},                  // of another type
				{"t1059.001", "", []string{w.t1059001.ID}}, // an external id
				{"T1059", "attack-pattern", []string{w.t1059.ID, w.t1059001.ID}},
				{"c2.loader.example", "", []string{w.green.ID}}, // a pattern's value
				{"c2.loader.ex", "", []string{w.green.ID}},      // its beginning
				{"loader c2", "", []string{w.green.ID}},
				{"loade", "", []string{w.green.ID, w.described.ID}}, // a name, and a description's "Loaders"
				{"198.51.100.7", "", nil},                           // RED: not alice's
				{"indicator--cccccccc-0000-4000-8000-00000000000", "", []string{w.green.ID}},
				{"xample", "", nil}, // not a beginning
			} {
				got := ids(c.q, c.typ)
				slices.Sort(got)
				want := slices.Clone(c.want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("search %q %q: %v, want %v", c.q, c.typ, got, c.want)
				}
			}
			// Named PowerShell before described with it.
			got := ids("powershell", "")
			if len(got) != 3 || got[0] != w.t1059001.ID || !slices.Contains(got[1:], w.described.ID) || !slices.Contains(got[1:], w.t1059.ID) {
				t.Errorf("powershell: %v", got)
			}
		}
		check()
		// As if the store were older than the index.
		if _, err := db.Q().ExecContext(ctx, `DELETE FROM intel_search_tokens`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Q().ExecContext(ctx, `DELETE FROM intel_search_state`); err != nil {
			t.Fatal(err)
		}
		w.s, _ = New(Options{DB: db, OrgPath: orgPath})
		check()
	}, audit.Migrations(), org.Migrations(), rules.Migrations(), Migrations())
}
