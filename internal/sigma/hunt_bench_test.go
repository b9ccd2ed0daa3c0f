package sigma_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/testneed"
)

// BenchmarkHuntOTRF is issue 17's measurement, Vigil's side: HuntFiles
// (what `vigil hunt` runs) over every OTRF capture in
// ../shared/data/events/windows/otrf with SigmaHQ's 2,407 Windows rules,
// routed by log source — reading, gunzipping and normalising on one
// goroutine, matching on the caller's (HuntFiles' pipeline). Loading the
// rules is outside the timer. It reports events/s (wall), events a
// CPU-second (user and system time of the whole process: the per-core
// figure, and the honest one on a shared machine), ns (wall) and
// allocations an event (`make bench-sigma`; docs/performance.md has the
// figures).
func BenchmarkHuntOTRF(b *testing.B) {
	dir := needSigmaData(b, "rules/windows")
	otrf := "../../../shared/data/events/windows/otrf"
	if paths, _ := filepath.Glob(filepath.Join(otrf, "*.jsonl.gz")); len(paths) == 0 {
		testneed.Missing(b, "the OTRF captures in ../shared/data/events/windows/otrf", os.ErrNotExist)
	}
	corpus, err := sigma.LoadDir(dir, sigma.Options{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := sigma.NewCorpusHunter(corpus)
	if err != nil {
		b.Fatal(err)
	}
	norm, err := ingest.New(ingest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	var evs, hits int64
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		rep, err := sigma.HuntFiles(context.Background(), h, norm, []string{otrf}, nil, func(sigma.Hit) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		evs += rep.Events
		hits = rep.Hits
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms)
	if evs == 0 {
		b.Fatal("no events read")
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(evs)
	b.ReportMetric(1e9/ns, "events/s")
	b.ReportMetric(ns, "ns/event")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(evs), "allocs/event")
	// The machine is shared: the process's CPU time (user and system, all
	// threads, the garbage collector's included) is the per-core figure.
	b.ReportMetric(float64(evs)/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(evs)/float64(b.N), "events")
	b.ReportMetric(float64(hits), "matches")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAllRulesOTRFSample is the engine measured as issue 17
// measured other engines: every one of the 2,407 Windows rules on every
// event of a 10,010-line sample (the first 715 lines of each of the 14
// OTRF captures, the sample docs/performance.md's peer ran on), with
// CompiledRule.Match — no routing, no shared prefilter, events parsed
// before the timer.
func BenchmarkAllRulesOTRFSample(b *testing.B) {
	dir := needSigmaData(b, "rules/windows")
	paths, _ := filepath.Glob("../../../shared/data/events/windows/otrf/*.jsonl.gz")
	if len(paths) == 0 {
		testneed.Missing(b, "the OTRF captures in ../shared/data/events/windows/otrf", os.ErrNotExist)
	}
	corpus, err := sigma.LoadDir(dir, sigma.Options{})
	if err != nil {
		b.Fatal(err)
	}
	norm, err := ingest.New(ingest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var evs []events.Event
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for n := 0; n < 715 && sc.Scan(); n++ {
			evs = append(evs, norm.Parse(sc.Bytes(), events.Source{Protocol: "file"}, time.Now()))
		}
		_ = f.Close()
	}
	matches := 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		matches = 0
		for i := range evs {
			ev := sigma.FromEvent(&evs[i])
			for _, r := range corpus.Rules {
				if r.Match(ev) {
					matches++
				}
			}
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	n := float64(len(evs) * b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(n/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(len(evs)), "events")
	b.ReportMetric(float64(matches), "matches")
}
