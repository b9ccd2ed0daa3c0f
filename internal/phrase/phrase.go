// Package phrase writes numbers for people, the same way on every page,
// picture and terminal: thousands separators (1,234,567), counts with
// the right plural ("1 organisation", "2,500 organisations"), percentages
// and quantities that may be unknown. It is the one number formatter of
// Vigil; it uses golang.org/x/text/message with British English, so the
// minus sign, grouping and rounding are the library's, not hand-written.
package phrase

import (
	"math"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.BritishEnglish)

// Int writes n with thousands separators: 1,234,567 and -123.
func Int[T ~int | ~int32 | ~int64 | ~uint | ~uint32 | ~uint64](n T) string {
	return printer.Sprintf("%d", n)
}

// Round writes v rounded to a whole number, with thousands separators.
func Round(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return printer.Sprintf("%.0f", math.Round(v))
}

// Count writes n and the noun in the number n needs: "1 organisation",
// "0 organisations", "2,500 organisations". plural "" adds an s.
func Count[T ~int | ~int32 | ~int64](n T, singular, plural string) string {
	if plural == "" {
		plural = singular + "s"
	}
	if n == 1 || n == -1 {
		return Int(n) + " " + singular
	}
	return Int(n) + " " + plural
}

// Noun is the noun alone in the number n needs.
func Noun[T ~int | ~int32 | ~int64](n T, singular, plural string) string {
	if plural == "" {
		plural = singular + "s"
	}
	if n == 1 || n == -1 {
		return singular
	}
	return plural
}

// Percent writes a fraction (0.335) as a whole percentage ("34 %"); a
// fraction above zero that rounds to nothing is "<1 %".
func Percent(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	if f > 0 && f < 0.005 {
		return "<1 %"
	}
	return printer.Sprintf("%.0f %%", math.Round(f*100))
}

// People writes a registered population, or "unknown" when it is zero:
// an organisation without a registered list (a trust, a supplier) has no
// known population, which is not the same as nobody being affected.
func People(n int64) string {
	if n <= 0 {
		return "unknown"
	}
	return Int(n)
}
