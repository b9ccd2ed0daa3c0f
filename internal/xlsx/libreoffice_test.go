package xlsx

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "convert the supplier's edit with soffice again into testdata/libreoffice.xlsx")

// supplierEdit is a supplier's filled-in statement as LibreOffice's flat
// document format (.fods), for soffice to save as XLSX: the requirement
// numbers typed as numbers, a rich-text justification (a bold run), rows
// left empty between answers, a gap in a row, leading and trailing
// spaces, a date, a boolean, a fraction, two paragraphs in one cell, a
// formula's number and text results, and a second sheet whose name
// needs escaping.
const supplierEdit = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:automatic-styles>
<number:date-style style:name="N1"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/></number:date-style>
<number:boolean-style style:name="N2"><number:boolean/></number:boolean-style>
<style:style style:name="ce1" style:family="table-cell" style:data-style-name="N1"/>
<style:style style:name="ce2" style:family="table-cell" style:data-style-name="N2"/>
<style:style style:name="T1" style:family="text"><style:text-properties fo:font-weight="bold"/></style:style>
</office:automatic-styles>
<office:body><office:spreadsheet>
<table:table table:name="Statement">
<table:table-row><table:table-cell office:value-type="string"><text:p>seq</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>answer</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>justification</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Met</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Minutes <text:span text:style-name="T1">of the board</text:span>, March</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="3"/></table:table-row>
<table:table-row><table:table-cell office:value-type="float" office:value="2"><text:p>2</text:p></table:table-cell><table:table-cell/><table:table-cell office:value-type="string"><text:p><text:s/>two spaces<text:s text:c="2"/></text:p></table:table-cell><table:table-cell table:style-name="ce1" office:value-type="date" office:date-value="2026-03-01"><text:p>2026-03-01</text:p></table:table-cell><table:table-cell table:style-name="ce2" office:value-type="boolean" office:boolean-value="true"><text:p>TRUE</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="0.25"><text:p>0.25</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>line one</text:p><text:p>line two</text:p></table:table-cell><table:table-cell table:formula="of:=[.A2]+1" office:value-type="float" office:value="2"><text:p>2</text:p></table:table-cell><table:table-cell table:formula="of:=&quot;x&quot;&amp;&quot;y&quot;" office:value-type="string" office:string-value="xy"><text:p>xy</text:p></table:table-cell></table:table-row>
</table:table>
<table:table table:name="Notes &amp; more"><table:table-row><table:table-cell/><table:table-cell office:value-type="string"><text:p>B1 only</text:p></table:table-cell></table:table-row></table:table>
</office:spreadsheet></office:body></office:document>
`

// supplierEditRows is what a person sees in supplierEdit's cells (less
// number formats: the date is its serial number, 2026-03-01).
var supplierEditRows = map[string][][]string{
	"Statement": {
		{"seq", "answer", "justification"},
		{"1", "Met", "Minutes of the board, March"},
		nil,
		nil,
		{"2", "", " two spaces  ", "46082", "TRUE", "0.25", "line one\nline two", "2", "xy"},
	},
	"Notes & more": {{"", "B1 only"}},
}

func checkSupplierEdit(t *testing.T, what string, data []byte) {
	t.Helper()
	wb, err := Open(data, Limits{})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := wb.Sheets(); !reflect.DeepEqual(got, []string{"Statement", "Notes & more"}) {
		t.Errorf("%s: sheets %q", what, got)
	}
	for name, want := range supplierEditRows {
		got, err := wb.Rows(name)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s, sheet %s:\n got %q %v\nwant %q", what, name, got, err, want)
		}
	}
}

// TestLibreOfficeSaved reads a workbook as LibreOffice Calc saves it:
// testdata/libreoffice.xlsx, which soffice 7.4 converted from
// supplierEdit (go test -run TestLibreOfficeNow -update converts it again).
func TestLibreOfficeSaved(t *testing.T) {
	data, err := os.ReadFile("testdata/libreoffice.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	checkSupplierEdit(t, "testdata/libreoffice.xlsx", data)
}

// TestLibreOfficeNow, where soffice is installed, has LibreOffice convert
// supplierEdit now and read it, and open our own export and save it
// again: its values, widths, bold header and drop-down list kept.
func TestLibreOfficeNow(t *testing.T) {

	soffice, err := exec.LookPath("soffice")
	if err != nil || testing.Short() {
		if *update {
			t.Fatal("-update needs soffice (apt-get install libreoffice-calc-nogui) and no -short")
		}
		t.Skip("soffice is not installed (or -short): TestLibreOfficeSaved reads the conversion saved in testdata")
	}
	dir := t.TempDir()
	ours := [][]string{{"seq", "requirement", "answer", "justification"}, {"1", "Board direction", "", ""}, {"2", "=1+1 not a formula", "met", " spaced "}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "edit.fods"), []byte(supplierEdit), 0o600))
	must(os.WriteFile(filepath.Join(dir, "ours.xlsx"), write(t, Sheet{Name: "Statement", Rows: ours, Header: true, Widths: []float64{6, 40},
		Lists: []List{{Col: 3, FromRow: 2, ToRow: 3, Values: []string{"met", "partly"}}}}), 0o600))
	// One soffice start for both (about 3 s); its own profile, so that
	// another soffice running does not take the conversion over.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.ToSlash(filepath.Join(dir, "profile")),
		"--convert-to", "xlsx", "--outdir", filepath.Join(dir, "out"), filepath.Join(dir, "edit.fods"), filepath.Join(dir, "ours.xlsx"))
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "out", "edit.xlsx"))
	if err != nil {
		t.Fatalf("soffice wrote no edit.xlsx: %v\n%s", err, out)
	}
	checkSupplierEdit(t, "converted now", fresh)
	if *update {
		must(os.WriteFile("testdata/libreoffice.xlsx", fresh, 0o644))
	}

	resaved, err := os.ReadFile(filepath.Join(dir, "out", "ours.xlsx"))
	if err != nil {
		t.Fatalf("soffice wrote no ours.xlsx: %v\n%s", err, out)
	}
	ours[1] = ours[1][:2] // trailing empty cells are left out
	if got := rowsOf(t, resaved, "Statement"); !reflect.DeepEqual(got, ours) {
		t.Errorf("our export saved by LibreOffice:\n got %q\nwant %q", got, ours)
	}
	sheet := part(t, resaved, "xl/worksheets/sheet1.xml")
	for _, want := range []string{`type="list"`, `sqref="C2:C3"`, `<formula1>&quot;met,partly&quot;</formula1>`, `width="40"`, `<c r="A1" s="1" t="s">`} {
		if !strings.Contains(sheet, want) {
			t.Errorf("LibreOffice dropped %s:\n%s", want, sheet)
		}
	}
	if styles := part(t, resaved, "xl/styles.xml"); !strings.Contains(styles, `<b val="true"/>`) {
		t.Errorf("LibreOffice dropped the bold header:\n%s", styles)
	}
}
