// Package cases is Vigil's security incident management (issue 15): the
// alerts inbox every producer feeds (the API, the JetStream stream ALERTS),
// triage, and cases — with templates, tasks, observables, evidence, a
// timeline and comments — plus the merging, linking and splitting of cases.
// National incidents, clocks and reports build on it (docs/adr/0004-cases.md
// says how).
//
// # Who sees what
//
// Every alert and case belongs to one organisation (its org, an ODS code),
// and scope applies to it as everywhere else: scope.Read on the org to see
// it, scope.Write to change it, and anything outside scope is
// fault.ErrNotFound. What a case holds (tasks, observables, attachments,
// timeline, comments) is seen and changed with the case. Data moves only
// to where its readers could already see it: an alert joins, and a case is
// merged into, a case of its own organisation or of one above it
// (access.go). Mentions and assignments name only users who may see the
// case; "seen in other cases" lists only cases the caller may see.
//
// # Writes
//
// Each change and its audit entry are one transaction. Alert creation, the
// hot path (thousands a second from EDR and e-mail gateways), goes through
// one writer goroutine that commits the requests waiting at that moment
// together (writer.go), each with its own audit entry: on SQLite that
// replaces lock contention between connections with one transaction per
// batch. Subscribers (notifications) hear about changes after commit
// through OnEvent.
package cases

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the cases domain's schema. It needs the org and audit
// migrations too (scope filters join the orgs table).
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "cases", FS: sub}
}

// Orgs is what the service needs of the organisation tree: the
// materialised path of an organisation (fault.ErrNotFound when there is no
// such organisation). org.Service provides it.
type Orgs interface {
	PathOf(ctx context.Context, code string) (string, error)
}

// Users resolves a person named in a mention or an assignment to their
// current scope, so the service can check that they may see the case. It
// returns fault.ErrNotFound for no such (or a disabled) user. The app wires
// it to auth; a nil Users makes mentions plain text and refuses assignees
// other than the caller.
type Users interface {
	ScopeOf(ctx context.Context, emailOrID string) (scope.Scope, error)
}

// SupplyImpact is what national incidents need of the supplier register:
// supply.Service provides it.
type SupplyImpact interface {
	Impact(ctx context.Context, sc scope.Scope, q supply.Query) (supply.ImpactResult, error)
	// Stats gives the register's generation: open incidents behind it
	// are refreshed.
	Stats(ctx context.Context) (supply.GraphStats, error)
}

// Options are the Service's dependencies.
type Options struct {
	DB    *store.DB
	Audit *audit.Log
	Orgs  Orgs
	// Users resolves mentions and assignees (optional).
	Users Users
	// Supply is the supplier register's blast radius, for national
	// incidents opened from a supplier compromise (issue 15, a later
	// step); optional, and unused by alerts and cases.
	Supply SupplyImpact
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// MaxAttachment bounds one evidence file (default 25 MiB).
	MaxAttachment int64
	// MaxBatch bounds how many alert creations the writer commits in one
	// transaction (default 256).
	MaxBatch int
	// SLA is the clocks' policy per severity (clocks.go); DefaultSLA when
	// nil, and severities missing from it have no SLA clocks.
	SLA SLAPolicy
	// Views keeps the inbox's saved views (kind InboxViews); when nil,
	// one over DB, Audit and Now.
	Views *savedview.Service
}

// Service is the cases domain's API. It is safe for concurrent use.
type Service struct {
	db        *store.DB
	audit     *audit.Log
	orgs      Orgs
	users     Users
	now       func() time.Time
	log       *slog.Logger
	opts      Options
	templates map[string]*Template
	writer    *writer
	onEvent   []func(Event)
	closeOnce sync.Once
	// poke asks the ticker to refresh open incidents now (RegisterChanged).
	poke chan struct{}
	// searchCounts are the match counts a search's plan was chosen by
	// (search.go).
	searchCounts matchCounts
	views        *savedview.Service
}

// DefaultMaxAttachment is the default bound on one evidence file.
const DefaultMaxAttachment = 25 << 20

// New checks o, loads the case templates and starts the alert writer.
// Close stops the writer.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("cases: Options.DB is required")
	case o.Audit == nil:
		return nil, errors.New("cases: Options.Audit is required")
	case o.Orgs == nil:
		return nil, errors.New("cases: Options.Orgs is required")
	case o.MaxAttachment < 0:
		return nil, errors.New("cases: Options.MaxAttachment must not be negative")
	case o.MaxBatch < 0:
		return nil, errors.New("cases: Options.MaxBatch must not be negative")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxAttachment == 0 {
		o.MaxAttachment = DefaultMaxAttachment
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 256
	}
	if o.SLA == nil {
		o.SLA = DefaultSLA()
	}
	tpls, err := LoadTemplates(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	if o.Views == nil {
		if o.Views, err = savedview.New(savedview.Options{DB: o.DB, Audit: o.Audit, Now: o.Now}); err != nil {
			return nil, err
		}
	}
	s := &Service{db: o.DB, audit: o.Audit, orgs: o.Orgs, users: o.Users, now: o.Now, log: o.Logger, opts: o, templates: tpls, poke: make(chan struct{}, 1),
		views: o.Views}
	s.writer = newWriter(s, o.MaxBatch)
	return s, nil
}

// Close stops the alert writer after the requests it holds are written.
// Safe to call twice.
func (s *Service) Close() error {
	s.closeOnce.Do(s.writer.close)
	return nil
}

// Event is something that happened, for subscribers (notifications, the
// clocks) after it was committed.
type Event struct {
	// Kind is "alert.created", "alert.repeated", "alert.triaged",
	// "case.created", "case.updated", "case.status", "case.assigned",
	// "case.merged", "case.alerts", "comment.mention", "task.done",
	// "clock.breached" (Detail: clock = ack|respond|resolve|nis|ico, due
	// RFC 3339) and "case.escalated" (Detail: escalate_to = the ODS codes
	// of the case organisation's region and the national root, comma-
	// separated; clock; due).
	Kind   string
	Org    string
	Alert  string
	Case   string
	Actor  string
	At     time.Time
	Detail map[string]string
	// Users are the users the event concerns (the assignee, the mentioned).
	Users []string
}

// OnEvent registers f to be called after each committed change, in the
// order of commit within this process. f must be quick (it runs on the
// writer's goroutine for alerts): hand work to a queue. Register before
// the Service is used.
func (s *Service) OnEvent(f func(Event)) { s.onEvent = append(s.onEvent, f) }

func (s *Service) emit(evs ...Event) {
	for _, e := range evs {
		for _, f := range s.onEvent {
			f(e)
		}
	}
}

// after arranges for evs to be emitted once tx commits.
func (s *Service) after(tx *store.Tx, key string, evs ...Event) {
	if len(s.onEvent) == 0 {
		return
	}
	tx.AfterCommit(key, func() { s.emit(evs...) })
}

// ---- IDs and times ----

// crockford is Crockford's base32 alphabet, in byte order, so that IDs
// compare as their times and random parts do.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulids makes IDs monotonic within a millisecond: an ID made in the same
// millisecond as the one before is that one plus one, so IDs made one
// after another sort in that order — timelines and the inbox keep their
// order at any speed. (A clock that steps back makes IDs that sort
// before, as their times do.)
var ulids struct {
	sync.Mutex
	last [16]byte
}

// newID returns "<prefix>-<ULID>" for t: 48 bits of Unix milliseconds and
// 80 random bits, 26 characters. IDs of one kind sort by creation time.
func newID(prefix string, t time.Time) string {
	b := msBytes(t)
	ulids.Lock()
	if string(b[:6]) == string(ulids.last[:6]) {
		b = ulids.last
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		rand.Read(b[6:])
		// Leave room to count up within the millisecond.
		b[6] &= 0x7f
	}
	ulids.last = b
	ulids.Unlock()
	return prefix + "-" + encodeULID(b)
}

// msBytes is a ULID of t with a zero random part.
func msBytes(t time.Time) [16]byte {
	var b [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	return b
}

// encodeULID writes 128 bits as 26 base32 digits (the first holds the top
// 3 bits).
func encodeULID(b [16]byte) string {
	var out [26]byte
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// idFloor is the smallest ID of kind prefix made at or after t, for time
// ranges over IDs.
func idFloor(prefix string, t time.Time) string {
	return prefix + "-" + encodeULID(msBytes(t))
}

// validID reports whether id looks like an ID of kind prefix, so lookups
// of malformed IDs answer not found without a query.
func validID(prefix, id string) bool {
	if len(id) != len(prefix)+27 || !strings.HasPrefix(id, prefix+"-") {
		return false
	}
	for _, c := range id[len(prefix)+1:] {
		if !strings.ContainsRune(crockford, c) {
			return false
		}
	}
	return true
}

// ID prefixes.
const (
	prefixAlert       = "AL"
	prefixCase        = "CS"
	prefixTask        = "TK"
	prefixTaskLog     = "TL"
	prefixObservable  = "OB"
	prefixEvent       = "EV"
	prefixComment     = "CM"
	prefixAttachment  = "AT"
	prefixCustody     = "CU"
	prefixDisposition = "DP"
)

// tsLayout is how times are stored: UTC with nine fractional digits, so
// comparing the text compares the times on both engines.
const tsLayout = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) string { return t.UTC().Format(tsLayout) }

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(tsLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

// optTS parses an optional stored time.
func optTS(s string) *time.Time {
	if s == "" {
		return nil
	}
	t := parseTS(s)
	return &t
}

// actorName is how the caller is named in histories and timelines.
func actorName(sc scope.Scope) string {
	if sc.Email != "" {
		return sc.Email
	}
	return sc.UserID
}

// notFound wraps fault.ErrNotFound with what was looked for. The API
// shows no detail for 404s; the CLI does.
func notFound(kind, id string) error { return fmt.Errorf("%s %s: %w", kind, id, fault.ErrNotFound) }

func firstWords(s string) string {
	if len(s) > 60 {
		s = s[:60]
	}
	return strings.Join(strings.Fields(s), " ")
}

type scanner interface{ Scan(...any) error }

// queryAll runs q and scans every row.
func queryAll[T any](ctx context.Context, q store.Queryer, sqlText string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("cases: %s: %w", firstWords(sqlText), err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("cases: scan: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
