package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/scope"
)

// ingestIsolationChecks walks the ingest dashboard (issue 16): RJ1 and RJZ
// each have a shipper posting with its own ingest token; RJZ's token label
// names RJZ, a leak string, so a dashboard showing Bob's sender or rates
// to Alice fails the walk.
func ingestIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	for org, label := range map[string]string{"RJ1": "iso-shipper-rj1", "RJZ": "RJZ-shipper"} {
		_, secret, err := s.Auth.CreateIngestToken(ctx, scope.System("test"), org, label, 0)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(`{"message":"isolation ingest `+org+`"}`+"\n"))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("post %s's events: %d %s", org, res.StatusCode, b)
		}
	}
	return map[string]routeCheck{
		"GET /api/v1/ingest/health": {attack: probe{path: "/api/v1/ingest/health?org=RJZ"},
			own:  own(alice, probe{path: "/api/v1/ingest/health", want: []string{"http token iso-shipper-rj1", `"org":"RJ1"`}}),
			deny: 200, seers: rj1Readers},
		"GET /ingest": {attack: probe{path: "/ingest?org=RJZ"},
			own:  own(alice, probe{path: "/ingest", want: []string{"http token iso-shipper-rj1", `href="/orgs/RJ1"`}}),
			deny: 200, seers: rj1Readers},
	}
}
