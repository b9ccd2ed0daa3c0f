package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestNATSPrefixSeparatesDeployments runs two deployments — each its own
// PostgreSQL schema and --nats-prefix — on the one external NATS server,
// with the same organisations, and feeds each events through its HTTP
// ingest and alerts through its ALERTS stream. Each stores all of its own
// and none of the other's. Without prefixes the two shared the EVENTS and
// ALERTS streams and their durable consumers, so each server stored
// whatever batches and alerts it happened to fetch, from either.
func TestNATSPrefixSeparatesDeployments(t *testing.T) {
	type deployment struct {
		name string
		s    *Server
		tok  string
	}
	var ds []*deployment
	for _, name := range []string{"a", "b"} {
		s := startWith(t, externalConfig(storetest.PostgresSchemaURL(t)))
		newFixture(t, s)
		_, tok, err := s.Auth.CreateIngestToken(context.Background(), scope.System("test"), "RJ1", "ns test "+name, 0)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, &deployment{name: name, s: s, tok: tok})
	}
	a, b := ds[0], ds[1]
	if a.s.Config.NATSPrefix == "" || a.s.Config.NATSPrefix == b.s.Config.NATSPrefix {
		t.Fatalf("prefixes %q and %q: want two different ones", a.s.Config.NATSPrefix, b.s.Config.NATSPrefix)
	}
	if a.s.Bus.Namespace().Prefix() != a.s.Config.NATSPrefix {
		t.Fatalf("bus namespace %q, want --nats-prefix %q", a.s.Bus.Namespace().Prefix(), a.s.Config.NATSPrefix)
	}
	ctx := context.Background()
	const perDeployment = 6
	now := time.Now().UTC().Format(time.RFC3339)
	for _, d := range ds {
		// Several requests, so that several batches (stream messages)
		// and alerts are there for the other deployment's consumer to take.
		for i := range perDeployment {
			body := fmt.Sprintf(`{"Channel":"Security","EventID":4625,"Hostname":"ws%d","TargetUserName":"vigil-ns-%s-%d","TimeCreated":%q}`+"\n", i, d.name, i, now)
			req, _ := http.NewRequest("POST", d.s.url("/api/v1/events"), strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+d.tok)
			req.Header.Set("Content-Type", "application/x-ndjson")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("%s: POST /api/v1/events = %d", d.name, res.StatusCode)
			}
			alert, _ := json.Marshal(cases.NewAlert{Source: "edr", Type: "malware", SourceRef: fmt.Sprintf("ns-%s-%d", d.name, i),
				Title: fmt.Sprintf("vigil-ns-%s-%d", d.name, i), Severity: "high", Org: "RJ1", TLP: "amber"})
			if err := d.s.Bus.Publish(ctx, cases.AlertSubject("RJ1"), alert, fmt.Sprintf("ns-%s-%d", d.name, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	sys := scope.System("test")
	// storedEvents are the test words of the events d's store holds.
	storedEvents := func(d *deployment) []string {
		t.Helper()
		p, err := d.s.Events.Search(ctx, sys, events.Query{Text: "EventID=4625", Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range p.Events {
			out = append(out, fmt.Sprint(ev.Fields["TargetUserName"]))
		}
		slices.Sort(out)
		return out
	}
	storedAlerts := func(d *deployment) []string {
		t.Helper()
		as, _, err := d.s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Source: "edr", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range as {
			out = append(out, x.Title)
		}
		slices.Sort(out)
		return out
	}
	for _, d := range ds {
		var want []string
		for i := range perDeployment {
			want = append(want, fmt.Sprintf("vigil-ns-%s-%d", d.name, i))
		}
		deadline := time.Now().Add(30 * time.Second)
		var evs, als []string
		for {
			evs, als = storedEvents(d), storedAlerts(d)
			if len(evs) >= perDeployment && len(als) >= perDeployment || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Anything of the other deployment's would have been fetched by now.
		time.Sleep(500 * time.Millisecond)
		if evs = storedEvents(d); !slices.Equal(evs, want) {
			t.Errorf("deployment %s stored events %q, want exactly its own %q", d.name, evs, want)
		}
		if als = storedAlerts(d); !slices.Equal(als, want) {
			t.Errorf("deployment %s stored alerts %q, want exactly its own %q", d.name, als, want)
		}
	}
}
