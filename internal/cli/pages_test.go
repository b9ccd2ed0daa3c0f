package cli

import (
	"errors"
	"math"
	"strconv"
	"testing"
)

// TestPages reads a cursor-paged list of seven items three at a time: the
// limit is kept, no page asks for more than the page size or past the
// limit, the cursor follows, and an error stops the reading.
func TestPages(t *testing.T) {
	items := []int{1, 2, 3, 4, 5, 6, 7}
	var asked []int
	list := func(n int, after string) ([]int, string, error) {
		asked = append(asked, n)
		start := 0
		if after != "" {
			start, _ = strconv.Atoi(after)
		}
		end := min(start+n, len(items))
		next := ""
		if end < len(items) {
			next = strconv.Itoa(end)
		}
		return items[start:end], next, nil
	}
	for _, c := range []struct {
		limit int
		want  string
		asks  string
	}{{5, "12345", "[3 2]"}, {math.MaxInt, "1234567", "[3 3 3]"}, {3, "123", "[3]"}} {
		asked = nil
		got := ""
		if err := pages(c.limit, 3, list, func(x int) error { got += strconv.Itoa(x); return nil }); err != nil {
			t.Fatal(err)
		}
		if got != c.want || fmtInts(asked) != c.asks {
			t.Errorf("limit %d: got %s asking %v, want %s asking %s", c.limit, got, asked, c.want, c.asks)
		}
	}
	boom := errors.New("boom")
	if err := pages(10, 3, list, func(x int) error {
		if x == 2 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Errorf("an add error: %v", err)
	}
}

func fmtInts(xs []int) string {
	s := "["
	for i, x := range xs {
		if i > 0 {
			s += " "
		}
		s += strconv.Itoa(x)
	}
	return s + "]"
}
