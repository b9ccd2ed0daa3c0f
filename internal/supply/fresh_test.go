package supply

import (
	"context"
	"sync"
	"testing"
)

// TestChangeSeenDespiteConcurrentRebuild: a change is seen by the next
// query of this process however many queries run beside it. Another query
// (the incidents' refresh, poked by every change) rebuilding at the same
// moment must not let a query take the old graph for current: a flag
// cleared when a rebuild began did, until the new graph was installed.
func TestChangeSeenDespiteConcurrentRebuild(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := e.svc.Stats(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		defer func() { close(stop); wg.Wait() }()
		before, err := e.svc.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		orgs := []string{"RJZ", "RJ1", "R1H", "RTD", "G85004"}
		products := []string{"EMIS-WEB", "FALCON", "SYN-LIMS"}
		n := 0
		for _, o := range orgs {
			for _, p := range products {
				if _, err := e.svc.PutDeployment(ctx, national, Deployment{OrgODS: o, ProductID: p, Service: "stale-check", Criticality: Medium}); err != nil {
					t.Fatal(err)
				}
				n++
				got, err := e.svc.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got.Deployments != before.Deployments+n {
					t.Fatalf("after %d new deployments the graph holds %d, want %d: a query took a stale graph", n, got.Deployments, before.Deployments+n)
				}
			}
		}
	})
}
