package sigma

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// LoadDir loads every rule file (*.yml, *.yaml) under dir, applying the
// filters (meta-rules) among them to the rules they name. It returns the
// rules that compiled, in path order, and an *Error (file, line, reason)
// for each that did not; the error is only for a directory that cannot be
// walked. File names are dir joined with the path below it.
func LoadDir(dir string, opts Options) ([]*CompiledRule, []*Error, error) {
	return LoadFS(os.DirFS(dir), ".", dir, opts)
}

// LoadFS is LoadDir over a file system: it loads the rule files under
// root in fsys, naming each in errors and in Rule.File as prefix joined
// with its path.
func LoadFS(fsys fs.FS, root, prefix string, opts Options) ([]*CompiledRule, []*Error, error) {
	var paths []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load rules from %s: %w", prefix, err)
	}
	sort.Strings(paths)
	var rules []*CompiledRule
	var filters []*CompiledFilter
	var failed []*Error
	fail := func(name string, err error) {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{File: name, Msg: err.Error()}
		}
		failed = append(failed, e)
	}
	for _, p := range paths {
		name := p
		if prefix != "" {
			name = filepath.Join(prefix, filepath.FromSlash(path.Clean(p)))
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			fail(name, err)
			continue
		}
		if root, err := decodeRoot(data, name); err == nil && isFilter(root) {
			f, err := ParseFilter(data, name)
			if err == nil {
				var cf *CompiledFilter
				if cf, err = CompileFilter(f, opts); err == nil {
					filters = append(filters, cf)
					continue
				}
			}
			fail(name, err)
			continue
		}
		c, err := ParseAndCompile(data, name, opts)
		if err != nil {
			fail(name, err)
			continue
		}
		rules = append(rules, c)
	}
	for i, r := range rules {
		var apply []*CompiledFilter
		for _, f := range filters {
			if f.Filter.Applies(r.Rule) {
				apply = append(apply, f)
			}
		}
		rules[i] = r.WithFilters(apply...)
	}
	return rules, failed, nil
}
