package sigma

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadPlaceholders reads a YAML file of placeholder values for rules that
// use the expand modifier: each placeholder's name (with or without its
// percent signs) mapped to one value or a list of them, e.g.
//
//	domain_controller_hostnames: [DC01, "DC02*"]
//	userdomain: CONTOSO
//
// Errors name the file and line.
func LoadPlaceholders(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]string{}
	if len(doc.Content) == 0 {
		return out, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of placeholder names to values", path, m.Line)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := strings.Trim(strings.TrimSpace(k.Value), "%")
		if name == "" {
			return nil, fmt.Errorf("%s:%d: a placeholder needs a name", path, k.Line)
		}
		switch v.Kind {
		case yaml.ScalarNode:
			out[name] = []string{v.Value}
		case yaml.SequenceNode:
			for _, x := range v.Content {
				if x.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s:%d: placeholder %s: a value is a text, not a list or mapping", path, x.Line, name)
				}
				out[name] = append(out[name], x.Value)
			}
		default:
			return nil, fmt.Errorf("%s:%d: placeholder %s: give a text or a list of texts", path, v.Line, name)
		}
	}
	return out, nil
}
