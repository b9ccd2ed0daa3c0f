package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
)

func TestStatus(t *testing.T) {
	throttled := fault.New(fault.ErrRateLimited, "too many sign-in attempts")
	for _, c := range []struct {
		err  error
		want int
		msg  string
	}{
		{nil, 200, ""},
		{fault.Invalidf("value_gbp", "%q is not a finite amount", "Infinity"), 400, `value_gbp: "Infinity" is not a finite amount`},
		{fmt.Errorf("import: %w", &fault.Invalid{Reason: "request body is empty"}), 400, "import: request body is empty"},
		{fmt.Errorf("supplier X: %w", fault.ErrNotFound), 404, "supplier X: not found"},
		{fault.Forbiddenf("you may not change user %s", "a@b"), 403, "forbidden: you may not change user a@b"},
		{fault.Conflictf("organisation %s already exists", "RJ1"), 409, "conflict: organisation RJ1 already exists"},
		{fmt.Errorf("sign in: %w", throttled), 429, "sign in: too many sign-in attempts"},
		{fault.New(fault.ErrUnavailable, "the database is open read-only"), 503, "the database is open read-only"},
		{errors.New("pq: relation \"users\" does not exist"), 500, ""},
	} {
		if got := fault.Status(c.err); got != c.want {
			t.Errorf("Status(%v) = %d, want %d", c.err, got, c.want)
		}
		if c.err != nil {
			if got := fault.Message(c.err); got != c.msg {
				t.Errorf("Message(%v) = %q, want %q", c.err, got, c.msg)
			}
		}
	}
	// A domain's sentinel is itself and its kind.
	err := fmt.Errorf("sign in: %w", throttled)
	if !errors.Is(err, throttled) || !errors.Is(err, fault.ErrRateLimited) || errors.Is(err, fault.ErrForbidden) {
		t.Error("a sentinel must match itself and its kind only")
	}
}
