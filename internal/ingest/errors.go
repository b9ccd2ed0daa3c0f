package ingest

import "fmt"

// SyntaxError is a parser's complaint about its input, with the byte
// offset where it stopped, so an analyst looking at the raw text can see
// which part was wrong.
type SyntaxError struct {
	// Format is the parser (rfc5424, cef, …).
	Format string
	// Offset is the byte offset in the parser's input.
	Offset int
	// Msg says what was expected.
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: byte %d: %s", e.Format, e.Offset, e.Msg)
}

func syntaxErr(format string, off int, msg string) error {
	return &SyntaxError{Format: format, Offset: off, Msg: msg}
}
