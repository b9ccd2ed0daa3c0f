// Package safetext holds the rules for untrusted text that every domain
// shares, so that "what may a name contain" is decided once: which
// characters names, codes and free text may hold, how long they may be, how
// large a free-text search may be, and how a value is escaped before it
// reaches an operator's terminal.
//
// The rules exist because the bytes travel: a NUL byte is refused by
// PostgreSQL (SQLite stores it), an ESC sequence in a supplier name redraws
// the terminal of whoever prints an impact table, and bidirectional
// overrides make a name read differently from what it is ("Trojan Source",
// CVE-2021-42574). Callers turn a reason into their own validation error
// naming the field.
package safetext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Kind is what a value is, which decides the characters it may hold.
type Kind int

const (
	// Name is a one-line label shown in tables and pages (a supplier,
	// product, organisation, user or token name, a code): no control
	// characters at all, tab included, and no bidirectional controls.
	Name Kind = iota
	// Text is free text (contacts, notes): tabs and line breaks are
	// allowed; other control characters and bidirectional controls are not.
	Text
)

// Length limits, in characters (runes), shared by every domain.
const (
	MaxName = 200  // names of suppliers, products, organisations, users
	MaxText = 2000 // free text: contacts, data processed, exit plans
)

// Problem returns why s may not be stored as a value of kind k at most max
// characters long (0: no length limit), or "" when it may. The reason
// completes a sentence that begins with the field's name, e.g.
// "name: contains control character U+001B".
func Problem(s string, k Kind, max int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	n := 0
	for _, r := range s {
		n++
		if k == Text && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if isControl(r) {
			return fmt.Sprintf("contains control character U+%04X", r)
		}
		if isBidi(r) {
			return fmt.Sprintf("contains bidirectional control character U+%04X", r)
		}
	}
	if max > 0 && n > max {
		return fmt.Sprintf("is longer than %d characters", max)
	}
	return ""
}

// isControl reports C0 (with NUL), DEL and C1 control characters.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// isBidi reports the Unicode bidirectional embedding, override and isolate
// controls, and the line and paragraph separators, which break a line
// where no line break is visible.
func isBidi(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// Search bounds on a free-text query: each word becomes one SQL condition,
// and a thousand of them exceed the engines' expression limits (SQLite:
// "Expression tree is too large"), so a query is refused, not truncated.
const (
	MaxSearchLen   = 200 // characters
	MaxSearchWords = 20
)

// SearchProblem returns why q may not be used as a free-text search, or ""
// when it may.
func SearchProblem(q string) string {
	if p := Problem(q, Name, 0); p != "" {
		return p
	}
	if n := utf8.RuneCountInString(q); n > MaxSearchLen {
		return fmt.Sprintf("is %d characters long; search for at most %d characters", n, MaxSearchLen)
	}
	if n := len(strings.Fields(q)); n > MaxSearchWords {
		return fmt.Sprintf("has %d words; search for at most %d words", n, MaxSearchWords)
	}
	return ""
}

// SearchWords returns the words of s as the word searches (organisations,
// alerts, cases) store and look for them: lower case, accents removed,
// split on anything that is not a letter or a digit ("Guy's and St
// Thomas'" is "guy s and st thomas", "ws-r3i2t4-004" is "ws r3i2t4 004").
// Each domain stores its text as these words joined by single spaces and
// makes a query into words the same way, so that the engines' text indexes
// (which split on the spaces) find on SQLite and PostgreSQL alike what Go
// would, and only letters and digits reach an engine's query syntax.
func SearchWords(s string) []string {
	var words []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// An accent taken apart from its letter by NFD: dropped, so
			// "Évelina" is found by "evelina" on both engines.
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return words
}

// Terminal escapes s for printing on a terminal: control characters
// (tab and line breaks included, since in a table cell they would break
// the layout), bidirectional controls and invalid UTF-8 bytes become
// Go-style escapes (\x1b, \u202e, \xff), so nothing stored can move the
// cursor, clear the screen or reorder what the operator reads.
func Terminal(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isControl(r) || isBidi(r):
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e', '\n'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether Terminal would return s unchanged.
func clean(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || isControl(r) || isBidi(r) {
			return false
		}
	}
	return true
}
