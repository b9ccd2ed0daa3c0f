package cases

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

const testHash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"

// searchAlerts makes the alerts the search tests look for, oldest first:
// a host name, addresses, an e-mail address, a hash and an accent.
func searchAlerts(t *testing.T, e *env) map[string]Alert {
	t.Helper()
	made := map[string]Alert{}
	for _, a := range []struct {
		key string
		sc  scope.Scope
		n   NewAlert
	}{
		{"ps", e.alice, NewAlert{Org: "RJ1", Source: "edr", Type: "suspicious-process", SourceRef: "ps-1", Title: "Suspicious PowerShell on ws-r3i2t4-004",
			Observables: []Observable{{Type: ObsHost, Value: "ws-r3i2t4-004"}, {Type: ObsIP, Value: "203.0.113.66"}}}},
		{"phish", e.alice, NewAlert{Org: "RJ1", Source: "email-gateway", Type: "phishing", SourceRef: "ph-1", Title: "Phishing e-mail reported by j.smith@nhs.net",
			Observables: []Observable{{Type: ObsEmail, Value: "j.smith@nhs.net"}, {Type: ObsSHA256, Value: testHash}}}},
		{"beacon", e.bob, NewAlert{Org: "RJZ", Source: "ioc", Type: "c2-beacon", SourceRef: "c2-1", Title: "Beacon to C2 from the Évelina ward (AND/OR \"NEAR\")",
			Observables: []Observable{{Type: ObsIP, Value: "203.0.113.7"}}}},
		{"scan", e.rex, NewAlert{Org: "RA7", Source: "ids", Type: "scan", SourceRef: "scan-1", Title: "Port scan from ws-r3i2t4-0042"}},
	} {
		a.n.Severity, a.n.TLP = High, TLPAmber
		made[a.key] = mustAlert(t, e, scope.System("test"), a.n)
		e.clk.advance(time.Second)
	}
	return made
}

// forcePlan makes the next SQLite searches for q on table use plan, by
// giving the plan chooser a count that decides it.
func forcePlan(t *testing.T, e *env, table, q string, plan searchPlan) {
	t.Helper()
	phrases, err := searchPhrases(q)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	if plan == planWalk {
		n = 1 << 40
	}
	e.svc.searchCounts.put(table, ftsMatch(phrases), matchCount{n: n, at: e.clk.now()})
}

// listAll reads every page of f (pages of 2, so the cursor is used).
func listAll(t *testing.T, e *env, sc scope.Scope, f AlertFilter) []Alert {
	t.Helper()
	f.Limit = 2
	var all []Alert
	for {
		list, next, err := e.svc.ListAlerts(t.Context(), sc, f)
		if err != nil {
			t.Fatalf("q=%q: %v", f.Query, err)
		}
		all = append(all, list...)
		if next == "" {
			return all
		}
		f.After = next
	}
}

// findAlerts returns the keys of the alerts f finds, newest first; on
// SQLite with each of the two plans, which must agree.
func findAlerts(t *testing.T, e *env, made map[string]Alert, sc scope.Scope, f AlertFilter) string {
	t.Helper()
	keys := func(list []Alert) string {
		var ks []string
		for _, a := range list {
			for k, m := range made {
				if m.ID == a.ID {
					ks = append(ks, k)
				}
			}
		}
		return fmt.Sprint(ks)
	}
	if e.db.Dialect != store.SQLite {
		return keys(listAll(t, e, sc, f))
	}
	forcePlan(t, e, "alerts", f.Query, planLookup)
	lookup := keys(listAll(t, e, sc, f))
	forcePlan(t, e, "alerts", f.Query, planWalk)
	if walk := keys(listAll(t, e, sc, f)); walk != lookup {
		t.Errorf("sqlite: q=%q: the lookup finds %s, the walk %s", f.Query, lookup, walk)
	}
	return lookup
}

// TestSearchAlertsByWordPrefix: each word of q begins a word of the
// alert's title, source, type, reference or observables; a host name,
// address, e-mail or hash typed whole finds its alerts; scope, the other
// filters and newest-first order apply as before.
func TestSearchAlertsByWordPrefix(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		made := searchAlerts(t, e)
		for _, c := range []struct {
			sc    scope.Scope
			f     AlertFilter
			want  string
			about string
		}{
			{e.nadia, AlertFilter{Query: "powershell"}, "[ps]", ""},
			{e.nadia, AlertFilter{Query: "POWER"}, "[ps]", "a word's beginning, any case"},
			{e.nadia, AlertFilter{Query: "shell"}, "[]", "inside a word: not a word's beginning"},
			{e.nadia, AlertFilter{Query: "suspicious ws"}, "[ps]", ""},
			{e.nadia, AlertFilter{Query: "ws-r3i2t4-004"}, "[scan ps]", "a host name and the names it begins, newest first"},
			{e.nadia, AlertFilter{Query: "ws-r3i2t4-0042"}, "[scan]", ""},
			{e.nadia, AlertFilter{Query: "r3i2t4-004"}, "[scan ps]", ""},
			{e.nadia, AlertFilter{Query: "ws-r3i2t4-005"}, "[]", ""},
			{e.nadia, AlertFilter{Query: "203.0.113.66"}, "[ps]", "an address"},
			{e.nadia, AlertFilter{Query: "203.0.113.6"}, "[ps]", ""},
			{e.nadia, AlertFilter{Query: "203.0.113"}, "[beacon ps]", ""},
			{e.nadia, AlertFilter{Query: "113.0.203"}, "[]", "the words in their order"},
			{e.nadia, AlertFilter{Query: "j.smith@nhs.net"}, "[phish]", "an e-mail address"},
			{e.nadia, AlertFilter{Query: "smith"}, "[phish]", ""},
			{e.nadia, AlertFilter{Query: testHash}, "[phish]", "a hash, any case"},
			{e.nadia, AlertFilter{Query: strings.ToLower(testHash[:12])}, "[phish]", ""},
			{e.nadia, AlertFilter{Query: testHash[1:]}, "[]", ""},
			{e.nadia, AlertFilter{Query: "evelina"}, "[beacon]", "accents removed"},
			{e.nadia, AlertFilter{Query: "ÉVELINA WARD"}, "[beacon]", ""},
			{e.nadia, AlertFilter{Query: "c2-beacon"}, "[beacon]", "the type"},
			{e.nadia, AlertFilter{Query: "ph-1"}, "[phish]", "the reference"},
			{e.nadia, AlertFilter{Query: "powershell phishing"}, "[]", "every word"},
			{e.nadia, AlertFilter{Query: "--"}, "[]", "no word to look for"},
			{e.nadia, AlertFilter{Query: "  "}, "[scan beacon phish ps]", "white space alone: no filter"},
			// Scope and the other filters.
			{e.alice, AlertFilter{Query: "203.0.113"}, "[ps]", "a trust sees its own"},
			{e.bob, AlertFilter{Query: "203.0.113"}, "[beacon]", ""},
			{e.bob, AlertFilter{Query: "powershell"}, "[]", ""},
			{e.rex, AlertFilter{Query: "ws"}, "[ps]", "a region lead sees London's"},
			{e.nadia, AlertFilter{Query: "ws", Org: "RA7"}, "[scan]", ""},
			{e.nadia, AlertFilter{Query: "203", Source: "ioc"}, "[beacon]", ""},
			{e.nadia, AlertFilter{Query: "203", Severity: Critical}, "[]", ""},
			{scope.Scope{}, AlertFilter{Query: "ws"}, "[]", ""},
		} {
			if got := findAlerts(t, e, made, c.sc, c.f); got != c.want {
				t.Errorf("%s: %s with %+v = %s, want %s %s", storetest.Name(e.db), c.sc.Email, c.f, got, c.want, c.about)
			}
		}
	})
}

// searchSyntax is what the engines' query languages would read as syntax.
var searchSyntax = []string{
	`"`, `""`, `"power`, `power"`, `"powershell on"`, `'powershell'`, `*`, `power*`, `*shell`, `pow*er`,
	`-`, `-powershell`, `powershell -ws`, `NEAR`, `NEAR(powershell ws)`, `NEAR(powershell ws, 2)`, `powershell NEAR ws`,
	`(`, `)`, `(powershell)`, `((powershell) OR (beacon))`, `powershell OR beacon`, `powershell AND ws`, `NOT powershell`,
	`AND`, `OR`, `NOT`, `^powershell`, `search:powershell`, `{search}: powershell`, `powershell:*`, `power & shell`, `power | x`,
	`!power`, `power <-> shell`, `\`, `%`, `_`, `:`, `+`, `power + shell`, `'; DROP TABLE alerts; --`,
	`NEAR/3`, `"power" "shell"*`, `\"`, `0x00`, `1e9999`, `ws-r3i2t4-004:*`, `203.0.113.66^2`,
}

// TestSearchSyntaxIsText: query syntax in q is ordinary text on both
// engines, in the inbox and the case list: no error, and never more than
// its words find.
func TestSearchSyntaxIsText(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		made := searchAlerts(t, e)
		if _, err := e.svc.CreateCase(t.Context(), e.alice, NewCase{Org: "RJ1", Title: "PowerShell (AND/OR) on ws-r3i2t4-004", Tags: []string{"near"}}); err != nil {
			t.Fatal(err)
		}
		for _, q := range searchSyntax {
			got := listAll(t, e, e.nadia, AlertFilter{Query: q})
			for _, a := range got {
				words := safetext.SearchWords(a.searchText())
				for _, w := range safetext.SearchWords(q) {
					if !slices.ContainsFunc(words, func(x string) bool { return strings.HasPrefix(x, w) }) {
						t.Errorf("%s: q=%q found %s %q, which has no word beginning %q", storetest.Name(e.db), q, a.ID, a.Title, w)
					}
				}
			}
			cs, _, err := e.svc.ListCases(t.Context(), e.nadia, CaseFilter{Query: q})
			if err != nil {
				t.Errorf("%s: cases q=%q: %v", storetest.Name(e.db), q, err)
			}
			for _, c := range cs {
				words := safetext.SearchWords(c.searchText())
				for _, w := range safetext.SearchWords(q) {
					if !slices.ContainsFunc(words, func(x string) bool { return strings.HasPrefix(x, w) }) {
						t.Errorf("%s: cases q=%q found %q, which has no word beginning %q", storetest.Name(e.db), q, c.Title, w)
					}
				}
			}
		}
		for q, want := range map[string]string{
			`NEAR(powershell ws)`:         "[]", // NEAR is a word here, which no alert begins
			`"powershell on"`:             "[ps]",
			`powershell OR beacon`:        "[]", // OR is a word, and beacon is not in ps
			`-powershell`:                 "[ps]",
			`(beacon) AND (near)`:         "[beacon]",
			`ws-r3i2t4-004:*`:             "[scan ps]",
			`'; DROP TABLE alerts; --`:    "[]",
			`203.0.113.66^2`:              "[]",
			`{search}: "j.smith@nhs.net"`: "[]",
		} {
			if got := findAlerts(t, e, made, e.nadia, AlertFilter{Query: q}); got != want {
				t.Errorf("%s: q=%q = %s, want %s", storetest.Name(e.db), q, got, want)
			}
		}
		cs, _, err := e.svc.ListCases(t.Context(), e.nadia, CaseFilter{Query: "near and/or"})
		if err != nil || len(cs) != 1 {
			t.Errorf("%s: cases q=near and/or: %d cases, %v; want 1", storetest.Name(e.db), len(cs), err)
		}
		_, _, err = e.svc.ListAlerts(t.Context(), e.nadia, AlertFilter{Query: "tab\tpowershell"})
		wantInvalid(t, err, "q")
	})
}

// TestSearchCasesByWordPrefix: the case list's q matches the beginnings of
// the words of the title and tags.
func TestSearchCasesByWordPrefix(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		if _, err := e.svc.CreateCase(ctx, e.alice, NewCase{Org: "RJ1", Title: "Ransomware on ward PCs", Tags: []string{"wave-2"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateCase(ctx, e.bob, NewCase{Org: "RJZ", Title: "Phishing at King's", Tags: []string{"wave-3"}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			sc   scope.Scope
			q    string
			want int
		}{
			{e.nadia, "ransom", 1}, {e.nadia, "somware", 0}, {e.nadia, "WARD pc", 1}, {e.nadia, "wave", 2},
			{e.nadia, "wave-2", 1}, {e.nadia, "king's", 1}, {e.alice, "wave", 1}, {e.bob, "ransomware", 0},
		} {
			for _, plan := range []searchPlan{planLookup, planWalk} {
				forcePlan(t, e, "cases", c.q, plan)
				got, _, err := e.svc.ListCases(ctx, c.sc, CaseFilter{Query: c.q})
				if err != nil || len(got) != c.want {
					t.Errorf("%s: %s q=%q (plan %d) = %d cases, %v; want %d", storetest.Name(e.db), c.sc.Email, c.q, plan, len(got), err, c.want)
				}
			}
		}
	})
}

// explainPlan returns the engine's plan for the query ListAlerts runs for
// f. On PostgreSQL sequential and plain index scans are switched off for
// it, as in org's TestSearchUsesIndex, so the plan shows which index can
// answer the search at all.
func explainPlan(t *testing.T, e *env, sc scope.Scope, f AlertFilter) string {
	t.Helper()
	from, l, limit, err := e.svc.alertsQuery(t.Context(), sc, f)
	if err != nil {
		t.Fatal(err)
	}
	q := pageSQL(alertCols, from, l)
	var lines []string
	err = e.db.InTx(t.Context(), func(tx *store.Tx) error {
		stmt := "EXPLAIN QUERY PLAN " + q
		if e.db.Dialect == store.Postgres {
			for _, set := range []string{`SET LOCAL enable_seqscan = off`, `SET LOCAL enable_indexscan = off`} {
				if _, err := tx.ExecContext(t.Context(), set); err != nil {
					return err
				}
			}
			stmt = "EXPLAIN " + q
		}
		rows, err := tx.QueryContext(t.Context(), stmt, append(l.args, limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
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
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestSearchUsesIndex fails if the inbox's search stops using its index:
// the engine's own plan for the query ListAlerts runs must name it. On
// SQLite a rare word (or a common one with a large page) looks its
// matches up in alerts_fts, and a common word walks the alerts newest
// first, testing each; both give the same pages, which join to what the
// words find.
func TestSearchUsesIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db)
		// 3,000 alerts of three trusts: a tenth "Suspicious PowerShell on
		// ws-<trust>-NNNN", host names from 5,000 per trust.
		if err := e.svc.GenerateAlerts(ctx, scope.System("test"), GenerateOptions{Count: 3000, Orgs: []string{"RJ1", "RJZ", "RA7"}, End: t0, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		all := listAll(t, e, e.nadia, AlertFilter{Limit: 1000})
		for _, c := range []struct {
			sc    scope.Scope
			orgs  string // the organisations sc reads
			query string
			limit int
			walk  bool // SQLite walks newest first: the matches are many for the page
		}{
			{e.nadia, "RJ1 RJZ RA7", "ws-ra7-00", 50, false}, // about 20 alerts
			{e.nadia, "RJ1 RJZ RA7", "powershell", 10, true}, // about 300
			{e.nadia, "RJ1 RJZ RA7", "powershell", 1000, false},
			{e.nadia, "RJ1 RJZ RA7", "suspicious power", 5, true},
			{e.alice, "RJ1", "ws-rj1-01", 50, false},
			{e.alice, "RJ1", "powershell", 5, true},
		} {
			f := AlertFilter{Query: c.query, Limit: c.limit}
			plan := explainPlan(t, e, c.sc, f)
			if db.Dialect == store.Postgres {
				// PostgreSQL's planner may rightly read a trust's thousand
				// alerts by organisation instead; nationally it has the index.
				if c.sc.Email == e.nadia.Email && !strings.Contains(plan, "alerts_search_words") {
					t.Errorf("postgres: the plan for %q does not use alerts_search_words:\n%s", c.query, plan)
				}
			} else {
				if walks := !strings.Contains(plan, "alerts_fts"); walks != c.walk {
					t.Errorf("sqlite: %s %q with a page of %d: walks %v, want %v:\n%s", c.sc.Email, c.query, c.limit, walks, c.walk, plan)
				}
				if !c.walk && !strings.Contains(plan, "rowid=?") {
					t.Errorf("sqlite: %q: the lookup does not read the matches by rowid:\n%s", c.query, plan)
				}
			}
			// Whichever plan, the pages join to what the words find, newest first.
			var got, want []string
			for _, a := range listAll(t, e, c.sc, f) {
				got = append(got, a.ID)
			}
			for _, a := range all {
				if slices.Contains(strings.Fields(c.orgs), a.Org) && matchesAll(a.searchText(), c.query) {
					want = append(want, a.ID)
				}
			}
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("%s: %s %q in pages of 2: %d alerts, want %d", storetest.Name(db), c.sc.Email, c.query, len(got), len(want))
			}
		}
	}, sets...)
}

// matchesAll is the search rule written plainly: each word of each query
// word begins a word of text, the words of one query word in a row.
func matchesAll(text, q string) bool {
	words := strings.Fields(text)
	for _, field := range strings.Fields(q) {
		p := safetext.SearchWords(field)
		found := false
		for i := 0; i+len(p) <= len(words) && !found; i++ {
			found = slices.Equal(words[i:i+len(p)-1], p[:len(p)-1]) && strings.HasPrefix(words[i+len(p)-1], p[len(p)-1])
		}
		if !found {
			return false
		}
	}
	return true
}

// oldCases is the cases migrations before 0010_search: the schema an
// upgrade starts from.
func oldCases(t *testing.T) store.MigrationSet {
	t.Helper()
	m := Migrations()
	old := fstest.MapFS{}
	err := fs.WalkDir(m.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path, "0010_") {
			return err
		}
		b, err := fs.ReadFile(m.FS, path)
		old[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return store.MigrationSet{Domain: m.Domain, FS: old}
}

// TestSearchMigrationIndexesOldAlerts: a database with alerts and cases
// written before 0010_search (search text with its punctuation) is
// upgraded, and its rows are found by their words with either plan.
func TestSearchMigrationIndexesOldAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.Migrate(ctx, oldCases(t)); err != nil {
			t.Fatal(err)
		}
		// Rows as the old code wrote them: the lower-cased text.
		for i, a := range []struct{ id, title, search string }{
			{"AL-01JB0000000000000000000001", "Suspicious PowerShell on WS-R3I2T4-004",
				"suspicious powershell on ws-r3i2t4-004 edr suspicious-process ps-1 ws-r3i2t4-004 203.0.113.66"},
			{"AL-01JB0000000000000000000002", "Phishing from j.smith@nhs.net",
				"phishing from j.smith@nhs.net email-gateway phishing ph-1 j.smith@nhs.net  (urgent)--re:"},
		} {
			if _, err := db.Q().ExecContext(ctx, `INSERT INTO alerts (id, org, source, type, source_ref, title, severity, tlp, pap, observables, fields,
				first_seen, last_seen, occurrences, status, search, created_at, updated_at)
				VALUES (?, 'RJ1', 'edr', 'x', ?, ?, 'high', 'amber', 'amber', '[]', '{}', '2026-11-01T09:00:00.000000000Z', '2026-11-01T09:00:00.000000000Z', 1, 'new', ?,
				'2026-11-01T09:00:00.000000000Z', '2026-11-01T09:00:00.000000000Z')`, a.id, fmt.Sprint("ref-", i), a.title, a.search); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO alert_counts (org, alerts) VALUES ('RJ1', 2)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO cases (id, org, title, severity, tlp, pap, status, search, created_by, created_at, updated_at)
			VALUES ('CS-01JB0000000000000000000001', 'RJ1', 'Ransomware on ward-7', 'high', 'amber', 'amber', 'new', 'ransomware on ward-7 wave-2',
			'someone', '2026-11-01T09:00:00.000000000Z', '2026-11-01T09:00:00.000000000Z')`); err != nil {
			t.Fatal(err)
		}
		done, err := db.Migrate(ctx, Migrations())
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 1 || done[0].Version != 10 {
			t.Fatalf("the upgrade applied %v, want cases 0010 alone", done)
		}
		if err := db.Check(ctx, org.Migrations(), audit.Migrations(), Migrations(), savedview.Migrations()); err != nil {
			t.Fatal(err)
		}
		var search string
		if err := db.QueryRowContext(ctx, `SELECT search FROM alerts WHERE id = 'AL-01JB0000000000000000000002'`).Scan(&search); err != nil {
			t.Fatal(err)
		}
		if want := "phishing from j smith nhs net email gateway phishing ph 1 j smith nhs net urgent re"; search != want {
			t.Errorf("%s: the old search text became %q, want %q", storetest.Name(db), search, want)
		}
		e := newEnv(t, db)
		made := map[string]Alert{"ps": {ID: "AL-01JB0000000000000000000001"}, "phish": {ID: "AL-01JB0000000000000000000002"}}
		for q, want := range map[string]string{
			"ws-r3i2t4-004": "[ps]", "203.0.113.66": "[ps]", "powershell": "[ps]", "j.smith@nhs.net": "[phish]",
			"urgent": "[phish]", "re": "[phish]", "ph": "[phish]", "ps": "[ps]", "shell": "[]",
		} {
			if got := findAlerts(t, e, made, e.nadia, AlertFilter{Query: q}); got != want {
				t.Errorf("%s: after the upgrade q=%q = %s, want %s", storetest.Name(db), q, got, want)
			}
		}
		for _, plan := range []searchPlan{planLookup, planWalk} {
			forcePlan(t, e, "cases", "ward-7", plan)
			cs, _, err := e.svc.ListCases(ctx, e.nadia, CaseFilter{Query: "ward-7"})
			if err != nil || len(cs) != 1 {
				t.Errorf("%s: after the upgrade cases q=ward-7 (plan %d) = %d, %v; want 1", storetest.Name(db), plan, len(cs), err)
			}
		}
		// New alerts are indexed by the triggers (SQLite) or the stored
		// column (PostgreSQL) from now on.
		made["new"] = mustAlert(t, e, e.alice, alertFor("RJ1", "ws-r3i2t4-0047"))
		if got := findAlerts(t, e, made, e.nadia, AlertFilter{Query: "ws-r3i2t4-004"}); got != "[new ps]" {
			t.Errorf("%s: after a new alert q=ws-r3i2t4-004 = %s, want [new ps]", storetest.Name(db), got)
		}
	}, org.Migrations(), audit.Migrations(), savedview.Migrations())
}
