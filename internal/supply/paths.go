package supply

// PathTree is explaining paths grouped by the start they share: Steps
// are walked once, then each of Branches continues from there. Ends lists
// the paths (their indices in the list given to GroupPaths) that end
// after Steps: several paths may be the same nodes (one product deployed
// for two services), each with its own detail.
//
// A product reached through forty paths reads as its shared start once
// and the forty different ends, not forty near-identical lines.
type PathTree struct {
	Steps    []string   `json:"steps"`
	Ends     []int      `json:"ends,omitempty"`
	Branches []PathTree `json:"branches,omitempty"`
}

// GroupPaths groups paths by their shared starts, keeping the order in
// which each start first appears. Joining Steps from a tree's top to each
// end gives back every path.
func GroupPaths(paths [][]string) []PathTree {
	type node struct {
		step string
		kids []*node
		ends []int
	}
	root := &node{}
	for i, p := range paths {
		n := root
		for _, s := range p {
			var next *node
			for _, k := range n.kids {
				if k.step == s {
					next = k
					break
				}
			}
			if next == nil {
				next = &node{step: s}
				n.kids = append(n.kids, next)
			}
			n = next
		}
		n.ends = append(n.ends, i)
	}
	var build func(kids []*node) []PathTree
	build = func(kids []*node) []PathTree {
		if len(kids) == 0 {
			return nil
		}
		out := make([]PathTree, 0, len(kids))
		for _, n := range kids {
			t := PathTree{Steps: []string{n.step}}
			// A chain with one way on and no path ending is one run of steps.
			for len(n.kids) == 1 && len(n.ends) == 0 {
				n = n.kids[0]
				t.Steps = append(t.Steps, n.step)
			}
			t.Ends, t.Branches = n.ends, build(n.kids)
			out = append(out, t)
		}
		return out
	}
	return build(root.kids)
}
