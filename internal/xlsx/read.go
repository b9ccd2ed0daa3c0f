package xlsx

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// Limits bound what reading a workbook may cost, against zip bombs and
// sheets whose few cells spread over a million rows. A zero field takes
// its default.
type Limits struct {
	// MaxEntries is the most files the zip may hold (default 1,000;
	// Excel and LibreOffice write about 10).
	MaxEntries int
	// MaxUnpacked is the most bytes unpacked from the zip, all the parts
	// read together (default 64 MiB). It is counted as the parts are
	// read, not taken from the sizes the zip declares.
	MaxUnpacked int64
	// MaxCells is the most cells of the tables Rows returns, the empty
	// ones before the last value of each row included, and one for each
	// row (default 2,097,152).
	MaxCells int
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = 1000
	}
	if l.MaxUnpacked <= 0 {
		l.MaxUnpacked = 64 << 20
	}
	if l.MaxCells <= 0 {
		l.MaxCells = 2 << 20
	}
	return l
}

// Workbook is an open workbook, read from bytes.
type Workbook struct {
	lim     Limits
	left    int64 // bytes that may still be unpacked
	files   map[string]*zip.File
	sheets  []sheetRef
	sstPart string
	sst     []string
	sstRead bool
}

type sheetRef struct{ name, part string }

// Open opens a workbook (the bytes of an .xlsx file) and reads its list
// of worksheets.
func Open(data []byte, lim Limits) (*Workbook, error) {
	lim = lim.withDefaults()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if errors.Is(err, zip.ErrInsecurePath) && z != nil {
		// A name such as ../x: nothing is written to disk, names are
		// only looked up.
		err = nil
	}
	if err != nil {
		return nil, &Error{Reason: "not an XLSX file (" + err.Error() + ")"}
	}
	if len(z.File) > lim.MaxEntries {
		return nil, &Error{Reason: fmt.Sprintf("the zip holds %d files, more than %d", len(z.File), lim.MaxEntries), limit: true}
	}
	wb := &Workbook{lim: lim, left: lim.MaxUnpacked, files: make(map[string]*zip.File, len(z.File))}
	for _, f := range z.File {
		// Part names are compared without case (ECMA-376 Part 2, 9.1.1.1);
		// some writers use backslashes.
		wb.files[partKey(f.Name)] = f
	}
	if err := wb.readWorkbook(); err != nil {
		return nil, err
	}
	return wb, nil
}

func partKey(name string) string {
	return strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(name, `\`, "/"), "/"))
}

// Sheets are the workbook's worksheets' names, in order (chart sheets and
// others without cells are left out).
func (wb *Workbook) Sheets() []string {
	out := make([]string, len(wb.sheets))
	for i, s := range wb.sheets {
		out[i] = s.name
	}
	return out
}

// Rows reads a worksheet, found by name without regard to case, as rows
// of cell values: row 1 first, a missing row or cell as empty, trailing
// empty cells and rows left out.
func (wb *Workbook) Rows(sheet string) ([][]string, error) {
	ref, ok := sheetRef{}, false
	for _, s := range wb.sheets {
		if strings.EqualFold(s.name, sheet) {
			ref, ok = s, true
			break
		}
	}
	if !ok {
		return nil, &Error{Sheet: sheet, Reason: fmt.Sprintf("no worksheet of that name (the workbook has %s)", strings.Join(wb.Sheets(), ", "))}
	}
	sst, err := wb.sharedStrings()
	if err != nil {
		return nil, err
	}
	rd, err := wb.open(ref.part)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rd.Close() }() // a zip entry read from memory
	p := &sheetParser{dec: rd.dec, name: ref.name, part: ref.part, sst: sst, max: wb.lim.MaxCells}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.rows, rd.drain()
}

const (
	officeDocumentRel = "/officeDocument"
	worksheetRel      = "/worksheet"
	sharedStringsRel  = "/sharedStrings"
)

// readWorkbook finds the workbook part (_rels/.rels), its worksheets
// (workbook.xml) and their parts and the shared strings' (its rels).
func (wb *Workbook) readWorkbook() error {
	book := "xl/workbook.xml"
	rels, err := wb.rels("_rels/.rels", "")
	if err != nil {
		return err
	}
	for _, r := range rels {
		if strings.HasSuffix(r.typ, officeDocumentRel) {
			book = r.target
			break
		}
	}
	if _, ok := wb.files[partKey(book)]; !ok {
		return &Error{Part: book, Reason: "the workbook part is missing: this is not a spreadsheet"}
	}
	dir, file := path.Split(book)
	rels, err = wb.rels(dir+"_rels/"+file+".rels", dir)
	if err != nil {
		return err
	}
	byID := map[string]rel{}
	for _, r := range rels {
		byID[r.id] = r
		if strings.HasSuffix(r.typ, sharedStringsRel) {
			wb.sstPart = r.target
		}
	}
	rd, err := wb.open(book)
	if err != nil {
		return err
	}
	defer func() { _ = rd.Close() }() // a zip entry read from memory
	for {
		tok, err := rd.dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rd.fail(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "sheet" {
			continue
		}
		var name, id string
		for _, a := range se.Attr {
			switch {
			case a.Name.Local == "name" && a.Name.Space == "":
				name = unescape(a.Value)
			case a.Name.Local == "id" && a.Name.Space != "":
				id = a.Value
			}
		}
		r, ok := byID[id]
		if !ok {
			return &Error{Part: book, Reason: fmt.Sprintf("sheet %q names relationship %q, which %s does not have", name, id, dir+"_rels/"+file+".rels")}
		}
		if strings.HasSuffix(r.typ, worksheetRel) {
			wb.sheets = append(wb.sheets, sheetRef{name: name, part: r.target})
		}
	}
	return rd.drain()
}

type rel struct{ id, typ, target string }

// rels reads a relationships part; targets are resolved against dir, the
// folder of the part they belong to. A missing part has none.
func (wb *Workbook) rels(part, dir string) ([]rel, error) {
	if _, ok := wb.files[partKey(part)]; !ok {
		return nil, nil
	}
	rd, err := wb.open(part)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rd.Close() }() // a zip entry read from memory
	var out []rel
	for {
		tok, err := rd.dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, rd.fail(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		var r rel
		external := false
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "Id":
				r.id = a.Value
			case "Type":
				r.typ = a.Value
			case "Target":
				r.target = a.Value
			case "TargetMode":
				external = a.Value == "External"
			}
		}
		if external {
			continue
		}
		// A target is relative to the part's folder, or absolute from
		// the package's root.
		t := strings.ReplaceAll(r.target, `\`, "/")
		if strings.HasPrefix(t, "/") {
			r.target = strings.TrimPrefix(path.Clean(t), "/")
		} else {
			r.target = strings.TrimPrefix(path.Clean("/"+dir+t), "/")
		}
		out = append(out, r)
	}
	return out, rd.drain()
}

// sharedStrings reads the shared strings part once (a workbook of
// numbers only may have none).
func (wb *Workbook) sharedStrings() ([]string, error) {
	if wb.sstRead || wb.sstPart == "" {
		return wb.sst, nil
	}
	if _, ok := wb.files[partKey(wb.sstPart)]; !ok {
		wb.sstRead = true
		return nil, nil
	}
	rd, err := wb.open(wb.sstPart)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rd.Close() }() // a zip entry read from memory
	for {
		tok, err := rd.dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, rd.fail(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "si" {
			s, err := richText(rd.dec)
			if err != nil {
				return nil, rd.fail(err)
			}
			wb.sst = append(wb.sst, s)
		}
	}
	wb.sstRead = true
	return wb.sst, rd.drain()
}

// partReader is one zip part being read, within the workbook's budget.
type partReader struct {
	wb   *Workbook
	name string
	rc   io.ReadCloser
	br   *bufio.Reader
	dec  *xml.Decoder
}

func (wb *Workbook) open(name string) (*partReader, error) {
	f, ok := wb.files[partKey(name)]
	if !ok {
		return nil, &Error{Part: name, Reason: "the part is missing from the zip"}
	}
	// The declared size may lie; it is only a first refusal. The bytes
	// read are what count.
	if f.UncompressedSize64 > uint64(wb.left) {
		return nil, wb.overLimit(name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &Error{Part: name, Reason: "cannot be unpacked (" + err.Error() + ")"}
	}
	p := &partReader{wb: wb, name: name, rc: rc}
	p.br = bufio.NewReader(budget{p})
	// A byte-order mark is not XML; some writers put one first.
	if b, _ := p.br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = p.br.Discard(3)
	}
	p.dec = xml.NewDecoder(p.br)
	return p, nil
}

func (wb *Workbook) overLimit(part string) *Error {
	return &Error{Part: part, Reason: fmt.Sprintf("the workbook unpacks to more than %d bytes", wb.lim.MaxUnpacked), limit: true}
}

// budget counts the bytes a part unpacks to against the workbook's.
type budget struct{ p *partReader }

func (b budget) Read(buf []byte) (int, error) {
	wb := b.p.wb
	if wb.left <= 0 {
		// One byte past the budget tells a part that ends exactly
		// there from one that goes on.
		var one [1]byte
		if n, _ := b.p.rc.Read(one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, wb.overLimit(b.p.name)
	}
	if int64(len(buf)) > wb.left {
		buf = buf[:wb.left]
	}
	n, err := b.p.rc.Read(buf)
	wb.left -= int64(n)
	return n, err
}

func (p *partReader) Close() error { return p.rc.Close() }

// drain reads the rest of the part, so that its checksum is checked.
func (p *partReader) drain() error {
	if _, err := io.Copy(io.Discard, p.br); err != nil {
		return p.fail(err)
	}
	return nil
}

// fail names the part in a read error.
func (p *partReader) fail(err error) error {
	var e *Error
	if errors.As(err, &e) {
		if e.Part == "" && e.Sheet == "" {
			e.Part = p.name
		}
		return e
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &Error{Part: p.name, Reason: fmt.Sprintf("not well-formed XML at line %d: %s", se.Line, se.Msg)}
	}
	return &Error{Part: p.name, Reason: "cannot be read (" + err.Error() + ")"}
}

// richText reads the text of a string item (<si>, <is>): its <t>, or the
// <t> of each rich-text run <r> joined; phonetic runs (<rPh>) and run
// properties are not text. It ends after the item's end tag.
func richText(dec *xml.Decoder) (string, error) {
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				s, err := tText(dec)
				if err != nil {
					return "", err
				}
				b.WriteString(s)
			case "r":
				// A run: its <t>, and <rPr> to skip.
				for {
					tok, err := dec.Token()
					if err != nil {
						return "", err
					}
					if _, end := tok.(xml.EndElement); end {
						break
					}
					if rt, ok := tok.(xml.StartElement); ok {
						if rt.Name.Local != "t" {
							if err := dec.Skip(); err != nil {
								return "", err
							}
							continue
						}
						s, err := tText(dec)
						if err != nil {
							return "", err
						}
						b.WriteString(s)
					}
				}
			default:
				if err := dec.Skip(); err != nil {
					return "", err
				}
			}
		}
	}
}

// tText reads a <t> element's text as it is, with or without
// xml:space="preserve": Excel and LibreOffice mark every value that
// begins or ends with white space, and a writer that does not still
// means its spaces (a rich-text run "Minutes " before "of the board").
func tText(dec *xml.Decoder) (string, error) {
	s, err := charData(dec)
	if err != nil {
		return "", err
	}
	return unescape(s), nil
}

// charData reads an element's text up to its end tag; elements inside it
// are skipped.
func charData(dec *xml.Decoder) (string, error) {
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			if err := dec.Skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// sheetParser reads one worksheet part's <sheetData>.
type sheetParser struct {
	dec   *xml.Decoder
	name  string
	part  string
	sst   []string
	rows  [][]string
	cells int
	max   int
}

func (p *sheetParser) bad(row, col int, format string, a ...any) *Error {
	return &Error{Part: p.part, Sheet: p.name, Row: row, Col: col, Reason: fmt.Sprintf(format, a...)}
}

// xmlErr names the sheet and the row being read in an XML error.
func (p *sheetParser) xmlErr(row int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return p.bad(row, 0, "not well-formed XML at line %d of %s: %s", se.Line, p.part, se.Msg)
	}
	return p.bad(row, 0, "cannot be read (%v)", err)
}

func (p *sheetParser) parse() error {
	inData := false
	row := 0
	for {
		tok, err := p.dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return p.xmlErr(row+1, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "sheetData":
				inData = true
			case !inData:
			case t.Name.Local == "row":
				// A row without r follows the one before.
				next := row + 1
				for _, a := range t.Attr {
					if a.Name.Local == "r" && a.Name.Space == "" {
						n, err := strconv.Atoi(strings.TrimSpace(a.Value))
						if err != nil || n < 1 || n > MaxRows {
							return p.bad(row+1, 0, "row number %q is not 1 to %d", a.Value, MaxRows)
						}
						next = n
					}
				}
				row = next
				if err := p.row(row); err != nil {
					return err
				}
			default:
				if err := p.dec.Skip(); err != nil {
					return p.xmlErr(row, err)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				return nil
			}
		}
	}
}

// row reads one <row>'s cells, up to its end tag.
func (p *sheetParser) row(row int) error {
	col := 0
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return p.xmlErr(row, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if t.Name.Local != "c" {
				if err := p.dec.Skip(); err != nil {
					return p.xmlErr(row, err)
				}
				continue
			}
			// A cell without r follows the one before.
			next, typ := col+1, ""
			for _, a := range t.Attr {
				if a.Name.Space != "" {
					continue
				}
				switch a.Name.Local {
				case "r":
					r, c, err := ParseCell(strings.TrimSpace(a.Value))
					if err != nil {
						return p.bad(row, col+1, "%v", err)
					}
					if r != row {
						return p.bad(row, c, "cell %s is inside row %d", a.Value, row)
					}
					next = c
				case "t":
					typ = a.Value
				}
			}
			col = next
			if col > MaxCols {
				return p.bad(row, 0, "a cell past the last column, %s", ColumnName(MaxCols))
			}
			v, err := p.cell(row, col, typ)
			if err != nil {
				return err
			}
			if err := p.set(row, col, v); err != nil {
				return err
			}
		}
	}
}

// cell reads one <c>'s value by its type (ECMA-376 Part 1, 18.18.11
// ST_CellType), up to its end tag.
func (p *sheetParser) cell(row, col int, typ string) (string, error) {
	var v, inline string
	hasV, hasInline := false, false
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return "", p.xmlErr(row, err)
		}
		if _, end := tok.(xml.EndElement); end {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "v":
			if v, err = charData(p.dec); err != nil {
				return "", p.xmlErr(row, err)
			}
			hasV = true
		case "is":
			if inline, err = richText(p.dec); err != nil {
				return "", p.xmlErr(row, err)
			}
			hasInline = true
		default: // <f>, the formula: its cached value is the <v>
			if err := p.dec.Skip(); err != nil {
				return "", p.xmlErr(row, err)
			}
		}
	}
	switch typ {
	case "s":
		if !hasV {
			return "", nil
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(p.sst) {
			return "", p.bad(row, col, "shared string %q does not exist (the workbook has %d)", strings.TrimSpace(v), len(p.sst))
		}
		return p.sst[i], nil
	case "inlineStr":
		if hasInline {
			return inline, nil
		}
		return unescape(v), nil
	case "str": // a formula's text result
		return unescape(v), nil
	case "b":
		switch strings.TrimSpace(v) {
		case "1":
			return "TRUE", nil
		case "0":
			return "FALSE", nil
		case "":
			return "", nil
		}
		return "", p.bad(row, col, "%q is not a boolean (0 or 1)", v)
	case "e", "d": // an error value (#N/A), an ISO 8601 date
		return strings.TrimSpace(v), nil
	case "n", "":
		s := strings.TrimSpace(v)
		if s == "" {
			return "", nil
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "", p.bad(row, col, "%q is not a number", s)
		}
		return s, nil
	}
	return "", p.bad(row, col, "cell type %q is not one of s, inlineStr, str, n, b, e, d", typ)
}

// set puts a value in the table, growing it within the cell budget.
func (p *sheetParser) set(row, col int, v string) error {
	if v == "" {
		return nil
	}
	if row > len(p.rows) {
		p.cells += row - len(p.rows)
		if p.cells > p.max {
			return p.overCells(row, col)
		}
		p.rows = append(p.rows, make([][]string, row-len(p.rows))...)
	}
	r := p.rows[row-1]
	if col > len(r) {
		p.cells += col - len(r)
		if p.cells > p.max {
			return p.overCells(row, col)
		}
		r = append(r, make([]string, col-len(r))...)
		p.rows[row-1] = r
	}
	r[col-1] = v
	return nil
}

func (p *sheetParser) overCells(row, col int) *Error {
	e := p.bad(row, col, "the sheet spreads over more than %d cells", p.max)
	e.limit = true
	return e
}
