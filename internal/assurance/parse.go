package assurance

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-health/vigil/internal/fault"
)

// MaxFileBytes bounds a requirement-set file. The largest published library
// in the shared data (NIST SP 800-53) is 3.4 MB unpacked.
const MaxFileBytes = 16 << 20

// Unwrap makes a ParseError an invalid-input error for the API and web
// (fault.Status gives 400) with the whole message as the reason.
func (e *ParseError) Unwrap() error {
	return &fault.Invalid{Field: e.File, Reason: strings.TrimPrefix(e.Error(), e.File+": ")}
}

// ParseOptions adjust Parse.
type ParseOptions struct {
	// Version overrides the version a WebCAF file's name gives
	// ("cyber-assessment-framework-v3.2.yaml" is 3.2); a file whose name
	// gives none needs it.
	Version string
}

// Parse reads one requirement-set file; name is what errors call it (its
// path) and what the set records as its source. The format is told from
// the document: a CISO Assistant library has urn and objects, a WebCAF CAF
// file has objectives. It never panics on input: a runtime panic in a
// parser becomes an error naming the file.
func Parse(name string, data []byte, o ParseOptions) (set *Set, err error) {
	defer func() {
		if r := recover(); r != nil {
			set, err = nil, &ParseError{File: name, Msg: fmt.Sprintf("internal error reading this file: %v", r)}
		}
	}()
	if len(data) > MaxFileBytes {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("is larger than %d bytes", MaxFileBytes)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{File: name, Msg: "is empty"}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(name, err)
	}
	p := &parser{file: name}
	root := p.resolve(&doc)
	if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = p.resolve(root.Content[0])
	}
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, p.errAt(root, "", "is not a YAML mapping: expected a CISO Assistant library or a WebCAF CAF file")
	}
	sum := sha256.Sum256(data)
	switch {
	case p.get(root, "objectives") != nil:
		set, err = p.webcaf(root, o)
	case p.get(root, "urn") != nil && p.get(root, "objects") != nil:
		set, err = p.ciso(root)
	default:
		return nil, p.errAt(root, "", "is neither a CISO Assistant library (urn and objects) nor a WebCAF CAF file (objectives)")
	}
	if err != nil {
		return nil, err
	}
	set.Source = filepath.Base(name)
	set.Digest = hex.EncodeToString(sum[:])
	return set, nil
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

func yamlError(name string, err error) error {
	msg := err.Error()
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		var line int
		_, _ = fmt.Sscanf(m[1], "%d", &line)
		return &ParseError{File: name, Line: line, Msg: "not valid YAML: " + m[2]}
	}
	return &ParseError{File: name, Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// parser walks a yaml.Node tree, keeping the file name for errors.
type parser struct {
	file string
}

func (p *parser) errAt(n *yaml.Node, path, format string, a ...any) error {
	e := &ParseError{File: p.file, Path: path, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// resolve follows aliases (the CAF 3.2 file writes every outcome's rules
// and profile levels as aliases of anchors at the top).
func (p *parser) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// get returns the value of key in mapping m, aliases resolved, or nil.
func (p *parser) get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := p.resolve(m.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return p.resolve(m.Content[i+1])
		}
	}
	return nil
}

// pair is one key and value of a mapping, in file order.
type pair struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// pairs lists mapping m's entries; a non-scalar key or a key twice is an error.
func (p *parser) pairs(m *yaml.Node, path string) ([]pair, error) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, p.errAt(m, path, "must be a mapping")
	}
	out := make([]pair, 0, len(m.Content)/2)
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := p.resolve(m.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			return nil, p.errAt(m.Content[i], path, "has a key that is not a plain value")
		}
		if seen[k.Value] {
			return nil, p.errAt(k, path, "has %q twice", k.Value)
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, keyN: k, value: p.resolve(m.Content[i+1])})
	}
	return out, nil
}

// str reads an optional scalar; a mapping or list where text belongs is an error.
func (p *parser) str(m *yaml.Node, key, path string) (string, error) {
	v := p.get(m, key)
	if v == nil || (v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", p.errAt(v, join(path, key), "must be text, not a %s", kindName(v))
	}
	return strings.TrimSpace(v.Value), nil
}

// need reads a required non-empty scalar.
func (p *parser) need(m *yaml.Node, key, path string) (string, error) {
	s, err := p.str(m, key, path)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", p.errAt(m, path, "has no %s", key)
	}
	return s, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	}
	return "node"
}

// ReadFile reads a requirement-set or snapshot file from disk, unpacking
// it when its name ends in .gz (the largest published libraries are kept
// packed), and refusing more than MaxFileBytes either way.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing loses nothing
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fault.Invalidf(path, "not gzip: %v", err)
		}
		defer func() { _ = zr.Close() }() // the reader is read to its end or the limit
		r = zr
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fault.Invalidf(path, "is larger than %d bytes", MaxFileBytes)
	}
	return data, nil
}
