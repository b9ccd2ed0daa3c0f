package match

import (
	"context"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
)

// Load reads the latest version of the store's indicators added after
// since (every one for a zero time), with the newest added time among
// them. An indicator the matcher cannot read is left out here; Build
// decides what of the rest is active.
func Load(ctx context.Context, st *intel.Store, since time.Time) ([]Indicator, time.Time, error) {
	var out []Indicator
	var newest time.Time
	seen, err := st.LastSeen(ctx)
	if err != nil {
		return nil, newest, err
	}
	err = st.EachIndicator(ctx, since, func(si intel.StoredIndicator) error {
		in, err := FromObject(si.Object, si.Source)
		if err != nil {
			return nil // a property of the wrong type: not an indicator the index can hold
		}
		in.LastSeen = seen[in.ID]
		out = append(out, in)
		if si.Added.After(newest) {
			newest = si.Added
		}
		return nil
	})
	return out, newest, err
}

// Lifecycle is what Build needs of the indicator lifecycle: the decay
// model and the allowlist (intel/lifecycle.go).
func Lifecycle(ctx context.Context, st *intel.Store) (Options, error) {
	d := intel.DefaultDecay()
	al, err := st.Allowlist(ctx)
	if err != nil {
		return Options{}, err
	}
	allow := make(map[string]bool, len(al))
	for _, e := range al {
		allow[e.Value] = true
	}
	return Options{Decay: &d, Allow: allow}, nil
}
