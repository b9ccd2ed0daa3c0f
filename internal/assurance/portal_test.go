package assurance

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/xlsx"
)

// TestLinksSingleUseExpiringNarrow: a link opens one session once; the
// session reaches its statement and nothing else; expired, reused,
// revoked-by-use and forged links and sessions are all refused alike;
// only hashes are stored; making and using are audited.
func TestLinksSingleUseExpiringNarrow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, reg, set := tierWorld(t, db)
		now := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
		s, err := New(Options{DB: db, Audit: audit.New(db, func() time.Time { return now }), Orgs: w.s.orgs, Register: reg, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Links", SetID: set, Deadline: "2027-02-10", Suppliers: []string{"SUP-A", "SUP-B"}})
		if err != nil {
			t.Fatal(err)
		}
		stA, stB := c.Statements[0].ID, c.Statements[1].ID
		if _, err := s.CreateLink(ctx, w.repA, stA, NewLink{Recipient: "alf@alpha.test"}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the supplier made its own link: %v", err)
		}
		if _, err := s.CreateLink(ctx, w.t1, stA, NewLink{Recipient: "x"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a trust made a link: %v", err)
		}
		if _, err := s.CreateLink(ctx, w.nat, stA, NewLink{Recipient: "x", Days: 31}); !isInvalid(err, "days") {
			t.Errorf("31 days: %v", err)
		}
		l, err := s.CreateLink(ctx, w.nat, stA, NewLink{Recipient: "Alf <alf@alpha.test>", Days: 2})
		if err != nil || len(l.Token) < 40 || l.Path != "/assurance/link/"+l.Token {
			t.Fatalf("link %+v %v", l, err)
		}
		var stored int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM assurance_links WHERE token_hash = ?`, l.Token).Scan(&stored); err != nil || stored != 0 {
			t.Errorf("the token is stored as it is (%d, %v)", stored, err)
		}
		if info, err := s.PeekLink(ctx, l.Token); err != nil || info.SupplierName != "Alpha Ltd" {
			t.Errorf("peek: %+v %v", info, err)
		}
		p, err := s.RedeemLink(ctx, l.Token, "192.0.2.7")
		if err != nil || p.StatementID != stA {
			t.Fatalf("redeem: %+v %v", p, err)
		}
		// Used once: a second use, a forged token, a peek — all the same answer.
		for _, tok := range []string{l.Token, l.Token + "x", "", "nonsense"} {
			if _, err := s.RedeemLink(ctx, tok, "192.0.2.8"); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("redeem %q again: %v", tok, err)
			}
			if _, err := s.PeekLink(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("peek %q: %v", tok, err)
			}
		}
		// The session: its statement, answerable, exportable, importable, submittable.
		sess, err := s.PortalSession(ctx, p.Secret)
		if err != nil || !sess.CheckCSRF(p.CSRF) || sess.CheckCSRF("") || sess.CheckCSRF(p.CSRF+"x") {
			t.Fatalf("session: %v", err)
		}
		pctx, psc := sess.As(ctx, "192.0.2.7")
		if len(psc.Grants) != 0 {
			t.Fatalf("the portal scope holds grants: %+v", psc)
		}
		if _, err := s.SaveAnswer(pctx, psc, stA, 1, AnswerInput{Answer: Met, Justification: "via the link"}); err != nil {
			t.Fatal(err)
		}
		// … and nothing else: B's statement, the campaign, lists, progress, tiers.
		if _, err := s.GetStatement(pctx, psc, stB); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the link reads another statement: %v", err)
		}
		if _, err := s.SaveAnswer(pctx, psc, stB, 1, AnswerInput{Answer: Met}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the link answers another statement: %v", err)
		}
		if _, err := s.GetCampaign(pctx, psc, c.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the link reads the campaign: %v", err)
		}
		if list, err := s.ListStatements(pctx, psc, StatementFilter{}); err != nil || len(list) != 0 {
			t.Errorf("the link lists statements: %d %v", len(list), err)
		}
		if _, err := s.CampaignProgress(pctx, psc, c.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the link reads progress: %v", err)
		}
		if _, err := s.CreateLink(pctx, psc, stA, NewLink{Recipient: "more"}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the link makes links: %v", err)
		}
		if _, err := s.Review(pctx, psc, stA, 1, ReviewAccepted, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the link reviews: %v", err)
		}
		if _, err := s.Tiers(pctx, psc); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the link reads tiers: %v", err)
		}
		// The grant lives in the context of this session only: the same
		// scope without it is nobody.
		if _, err := s.GetStatement(ctx, psc, stA); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the portal scope without its context: %v", err)
		}
		// Expiry: the session after 8 hours, and an unused link after its days.
		l2, err := s.CreateLink(ctx, w.nat, stB, NewLink{Recipient: "bea@beta.test", Days: 1})
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(PortalSessionTTL)
		if _, err := s.PortalSession(ctx, p.Secret); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("a session past its 8 hours: %v", err)
		}
		now = now.Add(16 * time.Hour)
		if _, err := s.RedeemLink(ctx, l2.Token, "192.0.2.9"); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("an expired link: %v", err)
		}
		// A link to a statement no longer a draft is spent too.
		l3, err := s.CreateLink(ctx, w.nat, stB, NewLink{Recipient: "bea@beta.test"})
		if err != nil {
			t.Fatal(err)
		}
		for seq := 1; seq <= 2; seq++ {
			if _, err := s.SaveAnswer(ctx, w.repB, stB, seq, AnswerInput{Answer: Met}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Submit(ctx, w.repB, stB, "CEO"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RedeemLink(ctx, l3.Token, "192.0.2.9"); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("a link to a submitted statement: %v", err)
		}
		if _, err := s.CreateLink(ctx, w.nat, stB, NewLink{Recipient: "x"}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("a link to a submitted statement was made: %v", err)
		}
		// Revoked: an unused link cannot be opened, nor revoked twice, nor by the supplier.
		l4, err := s.CreateLink(ctx, w.nat, stA, NewLink{Recipient: "late"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeLink(ctx, w.repA, stA, l4.ID); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the supplier revoked a link: %v", err)
		}
		if _, err := s.RevokeLink(ctx, w.nat, stB, l4.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("revoked through another statement: %v", err)
		}
		if _, err := s.RevokeLink(ctx, w.nat, stA, l4.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeLink(ctx, w.nat, stA, l4.ID); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("revoked twice: %v", err)
		}
		if _, err := s.RedeemLink(ctx, l4.Token, "192.0.2.10"); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("a revoked link opened: %v", err)
		}
		links, err := s.ListLinks(ctx, w.nat, stA)
		if err != nil || len(links) != 2 || links[0].UsedAt == "" || links[0].Token != "" || !links[1].Revoked {
			t.Errorf("links: %+v %v", links, err)
		}
		if _, err := s.ListLinks(ctx, w.repA, stA); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the supplier lists links: %v", err)
		}
		var who string
		if err := db.Q().QueryRowContext(ctx, `SELECT actor_id || ' ' || actor FROM audit_log WHERE action = 'assurance.answer.save' AND object_id = ?`, stA).Scan(&who); err != nil || !strings.HasPrefix(who, "link:LK") || !strings.Contains(who, "single-use link") {
			t.Errorf("the answer's actor: %q %v", who, err)
		}
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action IN ('assurance.link.create', 'assurance.link.use', 'assurance.link.revoke')`).Scan(&n); err != nil || n != 6 {
			t.Errorf("%d link audit entries (%v), want 4 made + 1 used + 1 revoked", n, err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func xlsxOf(t testing.TB, rows [][]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := xlsx.Write(&b, xlsx.Sheet{Name: SheetName, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sheetEdit is a workbook's rows being filled in, cell by cell.
type sheetEdit [][]string

func (e *sheetEdit) set(t testing.TB, ref, v string) {
	t.Helper()
	row, col, err := xlsx.ParseCell(ref)
	if err != nil {
		t.Fatal(err)
	}
	for len(*e) < row {
		*e = append(*e, nil)
	}
	r := (*e)[row-1]
	for len(r) < col {
		r = append(r, "")
	}
	r[col-1] = v
	(*e)[row-1] = r
}

// bytes is the workbook as it is now, saved.
func (e sheetEdit) bytes(t testing.TB) []byte {
	t.Helper()
	return xlsxOf(t, e)
}

// TestSpreadsheetRoundTrip exports a statement as XLSX and CSV, fills the
// file in, imports it; a file with bad cells names each and stores
// nothing.
func TestSpreadsheetRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, _, set := tierWorld(t, db)
		s := w.s
		c, err := s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Sheets", SetID: set, Deadline: "2027-02-10", Suppliers: []string{"SUP-A"}})
		if err != nil {
			t.Fatal(err)
		}
		id := c.Statements[0].ID
		name, ct, data, err := s.ExportSheet(ctx, w.repA, id, FormatXLSX)
		if err != nil || name != "statement-"+id+".xlsx" || !strings.Contains(ct, "spreadsheetml") {
			t.Fatalf("export: %s %s %v", name, ct, err)
		}
		if _, _, _, err := s.ExportSheet(ctx, w.repB, id, FormatXLSX); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("another supplier exports: %v", err)
		}
		// Fill it in as a person would: open, type, save.
		wb, err := xlsx.Open(data, xlsx.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := wb.Sheets(); len(got) != 1 || got[0] != SheetName {
			t.Fatalf("sheets: %q", got)
		}
		rows, err := wb.Rows(SheetName)
		if err != nil || len(rows) != 3 || rows[0][6] != "answer" || rows[1][2] != "Board direction" {
			t.Fatalf("exported rows: %q %v", rows, err)
		}
		f := sheetEdit(rows)
		f.set(t, "G2", "Met")
		f.set(t, "H2", "Minutes of the board, March")
		f.set(t, "G3", "not applicable")
		f.set(t, "H3", "=1+1 no staff")
		filled := f.bytes(t)
		// Bad first: one good row, two bad ones; nothing stored.
		f.set(t, "G3", "maybe")
		f.set(t, "A4", "9")
		f.set(t, "G4", "met")
		_, err = s.ImportSheet(ctx, w.repA, id, "filled.xlsx", f.bytes(t))
		var se *SheetError
		if !errors.As(err, &se) || len(se.Cells) != 1 || se.Cells[0].Row != 3 || se.Cells[0].Column != "G (answer)" || se.Cells[0].Sheet != SheetName || !isInvalid(err, "file") {
			t.Fatalf("bad import: %v", err)
		}
		// The answer fixed, row 4's requirement 9 is not in the statement.
		f.set(t, "G3", "met")
		if _, err = s.ImportSheet(ctx, w.repA, id, "filled.xlsx", f.bytes(t)); !errors.As(err, &se) || se.Cells[0].Row != 4 || !strings.Contains(se.Cells[0].Reason, "9 is not a requirement") {
			t.Fatalf("unknown requirement: %v", err)
		}
		if st, _ := s.GetStatement(ctx, w.repA, id); st.Answered != 0 {
			t.Fatalf("a refused import stored %d answers", st.Answered)
		}
		if _, err := s.ImportSheet(ctx, w.nat, id, "filled.xlsx", filled); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the assessor imported answers: %v", err)
		}
		res, err := s.ImportSheet(ctx, w.repA, id, `C:\Users\alf\filled.xlsx`, filled)
		if err != nil || res.Saved != 2 || res.File != "filled.xlsx" {
			t.Fatalf("import: %+v %v", res, err)
		}
		st, _ := s.GetStatement(ctx, w.repA, id)
		if st.Answers[0].Answer != Met || st.Answers[1].Answer != NotApplicable || st.Answers[1].Justification != "=1+1 no staff" {
			t.Fatalf("answers: %+v", st.Answers)
		}
		// Again: unchanged. Then the CSV round trip, formula neutralised.
		if res, err = s.ImportSheet(ctx, w.repA, id, "filled.xlsx", filled); err != nil || res.Saved != 0 || res.Unchanged != 2 {
			t.Errorf("again: %+v %v", res, err)
		}
		_, _, csvData, err := s.ExportSheet(ctx, w.repA, id, FormatCSV)
		if err != nil || !strings.Contains(string(csvData), "'=1+1 no staff") {
			t.Fatalf("csv: %s %v", csvData, err)
		}
		edited := strings.Replace(string(csvData), "Minutes of the board, March", "Minutes, April", 1)
		if res, err = s.ImportSheet(ctx, w.repA, id, "filled.csv", []byte(edited)); err != nil || res.Saved != 1 {
			t.Fatalf("csv import: %+v %v", res, err)
		}
		st, _ = s.GetStatement(ctx, w.repA, id)
		if st.Answers[0].Justification != "Minutes, April" || st.Answers[1].Justification != "=1+1 no staff" {
			t.Errorf("after csv: %+v", st.Answers)
		}
		_, err = s.ImportSheet(ctx, w.repA, id, "x.csv", []byte("seq,answer,justification\n1,met,ok\n1,partly,again\nx,met,\n2,not_applicable,\n"))
		if !errors.As(err, &se) || len(se.Cells) != 3 || se.Cells[0].Row != 3 || se.Cells[1].Column != "A (seq)" || se.Cells[2].Column != "C (justification)" {
			t.Errorf("csv cell errors: %v", err)
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func TestParseSheetBadFiles(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty.csv":     nil,
		"noheader.csv":  []byte("a,b\n1,2\n"),
		"quote.csv":     []byte("seq,answer,justification\n1,\"met\n"),
		"broken.xlsx":   []byte("PK\x03\x04 not a zip"),
		"dupheader.csv": []byte("seq,seq,answer,justification\n"),
	} {
		if _, err := ParseSheet(name, data); err == nil || !strings.Contains(err.Error(), name) && !isInvalid(err, "file") {
			t.Errorf("%s: %v", name, err)
		}
	}
	rows, err := ParseSheet("ok.xlsx", xlsxOf(t, [][]string{{"Seq", "Answer", "Justification"}, {"1", "Partly met", "half"}, {"2", "", ""}}))
	if err != nil || len(rows) != 1 || rows[0].Answer != Partly {
		t.Errorf("labels and blanks: %+v %v", rows, err)
	}
	// A cell the reader cannot read is named as a bad cell; a broken
	// workbook names its part.
	var se *SheetError
	if _, err := ParseSheet("cell.xlsx", sheetXML(t, `<row r="1"><c r="A1" t="inlineStr"><is><t>seq</t></is></c></row><row r="4"><c r="C4" t="s"><v>7</v></c></row>`)); !errors.As(err, &se) ||
		len(se.Cells) != 1 || se.Cells[0].Row != 4 || se.Cells[0].Column != "C" || se.Cells[0].Sheet != SheetName || !strings.Contains(err.Error(), "shared string") {
		t.Errorf("a bad cell: %v", err)
	}
	if _, err := ParseSheet("xml.xlsx", sheetXML(t, `<row r="1"><c r="A1">`)); !isInvalid(err, "file") || !strings.Contains(err.Error(), "xml.xlsx is not a spreadsheet Vigil can read (sheet Statement row 1): not well-formed XML at line 1") {
		t.Errorf("bad XML: %v", err)
	}
}

// sheetXML is a workbook of one sheet, Statement, with the given sheetData.
func sheetXML(t testing.TB, sheetData string) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, p := range [][2]string{
		{"xl/workbook.xml", `<workbook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Statement" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", `<worksheet><sheetData>` + sheetData + `</sheetData></worksheet>`},
	} {
		f, err := z.Create(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(p[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParseSheetLibreOffice reads a statement filled in and saved by
// LibreOffice Calc (internal/xlsx's fixture): the numbers it made of the
// requirement numbers, rich text, and rows counted across the empty ones.
func TestParseSheetLibreOffice(t *testing.T) {
	data, err := os.ReadFile("../xlsx/testdata/libreoffice.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseSheet("calc.xlsx", data)
	var se *SheetError
	if !errors.As(err, &se) || len(se.Cells) != 1 || se.Cells[0].Row != 5 || se.Cells[0].Column != "B (answer)" || !strings.Contains(se.Cells[0].Reason, "a justification is given") {
		t.Fatalf("row 5 has a justification and no answer: %v", err)
	}
}

// TestExportSheetXLSX: the export's bold header, widths and drop-down.
func TestExportSheetXLSX(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, _, set := tierWorld(t, db)
		c, err := w.s.CreateCampaign(ctx, w.nat, NewCampaign{Name: "Look", SetID: set, Deadline: "2027-02-10", Suppliers: []string{"SUP-A"}})
		if err != nil {
			t.Fatal(err)
		}
		_, _, data, err := w.s.ExportSheet(ctx, w.repA, c.Statements[0].ID, FormatXLSX)
		if err != nil {
			t.Fatal(err)
		}
		z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		f, err := z.Open("xl/worksheets/sheet1.xml")
		if err != nil {
			t.Fatal(err)
		}
		sheet, _ := io.ReadAll(f)
		for _, want := range []string{`<c r="A1" s="1" t="s">`, `<col min="8" max="8" width="60" customWidth="1"/>`, `sqref="G2:G3"><formula1>&#34;met,partly,not_met,not_applicable&#34;</formula1>`} {
			if !strings.Contains(string(sheet), want) {
				t.Errorf("the export lacks %s:\n%s", want, sheet)
			}
		}
	}, audit.Migrations(), org.Migrations(), supply.Migrations(), Migrations())
}

func FuzzParseSheet(f *testing.F) {
	f.Add("a.csv", []byte("seq,answer,justification\n1,met,ok\n"))
	f.Add("a.csv", []byte("seq,answer,justification\n1,not_applicable,\n2,maybe,x\n"))
	f.Add("a.xlsx", xlsxOf(f, [][]string{{"seq", "answer", "justification"}, {"1", "met", "ok"}}))
	f.Add("a.xlsx", []byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		rows, err := ParseSheet(name, data)
		if err != nil {
			if rows != nil {
				t.Fatalf("rows beside an error")
			}
			var se *SheetError
			var inv *fault.Invalid
			if !errors.As(err, &se) && !errors.As(err, &inv) {
				t.Fatalf("an error that is not a sheet or invalid error: %v", err)
			}
			return
		}
		for _, r := range rows {
			if r.Seq < 1 || r.Row < 2 || r.Answer == "" || (r.Answer == NotApplicable && r.Justification == "") {
				t.Fatalf("row %+v", r)
			}
		}
	})
}

var _ = scope.Scope{}
