package assurance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testneed"
)

const dsptData = "../../../shared/data/nhs/dspt"

func dsptFiles(t *testing.T) []DSPTInput {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dsptData, "*", "*.csv"))
	if err != nil || len(paths) == 0 {
		testneed.Missing(t, "the DSPT snapshots in ../shared/data/nhs/dspt", err)
	}
	var out []DSPTInput
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, DSPTInput{Name: p, Data: data})
	}
	return out
}

// TestParseDSPTSnapshots checks every published snapshot against the
// status counts in the data README (counted there by hand and with pandas).
func TestParseDSPTSnapshots(t *testing.T) {
	want := map[string]struct {
		snapshot                      string
		rows, statuses, skipped       int
		exceeded, met, approach, nmet int
	}{
		"DSPT_CCG_21_22_snapshot09_09_22.csv":    {"2022-09-09", 106, 106, 0, 22, 82, 2, 0},
		"DSPT_trusts_21_22_snapshot09_09_22.csv": {"2022-09-09", 215, 212, 3, 15, 129, 63, 5},
		// RW6 is listed twice (once per successor) with no status of its own.
		"data_DSPTmetric_20220208.csv":      {"2022-02-08", 357, 351, 6, 44, 234, 68, 5},
		"CSU_dspt_snapshot_16_11_23.csv":    {"2023-11-16", 5, 4, 1, 4, 0, 0, 0},
		"ICB_dspt_snapshot_16_11_23.csv":    {"2023-11-16", 42, 42, 0, 7, 34, 1, 0},
		"ccg_dspt_snapshot_17_10_23.csv":    {"2023-10-17", 106, 105, 1, 22, 82, 1, 0},
		"dspt_trusts_snapshot_16_11_23.csv": {"2023-11-16", 211, 210, 1, 15, 138, 57, 0},
		"dspt_trusts_snapshot_17_10_23.csv": {"2023-10-17", 211, 211, 0, 15, 134, 60, 2},
	}
	for _, in := range dsptFiles(t) {
		base := filepath.Base(in.Name)
		w, ok := want[base]
		if !ok {
			t.Errorf("unexpected file %s", base)
			continue
		}
		sts, f, err := ParseDSPT(in.Name, in.Data, "")
		if err != nil {
			t.Errorf("%s: %v", base, err)
			continue
		}
		n := map[DSPTLevel]int{}
		for _, s := range sts {
			n[s.Level]++
			if s.Edition == "" || s.Snapshot != w.snapshot || !odsCodeLike().MatchString(s.OrgCode) {
				t.Fatalf("%s: %+v", base, s)
			}
		}
		if f.Snapshot != w.snapshot || f.Rows != w.rows || f.Statuses != w.statuses || f.Skipped != w.skipped ||
			n[DSPTExceeded] != w.exceeded || n[DSPTMet] != w.met || n[DSPTApproaching] != w.approach || n[DSPTNotMet] != w.nmet {
			t.Errorf("%s: %+v %v, want %+v", base, f, n, w)
		}
	}
}

func TestParseDSPTErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"x_01_02_23.csv", "Code,Status\nRXX,22/23 Standards Met\nRYY,Brilliant\n", "x_01_02_23.csv:3: status \"Brilliant\""},
		{"x_01_02_23.csv", "Code,Status\nr-x,22/23 Standards Met\n", "x_01_02_23.csv:2: organisation code \"R-X\""},
		{"x_01_02_23.csv", "Name,Status\nA,22/23 Standards Met\n", "line 1: the header needs a Code"},
		{"x_01_02_23.csv", "Code,Status\nRXX,22/23 Standards Met\nRXX,22/23 Standards Not Met\n", "x_01_02_23.csv:3: RXX has Standards Not Met for 2022-23 here"},
		{"x_01_02_23.csv", "Code,Status,Date Of Publication\nRXX,22/23 Standards Met,2023-06-30\n", "x_01_02_23.csv:2: date of publication"},
		{"snapshot.csv", "Code,Status\n", "gives no snapshot date"},
		{"x_01_02_23.csv", "Code,Status\n\"RXX,22/23\n", "line"},
	} {
		_, _, err := ParseDSPT(tc.name, []byte(tc.doc), "")
		var inv *fault.Invalid
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func FuzzParseDSPT(f *testing.F) {
	for _, p := range []string{"2022-23/CSU_dspt_snapshot_16_11_23.csv", "2022-23/ICB_dspt_snapshot_16_11_23.csv"} {
		if data, err := os.ReadFile(filepath.Join(dsptData, p)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("Code,Status,Date Of Publication\nRXX,22/23 Standards Met,30/06/2023\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sts, _, err := ParseDSPT("x_16_11_23.csv", data, "")
		if err != nil {
			var inv *fault.Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("%v is not an invalid-input error", err)
			}
			return
		}
		for _, s := range sts {
			if s.Level.Label() == string(s.Level) || len(s.Edition) != 7 {
				t.Fatalf("%+v", s)
			}
		}
	})
}

// fakeOrgs sees the organisations listed; fakeSuppliers the suppliers.
type fakeOrgs map[string]bool

func (f fakeOrgs) Get(_ context.Context, _ scope.Scope, code string) (org.Org, error) {
	if !f[code] {
		return org.Org{}, fault.NotFoundf("no organisation %s", code)
	}
	return org.Org{Code: code}, nil
}

type fakeSuppliers map[string]string

func (f fakeSuppliers) GetSupplier(_ context.Context, _ scope.Scope, id string) (supply.Supplier, error) {
	ods, ok := f[id]
	if !ok {
		return supply.Supplier{}, fault.NotFoundf("no supplier %s", id)
	}
	return supply.Supplier{ID: id, ODSCode: ods}, nil
}

func TestImportDSPTLaterSnapshotWinsInAnyOrder(t *testing.T) {
	files := dsptFiles(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		s.orgs = fakeOrgs{"R0A": true, "RXX": true}
		s.suppliers = fakeSuppliers{"CSU-NORTH": "0AR", "ACME": ""}
		sys := scope.System("test")
		// Newest files first: the older October trust snapshot must not
		// overwrite November's.
		rev := make([]DSPTInput, len(files))
		for i := range files {
			rev[i] = files[len(files)-1-i]
		}
		rep, err := s.ImportDSPT(ctx, sys, rev)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created == 0 || rep.Older == 0 {
			t.Fatalf("%+v", rep)
		}
		counts, err := s.DSPTCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// 2022-23 trusts from the 16 Nov snapshot (138 Met, 57 Approaching,
		// 15 Exceeded) plus 34 ICBs Met, 7 Exceeded, 1 Approaching, and 4
		// CSUs Exceeded. Of the 17 Oct snapshot's 2 Not Met, RNK is
		// Approaching by 16 Nov (counted in the 57) and RA4 is "Not
		// Published" there, which says nothing, so its October Not Met stands.
		if c := counts["2022-23"]; c[DSPTMet] != 138+34 || c[DSPTApproaching] != 57+1 || c[DSPTExceeded] != 15+7+4 || c[DSPTNotMet] != 1 {
			t.Errorf("2022-23: %v", c)
		}
		// Again, in file order: nothing changes.
		again, err := s.ImportDSPT(ctx, sys, files)
		if err != nil || again.Created != 0 || again.Updated != 0 {
			t.Fatalf("re-import %+v %v", again, err)
		}
		if ra4, err := s.OrgDSPT(ctx, scope.System("t"), "RA4"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("RA4 is not visible to the fake org source: %+v %v", ra4, err)
		}
		got, err := s.OrgDSPT(ctx, sys, "r0a")
		if err != nil || len(got) == 0 || got[0].Edition != "2022-23" || got[0].Level != DSPTMet || got[0].Snapshot != "2023-11-16" || got[0].Published != "2023-06-30" {
			t.Fatalf("R0A: %+v %v", got, err)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Edition >= got[i-1].Edition {
				t.Errorf("editions out of order: %+v", got)
			}
		}
		if _, err := s.OrgDSPT(ctx, sys, "RJ1"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("an organisation the caller cannot see: %v", err)
		}
		sup, err := s.SupplierDSPT(ctx, sys, "CSU-NORTH")
		if err != nil || len(sup) != 2 || sup[0].Edition != "2022-23" || sup[0].Level != DSPTExceeded || sup[0].OrgCode != "0AR" || sup[1].Edition != "2020-21" {
			t.Errorf("supplier with an ODS code: %+v %v", sup, err)
		}
		if sup, err := s.SupplierDSPT(ctx, sys, "ACME"); err != nil || len(sup) != 0 {
			t.Errorf("supplier without: %+v %v", sup, err)
		}
		if _, err := s.SupplierDSPT(ctx, sys, "NOPE"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("unknown supplier: %v", err)
		}
		// A bad file among good ones writes nothing.
		before, _ := s.DSPTCounts(ctx)
		bad := DSPTInput{Name: "bad_01_01_24.csv", Data: []byte("Code,Status\nRXX,23/24 Standards Met\nRYY,Great\n")}
		good := DSPTInput{Name: "good_01_01_24.csv", Data: []byte("Code,Status\nRXX,23/24 Standards Met\n")}
		if _, err := s.ImportDSPT(ctx, sys, []DSPTInput{good, bad}); err == nil {
			t.Fatal("bad file imported")
		}
		after, _ := s.DSPTCounts(ctx)
		if len(after) != len(before) {
			t.Errorf("a failed import wrote: %v", after)
		}
		trust := scope.Scope{UserID: "u", Grants: []scope.Grant{{Role: scope.OrgAdmin, Org: "RXX", Path: "/Y56/QMJ/RXX/"}}}
		if _, err := s.ImportDSPT(ctx, trust, []DSPTInput{good}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("trust import: %v", err)
		}
	}, audit.Migrations(), org.Migrations(), Migrations())
}
