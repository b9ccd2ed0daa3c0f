// Package xlsx writes and reads the small part of Office Open XML
// spreadsheets (ECMA-376, "SpreadsheetML") that Vigil's statement
// spreadsheets need: sheets of text cells with a bold header, column
// widths and drop-down lists out, and the cell values of any worksheet
// that Excel, LibreOffice or Google Sheets saved back in.
//
// It replaces github.com/xuri/excelize/v2, which initialised for 3.3 ms
// and 1.3 MB in every vigil process, `vigil vuln scan` included (issue 18,
// docs/performance.md). This package does no work at init: no regexps, no
// tables; only archive/zip and encoding/xml, on use.
//
// What the reader gives is each cell's value as text, as a person sees it
// before formatting: shared strings (rich-text runs joined, phonetic runs
// left out), inline strings, formula results, TRUE/FALSE, error values
// (#N/A) and numbers as written in the file — so a date is its serial
// number (46000), as number formats are not applied. Formulas are not
// evaluated; their cached value is read.
package xlsx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Excel's bounds of a worksheet (and so of this package).
const (
	MaxRows      = 1 << 20 // 1,048,576
	MaxCols      = 1 << 14 // 16,384, column XFD
	MaxCellChars = 32767   // characters in one cell
)

// ErrLimit is wrapped by every error about a workbook over a Limits bound.
var ErrLimit = errors.New("xlsx: over a limit")

// Error is a workbook that could not be written or read, with where:
// the zip part, and when about a sheet, its name, row and column
// (counted from 1; 0 when not about one row or cell).
type Error struct {
	Part   string
	Sheet  string
	Row    int
	Col    int
	Reason string
	limit  bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("xlsx: ")
	switch {
	case e.Sheet != "":
		b.WriteString("sheet " + e.Sheet)
		if e.Row > 0 {
			b.WriteString(" row " + strconv.Itoa(e.Row))
		}
		if e.Col > 0 {
			b.WriteString(" column " + ColumnName(e.Col))
		}
		b.WriteString(": ")
	case e.Part != "":
		b.WriteString(e.Part + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap is ErrLimit for a workbook over a bound.
func (e *Error) Unwrap() error {
	if e.limit {
		return ErrLimit
	}
	return nil
}

// ColumnName is a column's letters: 1 is A, 27 is AA, 16384 is XFD. It is
// "" for n < 1.
func ColumnName(n int) string {
	if n < 1 {
		return ""
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		n--
		i--
		b[i] = byte('A' + n%26)
		n /= 26
	}
	return string(b[i:])
}

// CellName is a cell's reference: CellName(2, 7) is "G2".
func CellName(row, col int) string { return ColumnName(col) + strconv.Itoa(row) }

// ParseCell reads a cell reference (B12, $B$12, lower case too) into its
// row and column, counted from 1 and within a worksheet's bounds.
func ParseCell(ref string) (row, col int, err error) {
	s := strings.ReplaceAll(ref, "$", "")
	i := 0
	for i < len(s) && i < 4 && isLetter(s[i]) {
		col = col*26 + int(s[i]|0x20) - 'a' + 1
		i++
	}
	if i == 0 || col > MaxCols {
		return 0, 0, fmt.Errorf("%q is not a cell reference (a column A to XFD, then a row)", ref)
	}
	digits := s[i:]
	if digits == "" || len(digits) > 7 || digits[0] == '0' {
		return 0, 0, fmt.Errorf("%q is not a cell reference (a column A to XFD, then a row)", ref)
	}
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return 0, 0, fmt.Errorf("%q is not a cell reference (a column A to XFD, then a row)", ref)
		}
		row = row*10 + int(digits[j]-'0')
	}
	if row > MaxRows {
		return 0, 0, fmt.Errorf("%q is past the last row, %d", ref, MaxRows)
	}
	return row, col, nil
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// The ST_Xstring escape (ECMA-376 Part 1, 22.9.2.19): a character XML
// cannot carry is written _xHHHH_, and a literal "_xHHHH_" in a value has
// its underscore written _x005F_. Excel writes a carriage return as
// _x000D_.

// isEscape says whether s starts with _xHHHH_.
func isEscape(s string) bool {
	if len(s) < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for i := 2; i < 6; i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// unescape undoes the ST_Xstring escape.
func unescape(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if isEscape(s[i:]) {
			n, _ := strconv.ParseUint(s[i+2:i+6], 16, 32)
			b.WriteRune(rune(n))
			i += 7
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// escape applies the ST_Xstring escape for the characters XML 1.0 cannot
// carry (controls but tab, line feed and carriage return) and for a
// literal _xHHHH_.
func escape(s string) string {
	need := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == '_' && isEscape(s[i:]) {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			fmt.Fprintf(&b, "_x%04X_", c)
		case c == '_' && isEscape(s[i:]):
			b.WriteString("_x005F_")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
