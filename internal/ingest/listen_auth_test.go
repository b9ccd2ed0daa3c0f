package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testclock"
)

// authenticateWith is the adapter the composition root will use: the
// auth service's ingest tokens as ingest.Authenticate.
func authenticateWith(a *auth.Service) ingest.Authenticate {
	return func(ctx context.Context, tok string) (ingest.Sender, error) {
		t, err := a.IngestSender(ctx, tok)
		if errors.Is(err, auth.ErrExpired) {
			err = ingest.ErrTokenExpired
		}
		return ingest.Sender{Org: t.Org, Label: t.Name}, err
	}
}

// Real ingest tokens from the auth service, on both engines: a trust's
// token posts that trust's events and no other's; a revoked or expired
// one is refused with 401.
func TestEventsWithAuthIngestTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		clk := testclock.New(time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC))
		l := audit.New(db, clk.Now)
		orgs, err := org.New(org.Options{DB: db, Audit: l, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := orgs.EnsureRoot(ctx); err != nil {
			t.Fatal(err)
		}
		sys := scope.System("test")
		for _, o := range []org.Org{
			{Code: "Y56", Name: "London", Type: org.Region},
			{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
			{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
			{Code: "RJZ", Name: "King's College Hospital", Type: org.Trust, Parent: "QKK"},
		} {
			if _, err := orgs.Create(ctx, sys, o); err != nil {
				t.Fatal(err)
			}
		}
		a, err := auth.New(auth.Options{DB: db, Audit: l, Orgs: orgs, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		u, err := a.AddUser(ctx, sys, auth.NewUser{Email: "admin@rj1.example.org", Name: "RJ1 admin", Org: "RJ1", Role: scope.OrgAdmin})
		if err != nil {
			t.Fatal(err)
		}
		admin, err := a.ScopeFor(ctx, u.ID, "session", "192.0.2.10")
		if err != nil {
			t.Fatal(err)
		}
		tok, secret, err := a.CreateIngestToken(ctx, admin, "RJ1", "winlogbeat on wec01", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		revoked, revokedSecret, err := a.CreateIngestToken(ctx, admin, "RJ1", "old", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.RevokeIngestToken(ctx, admin, revoked.ID); err != nil {
			t.Fatal(err)
		}

		b := bustest.Run(t)
		svc, err := ingest.NewService(ctx, ingest.ServiceOptions{Conn: b.Conn(), Root: "ENG", Authenticate: authenticateWith(a)})
		if err != nil {
			t.Fatal(err)
		}
		h := svc.EventsHandler()
		post := func(secret, body string) int {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/events", bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+secret)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		if code := post(secret, `{"message":"ours"}`+"\n"); code != http.StatusOK {
			t.Fatalf("RJ1's token: %d", code)
		}
		if code := post(secret, `{"org":"RJZ","message":"King's"}`+"\n"); code != http.StatusBadRequest {
			t.Errorf("RJ1's token posting RJZ's event: %d", code)
		}
		if code := post(revokedSecret, `{"message":"x"}`+"\n"); code != http.StatusUnauthorized {
			t.Errorf("revoked token: %d", code)
		}
		clk.Advance(25 * time.Hour)
		if code := post(secret, `{"message":"late"}`+"\n"); code != http.StatusUnauthorized {
			t.Errorf("expired token: %d", code)
		}
		counts, _ := svc.Metrics().Snapshot()
		if len(counts) != 1 || counts[0].Org != "RJ1" || counts[0].Events != 1 {
			t.Errorf("accepted %+v (token %s)", counts, tok.ID)
		}
		s, _ := b.JetStream().Stream(ctx, ingest.EventStream)
		info, _ := s.Info(ctx)
		if info.State.Msgs != 1 || info.State.NumSubjects != 1 {
			t.Errorf("stream %+v", info.State)
		}
	}, org.Migrations(), audit.Migrations(), auth.Migrations())
}
