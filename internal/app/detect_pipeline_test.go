package app

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestLiveDetectionPipeline: `vigil serve --rules … --rule-pipeline ecs`
// raises a process-creation rule's alert for an Elastic Agent event that
// has only ECS names (process.command_line), which the rule's CommandLine
// reaches only through the pipeline; a pipeline that cannot be read stops
// the start with the flag's name.
func TestLiveDetectionPipeline(t *testing.T) {
	if _, err := exec.LookPath("logger"); err != nil {
		testneed.Missing(t, "util-linux's logger (Debian's bsdutils)", err)
	}
	dir := t.TempDir()
	rule := strings.SplitN(liveRules, "---", 2)[0]
	if err := os.WriteFile(filepath.Join(dir, "rule.yml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startWith(t, func(c *config.Config) {
		c.SyslogTCP = "127.0.0.1:0"
		c.Rules = dir
		c.RulePipeline = "ecs"
		c.Analytics = "off"
	})
	a := s.Ingest.Addrs()[ingest.ListenerSyslogTCP].String()
	port := a[strings.LastIndexByte(a, ':')+1:]
	f := filepath.Join(t.TempDir(), "lines")
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)
	ev := `{"@timestamp":"` + ts + `","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"computer_name":"ws7.rj1.nhs.uk"},` +
		`"process":{"executable":"C:\\Tools\\m.exe","command_line":"m.exe mimikatz sekurlsa::logonpasswords"}}`
	if err := os.WriteFile(f, []byte(ev+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("logger", "-n", "127.0.0.1", "-P", port, "-T", "--octet-count", "--rfc5424", "-t", "elastic-agent", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("logger: %v %s", err, out)
	}
	ctx, sys := context.Background(), scope.System("test")
	deadline := time.Now().Add(20 * time.Second)
	for {
		as, _, err := s.Cases.ListAlerts(ctx, sys, cases.AlertFilter{Source: "sigma", Type: "rule"})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) == 1 {
			if as[0].Title != "Mimikatz run" || !strings.Contains(as[0].Fields["matched_fields"], "process.command_line") {
				t.Errorf("alert %+v", as[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d alerts, want 1", len(as))
		}
		time.Sleep(20 * time.Millisecond)
	}

	cfg := config.Default()
	cfg.DataDir, cfg.HTTPAddr, cfg.Rules, cfg.RulePipeline, cfg.Analytics = t.TempDir(), "127.0.0.1:0", dir, "nosuch.yml", "off"
	if s2, err := Start(context.Background(), cfg, NewLogger(cfg, io.Discard)); err == nil {
		_ = s2.Close()
		t.Error("started with a pipeline that is not there")
	} else if !strings.Contains(err.Error(), "--rule-pipeline: nosuch.yml is neither a built-in pipeline") {
		t.Errorf("err = %v", err)
	}
}
