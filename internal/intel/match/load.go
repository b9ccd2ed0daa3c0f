package match

import (
	"context"
	"slices"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/pattern"
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
	seen, err := st.Evidence(ctx)
	if err != nil {
		return nil, newest, err
	}
	orgs, err := st.RecipientOrgs(ctx)
	if err != nil {
		return nil, newest, err
	}
	pending, err := st.PendingOrgs(ctx)
	if err != nil {
		return nil, newest, err
	}
	err = st.EachIndicator(ctx, since, func(si intel.StoredIndicator) error {
		in, err := FromObject(si.Object, si.Source)
		if err != nil {
			return nil // a property of the wrong type: not an indicator the index can hold
		}
		ev := seen[in.ID]
		in.LastSeen, in.FalsePositiveOrgs = ev.LastSeen, ev.FalsePositiveOrgs
		restrict(&in, orgs, pending)
		out = append(out, in)
		if si.Added.After(newest) {
			newest = si.Added
		}
		return nil
	})
	return out, newest, err
}

// LoadShared reads the TLP:RED and AMBER+STRICT indicators shared with
// organisations after since (intel.Store.SharedSince), each with Orgs
// only the organisations newly shared with — to retro-match them for
// their new recipients, the retro-match when they arrived having left
// those out — leaving out the ids in skip (already loaded whole), with
// the newest share.
func LoadShared(ctx context.Context, st *intel.Store, since time.Time, skip map[string]bool) ([]Indicator, time.Time, error) {
	sis, orgs, newest, err := st.SharedSince(ctx, since)
	if err != nil {
		return nil, newest, err
	}
	seen, err := st.LastSeen(ctx)
	if err != nil {
		return nil, newest, err
	}
	var out []Indicator
	for _, si := range sis {
		in, err := FromObject(si.Object, si.Source)
		if err != nil || skip[in.ID] || in.TLP < stix.TLPAmberStrict {
			continue
		}
		in.LastSeen, in.Orgs = seen[in.ID], orgs[in.ID]
		out = append(out, in)
	}
	return out, newest, nil
}

// LoadApproved reads the indicators whose submissions to moderated
// collections were approved after since (intel.Store.ApprovedSince),
// matched as any other now, leaving out the ids in skip; with, for each,
// the organisations that submitted it (their events were retro-matched
// when it arrived, and are to be left out), and the newest approval.
func LoadApproved(ctx context.Context, st *intel.Store, since time.Time, skip map[string]bool) ([]Indicator, map[string][]string, time.Time, error) {
	sis, submitters, newest, err := st.ApprovedSince(ctx, since)
	if err != nil || len(sis) == 0 {
		return nil, submitters, newest, err
	}
	seen, err := st.LastSeen(ctx)
	if err != nil {
		return nil, nil, newest, err
	}
	orgs, err := st.RecipientOrgs(ctx)
	if err != nil {
		return nil, nil, newest, err
	}
	pending, err := st.PendingOrgs(ctx)
	if err != nil {
		return nil, nil, newest, err
	}
	var out []Indicator
	leave := map[string][]string{}
	for _, si := range sis {
		in, err := FromObject(si.Object, si.Source)
		if err != nil || skip[in.ID] {
			continue // skipped: loaded whole, its submitters' events too
		}
		in.LastSeen = seen[in.ID]
		restrict(&in, orgs, pending)
		if in.Pending {
			continue // another version or collection still waits: not out yet
		}
		out = append(out, in)
		leave[in.ID] = submitters[in.ID]
	}
	return out, leave, newest, nil
}

// restrict gives a TLP:RED or AMBER+STRICT indicator the organisations
// among its recipients, and a pending submission its submitters' (both
// when both: the organisations that are both).
func restrict(in *Indicator, recipients, pending map[string][]string) {
	if in.TLP >= stix.TLPAmberStrict {
		in.Orgs = recipients[in.ID]
	}
	if p, ok := pending[in.ID]; ok {
		if in.TLP >= stix.TLPAmberStrict {
			in.Orgs = slices.DeleteFunc(slices.Clone(in.Orgs), func(o string) bool { return !slices.Contains(p, o) })
		} else {
			in.Orgs = p
		}
		in.Pending = true
	}
}

// Lifecycle is what Build needs of the indicator lifecycle: the decay
// model of each source and the allowlist (intel/lifecycle.go, decay.go).
func Lifecycle(ctx context.Context, st *intel.Store) (Options, error) {
	dc, err := st.Decay(ctx)
	if err != nil {
		return Options{}, err
	}
	al, err := st.Allowlist(ctx)
	if err != nil {
		return Options{}, err
	}
	allow := make(map[string]bool, len(al))
	for _, e := range al {
		allow[e.Value] = true
	}
	// Every marking: a TLP:RED or AMBER+STRICT indicator is matched for
	// the organisations among its recipients (Indicator.Orgs) alone.
	return Options{DecayFor: dc.For, Allow: allow, MaxTLP: stix.TLPRed}, nil
}

// Status says whether the matcher loads one indicator and why not, with
// its score under its source's decay model: for the indicator's page.
type Status struct {
	Loaded bool
	// Why is the reason it is left out ("" when loaded).
	Why string
	// Score is its score now; Threshold the score under which it stops
	// matching. Both are -1 when its pattern cannot be read.
	Score, Threshold float64
	// Kinds are the kinds of value it lists, which set its half-life;
	// HalfLifeDays the half-life they give (the slowest), 0 for none.
	Kinds        []string
	HalfLifeDays float64
	// Model is the decay model of its source, Source that source.
	Model, Source string
	// Fresh is when it was last asserted or seen, which its age runs from.
	Fresh time.Time
	// FalsePositiveOrgs is how many organisations hold it false, of
	// WithdrawAt that withdraw it (0: never).
	FalsePositiveOrgs, WithdrawAt int
}

// StatusOf decides one indicator as Build would (alone: merging with
// others of the same values is not shown), with source the source of
// its latest version and ev its sightings and verdicts as far as the
// caller may know.
func StatusOf(ctx context.Context, st *intel.Store, o *stix.Object, source string, ev intel.Evidence, now time.Time) (Status, error) {
	in, err := FromObject(o, source)
	if err != nil {
		return Status{Why: SkipInvalid, Score: -1, Threshold: -1}, nil
	}
	in.LastSeen, in.FalsePositiveOrgs = ev.LastSeen, ev.FalsePositiveOrgs
	orgs, err := st.RecipientOrgs(ctx)
	if err != nil {
		return Status{}, err
	}
	pending, err := st.PendingOrgs(ctx)
	if err != nil {
		return Status{}, err
	}
	restrict(&in, orgs, pending)
	opts, err := Lifecycle(ctx, st)
	if err != nil {
		return Status{}, err
	}
	opts.Now = func() time.Time { return now }
	_, stats := Build([]Indicator{in}, opts)
	d, _ := opts.decayOf(source)
	s := Status{Loaded: stats.Indicators == 1, Score: -1, Threshold: d.Threshold, Model: d.Name, Source: source,
		Fresh: intel.Fresh(in.ValidFrom, in.Modified, in.LastSeen), FalsePositiveOrgs: in.FalsePositiveOrgs, WithdrawAt: d.FalsePositiveOrgs}
	for why := range stats.Skipped {
		s.Why = why
	}
	if p, err := pattern.Parse(in.Pattern); err == nil {
		if vals, err := Values(p); err == nil {
			for _, v := range vals {
				if k := v.Kind.String(); !slices.Contains(s.Kinds, k) {
					s.Kinds = append(s.Kinds, k)
				}
			}
			var hl time.Duration
			for _, k := range s.Kinds {
				h, ok := d.HalfLife[k]
				if !ok {
					hl = 0
					break
				}
				hl = max(hl, h)
			}
			s.HalfLifeDays = hl.Hours() / 24
			s.Score = d.ScoreWith(in.Confidence, s.Kinds, s.Fresh, now, in.FalsePositiveOrgs)
		}
	}
	return s, nil
}
