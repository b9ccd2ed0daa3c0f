package app

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestSignInMemoryPerformance starts a real `vigil serve` (embedded SQLite
// and NATS) as its own process, sends it 40 concurrent sign-ins with wrong
// passwords, and reads the process's peak resident memory (VmHWM) from
// /proc. Each argon2id check takes 46 MiB; without a bound 40 of them ran
// at once and took the server from 35 MB to 1.9 GB (docs/performance.md).
//
//	go test -count=1 -run TestSignInMemoryPerformance -v ./internal/app/
//
// VIGIL_BIN=path measures another build of vigil (e.g. an older one)
// instead of building this tree; the bound is then not checked.
func TestSignInMemoryPerformance(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if testneed.Race {
		t.Skip("memory is measured without the race detector (make test runs it)")
	}
	bin := os.Getenv("VIGIL_BIN")
	other := bin != ""
	if !other {
		bin = filepath.Join(t.TempDir(), "vigil")
		build := exec.Command("go", "build", "-o", bin, "../../cmd/vigil")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(bin, "serve", "--data-dir", t.TempDir(), "--http", "127.0.0.1:0", "--log-level", "error")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := ""
	running := regexp.MustCompile(`running at (http://\S+)`)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := running.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatal("vigil serve did not say where it runs")
	}
	go io.Copy(io.Discard, stdout)
	time.Sleep(time.Second) // let start-up settle (graph warm-up, first admin)
	idle := procStatus(t, cmd.Process.Pid, "VmRSS")

	const n = 40
	type client struct {
		c     *http.Client
		token string
	}
	clients := make([]client, n)
	tokenRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	for i := range clients {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(base + "/signin")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := tokenRE.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no CSRF token on the sign-in form (status %d)", res.StatusCode)
		}
		clients[i] = client{c, string(m[1])}
	}
	start := make(chan struct{})
	statuses := make([]int, n)
	var wg sync.WaitGroup
	began := time.Now()
	for i, c := range clients {
		wg.Go(func() {
			<-start
			form := url.Values{"csrf": {c.token}, "email": {fmt.Sprintf("nobody%d@example.org", i)}, "password": {"a wrong password"}}
			res, err := c.c.Post(base+"/signin", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				t.Errorf("sign-in %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	close(start)
	wg.Wait()
	took := time.Since(began)
	peak := procStatus(t, cmd.Process.Pid, "VmHWM")
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	t.Logf("idle RSS %d MiB; after %d concurrent wrong sign-ins (answered in %s: %v) peak RSS %d MiB", idle>>10, n, took.Round(time.Millisecond), count, peak>>10)
	if count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n {
		t.Errorf("answers %v, want every one 401 (or 429 when busy)", count)
	}
	// Four 46 MiB slots and the idle process, grown by what the garbage
	// collector lets the heap take beyond what is live: serve's
	// --gc-percent (200 by default: up to three times the live heap, where
	// Go's own 100 gave two), or GOGC when set; plus some slack. Unbounded,
	// 40 checks took 1.9 GB.
	gc := config.DefaultGCPercent
	if v, err := strconv.Atoi(os.Getenv("GOGC")); err == nil && v > 0 {
		gc = v
	}
	if limit := (100+int64(gc))*(4*46<<10+idle)/100 + 64<<10; !other && peak > limit {
		t.Errorf("peak RSS %d MiB, want under %d MiB", peak>>10, limit>>10)
	}
}

// procStatus returns a kB field of /proc/<pid>/status.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := strings.CutPrefix(string(line), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
