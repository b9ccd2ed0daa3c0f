package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/events/chtest"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/ingest/sendertest"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// Issue 21's proof under faults, with real processes: two `vigil serve`
// on one PostgreSQL schema and a three-server NATS JetStream cluster
// (streams replicated on all three, each NATS server a process of its
// own) take a steady load of RELP syslog and HTTP NDJSON spread over
// both, run a live Sigma rule, and answer two trusts' analysts searching
// the load. Then one Vigil server is killed with SIGKILL, and later the
// NATS server leading the EVENTS stream is killed the same way. Senders
// behave as behind a load balancer: a sender whose server stops
// answering sends again, to the other, what was not acknowledged. At the
// end every event acknowledged to a sender is found exactly once by an
// export through the surviving server (none is stored twice), each
// alert's occurrences equal the marked events stored, no analyst saw
// another organisation's events, the survivor answered every read, and
// the leader duties have moved to it. The error rate, worst latency and
// longest gap without an acknowledgement of each phase are logged
// (docs/performance.md).
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two vigil servers and a NATS cluster through faults")
	}
	nc := bustest.RunClusterProcesses(t, 3, "TestNATSChild")
	dbURL := storetest.PostgresSchemaURL(t)
	ch := chtest.StartProcess(t)
	eventsURL := ch.URL + "?database=vigil"
	var k [32]byte
	_, _ = rand.Read(k[:])
	auditKey := hex.EncodeToString(k[:])
	env := map[string]string{"VIGIL_DATA_DIR": t.TempDir(), "VIGIL_DATABASE_URL": dbURL, "VIGIL_AUDIT_KEY": auditKey, "VIGIL_EVENTS_URL": eventsURL}
	must(t, run(t, "demo password for tests\n", env, "demo", "--password-stdin"))
	must(t, run(t, "a long enough password\n", env, "users", "add", "--email", "nat@vigil.nhs.test", "--name", "Nat", "--role", "national-analyst", "--password-stdin"))
	userTok := strings.TrimSpace(must(t, run(t, "", env, "tokens", "create", "--user", "nat@vigil.nhs.test", "--name", "search")).stdout)
	ingestTok := strings.TrimSpace(must(t, run(t, "", env, "tokens", "create", "--ingest", "--org", "RJ1", "--name", "load")).stdout)
	// Two trusts' analysts read through the servers during the faults:
	// RJ1's may see the HTTP load (its ingest token's), RGT's nothing of
	// it (the RELP load goes to the national root).
	tenantTok := map[string]string{}
	for _, code := range []string{"RJ1", "RGT"} {
		email := strings.ToLower(code) + "@vigil.nhs.test"
		must(t, run(t, "a long enough password\n", env, "users", "add", "--email", email, "--name", code, "--role", "org-analyst", "--org", code, "--password-stdin"))
		tenantTok[code] = strings.TrimSpace(must(t, run(t, "", env, "tokens", "create", "--user", email, "--name", "read")).stdout)
	}
	// A Sigma rule every server runs live: one event in 25 carries its
	// marker, and each must be counted once in the inbox.
	rules := filepath.Join(t.TempDir(), "marker.yml")
	if err := os.WriteFile(rules, []byte(markerRule), 0o600); err != nil {
		t.Fatal(err)
	}

	type server struct {
		p    *serveProc
		http string
		relp string
	}
	var servers []server
	for range 2 {
		httpAddr := "127.0.0.1:" + sendertest.FreeTCPPort(t)
		relp := "127.0.0.1:" + sendertest.FreeTCPPort(t)
		p := &serveProc{t: t, http: httpAddr, args: []string{"serve", "--data-dir", t.TempDir(), "--database-url", dbURL, "--audit-key", auditKey,
			"--nats", nc.URL(), "--nats-replicas", "3", "--leader-lease", "3s", "--events-url", eventsURL,
			"--http", httpAddr, "--relp", relp, "--rules", rules, "--log-level", "warn"}}
		t.Cleanup(p.stop)
		p.start() // one after the other: the first migrates nothing new, but leads
		servers = append(servers, server{p: p, http: httpAddr, relp: relp})
	}
	leader := func(s server) bool {
		res, err := http.Get("http://" + s.http + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return regexp.MustCompile(`(?m)^vigil_leader 1$`).Match(b)
	}
	if !leader(servers[0]) || leader(servers[1]) {
		t.Fatalf("leaders at start: A %v, B %v; want A alone", leader(servers[0]), leader(servers[1]))
	}

	// The load, and what it saw in each phase.
	st := newFaultStats("steady", "vigil A killed", "NATS node killed", "ClickHouse restarted")
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			relpLoad(ctx, st, fmt.Sprintf("r%d", i), []string{servers[i].relp, servers[1-i].relp})
		}()
		go func() {
			defer wg.Done()
			httpLoad(ctx, st, fmt.Sprintf("h%d", i), ingestTok, []string{servers[i].http, servers[1-i].http})
		}()
	}
	reads := &tenantReads{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tenantReader(ctx, reads, st, tenantTok, []string{servers[0].http, servers[1].http})
	}()
	defer func() { stopLoad(); wg.Wait() }()

	time.Sleep(4 * time.Second)
	st.next()
	killed := time.Now()
	servers[0].p.kill()
	t.Log("vigil A killed with SIGKILL")
	failover := time.Duration(0)
	for time.Since(killed) < 15*time.Second {
		if leader(servers[1]) {
			failover = time.Since(killed)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if failover == 0 {
		t.Errorf("B did not take the leader duties within 15 s of A's death")
	} else {
		t.Logf("B leads %s after A was killed (lease 3 s)", failover.Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	st.next()
	lead := streamLeader(t, nc.URL())
	var node int
	if _, err := fmt.Sscanf(lead, "n%d", &node); err != nil {
		t.Fatalf("EVENTS stream leader %q: %v", lead, err)
	}
	natsKilled := time.Now()
	nc.Stop(node - 1)
	t.Logf("NATS server %s, the EVENTS stream's leader, killed with SIGKILL", lead)
	// Load goes on until acknowledgements have flowed without a pause of
	// a second for 3 s (at most 60 s: the survivors must recover by then).
	for time.Since(natsKilled) < 60*time.Second {
		if streak := st.streakStart(); time.Since(st.lastAcked()) < time.Second && time.Since(streak) > 3*time.Second && time.Since(natsKilled) > 3*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if streak := st.streakStart(); time.Since(st.lastAcked()) > time.Second {
		t.Errorf("no event acknowledged in the minute after the NATS server was killed")
	} else if streak.After(natsKilled) {
		t.Logf("acknowledgements flowing again %s after the NATS server was killed", streak.Sub(natsKilled).Round(time.Millisecond))
	}
	// ClickHouse restarted: ingest goes on (senders are acknowledged once
	// the stream holds their events); the store's consumer retries until
	// the server is back; searches fail meanwhile.
	st.next()
	ch.Kill()
	t.Log("ClickHouse killed with SIGKILL")
	time.Sleep(2 * time.Second)
	chDown := time.Now()
	ch.Restart()
	t.Logf("ClickHouse answering again %s after its restart began", time.Since(chDown).Round(time.Millisecond))
	time.Sleep(3 * time.Second)
	stopLoad()
	wg.Wait()
	st.log(t)

	acked := st.ackedKeys()
	if len(acked) < 500 {
		t.Fatalf("only %d events acknowledged: the load proved little", len(acked))
	}
	// Everything acknowledged reaches the store through B's consumer.
	var seen map[string]int
	deadline := time.Now().Add(90 * time.Second)
	for {
		seen = exportKeys(t, servers[1].http, userTok)
		missing := 0
		for key := range acked {
			if seen[key] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d acknowledged events are not stored 90 s after the load", missing, len(acked))
			break
		}
		time.Sleep(time.Second)
	}
	dups := 0
	for key, n := range seen {
		if n > 1 {
			dups++
			if dups <= 5 {
				t.Errorf("%s is stored %d times", key, n)
			}
		}
	}
	t.Logf("%d events acknowledged, %d distinct stored, %d stored more than once", len(acked), len(seen), dups)
	reads.log(t, st.phases)

	// Every marked event stored raised one occurrence of its host's
	// alert: none lost, none counted twice.
	want := map[string]int{}
	for key := range seen {
		if markedKey(key) {
			want["load-"+key[:2]]++
		}
	}
	var got map[string]int64
	deadline = time.Now().Add(60 * time.Second)
	for {
		got = sigmaOccurrences(t, servers[1].http, userTok)
		same := len(got) == len(want)
		for host, n := range want {
			same = same && got[host] == int64(n)
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("alert occurrences per host %v, want the marked events stored %v", got, want)
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("marked events stored per host %v; alert occurrences %v", want, got)
	if !leader(servers[1]) {
		t.Errorf("B no longer leads after the NATS server stopped")
	}
	res, err := http.Get("http://" + servers[1].http + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Errorf("B's /readyz after the faults: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

// markerRule matches the load events whose key ends in 00, 25, 50 or 75.
const markerRule = `title: Cluster test marker
id: 6b1f5a2e-3c4d-4e5f-9a8b-7c6d5e4f3a2b
status: test
description: Matches the marker the cluster fault test puts in one event in 25.
author: Vigil tests
logsource:
  definition: every event (the fault test's load)
detection:
  sel:
    message|contains: clustermark
  condition: sel
level: high
`

// markedKey says whether a load event's key carries the marker.
func markedKey(key string) bool {
	var n int
	_, err := fmt.Sscanf(key[3:], "%d", &n)
	return err == nil && n%25 == 0
}

// loadMessage is a load event's message.
func loadMessage(key string) string {
	if markedKey(key) {
		return "msg " + key + " clustermark"
	}
	return "msg " + key
}

// sigmaOccurrences sums the occurrences of the marker rule's alerts per
// host, read through the server at addr.
func sigmaOccurrences(t *testing.T, addr, token string) map[string]int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/alerts?source=sigma&limit=500", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("alerts: %v", err)
	}
	defer res.Body.Close()
	var page struct {
		Items []struct {
			SourceRef   string `json:"source_ref"`
			Occurrences int64  `json:"occurrences"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		t.Fatalf("alerts: %d %v", res.StatusCode, err)
	}
	got := map[string]int64{}
	for _, a := range page.Items {
		// rule/host/window
		parts := strings.Split(a.SourceRef, "/")
		if len(parts) >= 3 {
			got[parts[len(parts)-2]] += a.Occurrences
		}
	}
	return got
}

// tenantReads counts the analysts' reads during the faults, and any
// answer holding an event their organisation may not read.
type tenantReads struct {
	mu           sync.Mutex
	reqs, fails  [][2]int // per phase, per server
	worst        [][2]time.Duration
	own, foreign int // events of the reader's organisation seen, and of another
}

func (r *tenantReads) log(t *testing.T, phases []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, phase := range phases {
		if p >= len(r.reqs) {
			break
		}
		for i, name := range []string{"A", "B"} {
			t.Logf("tenant reads on %s, %-20s %3d, %3d failed, slowest answered %s", name, phase+":", r.reqs[p][i], r.fails[p][i], r.worst[p][i].Round(time.Millisecond))
		}
		// The survivor answers every read, except while the event store
		// itself is down.
		if r.fails[p][1] > 0 && phase != "ClickHouse restarted" {
			t.Errorf("the surviving server failed %d of %d reads while %s", r.fails[p][1], r.reqs[p][1], phase)
		}
	}
	t.Logf("tenant reads saw %d events of their own organisation and %d of another", r.own, r.foreign)
	if r.foreign > 0 {
		t.Errorf("%d events of another organisation in the analysts' answers", r.foreign)
	}
	if r.own == 0 {
		t.Errorf("RJ1's analyst never saw RJ1's events: the reads proved nothing")
	}
}

// tenantReader searches the load's events as RJ1's and RGT's analysts,
// on each server in turn, until ctx is done: RJ1 must see only the HTTP
// load (posted with RJ1's ingest token), RGT none of it.
func tenantReader(ctx context.Context, r *tenantReads, st *faultStats, toks map[string]string, servers []string) {
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ctx.Err() == nil; i++ {
		code := []string{"RJ1", "RGT"}[i%2]
		si := (i / 2) % len(servers)
		addr := servers[si]
		began := time.Now()
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/events?q=msg&since=1h&limit=200", nil)
		req.Header.Set("Authorization", "Bearer "+toks[code])
		res, err := client.Do(req)
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				err = fmt.Errorf("%d", res.StatusCode)
			}
		}
		p := int(st.phase.Load())
		r.mu.Lock()
		for len(r.reqs) <= p {
			r.reqs, r.fails, r.worst = append(r.reqs, [2]int{}), append(r.fails, [2]int{}), append(r.worst, [2]time.Duration{})
		}
		r.reqs[p][si]++
		if err != nil {
			r.fails[p][si]++
		} else {
			r.worst[p][si] = max(r.worst[p][si], time.Since(began))
			for _, m := range keyRE.FindAllStringSubmatch(string(body), -1) {
				if code == "RGT" || m[1][0] != 'h' {
					r.foreign++
				} else {
					r.own++
				}
			}
		}
		r.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNATSChild is a NATS server of TestClusterFaults' cluster, as a
// process of its own so that it can be killed with SIGKILL.
func TestNATSChild(t *testing.T) { bustest.NodeChild(t) }

// faultStats counts, per phase of the test, the requests (RELP windows
// and HTTP posts), their failures and the slowest acknowledged one, and
// keeps the keys of every event acknowledged.
type faultStats struct {
	phases []string
	phase  atomic.Int32

	mu      sync.Mutex
	reqs    []int
	fails   []int
	worst   []time.Duration
	gap     []time.Duration // longest time without any acknowledgement
	ackKeys map[string]bool
	acks    []time.Time // when each request was acknowledged, in order
}

func newFaultStats(phases ...string) *faultStats {
	n := len(phases)
	return &faultStats{phases: phases, reqs: make([]int, n), fails: make([]int, n), worst: make([]time.Duration, n), gap: make([]time.Duration, n), ackKeys: map[string]bool{}}
}

func (s *faultStats) next() { s.phase.Add(1) }

// done records one request begun at began; keys were acknowledged when
// err is nil.
func (s *faultStats) done(began time.Time, err error, keys []string) {
	p := s.phase.Load()
	took := time.Since(began)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs[p]++
	if err != nil {
		s.fails[p]++
		return
	}
	s.worst[p] = max(s.worst[p], took)
	now := time.Now()
	if len(s.acks) > 0 {
		s.gap[p] = max(s.gap[p], now.Sub(s.acks[len(s.acks)-1]))
	}
	s.acks = append(s.acks, now)
	for _, k := range keys {
		s.ackKeys[k] = true
	}
}

// lastAcked is when the last request was acknowledged.
func (s *faultStats) lastAcked() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.acks) == 0 {
		return time.Time{}
	}
	return s.acks[len(s.acks)-1]
}

// streakStart is when the current run of acknowledgements began: the
// first of the last acknowledgements with no pause of a second or more
// between them.
func (s *faultStats) streakStart() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.acks) == 0 {
		return time.Time{}
	}
	i := len(s.acks) - 1
	for i > 0 && s.acks[i].Sub(s.acks[i-1]) < time.Second {
		i--
	}
	return s.acks[i]
}

func (s *faultStats) ackedKeys() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ackKeys
}

func (s *faultStats) log(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.phases {
		rate := 0.0
		if s.reqs[i] > 0 {
			rate = 100 * float64(s.fails[i]) / float64(s.reqs[i])
		}
		t.Logf("%-18s %5d requests, %3d failed (%.1f%%), slowest acknowledged %s, longest without an acknowledgement %s",
			p+":", s.reqs[i], s.fails[i], rate, s.worst[i].Round(time.Millisecond), s.gap[i].Round(time.Millisecond))
	}
}

// relpLoad sends RELP syslog in windows of 10 to targets[0], moving to
// the next target when a window fails, and resending that window there
// byte for byte (so the events' IDs are the same).
func relpLoad(ctx context.Context, st *faultStats, name string, targets []string) {
	var c net.Conn
	var r *bufio.Reader
	target, txnr, n := 0, 0, 0
	var window, keys []string
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for ctx.Err() == nil {
		if window == nil {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			keys = keys[:0]
			for range 10 {
				key := fmt.Sprintf("%s-%06d", name, n)
				n++
				keys = append(keys, key)
				window = append(window, fmt.Sprintf("<134>1 %s load-%s clustertest - - - %s", now, name, loadMessage(key)))
			}
		}
		began := time.Now()
		err := func() error {
			if c == nil {
				var err error
				if c, err = net.DialTimeout("tcp", targets[target], 2*time.Second); err != nil {
					return err
				}
				r = bufio.NewReader(c)
				txnr = 1
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				offer := "relp_version=0\nrelp_software=clustertest\ncommands=syslog"
				if _, err := fmt.Fprintf(c, "%d open %d %s\n", txnr, len(offer), offer); err != nil {
					return err
				}
				if _, err := readRsp(r); err != nil {
					return err
				}
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			var b strings.Builder
			for _, m := range window {
				txnr++
				fmt.Fprintf(&b, "%d syslog %d %s\n", txnr, len(m), m)
			}
			if _, err := io.WriteString(c, b.String()); err != nil {
				return err
			}
			for range window {
				data, err := readRsp(r)
				if err != nil {
					return err
				}
				if !strings.HasPrefix(data, "200") {
					return fmt.Errorf("RELP answered %q", data)
				}
			}
			return nil
		}()
		st.done(began, err, slices.Clone(keys))
		if err != nil {
			if c != nil {
				c.Close()
				c = nil
			}
			target = (target + 1) % len(targets)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		window = nil
		time.Sleep(20 * time.Millisecond)
	}
}

// readRsp reads one RELP response frame and returns its data.
func readRsp(r *bufio.Reader) (string, error) {
	var txnr, n int
	var cmd string
	if _, err := fmt.Fscanf(r, "%d %s %d", &txnr, &cmd, &n); err != nil {
		return "", err
	}
	data := ""
	if n > 0 {
		buf := make([]byte, n+1)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		data = string(buf[1:])
	}
	if b, err := r.ReadByte(); err != nil || b != '\n' {
		return "", fmt.Errorf("RELP frame not ended by a newline: %v", err)
	}
	return data, nil
}

// httpLoad posts NDJSON batches of 10 events to targets[0] with an
// ingest token, moving to the next target when a post fails and posting
// the same body there.
func httpLoad(ctx context.Context, st *faultStats, name, token string, targets []string) {
	client := &http.Client{Timeout: 10 * time.Second}
	target, n := 0, 0
	var body string
	var keys []string
	for ctx.Err() == nil {
		if body == "" {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			var b strings.Builder
			keys = keys[:0]
			for range 10 {
				key := fmt.Sprintf("%s-%06d", name, n)
				n++
				keys = append(keys, key)
				fmt.Fprintf(&b, `{"@timestamp":%q,"host":"load-%s","message":%q}`+"\n", now, name, loadMessage(key))
			}
			body = b.String()
		}
		began := time.Now()
		err := func() error {
			req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", "http://"+targets[target]+"/api/v1/events", strings.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/x-ndjson")
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				return fmt.Errorf("POST answered %d %s", res.StatusCode, b)
			}
			return nil
		}()
		st.done(began, err, slices.Clone(keys))
		if err != nil {
			target = (target + 1) % len(targets)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		body = ""
		time.Sleep(20 * time.Millisecond)
	}
}

// keyRE finds a load event's key in an exported event.
var keyRE = regexp.MustCompile(`msg ([rh][01]-\d{6})`)

// exportKeys exports every event of the last hour through the server at
// addr and counts each load key once per event.
func exportKeys(t *testing.T, addr, token string) map[string]int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/events/export?since=1h&format=ndjson", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("export = %d %s", res.StatusCode, b)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		inLine := map[string]bool{}
		for _, m := range keyRE.FindAllStringSubmatch(sc.Text(), -1) {
			inLine[m[1]] = true
		}
		for k := range inLine {
			seen[k]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("export: %v", err)
	}
	return seen
}

// streamLeader names the NATS server leading the EVENTS stream.
func streamLeader(t *testing.T, url string) string {
	t.Helper()
	conn, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	js, err := jetstream.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, ingest.EventStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.Cluster.Leader
}
