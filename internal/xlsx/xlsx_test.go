package xlsx

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestColumnNamesAndCells(t *testing.T) {
	for n, want := range map[int]string{1: "A", 26: "Z", 27: "AA", 52: "AZ", 53: "BA", 702: "ZZ", 703: "AAA", MaxCols: "XFD", 0: "", -3: ""} {
		if got := ColumnName(n); got != want {
			t.Errorf("ColumnName(%d) = %q, want %q", n, got, want)
		}
	}
	for col := 1; col <= MaxCols; col++ {
		ref := CellName(7, col)
		r, c, err := ParseCell(ref)
		if err != nil || r != 7 || c != col {
			t.Fatalf("ParseCell(%q) = %d %d %v", ref, r, c, err)
		}
	}
	if r, c, err := ParseCell("$g$12"); err != nil || r != 12 || c != 7 {
		t.Errorf("$g$12: %d %d %v", r, c, err)
	}
	if r, c, err := ParseCell("XFD1048576"); err != nil || r != MaxRows || c != MaxCols {
		t.Errorf("the last cell: %d %d %v", r, c, err)
	}
	for _, bad := range []string{"", "A", "1", "A0", "A01", "XFE1", "AAAA1", "A1048577", "A-1", "A1B", "É1", "A12345678"} {
		if _, _, err := ParseCell(bad); err == nil {
			t.Errorf("ParseCell(%q) accepted", bad)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"a\x01b":         "a_x0001_b",
		"_x0041_":        "_x005F_x0041_",
		"_x004":          "_x004",
		"tab\tcr\r\nend": "tab\tcr\r\nend",
		"_x12G4_":        "_x12G4_",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
		if back := unescape(escape(in)); back != in {
			t.Errorf("unescape(escape(%q)) = %q", in, back)
		}
	}
	if got := unescape("line_x000D_\nnext _x00e9_"); got != "line\r\nnext é" {
		t.Errorf("Excel's escapes: %q", got)
	}
}

// tricky values a cell must carry unchanged through the writer and reader.
var tricky = []string{
	"=1+1 no staff", " leading and trailing ", "\ttab first", "a\r\nb", "line\nbreak", "bell\x07", "_x0041_ literal",
	`&<>"'`, "Données — ünïcode 😀", "+44 20 7946 0000", "@SUM(A1)", "0001", "1e5", "TRUE", strings.Repeat("long ", 200),
}

func write(t testing.TB, sheets ...Sheet) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, sheets...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rowsOf(t testing.TB, data []byte, sheet string) [][]string {
	t.Helper()
	wb, err := Open(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.Rows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestRoundTrip writes two sheets and reads them back: every value as
// written, gaps as empty cells, trailing empties left out, each distinct
// value stored once.
func TestRoundTrip(t *testing.T) {
	first := [][]string{{"seq", "answer", "justification"}}
	for i, v := range tricky {
		first = append(first, []string{fmt.Sprint(i + 1), "", v})
	}
	first = append(first, nil, []string{"", "", "", "after an empty row"}, []string{"x", "", "", ""})
	second := [][]string{{"only", "", "gap"}, {}, {"", "B3"}}
	data := write(t, Sheet{Name: "Statement", Rows: first, Header: true, Widths: []float64{6, 0, 60}}, Sheet{Name: "Notes & <more>", Rows: second})
	if again := write(t, Sheet{Name: "Statement", Rows: first, Header: true, Widths: []float64{6, 0, 60}}, Sheet{Name: "Notes & <more>", Rows: second}); !bytes.Equal(data, again) {
		t.Errorf("the same sheets made different bytes")
	}
	wb, err := Open(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := wb.Sheets(); !reflect.DeepEqual(got, []string{"Statement", "Notes & <more>"}) {
		t.Errorf("sheets: %q", got)
	}
	want := append([][]string{}, first...)
	want[len(want)-1] = []string{"x"} // trailing empty cells left out
	if got, _ := wb.Rows("statement"); !reflect.DeepEqual(got, want) {
		t.Errorf("first sheet:\n got %q\nwant %q", got, want)
	}
	if got, _ := wb.Rows("Notes & <more>"); !reflect.DeepEqual(got, [][]string{{"only", "", "gap"}, nil, {"", "B3"}}) {
		t.Errorf("second sheet: %q", got)
	}
	if _, err := wb.Rows("Sheet1"); err == nil || !strings.Contains(err.Error(), "Statement, Notes & <more>") {
		t.Errorf("a missing sheet: %v", err)
	}
	sst := part(t, data, "xl/sharedStrings.xml")
	distinct := map[string]bool{}
	for _, r := range append(first, second...) {
		for _, v := range r {
			distinct[v] = v != ""
		}
	}
	delete(distinct, "")
	if strings.Count(sst, "<si>") != len(distinct) || !strings.Contains(sst, fmt.Sprintf(`uniqueCount="%d"`, len(distinct))) {
		t.Errorf("shared strings are not each value once: %s", sst)
	}
	if !strings.Contains(sst, `<t xml:space="preserve"> leading and trailing </t>`) || !strings.Contains(sst, "bell_x0007_") || !strings.Contains(sst, "_x005F_x0041_ literal") {
		t.Errorf("escapes: %s", sst)
	}
}

func part(t testing.TB, data []byte, name string) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := z.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWriteFeatures: the bold header, column widths and drop-down list
// are in the sheet as Excel reads them, and what Excel would refuse is
// refused with the sheet, row and column.
func TestWriteFeatures(t *testing.T) {
	data := write(t, Sheet{Name: "Statement", Header: true, Widths: []float64{6, 0, 12.5},
		Rows:  [][]string{{"seq", "", "answer"}, {"1", "", ""}, {"2"}},
		Lists: []List{{Col: 3, FromRow: 2, ToRow: 3, Values: []string{"met", "partly", "not_met"}}}})
	sheet := part(t, data, "xl/worksheets/sheet1.xml")
	for _, want := range []string{
		`<dimension ref="A1:C3"/>`,
		`<col min="1" max="1" width="6" customWidth="1"/><col min="3" max="3" width="12.5" customWidth="1"/>`,
		`<c r="A1" s="1" t="s"><v>0</v></c><c r="C1" s="1" t="s">`,
		`<c r="A2" t="s">`,
		`<dataValidations count="1"><dataValidation type="list" allowBlank="1" sqref="C2:C3"><formula1>&#34;met,partly,not_met&#34;</formula1></dataValidation></dataValidations>`,
	} {
		if !strings.Contains(sheet, want) {
			t.Errorf("the sheet lacks %s:\n%s", want, sheet)
		}
	}
	// The elements in the schema's order, or Excel repairs the file.
	order := []string{"<dimension", "<sheetViews", "<sheetFormatPr", "<cols", "<sheetData", "<dataValidations"}
	for i := 1; i < len(order); i++ {
		if strings.Index(sheet, order[i-1]) > strings.Index(sheet, order[i]) {
			t.Errorf("%s after %s", order[i-1], order[i])
		}
	}
	if styles := part(t, data, "xl/styles.xml"); !strings.Contains(styles, `<font><b/>`) || !strings.Contains(styles, `<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>`) {
		t.Errorf("no bold style: %s", styles)
	}
	for _, p := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"} {
		part(t, data, p)
	}

	for _, c := range []struct {
		sheets []Sheet
		want   string
	}{
		{nil, "at least one sheet"},
		{[]Sheet{{Name: ""}}, "1 to 31 characters"},
		{[]Sheet{{Name: strings.Repeat("x", 32)}}, "1 to 31 characters"},
		{[]Sheet{{Name: "a/b"}}, "may not contain"},
		{[]Sheet{{Name: "'quoted'"}}, "may not contain"},
		{[]Sheet{{Name: "Same"}, {Name: "same"}}, "two sheets"},
		{[]Sheet{{Name: "S", Rows: [][]string{{"", "", strings.Repeat("é", MaxCellChars+1)}}}}, "sheet S row 1 column C: 32768 characters"},
		{[]Sheet{{Name: "S", Rows: [][]string{{"\xff"}}}}, "row 1 column A: the value is not UTF-8"},
		{[]Sheet{{Name: "S", Widths: []float64{300}}}, "widths are 0 to 255"},
		{[]Sheet{{Name: "S", Lists: []List{{Col: 1, FromRow: 3, ToRow: 2, Values: []string{"a"}}}}}, "outside the sheet"},
		{[]Sheet{{Name: "S", Lists: []List{{Col: 2, FromRow: 2, ToRow: 2}}}}, "at least one value"},
		{[]Sheet{{Name: "S", Lists: []List{{Col: 2, FromRow: 2, ToRow: 2, Values: []string{"a,b"}}}}}, "row 2 column B: list value"},
		{[]Sheet{{Name: "S", Lists: []List{{Col: 2, FromRow: 2, ToRow: 2, Values: []string{strings.Repeat("v", 200), strings.Repeat("w", 60)}}}}}, "261 characters"},
	} {
		if err := Write(io.Discard, c.sheets...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.sheets, err, c.want)
		}
	}
	// A 32,767-character cell, Excel's most, is written.
	if err := Write(io.Discard, Sheet{Name: "S", Rows: [][]string{{strings.Repeat("é", MaxCellChars)}}}); err != nil {
		t.Errorf("the longest cell: %v", err)
	}
}

// book zips parts as they are given (stored, not compressed, so that a
// fuzzer's changes reach the XML).
func book(t testing.TB, parts ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for i := 0; i+1 < len(parts); i += 2 {
		f, err := z.CreateHeader(&zip.FileHeader{Name: parts[i], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(f, parts[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const (
	rootRels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	oneSheetBook = `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`
	oneSheetRels = `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
)

// oneSheet is a workbook of one sheet S with the given sheetData and
// shared strings (<si> items).
func oneSheet(t testing.TB, sheetData, sis string) []byte {
	return book(t, "_rels/.rels", rootRels, "xl/workbook.xml", oneSheetBook, "xl/_rels/workbook.xml.rels", oneSheetRels,
		"xl/worksheets/sheet1.xml", `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`+sheetData+`</sheetData></worksheet>`,
		"xl/sharedStrings.xml", `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`+sis+`</sst>`)
}

// excelLike is a workbook written by hand the way Excel writes one after
// a supplier's edit, with the spellings the reader must follow: shared
// strings with rich-text runs, phonetic runs and _x000D_; inline strings,
// plain and rich; numbers, a date as its serial number, booleans, an
// error, a formula's text and number results; cells and rows left out
// and cells without a reference;
// white space kept with or without xml:space="preserve"; a chart sheet;
// a prefixed namespace; part names in another case, an
// absolute target and a byte-order mark.
func excelLike(t testing.TB) []byte {
	return book(t,
		"[Content_Types].xml", `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"_rels/.rels", rootRels,
		"xl/workbook.xml", "\ufeff"+`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:rel="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
  <x:sheets>
    <x:sheet name="Chart" sheetId="3" rel:id="rId9"/>
    <x:sheet name="Statement" sheetId="1" rel:id="rId1"/>
    <x:sheet name="Notes &amp; more_x0021_" sheetId="2" state="hidden" rel:id="rId2"/>
  </x:sheets>
</x:workbook>`,
		"xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
  <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/../worksheets/sheet2.xml"/>
  <Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/>
  <Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.org/" TargetMode="External"/>
  <Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>`,
		"xl/sharedStrings.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="9" uniqueCount="8">
  <si><t>seq</t></si>
  <si><t>answer</t></si>
  <si><t>justification</t></si>
  <si><r><t>Minutes</t></r><r><rPr><b/><sz val="11"/><rFont val="Calibri"/></rPr><t xml:space="preserve"> of the board, </t></r><r><t>March</t></r></si>
  <si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh><phoneticPr fontId="1"/></si>
  <si><t xml:space="preserve">first line_x000D_
second line </t></si>
  <si><t> not marked, kept </t></si>
  <si><t>Met</t></si>
  <si><t/></si>
</sst>`,
		"xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac">
  <dimension ref="A1:H9"/>
  <sheetViews><sheetView tabSelected="1" workbookViewId="0"><selection activeCell="C4" sqref="C4"/></sheetView></sheetViews>
  <sheetData>
    <row r="1" spans="1:3"><c r="A1" s="1" t="s"><v>0</v></c><c r="B1" s="1" t="s"><v>1</v></c><c r="C1" s="1" t="s"><v>2</v></c></row>
    <row r="2" spans="1:3"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>7</v></c><c r="C2" t="s"><v>3</v></c></row>
    <row r="4" spans="1:8" x14ac:dyDescent="0.25" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">
      <c r="A4" t="n"><v>2</v></c><c r="C4" t="inlineStr"><is><t xml:space="preserve"> inline </t></is></c>
      <c r="E4" s="3"><v>46082</v></c><c r="F4" t="b"><v>1</v></c><c t="b"><v>0</v></c><c r="H4" t="e"><f>1/0</f><v>#DIV/0!</v></c>
    </row>
    <row><c t="s"><v>4</v></c><c t="s"><v>5</v></c><c t="s"><v>6</v></c><c r="D5" t="str"><f>A2&amp;"x"</f><v>1x_x000D_</v></c><c r="E5"><f>A2*2.5</f><v>2.5</v></c></row>
    <row r="7"><c r="A7" s="2"/><c r="B7" t="s"><v>8</v></c><c r="C7" t="inlineStr"><is><r><t>rich </t></r><r><rPr><i/></rPr><t>inline</t></r></is></c></row>
    <row r="9"><c r="A9" t="n"><v>-1.5E-3</v></c></row>
    <row r="10" s="4" customFormat="1"><c r="A10" s="4"/><c r="B10" s="4"/></row>
  </sheetData>
  <dataValidations count="1"><dataValidation type="list" allowBlank="1" sqref="B2:B9"><formula1>"met,partly"</formula1></dataValidation></dataValidations>
  <pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>
</worksheet>`,
		"XL/Worksheets/Sheet2.XML", `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="3"><c r="B3" t="inlineStr"><is><t>B3 only</t></is></c></row></sheetData></worksheet>`,
		"xl/chartsheets/sheet1.xml", `<chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>`,
	)
}

func TestReadExcelSpellings(t *testing.T) {
	data := excelLike(t)
	wb, err := Open(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := wb.Sheets(); !reflect.DeepEqual(got, []string{"Statement", "Notes & more!"}) {
		t.Errorf("sheets (the chart sheet left out): %q", got)
	}
	got, err := wb.Rows("Statement")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"seq", "answer", "justification"},
		{"1", "Met", "Minutes of the board, March"},
		nil,
		{"2", "", " inline ", "", "46082", "TRUE", "FALSE", "#DIV/0!"},
		{"東京", "first line\r\nsecond line ", " not marked, kept ", "1x\r", "2.5"},
		nil,
		{"", "", "rich inline"},
		nil,
		{"-1.5E-3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %q\nwant %q", got, want)
	}
	if got, err := wb.Rows("notes & MORE!"); err != nil || !reflect.DeepEqual(got, [][]string{nil, nil, {"", "B3 only"}}) {
		t.Errorf("second sheet: %q %v", got, err)
	}
	if _, err := wb.Rows("Chart"); err == nil {
		t.Errorf("a chart sheet read as cells")
	}
}

// TestReadOtherLayouts: the workbook found through _rels/.rels wherever
// it is, the Strict namespaces, no shared strings part, and no
// _rels/.rels at all.
func TestReadOtherLayouts(t *testing.T) {
	strict := book(t,
		"_rels/.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="a" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" Target="/book/main.xml"/></Relationships>`,
		"book/main.xml", `<workbook xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main" xmlns:r="http://purl.oclc.org/ooxml/officeDocument/relationships"><sheets><sheet name="Only" sheetId="1" r:id="s1"/></sheets></workbook>`,
		"book/_rels/main.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="s1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet" Target="data/one.xml"/></Relationships>`,
		"book/data/one.xml", `<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheetData><row r="1"><c r="A1"><v>3</v></c><c r="B1" t="inlineStr"><is><t>three</t></is></c></row></sheetData></worksheet>`)
	if got := rowsOf(t, strict, "Only"); !reflect.DeepEqual(got, [][]string{{"3", "three"}}) {
		t.Errorf("strict: %q", got)
	}
	norels := book(t, "xl/workbook.xml", oneSheetBook, "xl/_rels/workbook.xml.rels", oneSheetRels,
		"xl/worksheets/sheet1.xml", `<worksheet><sheetData><row><c><v>7</v></c></row></sheetData></worksheet>`)
	if got := rowsOf(t, norels, "S"); !reflect.DeepEqual(got, [][]string{{"7"}}) {
		t.Errorf("no _rels/.rels, no shared strings: %q", got)
	}
}

// deflated is <sst> and n spaces, compressed.
func deflated(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	if _, err := w.Write(append([]byte("<sst>"), bytes.Repeat([]byte(" "), n)...)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReadLimits: a zip bomb is refused by the size it declares, and one
// that declares less than it holds when it goes past that (archive/zip
// stops there; the reader's own count of bytes is a second guard); too
// many entries and cells spread over the sheet are refused too.
func TestReadLimits(t *testing.T) {
	// 4 MiB of spaces in the shared strings, compressed to about 4 KiB
	// (a real bomb is larger; the limit is the same).
	bomb := func(declared uint64) []byte {
		var b bytes.Buffer
		z := zip.NewWriter(&b)
		for _, p := range [][2]string{{"_rels/.rels", rootRels}, {"xl/workbook.xml", oneSheetBook}, {"xl/_rels/workbook.xml.rels", oneSheetRels},
			{"xl/worksheets/sheet1.xml", `<worksheet><sheetData/></worksheet>`}} {
			f, _ := z.Create(p[0])
			_, _ = io.WriteString(f, p[1])
		}
		body := deflated(t, 4<<20)
		f, err := z.CreateRaw(&zip.FileHeader{Name: "xl/sharedStrings.xml", Method: zip.Deflate, CompressedSize64: uint64(len(body)), UncompressedSize64: declared, CRC32: crc32.ChecksumIEEE(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	wb, err := Open(bomb(4<<20+5), Limits{MaxUnpacked: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wb.Rows("S")
	var e *Error
	if !errors.Is(err, ErrLimit) || !errors.As(err, &e) || e.Part != "xl/sharedStrings.xml" || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Errorf("a bomb: %v", err)
	}
	if wb, err = Open(bomb(100), Limits{MaxUnpacked: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err = wb.Rows("S"); !errors.As(err, &e) || e.Part != "xl/sharedStrings.xml" || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("a bomb that declares 100 bytes: %v", err)
	}
	// The budget is the parts' sum: each is under it, not all together.
	spaces := strings.Repeat(" ", 40<<10)
	wb, err = Open(oneSheet(t, spaces, spaces), Limits{MaxUnpacked: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = wb.Rows("S"); !errors.Is(err, ErrLimit) || !errors.As(err, &e) || e.Part != "xl/worksheets/sheet1.xml" {
		t.Errorf("parts together: %v", err)
	}

	var many []string
	for i := range 11 {
		many = append(many, fmt.Sprintf("f%d", i), "")
	}
	if _, err := Open(book(t, many...), Limits{MaxEntries: 10}); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "11 files") {
		t.Errorf("entries: %v", err)
	}

	for _, far := range []string{`<row r="1048576"><c r="A1048576"><v>1</v></c></row>`, `<row r="2"><c r="XFD2"><v>1</v></c></row>`} {
		if wb, err = Open(oneSheet(t, `<row r="1"><c r="A1"><v>1</v></c></row>`+far, ""), Limits{MaxCells: 10000}); err != nil {
			t.Fatal(err)
		}
		if _, err := wb.Rows("S"); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "the sheet spreads over more than 10000 cells") {
			t.Errorf("cells: %v", err)
		}
	}
	// Formatted but empty rows to the last do not count.
	empty := oneSheet(t, `<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576" s="1"><c r="XFD1048576" s="1"/></row>`, "")
	if got := rowsOf(t, empty, "S"); !reflect.DeepEqual(got, [][]string{{"1"}}) {
		t.Errorf("empty formatted rows: %q", got)
	}
}

// TestReadErrors: each broken workbook is refused with where and why.
func TestReadErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("PK\x03\x04 not a zip"), "not an XLSX file"},
		{"no workbook", book(t, "a.txt", "x"), "xl/workbook.xml: the workbook part is missing"},
		{"no sheet part", book(t, "xl/workbook.xml", oneSheetBook, "xl/_rels/workbook.xml.rels", oneSheetRels), "xl/worksheets/sheet1.xml: the part is missing"},
		{"a sheet without its relationship", book(t, "xl/workbook.xml", oneSheetBook), `sheet "S" names relationship "rId1"`},
		{"bad workbook XML", book(t, "xl/workbook.xml", `<workbook><sheets>`), "xl/workbook.xml: not well-formed XML at line 1"},
		{"bad shared strings XML", oneSheet(t, "", "<si><t>a</si>"), "xl/sharedStrings.xml: not well-formed XML"},
		{"bad sheet XML", oneSheet(t, "<row r=\"1\">\n<c r=\"A1\"><v>1</v></row>", ""), "sheet S row 1: not well-formed XML at line 2 of xl/worksheets/sheet1.xml"},
		{"no such shared string", oneSheet(t, `<row r="2"><c r="B2" t="s"><v>5</v></c></row>`, "<si><t>a</t></si>"), `sheet S row 2 column B: shared string "5" does not exist (the workbook has 1)`},
		{"a bad boolean", oneSheet(t, `<row r="3"><c r="C3" t="b"><v>yes</v></c></row>`, ""), `sheet S row 3 column C: "yes" is not a boolean`},
		{"a bad number", oneSheet(t, `<row r="3"><c r="D3"><v>12,5</v></c></row>`, ""), `sheet S row 3 column D: "12,5" is not a number`},
		{"a bad type", oneSheet(t, `<row r="3"><c r="D3" t="q"><v>1</v></c></row>`, ""), `sheet S row 3 column D: cell type "q"`},
		{"a bad reference", oneSheet(t, `<row r="3"><c r="A1B"><v>1</v></c></row>`, ""), `sheet S row 3 column A: "A1B" is not a cell reference`},
		{"a cell in another row", oneSheet(t, `<row r="3"><c r="B4"><v>1</v></c></row>`, ""), "sheet S row 3 column B: cell B4 is inside row 3"},
		{"a bad row", oneSheet(t, `<row r="0"/>`, ""), `sheet S row 1: row number "0" is not 1 to 1048576`},
		{"past the last column", oneSheet(t, `<row r="1"><c r="XFD1"><v>1</v></c><c><v>2</v></c></row>`, ""), "past the last column"},
		{"a bad checksum", func() []byte {
			d := oneSheet(t, `<row r="1"><c r="A1"><v>1</v></c></row>`, "")
			i := bytes.Index(d, []byte(`<v>1</v>`))
			d[i+3] = '2'
			return d
		}(), "checksum"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wb, err := Open(c.data, Limits{})
			if err == nil {
				_, err = wb.Rows("S")
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrLimit) {
				t.Errorf("%v, want %q", err, c.want)
			}
		})
	}
}

// check holds for whatever Rows returns: within the limits, no trailing
// empty cell, and the same again after writing and reading it back.
func checkRows(t *testing.T, rows [][]string, lim Limits) {
	cells := len(rows)
	for i, r := range rows {
		cells += len(r)
		if len(r) > 0 && r[len(r)-1] == "" {
			t.Fatalf("row %d ends with an empty cell: %q", i+1, r)
		}
		if len(r) > MaxCols {
			t.Fatalf("row %d has %d cells", i+1, len(r))
		}
	}
	if len(rows) > 0 && len(rows[len(rows)-1]) == 0 {
		t.Fatalf("a trailing empty row")
	}
	if cells > lim.withDefaults().MaxCells || len(rows) > MaxRows {
		t.Fatalf("%d cells over the limit", cells)
	}
	var b bytes.Buffer
	if err := Write(&b, Sheet{Name: "S", Rows: rows}); err != nil {
		if strings.Contains(err.Error(), "a cell holds at most") {
			return
		}
		t.Fatalf("what was read cannot be written: %v", err)
	}
	wb, err := Open(b.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := wb.Rows("S")
	if err != nil || !reflect.DeepEqual(again, rows) {
		t.Fatalf("written and read again:\n got %q %v\nwant %q", again, err, rows)
	}
}

func fuzzLimits() Limits { return Limits{MaxEntries: 50, MaxUnpacked: 1 << 20, MaxCells: 1 << 14} }

// FuzzOpen reads any bytes as a workbook: no panic, an *Error when it
// fails, and rows within the limits that write and read back the same.
func FuzzOpen(f *testing.F) {
	f.Add(write(f, Sheet{Name: "Statement", Rows: [][]string{{"seq", "answer"}, {"1", "met"}}, Header: true, Widths: []float64{5}, Lists: []List{{Col: 2, FromRow: 2, ToRow: 2, Values: []string{"met"}}}}))
	f.Add(excelLike(f))
	f.Add(oneSheet(f, `<row r="2"><c r="B2" t="s"><v>0</v></c></row>`, "<si><r><t>a</t></r></si>"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		wb, err := Open(data, fuzzLimits())
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			return
		}
		for _, s := range wb.Sheets() {
			rows, err := wb.Rows(s)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("not an *Error: %v", err)
				}
				continue
			}
			checkRows(t, rows, fuzzLimits())
		}
	})
}

// FuzzSheetXML reads any sheet and shared strings XML in a well-formed
// zip, where byte changes do not stop at the zip's checksums.
func FuzzSheetXML(f *testing.F) {
	f.Add(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c></row><row r="3"><c t="b"><v>1</v></c><c><v>2.5</v></c></row>`,
		`<si><t>a_x000D_</t></si><si><r><t>b</t></r><r><t xml:space="preserve"> c</t></r><rPh><t>p</t></rPh></si>`)
	f.Add(`<row><c t="str"><f>A1</f><v>x</v></c><c t="e"><v>#N/A</v></c></row>`, ``)
	f.Add(`<row r="9"><c r="XFD9"><v>1</v></c></row>`, `<si><t/></si>`)
	f.Fuzz(func(t *testing.T, sheetData, sis string) {
		wb, err := Open(oneSheet(t, sheetData, sis), fuzzLimits())
		if err != nil {
			t.Fatalf("the frame did not open: %v", err)
		}
		rows, err := wb.Rows("S")
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Sheet == "" && e.Part == "" {
				t.Fatalf("an error without where: %v", err)
			}
			return
		}
		checkRows(t, rows, fuzzLimits())
	})
}
