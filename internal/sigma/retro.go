package sigma

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma/pipeline"
)

// Retro-hunts and the rule editor's test, as the API and the web pages
// offer them (issue 17): rules given as text, run over the stored events
// the caller may read or over sample events pasted in.

// HuntRequest is a retro-hunt: Sigma rules (YAML, one or more documents)
// over the stored events of a time range.
type HuntRequest struct {
	Rules string `json:"rules"`
	Since string `json:"since,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Org   string `json:"org,omitempty"`
	Query string `json:"query,omitempty"`
	// Limit is the most matches returned (default 1,000, at most 10,000).
	Limit int `json:"limit,omitempty"`
	// Mappings are built-in processing pipelines applied to the rules
	// ("vigil", "ecs"; "default" or none: ingest's mapping alone). Files
	// are not read for a request: give them to vigil hunt --mapping.
	Mappings []string `json:"mappings,omitempty"`
}

// RuleError is a rule that did not load: where and why.
type RuleError struct {
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// HuntMatch is one rule matching one stored event.
type HuntMatch struct {
	RuleID    string       `json:"rule_id,omitempty"`
	RuleTitle string       `json:"rule_title"`
	Level     string       `json:"level,omitempty"`
	Author    string       `json:"author,omitempty"`
	Event     events.Event `json:"event"`
}

// HuntResult is a retro-hunt's answer.
type HuntResult struct {
	Loaded  int         `json:"loaded"`
	Failed  []RuleError `json:"failed"`
	Matches []HuntMatch `json:"matches"`
	Report  StoreReport `json:"report"`
	// TimedOut says the hunt stopped at its time budget; the matches
	// are those found until then.
	TimedOut bool `json:"timed_out,omitempty"`
}

// RuleTestRequest is the rule editor's test: rules over sample events.
type RuleTestRequest struct {
	Rules string `json:"rules"`
	// Events are sample events as text: JSON lines, JSON objects over
	// several lines, or raw log lines.
	Events string `json:"events"`
	// Mappings are built-in processing pipelines, as HuntRequest's.
	Mappings []string `json:"mappings,omitempty"`
}

// RuleTestResult says what each sample did with the rules.
type RuleTestResult struct {
	Loaded  int         `json:"loaded"`
	Failed  []RuleError `json:"failed"`
	Results []TryResult `json:"results"`
}

// HuntBudget bounds one retro-hunt request's time.
var HuntBudget = 60 * time.Second

// huntSlots bounds the retro-hunts a server runs at once: each reads
// events and evaluates rules for up to HuntBudget, so without a bound a
// few callers could take every core from ingest and detection.
var huntSlots = make(chan struct{}, 2)

// requestPipelines reads a request's mappings: built-in pipelines only,
// for a caller must not make the server read its files.
func requestPipelines(names []string) ([]*pipeline.Pipeline, error) {
	var out []*pipeline.Pipeline
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || n == "default" {
			continue
		}
		if !slices.Contains(pipeline.BuiltinNames(), n) {
			return nil, &fault.Invalid{Field: "mappings", Reason: fmt.Sprintf("%q is not a built-in pipeline (default, %s); a pipeline file is for vigil hunt --mapping or vigil serve --rule-pipeline",
				n, strings.Join(pipeline.BuiltinNames(), ", "))}
		}
		p, err := pipeline.Builtin(n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// loadRuleText loads an editor's or caller's rules, with the built-in
// pipelines mappings names.
func loadRuleText(text string, mappings []string) (*Corpus, []RuleError, error) {
	ps, err := requestPipelines(mappings)
	if err != nil {
		return nil, nil, err
	}
	c, err := LoadText(text, "rules", Options{Pipelines: ps})
	if err != nil {
		return nil, nil, &fault.Invalid{Field: "rules", Reason: strings.TrimPrefix(err.Error(), "rules: ")}
	}
	failed := []RuleError{}
	for _, f := range c.Failed {
		failed = append(failed, RuleError{Line: f.Line, Message: f.Msg})
	}
	return c, failed, nil
}

// RetroHunt runs a HuntRequest for sc: the store applies sc to every
// event read, the matches stop at the request's limit and the hunt at
// HuntBudget.
func RetroHunt(ctx context.Context, st events.Store, sc scope.Scope, in HuntRequest) (HuntResult, error) {
	c, failed, err := loadRuleText(in.Rules, in.Mappings)
	if err != nil {
		return HuntResult{}, err
	}
	res := HuntResult{Loaded: len(c.Rules), Failed: failed, Matches: []HuntMatch{}}
	if len(c.Rules) == 0 {
		return res, nil
	}
	since, until, err := events.Window(in.Since, in.From, in.To, time.Now())
	if err != nil {
		return HuntResult{}, err
	}
	limit := in.Limit
	switch {
	case limit == 0:
		limit = 1000
	case limit < 0 || limit > 10_000:
		return HuntResult{}, &fault.Invalid{Field: "limit", Reason: "want 1 to 10,000 matches"}
	}
	q := events.Query{Text: in.Query, Since: since, Until: until, Org: strings.ToUpper(strings.TrimSpace(in.Org))}
	select {
	case huntSlots <- struct{}{}:
		defer func() { <-huntSlots }()
	default:
		return HuntResult{}, fault.New(fault.ErrRateLimited, "two hunts are already running on this server; try again when one has finished")
	}
	hctx, cancel := context.WithTimeout(ctx, HuntBudget)
	defer cancel()
	res.Report, err = HuntStore(hctx, NewHunter(c.Rules), st, sc, q, int64(limit), func(h Hit) error {
		r := h.Rule.Rule
		res.Matches = append(res.Matches, HuntMatch{RuleID: r.ID, RuleTitle: r.Title, Level: r.Level, Author: r.Author, Event: *h.Event})
		return nil
	})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		res.TimedOut, err = true, nil
	}
	return res, err
}

// TestRules runs a RuleTestRequest.
func TestRules(ctx context.Context, in RuleTestRequest) (RuleTestResult, error) {
	c, failed, err := loadRuleText(in.Rules, in.Mappings)
	if err != nil {
		return RuleTestResult{}, err
	}
	if len(in.Events) > MaxRuleText {
		return RuleTestResult{}, &fault.Invalid{Field: "events", Reason: "more than 1 MiB of sample events"}
	}
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		return RuleTestResult{}, err
	}
	res, err := Try(ctx, c, n, in.Events)
	if err != nil {
		return RuleTestResult{}, &fault.Invalid{Field: "events", Reason: err.Error()}
	}
	if res == nil {
		res = []TryResult{}
	}
	return RuleTestResult{Loaded: len(c.Rules), Failed: failed, Results: res}, nil
}
