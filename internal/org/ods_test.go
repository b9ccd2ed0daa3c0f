package org

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// The flag has its own name so it cannot clash with an -update flag that
// another test file in this package may register.
var odsUpdate = flag.Bool("update-ods", false, "rewrite testdata/ods/golden/*.json from the parser's output")

const odsTestdata = "testdata/ods"

// odsGolden is what a golden file holds: the whole result, or the file error.
type odsGolden struct {
	Error  string       `json:"error,omitempty"`
	Result *ParseResult `json:"result,omitempty"`
}

func TestParseODSFixtures(t *testing.T) {
	all := ParseOptions{AllSettings: true}
	cases := []struct {
		file    string
		opts    ParseOptions
		kind    Kind
		want    Summary // Kind is filled from kind
		errs    []string
		fileErr error // whole-file error, if any
	}{
		{file: "etr.csv", kind: KindTrusts, want: Summary{Rows: 5, Records: 5}},
		{file: "ect.csv", kind: KindCareTrusts, want: Summary{Rows: 2, Records: 2}},
		{file: "eccg.csv", kind: KindSubICBs, want: Summary{Rows: 5, Records: 2, Skipped: 3}},
		{file: "eccg.csv", opts: all, kind: KindSubICBs, want: Summary{Rows: 5, Records: 5}},
		{file: "epraccur.csv", kind: KindPractices, want: Summary{Rows: 9, Records: 7, Skipped: 2}},
		{file: "epraccur.csv", opts: all, kind: KindPractices, want: Summary{Rows: 9, Records: 9}},
		{file: "derived-sicbl-icb-nhser-hierarchy.csv", kind: KindHierarchy, want: Summary{Rows: 4, Records: 4 + 3 + 2}},
		{file: "sicbl23_icb23_nhser23_lookup_april2023.csv", kind: KindONSLookup, want: Summary{Rows: 3, Records: 3 + 3 + 2}},
		{file: "icb24_names_codes_dec2024.csv", kind: KindICBNames, want: Summary{Rows: 3, Records: 3}},
		{file: "gp-reg-pat-prac-all_2022-05.csv", kind: KindGPPatients, want: Summary{Rows: 4, Records: 3, Skipped: 1}},

		{file: "etr_field_count.csv", kind: KindTrusts, want: Summary{Rows: 4, Records: 2}, errs: []string{
			"testdata/ods/etr_field_count.csv:2: has 26 fields, want 27",
			"testdata/ods/etr_field_count.csv:3: has 28 fields, want 27",
		}},
		{file: "etr_bad_utf8.csv", kind: KindTrusts, want: Summary{Rows: 3, Records: 2}, errs: []string{
			"testdata/ods/etr_bad_utf8.csv:2: Name (field 2): not valid UTF-8 (the file must be saved as UTF-8)",
		}},
		{file: "etr_duplicate.csv", kind: KindTrusts, want: Summary{Rows: 3, Records: 2}, errs: []string{
			"testdata/ods/etr_duplicate.csv:3: Organisation Code (field 1): duplicate code R0A (first on line 1)",
		}},
		{file: "etr_bad_date.csv", kind: KindTrusts, want: Summary{Rows: 5, Records: 2}, errs: []string{
			`testdata/ods/etr_bad_date.csv:2: Open Date (field 11): "20241301" is not a calendar date (YYYYMMDD)`,
			`testdata/ods/etr_bad_date.csv:3: Open Date (field 11): "2024-11-01" is not a date in YYYYMMDD form`,
			`testdata/ods/etr_bad_date.csv:4: Close Date (field 12): close date 2019-01-01 is before open date 2020-01-01`,
		}},
		{file: "etr_unbalanced_quotes.csv", kind: KindTrusts, want: Summary{Rows: 4, Records: 2}, errs: []string{
			`testdata/ods/etr_unbalanced_quotes.csv:2: CSV quoting broken at line 2, character 12: unbalanced or stray double quote`,
			`testdata/ods/etr_unbalanced_quotes.csv:3: CSV quoting broken at line 3, character 4: double quote inside an unquoted field`,
		}},
		{file: "etr_unterminated_quote.csv", kind: KindTrusts, want: Summary{Rows: 2, Records: 1}, errs: []string{
			`testdata/ods/etr_unterminated_quote.csv:2: CSV quoting broken at line 2, character 41: unbalanced or stray double quote`,
		}},
		{file: "etr_empty_code.csv", kind: KindTrusts, want: Summary{Rows: 5, Records: 2}, errs: []string{
			`testdata/ods/etr_empty_code.csv:2: Organisation Code (field 1): empty code`,
			`testdata/ods/etr_empty_code.csv:3: Organisation Code (field 1): code "r1j" is not an ODS code (upper-case letters and digits only)`,
			`testdata/ods/etr_empty_code.csv:4: Name (field 2): empty name`,
		}},
		{file: "epraccur_bad.csv", kind: KindPractices, want: Summary{Rows: 6, Records: 1}, errs: []string{
			`testdata/ods/epraccur_bad.csv:2: Status Code (field 13): unknown status "X"; want A, C, D or P`,
			`testdata/ods/epraccur_bad.csv:3: Prescribing Setting (field 26): "four" is not a prescribing setting number`,
			`testdata/ods/epraccur_bad.csv:4: Commissioner (field 15): code "16-C" is not an ODS code (upper-case letters and digits only)`,
			`testdata/ods/epraccur_bad.csv:5: Status Code (field 13): empty; want A, C, D or P`,
			`testdata/ods/epraccur_bad.csv:6: Organisation Code (field 1): duplicate code A81001 (first on line 1)`,
		}},
		{file: "derived-sicbl-icb-nhser-hierarchy_conflict.csv", kind: KindHierarchy, want: Summary{Rows: 7, Records: 3 + 3}, errs: []string{
			`testdata/ods/derived-sicbl-icb-nhser-hierarchy_conflict.csv:3: NHSER_NAME: region Y56 is named "Greater London" here but "London" on line 2`,
			`testdata/ods/derived-sicbl-icb-nhser-hierarchy_conflict.csv:4: NHSER_ODS_CODE: ICB QKK is in region Y63 here but in Y56 on line 2`,
			`testdata/ods/derived-sicbl-icb-nhser-hierarchy_conflict.csv:5: SICBL_ODS_CODE: duplicate code 72Q (first on line 2)`,
			`testdata/ods/derived-sicbl-icb-nhser-hierarchy_conflict.csv:6: has 5 fields, the header has 9`,
			`testdata/ods/derived-sicbl-icb-nhser-hierarchy_conflict.csv:7: SICBL_NAME: empty name`,
		}},
		{file: "gp-reg-pat-prac-all_bad.csv", kind: KindGPPatients, want: Summary{Rows: 5, Records: 1}, errs: []string{
			`testdata/ods/gp-reg-pat-prac-all_bad.csv:3: NUMBER_OF_PATIENTS: "lots" is not a number of patients`,
			`testdata/ods/gp-reg-pat-prac-all_bad.csv:4: NUMBER_OF_PATIENTS: "-5" is not a number of patients`,
			`testdata/ods/gp-reg-pat-prac-all_bad.csv:5: CODE: empty code`,
			`testdata/ods/gp-reg-pat-prac-all_bad.csv:6: CODE: duplicate code A84002 (first on line 2)`,
		}},

		{file: "unknown_header.csv", fileErr: ErrUnknownFormat},
		{file: "etr_wrong_file.csv", fileErr: ErrMalformed},
		{file: "etr_binary.csv", fileErr: ErrMalformed},
	}
	used := map[string]bool{}
	for _, tc := range cases {
		golden := strings.TrimSuffix(tc.file, ".csv")
		if tc.opts.AllSettings {
			golden += ".all"
		}
		golden = filepath.Join(odsTestdata, "golden", golden+".json")
		used[filepath.Base(golden)] = true
		t.Run(filepath.Base(golden), func(t *testing.T) {
			path := filepath.Join(odsTestdata, tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ParseODS(path, bytes.NewReader(data), tc.opts)
			var got odsGolden
			switch {
			case tc.fileErr != nil:
				if !errors.Is(err, tc.fileErr) {
					t.Fatalf("error = %v, want %v", err, tc.fileErr)
				}
				got.Error = err.Error()
			case err != nil:
				t.Fatalf("ParseODS: %v", err)
			default:
				want := tc.want
				want.Kind = tc.kind
				if res.Summary != want {
					t.Errorf("summary = %+v, want %+v", res.Summary, want)
				}
				var errs []string
				for _, e := range res.Errors {
					errs = append(errs, e.Error())
				}
				if strings.Join(errs, "\n") != strings.Join(tc.errs, "\n") {
					t.Errorf("row errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(tc.errs, "\n"))
				}
				odsCheckInvariants(t, path, res)
				got.Result = &res
			}
			odsCompareGolden(t, golden, got)
		})
	}
	// Report goldens that no case produces any more.
	entries, err := os.ReadDir(filepath.Join(odsTestdata, "golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !used[e.Name()] {
			t.Errorf("stale golden file %s: no test case uses it; delete it", e.Name())
		}
	}
}

func odsCompareGolden(t *testing.T, path string, got odsGolden) {
	t.Helper()
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	if *odsUpdate {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run ODS ./internal/org/ -update-ods to create it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("output differs from %s (run with -update-ods to accept):\n%s", path, out)
	}
}

// odsCheckInvariants checks what must hold for any successful parse; the
// fuzz target uses it too.
func odsCheckInvariants(t testing.TB, name string, res ParseResult) {
	t.Helper()
	if res.Summary.Records != len(res.Records) {
		t.Errorf("Summary.Records = %d, len(Records) = %d", res.Summary.Records, len(res.Records))
	}
	accepted := map[int]bool{}
	for _, r := range res.Records {
		if r.Line < 1 {
			t.Errorf("record %+v has line %d", r, r.Line)
		}
		if r.File != name {
			t.Errorf("record file %q, want %q", r.File, name)
		}
		if odsCodeProblem(r.Org.Code) != "" {
			t.Errorf("record with bad code %q", r.Org.Code)
		}
		if !r.PopulationOnly && (r.Org.Name == "" || !r.Org.Type.Valid() || (r.Org.Status != Active && r.Org.Status != Closed)) {
			t.Errorf("incomplete record %+v", r)
		}
		if r.PopulationOnly && r.NameOnly {
			t.Errorf("record both PopulationOnly and NameOnly: %+v", r)
		}
		accepted[r.Line] = true
	}
	for _, e := range res.Errors {
		if e.Line < 1 {
			t.Errorf("row error with line %d: %v", e.Line, e)
		}
		if e.File != name {
			t.Errorf("row error file %q, want %q", e.File, name)
		}
	}
	if got := len(accepted) + res.Summary.Skipped + len(res.Errors); got != res.Summary.Rows {
		t.Errorf("accepted %d + skipped %d + errors %d = %d, want Rows %d",
			len(accepted), res.Summary.Skipped, len(res.Errors), got, res.Summary.Rows)
	}
}

func TestDetectKindODS(t *testing.T) {
	cases := []struct {
		name, first string
		want        Kind
	}{
		{"etr.csv", `"R0A","X"`, KindTrusts},
		{"/data/ods/ETR_2025.CSV", `"R0A","X"`, KindTrusts},
		{`C:\Downloads\ect.csv`, ``, KindCareTrusts},
		{"eccg (1).csv", `"00C"`, KindSubICBs},
		{"epraccur.csv", `"A81001"`, KindPractices},
		{"anything.csv", "SICBL_ODS_CODE,SICBL_ONS_CODE,SICBL_NAME,ICB_ODS_CODE,ICB_ONS_CODE,ICB_NAME,NHSER_ODS_CODE,NHSER_ONS_CODE,NHSER_NAME\r\n", KindHierarchy},
		{"lookup.csv", "\ufeffSICBL23CD,SICBL23CDH,SICBL23NM,ICB23CD,ICB23CDH,ICB23NM,NHSER23CD,NHSER23CDH,NHSER23NM,ObjectId\n72Q,…", KindONSLookup},
		{"lookup.csv", "SICBL24CD,SICBL24CDH,SICBL24NM,ICB24CD,ICB24CDH,ICB24NM,NHSER24CD,NHSER24CDH,NHSER24NM", KindONSLookup},
		{"names.csv", "ICB24CD,ICB24CDH,ICB24NM,ObjectId", KindICBNames},
		{"names.csv", `"ICB25CD","ICB25CDH","ICB25NM"`, KindICBNames},
		{"gp.csv", "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS", KindGPPatients},
		{"gp.csv", "PUBLICATION,EXTRACT_DATE,TYPE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS", KindGPPatients},
		// A header wins over the name.
		{"etr.csv", "ICB24CD,ICB24CDH,ICB24NM,ObjectId", KindICBNames},
	}
	for _, tc := range cases {
		got, err := DetectKind(tc.name, []byte(tc.first))
		if err != nil || got != tc.want {
			t.Errorf("DetectKind(%q, %q) = %q, %v; want %q", tc.name, tc.first, got, err, tc.want)
		}
	}
	for _, name := range []string{"ets.csv", "etr.txt", "derived-icb-registered-patients-2022-05.csv", "nhser_regions.csv", ""} {
		first := "ICB_ODS_CODE,ICB_ONS_CODE,ICB_NAME,NHSER_ODS_CODE,NHSER_NAME,GP_PRACTICES,REGISTERED_PATIENTS"
		_, err := DetectKind(name, []byte(first))
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("DetectKind(%q) error = %v, want ErrUnknownFormat", name, err)
			continue
		}
		for _, s := range []string{"etr*.csv", "ect*.csv", "eccg*.csv", "epraccur*.csv", "SICBL_ODS_CODE", "SICBL23CD", "ICB24CD", "NUMBER_OF_PATIENTS"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("DetectKind(%q) error %q does not mention %s", name, err, s)
			}
		}
	}
}

func TestParseODSWholeFileErrors(t *testing.T) {
	cases := []struct {
		name, data string
		want       error
		says       string
	}{
		{"etr.csv", "", ErrMalformed, "empty"},
		{"etr.csv", "\ufeff \r\n", ErrMalformed, "empty"},
		{"etr.csv", "\x1f\x8b\x08\x00rest", ErrMalformed, "gzip"},
		{"etr.csv", "PK\x03\x04rest", ErrMalformed, "unzip"},
		{"etr.csv", "\xff\xfe\"\x00R\x00", ErrMalformed, "UTF-16"},
		{"etr.csv", "\"R0A\",\x00\n", ErrMalformed, "binary"},
		{"etr.csv", "Organisation Code,Name\n", ErrMalformed, "line 1 has 2 fields"},
		{"etr.csv", "\"R0A\",\"A \"B\" C\"\n", ErrMalformed, "line 1 is not CSV"},
		{"eccg.txt", "\"00C\"\n", ErrUnknownFormat, "supported files"},
	}
	for _, tc := range cases {
		_, err := ParseODS(tc.name, strings.NewReader(tc.data), ParseOptions{})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseODS(%q, %q) error = %v; want %v saying %q", tc.name, tc.data, err, tc.want, tc.says)
		}
	}
	readErr := errors.New("disk on fire")
	_, err := ParseODS("etr.csv", io.MultiReader(strings.NewReader(strings.Repeat(`"R0A",`, 20000)), odsErrReader{readErr}), ParseOptions{})
	if !errors.Is(err, readErr) {
		t.Errorf("read error = %v, want %v", err, readErr)
	}
	// A header-only file is fine: no rows.
	res, err := ParseODS("gp.csv", strings.NewReader("CODE,NUMBER_OF_PATIENTS\n"), ParseOptions{})
	if err != nil || res.Summary != (Summary{Kind: KindGPPatients}) {
		t.Errorf("header only: %+v, %v", res.Summary, err)
	}
}

type odsErrReader struct{ err error }

func (r odsErrReader) Read([]byte) (int, error) { return 0, r.err }

type odsPanicReader struct{}

func (odsPanicReader) Read([]byte) (int, error) { panic("reader exploded") }

func TestParseODSRecoversPanic(t *testing.T) {
	_, err := ParseODS("etr.csv", odsPanicReader{}, ParseOptions{})
	if err == nil || !strings.Contains(err.Error(), "reader exploded") {
		t.Fatalf("error = %v, want the recovered panic", err)
	}
}

func TestParseODSLineEndings(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(odsTestdata, "etr.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("\r\n")) {
		t.Fatal("fixture etr.csv should have CRLF line endings, as published")
	}
	crlf, err := ParseODS("etr.csv", bytes.NewReader(data), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ParseODS("etr.csv", bytes.NewReader(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bom, err := ParseODS("etr.csv", bytes.NewReader(append([]byte("\ufeff"), data...)), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(crlf)
	for _, other := range []ParseResult{lf, bom} {
		if b, _ := json.Marshal(other); !bytes.Equal(a, b) {
			t.Errorf("results differ:\n%s\n%s", a, b)
		}
	}
}

func TestRowErrorODS(t *testing.T) {
	for _, tc := range []struct {
		e    RowError
		want string
	}{
		{RowError{"etr.csv", 3, "Open Date (field 11)", "bad"}, "etr.csv:3: Open Date (field 11): bad"},
		{RowError{"etr.csv", 4, "", "has 26 fields, want 27"}, "etr.csv:4: has 26 fields, want 27"},
	} {
		var err error = tc.e
		if err.Error() != tc.want {
			t.Errorf("Error() = %q, want %q", err.Error(), tc.want)
		}
	}
}

// odsRealData is the shared NHS data folder, relative to this package.
const odsRealData = "../../../shared/data/nhs"

func odsParseReal(t *testing.T, rel string, opts ParseOptions) ParseResult {
	t.Helper()
	path := filepath.Join(odsRealData, rel)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		testneed.Missing(t, "the NHS data in ../shared/data/nhs", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := ParseODS(path, f, opts)
	if err != nil {
		t.Fatalf("ParseODS(%s): %v", path, err)
	}
	for _, e := range res.Errors {
		t.Errorf("row error in real file: %v", e)
	}
	odsCheckInvariants(t, path, res)
	return res
}

// odsTally counts records by a key.
func odsTally(res ParseResult, key func(Org) string) map[string]int {
	m := map[string]int{}
	for _, r := range res.Records {
		if k := key(r.Org); k != "" {
			m[k]++
		}
	}
	return m
}

func odsEqualCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestParseODSRealFiles parses the real extracts in shared/data/nhs and checks
// the counts given in its README.
func TestParseODSRealFiles(t *testing.T) {
	status := func(o Org) string { return string(o.Status) }
	typ := func(o Org) string { return string(o.Type) }

	t.Run("etr", func(t *testing.T) {
		res := odsParseReal(t, "ods/etr.csv", ParseOptions{})
		if res.Summary != (Summary{Kind: KindTrusts, Rows: 273, Records: 273}) {
			t.Errorf("summary %+v", res.Summary)
		}
		odsEqualCounts(t, "status", odsTally(res, status), map[string]int{"active": 205, "closed": 68})
		odsEqualCounts(t, "open trusts by region", odsTally(res, func(o Org) string {
			if o.Status != Active {
				return ""
			}
			return "r" + o.Region
		}), map[string]int{"rY56": 31, "rY58": 19, "rY59": 29, "rY60": 39, "rY61": 22, "rY62": 31, "rY63": 31, "rW00": 3})
		for _, r := range res.Records {
			if r.Org.Region == "" && r.Org.Parent != "" {
				t.Errorf("%s has no region but parent %q", r.Org.Code, r.Org.Parent)
			}
			// The three Welsh trusts (GOR code W, no region in the file) go
			// under Wales's node, not the national root.
			if r.Org.Region == "W00" {
				if r.Org.Parent != "W00" || r.Org.ICB != "" {
					t.Errorf("%s: Welsh trust with parent %q and ICB %q, want W00 and none", r.Org.Code, r.Org.Parent, r.Org.ICB)
				}
				continue
			}
			if r.Org.Region != "" && (r.Org.ICB == "" || r.Org.Parent != r.Org.ICB) {
				t.Errorf("%s: parent %q, want its ICB %q", r.Org.Code, r.Org.Parent, r.Org.ICB)
			}
		}
	})
	t.Run("ect", func(t *testing.T) {
		// The README says 3 care trusts (TAD, TAF, TAH); the file also has TAJ.
		res := odsParseReal(t, "ods/ect.csv", ParseOptions{})
		if res.Summary != (Summary{Kind: KindCareTrusts, Rows: 4, Records: 4}) {
			t.Errorf("summary %+v", res.Summary)
		}
		odsEqualCounts(t, "type", odsTally(res, typ), map[string]int{"trust": 4})
	})
	var eccgSubICBs map[string]Org
	t.Run("eccg", func(t *testing.T) {
		res := odsParseReal(t, "ods/eccg.csv", ParseOptions{})
		if res.Summary != (Summary{Kind: KindSubICBs, Rows: 320, Records: 106, Skipped: 214}) {
			t.Errorf("summary %+v", res.Summary)
		}
		odsEqualCounts(t, "type/status", odsTally(res, func(o Org) string { return string(o.Type) + "/" + string(o.Status) }),
			map[string]int{"sub-icb/active": 106})
		eccgSubICBs = map[string]Org{}
		for _, r := range res.Records {
			eccgSubICBs[r.Org.Code] = r.Org
		}
		all := odsParseReal(t, "ods/eccg.csv", ParseOptions{AllSettings: true})
		if all.Summary != (Summary{Kind: KindSubICBs, Rows: 320, Records: 320}) {
			t.Errorf("all settings summary %+v", all.Summary)
		}
		odsEqualCounts(t, "all settings type/status", odsTally(all, func(o Org) string { return string(o.Type) + "/" + string(o.Status) }),
			map[string]int{"sub-icb/active": 106, "other-provider/active": 37 + 16, "other-provider/closed": 161})
	})
	t.Run("epraccur", func(t *testing.T) {
		res := odsParseReal(t, "ods/epraccur.csv", ParseOptions{})
		if res.Summary != (Summary{Kind: KindPractices, Rows: 16685, Records: 8655, Skipped: 16685 - 8655}) {
			t.Errorf("summary %+v", res.Summary)
		}
		// The README's 6,618 active practices count status A only; the 74
		// dormant (D) setting-4 practices have no close date and are active
		// here too. Tie the two together from the raw file.
		a, d := odsRawPracticeStatus(t)
		if a != 6618 || d != 74 {
			t.Errorf("raw setting-4 status A %d, D without close date %d; want 6618 and 74", a, d)
		}
		odsEqualCounts(t, "status", odsTally(res, status), map[string]int{"active": 6618 + 74, "closed": 1963})
		odsEqualCounts(t, "type", odsTally(res, typ), map[string]int{"gp-practice": 8655})
		odsEqualCounts(t, "active practices by region", odsTally(res, func(o Org) string {
			if o.Status != Active {
				return ""
			}
			return o.Region
		}), map[string]int{"Y56": 1159, "Y58": 528, "Y59": 793, "Y60": 1266, "Y61": 650, "Y62": 948, "Y63": 947, "W00": 401})
		for _, r := range res.Records {
			if r.Org.Parent == "" {
				t.Errorf("%s has no parent", r.Org.Code)
			}
		}
		all := odsParseReal(t, "ods/epraccur.csv", ParseOptions{AllSettings: true})
		if all.Summary != (Summary{Kind: KindPractices, Rows: 16685, Records: 16685}) {
			t.Errorf("all settings summary %+v", all.Summary)
		}
		odsEqualCounts(t, "all settings status", odsTally(all, status), map[string]int{"active": 12440 + 218 + 3, "closed": 4024})
		// Bodies outside NHS England hang from their nation's node: Wales
		// (W00) and the Crown dependencies (Isle of Man YAC, Jersey YAD,
		// Guernsey YAE, Alderney YAF), whatever commissioner they name.
		odsEqualCounts(t, "all settings outside England", odsTally(all, func(o Org) string {
			if _, ok := NationName(o.Region); !ok {
				return ""
			}
			if o.Parent != o.Region || o.ICB != "" {
				return "misplaced " + o.Code
			}
			return o.Region
		}), map[string]int{"W00": 757, "YAC": 24, "YAD": 81, "YAE": 55, "YAF": 5})
	})
	hierarchy := func(t *testing.T, rel string, kind Kind) map[string]Org {
		res := odsParseReal(t, rel, ParseOptions{})
		if res.Summary != (Summary{Kind: kind, Rows: 106, Records: 7 + 42 + 106}) {
			t.Errorf("summary %+v", res.Summary)
		}
		odsEqualCounts(t, "types", odsTally(res, typ), map[string]int{"region": 7, "icb": 42, "sub-icb": 106})
		byCode := map[string]Org{}
		for _, r := range res.Records {
			byCode[r.Org.Code] = r.Org
		}
		for _, o := range byCode {
			p, ok := byCode[o.Parent]
			switch {
			case o.Type == Region && o.Parent != RootCode:
				t.Errorf("region %s parent %q", o.Code, o.Parent)
			case o.Type != Region && !ok:
				t.Errorf("%s %s: parent %q not in file", o.Type, o.Code, o.Parent)
			case o.Type == ICB && p.Type != Region, o.Type == SubICB && p.Type != ICB:
				t.Errorf("%s %s: parent %s is a %s", o.Type, o.Code, p.Code, p.Type)
			}
		}
		return byCode
	}
	var derived, ons map[string]Org
	t.Run("hierarchy", func(t *testing.T) {
		derived = hierarchy(t, "lookups/derived-sicbl-icb-nhser-hierarchy.csv", KindHierarchy)
	})
	t.Run("ons-lookup", func(t *testing.T) {
		ons = hierarchy(t, "lookups/sicbl23_icb23_nhser23_lookup_april2023.csv", KindONSLookup)
	})
	t.Run("agree", func(t *testing.T) {
		// README: the 106 open SICBLs of eccg match the ONS April 2023 lookup
		// one-to-one, with the same ICB and region codes.
		if len(derived) == 0 || len(ons) == 0 || len(eccgSubICBs) == 0 {
			t.Skip("an earlier subtest did not run")
		}
		for code, o := range derived {
			if ons[code].Parent != o.Parent || ons[code].Type != o.Type {
				t.Errorf("%s: hierarchy parent %s, ONS lookup parent %s", code, o.Parent, ons[code].Parent)
			}
			if e, ok := eccgSubICBs[code]; o.Type == SubICB && (!ok || e.Parent != o.Parent || e.Region != o.Region) {
				t.Errorf("%s: hierarchy %s/%s, eccg %s/%s", code, o.Parent, o.Region, e.Parent, e.Region)
			}
		}
	})
	t.Run("icb-names", func(t *testing.T) {
		res := odsParseReal(t, "lookups/icb24_names_codes_dec2024.csv", ParseOptions{})
		if res.Summary != (Summary{Kind: KindICBNames, Rows: 42, Records: 42}) {
			t.Errorf("summary %+v", res.Summary)
		}
		for _, r := range res.Records {
			if !r.NameOnly || r.Org.Type != ICB || r.Org.Parent != "" {
				t.Errorf("record %+v: want a NameOnly ICB with no parent", r)
			}
			if ons != nil && ons[r.Org.Code].Type != ICB {
				t.Errorf("ICB %s is not in the ONS lookup", r.Org.Code)
			}
		}
	})
	t.Run("gp-patients", func(t *testing.T) {
		res := odsParseReal(t, "gp_patients/gp-reg-pat-prac-all_2022-05.csv", ParseOptions{})
		if res.Summary != (Summary{Kind: KindGPPatients, Rows: 6506, Records: 6506}) {
			t.Errorf("summary %+v", res.Summary)
		}
		var sum int64
		for _, r := range res.Records {
			if !r.PopulationOnly {
				t.Errorf("record %+v is not PopulationOnly", r)
			}
			sum += r.Org.Population
		}
		if sum != 61_654_788 {
			t.Errorf("registered patients = %d, want 61,654,788", sum)
		}
	})
}

// odsRawPracticeStatus counts setting-4 rows of the real epraccur with status
// A, and with status D and no close date, straight from the CSV.
func odsRawPracticeStatus(t *testing.T) (a, d int) {
	t.Helper()
	f, err := os.Open(filepath.Join(odsRealData, "ods/epraccur.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r[odsSetting] != "4" {
			continue
		}
		switch {
		case r[odsStatus] == "A":
			a++
		case r[odsStatus] == "D" && r[odsClose] == "":
			d++
		}
	}
	return a, d
}

func ExampleParseODS() {
	const etr = `"R0A","MANCHESTER UNIVERSITY NHS FOUNDATION TRUST","Y62","QOP","COBBETT HOUSE","OXFORD ROAD","","MANCHESTER","","M13 9WL","20171001","","","","","","","0300 3309444","","","","1","","B","","",""` + "\r\n" +
		`"R0B","SHORT ROW"` + "\r\n"
	res, err := ParseODS("etr.csv", strings.NewReader(etr), ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", res.Summary)
	for _, r := range res.Records {
		fmt.Println(r.Line, r.Org.Code, r.Org.Type, r.Org.Parent, r.Org.Status, r.Org.Opened)
	}
	for _, e := range res.Errors {
		fmt.Println(e)
	}
	// Output:
	// {Kind:etr Rows:2 Records:1 Skipped:0}
	// 1 R0A trust QOP active 2017-10-01
	// etr.csv:2: has 2 fields, want 27
}
