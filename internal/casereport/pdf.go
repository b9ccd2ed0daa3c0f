package casereport

import (
	"bytes"
	"fmt"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// The PDF is drawn with fpdf's core Helvetica (no font files to ship):
// text is converted to Windows-1252, which covers English and Western
// European names; anything outside it prints as "?". Every page carries
// the TLP marking at its top and its number at the bottom.

const (
	pageW   = 210.0
	margin  = 15.0
	usableW = pageW - 2*margin
	lineH   = 5.0
)

type pdfDoc struct {
	f  *fpdf.Fpdf
	tr func(string) string
}

func newPDF(title, tlp, footer string) *pdfDoc {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(margin, 20, margin)
	f.SetAutoPageBreak(true, 18)
	f.SetTitle(title, true)
	f.SetCreator("Vigil", true)
	d := &pdfDoc{f: f, tr: f.UnicodeTranslatorFromDescriptor("")}
	marking := "TLP:" + strings.ToUpper(tlp)
	f.SetHeaderFunc(func() {
		f.SetY(8)
		f.SetFont("Helvetica", "B", 9)
		f.SetFillColor(0, 0, 0)
		r, g, b := tlpColour(tlp)
		f.SetTextColor(r, g, b)
		f.CellFormat(f.GetStringWidth(marking)+6, 6, marking, "", 0, "L", true, 0, "")
		f.SetTextColor(90, 90, 90)
		f.SetFont("Helvetica", "", 8)
		f.CellFormat(0, 6, d.tr(clip(title, 110)), "", 1, "R", false, 0, "")
		f.SetTextColor(0, 0, 0)
		f.SetY(20)
	})
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-13)
		f.SetFont("Helvetica", "", 8)
		f.SetTextColor(90, 90, 90)
		f.CellFormat(usableW/2, 5, d.tr(clip(footer, 90)), "", 0, "L", false, 0, "")
		f.CellFormat(usableW/2, 5, fmt.Sprintf("%s   Page %d of {nb}", marking, f.PageNo()), "", 0, "R", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
	f.AddPage()
	return d
}

// tlpColour is the FIRST TLP 2.0 text colour on black.
func tlpColour(tlp string) (int, int, int) {
	switch tlp {
	case "red":
		return 255, 43, 43
	case "amber", "amber+strict":
		return 255, 192, 0
	case "green":
		return 51, 255, 0
	}
	return 255, 255, 255
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (d *pdfDoc) h1(s string) {
	d.f.SetFont("Helvetica", "B", 16)
	d.f.MultiCell(0, 7.5, d.tr(s), "", "L", false)
	d.f.Ln(2)
}

func (d *pdfDoc) h2(s string) {
	d.f.Ln(3)
	if d.f.GetY() > 250 {
		d.f.AddPage()
	}
	d.f.SetFont("Helvetica", "B", 12)
	d.f.SetTextColor(0, 94, 184)
	d.f.CellFormat(0, 7, d.tr(s), "B", 1, "L", false, 0, "")
	d.f.SetTextColor(0, 0, 0)
	d.f.Ln(1.5)
}

func (d *pdfDoc) para(s string) {
	d.f.SetFont("Helvetica", "", 10)
	d.f.MultiCell(0, lineH, d.tr(s), "", "L", false)
}

// table draws rows with wrapped cells; widths are fractions of the page;
// the first row is the heading when head is set.
func (d *pdfDoc) table(widths []float64, head bool, rows [][]string) {
	f := d.f
	for i, row := range rows {
		bold := head && i == 0
		style := ""
		if bold {
			style = "B"
		}
		f.SetFont("Helvetica", style, 9)
		// The row is as tall as its tallest cell.
		lines := 1
		cells := make([][]string, len(row))
		for j, cell := range row {
			w := widths[j] * usableW
			cells[j] = splitLines(f, d.tr(cell), w-2)
			lines = max(lines, len(cells[j]))
		}
		h := float64(lines)*4.5 + 2
		if f.GetY()+h > 297-18 {
			f.AddPage()
			f.SetFont("Helvetica", style, 9)
		}
		x, y := f.GetX(), f.GetY()
		for j := range row {
			w := widths[j] * usableW
			if bold {
				f.SetFillColor(232, 237, 238)
				f.Rect(x, y, w, h, "FD")
			} else {
				f.Rect(x, y, w, h, "D")
			}
			for k, l := range cells[j] {
				f.SetXY(x+1, y+1+float64(k)*4.5)
				f.CellFormat(w-2, 4.5, l, "", 0, "L", false, 0, "")
			}
			x += w
		}
		f.SetXY(margin, y+h)
	}
}

// splitLines wraps s to width w, breaking long words (hashes, URLs) too.
func splitLines(f *fpdf.Fpdf, s string, w float64) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	for _, b := range f.SplitLines([]byte(s), w) {
		out = append(out, string(b))
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func (d *pdfDoc) bytes() ([]byte, error) {
	var b bytes.Buffer
	if err := d.f.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// PDF renders the case report.
func (r Report) PDF() ([]byte, error) {
	c := r.Case
	d := newPDF("Case report: "+c.Title+" ("+c.ID+")", string(c.TLP), "Vigil case report "+c.ID+", generated "+r.when(r.GeneratedAt))
	d.h1("Case report: " + c.Title)
	rows := [][]string{}
	for _, kv := range r.Summary() {
		rows = append(rows, []string{kv[0], kv[1]})
	}
	d.table([]float64{0.28, 0.72}, false, rows)
	if len(r.Fields) > 0 {
		d.h2("Details")
		rows = [][]string{}
		for _, fl := range r.Fields {
			rows = append(rows, []string{fl.Label, fl.Value})
		}
		d.table([]float64{0.4, 0.6}, false, rows)
	}
	if strings.TrimSpace(c.Description) != "" {
		d.h2("Description")
		d.para(c.Description)
	}
	d.h2("Tasks")
	if len(c.Tasks) == 0 {
		d.para("None.")
	} else {
		rows = [][]string{{"Task", "Status", "Assignee", "Checklist"}}
		for _, t := range c.Tasks {
			var cl []string
			for _, it := range t.Checklist {
				m := "[ ]"
				if it.Done {
					m = "[x]"
				}
				cl = append(cl, m+" "+it.Text)
			}
			rows = append(rows, []string{t.Title, string(t.Status), dash(t.Assignee), strings.Join(cl, "\n")})
		}
		d.table([]float64{0.34, 0.12, 0.18, 0.36}, true, rows)
	}
	d.h2("Timeline")
	if len(r.Timeline) == 0 {
		d.para("None.")
	} else {
		rows = [][]string{{"When", "What", "By"}}
		for _, e := range r.Timeline {
			rows = append(rows, []string{r.when(e.At), e.Title, e.By})
		}
		d.table([]float64{0.22, 0.53, 0.25}, true, rows)
	}
	d.h2("Observables")
	if len(r.Observables) == 0 {
		d.para("None.")
	} else {
		rows = [][]string{{"Type", "Value", "IOC", "TLP", "Seen in"}}
		for _, o := range r.Observables {
			rows = append(rows, []string{string(o.Type), o.Value, yesNo(o.IOC), string(o.TLP), seenIn(o)})
		}
		d.table([]float64{0.1, 0.5, 0.07, 0.1, 0.23}, true, rows)
	}
	d.h2("Evidence")
	if len(r.Attachments) == 0 {
		d.para("None.")
	} else {
		rows = [][]string{{"File", "Size", "SHA-256", "Added"}}
		for _, a := range r.Attachments {
			rows = append(rows, []string{a.Name, fmt.Sprintf("%d bytes", a.Size), a.SHA256, r.when(a.CreatedAt) + " by " + a.By})
		}
		d.table([]float64{0.22, 0.12, 0.4, 0.26}, true, rows)
	}
	d.h2("Comments")
	if len(r.Comments) == 0 {
		d.para("None.")
	}
	for _, cm := range r.Comments {
		d.f.SetFont("Helvetica", "B", 9)
		d.f.MultiCell(0, lineH, d.tr(cm.By+", "+r.when(cm.At)), "", "L", false)
		d.para(cm.Body)
		d.f.Ln(1)
	}
	d.f.Ln(4)
	d.f.SetFont("Helvetica", "I", 8)
	d.f.MultiCell(0, 4, d.tr("Generated by Vigil at "+r.when(r.GeneratedAt)+" for "+r.GeneratedBy+". TLP:"+strings.ToUpper(string(c.TLP))+": share only as the marking allows."), "", "L", false)
	return d.bytes()
}

// PDF renders the regulatory pack.
func (p Pack) PDF() ([]byte, error) {
	r := p.Report
	d := newPDF("Regulatory report pack: "+p.Title+" ("+p.Case+")", string(r.Case.TLP), "Vigil regulatory report pack "+p.Case)
	d.h1("Regulatory report pack: " + p.Title)
	d.para(fmt.Sprintf("Case %s, %s (%s). Prepared %s for %s. Answers marked \"Not recorded\" are still to find before submitting.",
		r.Case.ID, r.OrgName, r.Case.Org, r.when(r.GeneratedAt), r.GeneratedBy))
	for _, s := range p.Sections {
		d.h2(s.Title)
		d.f.SetFont("Helvetica", "I", 9)
		d.f.MultiCell(0, 4.5, d.tr(s.Basis+"."), "", "L", false)
		d.f.Ln(1)
		rows := [][]string{{"Question", "Answer", "From"}}
		for _, a := range s.Items {
			rows = append(rows, []string{a.Question, a.Answer, a.Source})
		}
		d.table([]float64{0.32, 0.46, 0.22}, true, rows)
	}
	return d.bytes()
}
