// Package audit keeps Vigil's append-only, hash-chained audit log. Every
// change (who, what, when, from where, before and after) and every export is
// appended in the same transaction as the change itself, so a change without
// its audit entry cannot be committed. Verify walks the chain and reports the
// first broken link.
//
// The chain is keyed: each entry's hash is an HMAC-SHA-256 made with a key
// kept outside the database (Key), so someone who can write the database
// but not read the key cannot edit an entry and re-hash the rest, nor move
// the head back. Entries written before the key existed keep their plain
// SHA-256 hashes and verify as before; the verifier says where the keyed
// part starts. Cutting entries off the end with a head replayed from the
// past is caught against a head recorded elsewhere: the published head
// (PublishHeads, the metrics) and Check's VerifyOptions.Expect.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"log/slog"
	"strconv"
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
	// KeyID names the audit key whose HMAC Hash is; "" for an entry from
	// before the chain was keyed, whose Hash is a plain SHA-256.
	KeyID string `json:"key_id,omitempty"`
}

// Log appends to and reads the audit log.
type Log struct {
	db  *store.DB
	now func() time.Time
	// key makes the MACs of new entries; nil for an unkeyed log (tests,
	// and a read-only copy whose key is not at hand).
	key *Key
	// changed is signalled after a commit that appended (PublishHeads).
	changed chan struct{}
}

// New returns an unkeyed Log over db; now is the clock (time.Now when
// nil). Vigil itself uses Open, which keys the chain.
func New(db *store.DB, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, now: now, changed: make(chan struct{}, 1)}
}

// NewKeyed returns a Log whose new entries carry MACs made with key.
// Call Anchor before verifying: a keyed log expects its chain to be keyed.
func NewKeyed(db *store.DB, now func() time.Time, key *Key) *Log {
	l := New(db, now)
	l.key = key
	return l
}

// Options configure Open.
type Options struct {
	DB  *store.DB
	Now func() time.Time
	// Key is the audit key itself, in hexadecimal (e.g. from a secret
	// store through the environment); it takes precedence over KeyFile.
	Key string
	// KeyFile holds the key. When it does not exist, the database is
	// writable and the chain is not keyed yet, Open creates it (mode 0600).
	KeyFile string
	// KeyHint tells the operator how to give the key, for messages
	// (e.g. "--audit-key-file or VIGIL_AUDIT_KEY").
	KeyHint string
	Logger  *slog.Logger
}

// ErrKeyMismatch means the chain is keyed with another key than the one
// this process has (or it has none): appending would break the chain.
var ErrKeyMismatch = errors.New("audit key does not match the audit chain")

// ErrNoKey is wrapped by Verify's error when part of the chain is keyed
// with a key the verifier does not have, so that part cannot be checked.
var ErrNoKey = errors.New("audit key not available")

// Open returns the Log of a Vigil process: keyed with the key from
// o.Key or o.KeyFile, creating the key file on the first start, and with
// the keyed part of the chain begun (Anchor). On a read-only database it
// creates and appends nothing: without a key the log can still be read,
// and Verify says what it could not check.
func Open(ctx context.Context, o Options) (*Log, error) {
	if o.DB == nil {
		return nil, errors.New("audit: Options.DB is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	hint := o.KeyHint
	if hint == "" {
		hint = "the audit key file"
	}
	l := New(o.DB, o.Now)
	head, err := l.Head(ctx)
	if err != nil {
		return nil, err
	}
	source := o.KeyFile
	var key *Key
	switch {
	case strings.TrimSpace(o.Key) != "":
		source = "the configured audit key"
		if key, err = ParseKey(o.Key); err != nil {
			return nil, err
		}
	case o.KeyFile != "":
		key, err = loadKeyFile(o.KeyFile, !o.DB.ReadOnly)
		if errors.Is(err, fs.ErrNotExist) {
			key, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if key == nil {
		switch {
		case o.DB.ReadOnly:
			return l, nil
		case head.KeyID != "":
			return nil, fmt.Errorf("%w: the audit chain is keyed with key %s, but there is no key at %s; copy the key file from a server that writes this database, or give it with %s",
				ErrKeyMismatch, head.KeyID, o.KeyFile, hint)
		case o.KeyFile == "":
			return nil, fmt.Errorf("audit: no audit key: give one with %s", hint)
		}
		if key, err = CreateKeyFile(o.KeyFile); err != nil {
			return nil, err
		}
		o.Logger.Info("audit key created", "file", o.KeyFile, "key_id", key.ID())
	}
	l.key = key
	if o.DB.ReadOnly {
		return l, nil
	}
	if head.KeyID != "" && head.KeyID != key.ID() {
		return nil, fmt.Errorf("%w: the audit chain is keyed with key %s, but %s holds key %s; every server writing one database needs the same key (%s)",
			ErrKeyMismatch, head.KeyID, source, key.ID(), hint)
	}
	if err := l.Anchor(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// KeyID is the ID of the log's key, "" when it has none.
func (l *Log) KeyID() string {
	if l.key == nil {
		return ""
	}
	return l.key.id
}

// Anchor begins the keyed part of the chain: when the head is not yet
// keyed, it appends an "audit.keyed" entry, the first with a MAC, which
// also binds every older entry (its MAC covers the previous hash). From
// then on every entry must carry a MAC.
func (l *Log) Anchor(ctx context.Context) error {
	if l.key == nil {
		return nil
	}
	h, err := l.Head(ctx)
	if err != nil {
		return err
	}
	if h.KeyID == l.key.id {
		return nil
	}
	if h.KeyID != "" {
		return fmt.Errorf("%w: the chain is keyed with key %s, this process has key %s", ErrKeyMismatch, h.KeyID, l.key.id)
	}
	return l.Record(ctx, scope.System("vigil"), Change{Action: "audit.keyed", ObjectType: "audit_key", ObjectID: l.key.id,
		After: map[string]any{"key_id": l.key.id, "unkeyed_entries": h.Seq, "unkeyed_head": h.Hash}})
}

// Head is the end of the chain: the last entry's number and hash.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// KeyID is the key the chain is keyed with ("" before it is).
	KeyID string `json:"key_id,omitempty"`
}

// String is "SEQ:HASH", the form ParseHead and `vigil audit verify
// --expect-head` read.
func (h Head) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseHead reads "SEQ:HASH". The hash may be shortened to its first 16
// hexadecimal digits or more.
func ParseHead(s string) (Head, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	hash = strings.ToLower(hash)
	if !ok || err != nil || n <= 0 {
		return Head{}, fmt.Errorf("head %q: want SEQ:HASH, e.g. 1234:9f86d081884c7d65…, as `vigil audit verify` prints it", s)
	}
	if _, err := hex.DecodeString(hash); err != nil || len(hash) < 16 || len(hash) > 64 {
		return Head{}, fmt.Errorf("head %q: the hash must be 16 to 64 hexadecimal digits", s)
	}
	return Head{Seq: n, Hash: hash}, nil
}

// Head returns the chain's head as the database holds it.
func (l *Log) Head(ctx context.Context) (Head, error) {
	var h Head
	if err := l.db.Q().QueryRowContext(ctx, `SELECT seq, hash, key_id FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash, &h.KeyID); err != nil {
		return h, fmt.Errorf("audit: read head: %w", err)
	}
	return h, nil
}

// CallerOrg is the organisation an entry about no one organisation's data
// is filed under — an import or an export of the register: the caller's
// home organisation, so that its auditors see what its users loaded and
// took away (List shows an auditor the entries of its organisations).
// Vigil itself and CLI operators have no home; their entries are national.
func CallerOrg(sc scope.Scope) string { return sc.Home }

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

// hashOf is the chain function over the previous hash and the entry's
// fields, each length-prefixed so no two entries can collide by moving
// bytes between fields. An entry from before the chain was keyed (no
// KeyID) has a plain SHA-256; a keyed one an HMAC-SHA-256 with k, which
// also covers the key's ID. k must be the entry's key.
func hashOf(e *Entry, k *Key) string {
	var h hash.Hash
	if e.KeyID == "" {
		h = sha256.New()
	} else {
		h = hmac.New(sha256.New, k.secret)
		fmt.Fprintf(h, "vigil-audit-v2;%d:%s;", len(e.KeyID), e.KeyID)
	}
	for _, f := range []string{
		e.PrevHash, fmt.Sprint(e.Seq), e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.Actor, e.Via,
		e.Remote, e.Action, e.ObjectType, e.ObjectID, e.Org, string(e.Before), string(e.After),
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// headMAC authenticates the head row, so that it cannot be moved back to
// an earlier entry (cutting the end off) by someone without the key —
// unless they kept a copy of the row from when the chain ended there.
func headMAC(seq int64, hash, keyID string, k *Key) string {
	m := hmac.New(sha256.New, k.secret)
	for _, f := range []string{"vigil-audit-head-v1", strconv.FormatInt(seq, 10), hash, keyID} {
		fmt.Fprintf(m, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// notify tells PublishHeads that the head moved.
func (l *Log) notify() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
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
	var chainKey string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash, key_id FROM audit_head WHERE id = 1`).Scan(&e.Seq, &e.PrevHash, &chainKey); err != nil {
		return Entry{}, fmt.Errorf("audit: read head: %w", err)
	}
	// Once the chain is keyed, only its key may extend it: an entry
	// without a MAC, or with another key's, would break it.
	if chainKey != "" && chainKey != l.KeyID() {
		if l.key == nil {
			return Entry{}, fmt.Errorf("%w: the chain is keyed with key %s and this process has no audit key", ErrKeyMismatch, chainKey)
		}
		return Entry{}, fmt.Errorf("%w: the chain is keyed with key %s, this process has key %s", ErrKeyMismatch, chainKey, l.key.id)
	}
	mac := ""
	if l.key != nil {
		e.KeyID = l.key.id
	}
	e.Hash = hashOf(&e, l.key)
	if l.key != nil {
		mac = headMAC(e.Seq, e.Hash, e.KeyID, l.key)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor_id, actor, via, remote, action, object_type, object_id, org, before_json, after_json, prev_hash, hash, key_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.Format(atLayout), e.ActorID, e.Actor, e.Via, e.Remote, e.Action, e.ObjectType, e.ObjectID, e.Org,
		string(e.Before), string(e.After), e.PrevHash, e.Hash, e.KeyID); err != nil {
		return Entry{}, fmt.Errorf("audit: append: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = ?, key_id = ?, mac = ? WHERE id = 1`, e.Hash, e.KeyID, mac); err != nil {
		return Entry{}, fmt.Errorf("audit: move head: %w", err)
	}
	tx.AfterCommit("audit.head", l.notify)
	return e, nil
}

// Actor pairs a change with who made it, for AppendAll.
type Actor struct {
	Scope  scope.Scope
	Change Change
}

// appendRows is how many entries one INSERT of AppendAll carries (15
// columns: 3,000 parameters, far under both engines' limits).
const appendRows = 200

// AppendAll records several changes inside tx, in order, as Append would
// one by one — the same entries, hashes and head — but with the head read
// and moved once and the entries written in multi-row INSERTs: a batch of
// alert creations pays four statements per batch instead of four per
// entry. It returns the entries.
func (l *Log) AppendAll(ctx context.Context, tx *store.Tx, cs []Actor) ([]Entry, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	out := make([]Entry, len(cs))
	for i, c := range cs {
		before, err := rawJSON(c.Change.Before)
		if err != nil {
			return nil, fmt.Errorf("audit: encode before: %w", err)
		}
		after, err := rawJSON(c.Change.After)
		if err != nil {
			return nil, fmt.Errorf("audit: encode after: %w", err)
		}
		sc := c.Scope
		out[i] = Entry{ActorID: sc.UserID, Actor: sc.Email, Via: sc.Via, Remote: sc.Remote,
			Action: c.Change.Action, ObjectType: c.Change.ObjectType, ObjectID: c.Change.ObjectID, Org: c.Change.Org,
			Before: before, After: after}
	}
	// As in Append: the head is bumped first, which takes the row lock on
	// PostgreSQL (SQLite's transaction holds the write lock already).
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = seq + ? WHERE id = 1`, len(cs)); err != nil {
		return nil, fmt.Errorf("audit: lock head: %w", err)
	}
	var last int64
	var prev, chainKey string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash, key_id FROM audit_head WHERE id = 1`).Scan(&last, &prev, &chainKey); err != nil {
		return nil, fmt.Errorf("audit: read head: %w", err)
	}
	if chainKey != "" && chainKey != l.KeyID() {
		if l.key == nil {
			return nil, fmt.Errorf("%w: the chain is keyed with key %s and this process has no audit key", ErrKeyMismatch, chainKey)
		}
		return nil, fmt.Errorf("%w: the chain is keyed with key %s, this process has key %s", ErrKeyMismatch, chainKey, l.key.id)
	}
	now := l.now().UTC()
	seq := last - int64(len(cs))
	for i := range out {
		e := &out[i]
		seq++
		e.Seq, e.At, e.PrevHash = seq, now, prev
		if l.key != nil {
			e.KeyID = l.key.id
		}
		e.Hash = hashOf(e, l.key)
		prev = e.Hash
	}
	const rowPH = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	args := make([]any, 0, appendRows*15)
	for start := 0; start < len(out); start += appendRows {
		end := min(start+appendRows, len(out))
		args = args[:0]
		for _, e := range out[start:end] {
			args = append(args, e.Seq, e.At.Format(atLayout), e.ActorID, e.Actor, e.Via, e.Remote, e.Action, e.ObjectType, e.ObjectID, e.Org,
				string(e.Before), string(e.After), e.PrevHash, e.Hash, e.KeyID)
		}
		q := `INSERT INTO audit_log (seq, at, actor_id, actor, via, remote, action, object_type, object_id, org, before_json, after_json, prev_hash, hash, key_id) VALUES ` +
			strings.TrimSuffix(strings.Repeat(rowPH+", ", end-start), ", ")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return nil, fmt.Errorf("audit: append: %w", err)
		}
	}
	mac := ""
	if l.key != nil {
		mac = headMAC(last, prev, l.key.id, l.key)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = ?, key_id = ?, mac = ? WHERE id = 1`, prev, l.KeyID(), mac); err != nil {
		return nil, fmt.Errorf("audit: move head: %w", err)
	}
	tx.AfterCommit("audit.head", l.notify)
	return out, nil
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

const cols = `seq, at, actor_id, actor, via, remote, action, object_type, object_id, org, before_json, after_json, prev_hash, hash, key_id`

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
	if err := rows.Scan(&e.Seq, &at, &e.ActorID, &e.Actor, &e.Via, &e.Remote, &e.Action, &e.ObjectType, &e.ObjectID, &e.Org, &before, &after, &e.PrevHash, &e.Hash, &e.KeyID); err != nil {
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
	// Anchoring is "keyed" when entries carry MACs made with an audit key
	// kept outside the database (from KeyedFrom on; the MAC of that entry
	// covers all older ones), or "unkeyed" for a plain SHA-256 chain,
	// which anyone who can write the database could rewrite.
	Anchoring string `json:"anchoring"`
	KeyedFrom int64  `json:"keyed_from,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
	// Anchor says the same for people.
	Anchor string `json:"anchor"`
	// Expected is the head the chain was checked against, when one was
	// given (a head recorded elsewhere earlier); the chain holds it when OK.
	Expected *Head `json:"expected,omitempty"`
}

// ErrBroken is wrapped by Verify's error when the chain does not hold.
var ErrBroken = errors.New("audit chain broken")

// VerifyOptions tune Check.
type VerifyOptions struct {
	// Progress, if not nil, is called every 10,000 entries.
	Progress func(done int64)
	// Expect, if not nil, is a head recorded earlier outside the database
	// (from the bus, the metrics or an operator's notes): the chain must
	// hold entry Expect.Seq with hash Expect.Hash (or a hash starting with
	// it). This catches what no key can: the end cut off and the head row
	// replaced by a copy taken when the chain ended there.
	Expect *Head
}

// Verify walks the whole chain in order, recomputing every hash. progress,
// if not nil, is called every 10,000 entries.
func (l *Log) Verify(ctx context.Context, progress func(done int64)) (Verification, error) {
	return l.Check(ctx, VerifyOptions{Progress: progress})
}

// Check is Verify with options. Its error wraps ErrBroken when the chain
// does not hold (BrokenAt and Reason say where and why) and ErrNoKey when
// a keyed part cannot be checked for want of its key.
func (l *Log) Check(ctx context.Context, o VerifyOptions) (v Verification, err error) {
	v.Anchoring = "unkeyed"
	v.Expected = o.Expect
	defer func() { v.Anchor = v.anchorText(l) }()
	rows, err := l.db.Q().QueryContext(ctx, `SELECT `+cols+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return v, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	broken := func(at int64, format string, a ...any) (Verification, error) {
		v.BrokenAt, v.Reason = at, fmt.Sprintf(format, a...)
		return v, fmt.Errorf("%w at entry %d: %s", ErrBroken, v.BrokenAt, v.Reason)
	}
	prev := ""
	var want int64 = 1
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return v, err
		}
		switch {
		case e.Seq != want:
			return broken(want, "entry %d is missing (next present is %d)", want, e.Seq)
		case e.PrevHash != prev:
			return broken(e.Seq, "entry %d does not link to entry %d's hash", e.Seq, e.Seq-1)
		case e.KeyID == "" && v.KeyedFrom != 0:
			return broken(e.Seq, "entry %d has no MAC although the chain is keyed from entry %d: it was written or rewritten without the audit key", e.Seq, v.KeyedFrom)
		}
		if e.KeyID != "" {
			if v.KeyedFrom == 0 {
				v.KeyedFrom, v.KeyID, v.Anchoring = e.Seq, e.KeyID, "keyed"
			}
			if l.key == nil || l.key.id != e.KeyID {
				v.Reason = fmt.Sprintf("entry %d on carry MACs made with audit key %s, which this vigil does not have: give it that key to check them (entries before it verify)", e.Seq, e.KeyID)
				return v, fmt.Errorf("%w: %s", ErrNoKey, v.Reason)
			}
		}
		if hashOf(&e, l.key) != e.Hash {
			if e.KeyID != "" {
				return broken(e.Seq, "entry %d has been altered: its MAC does not match its content (it was changed without the audit key)", e.Seq)
			}
			return broken(e.Seq, "entry %d has been altered: its content does not match its hash", e.Seq)
		}
		if o.Expect != nil && e.Seq == o.Expect.Seq && !strings.HasPrefix(e.Hash, strings.ToLower(o.Expect.Hash)) {
			return broken(e.Seq, "entry %d has hash %.16s…, not the %.16s… recorded for it: the chain has been rewritten since", e.Seq, e.Hash, o.Expect.Hash)
		}
		prev = e.Hash
		want++
		v.Entries++
		if o.Progress != nil && v.Entries%10000 == 0 {
			o.Progress(v.Entries)
		}
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	var headSeq int64
	var headHash, headKey, mac string
	if err := l.db.Q().QueryRowContext(ctx, `SELECT seq, hash, key_id, mac FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash, &headKey, &mac); err != nil {
		return v, fmt.Errorf("audit: read head: %w", err)
	}
	if headSeq != v.Entries || headHash != prev {
		v.BrokenAt, v.Reason = v.Entries+1, fmt.Sprintf("chain head says %d entries ending %.12s but the log has %d ending %.12s (entries removed from the end?)", headSeq, headHash, v.Entries, prev)
		return v, fmt.Errorf("%w: %s", ErrBroken, v.Reason)
	}
	switch {
	case o.Expect != nil && o.Expect.Seq > v.Entries:
		v.BrokenAt, v.Reason = v.Entries+1, fmt.Sprintf("the chain ends at entry %d but entry %d was recorded earlier (%.16s…): entries were removed from the end", v.Entries, o.Expect.Seq, o.Expect.Hash)
		return v, fmt.Errorf("%w: %s", ErrBroken, v.Reason)
	case v.KeyedFrom != 0 && (headKey != v.KeyID || !hmac.Equal([]byte(mac), []byte(headMAC(headSeq, headHash, headKey, l.key)))):
		v.BrokenAt, v.Reason = v.Entries+1, fmt.Sprintf("the chain head (entry %d) was moved without the audit key: entries after it were removed (or the head row was replaced)", headSeq)
		return v, fmt.Errorf("%w: %s", ErrBroken, v.Reason)
	case v.KeyedFrom == 0 && l.key != nil:
		// Vigil keys the chain as soon as the key exists (Open appends
		// audit.keyed), so a key with no keyed entry means the keyed part
		// was cut off or rewritten as plain SHA-256.
		v.BrokenAt, v.Reason = v.Entries+1, fmt.Sprintf("audit key %s exists but no entry carries a MAC: the keyed part of the chain has been removed or rewritten without the key", l.key.id)
		return v, fmt.Errorf("%w: %s", ErrBroken, v.Reason)
	}
	v.OK, v.Head = true, prev
	return v, nil
}

// anchorText says in a sentence what protects the chain.
func (v Verification) anchorText(l *Log) string {
	switch {
	case v.KeyedFrom == 0 && l.key == nil:
		return "Unkeyed: plain SHA-256 hashes, which anyone who can write the database could recompute. Vigil keys the chain when it next starts with a writable database."
	case v.KeyedFrom == 0:
		return fmt.Sprintf("Not keyed, although audit key %s exists.", l.key.id)
	case v.KeyedFrom == 1:
		return fmt.Sprintf("Keyed: every entry carries an HMAC-SHA-256 made with audit key %s, kept outside the database.", v.KeyID)
	default:
		return fmt.Sprintf("Keyed from entry %d: entries 1–%d predate the audit key and have plain SHA-256 hashes; from entry %d every entry carries an HMAC-SHA-256 made with audit key %s, kept outside the database, which also binds the entries before it.",
			v.KeyedFrom, v.KeyedFrom-1, v.KeyedFrom, v.KeyID)
	}
}
