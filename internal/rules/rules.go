// Package rules is Sigma rule management (issue 17 part 4): rules kept as
// rows with every version they had, imported from a directory or a
// SigmaHQ release zip, enabled or disabled and given another level for
// every organisation or for one, with exceptions that have an owner, a
// reason and an expiry, and hit statistics with a noisiest-rules report.
//
// A stored rule is one Sigma file, known by its Sigma id: the id of the
// file's first correlation rule that has one (the correlation is what
// raises alerts; its rules travel with it), else of its first rule (or
// filter) that has one.
// Every rule is validated with internal/sigma before it is stored; a file
// that does not load is reported with its file, line and reason and
// stored nowhere. Re-importing unchanged text makes no new version.
//
// Who may do what: changing a rule's text, or its setting for every
// organisation, needs Write on the whole tree (national analysts and
// administrators); an organisation's own setting needs Write on that
// organisation, so a trust's analyst tunes their trust's detection and no
// other's. Everyone with a grant reads the rules; settings, exceptions and
// hits of an organisation are seen only by those who may read it.
//
// Live detection (internal/app/detect.go) reads a Snapshot, runs the rules
// it holds and asks it, for each match, whether and at what level to
// raise it for the event's organisation (Set.Decide).
package rules

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the rules' schema.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "rules", FS: sub}
}

// Levels are Sigma's levels, lowest first.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// ValidLevel reports whether l is one of Levels.
func ValidLevel(l string) bool {
	for _, x := range Levels {
		if x == l {
			return true
		}
	}
	return false
}

// Orgs resolves organisation codes to their place in the tree
// (org.Service does).
type Orgs interface {
	PathOf(ctx context.Context, code string) (string, error)
}

// Options are the Service's dependencies.
type Options struct {
	// DB holds the rules' tables (required).
	DB *store.DB
	// Audit records every change (required).
	Audit *audit.Log
	// Orgs places organisations for per-organisation settings (required).
	Orgs Orgs
	// Sigma are the options rules are validated with (placeholder values).
	Sigma sigma.Options
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service stores rules and their settings. It is safe for concurrent use.
type Service struct {
	db    *store.DB
	audit *audit.Log
	orgs  Orgs
	sigma sigma.Options
	now   func() time.Time

	mu       sync.Mutex
	onChange []func()
}

// New returns a Service over o.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("rules: Options.DB is required")
	case o.Audit == nil:
		return nil, errors.New("rules: Options.Audit is required")
	case o.Orgs == nil:
		return nil, errors.New("rules: Options.Orgs is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{db: o.DB, audit: o.Audit, orgs: o.Orgs, sigma: o.Sigma, now: o.Now}, nil
}

// OnChange registers fn to be called after every committed change of
// rules or their settings (live detection reloads).
func (s *Service) OnChange(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = append(s.onChange, fn)
}

func (s *Service) changed() {
	s.mu.Lock()
	fns := append([]func(){}, s.onChange...)
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// Rule is a stored rule as lists show it: what its current text says, and
// its settings for every organisation.
type Rule struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Level    string   `json:"level"`
	Status   string   `json:"status"`
	Author   string   `json:"author"`
	Product  string   `json:"product,omitempty"`
	Category string   `json:"category,omitempty"`
	Service  string   `json:"service,omitempty"`
	Tags     []string `json:"tags"`
	// Pack is where the rule came from (a directory's or zip's name, or
	// "local" for a rule written in the editor); Path its file there.
	Pack    string `json:"pack"`
	Path    string `json:"path"`
	Version int    `json:"version"`
	// Enabled and LevelOverride are the settings for every organisation.
	Enabled       bool      `json:"enabled"`
	LevelOverride string    `json:"level_override,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
	UpdatedBy     string    `json:"updated_by"`
	// For one organisation (List with an Org): its own settings, and what
	// detection does for it.
	Org              string `json:"org,omitempty"`
	OrgEnabled       *bool  `json:"org_enabled,omitempty"`
	OrgLevel         string `json:"org_level,omitempty"`
	EffectiveEnabled bool   `json:"effective_enabled"`
	EffectiveLevel   string `json:"effective_level"`
}

// Version is one text a rule had.
type Version struct {
	Version   int       `json:"version"`
	SHA256    string    `json:"sha256"`
	YAML      string    `json:"yaml"`
	Pack      string    `json:"pack"`
	Path      string    `json:"path"`
	ChangedBy string    `json:"changed_by"`
	ChangedAt time.Time `json:"changed_at"`
	Note      string    `json:"note"`
}

// OrgSetting is one organisation's own setting for a rule.
type OrgSetting struct {
	Org string `json:"org"`
	// Enabled is nil when the organisation follows the global setting.
	Enabled   *bool     `json:"enabled,omitempty"`
	Level     string    `json:"level,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// Runs is "on" or "off" when the organisation decides, "inherit" when it
// follows the global setting.
func (o OrgSetting) Runs() string { return onOff(o.Enabled) }

// Match is one field=value of an exception.
type Match struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// Exception keeps a rule's matches from being raised while it lasts.
type Exception struct {
	ID     string `json:"id"`
	RuleID string `json:"rule_id"`
	// Org is the organisation it applies to; "" is every one.
	Org       string    `json:"org,omitempty"`
	Match     []Match   `json:"match"`
	Owner     string    `json:"owner"`
	Reason    string    `json:"reason"`
	Expires   time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// Expired is true once Expires has passed: it no longer applies.
	Expired bool `json:"expired"`
}

// Detail is one rule with its text, history, settings, exceptions and
// recent hits, as far as the caller may see them.
type Detail struct {
	Rule
	YAML       string       `json:"yaml"`
	Versions   []Version    `json:"versions"`
	Orgs       []OrgSetting `json:"orgs"`
	Exceptions []Exception  `json:"exceptions"`
	Hits       []DayHits    `json:"hits"`
}

const tsLayout = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) string { return t.UTC().Format(tsLayout) }

func parseTS(s string) time.Time {
	t, err := time.Parse(tsLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

// MaxID is the longest rule id stored.
const MaxID = 100

// validID reports whether id may name a stored rule: it appears in URLs
// and file names, so letters, digits and . _ - only (SigmaHQ's are UUIDs).
func validID(id string) bool {
	if id == "" || len(id) > MaxID {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// who names the caller in rows.
func who(sc scope.Scope) string {
	if sc.Email != "" {
		return sc.Email
	}
	return sc.UserID
}

// mayChangeAll is the rule for changes that reach every organisation.
func mayChangeAll(sc scope.Scope) error {
	if !sc.National(scope.Write) {
		return fault.Forbiddenf("changing rules for every organisation needs a national role (national analyst or administrator); an organisation's own settings need --org")
	}
	return nil
}

// mayRead is the rule for reading rules at all.
func mayRead(sc scope.Scope) error {
	if !sc.Can(scope.Read) {
		return fault.Forbiddenf("reading detection rules needs a role on some organisation")
	}
	return nil
}

// orgFor checks that sc may change org's settings and returns its code:
// an organisation sc cannot read is not found, one it reads but may not
// change is forbidden.
func (s *Service) orgFor(ctx context.Context, sc scope.Scope, code string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	path, err := s.orgs.PathOf(ctx, code)
	if errors.Is(err, fault.ErrNotFound) || (err == nil && !sc.CanAt(scope.Read, path)) {
		return "", fault.NotFoundf("organisation %s not found", code)
	}
	if err != nil {
		return "", fmt.Errorf("rules: organisation %s: %w", code, err)
	}
	if !sc.CanAt(scope.Write, path) {
		return "", fault.Forbiddenf("changing %s's rule settings needs write access to %s", code, code)
	}
	return code, nil
}

// orgReadable checks that sc may read org.
func (s *Service) orgReadable(ctx context.Context, sc scope.Scope, code string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	path, err := s.orgs.PathOf(ctx, code)
	if errors.Is(err, fault.ErrNotFound) || (err == nil && !sc.CanAt(scope.Read, path)) {
		return "", fault.NotFoundf("organisation %s not found", code)
	}
	if err != nil {
		return "", fmt.Errorf("rules: organisation %s: %w", code, err)
	}
	return code, nil
}

// bump raises the generation inside a change's transaction.
func bump(ctx context.Context, tx *store.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE sigma_rules_state SET generation = generation + 1 WHERE id = 1`)
	return err
}

// Generation is a number every change raises: a server compares it with
// the one its rules were loaded at to notice another process's change.
func (s *Service) Generation(ctx context.Context) (int64, error) {
	var g int64
	err := s.db.Q().QueryRowContext(ctx, `SELECT generation FROM sigma_rules_state WHERE id = 1`).Scan(&g)
	if err != nil {
		return 0, fmt.Errorf("rules: generation: %w", err)
	}
	return g, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
