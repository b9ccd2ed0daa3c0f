package supply

import (
	"context"
	"errors"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
)

func TestDeleteProduct(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, "pathology"))
		// A product with a dependency and a CVE of its own, used by nobody.
		for _, step := range []func() error{
			func() error {
				_, err := e.svc.PutProduct(ctx, national, Product{ID: "SPARE", SupplierID: "SYNNOVIS", Name: "Spare analyser", Kind: Component})
				return err
			},
			func() error {
				_, err := e.svc.PutDependency(ctx, national, Dependency{ProductID: "SPARE", DependsOnID: "SYN-LIMS", Kind: DepComponent})
				return err
			},
			func() error {
				_, err := e.svc.PutVuln(ctx, national, Vuln{ProductID: "SPARE", CVE: "CVE-2099-1234"})
				return err
			},
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.svc.DeleteProduct(ctx, national, "SYN-LIMS"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("deleting a deployed product: %v, want ErrConflict", err)
		}
		if err := e.svc.DeleteProduct(ctx, national, "SPARE"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.GetProduct(ctx, national, "SPARE"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("product still there: %v", err)
		}
		var n int
		e.db.Q().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM supply_dependencies WHERE product_id = 'SPARE') + (SELECT COUNT(*) FROM supply_product_vulns WHERE product_id = 'SPARE')`).Scan(&n)
		if n != 0 {
			t.Errorf("%d dependency or CVE rows of the deleted product remain", n)
		}
		if err := e.svc.DeleteProduct(ctx, national, "SPARE"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("deleting twice: %v, want ErrNotFound", err)
		}
		// The impact graph no longer knows it.
		if _, err := e.svc.Impact(ctx, national, Query{Product: "SPARE"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("impact of a deleted product: %v", err)
		}
	})
}
