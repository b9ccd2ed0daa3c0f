package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// Concurrent attempts cannot all slip past a limit before any of them is
// counted: each takes its unit before its password is checked, atomically.
func TestThrottleHoldsUnderConcurrency(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.add(t, "bob@example.org", scope.OrgAnalyst, "RJ1", "saffron piston glacier")
		burst := auth.DefaultSignInLimits().AccountAddress.Burst
		var bad, throttled, other sync.Map
		var wg sync.WaitGroup
		for i := range 4 * burst {
			wg.Go(func() {
				_, err := e.auth.Authenticate(t.Context(), "bob@example.org", fmt.Sprint("guess ", i), "198.51.100.1")
				switch {
				case errors.Is(err, auth.ErrBadCredentials):
					bad.Store(i, true)
				case errors.Is(err, auth.ErrThrottled):
					throttled.Store(i, true)
				default:
					other.Store(i, err)
				}
			})
		}
		wg.Wait()
		n := func(m *sync.Map) (k int) { m.Range(func(any, any) bool { k++; return true }); return }
		other.Range(func(_, err any) bool { t.Errorf("concurrent attempt: %v", err); return true })
		if n(&bad) != burst || n(&throttled) != 3*burst {
			t.Errorf("%d concurrent guesses: %d checked and %d throttled, want %d and %d", 4*burst, n(&bad), n(&throttled), burst, 3*burst)
		}
	})
}

func TestSignInLimitsAreValidated(t *testing.T) {
	db := storetest.SQLite(t, org.Migrations(), audit.Migrations(), auth.Migrations())
	l := audit.New(db, nil)
	orgs, _ := org.New(org.Options{DB: db, Audit: l})
	for _, c := range []struct {
		limits auth.SignInLimits
		want   string
	}{
		{auth.SignInLimits{Account: auth.Limit{Burst: -1, Every: time.Minute}}, "Limits.Account"},
		{auth.SignInLimits{Address: auth.Limit{Burst: 3}}, "Limits.Address"},
	} {
		if _, err := auth.New(auth.Options{DB: db, Audit: l, Orgs: orgs, Limits: c.limits}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New with limits %+v = %v, want an error naming %s", c.limits, err, c.want)
		}
	}
}
