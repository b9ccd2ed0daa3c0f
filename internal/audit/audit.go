// Package audit keeps Vigil's append-only, hash-chained audit log. Every
// change (who, what, when, from where, before and after) and every export is
// appended in the same transaction as the change itself, so a change without
// its audit entry cannot be committed. Verify walks the chain and reports the
// first broken link.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the audit log's schema.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "audit", FS: sub}
}

// Change describes one change or export to record.
type Change struct {
	// Action is a dotted verb, e.g. "org.create", "user.update", "token.revoke", "export".
	Action     string
	ObjectType string
	ObjectID   string
	// Org is the organisation the object belongs to; it scopes who may read the entry.
	Org    string
	Before any
	After  any
}

// Entry is one link of the chain.
type Entry struct {
	Seq        int64           `json:"seq"`
	At         time.Time       `json:"at"`
	ActorID    string          `json:"actor_id"`
	Actor      string          `json:"actor"`
	Via        string          `json:"via"`
	Remote     string          `json:"remote"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Org        string          `json:"org"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// Log appends to and reads the audit log.
type Log struct {
	db  *store.DB
	now func() time.Time
}

// New returns a Log over db; now is the clock (time.Now when nil).
func New(db *store.DB, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, now: now}
}

func rawJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if r, ok := v.(json.RawMessage); ok {
		return r, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// hashOf is the chain function: SHA-256 over the previous hash and the
// entry's fields, each length-prefixed so no two entries can collide by
// moving bytes between fields.
func hashOf(e *Entry) string {
	h := sha256.New()
	for _, f := range []string{
		e.PrevHash, fmt.Sprint(e.Seq), e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.Actor, e.Via,
		e.Remote, e.Action, e.ObjectType, e.ObjectID, e.Org, string(e.Before), string(e.After),
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Append records c by the caller sc inside tx.
func (l *Log) Append(ctx context.Context, tx *store.Tx, sc scope.Scope, c Change) (Entry, error) {
	before, err := rawJSON(c.Before)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: encode before: %w", err)
	}
	after, err := rawJSON(c.After)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: encode after: %w", err)
	}
	// Bump the head first: on PostgreSQL the UPDATE takes the row lock, so
	// concurrent transactions extend the chain one at a time; on SQLite
	// every transaction already holds the write lock.
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1`); err != nil {
		return Entry{}, fmt.Errorf("audit: lock head: %w", err)
	}
	e := Entry{
		At: l.now().UTC(), ActorID: sc.UserID, Actor: sc.Email, Via: sc.Via, Remote: sc.Remote,
		Action: c.Action, ObjectType: c.ObjectType, ObjectID: c.ObjectID, Org: c.Org,
		Before: before, After: after,
	}
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&e.Seq, &e.PrevHash); err != nil {
		return Entry{}, fmt.Errorf("audit: read head: %w", err)
	}
	e.Hash = hashOf(&e)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor_id, actor, via, remote, action, object_type, object_id, org, before_json, after_json, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.Format(atLayout), e.ActorID, e.Actor, e.Via, e.Remote, e.Action, e.ObjectType, e.ObjectID, e.Org,
		string(e.Before), string(e.After), e.PrevHash, e.Hash); err != nil {
		return Entry{}, fmt.Errorf("audit: append: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = ? WHERE id = 1`, e.Hash); err != nil {
		return Entry{}, fmt.Errorf("audit: move head: %w", err)
	}
	return e, nil
}

// Record appends c in a transaction of its own, for events that change
// nothing else (exports, sign-ins).
func (l *Log) Record(ctx context.Context, sc scope.Scope, c Change) error {
	return l.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := l.Append(ctx, tx, sc, c)
		return err
	})
}

// Filter narrows a listing. Zero fields match everything.
type Filter struct {
	Action string    // prefix, e.g. "org." or "user.create"
	Actor  string    // exact e-mail or actor ID
	Org    string    // exact organisation code
	Object string    // exact object ID
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	// Before is the cursor: only entries with seq < Before (newest first).
	Before int64
	Limit  int
}

// atLayout is how the at column stores times: UTC with all nine fractional
// digits, so that comparing the text compares the times. (RFC3339Nano drops
// trailing zeros, and "09:00:00Z" would sort after "09:00:00.5Z".) The hash
// covers the time itself, not this spelling.
const atLayout = "2006-01-02T15:04:05.000000000Z07:00"

const cols = `seq, at, actor_id, actor, via, remote, action, object_type, object_id, org, before_json, after_json, prev_hash, hash`

// List returns entries the scope may audit, newest first, and the cursor
// for the next page (0 when there is none). Entries about no organisation
// (sign-ins of national users, system events) are visible only to those
// who may audit nationally.
func (l *Log) List(ctx context.Context, sc scope.Scope, f Filter) ([]Entry, int64, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	where, args := sc.Filter("org", scope.Audit)
	if sc.National(scope.Audit) {
		where = "1=1"
		args = nil
	}
	conds := []string{where}
	if f.Action != "" {
		conds = append(conds, "action >= ? AND action < ?")
		args = append(args, f.Action, f.Action+"\x7f")
	}
	if f.Actor != "" {
		conds = append(conds, "(actor = ? OR actor_id = ?)")
		args = append(args, f.Actor, f.Actor)
	}
	if f.Org != "" {
		conds = append(conds, "org = ?")
		args = append(args, f.Org)
	}
	if f.Object != "" {
		conds = append(conds, "object_id = ?")
		args = append(args, f.Object)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, f.Since.UTC().Format(atLayout))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "at < ?")
		args = append(args, f.Until.UTC().Format(atLayout))
	}
	if f.Before > 0 {
		conds = append(conds, "seq < ?")
		args = append(args, f.Before)
	}
	args = append(args, f.Limit+1)
	rows, err := l.db.Q().QueryContext(ctx, `SELECT `+cols+` FROM audit_log WHERE `+strings.Join(conds, " AND ")+` ORDER BY seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].Seq
	}
	return out, next, nil
}

func scan(rows *sql.Rows) (Entry, error) {
	var e Entry
	var at, before, after string
	if err := rows.Scan(&e.Seq, &at, &e.ActorID, &e.Actor, &e.Via, &e.Remote, &e.Action, &e.ObjectType, &e.ObjectID, &e.Org, &before, &after, &e.PrevHash, &e.Hash); err != nil {
		return e, fmt.Errorf("audit: scan: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return e, fmt.Errorf("audit: entry %d: bad time %q", e.Seq, at)
	}
	e.At = t
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return e, nil
}

// Verification is the result of walking the chain.
type Verification struct {
	OK      bool   `json:"ok"`
	Entries int64  `json:"entries"`
	Head    string `json:"head"`
	// BrokenAt is the sequence number of the first entry that does not
	// follow from its predecessor (0 when the chain is whole).
	BrokenAt int64  `json:"broken_at,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// ErrBroken is wrapped by Verify's error when the chain does not hold.
var ErrBroken = errors.New("audit chain broken")

// Verify walks the whole chain in order, recomputing every hash. progress,
// if not nil, is called every 10,000 entries.
func (l *Log) Verify(ctx context.Context, progress func(done int64)) (Verification, error) {
	rows, err := l.db.Q().QueryContext(ctx, `SELECT `+cols+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return Verification{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var v Verification
	prev := ""
	var want int64 = 1
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return v, err
		}
		switch {
		case e.Seq != want:
			v.BrokenAt, v.Reason = want, fmt.Sprintf("entry %d is missing (next present is %d)", want, e.Seq)
		case e.PrevHash != prev:
			v.BrokenAt, v.Reason = e.Seq, fmt.Sprintf("entry %d does not link to entry %d's hash", e.Seq, e.Seq-1)
		case hashOf(&e) != e.Hash:
			v.BrokenAt, v.Reason = e.Seq, fmt.Sprintf("entry %d has been altered: its content does not match its hash", e.Seq)
		}
		if v.BrokenAt != 0 {
			return v, fmt.Errorf("%w at entry %d: %s", ErrBroken, v.BrokenAt, v.Reason)
		}
		prev = e.Hash
		want++
		v.Entries++
		if progress != nil && v.Entries%10000 == 0 {
			progress(v.Entries)
		}
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	var headSeq int64
	var headHash string
	if err := l.db.Q().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return v, fmt.Errorf("audit: read head: %w", err)
	}
	if headSeq != v.Entries || headHash != prev {
		v.BrokenAt, v.Reason = v.Entries+1, fmt.Sprintf("chain head says %d entries ending %.12s but the log has %d ending %.12s (entries removed from the end?)", headSeq, headHash, v.Entries, prev)
		return v, fmt.Errorf("%w: %s", ErrBroken, v.Reason)
	}
	v.OK, v.Head = true, prev
	return v, nil
}
