package phrase_test

import (
	"math"
	"testing"

	"github.com/vigil-health/vigil/internal/phrase"
)

func TestPhrase(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{phrase.Int(0), "0"},
		{phrase.Int(999), "999"},
		{phrase.Int(1234567), "1,234,567"},
		{phrase.Int(-123), "-123"}, // one hand-written formatter printed "-,122"
		{phrase.Int(-1234), "-1,234"},
		{phrase.Int(int64(57_000_000)), "57,000,000"},
		{phrase.Round(1234.5), "1,235"},
		{phrase.Round(-0.4), "0"},
		{phrase.Round(math.NaN()), "–"},
		{phrase.Count(1, "organisation", ""), "1 organisation"},
		{phrase.Count(0, "organisation", ""), "0 organisations"},
		{phrase.Count(2500, "organisation", ""), "2,500 organisations"},
		{phrase.Count(3, "supply chain", ""), "3 supply chains"},
		{phrase.Count(1, "ICB", ""), "1 ICB"},
		{phrase.Count(2, "child", "children"), "2 children"},
		{phrase.Noun(1, "product", ""), "product"},
		{phrase.Percent(0.335), "34 %"},
		{phrase.Percent(0.001), "<1 %"},
		{phrase.Percent(0), "0 %"},
		{phrase.People(0), "unknown"},
		{phrase.People(12345), "12,345"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
