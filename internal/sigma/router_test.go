package sigma_test

import (
	"bufio"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/testneed"
)

func TestRouter(t *testing.T) {
	var rules []*sigma.CompiledRule
	for _, src := range []string{
		"title: a\nlogsource: {product: windows, category: process_creation}\ndetection:\n    s: {Image|endswith: '\\cmd.exe'}\n    condition: s\n",
		"title: b\nlogsource: {product: windows, service: security}\ndetection:\n    s: {EventID: 4688}\n    condition: s\n",
		"title: c\nlogsource: {product: linux}\ndetection:\n    s: {Image|endswith: '/sh'}\n    condition: s\n",
	} {
		c, err := sigma.ParseAndCompile([]byte(src), "r.yml", sigma.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, c)
	}
	r := sigma.NewRouter(rules)
	titles := func(cs []*sigma.CompiledRule) (out []string) {
		for _, c := range cs {
			out = append(out, c.Rule.Title)
		}
		return out
	}
	for _, c := range []struct {
		p, cat, s string
		want      int
	}{
		{"windows", "process_creation", "security", 2},
		{"windows", "process_creation", "sysmon", 1},
		{"windows", "", "security", 1},
		{"linux", "process_creation", "", 1},
		{"macos", "", "", 0},
	} {
		if got := r.Rules(c.p, c.cat, c.s); len(got) != c.want {
			t.Errorf("Rules(%s, %s, %s) = %v, want %d rules", c.p, c.cat, c.s, titles(got), c.want)
		}
	}
	ev := sigma.Map{"EventID": 4688.0, "Image": `C:\Windows\System32\cmd.exe`}
	var fired []string
	if n := r.Match("Windows", "Process_Creation", "Security", ev, func(c *sigma.CompiledRule) { fired = append(fired, c.Rule.Title) }); n != 2 || len(fired) != 2 {
		t.Errorf("Match = %d %v, want a and b", n, fired)
	}
	// One Router serves many goroutines (go test -race checks the cache).
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				if n := r.Match("windows", "cat"+strconv.Itoa((i+j)%7), "security", ev, nil); n != 1 {
					t.Errorf("concurrent Match = %d, want 1", n)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCorpusOnOTRF runs the routed SigmaHQ Windows rules over a real
// OTRF capture as ingest reads it and reports the rate (the machine is
// shared: the figure is indicative). VIGIL_SIGMA_EVENTS raises the
// sample from its default of 5,000 events.
func TestCorpusOnOTRF(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := needSigmaData(t, "rules/windows")
	paths, _ := filepath.Glob("../../../shared/data/events/windows/otrf/*.jsonl.gz")
	if len(paths) == 0 {
		testneed.Missing(t, "the OTRF captures in ../shared/data/events/windows/otrf", os.ErrNotExist)
	}
	corpus, err := sigma.LoadDir(dir, sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	norm, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	limit := 5000
	if n, err := strconv.Atoi(os.Getenv("VIGIL_SIGMA_EVENTS")); err == nil && n > 0 {
		limit = n
	}
	// An equal share from each capture, so the sample has every kind.
	perFile := max(limit/len(paths), 1)
	var evs []events.Event
	for _, p := range paths {
		fileLimit := min(len(evs)+perFile, limit)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for len(evs) < fileLimit && sc.Scan() {
			evs = append(evs, norm.Parse(sc.Bytes(), events.Source{Protocol: "file"}, time.Now()))
		}
		_ = f.Close()
		if len(evs) >= limit {
			break
		}
	}
	if len(evs) < perFile*len(paths) {
		t.Logf("the captures hold %d events, fewer than %d", len(evs), perFile*len(paths))
	}
	router := sigma.NewRouter(corpus.Rules)
	matches, evaluated, categorised := 0, 0, 0
	fired := map[string]int{}
	for i := range evs {
		if evs[i].Category != "" {
			categorised++
		}
	}
	start := time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocs := ms.Mallocs
	for i := range evs {
		ev := &evs[i]
		evaluated += len(router.Rules(ev.Product, ev.Category, ev.Service))
		matches += router.Match(ev.Product, ev.Category, ev.Service, sigma.FromEvent(ev), func(c *sigma.CompiledRule) { fired[c.Rule.Title]++ })
	}
	el := time.Since(start)
	runtime.ReadMemStats(&ms)
	t.Logf("%d events (%d with a category), %d rule evaluations (%.0f a event), %d matches in %v: %.0f events/s, %.0f ns and %.2f allocations an event",
		len(evs), categorised, evaluated, float64(evaluated)/float64(len(evs)), matches, el, float64(len(evs))/el.Seconds(),
		float64(el.Nanoseconds())/float64(len(evs)), float64(ms.Mallocs-allocs)/float64(len(evs)))
	if testing.Verbose() {
		for title, n := range fired {
			t.Logf("%6d  %s", n, title)
		}
	}
	if matches == 0 {
		t.Error("no SigmaHQ rule matched an OTRF attack capture")
	}
	// The Router's shared literal prefilter skips rules without evaluating
	// them: it must skip none that matches. Each routed rule alone agrees.
	alone := 0
	for i := range evs {
		ev := &evs[i]
		for _, c := range router.Rules(ev.Product, ev.Category, ev.Service) {
			if c.Match(sigma.FromEvent(ev)) {
				alone++
			}
		}
	}
	if alone != matches {
		t.Errorf("the routed rules match %d times one by one, %d times through Router.Match", alone, matches)
	}
}

// TestSecurity4688IsProcessCreation: a Security 4688 event, read by
// ingest, reaches SigmaHQ's process_creation rules and matches them by
// their Sysmon-style names (ingest maps NewProcessName to Image and
// ProcessCommandLine to CommandLine).
func TestSecurity4688IsProcessCreation(t *testing.T) {
	dir := needSigmaData(t, "rules/windows/process_creation")
	data, err := os.ReadFile(filepath.Join(dir, "proc_creation_win_whoami_all_execution.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rule, err := sigma.ParseAndCompile(data, "whoami.yml", sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	norm, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":4688,"Channel":"Security","Computer":"PC1"},"EventData":{"NewProcessName":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all","ParentProcessName":"C:\\Windows\\System32\\cmd.exe"}}}`
	ev := norm.Parse([]byte(raw), events.Source{Protocol: "file"}, time.Now())
	if ev.Category != "process_creation" || ev.Service != "security" {
		t.Fatalf("ingest named the log source %s/%s/%s", ev.Product, ev.Service, ev.Category)
	}
	router := sigma.NewRouter([]*sigma.CompiledRule{rule})
	if n := router.Match(ev.Product, ev.Category, ev.Service, sigma.FromEvent(&ev), nil); n != 1 {
		t.Errorf("the whoami /all rule matched %d times on a Security 4688 whoami /all, want 1 (fields %v)", n, ev.Fields)
	}
}
