package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/scope"
)

// A whole hospital can sit behind one NAT address: one person's failures
// (or an attacker's, for one account) must not lock everybody else behind
// that address out. Default limits, as a server runs them.
func TestSignInFailuresForOneAccountDoNotLockOutTheAddress(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "amber quarry lighthouse"
		alice := e.add(t, "alice@example.org", scope.OrgAnalyst, "RJ1", pw)
		e.add(t, "mallory@example.org", scope.OrgAnalyst, "RJZ", "harbour nettle quasar")
		throttled := 0
		for i := range 12 {
			_, err := e.auth.Authenticate(ctx, "mallory@example.org", fmt.Sprintf("guess %d", i), "10.0.0.1")
			switch {
			case errors.Is(err, auth.ErrThrottled):
				throttled++
			case !errors.Is(err, auth.ErrBadCredentials):
				t.Fatalf("guess %d for mallory = %v", i+1, err)
			}
		}
		if throttled == 0 {
			t.Error("12 wrong passwords for one account from one address were never throttled")
		}
		if id, err := e.auth.Authenticate(ctx, "alice@example.org", pw, "10.0.0.1"); err != nil || id != alice.ID {
			t.Fatalf("alice from the same address after mallory's failures = %q, %v; want signed in", id, err)
		}
	})
}

// Guessing one account's password is throttled however many addresses the
// guesses come from: the account's limit follows it.
func TestSignInGuessingOneAccountFromManyAddressesIsThrottled(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "amber quarry lighthouse"
		e.add(t, "alice@example.org", scope.OrgAnalyst, "RJ1", pw)
		attempts := 0
		for i := range 60 {
			_, err := e.auth.Authenticate(ctx, "alice@example.org", "guess", fmt.Sprintf("203.0.113.%d", i+1))
			if errors.Is(err, auth.ErrThrottled) {
				break
			}
			if !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("guess %d = %v", i+1, err)
			}
			attempts++
		}
		if attempts >= 60 {
			t.Fatalf("60 guesses from 60 addresses were never throttled")
		}
		// A fresh address gets no fresh allowance, even with the right password.
		if _, err := e.auth.Authenticate(ctx, "alice@example.org", pw, "198.51.100.200"); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("after %d guesses from as many addresses, the right password from a new address = %v; want ErrThrottled", attempts, err)
		}
	})
}

// Spraying one password over many accounts from one address is throttled
// by the address's limit, and only there.
func TestSignInSprayingFromOneAddressIsThrottled(t *testing.T) {
	limits := func(now func() time.Time) auth.Options {
		l := auth.DefaultSignInLimits()
		l.Address = auth.Limit{Burst: 6, Every: time.Minute}
		return auth.Options{Now: now, Limits: l}
	}
	eachWith(t, limits, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "cobalt meadow trellis"
		dave := e.add(t, "dave@example.org", scope.OrgAnalyst, "RJ1", pw)
		for i := range 6 {
			who := fmt.Sprintf("user%d@example.org", i)
			if i%2 == 0 {
				e.add(t, who, scope.OrgAnalyst, "RJZ", "someone elses password")
			}
			if _, err := e.auth.Authenticate(ctx, who, "Winter2025!", "198.51.100.9"); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("spray %d (%s) = %v", i+1, who, err)
			}
		}
		if _, err := e.auth.Authenticate(ctx, "dave@example.org", pw, "198.51.100.9"); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("after a spray of 6 accounts, dave from the spraying address = %v, want ErrThrottled", err)
		}
		if id, err := e.auth.Authenticate(ctx, "dave@example.org", pw, "198.51.100.10"); err != nil || id != dave.ID {
			t.Errorf("dave from another address = %q, %v", id, err)
		}
		// The limit leaks away: one attempt a minute comes back.
		e.clk.Advance(time.Minute)
		if id, err := e.auth.Authenticate(ctx, "dave@example.org", pw, "198.51.100.9"); err != nil || id != dave.ID {
			t.Errorf("a minute later = %q, %v", id, err)
		}
		// IPv6 addresses of one /64 are one address: a host picks any of them.
		for i := range 6 {
			e.auth.Authenticate(ctx, fmt.Sprintf("v6user%d@example.org", i), "Winter2025!", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		}
		if _, err := e.auth.Authenticate(ctx, "dave@example.org", pw, "2001:db8:1:2:ffff::1"); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("a spray across one IPv6 /64 = %v, want ErrThrottled", err)
		}
	})
}

// A browser that signed in to an account before carries a device cookie
// (OWASP "device cookies"): someone else's failures on that account, from
// anywhere, do not lock it out; failures with the cookie are limited on the
// cookie itself.
func TestSignInTrustedDeviceIsNotLockedOutByOthers(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "amber quarry lighthouse"
		alice := e.add(t, "alice@example.org", scope.OrgAnalyst, "RJ1", pw)
		in, err := e.auth.SignIn(ctx, auth.SignInAttempt{Email: "alice@example.org", Password: pw, Remote: "10.0.0.1"})
		if err != nil || in.UserID != alice.ID || in.Device == "" {
			t.Fatalf("first sign-in = %+v, %v; want alice with a new device secret", in, err)
		}
		device := in.Device
		// Another sign-in with the cookie keeps it.
		if in, err := e.auth.SignIn(ctx, auth.SignInAttempt{Email: "alice@example.org", Password: pw, Remote: "10.0.0.1", Device: device}); err != nil || in.Device != "" {
			t.Fatalf("sign-in with the device cookie = %+v, %v; want no new device", in, err)
		}
		// An attacker locks the account for browsers it does not know.
		for i := range 60 {
			if _, err := e.auth.Authenticate(ctx, "alice@example.org", "guess", fmt.Sprintf("203.0.113.%d", i+1)); errors.Is(err, auth.ErrThrottled) {
				break
			}
		}
		if _, err := e.auth.SignIn(ctx, auth.SignInAttempt{Email: "alice@example.org", Password: pw, Remote: "10.0.0.1"}); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("without the cookie after the attack = %v, want ErrThrottled", err)
		}
		// Her own browser still signs in, even with a typo first.
		if _, err := e.auth.SignIn(ctx, auth.SignInAttempt{Email: "alice@example.org", Password: "typo", Remote: "10.0.0.1", Device: device}); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("typo with the device cookie = %v, want ErrBadCredentials", err)
		}
		if in, err := e.auth.SignIn(ctx, auth.SignInAttempt{Email: "alice@example.org", Password: pw, Remote: "10.0.0.1", Device: device}); err != nil || in.UserID != alice.ID {
			t.Errorf("with the device cookie after the attack = %+v, %v; want signed in", in, err)
		}
		// The cookie is alice's: it lends nothing to another account…
		e.add(t, "bob@example.org", scope.OrgAnalyst, "RJ1", "saffron piston glacier")
		for range 60 {
			if _, err := e.auth.Authenticate(ctx, "bob@example.org", "guess", "198.51.100.1"); errors.Is(err, auth.ErrThrottled) {
				break
			}
		}
		if _, err := e.auth.SignIn(ctx, auth.SignInAttempt{Email: "bob@example.org", Password: "saffron piston glacier", Remote: "198.51.100.1", Device: device}); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("alice's device cookie used for bob = %v, want ErrThrottled", err)
		}
		// …and guesses with it are limited on the cookie.
		limited := false
		for i := range 30 {
			if _, err := e.auth.SignIn(ctx, auth.SignInAttempt{Email: "alice@example.org", Password: fmt.Sprint("guess ", i), Remote: "10.0.0.1", Device: device}); errors.Is(err, auth.ErrThrottled) {
				limited = true
				break
			}
		}
		if !limited {
			t.Error("30 wrong passwords with a device cookie were never throttled")
		}
		// A new password ends the trust of every device.
		newPW := "alices brand new password"
		if _, err := e.auth.UpdateUser(ctx, e.nat, alice.ID, auth.UserPatch{Password: &newPW}); err != nil {
			t.Fatal(err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM signin_devices WHERE user_id = ?`, alice.ID); n != 0 {
			t.Errorf("%d trusted devices left after a password reset", n)
		}
	})
}

// Every failed and every throttled sign-in is audited, filed under the
// account's home organisation so that organisation's auditor sees them,
// and no password ever reaches the audit log.
func TestSignInFailuresAndThrottlingAreAudited(t *testing.T) {
	limits := func(now func() time.Time) auth.Options {
		l := auth.DefaultSignInLimits()
		l.AccountAddress = auth.Limit{Burst: 2, Every: time.Hour}
		return auth.Options{Now: now, Limits: l}
	}
	eachWith(t, limits, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "amber quarry lighthouse"
		alice := e.add(t, "alice@example.org", scope.OrgAnalyst, "RJ1", pw)
		e.add(t, "ron@example.org", scope.OrgAnalyst, "R0A", "tundra bellows marigold")
		for range 3 {
			e.auth.Authenticate(ctx, "alice@example.org", "secret-guess-1", "192.0.2.7")
			e.auth.Authenticate(ctx, "ron@example.org", "secret-guess-2", "192.0.2.7")
		}
		// A password typed into the e-mail field is not recorded either.
		e.auth.Authenticate(ctx, "secret-typed-as-email", "secret-guess-3", "192.0.2.7")

		rj1Auditor := e.as(t, "auditor@rj1.example.org", scope.Auditor, "RJ1")
		es, _, err := e.audit.List(ctx, rj1Auditor, audit.Filter{Action: "auth.signin"})
		if err != nil {
			t.Fatal(err)
		}
		var failed, throttled int
		for _, en := range es {
			if en.Org != "RJ1" || en.ObjectID != alice.ID {
				t.Errorf("RJ1's auditor sees %s on %s for %s", en.Action, en.Org, en.ObjectID)
			}
			switch en.Action {
			case "auth.signin_failed":
				failed++
			case "auth.signin_throttled":
				throttled++
				if en.Remote != "192.0.2.7" {
					t.Errorf("throttled sign-in recorded from %q", en.Remote)
				}
			}
		}
		if failed != 2 || throttled != 1 {
			t.Errorf("RJ1's auditor sees %d failed and %d throttled sign-ins of alice, want 2 and 1", failed, throttled)
		}
		if n := auditCount(t, e, "auth.signin_throttled"); n != 2 {
			t.Errorf("%d throttled sign-ins audited, want 2 (alice's and ron's third attempts)", n)
		}
		all, _ := json.Marshal(auditJSON(t, e.db))
		if strings.Contains(string(all), "secret") {
			t.Errorf("a password reached the audit log: %s", all)
		}
	})
}

// Every argon2id computation runs in one of a fixed number of slots, so 40
// concurrent wrong passwords use 4 × 46 MiB, not 40 × 46 MiB. The hasher
// counts the computations running inside its bounded section.
func TestPasswordHashingConcurrencyIsBounded(t *testing.T) {
	const slots = 4
	var hasher *auth.Hasher
	options := func(now func() time.Time) auth.Options {
		hasher = auth.NewHasher(slots, time.Minute) // one per engine's run
		return auth.Options{Now: now, Hasher: hasher}
	}
	eachWith(t, options, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.add(t, "alice@example.org", scope.OrgAnalyst, "RJ1", "amber quarry lighthouse")
		if hasher.Peak() != 1 {
			t.Errorf("adding a user with a password: hasher peak %d, want 1 (HashPassword must run in a slot)", hasher.Peak())
		}
		start := make(chan struct{})
		errs := make(chan error, 40)
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				<-start
				who := "alice@example.org"
				if i%2 == 1 {
					who = fmt.Sprintf("nobody%d@example.org", i) // the dummy check costs the same
				}
				_, err := e.auth.Authenticate(ctx, who, fmt.Sprint("wrong ", i), fmt.Sprintf("192.0.2.%d", i+1))
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, auth.ErrBadCredentials) && !errors.Is(err, auth.ErrThrottled) {
				t.Errorf("concurrent wrong password = %v", err)
			}
		}
		if p := hasher.Peak(); p > slots || p < 2 {
			t.Errorf("40 concurrent sign-ins ran %d argon2id computations at once, want between 2 and %d", p, slots)
		}
		// Resets hash through the same slots.
		pw := "velvet orchard compass"
		var uwg sync.WaitGroup
		for range 8 {
			uwg.Go(func() {
				if _, err := e.auth.UpdateUser(ctx, e.nat, "alice@example.org", auth.UserPatch{Password: &pw}); err != nil {
					t.Errorf("reset: %v", err)
				}
			})
		}
		uwg.Wait()
		if p := hasher.Peak(); p > slots {
			t.Errorf("concurrent password resets ran %d computations at once, want at most %d", p, slots)
		}
		if hasher.Active() != 0 {
			t.Errorf("%d computations still counted as running", hasher.Active())
		}
	})
}
