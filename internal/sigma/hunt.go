package sigma

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
)

// Hunter runs a set of compiled rules over events, each event only
// against the rules of its log source (a Router): a rule for product
// windows, category process_creation never sees a Zeek record. Product,
// service and category are the ones ingest gave the event (internal/ingest
// logsources.yaml, where Security 4688 is process_creation with Sysmon's
// field names). A Hunter is safe for concurrent use.
type Hunter struct {
	router *Router
	corr   *Correlator
	// quiet are correlations that only feed another (Sigma's generate:
	// false, the default, applies to a correlation's correlations too).
	quiet map[*Correlation]bool
	n     int
}

// NewHunter routes rules by log source.
func NewHunter(rules []*CompiledRule) *Hunter {
	return &Hunter{router: NewRouter(rules), n: len(rules)}
}

// NewCorpusHunter is a Hunter for a corpus's rules and its correlation
// rules; an error names a correlation whose references do not resolve.
func NewCorpusHunter(c *Corpus) (*Hunter, error) {
	h := NewHunter(c.Rules)
	if len(c.Correlations) > 0 {
		cr, err := NewCorrelator(c.Rules, c.Correlations)
		if err != nil {
			return nil, err
		}
		h.corr = cr
		h.quiet = map[*Correlation]bool{}
		byRef := map[string]*Correlation{}
		for _, c := range c.Correlations {
			for _, k := range []string{c.ID, c.Name} {
				if k != "" {
					byRef[k] = c
				}
			}
		}
		for _, c := range c.Correlations {
			for _, ref := range c.Rules {
				if fed, ok := byRef[ref]; ok && !c.Generate {
					h.quiet[fed] = true
				}
			}
		}
	}
	return h, nil
}

// Rules is how many rules the hunter runs.
func (h *Hunter) Rules() int { return h.n }

// RuleList returns the hunter's rules.
func (h *Hunter) RuleList() []*Rule {
	out := make([]*Rule, 0, len(h.router.rules))
	for _, c := range h.router.rules {
		out = append(out, c.Rule)
	}
	return out
}

// Match calls fn with each rule that ev's log source routes it to and
// whose condition it satisfies.
func (h *Hunter) Match(ev *events.Event, fn func(*CompiledRule)) {
	h.router.Match(ev.Product, ev.Category, ev.Service, FromEvent(ev), fn)
}

// Covers says whether any rule's log source covers ev's: Detect finds
// nothing in an event it does not cover, which then needs no fields.
func (h *Hunter) Covers(ev *events.Event) bool {
	return len(h.router.route(strings.ToLower(ev.Product), strings.ToLower(ev.Category), strings.ToLower(ev.Service)).rules) > 0
}

// Detect is Match with correlations: a rule's match is reported unless
// the rule only feeds correlations (generate: false), and every
// correlation it completes is reported as well, in event time, unless
// that correlation only feeds another. Unlike
// Match it keeps state (the correlations' windows) and is not safe for
// concurrent use.
func (h *Hunter) Detect(ev *events.Event, rule func(*CompiledRule), corr func(*CompiledRule, CorrelationHit)) {
	e := FromEvent(ev)
	h.router.Match(ev.Product, ev.Category, ev.Service, e, func(c *CompiledRule) {
		if h.corr == nil {
			rule(c)
			return
		}
		if h.corr.Generates(c.Rule) {
			rule(c)
		}
		for _, x := range h.corr.Observe(c.Rule, e, ev.EventTime) {
			if !h.quiet[x.Correlation] {
				corr(c, x)
			}
		}
	})
}

// Hit is one rule matching one event of a file, or a correlation rule
// that event completed.
type Hit struct {
	Rule *CompiledRule
	// Correlation, when set, is the correlation the event (matching
	// Rule) completed.
	Correlation *CorrelationHit
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
// every rule h routes it to that it matches (and every correlation that
// completes: files are read in the order given, so correlations see
// events in that order). An error from fn stops the
// hunt; a file that cannot be read is an error naming it, after the
// events read from it before the error are hunted.
//
// Reading and normalising run on their own goroutine, a batch of events
// ahead of matching, so that on two cores the two overlap; matching, the
// correlations and fn stay on the caller's goroutine, in file order. n
// must not be used elsewhere until HuntFiles returns.
func HuntFiles(ctx context.Context, h *Hunter, n *ingest.Normaliser, paths []string, progress ingest.FileProgress, fn func(Hit) error) (HuntReport, error) {
	var rep HuntReport
	files, err := expand(paths)
	if err != nil {
		return rep, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []huntItem, 4)
	// Written by the reader, read once batches is closed.
	var readErr error
	var readFiles int
	go func() {
		defer close(batches)
		batch := make([]huntItem, 0, huntBatch)
		send := func() bool {
			if len(batch) == 0 {
				return true
			}
			select {
			case batches <- batch:
				batch = make([]huntItem, 0, huntBatch)
				return true
			case <-ctx.Done():
				return false
			}
		}
		for _, f := range files {
			readFiles++
			err := ingest.ReadFile(ctx, f, ingest.FileOptions{}, progress, func(r ingest.Record) error {
				batch = append(batch, huntItem{file: f, line: r.Line, seq: r.Seq, ev: n.NormaliseLazyID(r)})
				if len(batch) == huntBatch && !send() {
					return ctx.Err()
				}
				return nil
			})
			if err != nil {
				readErr = err
				send()
				return
			}
		}
		send()
	}()
	var ferr error
	for batch := range batches {
		if ferr != nil {
			continue // the reader stops at ctx; let it
		}
		for i := range batch {
			it := &batch[i]
			ev := &it.ev
			rep.Events++
			if ev.ParseError != "" {
				rep.Unparsed++
			}
			h.Detect(ev, func(c *CompiledRule) {
				if ferr == nil {
					rep.Hits++
					ingest.FillID(ev, it.seq)
					ferr = fn(Hit{Rule: c, File: it.file, Line: it.line, Event: ev})
				}
			}, func(c *CompiledRule, x CorrelationHit) {
				if ferr == nil {
					rep.Hits++
					ingest.FillID(ev, it.seq)
					ferr = fn(Hit{Rule: c, Correlation: &x, File: it.file, Line: it.line, Event: ev})
				}
			})
			if ferr != nil {
				cancel()
				break
			}
		}
	}
	rep.Files = readFiles
	if ferr != nil {
		return rep, ferr
	}
	return rep, readErr
}

// huntItem is one normalised event on its way from the reader to the
// matcher.
type huntItem struct {
	file string
	line int64
	seq  int64 // the record's, for its ID (ingest.FillID) should it match
	ev   events.Event
}

// huntBatch is how many events the reader hands over at a time.
const huntBatch = 256

// StoreReport sums up a hunt over stored events.
type StoreReport struct {
	// Scanned are the events read; Hits the matches reported.
	Scanned int64 `json:"scanned"`
	Hits    int64 `json:"hits"`
	// Truncated says the hunt stopped at its limit of matches before
	// reading the whole range.
	Truncated bool `json:"truncated"`
}

// storePage is how many events a retro-hunt reads at a time.
const storePage = 5000

// HuntStore runs h's rules over the stored events of q — a time range,
// optionally one organisation and a query in the analysts' language —
// as sc may read them (the store applies the scope), newest first, and
// calls fn for each match, stopping after limit matches (no limit when
// 0). Only events of a product some rule names are read, when every rule
// names one. Correlation rules are not run: they need events oldest
// first, and a retro-hunt reads newest first.
func HuntStore(ctx context.Context, h *Hunter, st events.Store, sc scope.Scope, q events.Query, limit int64, fn func(Hit) error) (StoreReport, error) {
	var rep StoreReport
	if p := h.products(); len(p) > 0 {
		narrow := "product in (" + strings.Join(p, ", ") + ")"
		if strings.TrimSpace(q.Text) != "" {
			narrow = "(" + q.Text + ") AND " + narrow
		}
		q.Text = narrow
	}
	q.Limit, q.Cursor = storePage, ""
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		page, err := st.Search(ctx, sc, q)
		if err != nil {
			return rep, err
		}
		for i := range page.Events {
			ev := &page.Events[i]
			rep.Scanned++
			var ferr error
			h.Match(ev, func(c *CompiledRule) {
				if ferr != nil || (limit > 0 && rep.Hits >= limit) {
					return
				}
				rep.Hits++
				ferr = fn(Hit{Rule: c, Event: ev})
			})
			if ferr != nil {
				return rep, ferr
			}
			if limit > 0 && rep.Hits >= limit {
				rep.Truncated = i < len(page.Events)-1 || page.Next != ""
				return rep, nil
			}
		}
		if page.Next == "" {
			return rep, nil
		}
		q.Cursor = page.Next
	}
}

// products are the products the hunter's rules name, as query words, or
// none when some rule names no product (it may match any event) or a
// pipeline routes it (it may match events ingest gave no log source).
func (h *Hunter) products() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range h.router.rules {
		p := strings.ToLower(c.Rule.Logsource.Product)
		if p == "" || !productWord(p) || c.routed {
			return nil
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// productWord says a product name is a bare word of the query language.
func productWord(p string) bool {
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
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

// LoadPaths loads rules from files and directories (see LoadDir) into
// one Corpus. Filters apply to the rules loaded from the same path;
// correlations may name rules from any.
func LoadPaths(paths []string, opts Options) (*Corpus, error) {
	all := &Corpus{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		var c *Corpus
		if st.IsDir() {
			c, err = LoadDir(p, opts)
		} else {
			dir := filepath.Dir(p)
			c, err = LoadFS(os.DirFS(dir), filepath.Base(p), dir, opts)
		}
		if err != nil {
			return nil, err
		}
		all.Rules = append(all.Rules, c.Rules...)
		all.Correlations = append(all.Correlations, c.Correlations...)
		all.Failed = append(all.Failed, c.Failed...)
	}
	// A correlation may count rules loaded from another path.
	mapCorrelationFields(opts.chained(), all.Rules, all.Correlations)
	return all, nil
}

// MaxRuleText bounds rules given as text (an editor's, an API caller's).
const MaxRuleText = 1 << 20

// LoadText loads rules given as text — one or more YAML documents:
// rules, filters and correlations — named name in errors.
func LoadText(text, name string, opts Options) (*Corpus, error) {
	if len(text) > MaxRuleText {
		return nil, fmt.Errorf("%s: %d bytes of rules, more than %d", name, len(text), MaxRuleText)
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%s: no rule given", name)
	}
	return LoadFS(fstest.MapFS{"rule.yml": {Data: []byte(text)}}, "rule.yml", "", opts)
}

// TryResult is what one sample event did with the rules being tried.
type TryResult struct {
	// Event is the sample as ingest read it.
	Event events.Event `json:"event"`
	// Matches are the rules it matched, each with the searches and
	// fields that held; Routed the rules its log source reached at all
	// (a rule the event's log source does not reach never sees it).
	Matches []TryMatch `json:"matches"`
	Routed  []string   `json:"routed"`
}

// TryMatch is one rule's verdict on one sample.
type TryMatch struct {
	RuleID    string   `json:"rule_id,omitempty"`
	RuleTitle string   `json:"rule_title"`
	Level     string   `json:"level,omitempty"`
	Searches  []string `json:"searches"`
	Fields    []string `json:"fields"`
}

// MaxTrySamples bounds the sample events of one try.
const MaxTrySamples = 1000

// Try runs rules over sample events given as text — JSON lines, JSON
// objects over several lines, or raw log lines (syslog, CEF…), as
// ingest reads them — and says for each which rules its log source
// reached and which matched, with why: the rule editor's test before a
// rule is saved.
func Try(ctx context.Context, c *Corpus, n *ingest.Normaliser, samples string) ([]TryResult, error) {
	h := NewHunter(c.Rules)
	var out []TryResult
	err := ingest.ReadText(ctx, samples, func(r ingest.Record) error {
		if len(out) >= MaxTrySamples {
			return fmt.Errorf("more than %d sample events: try fewer", MaxTrySamples)
		}
		ev := n.Normalise(r)
		res := TryResult{Event: ev, Matches: []TryMatch{}, Routed: []string{}}
		e := FromEvent(&ev)
		for _, rule := range h.router.Rules(strings.ToLower(ev.Product), strings.ToLower(ev.Category), strings.ToLower(ev.Service)) {
			res.Routed = append(res.Routed, rule.Rule.Title)
			if x := rule.Explain(e); x.Matched {
				res.Matches = append(res.Matches, TryMatch{RuleID: rule.Rule.ID, RuleTitle: rule.Rule.Title, Level: rule.Rule.Level, Searches: x.Searches, Fields: x.Fields})
			}
		}
		out = append(out, res)
		return nil
	})
	return out, err
}
