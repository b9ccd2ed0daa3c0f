package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/ingest/sendertest"
)

// An operator edits --ingest-map and sends SIGHUP: `vigil serve` files the
// next events under the new organisation without a restart; a broken file
// (an organisation the tree does not have) leaves the previous mapping in
// force and says so in the log.
func TestServeReloadsIngestMapOnHangup(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vigil serve as a process")
	}
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "etr.csv")
	row := func(code, name string) string {
		return `"` + code + `","` + name + `","Y56","QKK","","","","LONDON","","SE1 9RT","19930401","","","","","","","","","","","1","","H","","",""` + "\n"
	}
	if err := os.WriteFile(csv, []byte(row("RJ1", "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST")+row("RJZ", "KING'S COLLEGE HOSPITAL NHS FOUNDATION TRUST")), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, run(t, "", nil, "--data-dir", dir, "orgs", "import", csv))
	mapFile := filepath.Join(dir, "ingest-map.yaml")
	writeMap := func(org string) {
		if err := os.WriteFile(mapFile, []byte("listeners:\n  syslog-tcp: "+org+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeMap("RJ1")
	httpAddr := "127.0.0.1:" + sendertest.FreeTCPPort(t)
	tcp := "127.0.0.1:" + sendertest.FreeTCPPort(t)
	p := &serveProc{t: t, args: []string{"serve", "--data-dir", dir, "--http", httpAddr, "--syslog-tcp", tcp, "--ingest-map", mapFile, "--log-level", "info"}, http: httpAddr}
	p.start()
	t.Cleanup(p.stop)

	send := func(msg string) {
		t.Helper()
		c, err := net.Dial("tcp", tcp)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "<134>1 2026-12-06T10:00:00Z pacs-01 reloadtest - - - %s\n", msg)
		c.Close()
	}
	orgOf := func(msg string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := must(t, run(t, "", nil, "--data-dir", dir, "events", "search", `message="`+msg+`"`, "--since", "720h", "--format", "json"))
			if line := strings.TrimSpace(r.stdout); line != "" {
				var ev struct{ Org string }
				if err := json.Unmarshal([]byte(strings.SplitN(line, "\n", 2)[0]), &ev); err != nil {
					t.Fatal(err)
				}
				return ev.Org
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q was not stored", msg)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	hangup := func() {
		t.Helper()
		if err := p.signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	waitLog := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(p.output(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("the log never said %q:\n%s", want, p.output())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	send("before the change")
	if org := orgOf("before the change"); org != "RJ1" {
		t.Fatalf("before the reload: org %s, want RJ1", org)
	}
	writeMap("RJZ")
	hangup()
	waitLog("reloaded the ingest mapping")
	send("after the change")
	if org := orgOf("after the change"); org != "RJZ" {
		t.Fatalf("after the reload: org %s, want RJZ", org)
	}
	writeMap("XXX")
	hangup()
	waitLog("the ingest mapping was not reloaded")
	send("after a broken file")
	if org := orgOf("after a broken file"); org != "RJZ" {
		t.Fatalf("after a broken file: org %s, want RJZ still", org)
	}
	if !strings.Contains(p.output(), "XXX") {
		t.Errorf("the log does not name the unknown organisation:\n%s", p.output())
	}
}
