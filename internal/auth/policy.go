package auth

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/fault"
)

// The password rules follow NIST SP 800-63B §3.1.1.2 (memorised secrets):
// at least MinPasswordLength characters, a generous maximum, any
// characters (spaces and Unicode included), no composition rules ("one
// digit, one capital…"), and a refusal of values that are commonly used,
// expected or specific to the context — checked here by rules and a short
// hand-written list rather than a downloaded corpus:
//
//   - common bases: a few dozen of the passwords guessers try first
//     (commonBases), also when spelt with digits or symbols for letters
//     ("P@ssw0rd");
//   - the context: the user's e-mail address, its local part and its
//     words, the user's name and its words, "vigil" and "nhs";
//   - dates: seasons, months and years (19xx, 20xx);
//   - patterns: runs of one character, a stretch repeated straight after
//     itself, ascending or descending runs ("abcd", "4321") and walks
//     along or down the keyboard ("qwerty", "1qaz2wsx").
//
// Each of these marks the characters it explains. What is left — the
// characters nothing explains, spaces aside — must number at least
// minUnpredictable; so a long passphrase that happens to contain "summer"
// passes, and "Summer2025!!!" does not. The message names the kind of
// weakness that explains most of the password and says what to do.

// MaxPasswordLength is the longest password accepted, in characters: more
// than NIST's minimum of 64, room for any passphrase, and at most 1,024
// bytes of UTF-8, which HashPassword and CheckPassword accept.
const MaxPasswordLength = 256

// minUnpredictable is how many characters must remain once everything
// predictable is taken away.
const minUnpredictable = 8

// commonBases are passwords, and the stems of passwords, that lead every
// published list of leaked ones; written here by hand, lower case, at least
// four letters (a shorter stem would match inside ordinary words). Digits
// and symbols around them are caught by the other rules.
var commonBases = []string{
	"password", "passwd", "qwerty", "azerty", "letmein", "welcome", "admin", "login", "iloveyou", "trustno",
	"monkey", "dragon", "football", "baseball", "soccer", "cricket", "sunshine", "princess", "shadow", "master",
	"superman", "batman", "starwars", "whatever", "freedom", "secret", "changeme", "default", "hello", "charlie",
	"guest", "access", "username", "michael", "jennifer", "jordan", "hunter", "ranger", "buster", "thomas",
	"tigger", "pepper", "ginger", "cheese", "flower", "cookie", "computer", "internet", "google", "samsung",
	"jesus", "blessed", "mustang", "harley", "matrix", "killer", "pokemon", "naruto", "liverpool", "arsenal",
	"chelsea", "united", "england", "london", "hospital", "doctor", "nurse", "health", "security", "lovely",
}

// fixedContext are the words of the service itself.
var fixedContext = []string{"vigil", "nhs"}

var dateWords = []string{
	"spring", "summer", "autumn", "winter",
	"january", "february", "march", "april", "june", "july", "august", "september", "sept", "october", "november", "december",
}

// keyboardWalks are the rows of a UK keyboard and its columns read
// downwards; a run of four or more along any of them, either way, is a
// walk.
var keyboardWalks = []string{
	"`1234567890-=", "qwertyuiop[]", "asdfghjkl;'#", "zxcvbnm,./",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/", "qazwsxedcrfvtgbyhnujmik,ol.p;/",
	"zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
}

// leet maps the digits and symbols used for letters. '1' and '!' stand for
// either i or l, so two variants are checked.
var leetI = map[rune]rune{'0': 'o', '1': 'i', '!': 'i', '3': 'e', '4': 'a', '@': 'a', '5': 's', '$': 's', '7': 't', '+': 't', '8': 'b', '9': 'g', '|': 'l'}

type weakness uint8

const (
	weakCommon weakness = 1 << iota
	weakContext
	weakDate
	weakPattern
)

var weaknessAdvice = []struct {
	w      weakness
	reason string
}{
	{weakCommon, "it is built on a commonly used password, one of the first an attacker tries"},
	{weakContext, "it contains your name, your e-mail address, “Vigil” or “NHS”, which an attacker tries first"},
	{weakDate, "it is built on a season, month or year, which an attacker tries first"},
	{weakPattern, "it is mostly repeated or sequential characters or a keyboard pattern (such as aaaa, 4321 or qwerty)"},
}

const choose = "; choose a passphrase of three or four unrelated words instead"

// ValidatePassword checks pw against the rules above; personal are the
// words specific to its user (e-mail address, name). The error is a
// *fault.Invalid on the field "password" that says what to do.
func ValidatePassword(pw string, personal ...string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLength:
		return &fault.Invalid{Field: "password", Reason: fmt.Sprintf("use at least %d characters; a passphrase of three or four unrelated words is long enough and easy to remember", MinPasswordLength)}
	case n > MaxPasswordLength || len(pw) > 1024:
		return &fault.Invalid{Field: "password", Reason: fmt.Sprintf("use at most %d characters", MaxPasswordLength)}
	}
	lower := []rune(strings.ToLower(pw))
	marks := make([]weakness, len(lower))

	// Words, in the password as typed and with look-alike symbols read as letters.
	variants := [][]rune{lower, leetVariant(lower, 'i'), leetVariant(lower, 'l')}
	words := func(w weakness, list []string) {
		for _, word := range list {
			for _, v := range variants {
				markAll(v, []rune(word), marks, w)
			}
		}
	}
	words(weakCommon, commonBases)
	words(weakContext, fixedContext)
	words(weakContext, contextWords(personal))
	words(weakDate, dateWords)
	markYears(lower, marks)
	markRepeats(lower, marks)
	markSequences(lower, marks)
	for _, k := range keyboardWalks {
		markWalk(lower, []rune(k), marks)
		markWalk(lower, reversed([]rune(k)), marks)
	}

	left := 0
	var count [4]int
	for i, r := range lower {
		if marks[i] == 0 {
			if !unicode.IsSpace(r) {
				left++
			}
			continue
		}
		for j, a := range weaknessAdvice {
			if marks[i]&a.w != 0 {
				count[j]++
			}
		}
	}
	if left >= minUnpredictable {
		return nil
	}
	best := -1
	for j := range weaknessAdvice {
		if count[j] > 0 && (best < 0 || count[j] > count[best]) {
			best = j
		}
	}
	if best < 0 {
		return &fault.Invalid{Field: "password", Reason: "it has too few letters, digits or symbols besides spaces; choose a longer passphrase"}
	}
	return &fault.Invalid{Field: "password", Reason: weaknessAdvice[best].reason + choose}
}

func leetVariant(s []rune, one rune) []rune {
	out := make([]rune, len(s))
	for i, r := range s {
		if m, ok := leetI[r]; ok {
			if m == 'i' && (r == '1' || r == '!') {
				m = one
			}
			r = m
		}
		out[i] = r
	}
	return out
}

// contextWords are the user's e-mail address and name, whole and in words
// of three or more letters, and their words run together ("garyguys").
func contextWords(personal []string) []string {
	var out []string
	add := func(w string) {
		if utf8.RuneCountInString(w) >= 3 {
			out = append(out, w)
		}
	}
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		add(p)
		local, _, isEmail := strings.Cut(p, "@")
		if isEmail {
			add(local)
		} else {
			local = p
		}
		parts := strings.FieldsFunc(p, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, w := range parts {
			add(w)
		}
		add(strings.Join(strings.FieldsFunc(local, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), ""))
	}
	return out
}

// markAll marks every occurrence of word in s.
func markAll(s, word []rune, marks []weakness, w weakness) {
	for i := 0; i+len(word) <= len(s); i++ {
		if equalRunes(s[i:i+len(word)], word) {
			for j := i; j < i+len(word); j++ {
				marks[j] |= w
			}
		}
	}
}

func equalRunes(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// markYears marks four-digit years from 1900 to 2099.
func markYears(s []rune, marks []weakness) {
	for i := 0; i+4 <= len(s); i++ {
		if (s[i] == '1' && s[i+1] == '9' || s[i] == '2' && s[i+1] == '0') && isDigit(s[i+2]) && isDigit(s[i+3]) {
			for j := i; j < i+4; j++ {
				marks[j] |= weakDate
			}
		}
	}
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// markRepeats marks what repeats what comes just before it: in a run of
// one character, all but the first ("aaaa"); a stretch of two or more
// characters followed by itself, its second copy ("abab", "horsehorse").
func markRepeats(s []rune, marks []weakness) {
	for i := 2; i < len(s); i++ {
		if s[i] == s[i-1] && s[i] == s[i-2] {
			marks[i] |= weakPattern
			marks[i-1] |= weakPattern
		}
	}
	for l := 2; l <= len(s)/2; l++ {
		for i := 0; i+2*l <= len(s); i++ {
			if equalRunes(s[i:i+l], s[i+l:i+2*l]) {
				for j := i + l; j < i+2*l; j++ {
					marks[j] |= weakPattern
				}
			}
		}
	}
}

// markSequences marks runs of three or more letters or digits that go up
// or down by one ("abc", "9876").
func markSequences(s []rune, marks []weakness) {
	seqable := func(r rune) bool { return r >= 'a' && r <= 'z' || isDigit(r) }
	for _, d := range []rune{1, -1} {
		start := 0
		for i := 1; i <= len(s); i++ {
			if i < len(s) && seqable(s[i]) && seqable(s[i-1]) && s[i]-s[i-1] == d && isDigit(s[i]) == isDigit(s[i-1]) {
				continue
			}
			if i-start >= 3 {
				for j := start; j < i; j++ {
					marks[j] |= weakPattern
				}
			}
			start = i
		}
	}
}

// markWalk marks every stretch of four or more characters of s that also
// appears, in order, in the keyboard line k.
func markWalk(s, k []rune, marks []weakness) {
	for i := range s {
		best := 0
		for j := range k {
			n := 0
			for i+n < len(s) && j+n < len(k) && s[i+n] == k[j+n] {
				n++
			}
			best = max(best, n)
		}
		if best >= 4 {
			for j := i; j < i+best; j++ {
				marks[j] |= weakPattern
			}
		}
	}
}

func reversed(s []rune) []rune {
	out := make([]rune, len(s))
	for i, r := range s {
		out[len(s)-1-i] = r
	}
	return out
}
