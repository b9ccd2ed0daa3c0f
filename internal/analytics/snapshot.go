package analytics

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// snapshotVersion is the format of Snapshot's output; Restore refuses
// any other.
const snapshotVersion = 1

type snapshotFile struct {
	Version   int                         `json:"version"`
	Taken     time.Time                   `json:"taken"`
	Analytics map[string]snapshotAnalytic `json:"analytics"`
}

type snapshotAnalytic struct {
	Kind  string          `json:"kind"`
	State json.RawMessage `json:"state"`
}

// Snapshot writes what every analytic has learnt, as one JSON document,
// to w: the wiring saves it (to a JetStream key-value bucket or a table)
// every few minutes and at shutdown, and gives it to Restore at start, so
// that learning periods and baselines survive a restart. Its size is
// bounded by the analytics' limits (docs/analytics.md).
func (e *Engine) Snapshot(w io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := snapshotFile{Version: snapshotVersion, Taken: time.Now().UTC(), Analytics: map[string]snapshotAnalytic{}}
	for _, a := range e.analytics {
		b, err := json.Marshal(a.det.save())
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

// Restore replaces the state of the engine's analytics with a snapshot's.
// An analytic the snapshot lacks starts afresh, and one no longer
// configured (or now of another kind) is skipped, so a changed
// configuration keeps what still applies. A snapshot that cannot be read
// is an error and changes nothing.
func (e *Engine) Restore(r io.Reader) error {
	var s snapshotFile
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("analytics restore: not a snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("analytics restore: snapshot version %d; this Vigil reads version %d", s.Version, snapshotVersion)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fresh := make(map[string]detector, len(s.Analytics))
	for name, st := range s.Analytics {
		a := e.byName[name]
		if a == nil || a.cfg.Kind != st.Kind {
			continue
		}
		d := newDetector(a)
		if err := d.load(a, st.State); err != nil {
			return fmt.Errorf("analytics restore: %s: %w", name, err)
		}
		fresh[name] = d
	}
	for name, d := range fresh {
		e.byName[name].det = d
	}
	return nil
}
