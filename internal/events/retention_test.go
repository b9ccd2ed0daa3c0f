package events

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

// TestRunRetention: the ticker drops what the policy no longer keeps, at
// once and again as time passes, and stops when told.
func TestRunRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, clk *clock) {
		ctx := context.Background()
		if err := s.Append(ctx, []Event{ev("old", "RJ1", 40*24*time.Hour, nil), ev("new", "RJ1", time.Hour, nil)}); err != nil {
			t.Fatal(err)
		}
		count := func() int64 {
			n, err := s.Count(ctx, scope.System("test"), Query{})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		stop := RunRetention(ctx, s, Policy{Default: Limit{MaxAge: 30 * 24 * time.Hour}}, 10*time.Millisecond, nil)
		deadline := time.Now().Add(10 * time.Second)
		for count() != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%d events after retention, want the new one only", count())
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		if _, err := s.Get(ctx, scope.System("test"), "new"); err != nil {
			t.Errorf("the new event: %v", err)
		}
	})
}
