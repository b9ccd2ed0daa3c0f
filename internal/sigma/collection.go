package sigma

import (
	"bytes"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// Collection is what one Sigma file holds. A file is usually one
// detection rule, but the correlation specification puts a correlation
// and the rules it refers to in one file as several YAML documents.
type Collection struct {
	Rules        []*Rule
	Filters      []*Filter
	Correlations []*Correlation
}

// maxDocuments bounds the documents of one file.
const maxDocuments = 1000

// ParseCollection reads every YAML document of a file: detection rules,
// filters (a filter: key) and correlation rules (a correlation: key).
// Legacy rule collections (action: global) are unsupported. It stops at
// the first document in error; it never panics.
func ParseCollection(data []byte, file string) (c *Collection, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, &Error{File: file, Msg: fmt.Sprintf("internal error parsing file: %v", p)}
		}
	}()
	if len(data) > maxRuleBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes, over the %d-byte limit", len(data), maxRuleBytes)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	c = &Collection{}
	p := &parser{file: file}
	for n := 0; ; n++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); err == io.EOF {
			if n == 0 {
				return nil, &Error{File: file, Msg: "empty file: no rule"}
			}
			return c, nil
		} else if err != nil {
			return nil, yamlError(file, err)
		}
		if n >= maxDocuments {
			return nil, &Error{File: file, Line: doc.Line, Msg: fmt.Sprintf("more than %d YAML documents", maxDocuments)}
		}
		root := &doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) != 1 {
				continue // an empty document between two ---
			}
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return nil, &Error{File: file, Line: root.Line, Column: root.Column, Msg: fmt.Sprintf("a rule is a YAML map, not a %s", kindName(root))}
		}
		switch {
		case hasKey(root, "correlation"):
			cr, err := p.correlation(root)
			if err != nil {
				return nil, err
			}
			c.Correlations = append(c.Correlations, cr)
		case hasKey(root, "filter"):
			f, err := p.filter(root)
			if err != nil {
				return nil, err
			}
			c.Filters = append(c.Filters, f)
		default:
			r, err := p.rule(root)
			if err != nil {
				return nil, err
			}
			c.Rules = append(c.Rules, r)
		}
	}
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}
