package auth_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
)

func TestThrottle(t *testing.T) {
	clk := &clock{t: t0}
	th := auth.NewThrottle(3, 10*time.Second, clk.Now)
	allow := func(keys ...string) (bool, time.Duration) { return th.Allow(keys...) }

	for i := range 3 {
		if ok, _ := allow("a"); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
		th.Fail("a")
	}
	ok, wait := allow("a")
	if ok || wait != 10*time.Second {
		t.Errorf("after the burst: ok %v wait %v, want refused for 10s", ok, wait)
	}
	// Another key is untouched; a request carrying both is refused.
	if ok, _ := allow("b"); !ok {
		t.Error("an unrelated key is throttled")
	}
	if ok, _ := allow("b", "a"); ok {
		t.Error("a request with one throttled key is allowed")
	}

	// Tokens refill at one per 10 s.
	clk.Advance(4 * time.Second)
	if ok, wait := allow("a"); ok || wait != 6*time.Second {
		t.Errorf("after 4 s: ok %v wait %v, want refused for 6s", ok, wait)
	}
	clk.Advance(6 * time.Second)
	if ok, _ := allow("a"); !ok {
		t.Error("after 10 s one attempt should be allowed")
	}
	th.Fail("a")
	if ok, _ := allow("a"); ok {
		t.Error("the refilled attempt was used, the next must wait")
	}
	// The bucket never holds more than the burst.
	clk.Advance(time.Hour)
	th.Fail("a", "a", "a")
	if ok, _ := allow("a"); ok {
		t.Error("a long pause refilled more than the burst")
	}
	// Success empties the record.
	th.Succeed("a")
	for i := range 3 {
		if ok, _ := allow("a"); !ok {
			t.Fatalf("attempt %d after success refused", i+1)
		}
		th.Fail("a")
	}
	if ok, _ := allow("a"); ok {
		t.Error("burst not enforced after success")
	}
}

// The throttle is shared by every request of the process.
func TestThrottleConcurrent(t *testing.T) {
	clk := &clock{t: t0}
	th := auth.NewThrottle(50, time.Minute, clk.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				k := fmt.Sprintf("k%d", (g+i)%5)
				if ok, _ := th.Allow(k, "shared"); ok {
					th.Fail(k, "shared")
				}
			}
		})
	}
	wg.Wait()
	if ok, _ := th.Allow("shared"); ok {
		t.Error("800 failures left the shared key allowed")
	}
}
