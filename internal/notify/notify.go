// Package notify tells people what happened to the cases they work on
// (issue 15): e-mail over SMTP and signed webhooks, on assignment, mention,
// clock breach and escalation, as each person chooses.
//
// # How an event travels
//
// The cases service calls Hook after each commit (cases.Service.OnEvent).
// Hook keeps only the kinds people are told about and publishes each to
// the JetStream stream CASE_EVENTS (subject case_events.<ORG>) with a
// stable message ID, waiting for the stream's acknowledgement; a durable
// consumer (notify-send, shared by every server of a deployment) then
// works out who is told, checks that each of them may still see the case
// — by reading the case with that person's own scope — and sends. Each
// (event, person, channel) is recorded in notify_deliveries once sent or
// given up, so a redelivery after a crash sends nothing twice. See
// docs/adr/0005-notify.md for the guarantees and the webhook signature.
package notify

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the notify domain's schema.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "notify", FS: sub}
}

// The kinds of event a person may be told about.
const (
	// Assigned: a case was given to you (cases' "case.assigned", and
	// "case.created" with an assignee).
	Assigned = "case.assigned"
	// Mentioned: someone @mentioned you in a comment.
	Mentioned = "comment.mention"
	// Breached: a clock of a case assigned to you ran out (Detail "clock"
	// is ack, respond, resolve, nis or ico; "due" is RFC 3339).
	Breached = "clock.breached"
	// Escalated: a case was escalated to an organisation on which you hold
	// a region-lead or national role (Detail "escalate_to": ODS codes,
	// comma-separated).
	Escalated = "case.escalated"
)

// Kinds lists the kinds people may be told about, in the order settings
// show them.
func Kinds() []string { return []string{Assigned, Mentioned, Breached, Escalated} }

// KindLabel says what a kind means, for pages and e-mails.
func KindLabel(kind string) string {
	switch kind {
	case Assigned:
		return "a case is assigned to me"
	case Mentioned:
		return "I am mentioned in a comment"
	case Breached:
		return "a clock of my case is breached"
	case Escalated:
		return "a case is escalated to my region or the national team"
	}
	return kind
}

// EscalationRoles are the roles whose holders on an organisation hear of
// escalations to it.
func EscalationRoles() []scope.Role {
	return []scope.Role{scope.RegionLead, scope.NationalAnalyst, scope.NationalAdmin}
}

// Cases is what notify reads of a case: only through the recipient's own
// scope, so nobody is told about a case they may not see.
type Cases interface {
	GetCase(ctx context.Context, sc scope.Scope, id string) (cases.Case, error)
}

// Users finds the people events name. ScopeOf returns fault.ErrNotFound
// for no such or a disabled user; HoldersOf lists the e-mails of enabled
// users holding one of roles on one of orgs (auth.Service.HoldersOf).
type Users interface {
	ScopeOf(ctx context.Context, emailOrID string) (scope.Scope, error)
	HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error)
}

// Options are the Service's dependencies and settings.
type Options struct {
	DB    *store.DB
	Audit *audit.Log
	Cases Cases
	Users Users
	// SMTP sends e-mail; with an empty Addr no e-mail is sent (and the
	// settings page says so).
	SMTP SMTP
	// BaseURL is where people reach Vigil, for links in messages.
	BaseURL string
	// AllowHTTPWebhooks accepts http:// webhook URLs (development and
	// tests); otherwise only https:// is accepted.
	AllowHTTPWebhooks bool
	// WebhookRoots, when set, are the only CAs webhook servers' TLS
	// certificates are checked against (tests); the system's otherwise.
	WebhookRoots *x509.CertPool
	// WebhookTimeout bounds one webhook request (default 10 s).
	WebhookTimeout time.Duration
	// WebhookAttempts is how many times a failing webhook is tried for one
	// event before it is given up (default 4); WebhookBackoff is the wait
	// before the second try, doubled for each after (default 1 s).
	WebhookAttempts int
	WebhookBackoff  time.Duration
	// MaxAge drops events older than this when they are finally handled
	// (a consumer that was down for days should not send stale alarms);
	// default 24 h.
	MaxAge time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Service sends notifications and keeps each person's settings.
type Service struct {
	o      Options
	db     *store.DB
	now    func() time.Time
	log    *slog.Logger
	mailer *mailer
	hooks  *webhooks
	// pub is where Hook publishes: the bus, once Start has run.
	pub atomic.Pointer[bus.Bus]
}

// New checks o and fills its defaults.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("notify: Options.DB is required")
	case o.Audit == nil:
		return nil, errors.New("notify: Options.Audit is required")
	case o.Cases == nil:
		return nil, errors.New("notify: Options.Cases is required")
	case o.Users == nil:
		return nil, errors.New("notify: Options.Users is required")
	case o.WebhookTimeout < 0, o.WebhookAttempts < 0, o.WebhookBackoff < 0, o.MaxAge < 0:
		return nil, errors.New("notify: Options.Webhook* and MaxAge must not be negative")
	}
	if err := o.SMTP.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = 10 * time.Second
	}
	if o.WebhookAttempts == 0 {
		o.WebhookAttempts = 4
	}
	if o.WebhookBackoff == 0 {
		o.WebhookBackoff = time.Second
	}
	if o.MaxAge == 0 {
		o.MaxAge = 24 * time.Hour
	}
	s := &Service{o: o, db: o.DB, now: o.Now, log: o.Logger}
	s.mailer = newMailer(o.SMTP)
	s.hooks = newWebhooks(o)
	return s, nil
}

// EmailEnabled reports whether an SMTP server is configured.
func (s *Service) EmailEnabled() bool { return s.mailer != nil }

// Settings are one person's choices: which kinds of event reach them by
// e-mail and which by webhook, and where the webhook is.
type Settings struct {
	// Email lists the kinds sent by e-mail (all of them by default).
	Email []string `json:"email"`
	// Webhook lists the kinds sent to WebhookURL.
	Webhook []string `json:"webhook"`
	// WebhookURL is an https:// URL that receives signed JSON POSTs.
	WebhookURL string `json:"webhook_url"`
	// WebhookSecret is the key of the signature (the Vigil-Signature
	// header), made by Vigil when a URL is first set; only its owner sees it.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// EmailAvailable says whether this Vigil has an SMTP server to send with.
	EmailAvailable bool      `json:"email_available"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// SettingsChange is what PUT /account/notifications takes: the whole of a
// person's choices, and whether to make a new webhook secret.
type SettingsChange struct {
	Email        []string `json:"email"`
	Webhook      []string `json:"webhook"`
	WebhookURL   string   `json:"webhook_url"`
	RotateSecret bool     `json:"rotate_secret,omitempty"`
}

func defaultSettings() Settings {
	return Settings{Email: Kinds(), Webhook: []string{}}
}

const tsLayout = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) string { return t.UTC().Format(tsLayout) }

func splitKinds(s string) []string {
	out := []string{}
	for k := range strings.SplitSeq(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// settingsOf reads userID's settings (the defaults when they chose none).
func (s *Service) settingsOf(ctx context.Context, q store.Queryer, userID string) (Settings, error) {
	st := defaultSettings()
	var email, hook, at string
	err := q.QueryRowContext(ctx, `SELECT email_kinds, webhook_kinds, webhook_url, webhook_secret, updated_at FROM notify_settings WHERE user_id = ?`, userID).
		Scan(&email, &hook, &st.WebhookURL, &st.WebhookSecret, &at)
	if errors.Is(err, sql.ErrNoRows) {
		st.EmailAvailable = s.EmailEnabled()
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("notify: settings: %w", err)
	}
	st.Email, st.Webhook = splitKinds(email), splitKinds(hook)
	st.UpdatedAt, _ = time.Parse(tsLayout, at)
	st.EmailAvailable = s.EmailEnabled()
	return st, nil
}

// Settings returns the caller's own settings.
func (s *Service) Settings(ctx context.Context, sc scope.Scope) (Settings, error) {
	if sc.UserID == "" || sc.UserID == "system" {
		return Settings{}, fault.Invalidf("user", "notification settings belong to a person; sign in or use --as")
	}
	return s.settingsOf(ctx, s.db.Q(), sc.UserID)
}

// checkKinds checks and orders a list of kinds.
func checkKinds(field string, in []string) ([]string, error) {
	out := []string{}
	for i, k := range in {
		k = strings.TrimSpace(k)
		if !slices.Contains(Kinds(), k) {
			return nil, fault.Invalidf(fmt.Sprintf("%s[%d]", field, i), "%q is not one of %s", k, strings.Join(Kinds(), ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(Kinds(), a) - slices.Index(Kinds(), b) })
	return out, nil
}

// CheckWebhookURL says what is wrong with a webhook URL, naming the field.
func (s *Service) CheckWebhookURL(raw string) error {
	if raw == "" {
		return nil
	}
	if len(raw) > 2000 {
		return fault.Invalidf("webhook_url", "is longer than 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fault.Invalidf("webhook_url", "is not an absolute URL; want https://host/path")
	}
	if u.User != nil {
		return fault.Invalidf("webhook_url", "must not carry a user name or password: the signature authenticates Vigil")
	}
	if u.Fragment != "" {
		return fault.Invalidf("webhook_url", "must not have a #fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !s.o.AllowHTTPWebhooks {
			return fault.Invalidf("webhook_url", "must be https:// (events name cases; they are not sent in clear)")
		}
	default:
		return fault.Invalidf("webhook_url", "scheme %q is not https", u.Scheme)
	}
	return nil
}

// SetSettings replaces the caller's settings. A webhook URL set for the
// first time, or RotateSecret, makes a new secret; clearing the URL
// forgets it.
func (s *Service) SetSettings(ctx context.Context, sc scope.Scope, ch SettingsChange) (Settings, error) {
	if sc.UserID == "" || sc.UserID == "system" {
		return Settings{}, fault.Invalidf("user", "notification settings belong to a person; sign in or use --as")
	}
	email, err := checkKinds("email", ch.Email)
	if err != nil {
		return Settings{}, err
	}
	hook, err := checkKinds("webhook", ch.Webhook)
	if err != nil {
		return Settings{}, err
	}
	ch.WebhookURL = strings.TrimSpace(ch.WebhookURL)
	if err := s.CheckWebhookURL(ch.WebhookURL); err != nil {
		return Settings{}, err
	}
	if len(hook) > 0 && ch.WebhookURL == "" {
		return Settings{}, fault.Invalidf("webhook_url", "is required to send %s by webhook", strings.Join(hook, ", "))
	}
	var out Settings
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		before, err := s.settingsOf(ctx, tx, sc.UserID)
		if err != nil {
			return err
		}
		out = Settings{Email: email, Webhook: hook, WebhookURL: ch.WebhookURL, WebhookSecret: before.WebhookSecret, UpdatedAt: s.now().UTC(), EmailAvailable: s.EmailEnabled()}
		switch {
		case out.WebhookURL == "":
			out.WebhookSecret = ""
		case out.WebhookSecret == "" || ch.RotateSecret:
			out.WebhookSecret = newSecret()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_settings (user_id, email_kinds, webhook_kinds, webhook_url, webhook_secret, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET email_kinds = excluded.email_kinds, webhook_kinds = excluded.webhook_kinds,
			webhook_url = excluded.webhook_url, webhook_secret = excluded.webhook_secret, updated_at = excluded.updated_at`,
			sc.UserID, strings.Join(email, ","), strings.Join(hook, ","), out.WebhookURL, out.WebhookSecret, ts(out.UpdatedAt)); err != nil {
			return fmt.Errorf("notify: save settings: %w", err)
		}
		// The secret is never written to the audit log: only that it changed.
		_, err = s.o.Audit.Append(ctx, tx, sc, audit.Change{Action: "notify.settings", ObjectType: "user", ObjectID: sc.UserID, Org: sc.Home,
			Before: auditView(before, false), After: auditView(out, out.WebhookSecret != before.WebhookSecret && out.WebhookSecret != "")})
		return err
	})
	return out, err
}

func auditView(st Settings, newSecret bool) map[string]any {
	v := map[string]any{"email": st.Email, "webhook": st.Webhook, "webhook_url": st.WebhookURL}
	if newSecret {
		v["new_secret"] = true
	}
	return v
}

// newSecret is 32 random bytes in hexadecimal, prefixed so a leaked one is
// recognisable in a scanner's rules.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "vwhsec_" + hex.EncodeToString(b[:])
}
