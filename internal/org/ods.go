package org

// This file parses the public organisation files that `vigil orgs import`
// reads: the headerless ODS "standard 27 field" extracts (etr, ect, eccg,
// epraccur), the SICBL → ICB → region lookups, the ONS ICB names file and the
// registered-patients file. It only parses; writing to the store is the
// importer's job. Field numbers and codes follow the ODS specification
// described in shared/data/nhs/README.md.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind names one of the file layouts ParseODS reads.
type Kind string

const (
	// KindTrusts is the ODS NHS trusts extract (etr.csv), headerless, 27 fields.
	KindTrusts Kind = "etr"
	// KindCareTrusts is the ODS care trusts extract (ect.csv), same layout as etr.
	KindCareTrusts Kind = "ect"
	// KindSubICBs is the ODS sub-ICB locations extract (eccg.csv), which also
	// lists closed CCGs, commissioning hubs and sub-ICB reporting entities.
	KindSubICBs Kind = "eccg"
	// KindPractices is the ODS GP practices and prescribing cost centres
	// extract (epraccur.csv).
	KindPractices Kind = "epraccur"
	// KindHierarchy is lookups/derived-sicbl-icb-nhser-hierarchy.csv
	// (header SICBL_ODS_CODE,…,NHSER_NAME).
	KindHierarchy Kind = "hierarchy"
	// KindONSLookup is the ONS "Sub ICB Locations to Integrated Care Boards to
	// NHS England (Region)" lookup (header SICBL23CD,SICBL23CDH,…; any two-digit
	// year is accepted).
	KindONSLookup Kind = "ons-lookup"
	// KindICBNames is the ONS "ICB Names and Codes" file (header
	// ICB24CD,ICB24CDH,ICB24NM,…; any two-digit year is accepted).
	KindICBNames Kind = "icb-names"
	// KindGPPatients is NHS England's "Patients Registered at a GP Practice"
	// all-persons file (gp-reg-pat-prac-all.csv), found by its CODE and
	// NUMBER_OF_PATIENTS columns.
	KindGPPatients Kind = "gp-patients"
)

// ODSKinds lists every Kind ParseODS reads.
func ODSKinds() []Kind {
	return []Kind{KindTrusts, KindCareTrusts, KindSubICBs, KindPractices,
		KindHierarchy, KindONSLookup, KindICBNames, KindGPPatients}
}

// ErrUnknownFormat is returned (wrapped) by DetectKind and ParseODS for a file
// that is none of the supported layouts.
var ErrUnknownFormat = errors.New("unknown organisation file format")

// ErrMalformed is returned (wrapped) by ParseODS when a file of a known kind
// cannot be read as a whole: empty, binary, compressed, UTF-16, or its first
// record is not CSV of the expected shape.
var ErrMalformed = errors.New("malformed organisation file")

// supportedFiles is appended to ErrUnknownFormat so the user knows what to pass.
const supportedFiles = "supported files are the ODS extracts etr*.csv (NHS trusts), " +
	"ect*.csv (care trusts), eccg*.csv (sub-ICB locations) and epraccur*.csv (GP practices), " +
	"recognised by file name as published (they have no header); " +
	"and CSVs recognised by header: derived-sicbl-icb-nhser-hierarchy.csv (SICBL_ODS_CODE,…,NHSER_NAME), " +
	"the ONS SICBL→ICB→region lookup (SICBL23CD,SICBL23CDH,SICBL23NM,ICB23CD,ICB23CDH,ICB23NM,NHSER23CD,NHSER23CDH,NHSER23NM,…), " +
	"the ONS ICB names and codes (ICB24CD,ICB24CDH,ICB24NM,…) " +
	"and gp-reg-pat-prac-all.csv (…,CODE,…,NUMBER_OF_PATIENTS)"

// RowError is one rejected row: where it is, which column, and why.
// Column is empty when the row as a whole is wrong (wrong field count,
// broken CSV quoting).
type RowError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// Error formats the error as "file:line: column: reason".
func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Column, e.Reason)
}

// Record is one organisation parsed from a file, with the line it came from.
//
// Most records carry a whole organisation. Two kinds of file only carry part
// of one, and say so, so the importer updates rather than replaces:
//   - PopulationOnly (gp-patients): only Org.Code, Org.Population and
//     Org.Source are set; the importer sets the population of an existing
//     organisation and ignores codes it does not know.
//   - NameOnly (icb-names): Org.Code, Org.Name, Org.Type (icb), Org.ICB,
//     Org.Status and Org.Source are set but Parent is empty, because the
//     file has no region; the importer only updates the names of ICBs it
//     already has (from a hierarchy or ons-lookup file).
//
// At most one of PopulationOnly and NameOnly is set.
type Record struct {
	Org            Org    `json:"org"`
	File           string `json:"file"`
	Line           int    `json:"line"`
	PopulationOnly bool   `json:"population_only,omitempty"`
	NameOnly       bool   `json:"name_only,omitempty"`
}

// ParseOptions controls which rows ParseODS returns.
type ParseOptions struct {
	// AllSettings returns the rows that are skipped by default:
	//   - epraccur: by default only prescribing setting 4 (GP practices) is
	//     returned, as Type gp-practice; with AllSettings every other setting
	//     (walk-in centres, out-of-hours, prisons, hospitals, …) is returned
	//     as Type other-provider.
	//   - eccg: by default only sub-ICB locations (role RO319) are returned,
	//     as Type sub-icb; with AllSettings sub-ICB reporting entities (RO327),
	//     commissioning hubs (RO218) and the closed CCGs (no role) are returned
	//     as Type other-provider.
	// Other kinds skip nothing.
	AllSettings bool
}

// Summary counts what ParseODS did with a file.
//
// Rows counts data rows (not the header), including rejected ones; Records
// is len(ParseResult.Records); Skipped counts valid rows left out by
// ParseOptions (or, for gp-patients, rows that are not all-persons totals).
// Every row is exactly one of: accepted, skipped, or one RowError — so
// Rows == accepted + Skipped + len(Errors). A row yields one record, except in
// hierarchy and ons-lookup files, where the first row naming a region or ICB
// also yields that region's or ICB's record.
type Summary struct {
	Kind    Kind `json:"kind"`
	Rows    int  `json:"rows"`
	Records int  `json:"records"`
	Skipped int  `json:"skipped"`
}

// ParseResult is everything ParseODS found in one file.
type ParseResult struct {
	Summary Summary    `json:"summary"`
	Records []Record   `json:"records"`
	Errors  []RowError `json:"errors"`
}

// DetectKind says which layout a file has, from its first line (for files
// with a header) or else its base name (for the headerless ODS extracts,
// which are recognised as etr*.csv, ect*.csv, eccg*.csv and epraccur*.csv,
// case-insensitively). A leading UTF-8 byte order mark is ignored. An
// unknown file gives an error wrapping ErrUnknownFormat that lists the
// supported files.
func DetectKind(name string, firstLine []byte) (Kind, error) {
	line := bytes.TrimPrefix(firstLine, utf8BOM)
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if l, _, ok := odsMatchHeader(line); ok {
		return l.kind, nil
	}
	base := strings.ToLower(odsBaseName(name))
	if strings.HasSuffix(base, ".csv") {
		for _, k := range []Kind{KindTrusts, KindCareTrusts, KindSubICBs, KindPractices} {
			if strings.HasPrefix(base, string(k)) {
				return k, nil
			}
		}
	}
	return "", fmt.Errorf("%s: %w: %s", name, ErrUnknownFormat, supportedFiles)
}

// ParseODS reads one file of any Kind (see DetectKind) into organisation
// records. Rows that cannot be used become RowErrors — one per row, for the
// first problem found — and are left out; the rest are returned in file
// order. The error is for the file as a whole: unreadable, unknown format
// (ErrUnknownFormat), or not CSV of the expected shape (ErrMalformed).
// ParseODS never panics: a panic inside the parser is returned as an error.
//
// Mapping, for the ODS extracts (field numbers as in the ODS specification):
//   - Code is field 1 (letters and digits, at most 16), Name field 2 as
//     published (ODS names are upper case; the importer, not the parser,
//     makes them readable with ReadableName), Postcode
//     field 10, Opened and Closed fields 11 and 12 converted from YYYYMMDD to
//     YYYY-MM-DD, Source the Kind.
//   - Region is field 3 when it is an NHS England region (Y5x/Y6x) or Wales
//     (W00); ICB is field 4 when it starts with Q and is not the "not
//     applicable" code Q99.
//   - A body outside NHS England — Wales (field 3 W00, or GOR code W in
//     field 24 of etr/ect) or a Crown dependency (field 4 YAC, YAD, YAE or
//     YAF) — has Region and Parent the nation's code and no ICB; the
//     importer makes the nation's node (see NationName).
//   - Status is closed when the close date is set (even a future one), else
//     active. epraccur also reads the status code (field 13): A, D (dormant)
//     and P (proposed) are active, because dormant and proposed practices are
//     still open ODS records; C is closed.
//   - etr and ect give Type trust with Parent the ICB, else the region, else
//     empty (the importer attaches orphans to the national root).
//   - eccg gives Type sub-icb for rows whose role codes (field 14) include
//     RO319, with Parent the ICB; other rows are skipped unless
//     ParseOptions.AllSettings (see there).
//   - epraccur gives Type gp-practice for prescribing setting 4 (field 26),
//     others only with AllSettings; Parent is the commissioner (field 15),
//     else the provider/purchaser (field 24), else the ICB.
//
// The hierarchy and ons-lookup files give, in file order, a region record
// (Parent the national root) the first time a region appears, an ICB record
// (Parent its region) the first time an ICB appears, and a sub-ICB record
// (Parent its ICB) for every row; a region or ICB that reappears with a
// different name or parent is a RowError. icb-names gives NameOnly ICB
// records and gp-patients PopulationOnly records (see Record).
//
// In every file a code that appears on two rows is a RowError on the second
// row that names the first line.
func ParseODS(name string, r io.Reader, opts ParseOptions) (res ParseResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			res = ParseResult{Summary: Summary{Kind: res.Summary.Kind}}
			err = fmt.Errorf("%s: internal error while parsing (please report it with the file): %v", name, p)
		}
	}()
	return parseODS(name, r, opts)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// odsSniffSize is how much of the file is looked at before parsing; it bounds
// the header line DetectKind sees.
const odsSniffSize = 64 << 10

// parseODS is ParseODS without the recover, so the fuzz target sees panics.
func parseODS(name string, r io.Reader, opts ParseOptions) (ParseResult, error) {
	br := bufio.NewReaderSize(r, odsSniffSize)
	head, err := br.Peek(odsSniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return ParseResult{}, fmt.Errorf("read %s: %w", name, err)
	}
	if err := odsSniff(name, head); err != nil {
		return ParseResult{}, err
	}
	if bytes.HasPrefix(head, utf8BOM) {
		// Excel and the ONS portal write a BOM; csv.Reader would keep it in
		// the first field name.
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			return ParseResult{}, fmt.Errorf("read %s: %w", name, err)
		}
		head = head[len(utf8BOM):]
	}
	kind, err := DetectKind(name, head)
	if err != nil {
		return ParseResult{}, err
	}
	p := &odsParser{
		file:  name,
		kind:  kind,
		opts:  opts,
		seen:  make(map[string]int),
		areas: make(map[string]odsArea),
	}
	p.res.Summary.Kind = kind
	if err := p.run(br); err != nil {
		return ParseResult{Summary: Summary{Kind: kind}}, err
	}
	p.res.Summary.Records = len(p.res.Records)
	// Empty lists, not null, in the JSON output.
	if p.res.Records == nil {
		p.res.Records = []Record{}
	}
	if p.res.Errors == nil {
		p.res.Errors = []RowError{}
	}
	return p.res, nil
}

// odsSniff rejects files that are plainly not CSV text, with a message that
// says what to do instead.
func odsSniff(name string, head []byte) error {
	switch {
	case len(bytes.TrimSpace(bytes.TrimPrefix(head, utf8BOM))) == 0:
		return fmt.Errorf("%s: %w: the file is empty", name, ErrMalformed)
	case bytes.HasPrefix(head, []byte{0x1F, 0x8B}):
		return fmt.Errorf("%s: %w: the file is gzip-compressed; decompress it first", name, ErrMalformed)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return fmt.Errorf("%s: %w: the file is a zip archive; unzip it and import the CSV inside", name, ErrMalformed)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return fmt.Errorf("%s: %w: the file is UTF-16; save it as UTF-8 CSV", name, ErrMalformed)
	}
	first := head
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if bytes.IndexByte(first, 0) >= 0 {
		return fmt.Errorf("%s: %w: line 1 contains NUL bytes; this is a binary file, not CSV", name, ErrMalformed)
	}
	return nil
}

// odsParser holds the state of one ParseODS call.
type odsParser struct {
	file string
	kind Kind
	opts ParseOptions
	res  ParseResult

	// seen maps each accepted or skipped row's code to its line, to report
	// duplicates.
	seen map[string]int
	// header and cols are set for files with a header row.
	header []string
	cols   map[string]int
	// areas holds the regions and ICBs already emitted by a hierarchy or
	// ons-lookup file, keyed by type and code.
	areas map[string]odsArea
}

// odsArea is a region or ICB first seen on line.
type odsArea struct {
	name, parent string
	line         int
}

// odsRow is one CSV record with the line each field starts on.
type odsRow struct {
	fields []string
	lines  []int
}

func (r odsRow) line() int { return r.lines[0] }

func (p *odsParser) run(in io.Reader) error {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1 // field counts are checked per row, as RowErrors
	headed := p.kind.headed()
	first := true
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("read %s: %w", p.file, err)
			}
			if first {
				return fmt.Errorf("%s: %w: line %d is not CSV: %v", p.file, ErrMalformed, max(pe.StartLine, 1), pe.Err)
			}
			// csv.Reader resumes at the next line after a syntax error.
			p.res.Summary.Rows++
			p.fail(max(pe.StartLine, 1), "", odsQuoteReason(pe))
			continue
		}
		row := odsRow{fields: fields, lines: make([]int, len(fields))}
		for i := range fields {
			row.lines[i], _ = cr.FieldPos(i)
		}
		if len(fields) == 0 { // csv.Reader never returns this; be safe
			continue
		}
		if first && headed {
			first = false
			if err := p.readHeader(row); err != nil {
				return err
			}
			continue
		}
		if first && len(fields) != odsFieldCount {
			return fmt.Errorf("%s: %w: line %d has %d fields; an ODS %s extract has %d (is this the right file?)",
				p.file, ErrMalformed, row.line(), len(fields), p.kind, odsFieldCount)
		}
		first = false
		p.res.Summary.Rows++
		if headed {
			p.headedRow(row)
		} else {
			p.odsRow(row)
		}
	}
}

func odsQuoteReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("CSV quoting broken at line %d, character %d: unbalanced or stray double quote", pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("CSV quoting broken at line %d, character %d: double quote inside an unquoted field", pe.Line, pe.Column)
	}
	return fmt.Sprintf("CSV error at line %d, character %d: %v", pe.Line, pe.Column, pe.Err)
}

func (k Kind) headed() bool {
	switch k {
	case KindHierarchy, KindONSLookup, KindICBNames, KindGPPatients:
		return true
	}
	return false
}

// fail records a rejected row.
func (p *odsParser) fail(line int, column, reason string) {
	p.res.Errors = append(p.res.Errors, RowError{File: p.file, Line: line, Column: column, Reason: reason})
}

func (p *odsParser) emit(line int, o Org) {
	o.Source = string(p.kind)
	p.res.Records = append(p.res.Records, Record{Org: o, File: p.file, Line: line})
}

// checkText rejects a row with a field that is not clean UTF-8 text, naming
// the first such column.
func (p *odsParser) checkText(row odsRow, column func(int) string) bool {
	for i, f := range row.fields {
		if !utf8.ValidString(f) {
			p.fail(row.lines[i], column(i), "not valid UTF-8 (the file must be saved as UTF-8)")
			return false
		}
		for _, c := range f {
			if c < 0x20 || c == 0x7F {
				reason := fmt.Sprintf("contains control character U+%04X", c)
				if c == '\n' || c == '\r' {
					reason = "contains a line break (is a double quote unbalanced?)"
				}
				p.fail(row.lines[i], column(i), reason)
				return false
			}
		}
	}
	return true
}

// checkCode validates a code field and, if dup, that it has not been seen.
// It returns the trimmed code.
func (p *odsParser) checkCode(row odsRow, i int, column string, dup bool) (string, bool) {
	code := strings.TrimSpace(row.fields[i])
	if reason := odsCodeProblem(code); reason != "" {
		p.fail(row.lines[i], column, reason)
		return "", false
	}
	if dup {
		if first, ok := p.seen[code]; ok {
			p.fail(row.lines[i], column, fmt.Sprintf("duplicate code %s (first on line %d)", code, first))
			return "", false
		}
	}
	return code, true
}

func odsCodeProblem(code string) string {
	if code == "" {
		return "empty code"
	}
	if len(code) > 16 {
		return fmt.Sprintf("code %.20q… is longer than 16 characters", code)
	}
	for _, c := range code {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Sprintf("code %q is not an ODS code (upper-case letters and digits only)", code)
		}
	}
	return ""
}

// --- the headerless ODS extracts -------------------------------------------

// odsFieldCount is the width of the ODS "standard 27 field" layout.
const odsFieldCount = 27

// ODS field positions (0-based) used here.
const (
	odsCode        = 0
	odsName        = 1
	odsGrouping    = 2  // National Grouping: region
	odsHLHG        = 3  // High Level Health Geography: ICB
	odsPostcode    = 9  // Postcode
	odsOpen        = 10 // Open Date
	odsClose       = 11 // Close Date
	odsStatus      = 12 // Status Code (epraccur)
	odsSubType     = 13 // Organisation Sub-Type Code (role codes in eccg)
	odsCommisioner = 14 // Commissioner (epraccur)
	odsField24     = 23 // GOR code (etr/ect), Provider/Purchaser (epraccur)
	odsSetting     = 25 // Prescribing Setting (epraccur)
)

// odsColumn names field i for RowError.Column, e.g. "Open Date (field 11)".
func (p *odsParser) odsColumn(i int) string {
	names := [odsFieldCount]string{
		"Organisation Code", "Name", "National Grouping", "High Level Health Geography",
		"Address Line 1", "Address Line 2", "Address Line 3", "Address Line 4", "Address Line 5",
		"Postcode", "Open Date", "Close Date", "Status Code", "Organisation Sub-Type Code",
		"Commissioner", "Join Provider/Purchaser Date", "Left Provider/Purchaser Date",
		"Contact Telephone Number", "Null", "Null", "Null", "Amended Record Indicator", "Null",
		"GOR Code", "Null", "Prescribing Setting", "Null",
	}
	if p.kind == KindPractices {
		names[odsField24] = "Provider/Purchaser"
	}
	if i < 0 || i >= len(names) {
		return fmt.Sprintf("field %d", i+1)
	}
	return fmt.Sprintf("%s (field %d)", names[i], i+1)
}

func (p *odsParser) odsRow(row odsRow) {
	f := row.fields
	if len(f) != odsFieldCount {
		p.fail(row.line(), "", fmt.Sprintf("has %d fields, want %d", len(f), odsFieldCount))
		return
	}
	if !p.checkText(row, p.odsColumn) {
		return
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	code, ok := p.checkCode(row, odsCode, p.odsColumn(odsCode), true)
	if !ok {
		return
	}
	if f[odsName] == "" {
		p.fail(row.lines[odsName], p.odsColumn(odsName), "empty name")
		return
	}
	opened, err := odsDate(f[odsOpen])
	if err != nil {
		p.fail(row.lines[odsOpen], p.odsColumn(odsOpen), err.Error())
		return
	}
	closed, err := odsDate(f[odsClose])
	if err != nil {
		p.fail(row.lines[odsClose], p.odsColumn(odsClose), err.Error())
		return
	}
	if opened != "" && closed != "" && closed < opened {
		p.fail(row.lines[odsClose], p.odsColumn(odsClose), fmt.Sprintf("close date %s is before open date %s", closed, opened))
		return
	}
	o := Org{
		Code:     code,
		Name:     f[odsName],
		Status:   Active,
		Region:   odsRegion(f[odsGrouping]),
		ICB:      odsICB(f[odsHLHG]),
		Postcode: f[odsPostcode],
		Opened:   opened,
		Closed:   closed,
	}
	if closed != "" {
		o.Status = Closed
	}
	o.Parent = o.ICB
	if o.Parent == "" {
		o.Parent = o.Region
	}
	keep := true
	switch p.kind {
	case KindTrusts, KindCareTrusts:
		o.Type = Trust
	case KindSubICBs:
		o.Type = SubICB
		if !odsHasRole(f[odsSubType], "RO319") {
			o.Type, keep = OtherProvider, p.opts.AllSettings
		}
	case KindPractices:
		if !p.practice(row, &o, &keep) {
			return
		}
	}
	if n := p.nation(f); n != "" {
		// Outside NHS England: under its nation's node, whatever the row
		// names as commissioner (a Welsh health board, which no file
		// defines). See nations in view.go.
		o.Region, o.ICB, o.Parent = n, "", n
	}
	p.seen[code] = row.line()
	if !keep {
		p.res.Summary.Skipped++
		return
	}
	p.emit(row.line(), o)
}

// nation returns the code of the body outside NHS England a row belongs
// to (W00 Wales; YAC–YAF the Crown dependencies), or "" for England: from
// the National Grouping, a trust's GOR code (W: the Welsh trusts have no
// grouping) or the High Level Health Geography.
func (p *odsParser) nation(f []string) string {
	if f[odsGrouping] == "W00" {
		return "W00"
	}
	if (p.kind == KindTrusts || p.kind == KindCareTrusts) && f[odsField24] == "W" {
		return "W00"
	}
	if _, ok := nations[f[odsHLHG]]; ok && f[odsHLHG] != "W00" {
		return f[odsHLHG]
	}
	return ""
}

// practice applies the epraccur rules to o; it reports false after recording
// a RowError.
func (p *odsParser) practice(row odsRow, o *Org, keep *bool) bool {
	f := row.fields
	switch f[odsStatus] {
	case "A", "D", "P":
		// Dormant and proposed practices are still open ODS records.
	case "C":
		o.Status = Closed
	case "":
		p.fail(row.lines[odsStatus], p.odsColumn(odsStatus), "empty; want A, C, D or P")
		return false
	default:
		p.fail(row.lines[odsStatus], p.odsColumn(odsStatus), fmt.Sprintf("unknown status %q; want A, C, D or P", f[odsStatus]))
		return false
	}
	setting := f[odsSetting]
	n, err := strconv.Atoi(setting)
	if err != nil || strings.TrimLeft(setting, "0123456789") != "" {
		p.fail(row.lines[odsSetting], p.odsColumn(odsSetting), fmt.Sprintf("%q is not a prescribing setting number", setting))
		return false
	}
	for _, i := range []int{odsCommisioner, odsField24} {
		if f[i] == "" {
			continue
		}
		if reason := odsCodeProblem(f[i]); reason != "" {
			p.fail(row.lines[i], p.odsColumn(i), reason)
			return false
		}
	}
	switch {
	case f[odsCommisioner] != "":
		o.Parent = f[odsCommisioner]
	case f[odsField24] != "":
		o.Parent = f[odsField24]
	default:
		o.Parent = o.ICB
	}
	o.Type = GPPractice
	if n != 4 {
		o.Type, *keep = OtherProvider, p.opts.AllSettings
	}
	return true
}

// odsDate converts an ODS YYYYMMDD date to YYYY-MM-DD; empty stays empty.
func odsDate(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) != 8 || strings.TrimLeft(s, "0123456789") != "" {
		return "", fmt.Errorf("%q is not a date in YYYYMMDD form", s)
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return "", fmt.Errorf("%q is not a calendar date (YYYYMMDD)", s)
	}
	return t.Format(time.DateOnly), nil
}

// odsRegion returns s if it is an NHS England region code (Y5x, Y6x) or Wales
// (W00); otherwise (Y99 "not applicable", blank) it returns "".
func odsRegion(s string) string {
	if s == "W00" || len(s) == 3 && s[0] == 'Y' && (s[1] == '5' || s[1] == '6') && s[2] >= '0' && s[2] <= '9' {
		return s
	}
	return ""
}

// odsICB returns s if it looks like an ICB code: Q followed by letters or
// digits, other than Q99, which ODS uses for "not applicable" (for instance
// on every Welsh practice).
func odsICB(s string) string {
	if len(s) < 2 || s[0] != 'Q' || s == "Q99" || odsCodeProblem(s) != "" {
		return ""
	}
	return s
}

// odsHasRole reports whether the "|"-separated role codes include role.
func odsHasRole(roles, role string) bool {
	for r := range strings.SplitSeq(roles, "|") {
		if strings.TrimSpace(r) == role {
			return true
		}
	}
	return false
}

// --- files with a header ----------------------------------------------------

// Column roles in files with a header.
const (
	odsRoleSICBL      = "sicbl"
	odsRoleSICBLName  = "sicbl name"
	odsRoleICB        = "icb"
	odsRoleICBName    = "icb name"
	odsRoleRegion     = "region"
	odsRoleRegionName = "region name"
	odsRoleCode       = "code"
	odsRolePatients   = "patients"
	odsRoleSex        = "sex"
	odsRoleAge        = "age"
)

// odsLayout describes a file with a header: the column each role is read
// from, as a header name in which "##" stands for a two-digit year.
type odsLayout struct {
	kind     Kind
	required [][2]string // role, header pattern
	optional [][2]string
	absent   []string // header patterns that must not be present
}

func odsLayouts() []odsLayout {
	return []odsLayout{
		{kind: KindHierarchy, required: [][2]string{
			{odsRoleSICBL, "SICBL_ODS_CODE"}, {odsRoleSICBLName, "SICBL_NAME"},
			{odsRoleICB, "ICB_ODS_CODE"}, {odsRoleICBName, "ICB_NAME"},
			{odsRoleRegion, "NHSER_ODS_CODE"}, {odsRoleRegionName, "NHSER_NAME"},
		}},
		{kind: KindONSLookup, required: [][2]string{
			{odsRoleSICBL, "SICBL##CDH"}, {odsRoleSICBLName, "SICBL##NM"},
			{odsRoleICB, "ICB##CDH"}, {odsRoleICBName, "ICB##NM"},
			{odsRoleRegion, "NHSER##CDH"}, {odsRoleRegionName, "NHSER##NM"},
		}},
		{kind: KindICBNames, required: [][2]string{
			{odsRoleICB, "ICB##CDH"}, {odsRoleICBName, "ICB##NM"},
		}, absent: []string{"SICBL##CDH", "NHSER##CDH"}},
		{kind: KindGPPatients, required: [][2]string{
			{odsRoleCode, "CODE"}, {odsRolePatients, "NUMBER_OF_PATIENTS"},
		}, optional: [][2]string{{odsRoleSex, "SEX"}, {odsRoleAge, "AGE"}}},
	}
}

// odsMatchHeader finds the layout whose columns line has.
func odsMatchHeader(line []byte) (odsLayout, map[string]int, bool) {
	if len(bytes.TrimSpace(line)) == 0 {
		return odsLayout{}, nil, false
	}
	header, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil {
		return odsLayout{}, nil, false
	}
	return odsMatchColumns(header)
}

func odsMatchColumns(header []string) (odsLayout, map[string]int, bool) {
	find := func(pattern string) int {
		for i, h := range header {
			if odsHeaderIs(strings.ToUpper(strings.TrimSpace(h)), pattern) {
				return i
			}
		}
		return -1
	}
next:
	for _, l := range odsLayouts() {
		cols := make(map[string]int)
		for _, rp := range l.required {
			i := find(rp[1])
			if i < 0 {
				continue next
			}
			cols[rp[0]] = i
		}
		for _, pat := range l.absent {
			if find(pat) >= 0 {
				continue next
			}
		}
		for _, rp := range l.optional {
			if i := find(rp[1]); i >= 0 {
				cols[rp[0]] = i
			}
		}
		return l, cols, true
	}
	return odsLayout{}, nil, false
}

// odsHeaderIs matches a header name against a pattern where "##" is two digits.
func odsHeaderIs(name, pattern string) bool {
	if len(name) != len(pattern) {
		return false
	}
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '#' {
			if name[i] < '0' || name[i] > '9' {
				return false
			}
		} else if name[i] != pattern[i] {
			return false
		}
	}
	return true
}

func (p *odsParser) readHeader(row odsRow) error {
	l, cols, ok := odsMatchColumns(row.fields)
	if !ok || l.kind != p.kind {
		// DetectKind saw this header in the sniffed bytes; only a header
		// longer than the sniff window gets here.
		return fmt.Errorf("%s: %w: %s", p.file, ErrUnknownFormat, supportedFiles)
	}
	p.header, p.cols = row.fields, cols
	return nil
}

// headedColumn names column i as its header does.
func (p *odsParser) headedColumn(i int) string {
	if i >= 0 && i < len(p.header) {
		if h := strings.TrimSpace(p.header[i]); h != "" && utf8.ValidString(h) {
			return h
		}
	}
	return fmt.Sprintf("column %d", i+1)
}

func (p *odsParser) headedRow(row odsRow) {
	if len(row.fields) != len(p.header) {
		p.fail(row.line(), "", fmt.Sprintf("has %d fields, the header has %d", len(row.fields), len(p.header)))
		return
	}
	if !p.checkText(row, p.headedColumn) {
		return
	}
	for i := range row.fields {
		row.fields[i] = strings.TrimSpace(row.fields[i])
	}
	switch p.kind {
	case KindHierarchy, KindONSLookup:
		p.hierarchyRow(row)
	case KindICBNames:
		p.icbNameRow(row)
	case KindGPPatients:
		p.patientsRow(row)
	}
}

// col returns the index, value and column name of a role.
func (p *odsParser) col(row odsRow, role string) (int, string, string) {
	i := p.cols[role]
	return i, row.fields[i], p.headedColumn(i)
}

// needName checks that the role's column is not empty.
func (p *odsParser) needName(row odsRow, role string) (string, bool) {
	i, v, column := p.col(row, role)
	if v == "" {
		p.fail(row.lines[i], column, "empty name")
		return "", false
	}
	return v, true
}

func (p *odsParser) hierarchyRow(row odsRow) {
	si, _, sCol := p.col(row, odsRoleSICBL)
	sicbl, ok := p.checkCode(row, si, sCol, true)
	if !ok {
		return
	}
	ii, _, iCol := p.col(row, odsRoleICB)
	icb, ok := p.checkCode(row, ii, iCol, false)
	if !ok {
		return
	}
	ri, _, rCol := p.col(row, odsRoleRegion)
	region, ok := p.checkCode(row, ri, rCol, false)
	if !ok {
		return
	}
	sName, ok := p.needName(row, odsRoleSICBLName)
	if !ok {
		return
	}
	iName, ok := p.needName(row, odsRoleICBName)
	if !ok {
		return
	}
	rName, ok := p.needName(row, odsRoleRegionName)
	if !ok {
		return
	}
	// Check both areas before emitting anything, so a bad row adds nothing.
	rKey, iKey := string(Region)+"/"+region, string(ICB)+"/"+icb
	rPrev, rSeen := p.areas[rKey]
	if rSeen && rPrev.name != rName {
		ni, _, nCol := p.col(row, odsRoleRegionName)
		p.fail(row.lines[ni], nCol, fmt.Sprintf("region %s is named %q here but %q on line %d", region, rName, rPrev.name, rPrev.line))
		return
	}
	iPrev, iSeen := p.areas[iKey]
	if iSeen && iPrev.parent != region {
		p.fail(row.lines[ri], rCol, fmt.Sprintf("ICB %s is in region %s here but in %s on line %d", icb, region, iPrev.parent, iPrev.line))
		return
	}
	if iSeen && iPrev.name != iName {
		ni, _, nCol := p.col(row, odsRoleICBName)
		p.fail(row.lines[ni], nCol, fmt.Sprintf("ICB %s is named %q here but %q on line %d", icb, iName, iPrev.name, iPrev.line))
		return
	}
	line := row.line()
	if !rSeen {
		p.areas[rKey] = odsArea{name: rName, parent: RootCode, line: line}
		p.emit(line, Org{Code: region, Name: rName, Type: Region, Parent: RootCode, Status: Active, Region: region})
	}
	if !iSeen {
		p.areas[iKey] = odsArea{name: iName, parent: region, line: line}
		p.emit(line, Org{Code: icb, Name: iName, Type: ICB, Parent: region, Status: Active, Region: region, ICB: icb})
	}
	p.seen[sicbl] = line
	p.emit(line, Org{Code: sicbl, Name: sName, Type: SubICB, Parent: icb, Status: Active, Region: region, ICB: icb})
}

func (p *odsParser) icbNameRow(row odsRow) {
	ii, _, iCol := p.col(row, odsRoleICB)
	icb, ok := p.checkCode(row, ii, iCol, true)
	if !ok {
		return
	}
	name, ok := p.needName(row, odsRoleICBName)
	if !ok {
		return
	}
	p.seen[icb] = row.line()
	p.emit(row.line(), Org{Code: icb, Name: name, Type: ICB, Status: Active, ICB: icb})
	p.res.Records[len(p.res.Records)-1].NameOnly = true
}

func (p *odsParser) patientsRow(row odsRow) {
	// The all-persons file has SEX and AGE "ALL"; rows broken down by sex or
	// age (as in the other gp-reg-pat-prac files) are not practice totals.
	for _, role := range []string{odsRoleSex, odsRoleAge} {
		if i, ok := p.cols[role]; ok && !strings.EqualFold(row.fields[i], "ALL") {
			p.res.Summary.Skipped++
			return
		}
	}
	ci, _, cCol := p.col(row, odsRoleCode)
	code, ok := p.checkCode(row, ci, cCol, true)
	if !ok {
		return
	}
	ni, v, nCol := p.col(row, odsRolePatients)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || strings.TrimLeft(v, "0123456789") != "" {
		p.fail(row.lines[ni], nCol, fmt.Sprintf("%q is not a number of patients", v))
		return
	}
	p.seen[code] = row.line()
	p.emit(row.line(), Org{Code: code, Population: n})
	p.res.Records[len(p.res.Records)-1].PopulationOnly = true
}

// odsBaseName returns the last element of a slash- or backslash-separated path.
func odsBaseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}
