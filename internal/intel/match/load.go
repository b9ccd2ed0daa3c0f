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
	err := st.EachIndicator(ctx, since, func(si intel.StoredIndicator) error {
		in, err := FromObject(si.Object, si.Source)
		if err != nil {
			return nil // a property of the wrong type: not an indicator the index can hold
		}
		out = append(out, in)
		if si.Added.After(newest) {
			newest = si.Added
		}
		return nil
	})
	return out, newest, err
}
