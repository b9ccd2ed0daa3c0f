package match

import (
	"context"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Load reads the latest version of the store's indicators added after
// since (every one for a zero time), with the newest added time among
// them. An indicator the matcher cannot read is left out here; Build
// decides what of the rest is active. A TLP:RED or TLP:AMBER+STRICT
// indicator carries the organisations among its recipients (the store's
// sharing rules), the only ones it is matched for.
func Load(ctx context.Context, st *intel.Store, since time.Time) ([]Indicator, time.Time, error) {
	var out []Indicator
	var newest time.Time
	orgs, err := st.RecipientOrgs(ctx)
	if err != nil {
		return nil, newest, err
	}
	err = st.EachIndicator(ctx, since, func(si intel.StoredIndicator) error {
		in, err := FromObject(si.Object, si.Source)
		if err != nil {
			return nil // a property of the wrong type: not an indicator the index can hold
		}
		if in.TLP >= stix.TLPAmberStrict {
			in.Orgs = orgs[in.ID]
		}
		out = append(out, in)
		if si.Added.After(newest) {
			newest = si.Added
		}
		return nil
	})
	return out, newest, err
}
