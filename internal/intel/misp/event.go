// Package misp reads and writes MISP's JSON: events (attributes, objects,
// tags, galaxies, sightings) and feeds (manifest.json, one <uuid>.json a
// event, hashes.csv), and converts them to and from STIX 2.1 objects as
// Vigil stores them. It imports nothing of Vigil's but the stix and
// pattern packages; the store (package intel) calls it.
package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Event is one MISP event, with what Vigil keeps of it.
type Event struct {
	UUID          string      `json:"uuid"`
	Info          string      `json:"info"`
	Date          string      `json:"date"`
	Timestamp     Int         `json:"timestamp"`
	Published     Bool        `json:"published"`
	Analysis      Str         `json:"analysis"`
	ThreatLevelID Str         `json:"threat_level_id"`
	Orgc          *Org        `json:"Orgc,omitempty"`
	Tags          []Tag       `json:"Tag,omitempty"`
	Attributes    []Attribute `json:"Attribute,omitempty"`
	Objects       []Object    `json:"Object,omitempty"`
	Galaxies      []Galaxy    `json:"Galaxy,omitempty"`
}

// Org is an organisation (Orgc, a sighting's Organisation).
type Org struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// Tag is a MISP tag; only its name matters to Vigil.
type Tag struct {
	Name string `json:"name"`
}

// Attribute is one MISP attribute (of the event or of an object).
type Attribute struct {
	UUID           string     `json:"uuid"`
	Type           string     `json:"type"`
	Category       string     `json:"category"`
	Value          string     `json:"value"`
	ToIDs          Bool       `json:"to_ids"`
	Comment        string     `json:"comment"`
	Timestamp      Int        `json:"timestamp"`
	ObjectRelation string     `json:"object_relation,omitempty"`
	Tags           []Tag      `json:"Tag,omitempty"`
	Sightings      []Sighting `json:"Sighting,omitempty"`
	// Galaxies are the clusters this attribute alone is tagged with
	// (the malware a hash belongs to, the technique an address served).
	Galaxies []Galaxy `json:"Galaxy,omitempty"`
}

// Object is a MISP object: attributes that belong together.
type Object struct {
	UUID            string      `json:"uuid"`
	Name            string      `json:"name"`
	MetaCategory    string      `json:"meta-category"`
	Description     string      `json:"description,omitempty"`
	TemplateUUID    string      `json:"template_uuid,omitempty"`
	TemplateVersion Str         `json:"template_version,omitempty"`
	Comment         string      `json:"comment"`
	Timestamp       Int         `json:"timestamp"`
	Attributes      []Attribute `json:"Attribute,omitempty"`
	References      []Reference `json:"ObjectReference,omitempty"`
}

// Reference links an object to another object or attribute.
type Reference struct {
	UUID             string `json:"uuid"`
	ReferencedUUID   string `json:"referenced_uuid"`
	RelationshipType string `json:"relationship_type"`
	Comment          string `json:"comment,omitempty"`
	Timestamp        Int    `json:"timestamp"`
}

// Galaxy is a galaxy (a kind of cluster) and the clusters an event is tagged with.
type Galaxy struct {
	UUID        string    `json:"uuid"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Namespace   string    `json:"namespace,omitempty"`
	Description string    `json:"description,omitempty"`
	Clusters    []Cluster `json:"GalaxyCluster"`
}

// Cluster is one galaxy cluster: a threat actor, a malware family, a technique.
type Cluster struct {
	UUID        string `json:"uuid"`
	Type        string `json:"type"`
	Value       string `json:"value"`
	TagName     string `json:"tag_name"`
	Description string `json:"description,omitempty"`
}

// Sighting is a sighting of an attribute.
type Sighting struct {
	UUID         string `json:"uuid"`
	DateSighting Int    `json:"date_sighting"`
	// Type is 0 a sighting, 1 a false positive, 2 an expiration.
	Type         Str    `json:"type"`
	Source       string `json:"source,omitempty"`
	Organisation *Org   `json:"Organisation,omitempty"`
}

// Str is a MISP value that is a string or a number in the wild ("2", 2).
type Str string

// UnmarshalJSON accepts a string, a number or null.
func (s *Str) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = Str(v)
		return nil
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %.20s", b)
	}
	*s = Str(n.String())
	return nil
}

// Int is a MISP integer written as a string ("1599621362") or a number.
type Int int64

// UnmarshalJSON accepts "123", 123 or null.
func (n *Int) UnmarshalJSON(b []byte) error {
	var s Str
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %q", string(s))
	}
	*n = Int(v)
	return nil
}

// MarshalJSON writes the integer as MISP does, as a string.
func (n Int) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// Bool is a MISP boolean: true, "1", 1, "true".
type Bool bool

// UnmarshalJSON accepts true/false, "1"/"0", 1/0, "true"/"false" and null.
func (v *Bool) UnmarshalJSON(b []byte) error {
	var s Str
	switch string(bytes.TrimSpace(b)) {
	case "true":
		*v = true
		return nil
	case "false", "null":
		*v = false
		return nil
	}
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(string(s)) {
	case "1", "true":
		*v = true
	case "0", "false", "":
		*v = false
	default:
		return fmt.Errorf("want a boolean, got %q", string(s))
	}
	return nil
}

// ParseError is MISP JSON that cannot be read: the file, where in it
// (line and column, or the attribute or object), and why.
type ParseError struct {
	File  string
	Where string
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Where == "" {
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Where + ": " + e.Msg
}

// IsEvent reports whether a JSON document looks like a MISP event: an
// object with "Event", or "response" (a MISP search result), or an
// event's own keys (uuid, info and Attribute or Object).
func IsEvent(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	if _, ok := top["Event"]; ok {
		return true
	}
	if _, ok := top["response"]; ok {
		return true
	}
	_, info := top["info"]
	_, attrs := top["Attribute"]
	_, objs := top["Object"]
	_, typ := top["type"]
	return info && (attrs || objs) && !typ
}

// ParseEvents reads a MISP JSON document: {"Event": {...}}, a bare event,
// {"response": [{"Event": ...}, ...]} or an array of either. Errors name
// the file and the line and column, or the event, attribute or object.
func ParseEvents(name string, data []byte) ([]Event, error) {
	data = bytes.TrimSpace(data)
	var docs []json.RawMessage
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &docs); err != nil {
			return nil, &ParseError{File: name, Where: where(data, err), Msg: err.Error()}
		}
	} else {
		var top struct {
			Response []json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, &ParseError{File: name, Where: where(data, err), Msg: "not MISP JSON: " + err.Error()}
		}
		if top.Response != nil {
			docs = top.Response
		} else {
			docs = []json.RawMessage{data}
		}
	}
	evs := make([]Event, 0, len(docs))
	for i, d := range docs {
		var wrap struct {
			Event *json.RawMessage `json:"Event"`
		}
		if err := json.Unmarshal(d, &wrap); err != nil {
			return nil, &ParseError{File: name, Where: fmt.Sprintf("event %d", i), Msg: err.Error()}
		}
		raw := d
		if wrap.Event != nil {
			raw = *wrap.Event
		}
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			w := where(data, err)
			var te *json.UnmarshalTypeError
			if asTypeErr(err, &te) && te.Field != "" {
				w += " field " + te.Field
			}
			return nil, &ParseError{File: name, Where: strings.TrimSpace(fmt.Sprintf("event %d %s", i, w)), Msg: err.Error()}
		}
		if err := e.check(); err != nil {
			return nil, &ParseError{File: name, Where: fmt.Sprintf("event %d (%s)", i, e.UUID), Msg: err.Error()}
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// check validates what the conversion relies on, naming the field.
func (e *Event) check() error {
	if !validUUID(e.UUID) {
		return fmt.Errorf("uuid: %q is not a UUID", e.UUID)
	}
	if e.Date != "" {
		if _, err := parseDate(e.Date); err != nil {
			return fmt.Errorf("date: %q is not YYYY-MM-DD", e.Date)
		}
	}
	attr := func(where string, a Attribute) error {
		switch {
		case !validUUID(a.UUID):
			return fmt.Errorf("%s.uuid: %q is not a UUID", where, a.UUID)
		case a.Type == "":
			return fmt.Errorf("%s.type: required", where)
		case a.Value == "":
			return fmt.Errorf("%s.value: required", where)
		}
		for j, s := range a.Sightings {
			if !validUUID(s.UUID) {
				return fmt.Errorf("%s.Sighting[%d].uuid: %q is not a UUID", where, j, s.UUID)
			}
		}
		return nil
	}
	for i, a := range e.Attributes {
		if err := attr(fmt.Sprintf("Attribute[%d]", i), a); err != nil {
			return err
		}
	}
	for i, o := range e.Objects {
		if !validUUID(o.UUID) {
			return fmt.Errorf("in Object[%d]: uuid: %q is not a UUID", i, o.UUID)
		}
		if o.Name == "" {
			return fmt.Errorf("in Object[%d]: name: required", i)
		}
		for j, a := range o.Attributes {
			if err := attr(fmt.Sprintf("Object[%d].Attribute[%d]", i, j), a); err != nil {
				return err
			}
		}
		for j, r := range o.References {
			if !validUUID(r.UUID) {
				return fmt.Errorf("in Object[%d].ObjectReference[%d]: uuid: %q is not a UUID", i, j, r.UUID)
			}
		}
	}
	return nil
}

func where(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case asSyntaxErr(err, &se):
		off = se.Offset
	case asTypeErr(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return ""
	}
	off = min(off, int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d column %d", line, col)
}
