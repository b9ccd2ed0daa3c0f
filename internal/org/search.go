package org

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/store"
)

// Organisation search is an index lookup, not a scan (issue 14 item 7: a
// LIKE over every row served 148 searches a second at 50 clients).
//
// What is searched is the search column: the code and the name as words,
// made by searchWords — lower case, accents removed, split on anything
// that is not a letter or a digit ("Guy's and St Thomas'" is "guy s and
// st thomas"). Both engines index those words as they are: SQLite through
// the FTS5 table orgs_fts (external content over orgs, kept in step by
// triggers; migration 0004), PostgreSQL through a GIN index over the
// stored column search_words, to_tsvector('simple', search), whose parser
// splits the same words on the same spaces. A query is made into words the same way, and each word of
// the query must begin a word of the organisation, in order within one
// query word: "leeds teach" finds Leeds Teaching Hospitals, "RJ" every
// code beginning RJ, "guy's" Guy's and St Thomas'. Nothing the user types
// reaches the engine's query syntax: only letters and digits survive
// searchWords, and they are quoted (SQLite) or joined by operators Go
// writes (PostgreSQL), so quotes, *, -, NEAR, AND or parentheses are
// ordinary text.

// searchWords returns the words of s as search indexes them
// (safetext.SearchWords, shared with the alert and case searches).
func searchWords(s string) []string { return safetext.SearchWords(s) }

// searchText is what the search column holds for an organisation.
func searchText(code, name string) string {
	return strings.Join(searchWords(code+" "+name), " ")
}

// searchCond returns the condition on orgs (unqualified columns) that
// keeps the organisations matching q, and false when q has no word to look
// for (only punctuation, say), which matches nothing. q is bounded by
// safetext.SearchProblem first (at most 20 words of 200 characters).
func searchCond(d store.Dialect, q string) (string, []any, bool) {
	var terms []string
	for _, field := range strings.Fields(q) {
		words := searchWords(field)
		if len(words) == 0 {
			continue // a word of punctuation alone: nothing to find
		}
		if d == store.Postgres {
			// "guy's" → guy <-> s:* — the words next to each other, the
			// last a prefix. The words are letters and digits only.
			terms = append(terms, strings.Join(words, " <-> ")+":*")
		} else {
			// "guy's" → "guy s"* — a phrase whose last word is a prefix.
			terms = append(terms, `"`+strings.Join(words, " ")+`"*`)
		}
	}
	if len(terms) == 0 {
		return "", nil, false
	}
	if d == store.Postgres {
		return `search_words @@ to_tsquery('simple'::regconfig, ?)`, []any{strings.Join(terms, " & ")}, true
	}
	return `rowid IN (SELECT rowid FROM orgs_fts WHERE orgs_fts MATCH ?)`, []any{strings.Join(terms, " ")}, true
}

// sqlitePlan returns what List reads from on SQLite for a search whose FTS5
// query is match: orgs itself, so that SQLite looks up each match by rowid
// and sorts them by code, or orgs walked in code order, testing each row
// against the matches until the page is full. Which is cheaper depends on
// how many organisations match, which SQLite's planner cannot know: looking
// up m matches costs about m rows; walking in code order about
// (limit+1)·n/m rows of n, since matches are spread through the codes. So
// a common word ("surgery": 3,000 of 9,000) walks and stops early, and a
// rare one ("leeds teach": 1) looks up. Measured on the real ODS lists
// (docs/performance.md): for "surgery" the walk is about 3× cheaper, for
// "leeds teach" the lookup 20×. The count is capped, so it costs no more
// than a page of a common word.
func (s *Service) sqlitePlan(ctx context.Context, match string, limit int) (string, error) {
	c, ok := s.counts.get(match)
	if !ok {
		err := s.db.Q().QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM (SELECT 1 FROM orgs_fts WHERE orgs_fts MATCH ? LIMIT 2000)),
			(SELECT COALESCE(MAX(rowid), 0) FROM orgs)`, match).Scan(&c.matches, &c.rows)
		if err != nil {
			return "", fmt.Errorf("org: search: %w", err)
		}
		s.counts.put(match, c)
	}
	if c.matches*c.matches > int64(limit+1)*c.rows {
		// The primary key's own index, which SQLite names after the
		// table; it exists in every database made by migration 0001.
		return "orgs INDEXED BY sqlite_autoindex_orgs_1", nil
	}
	return "orgs", nil
}

// matchCounts remembers, per FTS5 query, how many organisations matched
// and how many rows orgs had, so that a search made again (people search
// for "surgery" all day) does not run its query twice. The counts only
// choose a plan — a stale count gives the same answer, a little slower —
// so they are forgotten when this process changes organisations and when
// too many are held, not on every change elsewhere.
type matchCounts struct {
	mu sync.Mutex
	m  map[string]matchCount
}

type matchCount struct{ matches, rows int64 }

// maxMatchCounts bounds the remembered searches (about 100 bytes each).
const maxMatchCounts = 4096

func (c *matchCounts) get(match string) (matchCount, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[match]
	return n, ok
}

func (c *matchCounts) put(match string, n matchCount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxMatchCounts {
		c.m = make(map[string]matchCount)
	}
	c.m[match] = n
}

func (c *matchCounts) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
