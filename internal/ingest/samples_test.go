package ingest

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/testneed"
)

// sharedEvents is the shared telemetry samples folder, relative to this
// package; tests read it in place and never copy it into the repository.
const sharedEvents = "../../../shared/data/events"

// needSamples returns the path of a folder under sharedEvents, or stops
// the test: a skip on a developer's machine, a failure under CI.
func needSamples(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join(sharedEvents, sub)
	if _, err := os.Stat(dir); err != nil {
		testneed.Missing(t, "the event samples in ../shared/data/events", err)
	}
	return dir
}

// eachLine calls fn with every non-empty line of path (gunzipped when it
// ends in .gz), its CRLF or LF line end removed, and its line number.
func eachLine(t testing.TB, path string, fn func(line []byte, n int)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		fn(line, n)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func newNormaliser(t testing.TB, opts Options) *Normaliser {
	t.Helper()
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var received = time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)

// TestWindowsSamples parses every event of every Windows sample, nested
// EVTX JSON and the flat shapes (NXLog, OTRF exports, Winlogbeat 6.5),
// and checks that none fails, that each has EventID, Channel (unless the
// recording had none) and Computer at the top level, a time from the
// record, a Windows log source, and that Sysmon process creations carry
// CommandLine and Image at the top level with category process_creation.
func TestWindowsSamples(t *testing.T) {
	dir := needSamples(t, "windows")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.jsonl.gz"))
	if len(files) < 20 {
		t.Fatalf("found %d Windows sample files, want the 24 the README lists", len(files))
	}
	n := newNormaliser(t, Options{})
	total := 0
	formats := map[string]int{}
	categories := map[string]int{}
	for _, path := range files {
		name := filepath.Base(path)
		var sysmon1 int
		eachLine(t, path, func(line []byte, ln int) {
			total++
			ev := n.Parse(line, events.Source{Protocol: "file"}, received)
			if ev.ParseError != "" {
				t.Fatalf("%s:%d: %s", name, ln, ev.ParseError)
			}
			formats[ev.Source.Format]++
			categories[ev.Category]++
			f := ev.Fields
			if _, ok := f["EventID"].(float64); !ok {
				t.Fatalf("%s:%d: EventID %#v is not a number (format %s)", name, ln, f["EventID"], ev.Source.Format)
			}
			if ev.Product != "windows" {
				t.Fatalf("%s:%d: product %q, want windows (Channel %v)", name, ln, ev.Product, f["Channel"])
			}
			if ev.Source.Host == "" || f["Computer"] == nil {
				t.Fatalf("%s:%d: no Computer", name, ln)
			}
			if ev.EventTime.Equal(received) || ev.EventTime.Year() < 2015 || ev.EventTime.Year() > 2024 {
				t.Fatalf("%s:%d: event time %v not from the record", name, ln, ev.EventTime)
			}
			if f["EventID"] == 1.0 && strings.EqualFold(text(f["Channel"]), "Microsoft-Windows-Sysmon/Operational") {
				sysmon1++
				for _, k := range []string{"CommandLine", "Image", "ParentImage", "User"} {
					if s, _ := f[k].(string); s == "" {
						t.Fatalf("%s:%d: Sysmon 1 without %s at top level", name, ln, k)
					}
				}
				if ev.Service != "sysmon" || ev.Category != "process_creation" {
					t.Fatalf("%s:%d: Sysmon 1 is %s/%s", name, ln, ev.Service, ev.Category)
				}
			}
			if f["EventID"] == 11.0 && ev.Service == "sysmon" {
				if s, _ := f["TargetFilename"].(string); s == "" || ev.Category != "file_event" {
					t.Fatalf("%s:%d: Sysmon 11 TargetFilename %q category %q", name, ln, s, ev.Category)
				}
			}
		})
		t.Logf("%s: Sysmon process creations %d", name, sysmon1)
	}
	if total < 256000 {
		t.Errorf("parsed %d Windows events, the README counts 256,518", total)
	}
	for _, f := range []string{FormatEVTX, FormatWindowsFlat, FormatWinlogbeat} {
		if formats[f] == 0 {
			t.Errorf("no event read as %s: %v", f, formats)
		}
	}
	for _, c := range []string{"process_creation", "network_connection", "file_event", "registry_set", "process_access", "image_load", "ps_script"} {
		if categories[c] == 0 {
			t.Errorf("no %s event: %v", c, categories)
		}
	}
	t.Logf("%d events; formats %v", total, formats)
}

// TestLinuxSamples parses the raw syslog and audit.log samples: every
// line of the loghub syslog files as RFC 3164 without PRI, every audit
// record with its serial and time.
func TestLinuxSamples(t *testing.T) {
	dir := needSamples(t, "linux")
	n := newNormaliser(t, Options{})
	cases := []struct {
		file, format, service string
		count                 int
	}{
		{"loghub/OpenSSH_2k.log", FormatRFC3164, "sshd", 2000},
		{"loghub/Linux_2k.log", FormatRFC3164, "", 2000},
		{"otrf-auditd/sh_arp_cache_audit.log", FormatAuditd, "auditd", 12},
		{"otrf-auditd/sh_binary_padding_dd_audit.log", FormatAuditd, "auditd", 6},
		{"audit-userspace/auparse_test.log", FormatAuditd, "auditd", 12},
		{"audit-userspace/auparse_test3.log", FormatAuditd, "auditd", 15},
	}
	for _, c := range cases {
		got := 0
		eachLine(t, filepath.Join(dir, c.file), func(line []byte, ln int) {
			got++
			ev := n.Parse(line, events.Source{Protocol: "file"}, received)
			if ev.ParseError != "" || ev.Source.Format != c.format {
				t.Fatalf("%s:%d: format %s error %q", c.file, ln, ev.Source.Format, ev.ParseError)
			}
			if c.service != "" && ev.Service != c.service {
				t.Fatalf("%s:%d: service %q, want %q", c.file, ln, ev.Service, c.service)
			}
			if ev.EventTime.Equal(received) {
				t.Fatalf("%s:%d: no event time", c.file, ln)
			}
			if c.format == FormatAuditd && (ev.Fields["serial"] == "" || ev.Fields["type"] == "") {
				t.Fatalf("%s:%d: audit record without type or serial: %v", c.file, ln, ev.Fields)
			}
			// Every line names its host; a few have no TAG ("syslogd 1.4.1: restart.").
			if c.format == FormatRFC3164 && ev.Source.Host == "" {
				t.Fatalf("%s:%d: no host or app: %v", c.file, ln, ev.Fields)
			}
		})
		if got != c.count {
			t.Errorf("%s: %d lines, want %d", c.file, got, c.count)
		}
	}
	// The Sentinel Syslog exports are JSON lines.
	for _, f := range []string{"otrf-auditd/syslog_auoms_auditd_log4shell_cve2021_44228_jndi_reference.json", "otrf-auditd/syslog_sysmon_log4shell_cve2021_44228_jndi_reference.json"} {
		eachLine(t, filepath.Join(dir, f), func(line []byte, ln int) {
			ev := n.Parse(line, events.Source{Protocol: "file"}, received)
			if ev.ParseError != "" || ev.Fields["SyslogMessage"] == nil || ev.EventTime.Equal(received) {
				t.Fatalf("%s:%d: %q %v", f, ln, ev.ParseError, ev.EventTime)
			}
		})
	}
}

// TestNetworkSamples parses Zeek, Suricata EVE and the firewall CEF
// samples and checks their log sources.
func TestNetworkSamples(t *testing.T) {
	dir := needSamples(t, "network")
	n := newNormaliser(t, Options{})
	services := map[string]int{}
	for _, f := range []string{"zeek/apt29_day1_combined_zeek.jsonl.gz", "zeek/apt29_day2_combined_zeek.jsonl.gz"} {
		eachLine(t, filepath.Join(dir, f), func(line []byte, ln int) {
			ev := n.Parse(line, events.Source{Protocol: "file"}, received)
			if ev.ParseError != "" || ev.Source.Format != FormatZeek || ev.Product != "zeek" || ev.Service == "" {
				t.Fatalf("%s:%d: %s %s/%s %q", f, ln, ev.Source.Format, ev.Product, ev.Service, ev.ParseError)
			}
			if _, hasTS := ev.Fields["ts"]; hasTS && ev.EventTime.Year() != 2020 {
				t.Fatalf("%s:%d: time %v", f, ln, ev.EventTime)
			}
			if ev.Service == "dns" && (ev.Category != "dns" || ev.Fields["query"] == nil) {
				t.Fatalf("%s:%d: dns record %v", f, ln, ev)
			}
			if ev.Service == "conn" && ev.Fields["id.orig_h"] == nil {
				t.Fatalf("%s:%d: conn without id.orig_h", f, ln)
			}
			services[ev.Service]++
		})
	}
	if services["dns"] != 303 {
		t.Errorf("Zeek dns records %d, the README counts 53 + 250", services["dns"])
	}
	eve := 0
	eachLine(t, filepath.Join(dir, "suricata/eve-small.json"), func(line []byte, ln int) {
		eve++
		ev := n.Parse(line, events.Source{Protocol: "file"}, received)
		if ev.ParseError != "" || ev.Product != "suricata" || ev.Service == "" || ev.EventTime.Year() != 2018 {
			t.Fatalf("eve:%d: %s/%s %v %q", ln, ev.Product, ev.Service, ev.EventTime, ev.ParseError)
		}
		if ev.Service == "alert" && ev.Fields["alert.signature"] != "ET POLICY Observed IP Lookup Domain (l2 .io in TLS SNI)" {
			t.Fatalf("eve alert: %v", ev.Fields)
		}
	})
	if eve != 8 {
		t.Errorf("%d EVE records, want 8", eve)
	}
	cp := 0
	eachLine(t, filepath.Join(dir, "firewall/checkpoint_cef.log"), func(line []byte, ln int) {
		cp++
		ev := n.Parse(line, events.Source{Protocol: "file"}, received)
		if ev.ParseError != "" || ev.Source.Format != FormatCEF || ev.Product != "checkpoint" || ev.Category != "firewall" {
			t.Fatalf("checkpoint:%d: %s %s/%s %q", ln, ev.Source.Format, ev.Product, ev.Category, ev.ParseError)
		}
		if ev.Fields["action"] == nil {
			t.Fatalf("checkpoint:%d: no action: %v", ln, ev.Fields)
		}
	})
	if cp != 3 {
		t.Errorf("%d Check Point records, want 3", cp)
	}
	// FortiGate: a JSON array of Sentinel CommonSecurityLog rows.
	b, err := os.ReadFile(filepath.Join(dir, "firewall/fortigate_commonsecuritylog.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 2 {
		t.Fatalf("fortigate: %d rows, %v", len(rows), err)
	}
	for i, row := range rows {
		ev := n.Parse(row, events.Source{Protocol: "file"}, received)
		if ev.ParseError != "" || ev.Product != "fortigate" || ev.Category != "firewall" || ev.Fields["dst_port"] != 3389.0 {
			t.Fatalf("fortigate %d: %s/%s dst_port %v %q", i, ev.Product, ev.Category, ev.Fields["dst_port"], ev.ParseError)
		}
		if ev.EventTime.Year() != 2022 {
			t.Errorf("fortigate %d: time %v from %v", i, ev.EventTime, ev.Fields["TimeGenerated"])
		}
	}
}

// TestCloudSamples parses the Entra ID and Microsoft 365 samples as JSON
// and checks their log sources; the Sentinel SecurityEvent rows are
// Windows events.
func TestCloudSamples(t *testing.T) {
	dir := needSamples(t, "cloud")
	n := newNormaliser(t, Options{})
	cases := []struct {
		file, product, service string
		count                  int
	}{
		{"entra-id/signinlogs_eventhub.json", "azure", "signinlogs", 1},
		{"otrf-goldensaml/AADAuditEvents.json", "azure", "auditlogs", 4},
		{"otrf-goldensaml/OfficeActivityEvents.json", "m365", "audit", 1},
		{"otrf-goldensaml/WindowsEvents.json", "windows", "", 38},
		{"otrf-goldensaml/Microsoft365DefenderEvents.json", "", "", 9},
	}
	for _, c := range cases {
		got := 0
		eachLine(t, filepath.Join(dir, c.file), func(line []byte, ln int) {
			got++
			ev := n.Parse(line, events.Source{Protocol: "file"}, received)
			if ev.ParseError != "" || ev.EventTime.Equal(received) {
				t.Fatalf("%s:%d: %q time %v", c.file, ln, ev.ParseError, ev.EventTime)
			}
			if ev.Product != c.product || (c.service != "" && ev.Service != c.service) {
				t.Fatalf("%s:%d: %s/%s, want %s/%s", c.file, ln, ev.Product, ev.Service, c.product, c.service)
			}
		})
		if got != c.count {
			t.Errorf("%s: %d records, want %d", c.file, got, c.count)
		}
	}
}
