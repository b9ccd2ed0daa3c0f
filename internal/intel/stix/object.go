// Package stix is the STIX 2.1 object model as Vigil stores and shares it:
// a generic object that keeps every property it was given (custom and
// extension properties included) with its common properties read out and
// checked, deterministic identifiers for cyber-observable objects, and
// the TLP marking definitions. It imports nothing of Vigil's.
package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Category says what kind of STIX object a type is.
type Category int

// The categories of STIX 2.1 section 2.
const (
	Custom Category = iota // a type STIX 2.1 does not define
	SDO
	SCO
	SRO
	Meta // marking-definition, language-content, extension-definition
	BundleType
)

// The types STIX 2.1 defines (sections 4–7, 12).
var (
	sdoTypes = []string{"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
		"indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note",
		"observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability"}
	scoTypes = []string{"artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
		"file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
		"user-account", "windows-registry-key", "x509-certificate"}
	sroTypes  = []string{"relationship", "sighting"}
	metaTypes = []string{"marking-definition", "language-content", "extension-definition"}
	category  = func() map[string]Category {
		m := map[string]Category{"bundle": BundleType}
		for c, ts := range map[Category][]string{SDO: sdoTypes, SCO: scoTypes, SRO: sroTypes, Meta: metaTypes} {
			for _, t := range ts {
				m[t] = c
			}
		}
		return m
	}()
)

// CategoryOf returns the category of a type.
func CategoryOf(typ string) Category { return category[typ] }

// Types returns every object type STIX 2.1 defines, SDOs, SCOs, SROs and
// meta objects, sorted.
func Types() []string {
	var ts []string
	for t, c := range category {
		if c != BundleType {
			ts = append(ts, t)
		}
	}
	sort.Strings(ts)
	return ts
}

// Object is one STIX 2.1 object. Props holds every property as it was
// given (or set), so an object passes through Vigil unchanged; the fields
// are the common properties read out of it.
type Object struct {
	Type, ID     string
	SpecVersion  string
	Created      time.Time // zero for SCOs
	Modified     time.Time // zero for SCOs and marking definitions
	Revoked      bool
	CreatedByRef string
	MarkingRefs  []string // object_marking_refs
	Props        map[string]json.RawMessage
}

// Error is an object that is not valid STIX 2.1.
type Error struct {
	// Property is the property at fault ("" for the object as a whole).
	Property string
	Msg      string
}

func (e *Error) Error() string {
	if e.Property == "" {
		return e.Msg
	}
	return e.Property + ": " + e.Msg
}

func invalid(prop, format string, a ...any) *Error {
	return &Error{Property: prop, Msg: fmt.Sprintf(format, a...)}
}

var (
	typeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([a-z][a-z0-9]*)+(-[a-z0-9]+)*-?$`) })
	uuidRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$`)
	})
	// STIX timestamps are RFC 3339 in UTC with a Z (section 3.2).
	timestampRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?Z$`)
	})
)

// ValidID reports whether id is type--UUID with a valid type.
func ValidID(id string) bool {
	typ, u, ok := strings.Cut(id, "--")
	return ok && typeRE().MatchString(typ) && uuidRE().MatchString(u)
}

// ParseTimestamp reads a STIX timestamp.
func ParseTimestamp(s string) (time.Time, error) {
	if !timestampRE().MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a STIX timestamp (YYYY-MM-DDThh:mm:ss[.s+]Z)", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %v", s, err)
	}
	return t, nil
}

// FormatTimestamp writes t as STIX does, in UTC with millisecond precision
// (section 3.2 asks for at least milliseconds on created and modified).
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// FormatVersion writes a version timestamp (an object's modified) with
// every digit it has, and at least milliseconds. A TAXII client passes a
// version from a manifest or versions list back as match[version], so
// it must name the stored version exactly: an object modified at
// .120696 is a different version from one modified at .120.
func FormatVersion(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.999999999Z")
}

// Parse reads and validates one STIX 2.1 object.
func Parse(b []byte) (*Object, error) {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(b, &props); err != nil {
		return nil, &Error{Msg: "not a JSON object: " + err.Error()}
	}
	return FromProps(props)
}

// FromProps makes an object of decoded properties and validates it.
func FromProps(props map[string]json.RawMessage) (*Object, error) {
	if props == nil {
		return nil, &Error{Msg: "not a JSON object: null"}
	}
	o := &Object{Props: props}
	if err := o.read(); err != nil {
		return nil, err
	}
	return o, nil
}

// read fills the common fields from Props and validates them (section 3).
func (o *Object) read() error {
	str := func(name string, required bool) (string, error) {
		raw, ok := o.Props[name]
		if !ok {
			if required {
				return "", invalid(name, "required")
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", invalid(name, "must be a string")
		}
		return s, nil
	}
	var err error
	if o.Type, err = str("type", true); err != nil {
		return err
	}
	if len(o.Type) < 3 || len(o.Type) > 250 || !typeRE().MatchString(o.Type) {
		return invalid("type", "%q is not a STIX type (3–250 characters: lower-case letters, digits, hyphens)", o.Type)
	}
	cat := CategoryOf(o.Type)
	if cat == BundleType {
		return invalid("type", "a bundle is not an object; give its objects")
	}
	if o.ID, err = str("id", true); err != nil {
		return err
	}
	if !ValidID(o.ID) || !strings.HasPrefix(o.ID, o.Type+"--") {
		return invalid("id", "%q is not %s--UUID", o.ID, o.Type)
	}
	if o.SpecVersion, err = str("spec_version", cat != SCO); err != nil {
		return err
	}
	if o.SpecVersion != "" && o.SpecVersion != "2.1" {
		return invalid("spec_version", "%q: only STIX 2.1 is read", o.SpecVersion)
	}
	ts := func(name string, required bool) (time.Time, error) {
		s, err := str(name, required)
		if err != nil || s == "" {
			return time.Time{}, err
		}
		t, err := ParseTimestamp(s)
		if err != nil {
			return time.Time{}, invalid(name, "%v", err)
		}
		return t, nil
	}
	// SDOs, SROs, language content and extension definitions are
	// versioned: created and modified are required. A marking definition
	// has created only; an SCO neither.
	versioned := cat == SDO || cat == SRO || o.Type == "language-content" || o.Type == "extension-definition" || cat == Custom && o.Props["created"] != nil
	if o.Created, err = ts("created", versioned || o.Type == "marking-definition"); err != nil {
		return err
	}
	if o.Modified, err = ts("modified", versioned); err != nil {
		return err
	}
	if !o.Modified.IsZero() && o.Modified.Before(o.Created) {
		return invalid("modified", "is before created")
	}
	if raw, ok := o.Props["revoked"]; ok {
		if err := json.Unmarshal(raw, &o.Revoked); err != nil {
			return invalid("revoked", "must be true or false")
		}
	}
	if o.CreatedByRef, err = str("created_by_ref", false); err != nil {
		return err
	}
	if o.CreatedByRef != "" && (!ValidID(o.CreatedByRef) || !strings.HasPrefix(o.CreatedByRef, "identity--")) {
		return invalid("created_by_ref", "%q is not an identity id", o.CreatedByRef)
	}
	if raw, ok := o.Props["object_marking_refs"]; ok {
		if err := json.Unmarshal(raw, &o.MarkingRefs); err != nil {
			return invalid("object_marking_refs", "must be a list of marking-definition ids")
		}
		for i, r := range o.MarkingRefs {
			if !ValidID(r) || !strings.HasPrefix(r, "marking-definition--") {
				return invalid(fmt.Sprintf("object_marking_refs[%d]", i), "%q is not a marking-definition id", r)
			}
		}
	}
	if raw, ok := o.Props["confidence"]; ok {
		var c int
		if err := json.Unmarshal(raw, &c); err != nil || c < 0 || c > 100 {
			return invalid("confidence", "must be a whole number from 0 to 100")
		}
	}
	if raw, ok := o.Props["labels"]; ok {
		var ls []string
		if err := json.Unmarshal(raw, &ls); err != nil {
			return invalid("labels", "must be a list of strings")
		}
	}
	if raw, ok := o.Props["external_references"]; ok {
		var refs []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &refs); err != nil {
			return invalid("external_references", "must be a list of objects")
		}
		for i, r := range refs {
			if _, ok := r["source_name"]; !ok {
				return invalid(fmt.Sprintf("external_references[%d].source_name", i), "required")
			}
		}
	}
	if raw, ok := o.Props["granular_markings"]; ok {
		var gms []struct {
			Selectors  []string `json:"selectors"`
			Lang       string   `json:"lang"`
			MarkingRef string   `json:"marking_ref"`
		}
		if err := json.Unmarshal(raw, &gms); err != nil {
			return invalid("granular_markings", "must be a list of granular markings")
		}
		for i, g := range gms {
			if len(g.Selectors) == 0 || (g.Lang == "") == (g.MarkingRef == "") {
				return invalid(fmt.Sprintf("granular_markings[%d]", i), "needs selectors and exactly one of lang and marking_ref")
			}
		}
	}
	return nil
}

// Get decodes property name into v; false when the object lacks it.
func (o *Object) Get(name string, v any) (bool, error) {
	raw, ok := o.Props[name]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// Set sets property name to v and re-reads the common properties.
func (o *Object) Set(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if o.Props == nil {
		o.Props = map[string]json.RawMessage{}
	}
	o.Props[name] = b
	return o.read()
}

// Delete removes property name and re-reads the common properties
// (an error when the object is no longer valid without it).
func (o *Object) Delete(name string) error {
	delete(o.Props, name)
	return o.read()
}

// MarshalJSON writes every property, in name order, so the same object
// always serialises to the same bytes.
func (o *Object) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(o.Props))
	for k := range o.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, o.Props[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Version is the timestamp that orders an object's versions: modified,
// or created for a marking definition; zero for SCOs, which have one
// version.
func (o *Object) Version() time.Time {
	if !o.Modified.IsZero() {
		return o.Modified
	}
	return o.Created
}

// ErrNotBundle means a document is neither a bundle nor a STIX object.
var ErrNotBundle = errors.New("not a STIX bundle")

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
