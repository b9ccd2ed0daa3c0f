package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The legacy sigmac configuration format, read into the same model:
//
//	title: …            → Name
//	order: 20           → Priority
//	fieldmappings:      → field_name_mapping items, first:
//	  Image: NewProcessName          one to one
//	  dst_ip: [destination.ip, …]    one to many
//	  Image:                         conditional: one item per condition,
//	    service=security: Process    on the log source (product, category,
//	    EventID=4688: NewProcessName service) or on a detection item; the
//	    default: Image               default applies when none did
//	logsources:         → per log source, after the field mappings:
//	  name:
//	    product/category/service: the log source it is for
//	    conditions: {field: value or list}   → add_condition (names final,
//	                                           not field-mapped, as sigmac)
//	    rewrite: {product: …, service: …}    → change_logsource, last
//	    fieldmappings: {…}                   → field_name_mapping for it
//	excludedfields: [f…] → detection_item_failure on those fields
//
// Several entries for the same log source are alternatives (THOR's
// process_creation is Sysmon 1 or Security 4688): their conditions merge
// per field into one add_condition, and a field one alternative maps and
// another does not maps to both names. Backend-only keys (index,
// defaultindex, search, overrides…) are recorded as Notes.

type sigmacSource struct {
	name    string
	key     *yaml.Node
	ls      LogSource
	conds   []Condition
	rewrite *LogSource
	fields  map[string][]string
	fnames  []string
}

func (ps *parser) sigmac(root *yaml.Node) *Pipeline {
	p := &Pipeline{Format: "sigmac", Vars: map[string][]string{}}
	var fieldItems, lsMapItems, condItems, rewriteItems, exclItems []*Item
	for _, kv := range ps.pairs(root) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "title":
			p.Name, _ = ps.scalar(v, "title")
		case "order":
			s, ok := ps.scalar(v, "order")
			if ok && s != "" {
				n, err := strconv.Atoi(s)
				if err != nil {
					ps.errf(v, "order", "want a whole number, got %q", s)
				}
				p.Priority = n
			}
		case "backends":
			p.AllowedBackends, _ = ps.scalars(v, "backends")
		case "fieldmappings":
			fieldItems = ps.sigmacFieldMappings(p, k, v)
		case "logsources":
			lsMapItems, condItems, rewriteItems = ps.sigmacLogsources(p, v)
		case "excludedfields":
			fields, _ := ps.scalars(v, "excludedfields")
			for _, f := range fields {
				exclItems = append(exclItems, &Item{ID: "excludedfields." + f, Type: "detection_item_failure", Pos: ps.pos(v),
					Transformation: DetectionItemFailure{Message: fmt.Sprintf("field %q is in excludedfields: the configuration's events have no such field", f)},
					FieldConds:     Conditions[FieldCondition]{List: []FieldCondition{FieldsCondition{Plain: []string{f}}}}})
			}
		case "defaultindex":
			p.Notes = append(p.Notes, Note{Pos: ps.pos(k), What: k.Value, Reason: "names a backend's index; a matching engine reads the events it is given"})
		case "overrides":
			p.Notes = append(p.Notes, Note{Pos: ps.pos(k), What: k.Value, Reason: "rewrites a backend's query text by regular expression; a matching engine produces no query"})
		case "exclusion":
			p.Notes = append(p.Notes, Note{Pos: ps.pos(k), What: k.Value, Reason: "excludes rules by ID for one backend; disable rules per organisation in Vigil instead"})
		default:
			p.Notes = append(p.Notes, Note{Pos: ps.pos(k), What: k.Value, Reason: "backend-specific setting, not a field mapping or log-source condition"})
		}
	}
	// Excluded fields fail before mapping renames them.
	p.Items = append(p.Items, exclItems...)
	p.Items = append(p.Items, fieldItems...)
	p.Items = append(p.Items, lsMapItems...)
	p.Items = append(p.Items, condItems...)
	p.Items = append(p.Items, rewriteItems...)
	return p
}

func (ps *parser) sigmacFieldMappings(p *Pipeline, key, v *yaml.Node) []*Item {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		ps.errf(v, "fieldmappings", "want a mapping of field names, got %s", kindName(v))
		return nil
	}
	simple := FieldNameMapping{Mapping: map[string][]string{}}
	var cond []*Item
	for _, kv := range ps.pairs(v) {
		field, val := kv[0].Value, kv[1]
		path := "fieldmappings." + field
		switch {
		case isNull(val):
			p.Notes = append(p.Notes, Note{Pos: ps.pos(kv[0]), What: path, Reason: "no target name given; the field is left as the rule writes it"})
		case val.Kind == yaml.MappingNode:
			cond = append(cond, ps.sigmacConditional(field, val, path)...)
		default:
			targets, ok := ps.scalars(val, path)
			if ok {
				simple.Mapping[field] = targets
			}
		}
	}
	var out []*Item
	out = append(out, cond...)
	if len(simple.Mapping) > 0 {
		out = append(out, &Item{ID: "fieldmappings", Type: "field_name_mapping", Pos: ps.pos(key), Transformation: simple})
	}
	return out
}

// sigmacConditional reads a conditional field mapping: one item per
// condition, and the default for when none applied.
func (ps *parser) sigmacConditional(field string, val *yaml.Node, path string) []*Item {
	var out []*Item
	var def *Item
	for _, kv := range ps.pairs(val) {
		cond := kv[0].Value
		targets, ok := ps.scalars(kv[1], path+"."+cond)
		if !ok {
			continue
		}
		it := &Item{ID: path + "[" + cond + "]", Type: "field_name_mapping", Pos: ps.pos(kv[0]),
			Transformation: FieldNameMapping{Mapping: map[string][]string{field: targets}}}
		if cond == "default" {
			def = it
			continue
		}
		name, value, found := strings.Cut(cond, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !found || name == "" {
			ps.errf(kv[0], path+"."+cond, "a conditional field mapping's key is field=value or default, got %q", cond)
			continue
		}
		var rc RuleCondition
		switch name {
		case "product":
			rc = LogsourceCondition{LogSource{Product: value}}
		case "category":
			rc = LogsourceCondition{LogSource{Category: value}}
		case "service":
			rc = LogsourceCondition{LogSource{Service: value}}
		default:
			rc = ContainsDetectionItemCondition{Field: name, Value: value}
		}
		it.RuleConds.List = []RuleCondition{rc}
		out = append(out, it)
	}
	if def != nil {
		// The default maps only when no condition did.
		def.RuleConds = Conditions[RuleCondition]{Op: Or, Not: true}
		for _, it := range out {
			def.RuleConds.List = append(def.RuleConds.List, ProcessingItemAppliedCondition{ID: it.ID})
		}
		out = append(out, def)
	}
	return out
}

func (ps *parser) sigmacLogsources(p *Pipeline, v *yaml.Node) (maps, conds, rewrites []*Item) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		ps.errf(v, "logsources", "want a mapping of log source definitions, got %s", kindName(v))
		return
	}
	var groups [][]*sigmacSource
	index := map[LogSource]int{}
	noteOnce := map[string]bool{}
	for _, kv := range ps.pairs(v) {
		name, body := kv[0].Value, kv[1]
		path := "logsources." + name
		if body.Kind != yaml.MappingNode {
			ps.errf(body, path, "want a log source definition (a mapping), got %s", kindName(body))
			continue
		}
		src := &sigmacSource{name: name, key: kv[0]}
		for _, f := range ps.pairs(body) {
			fk, fv := f[0].Value, f[1]
			switch fk {
			case "product":
				src.ls.Product, _ = ps.scalar(fv, path+".product")
			case "category":
				src.ls.Category, _ = ps.scalar(fv, path+".category")
			case "service":
				src.ls.Service, _ = ps.scalar(fv, path+".service")
			case "conditions":
				if isNull(fv) {
					continue
				}
				if fv.Kind != yaml.MappingNode {
					ps.errf(fv, path+".conditions", "want a mapping of field to value, got %s", kindName(fv))
					continue
				}
				for _, c := range ps.pairs(fv) {
					vals, ok := ps.scalars(c[1], path+".conditions."+c[0].Value)
					if ok {
						src.conds = append(src.conds, Condition{Field: c[0].Value, Values: vals})
					}
				}
			case "rewrite":
				rw := LogSource{}
				for _, r := range ps.pairs(fv) {
					s, _ := ps.scalar(r[1], path+".rewrite."+r[0].Value)
					switch r[0].Value {
					case "product":
						rw.Product = s
					case "category":
						rw.Category = s
					case "service":
						rw.Service = s
					default:
						ps.errf(r[0], path+".rewrite."+r[0].Value, "a rewrite sets product, category or service")
					}
				}
				src.rewrite = &rw
			case "fieldmappings":
				src.fields = map[string][]string{}
				for _, m := range ps.pairs(fv) {
					t, ok := ps.scalars(m[1], path+".fieldmappings."+m[0].Value)
					if ok {
						src.fields[m[0].Value] = t
						src.fnames = append(src.fnames, m[0].Value)
					}
				}
			default:
				if !noteOnce[fk] {
					noteOnce[fk] = true
					p.Notes = append(p.Notes, Note{Pos: ps.pos(f[0]), What: "logsources.*." + fk,
						Reason: "selects a backend's index or search; a matching engine reads the events it is given"})
				}
			}
		}
		if i, ok := index[src.ls]; ok {
			groups[i] = append(groups[i], src)
		} else {
			index[src.ls] = len(groups)
			groups = append(groups, []*sigmacSource{src})
		}
	}
	for _, g := range groups {
		first := g[0]
		rc := Conditions[RuleCondition]{List: []RuleCondition{LogsourceCondition{first.ls}}}
		id := "logsources." + first.name
		pos := ps.pos(first.key)
		// Field mappings of the log source (THOR's per-alternative names).
		var fnames []string
		hasMap := false
		for _, s := range g {
			if s.fields != nil {
				hasMap = true
			}
			for _, f := range s.fnames {
				if !contains(fnames, f) {
					fnames = append(fnames, f)
				}
			}
		}
		if hasMap {
			m := FieldNameMapping{Mapping: map[string][]string{}}
			for _, f := range fnames {
				var t []string
				for _, s := range g {
					if x, ok := s.fields[f]; ok {
						t = append(t, x...)
					} else {
						t = append(t, f)
					}
				}
				m.Mapping[f] = dedupe(t)
			}
			maps = append(maps, &Item{ID: id + ".fieldmappings", Type: "field_name_mapping", Pos: pos, RuleConds: rc, Transformation: m})
		}
		// Conditions: alternatives merge per field; an alternative with no
		// conditions leaves the log source unrestricted.
		unrestricted := false
		var merged []Condition
		fieldSets := map[string]bool{}
		for _, s := range g {
			if len(s.conds) == 0 {
				unrestricted = true
			}
			var names []string
			for _, c := range s.conds {
				names = append(names, c.Field)
				found := false
				for i := range merged {
					if merged[i].Field == c.Field {
						merged[i].Values = dedupe(append(merged[i].Values, c.Values...))
						found = true
					}
				}
				if !found {
					merged = append(merged, Condition{Field: c.Field, Values: append([]string(nil), c.Values...)})
				}
			}
			fieldSets[strings.Join(names, ",")] = true
		}
		if !unrestricted && len(merged) > 0 {
			conds = append(conds, &Item{ID: id, Type: "add_condition", Pos: pos, RuleConds: rc, Transformation: AddCondition{Conditions: merged}})
			if len(g) > 1 && len(fieldSets) > 1 {
				p.Notes = append(p.Notes, Note{Pos: pos, What: id, Reason: fmt.Sprintf("%d alternative definitions of %s condition different fields; merged per field (an event matches when each field has a value of any alternative)", len(g), first.ls)})
			}
		}
		// Rewrite only when every alternative agrees.
		var rw *LogSource
		agree := true
		for _, s := range g {
			switch {
			case s.rewrite == nil:
			case rw == nil:
				rw = s.rewrite
			case *rw != *s.rewrite:
				agree = false
			}
		}
		if rw != nil && agree {
			rewrites = append(rewrites, &Item{ID: id + ".rewrite", Type: "change_logsource", Pos: pos, RuleConds: rc, Transformation: ChangeLogsource{*rw}})
		} else if rw != nil {
			p.Notes = append(p.Notes, Note{Pos: pos, What: id + ".rewrite", Reason: fmt.Sprintf("alternative definitions of %s rewrite the log source differently; not rewritten", first.ls)})
		}
	}
	return maps, conds, rewrites
}
