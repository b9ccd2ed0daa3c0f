package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestNetFlowEndToEnd: a real `vigil serve --netflow` receives softflowd's
// NetFlow v5 and IPFIX exports (recorded by internal/ingest's softflowd
// test, which runs softflowd itself) and stores each flow as an event an
// analyst finds by the query language's network conditions; the flows
// belong to the national root (no mapping), so a trust's analyst finds
// none; Prometheus counts the datagrams.
// flowRule is a Sigma rule on flows: live detection reads flows as
// their records (ADR 0014) and writes out the fields of those a rule
// covers.
const flowRule = `title: Remote desktop or SQL Server from the trust network
id: 5c3f1e2a-7d41-4b8e-9f3a-2a6c0d9e8b71
status: test
logsource:
  product: netflow
detection:
  sel:
    dst_port: [3389, 1433]
    proto: tcp
  condition: sel
level: medium
`

func TestNetFlowEndToEnd(t *testing.T) {
	rules := t.TempDir()
	if err := os.WriteFile(filepath.Join(rules, "flows.yml"), []byte(flowRule), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startWith(t, func(c *config.Config) { c.NetFlow, c.Rules = "127.0.0.1:0", rules })
	f := newFixture(t, s)
	addr := s.Ingest.Addrs()[ingest.ListenerNetFlow]
	if addr == nil || addr.Network() != "udp" {
		t.Fatalf("netflow listener at %v", addr)
	}
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"softflowd-v5", "softflowd-ipfix"} {
		for i := 0; ; i++ {
			d, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "netflow", fmt.Sprintf("%s-%d.bin", name, i)))
			if err != nil {
				break
			}
			if _, err := c.Write(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 40 IPv4 flows in v5, and 4 IPv6 ones more in IPFIX; the capture is of 2026-12-06 10:00 UTC.
	ctx := context.Background()
	sys := scope.System("test")
	q := events.Query{Text: "product=netflow", Since: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC), Limit: 500}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := s.Events.Search(ctx, sys, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) == 84 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d flows stored, want 84", len(p.Events))
		}
		time.Sleep(50 * time.Millisecond)
	}
	q.Text = "dst_port in (3389, 1433) AND src_ip=10.1.0.0/16 AND proto=tcp AND bytes>1000"
	p, err := s.Events.Search(ctx, sys, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) == 0 {
		t.Fatal("no flow matched the network query")
	}
	for _, ev := range p.Events {
		if ev.Org != "ENG" || ev.Source.Protocol != "netflow" || (ev.Fields["dst_port"] != float64(3389) && ev.Fields["dst_port"] != float64(1433)) {
			t.Errorf("%s: %+v", ev.Raw, ev)
		}
	}
	// Live detection raised the rule's alert on those flows, with their
	// fields.
	deadline = time.Now().Add(20 * time.Second)
	for {
		as, _, err := s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Source: "sigma"})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) > 0 {
			a := as[0]
			if a.Title != "Remote desktop or SQL Server from the trust network" || a.Org != "ENG" || (a.Fields["event.dst_port"] != "3389" && a.Fields["event.dst_port"] != "1433") || a.Fields["event.proto"] != "tcp" {
				t.Errorf("the flow rule's alert: %+v", a)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no alert from the Sigma rule on flows")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, body := get(t, http.DefaultClient, s.url("/api/v1/events?q=product%3Dnetflow&from=2026-12-06T09:00:00Z&to=2026-12-06T11:00:00Z"), f.aliceTok)
	if res.StatusCode != 200 || strings.Contains(body, "netflow") {
		t.Errorf("a trust's analyst sees the root's flows: %d %s", res.StatusCode, body)
	}
	_, metrics := get(t, http.DefaultClient, s.url("/metrics"), "")
	if !strings.Contains(metrics, `vigil_ingest_events_total{listener="netflow",org="ENG"} 84`) || !strings.Contains(metrics, `vigil_ingest_flow_datagrams_total{listener="netflow"} 4`) {
		t.Errorf("metrics:\n%s", grepLines(metrics, "vigil_ingest"))
	}
}
