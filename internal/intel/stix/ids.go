package stix

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"fmt"
)

// Namespace is the UUIDv5 namespace of deterministic SCO identifiers,
// 00abedb4-aa42-466c-9c01-fed23315a9b7 (STIX 2.1 section 2.9). It is the
// one OASIS's python-stix2 uses and the OASIS example objects were made
// with: file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d in cti-documentation's
// sighting-of-observed-data.json is {"hashes":{"MD5":…},"name":"resume.pdf"}
// under it (TestSCOIDsOfOASISExamples). Another namespace would give every
// SCO an id no other STIX producer agrees with.
var Namespace = [16]byte{0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7}

// idContributing are the ID Contributing Properties of each SCO type
// (STIX 2.1 section 6). A process has none: its id is always random.
var idContributing = map[string][]string{
	"artifact":             {"hashes", "payload_bin"},
	"autonomous-system":    {"number"},
	"directory":            {"path"},
	"domain-name":          {"value"},
	"email-addr":           {"value"},
	"email-message":        {"from_ref", "subject", "body"},
	"file":                 {"hashes", "name", "extensions", "parent_directory_ref"},
	"ipv4-addr":            {"value"},
	"ipv6-addr":            {"value"},
	"mac-addr":             {"value"},
	"mutex":                {"name"},
	"network-traffic":      {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"},
	"process":              {},
	"software":             {"name", "cpe", "swid", "vendor", "version"},
	"url":                  {"value"},
	"user-account":         {"account_type", "user_id", "account_login"},
	"windows-registry-key": {"key", "values"},
	"x509-certificate":     {"hashes", "serial_number"},
}

// preferredHashes is the order in which one hash of a hashes dictionary
// contributes to an id (section 2.9: "MD5, SHA-1, SHA-256, SHA-512", then
// any other), so two trusts that reported different hash sets of the same
// file agree when they share the first.
var preferredHashes = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// SCOID computes the deterministic identifier of an SCO of type typ with
// properties props (JSON values): UUIDv5 in Namespace over the RFC 8785
// canonical JSON of its ID Contributing Properties. With none of them
// present (and for process) the id is a random UUIDv4, as the
// specification says; deterministic reports which.
func SCOID(typ string, props map[string]json.RawMessage) (id string, deterministic bool, err error) {
	names, known := idContributing[typ]
	if !known {
		return "", false, fmt.Errorf("%s is not an SCO type of STIX 2.1", typ)
	}
	contrib := map[string]any{}
	for _, n := range names {
		raw, ok := props[n]
		if !ok {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return "", false, fmt.Errorf("%s: %w", n, err)
		}
		if n == "hashes" {
			h, ok := v.(map[string]any)
			if !ok {
				return "", false, fmt.Errorf("hashes: must be an object")
			}
			v = chooseHash(h)
			if v == nil {
				continue
			}
		}
		contrib[n] = v
	}
	if len(contrib) == 0 {
		return typ + "--" + uuidV4(), false, nil
	}
	c, err := Canonical(contrib)
	if err != nil {
		return "", false, err
	}
	return typ + "--" + uuidV5(Namespace, c), true, nil
}

func chooseHash(h map[string]any) map[string]any {
	for _, k := range preferredHashes {
		if v, ok := h[k]; ok {
			return map[string]any{k: v}
		}
	}
	// Any other: the first name in code-point order, so the choice does
	// not depend on the order of the producer's dictionary.
	first := ""
	for k := range h {
		if first == "" || k < first {
			first = k
		}
	}
	if first == "" {
		return nil
	}
	return map[string]any{first: h[first]}
}

// NewSCO builds an SCO of type typ with the given properties and its
// deterministic id (spec_version 2.1).
func NewSCO(typ string, props map[string]any) (*Object, error) {
	o := &Object{Props: map[string]json.RawMessage{}}
	for k, v := range props {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		o.Props[k] = b
	}
	id, _, err := SCOID(typ, o.Props)
	if err != nil {
		return nil, err
	}
	o.Props["type"], _ = json.Marshal(typ)
	o.Props["id"], _ = json.Marshal(id)
	o.Props["spec_version"] = json.RawMessage(`"2.1"`)
	if err := o.read(); err != nil {
		return nil, err
	}
	return o, nil
}

func uuidV5(ns [16]byte, name []byte) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write(name)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func uuidV4() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// NewID returns a random identifier for an object of type typ.
func NewID(typ string) string { return typ + "--" + uuidV4() }

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
