package web

import (
	"fmt"

	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/supply"
)

// num writes a number for people (phrase.Int: thousands separators).
func num(v any) string {
	switch x := v.(type) {
	case int:
		return phrase.Int(x)
	case int32:
		return phrase.Int(x)
	case int64:
		return phrase.Int(x)
	case float64:
		return phrase.Round(x)
	}
	return fmt.Sprint(v)
}

// count writes a number and its noun in the number it needs ("1
// organisation", "2,500 organisations"); plural "" adds an s.
func count(v any, singular, plural string) string {
	switch x := v.(type) {
	case int:
		return phrase.Count(x, singular, plural)
	case int64:
		return phrase.Count(x, singular, plural)
	}
	return fmt.Sprint(v) + " " + plural
}

// orgRef is an organisation shown by name with its code, "NHS South East
// London ICB (QKK)"; Name is empty when the caller may not read it (the
// code alone is shown).
type orgRef struct{ Code, Name string }

// ref looks code up in names (from org.Service.Names).
func ref(code string, names map[string]string) orgRef { return orgRef{Code: code, Name: names[code]} }

// levelLabel names a grouping level in words.
func levelLabel(l supply.Level) string {
	switch l {
	case supply.National:
		return "England"
	case supply.ByRegion:
		return "Region"
	case supply.ByICB:
		return "ICB"
	}
	return string(l)
}
