package intel

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/intel/feeds"
	"github.com/vigil-health/vigil/internal/intel/misp"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// ImportOptions tune ImportFilesWith.
type ImportOptions struct {
	// Warninglists flag known-benign values of MISP events and CSV or
	// text feeds: such a value is kept as observed data, marked
	// x_vigil_warninglists, and never made an indicator.
	Warninglists feeds.Warninglists
	// FeedTLP tags the indicators of a text feed ("tlp:green"); abuse.ch
	// CSV feeds are TLP:CLEAR whatever it says. "" leaves text feeds unmarked.
	FeedTLP string
}

// source is one input read and converted, before anything is stored.
type source struct {
	name   string
	format string // stix, misp-event, misp-feed, csv
	objs   []*stix.Object
	// problems are parts of the input left out (a feed event failing its
	// integrity check), reported with the import.
	problems []string
	flagged  int
}

const maxInput = 1 << 30

// readInput reads a file, gunzipping it when it is gzip.
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing loses nothing
	b, err := io.ReadAll(io.LimitReader(f, maxInput))
	if err != nil {
		return nil, err
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if b, err = io.ReadAll(io.LimitReader(zr, maxInput)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return b, nil
}

// readSource reads one path as whatever it is, from its content: a
// directory holding manifest.json is a MISP feed; a JSON file a MISP
// event (or search result) when it looks like one, else a STIX bundle;
// anything else a CSV or text feed.
func readSource(path string, o ImportOptions) (source, error) {
	mo := misp.Options{}
	if len(o.Warninglists) > 0 {
		mo.Benign = o.Warninglists.Benign
	}
	st, err := os.Stat(path)
	if err != nil {
		return source{}, err
	}
	if st.IsDir() {
		if !misp.IsFeed(path) {
			return source{}, fmt.Errorf("%s: a directory, but not a MISP feed (no manifest.json)", path)
		}
		f, err := misp.ReadFeed(path)
		if err != nil {
			return source{}, err
		}
		src := source{name: path, format: "misp-feed", problems: f.Problems}
		for _, fe := range f.Events {
			objs, stats, err := misp.ToSTIX(fe.Event, mo)
			if err != nil {
				return source{}, fmt.Errorf("%s: %w", fe.File, err)
			}
			src.objs = append(src.objs, objs...)
			src.flagged += stats.Flagged
		}
		return src, nil
	}
	b, err := readInput(path)
	if err != nil {
		return source{}, err
	}
	switch {
	case feeds.Sniff(b):
		f, err := feeds.Parse(path, b)
		if err != nil {
			return source{}, err
		}
		tlp := o.FeedTLP
		if f.Kind != "text" && f.Kind != "csv" {
			tlp = "tlp:clear" // abuse.ch publishes its feeds for anyone
		}
		objs, stats, err := misp.ToSTIX(f.Event(tlp, nowUTC()), mo)
		if err != nil {
			return source{}, fmt.Errorf("%s: %w", path, err)
		}
		return source{name: path, format: "csv", objs: objs, flagged: stats.Flagged}, nil
	case misp.IsEvent(b):
		evs, err := misp.ParseEvents(path, b)
		if err != nil {
			return source{}, err
		}
		src := source{name: path, format: "misp-event"}
		for i, e := range evs {
			objs, stats, err := misp.ToSTIX(e, mo)
			if err != nil {
				return source{}, fmt.Errorf("%s: event %d (%s): %w", path, i, e.UUID, err)
			}
			src.objs = append(src.objs, objs...)
			src.flagged += stats.Flagged
		}
		return src, nil
	}
	bd, err := stix.ReadBundle(path, bytes.NewReader(b))
	if err != nil {
		return source{}, err
	}
	return source{name: path, format: "stix", objs: bd.Objects}, nil
}

// nowUTC dates the rows of a feed that carry no date.
func nowUTC() time.Time { return time.Now().UTC() }

// ImportFilesWith is ImportFiles for every kind of input Vigil reads:
// STIX bundles (JSON or gzip), MISP events and search results, MISP feed
// directories (checked against hashes.csv: an event that fails is
// reported in Refused and not imported), abuse.ch CSV feeds and text
// feeds. Every input is read and converted before anything is stored.
func (s *Store) ImportFilesWith(ctx context.Context, sc scope.Scope, collection string, paths []string, o ImportOptions) ([]Report, error) {
	pendingOrg := ""
	if collection != "" {
		c, err := s.GetCollection(ctx, sc, collection)
		if err == nil && !c.CanWrite {
			err = ErrCollectionNotFound
		}
		if err == nil {
			pendingOrg, err = pendingFor(sc, c)
		}
		if err != nil {
			return nil, fmt.Errorf("collection %s: %w", collection, err)
		}
	}
	srcs := make([]source, len(paths))
	for i, p := range paths {
		src, err := readSource(p, o)
		if err != nil {
			return nil, err
		}
		srcs[i] = src
	}
	reps := make([]Report, 0, len(paths))
	for _, src := range srcs {
		r, err := s.importTx(ctx, sc, src.name, collection, pendingOrg, src.objs, nil)
		if err != nil {
			return reps, err
		}
		r.Format, r.Flagged = src.format, src.flagged
		r.Refused = append(r.Refused, src.problems...)
		reps = append(reps, r)
	}
	return reps, nil
}

// looseEvent is the MISP feed's event for a collection's indicators that no
// MISP event holds.
func looseEvent(c Collection) (uuid, info string) {
	return misp.NameUUID("vigil-collection:" + c.ID), "Vigil collection " + strings.TrimSpace(c.Title)
}

// MISPFeed exports a collection as a MISP feed, as the caller may read
// it (ReadCollection's rules: grant, TLP ceiling, recipients of TLP:RED).
// Events keep their PAP and TLP tags, which MISP instances honour.
//
// A MISP instance pulling a feed asks for manifest.json and then every
// event file, so the feed built for one reader is kept (a few feeds at
// a time) until the collection, or who may see what in it, changes.
func (s *Store) MISPFeed(ctx context.Context, sc scope.Scope, collection string) (misp.FeedFiles, error) {
	c, err := s.GetCollection(ctx, sc, collection)
	if err != nil {
		return nil, err
	}
	if !c.CanRead {
		return nil, ErrCollectionForbidden
	}
	var added, shared string
	var n int
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COALESCE(MAX(added_at), ''), COUNT(*) FROM intel_collection_objects WHERE collection_id = ?`, c.ID).Scan(&added, &n); err != nil {
		return nil, err
	}
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COALESCE(MAX(added_at), '') FROM intel_object_recipients`).Scan(&shared); err != nil {
		return nil, err
	}
	r := ReaderOf(sc)
	key := strings.Join(append([]string{c.ID, added, strconv.Itoa(n), shared, c.Ceiling, r.UserID}, r.Orgs...), "\x00")
	if f, ok := s.feeds.get(key); ok {
		return f, nil
	}
	objs, c, err := s.CollectionObjects(ctx, sc, collection)
	if err != nil {
		return nil, err
	}
	u, info := looseEvent(c)
	f, err := misp.BuildFeed(misp.FromSTIX(objs, u, info, s.now()))
	if err != nil {
		return nil, err
	}
	s.feeds.put(key, f)
	return f, nil
}

// feedCache keeps the last few feeds built.
type feedCache struct {
	mu   sync.Mutex
	keys []string
	m    map[string]misp.FeedFiles
}

const feedCacheSize = 8

func (fc *feedCache) get(k string) (misp.FeedFiles, bool) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	f, ok := fc.m[k]
	return f, ok
}

func (fc *feedCache) put(k string, f misp.FeedFiles) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.m == nil {
		fc.m = map[string]misp.FeedFiles{}
	}
	if _, ok := fc.m[k]; ok {
		return
	}
	if len(fc.keys) == feedCacheSize {
		delete(fc.m, fc.keys[0])
		fc.keys = fc.keys[1:]
	}
	fc.keys = append(fc.keys, k)
	fc.m[k] = f
}

// ExportMISPFeed writes MISPFeed into dir.
func (s *Store) ExportMISPFeed(ctx context.Context, sc scope.Scope, collection, dir string) (int, error) {
	f, err := s.MISPFeed(ctx, sc, collection)
	if err != nil {
		return 0, err
	}
	if err := f.Write(filepath.Clean(dir)); err != nil {
		return 0, err
	}
	return len(f) - 2, nil
}
