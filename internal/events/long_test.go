package events

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/store"
)

// TestLongQuery: the longest query allowed, every term a condition,
// parses and compiles quickly (no quadratic blow-up).
func TestLongQuery(t *testing.T) {
	q := strings.Repeat("a=1 ", MaxQueryLen/4)[:MaxQueryLen-1]
	start := time.Now()
	n, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	sql, args, err := compileWhere(store.Postgres, n)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("%d terms took %v", len(args), el)
	}
	t.Logf("%d bytes of SQL, %d arguments, %v", len(sql), len(args), time.Since(start))
}

func TestLongQueryRuns(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		for _, q := range []string{
			strings.Repeat("a=1 ", MaxQueryLen/4)[:MaxQueryLen-1],
			strings.Repeat("a=1 OR ", MaxQueryLen/7)[:MaxQueryLen-4],
			"x in (" + strings.Repeat("1,", MaxQueryLen/2-5) + "1)",
		} {
			if _, err := s.Search(context.Background(), alice, Query{Text: q}); err != nil {
				t.Errorf("%.20s…: %v", q, err)
			}
		}
	})
}
