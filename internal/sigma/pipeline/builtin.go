package pipeline

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// builtinFS holds Vigil's own pipelines, in pySigma format.
//
//go:embed builtin/*.yml
var builtinFS embed.FS

// builtinNames are the built-in pipelines, the default first.
var builtinNames = []string{"vigil", "ecs"}

// BuiltinNames returns the names Builtin accepts, the default ("vigil")
// first.
func BuiltinNames() []string { return append([]string(nil), builtinNames...) }

// Builtin parses the built-in pipeline name: "vigil" for events as
// Vigil's ingest stores them (Sigma's field names at top level, Security
// 4688 as process creation), or "ecs" for Elastic Common Schema events
// (Winlogbeat 7+, Elastic Agent). Each call returns a fresh value.
func Builtin(name string) (*Pipeline, error) {
	if !contains(builtinNames, name) {
		return nil, fmt.Errorf("no built-in pipeline %q (have %s)", name, strings.Join(builtinNames, ", "))
	}
	path := "builtin/" + name + ".yml"
	b, err := builtinFS.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Open reads the pipeline spec names: a built-in pipeline's name
// (BuiltinNames) or the path of a pipeline file in either format
// (ParseFile). A name is tried as a built-in first, so a file named like
// one is given with a directory ("./ecs").
func Open(spec string) (*Pipeline, error) {
	if contains(builtinNames, spec) {
		return Builtin(spec)
	}
	p, err := ParseFile(spec)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is neither a built-in pipeline (%s) nor a pipeline file: %w", spec, strings.Join(builtinNames, ", "), err)
		}
		return nil, err
	}
	return p, nil
}
