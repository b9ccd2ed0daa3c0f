package supply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/supply/supplygen"
)

// checkStreamMatches opens q as a stream and as a whole result, with each
// limit and layout, and checks the streamed document is byte for byte the
// whole result's JSON and decodes to the same value.
func checkStreamMatches(t *testing.T, svc *Service, sc scope.Scope, q Query, limits ...int) {
	t.Helper()
	ctx := context.Background()
	for _, limit := range limits {
		whole, err := svc.Impact(ctx, sc, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		whole.Limit(limit)
		for _, indent := range []string{"", "  "} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", indent)
			if err := enc.Encode(whole); err != nil {
				t.Fatal(err)
			}
			st, err := svc.OpenImpact(ctx, sc, q, limit)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			var got bytes.Buffer
			err = st.WriteJSON(&got, indent)
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%+v limit %d indent %q: streamed JSON differs from the whole result's at byte %d:\nstream %.300s\nwhole  %.300s",
					q, limit, indent, firstDiff(got.Bytes(), want.Bytes()), got.Bytes()[max(0, firstDiff(got.Bytes(), want.Bytes())-100):],
					want.Bytes()[max(0, firstDiff(got.Bytes(), want.Bytes())-100):])
			}
			var back ImpactResult
			if err := json.Unmarshal(got.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			var wantBack ImpactResult
			json.Unmarshal(want.Bytes(), &wantBack)
			if !reflect.DeepEqual(back, wantBack) {
				t.Fatalf("%+v limit %d: streamed answer decodes to a different value", q, limit)
			}
		}
		// The iterators give the same values as the whole result, and
		// Summary its head and totals.
		st, err := svc.OpenImpact(ctx, sc, q, limit)
		if err != nil {
			t.Fatal(err)
		}
		var prods []AffectedProduct
		for p := range st.Products() {
			prods = append(prods, *p)
		}
		var orgs []string
		for a := range st.Affected() {
			b, _ := json.Marshal(a)
			orgs = append(orgs, string(b))
		}
		sum := st.Summary()
		n := st.Len()
		st.Close()
		st.Close() // twice is harmless
		var wantOrgs []string
		for i := range whole.Affected {
			b, _ := json.Marshal(&whole.Affected[i])
			wantOrgs = append(wantOrgs, string(b))
		}
		if len(prods) != len(whole.Products) || (len(prods) > 0 && !reflect.DeepEqual(prods, whole.Products)) {
			t.Errorf("%+v: products %d, want %d", q, len(prods), len(whole.Products))
		}
		if !reflect.DeepEqual(orgs, wantOrgs) || n != len(whole.Affected) {
			t.Errorf("%+v limit %d: Affected yields %d organisations (Len %d), want %d, or they differ", q, limit, len(orgs), n, len(whole.Affected))
		}
		if !reflect.DeepEqual(sum.Totals, whole.Totals) || sum.Truncated != whole.Truncated || sum.Generation != whole.Generation ||
			!reflect.DeepEqual(sum.Start, whole.Start) || sum.Query != whole.Query {
			t.Errorf("%+v: summary %+v differs from the whole result's head", q, sum)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestImpactStreamMatchesResult: the streamed answer is the documented
// ImpactResult, for every case fixture query, several callers' scopes and
// limits (none, cut, larger than the answer).
func TestImpactStreamMatchesResult(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		mustImport(t, e, national, caseFiles(t, allCases...))
		london := grant(scope.RegionLead, "Y56", "/ENG/Y56/")
		north := grant(scope.RegionLead, "Y63", "/ENG/Y63/")
		rep := grant(scope.SupplierRep, "S-EMIS", "/ENG/S-EMIS/")
		for _, c := range []struct {
			sc scope.Scope
			q  Query
		}{
			{national, Query{Supplier: "SYNLAB"}}, {national, Query{Supplier: "SYNNOVIS"}}, {national, Query{Product: "FALCON"}},
			{national, Query{CVE: "cve-2099-0001"}}, {national, Query{CVE: "CVE-1999-0000"}}, {national, Query{Supplier: "AWS"}},
			{national, Query{Supplier: "NHS-RTD"}}, {london, Query{Supplier: "NHS-RTD"}}, {north, Query{Supplier: "NHS-RTD"}},
			{london, Query{Product: "FALCON"}}, {rep, Query{Supplier: "EMIS"}},
		} {
			checkStreamMatches(t, e.svc, c.sc, c.q, 0, 1, 2, 1000)
		}
	})
}

// TestImpactStreamGeneratedEstate repeats the comparison on a generated
// register large enough for many paths per organisation, every class and
// thousands of products (SQLite only: the engines are covered above).
func TestImpactStreamGeneratedEstate(t *testing.T) {
	est := supplygen.Generate(supplygen.Config{Seed: 1, SyntheticOrg: 400, Suppliers: 500, Products: 1200, Deployments: 8000, Dependencies: 2500})
	db := storetest.SQLite(t, sets...)
	svc, err := New(Options{DB: db, Audit: audit.New(db, nil), Orgs: sliceOrgs(est.Orgs)})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := svc.Import(context.Background(), national, estateFiles(est), ImportOptions{}); err != nil || !rep.Applied {
		t.Fatalf("import: %v", err)
	}
	for _, q := range []Query{{Supplier: "S00000"}, {Supplier: "S00017"}, {Supplier: "S00008"}, {Product: "P000100"}} {
		checkStreamMatches(t, svc, national, q, 0, 10)
	}
}

// TestImpactSlots: at most MaxConcurrentImpacts blast radii are computed
// or streamed at once; a caller waits for a slot as long as its context
// allows; a failed query and a closed stream give their slot back.
func TestImpactSlots(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		mustImport(t, e, national, caseFiles(t, allCases...))
		svc, err := New(Options{DB: e.db, Audit: e.audit, Orgs: tableOrgs{e.db}, MaxConcurrentImpacts: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// A query that fails (unknown supplier) before any byte releases its slot.
		for range 3 {
			if _, err := svc.OpenImpact(ctx, national, Query{Supplier: "NOPE"}, 0); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("unknown supplier: %v, want not found", err)
			}
		}
		st, err := svc.OpenImpact(ctx, national, Query{Supplier: "SYNLAB"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The one slot is held: others wait, and give up with their context.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err = svc.Impact(short, national, Query{Product: "FALCON"})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second query while the slot is held: %v, want the context's deadline", err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := svc.Impact(ctx, national, Query{Product: "FALCON"})
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("a query ran while the only slot was held (%v)", err)
		case <-time.After(50 * time.Millisecond):
		}
		st.Close()
		if err := <-done; err != nil {
			t.Fatalf("waiting query after the slot was freed: %v", err)
		}
		if _, err := New(Options{DB: e.db, Audit: e.audit, Orgs: tableOrgs{e.db}, MaxConcurrentImpacts: -1}); err == nil {
			t.Error("a negative MaxConcurrentImpacts was accepted")
		}
	})
}
