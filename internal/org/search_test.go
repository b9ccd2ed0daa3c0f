package org_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

func TestSearchWords(t *testing.T) {
	for in, want := range map[string]string{
		"RJ1 Guy's and St Thomas' NHS Foundation Trust": "[rj1 guy s and st thomas nhs foundation trust]",
		"SUP-X Acme (Clinical) Systems, Ltd.":           "[sup x acme clinical systems ltd]",
		"Évelina  London\tChildren's":                   "[evelina london children s]",
		`"near" NEAR(a b) -x * ^c : AND OR NOT {d}`:     "[near near a b x c and or not d]",
		"% _ \\ ' \" --":                                "[]",
		"Ærø Zoë naïve 12-B":                            "[ærø zoe naive 12 b]",
	} {
		if got := fmt.Sprint(org.SearchWords(in)); got != want {
			t.Errorf("SearchWords(%q) = %s, want %s", in, got, want)
		}
	}
}

// searchEstate is the test tree and a few organisations whose names test
// the search: words, prefixes, accents, codes that begin other codes.
func (e *env) searchEstate(t *testing.T) {
	t.Helper()
	e.tree(t)
	for _, o := range []org.Org{
		{Code: "Y63", Name: "North East and Yorkshire", Type: org.Region},
		{Code: "QWO", Name: "NHS West Yorkshire ICB", Type: org.ICB, Parent: "Y63"},
		{Code: "RR8", Name: "Leeds Teaching Hospitals NHS Trust", Type: org.Trust, Parent: "QWO"},
		{Code: "RR8X1", Name: "St James's University Hospital", Type: org.OtherProvider, Parent: "RR8"},
		{Code: "RJ1EV", Name: "Évelina London Children's Hospital", Type: org.OtherProvider, Parent: "RJ1"},
		{Code: "B86001", Name: "Leeds Road Practice", Type: org.GPPractice, Parent: "QWO"},
		{Code: "B86002", Name: "Teachers' Health Centre", Type: org.GPPractice, Parent: "QWO"},
	} {
		e.create(t, nat, o)
	}
}

func search(t *testing.T, e *env, sc scope.Scope, q string) string {
	t.Helper()
	got, _, err := e.svc.List(t.Context(), sc, org.ListFilter{Query: q, Limit: 100})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	return fmtCodes(got)
}

// TestSearchByWordPrefix: each word of a query begins a word of the code or
// name, in any case and without regard to accents; results in code order,
// so an exact code comes before the codes it begins; scope applies.
func TestSearchByWordPrefix(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.searchEstate(t)
		y56 := e.as(t, scope.RegionLead, "Y56")
		rr8 := e.as(t, scope.OrgAnalyst, "RR8")
		for _, c := range []struct {
			sc          scope.Scope
			query, want string
		}{
			{nat, "leeds teach", "[RR8]"},
			{nat, "Teach LEEDS", "[RR8]"},
			{nat, "leeds", "[B86001 RR8]"},
			{nat, "teach", "[B86002 RR8]"},
			{nat, "each", "[]"}, // inside a word: not a word's beginning
			{nat, "eeds", "[]"},
			{nat, "hospital", "[RJ1EV RJZ RR8 RR8X1]"},
			{nat, "rr8", "[RR8 RR8X1]"}, // the exact code first, then the codes it begins
			{nat, "RR8X", "[RR8X1]"},
			{nat, "rj1", "[RJ1 RJ1EV]"},
			{nat, "r", "[B86001 R0A RJ1 RJ1EV RJZ RR8 RR8X1]"}, // B86001: Leeds Road
			{nat, "evelina", "[RJ1EV]"},
			{nat, "ÉVELINA child", "[RJ1EV]"},
			{nat, "children's", "[RJ1EV]"},
			{nat, "guy's thomas'", "[RJ1]"},
			{nat, "guy s", "[RJ1]"},
			{nat, "james's", "[RR8X1]"},
			{nat, "st", "[RJ1 RR8X1]"},
			{nat, "sup-x", "[SUP-X]"},
			{nat, "sup x", "[SUP-X]"},
			{nat, "nhs trust leeds", "[RR8]"},
			{nat, "leeds manchester", "[]"},
			// Scope: a region lead of London finds London's only; an
			// analyst of RR8 finds RR8 and its site, nothing beside them.
			{y56, "hospital", "[RJ1EV RJZ]"},
			{y56, "leeds", "[]"},
			{rr8, "hospital", "[RR8 RR8X1]"},
			{rr8, "leeds", "[RR8]"},
			{rr8, "practice", "[]"},
			{scope.Scope{}, "leeds", "[]"},
		} {
			if got := search(t, e, c.sc, c.query); got != c.want {
				t.Errorf("%s: %s searching %q = %s, want %s", storetest.Name(e.db), c.sc.Email, c.query, got, c.want)
			}
		}
		// After a rename the new name is found and the old one is not.
		name := "Leeds Children's Hospital"
		if _, err := e.svc.Update(t.Context(), nat, "RR8X1", org.Patch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if got := search(t, e, nat, "james"); got != "[]" {
			t.Errorf("after the rename, searching the old name finds %s", got)
		}
		if got := search(t, e, nat, "leeds child"); got != "[RR8X1]" {
			t.Errorf("after the rename, searching the new name finds %s", got)
		}
		searchConsistent(t, e)
	})
}

// TestSearchSyntaxIsText: what the engines' query languages would read as
// syntax — quotes, *, -, NEAR, AND/OR/NOT, parentheses, ^, column filters —
// is ordinary text: no error, no 500, and never more than its words find.
func TestSearchSyntaxIsText(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.searchEstate(t)
		for _, q := range []string{
			`"`, `""`, `"leeds`, `leeds"`, `"leeds teach"`, `'leeds'`, `*`, `leeds*`, `*leeds`, `lee*ds`,
			`-`, `-leeds`, `leeds -teach`, `NEAR`, `NEAR(leeds teach)`, `NEAR(leeds teach, 2)`, `leeds NEAR teach`,
			`(`, `)`, `(leeds)`, `((leeds) OR (manchester))`, `leeds OR manchester`, `leeds AND teach`, `NOT leeds`,
			`AND`, `OR`, `NOT`, `^leeds`, `search:leeds`, `{search}: leeds`, `leeds:*`, `leeds & teach`, `leeds | x`,
			`!leeds`, `leeds <-> teach`, `\`, `%`, `_`, `:`, `+`, `leeds + teach`, `'; DROP TABLE orgs; --`,
			`NEAR/3`, `"leeds" "teach"*`, `\"`, `0x00`, `1e9999`,
		} {
			got, _, err := e.svc.List(t.Context(), nat, org.ListFilter{Query: q, Limit: 100})
			if err != nil {
				t.Errorf("%s: search %q: %v", storetest.Name(e.db), q, err)
				continue
			}
			// Every word of the query (its letters and digits) begins a
			// word of each result.
			for _, o := range got {
				words := org.SearchWords(o.Code + " " + o.Name)
				for _, w := range org.SearchWords(q) {
					if !slices.ContainsFunc(words, func(x string) bool { return strings.HasPrefix(x, w) }) {
						t.Errorf("%s: search %q found %s %q, which has no word beginning %q", storetest.Name(e.db), q, o.Code, o.Name, w)
					}
				}
			}
		}
		// NEAR is a word like any other, which nothing here begins with.
		if got := search(t, e, nat, `NEAR(leeds teach)`); got != "[]" {
			t.Errorf("NEAR(leeds teach) = %s, want []", got)
		}
		if got := search(t, e, nat, `"leeds teach"`); got != "[RR8]" {
			t.Errorf(`"leeds teach" = %s, want [RR8]`, got)
		}
		// A control character is refused by the search rules, as before.
		_, _, err := e.svc.List(t.Context(), nat, org.ListFilter{Query: "tab\tleeds"})
		wantValidation(t, err, "q", "control character")
		if got := search(t, e, nat, `leeds OR manchester`); got != "[]" {
			t.Errorf("leeds OR manchester = %s, want [] (OR is a word here)", got)
		}
		if got := search(t, e, nat, `-leeds`); got != "[B86001 RR8]" {
			t.Errorf("-leeds = %s, want what leeds finds", got)
		}
	})
}

// TestSearchUsesIndex fails if organisation search stops using its index:
// the engine's own plan for the query List runs must name it. On SQLite
// both plans List chooses between (look up the matches, or walk the codes
// testing each against them) read orgs_fts, and give the same pages.
func TestSearchUsesIndex(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		e.bulk(t, 260) // 26 "Leeds Road Surgery N", 234 "Practice Number N"
		if e.db.Dialect == store.Postgres {
			if _, err := e.db.Q().ExecContext(ctx, `ANALYZE orgs`); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			query string
			limit int
			walk  bool // SQLite walks the codes: the matches are many for the page
			// PostgreSQL's planner knows how many rows a word matches and
			// rightly reads the table for one that most rows have.
			common bool
		}{
			{"leeds road", 100, false, false},
			{"practice", 10, true, true},
			{"practice", 500, false, true},
			{"p00", 5, true, false},
			{"p0042", 5, false, false},
		} {
			f := org.ListFilter{Query: c.query, Limit: c.limit}
			q, args, err := e.svc.ListQuery(ctx, nat, f)
			if err != nil {
				t.Fatal(err)
			}
			plan := explain(t, e.db, q, args)
			index := "orgs_fts"
			if e.db.Dialect == store.Postgres {
				index = "orgs_search_words"
			}
			if !strings.Contains(plan, index) && !(c.common && e.db.Dialect == store.Postgres) {
				t.Errorf("%s: the plan for %q does not use %s:\n%s", storetest.Name(e.db), c.query, index, plan)
			}
			if e.db.Dialect == store.SQLite {
				if walks := strings.Contains(plan, "sqlite_autoindex_orgs_1"); walks != c.walk {
					t.Errorf("sqlite: %q with a page of %d: walks the codes %v, want %v:\n%s", c.query, c.limit, walks, c.walk, plan)
				}
			}
			// Whichever plan, the pages join to what the words find.
			got, _ := pages(t, e, nat, f)
			all, err := e.svc.All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, o := range all {
				if o.Status == org.Active && matches(o, c.query) {
					want = append(want, o.Code)
				}
			}
			closed := 0
			for _, o := range all {
				if o.Status == org.Closed && matches(o, c.query) {
					closed++
				}
			}
			// List leaves nothing out by status unless asked; count both.
			if len(got) != len(want)+closed || len(want) == 0 {
				t.Errorf("%s: %q in pages of %d: %d organisations, want %d", storetest.Name(e.db), c.query, c.limit, len(got), len(want)+closed)
			}
			if !slices.IsSorted(got) {
				t.Errorf("%s: %q not in code order", storetest.Name(e.db), c.query)
			}
		}
	})
}

// matches is the search rule written plainly: each word of q begins a word
// of the code or name (phrases of one query word are not checked here).
func matches(o org.Org, q string) bool {
	words := org.SearchWords(o.Code + " " + o.Name)
	for _, w := range org.SearchWords(q) {
		if !slices.ContainsFunc(words, func(x string) bool { return strings.HasPrefix(x, w) }) {
			return false
		}
	}
	return true
}

// explain returns the engine's plan for q. On PostgreSQL sequential and
// plain index scans are switched off for it, so that on a test's few rows
// the plan shows which index can answer the search at all (a search the
// index cannot serve would still scan).
func explain(t *testing.T, db *store.DB, q string, args []any) string {
	t.Helper()
	var lines []string
	err := db.InTx(t.Context(), func(tx *store.Tx) error {
		stmt := "EXPLAIN QUERY PLAN " + q
		if db.Dialect == store.Postgres {
			for _, set := range []string{`SET LOCAL enable_seqscan = off`, `SET LOCAL enable_indexscan = off`} {
				if _, err := tx.ExecContext(t.Context(), set); err != nil {
					return err
				}
			}
			stmt = "EXPLAIN " + q
		}
		rows, err := tx.QueryContext(t.Context(), stmt, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	return strings.Join(lines, "\n")
}

// searchConsistent checks that the search index agrees with the rows: on
// SQLite FTS5's own integrity check against its content table, and on both
// engines that every organisation is found by its code and by its name.
func searchConsistent(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	if e.db.Dialect == store.SQLite {
		if _, err := e.db.Q().ExecContext(ctx, `INSERT INTO orgs_fts (orgs_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
			t.Errorf("sqlite: the search index disagrees with orgs: %v", err)
		}
	}
	all, err := e.svc.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := max(1, len(all)/300) // at most ~300 organisations on the real lists
	for i := 0; i < len(all); i += step {
		o := all[i]
		for _, q := range []string{o.Code, o.Name} {
			if len(strings.Fields(q)) > 20 {
				continue
			}
			got, _, err := e.svc.List(ctx, nat, org.ListFilter{Query: q, Limit: org.MaxPage, Outside: true})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			if !slices.ContainsFunc(got, func(x org.Org) bool { return x.Code == o.Code }) {
				t.Errorf("%s: searching %q does not find %s", storetest.Name(e.db), q, o.Code)
			}
		}
	}
}
