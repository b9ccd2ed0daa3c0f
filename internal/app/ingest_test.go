package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestIngestEndToEnd: a real `vigil serve` with its syslog TCP and UDP
// listeners receives from util-linux's logger, and its HTTP endpoints from
// an NDJSON sender and an Elasticsearch bulk sender with an ingest token;
// every event reaches the store through the EVENTS stream and its durable
// consumer, belongs to the organisation the mapping or the token gives,
// and is found over the API by the trust's analyst — and by nobody else's.
// A person's API token is not an ingest token.
func TestIngestEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testIngestEndToEnd(t, "") })
	t.Run("postgres", func(t *testing.T) { testIngestEndToEnd(t, storetest.PostgresSchemaURL(t)) })
}

func testIngestEndToEnd(t *testing.T, dbURL string) {
	if _, err := exec.LookPath("logger"); err != nil {
		testneed.Missing(t, "util-linux's logger (Debian's bsdutils)", err)
	}
	s := startWith(t, func(c *config.Config) {
		c.DatabaseURL = dbURL
		// Embedded NATS: the EVENTS stream is this deployment's own.
		c.SyslogTCP, c.SyslogUDP = "127.0.0.1:0", "127.0.0.1:0"
	})
	f := newFixture(t, s)
	ctx := context.Background()
	_, secret, err := s.Auth.CreateIngestToken(ctx, scope.System("test"), "RJ1", "winlogbeat on dc01", 0)
	if err != nil {
		t.Fatal(err)
	}
	addrs := s.Ingest.Addrs()
	port := func(name string) string { a := addrs[name].String(); return a[strings.LastIndexByte(a, ':')+1:] }

	// syslog over TCP (octet counting) and UDP from logger; with no
	// mapping file they belong to the national root.
	for _, args := range [][]string{
		{"-n", "127.0.0.1", "-P", port(ingest.ListenerSyslogTCP), "-T", "--octet-count", "--rfc5424", "-t", "sshd", "vigil-e2e-tcp Failed password for root"},
		{"-n", "127.0.0.1", "-P", port(ingest.ListenerSyslogUDP), "-d", "--rfc3164", "-t", "sudo", "vigil-e2e-udp session opened"},
	} {
		if out, err := exec.Command("logger", args...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v %s", args, err, out)
		}
	}

	post := func(path, auth, ctype string, body []byte, gz bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url(path), bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", ctype)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	sysmon := `{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Hostname":"ws7","CommandLine":"vigil-e2e-ndjson mimikatz.exe","Image":"C:\\tools\\mimikatz.exe","TimeCreated":"` + time.Now().UTC().Format(time.RFC3339) + `"}`
	var gzBody bytes.Buffer
	zw := gzip.NewWriter(&gzBody)
	_, _ = io.WriteString(zw, sysmon+"\n")
	_ = zw.Close()
	if code, body := post("/api/v1/events", "Bearer "+secret, "application/x-ndjson", gzBody.Bytes(), true); code != 200 {
		t.Fatalf("NDJSON = %d %s", code, body)
	}
	bulk := `{"create":{"_index":"winlogbeat-8"}}` + "\n" +
		`{"@timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","winlog":{"channel":"Security","event_id":4625,"computer_name":"dc01","event_data":{"TargetUserName":"vigil-e2e-bulk"}}}` + "\n"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("winlogbeat:"+secret))
	if code, body := post("/es/_bulk", basic, "application/x-ndjson", []byte(bulk), false); code != 200 || !strings.Contains(body, `"errors":false`) {
		t.Fatalf("_bulk = %d %s", code, body)
	}
	// Not an ingest token: Alice's own API token, and nothing.
	if code, _ := post("/api/v1/events", "Bearer "+f.aliceTok, "application/x-ndjson", []byte(sysmon+"\n"), false); code != 401 {
		t.Errorf("NDJSON with a person's API token = %d, want 401", code)
	}
	if code, _ := post("/es/_bulk", "", "application/x-ndjson", []byte(bulk), false); code != 401 {
		t.Errorf("_bulk without a token = %d, want 401", code)
	}

	// Everything lands, each where it belongs.
	sys := scope.System("test")
	want := map[string]string{"vigil-e2e-tcp": "ENG", "vigil-e2e-udp": "ENG", "vigil-e2e-ndjson": "RJ1", "vigil-e2e-bulk": "RJ1"}
	deadline := time.Now().Add(20 * time.Second)
	for word, org := range want {
		for {
			p, err := s.Events.Search(ctx, sys, events.Query{Text: word, Since: time.Now().Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Events) == 1 {
				if ev := p.Events[0]; ev.Org != org {
					t.Errorf("%s: stored for %s, want %s (%s via %s)", word, ev.Org, org, ev.Raw, ev.Source.Protocol)
				}
				break
			}
			if len(p.Events) > 1 || time.Now().After(deadline) {
				t.Fatalf("%s: %d events stored, want 1", word, len(p.Events))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Prometheus counts what each listener accepted for each organisation.
	res, metrics := get(t, http.DefaultClient, s.url("/metrics"), "")
	if res.StatusCode != 200 || !strings.Contains(metrics, `vigil_ingest_events_total{listener="syslog-tcp",org="ENG"} 1`) ||
		!strings.Contains(metrics, `vigil_ingest_events_total{listener="http",org="RJ1"} 1`) || !strings.Contains(metrics, "vigil_ingest_duplicates_total 0") {
		t.Errorf("ingest metrics:\n%s", grepLines(metrics, "vigil_ingest"))
	}
	// Over the API: Guy's analyst finds Guy's events, King's does not.
	res, body := get(t, http.DefaultClient, s.url("/api/v1/events?q=vigil-e2e-ndjson+OR+vigil-e2e-bulk&since=1h"), f.aliceTok)
	if res.StatusCode != 200 || strings.Count(body, `"org":"RJ1"`) != 2 || !strings.Contains(body, `"category":"process_creation"`) {
		t.Errorf("Alice's search = %d %s", res.StatusCode, body)
	}
	if _, body := get(t, http.DefaultClient, s.url("/api/v1/events?q=vigil-e2e-ndjson+OR+vigil-e2e-bulk&since=1h"), f.bobTok); body != `{"items":[]}`+"\n" && strings.TrimSpace(body) != `{"items":[]}` {
		t.Errorf("Bob sees %s", body)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
