package sigma

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
)

// Hunter runs a set of compiled rules over events, each event only
// against the rules of its log source: a rule for product windows,
// category process_creation never sees a Zeek record. Product, service
// and category are the ones ingest gave the event (internal/ingest
// logsources.yaml, where Security 4688 is process_creation with Sysmon's
// field names). A Hunter is immutable and safe for concurrent use.
type Hunter struct {
	// byProduct holds, per lower-case product, the rules naming it;
	// any holds the rules naming no product.
	byProduct map[string][]*CompiledRule
	any       []*CompiledRule
	n         int
}

// NewHunter indexes rules by log source.
func NewHunter(rules []*CompiledRule) *Hunter {
	h := &Hunter{byProduct: map[string][]*CompiledRule{}, n: len(rules)}
	for _, r := range rules {
		p := strings.ToLower(r.Rule.Logsource.Product)
		if p == "" {
			h.any = append(h.any, r)
			continue
		}
		h.byProduct[p] = append(h.byProduct[p], r)
	}
	return h
}

// Rules is how many rules the hunter runs.
func (h *Hunter) Rules() int { return h.n }

// Match calls fn with each rule that ev's log source routes it to and
// whose condition it satisfies, in load order within each group.
func (h *Hunter) Match(ev *events.Event, fn func(*CompiledRule)) {
	e := FromEvent(ev)
	try := func(rs []*CompiledRule) {
		for _, r := range rs {
			if r.Rule.Logsource.Covers(ev.Product, ev.Category, ev.Service) && r.Match(e) {
				fn(r)
			}
		}
	}
	if ev.Product != "" {
		try(h.byProduct[strings.ToLower(ev.Product)])
	}
	try(h.any)
}

// Hit is one rule matching one event of a file.
type Hit struct {
	Rule *CompiledRule
	// File is the path as given (or found under a directory given);
	// Line is the 1-based line where the event starts.
	File  string
	Line  int64
	Event *events.Event
}

// HuntReport sums up a hunt.
type HuntReport struct {
	Files  int   `json:"files"`
	Events int64 `json:"events"`
	Hits   int64 `json:"hits"`
	// Unparsed counts events no parser could read (kept raw, still
	// searched by keyword rules).
	Unparsed int64 `json:"unparsed"`
}

// HuntFiles reads each path (a file, or a directory whose files are read
// in name order, hidden ones skipped), in any shape `vigil events import`
// reads — JSON lines, JSON objects over several lines one after another
// (evtx dumps, SigmaHQ's regression data), JSON arrays, syslog and the
// rest, gzipped or not — normalises each record with n and calls fn for
// every rule h routes it to that it matches. An error from fn stops the
// hunt; a file that cannot be read is an error naming it.
func HuntFiles(ctx context.Context, h *Hunter, n *ingest.Normaliser, paths []string, progress ingest.FileProgress, fn func(Hit) error) (HuntReport, error) {
	var rep HuntReport
	files, err := expand(paths)
	if err != nil {
		return rep, err
	}
	for _, f := range files {
		rep.Files++
		err := ingest.ReadFile(ctx, f, ingest.FileOptions{}, progress, func(r ingest.Record) error {
			ev := n.Normalise(r)
			rep.Events++
			if ev.ParseError != "" {
				rep.Unparsed++
			}
			var ferr error
			h.Match(&ev, func(c *CompiledRule) {
				if ferr != nil {
					return
				}
				rep.Hits++
				ferr = fn(Hit{Rule: c, File: f, Line: r.Line, Event: &ev})
			})
			return ferr
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// expand turns directories into the files under them, in name order.
func expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if q != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				found = append(found, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// LoadPaths loads rules from files and directories (see LoadDir): the
// rules that compiled and an *Error for each that did not.
func LoadPaths(paths []string, opts Options) ([]*CompiledRule, []*Error, error) {
	var rules []*CompiledRule
	var failed []*Error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if st.IsDir() {
			r, f, err := LoadDir(p, opts)
			if err != nil {
				return nil, nil, err
			}
			rules, failed = append(rules, r...), append(failed, f...)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		c, err := ParseAndCompile(data, p, opts)
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				e = &Error{File: p, Msg: err.Error()}
			}
			failed = append(failed, e)
			continue
		}
		rules = append(rules, c)
	}
	return rules, failed, nil
}
