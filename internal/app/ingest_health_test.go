package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestSilentSourceAlert: a real `vigil serve` hears a shipper post four
// batches a second and more apart over HTTP; the ingest dashboard shows
// it, and once it has been quiet past its threshold the silence check
// publishes a "Log source silent" alert on the ALERTS stream, which the
// cases consumer stores in the RJ1 inbox — once, however many checks
// find the same silence.
func TestSilentSourceAlert(t *testing.T) {
	s := startServer(t)
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	_, secret, err := s.Auth.CreateIngestToken(ctx, sys, "RJ1", "nxlog on ward-pc", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if i > 0 {
			time.Sleep(ingest.MinGap + 50*time.Millisecond)
		}
		req, _ := http.NewRequest("POST", s.url("/api/v1/events"), strings.NewReader(`{"message":"heartbeat"}`+"\n"))
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("post: %d", res.StatusCode)
		}
	}
	// The dashboard over the API, as RJ1's admin: the sender, learnt.
	_, body := get(t, http.DefaultClient, s.url("/api/v1/ingest/health"), f.aliceTok)
	var rep ingest.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(rep.Senders) != 1 || rep.Senders[0].Name != "http token nxlog on ward-pc" || rep.Senders[0].Status != ingest.SenderOK || rep.Senders[0].Gaps != 3 {
		t.Fatalf("senders = %+v", rep.Senders)
	}
	if len(rep.Orgs) != 1 || rep.Orgs[0].Org != "RJ1" || rep.Orgs[0].Events != 4 || rep.Process != nil {
		t.Fatalf("report = %+v", rep)
	}

	// Prometheus counts senders by status (on the real clock: talking).
	if _, metrics := get(t, http.DefaultClient, s.url("/metrics"), ""); !strings.Contains(metrics, `vigil_ingest_senders{status="ok"} 1`) ||
		!strings.Contains(metrics, `vigil_ingest_senders{status="silent"} 0`) {
		t.Errorf("metrics:\n%s", grepLines(metrics, "vigil_ingest_senders"))
	}

	// An hour on: silent. Checked three times, stored once.
	later := time.Now().Add(time.Hour)
	for i := 0; i < 3; i++ {
		s.IngestHealth.Tick(ctx, later.Add(time.Duration(i)*time.Minute))
	}
	var got []cases.Alert
	deadline := time.Now().Add(20 * time.Second)
	for len(got) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no silent-source alert in the inbox")
		}
		time.Sleep(50 * time.Millisecond)
		if got, _, err = s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Type: "log-source-silent"}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // room for a wrong second one to arrive
	got, _, _ = s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Type: "log-source-silent"})
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(got), got)
	}
	a := got[0]
	if a.Org != "RJ1" || a.Source != "vigil-ingest" || a.Severity != cases.Medium || a.Title != "Log source silent: http token nxlog on ward-pc" ||
		a.Occurrences != 1 || a.Fields["token"] != "nxlog on ward-pc" || a.Fields["address"] != "127.0.0.1" {
		t.Errorf("alert = %+v", a)
	}
	// Alice sees it in her inbox; Bob (RJZ) does not.
	if _, body := get(t, http.DefaultClient, s.url("/api/v1/alerts?type=log-source-silent"), f.aliceTok); !strings.Contains(body, a.ID) {
		t.Errorf("alice's inbox lacks the alert: %.300s", body)
	}
	if _, body := get(t, http.DefaultClient, s.url("/api/v1/alerts?type=log-source-silent"), f.bobTok); strings.Contains(body, a.ID) {
		t.Errorf("bob's inbox shows RJ1's alert")
	}
}
