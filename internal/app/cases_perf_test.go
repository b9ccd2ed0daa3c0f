package app

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// alertPosts is how many alerts TestAlertCreationPerformance posts
// (VIGIL_BENCH_ALERT_POSTS overrides).
func alertPosts() int {
	if n, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_ALERT_POSTS")); err == nil && n > 0 {
		return n
	}
	if testneed.Race {
		return 2_000 // the race detector's run checks the counts, not the rate
	}
	return 20_000
}

// TestAlertCreationPerformance holds alert creation through the API to
// issue 15's floor — at least 2,000 alerts a second on SQLite — with fifty
// clients posting one alert a request (no batching by the client) to a
// real server over loopback HTTP, each alert new, each audited.
func TestAlertCreationPerformance(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 20,000 alerts")
	}
	s := startServer(t)
	f := newFixture(t, s)
	const clients = 50
	n := alertPosts()
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	post := func(ref string) (time.Duration, error) {
		body := `{"source":"edr","type":"malware","source_ref":"` + ref + `","title":"Malware on ws-` + ref + `","severity":"high","org":"RJ1","tlp":"amber",` +
			`"observables":[{"type":"host","value":"ws-` + ref + `.rj1.nhs.uk"},{"type":"ip","value":"10.1.2.3"},{"type":"hash-sha256","value":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}`
		req, _ := http.NewRequest("POST", s.url("/api/v1/alerts"), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.aliceTok)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			return 0, fmt.Errorf("POST %s = %d", ref, res.StatusCode)
		}
		return time.Since(start), nil
	}
	run := func(prefix string, total int) (time.Duration, []time.Duration) {
		var next atomic.Int64
		lat := make([][]time.Duration, clients)
		var wg sync.WaitGroup
		var failed atomic.Value
		start := time.Now()
		for w := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(total) || failed.Load() != nil {
						return
					}
					d, err := post(fmt.Sprintf("%s-%d", prefix, i))
					if err != nil {
						failed.Store(err)
						return
					}
					lat[w] = append(lat[w], d)
				}
			}()
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			t.Fatal(err)
		}
		var all []time.Duration
		for _, l := range lat {
			all = append(all, l...)
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		return time.Since(start), all
	}
	run("warm", 500)
	cpu0 := cpuTime()
	took, lat := run("p", n)
	cpu := cpuTime() - cpu0
	rate := float64(n) / took.Seconds()
	// The CPU the process spent (server and clients together) per alert
	// says what the machine can do when nothing else runs on it, which a
	// shared machine's wall-clock rate does not.
	perAlert := cpu / time.Duration(n)
	t.Logf("%d alerts by %d clients in %v: %.0f alerts/s; latency p50 %.1f ms, p99 %.1f ms; CPU %.3f ms an alert (%d cores: at most %.0f alerts/s)",
		n, clients, took.Round(time.Millisecond), rate, ms(pct(lat, .5)), ms(pct(lat, .99)), ms(perAlert), runtime.NumCPU(),
		float64(runtime.NumCPU())/perAlert.Seconds())
	var rows int
	s.DB.QueryRow(`SELECT COUNT(*) FROM alerts`).Scan(&rows)
	if rows != n+500 {
		t.Fatalf("%d alerts stored, want %d", rows, n+500)
	}
	if testneed.Race || rate >= 2000 {
		return
	}
	// Slower than the floor. On a machine others are loading (2 cores
	// shared by several engineers' test suites), the wall-clock rate says
	// how busy the machine was; then the CPU cost decides: the rate the
	// cores would give if they were ours. A process that had the cores and
	// was still slow (waiting on locks, say) fails either way.
	cores := cpu.Seconds() / took.Seconds()
	load := loadAverage()
	capacity := float64(runtime.NumCPU()) / perAlert.Seconds()
	if cores < 0.75*float64(runtime.NumCPU()) && load > 2*float64(runtime.NumCPU()) {
		t.Logf("the machine was busy (load average %.1f; this process got %.2f of %d cores): judged by CPU cost, %.0f alerts/s", load, cores, runtime.NumCPU(), capacity)
		if capacity < 2000 {
			t.Errorf("CPU cost %.3f ms an alert: at most %.0f alerts/s, under the 2,000/s floor", ms(perAlert), capacity)
		}
		return
	}
	t.Errorf("%.0f alerts/s, under the 2,000/s floor (load average %.1f, %.2f cores used)", rate, load, cores)
}

// loadAverage is the machine's one-minute load average (0 if unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
