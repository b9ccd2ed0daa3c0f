package assurance

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The CISO Assistant library format (intuitem/ciso-assistant-community,
// backend/library/libraries):
//
//	urn, ref_id, name, description, copyright, version, provider, …
//	objects:
//	  framework:
//	    urn, ref_id, name, description
//	    implementation_groups_definition: [{ref_id, name, description}]
//	    requirement_nodes:                 a flat list, parents first
//	    - {urn, parent_urn, depth, assessable, ref_id, name, description,
//	       implementation_groups: [ref_id…]}
//
// A node's key is its URN (some libraries give no ref_id). Assessable
// nodes are requirements; the others are sections. Each implementation
// group becomes a profile listing the requirements it includes. The
// library has no outcomes, indicator levels or rules; a library of
// reference controls only (no objects.framework) is refused.

func (p *parser) ciso(root *yaml.Node) (*Set, error) {
	urn, err := p.need(root, "urn", "")
	if err != nil {
		return nil, err
	}
	version, err := p.need(root, "version", "")
	if err != nil {
		return nil, err
	}
	name, err := p.need(root, "name", "")
	if err != nil {
		return nil, err
	}
	set := &Set{Key: urn, Version: version, Name: name, Format: FormatCISO}
	short := urn
	if i := strings.LastIndex(urn, ":"); i >= 0 && i+1 < len(urn) {
		short = urn[i+1:]
	}
	set.ID = short + "@" + version
	if set.Description, err = p.str(root, "description", ""); err != nil {
		return nil, err
	}
	if set.Provider, err = p.str(root, "provider", ""); err != nil {
		return nil, err
	}
	if set.Copyright, err = p.str(root, "copyright", ""); err != nil {
		return nil, err
	}
	objects := p.get(root, "objects")
	if objects == nil || objects.Kind != yaml.MappingNode {
		return nil, p.errAt(objects, "objects", "must be a mapping holding framework")
	}
	fw := p.get(objects, "framework")
	if fw == nil {
		return nil, p.errAt(objects, "objects", "has no framework: this library holds no requirements (a catalogue of reference controls or threats is not a requirement set)")
	}
	if fw.Kind != yaml.MappingNode {
		return nil, p.errAt(fw, "objects.framework", "must be a mapping")
	}
	groups := map[string]int{}
	if ig := p.get(fw, "implementation_groups_definition"); ig != nil {
		if ig.Kind != yaml.SequenceNode {
			return nil, p.errAt(ig, "objects.framework.implementation_groups_definition", "must be a list")
		}
		for i, g := range ig.Content {
			g = p.resolve(g)
			path := "objects.framework.implementation_groups_definition[" + strconv.Itoa(i) + "]"
			if g == nil || g.Kind != yaml.MappingNode {
				return nil, p.errAt(g, path, "must be a mapping with ref_id and name")
			}
			ref, err := p.need(g, "ref_id", path)
			if err != nil {
				return nil, err
			}
			if _, dup := groups[ref]; dup {
				return nil, p.errAt(g, path, "implementation group %q is defined twice", ref)
			}
			title, err := p.str(g, "name", path)
			if err != nil {
				return nil, err
			}
			desc, err := p.str(g, "description", path)
			if err != nil {
				return nil, err
			}
			groups[ref] = len(set.Profiles)
			set.Profiles = append(set.Profiles, Profile{Name: ref, Title: title, Description: desc})
		}
	}
	nodes := p.get(fw, "requirement_nodes")
	if nodes == nil || nodes.Kind != yaml.SequenceNode {
		return nil, p.errAt(fw, "objects.framework.requirement_nodes", "must be a list of requirement nodes")
	}
	if len(nodes.Content) == 0 {
		return nil, p.errAt(nodes, "objects.framework.requirement_nodes", "is empty")
	}
	seen := make(map[string]int, len(nodes.Content))
	for i, raw := range nodes.Content {
		n := p.resolve(raw)
		path := "objects.framework.requirement_nodes[" + strconv.Itoa(i) + "]"
		if n == nil || n.Kind != yaml.MappingNode {
			return nil, p.errAt(raw, path, "must be a mapping")
		}
		key, err := p.need(n, "urn", path)
		if err != nil {
			return nil, err
		}
		path += " (" + key + ")"
		if _, dup := seen[key]; dup {
			return nil, p.errAt(p.get(n, "urn"), path, "urn %q is used twice", key)
		}
		parent, err := p.str(n, "parent_urn", path)
		if err != nil {
			return nil, err
		}
		depth := 1
		if parent != "" {
			pi, ok := seen[parent]
			if !ok {
				return nil, p.errAt(p.get(n, "parent_urn"), join(path, "parent_urn"), "%q is not a node listed before this one", parent)
			}
			depth = set.Nodes[pi].Depth + 1
		}
		if d := p.get(n, "depth"); d != nil {
			v, err := strconv.Atoi(d.Value)
			if d.Kind != yaml.ScalarNode || err != nil || v < 1 {
				return nil, p.errAt(d, join(path, "depth"), "must be a whole number from 1")
			}
			if v != depth {
				return nil, p.errAt(d, join(path, "depth"), "is %d but the node's parents make it %d", v, depth)
			}
		}
		assessable := false
		if a := p.get(n, "assessable"); a != nil {
			if a.Kind != yaml.ScalarNode || (a.Value != "true" && a.Value != "false") {
				return nil, p.errAt(a, join(path, "assessable"), "must be true or false")
			}
			assessable = a.Value == "true"
		}
		ref, err := p.str(n, "ref_id", path)
		if err != nil {
			return nil, err
		}
		nm, err := p.str(n, "name", path)
		if err != nil {
			return nil, err
		}
		desc, err := p.str(n, "description", path)
		if err != nil {
			return nil, err
		}
		kind := KindSection
		if assessable {
			kind = KindRequirement
		}
		seen[key] = len(set.Nodes)
		set.Nodes = append(set.Nodes, Node{Key: key, Ref: ref, Parent: parent, Kind: kind, Depth: depth, Name: nm, Description: desc, Assessable: assessable})
		if ig := p.get(n, "implementation_groups"); ig != nil {
			if ig.Kind != yaml.SequenceNode {
				return nil, p.errAt(ig, join(path, "implementation_groups"), "must be a list")
			}
			for _, g := range ig.Content {
				g = p.resolve(g)
				if g == nil || g.Kind != yaml.ScalarNode {
					return nil, p.errAt(ig, join(path, "implementation_groups"), "must list group ref_ids")
				}
				gi, ok := groups[g.Value]
				if !ok {
					return nil, p.errAt(g, join(path, "implementation_groups"), "%q is not in implementation_groups_definition", g.Value)
				}
				if t := set.Profiles[gi].Targets; len(t) > 0 && t[len(t)-1].Node == key {
					continue // listed twice on one node
				}
				set.Profiles[gi].Targets = append(set.Profiles[gi].Targets, Target{Node: key, Level: InScope})
			}
		}
	}
	return set, nil
}
