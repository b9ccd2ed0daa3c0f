package misp

import (
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/intel/pattern"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Benign says whether a value is known to be benign (a MISP warning
// list hit) and which lists name it; nil flags nothing.
type Benign func(typ, value string) []string

// Options tune the conversion of events to STIX.
type Options struct {
	// Benign flags known-benign values: an attribute it names is kept as
	// observed data, flagged x_vigil_warninglists, and never becomes an
	// indicator.
	Benign Benign
}

// Stats counts what a conversion did, for the import report.
type Stats struct {
	Indicators, Observed, Notes, Flagged int
}

// epoch dates the reference objects a conversion makes (organisations'
// identities, galaxy clusters, PAP markings), which carry no date of
// their own in an event: one version each, however many events name them.
var epoch = time.Unix(0, 0).UTC()

// ToSTIX converts one event to STIX 2.1 objects, deterministically: the
// same event always gives the same objects, ids taken from MISP's UUIDs.
//
//   - the event is a report (report--<event uuid>), its Orgc an identity;
//   - an attribute Vigil can express as a pattern is an indicator when
//     to_ids is set and observed data (with its SCOs) otherwise; any
//     other attribute is a note. MISP's own fields ride along as x_misp_*;
//   - an object is a grouping of its attributes' objects, its references
//     relationships between them;
//   - tags tlp:* and PAP:* are marking definitions, other tags labels;
//     an attribute without a TLP tag of its own carries the event's;
//   - a cluster of a galaxy Vigil knows is an intrusion-set, malware,
//     tool, threat-actor, attack-pattern or course-of-action; a cluster
//     an attribute alone carries is also a relationship from the
//     attribute's object to it (indicates, from an indicator to what it
//     can indicate; related-to otherwise), x_misp_attribute_galaxy;
//   - a sighting is a sighting (x_misp_sighting_type 0 seen, 1 false
//     positive, 2 expired) of the attribute's object.
func ToSTIX(e Event, o Options) ([]*stix.Object, Stats, error) {
	c := &conv{ev: e, opt: o, ids: map[string]string{}, seen: map[string]bool{}}
	err := c.run()
	return c.out, c.stats, err
}

type conv struct {
	ev    Event
	opt   Options
	out   []*stix.Object
	refs  []string          // the report's object_refs
	ids   map[string]string // MISP uuid -> STIX id
	seen  map[string]bool   // STIX ids already emitted
	stats Stats
	// markings are the event's: TLP and PAP.
	markings []string
}

func (c *conv) emit(props map[string]any) (*stix.Object, error) {
	b, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	p, err := stix.Parse(b)
	if err != nil {
		return nil, err
	}
	if !c.seen[p.ID] {
		c.seen[p.ID] = true
		c.out = append(c.out, p)
	}
	return p, nil
}

func ts(t time.Time) string { return stix.FormatTimestamp(t) }

func unix(n Int, fallback time.Time) time.Time {
	if n <= 0 {
		return fallback
	}
	return time.Unix(int64(n), 0).UTC()
}

// splitTags sorts tags into marking-definition ids and labels.
func (c *conv) splitTags(tags []Tag) (markings, labels []string, err error) {
	for _, t := range tags {
		name := strings.TrimSpace(t.Name)
		if name == "" {
			continue
		}
		if id, ok := tlpTag(name); ok {
			markings = append(markings, id)
			continue
		}
		if lvl, ok := papTag(name); ok {
			md, err := c.emit(PAPMarking(lvl))
			if err != nil {
				return nil, nil, err
			}
			markings = append(markings, md.ID)
			continue
		}
		labels = append(labels, name)
	}
	return markings, labels, nil
}

func (c *conv) run() error {
	e := c.ev
	when := unix(e.Timestamp, epoch)
	markings, labels, err := c.splitTags(e.Tags)
	if err != nil {
		return fmt.Errorf("in Tag: %w", err)
	}
	c.markings = markings
	reportID := "report--" + stixUUID(e.UUID)
	var createdBy string
	if e.Orgc != nil && validUUID(e.Orgc.UUID) {
		idn, err := c.identity(*e.Orgc)
		if err != nil {
			return fmt.Errorf("in Orgc: %w", err)
		}
		createdBy = idn
	}
	for i, a := range e.Attributes {
		if _, err := c.attribute(a, when, reportID, nil); err != nil {
			return fmt.Errorf("in Attribute[%d] (%s): %w", i, a.UUID, err)
		}
	}
	for i, ob := range e.Objects {
		if err := c.object(ob, when, reportID); err != nil {
			return fmt.Errorf("in Object[%d] (%s): %w", i, ob.UUID, err)
		}
	}
	for i, ob := range e.Objects {
		for j, r := range ob.References {
			if err := c.reference(ob, r, when); err != nil {
				return fmt.Errorf("in Object[%d].ObjectReference[%d]: %w", i, j, err)
			}
		}
	}
	for i, g := range e.Galaxies {
		for j, cl := range g.Clusters {
			if err := c.cluster(g, cl); err != nil {
				return fmt.Errorf("in Galaxy[%d].GalaxyCluster[%d]: %w", i, j, err)
			}
		}
	}
	name := e.Info
	if strings.TrimSpace(name) == "" {
		name = "MISP event " + e.UUID
	}
	published := when
	if d, err := parseDate(e.Date); err == nil {
		published = d
	}
	refs := c.refs
	if len(refs) == 0 {
		refs = []string{reportID} // a report needs object_refs; an empty event refers to itself
	}
	rp := map[string]any{"type": "report", "spec_version": "2.1", "id": reportID, "created": ts(when), "modified": ts(when),
		"name": name, "published": ts(published), "report_types": []string{"threat-report"}, "object_refs": refs,
		"x_misp_analysis": string(e.Analysis), "x_misp_threat_level_id": string(e.ThreatLevelID), "x_misp_published": bool(e.Published)}
	c.common(rp, e.UUID, markings, labels)
	if createdBy != "" {
		rp["created_by_ref"] = createdBy
	}
	if _, err := c.emit(rp); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// common sets the markings, labels and the MISP uuid when it could not be the id.
func (c *conv) common(p map[string]any, uuid string, markings, labels []string) {
	if len(markings) > 0 {
		p["object_marking_refs"] = markings
	}
	if len(labels) > 0 {
		p["labels"] = labels
	}
	if stixUUID(uuid) != strings.ToLower(uuid) {
		p["x_misp_uuid"] = uuid
	}
}

func (c *conv) identity(o Org) (string, error) {
	id := "identity--" + stixUUID(o.UUID)
	name := o.Name
	if name == "" {
		name = o.UUID
	}
	p := map[string]any{"type": "identity", "spec_version": "2.1", "id": id, "created": ts(epoch), "modified": ts(epoch),
		"name": name, "identity_class": "organization"}
	c.common(p, o.UUID, nil, nil)
	_, err := c.emit(p)
	return id, err
}

// attribute converts one attribute; object is the MISP object it belongs to, if any.
func (c *conv) attribute(a Attribute, eventTime time.Time, reportID string, object *Object) (string, error) {
	when := unix(a.Timestamp, eventTime)
	markings, labels, err := c.splitTags(a.Tags)
	if err != nil {
		return "", fmt.Errorf("in Tag: %w", err)
	}
	if !hasTLP(markings) {
		// An attribute is shared as its event is.
		markings = append(append([]string(nil), c.markings...), markings...)
	}
	p := map[string]any{"spec_version": "2.1", "created": ts(when), "modified": ts(when),
		"x_misp_type": a.Type, "x_misp_category": a.Category, "x_misp_value": a.Value}
	if a.Comment != "" {
		p["x_misp_comment"] = a.Comment
	}
	if a.ObjectRelation != "" {
		p["x_misp_object_relation"] = a.ObjectRelation
	}
	c.common(p, a.UUID, markings, labels)
	u := stixUUID(a.UUID)
	pat, scos := mapAttribute(a.Type, a.Value)
	var flagged []string
	if c.opt.Benign != nil && pat != "" {
		flagged = c.opt.Benign(a.Type, a.Value)
	}
	switch {
	case pat != "" && bool(a.ToIDs) && len(flagged) == 0:
		p["type"], p["id"] = "indicator", "indicator--"+u
		p["pattern"], p["pattern_type"], p["valid_from"] = pat, "stix", ts(when)
		p["indicator_types"] = []string{"malicious-activity"}
		p["name"] = a.Value
		if a.Comment != "" {
			p["description"] = a.Comment
		}
		c.stats.Indicators++
	case pat != "" && len(scos) > 0:
		var refs []string
		for _, s := range scos {
			// An SCO is marked as the attribute it comes from: the
			// value of a TLP:RED attribute is itself TLP:RED.
			if len(markings) > 0 {
				s.props["object_marking_refs"] = markings
			}
			o, err := c.emitSCO(s)
			if err != nil {
				return "", err
			}
			refs = append(refs, o.ID)
		}
		p["type"], p["id"] = "observed-data", "observed-data--"+u
		p["first_observed"], p["last_observed"], p["number_observed"], p["object_refs"] = ts(when), ts(when), 1, refs
		if a.ToIDs {
			p["x_misp_to_ids"] = true
		}
		if len(flagged) > 0 {
			p["x_vigil_warninglists"] = flagged
			c.stats.Flagged++
		}
		c.stats.Observed++
	default:
		p["type"], p["id"] = "note", "note--"+u
		p["abstract"], p["content"], p["object_refs"] = a.Type, a.Value, []string{reportID}
		if a.ToIDs {
			p["x_misp_to_ids"] = true
		}
		if len(flagged) > 0 {
			p["x_vigil_warninglists"] = flagged
			c.stats.Flagged++
		}
		c.stats.Notes++
	}
	o, err := c.emit(p)
	if err != nil {
		return "", err
	}
	c.ids[strings.ToLower(a.UUID)] = o.ID
	if object == nil {
		c.refs = append(c.refs, o.ID)
	}
	for j, s := range a.Sightings {
		if err := c.sighting(s, o.ID, when); err != nil {
			return "", fmt.Errorf("in Sighting[%d]: %w", j, err)
		}
	}
	if err := c.attributeClusters(a, o, when, markings); err != nil {
		return "", err
	}
	return o.ID, nil
}

func (c *conv) emitSCO(s sco) (*stix.Object, error) {
	o, err := stix.NewSCO(s.typ, s.props)
	if err != nil {
		return nil, err
	}
	if !c.seen[o.ID] {
		c.seen[o.ID] = true
		c.out = append(c.out, o)
	}
	return o, nil
}

func (c *conv) object(ob Object, eventTime time.Time, reportID string) error {
	when := unix(ob.Timestamp, eventTime)
	var refs []string
	for j, a := range ob.Attributes {
		id, err := c.attribute(a, when, reportID, &ob)
		if err != nil {
			return fmt.Errorf("in Attribute[%d] (%s): %w", j, a.UUID, err)
		}
		refs = append(refs, id)
	}
	if len(refs) == 0 {
		refs = []string{reportID}
	}
	p := map[string]any{"type": "grouping", "spec_version": "2.1", "id": "grouping--" + stixUUID(ob.UUID),
		"created": ts(when), "modified": ts(when), "name": ob.Name, "context": "suspicious-activity", "object_refs": refs,
		"x_misp_meta_category": ob.MetaCategory}
	if ob.Comment != "" {
		p["description"] = ob.Comment
	}
	if ob.TemplateUUID != "" {
		p["x_misp_template_uuid"] = ob.TemplateUUID
	}
	if ob.TemplateVersion != "" {
		p["x_misp_template_version"] = string(ob.TemplateVersion)
	}
	if ob.Description != "" {
		p["x_misp_object_description"] = ob.Description
	}
	c.common(p, ob.UUID, c.markings, nil)
	o, err := c.emit(p)
	if err != nil {
		return err
	}
	c.ids[strings.ToLower(ob.UUID)] = o.ID
	c.refs = append(c.refs, o.ID)
	return nil
}

var relType = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9]+`) })

func (c *conv) reference(ob Object, r Reference, eventTime time.Time) error {
	src, tgt := c.ids[strings.ToLower(ob.UUID)], c.ids[strings.ToLower(r.ReferencedUUID)]
	if src == "" || tgt == "" {
		return nil // a reference out of the event: nothing to point at
	}
	when := unix(r.Timestamp, unix(ob.Timestamp, eventTime))
	rt := strings.Trim(relType().ReplaceAllString(strings.ToLower(r.RelationshipType), "-"), "-")
	if rt == "" {
		rt = "related-to"
	}
	p := map[string]any{"type": "relationship", "spec_version": "2.1", "id": "relationship--" + stixUUID(r.UUID),
		"created": ts(when), "modified": ts(when), "relationship_type": rt, "source_ref": src, "target_ref": tgt}
	if rt != r.RelationshipType {
		p["x_misp_relationship_type"] = r.RelationshipType
	}
	if r.Comment != "" {
		p["description"] = r.Comment
	}
	c.common(p, r.UUID, c.markings, nil)
	o, err := c.emit(p)
	if err != nil {
		return err
	}
	c.refs = append(c.refs, o.ID)
	return nil
}

// galaxyTypes maps the galaxies Vigil understands to STIX types.
func galaxyType(g string) string {
	switch {
	case strings.Contains(g, "attack-pattern"):
		return "attack-pattern"
	case strings.Contains(g, "intrusion-set"):
		return "intrusion-set"
	case g == "threat-actor":
		return "threat-actor"
	case strings.Contains(g, "malware"), g == "malpedia", g == "ransomware", g == "rat", g == "banker", g == "botnet", g == "stealer", g == "backdoor":
		return "malware"
	case strings.Contains(g, "tool"):
		return "tool"
	case strings.Contains(g, "course-of-action"):
		return "course-of-action"
	}
	return ""
}

// cluster makes an event's cluster: an object the report refers to.
func (c *conv) cluster(g Galaxy, cl Cluster) error {
	o, err := c.clusterObject(g, cl)
	if o == nil || err != nil {
		return err
	}
	c.refs = append(c.refs, o.ID)
	return nil
}

// attributeClusters makes the clusters an attribute carries and a
// relationship from the attribute's object to each; the report refers
// to the relationships (not to the clusters, which it holds only when
// the event carries them too), so that FromSTIX puts each back where it was.
func (c *conv) attributeClusters(a Attribute, of *stix.Object, when time.Time, markings []string) error {
	for i, g := range a.Galaxies {
		for j, cl := range g.Clusters {
			o, err := c.clusterObject(g, cl)
			if err != nil {
				return fmt.Errorf("in Galaxy[%d].GalaxyCluster[%d]: %w", i, j, err)
			}
			if o == nil {
				continue
			}
			rt := "related-to"
			if of.Type == "indicator" && slices.Contains([]string{"attack-pattern", "intrusion-set", "malware", "threat-actor", "tool"}, o.Type) {
				rt = "indicates"
			}
			p := map[string]any{"type": "relationship", "spec_version": "2.1",
				"id":      "relationship--" + NameUUID("attribute-galaxy:"+of.ID+":"+o.ID),
				"created": ts(when), "modified": ts(when), "relationship_type": rt, "source_ref": of.ID, "target_ref": o.ID,
				"x_misp_attribute_galaxy": true}
			if len(markings) > 0 {
				p["object_marking_refs"] = markings
			}
			r, err := c.emit(p)
			if err != nil {
				return fmt.Errorf("in Galaxy[%d].GalaxyCluster[%d]: %w", i, j, err)
			}
			c.refs = append(c.refs, r.ID)
		}
	}
	return nil
}

// clusterObject is the STIX object of a cluster, or nil for a galaxy
// Vigil does not map (kept as the galaxy's tag, a label).
func (c *conv) clusterObject(g Galaxy, cl Cluster) (*stix.Object, error) {
	typ := galaxyType(g.Type)
	if typ == "" || cl.Value == "" {
		return nil, nil
	}
	u := cl.UUID
	if !validUUID(u) { // older exports leave a cluster's uuid empty
		u = NameUUID("cluster:" + cl.TagName + cl.Value)
	}
	p := map[string]any{"type": typ, "spec_version": "2.1", "id": typ + "--" + stixUUID(u),
		"created": ts(epoch), "modified": ts(epoch), "name": cl.Value,
		"x_misp_galaxy":  map[string]string{"uuid": g.UUID, "name": g.Name, "type": g.Type, "namespace": g.Namespace, "description": g.Description},
		"x_misp_cluster": map[string]string{"type": cl.Type, "tag_name": cl.TagName}}
	if typ == "malware" {
		p["is_family"] = true
	}
	if cl.Description != "" {
		p["description"] = cl.Description
	}
	c.common(p, u, nil, nil)
	return c.emit(p)
}

func (c *conv) sighting(s Sighting, of string, attrTime time.Time) error {
	when := unix(s.DateSighting, attrTime)
	p := map[string]any{"type": "sighting", "spec_version": "2.1", "id": "sighting--" + stixUUID(s.UUID),
		"created": ts(when), "modified": ts(when), "first_seen": ts(when), "last_seen": ts(when), "count": 1,
		"sighting_of_ref": of}
	t, _ := strconv.Atoi(string(s.Type))
	p["x_misp_sighting_type"] = t
	if s.Source != "" {
		p["x_misp_source"] = s.Source
	}
	if s.Organisation != nil && validUUID(s.Organisation.UUID) {
		idn, err := c.identity(*s.Organisation)
		if err != nil {
			return err
		}
		p["where_sighted_refs"] = []string{idn}
	}
	c.common(p, s.UUID, c.markings, nil)
	o, err := c.emit(p)
	if err != nil {
		return err
	}
	c.refs = append(c.refs, o.ID)
	return nil
}

// sco is an SCO an attribute's value is, before its id is computed.
type sco struct {
	typ   string
	props map[string]any
}

var hashNames = map[string]string{"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512", "sha224": "SHA-224",
	"sha384": "SHA-384", "sha3-256": "SHA3-256", "sha3-512": "SHA3-512", "ssdeep": "SSDEEP", "tlsh": "TLSH"}

func lit(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) + "'"
}

// mapAttribute is the STIX pattern of an attribute and the SCOs its value
// is; "" when Vigil has no pattern for the type (or the value does not fit it).
func mapAttribute(typ, value string) (string, []sco) {
	v := strings.TrimSpace(value)
	pat, scos := mapAttr(typ, v)
	if pat == "" {
		return "", nil
	}
	if _, err := pattern.Parse(pat); err != nil {
		return "", nil
	}
	return pat, scos
}

func ipSCO(v string) (string, sco, bool) {
	addr := v
	if p, err := netip.ParsePrefix(v); err == nil {
		addr = p.Addr().String()
	} else if a, err := netip.ParseAddr(v); err == nil {
		addr = a.String()
	} else {
		return "", sco{}, false
	}
	t := "ipv4-addr"
	if strings.Contains(addr, ":") {
		t = "ipv6-addr"
	}
	return t, sco{t, map[string]any{"value": v}}, true
}

func mapAttr(typ, v string) (string, []sco) {
	if h, ok := hashNames[typ]; ok {
		return "[file:hashes." + lit(h) + " = " + lit(v) + "]", []sco{{"file", map[string]any{"hashes": map[string]string{h: v}}}}
	}
	if name, hash, ok := strings.Cut(typ, "|"); ok && name == "filename" {
		h, known := hashNames[hash]
		fn, hv, ok2 := strings.Cut(v, "|")
		if !known || !ok2 {
			return "", nil
		}
		return "[file:name = " + lit(fn) + " AND file:hashes." + lit(h) + " = " + lit(hv) + "]",
			[]sco{{"file", map[string]any{"name": fn, "hashes": map[string]string{h: hv}}}}
	}
	switch typ {
	case "ip-src", "ip-dst":
		t, s, ok := ipSCO(v)
		if !ok {
			return "", nil
		}
		op := " = "
		if strings.Contains(v, "/") {
			op = " ISSUBSET "
		}
		return "[" + t + ":value" + op + lit(v) + "]", []sco{s}
	case "ip-dst|port", "ip-src|port":
		i := strings.LastIndexByte(v, '|')
		if i < 0 {
			return "", nil
		}
		ip, port := v[:i], v[i+1:]
		t, _, ok := ipSCO(ip)
		n, err := strconv.Atoi(port)
		if !ok || err != nil || n < 0 || n > 65535 {
			return "", nil
		}
		side := "dst"
		if typ == "ip-src|port" {
			side = "src"
		}
		_ = t
		return fmt.Sprintf("[network-traffic:%s_ref.value = %s AND network-traffic:%s_port = %d]", side, lit(ip), side, n), nil
	case "domain", "hostname":
		return "[domain-name:value = " + lit(v) + "]", []sco{{"domain-name", map[string]any{"value": v}}}
	case "domain|ip":
		d, ip, ok := strings.Cut(v, "|")
		if !ok {
			return "", nil
		}
		return "[domain-name:value = " + lit(d) + " AND domain-name:resolves_to_refs[*].value = " + lit(ip) + "]", nil
	case "url", "uri":
		return "[url:value = " + lit(v) + "]", []sco{{"url", map[string]any{"value": v}}}
	case "email", "email-src", "email-dst", "target-email", "whois-registrant-email":
		return "[email-addr:value = " + lit(v) + "]", []sco{{"email-addr", map[string]any{"value": v}}}
	case "email-subject":
		return "[email-message:subject = " + lit(v) + "]", nil
	case "filename":
		return "[file:name = " + lit(v) + "]", []sco{{"file", map[string]any{"name": v}}}
	case "mutex":
		return "[mutex:name = " + lit(v) + "]", []sco{{"mutex", map[string]any{"name": v}}}
	case "mac-address":
		return "[mac-addr:value = " + lit(strings.ToLower(v)) + "]", []sco{{"mac-addr", map[string]any{"value": strings.ToLower(v)}}}
	case "AS":
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32)
		if err != nil {
			return "", nil
		}
		return fmt.Sprintf("[autonomous-system:number = %d]", n), []sco{{"autonomous-system", map[string]any{"number": n}}}
	case "regkey":
		return "[windows-registry-key:key = " + lit(v) + "]", []sco{{"windows-registry-key", map[string]any{"key": v}}}
	case "regkey|value":
		k, val, ok := strings.Cut(v, "|")
		if !ok {
			return "", nil
		}
		return "[windows-registry-key:key = " + lit(k) + " AND windows-registry-key:values[*].data = " + lit(val) + "]", nil
	case "user-agent":
		return "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = " + lit(v) + "]", nil
	case "ja3-fingerprint-md5":
		return "[network-traffic:extensions.'x-ja3'.fingerprint = " + lit(strings.ToLower(v)) + "]", nil
	case "stix2-pattern":
		return v, nil
	}
	return "", nil
}

func tlpTag(name string) (string, bool) {
	l := strings.ToLower(name)
	if !strings.HasPrefix(l, "tlp:") {
		return "", false
	}
	switch l[4:] {
	case "white":
		return stix.TLP1White, true
	case "clear":
		return stix.TLP2Clear, true
	case "green":
		return stix.TLP2Green, true
	case "amber":
		return stix.TLP2Amber, true
	case "amber+strict":
		return stix.TLP2AmberStrict, true
	case "red":
		return stix.TLP2Red, true
	}
	return "", false
}

func tagOfTLP(id string) string {
	switch id {
	case stix.TLP1White:
		return "tlp:white"
	case stix.TLP1Green:
		return "tlp:green"
	case stix.TLP1Amber:
		return "tlp:amber"
	case stix.TLP1Red:
		return "tlp:red"
	}
	t, ok := stix.TLPOf(id)
	if !ok {
		return ""
	}
	return strings.ToLower(t.String())
}

func hasTLP(markings []string) bool {
	for _, m := range markings {
		if _, ok := stix.TLPOf(m); ok {
			return true
		}
	}
	return false
}

func papTag(name string) (stix.PAP, bool) {
	if len(name) < 4 || !strings.EqualFold(name[:4], "PAP:") {
		return 0, false
	}
	return stix.ParsePAP(name[4:])
}

// PAPMarking is the marking definition of a PAP level as Vigil writes it:
// a statement marking with a deterministic id (stix.PAPID).
func PAPMarking(p stix.PAP) map[string]any {
	return map[string]any{"type": "marking-definition", "spec_version": "2.1", "id": stix.PAPID(p), "created": ts(epoch),
		"name": p.String(), "definition_type": "statement", "definition": map[string]string{"statement": p.String()}}
}

func parseDate(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

var uuidRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
})
var stixUUIDRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
})

func validUUID(s string) bool { return uuidRE().MatchString(s) }

// stixUUID is a MISP UUID as a STIX id's UUID: itself when STIX accepts
// it (RFC 4122, versions 1–5), else a UUIDv5 of it in stix.Namespace.
func stixUUID(u string) string {
	l := strings.ToLower(u)
	if stixUUIDRE().MatchString(l) {
		return l
	}
	h := sha1.New()
	h.Write(stix.Namespace[:])
	h.Write([]byte("misp:" + l))
	s := h.Sum(nil)
	s[6] = s[6]&0x0f | 0x50
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

func asTypeErr(err error, t **json.UnmarshalTypeError) bool { return errors.As(err, t) }
func asSyntaxErr(err error, t **json.SyntaxError) bool      { return errors.As(err, t) }
