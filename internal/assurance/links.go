package assurance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Single-use, expiring links for a supplier's first response (issue 20,
// item 4). An assessor makes one for one draft statement; whoever opens
// it (and confirms: a mail scanner's GET does not spend it) is signed
// into a portal session that reaches that statement only — its answers,
// evidence, spreadsheet and submission — and nothing else: the session
// is not a user, holds no grant, and its cookie is not Vigil's session
// cookie. The token and the session secret are kept as SHA-256 hashes;
// making and using a link are audited.

// Link lifetimes.
const (
	DefaultLinkDays = 7
	MaxLinkDays     = 30
	// PortalSessionTTL bounds a session opened by a link.
	PortalSessionTTL = 8 * time.Hour
)

// ErrLinkInvalid is any link that cannot be used: unknown, used, revoked
// or expired. One answer for all, so a guesser learns nothing.
var ErrLinkInvalid = fault.New(fault.ErrNotFound, "this link is not valid: it may have been used already or have expired; ask the assessor for a new one")

// Link is a single-use link (its token only when just made).
type Link struct {
	ID          string `json:"id"`
	StatementID string `json:"statement_id"`
	Recipient   string `json:"recipient"`
	CreatedBy   string `json:"created_by"`
	CreatedAt   string `json:"created_at"`
	ExpiresAt   string `json:"expires_at"`
	UsedAt      string `json:"used_at,omitempty"`
	Revoked     bool   `json:"revoked,omitempty"`
	// Token is shown once, when the link is made; Path is where it is
	// opened (prefix the public address of Vigil).
	Token string `json:"token,omitempty"`
	Path  string `json:"path,omitempty"`
}

// NewLink is what an assessor asks for.
type NewLink struct {
	// Recipient says who the link is for (a name or e-mail address).
	Recipient string `json:"recipient"`
	// Days until it expires: 1 to 30, 7 by default.
	Days int `json:"days,omitempty"`
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LinkPath is where a link's token is opened.
func LinkPath(token string) string { return "/assurance/link/" + token }

// CreateLink makes a single-use link into a draft statement, for an
// assessor of its campaign.
func (s *Service) CreateLink(ctx context.Context, sc scope.Scope, statementID string, n NewLink) (Link, error) {
	n.Recipient = strings.TrimSpace(n.Recipient)
	if p := safetext.Problem(n.Recipient, safetext.Name, safetext.MaxName); p != "" || n.Recipient == "" {
		if p == "" {
			p = "is required: say who the link is for"
		}
		return Link{}, fault.Invalidf("recipient", "%s", p)
	}
	if n.Days == 0 {
		n.Days = DefaultLinkDays
	}
	if n.Days < 1 || n.Days > MaxLinkDays {
		return Link{}, fault.Invalidf("days", "%d: a link lasts 1 to %d days", n.Days, MaxLinkDays)
	}
	token := newSecret()
	now := s.now().UTC()
	l := Link{ID: randid.New("LK"), StatementID: statementID, Recipient: n.Recipient, CreatedBy: actor(sc), CreatedAt: now.Format(time.RFC3339),
		ExpiresAt: now.Add(time.Duration(n.Days) * 24 * time.Hour).Format(time.RFC3339), Token: token, Path: LinkPath(token)}
	err := s.change(ctx, sc, statementID, func(tx *store.Tx, h head, st standing, _ string) error {
		if !st.assessor {
			return fault.Forbiddenf("only the campaign's assessors make links for a supplier's first response")
		}
		if h.status != StatusDraft {
			return fault.Conflictf("statement %s is %s: links are for a first response, to a draft", statementID, h.status)
		}
		if h.closed {
			return fault.Conflictf("the campaign of statement %s is closed", statementID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_links (link_id, statement_id, token_hash, recipient, created_by, created_by_name, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, statementID, hashSecret(token), l.Recipient, sc.UserID, l.CreatedBy, l.CreatedAt, l.ExpiresAt); err != nil {
			return fmt.Errorf("assurance: store link: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.link.create", ObjectType: "assurance-statement", ObjectID: statementID, Org: h.owner,
			After: map[string]any{"link": l.ID, "recipient": l.Recipient, "expires_at": l.ExpiresAt}})
		return err
	})
	if err != nil {
		return Link{}, err
	}
	return l, nil
}

// ListLinks lists a statement's links (without tokens) for its assessors.
func (s *Service) ListLinks(ctx context.Context, sc scope.Scope, statementID string) ([]Link, error) {
	if err := s.needRegister(); err != nil {
		return nil, err
	}
	h, err := s.headOf(ctx, s.db.Q(), sc, statementID)
	if err != nil {
		return nil, err
	}
	st, err := s.standingOf(ctx, sc, h)
	if err != nil {
		return nil, err
	}
	if !st.assessor {
		return nil, fault.Forbiddenf("only the campaign's assessors see its links")
	}
	out := []Link{}
	err = each(ctx, s.db.Q(), `SELECT link_id, statement_id, recipient, created_by_name, created_at, expires_at, used_at, revoked_at FROM assurance_links WHERE statement_id = ? ORDER BY created_at, link_id`,
		statementID, func(r *sql.Rows) error {
			var l Link
			var revoked string
			err := r.Scan(&l.ID, &l.StatementID, &l.Recipient, &l.CreatedBy, &l.CreatedAt, &l.ExpiresAt, &l.UsedAt, &revoked)
			l.Revoked = revoked != ""
			out = append(out, l)
			return err
		})
	return out, err
}

// LinkInfo is what the page confirming a link shows before it is used.
type LinkInfo struct {
	Recipient    string
	SupplierName string
	CampaignName string
	Deadline     string
	ExpiresAt    string
}

// PeekLink describes a usable link without using it.
func (s *Service) PeekLink(ctx context.Context, token string) (LinkInfo, error) {
	var li LinkInfo
	err := s.db.Q().QueryRowContext(ctx, `SELECT l.recipient, st.supplier_name, c.name, c.deadline, l.expires_at FROM assurance_links l
		JOIN assurance_statements st ON st.statement_id = l.statement_id JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id
		WHERE l.token_hash = ? AND l.used_at = '' AND l.revoked_at = '' AND l.expires_at > ? AND st.status = ? AND c.closed_at = ''`,
		hashSecret(token), s.now().UTC().Format(time.RFC3339), StatusDraft).Scan(&li.Recipient, &li.SupplierName, &li.CampaignName, &li.Deadline, &li.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return LinkInfo{}, ErrLinkInvalid
	}
	return li, err
}

// Portal is a session opened by a link: one statement, until ExpiresAt.
type Portal struct {
	LinkID      string
	StatementID string
	Recipient   string
	// Secret is the session cookie's value (only from RedeemLink); CSRF
	// is what the portal's forms echo.
	Secret    string
	CSRF      string
	ExpiresAt time.Time
	ok        bool
}

// RedeemLink uses a link, once: it opens a portal session for its
// statement. A used, revoked, expired or unknown link is ErrLinkInvalid.
func (s *Service) RedeemLink(ctx context.Context, token, remote string) (Portal, error) {
	now := s.now().UTC()
	p := Portal{Secret: newSecret(), CSRF: newSecret(), ExpiresAt: now.Add(PortalSessionTTL), ok: true}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT l.link_id, l.statement_id, l.recipient, c.owner_org FROM assurance_links l
			JOIN assurance_statements st ON st.statement_id = l.statement_id JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id
			WHERE l.token_hash = ? AND l.used_at = '' AND l.revoked_at = '' AND l.expires_at > ? AND st.status = ? AND c.closed_at = ''`,
			hashSecret(token), now.Format(time.RFC3339), StatusDraft).Scan(&p.LinkID, &p.StatementID, &p.Recipient, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLinkInvalid
		}
		if err != nil {
			return err
		}
		// The claim: only one use gets the row.
		res, err := tx.ExecContext(ctx, `UPDATE assurance_links SET used_at = ?, used_from = ?, session_hash = ?, session_expires_at = ?, csrf = ? WHERE link_id = ? AND used_at = ''`,
			now.Format(time.RFC3339Nano), remote, hashSecret(p.Secret), p.ExpiresAt.Format(time.RFC3339), p.CSRF, p.LinkID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkInvalid
		}
		_, err = s.audit.Append(ctx, tx, p.scope(remote), audit.Change{Action: "assurance.link.use", ObjectType: "assurance-statement", ObjectID: p.StatementID, Org: owner,
			After: map[string]any{"link": p.LinkID, "recipient": p.Recipient, "from": remote, "session_expires_at": p.ExpiresAt.Format(time.RFC3339)}})
		return err
	})
	if err != nil {
		return Portal{}, err
	}
	return p, nil
}

// PortalSession finds the portal session of a cookie's secret; an unknown
// or expired one is ErrLinkInvalid.
func (s *Service) PortalSession(ctx context.Context, secret string) (Portal, error) {
	if secret == "" {
		return Portal{}, ErrLinkInvalid
	}
	var p Portal
	var exp string
	err := s.db.Q().QueryRowContext(ctx, `SELECT link_id, statement_id, recipient, csrf, session_expires_at FROM assurance_links WHERE session_hash = ? AND revoked_at = ''`, hashSecret(secret)).
		Scan(&p.LinkID, &p.StatementID, &p.Recipient, &p.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Portal{}, ErrLinkInvalid
	}
	if err != nil {
		return Portal{}, err
	}
	t, err := time.Parse(time.RFC3339, exp)
	if err != nil || !s.now().Before(t) {
		return Portal{}, ErrLinkInvalid
	}
	p.ExpiresAt, p.ok = t, true
	return p, nil
}

// CheckCSRF compares a form's token with the session's.
func (p Portal) CheckCSRF(got string) bool {
	return p.CSRF != "" && subtle.ConstantTimeCompare([]byte(p.CSRF), []byte(got)) == 1
}

func (p Portal) scope(remote string) scope.Scope {
	return scope.Scope{UserID: "link:" + p.LinkID, Email: "single-use link " + p.LinkID, Name: p.Recipient, Via: "link", Remote: remote}
}

type linkKey struct{}

// linkGrant is the statement a portal session reaches.
type linkGrant struct{ statement string }

// As returns the context and scope a portal session acts with: a scope
// with no grant at all, and a context that lets the statement methods
// treat it as the supplier of its one statement. Anything else it asks
// for is not found.
func (p Portal) As(ctx context.Context, remote string) (context.Context, scope.Scope) {
	if !p.ok {
		return ctx, scope.Scope{Via: "link", Remote: remote}
	}
	return context.WithValue(ctx, linkKey{}, linkGrant{statement: p.StatementID}), p.scope(remote)
}

func linkFrom(ctx context.Context, statement string) bool {
	g, ok := ctx.Value(linkKey{}).(linkGrant)
	return ok && g.statement == statement
}

// RevokeLink ends a link before it expires (an assessor of its
// statement's campaign): unused, it can no longer be opened; used, the
// session it opened ends.
func (s *Service) RevokeLink(ctx context.Context, sc scope.Scope, statementID, linkID string) (Link, error) {
	var l Link
	err := s.change(ctx, sc, statementID, func(tx *store.Tx, h head, st standing, now string) error {
		if !st.assessor {
			return fault.Forbiddenf("only the campaign's assessors revoke its links")
		}
		var revoked string
		err := tx.QueryRowContext(ctx, `SELECT link_id, statement_id, recipient, created_by_name, created_at, expires_at, used_at, revoked_at FROM assurance_links WHERE link_id = ? AND statement_id = ?`,
			linkID, statementID).Scan(&l.ID, &l.StatementID, &l.Recipient, &l.CreatedBy, &l.CreatedAt, &l.ExpiresAt, &l.UsedAt, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.NotFoundf("no link %s on statement %s", linkID, statementID)
		}
		if err != nil {
			return err
		}
		if revoked != "" {
			return fault.Conflictf("link %s was revoked on %s", linkID, revoked)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assurance_links SET revoked_at = ? WHERE link_id = ?`, now, linkID); err != nil {
			return err
		}
		l.Revoked = true
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.link.revoke", ObjectType: "assurance-statement", ObjectID: statementID, Org: h.owner,
			Before: map[string]any{"link": linkID, "used_at": l.UsedAt}, After: map[string]any{"link": linkID, "recipient": l.Recipient, "revoked": true}})
		return err
	})
	if err != nil {
		return Link{}, err
	}
	return l, nil
}
