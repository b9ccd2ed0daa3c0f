// Package chtest gives tests a real ClickHouse server: the one named by
// VIGIL_TEST_CLICKHOUSE_URL, or Debian's clickhouse-server (18.16) started
// for the test with its own ports on loopback and its data in a temporary
// directory, killed when the test ends. Without either it is
// testneed.Missing: a skip on a developer's machine, a failure under CI.
package chtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// Binaries are where the server may be: Debian's package installs
// clickhouse-server; upstream's single binary is `clickhouse server`.
var binaries = [][]string{{"clickhouse-server"}, {"/usr/sbin/clickhouse-server"}, {"clickhouse", "server"}}

// URL returns the base URL of a ClickHouse server's HTTP interface with a
// fresh database for this test (http://127.0.0.1:PORT/?database=t_…),
// dropped at the end unless the server was started for the test alone.
func URL(t testing.TB) string {
	t.Helper()
	base := Server(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "t_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("VIGIL_TEST_CLICKHOUSE_URL %q: %v", base, err)
	}
	q := u.Query()
	q.Set("database", db)
	u.RawQuery = q.Encode()
	if os.Getenv("VIGIL_TEST_CLICKHOUSE_URL") != "" {
		t.Cleanup(func() {
			if err := Exec(base, "DROP DATABASE IF EXISTS "+db); err != nil {
				t.Logf("drop test database %s: %v", db, err)
			}
		})
	}
	return u.String()
}

// Server returns the base URL of VIGIL_TEST_CLICKHOUSE_URL's server, or
// of one started for t.
func Server(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("VIGIL_TEST_CLICKHOUSE_URL"); u != "" {
		return u
	}
	return Start(t)
}

// Exec runs one statement on the server at base (its URL's query, such as
// the database, is kept).
func Exec(base, stmt string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Del("database")
	u.RawQuery = q.Encode()
	res, err := http.Post(u.String(), "text/plain", strings.NewReader(stmt))
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", res.Status, bytes.TrimSpace(body))
	}
	return nil
}

// Start runs a ClickHouse server for t and returns its HTTP interface's
// base URL. It listens on 127.0.0.1 only, on ports free when it starts,
// keeps its data under t.TempDir() and is killed at the end of t.
func Start(t testing.TB) string {
	t.Helper()
	return StartProcess(t).URL
}

// Process is a ClickHouse server started for a test, which the test can
// kill and start again on the same ports and data (a restart, as a fault).
type Process struct {
	// URL is the base URL of its HTTP interface.
	URL string

	t    testing.TB
	argv []string
	dir  string
	cfg  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan error
	exitErr error // how the last run ended (killed)
	out     *bytes.Buffer
}

// StartProcess is Start, returning the process.
func StartProcess(t testing.TB) *Process {
	t.Helper()
	var argv []string
	for _, b := range binaries {
		if p, err := exec.LookPath(b[0]); err == nil {
			argv = append([]string{p}, b[1:]...)
			break
		}
	}
	if argv == nil {
		testneed.Missing(t, "ClickHouse (apt-get install clickhouse-server, or VIGIL_TEST_CLICKHOUSE_URL)", errors.New("no clickhouse-server on PATH"))
		return nil
	}
	dir := t.TempDir()
	httpPort, tcpPort := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(cfg, []byte(config(dir, httpPort, tcpPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Process{URL: "http://127.0.0.1:" + httpPort + "/", t: t, argv: argv, dir: dir, cfg: cfg}
	t.Cleanup(p.Kill)
	p.Restart()
	return p
}

// Kill ends the server with SIGKILL and waits for it.
func (p *Process) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	p.exitErr = <-p.exited
	p.cmd = nil
}

// Restart starts the server (again, after Kill) and waits until it
// answers /ping.
func (p *Process) Restart() {
	t := p.t
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	cmd := exec.Command(p.argv[0], append(p.argv[1:], "--config-file="+p.cfg)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The server dies with the test binary even when that is killed
	// (a timeout, ^C) and no cleanup runs: Linux sends it SIGKILL when the
	// thread that started it ends, so that thread is held, locked, until
	// the server has exited.
	cmd.SysProcAttr = dieWithParent()
	started, exited := make(chan error, 1), make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		t.Fatalf("start %s: %v", p.argv[0], err)
	}
	p.cmd, p.exited, p.out = cmd, exited, &out
	deadline := time.Now().Add(60 * time.Second)
	for {
		if pingOK(p.URL) {
			return
		}
		select {
		case err := <-exited:
			p.cmd = nil
			log, _ := os.ReadFile(filepath.Join(p.dir, "err.log"))
			t.Fatalf("clickhouse-server exited (%v): %s\n%s", err, out.String(), tail(log))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(p.dir, "err.log"))
			t.Fatalf("clickhouse-server did not answer /ping within 60 s:\n%s", tail(log))
		}
	}
}

func pingOK(base string) bool {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get(base + "ping")
	if err != nil {
		return false
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == "Ok."
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// config is the server's whole configuration, users included (the file
// names itself as users_config): loopback only, no interserver port, small
// caches, zstd for parts, UTC.
func config(dir, httpPort, tcpPort string) string {
	return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>` + dir + `/server.log</log><errorlog>` + dir + `/err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>` + httpPort + `</http_port>
  <tcp_port>` + tcpPort + `</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>` + dir + `/data/</path>
  <tmp_path>` + dir + `/tmp/</tmp_path>
  <user_files_path>` + dir + `/user_files/</user_files_path>
  <format_schema_path>` + dir + `/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <users_config>` + dir + `/config.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <compression><case><method>zstd</method></case></compression>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><max_threads>2</max_threads></default></profiles>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`
}
