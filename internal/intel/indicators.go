package intel

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
)

// What the IOC matcher (intel/match) reads from the store: the latest
// version of every indicator, those added since a moment (for
// retro-matching), and when the store last changed.

// changeHooks are the functions told of a change.
type changeHooks struct {
	mu  sync.Mutex
	fns []func()
}

func (h *changeHooks) fire() {
	h.mu.Lock()
	fns := h.fns
	h.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// OnChange registers fn to be called after every import that stored a
// new object or version (in the importing goroutine, after the commit):
// the IOC matcher reloads on it. A change made by another process is
// seen by polling LastAdded.
func (s *Store) OnChange(fn func()) {
	s.changed.mu.Lock()
	defer s.changed.mu.Unlock()
	s.changed.fns = append(s.changed.fns, fn)
}

// StoredIndicator is the latest version of an indicator with where it
// came from.
type StoredIndicator struct {
	Object *stix.Object
	// Source is the file, feed or TAXII status that brought this version.
	Source string
	// Added is when Vigil stored this version.
	Added time.Time
}

// latestIndicators selects the latest version of each indicator; the
// correlated sub-select walks the primary key.
const latestIndicators = `SELECT o.body, o.source, o.added_at FROM intel_objects o
WHERE o.type = 'indicator' AND o.version = (SELECT MAX(v.version) FROM intel_objects v WHERE v.id = o.id)`

// EachIndicator calls fn with the latest version of every indicator,
// revoked ones included (the caller decides what is active), in no
// particular order. addedAfter, when not zero, keeps only those whose
// latest version was added after it.
func (s *Store) EachIndicator(ctx context.Context, addedAfter time.Time, fn func(StoredIndicator) error) error {
	q, args := latestIndicators, []any{}
	if !addedAfter.IsZero() {
		q += ` AND o.added_at > ?`
		args = append(args, versionKey(addedAfter))
	}
	rows, err := s.db.Q().QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var body, source, added string
		if err := rows.Scan(&body, &source, &added); err != nil {
			return err
		}
		o, err := stix.Parse([]byte(body))
		if err != nil {
			// Stored objects were checked when imported; one that no
			// longer parses (a stricter reader) is skipped, not fatal.
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, added)
		if err != nil {
			return fmt.Errorf("intel: stored added_at %q of %s: %w", added, o.ID, err)
		}
		if err := fn(StoredIndicator{Object: o, Source: source, Added: at}); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LastAdded is when the store last stored a version (zero when empty): a
// cheap check, on an index, of whether anything changed.
func (s *Store) LastAdded(ctx context.Context) (time.Time, error) {
	var v *string
	if err := s.db.Q().QueryRowContext(ctx, `SELECT MAX(added_at) FROM intel_objects`).Scan(&v); err != nil {
		return time.Time{}, err
	}
	if v == nil || *v == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, *v)
}
