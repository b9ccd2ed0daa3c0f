package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-health/vigil/internal/store"
)

// Sign-in throttling follows OWASP's Authentication and Credential
// Stuffing cheat sheets: limits per account that follow the account
// across addresses, per account and address, and per address, plus
// "device cookies" (OWASP, "Slow Down Online Guessing Attacks with Device
// Cookies") so that a browser which has signed in to an account before is
// not locked out by someone else's failures.
//
// Every password attempt takes one unit from each bucket it belongs to
// before the password is checked, all or none; the attempt is refused,
// without checking anything, if any bucket is full. A leaky bucket
// drains at one unit per Limit.Every, so a Limit allows Burst attempts
// at once and then one per Every. A success empties the account's
// buckets (but only gives back its own unit to the address: one valid
// account must not reset an address that is spraying others).
//
// Buckets an attempt belongs to:
//
//   - from a browser without a device cookie for the account (untrusted):
//     the account (from anywhere), the account at this address, and the
//     address;
//   - from a browser with the account's device cookie (trusted): that
//     device only. An attacker elsewhere can then fill the account's
//     bucket — the price of stopping distributed guessing — and the
//     people who use the account from their usual browsers are not
//     locked out by it.
//
// The buckets live in the database (signin_throttle), so every server on
// one PostgreSQL enforces the same limits, and they are taken atomically
// in one transaction, so concurrent attempts cannot all slip past a limit
// before any of them is counted. Keys are SHA-256 hashes: the table never
// holds e-mail addresses, or passwords typed into the e-mail field.

// Limit is a leaky bucket: Burst attempts at once, then one per Every.
type Limit struct {
	Burst int
	Every time.Duration
}

func (l Limit) valid() bool { return l.Burst > 0 && l.Every > 0 }

// SignInLimits are the sign-in limits. Zero fields take their defaults.
type SignInLimits struct {
	// Account limits untrusted attempts on one account, from every
	// address together.
	Account Limit
	// AccountAddress limits untrusted attempts on one account from one
	// address.
	AccountAddress Limit
	// Address limits untrusted attempts on any accounts from one address
	// (an IPv6 address counts by its /64): password spraying.
	Address Limit
	// Device limits attempts on one account from a browser with its device
	// cookie.
	Device Limit
}

// DefaultSignInLimits are the limits a server runs with.
//
//   - AccountAddress 5, then one per 2 minutes: someone with caps lock on
//     gets five tries at their desk. It drains more slowly (one every two
//     minutes) than the account's bucket (one a minute), so one address,
//     however long it keeps guessing, can never fill the account's bucket
//     and lock the account for everyone else; it takes several addresses.
//   - Account 20, then one a minute: at most about 1,460 guesses a day at
//     one account however many addresses an attacker has (the old limit
//     allowed 2,880), while fat fingers at two or three desks still fit.
//   - Address 100, then one per 30 s: a whole hospital behind one NAT
//     address can make a hundred mistakes at once and 120 an hour; a
//     sprayer gets 100 accounts and then 2,880 a day from that address,
//     each of them also recorded in the audit log.
//   - Device 5, then one per 2 minutes: one person at one browser, as for
//     an account at an address.
func DefaultSignInLimits() SignInLimits {
	return SignInLimits{
		Account:        Limit{Burst: 20, Every: time.Minute},
		AccountAddress: Limit{Burst: 5, Every: 2 * time.Minute},
		Address:        Limit{Burst: 100, Every: 30 * time.Second},
		Device:         Limit{Burst: 5, Every: 2 * time.Minute},
	}
}

func (l SignInLimits) withDefaults() SignInLimits {
	d := DefaultSignInLimits()
	for _, f := range []struct{ l, d *Limit }{{&l.Account, &d.Account}, {&l.AccountAddress, &d.AccountAddress}, {&l.Address, &d.Address}, {&l.Device, &d.Device}} {
		if *f.l == (Limit{}) {
			*f.l = *f.d
		}
	}
	return l
}

func (l SignInLimits) validate() error {
	for name, x := range map[string]Limit{"Account": l.Account, "AccountAddress": l.AccountAddress, "Address": l.Address, "Device": l.Device} {
		if !x.valid() {
			return fmt.Errorf("auth: Options.Limits.%s: Burst and Every must be positive, got %d and %s", name, x.Burst, x.Every)
		}
	}
	return nil
}

// longest is the time the fullest bucket takes to drain: a row untouched
// for longer is empty and may be deleted.
func (l SignInLimits) longest() time.Duration {
	var d time.Duration
	for _, x := range []Limit{l.Account, l.AccountAddress, l.Address, l.Device} {
		d = max(d, time.Duration(x.Burst)*x.Every)
	}
	return d
}

// bucket is one bucket an attempt belongs to.
type bucket struct {
	kind  string // "account", "account-address", "address", "device": what the audit log names
	key   string // hash stored in signin_throttle
	limit Limit
}

func throttleKey(parts ...string) string { return sha(strings.Join(parts, "\x00")) }

// addressKey is the part of a remote address that identifies a sender: an
// IPv4 address, or the /64 of an IPv6 one (a host is handed a whole /64
// and may use any address in it).
func addressKey(remote string) string {
	a, err := netip.ParseAddr(remote)
	if err != nil {
		return remote
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// buckets returns the buckets of an attempt on email from remote;
// deviceHash is the hash of a device cookie trusted for the account, or "".
func (l SignInLimits) buckets(email, remote, deviceHash string) []bucket {
	if deviceHash != "" {
		return []bucket{{"device", throttleKey("device", deviceHash), l.Device}}
	}
	addr := addressKey(remote)
	return []bucket{
		{"account", throttleKey("account", email), l.Account},
		{"account-address", throttleKey("account-address", email, addr), l.AccountAddress},
		{"address", throttleKey("address", addr), l.Address},
	}
}

// throttle keeps the buckets in the signin_throttle table.
type throttle struct {
	db        *store.DB
	log       *slog.Logger
	limits    SignInLimits
	lastSweep atomic.Int64 // unix nanos
}

// errFull rolls back a take that found a full bucket.
var errFull = errors.New("bucket full")

// epsilon absorbs floating-point error in the drained level, so that an
// attempt exactly one Every after a bucket filled is allowed.
const epsilon = 1e-6

// take puts one unit in every bucket of bs, or in none. When a bucket is
// full it returns that bucket's kind and how long until it has room.
func (t *throttle) take(ctx context.Context, now time.Time, bs []bucket) (full string, wait time.Duration, err error) {
	bs = append([]bucket(nil), bs...)
	// One order for every transaction, so two attempts never wait on each
	// other's rows in opposite orders (a deadlock on PostgreSQL).
	sort.Slice(bs, func(i, j int) bool { return bs[i].key < bs[j].key })
	at := now.UnixMilli()
	err = t.db.InTx(ctx, func(tx *store.Tx) error {
		for _, b := range bs {
			// level is the attempts not yet drained as of at_ms; it drains
			// at one per Every. A clock behind the row's (another server's)
			// drains nothing rather than adding. One statement for both
			// engines: the upsert locks the row (PostgreSQL) or the
			// database (SQLite) until the transaction ends.
			var level float64
			every := float64(b.limit.Every.Milliseconds())
			err := tx.QueryRowContext(ctx, `INSERT INTO signin_throttle (bucket, level, at_ms) VALUES (?, 1, ?)
				ON CONFLICT (bucket) DO UPDATE SET
					level = 1 + CASE
						WHEN excluded.at_ms <= signin_throttle.at_ms THEN signin_throttle.level
						WHEN signin_throttle.level - (excluded.at_ms - signin_throttle.at_ms) / CAST(? AS DOUBLE PRECISION) > 0
							THEN signin_throttle.level - (excluded.at_ms - signin_throttle.at_ms) / CAST(? AS DOUBLE PRECISION)
						ELSE 0 END,
					at_ms = CASE WHEN excluded.at_ms > signin_throttle.at_ms THEN excluded.at_ms ELSE signin_throttle.at_ms END
				RETURNING level`, b.key, at, every, every).Scan(&level)
			if err != nil {
				return fmt.Errorf("auth: sign-in throttle: %w", err)
			}
			if over := level - float64(b.limit.Burst); over > epsilon {
				full, wait = b.kind, time.Duration(over*float64(b.limit.Every))
				return errFull
			}
		}
		return nil
	})
	if errors.Is(err, errFull) {
		return full, wait, nil
	}
	t.maybeSweep(ctx, now)
	return "", 0, err
}

// give takes one unit back out of each bucket, when the attempt it was
// taken for is not to count: the password was never checked (the server
// was busy), or the address of a successful sign-in.
func (t *throttle) give(ctx context.Context, bs []bucket) error {
	for _, b := range bs {
		if _, err := t.db.Q().ExecContext(ctx, `UPDATE signin_throttle SET level = CASE WHEN level > 1 THEN level - 1 ELSE 0 END WHERE bucket = ?`, b.key); err != nil {
			return fmt.Errorf("auth: sign-in throttle: %w", err)
		}
	}
	return nil
}

// reset empties the buckets.
func (t *throttle) reset(ctx context.Context, bs []bucket) error {
	if len(bs) == 0 {
		return nil
	}
	keys := make([]any, len(bs))
	for i, b := range bs {
		keys[i] = b.key
	}
	if _, err := t.db.Q().ExecContext(ctx, `DELETE FROM signin_throttle WHERE bucket IN (`+store.Placeholders(len(keys))+`)`, keys...); err != nil {
		return fmt.Errorf("auth: sign-in throttle: %w", err)
	}
	return nil
}

// maybeSweep deletes, at most once a minute per process, buckets that have
// drained, so a spray of made-up e-mail addresses does not grow the table
// for ever.
func (t *throttle) maybeSweep(ctx context.Context, now time.Time) {
	last := t.lastSweep.Load()
	if now.UnixNano()-last < int64(time.Minute) || !t.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	cutoff := now.Add(-t.limits.longest()).UnixMilli()
	// Best effort: a failed sweep leaves drained rows, which cost nothing
	// but space, for the next one.
	if _, err := t.db.Q().ExecContext(ctx, `DELETE FROM signin_throttle WHERE at_ms < ?`, cutoff); err != nil {
		t.log.Warn("sweep sign-in throttle", "err", err)
	}
}
