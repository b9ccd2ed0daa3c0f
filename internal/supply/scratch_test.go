package supply

import "testing"

// A scratch reused for a rebuilt graph with a different number of products
// but the same organisations must not carry an earlier query's visibility
// into the new epoch: that leaked organisations a supplier representative
// may not see into their impact answer after a register import.
func TestScratchRestartForgetsVisibility(t *testing.T) {
	g1 := &graph{prod: make([]prodNode, 3), orgs: make([]orgNode, 4)}
	g2 := &graph{prod: make([]prodNode, 5), orgs: make([]orgNode, 4)}
	sc := &scratch{}
	sc.prepare(g1)
	// A national query marks organisation 2 visible in this epoch.
	sc.orgVis[2], sc.orgOK[2] = sc.epoch, true
	sc.seen[1] = sc.epoch
	sc.prepare(g2)
	if sc.orgVis[2] == sc.epoch {
		t.Fatal("visibility from the previous query is still valid in the new epoch")
	}
	for i, st := range sc.seen {
		if st == sc.epoch {
			t.Fatalf("state %d looks visited in a fresh epoch", i)
		}
	}
	// An ordinary next query on the same graph moves to a new epoch.
	e := sc.epoch
	sc.orgVis[1] = e
	sc.prepare(g2)
	if sc.epoch == e || sc.orgVis[1] == sc.epoch {
		t.Fatal("epoch did not advance")
	}
}
