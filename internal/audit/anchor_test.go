package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// legacyHash is the chain function before the audit key existed: plain
// SHA-256, which anyone who can write the database can recompute. The
// attacks below use it to re-hash the chain after an edit.
func legacyHash(e audit.Entry) string {
	h := sha256.New()
	for _, f := range []string{
		e.PrevHash, fmt.Sprint(e.Seq), e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.Actor, e.Via,
		e.Remote, e.Action, e.ObjectType, e.ObjectID, e.Org, string(e.Before), string(e.After),
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// entries reads the whole chain, oldest first.
func entries(t *testing.T, l *audit.Log) []audit.Entry {
	t.Helper()
	es, _, err := l.List(t.Context(), scope.System("test"), audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(es)
	return es
}

// rehash is the attacker with database access: from entry `from` on it
// rewrites each entry with edit (nil edits nothing), recomputes every hash
// with the unkeyed chain function so the links hold, and points the head
// row at the new end. keyID is written to the rewritten entries and the
// head (the attacker cannot make a MAC, so whatever it writes is wrong).
func rehash(t *testing.T, db *store.DB, l *audit.Log, from int64, keyID string, edit func(e *audit.Entry)) {
	t.Helper()
	es := entries(t, l)
	prev := ""
	for _, e := range es {
		if e.Seq < from {
			prev = e.Hash
			continue
		}
		if edit != nil && e.Seq == from {
			edit(&e)
		}
		e.PrevHash = prev
		e.Hash = legacyHash(e)
		exec(t, db, `UPDATE audit_log SET after_json = ?, actor = ?, prev_hash = ?, hash = ?, key_id = ? WHERE seq = ?`,
			string(e.After), e.Actor, e.PrevHash, e.Hash, keyID, e.Seq)
		prev = e.Hash
	}
	exec(t, db, `UPDATE audit_head SET hash = ?, key_id = ? WHERE id = 1`, prev, keyID)
}

// keyedChain starts a keyed chain (audit.keyed is entry 1) and appends
// n entries after it.
func keyedChain(t *testing.T, db *store.DB, n int) (*audit.Log, *clock, *audit.Key) {
	t.Helper()
	_, clk := setup(t, db)
	key, err := audit.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	l := audit.NewKeyed(db, clk.Now, key)
	if err := l.Anchor(t.Context()); err != nil {
		t.Fatal(err)
	}
	sc := actor("carol@example.org", grant(scope.NationalAdmin, "ENG"))
	for i := 1; i <= n; i++ {
		clk.Advance(time.Second)
		appendTx(t, db, l, sc, audit.Change{Action: "thing.update", ObjectType: "thing", ObjectID: fmt.Sprint(i), Org: "RJ1",
			Before: thing{"t", i - 1}, After: thing{"t", i}})
	}
	return l, clk, key
}

func wantBroken(t *testing.T, v audit.Verification, err error, at int64, reason string) {
	t.Helper()
	if !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("Verify after tampering = %+v, %v; want ErrBroken", v, err)
	}
	if v.OK || v.BrokenAt != at || !strings.Contains(v.Reason, reason) {
		t.Errorf("Verify = %+v; want broken at %d saying %q", v, at, reason)
	}
}

// An attacker who can write the database but has not got the audit key
// can neither rewrite the chain after an edit nor cut its end off.
func TestKeyedChainRefusesRewrites(t *testing.T) {
	cases := []struct {
		name     string
		tamper   func(t *testing.T, db *store.DB, l *audit.Log)
		brokenAt int64
		reason   string
	}{
		{"end cut off and head row pointed at the new end", func(t *testing.T, db *store.DB, l *audit.Log) {
			exec(t, db, `DELETE FROM audit_log WHERE seq > 4`)
			exec(t, db, `UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4) WHERE id = 1`)
		}, 5, "moved without the audit key"},
		{"entry edited, the rest re-hashed, MAC column kept", func(t *testing.T, db *store.DB, l *audit.Log) {
			rehash(t, db, l, 3, l.KeyID(), func(e *audit.Entry) { e.After = []byte(`{"name":"forged","count":1}`) })
		}, 3, "its MAC does not match"},
		{"entry edited, the rest re-hashed as an unkeyed chain", func(t *testing.T, db *store.DB, l *audit.Log) {
			rehash(t, db, l, 3, "", func(e *audit.Entry) { e.Actor = "mallory@example.org" })
		}, 3, "has no MAC although the chain is keyed from entry 1"},
		{"whole chain rewritten as an unkeyed one", func(t *testing.T, db *store.DB, l *audit.Log) {
			rehash(t, db, l, 1, "", func(e *audit.Entry) { e.After = []byte(`{}`) })
		}, 7, "no entry carries a MAC"},
		{"every entry deleted and the head reset", func(t *testing.T, db *store.DB, l *audit.Log) {
			exec(t, db, `DELETE FROM audit_log`)
			exec(t, db, `UPDATE audit_head SET seq = 0, hash = '', key_id = '', mac = '' WHERE id = 1`)
		}, 1, "no entry carries a MAC"},
		{"end cut off and re-appended with forged entries", func(t *testing.T, db *store.DB, l *audit.Log) {
			exec(t, db, `DELETE FROM audit_log WHERE seq > 4`)
			exec(t, db, `UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4) WHERE id = 1`)
			forger := audit.New(db, nil) // no key: refused, as the chain is keyed
			err := db.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := forger.Append(t.Context(), tx, scope.System("mallory"), audit.Change{Action: "thing.update", Org: "RJ1"})
				return err
			})
			if !errors.Is(err, audit.ErrKeyMismatch) {
				t.Errorf("unkeyed append to a keyed chain = %v, want ErrKeyMismatch", err)
			}
		}, 5, "moved without the audit key"},
	}
	each(t, func(t *testing.T, db *store.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				exec(t, db, `DELETE FROM audit_log`)
				exec(t, db, `UPDATE audit_head SET seq = 0, hash = '', key_id = '', mac = '' WHERE id = 1`)
				exec(t, db, `DELETE FROM orgs`)
				l, _, _ := keyedChain(t, db, 5)
				v, err := l.Verify(t.Context(), nil)
				if err != nil || !v.OK || v.Entries != 6 || v.Anchoring != "keyed" || v.KeyedFrom != 1 || v.KeyID != l.KeyID() {
					t.Fatalf("untouched chain: %+v, %v", v, err)
				}
				c.tamper(t, db, l)
				v, err = l.Verify(t.Context(), nil)
				wantBroken(t, v, err, c.brokenAt, c.reason)
			})
		}
	})
}

// The one cut a key cannot see: the end removed and the head row replaced
// by a copy the attacker kept from when the chain ended there. A head
// recorded outside the database (the bus, metrics, an operator's note)
// shows it; so it does a chain rewritten before it was keyed.
func TestExpectedHeadCatchesReplayAndRewrite(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l, clk, _ := keyedChain(t, db, 3)
		var seq int64
		var hash, keyID, mac string
		if err := db.Q().QueryRowContext(ctx, `SELECT seq, hash, key_id, mac FROM audit_head WHERE id = 1`).Scan(&seq, &hash, &keyID, &mac); err != nil {
			t.Fatal(err)
		}
		sc := actor("dave@example.org", grant(scope.NationalAdmin, "ENG"))
		for i := range 3 {
			clk.Advance(time.Second)
			appendTx(t, db, l, sc, audit.Change{Action: "late.update", ObjectID: fmt.Sprint(i), Org: "RJ1"})
		}
		recorded, err := l.Head(ctx)
		if err != nil || recorded.Seq != 7 || recorded.KeyID != l.KeyID() {
			t.Fatalf("Head = %+v, %v", recorded, err)
		}
		if v, err := l.Check(ctx, audit.VerifyOptions{Expect: &recorded}); err != nil || !v.OK || v.Expected == nil {
			t.Fatalf("chain against its own head: %+v, %v", v, err)
		}
		short := audit.Head{Seq: recorded.Seq, Hash: recorded.Hash[:16]}
		if v, err := l.Check(ctx, audit.VerifyOptions{Expect: &short}); err != nil || !v.OK {
			t.Fatalf("chain against a shortened head: %+v, %v", v, err)
		}
		// Cut entries 5–7 and put back the head row as it was at entry 4.
		exec(t, db, `DELETE FROM audit_log WHERE seq > ?`, seq)
		exec(t, db, `UPDATE audit_head SET seq = ?, hash = ?, key_id = ?, mac = ? WHERE id = 1`, seq, hash, keyID, mac)
		if v, err := l.Verify(ctx, nil); err != nil || !v.OK {
			t.Fatalf("a replayed head row is invisible to the key alone, yet Verify = %+v, %v", v, err)
		}
		v, err := l.Check(ctx, audit.VerifyOptions{Expect: &recorded})
		wantBroken(t, v, err, 5, "the chain ends at entry 4 but entry 7 was recorded earlier")
	})
}

// Unkeyed, an edit re-hashed to the end verifies; the recorded head does not.
func TestExpectedHeadCatchesUnkeyedRewrite(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		l, clk := setup(t, db)
		sc := actor("erin@example.org", grant(scope.NationalAdmin, "ENG"))
		for i := range 5 {
			clk.Advance(time.Second)
			appendTx(t, db, l, sc, audit.Change{Action: "thing.update", ObjectID: fmt.Sprint(i), Org: "RJ1", After: thing{"t", i}})
		}
		recorded, err := l.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		middle := audit.Head{Seq: 3, Hash: entries(t, l)[2].Hash}
		rehash(t, db, l, 2, "", func(e *audit.Entry) { e.After = []byte(`{"name":"forged","count":0}`) })
		if v, err := l.Verify(t.Context(), nil); err != nil || !v.OK || v.Anchoring != "unkeyed" {
			t.Fatalf("an unkeyed chain re-hashed after an edit verifies on its own, yet Verify = %+v, %v", v, err)
		}
		v, err := l.Check(t.Context(), audit.VerifyOptions{Expect: &recorded})
		wantBroken(t, v, err, 5, "not the")
		v, err = l.Check(t.Context(), audit.VerifyOptions{Expect: &middle})
		wantBroken(t, v, err, 3, "the chain has been rewritten since")
	})
}

// A chain begun before the key existed keeps its entries: they verify as
// before, the verifier says where the keyed part starts, and once it has
// started the old entries cannot be rewritten either.
func TestKeyingAnExistingChain(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		old, clk := setup(t, db)
		sc := actor("fred@example.org", grant(scope.NationalAdmin, "ENG"))
		for i := range 3 {
			clk.Advance(time.Second)
			appendTx(t, db, old, sc, audit.Change{Action: "before.key", ObjectID: fmt.Sprint(i), Org: "RJ1", After: thing{"t", i}})
		}
		legacy := entries(t, old)
		key, _ := audit.NewKey()
		l := audit.NewKeyed(db, clk.Now, key)
		if err := l.Anchor(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Anchor(ctx); err != nil { // once only
			t.Fatal(err)
		}
		appendTx(t, db, l, sc, audit.Change{Action: "after.key", Org: "RJ1"})
		v, err := l.Verify(ctx, nil)
		if err != nil || !v.OK || v.Entries != 5 || v.KeyedFrom != 4 || v.Anchoring != "keyed" || !strings.Contains(v.Anchor, "entries 1–3 predate the audit key") {
			t.Fatalf("Verify = %+v, %v", v, err)
		}
		es := entries(t, l)
		for i, e := range legacy {
			if es[i].Hash != e.Hash || es[i].KeyID != "" {
				t.Errorf("entry %d changed when the chain was keyed", e.Seq)
			}
		}
		if es[3].Action != "audit.keyed" || es[3].KeyID != key.ID() || es[3].ObjectID != key.ID() || es[4].KeyID != key.ID() {
			t.Errorf("keyed part: %+v", es[3:])
		}
		// Without the key, the old part still verifies and the rest is named.
		v, err = old.Verify(ctx, nil)
		if !errors.Is(err, audit.ErrNoKey) || v.OK || v.Entries != 3 || v.KeyedFrom != 4 || !strings.Contains(v.Reason, key.ID()) {
			t.Errorf("Verify without the key = %+v, %v", v, err)
		}
		// An old entry edited and re-hashed up to the keyed part breaks it.
		rehash(t, db, l, 2, "", func(e *audit.Entry) { e.After = []byte(`{"name":"forged","count":9}`) })
		exec(t, db, `UPDATE audit_log SET hash = ?, prev_hash = ?, key_id = ? WHERE seq = 4`, es[3].Hash, entries(t, l)[2].Hash, key.ID())
		exec(t, db, `UPDATE audit_head SET hash = ?, key_id = ? WHERE id = 1`, es[4].Hash, key.ID())
		exec(t, db, `UPDATE audit_log SET hash = ?, key_id = ? WHERE seq = 5`, es[4].Hash, key.ID())
		v, err = l.Verify(ctx, nil)
		wantBroken(t, v, err, 4, "its MAC does not match")
		// Another key cannot extend the chain.
		other, _ := audit.NewKey()
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := audit.NewKeyed(db, nil, other).Append(ctx, tx, sc, audit.Change{Action: "x"})
			return err
		})
		if !errors.Is(err, audit.ErrKeyMismatch) {
			t.Errorf("append with another key = %v", err)
		}
	})
}

// Open creates the key file beside the database on the first start, uses
// it afterwards, and refuses to write a chain keyed with another key.
func TestOpenKeyFile(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		dir := t.TempDir()
		file := filepath.Join(dir, "audit.key")
		l, err := audit.Open(ctx, audit.Options{DB: db, KeyFile: file})
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(file)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v, %v", st, err)
		}
		k, err := audit.LoadKeyFile(file)
		if err != nil || k.ID() != l.KeyID() || len(l.KeyID()) != 16 {
			t.Fatalf("key file holds %v (%v), log uses %q", k, err, l.KeyID())
		}
		again, err := audit.Open(ctx, audit.Options{DB: db, KeyFile: file})
		if err != nil || again.KeyID() != l.KeyID() {
			t.Fatalf("second Open: %v %v", again, err)
		}
		if v, err := again.Verify(ctx, nil); err != nil || v.Entries != 1 || v.KeyedFrom != 1 {
			t.Errorf("after two opens: %+v, %v (one audit.keyed entry)", v, err)
		}
		// The same key given as a secret.
		if _, err := audit.Open(ctx, audit.Options{DB: db, Key: strings.TrimSpace(string(k.Encode()))}); err != nil {
			t.Errorf("key as a secret: %v", err)
		}
		// A server with another key, or none, is refused.
		other := filepath.Join(t.TempDir(), "audit.key")
		if _, err := audit.CreateKeyFile(other); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Open(ctx, audit.Options{DB: db, KeyFile: other}); !errors.Is(err, audit.ErrKeyMismatch) || !strings.Contains(err.Error(), l.KeyID()) {
			t.Errorf("Open with another key = %v", err)
		}
		missing := filepath.Join(t.TempDir(), "audit.key")
		if _, err := audit.Open(ctx, audit.Options{DB: db, KeyFile: missing, KeyHint: "--audit-key-file"}); !errors.Is(err, audit.ErrKeyMismatch) || !strings.Contains(err.Error(), "--audit-key-file") {
			t.Errorf("Open without the key = %v", err)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Error("a key was created for a chain already keyed with another")
		}
		// Keys others may read, and bad keys, are refused.
		os.Chmod(file, 0o644)
		if _, err := audit.LoadKeyFile(file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("world-readable key = %v", err)
		}
		if _, err := audit.ParseKey("abc"); err == nil {
			t.Error("short key accepted")
		}
	})
}

func TestParseHead(t *testing.T) {
	h, err := audit.ParseHead(" 12:ABCDEF0123456789ff ")
	if err != nil || h.Seq != 12 || h.Hash != "abcdef0123456789ff" || h.String() != "12:abcdef0123456789ff" {
		t.Errorf("ParseHead = %+v, %v", h, err)
	}
	for _, bad := range []string{"", "12", "0:abcdef0123456789", "x:abcdef0123456789", "12:abc", "12:zzzzzzzzzzzzzzzzzz"} {
		if _, err := audit.ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
}

// PublishHeads sends the head after commits, at most once per interval,
// and always the last one.
func TestPublishHeadsThrottles(t *testing.T) {
	l := audit.New(storetest.SQLite(t, audit.Migrations()), nil)
	got := make(chan audit.Head, 100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go l.PublishHeads(ctx, audit.PublishOptions{MinInterval: 200 * time.Millisecond, Poll: time.Hour,
		Publish: func(_ context.Context, h audit.Head) error { got <- h; return nil }})
	first := <-got
	if first.Seq != 0 {
		t.Fatalf("first head %+v", first)
	}
	start := time.Now()
	for i := range 20 {
		if err := l.Record(ctx, scope.System("t"), audit.Change{Action: "burst", ObjectID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var heads []audit.Head
	deadline := time.After(5 * time.Second)
	for len(heads) == 0 || heads[len(heads)-1].Seq != 20 {
		select {
		case h := <-got:
			heads = append(heads, h)
		case <-deadline:
			t.Fatalf("the last head never came: %+v", heads)
		}
	}
	if len(heads) > 1+int(time.Since(start)/(200*time.Millisecond)) {
		t.Errorf("%d publications in %s: not throttled to one per 200ms", len(heads), time.Since(start))
	}
	want, _ := l.Head(ctx)
	if heads[len(heads)-1] != want {
		t.Errorf("last published %+v, head %+v", heads[len(heads)-1], want)
	}
}

// AppendAll writes what Append would, one entry after another: the chain
// verifies, keyed, and mixes with single appends; the head moves once.
func TestAppendAllKeepsTheChain(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		l, clk, _ := keyedChain(t, db, 2)
		sc := actor("dan@example.org", grant(scope.OrgAdmin, "RJ1"))
		var batch []audit.Actor
		for i := range 450 { // more than one INSERT's worth
			batch = append(batch, audit.Actor{Scope: sc, Change: audit.Change{Action: "alert.create", ObjectType: "alert", ObjectID: fmt.Sprint("a-", i), Org: "RJ1", After: thing{"a", i}}})
		}
		clk.Advance(time.Second)
		var got []audit.Entry
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			var err error
			got, err = l.AppendAll(t.Context(), tx, batch)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		appendTx(t, db, l, sc, audit.Change{Action: "thing.update", ObjectType: "thing", ObjectID: "after", Org: "RJ1"})
		if got[0].Seq != 4 || got[449].Seq != 453 || got[1].PrevHash != got[0].Hash || got[0].KeyID == "" {
			t.Fatalf("entries %d..%d, links %q/%q, key %q", got[0].Seq, got[449].Seq, got[1].PrevHash, got[0].Hash, got[0].KeyID)
		}
		v, err := l.Verify(t.Context(), nil)
		if err != nil || !v.OK || v.Entries != 454 || v.Anchoring != "keyed" {
			t.Fatalf("verify = %+v, %v", v, err)
		}
		h, _ := l.Head(t.Context())
		if h.Seq != 454 {
			t.Fatalf("head %d", h.Seq)
		}
		// An entry written by AppendAll is tamper-evident like any other.
		exec(t, db, db.Rebind(`UPDATE audit_log SET org = 'RJZ' WHERE seq = 200`))
		v, err = l.Verify(t.Context(), nil)
		wantBroken(t, v, err, 200, "")
	})
}
