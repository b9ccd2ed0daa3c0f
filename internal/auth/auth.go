// Package auth turns credentials into a scope.Scope: local accounts with
// argon2id passwords, browser sessions, API tokens and OpenID Connect
// sign-in; and it manages users, their role grants and their tokens. It is
// the only package that reads its tables (users, grants, sessions, tokens),
// and it asks org (org.Service.Paths) for the path of each grant's
// organisation, the subtree scope.Filter uses.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the users, grants, sessions and tokens tables.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "auth", FS: sub}
}

// Sentinel errors callers branch on.
var (
	ErrBadCredentials = errors.New("e-mail address or password not recognised")
	ErrThrottled      = fault.New(fault.ErrRateLimited, "too many sign-in attempts; wait a little and try again")
	ErrDisabled       = errors.New("account disabled")
	ErrExpired        = errors.New("expired")
)

// User is an account.
type User struct {
	ID        string        `json:"id"`
	Email     string        `json:"email"`
	Name      string        `json:"name"`
	HomeOrg   string        `json:"org"`
	Disabled  bool          `json:"disabled"`
	Demo      bool          `json:"demo,omitempty"`
	HasPass   bool          `json:"has_password"`
	OIDC      bool          `json:"oidc"`
	CreatedAt string        `json:"created_at"`
	LastLogin string        `json:"last_login,omitempty"`
	Grants    []scope.Grant `json:"grants"`
}

// Options are Service's dependencies.
type Options struct {
	DB     *store.DB
	Audit  *audit.Log
	Orgs   *org.Service
	Now    func() time.Time
	Logger *slog.Logger
	// SessionTTL is how long a browser session lasts (default 12 h).
	SessionTTL time.Duration
	// Limits are the sign-in limits (throttle.go); zero fields take
	// DefaultSignInLimits.
	Limits SignInLimits
	// Hasher runs every argon2id computation; default one with
	// DefaultHashMemoryMiB of slots. A process shares one between its
	// services so the bound holds for the process.
	Hasher *Hasher
	// DeviceTTL is how long a device cookie is trusted after the sign-in
	// that issued it (default DefaultDeviceTTL).
	DeviceTTL time.Duration
}

// Service manages accounts and authenticates callers.
type Service struct {
	db        *store.DB
	audit     *audit.Log
	orgs      *org.Service
	now       func() time.Time
	log       *slog.Logger
	ttl       time.Duration
	limits    SignInLimits
	throttle  *throttle
	hasher    *Hasher
	deviceTTL time.Duration
	// dummy is checked when an account has no password (or does not
	// exist), so that costs what a real check does.
	dummy string
	// usedMinute remembers, per token ID, the minute this process last
	// wrote to tokens.last_used, so a busy token costs one write a minute
	// rather than one a request: on SQLite even an UPDATE that changes no
	// row takes the database's write lock, which the alert writer needs.
	usedMinute sync.Map // token ID → "2006-01-02T15:04:00Z"
}

// New returns a Service.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("auth: Options.DB is required")
	case o.Audit == nil:
		return nil, errors.New("auth: Options.Audit is required")
	case o.Orgs == nil:
		return nil, errors.New("auth: Options.Orgs is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	o.Limits = o.Limits.withDefaults()
	if err := o.Limits.validate(); err != nil {
		return nil, err
	}
	if o.Hasher == nil {
		o.Hasher = NewHasher(HashSlotsFor(DefaultHashMemoryMiB), 0)
	}
	if o.DeviceTTL == 0 {
		o.DeviceTTL = DefaultDeviceTTL
	}
	if o.DeviceTTL < 0 {
		return nil, errors.New("auth: Options.DeviceTTL must not be negative")
	}
	return &Service{db: o.DB, audit: o.Audit, orgs: o.Orgs, now: o.Now, log: o.Logger, ttl: o.SessionTTL,
		limits: o.Limits, throttle: &throttle{db: o.DB, log: o.Logger, limits: o.Limits}, hasher: o.Hasher, deviceTTL: o.DeviceTTL, dummy: dummyHash()}, nil
}

// hash hashes a new password in a hashing slot. A password the rules
// refuse is a fault.Invalid on "password"; a busy server is ErrBusy.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	h, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		return h, nil
	}
	if errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", err
	}
	return "", &fault.Invalid{Field: "password", Reason: strings.TrimPrefix(err.Error(), "password: ")}
}

func (s *Service) ts() string { return s.now().UTC().Format(time.RFC3339) }

// randomID returns n random bytes as lower-case base32 without padding.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the kernel's CSPRNG does not fail
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// NewUser is what AddUser needs.
type NewUser struct {
	Email    string
	Name     string
	Org      string
	Role     scope.Role
	Password string // empty: the user signs in with OpenID Connect only
	Demo     bool
}

func normEmail(e string) (string, error) {
	e = strings.ToLower(strings.TrimSpace(e))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", &fault.Invalid{Field: "email", Reason: fmt.Sprintf("%q is not an e-mail address", e)}
	}
	return e, nil
}

// checkName trims a person's name and applies the shared text rules: no
// control characters or bidirectional overrides (they would reach every
// page, table and terminal the name is shown on), at most 200 characters.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > safetext.MaxName {
		return "", &fault.Invalid{Field: "name", Reason: "required, at most 200 characters"}
	}
	if p := safetext.Problem(name, safetext.Name, 0); p != "" {
		return "", &fault.Invalid{Field: "name", Reason: p}
	}
	return name, nil
}

// storable reports whether s could be stored at all (valid UTF-8 without
// NUL): a lookup of anything else is "not found" without asking the
// database, which on PostgreSQL would fail with an error.
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return false
		}
	}
	return true
}

// checkGrant verifies that role may be granted on o at all (400: which
// roles fit which kinds of organisation), and that the scope may grant —
// or revoke — it there (403, scope.GrantGap: it administers o, holds role
// or a higher one on o or above, and every permission role carries). o is
// an organisation the scope can see.
func (s *Service) checkGrant(sc scope.Scope, role scope.Role, o org.Org) error {
	if !role.Valid() {
		return &fault.Invalid{Field: "role", Reason: fmt.Sprintf("unknown role %q; want one of %v", role, scope.Roles())}
	}
	switch role {
	case scope.NationalAdmin, scope.NationalAnalyst:
		if o.Type != org.National {
			return &fault.Invalid{Field: "org", Reason: fmt.Sprintf("%s is granted on the national organisation (%s), not on %s", role, org.RootCode, o.Code)}
		}
	case scope.RegionLead:
		if o.Type != org.Region && o.Type != org.ICB {
			return &fault.Invalid{Field: "org", Reason: fmt.Sprintf("region-lead is granted on a region or ICB, and %s is a %s", o.Code, o.Type)}
		}
	case scope.SupplierRep:
		if o.Type != org.Supplier {
			return &fault.Invalid{Field: "org", Reason: fmt.Sprintf("supplier-rep is granted on a supplier organisation, and %s is a %s", o.Code, o.Type)}
		}
	case scope.OrgAdmin, scope.OrgAnalyst:
		if o.Type == org.Supplier && role == scope.OrgAnalyst {
			return &fault.Invalid{Field: "role", Reason: "supplier organisations have supplier-rep and org-admin users"}
		}
	}
	// Nobody hands out more than they hold.
	if gap := sc.GrantGap(role, o.Path); gap != "" {
		return fmt.Errorf("%w: granting or revoking %s on %s needs %s there; ask an administrator above you", fault.ErrForbidden, role, o.Code, gap)
	}
	return nil
}

// MayManage reports whether the scope may act on another user u (as
// returned by GetUser, grants included): change their name, password or
// disabled flag, grant or revoke their roles, and create, list or revoke
// their API tokens. It needs administration of u's home organisation and,
// for every grant u holds, the right to grant it (scope.GrantGap) — so an
// administrator can never become, lock out or reshape someone who holds
// more than they could hand out themself (a national admin homed at a
// trust is beyond that trust's admin). Acting on oneself is not decided
// here: UpdateUser, CreateToken and friends allow one's own name,
// password (with the current one) and tokens. The error is fault.ErrForbidden
// and names only organisations the scope can see.
func (s *Service) MayManage(ctx context.Context, sc scope.Scope, u User) error {
	home, err := s.orgs.PathOf(ctx, u.HomeOrg)
	if err != nil {
		return err
	}
	return mayManage(sc, u, home)
}

// mayManage is MayManage with the path of u's home organisation given.
func mayManage(sc scope.Scope, u User, home string) error {
	if !sc.CanAt(scope.Admin, home) {
		return fmt.Errorf("%w: you do not administer %s, the organisation of %s", fault.ErrForbidden, u.HomeOrg, u.Email)
	}
	for _, g := range u.Grants {
		if gap := sc.GrantGap(g.Role, g.Path); gap != "" {
			where := "an organisation outside your scope"
			if sc.CanAt(scope.Read, g.Path) {
				where = g.Org
			}
			return fmt.Errorf("%w: %s holds %s on %s, which you could not grant (that needs %s), so only an administrator above you may change their account", fault.ErrForbidden, u.Email, g.Role, where, gap)
		}
	}
	return nil
}

// AddUser creates an account with one grant.
func (s *Service) AddUser(ctx context.Context, sc scope.Scope, nu NewUser) (User, error) {
	email, err := normEmail(nu.Email)
	if err != nil {
		return User{}, err
	}
	name, err := checkName(nu.Name)
	if err != nil {
		return User{}, err
	}
	o, err := s.orgs.Get(ctx, sc, strings.ToUpper(strings.TrimSpace(nu.Org)))
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return User{}, &fault.Invalid{Field: "org", Reason: fmt.Sprintf("organisation %q not found", nu.Org)}
		}
		return User{}, err
	}
	if err := s.checkGrant(sc, nu.Role, o); err != nil {
		return User{}, err
	}
	hash := ""
	if nu.Password != "" {
		if err := ValidatePassword(nu.Password, email, name); err != nil {
			return User{}, err
		}
		if hash, err = s.hash(ctx, nu.Password); err != nil {
			return User{}, err
		}
	}
	u := User{ID: "u_" + randomID(10), Email: email, Name: name, HomeOrg: o.Code, Demo: nu.Demo, HasPass: hash != "",
		CreatedAt: s.ts(), Grants: []scope.Grant{{Role: nu.Role, Org: o.Code}}}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, home_org, password_hash, demo, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.Name, u.HomeOrg, hash, u.Demo, u.CreatedAt, u.CreatedAt)
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("%w: a user with e-mail %s already exists", fault.ErrConflict, email)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO grants (user_id, role, org) VALUES (?, ?, ?)`, u.ID, string(nu.Role), o.Code); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "user.create", ObjectType: "user", ObjectID: u.ID, Org: o.Code, After: u})
		return err
	})
	return u, err
}

const userCols = `id, email, name, home_org, password_hash <> '', oidc_subject <> '', disabled, demo, created_at, last_login`

func scanUser(r interface{ Scan(...any) error }) (User, error) {
	var u User
	err := r.Scan(&u.ID, &u.Email, &u.Name, &u.HomeOrg, &u.HasPass, &u.OIDC, &u.Disabled, &u.Demo, &u.CreatedAt, &u.LastLogin)
	return u, err
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Org   string
	Query string
	After string // cursor: last e-mail of the previous page
	Limit int
}

// ListUsers returns the users whose home organisation the scope may read,
// ordered by e-mail, and the next cursor.
func (s *Service) ListUsers(ctx context.Context, sc scope.Scope, f UserFilter) ([]User, string, error) {
	if !storable(f.Org, f.After) {
		return nil, "", &fault.Invalid{Field: "org", Reason: "no such organisation or cursor"}
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	where, args := sc.Filter("home_org", scope.Read)
	conds := []string{where}
	if f.Org != "" {
		conds = append(conds, "home_org = ?")
		args = append(args, strings.ToUpper(f.Org))
	}
	if f.Query != "" {
		if p := safetext.SearchProblem(f.Query); p != "" {
			return nil, "", &fault.Invalid{Field: "q", Reason: p}
		}
		// The query is matched literally: % and _ are not wildcards.
		conds = append(conds, `(LOWER(email) LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\')`)
		q := "%" + likeEscaper.Replace(strings.ToLower(f.Query)) + "%"
		args = append(args, q, q)
	}
	if f.After != "" {
		conds = append(conds, "email > ?")
		args = append(args, f.After)
	}
	args = append(args, f.Limit+1)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE `+strings.Join(conds, " AND ")+` ORDER BY email LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("auth: list users: %w", err)
	}
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].Email
	}
	if err := s.fillGrants(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// fillGrants loads the grants of a page of users in one query, with the
// paths of their organisations from org.
func (s *Service) fillGrants(ctx context.Context, users []User) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]any, len(users))
	at := make(map[string]int, len(users))
	for i, u := range users {
		ids[i] = u.ID
		at[u.ID] = i
		users[i].Grants = []scope.Grant{}
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT user_id, role, org FROM grants
		WHERE user_id IN (`+store.Placeholders(len(ids))+`) ORDER BY org, role`, ids...)
	if err != nil {
		return fmt.Errorf("auth: grants: %w", err)
	}
	type owned struct {
		user string
		scope.Grant
	}
	var gs []owned
	for rows.Next() {
		var g owned
		if err := rows.Scan(&g.user, &g.Role, &g.Org); err != nil {
			return errors.Join(fmt.Errorf("auth: grants: %w", err), rows.Close())
		}
		gs = append(gs, g)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("auth: grants: %w", err)
	}
	codes := make([]string, len(gs))
	for i, g := range gs {
		codes[i] = g.Org
	}
	paths, err := s.orgs.Paths(ctx, codes)
	if err != nil {
		return err
	}
	for _, g := range gs {
		// A grant on an organisation that no longer exists grants nothing.
		if p, ok := paths[g.Org]; ok {
			g.Path = p
			users[at[g.user]].Grants = append(users[at[g.user]].Grants, g.Grant)
		}
	}
	return nil
}

// GetUser returns a user by ID or e-mail whose home organisation the scope
// may read (or the caller themself).
func (s *Service) GetUser(ctx context.Context, sc scope.Scope, idOrEmail string) (User, error) {
	if !storable(idOrEmail) {
		return User{}, fault.ErrNotFound
	}
	where, args := sc.Filter("home_org", scope.Read)
	key := strings.ToLower(strings.TrimSpace(idOrEmail))
	row := s.db.Q().QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE (id = ? OR email = ?) AND (`+where+` OR id = ?)`,
		append(append([]any{key, key}, args...), sc.UserID)...)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fault.ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	u.Grants, err = s.grants(ctx, s.db.Q(), u.ID)
	return u, err
}

// grants returns a user's grants with the paths of their organisations
// (from org), read through q so that a transaction sees its own changes.
func (s *Service) grants(ctx context.Context, q store.Queryer, userID string) ([]scope.Grant, error) {
	rows, err := q.QueryContext(ctx, `SELECT role, org FROM grants WHERE user_id = ? ORDER BY org, role`, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: grants: %w", err)
	}
	var gs []scope.Grant
	for rows.Next() {
		var g scope.Grant
		if err := rows.Scan(&g.Role, &g.Org); err != nil {
			return nil, errors.Join(fmt.Errorf("auth: grants: %w", err), rows.Close())
		}
		gs = append(gs, g)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("auth: grants: %w", err)
	}
	codes := make([]string, len(gs))
	for i, g := range gs {
		codes[i] = g.Org
	}
	paths, err := s.orgs.Paths(ctx, codes)
	if err != nil {
		return nil, err
	}
	out := []scope.Grant{}
	for _, g := range gs {
		// A grant on an organisation that no longer exists grants nothing.
		if p, ok := paths[g.Org]; ok {
			g.Path = p
			out = append(out, g)
		}
	}
	return out, nil
}

// UserPatch changes a user; nil fields are left alone.
type UserPatch struct {
	Name     *string `json:"name,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
	// CurrentPassword is required to change one's own password, so a
	// stolen session or token alone cannot take the account over. An
	// administrator resetting someone else's password does not give it.
	CurrentPassword *string `json:"current_password,omitempty"`
}

// UpdateUser changes a user the scope may manage (MayManage), or the
// caller's own name and password (the current one required). An
// administrator's password reset ends the user's sessions and revokes
// their API tokens, as whoever asked for it may not be the only one who
// had the old password; one's own change ends one's other sessions and
// keeps one's tokens.
func (s *Service) UpdateUser(ctx context.Context, sc scope.Scope, idOrEmail string, p UserPatch) (User, error) {
	before, err := s.GetUser(ctx, sc, idOrEmail)
	if err != nil {
		return User{}, err
	}
	self := before.ID == sc.UserID
	if self && p.Disabled != nil {
		return User{}, &fault.Invalid{Field: "disabled", Reason: "you cannot disable or enable your own account"}
	}
	if !self {
		if err := s.MayManage(ctx, sc, before); err != nil {
			return User{}, err
		}
	}
	after := before
	sets := []string{"updated_at = ?"}
	args := []any{s.ts()}
	if p.Name != nil {
		n, err := checkName(*p.Name)
		if err != nil {
			return User{}, err
		}
		after.Name = n
		sets, args = append(sets, "name = ?"), append(args, n)
	}
	if p.Disabled != nil {
		after.Disabled = *p.Disabled
		sets, args = append(sets, "disabled = ?"), append(args, *p.Disabled)
	}
	if p.Password != nil {
		if err := ValidatePassword(*p.Password, before.Email, after.Name); err != nil {
			return User{}, err
		}
		h, err := s.hash(ctx, *p.Password)
		if err != nil {
			return User{}, err
		}
		// Last, as it costs a hash and counts as a sign-in attempt.
		if self {
			if err := s.checkCurrentPassword(ctx, sc, before, p.CurrentPassword); err != nil {
				return User{}, err
			}
		}
		after.HasPass = true
		sets, args = append(sets, "password_hash = ?"), append(args, h)
	}
	now := s.ts()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE id = ?`, append(args, before.ID)...); err != nil {
			return err
		}
		if after.Disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, before.ID); err != nil {
				return err
			}
		}
		if p.Password != nil { // a new password ends every other session, and every device's trust
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, before.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM signin_devices WHERE user_id = ?`, before.ID); err != nil {
				return err
			}
		}
		if p.Password != nil && !self {
			if err := s.revokeAllTokens(ctx, tx, sc, before, now); err != nil {
				return err
			}
		}
		// The audit entry records that the password changed, never the password.
		type auditView struct {
			User
			PasswordChanged bool `json:"password_changed,omitempty"`
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "user.update", ObjectType: "user", ObjectID: before.ID, Org: before.HomeOrg,
			Before: before, After: auditView{after, p.Password != nil}})
		return err
	})
	return after, err
}

// checkCurrentPassword verifies the password a user gives to change their
// own, through the same throttled check as sign-in, so a session or token
// left open cannot be used to guess it.
func (s *Service) checkCurrentPassword(ctx context.Context, sc scope.Scope, u User, current *string) error {
	if !u.HasPass {
		return &fault.Invalid{Field: "current_password", Reason: "you sign in with single sign-on and have no Vigil password; ask an administrator to set one if you need it"}
	}
	if current == nil || *current == "" {
		return &fault.Invalid{Field: "current_password", Reason: "enter your current password to choose a new one"}
	}
	_, err := s.Authenticate(ctx, u.Email, *current, sc.Remote)
	if errors.Is(err, ErrBadCredentials) {
		return &fault.Invalid{Field: "current_password", Reason: "your current password is not right; check it and try again"}
	}
	return err
}

// revokeAllTokens revokes every live API token of u, in tx, each audited.
func (s *Service) revokeAllTokens(ctx context.Context, tx *store.Tx, sc scope.Scope, u User, now string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name, created_at, expires_at, last_used FROM tokens WHERE user_id = ? AND revoked_at = ''`, u.ID)
	if err != nil {
		return err
	}
	var live []Token
	for rows.Next() {
		t := Token{UserID: u.ID, User: u.Email}
		if err := rows.Scan(&t.ID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.LastUsed); err != nil {
			rows.Close()
			return err
		}
		live = append(live, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range live {
		before := t
		t.RevokedAt = now
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ?`, now, t.ID); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "token.revoke", ObjectType: "token", ObjectID: t.ID, Org: u.HomeOrg, Before: before, After: t}); err != nil {
			return err
		}
	}
	return nil
}

// Grant adds role on orgCode to a user.
func (s *Service) Grant(ctx context.Context, sc scope.Scope, idOrEmail string, role scope.Role, orgCode string) (User, error) {
	return s.changeGrant(ctx, sc, idOrEmail, role, orgCode, true)
}

// Revoke removes role on orgCode from a user.
func (s *Service) Revoke(ctx context.Context, sc scope.Scope, idOrEmail string, role scope.Role, orgCode string) (User, error) {
	return s.changeGrant(ctx, sc, idOrEmail, role, orgCode, false)
}

func (s *Service) changeGrant(ctx context.Context, sc scope.Scope, idOrEmail string, role scope.Role, orgCode string, add bool) (User, error) {
	u, err := s.GetUser(ctx, sc, idOrEmail)
	if err != nil {
		return User{}, err
	}
	o, err := s.orgs.Get(ctx, sc, strings.ToUpper(orgCode))
	if err != nil {
		return User{}, &fault.Invalid{Field: "org", Reason: fmt.Sprintf("organisation %q not found", orgCode)}
	}
	if err := s.checkGrant(sc, role, o); err != nil {
		return User{}, err
	}
	// Granting to oneself is held to checkGrant alone: what one may grant,
	// one holds already. Anyone else must be wholly within the caller's
	// reach, or the grant would reshape an account above them.
	if u.ID != sc.UserID {
		if err := s.MayManage(ctx, sc, u); err != nil {
			return User{}, err
		}
	}
	before := u
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		action := "user.grant"
		if add {
			_, err = tx.ExecContext(ctx, `INSERT INTO grants (user_id, role, org) VALUES (?, ?, ?) ON CONFLICT (user_id, role, org) DO NOTHING`, u.ID, string(role), o.Code)
		} else {
			action = "user.revoke"
			_, err = tx.ExecContext(ctx, `DELETE FROM grants WHERE user_id = ? AND role = ? AND org = ?`, u.ID, string(role), o.Code)
		}
		if err != nil {
			return err
		}
		if u.Grants, err = s.grants(ctx, tx, u.ID); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: action, ObjectType: "user", ObjectID: u.ID, Org: o.Code, Before: before.Grants, After: u.Grants})
		return err
	})
	return u, err
}

// HasUsers reports whether any account exists (app.InitialAdmin makes the
// first one on a new install).
func (s *Service) HasUsers(ctx context.Context) (bool, error) {
	var one int
	err := s.db.Q().QueryRowContext(ctx, `SELECT 1 FROM users LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: look for users: %w", err)
	}
	return true, nil
}

// ScopeFor builds the Scope of a user: identity and grants with paths.
func (s *Service) ScopeFor(ctx context.Context, userID, via, remote string) (scope.Scope, error) {
	var email, name, home string
	var disabled bool
	err := s.db.Q().QueryRowContext(ctx, `SELECT email, name, home_org, disabled FROM users WHERE id = ?`, userID).Scan(&email, &name, &home, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return scope.Scope{}, fault.ErrNotFound
	}
	if err != nil {
		return scope.Scope{}, err
	}
	if disabled {
		return scope.Scope{}, ErrDisabled
	}
	g, err := s.grants(ctx, s.db.Q(), userID)
	if err != nil {
		return scope.Scope{}, err
	}
	sort.Slice(g, func(i, j int) bool { return g[i].Path < g[j].Path })
	return scope.Scope{UserID: userID, Email: email, Name: name, Via: via, Remote: remote, Home: home, Grants: g}, nil
}

// SignInAttempt is one password sign-in.
type SignInAttempt struct {
	Email    string
	Password string
	Remote   string
	// Device is the secret of the browser's device cookie, if it has one:
	// a browser that signed in to this account before is throttled on its
	// own (throttle.go), not with everyone else who tries the account.
	Device string
}

// SignedIn is a successful sign-in.
type SignedIn struct {
	UserID string
	// Device is a new device-cookie secret for the browser to keep, when
	// it did not present a trusted one for this account; "" otherwise.
	Device string
}

// SignIn checks a password sign-in from a browser, throttled as
// throttle.go describes, and on success trusts the browser as a device of
// the account (SignedIn.Device) if it was not one already. Every failed and
// every throttled attempt is audited.
func (s *Service) SignIn(ctx context.Context, a SignInAttempt) (SignedIn, error) {
	return s.signIn(ctx, a, true)
}

// Authenticate checks an e-mail and password with the same throttling and
// auditing as SignIn, but no device cookie, and returns the user's ID (the
// change-password form uses it to check the current password).
func (s *Service) Authenticate(ctx context.Context, email, password, remote string) (string, error) {
	in, err := s.signIn(ctx, SignInAttempt{Email: email, Password: password, Remote: remote}, false)
	return in.UserID, err
}

// attempt is what the audit log records of a sign-in attempt.
type attempt struct {
	userID, email, home, remote string
}

func (s *Service) signIn(ctx context.Context, a SignInAttempt, issueDevice bool) (SignedIn, error) {
	email := strings.ToLower(strings.TrimSpace(a.Email))
	var id, hash, home string
	var disabled bool
	err := s.db.Q().QueryRowContext(ctx, `SELECT id, password_hash, disabled, home_org FROM users WHERE email = ?`, email).Scan(&id, &hash, &disabled, &home)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return SignedIn{}, fmt.Errorf("auth: sign-in: %w", err)
	}
	at := attempt{userID: id, email: email, home: home, remote: a.Remote}
	device := ""
	if id != "" && a.Device != "" {
		if device, err = s.trustedDevice(ctx, id, a.Device); err != nil {
			return SignedIn{}, err
		}
	}
	bs := s.limits.buckets(email, a.Remote, device)
	full, wait, err := s.throttle.take(ctx, s.now(), bs)
	if err != nil {
		return SignedIn{}, err
	}
	if full != "" {
		retry := int(math.Ceil(wait.Seconds()))
		s.log.Warn("sign-in throttled", "email", shownEmail(email), "remote", a.Remote, "limit", full, "retry_after_s", retry)
		s.recordSignIn(ctx, at, "auth.signin_throttled", map[string]any{"limit": full, "retry_after_seconds": retry})
		return SignedIn{}, &ThrottledError{Wait: wait}
	}
	check := hash
	if check == "" {
		check = s.dummy // no account or no password: the same cost as a real check
	}
	ok, err := s.hasher.Check(ctx, check, a.Password)
	if err != nil {
		// The password was never checked (busy, or the caller left): the
		// attempt does not count.
		if gerr := s.throttle.give(context.WithoutCancel(ctx), bs); gerr != nil {
			s.log.Error("sign-in throttle: give back an unchecked attempt", "err", gerr)
		}
		return SignedIn{}, err
	}
	if !ok || hash == "" {
		s.recordSignIn(ctx, at, "auth.signin_failed", nil)
		return SignedIn{}, ErrBadCredentials
	}
	if disabled {
		return SignedIn{}, ErrDisabled
	}
	// The account's buckets empty; the address only gets its own unit
	// back, so one good account cannot clear a sprayer's address.
	var reset, give []bucket
	for _, b := range bs {
		if b.kind == "address" {
			give = append(give, b)
		} else {
			reset = append(reset, b)
		}
	}
	bg := context.WithoutCancel(ctx)
	if err := errors.Join(s.throttle.reset(bg, reset), s.throttle.give(bg, give)); err != nil {
		s.log.Error("sign-in throttle: after a success", "err", err)
	}
	in := SignedIn{UserID: id}
	if device == "" && issueDevice {
		if in.Device, err = s.newDevice(ctx, id); err != nil {
			// The sign-in stands; the browser is trusted next time.
			s.log.Error("sign-in: trust device", "user", id, "err", err)
		}
	}
	return in, nil
}

// shownEmail is how an attempted e-mail address appears in the audit log
// and in logs: as typed when it is an e-mail address, and not at all
// otherwise, since people paste passwords into the wrong field.
func shownEmail(email string) string {
	if _, err := normEmail(email); err != nil {
		return "(not an e-mail address)"
	}
	return email
}

// recordSignIn audits a failed or throttled attempt, filed under the
// account's home organisation when the account exists, so that
// organisation's auditors see it. It is recorded even if the caller has
// gone, and never includes the password.
func (s *Service) recordSignIn(ctx context.Context, a attempt, action string, after any) {
	sc := scope.Scope{UserID: a.userID, Email: shownEmail(a.email), Via: "web", Remote: a.remote}
	if err := s.audit.Record(context.WithoutCancel(ctx), sc, audit.Change{Action: action, ObjectType: "user", ObjectID: a.userID, Org: a.home, After: after}); err != nil {
		s.log.Error("audit sign-in", "action", action, "err", err)
	}
}

// ThrottledError is ErrThrottled with how long until the next attempt
// may be made, for a Retry-After header (TAXII's 429).
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string { return ErrThrottled.Error() }

// Unwrap makes errors.Is(err, ErrThrottled) hold.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }
