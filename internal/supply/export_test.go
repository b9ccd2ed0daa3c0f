package supply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

// TestExportStreamMatchesRegister: the streamed export is byte for byte
// the Register document encoding/json writes whole, for the whole
// register and for a caller who sees a slice of it, compact and indented.
func TestExportStreamMatchesRegister(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		if _, err := e.svc.PutContract(ctx, national, Contract{ID: "C-1", OrgODS: "RJ1", SupplierID: "SYNNOVIS", ValueGBP: 1250.5, Substitutability: "hard"}); err != nil {
			t.Fatal(err)
		}
		rep := grant(scope.SupplierRep, "S-EMIS", "/ENG/S-EMIS/")
		rj1 := grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")
		for _, sc := range []scope.Scope{national, rep, rj1} {
			for _, indent := range []string{"", "  "} {
				ex, err := e.svc.OpenExport(ctx, sc)
				if err != nil {
					t.Fatal(err)
				}
				var want, got bytes.Buffer
				enc := json.NewEncoder(&want)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", indent)
				if err := enc.Encode(ex.Register()); err != nil {
					t.Fatal(err)
				}
				err = ex.WriteJSON(&got, indent)
				ex.Close()
				ex.Close() // twice is harmless
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					i := firstDiff(got.Bytes(), want.Bytes())
					t.Fatalf("%s indent %q: streamed export differs at byte %d:\nstream %.200s\nwhole  %.200s", sc.Email, indent, i, got.Bytes()[max(0, i-80):], want.Bytes()[max(0, i-80):])
				}
				var back Register
				if err := json.Unmarshal(got.Bytes(), &back); err != nil || back.Suppliers == nil || back.Contracts == nil {
					t.Fatalf("%s: %v; empty tables must be [] (%+v)", sc.Email, err, back)
				}
			}
		}
		// The supplier representative's export holds its own slice only.
		reg, err := e.svc.Export(ctx, rep)
		if err != nil || len(reg.Suppliers) != 1 || len(reg.Deployments) != 0 || len(reg.Contracts) != 0 {
			t.Errorf("rep export = %v %+v", err, reg)
		}
	})
}

// TestExportSlots: at most MaxConcurrentExports exports are read or
// written at once; others wait as long as their context allows.
func TestExportSlots(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		mustImport(t, e, national, caseFiles(t, allCases...))
		svc, err := New(Options{DB: e.db, Audit: e.audit, Orgs: tableOrgs{e.db}, MaxConcurrentExports: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ex, err := svc.OpenExport(ctx, national)
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err = svc.Export(short, national)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second export while the slot is held: %v, want the context's deadline", err)
		}
		ex.Close()
		if _, err := svc.Export(ctx, national); err != nil {
			t.Fatalf("export after the slot was freed: %v", err)
		}
	})
}
