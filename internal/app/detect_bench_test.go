package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testneed"
)

// BenchmarkLiveDetection is issue 17's "live detection keeps up with
// ingest", measured end to end in one `vigil serve` process: b.N events
// are posted to /api/v1/events (NDJSON, 1,000 a request, two posters),
// and the clock stops when both durable consumers of the events stream —
// the store's and detection's (every SigmaHQ rule in
// ../shared/data/sigma/rules, and the analytics) — have nothing pending.
// It reports each consumer's rate from the first post, and the process's
// CPU time an event. Sub-benchmarks: flat JSON of sshd log lines (few
// rules route to them) and OTRF's Windows events (up to 20,000 of
// purplesharp_ad_playbook_I, repeated with a sequence number added);
// with and without the rules.
func BenchmarkLiveDetection(b *testing.B) {
	rulesDir := filepath.Join("..", "..", "..", "shared", "data", "sigma", "rules")
	otrf := filepath.Join("..", "..", "..", "shared", "data", "events", "windows", "otrf", "purplesharp_ad_playbook_I.jsonl.gz")
	for _, p := range []string{rulesDir, otrf} {
		if _, err := os.Stat(p); err != nil {
			testneed.Missing(b, "SigmaHQ's rules and the OTRF captures in ../shared/data", err)
		}
	}
	generic := func(i int) []byte {
		return fmt.Appendf(nil, `{"timestamp":"2026-12-06T10:00:00.%06dZ","host":"web%02d.rj1.nhs.uk","program":"sshd","pid":%d,"message":"Accepted publickey for svc%d from 10.1.%d.%d port %d ssh2"}`,
			i%1000000, i%50, 1000+i%9000, i%97, i%250, i%250, 20000+i%40000)
	}
	var windows [][]byte
	f, err := os.Open(otrf)
	if err != nil {
		b.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(windows) < 20000 {
		windows = append(windows, append([]byte(nil), sc.Bytes()...))
	}
	_ = f.Close()
	for _, kind := range []string{"json", "windows"} {
		for _, withRules := range []bool{false, true} {
			name := kind + "/analytics"
			if withRules {
				name += "+rules"
			}
			b.Run(name, func(b *testing.B) {
				line := generic
				if kind == "windows" {
					// A sequence number of its own makes each a new event:
					// repeated raw text would be one event to the stream's
					// and the store's deduplication.
					line = func(i int) []byte {
						w := windows[i%len(windows)]
						return append(fmt.Appendf(nil, `{"bench_seq":%d,`, i), w[1:]...)
					}
				}
				benchLiveDetection(b, withRules, rulesDir, line)
			})
		}
	}
}

func benchLiveDetection(b *testing.B, withRules bool, rulesDir string, line func(int) []byte) {
	s := startWith(b, func(c *config.Config) {
		if withRules {
			c.Rules = rulesDir
		}
	})
	newFixture(b, s) // the organisations
	ctx := context.Background()
	_, token, err := s.Auth.CreateIngestToken(ctx, scope.System("bench"), "RJ1", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	// Bodies are made before the clock starts.
	const per = 1000
	var bodies [][]byte
	for i := 0; i < b.N; i += per {
		var body bytes.Buffer
		for j := i; j < min(i+per, b.N); j++ {
			body.Write(line(j))
			body.WriteByte('\n')
		}
		bodies = append(bodies, body.Bytes())
	}
	js := s.Bus.JetStream()
	pending := func(durable string) uint64 {
		ns := s.Bus.Namespace()
		c, err := js.Consumer(ctx, ns.Name(ingest.EventStream), ns.Name(durable))
		if err != nil {
			b.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return info.NumPending + uint64(info.NumAckPending)
	}
	cpu0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan []byte)
	for range 2 {
		wg.Go(func() {
			for body := range work {
				req, _ := http.NewRequest("POST", s.url("/api/v1/events"), bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/x-ndjson")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				_ = res.Body.Close()
				if res.StatusCode != 200 {
					b.Errorf("post: %d", res.StatusCode)
				}
			}
		})
	}
	for _, body := range bodies {
		work <- body
	}
	close(work)
	wg.Wait()
	posted := time.Since(start)
	var stored, detected time.Duration
	for stored == 0 || detected == 0 {
		if time.Since(start) > posted+5*time.Minute {
			b.Fatalf("the consumers did not drain within five minutes of the last post")
		}
		if stored == 0 && pending(events.DefaultDurable) == 0 {
			stored = time.Since(start)
		}
		if detected == 0 && pending(DetectDurable) == 0 {
			detected = time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	n := float64(b.N)
	rules, _ := s.Detection.RuleCounts()
	b.ReportMetric(n/posted.Seconds(), "posted/s")
	b.ReportMetric(n/stored.Seconds(), "stored/s")
	b.ReportMetric(n/detected.Seconds(), "detected/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/event")
	b.ReportMetric(float64(rules), "rules")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
