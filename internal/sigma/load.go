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

// Corpus is what LoadDir found: the detection rules that compiled (with
// the filters among the files applied to the rules they name), the
// correlation rules whose references resolve, and why each of the rest
// did not load.
type Corpus struct {
	Rules        []*CompiledRule
	Correlations []*Correlation
	Failed       []*Error
}

// LoadDir loads every rule file (*.yml, *.yaml) under dir: detection
// rules, filters and correlation rules, several to a file if need be.
// Rules come in path order; a rule that does not load is an *Error (file,
// line, reason) in Corpus.Failed; the error is only for a directory that
// cannot be walked. File names are dir joined with the path below it.
func LoadDir(dir string, opts Options) (*Corpus, error) {
	return LoadFS(os.DirFS(dir), ".", dir, opts)
}

// LoadFS is LoadDir over a file system: it loads the rule files under
// root in fsys, naming each in errors and in Rule.File as prefix joined
// with its path.
func LoadFS(fsys fs.FS, root, prefix string, opts Options) (*Corpus, error) {
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
		return nil, fmt.Errorf("load rules from %s: %w", prefix, err)
	}
	sort.Strings(paths)
	opts = opts.prepared()
	c := &Corpus{}
	var filters []*CompiledFilter
	fail := func(name string, err error) {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{File: name, Msg: err.Error()}
		}
		c.Failed = append(c.Failed, e)
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
		col, err := ParseCollection(data, name)
		if err != nil {
			fail(name, err)
			continue
		}
		for _, r := range col.Rules {
			cr, err := Compile(r, opts)
			if err != nil {
				fail(name, err)
				continue
			}
			c.Rules = append(c.Rules, cr)
		}
		for _, f := range col.Filters {
			cf, err := CompileFilter(f, opts)
			if err != nil {
				fail(name, err)
				continue
			}
			filters = append(filters, cf)
		}
		c.Correlations = append(c.Correlations, col.Correlations...)
	}
	for i, r := range c.Rules {
		var apply []*CompiledFilter
		for _, f := range filters {
			if f.Filter.Applies(r.Rule) {
				apply = append(apply, f)
			}
		}
		c.Rules[i] = r.WithFilters(apply...)
	}
	// A correlation whose references do not resolve is reported, not kept.
	known := map[string]bool{}
	for _, r := range c.Rules {
		known[r.Rule.ID], known[r.Rule.Name] = true, true
	}
	for _, cr := range c.Correlations {
		known[cr.ID], known[cr.Name] = true, true
	}
	delete(known, "")
	kept := c.Correlations[:0]
	for _, cr := range c.Correlations {
		ok := true
		for _, ref := range cr.Rules {
			if !known[ref] {
				c.Failed = append(c.Failed, &Error{File: cr.File, Line: cr.Pos.Line, Msg: fmt.Sprintf("correlation %q refers to %q, which is no loaded rule or correlation (by id or name)", cr.Title, ref)})
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, cr)
		}
	}
	c.Correlations = kept
	mapCorrelationFields(opts.chained(), c.Rules, c.Correlations)
	return c, nil
}
