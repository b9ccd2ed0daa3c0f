package misp

import (
	"bytes"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestEntry is an event's line in a feed's manifest.json.
type ManifestEntry struct {
	Orgc          *Org   `json:"Orgc,omitempty"`
	Tags          []Tag  `json:"Tag"`
	Info          string `json:"info"`
	Date          string `json:"date"`
	Analysis      Str    `json:"analysis"`
	ThreatLevelID Str    `json:"threat_level_id"`
	Timestamp     Int    `json:"timestamp"`
}

// FeedEvent is one event of a feed that passed its integrity check.
type FeedEvent struct {
	File  string
	Event Event
}

// Feed is what ReadFeed found: the events that check out and the
// problems with the others, which are not to be imported.
type Feed struct {
	Events   []FeedEvent
	Problems []string
}

// maxFile caps one file of a feed (MISP events are rarely over a few MB).
const maxFile = 256 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing loses nothing
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s: over %d MiB", path, maxFile>>20)
	}
	return b, nil
}

// IsFeed reports whether dir is a MISP feed: it holds manifest.json.
func IsFeed(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "manifest.json"))
	return err == nil && st.Mode().IsRegular()
}

// ReadFeed reads a MISP feed directory: manifest.json, the <uuid>.json
// file of every event it lists, and hashes.csv (md5 of each attribute
// value, event uuid). An event whose file is missing, unreadable, not
// the event the manifest names, or whose attribute values do not hash to
// its hashes.csv rows is listed in Problems and left out. A feed without
// a readable manifest.json or hashes.csv is an error: nothing in it can
// be checked.
func ReadFeed(dir string) (*Feed, error) {
	f, _, err := ReadFeedWith(dir, func(name string) ([]byte, error) { return readFile(filepath.Join(dir, name)) }, nil)
	return f, err
}

// ReadFeedWith is ReadFeed over any transport: get returns a feed file
// by name (manifest.json, hashes.csv, <uuid>.json), from a directory or
// a URL; where names the feed in messages. want, when not nil, picks the
// events of the manifest to read (a pull reads only those it has not
// imported at their timestamp). It returns the manifest too.
func ReadFeedWith(where string, get func(name string) ([]byte, error), want func(uuid string, e ManifestEntry) bool) (*Feed, map[string]ManifestEntry, error) {
	join := func(name string) string { return strings.TrimSuffix(where, "/") + "/" + name }
	if !strings.Contains(where, "://") {
		join = func(name string) string { return filepath.Join(where, name) }
	}
	mb, err := get("manifest.json")
	if err != nil {
		return nil, nil, err
	}
	manifest, err := ParseManifest(join("manifest.json"), mb)
	if err != nil {
		return nil, nil, err
	}
	uuids := make([]string, 0, len(manifest))
	for u, e := range manifest {
		if want == nil || want(u, e) {
			uuids = append(uuids, u)
		}
	}
	f := &Feed{}
	if len(uuids) == 0 {
		return f, manifest, nil
	}
	hb, err := get("hashes.csv")
	if err != nil {
		return nil, nil, fmt.Errorf("%w (a MISP feed's integrity hashes)", err)
	}
	hashes, err := ParseHashes(join("hashes.csv"), hb)
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(uuids)
	for _, u := range uuids {
		path := join(u + ".json")
		b, err := get(u + ".json")
		if err != nil {
			f.Problems = append(f.Problems, fmt.Sprintf("event %s: %v", u, err))
			continue
		}
		evs, err := ParseEvents(path, b)
		if err != nil {
			f.Problems = append(f.Problems, err.Error())
			continue
		}
		if len(evs) != 1 || !strings.EqualFold(evs[0].UUID, u) {
			f.Problems = append(f.Problems, fmt.Sprintf("%s: not the event %s the manifest lists", path, u))
			continue
		}
		if err := CheckHashes(evs[0], hashes[strings.ToLower(u)]); err != nil {
			f.Problems = append(f.Problems, fmt.Sprintf("%s: integrity check against hashes.csv failed, not imported: %v", path, err))
			continue
		}
		f.Events = append(f.Events, FeedEvent{File: path, Event: evs[0]})
	}
	return f, manifest, nil
}

// ParseManifest reads manifest.json: event uuid → its summary.
func ParseManifest(name string, b []byte) (map[string]ManifestEntry, error) {
	var m map[string]ManifestEntry
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &ParseError{File: name, Where: where(b, err), Msg: "not a MISP feed manifest: " + err.Error()}
	}
	for u := range m {
		if !validUUID(u) {
			return nil, &ParseError{File: name, Msg: fmt.Sprintf("key %q is not an event UUID", u)}
		}
	}
	return m, nil
}

// ParseHashes reads hashes.csv: "md5,event uuid" a line. The result maps
// a lower-case event uuid to its hashes, in file order.
func ParseHashes(name string, b []byte) (map[string][]string, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	m := map[string][]string{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, &ParseError{File: name, Msg: err.Error()} // a *csv.ParseError says the line
		}
		line, _ := r.FieldPos(0)
		if len(rec) != 2 {
			return nil, &ParseError{File: name, Where: fmt.Sprintf("line %d", line), Msg: fmt.Sprintf("want md5,event-uuid; got %d fields", len(rec))}
		}
		h, u := strings.ToLower(strings.TrimSpace(rec[0])), strings.ToLower(strings.TrimSpace(rec[1]))
		if len(h) != 32 || !isHex(h) {
			return nil, &ParseError{File: name, Where: fmt.Sprintf("line %d field 1", line), Msg: fmt.Sprintf("%q is not an MD5", rec[0])}
		}
		if !validUUID(u) {
			return nil, &ParseError{File: name, Where: fmt.Sprintf("line %d field 2", line), Msg: fmt.Sprintf("%q is not an event UUID", rec[1])}
		}
		m[u] = append(m[u], h)
	}
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// allAttributes is an event's attributes and its objects', in file order.
func allAttributes(e Event) []Attribute {
	as := append([]Attribute(nil), e.Attributes...)
	for _, o := range e.Objects {
		as = append(as, o.Attributes...)
	}
	return as
}

// valueHashes are the hashes.csv rows of an attribute as Vigil writes
// them: the md5 of its value, or of each part of a composite value
// (filename|md5), as MISP does.
func valueHashes(a Attribute) []string {
	if strings.Contains(a.Type, "|") {
		var hs []string
		for _, p := range strings.Split(a.Value, "|") {
			hs = append(hs, md5hex(p))
		}
		return hs
	}
	return []string{md5hex(a.Value)}
}

// CheckHashes checks an event against its hashes.csv rows: every
// attribute value's md5 (a composite's parts', or its whole value's) is
// there, and no row is left over.
func CheckHashes(e Event, rows []string) error {
	left := map[string]int{}
	for _, h := range rows {
		left[h]++
	}
	take := func(hs []string) bool {
		need := map[string]int{}
		for _, h := range hs {
			need[h]++
		}
		for h, n := range need {
			if left[h] < n {
				return false
			}
		}
		for h, n := range need {
			left[h] -= n
		}
		return true
	}
	for i, a := range allAttributes(e) {
		if !take(valueHashes(a)) && !take([]string{md5hex(a.Value)}) {
			return fmt.Errorf("attribute %d (%s, %s): md5 of its value %s is not in hashes.csv", i, a.UUID, a.Type, md5hex(a.Value))
		}
	}
	n := 0
	for _, c := range left {
		n += c
	}
	if n > 0 {
		return fmt.Errorf("hashes.csv has %d row(s) for the event that none of its attributes hash to", n)
	}
	return nil
}

// FeedFiles is a MISP feed as files: manifest.json, hashes.csv and
// <uuid>.json a event.
type FeedFiles map[string][]byte

// BuildFeed writes events as a MISP feed that MISP can subscribe to.
func BuildFeed(evs []Event) (FeedFiles, error) {
	files := FeedFiles{}
	manifest := map[string]ManifestEntry{}
	var hashes bytes.Buffer
	for _, e := range evs {
		u := strings.ToLower(e.UUID)
		tags := e.Tags
		if tags == nil {
			tags = []Tag{}
		}
		manifest[u] = ManifestEntry{Orgc: e.Orgc, Tags: tags, Info: e.Info, Date: e.Date, Analysis: e.Analysis, ThreatLevelID: e.ThreatLevelID, Timestamp: e.Timestamp}
		b, err := json.Marshal(map[string]Event{"Event": e})
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", u, err)
		}
		files[u+".json"] = b
		for _, a := range allAttributes(e) {
			for _, h := range valueHashes(a) {
				hashes.WriteString(h + "," + u + "\n")
			}
		}
	}
	mb, err := json.Marshal(manifest)
	if err != nil {
		return nil, err
	}
	files["manifest.json"] = mb
	files["hashes.csv"] = hashes.Bytes()
	return files, nil
}

// Write writes the feed's files into dir, creating it.
func (f FeedFiles) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range f {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
