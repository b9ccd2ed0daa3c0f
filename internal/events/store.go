package events

import (
	"context"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

// Store keeps events and answers the analysts' questions about them. It is
// narrow on purpose: the SQL store (SQLite, PostgreSQL) implements it
// today and a columnar engine (ClickHouse) can implement it later, the
// query language compiling to that engine's SQL, without callers
// changing. Every read takes the caller's scope and sees only the
// organisations it may read; what is outside scope does not exist
// (fault.ErrNotFound from Get, absent from the rest).
type Store interface {
	// Append stores events. It is idempotent by Event.ID: an ID already
	// stored is skipped, so a redelivered batch stores nothing twice. It
	// takes no scope: Event.Org was decided by ingest (the ingest token's
	// organisation, the listener's address mapping), and only the
	// consumer of the stream calls it.
	Append(ctx context.Context, evs []Event) error
	// Search returns the newest matching events first, one page at a
	// time; Page.Next continues where the page ended.
	Search(ctx context.Context, sc scope.Scope, q Query) (Page, error)
	// Count returns how many events match.
	Count(ctx context.Context, sc scope.Scope, q Query) (int64, error)
	// Histogram counts matching events in n equal buckets over
	// [q.Since, q.Until) (Until defaults to now, Since to a day before it).
	Histogram(ctx context.Context, sc scope.Scope, q Query, n int) ([]Bucket, error)
	// Fields summarises the fields of a sample of the newest matching
	// events, for the search page's sidebar.
	Fields(ctx context.Context, sc scope.Scope, q Query) ([]FieldSummary, error)
	// TopValues returns the n commonest values of field over every
	// matching event.
	TopValues(ctx context.Context, sc scope.Scope, q Query, field string, n int) ([]ValueCount, error)
	// Get returns one event by ID.
	Get(ctx context.Context, sc scope.Scope, id string) (Event, error)
	// Retain deletes what the policy no longer keeps.
	Retain(ctx context.Context, p Policy) (RetainResult, error)
}

// Query is what to search: Text in the query language, a time range and
// optionally one organisation. Time and organisation are fields rather
// than part of the text, so the UI and the CLI set them from their own
// controls and the store can use them for partitions and indexes.
type Query struct {
	Text string
	// Since and Until bound the event time: Since <= t < Until; a zero
	// value leaves that side open.
	Since, Until time.Time
	// Org, when set, narrows to one organisation's events (ODS code),
	// within scope as always.
	Org string
	// Limit is the page size for Search (default 100, at most MaxLimit);
	// Cursor is the Next of the previous page.
	Limit  int
	Cursor string
}

// Default and largest page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 100_000
)

// Page is one page of search results, newest first. Next is empty on the
// last page.
type Page struct {
	Events []Event `json:"events"`
	Next   string  `json:"next,omitempty"`
}

// Bucket is one bar of a histogram: events with Start <= t < Start+width.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}

// FieldSummary is one field of the sidebar: in how many of the sampled
// events it appears, and its commonest values among them.
type FieldSummary struct {
	Name    string       `json:"name"`
	Count   int          `json:"count"`
	Sampled int          `json:"sampled"`
	Top     []ValueCount `json:"top"`
}

// ValueCount is a value and how often it occurs.
type ValueCount struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Policy says how long events are kept. Default applies to every
// organisation without an entry in Orgs; a zero limit keeps forever.
type Policy struct {
	Default Limit
	Orgs    map[string]Limit
}

// Limit is one organisation's retention: events older than MaxAge go, and
// while its events take more than MaxBytes, its oldest days go — except
// the newest day, which is always kept, so a burst never deletes what is
// arriving.
type Limit struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// RetainResult says what Retain removed: whole days (UTC dates) dropped
// for every organisation, and events deleted in all.
type RetainResult struct {
	DaysDropped []string `json:"days_dropped,omitempty"`
	Deleted     int64    `json:"deleted"`
}
