package supply

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServedLoad is a load program, not a test of the suite: it drives a
// running `vigil serve` with concurrent clients, each fetching one URL (a
// full blast radius) back to back and reading every byte, and reports the
// latency to the last byte, the requests served per second and the
// server's peak resident memory. It needs a server, so it does nothing
// unless VIGIL_LOAD_URL is set (docs/performance.md, "Twenty clients" and
// "Organisation search under load"):
//
//	VIGIL_LOAD_URL      the URL to fetch, e.g. http://127.0.0.1:18813/api/v1/supply/impact?supplier=S00000;
//	                    several URLs separated by spaces are fetched in turn
//	                    (client c starts at URL c mod n), each answer checked
//	                    against that URL's warm-up size
//	VIGIL_LOAD_TOKEN    an API token (sent as Authorization: Bearer)
//	VIGIL_LOAD_PID      the server's process ID: its VmHWM is reset before the
//	                    load (echo 5 > /proc/PID/clear_refs) and read after
//	VIGIL_LOAD_CLIENTS  concurrent clients (default 20)
//	VIGIL_LOAD_ROUNDS   requests per client (default 10)
//
// It is a test rather than a benchmark so that the load runs exactly once
// on a fresh server (a benchmark first runs with b.N = 1, which would leave
// its memory in the peak). Run it with -v to see the figures.
func TestServedLoad(t *testing.T) {
	urls := strings.Fields(os.Getenv("VIGIL_LOAD_URL"))
	if len(urls) == 0 {
		t.Skip("a load program: set VIGIL_LOAD_URL (and VIGIL_LOAD_TOKEN, VIGIL_LOAD_PID) to drive a running server")
	}
	env := func(name string, def int) int {
		s := os.Getenv(name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", name, s)
		}
		return n
	}
	clients, rounds := env("VIGIL_LOAD_CLIENTS", 20), env("VIGIL_LOAD_ROUNDS", 10)
	token, pid := os.Getenv("VIGIL_LOAD_TOKEN"), os.Getenv("VIGIL_LOAD_PID")
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}, Timeout: 5 * time.Minute}
	fetch := func(url string) (int64, int, error) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return 0, 0, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		return n, resp.StatusCode, err
	}
	// One request to each URL first, so a graph still building does not
	// count; its size is what every later answer must have.
	sizes := make([]int64, len(urls))
	for i, u := range urls {
		var code int
		var err error
		sizes[i], code, err = fetch(u)
		if err != nil || code != 200 {
			t.Fatalf("warm-up %s: status %d, %v", u, code, err)
		}
	}
	lifetime := procKB(t, pid, "VmHWM")
	if pid != "" {
		if err := os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0); err != nil {
			t.Logf("cannot reset VmHWM (%v): the peak below is since the server started", err)
		}
	}
	before := procKB(t, pid, "VmHWM")
	cpu0 := procCPU(t, pid)

	// Sample VmRSS too: VmHWM is the kernel's own peak, the samples show
	// how it moved.
	stop := make(chan struct{})
	var maxRSS int64
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				maxRSS = max(maxRSS, procKB(t, pid, "VmRSS"))
			}
		}
	}()

	start := time.Now()
	var mu sync.Mutex
	var lat []time.Duration
	var failures []string
	var bytes int64
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				u := (c + r) % len(urls)
				t0 := time.Now()
				n, code, err := fetch(urls[u])
				d := time.Since(t0)
				mu.Lock()
				if err != nil || code != 200 || n != sizes[u] {
					failures = append(failures, fmt.Sprintf("%s: status %d, %d bytes (want %d), %v", urls[u], code, n, sizes[u], err))
				} else {
					lat = append(lat, d)
					bytes += n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	close(stop)
	sampler.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed; first: %s", len(failures), clients*rounds, failures[0])
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	t.Logf("%d clients × %d requests over %d URLs, %.3f MB each on average, in %.1f s (%.1f MB/s): %.0f requests/s, p50 %.1f ms, p99 %.1f ms, max %.0f ms",
		clients, rounds, len(urls), float64(bytes)/float64(len(lat))/1e6, wall.Seconds(), float64(bytes)/1e6/wall.Seconds(),
		float64(len(lat))/wall.Seconds(), q(0.5), q(0.99), q(1))
	if pid != "" {
		// The server's own CPU time per request: what the load cost it,
		// whatever else the machine was running (wall-clock figures are
		// not, on a shared machine).
		cpu := procCPU(t, pid) - cpu0
		t.Logf("server CPU: %.2f s user+sys for the load, %.2f ms a request (two cores give at most %.0f requests/s at that cost)",
			cpu.Seconds(), float64(cpu.Microseconds())/1000/float64(len(lat)), 2*float64(len(lat))/cpu.Seconds())
		t.Logf("server VmHWM: %.0f MB since start before the load; %.0f MB at the load's start (after reset); peak during the load %.0f MB (VmRSS sampled every 50 ms: max %.0f MB)",
			float64(lifetime)/1024, float64(before)/1024, float64(procKB(t, pid, "VmHWM"))/1024, float64(maxRSS)/1024)
	}
}

// procKB reads one "Name:   123 kB" line of /proc/PID/status (0 without a PID).
func procKB(t *testing.T, pid, name string) int64 {
	if pid == "" {
		return 0
	}
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		t.Logf("server process: %v", err) // not Fatal: the sampler runs off the test's goroutine
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// procCPU reads the user and system CPU time of process pid from
// /proc/PID/stat (0 without a PID).
func procCPU(t *testing.T, pid string) time.Duration {
	if pid == "" {
		return 0
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Logf("server process: %v", err)
		return 0
	}
	// Fields after the command name (in parentheses, which may hold
	// spaces): state is field 3, utime 14 and stime 15, in clock ticks.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks
}
