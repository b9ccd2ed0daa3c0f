package ingest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/events"
)

// The child process of TestKillNineRELP: an embedded bus in
// VIGIL_KILL_DIR and a RELP listener on VIGIL_KILL_ADDR, reporting the
// stream's size on stdout until it is killed.
func TestKillNineChild(t *testing.T) {
	dir, addr := os.Getenv("VIGIL_KILL_DIR"), os.Getenv("VIGIL_KILL_ADDR")
	if dir == "" {
		t.Skip("the child of TestKillNineRELP")
	}
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Options{DataDir: dir})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	pub, err := NewPublisher(ctx, PublisherOptions{Conn: b.Conn()})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	norm, _ := New(Options{})
	orgs, _ := NewOrgMap(testRoot, "", nil)
	l, err := NewRELPListener(ListenerOptions{Addr: addr, Normaliser: norm, Publisher: pub, Orgs: orgs})
	if err == nil {
		err = l.Start(ctx)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	// The count is of distinct event IDs: a batch resent after a kill
	// may be cut differently from the one stored before it, and then
	// lands again (the store keeps each ID once).
	c, err := b.JetStream().OrderedConsumer(ctx, EventStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ids := map[string]bool{}
	for {
		if batch, err := c.FetchNoWait(1000); err == nil {
			for m := range batch.Messages() {
				evs, _ := events.AppendStreamEvents(nil, m.Data())
				for _, ev := range evs {
					ids[ev.ID] = true
				}
			}
		}
		fmt.Println("count", len(ids))
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill -9 and restart, three times, while rsyslog sends through omrelp:
// the RELP listener answers only what JetStream stored, rsyslog resends
// whatever was unanswered when Vigil died, and at the end the stream
// holds every message, each under one event ID (a resent batch cut
// differently from the stored one lands again, under the same IDs, and
// the store keeps each ID once: TestServeKillNine in internal/cli has
// the store in the loop).
func TestKillNineRELP(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a process several times")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, relpPort := ln.Addr().String(), port(ln.Addr())
	ln.Close()

	var mu sync.Mutex
	count := uint64(0)
	var child *exec.Cmd
	startChild := func() {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run", "^TestKillNineChild$", "-test.v")
		cmd.Env = append(os.Environ(), "VIGIL_KILL_DIR="+dir, "VIGIL_KILL_ADDR="+addr)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan error, 1)
		go func() {
			sc := bufio.NewScanner(out)
			sent := false
			for sc.Scan() {
				line := sc.Text()
				switch {
				case line == "ready" && !sent:
					ready <- nil
					sent = true
				case strings.HasPrefix(line, "count "):
					n, _ := strconv.ParseUint(strings.TrimPrefix(line, "count "), 10, 64)
					mu.Lock()
					count = n
					mu.Unlock()
				case strings.HasPrefix(line, "error ") && !sent:
					ready <- fmt.Errorf("%s", line)
					sent = true
				}
			}
			if !sent {
				ready <- fmt.Errorf("the child ended before it was ready")
			}
		}()
		select {
		case err := <-ready:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the child did not start")
		}
		mu.Lock()
		child = cmd
		mu.Unlock()
	}
	kill := func() {
		mu.Lock()
		c := child
		mu.Unlock()
		_ = c.Process.Signal(syscall.SIGKILL)
		_ = c.Wait()
	}
	startChild()
	t.Cleanup(kill)

	in := rsyslogd(t, fmt.Sprintf(`
module(load="omrelp")
action(type="omrelp" target="127.0.0.1" port=%q template="RSYSLOG_SyslogProtocol23Format"
       action.resumeRetryCount="-1" action.resumeInterval="1" queue.type="LinkedList")
`, relpPort))

	const n = 400
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			out, err := exec.Command("logger", "-d", "-n", "127.0.0.1", "-P", in, "--rfc5424", "-t", "killtest", fmt.Sprintf("message %04d", i)).CombinedOutput()
			if err != nil {
				t.Errorf("logger: %v %s", err, out)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for k := range 3 {
		time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
		kill()
		mu.Lock()
		t.Logf("kill -9 number %d with %d events stored", k+1, count)
		mu.Unlock()
		startChild()
	}
	<-sent
	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		c := count
		mu.Unlock()
		if c >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the kills the stream holds %d of %d messages", c, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let any late resend land
	kill()

	// Read the stream as the child left it.
	b, err := bus.Open(context.Background(), bus.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := &rig{t: t, bus: b}
	all := r.readAll()
	byID := map[string]bool{}
	var distinct []streamEvent
	for _, e := range all {
		if !byID[e.ev.ID] {
			byID[e.ev.ID] = true
			distinct = append(distinct, e)
		}
	}
	t.Logf("the stream holds %d events, %d distinct", len(all), len(distinct))
	got := messages(distinct)
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("message %04d", i)
	}
	if !slices.Equal(got, want) {
		dups := 0
		for i := 1; i < len(got); i++ {
			if got[i] == got[i-1] {
				dups++
			}
		}
		t.Fatalf("the stream holds %d distinct events (%d messages under more than one ID), want each of %d once", len(got), dups, n)
	}
}
