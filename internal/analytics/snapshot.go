package analytics

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// snapshotVersion is the format of Snapshot's output; Restore refuses
// any other.
const snapshotVersion = 1

type snapshotFile struct {
	Version int `json:"version"`
	// Org is the one organisation a SnapshotOrg holds, "" for all.
	Org       string                      `json:"org,omitempty"`
	Taken     time.Time                   `json:"taken"`
	Analytics map[string]snapshotAnalytic `json:"analytics"`
}

type snapshotAnalytic struct {
	Kind  string          `json:"kind"`
	State json.RawMessage `json:"state"`
}

// Snapshot writes what every analytic has learnt, for every organisation,
// as one JSON document to w: the wiring saves it every few minutes and
// at shutdown and gives it to Restore at start, so that learning periods
// and baselines survive a restart. Its size is bounded by the analytics'
// limits (docs/analytics.md: up to about 14 MB for one organisation at
// the shipped bounds). It holds the engine's lock while it encodes; for a
// key-value store, or to hold the lock less long, save per organisation
// with SnapshotOrg.
func (e *Engine) Snapshot(w io.Writer) error { return e.snapshot(w, "") }

// SnapshotOrg writes what every analytic has learnt about one
// organisation (e.g. one JetStream key-value entry per organisation).
func (e *Engine) SnapshotOrg(org string, w io.Writer) error {
	if org == "" {
		return fmt.Errorf("analytics snapshot: no organisation given")
	}
	return e.snapshot(w, org)
}

func (e *Engine) snapshot(w io.Writer, org string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := snapshotFile{Version: snapshotVersion, Org: org, Taken: time.Now().UTC(), Analytics: map[string]snapshotAnalytic{}}
	for _, a := range e.analytics {
		b, err := json.Marshal(a.det.save(org))
		if err != nil {
			return fmt.Errorf("analytics snapshot: %s: %w", a.cfg.Name, err)
		}
		s.Analytics[a.cfg.Name] = snapshotAnalytic{Kind: a.cfg.Kind, State: b}
	}
	if err := json.NewEncoder(w).Encode(s); err != nil {
		return fmt.Errorf("analytics snapshot: %w", err)
	}
	return nil
}

// Restore replaces the state of the engine's analytics with a Snapshot's.
// An analytic the snapshot lacks starts afresh, and one no longer
// configured (or now of another kind) is skipped, so a changed
// configuration keeps what still applies. A snapshot that cannot be read
// is an error and changes nothing.
func (e *Engine) Restore(r io.Reader) error { return e.restore(r, "") }

// RestoreOrg replaces what the engine knows of one organisation with a
// SnapshotOrg of it, leaving every other organisation's state alone.
func (e *Engine) RestoreOrg(org string, r io.Reader) error {
	if org == "" {
		return fmt.Errorf("analytics restore: no organisation given")
	}
	return e.restore(r, org)
}

func (e *Engine) restore(r io.Reader, org string) error {
	var s snapshotFile
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("analytics restore: not a snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("analytics restore: snapshot version %d; this Vigil reads version %d", s.Version, snapshotVersion)
	}
	if s.Org != org {
		switch {
		case org == "":
			return fmt.Errorf("analytics restore: the snapshot holds organisation %s only; use RestoreOrg", s.Org)
		case s.Org == "":
			return fmt.Errorf("analytics restore: the snapshot holds every organisation; use Restore")
		}
		return fmt.Errorf("analytics restore: the snapshot is of organisation %s, not %s", s.Org, org)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// Decode every analytic's state into fresh detectors first, so that
	// a bad one changes nothing; then load the good ones for real.
	for name, st := range s.Analytics {
		a := e.byName[name]
		if a == nil || a.cfg.Kind != st.Kind {
			continue
		}
		if err := newDetector(a).load(a, st.State, org); err != nil {
			return fmt.Errorf("analytics restore: %s: %w", name, err)
		}
	}
	for _, a := range e.analytics {
		st, ok := s.Analytics[a.cfg.Name]
		if !ok || a.cfg.Kind != st.Kind {
			if org == "" {
				a.det = newDetector(a)
			} else {
				_ = a.det.load(a, []byte("null"), org) // forget org: nothing to fail
			}
			continue
		}
		if err := a.det.load(a, st.State, org); err != nil {
			return fmt.Errorf("analytics restore: %s: %w", a.cfg.Name, err) // checked above; unreachable
		}
	}
	return nil
}

// Orgs lists the organisations the engine holds state for, sorted: the
// keys for SnapshotOrg.
func (e *Engine) Orgs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	for _, a := range e.analytics {
		switch d := a.det.(type) {
		case *firstSeen:
			addKeys(seen, d.orgs)
		case *rare:
			addKeys(seen, d.orgs)
		case *volume:
			addKeys(seen, d.orgs)
		case *travel:
			addKeys(seen, d.orgs)
		}
	}
	out := make([]string, 0, len(seen))
	for o := range seen {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

func addKeys[V any](seen map[string]bool, m map[string]V) {
	for k := range m {
		seen[k] = true
	}
}

// saveOrgs is a detector's state to snapshot: all of orgs, or org's.
func saveOrgs[X any](orgs map[string]*X, org string) any {
	if org == "" {
		return orgs
	}
	return orgs[org]
}

// decodeOrgs reads a snapshot's state: a map of every organisation's
// (only ""), or one organisation's (null for none), as a map to check.
func decodeOrgs[X any](b []byte, only string) (map[string]*X, error) {
	m := map[string]*X{}
	if only == "" {
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		return m, nil
	}
	var x *X
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, err
	}
	if x != nil {
		m[only] = x
	}
	return m, nil
}

// applyOrgs puts checked state m in place: all of it (only ""), or
// only's, which m may lack (the organisation is then forgotten).
func applyOrgs[X any](orgs *map[string]*X, m map[string]*X, only string) {
	if only == "" {
		*orgs = m
		return
	}
	if x := m[only]; x != nil {
		(*orgs)[only] = x
	} else {
		delete(*orgs, only)
	}
}
