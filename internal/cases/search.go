package cases

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/store"
)

// The inbox's and the case list's free-text filter (q) is an index lookup,
// not a scan: a LIKE '%word%' over a million alerts read the whole table
// for a word few alerts hold, 2 s for a national analyst's first page
// (docs/performance.md). It works as organisation search does (ADR 0006,
// internal/org/search.go).
//
// What is searched is the search column, made by (*Alert).searchText and
// (*Case).searchText as words: safetext.SearchWords — lower case, accents
// removed, split on anything that is not a letter or a digit, one space
// between. Both engines index those words (migration 0010_search): SQLite
// through the FTS5 tables alerts_fts and cases_fts (external content, kept
// in step by triggers), PostgreSQL through GIN indexes over the stored
// columns search_words, to_tsvector('simple', search). A query is made into
// words the same way, one phrase per word the user typed, and each phrase
// must begin words of the text in a row: "powershell" finds "Suspicious
// PowerShell on …", "power" too, "shell" not; a host name, address, e-mail
// or hash typed whole ("ws-r3i2t4-004", "203.0.113.66") is its words one
// after the other, the last a prefix, so it finds what it names and the
// names it begins. Nothing the user types reaches an engine's query
// syntax: only letters and digits survive SearchWords, and they are quoted
// (FTS5) or joined by operators Go writes (tsquery), so quotes, *, -,
// NEAR, AND, parentheses, : or ^ are ordinary text.

// searchPhrases returns the phrases of q: the search words of each field
// of q, fields without a letter or digit left out. q is bounded by
// safetext.SearchProblem first (at most 20 words of 200 characters).
func searchPhrases(q string) ([][]string, error) {
	if p := safetext.SearchProblem(q); p != "" {
		return nil, fault.Invalidf("q", "%s", p)
	}
	var phrases [][]string
	for _, field := range strings.Fields(q) {
		if words := safetext.SearchWords(field); len(words) > 0 {
			phrases = append(phrases, words)
		}
	}
	return phrases, nil
}

// searchText joins the words of parts as the search column holds them.
func searchText(parts ...string) string {
	return strings.Join(safetext.SearchWords(strings.Join(parts, " ")), " ")
}

// ftsMatch is SQLite's FTS5 query for phrases: each a quoted phrase whose
// last word is a prefix ("ws r3i2t4 004"*), all of them required.
func ftsMatch(phrases [][]string) string {
	terms := make([]string, len(phrases))
	for i, p := range phrases {
		terms[i] = `"` + strings.Join(p, " ") + `"*`
	}
	return strings.Join(terms, " ")
}

// tsQuery is PostgreSQL's tsquery for phrases: each phrase's words next to
// one another, the last a prefix (ws <-> r3i2t4 <-> 004:*), all required.
func tsQuery(phrases [][]string) string {
	terms := make([]string, len(phrases))
	for i, p := range phrases {
		terms[i] = strings.Join(p, " <-> ") + ":*"
	}
	return strings.Join(terms, " & ")
}

// likeWords is the same test written as LIKE over the search column, for
// reading rows in order and testing each (the walk below): a phrase begins
// words of the text when a space, then the phrase, occur in ' ' || search.
// The phrases hold letters, digits and single spaces only, so nothing in
// them is a LIKE wildcard. It finds what ftsMatch finds in text written as
// SearchWords makes it.
func likeWords(phrases [][]string) (string, []any) {
	conds := make([]string, len(phrases))
	args := make([]any, len(phrases))
	for i, p := range phrases {
		conds[i] = `(' ' || search) LIKE ?`
		args[i] = "% " + strings.Join(p, " ") + "%"
	}
	return strings.Join(conds, " AND "), args
}

// searchPlan is how a listing reads the rows a search matches on SQLite.
type searchPlan int

const (
	// planLookup finds the matches in the FTS5 table, reads each by rowid
	// and sorts them newest first.
	planLookup searchPlan = iota
	// planWalk reads the table newest first as an unfiltered page would
	// (the scope's plan, inboxScope), testing each row's words with LIKE,
	// and stops when the page is full.
	planWalk
)

// searchCond returns the condition on table (alerts or cases, unqualified
// columns) that keeps the rows matching phrases, for the plan chosen
// (PostgreSQL has one: its planner chooses between the index and a walk
// along the primary key itself, having statistics of the words).
func searchCond(d store.Dialect, table string, phrases [][]string, plan searchPlan) (string, []any) {
	switch {
	case len(phrases) == 0:
		return "1=0", nil // only punctuation: no word to look for
	case d == store.Postgres:
		return `search_words @@ to_tsquery('simple'::regconfig, ?)`, []any{tsQuery(phrases)}
	case plan == planWalk:
		return likeWords(phrases)
	}
	return `rowid IN (SELECT rowid FROM ` + table + `_fts WHERE ` + table + `_fts MATCH ?)`, []any{ftsMatch(phrases)}
}

// chooseSearchPlan picks, on SQLite, between looking up the matches of
// phrases in table and walking the table newest first. Which is cheaper
// depends on how many rows match, which SQLite's planner cannot know (an
// FTS5 match has no statistics), so the matches are counted, up to what
// decides it, and the count remembered:
//
//   - the lookup reads each of the m matches by rowid and sorts them:
//     about m rows, each costing about lookupRowCost rows of a walk;
//   - the walk reads what the unfiltered page would, testing each row: if
//     it reads the scope organisation by organisation (byOrg, inboxScope's
//     plan for a small scope) every one of its inScope rows; otherwise
//     newest first over the n rows of the table, about (limit+1)·n/k rows
//     where k = m·inScope/n of them match and are in scope.
//
// So a national analyst's rare word (a host name in one alert of a
// million) is a lookup, and a word in a tenth of the alerts ("powershell")
// a walk that stops after about 500 rows, as fast as before the index;
// docs/performance.md has the figures. Other filters (status, severity)
// are left out of the estimate: they make the walk longer and the lookup
// no longer, so at worst a walk is chosen where a lookup would be a
// little faster.
func (s *Service) chooseSearchPlan(ctx context.Context, table string, phrases [][]string, limit int, inScope int64, byOrg bool) (searchPlan, error) {
	if s.db.Dialect != store.SQLite || len(phrases) == 0 {
		return planLookup, nil
	}
	var n int64
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COALESCE(MAX(rowid), 0) FROM `+table).Scan(&n); err != nil {
		return planLookup, fmt.Errorf("cases: search: %w", err)
	}
	if inScope <= 0 || inScope > n {
		inScope = n
	}
	// walk returns the rows the walk reads when m rows match.
	walk := func(m int64) float64 {
		if byOrg {
			return float64(inScope)
		}
		k := float64(m) * float64(inScope) / float64(max(n, 1))
		return float64(limit+1) * float64(n) / max(k, 1)
	}
	match := ftsMatch(phrases)
	// The lookup is chosen while its cost is at most walk(m), and walk
	// falls as m grows: counting up to the first m where that no longer
	// holds decides, whatever the rest. That is a few thousand at a
	// million alerts, so the count costs no more than a common word's page.
	bound := int64(1)
	for lookupRowCost*float64(bound) <= walk(bound) && bound < n {
		bound *= 2
	}
	c, ok := s.searchCounts.get(table, match, s.now())
	if !ok || (c.capped && c.n < bound) {
		// Not counted, or counted for a smaller bound (another scope or
		// page size) than this choice needs.
		var m int64
		err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+table+`_fts WHERE `+table+`_fts MATCH ? LIMIT ?)`,
			match, bound).Scan(&m)
		if err != nil {
			return planLookup, fmt.Errorf("cases: search: %w", err)
		}
		c = matchCount{n: m, capped: m == bound, at: s.now()}
		s.searchCounts.put(table, match, c)
	}
	if lookupRowCost*float64(c.n) <= walk(c.n) {
		return planLookup, nil
	}
	return planWalk, nil
}

// lookupRowCost is what reading one match by rowid (and sorting it) costs
// in rows of a newest-first walk, which reads the table in order and tests
// each row with LIKE: over the million-alert inbox a lookup took about
// 16 µs a match and a walk about 2 µs a row (docs/performance.md), so
// m² ≤ (limit+1)·n / 10 decides a national search: matches up to about
// 2,300 of a million are looked up for a page of 50.
const lookupRowCost = 10

// matchCounts remembers, per table and FTS5 query, how many rows matched,
// so that a search made again (analysts narrow the inbox by the same words
// all day) does not count twice. The counts only choose a plan — a stale
// count gives the same rows, a little slower — so they are kept for
// searchCountTTL however many alerts arrive meanwhile (a word becoming
// common is counted again after it), and all are forgotten when too many
// are held.
type matchCounts struct {
	mu sync.Mutex
	m  map[string]matchCount
}

// matchCount is a count of matches: n, or at least n when capped.
type matchCount struct {
	n      int64
	capped bool
	at     time.Time
}

const (
	// maxMatchCounts bounds the remembered searches (about 100 bytes each).
	maxMatchCounts = 4096
	searchCountTTL = 10 * time.Minute
)

func (c *matchCounts) get(table, match string, now time.Time) (matchCount, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mc, ok := c.m[table+" "+match]
	if !ok || now.Sub(mc.at) > searchCountTTL || now.Before(mc.at) {
		return matchCount{}, false
	}
	return mc, true
}

func (c *matchCounts) put(table, match string, mc matchCount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxMatchCounts {
		c.m = make(map[string]matchCount)
	}
	c.m[table+" "+match] = mc
}
