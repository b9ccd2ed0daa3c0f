package assurance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/xlsx"
)

// The spreadsheet round trip (issue 20, item 4): a statement's questions
// exported as XLSX or CSV, filled in, and imported again — all of it or
// nothing, every bad cell named by sheet, row and column.
//
// XLSX is written and read by internal/xlsx, which follows the spellings
// a filled-in file comes back in from Excel, LibreOffice or Google Sheets
// (shared strings, rich text, inline strings, numbers for typed numbers,
// rows and cells left out). It replaced github.com/xuri/excelize/v2,
// whose initialisers ran for 3.3 ms in every vigil process (issue 18).

// SheetName is the worksheet the export writes and the import reads
// (the first sheet when there is no sheet of that name).
const SheetName = "Statement"

// MaxSheet bounds an imported spreadsheet, and unpacked XLSX parts.
const MaxSheet = 5 << 20

// sheetColumns are the export's columns; the import needs seq, answer and
// justification and ignores the others. sheetWidths are their widths in
// the XLSX, in characters.
var (
	sheetColumns = []string{"seq", "ref", "requirement", "objective", "principle", "weight", "answer", "justification"}
	sheetWidths  = []float64{6, 10, 50, 30, 30, 8, 16, 60}
)

// CellError is one bad cell of an imported spreadsheet.
type CellError struct {
	Sheet  string `json:"sheet"`
	Row    int    `json:"row"`
	Column string `json:"column"` // the column's letter and header, e.g. "G (answer)"
	Reason string `json:"reason"`
}

func (c CellError) String() string {
	if c.Column == "" {
		return fmt.Sprintf("%s row %d: %s", c.Sheet, c.Row, c.Reason)
	}
	return fmt.Sprintf("%s row %d column %s: %s", c.Sheet, c.Row, c.Column, c.Reason)
}

// SheetError is an import refused, with every bad cell. Nothing was
// stored.
type SheetError struct {
	File  string      `json:"file"`
	Cells []CellError `json:"cells"`
}

func (e *SheetError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d bad cells, nothing imported", e.File, len(e.Cells))
	for i, c := range e.Cells {
		if i == 20 {
			fmt.Fprintf(&b, "; and %d more", len(e.Cells)-20)
			break
		}
		b.WriteString("; " + c.String())
	}
	return b.String()
}

// Unwrap makes it an invalid request (400) naming the file.
func (e *SheetError) Unwrap() error { return &fault.Invalid{Field: "file", Reason: e.Error()} }

// SheetRow is one filled-in row.
type SheetRow struct {
	Row           int
	Seq           int
	Answer        Answer
	Justification string
}

func colName(i int, header string) string {
	return xlsx.ColumnName(i+1) + " (" + header + ")"
}

// answerOfCell reads an answer cell: the value (met, partly, not_met,
// not_applicable) or its label, in any case; "" is not answered.
func answerOfCell(v string) (Answer, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return "", true
	}
	for _, a := range Answers() {
		if v == string(a) || v == strings.ToLower(a.Label()) || v == strings.ReplaceAll(string(a), "_", " ") {
			return a, true
		}
	}
	return "", false
}

// ParseSheet reads a filled-in statement spreadsheet (XLSX by its
// signature, else CSV). Rows whose answer is empty are left out. Every
// problem is reported, by cell.
func ParseSheet(name string, data []byte) (rows []SheetRow, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, err = nil, &SheetError{File: name, Cells: []CellError{{Sheet: SheetName, Reason: fmt.Sprintf("the file could not be read (%v)", r)}}}
		}
	}()
	if len(data) > MaxSheet {
		return nil, fault.Invalidf("file", "%s is larger than 5 MiB, the most a statement spreadsheet may be", name)
	}
	sheet := SheetName
	var table [][]string
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		wb, err := xlsx.Open(data, xlsx.Limits{MaxUnpacked: MaxSheet * 4, MaxCells: sheetCells})
		if err != nil {
			return nil, xlsxError(name, err)
		}
		list := wb.Sheets()
		if len(list) == 0 {
			return nil, fault.Invalidf("file", "%s has no worksheet", name)
		}
		sheet = list[0]
		for _, s := range list {
			if strings.EqualFold(s, SheetName) {
				sheet = s
			}
		}
		if table, err = wb.Rows(sheet); err != nil {
			return nil, xlsxError(name, err)
		}
	} else {
		sheet = path.Base(name)
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var pe *csv.ParseError
				line := 0
				if errors.As(err, &pe) {
					line = pe.Line
				}
				return nil, &SheetError{File: name, Cells: []CellError{{Sheet: sheet, Row: line, Reason: "not CSV: " + err.Error()}}}
			}
			for i := range rec {
				rec[i] = uncell(rec[i])
			}
			table = append(table, rec)
		}
	}
	return parseTable(name, sheet, table)
}

// sheetCells bounds the cells of an imported sheet: a statement has tens
// of requirements of eight columns.
const sheetCells = 1 << 20

// xlsxError is a workbook that could not be read: by cell when the
// reader names one, else the file.
func xlsxError(name string, err error) error {
	var e *xlsx.Error
	if errors.As(err, &e) && e.Sheet != "" && e.Row > 0 && e.Col > 0 {
		return &SheetError{File: name, Cells: []CellError{{Sheet: e.Sheet, Row: e.Row, Column: xlsx.ColumnName(e.Col), Reason: e.Reason}}}
	}
	if errors.As(err, &e) {
		where := ""
		switch {
		case e.Sheet != "" && e.Row > 0:
			where = fmt.Sprintf(" (sheet %s row %d)", e.Sheet, e.Row)
		case e.Sheet != "":
			where = " (sheet " + e.Sheet + ")"
		case e.Part != "":
			where = " (" + e.Part + ")"
		}
		return fault.Invalidf("file", "%s is not a spreadsheet Vigil can read%s: %s", name, where, e.Reason)
	}
	return fault.Invalidf("file", "%s is not a spreadsheet Vigil can read: %v", name, err)
}

func parseTable(name, sheet string, table [][]string) ([]SheetRow, error) {
	se := &SheetError{File: name}
	bad := func(row, col int, header, format string, a ...any) {
		c := ""
		if col >= 0 {
			c = colName(col, header)
		}
		se.Cells = append(se.Cells, CellError{Sheet: sheet, Row: row, Column: c, Reason: fmt.Sprintf(format, a...)})
	}
	if len(table) == 0 {
		bad(1, -1, "", "the sheet is empty: keep the header row the export wrote (%s)", strings.Join(sheetColumns, ", "))
		return nil, se
	}
	idx := map[string]int{}
	for i, h := range table[0] {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := idx[h]; dup && h != "" {
			bad(1, i, h, "the column %q appears twice", h)
			continue
		}
		idx[h] = i
	}
	for _, need := range []string{"seq", "answer", "justification"} {
		if _, ok := idx[need]; !ok {
			bad(1, -1, "", "the header has no %q column (keep the header row the export wrote)", need)
		}
	}
	if len(se.Cells) > 0 {
		return nil, se
	}
	cell := func(rec []string, col string) string {
		if i := idx[col]; i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []SheetRow
	seen := map[int]int{}
	for r, rec := range table[1:] {
		row := r + 2
		seqText, ansText, just := cell(rec, "seq"), cell(rec, "answer"), cell(rec, "justification")
		if seqText == "" && ansText == "" && just == "" {
			continue
		}
		seq, err := strconv.Atoi(seqText)
		if err != nil || seq < 1 {
			bad(row, idx["seq"], "seq", "%q is not a requirement number (keep the seq column as exported)", seqText)
			continue
		}
		if prev, dup := seen[seq]; dup {
			bad(row, idx["seq"], "seq", "requirement %d is answered twice (also on row %d)", seq, prev)
			continue
		}
		seen[seq] = row
		a, ok := answerOfCell(ansText)
		if !ok {
			bad(row, idx["answer"], "answer", "%q is not met, partly, not_met or not_applicable", ansText)
			continue
		}
		if p := safetext.Problem(just, safetext.Text, safetext.MaxText); p != "" {
			bad(row, idx["justification"], "justification", "%s", p)
			continue
		}
		if a == "" {
			if just != "" {
				bad(row, idx["answer"], "answer", "is empty but a justification is given: choose an answer or clear the justification")
			}
			continue
		}
		if a == NotApplicable && just == "" {
			bad(row, idx["justification"], "justification", "is required for not applicable: say why the requirement does not apply")
			continue
		}
		out = append(out, SheetRow{Row: row, Seq: seq, Answer: a, Justification: just})
	}
	if len(se.Cells) > 0 {
		return nil, se
	}
	return out, nil
}

// Sheet formats.
const (
	FormatXLSX = "xlsx"
	FormatCSV  = "csv"
)

// ExportSheet writes a statement's requirements and current answers as
// XLSX or CSV, for whoever may answer or assess it. It returns the file
// name, content type and bytes.
func (s *Service) ExportSheet(ctx context.Context, sc scope.Scope, id, format string) (string, string, []byte, error) {
	st, err := s.GetStatement(ctx, sc, id)
	if err != nil {
		return "", "", nil, err
	}
	if !st.May.Supply && !st.May.Assess {
		return "", "", nil, fault.NotFoundf("no statement %s", id)
	}
	rows := [][]string{sheetColumns}
	for _, a := range st.Answers {
		rows = append(rows, []string{strconv.Itoa(a.Seq), a.Ref, a.Name, a.ObjectiveName, a.PrincipleName, strconv.Itoa(a.Weight), string(a.Answer), a.Justification})
	}
	base := "statement-" + st.ID
	switch format {
	case FormatCSV:
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		for _, r := range rows {
			if err := w.Write(supply.CSVRow(r...)); err != nil {
				return "", "", nil, err
			}
		}
		w.Flush()
		return base + ".csv", "text/csv; charset=utf-8", b.Bytes(), w.Error()
	case FormatXLSX, "":
		sh := xlsx.Sheet{Name: SheetName, Rows: rows, Header: true, Widths: sheetWidths}
		if len(rows) > 1 {
			// The answer column offers the four answers.
			sh.Lists = []xlsx.List{{Col: slices.Index(sheetColumns, "answer") + 1, FromRow: 2, ToRow: len(rows),
				Values: []string{string(Met), string(Partly), string(NotMet), string(NotApplicable)}}}
		}
		var b bytes.Buffer
		if err := xlsx.Write(&b, sh); err != nil {
			return "", "", nil, err
		}
		return base + ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b.Bytes(), nil
	}
	return "", "", nil, fault.Invalidf("format", "%q is not xlsx or csv", format)
}

// SheetImport says what an import did.
type SheetImport struct {
	StatementID string `json:"statement_id"`
	File        string `json:"file"`
	SHA256      string `json:"sha256"`
	Rows        int    `json:"rows"`
	Saved       int    `json:"saved"`
	Unchanged   int    `json:"unchanged"`
}

// ImportSheet stores the answers of a filled-in spreadsheet, all or none,
// by the rules of SaveAnswer: the supplier's representatives, a draft (or,
// returned, the queried answers only). Each answer changed is audited as
// an answer saved.
func (s *Service) ImportSheet(ctx context.Context, sc scope.Scope, id, name string, data []byte) (SheetImport, error) {
	name = strings.TrimSpace(path.Base(strings.ReplaceAll(name, `\`, "/")))
	if name == "" || name == "." || name == "/" || safetext.Problem(name, safetext.Name, safetext.MaxName) != "" {
		name = "upload"
	}
	sum := sha256.Sum256(data)
	res := SheetImport{StatementID: id, File: name, SHA256: hex.EncodeToString(sum[:])}
	// Who may, before reading the file: nobody learns a limit or sends
	// rows for a statement they cannot answer.
	err := s.change(ctx, sc, id, func(tx *store.Tx, h head, st standing, now string) error {
		if err := s.supplierWriter(sc, st); err != nil {
			return err
		}
		if h.status != StatusDraft && h.status != StatusReturned {
			return fault.Conflictf("statement %s is %s: %s", id, h.status, notEditable(h.status))
		}
		rows, err := ParseSheet(name, data)
		if err != nil {
			return err
		}
		res.Rows = len(rows)
		reqs, err := s.statementRequirements(ctx, tx, h.campaign, id)
		if err != nil {
			return err
		}
		in := map[int]bool{}
		for _, r := range reqs {
			in[r.Seq] = true
		}
		se := &SheetError{File: name}
		sheet := SheetName
		if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			sheet = path.Base(name)
		}
		type change struct {
			r      SheetRow
			before AnswerView
			had    bool
		}
		var todo []change
		for _, r := range rows {
			if !in[r.Seq] {
				se.Cells = append(se.Cells, CellError{Sheet: sheet, Row: r.Row, Column: "A (seq)", Reason: fmt.Sprintf("%d is not a requirement of this statement", r.Seq)})
				continue
			}
			before, had, err := answerOf(ctx, tx, id, r.Seq)
			if err != nil {
				return err
			}
			if had && before.Answer == r.Answer && before.Justification == r.Justification {
				res.Unchanged++
				continue
			}
			if !editable(h.status, before.Review) {
				se.Cells = append(se.Cells, CellError{Sheet: sheet, Row: r.Row, Column: "G (answer)", Reason: fmt.Sprintf("requirement %d may not be changed now: %s", r.Seq, notEditable(h.status))})
				continue
			}
			todo = append(todo, change{r, before, had})
		}
		if len(se.Cells) > 0 {
			return se
		}
		for _, c := range todo {
			var err error
			if c.had {
				_, err = tx.ExecContext(ctx, `UPDATE assurance_answers SET answer = ?, justification = ?, review = '', answered_at = ?, answered_by = ?, reviewed_at = '', reviewed_by = '' WHERE statement_id = ? AND seq = ?`,
					string(c.r.Answer), c.r.Justification, now, actor(sc), id, c.r.Seq)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO assurance_answers (statement_id, seq, answer, justification, answered_at, answered_by) VALUES (?, ?, ?, ?, ?, ?)`,
					id, c.r.Seq, string(c.r.Answer), c.r.Justification, now, actor(sc))
			}
			if err != nil {
				return fmt.Errorf("assurance: save answer: %w", err)
			}
			ch := audit.Change{Action: "assurance.answer.save", ObjectType: "assurance-statement", ObjectID: id, Org: h.owner,
				After: map[string]any{"seq": c.r.Seq, "answer": c.r.Answer, "justification": c.r.Justification, "file": name, "sha256": res.SHA256}}
			if c.had {
				ch.Before = map[string]any{"seq": c.r.Seq, "answer": c.before.Answer, "justification": c.before.Justification, "review": c.before.Review}
			}
			if _, err := s.audit.Append(ctx, tx, sc, ch); err != nil {
				return err
			}
			res.Saved++
		}
		return nil
	})
	if err != nil {
		return SheetImport{}, err
	}
	return res, nil
}

// uncell undoes supply.CSVCell, which the CSV export applies: one
// apostrophe before a formula's first character is removed.
func uncell(v string) string {
	if strings.HasPrefix(v, "'") {
		if t := strings.TrimLeft(v, "'"); t != "" && strings.ContainsRune("=+-@\t\r", rune(t[0])) {
			return v[1:]
		}
	}
	return v
}
