// Package attack is MITRE ATT&CK as Vigil needs it: the tactics in their
// matrix order, the techniques and sub-techniques under each, and the
// look-up of the `attack.*` tags that Sigma rules and intelligence carry.
// It reads MITRE's STIX bundles (2.0 or 2.1, gzipped or not) and keeps
// only what is current: revoked and deprecated objects are left out, so a
// tag naming one is reported as unknown rather than counted.
//
// Detection coverage (internal/sigma) and threat intelligence
// (internal/intel) both read it; it imports nothing of Vigil's.
package attack

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Tactic is one column of the matrix: why an adversary acts.
type Tactic struct {
	// ID is the ATT&CK ID (TA0002), Short the name as tags and kill
	// chain phases spell it (execution).
	ID, Short, Name string
	URL             string
}

// Technique is a technique or sub-technique.
type Technique struct {
	// ID is T1059 or, for a sub-technique, T1059.001.
	ID, Name string
	// Parent is the technique's ID for a sub-technique, "" otherwise.
	Parent string
	// Tactics are the Short names of the tactics it serves, in the
	// matrix's order.
	Tactics   []string
	Platforms []string
	URL       string
	// Subs are a technique's sub-techniques, by ID.
	Subs []*Technique
}

// Matrix is one ATT&CK domain (Enterprise, Mobile, ICS).
type Matrix struct {
	// Name is the matrix's name ("Enterprise ATT&CK").
	Name string
	// Tactics are in the matrix's column order.
	Tactics []*Tactic
	// Techniques are the techniques (not sub-techniques), by ID.
	Techniques []*Technique

	byID    map[string]*Technique
	byShort map[string]*Tactic
	byTA    map[string]*Tactic
}

// object is the part of a STIX object the matrix needs.
type object struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Name       string `json:"name"`
	Revoked    bool   `json:"revoked"`
	Deprecated bool   `json:"x_mitre_deprecated"`
	Refs       []struct {
		Source     string `json:"source_name"`
		ExternalID string `json:"external_id"`
		URL        string `json:"url"`
	} `json:"external_references"`
	Phases []struct {
		Chain string `json:"kill_chain_name"`
		Phase string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	Short     string   `json:"x_mitre_shortname"`
	Sub       bool     `json:"x_mitre_is_subtechnique"`
	Platforms []string `json:"x_mitre_platforms"`
	TacticRef []string `json:"tactic_refs"`
}

// mitreRef is the object's ATT&CK ID and page.
func (o *object) mitreRef() (string, string) {
	for _, r := range o.Refs {
		if strings.HasPrefix(r.Source, "mitre-") && r.ExternalID != "" {
			return r.ExternalID, r.URL
		}
	}
	return "", ""
}

// LoadFile reads a STIX bundle file (gzipped or not).
func LoadFile(path string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Load reads a STIX bundle (gzipped or not) holding one matrix.
func Load(r io.Reader) (*Matrix, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer func() { _ = zr.Close() }()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	dec := json.NewDecoder(br)
	if err := into(dec, "objects"); err != nil {
		return nil, err
	}
	var (
		matrix     *object
		tactics    = map[string]*Tactic{} // by STIX id
		techniques []*Technique
	)
	for i := 0; dec.More(); i++ {
		var o object
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("object %d: %w", i+1, err)
		}
		if o.Revoked || o.Deprecated {
			continue
		}
		id, url := o.mitreRef()
		switch o.Type {
		case "x-mitre-matrix":
			if matrix != nil {
				return nil, fmt.Errorf("object %d: a second matrix (%q after %q): one bundle holds one domain", i+1, o.Name, matrix.Name)
			}
			mo := o
			matrix = &mo
		case "x-mitre-tactic":
			if id == "" || o.Short == "" {
				return nil, fmt.Errorf("object %d (%s): tactic without an ATT&CK ID or short name", i+1, o.ID)
			}
			tactics[o.ID] = &Tactic{ID: id, Short: o.Short, Name: o.Name, URL: url}
		case "attack-pattern":
			if id == "" {
				return nil, fmt.Errorf("object %d (%s): technique without an ATT&CK ID", i+1, o.ID)
			}
			t := &Technique{ID: id, Name: o.Name, URL: url, Platforms: o.Platforms}
			if o.Sub {
				parent, _, ok := strings.Cut(id, ".")
				if !ok {
					return nil, fmt.Errorf("object %d: sub-technique %s has no parent in its ID", i+1, id)
				}
				t.Parent = parent
			}
			for _, p := range o.Phases {
				if strings.HasPrefix(p.Chain, "mitre-") {
					t.Tactics = append(t.Tactics, p.Phase)
				}
			}
			techniques = append(techniques, t)
		}
	}
	if matrix == nil {
		return nil, errors.New("no x-mitre-matrix object: not an ATT&CK bundle")
	}
	m := &Matrix{Name: matrix.Name, byID: map[string]*Technique{}, byShort: map[string]*Tactic{}, byTA: map[string]*Tactic{}}
	order := map[string]int{}
	for _, ref := range matrix.TacticRef {
		t, ok := tactics[ref]
		if !ok {
			continue // a revoked or deprecated tactic
		}
		order[t.Short] = len(m.Tactics)
		m.Tactics = append(m.Tactics, t)
		m.byShort[t.Short] = t
		m.byTA[t.ID] = t
	}
	for _, t := range techniques {
		if _, dup := m.byID[t.ID]; dup {
			return nil, fmt.Errorf("technique %s appears twice", t.ID)
		}
		m.byID[t.ID] = t
		sort.SliceStable(t.Tactics, func(i, j int) bool { return order[t.Tactics[i]] < order[t.Tactics[j]] })
	}
	for _, t := range techniques {
		if t.Parent == "" {
			m.Techniques = append(m.Techniques, t)
			continue
		}
		p, ok := m.byID[t.Parent]
		if !ok {
			return nil, fmt.Errorf("sub-technique %s: its technique %s is not in the bundle", t.ID, t.Parent)
		}
		p.Subs = append(p.Subs, t)
	}
	byID := func(l []*Technique) {
		sort.Slice(l, func(i, j int) bool { return l[i].ID < l[j].ID })
	}
	byID(m.Techniques)
	for _, t := range m.Techniques {
		byID(t.Subs)
	}
	return m, nil
}

// into moves dec into the array under key of the top-level object.
func into(dec *json.Decoder, key string) error {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a STIX bundle: expected a JSON object (%v)", err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not a STIX bundle: %w", err)
		}
		if t == key {
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return fmt.Errorf("bundle %q is not an array", key)
			}
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("not a STIX bundle: %w", err)
		}
	}
	return fmt.Errorf("not a STIX bundle: no %q", key)
}

// Technique returns the technique or sub-technique with this ID
// (T1059, T1059.001; any case).
func (m *Matrix) Technique(id string) (*Technique, bool) {
	t, ok := m.byID[strings.ToUpper(id)]
	return t, ok
}

// Tactic returns the tactic with this short name (execution) or ID
// (TA0002; any case).
func (m *Matrix) Tactic(name string) (*Tactic, bool) {
	if t, ok := m.byShort[strings.ToLower(name)]; ok {
		return t, true
	}
	t, ok := m.byTA[strings.ToUpper(name)]
	return t, ok
}

// TagKind says what a Sigma `attack.*` tag names.
type TagKind int

// The kinds of tag.
const (
	NotATT TagKind = iota // not an attack.* tag
	TagTechnique
	TagTactic
	TagOther // an attack.* tag naming a group (g0016), software (s0002) or data source (ds0005)
	TagUnknown
)

// Tag is what a Sigma tag names in this matrix.
type Tag struct {
	Kind      TagKind
	Technique *Technique
	Tactic    *Tactic
}

// ResolveTag reads a Sigma rule's tag: attack.t1059.001 is a
// sub-technique, attack.execution (or attack.ta0002) a tactic,
// attack.g0016, attack.s0002 and attack.ds0005 a group, software and a
// data source; a technique or tactic not
// in this matrix (a newer release's, or one revoked) is TagUnknown, so
// coverage can report it instead of dropping it silently.
func (m *Matrix) ResolveTag(tag string) Tag {
	rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(tag)), "attack.")
	if !ok {
		return Tag{Kind: NotATT}
	}
	if len(rest) > 1 && rest[0] == 't' && rest[1] >= '0' && rest[1] <= '9' {
		if t, ok := m.Technique(rest); ok {
			return Tag{Kind: TagTechnique, Technique: t}
		}
		return Tag{Kind: TagUnknown}
	}
	rest = strings.ReplaceAll(rest, "_", "-")
	if t, ok := m.Tactic(rest); ok {
		return Tag{Kind: TagTactic, Tactic: t}
	}
	if id := strings.TrimLeft(rest, "gsd"); len(id) < len(rest) && len(rest)-len(id) <= 2 && id != "" && id[0] >= '0' && id[0] <= '9' {
		return Tag{Kind: TagOther} // g0016, s0002, ds0005
	}
	return Tag{Kind: TagUnknown}
}

// Column is one tactic with its techniques, for drawing the matrix.
type Column struct {
	Tactic     *Tactic
	Techniques []*Technique
}

// Columns lays the matrix out: each tactic in order, with the techniques
// that serve it sorted by name (as ATT&CK's own matrix is).
func (m *Matrix) Columns() []Column {
	cols := make([]Column, len(m.Tactics))
	at := map[string]int{}
	for i, t := range m.Tactics {
		cols[i].Tactic = t
		at[t.Short] = i
	}
	for _, t := range m.Techniques {
		for _, s := range t.Tactics {
			if i, ok := at[s]; ok {
				cols[i].Techniques = append(cols[i].Techniques, t)
			}
		}
	}
	for _, c := range cols {
		sort.SliceStable(c.Techniques, func(i, j int) bool { return c.Techniques[i].Name < c.Techniques[j].Name })
	}
	return cols
}
