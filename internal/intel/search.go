package intel

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// The search index (issue 19 item 9). Search used to read every object
// of every collection the reader holds and match in memory; now the
// words of each stored version are kept in intel_search_tokens as it is
// stored (importTx), and a search reads only the ids whose words begin
// with each word asked for, a few hundred at a time, through
// ReadCollection: the grants, TLP ceilings and recipients decide what
// it returns exactly as before.
//
// Matching: every word of the query (a run of letters and digits, two
// or more of them) begins a word of the object — its name, aliases,
// description, labels, pattern or value, external ids — or the whole
// query begins one of its whole values (an id, a pattern's quoted
// value, an external id: "10.0.0.1", "indicator--1c2"). Case does not
// matter. Objects matched by their names, values or ids come before
// those matched by a description only.

const (
	// minWord is the shortest word indexed and searched for.
	minWord = 2
	// maxToken caps an indexed word or value (a SHA-512 is 128).
	maxToken = 160
	// maxDescription caps the text of a description that is indexed.
	maxDescription = 8000
	// searchChunk is how many candidate ids one ReadCollection reads.
	searchChunk = 500
)

// words splits s into lower-case runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// stopWords are not indexed from descriptions (nor are words of two
// letters): they would be a tenth of the index and find everything.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the and for are was were with that this from have has had not but can may use used uses using
		its their they them these those which when where what who whom been being into onto such than then also other some any all
		each more most many much very via per can could would should will one two three citation https http www com org`) {
		stopWords[w] = true
	}
}

var quoted = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`) })

// searchText is what of an object is searched: its names, values, ids
// and external ids (weight 1), its description (weight 2), and its
// whole values (ids, quoted pattern values, external ids) that a query
// may begin.
type searchText struct {
	names, desc []string
	whole       []string
}

func textOf(o *stix.Object) searchText {
	var t searchText
	t.whole = append(t.whole, o.ID)
	str := func(p string) string {
		var v string
		if ok, err := o.Get(p, &v); ok && err == nil {
			return v
		}
		return ""
	}
	strs := func(p string) []string {
		var v []string
		if ok, err := o.Get(p, &v); ok && err == nil {
			return v
		}
		return nil
	}
	for _, p := range []string{"name", "value", "path", "key", "display_name", "subject", "user_id", "account_login", "title"} {
		if v := str(p); v != "" {
			t.names = append(t.names, v)
			if p != "name" && p != "title" {
				t.whole = append(t.whole, v)
			}
		}
	}
	for _, p := range []string{"aliases", "x_mitre_aliases", "labels"} {
		t.names = append(t.names, strs(p)...)
	}
	if p := str("pattern"); p != "" {
		t.names = append(t.names, p)
		for _, m := range quoted().FindAllStringSubmatch(p, -1) {
			t.whole = append(t.whole, strings.ReplaceAll(m[1], `\'`, `'`))
		}
	}
	var hashes map[string]string
	if ok, err := o.Get("hashes", &hashes); ok && err == nil {
		for _, h := range hashes {
			t.names, t.whole = append(t.names, h), append(t.whole, h)
		}
	}
	var refs []struct {
		ExternalID string `json:"external_id"`
	}
	if ok, err := o.Get("external_references", &refs); ok && err == nil {
		for _, r := range refs {
			if r.ExternalID != "" {
				t.names, t.whole = append(t.names, r.ExternalID), append(t.whole, r.ExternalID)
			}
		}
	}
	if o.Type != "relationship" && o.Type != "sighting" {
		if d := str("description"); d != "" {
			if len(d) > maxDescription {
				d = d[:maxDescription]
			}
			t.desc = append(t.desc, d)
		}
	}
	return t
}

// tokens are an object's index rows: each word or whole value once,
// with the lowest weight it has.
func (t searchText) tokens() map[string]int {
	m := map[string]int{}
	add := func(tok string, w int) {
		if len(tok) < minWord || len(tok) > maxToken {
			return
		}
		if old, ok := m[tok]; !ok || w < old {
			m[tok] = w
		}
	}
	for _, s := range t.whole {
		add(strings.ToLower(s), 1)
	}
	for _, s := range t.names {
		for _, w := range words(s) {
			add(w, 1)
		}
	}
	for _, s := range t.desc {
		for _, w := range words(s) {
			if len(w) > minWord && !stopWords[w] {
				add(w, 2)
			}
		}
	}
	return m
}

// matches reports whether the object's latest text answers the query:
// the index holds the words of every version, so a candidate is checked
// against the version the reader gets.
func (t searchText) matches(q string, qwords []string) bool {
	for _, s := range t.whole {
		if strings.HasPrefix(strings.ToLower(s), q) {
			return true
		}
	}
	if len(qwords) == 0 {
		return false
	}
	texts := make([]string, 0, len(t.names)+len(t.desc))
	for _, s := range slices.Concat(t.names, t.desc) {
		texts = append(texts, strings.ToLower(s))
	}
next:
	for _, w := range qwords {
		for _, s := range texts {
			if beginsWord(s, w) {
				continue next
			}
		}
		return false
	}
	return true
}

// beginsWord reports whether w begins a word (a run of letters and
// digits) of s.
func beginsWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); i == 0 || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return true
		}
		off = i + 1
	}
}

// tokenBatch gathers index rows and writes them, in token order (a
// B-tree filled in key order splits far fewer pages: importing ATT&CK
// took half as long again), a few hundred a statement.
type tokenBatch struct {
	tx   *store.Tx
	rows []tokenRow
}

type tokenRow struct {
	token, id, typ string
	weight         int
}

const tokenRowsPerInsert = 250

func (b *tokenBatch) add(_ context.Context, o *stix.Object) error {
	for tok, w := range textOf(o).tokens() {
		b.rows = append(b.rows, tokenRow{tok, o.ID, o.Type, w})
	}
	return nil
}

func (b *tokenBatch) flush(ctx context.Context) error {
	slices.SortFunc(b.rows, func(x, y tokenRow) int {
		if c := strings.Compare(x.token, y.token); c != 0 {
			return c
		}
		return strings.Compare(x.id, y.id)
	})
	full := `INSERT INTO intel_search_tokens (token, id, type, weight) VALUES (?, ?, ?, ?)` + strings.Repeat(", (?, ?, ?, ?)", tokenRowsPerInsert-1) + ` ON CONFLICT (token, id) DO NOTHING`
	args := make([]any, 0, 4*tokenRowsPerInsert)
	for start := 0; start < len(b.rows); start += tokenRowsPerInsert {
		part := b.rows[start:min(start+tokenRowsPerInsert, len(b.rows))]
		args = args[:0]
		for _, r := range part {
			args = append(args, r.token, r.id, r.typ, r.weight)
		}
		var err error
		if len(part) == tokenRowsPerInsert {
			_, err = b.tx.ExecPrepared(ctx, full, args...)
		} else {
			_, err = b.tx.ExecContext(ctx, `INSERT INTO intel_search_tokens (token, id, type, weight) VALUES (?, ?, ?, ?)`+strings.Repeat(", (?, ?, ?, ?)", len(part)-1)+` ON CONFLICT (token, id) DO NOTHING`, args...)
		}
		if err != nil {
			return err
		}
	}
	b.rows = b.rows[:0]
	return nil
}

// indexOnce guards the filling of the index with what was stored before it.
type indexOnce struct {
	mu   sync.Mutex
	done bool
}

// ensureIndex puts every stored version's words in the index, once: the
// objects stored before the index existed (migration 0010 marks an
// empty store indexed). Safe to run in two processes at once.
func (s *Store) ensureIndex(ctx context.Context) error {
	s.indexed.mu.Lock()
	defer s.indexed.mu.Unlock()
	if s.indexed.done {
		return nil
	}
	var n int
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM intel_search_state WHERE k = 'indexed'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if err := s.Reindex(ctx); err != nil {
			return err
		}
	}
	s.indexed.done = true
	return nil
}

// Reindex writes the words of every stored version into the search
// index (rows already there are kept), a thousand versions a
// transaction, and marks the index complete.
func (s *Store) Reindex(ctx context.Context) error {
	lastID, lastVersion := "", ""
	for {
		more := false
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, version, body FROM intel_objects WHERE id > ? OR id = ? AND version > ? ORDER BY id, version LIMIT 1000`, lastID, lastID, lastVersion)
			if err != nil {
				return err
			}
			var objs []*stix.Object
			for rows.Next() {
				var body string
				if err := rows.Scan(&lastID, &lastVersion, &body); err != nil {
					rows.Close()
					return err
				}
				o, err := stix.Parse([]byte(body))
				if err != nil {
					rows.Close()
					return fmt.Errorf("intel: stored %s: %w", lastID, err)
				}
				objs = append(objs, o)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			more = len(objs) == 1000
			b := &tokenBatch{tx: tx}
			for _, o := range objs {
				if err := b.add(ctx, o); err != nil {
					return err
				}
			}
			if err := b.flush(ctx); err != nil {
				return err
			}
			if !more {
				_, err = tx.ExecContext(ctx, `INSERT INTO intel_search_state (k, v) VALUES ('indexed', ?) ON CONFLICT (k) DO NOTHING`, versionKey(s.now()))
			}
			return err
		})
		if err != nil || !more {
			return err
		}
	}
}

// prefixRange is the range of tokens that begin with p.
func prefixRange(p string) (string, string) { return p, p + "\U0010FFFF" }

// pass is one of Search's passes over the index, best matches first.
type pass int

const (
	// passExact: the whole query is one of the object's whole values
	// (an id, an external id, a pattern's value, a hash).
	passExact pass = iota
	// passNames: the whole query begins a whole value, or the query's
	// most selective word begins a word of a name, alias, value or id.
	passNames
	// passAll: that word begins any word, descriptions' too.
	passAll
)

// selective is the query word with the fewest index rows (counted up
// to a bound): it drives the look-up, and the other words are checked
// on the objects read (searchText.matches).
func (s *Store) selective(ctx context.Context, qwords []string) (string, error) {
	best, bestN := "", -1
	for _, w := range qwords {
		lo, hi := prefixRange(w)
		var n int
		if err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM intel_search_tokens WHERE token >= ? AND token < ? LIMIT 5000) x`, lo, hi).Scan(&n); err != nil {
			return "", err
		}
		if bestN < 0 || n < bestN {
			best, bestN = w, n
		}
	}
	return best, nil
}

// candidates are the ids after `after` (in id order) whose index rows
// answer the query in pass p, at most n. The key (token, id) is the
// only index: a second one on id made importing ATT&CK twice as slow.
func (s *Store) candidates(ctx context.Context, p pass, q, word, typ string, after string, n int) ([]string, error) {
	var parts []string
	var args []any
	typed := func(sql string) string {
		if typ != "" {
			args = append(args, typ)
			return sql + ` AND type = ?`
		}
		return sql
	}
	if p == passExact {
		args = append(args, q, after)
		parts = append(parts, typed(`SELECT id FROM intel_search_tokens WHERE token = ? AND weight = 1 AND id > ?`))
	} else {
		lo, hi := prefixRange(q)
		args = append(args, lo, hi, after)
		parts = append(parts, typed(`SELECT id FROM intel_search_tokens WHERE token >= ? AND token < ? AND weight = 1 AND id > ?`))
		if word != "" {
			lo, hi := prefixRange(word)
			args = append(args, lo, hi, after)
			w := typed(`SELECT id FROM intel_search_tokens WHERE token >= ? AND token < ? AND id > ?`)
			if p == passNames {
				w += ` AND weight = 1`
			}
			parts = append(parts, w)
		}
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT DISTINCT id FROM (`+strings.Join(parts, " UNION ALL ")+`) c ORDER BY id LIMIT `+fmt.Sprint(n), args...)
	if err != nil {
		return nil, err
	}
	return store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var x string
		return x, r.Scan(&x)
	})
}

// Search finds the objects the caller may read that answer text (see
// above), of type typ when it is not "", at most limit of them (each
// once, in the first collection that gives it), those matched by name,
// value or id first. An empty text lists the first objects the caller
// may read.
func (s *Store) Search(ctx context.Context, sc scope.Scope, text, typ string, limit int) ([]Summary, error) {
	if p := safetext.SearchProblem(text); p != "" {
		return nil, &InvalidError{"q", p}
	}
	if p := safetext.Problem(typ, safetext.Name, 250); p != "" {
		return nil, &InvalidError{"type", p}
	}
	text = strings.ToLower(strings.TrimSpace(text))
	out := []Summary{}
	if text == "" {
		q := Query{}
		if typ != "" {
			q.Types = []string{typ}
		}
		seen := map[string]bool{}
		err := s.eachReadable(ctx, sc, q, func(c Collection, o *stix.Object) bool {
			if !seen[o.ID] {
				seen[o.ID] = true
				out = append(out, summarise(o, c.ID))
			}
			return len(out) < limit
		})
		return out, err
	}
	if err := s.ensureIndex(ctx); err != nil {
		return nil, err
	}
	// The words, unless one is too short to be indexed ("10.1.2.3"):
	// then only whole values answer.
	var qwords []string
	for _, w := range words(text) {
		if len(w) < minWord || len(w) > maxToken {
			qwords = nil
			break
		}
		if !slices.Contains(qwords, w) {
			qwords = append(qwords, w)
		}
	}
	// Stop words are not indexed from descriptions: leave them out of
	// the look-up (but not when they are all there is).
	if kept := slices.DeleteFunc(slices.Clone(qwords), func(w string) bool { return stopWords[w] }); len(kept) > 0 {
		qwords = kept
	}
	word, err := s.selective(ctx, qwords)
	if err != nil {
		return nil, err
	}
	cs, err := s.Collections(ctx, sc)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range []pass{passExact, passNames, passAll} {
		if p == passAll && word == "" {
			break
		}
		after := ""
		for len(out) < limit {
			ids, err := s.candidates(ctx, p, text, word, typ, after, searchChunk)
			if err != nil {
				return nil, err
			}
			if len(ids) == 0 {
				break
			}
			after = ids[len(ids)-1]
			var todo []string
			for _, id := range ids {
				if !seen[id] {
					todo = append(todo, id)
				}
			}
			found := map[string]Summary{}
			for _, c := range cs {
				if !c.CanRead || len(todo) == 0 {
					continue
				}
				q := Query{IDs: todo, Limit: searchChunk}
				if typ != "" {
					q.Types = []string{typ}
				}
				p, _, err := s.ReadCollection(ctx, sc, c.ID, q)
				if err != nil {
					return nil, err
				}
				for _, e := range p.Entries {
					if _, ok := found[e.Object.ID]; ok || seen[e.Object.ID] {
						continue
					}
					if textOf(e.Object).matches(text, qwords) {
						seen[e.Object.ID] = true
						found[e.Object.ID] = summarise(e.Object, c.ID)
					}
				}
			}
			for _, id := range todo {
				if sm, ok := found[id]; ok && len(out) < limit {
					out = append(out, sm)
				}
			}
			if len(ids) < searchChunk {
				break
			}
		}
	}
	return out, nil
}
