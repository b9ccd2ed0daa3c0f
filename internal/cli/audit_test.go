package cli

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// legacyHash is the audit chain function before the audit key: plain
// SHA-256 over the length-prefixed fields, which anyone who can write the
// database can recompute.
func legacyHash(prev string, seq int64, at time.Time, fields ...string) string {
	h := sha256.New()
	for _, f := range append([]string{prev, fmt.Sprint(seq), at.UTC().Format(time.RFC3339Nano)}, fields...) {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rewriteFrom edits entry `from`'s actor and recomputes every hash after
// it with the plain function, as someone with the database but without the
// audit key would, fixing the head row so the links hold.
func rewriteFrom(t *testing.T, db *sql.DB, from int64) {
	t.Helper()
	rows, err := db.Query(`SELECT seq, at, actor_id, actor, via, remote, action, object_type, object_id, org, before_json, after_json, prev_hash FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq int64
		at  time.Time
		f   [10]string
	}
	var rs []row
	prevs := map[int64]string{}
	for rows.Next() {
		var r row
		var at, prev string
		if err := rows.Scan(&r.seq, &at, &r.f[0], &r.f[1], &r.f[2], &r.f[3], &r.f[4], &r.f[5], &r.f[6], &r.f[7], &r.f[8], &r.f[9], &prev); err != nil {
			t.Fatal(err)
		}
		r.at, _ = time.Parse(time.RFC3339Nano, at)
		prevs[r.seq] = prev
		rs = append(rs, r)
	}
	rows.Close()
	prev := prevs[from]
	for _, r := range rs {
		if r.seq < from {
			continue
		}
		if r.seq == from {
			r.f[1] = "mallory@example.org"
		}
		hash := legacyHash(prev, r.seq, r.at, r.f[:]...)
		if _, err := db.Exec(`UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ?, key_id = '' WHERE seq = ?`, r.f[1], prev, hash, r.seq); err != nil {
			t.Fatal(err)
		}
		prev = hash
	}
	if _, err := db.Exec(`UPDATE audit_head SET hash = ?, key_id = '', mac = '' WHERE id = 1`, prev); err != nil {
		t.Fatal(err)
	}
}

var headRE = regexp.MustCompile(`head (\d+):([0-9a-f]{64})`)

// TestAuditVerifyCatchesCutsAndRewrites plays the attacker with database
// access against a data directory made by the CLI: cutting the end off
// (with the head row fixed) and editing an entry then re-hashing the rest.
// `vigil audit verify` refuses both on its own (the chain is keyed with
// the key in the data directory), and --expect-head with a head recorded
// before refuses them too — and also the cut with a replayed head row,
// which no key can see.
func TestAuditVerifyCatchesCutsAndRewrites(t *testing.T) {
	src := t.TempDir()
	must(t, run(t, "demo password for tests\n", nil, "--data-dir", src, "demo", "--password-stdin"))
	for i := range 3 {
		must(t, run(t, "", nil, "--data-dir", src, "orgs", "create", "--ods", fmt.Sprintf("ZZ%d", i), "--name", "Late supplier", "--type", "supplier"))
	}
	r := must(t, run(t, "", nil, "--data-dir", src, "audit", "verify"))
	m := headRE.FindStringSubmatch(r.stdout)
	if !strings.Contains(r.stdout, "audit chain OK") || m == nil || !strings.Contains(r.stdout, "anchoring: Keyed") {
		t.Fatalf("verify: %s", r.stdout)
	}
	recorded := m[1] + ":" + m[2]
	var n int64
	fmt.Sscan(m[1], &n)
	r = must(t, run(t, "", nil, "--data-dir", src, "audit", "verify", "--expect-head", recorded))
	if !strings.Contains(r.stdout, "holds the expected head "+m[1]) {
		t.Errorf("verify against its own head: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", src, "audit", "verify", "--expect-head", m[1]+":"+m[2][:16]))
	if r := run(t, "", nil, "--data-dir", src, "audit", "verify", "--expect-head", "nonsense"); r.code != 2 || !strings.Contains(r.stderr, "SEQ:HASH") {
		t.Errorf("bad --expect-head: %d %s", r.code, r.stderr)
	}

	attacks := []struct {
		name string
		// tamper changes the copy in dir and returns the head recorded
		// outside the database before it did.
		tamper func(t *testing.T, dir string) string
		// alone: what verify says without --expect-head ("" = it passes).
		alone, expect string
	}{
		{"end cut, head row fixed", func(t *testing.T, dir string) string {
			db := openDB(t, dir)
			defer db.Close()
			db.Exec(`DELETE FROM audit_log WHERE seq > ?`, n-2)
			db.Exec(`UPDATE audit_head SET seq = ?, hash = (SELECT hash FROM audit_log WHERE seq = ?) WHERE id = 1`, n-2, n-2)
			return recorded
		}, "moved without the audit key", "entries were removed from the end"},
		{"entry edited, the rest re-hashed", func(t *testing.T, dir string) string {
			db := openDB(t, dir)
			defer db.Close()
			rewriteFrom(t, db, n-5)
			return recorded
		}, "has no MAC although the chain is keyed", "has no MAC although the chain is keyed"},
		{"end cut, head row replayed", func(t *testing.T, dir string) string {
			// The attacker keeps the head row, Vigil appends, the
			// collector records the new head; then the attacker cuts
			// the new entry and puts the old row back.
			db := openDB(t, dir)
			var seq int64
			var hash, key, mac string
			db.QueryRow(`SELECT seq, hash, key_id, mac FROM audit_head`).Scan(&seq, &hash, &key, &mac)
			db.Close()
			must(t, run(t, "", nil, "--data-dir", dir, "orgs", "create", "--ods", "ZZX", "--name", "Another", "--type", "supplier"))
			m := headRE.FindStringSubmatch(must(t, run(t, "", nil, "--data-dir", dir, "audit", "verify")).stdout)
			db = openDB(t, dir)
			defer db.Close()
			db.Exec(`DELETE FROM audit_log WHERE seq > ?`, seq)
			db.Exec(`UPDATE audit_head SET seq = ?, hash = ?, key_id = ?, mac = ? WHERE id = 1`, seq, hash, key, mac)
			return m[1] + ":" + m[2]
		}, "", "entries were removed from the end"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			cpA(t, src, dir)
			expect := a.tamper(t, dir)
			r := run(t, "", nil, "--data-dir", dir, "audit", "verify")
			if a.alone == "" && (r.code != 0 || !strings.Contains(r.stdout, "audit chain OK")) {
				t.Errorf("verify without the recorded head: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if a.alone != "" && (r.code != 1 || !strings.Contains(r.stdout, "BROKEN") || !strings.Contains(r.stdout, a.alone)) {
				t.Errorf("verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			r = run(t, "", nil, "--data-dir", dir, "audit", "verify", "--expect-head", expect)
			if r.code != 1 || !strings.Contains(r.stdout, "BROKEN") || !strings.Contains(r.stdout, a.expect) {
				t.Errorf("verify --expect-head %s: exit %d\n%s%s", expect, r.code, r.stdout, r.stderr)
			}
		})
	}
}

func openDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestAuditListInWords: `vigil audit list` says what each entry records in
// the same words as the web audit page (audit.Describe), with names.
func TestAuditListInWords(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "", nil, "--data-dir", dir, "demo"))
	must(t, run(t, "", nil, "--data-dir", dir, "users", "grant", "kim.kings@demo.vigil.invalid", "org-analyst", "RJ1"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "audit", "list", "--limit", "5"))
	for _, want := range []string{"WHAT", "(command line) granted org-analyst on ", " (RJ1) to Kim King's (demo)", "user.grant"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit list lacks %q:\n%s", want, r.stdout)
		}
	}
}
