package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestIngestTokens: an ingest token is bound to one organisation, made,
// listed and revoked only by whoever administers it; it is never an API
// token (it reads nothing), and a wrong, revoked or expired one is
// refused.
func TestIngestTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		rjzAdmin := e.as(t, "admin@rjz.example.org", scope.OrgAdmin, "RJZ")
		analyst := e.as(t, "analyst@rj1.example.org", scope.OrgAnalyst, "RJ1")
		lead := e.as(t, "lead@y56.example.org", scope.RegionLead, "Y56")
		manchester := e.as(t, "admin@r0a.example.org", scope.OrgAdmin, "R0A")

		tok, secret, err := e.auth.CreateIngestToken(ctx, rj1Admin, "rj1", "  rsyslog on log01 ", 30*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Org != "RJ1" || tok.Name != "rsyslog on log01" || tok.CreatedBy != "admin@rj1.example.org" || tok.ExpiresAt != "2025-05-31T10:00:00Z" ||
			!strings.HasPrefix(secret, auth.IngestTokenPrefix+tok.ID+".") {
			t.Errorf("token %+v, secret %q", tok, secret)
		}
		// Who may make one: the organisation's administrators, not its
		// analysts, not another trust's administrator.
		if _, _, err := e.auth.CreateIngestToken(ctx, analyst, "RJ1", "x", 0); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("an analyst made an ingest token: %v", err)
		}
		if _, _, err := e.auth.CreateIngestToken(ctx, rjzAdmin, "RJ1", "x", 0); err == nil {
			t.Error("King's administrator made an ingest token for Guy's")
		}
		wantValidation(t, func() error { _, _, err := e.auth.CreateIngestToken(ctx, rj1Admin, "RJ1", " ", 0); return err }(), "name", "label")
		wantValidation(t, func() error { _, _, err := e.auth.CreateIngestToken(ctx, rj1Admin, "NOPE", "x", 0); return err }(), "org", "no organisation")

		// The sender: the token's organisation, nothing more.
		e.clk.Advance(90 * time.Second)
		got, err := e.auth.IngestSender(ctx, secret)
		if err != nil || got.Org != "RJ1" || got.ID != tok.ID {
			t.Fatalf("IngestSender = %+v, %v", got, err)
		}
		if _, err := e.auth.TokenScope(ctx, secret, "198.51.100.4"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("an ingest token was taken as an API token: %v", err)
		}
		api, apiSecret, err := e.auth.CreateToken(ctx, rj1Admin, rj1Admin.UserID, "api", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.auth.IngestSender(ctx, apiSecret); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("API token %s was taken as an ingest token: %v", api.ID, err)
		}
		for _, bad := range []string{"", "vigil_ingest_", secret[:len(secret)-1] + "x", auth.IngestTokenPrefix + tok.ID, strings.Repeat("a", 300)} {
			if _, err := e.auth.IngestSender(ctx, bad); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("IngestSender(%.40q) = %v, want not found", bad, err)
			}
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM ingest_tokens WHERE last_used = '2025-05-01T10:01:00Z'`); n != 1 {
			t.Errorf("last_used not written to the minute of use")
		}

		// Listing: the administrators of the organisation and above it.
		names := func(sc scope.Scope, org string) string {
			t.Helper()
			ts, err := e.auth.ListIngestTokens(ctx, sc, org)
			if err != nil {
				return "error: " + err.Error()
			}
			var out []string
			for _, x := range ts {
				out = append(out, x.Org+":"+x.Name)
			}
			return strings.Join(out, ",")
		}
		if _, _, err := e.auth.CreateIngestToken(ctx, rjzAdmin, "RJZ", "winlogbeat", 0); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			who  string
			sc   scope.Scope
			org  string
			want string
		}{
			{"Guy's administrator", rj1Admin, "", "RJ1:rsyslog on log01"},
			{"King's administrator", rjzAdmin, "", "RJZ:winlogbeat"},
			{"the national administrator", e.nat, "", "RJZ:winlogbeat,RJ1:rsyslog on log01"},
			{"an analyst", analyst, "", ""},
			{"London's region lead (administers its trusts)", lead, "", "RJZ:winlogbeat,RJ1:rsyslog on log01"},
			{"Manchester's administrator", manchester, "", ""},
			{"King's administrator asking for Guy's", rjzAdmin, "RJ1", "error: "},
		} {
			if got := names(c.sc, c.org); got != c.want && !(strings.HasPrefix(c.want, "error: ") && strings.HasPrefix(got, "error: ")) {
				t.Errorf("%s lists %q, want %q", c.who, got, c.want)
			}
		}

		// Revoking: not by another trust, harmlessly twice, and the token
		// stops working.
		if _, err := e.auth.RevokeIngestToken(ctx, rjzAdmin, tok.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("King's administrator revoked Guy's token: %v", err)
		}
		r, err := e.auth.RevokeIngestToken(ctx, rj1Admin, tok.ID)
		if err != nil || r.RevokedAt == "" {
			t.Fatalf("revoke = %+v, %v", r, err)
		}
		if _, err := e.auth.RevokeIngestToken(ctx, rj1Admin, tok.ID); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		if _, err := e.auth.IngestSender(ctx, secret); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a revoked ingest token still works: %v", err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM audit_log WHERE action IN ('ingest_token.create', 'ingest_token.revoke')`); n != 3 {
			t.Errorf("%d audit entries for ingest tokens, want 3 (two made, one revoked once)", n)
		}

		// Expiry.
		_, short, err := e.auth.CreateIngestToken(ctx, rj1Admin, "RJ1", "short", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(2 * time.Hour)
		if _, err := e.auth.IngestSender(ctx, short); !errors.Is(err, auth.ErrExpired) {
			t.Errorf("an expired ingest token: %v", err)
		}
	})
}
