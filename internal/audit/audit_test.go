package audit_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testclock"
)

// clock is a settable time source.
type clock = testclock.Clock

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// paths is the organisation tree List scopes against.
var paths = map[string]string{
	"ENG": "/ENG/",
	"Y56": "/ENG/Y56/", "QKK": "/ENG/Y56/QKK/", "RJ1": "/ENG/Y56/QKK/RJ1/", "RJZ": "/ENG/Y56/QKK/RJZ/",
	"Y62": "/ENG/Y62/", "QOP": "/ENG/Y62/QOP/", "R0A": "/ENG/Y62/QOP/R0A/",
}

func grant(r scope.Role, code string) scope.Grant {
	return scope.Grant{Role: r, Org: code, Path: paths[code]}
}

func actor(email string, gs ...scope.Grant) scope.Scope {
	return scope.Scope{UserID: "u_" + strings.Split(email, "@")[0], Email: email, Via: "session", Remote: "192.0.2.1", Grants: gs}
}

// setup fills a migrated database with the organisation tree and a log on clk.
func setup(t *testing.T, db *store.DB) (*audit.Log, *clock) {
	t.Helper()
	ctx := t.Context()
	for code, p := range paths {
		if _, err := db.Q().ExecContext(ctx, `INSERT INTO orgs (code, name, type, path, updated_at) VALUES (?, ?, ?, ?, ?)`,
			code, "Org "+code, "trust", p, "2025-01-01T00:00:00Z"); err != nil {
			t.Fatal(err)
		}
	}
	clk := testclock.New(t0)
	return audit.New(db, clk.Now), clk
}

func each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	storetest.Each(t, fn, org.Migrations(), audit.Migrations())
}

func appendTx(t *testing.T, db *store.DB, l *audit.Log, sc scope.Scope, cs ...audit.Change) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	err := db.InTx(t.Context(), func(tx *store.Tx) error {
		for _, c := range cs {
			e, err := l.Append(t.Context(), tx, sc, c)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return out
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Q().ExecContext(t.Context(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

type thing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestAppendAndVerify(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l, clk := setup(t, db)
		alice := actor("alice@example.org", grant(scope.NationalAdmin, "ENG"))

		// An empty log verifies.
		v, err := l.Verify(ctx, nil)
		if err != nil || !v.OK || v.Entries != 0 || v.Head != "" {
			t.Fatalf("empty Verify = %+v, %v", v, err)
		}

		var all []audit.Entry
		all = append(all, appendTx(t, db, l, alice,
			audit.Change{Action: "org.create", ObjectType: "org", ObjectID: "RJ1", Org: "RJ1", After: thing{"RJ1", 1}},
			audit.Change{Action: "org.create", ObjectType: "org", ObjectID: "RJZ", Org: "RJZ", After: thing{"RJZ", 1}},
		)...)
		clk.Advance(time.Minute)
		all = append(all, appendTx(t, db, l, alice,
			audit.Change{Action: "org.update", ObjectType: "org", ObjectID: "RJ1", Org: "RJ1", Before: thing{"RJ1", 1}, After: thing{"RJ1 renamed", 2}},
		)...)
		clk.Advance(time.Minute)
		if err := l.Record(ctx, alice, audit.Change{Action: "export", ObjectType: "report", ObjectID: "r1", Org: "Y56", After: json.RawMessage(`{"rows":3}`)}); err != nil {
			t.Fatal(err)
		}
		all = append(all, appendTx(t, db, l, alice,
			audit.Change{Action: "auth.signin", ObjectType: "user", ObjectID: alice.UserID},
		)...)

		for i, e := range all {
			if i > 0 && e.PrevHash != all[i-1].Hash && e.Seq == all[i-1].Seq+1 {
				t.Errorf("entry %d prev_hash %s, want %s", e.Seq, e.PrevHash, all[i-1].Hash)
			}
			if len(e.Hash) != 64 {
				t.Errorf("entry %d hash %q is not SHA-256 hex", e.Seq, e.Hash)
			}
		}
		if all[0].Seq != 1 || all[0].PrevHash != "" || all[1].Seq != 2 || all[2].Seq != 3 || all[3].Seq != 5 {
			t.Errorf("seqs %d %d %d %d, want 1 2 3 5 (Record took 4); first prev %q", all[0].Seq, all[1].Seq, all[2].Seq, all[3].Seq, all[0].PrevHash)
		}

		v, err = l.Verify(ctx, nil)
		if err != nil || !v.OK {
			t.Fatalf("Verify = %+v, %v", v, err)
		}
		if v.Entries != 5 || v.Head != all[3].Hash || v.BrokenAt != 0 || v.Reason != "" {
			t.Errorf("Verify = %+v, want 5 entries ending %s", v, all[3].Hash)
		}

		// What was appended reads back exactly, Before and After included.
		got, next, err := l.List(ctx, alice, audit.Filter{})
		if err != nil || next != 0 || len(got) != 5 {
			t.Fatalf("List = %d entries, next %d, %v", len(got), next, err)
		}
		e := got[2] // newest first: 5, 4, 3
		if e.Seq != 3 || e.Action != "org.update" || e.Actor != "alice@example.org" || e.ActorID != "u_alice" || e.Via != "session" ||
			e.Remote != "192.0.2.1" || e.ObjectType != "org" || e.ObjectID != "RJ1" || e.Org != "RJ1" || !e.At.Equal(t0.Add(time.Minute)) {
			t.Errorf("entry 3 = %+v", e)
		}
		var before, after thing
		if err := json.Unmarshal(e.Before, &before); err != nil || before != (thing{"RJ1", 1}) {
			t.Errorf("before = %s (%v)", e.Before, err)
		}
		if err := json.Unmarshal(e.After, &after); err != nil || after != (thing{"RJ1 renamed", 2}) {
			t.Errorf("after = %s (%v)", e.After, err)
		}
		if got[0].Before != nil || got[0].After != nil {
			t.Errorf("sign-in entry has before %s after %s, want none", got[0].Before, got[0].After)
		}
		if string(got[1].After) != `{"rows":3}` {
			t.Errorf("raw JSON after = %s", got[1].After)
		}
		if e.Hash != all[2].Hash || e.PrevHash != all[1].Hash {
			t.Errorf("listed entry 3 hashes differ from Append's")
		}
	})
}

// An append in a transaction that rolls back leaves no trace and no gap.
func TestAppendRolledBackLeavesNoGap(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l, _ := setup(t, db)
		sc := actor("bob@example.org", grant(scope.NationalAdmin, "ENG"))
		appendTx(t, db, l, sc, audit.Change{Action: "a.one", Org: "RJ1"})
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := l.Append(ctx, tx, sc, audit.Change{Action: "a.lost", Org: "RJ1"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		e := appendTx(t, db, l, sc, audit.Change{Action: "a.two", Org: "RJ1"})[0]
		if e.Seq != 2 {
			t.Errorf("after a rolled-back append the next seq is %d, want 2", e.Seq)
		}
		v, err := l.Verify(ctx, nil)
		if err != nil || v.Entries != 2 {
			t.Errorf("Verify = %+v, %v", v, err)
		}
		got, _, _ := l.List(ctx, sc, audit.Filter{Action: "a.lost"})
		if len(got) != 0 {
			t.Errorf("rolled-back entry is listed: %+v", got)
		}
		// Unencodable content is refused, and nothing is appended.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := l.Append(ctx, tx, sc, audit.Change{Action: "a.bad", After: func() {}})
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "audit: encode after") {
			t.Errorf("append of a func = %v", err)
		}
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name     string
		tamper   string
		brokenAt int64
		reason   string
	}{
		{"after_json altered", `UPDATE audit_log SET after_json = '{"name":"forged","count":1}' WHERE seq = 3`, 3, "entry 3 has been altered"},
		{"actor altered", `UPDATE audit_log SET actor = 'mallory@example.org' WHERE seq = 2`, 2, "entry 2 has been altered"},
		{"before_json emptied", `UPDATE audit_log SET before_json = '' WHERE seq = 4`, 4, "entry 4 has been altered"},
		{"time moved", `UPDATE audit_log SET at = '2020-01-01T00:00:00Z' WHERE seq = 1`, 1, "entry 1 has been altered"},
		{"middle row deleted", `DELETE FROM audit_log WHERE seq = 3`, 3, "entry 3 is missing (next present is 4)"},
		{"first row deleted", `DELETE FROM audit_log WHERE seq = 1`, 1, "entry 1 is missing (next present is 2)"},
		{"last row deleted", `DELETE FROM audit_log WHERE seq = 5`, 5, "chain head says 5 entries"},
		{"last two rows deleted", `DELETE FROM audit_log WHERE seq >= 4`, 4, "the log has 3"},
		{"link broken", `UPDATE audit_log SET prev_hash = 'x' WHERE seq = 4`, 4, "entry 4 does not link to entry 3's hash"},
		{"head moved", `UPDATE audit_head SET hash = 'x' WHERE id = 1`, 6, "chain head says 5 entries ending x"},
	}
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l, clk := setup(t, db)
		sc := actor("carol@example.org", grant(scope.NationalAdmin, "ENG"))
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				exec(t, db, `DELETE FROM audit_log`)
				exec(t, db, `UPDATE audit_head SET seq = 0, hash = '' WHERE id = 1`)
				for i := 1; i <= 5; i++ {
					clk.Advance(time.Second)
					appendTx(t, db, l, sc, audit.Change{Action: "thing.update", ObjectType: "thing", ObjectID: fmt.Sprint(i), Org: "RJ1",
						Before: thing{"t", i - 1}, After: thing{"t", i}})
				}
				if v, err := l.Verify(ctx, nil); err != nil || !v.OK {
					t.Fatalf("untouched chain: %+v, %v", v, err)
				}
				exec(t, db, c.tamper)
				v, err := l.Verify(ctx, nil)
				if !errors.Is(err, audit.ErrBroken) {
					t.Fatalf("Verify after tampering = %+v, %v; want ErrBroken", v, err)
				}
				if v.OK || v.BrokenAt != c.brokenAt || !strings.Contains(v.Reason, c.reason) {
					t.Errorf("Verify = %+v; want broken at %d saying %q", v, c.brokenAt, c.reason)
				}
				if !strings.Contains(err.Error(), c.reason) {
					t.Errorf("error %q does not give the reason", err)
				}
			})
		}
	})
}

// TestVerifyProgress runs on SQLite only: 10,000 appends cost 40,000 round
// trips on PostgreSQL, and the walk is the same code on both.
func TestVerifyProgress(t *testing.T) {
	func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l := audit.New(db, nil)
		sc := scope.System("test")
		// 10,000 entries in a few transactions, so the callback fires once.
		for batch := 0; batch < 4; batch++ {
			err := db.InTx(ctx, func(tx *store.Tx) error {
				for range 2500 {
					if _, err := l.Append(ctx, tx, sc, audit.Change{Action: "bulk"}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var calls []int64
		v, err := l.Verify(ctx, func(done int64) { calls = append(calls, done) })
		if err != nil || v.Entries != 10000 {
			t.Fatalf("Verify = %+v, %v", v, err)
		}
		if !slices.Equal(calls, []int64{10000}) {
			t.Errorf("progress calls %v, want [10000]", calls)
		}
	}(t, storetest.SQLite(t, audit.Migrations()))
}

// Eight writers, each appending in transactions of its own, extend one
// valid chain: no seq twice, none skipped.
func TestConcurrentAppendsKeepTheChain(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l := audit.New(db, nil)
		const writers, perWriter = 8, 6
		var wg sync.WaitGroup
		errs := make(chan error, writers*perWriter)
		for w := range writers {
			wg.Go(func() {
				sc := actor(fmt.Sprintf("w%d@example.org", w), grant(scope.NationalAdmin, "ENG"))
				for i := range perWriter {
					err := db.InTx(ctx, func(tx *store.Tx) error {
						// Two entries per transaction: they must stay adjacent.
						for k := range 2 {
							if _, err := l.Append(ctx, tx, sc, audit.Change{Action: "w.append", ObjectID: fmt.Sprintf("%d-%d-%d", w, i, k), Org: "RJ1"}); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent append: %v", err)
		}
		v, err := l.Verify(ctx, nil)
		if err != nil || !v.OK || v.Entries != writers*perWriter*2 {
			t.Fatalf("Verify after concurrent appends = %+v, %v; want %d entries", v, err, writers*perWriter*2)
		}
		sys := scope.System("test")
		var got []audit.Entry
		for before := int64(0); ; {
			page, next, err := l.List(ctx, sys, audit.Filter{Before: before, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if next == 0 {
				break
			}
			before = next
		}
		seen := map[string]int64{}
		for _, e := range got {
			if prev, dup := seen[e.ObjectID]; dup {
				t.Errorf("%s appended twice (seq %d and %d)", e.ObjectID, prev, e.Seq)
			}
			seen[e.ObjectID] = e.Seq
		}
		for w := range writers {
			for i := range perWriter {
				a, b := seen[fmt.Sprintf("%d-%d-0", w, i)], seen[fmt.Sprintf("%d-%d-1", w, i)]
				if a == 0 || b != a+1 {
					t.Errorf("transaction %d-%d got seqs %d and %d, want adjacent", w, i, a, b)
				}
			}
		}
	})
}

// seedLog appends one entry per organisation (and one about none), each by
// a different actor and action, a minute apart.
func seedLog(t *testing.T, db *store.DB, l *audit.Log, clk *clock) map[string]int64 {
	t.Helper()
	seqs := map[string]int64{}
	for _, x := range []struct{ org, action, actor string }{
		{"RJ1", "org.create", "alice@example.org"},
		{"RJZ", "org.update", "bob@example.org"},
		{"QKK", "user.create", "alice@example.org"},
		{"Y56", "user.grant", "carol@example.org"},
		{"R0A", "org.create", "dave@example.org"},
		{"QOP", "token.create", "dave@example.org"},
		{"", "auth.signin", "erin@example.org"},
		{"RJ1", "organisation.note", "bob@example.org"},
	} {
		clk.Advance(time.Minute)
		e := appendTx(t, db, l, actor(x.actor), audit.Change{Action: x.action, ObjectType: "thing", ObjectID: x.org + "-" + x.action, Org: x.org})[0]
		seqs[x.org+" "+x.action] = e.Seq
	}
	return seqs
}

func listOrgs(t *testing.T, l *audit.Log, sc scope.Scope, f audit.Filter) []string {
	t.Helper()
	es, _, err := l.List(t.Context(), sc, f)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range es {
		out = append(out, e.Org+" "+e.Action)
	}
	return out
}

func TestListIsScoped(t *testing.T) {
	cases := []struct {
		name string
		sc   scope.Scope
		want []string // newest first
	}{
		{"auditor on Y56 sees the Y56 subtree only", actor("aud@example.org", grant(scope.Auditor, "Y56")),
			[]string{"RJ1 organisation.note", "Y56 user.grant", "QKK user.create", "RJZ org.update", "RJ1 org.create"}},
		{"auditor on RJ1 sees RJ1 only", actor("aud@example.org", grant(scope.Auditor, "RJ1")),
			[]string{"RJ1 organisation.note", "RJ1 org.create"}},
		{"auditor on Y62", actor("aud@example.org", grant(scope.Auditor, "Y62")),
			[]string{"QOP token.create", "R0A org.create"}},
		{"national auditor sees all, org-less entries too", actor("aud@example.org", grant(scope.Auditor, "ENG")),
			[]string{"RJ1 organisation.note", " auth.signin", "QOP token.create", "R0A org.create", "Y56 user.grant", "QKK user.create", "RJZ org.update", "RJ1 org.create"}},
		{"national admin sees all", actor("adm@example.org", grant(scope.NationalAdmin, "ENG")),
			[]string{"RJ1 organisation.note", " auth.signin", "QOP token.create", "R0A org.create", "Y56 user.grant", "QKK user.create", "RJZ org.update", "RJ1 org.create"}},
		{"org-admin on RJ1 has no Audit perm", actor("adm@example.org", grant(scope.OrgAdmin, "RJ1")), []string{}},
		{"region-lead on Y56 has no Audit perm", actor("lead@example.org", grant(scope.RegionLead, "Y56")), []string{}},
		{"national analyst has no Audit perm", actor("an@example.org", grant(scope.NationalAnalyst, "ENG")), []string{}},
		{"no grants", actor("nobody@example.org"), []string{}},
		{"auditor on RJ1 and R0A", actor("aud@example.org", grant(scope.Auditor, "RJ1"), grant(scope.Auditor, "R0A")),
			[]string{"RJ1 organisation.note", "R0A org.create", "RJ1 org.create"}},
	}
	each(t, func(t *testing.T, db *store.DB) {
		l, clk := setup(t, db)
		seedLog(t, db, l, clk)
		for _, c := range cases {
			if got := listOrgs(t, l, c.sc, audit.Filter{}); !slices.Equal(got, c.want) {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
		// A filter cannot widen the scope.
		y56 := actor("aud@example.org", grant(scope.Auditor, "Y56"))
		if got := listOrgs(t, l, y56, audit.Filter{Org: "R0A"}); len(got) != 0 {
			t.Errorf("Y56 auditor filtering on R0A sees %q", got)
		}
	})
}

func TestListFilters(t *testing.T) {
	nat := actor("aud@example.org", grant(scope.Auditor, "ENG"))
	y56 := actor("aud@example.org", grant(scope.Auditor, "Y56"))
	// seedLog's entries are at t0+1m … t0+8m.
	cases := []struct {
		name string
		sc   scope.Scope
		f    audit.Filter
		want []string
	}{
		{"action prefix org.", nat, audit.Filter{Action: "org."}, []string{"R0A org.create", "RJZ org.update", "RJ1 org.create"}},
		{"action prefix org (no dot) also matches organisation.", nat, audit.Filter{Action: "org"}, []string{"RJ1 organisation.note", "R0A org.create", "RJZ org.update", "RJ1 org.create"}},
		{"exact action", nat, audit.Filter{Action: "user.create"}, []string{"QKK user.create"}},
		{"action prefix, scoped", y56, audit.Filter{Action: "user."}, []string{"Y56 user.grant", "QKK user.create"}},
		{"unknown action", nat, audit.Filter{Action: "zzz"}, []string{}},
		{"actor by e-mail", nat, audit.Filter{Actor: "alice@example.org"}, []string{"QKK user.create", "RJ1 org.create"}},
		{"actor by ID", nat, audit.Filter{Actor: "u_dave"}, []string{"QOP token.create", "R0A org.create"}},
		{"actor, scoped", y56, audit.Filter{Actor: "dave@example.org"}, []string{}},
		{"org", nat, audit.Filter{Org: "RJ1"}, []string{"RJ1 organisation.note", "RJ1 org.create"}},
		{"object", nat, audit.Filter{Object: "QOP-token.create"}, []string{"QOP token.create"}},
		{"since is inclusive", nat, audit.Filter{Since: t0.Add(6 * time.Minute)}, []string{"RJ1 organisation.note", " auth.signin", "QOP token.create"}},
		{"until is exclusive", nat, audit.Filter{Until: t0.Add(3 * time.Minute)}, []string{"RJZ org.update", "RJ1 org.create"}},
		{"since and until", nat, audit.Filter{Since: t0.Add(3 * time.Minute), Until: t0.Add(5*time.Minute + time.Second)}, []string{"R0A org.create", "Y56 user.grant", "QKK user.create"}},
		{"since in another zone", nat, audit.Filter{Since: t0.Add(8 * time.Minute).In(time.FixedZone("X", 5*3600))}, []string{"RJ1 organisation.note"}},
		{"everything together", nat, audit.Filter{Action: "org.", Actor: "alice@example.org", Org: "RJ1", Since: t0, Until: t0.Add(time.Hour)}, []string{"RJ1 org.create"}},
	}
	each(t, func(t *testing.T, db *store.DB) {
		l, clk := setup(t, db)
		seedLog(t, db, l, clk)
		for _, c := range cases {
			if got := listOrgs(t, l, c.sc, c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
	})
}

// Times with fractions of a second compare as times, not as strings: an
// entry at 09:00:00 is before a Since of 09:00:00.5, and one at 09:00:00.5
// is before an Until of 09:00:01.
func TestListSubSecondTimes(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		l, clk := setup(t, db)
		sc := actor("aud@example.org", grant(scope.Auditor, "ENG"))
		offsets := []time.Duration{0, 200 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
		for i, d := range offsets {
			clk.Set(t0.Add(d))
			appendTx(t, db, l, sc, audit.Change{Action: "tick", ObjectID: fmt.Sprint(i), Org: "RJ1"})
		}
		ids := func(f audit.Filter) []string {
			es, _, err := l.List(t.Context(), sc, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, e := range es {
				out = append(out, e.ObjectID)
			}
			slices.Sort(out)
			return out
		}
		cases := []struct {
			f    audit.Filter
			want []string
		}{
			{audit.Filter{Since: t0.Add(500 * time.Millisecond)}, []string{"3", "4", "5"}},
			{audit.Filter{Since: t0.Add(210 * time.Millisecond)}, []string{"2", "3", "4", "5"}},
			{audit.Filter{Since: t0}, []string{"0", "1", "2", "3", "4", "5"}},
			{audit.Filter{Since: t0.Add(time.Second)}, []string{"4", "5"}},
			{audit.Filter{Until: t0.Add(time.Second)}, []string{"0", "1", "2", "3"}},
			{audit.Filter{Until: t0.Add(250 * time.Millisecond)}, []string{"0", "1"}},
			{audit.Filter{Until: t0.Add(2 * time.Second)}, []string{"0", "1", "2", "3", "4", "5"}},
		}
		for _, c := range cases {
			if got := ids(c.f); !slices.Equal(got, c.want) {
				t.Errorf("since %s until %s: %v, want %v", c.f.Since.Format(time.RFC3339Nano), c.f.Until.Format(time.RFC3339Nano), got, c.want)
			}
		}
		if v, err := l.Verify(t.Context(), nil); err != nil || v.Entries != int64(len(offsets)) {
			t.Errorf("Verify = %+v, %v", v, err)
		}
	})
}

func TestListPagination(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l, clk := setup(t, db)
		// 40 entries alternating between Y56's and Y62's organisations.
		orgs := []string{"RJ1", "R0A", "QKK", "QOP"}
		want := map[string][]int64{}
		for i := range 40 {
			clk.Advance(time.Second)
			o := orgs[i%len(orgs)]
			e := appendTx(t, db, l, actor("p@example.org"), audit.Change{Action: "page.test", ObjectID: fmt.Sprint(i), Org: o})[0]
			for _, who := range []string{"nat", map[string]string{"RJ1": "y56", "QKK": "y56", "R0A": "y62", "QOP": "y62"}[o]} {
				want[who] = append([]int64{e.Seq}, want[who]...)
			}
		}
		scopes := map[string]scope.Scope{
			"nat": actor("a@example.org", grant(scope.Auditor, "ENG")),
			"y56": actor("a@example.org", grant(scope.Auditor, "Y56")),
			"y62": actor("a@example.org", grant(scope.Auditor, "Y62")),
		}
		for who, sc := range scopes {
			for _, limit := range []int{1, 7, 10, 19, 20, 21, 1000} {
				var got []int64
				var before int64
				pages := 0
				for {
					page, next, err := l.List(ctx, sc, audit.Filter{Action: "page.", Before: before, Limit: limit})
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if len(page) > limit || len(page) == 0 {
						t.Fatalf("%s limit %d: page of %d", who, limit, len(page))
					}
					for _, e := range page {
						got = append(got, e.Seq)
					}
					if next == 0 {
						break
					}
					if next != page[len(page)-1].Seq {
						t.Errorf("%s limit %d: cursor %d, want the last seq on the page %d", who, limit, next, page[len(page)-1].Seq)
					}
					if pages > 100 {
						t.Fatal("pagination does not end")
					}
					before = next
				}
				if !slices.Equal(got, want[who]) {
					t.Errorf("%s limit %d: pages joined to %v, want %v", who, limit, got, want[who])
				}
				if wantPages := (len(want[who]) + limit - 1) / limit; pages != wantPages {
					t.Errorf("%s limit %d: %d pages, want %d", who, limit, pages, wantPages)
				}
			}
		}
		// Limit defaults to 100 and is capped at 1000.
		for _, limit := range []int{0, -5, 5000} {
			page, next, err := l.List(ctx, scopes["nat"], audit.Filter{Limit: limit})
			if err != nil || len(page) != 40 || next != 0 {
				t.Errorf("limit %d: %d entries, next %d, %v", limit, len(page), next, err)
			}
		}
	})
}
