package misp

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/intel/pattern"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// FromSTIX turns STIX objects back into MISP events, the inverse of
// ToSTIX: each report becomes an event with the attributes, objects,
// galaxies and sightings it refers to, in the order it refers to them,
// so that ToSTIX of the result gives the same objects again. Indicators
// no report refers to (STIX from elsewhere) go into one more event,
// uuid rest and info restInfo, as stix2-pattern attributes or, for a
// single comparison Vigil knows, as the attribute type it maps to.
// Objects a reader may not see must be left out before; a report's
// reference to an object not given is dropped.
func FromSTIX(objs []*stix.Object, rest, restInfo string, now time.Time) []Event {
	byID := make(map[string]*stix.Object, len(objs))
	for _, o := range objs {
		byID[o.ID] = o
	}
	sightings := map[string][]*stix.Object{}
	relsFrom := map[string][]*stix.Object{}
	for _, o := range objs {
		switch o.Type {
		case "sighting":
			var of string
			_, _ = o.Get("sighting_of_ref", &of)
			sightings[of] = append(sightings[of], o)
		case "relationship":
			var src string
			_, _ = o.Get("source_ref", &src)
			relsFrom[src] = append(relsFrom[src], o)
		}
	}
	used := map[string]bool{}
	var evs []Event
	var reports []*stix.Object
	for _, o := range objs {
		if o.Type == "report" {
			reports = append(reports, o)
		}
	}
	sort.Slice(reports, func(i, j int) bool { return reports[i].ID < reports[j].ID })
	for _, r := range reports {
		evs = append(evs, eventOf(r, byID, sightings, relsFrom, used))
	}
	// Indicators no report holds.
	var loose []Attribute
	for _, o := range objs {
		if o.Type != "indicator" || used[o.ID] {
			continue
		}
		if a, ok := attributeOf(o, byID, sightings, relsFrom); ok {
			loose = append(loose, a)
		}
	}
	if len(loose) > 0 {
		evs = append(evs, Event{UUID: rest, Info: restInfo, Date: now.UTC().Format("2006-01-02"), Timestamp: Int(now.Unix()),
			Analysis: "2", ThreatLevelID: "4", Published: true, Attributes: loose})
	}
	return evs
}

func str(o *stix.Object, name string) string {
	var s string
	_, _ = o.Get(name, &s)
	return s
}

func mispUUID(o *stix.Object) string {
	if u := str(o, "x_misp_uuid"); u != "" {
		return u
	}
	_, u, _ := strings.Cut(o.ID, "--")
	return u
}

// tagsOf writes markings and labels back as tags: markings first, as
// ToSTIX reads them, then labels.
func tagsOf(o *stix.Object, skipMarkings []string) []Tag {
	var tags []Tag
	if !sameStrings(o.MarkingRefs, skipMarkings) {
		for _, m := range o.MarkingRefs {
			if t := tagOfTLP(m); t != "" {
				tags = append(tags, Tag{Name: t})
			} else if p, ok := stix.PAPOf(m); ok {
				tags = append(tags, Tag{Name: p.String()})
			}
		}
	}
	var labels []string
	_, _ = o.Get("labels", &labels)
	for _, l := range labels {
		tags = append(tags, Tag{Name: l})
	}
	return tags
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func eventOf(r *stix.Object, byID map[string]*stix.Object, sightings, relsFrom map[string][]*stix.Object, used map[string]bool) Event {
	used[r.ID] = true
	e := Event{UUID: mispUUID(r), Info: str(r, "name"), Timestamp: Int(r.Modified.Unix()),
		Analysis: Str(str(r, "x_misp_analysis")), ThreatLevelID: Str(str(r, "x_misp_threat_level_id"))}
	var pub bool
	_, _ = r.Get("x_misp_published", &pub)
	e.Published = Bool(pub)
	var published string
	if _, _ = r.Get("published", &published); len(published) >= 10 {
		e.Date = published[:10]
	}
	if idn, ok := byID[r.CreatedByRef]; ok {
		e.Orgc = &Org{UUID: mispUUID(idn), Name: str(idn, "name")}
	}
	e.Tags = tagsOf(r, nil)
	var refs []string
	_, _ = r.Get("object_refs", &refs)
	// References and sightings come back in the order the report lists
	// them, which is the event's, whatever order the store gave.
	pos := make(map[string]int, len(refs))
	for i, id := range refs {
		pos[id] = i
	}
	byPos := func(os []*stix.Object) {
		sort.SliceStable(os, func(i, j int) bool { return pos[os[i].ID] < pos[os[j].ID] })
	}
	for _, l := range relsFrom {
		byPos(l)
	}
	for _, l := range sightings {
		byPos(l)
	}
	galaxies := map[string]int{}
	for _, id := range refs {
		o, ok := byID[id]
		if !ok || id == r.ID {
			continue
		}
		used[id] = true
		switch {
		case o.Type == "grouping" && o.Props["x_misp_meta_category"] != nil:
			e.Objects = append(e.Objects, objectOf(o, r, byID, sightings, relsFrom, used))
		case o.Props["x_misp_type"] != nil && o.Props["x_misp_object_relation"] == nil:
			if a, ok := attributeOf(o, byID, sightings, relsFrom); ok {
				a.Tags = tagsOf(o, r.MarkingRefs)
				e.Attributes = append(e.Attributes, a)
			}
		case o.Props["x_misp_galaxy"] != nil:
			g, cl := clusterOf(o)
			i, ok := galaxies[g.UUID]
			if !ok {
				i = len(e.Galaxies)
				galaxies[g.UUID] = i
				e.Galaxies = append(e.Galaxies, g)
			}
			e.Galaxies[i].Clusters = append(e.Galaxies[i].Clusters, cl)
		case o.Type == "relationship" && o.Props["x_misp_attribute_galaxy"] != nil:
			// Put back on its attribute by attributeOf; its cluster is
			// the attribute's, not the event's, unless the report
			// refers to the cluster itself too.
			if tgt, ok := byID[str(o, "target_ref")]; ok {
				used[tgt.ID] = true
			}
		}
	}
	// Attributes of a report's own (not MISP) indicators it refers to.
	for _, id := range refs {
		if o, ok := byID[id]; ok && o.Type == "indicator" && o.Props["x_misp_type"] == nil {
			if a, ok := attributeOf(o, byID, sightings, relsFrom); ok {
				e.Attributes = append(e.Attributes, a)
			}
		}
	}
	return e
}

func objectOf(g, r *stix.Object, byID map[string]*stix.Object, sightings, relsFrom map[string][]*stix.Object, used map[string]bool) Object {
	ob := Object{UUID: mispUUID(g), Name: str(g, "name"), MetaCategory: str(g, "x_misp_meta_category"), Description: str(g, "x_misp_object_description"),
		TemplateUUID: str(g, "x_misp_template_uuid"), TemplateVersion: Str(str(g, "x_misp_template_version")), Comment: str(g, "description"),
		Timestamp: Int(g.Modified.Unix())}
	var refs []string
	_, _ = g.Get("object_refs", &refs)
	for _, id := range refs {
		o, ok := byID[id]
		if !ok || o.Props["x_misp_type"] == nil {
			continue
		}
		used[id] = true
		if a, ok := attributeOf(o, byID, sightings, relsFrom); ok {
			a.Tags = tagsOf(o, r.MarkingRefs)
			ob.Attributes = append(ob.Attributes, a)
		}
	}
	for _, rel := range relsFrom[g.ID] {
		tgt, ok := byID[str(rel, "target_ref")]
		if !ok {
			continue
		}
		used[rel.ID] = true
		rt := str(rel, "x_misp_relationship_type")
		if rt == "" {
			rt = str(rel, "relationship_type")
		}
		ob.References = append(ob.References, Reference{UUID: mispUUID(rel), ReferencedUUID: mispUUID(tgt), RelationshipType: rt,
			Comment: str(rel, "description"), Timestamp: Int(rel.Modified.Unix())})
	}
	return ob
}

// attributeOf is the attribute a STIX object stands for: its x_misp_*
// fields when ToSTIX made it, else what its pattern says.
func attributeOf(o *stix.Object, byID map[string]*stix.Object, sightings, relsFrom map[string][]*stix.Object) (Attribute, bool) {
	a := Attribute{UUID: mispUUID(o), Type: str(o, "x_misp_type"), Category: str(o, "x_misp_category"), Value: str(o, "x_misp_value"),
		Comment: str(o, "x_misp_comment"), ObjectRelation: str(o, "x_misp_object_relation"), Timestamp: Int(o.Modified.Unix())}
	var toIDs bool
	_, _ = o.Get("x_misp_to_ids", &toIDs)
	a.ToIDs = Bool(toIDs || o.Type == "indicator")
	if a.Type == "" {
		if o.Type != "indicator" {
			return Attribute{}, false
		}
		a.Type, a.Value, a.Category = typeOfPattern(str(o, "pattern")), "", "Network activity"
		if a.Type == "stix2-pattern" {
			a.Value, a.Category = str(o, "pattern"), "External analysis"
		} else {
			a.Value = valueOfPattern(str(o, "pattern"))
		}
		a.Comment = str(o, "description")
		a.Tags = tagsOf(o, nil)
		if a.Value == "" {
			return Attribute{}, false
		}
	}
	for _, s := range sightings[o.ID] {
		ms := Sighting{UUID: mispUUID(s), DateSighting: Int(s.Created.Unix())}
		var t int
		_, _ = s.Get("x_misp_sighting_type", &t)
		ms.Type = Str(fmt.Sprint(t))
		ms.Source = str(s, "x_misp_source")
		var where []string
		_, _ = s.Get("where_sighted_refs", &where)
		if len(where) > 0 {
			if idn, ok := byID[where[0]]; ok {
				ms.Organisation = &Org{UUID: mispUUID(idn), Name: str(idn, "name")}
			}
		}
		a.Sightings = append(a.Sightings, ms)
	}
	a.Galaxies = attributeGalaxies(relsFrom[o.ID], byID)
	return a, true
}

// attributeGalaxies are the clusters an attribute carried (ToSTIX's
// x_misp_attribute_galaxy relationships), grouped by galaxy in order.
func attributeGalaxies(rels []*stix.Object, byID map[string]*stix.Object) []Galaxy {
	var gs []Galaxy
	at := map[string]int{}
	for _, rel := range rels {
		var mark bool
		if _, _ = rel.Get("x_misp_attribute_galaxy", &mark); !mark {
			continue
		}
		o, ok := byID[str(rel, "target_ref")]
		if !ok || o.Props["x_misp_galaxy"] == nil {
			continue
		}
		g, cl := clusterOf(o)
		i, ok := at[g.UUID]
		if !ok {
			i = len(gs)
			at[g.UUID] = i
			gs = append(gs, g)
		}
		gs[i].Clusters = append(gs[i].Clusters, cl)
	}
	return gs
}

// clusterOf is the galaxy and cluster a cluster object came from.
func clusterOf(o *stix.Object) (Galaxy, Cluster) {
	var g, cl map[string]string
	_, _ = o.Get("x_misp_galaxy", &g)
	_, _ = o.Get("x_misp_cluster", &cl)
	return Galaxy{UUID: g["uuid"], Name: g["name"], Type: g["type"], Namespace: g["namespace"], Description: g["description"]},
		Cluster{UUID: mispUUID(o), Type: cl["type"], Value: str(o, "name"), TagName: cl["tag_name"], Description: str(o, "description")}
}

// typeOfPattern is the MISP attribute type of a single-comparison
// pattern Vigil knows ("[ipv4-addr:value = '…']" is ip-dst), else stix2-pattern.
func typeOfPattern(p string) string {
	path, _, ok := singleEquality(p)
	if !ok {
		return "stix2-pattern"
	}
	switch path {
	case "ipv4-addr:value", "ipv6-addr:value":
		return "ip-dst"
	case "domain-name:value":
		return "domain"
	case "url:value":
		return "url"
	case "email-addr:value":
		return "email-src"
	case "file:name":
		return "filename"
	case "file:hashes.MD5":
		return "md5"
	case "file:hashes.'SHA-1'":
		return "sha1"
	case "file:hashes.'SHA-256'":
		return "sha256"
	case "file:hashes.'SHA-512'":
		return "sha512"
	case "mutex:name":
		return "mutex"
	}
	return "stix2-pattern"
}

func valueOfPattern(p string) string {
	_, v, _ := singleEquality(p)
	return v
}

// singleEquality reads "[path = 'value']".
func singleEquality(p string) (path, value string, ok bool) {
	ast, err := pattern.Parse(p)
	if err != nil {
		return "", "", false
	}
	obs, ok := ast.Expr.(*pattern.Observation)
	if !ok {
		return "", "", false
	}
	c, ok := obs.Cmp.(*pattern.Comparison)
	if !ok || c.Not || c.Op != pattern.Eq || c.Value.Kind != pattern.String {
		return "", "", false
	}
	return c.Path.String(), c.Value.Str, true
}

// NameUUID is a UUIDv5 of a name, for an event Vigil makes up (the
// loose indicators of a collection): the same name, the same event.
func NameUUID(name string) string { return stixUUID("name:" + name + ":not-a-uuid") }

// SimpleIOC is the MISP attribute type and value of a pattern that is a
// single equality Vigil knows ("[ipv4-addr:value = '…']" is ip-dst);
// ok is false for any other pattern.
func SimpleIOC(p string) (typ, value string, ok bool) {
	typ = typeOfPattern(p)
	if typ == "stix2-pattern" {
		return "", "", false
	}
	return typ, valueOfPattern(p), true
}
