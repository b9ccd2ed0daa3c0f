package cli

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/ingest/sendertest"
)

// TestServeSoak is the soak: a running `vigil serve` takes a
// steady load for VIGIL_SOAK (10m for the figure in docs/performance.md)
// over syslog TCP (loggen straight in) and RELP (loggen into rsyslog,
// which forwards through omrelp), while the server's resident memory is
// read from /proc every 10 s. It passes when everything sent is stored
// and the memory at the end is within a generous bound of what it was
// once warmed up (after the first minute, or a tenth of the run if
// shorter; after 11 minutes in a soak of 20 or more, when JetStream's
// deduplication window is full), so a leak fails it. Not part of `make
// test`:
//
//	VIGIL_SOAK=10m go test -count=1 -timeout 30m -run TestServeSoak -v ./internal/cli/
//
// VIGIL_SOAK_RATE is the messages per second in all (default 2,000; a
// quarter of them through RELP).
func TestServeSoak(t *testing.T) {
	soak, rate := soakSettings(t, "VIGIL_SOAK", 2000)
	root := os.Getenv("VIGIL_SYSLOG_NG_ROOT")
	if root == "" {
		root = "/opt/syslog-ng"
	}
	loggenBin := filepath.Join(root, "usr/bin/loggen")
	if _, err := os.Stat(loggenBin); err != nil {
		t.Skipf("loggen not unpacked under %s: %v", root, err)
	}

	dir := t.TempDir()
	httpAddr := "127.0.0.1:" + sendertest.FreeTCPPort(t)
	tcpPort, relpPort := sendertest.FreeTCPPort(t), sendertest.FreeTCPPort(t)
	p := &serveProc{t: t, args: []string{"serve", "--data-dir", dir, "--http", httpAddr,
		"--syslog-tcp", "127.0.0.1:" + tcpPort, "--relp", "127.0.0.1:" + relpPort, "--log-level", "warn"}, http: httpAddr}
	p.start()
	t.Cleanup(p.stop)
	inPort := sendertest.FreeTCPPort(t)
	sendertest.Rsyslogd(t, fmt.Sprintf(`
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port=%q)
module(load="omrelp")
action(type="omrelp" target="127.0.0.1" port=%q template="RSYSLOG_SyslogProtocol23Format"
       action.resumeRetryCount="-1" action.resumeInterval="1" queue.type="LinkedList")
`, inPort, relpPort))
	sendertest.WaitTCP(t, "127.0.0.1:"+inPort)

	secs := int(soak.Seconds())
	relpRate := rate / 4
	tcpRate := rate - relpRate
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	var mu sync.Mutex
	sent := 0 // as loggen counts, once both have ended
	loggen := func(port string, r int) {
		defer wg.Done()
		// --interval ends it: loggen keeps its --rate only roughly, so
		// what it sent is read from its last line ("average rate = …,
		// count=N, …").
		cmd := exec.Command(loggenBin, "--inet", "--stream", "--syslog-proto", "--size", "200",
			"--rate", strconv.Itoa(r), "--interval", strconv.Itoa(secs), "127.0.0.1", port)
		cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/syslog-ng"), "SYSLOGNG_PREFIX="+filepath.Join(root, "usr"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			errs <- fmt.Errorf("loggen to %s: %v\n%s", port, err, out)
			return
		}
		n := -1
		for _, l := range strings.Split(string(out), "\n") {
			if _, rest, ok := strings.Cut(l, "average rate = "); ok {
				if _, c, ok := strings.Cut(rest, "count="); ok {
					n, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(c, ",", 2)[0]))
				}
			}
		}
		if n < 0 {
			errs <- fmt.Errorf("loggen to %s printed no count:\n%s", port, out)
			return
		}
		mu.Lock()
		sent += n
		mu.Unlock()
	}

	rss := func() int64 { return procStatus(t, p.pid(), "VmRSS:") }
	count := func() int {
		t.Helper()
		r := must(t, run(t, "", nil, "events", "count", "", "--since", "720h", "--data-dir", dir))
		c, err := strconv.Atoi(strings.TrimSpace(r.stdout))
		if err != nil {
			t.Fatalf("events count printed %q", r.stdout)
		}
		return c
	}
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

	start := rss()
	t.Logf("RSS before the load: %s; sending %d messages/s (%d over TCP, %d through rsyslog and RELP) for %v", mib(start), rate, tcpRate, relpRate, soak)
	began := time.Now()
	wg.Add(2)
	go loggen(tcpPort, tcpRate)
	go loggen(inPort, relpRate)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// Warm after a minute; for a soak of 20 minutes or more, after 11,
	// when the stream's 10-minute window of message IDs for
	// deduplication (ingest.DefaultStreamDuplicates) is full.
	warmAt := min(time.Minute, soak/10)
	if soak >= 20*time.Minute {
		warmAt = 11 * time.Minute
	}
	var warm, peak int64
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	sending := true
	deadline := time.Time{}
	for stored := 0; ; {
		select {
		case <-done:
			if sending {
				sending = false
				deadline = time.Now().Add(5 * time.Minute)
				select {
				case err := <-errs:
					t.Fatal(err)
				default:
				}
				took := time.Since(began)
				t.Logf("%v: loggen ended, having sent %d (%.0f/s; loggen keeps its --rate only roughly)", took.Round(time.Second), sent, float64(sent)/took.Seconds())
			}
			done = nil
		case <-tick.C:
		}
		r := rss()
		peak = max(peak, r)
		if warm == 0 && time.Since(began) >= warmAt {
			warm = r
		}
		stored = count()
		t.Logf("%4.0fs RSS %s, stored %d", time.Since(began).Seconds(), mib(r), stored)
		if !sending && stored >= sent {
			break
		}
		if !sending && time.Now().After(deadline) {
			t.Errorf("5 min after sending ended the store holds %d of %d", stored, sent)
			break
		}
	}
	end := rss()
	if c := count(); c != sent {
		t.Errorf("stored %d, sent %d", c, sent)
	}
	t.Logf("FIGURE soak %v at %d/s: RSS start %s, after warm-up (%v) %s, max %s, end %s; sent %d, stored %d, all stored %v after the start",
		soak, rate, mib(start), warmAt, mib(warm), mib(peak), mib(end), sent, count(), time.Since(began).Round(time.Second))
	// Generous: the heap may grow to the next GC target and the stream's
	// caches fill, but not with every message. Until the deduplication
	// window is full JetStream holds every message ID of it (about 100
	// bytes each by ingest's estimate; 128 allowed), which is growth
	// by design, not a leak.
	window := ingest.DefaultStreamDuplicates
	filling := min(soak, window) - min(warmAt, window)
	ids := int64(float64(sent) / soak.Seconds() * filling.Seconds())
	if bound := warm + warm/2 + 32<<20 + 128*ids; end > bound {
		t.Errorf("RSS grew from %s after warm-up to %s at the end (bound %s, of which %s for the deduplication window's %d IDs): a leak?",
			mib(warm), mib(end), mib(bound), mib(128*ids), ids)
	}
}

// TestServeFlowSoak is the soak at a flow collector's rate: a running
// `vigil serve --netflow` takes VIGIL_FLOW_SOAK_RATE flows a second
// (100,000 by default) for VIGIL_FLOW_SOAK (10m for the figure in
// docs/performance.md), while its resident memory is read every 10 s.
// The flows are softflowd's: one round of its datagrams is recorded
// (BenchmarkNetFlowReplay's recordSoftflowd) and sent again, paced, pass
// after pass, each pass's headers moved on in time (by the round's span
// of capture time) and in sequence number, so that every pass is new
// flows, later than the last, as an exporter's are. It passes when every
// flow sent is stored and the memory at the end is within the same
// generous bound of what it was after the first minute as
// TestServeSoak's. Not part of `make test`:
//
//	VIGIL_FLOW_SOAK=10m go test -count=1 -timeout 30m -run TestServeFlowSoak -v ./internal/cli/
func TestServeFlowSoak(t *testing.T) {
	soak, rate := soakSettings(t, "VIGIL_FLOW_SOAK", 100_000)
	sendertest.SoftflowdPath(t)
	// One round: 200,000 flows 10 µs apart, 2 s of capture time; a pass
	// is moved on by 3 s, so passes never share a moment.
	const n, span = 200_000, 3
	pcap := filepath.Join(t.TempDir(), "round.pcap")
	sendertest.WritePcap(t, pcap, sendertest.ManyFlows(n))
	rec := recordSoftflowd(t, pcap, n)
	for _, d := range rec {
		if len(d.data) < 20 || d.data[0] != 0 || d.data[1] != 9 {
			t.Fatalf("softflowd sent a datagram that is not NetFlow v9: % x", d.data[:min(len(d.data), 20)])
		}
	}

	dir, nfPort, p := serveNetFlow(t)
	conn, err := net.Dial("udp", "127.0.0.1:"+nfPort)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.UDPConn).SetWriteBuffer(4 << 20)

	// The sender: pass after pass until the soak's time is up.
	var sent atomic.Int64
	done := make(chan error, 1)
	began := time.Now()
	go func() {
		buf := make([]byte, 65536)
		for pass := uint32(0); ; pass++ {
			for _, d := range rec {
				if time.Since(began) >= soak {
					done <- nil
					return
				}
				if ahead := time.Until(began.Add(time.Duration(float64(sent.Load()) / float64(rate) * float64(time.Second)))); ahead > 0 {
					time.Sleep(ahead)
				}
				// v9 header: version, count, uptime, unix seconds, sequence, source ID.
				b := append(buf[:0], d.data...)
				binary.BigEndian.PutUint32(b[8:], binary.BigEndian.Uint32(b[8:])+pass*span)
				binary.BigEndian.PutUint32(b[12:], binary.BigEndian.Uint32(b[12:])+pass*1_000_000)
				if _, err := conn.Write(b); err != nil {
					done <- err
					return
				}
				sent.Add(int64(d.flows))
			}
		}
	}()

	rss := func() int64 { return procStatus(t, p.pid(), "VmRSS:") }
	count := func() int64 {
		t.Helper()
		r := must(t, run(t, "", nil, "events", "count", "", "--data-dir", dir,
			"--from", sendertest.PcapStart.Add(-time.Hour).Format(time.RFC3339), "--to", sendertest.PcapStart.Add(48*time.Hour).Format(time.RFC3339)))
		c, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
		if err != nil {
			t.Fatalf("events count printed %q", r.stdout)
		}
		return c
	}
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	start := rss()
	t.Logf("RSS before the load: %s; sending %d flows/s for %v", mib(start), rate, soak)
	warmAt := min(time.Minute, soak/10)
	var warm, peak int64
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	sending, deadline := true, time.Time{}
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			sending, deadline, done = false, time.Now().Add(5*time.Minute), nil
			t.Logf("%v: sending ended, having sent %d flows (%.0f/s)", time.Since(began).Round(time.Second), sent.Load(), float64(sent.Load())/time.Since(began).Seconds())
		case <-tick.C:
		}
		r := rss()
		peak = max(peak, r)
		if warm == 0 && time.Since(began) >= warmAt {
			warm = r
		}
		stored := count()
		t.Logf("%4.0fs RSS %s, sent %d, stored %d", time.Since(began).Seconds(), mib(r), sent.Load(), stored)
		if !sending && stored >= sent.Load() {
			break
		}
		if !sending && time.Now().After(deadline) {
			t.Errorf("5 min after sending ended the store holds %d of %d flows", stored, sent.Load())
			break
		}
	}
	end := rss()
	if c := count(); c != sent.Load() {
		t.Errorf("stored %d flows, sent %d", c, sent.Load())
	}
	t.Logf("FIGURE flow soak %v at %d/s: RSS start %s, after warm-up (%v) %s, max %s, end %s; sent %d, stored %d, all stored %v after the start",
		soak, rate, mib(start), warmAt, mib(warm), mib(peak), mib(end), sent.Load(), count(), time.Since(began).Round(time.Second))
	// The bound of TestServeSoak, with the deduplication window's IDs
	// those of messages (a listener's batch, of a hundred flows or more
	// under this load) rather than of flows.
	window := ingest.DefaultStreamDuplicates
	filling := min(soak, window) - min(warmAt, window)
	ids := int64(float64(rate) / 100 * filling.Seconds())
	if bound := warm + warm/2 + 32<<20 + 128*ids; end > bound {
		t.Errorf("RSS grew from %s after warm-up to %s at the end (bound %s): a leak?", mib(warm), mib(end), mib(bound))
	}
}

// soakSettings is a soak's length from the variable env (skipping the
// test when it is not set) and its rate from env_RATE (rate when not set).
func soakSettings(t *testing.T, env string, rate int) (time.Duration, int) {
	t.Helper()
	soak, _ := time.ParseDuration(os.Getenv(env))
	if soak <= 0 {
		t.Skipf("set %s to the soak's length (10m)", env)
	}
	if r, _ := strconv.Atoi(os.Getenv(env + "_RATE")); r > 0 {
		rate = r
	}
	return soak, rate
}
