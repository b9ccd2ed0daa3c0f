package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/misp"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Links between intelligence, ATT&CK and detection (issue 19 item 9).
//
// An ATT&CK technique is an attack-pattern object whose external
// reference from MITRE (source_name mitre-attack, mitre-ics-attack or
// mitre-mobile-attack) gives its ID, T1059 or T1059.001. A Sigma rule
// Vigil runs is linked to the techniques its attack.tNNNN[.NNN] tags
// name, and to the tactics its other attack.* tags name. An object is
// linked to techniques:
//
//   - an attack-pattern to itself;
//   - any other object to the attack-patterns at the other end of its
//     relationships (imported ones, or those an analyst adds with Link);
//   - and to the tactics its kill_chain_phases name in a MITRE chain.
//
// Its detecting rules are the rules tagged with one of its techniques,
// with the parent technique of one of them, or with a sub-technique of
// one; and the rules linked to it by hand (a relationship to the
// indicator that stands for a Sigma rule: pattern_type sigma, external
// id the rule's id). Rules are read through rules.Service (RuleSource),
// never from its tables; objects through ReadCollection, so a page shows
// a technique or an indicator only to those who may read it.

// RuleSource is the Sigma rules Vigil runs: rules.Service.
type RuleSource interface {
	List(ctx context.Context, sc scope.Scope, f rules.ListFilter) ([]rules.Rule, error)
	Get(ctx context.Context, sc scope.Scope, id string) (rules.Detail, error)
}

// VigilIdentity is the id of Vigil's own identity: the creator of the
// relationships and rule indicators analysts make in Vigil.
var VigilIdentity = "identity--" + misp.NameUUID("vigil")

var (
	techniqueID  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[Tt]\d{4}(\.\d{3})?$`) })
	techniqueTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`) })
)

// attackSources are the source_names of MITRE's external references.
var attackSources = []string{"mitre-attack", "mitre-ics-attack", "mitre-mobile-attack"}

// attackIDOf is an attack-pattern's ATT&CK ID ("" for none).
func attackIDOf(o *stix.Object) string {
	if o.Type != "attack-pattern" {
		return ""
	}
	var refs []struct {
		Source     string `json:"source_name"`
		ExternalID string `json:"external_id"`
	}
	if ok, err := o.Get("external_references", &refs); !ok || err != nil {
		return ""
	}
	for _, r := range refs {
		if slices.Contains(attackSources, r.Source) && techniqueID().MatchString(r.ExternalID) {
			return strings.ToUpper(r.ExternalID)
		}
	}
	return ""
}

// ruleIDOf is the Sigma rule id of an indicator that stands for a rule.
func ruleIDOf(o *stix.Object) string {
	if o.Type != "indicator" {
		return ""
	}
	var pt string
	if _, err := o.Get("pattern_type", &pt); err != nil || pt != "sigma" {
		return ""
	}
	var refs []struct {
		Source     string `json:"source_name"`
		ExternalID string `json:"external_id"`
	}
	_, _ = o.Get("external_references", &refs) // none: no rule
	for _, r := range refs {
		if r.Source == "sigma" && r.ExternalID != "" {
			return r.ExternalID
		}
	}
	return ""
}

// tacticsOf are the MITRE tactics an object's kill_chain_phases name.
func tacticsOf(o *stix.Object) []string {
	var phases []struct {
		Chain string `json:"kill_chain_name"`
		Phase string `json:"phase_name"`
	}
	if ok, err := o.Get("kill_chain_phases", &phases); !ok || err != nil {
		return nil
	}
	var out []string
	for _, p := range phases {
		if slices.Contains(attackSources, p.Chain) && p.Phase != "" && !slices.Contains(out, p.Phase) {
			out = append(out, p.Phase)
		}
	}
	return out
}

// TechniqueLink is an ATT&CK technique an object is linked to.
type TechniqueLink struct {
	// AttackID is T1059 or T1059.001.
	AttackID string `json:"attack_id"`
	// Object is the attack-pattern.
	Object Summary `json:"object"`
	// Via says how: "itself" or "relationship uses" (the relationship's type).
	Via string `json:"via"`
}

// RuleLink is a Sigma rule that detects what an object is linked to.
type RuleLink struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Level string `json:"level"`
	// Via says why: "T1059.001", "T1059 (parent of T1059.001)",
	// "T1059.001 (sub-technique of T1059)" or "linked by hand".
	Via string `json:"via"`
}

// TacticRules counts the rules tagged with a tactic an object's
// kill_chain_phases name.
type TacticRules struct {
	Tactic string `json:"tactic"`
	Rules  int    `json:"rules"`
}

// Detections are an object's links to ATT&CK and to the rules.
type Detections struct {
	Techniques []TechniqueLink `json:"techniques"`
	Tactics    []TacticRules   `json:"tactics"`
	Rules      []RuleLink      `json:"rules"`
	// Indicators are, for a technique, the indicators related to it.
	Indicators []Summary `json:"indicators"`
	// RulesRead is false when the rules could not be read for the
	// caller (no RuleSource, or no role to read them).
	RulesRead bool `json:"rules_read"`
}

// maxDetectingRules caps the rules listed for one object.
const maxDetectingRules = 200

// rulesByTag reads every rule with an attack.* tag, by tag (lower case).
func (s *Store) rulesByTag(ctx context.Context, sc scope.Scope) (map[string][]rules.Rule, error) {
	m := map[string][]rules.Rule{}
	after := ""
	for {
		rs, err := s.rules.List(ctx, sc, rules.ListFilter{Query: "attack.", After: after, Limit: rules.MaxPage})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			for _, t := range r.Tags {
				t = strings.ToLower(t)
				if strings.HasPrefix(t, "attack.") {
					m[t] = append(m[t], r)
				}
			}
		}
		if len(rs) < rules.MaxPage {
			return m, nil
		}
		after = rs[len(rs)-1].ID
	}
}

// detections works out an object's links from its view's relations.
func (s *Store) detections(ctx context.Context, sc scope.Scope, v *ObjectView) (Detections, error) {
	d := Detections{Techniques: []TechniqueLink{}, Tactics: []TacticRules{}, Rules: []RuleLink{}, Indicators: []Summary{}}
	o := v.Object
	var byHand []string
	if id := attackIDOf(o); id != "" {
		d.Techniques = append(d.Techniques, TechniqueLink{AttackID: id, Object: v.Summary, Via: "itself"})
	}
	for _, r := range v.Relations {
		switch {
		case r.Other.AttackID != "" && o.Type != "attack-pattern":
			if !slices.ContainsFunc(d.Techniques, func(t TechniqueLink) bool { return t.Object.ID == r.Other.ID }) {
				d.Techniques = append(d.Techniques, TechniqueLink{AttackID: r.Other.AttackID, Object: r.Other, Via: "relationship " + r.Type})
			}
		case r.Other.RuleID != "":
			byHand = append(byHand, r.Other.RuleID)
		case o.Type == "attack-pattern" && r.Other.Type == "indicator":
			if !slices.ContainsFunc(d.Indicators, func(x Summary) bool { return x.ID == r.Other.ID }) {
				d.Indicators = append(d.Indicators, r.Other)
			}
		}
	}
	slices.SortFunc(d.Techniques, func(a, b TechniqueLink) int { return strings.Compare(a.AttackID, b.AttackID) })
	tactics := []string{}
	if o.Type != "attack-pattern" {
		tactics = tacticsOf(o)
	}
	if s.rules == nil || !sc.Can(scope.Read) {
		for _, t := range tactics {
			d.Tactics = append(d.Tactics, TacticRules{Tactic: t})
		}
		return d, nil
	}
	byTag, err := s.rulesByTag(ctx, sc)
	if err != nil {
		return d, err
	}
	d.RulesRead = true
	seen := map[string]bool{}
	add := func(r rules.Rule, via string) {
		if !seen[r.ID] && len(d.Rules) < maxDetectingRules {
			seen[r.ID] = true
			d.Rules = append(d.Rules, RuleLink{ID: r.ID, Title: r.Title, Level: orLevel(r.LevelOverride, r.Level), Via: via})
		}
	}
	for _, id := range byHand {
		rd, err := s.rules.Get(ctx, sc, id)
		if err != nil {
			continue // a rule since removed: the relationship stays, the link goes
		}
		add(rd.Rule, "linked by hand")
	}
	for _, t := range d.Techniques {
		low := strings.ToLower(t.AttackID)
		for _, r := range byTag["attack."+low] {
			add(r, t.AttackID)
		}
		if parent, _, ok := strings.Cut(low, "."); ok {
			for _, r := range byTag["attack."+parent] {
				add(r, strings.ToUpper(parent)+" (parent of "+t.AttackID+")")
			}
		}
	}
	// Sub-techniques of a technique, in tag order.
	var subTags []string
	for tag := range byTag {
		if techniqueTag().MatchString(tag) && strings.Contains(tag, ".t") && strings.Count(tag, ".") == 2 {
			subTags = append(subTags, tag)
		}
	}
	slices.Sort(subTags)
	for _, t := range d.Techniques {
		if strings.Contains(t.AttackID, ".") {
			continue
		}
		for _, tag := range subTags {
			if strings.HasPrefix(tag, "attack."+strings.ToLower(t.AttackID)+".") {
				sub := strings.ToUpper(strings.TrimPrefix(tag, "attack."))
				for _, r := range byTag[tag] {
					add(r, sub+" (sub-technique of "+t.AttackID+")")
				}
			}
		}
	}
	for _, t := range tactics {
		d.Tactics = append(d.Tactics, TacticRules{Tactic: t, Rules: len(byTag["attack."+strings.ReplaceAll(strings.ToLower(t), "-", "_")])})
	}
	return d, nil
}

func orLevel(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Detections is an object's links to ATT&CK and the rules detecting it,
// for a caller who may read it (ErrNotFound otherwise).
func (s *Store) Detections(ctx context.Context, sc scope.Scope, id string) (Detections, error) {
	v, err := s.ObjectView(ctx, sc, id)
	if err != nil {
		return Detections{}, err
	}
	return v.Detections, nil
}

// FindTechnique is the attack-pattern with ATT&CK ID attackID among
// those the caller may read (ErrNotFound when none).
func (s *Store) FindTechnique(ctx context.Context, sc scope.Scope, attackID string) (Summary, error) {
	if !techniqueID().MatchString(attackID) {
		return Summary{}, &InvalidError{"technique", fmt.Sprintf("%q is not an ATT&CK technique ID (T1059 or T1059.001)", attackID)}
	}
	found, err := s.Search(ctx, sc, attackID, "attack-pattern", 20)
	if err != nil {
		return Summary{}, err
	}
	for _, f := range found {
		if f.AttackID == strings.ToUpper(attackID) && !f.Revoked {
			return f, nil
		}
	}
	return Summary{}, ErrNotFound
}

// TechniquesOf resolves a rule's tags to the attack-patterns the caller
// may read: those its attack.tNNNN[.NNN] tags name, in tag order (a tag
// whose technique is not in the caller's collections is left out).
func (s *Store) TechniquesOf(ctx context.Context, sc scope.Scope, tags []string) ([]TechniqueLink, error) {
	out := []TechniqueLink{}
	for _, t := range tags {
		t = strings.ToLower(t)
		if !techniqueTag().MatchString(t) {
			continue
		}
		id := strings.ToUpper(strings.TrimPrefix(t, "attack."))
		sm, err := s.FindTechnique(ctx, sc, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, TechniqueLink{AttackID: id, Object: sm, Via: "tag " + t})
	}
	return out, nil
}

// readable is the latest version of an object the caller may read and
// the caller's collections that give it to them.
func (s *Store) readable(ctx context.Context, sc scope.Scope, id string) (*stix.Object, []Collection, error) {
	cs, err := s.Collections(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	var obj *stix.Object
	var in []Collection
	for _, c := range cs {
		if !c.CanRead {
			continue
		}
		p, _, err := s.ReadCollection(ctx, sc, c.ID, Query{IDs: []string{id}, Limit: 1})
		if err != nil {
			return nil, nil, err
		}
		if len(p.Entries) == 0 {
			continue
		}
		if o := p.Entries[0].Object; obj == nil || o.Version().After(obj.Version()) {
			obj = o
		}
		in = append(in, c)
	}
	if obj == nil {
		return nil, nil, ErrNotFound
	}
	return obj, in, nil
}

// writableOf picks the collection a change to an object goes into: the
// one named (which must hold the object... or at least be writable by
// the caller), else the first the caller may write among those holding it.
func (s *Store) writableOf(ctx context.Context, sc scope.Scope, named string, holding []Collection) (Collection, error) {
	if named != "" {
		c, err := s.GetCollection(ctx, sc, named)
		if errors.Is(err, ErrCollectionNotFound) {
			return Collection{}, &InvalidError{"collection", fmt.Sprintf("%q is not a collection you hold", named)}
		}
		if err != nil {
			return Collection{}, err
		}
		if !c.CanWrite {
			return Collection{}, &InvalidError{"collection", fmt.Sprintf("you may not add to collection %q", c.Title)}
		}
		return c, nil
	}
	for _, c := range holding {
		if c.CanWrite {
			return c, nil
		}
	}
	return Collection{}, &InvalidError{"collection", "you may not add to any collection holding this object; name one you may write"}
}

// LinkRequest asks for a link from an indicator, malware or intrusion
// set to a technique or to a Sigma rule (exactly one of them).
type LinkRequest struct {
	// Technique is an ATT&CK ID (T1059.001) or an attack-pattern's id.
	Technique string `json:"technique,omitempty"`
	// Rule is a Sigma rule's id, as Vigil stores it.
	Rule string `json:"rule,omitempty"`
	// Collection is where the relationship goes: a collection the
	// caller may write; "" is the first they may write holding the object.
	Collection string `json:"collection,omitempty"`
}

// linkable are the types an analyst may link by hand, and the
// relationship each makes to a technique.
var linkable = map[string]string{"indicator": "indicates", "malware": "uses", "intrusion-set": "uses", "campaign": "uses", "threat-actor": "uses", "tool": "uses"}

// Linkable reports whether objects of a type may be linked by hand.
func Linkable(typ string) bool { _, ok := linkable[typ]; return ok }

// Link adds a relationship from an object the caller may read (an
// indicator, malware, intrusion set, campaign, threat actor or tool) to
// an ATT&CK technique they may read, or to a Sigma rule: the rule is
// stored as an indicator of pattern_type sigma (its id derived from the
// rule's, its pattern the rule's text, marked TLP:GREEN), and the
// relationship is related-to. The relationship is created by Vigil's
// identity, carries the object's markings (so a TLP:RED indicator's
// link is TLP:RED, its creator a recipient), goes into a collection the
// caller may write, and is audited as intel.object.link.
func (s *Store) Link(ctx context.Context, sc scope.Scope, from string, req LinkRequest) (*stix.Object, error) {
	req.Technique, req.Rule = strings.TrimSpace(req.Technique), strings.TrimSpace(req.Rule)
	if (req.Technique == "") == (req.Rule == "") {
		return nil, &InvalidError{"technique", "give a technique or a rule (one of them)"}
	}
	src, holding, err := s.readable(ctx, sc, from)
	if err != nil {
		return nil, err
	}
	relType, ok := linkable[src.Type]
	if !ok {
		return nil, &InvalidError{"id", fmt.Sprintf("a %s cannot be linked to techniques or rules (an indicator, malware, intrusion set, campaign, threat actor or tool can)", src.Type)}
	}
	if src.Revoked {
		return nil, &InvalidError{"id", "the object is revoked"}
	}
	c, err := s.writableOf(ctx, sc, req.Collection, holding)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	identity, err := vigilIdentity()
	if err != nil {
		return nil, err
	}
	objs := []*stix.Object{identity}
	var target, targetName string
	switch {
	case req.Technique != "":
		if strings.HasPrefix(req.Technique, "attack-pattern--") {
			t, _, err := s.readable(ctx, sc, req.Technique)
			if errors.Is(err, ErrNotFound) {
				return nil, &InvalidError{"technique", fmt.Sprintf("no attack-pattern %s that you may read", req.Technique)}
			}
			if err != nil {
				return nil, err
			}
			target, targetName = t.ID, attackIDOf(t)
		} else {
			sm, err := s.FindTechnique(ctx, sc, req.Technique)
			if errors.Is(err, ErrNotFound) {
				return nil, &InvalidError{"technique", fmt.Sprintf("no ATT&CK technique %s in the collections you read (import ATT&CK first)", strings.ToUpper(req.Technique))}
			}
			if err != nil {
				return nil, err
			}
			target, targetName = sm.ID, sm.AttackID
		}
	default:
		if s.rules == nil {
			return nil, &InvalidError{"rule", "this server does not read Sigma rules"}
		}
		rd, err := s.rules.Get(ctx, sc, req.Rule)
		if errors.Is(err, fault.ErrNotFound) {
			return nil, &InvalidError{"rule", fmt.Sprintf("no Sigma rule %q", req.Rule)}
		}
		if err != nil {
			return nil, err
		}
		ri, err := ruleIndicator(rd)
		if err != nil {
			return nil, err
		}
		objs = append(objs, ri)
		target, targetName, relType = ri.ID, "rule "+rd.ID, "related-to"
	}
	rel := map[string]any{"type": "relationship", "spec_version": "2.1",
		"id":      "relationship--" + misp.NameUUID("vigil-link:"+src.ID+" "+relType+" "+target),
		"created": stix.FormatTimestamp(now), "modified": stix.FormatTimestamp(now), "created_by_ref": VigilIdentity,
		"relationship_type": relType, "source_ref": src.ID, "target_ref": target}
	var marks []string
	if ok, err := src.Get("object_marking_refs", &marks); ok && err == nil && len(marks) > 0 {
		rel["object_marking_refs"] = marks
	}
	ro, err := parseMap(rel)
	if err != nil {
		return nil, err
	}
	// A link made again is a new version of the same relationship.
	if old, err := s.Get(ctx, ro.ID); err == nil && !old.Version().Before(now) {
		now = old.Version().Add(time.Millisecond)
		rel["modified"] = stix.FormatTimestamp(now)
		if ro, err = parseMap(rel); err != nil {
			return nil, err
		}
	}
	objs = append(objs, ro)
	pendingOrg, err := pendingFor(sc, c)
	if err != nil {
		return nil, err
	}
	_, err = s.importTx(ctx, sc, "vigil link", c.ID, pendingOrg, objs, func(tx *store.Tx, _ Report) error {
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.object.link", ObjectType: "stix-object", ObjectID: src.ID,
			After: map[string]any{"relationship": ro.ID, "relationship_type": relType, "target": target, "target_name": targetName, "collection": c.ID}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return ro, nil
}

func parseMap(m map[string]any) (*stix.Object, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return stix.Parse(b)
}

// vigilIdentity is Vigil's identity object (one version, unmarked).
func vigilIdentity() (*stix.Object, error) {
	epoch := stix.FormatTimestamp(time.Unix(0, 0))
	return parseMap(map[string]any{"type": "identity", "spec_version": "2.1", "id": VigilIdentity, "created": epoch, "modified": epoch,
		"name": "Vigil", "identity_class": "system", "description": "The Vigil platform: links and edits analysts make in it."})
}

// ruleIndicator is the indicator standing for a stored Sigma rule: its
// id derived from the rule's, one version per version of the rule.
func ruleIndicator(rd rules.Detail) (*stix.Object, error) {
	created := rd.UpdatedAt
	for _, v := range rd.Versions {
		if v.ChangedAt.Before(created) {
			created = v.ChangedAt
		}
	}
	return parseMap(map[string]any{"type": "indicator", "spec_version": "2.1", "id": "indicator--" + misp.NameUUID("vigil-sigma-rule:"+rd.ID),
		"created": stix.FormatTimestamp(created), "modified": stix.FormatTimestamp(rd.UpdatedAt), "created_by_ref": VigilIdentity,
		"name": rd.Title, "pattern_type": "sigma", "pattern": rd.YAML, "valid_from": stix.FormatTimestamp(created),
		"external_references": []map[string]string{{"source_name": "sigma", "external_id": rd.ID}},
		"object_marking_refs": []string{stix.TLP2Green}})
}
