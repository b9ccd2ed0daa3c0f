package xlsx

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Sheet is one worksheet to write: every cell is text (a shared string),
// so a value such as "=1+1" is never a formula.
type Sheet struct {
	Name string
	Rows [][]string
	// Header makes the first row bold.
	Header bool
	// Widths are the columns' widths in characters, from column A; 0
	// leaves a column at the default width.
	Widths []float64
	// Lists offer a drop-down of values in a range of one column.
	Lists []List
}

// List is a drop-down of values (a data validation of type list) over
// one column's rows FromRow to ToRow, counted from 1. Other values may
// still be typed: the list offers, it does not refuse.
type List struct {
	Col, FromRow, ToRow int
	Values              []string
}

// Write writes a workbook of the sheets, in order.
func Write(w io.Writer, sheets ...Sheet) error {
	if err := check(sheets); err != nil {
		return err
	}
	z := zip.NewWriter(w)
	sst := &strtab{index: map[string]int{}}
	add := func(name, body string) error {
		// A fixed time, so that the same sheets make the same bytes.
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return err
		}
		_, err = io.WriteString(f, body)
		return err
	}
	var types, rels, list strings.Builder
	for i, s := range sheets {
		n := strconv.Itoa(i + 1)
		fmt.Fprintf(&types, `<Override PartName="/xl/worksheets/sheet%s.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, n)
		fmt.Fprintf(&rels, `<Relationship Id="rId%s" Type="%s/worksheet" Target="worksheets/sheet%s.xml"/>`, n, relNS, n)
		fmt.Fprintf(&list, `<sheet name="%s" sheetId="%s" r:id="rId%s"/>`, text(s.Name), n, n)
		if err := add("xl/worksheets/sheet"+n+".xml", worksheet(s, sst)); err != nil {
			return err
		}
	}
	n := len(sheets)
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", xmlHead + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			types.String() +
			`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
			`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>` +
			`</Types>`},
		{"_rels/.rels", xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + relNS + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", xmlHead + `<workbook xmlns="` + mainNS + `" xmlns:r="` + relNS + `"><bookViews><workbookView/></bookViews><sheets>` +
			list.String() + `</sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels.String() +
			fmt.Sprintf(`<Relationship Id="rId%d" Type="%s/styles" Target="styles.xml"/>`, n+1, relNS) +
			fmt.Sprintf(`<Relationship Id="rId%d" Type="%s/sharedStrings" Target="sharedStrings.xml"/>`, n+2, relNS) +
			`</Relationships>`},
		// Two fonts (regular, bold) and two cell formats using them;
		// the two fills are the ones the format requires (none, gray125).
		{"xl/styles.xml", xmlHead + `<styleSheet xmlns="` + mainNS + `">` +
			`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
			`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
			`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
			`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
			`<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>` +
			`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
			`</styleSheet>`},
		{"xl/sharedStrings.xml", sst.xml()},
	}
	for _, p := range parts {
		if err := add(p.name, p.body); err != nil {
			return err
		}
	}
	return z.Close()
}

const (
	xmlHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	mainNS  = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	relNS   = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
)

// check refuses what Excel would refuse to open, or open changed.
func check(sheets []Sheet) error {
	if len(sheets) == 0 {
		return &Error{Reason: "a workbook needs at least one sheet"}
	}
	seen := map[string]bool{}
	for _, s := range sheets {
		bad := func(row, col int, format string, a ...any) error {
			return &Error{Sheet: s.Name, Row: row, Col: col, Reason: fmt.Sprintf(format, a...)}
		}
		switch {
		case s.Name == "" || utf8.RuneCountInString(s.Name) > 31:
			return bad(0, 0, "a sheet name has 1 to 31 characters")
		case strings.ContainsAny(s.Name, `[]:*?/\`) || strings.HasPrefix(s.Name, "'") || strings.HasSuffix(s.Name, "'"):
			return bad(0, 0, `a sheet name may not contain [ ] : * ? / \ nor begin or end with '`)
		case seen[strings.ToLower(s.Name)]:
			return bad(0, 0, "two sheets have this name (names are compared without case)")
		case len(s.Rows) > MaxRows:
			return bad(0, 0, "%d rows; a sheet has at most %d", len(s.Rows), MaxRows)
		case len(s.Widths) > MaxCols:
			return bad(0, 0, "%d column widths; a sheet has at most %d columns", len(s.Widths), MaxCols)
		}
		seen[strings.ToLower(s.Name)] = true
		for i, r := range s.Rows {
			if len(r) > MaxCols {
				return bad(i+1, 0, "%d cells; a row has at most %d", len(r), MaxCols)
			}
			for j, v := range r {
				if !utf8.ValidString(v) {
					return bad(i+1, j+1, "the value is not UTF-8 text")
				}
				if len(v) > MaxCellChars && utf16Len(v) > MaxCellChars {
					return bad(i+1, j+1, "%d characters; a cell holds at most %d", utf16Len(v), MaxCellChars)
				}
			}
		}
		for _, w := range s.Widths {
			if w < 0 || w > 255 {
				return bad(0, 0, "a column width of %g; widths are 0 to 255 characters", w)
			}
		}
		for _, l := range s.Lists {
			if l.Col < 1 || l.Col > MaxCols || l.FromRow < 1 || l.ToRow < l.FromRow || l.ToRow > MaxRows {
				return bad(0, 0, "a list over column %d rows %d to %d is outside the sheet", l.Col, l.FromRow, l.ToRow)
			}
			if len(l.Values) == 0 {
				return bad(l.FromRow, l.Col, "a list needs at least one value")
			}
			for _, v := range l.Values {
				if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r == ',' || r == '"' || r < ' ' || r == utf8.RuneError }) {
					return bad(l.FromRow, l.Col, "list value %q: values are not empty and have no comma, double quote or control character", v)
				}
			}
			// Excel's limit for a list given in place.
			if n := utf16Len(strings.Join(l.Values, ",")); n > 255 {
				return bad(l.FromRow, l.Col, "the list's values take %d characters; at most 255", n)
			}
		}
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// text is a value escaped for XML text or an attribute.
func text(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(escape(s))) // a strings.Builder does not fail
	return b.String()
}

// plain is a value escaped for XML, without the ST_Xstring escape (for a
// formula).
func plain(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// strtab is the shared strings table: each distinct value once.
type strtab struct {
	index map[string]int
	list  []string
	count int
}

func (t *strtab) add(s string) int {
	t.count++
	if i, ok := t.index[s]; ok {
		return i
	}
	t.index[s] = len(t.list)
	t.list = append(t.list, s)
	return len(t.list) - 1
}

func (t *strtab) xml() string {
	var b strings.Builder
	b.WriteString(xmlHead)
	fmt.Fprintf(&b, `<sst xmlns="%s" count="%d" uniqueCount="%d">`, mainNS, t.count, len(t.list))
	for _, s := range t.list {
		b.WriteString("<si>")
		b.WriteString(tElem(s))
		b.WriteString("</si>")
	}
	b.WriteString("</sst>")
	return b.String()
}

// tElem is a <t> element, marked xml:space="preserve" when the value
// begins or ends with white space a reader would otherwise be free to
// drop.
func tElem(s string) string {
	if s != strings.TrimSpace(s) {
		return `<t xml:space="preserve">` + text(s) + "</t>"
	}
	return "<t>" + text(s) + "</t>"
}

func worksheet(s Sheet, sst *strtab) string {
	var b strings.Builder
	b.WriteString(xmlHead)
	b.WriteString(`<worksheet xmlns="` + mainNS + `" xmlns:r="` + relNS + `">`)
	// The elements' order is the schema's (CT_Worksheet): dimension,
	// sheetViews, sheetFormatPr, cols, sheetData, …, dataValidations.
	width := 0
	for _, r := range s.Rows {
		width = max(width, len(r))
	}
	if width > 0 {
		fmt.Fprintf(&b, `<dimension ref="A1:%s"/>`, CellName(len(s.Rows), width))
	}
	b.WriteString(`<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>`)
	cols := false
	for i, w := range s.Widths {
		if w == 0 {
			continue
		}
		if !cols {
			b.WriteString("<cols>")
			cols = true
		}
		fmt.Fprintf(&b, `<col min="%d" max="%d" width="%s" customWidth="1"/>`, i+1, i+1, strconv.FormatFloat(w, 'f', -1, 64))
	}
	if cols {
		b.WriteString("</cols>")
	}
	b.WriteString("<sheetData>")
	for i, r := range s.Rows {
		fmt.Fprintf(&b, `<row r="%d">`, i+1)
		style := ""
		if i == 0 && s.Header {
			style = ` s="1"`
		}
		for j, v := range r {
			if v == "" {
				continue
			}
			fmt.Fprintf(&b, `<c r="%s"%s t="s"><v>%d</v></c>`, CellName(i+1, j+1), style, sst.add(v))
		}
		b.WriteString("</row>")
	}
	b.WriteString("</sheetData>")
	if len(s.Lists) > 0 {
		fmt.Fprintf(&b, `<dataValidations count="%d">`, len(s.Lists))
		for _, l := range s.Lists {
			fmt.Fprintf(&b, `<dataValidation type="list" allowBlank="1" sqref="%s:%s"><formula1>%s</formula1></dataValidation>`,
				CellName(l.FromRow, l.Col), CellName(l.ToRow, l.Col), plain(`"`+strings.Join(l.Values, ",")+`"`))
		}
		b.WriteString("</dataValidations>")
	}
	b.WriteString("</worksheet>")
	return b.String()
}
