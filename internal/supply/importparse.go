package supply

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RowError is one problem in an import, with its position. Line is
// 1-based (the header is line 1 of a CSV file); Column is the CSV column
// or JSON field name, empty when the problem is the whole row or file.
type RowError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

func (e RowError) String() string {
	s := e.File + ":" + strconv.Itoa(e.Line)
	if e.Column != "" {
		s += ": " + e.Column
	}
	return s + ": " + e.Reason
}

// ImportFile is one input: a CSV named for its table (suppliers.csv,
// products.csv, dependencies.csv, deployments.csv, product_vulns.csv,
// contracts.csv — any prefix allowed, e.g. case1-suppliers.csv) or a JSON
// register document (*.json).
type ImportFile struct {
	Name string
	Data []byte
}

// Table names as they appear in reports.
const (
	TableSuppliers    = "suppliers"
	TableProducts     = "products"
	TableDependencies = "dependencies"
	TableDeployments  = "deployments"
	TableVulns        = "product_vulns"
	TableContracts    = "contracts"
)

// csvColumns lists each table's CSV columns; required ones are marked.
var csvColumns = map[string][]struct {
	name     string
	required bool
}{
	TableSuppliers: {{"supplier_id", true}, {"name", true}, {"companies_house_number", false}, {"parent_supplier_id", false},
		{"country", false}, {"ods_code", false}, {"duns", false}, {"tenant_org", false}, {"designated_critical", false}, {"contacts", false}},
	TableProducts:     {{"product_id", true}, {"supplier_id", true}, {"name", true}, {"kind", true}, {"version", false}, {"data", false}, {"cves", false}},
	TableDeployments:  {{"org_ods", true}, {"product_id", true}, {"service", true}, {"criticality", true}, {"has_fallback", true}},
	TableDependencies: {{"product_id", true}, {"depends_on_product_id", true}, {"kind", true}, {"critical", true}},
	TableVulns:        {{"product_id", true}, {"cve", true}, {"component", false}},
	TableContracts: {{"contract_id", true}, {"org_ods", true}, {"supplier_id", true}, {"product_id", false}, {"start_date", false},
		{"end_date", false}, {"value_gbp", false}, {"data_processed", false}, {"exit_plan", false}, {"substitutability", false}},
}

// tableOf picks a CSV file's table from its name.
func tableOf(name string) string {
	base := strings.ToLower(filepath.Base(name))
	for _, t := range []string{TableSuppliers, TableProducts, TableDependencies, TableDeployments, TableVulns, TableContracts} {
		if base == t+".csv" || strings.HasSuffix(base, "-"+t+".csv") || strings.HasSuffix(base, "_"+t+".csv") {
			return t
		}
	}
	if base == "vulns.csv" || strings.HasSuffix(base, "-vulns.csv") {
		return TableVulns
	}
	return ""
}

type pos struct {
	file string
	line int
}

type row[T any] struct {
	v T
	pos
}

// parsed is everything read from the input files, before cross-checks.
type parsed struct {
	suppliers    []row[Supplier]
	products     []row[Product]
	dependencies []row[Dependency]
	deployments  []row[Deployment]
	vulns        []row[Vuln]
	contracts    []row[Contract]
	files        []FileReport
	errs         *errList
}

// FileReport summarises one input file.
type FileReport struct {
	File           string   `json:"file"`
	Table          string   `json:"table"`
	Rows           int      `json:"rows"`
	Errors         int      `json:"errors"`
	IgnoredColumns []string `json:"ignored_columns,omitempty"`
	SHA256         string   `json:"sha256"`
}

type errList struct {
	max       int
	errs      []RowError
	warns     []RowError
	truncated bool
	count     int
}

func (l *errList) add(p pos, col, format string, a ...any) {
	l.count++
	if len(l.errs) >= l.max {
		l.truncated = true
		return
	}
	l.errs = append(l.errs, RowError{File: p.file, Line: p.line, Column: col, Reason: fmt.Sprintf(format, a...)})
}

func (l *errList) warn(p pos, col, format string, a ...any) {
	if len(l.warns) >= l.max {
		return
	}
	l.warns = append(l.warns, RowError{File: p.file, Line: p.line, Column: col, Reason: fmt.Sprintf(format, a...)})
}

// parseFile reads one input into p. It never panics: a runtime panic
// (a bug) becomes an error at the file's position.
func (p *parsed) parseFile(f ImportFile) {
	fr := FileReport{File: f.Name, SHA256: sha256hex(f.Data)}
	before := p.errs.count
	defer func() {
		if r := recover(); r != nil {
			p.errs.add(pos{f.Name, 0}, "", "internal error reading this file: %v", r)
		}
		fr.Errors = p.errs.count - before
		p.files = append(p.files, fr)
	}()
	if strings.HasSuffix(strings.ToLower(f.Name), ".json") {
		fr.Table = "register"
		fr.Rows = p.parseJSON(f)
		return
	}
	fr.Table = tableOf(f.Name)
	if fr.Table == "" {
		p.errs.add(pos{f.Name, 0}, "", "unknown file: name it suppliers.csv, products.csv, dependencies.csv, deployments.csv, product_vulns.csv, contracts.csv or *.json")
		return
	}
	fr.Rows, fr.IgnoredColumns = p.parseCSV(f, fr.Table)
}

// parseCSV reads a CSV with a header row naming its columns.
func (p *parsed) parseCSV(f ImportFile, table string) (int, []string) {
	data := bytes.TrimPrefix(f.Data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	hdr, err := r.Read()
	header := append([]string(nil), hdr...) // ReuseRecord: the next Read overwrites hdr
	if err == io.EOF {
		p.errs.add(pos{f.Name, 1}, "", "empty file: want a header row naming the columns")
		return 0, nil
	}
	if err != nil {
		p.errs.add(pos{f.Name, csvLine(err, 1)}, "", "header: %s", csvReason(err))
		return 0, nil
	}
	idx := map[string]int{}
	var ignored []string
	known := map[string]bool{}
	for _, c := range csvColumns[table] {
		known[c.name] = true
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !utf8.ValidString(h) {
			p.errs.add(pos{f.Name, 1}, "", "header column %d is not valid UTF-8", i+1)
			return 0, nil
		}
		if _, dup := idx[h]; dup {
			p.errs.add(pos{f.Name, 1}, h, "column named twice in the header")
			return 0, nil
		}
		idx[h] = i
		if !known[h] {
			ignored = append(ignored, h)
		}
	}
	missing := false
	for _, c := range csvColumns[table] {
		if _, ok := idx[c.name]; c.required && !ok {
			p.errs.add(pos{f.Name, 1}, c.name, "required column is missing from the header")
			missing = true
		}
	}
	if missing {
		return 0, ignored
	}
	n := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) {
				p.errs.add(pos{f.Name, csvLine(err, 0)}, "", "%s", csvReason(err))
				if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
					return n, ignored // the reader cannot resynchronise after a quote error
				}
				continue
			}
			return n, ignored
		}
		line, _ := r.FieldPos(0)
		ps := pos{f.Name, line}
		n++
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			n--
			continue // blank line
		}
		if len(rec) != len(header) {
			p.errs.add(ps, "", "row has %d fields but the header has %d", len(rec), len(header))
			continue
		}
		bad := false
		for i, v := range rec {
			if !utf8.ValidString(v) {
				p.errs.add(ps, strings.ToLower(strings.TrimSpace(header[i])), "not valid UTF-8")
				bad = true
			}
		}
		if bad {
			continue
		}
		get := func(c string) string {
			if i, ok := idx[c]; ok {
				return uncell(strings.TrimSpace(rec[i]))
			}
			return ""
		}
		p.csvRow(table, ps, get)
	}
	return n, ignored
}

func csvLine(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return def
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("CSV syntax, column %d: %v", pe.Column, pe.Err)
	}
	return err.Error()
}

func (p *parsed) boolField(ps pos, col, v string, required bool) bool {
	if v == "" {
		if required {
			p.errs.add(ps, col, "is required: yes/no, true/false or 1/0")
		}
		return false
	}
	b, ok := parseBool(v)
	if !ok {
		p.errs.add(ps, col, "%q is not a boolean: want yes/no, true/false or 1/0", v)
	}
	return b
}

func (p *parsed) csvRow(table string, ps pos, get func(string) string) {
	switch table {
	case TableSuppliers:
		s := Supplier{ID: get("supplier_id"), Name: get("name"), CompaniesHouseNumber: get("companies_house_number"), DUNS: get("duns"),
			ParentID: get("parent_supplier_id"), Country: get("country"), ODSCode: get("ods_code"), TenantOrg: get("tenant_org"), Contacts: get("contacts")}
		s.DesignatedCritical = p.boolField(ps, "designated_critical", get("designated_critical"), false)
		p.suppliers = append(p.suppliers, row[Supplier]{s, ps})
	case TableProducts:
		pr := Product{ID: get("product_id"), SupplierID: get("supplier_id"), Name: get("name"), Kind: ProductKind(get("kind")), Version: get("version"), Data: DataClass(get("data"))}
		p.products = append(p.products, row[Product]{pr, ps})
		for _, c := range strings.FieldsFunc(get("cves"), func(r rune) bool { return r == ';' || r == ' ' || r == '|' }) {
			p.vulns = append(p.vulns, row[Vuln]{Vuln{ProductID: pr.ID, CVE: c}, ps})
		}
	case TableDependencies:
		d := Dependency{ProductID: get("product_id"), DependsOnID: get("depends_on_product_id"), Kind: DependencyKind(get("kind"))}
		d.Critical = p.boolField(ps, "critical", get("critical"), true)
		p.dependencies = append(p.dependencies, row[Dependency]{d, ps})
	case TableDeployments:
		d := Deployment{OrgODS: get("org_ods"), ProductID: get("product_id"), Service: get("service"), Criticality: Criticality(get("criticality"))}
		d.HasFallback = p.boolField(ps, "has_fallback", get("has_fallback"), false)
		p.deployments = append(p.deployments, row[Deployment]{d, ps})
	case TableVulns:
		p.vulns = append(p.vulns, row[Vuln]{Vuln{ProductID: get("product_id"), CVE: get("cve"), Component: get("component")}, ps})
	case TableContracts:
		c := Contract{ID: get("contract_id"), OrgODS: get("org_ods"), SupplierID: get("supplier_id"), ProductID: get("product_id"),
			StartDate: get("start_date"), EndDate: get("end_date"), DataProcessed: get("data_processed"), ExitPlan: get("exit_plan"),
			Substitutability: Substitutability(get("substitutability"))}
		if v := get("value_gbp"); v != "" {
			f, reason := parseAmount(v)
			if reason != "" {
				p.errs.add(ps, "value_gbp", "%s", reason)
			}
			c.ValueGBP = f
		}
		p.contracts = append(p.contracts, row[Contract]{c, ps})
	}
}

// parseJSON reads a register document, recording each element's line.
func (p *parsed) parseJSON(f ImportFile) int {
	data := bytes.TrimPrefix(f.Data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		p.errs.add(pos{f.Name, line}, "", "not valid UTF-8")
		return 0
	}
	lineAt := lineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(err error) int {
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		p.errs.add(pos{f.Name, lineAt(off)}, "", "JSON: %v", err)
		return 0
	}
	if t, err := dec.Token(); err != nil {
		return fail(err)
	} else if d, ok := t.(json.Delim); !ok || d != '{' {
		return fail(errors.New("want a register object {\"suppliers\": [...], ...}"))
	}
	n := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := t.(string)
		elem := func(fn func(line int, raw json.RawMessage)) error {
			if t, err := dec.Token(); err != nil {
				return err
			} else if d, ok := t.(json.Delim); !ok || d != '[' {
				return fmt.Errorf("%s: want an array", key)
			}
			for dec.More() {
				start := dec.InputOffset()
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return err
				}
				// Skip the separator and white space to the element's first byte.
				for start < int64(len(data)) && (data[start] == ',' || data[start] == ' ' || data[start] == '\n' || data[start] == '\r' || data[start] == '\t') {
					start++
				}
				n++
				fn(lineAt(start), raw)
			}
			_, err := dec.Token()
			return err
		}
		var err2 error
		switch key {
		case "suppliers":
			err2 = elem(func(l int, raw json.RawMessage) { decodeRow(p, f.Name, l, raw, &p.suppliers) })
		case "products":
			err2 = elem(func(l int, raw json.RawMessage) { decodeRow(p, f.Name, l, raw, &p.products) })
		case "dependencies":
			err2 = elem(func(l int, raw json.RawMessage) { decodeRow(p, f.Name, l, raw, &p.dependencies) })
		case "deployments":
			err2 = elem(func(l int, raw json.RawMessage) { decodeRow(p, f.Name, l, raw, &p.deployments) })
		case "vulns":
			err2 = elem(func(l int, raw json.RawMessage) { decodeRow(p, f.Name, l, raw, &p.vulns) })
		case "contracts":
			err2 = elem(func(l int, raw json.RawMessage) { decodeRow(p, f.Name, l, raw, &p.contracts) })
		default:
			var skip json.RawMessage
			err2 = dec.Decode(&skip) // format_version, generated_at, and keys from newer versions
		}
		if err2 != nil {
			return fail(err2)
		}
	}
	return n
}

func decodeRow[T any](p *parsed, file string, line int, raw json.RawMessage, into *[]row[T]) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		col := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			col = te.Field
		}
		p.errs.add(pos{file, line}, col, "JSON: %v", err)
		return
	}
	*into = append(*into, row[T]{v, pos{file, line}})
}

// lineIndex returns a function from byte offset to 1-based line.
func lineIndex(data []byte) func(int64) int {
	var starts []int64
	starts = append(starts, 0)
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, int64(i+1))
		}
	}
	return func(off int64) int {
		lo, hi := 0, len(starts)-1
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if starts[mid] <= off {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return lo + 1
	}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}
