package org_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

const importdata = "testdata/import"

// fixtures are the hand-written extracts: a hierarchy (2 regions, 3 ICBs,
// 3 sub-ICBs), trusts with one bad row (line 4), practices with one closed,
// one whose sub-ICB is unknown and one out-of-hours service (skipped), and
// patient counts.
var fixtures = []string{
	importdata + "/derived-sicbl-icb-nhser-hierarchy.csv",
	importdata + "/etr.csv",
	importdata + "/epraccur.csv",
	importdata + "/gp-reg-pat-prac-all.csv",
}

// fixtureCodes is every organisation the fixtures create: W00 is the node
// the importer makes for Wales, whose trust RQF the etr fixture lists.
var fixtureCodes = []string{
	"Y56", "Y62", "QKK", "QMJ", "QOP", "72Q", "93C", "14L",
	"RJ1", "RJZ", "R0A", "W00", "RQF",
	"G85001", "G85002", "P84001", "G85099", "G85050",
}

func countRows(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Q().QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportFixtures(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		var progress [][2]int
		rep, err := e.svc.Import(ctx, nat, fixtures, org.ImportOptions{BatchSize: 5, Progress: func(done, total int) {
			progress = append(progress, [2]int{done, total})
		}})
		if err != nil {
			t.Fatalf("Import: %v", err)
		}
		if rep.DryRun || rep.Created != len(fixtureCodes) || rep.Updated != 0 || rep.Unchanged != 1 || rep.Closed != 1 || rep.Applied != len(fixtureCodes) || rep.RowError != 1 {
			t.Errorf("report: created %d updated %d unchanged %d closed %d applied %d row errors %d; want %d 0 1 1 %d 1",
				rep.Created, rep.Updated, rep.Unchanged, rep.Closed, rep.Applied, rep.RowError, len(fixtureCodes), len(fixtureCodes))
		}
		if !slices.Equal(rep.Orphans, []string{"G85050"}) {
			t.Errorf("orphans %v, want [G85050]", rep.Orphans)
		}
		if n := len(fixtureCodes); len(progress) != 4 || progress[3] != [2]int{n, n} || progress[0] != [2]int{5, n} {
			t.Errorf("progress calls %v, want 5/%d … %d/%d", progress, n, n, n)
		}

		// Each file reported, the bad row with file:line and column, the rest loaded.
		if len(rep.Files) != 4 {
			t.Fatalf("%d file reports", len(rep.Files))
		}
		kinds := []org.Kind{org.KindHierarchy, org.KindTrusts, org.KindPractices, org.KindGPPatients}
		records := []int{8, 4, 5, 4}
		for i, f := range rep.Files {
			if f.File != fixtures[i] || f.Kind != kinds[i] || f.Records != records[i] {
				t.Errorf("file %d: %s kind %s records %d, want %s %s %d", i, f.File, f.Kind, f.Records, fixtures[i], kinds[i], records[i])
			}
		}
		etr := rep.Files[1]
		if etr.Rows != 5 || len(etr.Errors) != 1 {
			t.Fatalf("etr: %d rows, errors %v", etr.Rows, etr.Errors)
		}
		re := etr.Errors[0]
		if re.File != "etr.csv" || re.Line != 4 || !strings.HasPrefix(re.Error(), "etr.csv:4: Open Date (field 11): ") {
			t.Errorf("bad row reported as %q (%+v)", re.Error(), re)
		}
		if rep.Files[2].Skipped != 1 || rep.Files[3].Skipped != 1 {
			t.Errorf("skipped: epraccur %d (want the OOH service), patients %d (want the MALE row)", rep.Files[2].Skipped, rep.Files[3].Skipped)
		}
		if _, err := e.svc.Lookup(ctx, "RBAD"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the bad row was loaded: %v", err)
		}
		if _, err := e.svc.Lookup(ctx, "Y00001"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the out-of-hours service was loaded: %v", err)
		}

		// What was loaded, where it hangs and what it carries: names in
		// one readable case, Wales outside England's regions.
		cases := []org.Org{
			{Code: "Y56", Name: "London", Type: org.Region, Parent: "ENG", Status: org.Active, Region: "Y56", Source: "hierarchy", Path: "/ENG/Y56/"},
			{Code: "QOP", Name: "NHS Greater Manchester Integrated Care Board", Type: org.ICB, Parent: "Y62", Status: org.Active, Region: "Y62", ICB: "QOP", Source: "hierarchy", Path: "/ENG/Y62/QOP/"},
			{Code: "72Q", Name: "NHS South East London ICB - 72Q", Type: org.SubICB, Parent: "QKK", Status: org.Active, Region: "Y56", ICB: "QKK", Source: "hierarchy", Path: "/ENG/Y56/QKK/72Q/"},
			{Code: "RJ1", Name: "Guy's and St Thomas' NHS Foundation Trust", Type: org.Trust, Parent: "QKK", Status: org.Active, Region: "Y56", ICB: "QKK", Postcode: "SE1 9RT", Opened: "1993-04-01", Source: "etr", Path: "/ENG/Y56/QKK/RJ1/"},
			{Code: "W00", Name: "NHS Wales", Type: org.Nation, Parent: "ENG", Status: org.Active, Region: "W00", Source: "vigil", Path: "/ENG/W00/"},
			{Code: "RQF", Name: "Velindre University NHS Trust", Type: org.Trust, Parent: "W00", Status: org.Active, Region: "W00", Postcode: "CF15 7QZ", Opened: "1994-04-01", Source: "etr", Path: "/ENG/W00/RQF/"},
			{Code: "G85001", Name: "The Borough Surgery", Type: org.GPPractice, Parent: "72Q", Status: org.Active, Region: "Y56", ICB: "QKK", Postcode: "SE1 1AB", Opened: "1974-04-01", Population: 9120, Source: "epraccur", Path: "/ENG/Y56/QKK/72Q/G85001/"},
			{Code: "G85099", Name: "Old Kent Road Surgery", Type: org.GPPractice, Parent: "72Q", Status: org.Closed, Region: "Y56", ICB: "QKK", Postcode: "SE15 1AA", Opened: "1974-04-01", Closed: "2023-12-31", Source: "epraccur", Path: "/ENG/Y56/QKK/72Q/G85099/"},
			{Code: "G85050", Name: "Practice of an Unknown Sub-ICB", Type: org.GPPractice, Parent: "QKK", Status: org.Active, Region: "Y56", ICB: "QKK", Postcode: "SE22 8AA", Opened: "2000-01-01", Source: "epraccur", Path: "/ENG/Y56/QKK/G85050/"},
		}
		for _, want := range cases {
			got, err := e.svc.Lookup(ctx, want.Code)
			if err != nil {
				t.Errorf("%s: %v", want.Code, err)
				continue
			}
			want.UpdatedAt = "2025-04-01T08:00:00Z"
			if got != want {
				t.Errorf("%s =\n%+v\nwant\n%+v", want.Code, got, want)
			}
		}
		// Imported organisations are scoped like any other.
		lead := e.as(t, scope.RegionLead, "Y62")
		if got, _, _ := e.svc.List(ctx, lead, org.ListFilter{}); !slices.Equal(codesOf(got), []string{"14L", "P84001", "QOP", "R0A", "Y62"}) {
			t.Errorf("Y62 lead lists %v", codesOf(got))
		}

		// One audit entry for the run, not one per organisation: the
		// files with their hashes, the counts and every change.
		es := auditEntries(t, e, "org.import")
		if len(es) != 1 {
			t.Fatalf("%d org.import entries, want 1 for the run", len(es))
		}
		run := importRunOf(t, es[0])
		if es[0].ObjectType != "import" || es[0].Actor != nat.Email || es[0].Before != nil {
			t.Errorf("run entry = %+v", es[0])
		}
		if run.Created != len(fixtureCodes) || run.Updated != 0 || run.Closed != 1 || run.RowErrors != 1 || len(run.Files) != 4 || run.ChangesOmitted != 0 {
			t.Errorf("run entry records %+v", run)
		}
		for i, f := range run.Files {
			if f.File != fixtures[i] || len(f.SHA256) != 64 || f.SHA256 != rep.Files[i].SHA256 {
				t.Errorf("run entry file %d = %+v", i, f)
			}
		}
		var audited []string
		for _, c := range run.Changes {
			if c.Action != "created" || c.Name == "" || len(c.Fields) != 0 {
				t.Errorf("change %+v, want a creation", c)
			}
			audited = append(audited, c.Code)
		}
		slices.Sort(audited)
		want := slices.Sorted(slices.Values(fixtureCodes))
		if !slices.Equal(audited, want) {
			t.Errorf("audited %v, want %v", audited, want)
		}
		if n := countRows(t, e.db, `SELECT COUNT(*) FROM audit_log`); n != 2 {
			t.Errorf("%d audit entries after the import, want the root's and the run's", n)
		}

		// Running it again changes nothing and writes nothing.
		e.clk.Advance(24 * time.Hour)
		seqBefore := countRows(t, e.db, `SELECT COUNT(*) FROM audit_log`)
		rep, err = e.svc.Import(ctx, nat, fixtures, org.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 0 || rep.Updated != 0 || rep.Closed != 0 || rep.Applied != 0 || rep.Unchanged != len(fixtureCodes)+1 {
			t.Errorf("re-run: created %d updated %d closed %d applied %d unchanged %d; want 0 0 0 0 %d", rep.Created, rep.Updated, rep.Closed, rep.Applied, rep.Unchanged, len(fixtureCodes)+1)
		}
		if n := countRows(t, e.db, `SELECT COUNT(*) FROM audit_log`); n != seqBefore {
			t.Errorf("re-run appended %d audit entries", n-seqBefore)
		}
		if n := countRows(t, e.db, `SELECT COUNT(*) FROM orgs WHERE updated_at <> ?`, "2025-04-01T08:00:00Z"); n != 0 {
			t.Errorf("re-run touched %d organisations", n)
		}

		// A newer extract closes G85002, renames P84001 and adds G85003;
		// the populations, from a file not given this time, are kept.
		e.clk.Advance(time.Hour)
		rep, err = e.svc.Import(ctx, nat, []string{importdata + "/v2/epraccur.csv"}, org.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 1 || rep.Updated != 2 || rep.Closed != 1 || rep.Unchanged != len(fixtureCodes)+1-2 || rep.Applied != 3 {
			t.Errorf("v2: created %d updated %d closed %d unchanged %d applied %d; want 1 2 1 %d 3", rep.Created, rep.Updated, rep.Closed, rep.Unchanged, rep.Applied, len(fixtureCodes)-1)
		}
		g2, _ := e.svc.Lookup(ctx, "G85002")
		if g2.Status != org.Closed || g2.Closed != "2025-03-31" || g2.Population != 15377 || g2.UpdatedAt != "2025-04-02T09:00:00Z" {
			t.Errorf("G85002 after v2 = %+v", g2)
		}
		if p, _ := e.svc.Lookup(ctx, "P84001"); p.Name != "Hulme and Moss Side Practice" || p.Population != 7001 {
			t.Errorf("P84001 after v2 = %+v", p)
		}
		if kids, _ := e.svc.Children(ctx, nat, "72Q", org.View{}); !slices.Equal(codesOf(nodesOrgs(kids)), []string{"G85003", "G85001"}) {
			t.Errorf("open practices of 72Q after v2 = %v", codesOf(nodesOrgs(kids)))
		}
		// The second run is a second entry, whose changes say what each
		// organisation was before: updates first, then creations.
		es = auditEntries(t, e, "org.import")
		if len(es) != 2 {
			t.Fatalf("%d org.import entries after v2, want 2", len(es))
		}
		run = importRunOf(t, es[0])
		got := fmt.Sprint(run.Changes)
		if want := "[{G85002 Dockside Medical Centre closed [{status active closed} {closed  2025-03-31}]} " +
			"{P84001 Hulme and Moss Side Practice updated [{name Hulme GP Practice Hulme and Moss Side Practice}]} " +
			"{G85003 New Cross Health Centre created []}]"; got != want {
			t.Errorf("v2 run's changes =\n%s\nwant\n%s", got, want)
		}
		if run.Created != 1 || run.Updated != 2 || run.Closed != 1 || len(run.Files) != 1 {
			t.Errorf("v2 run entry records %+v", run)
		}
		if v, err := e.audit.Verify(ctx, nil); err != nil || !v.OK {
			t.Errorf("audit chain after imports: %+v, %v", v, err)
		}
		// The search index followed the imports: the new name is found,
		// the old one is not, the new practice is.
		for q, want := range map[string]string{"moss side": "[P84001]", "hulme gp": "[]", "new cross health": "[G85003]"} {
			if got := search(t, e, nat, q); got != want {
				t.Errorf("%s: search %q after v2 = %s, want %s", storetest.Name(e.db), q, got, want)
			}
		}
		searchConsistent(t, e)
	})
}

// importRun is the audit entry of one import, as JSON.
type importRun struct {
	Files []struct {
		File, SHA256 string
	}
	Created, Updated, Unchanged, Closed int
	RowErrors                           int `json:"row_errors"`
	Changes                             []org.ImportChange
	ChangesOmitted                      int `json:"changes_omitted"`
}

func importRunOf(t *testing.T, e audit.Entry) importRun {
	t.Helper()
	var r importRun
	if err := json.Unmarshal(e.After, &r); err != nil {
		t.Fatalf("entry %d: %v", e.Seq, err)
	}
	return r
}

func nodesOrgs(ns []org.Node) []org.Org {
	out := []org.Org{}
	for _, n := range ns {
		out = append(out, n.Org)
	}
	return out
}

func TestImportDryRunWritesNothing(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		called := false
		rep, err := e.svc.Import(ctx, nat, fixtures, org.ImportOptions{DryRun: true, Progress: func(int, int) { called = true }})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.DryRun || rep.Created != len(fixtureCodes) || rep.Applied != 0 || rep.RowError != 1 || called {
			t.Errorf("dry run: %+v (progress called %v)", rep, called)
		}
		if n := countRows(t, e.db, `SELECT COUNT(*) FROM orgs`); n != 1 {
			t.Errorf("dry run left %d organisations, want only ENG", n)
		}
		if n := countRows(t, e.db, `SELECT COUNT(*) FROM audit_log WHERE action = ?`, "org.import"); n != 0 {
			t.Errorf("dry run wrote %d audit entries", n)
		}
	})
}

func TestImportRefusals(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		for _, sc := range []scope.Scope{
			e.as(t, scope.RegionLead, "Y56"),
			e.as(t, scope.NationalAnalyst, "ENG"),
			e.as(t, scope.Auditor, "ENG"),
			e.as(t, scope.OrgAdmin, "RJ1"),
			{},
		} {
			_, err := e.svc.Import(ctx, sc, fixtures, org.ImportOptions{})
			if !errors.Is(err, fault.ErrForbidden) || !strings.Contains(err.Error(), "national administrators") {
				t.Errorf("Import as %v = %v, want fault.ErrForbidden", sc.Grants, err)
			}
		}
		if n := countRows(t, e.db, `SELECT COUNT(*) FROM orgs`); n != 9 {
			t.Errorf("refused imports changed the organisations: %d", n)
		}

		// Whole-file problems stop the import before anything is written.
		dir := t.TempDir()
		unknown := filepath.Join(dir, "notes.csv")
		os.WriteFile(unknown, []byte("a,b\n1,2\n"), 0o600)
		for _, c := range []struct {
			paths []string
			want  string
		}{
			{[]string{fixtures[0], filepath.Join(dir, "missing.csv")}, "missing.csv"},
			{[]string{fixtures[0], unknown}, "unknown organisation file format"},
		} {
			_, err := e.svc.Import(ctx, nat, c.paths, org.ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "import ") {
				t.Errorf("Import(%v) = %v, want an error naming %q", c.paths, err, c.want)
			}
		}
		if n := countRows(t, e.db, `SELECT COUNT(*) FROM orgs`); n != 9 {
			t.Errorf("failed imports changed the organisations: %d", n)
		}
	})
}

// Import keeps what the files do not know: a demo flag, a population and
// a postcode given by hand.
func TestImportKeepsLocalFields(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		if _, err := e.svc.Import(ctx, nat, fixtures[:2], org.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		pop := int64(640000)
		if _, err := e.svc.Update(ctx, nat, "RJZ", org.Patch{Population: &pop}); err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.Import(ctx, nat, fixtures[:2], org.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Updated != 0 || rep.Created != 0 {
			t.Errorf("re-import after a local population: %+v", rep)
		}
		if o, _ := e.svc.Lookup(ctx, "RJZ"); o.Population != 640000 {
			t.Errorf("RJZ population %d after re-import, want 640000", o.Population)
		}
	})
}

// TestImportRealFiles loads the published extracts under shared/data/nhs.
func TestImportRealFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every NHS organisation")
	}
	base := filepath.Join("..", "..", "..", "shared", "data", "nhs")
	paths := []string{
		filepath.Join(base, "lookups", "derived-sicbl-icb-nhser-hierarchy.csv"),
		filepath.Join(base, "lookups", "icb24_names_codes_dec2024.csv"),
		filepath.Join(base, "ods", "etr.csv"),
		filepath.Join(base, "ods", "ect.csv"),
		filepath.Join(base, "ods", "eccg.csv"),
		filepath.Join(base, "ods", "epraccur.csv"),
		filepath.Join(base, "gp_patients", "gp-reg-pat-prac-all_2022-05.csv"),
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			testneed.Missing(t, "the NHS data in ../shared/data/nhs", err)
		}
	}
	run := func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		start := time.Now()
		rep, err := e.svc.Import(ctx, nat, paths, org.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: imported %d organisations (%d closed, %d row errors, %d orphans) in %s",
			storetest.Name(db), rep.Created, rep.Closed, rep.RowError, len(rep.Orphans), time.Since(start).Round(time.Millisecond))
		if rep.RowError != 0 {
			for _, f := range rep.Files {
				for _, re := range f.Errors[:min(len(f.Errors), 5)] {
					t.Errorf("row error: %s", re.Error())
				}
			}
		}
		counts, err := e.svc.Count(ctx, nat, org.View{})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		t.Logf("active organisations by type: %v (total %d)", counts, total)
		// England's active view: NHS England's seven regions, its 42 ICBs
		// and 106 sub-ICB locations, and the open trusts and practices of
		// England — not Wales's 3 trusts and 401 practices.
		if fmt.Sprint(counts) != fmt.Sprint(map[org.Type]int{org.National: 1, org.Region: 7, org.ICB: 42, org.SubICB: 106, org.Trust: 206, org.GPPractice: 6291}) {
			t.Errorf("England's active organisations by type %v; want 1 national, 7 regions, 42 ICBs, 106 sub-ICBs, 206 trusts, 6,291 GP practices", counts)
		}
		outside, err := e.svc.Count(ctx, nat, org.View{Outside: true})
		if err != nil {
			t.Fatal(err)
		}
		if outside[org.Nation] != 1 || outside[org.Trust] != 206+3 || outside[org.GPPractice] != 6291+401 || outside[org.Region] != 7 {
			t.Errorf("with bodies outside England, by type %v; want Wales's node, 3 more trusts and 401 more practices", outside)
		}
		regions, _, err := e.svc.List(ctx, nat, org.ListFilter{Type: org.Region, Status: org.Active})
		if err != nil {
			t.Fatal(err)
		}
		if got := codesOf(regions); !slices.Equal(got, []string{"Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"}) {
			t.Errorf("active regions %v", got)
		}
		// The former regions closed practices still name are closed, named
		// and found, with what hangs from them.
		for code, want := range map[string]string{"Y54": "NHS England North (former region)", "Y55": "NHS England Midlands and East (former region)", "Y57": "NHS England South (former region)"} {
			o, err := e.svc.Get(ctx, nat, code)
			if err != nil || o.Name != want || o.Status != org.Closed || o.Type != org.Region {
				t.Errorf("%s = %+v, %v; want the closed region %q", code, o, err, want)
			}
			kids, err := e.svc.Children(ctx, nat, code, org.View{Closed: true})
			if err != nil || len(kids) == 0 {
				t.Errorf("closed practices under %s: %d, %v", code, len(kids), err)
			}
		}
		if w, err := e.svc.Get(ctx, nat, "W00"); err != nil || w.Type != org.Nation || w.Name != "NHS Wales" {
			t.Errorf("W00 = %+v, %v", w, err)
		}
		for _, code := range []string{"RQF", "RT4", "RYT"} {
			if o, err := e.svc.Get(ctx, nat, code); err != nil || o.Parent != "W00" {
				t.Errorf("Welsh trust %s = %+v, %v; want it under W00", code, o, err)
			}
		}
		// Names in one case style: none of the active ones is left in the
		// extracts' capitals (a name of initials, like "HMP", has no
		// lower-case letter to give).
		if n := countRows(t, db, `SELECT COUNT(*) FROM orgs WHERE status = 'active' AND name = UPPER(name) AND LENGTH(name) > 12`); n != 0 {
			t.Errorf("%d active organisations still have names in capitals", n)
		}
		if o, _ := e.svc.Get(ctx, nat, "RJ1"); o.Name != "Guy's and St Thomas' NHS Foundation Trust" {
			t.Errorf("RJ1 is named %q", o.Name)
		}
		// Search finds them through its index, which the import kept in step.
		if got := search(t, e, nat, "leeds teach"); got != "[RR8]" {
			t.Errorf("search leeds teach = %s, want [RR8]", got)
		}
		searchConsistent(t, e)
		// Each region lead's Count agrees with walking the paths by hand.
		all, err := e.svc.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range regions {
			c, err := e.svc.Count(ctx, e.as(t, scope.RegionLead, r.Code), org.View{})
			if err != nil {
				t.Fatal(err)
			}
			got, want := 0, 0
			for _, n := range c {
				got += n
			}
			for _, o := range all {
				if o.Status == org.Active && strings.HasPrefix(o.Path, r.Path) {
					want++
				}
			}
			if got != want || got < 2 {
				t.Errorf("region lead of %s counts %d active organisations, the paths say %d", r.Code, got, want)
			}
		}
		// The tree agrees with itself and with the counts: walking it from
		// the root in England's view reaches exactly what Count counts,
		// and every node's child count is the number of children the next
		// level lists and the number List finds under it.
		reached := 0
		var walk func(code string, want int)
		walk = func(code string, want int) {
			kids, err := e.svc.Children(ctx, nat, code, org.View{})
			if err != nil {
				t.Fatal(err)
			}
			if len(kids) != want {
				t.Errorf("%s: the tree counts %d children, the level lists %d", code, want, len(kids))
			}
			listed, _, err := e.svc.List(ctx, nat, org.ListFilter{Parent: code, Status: org.Active, Limit: org.MaxPage})
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) != len(kids) {
				t.Errorf("%s: List finds %d active children, the tree %d", code, len(listed), len(kids))
			}
			for _, k := range kids {
				reached++
				if k.Children > 0 {
					walk(k.Code, k.Children)
				}
			}
		}
		roots, err := e.svc.Children(ctx, nat, "", org.View{})
		if err != nil || len(roots) != 1 {
			t.Fatalf("roots %v, %v", roots, err)
		}
		walk(roots[0].Code, roots[0].Children)
		if reached+1 != total {
			t.Errorf("walking the tree reaches %d organisations, Count says %d", reached+1, total)
		}
		// Every ICB got its name from the ONS file, and most open practices a population.
		if n := countRows(t, db, `SELECT COUNT(*) FROM orgs WHERE type = 'icb' AND name NOT LIKE 'NHS %'`); n != 0 {
			t.Errorf("%d ICBs without an ONS name", n)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM orgs WHERE type = 'gp-practice' AND status = 'active' AND population > 0`); n < 5000 {
			t.Errorf("only %d active practices have a population", n)
		}
		// One audit entry for the run (and the root's), not ~9,000.
		if v, err := e.audit.Verify(ctx, nil); err != nil || v.Entries != 2 {
			t.Errorf("audit after the import: %+v, %v; want 2 entries", v, err)
		}

		e.clk.Advance(time.Hour)
		again, err := e.svc.Import(ctx, nat, paths, org.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if again.Created != 0 || again.Updated != 0 || again.Applied != 0 || again.Unchanged != rep.Created+rep.Unchanged {
			t.Errorf("re-run: created %d updated %d applied %d unchanged %d; want nothing changed", again.Created, again.Updated, again.Applied, again.Unchanged)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		run(t, storetest.SQLite(t, org.Migrations(), audit.Migrations()))
	})
	t.Run("postgres", func(t *testing.T) {
		run(t, storetest.Postgres(t, org.Migrations(), audit.Migrations()))
	})
}
