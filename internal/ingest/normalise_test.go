package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/events"
)

func TestNormaliseFormats(t *testing.T) {
	n := newNormaliser(t, Options{})
	for _, c := range []struct {
		name, in, format      string
		product, service, cat string
		host                  string
		time                  time.Time
		fields                map[string]any
	}{
		{"rfc5424", loggerLines.rfc5424Auth, FormatRFC5424, "linux", "sshd", "", "vm", time.Date(2026, 12, 6, 13, 14, 14, 767388000, time.UTC),
			map[string]any{"syslog.facility": 4.0, "syslog.severity": 4.0, "syslog.appname": "sshd", "syslog.procid": "9513", "syslog.msgid": "LOGIN", "sd.timeQuality.tzKnown": "1", "message": "Accepted publickey for alice"}},
		{"rfc3164 from a file", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186", FormatRFC3164, "linux", "sshd", "", "LabSZ", time.Date(2026, 12, 10, 6, 55, 46, 0, time.UTC),
			map[string]any{"syslog.hostname": "LabSZ", "syslog.appname": "sshd", "syslog.procid": "24200"}},
		{"CEF in rfc5424", loggerLines.rfc5424CEF, FormatCEF, "checkpoint", "", "firewall", "vm", time.Date(2026, 12, 6, 13, 14, 14, 811702000, time.UTC),
			map[string]any{"act": "Drop", "action": "Drop", "src_ip": "10.0.0.1", "syslog.appname": "app", "deviceVendor": "Check Point"}},
		{"CEF after a BSD header", "<134>Nov 27 2018 12:00:01 fw1 " + checkpointCEF, FormatCEF, "checkpoint", "", "firewall", "fw1", time.Date(2018, 11, 26, 22, 17, 32, 0, time.UTC),
			map[string]any{"dst_ip": "52.173.84.157", "syslog.hostname": "fw1"}},
		{"kv in rfc5424 (logger x=1)", `<155>1 2026-12-06T13:06:54.696032+00:00 vm app - ID47 [timeQuality tzKnown="1" isSynced="0"] x=1 y="two words"`, FormatKV, "", "", "", "vm", time.Date(2026, 12, 6, 13, 6, 54, 696032000, time.UTC),
			map[string]any{"x": "1", "y": "two words", "syslog.msgid": "ID47", "syslog.facility": 19.0}},
		{"JSON in rfc3164", `<13>Dec  6 13:06:54 dc1 nxlog: {"EventID":4688,"Channel":"Security","Hostname":"DC1","NewProcessName":"C:\\Windows\\System32\\cmd.exe","TimeCreated":"2026-12-06T13:06:50.000Z"}`, FormatWindowsFlat, "windows", "security", "process_creation", "DC1", time.Date(2026, 12, 6, 13, 6, 50, 0, time.UTC),
			map[string]any{"EventID": 4688.0, "syslog.appname": "nxlog", "Computer": "DC1"}},
		{"auditd over syslog", `<13>Dec  6 13:06:54 web1 audispd: node=web1 type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"`, FormatAuditd, "linux", "auditd", "", "web1", time.Date(2020, 11, 10, 7, 48, 16, 155000000, time.UTC),
			map[string]any{"a0": "arp", "serial": "92733"}},
		{"LEEF", "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^devTime=1714557600000", FormatLEEF, "", "", "", "", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
			map[string]any{"src": "10.0.1.8"}},
		{"FortiGate kv", `date=2019-05-10 time=11:37:47 devname="FG1" logid="0000000013" type="traffic" srcip=10.1.100.155 tz="+0100"`, FormatKV, "", "", "", "FG1", time.Date(2019, 5, 10, 10, 37, 47, 0, time.UTC),
			map[string]any{"srcip": "10.1.100.155"}},
		{"rsyslog file format", "2026-12-06T13:06:54.568438+00:00 vm app: x", FormatRFC3164, "", "", "", "vm", time.Date(2026, 12, 6, 13, 6, 54, 568438000, time.UTC),
			map[string]any{"syslog.appname": "app", "message": "x"}},
		{"Security 4688 flat", `{"EventID":4688,"Channel":"Security","Hostname":"PC1","NewProcessName":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c x","ParentProcessName":"C:\\Windows\\explorer.exe","@timestamp":"2024-05-01T10:00:00Z"}`, FormatWindowsFlat, "windows", "security", "process_creation", "PC1", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
			map[string]any{"Image": `C:\Windows\System32\cmd.exe`, "ParentImage": `C:\Windows\explorer.exe`, "CommandLine": "cmd /c x"}},
		{"FortiGate syslog (no header)", `<189>date=2019-05-10 time=11:37:47 devname="FG1" devid="FGT60D4614044725" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.1.100.155 action="deny"`, FormatKV, "fortigate", "", "firewall", "FG1", time.Date(2019, 5, 10, 11, 37, 47, 0, time.UTC),
			map[string]any{"src_ip": "10.1.100.155", "syslog.facility": 23.0, "syslog.severity": 5.0, "action": "deny"}},
		{"plain JSON", `{"@timestamp":"2024-05-01T10:00:00Z","host":{"name":"h1"},"message":"x"}`, FormatJSON, "", "", "", "h1", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
			map[string]any{"message": "x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := n.Parse([]byte(c.in+"\r\n"), srcTCP, received)
			if ev.ParseError != "" {
				t.Fatal(ev.ParseError)
			}
			if ev.Source.Format != c.format || ev.Product != c.product || ev.Service != c.service || ev.Category != c.cat || ev.Source.Host != c.host {
				t.Errorf("format %s %s/%s/%s host %q, want %s %s/%s/%s %q", ev.Source.Format, ev.Product, ev.Service, ev.Category, ev.Source.Host,
					c.format, c.product, c.service, c.cat, c.host)
			}
			if !ev.EventTime.Equal(c.time) {
				t.Errorf("event time %v, want %v", ev.EventTime, c.time)
			}
			checkFields(t, ev.Fields, c.fields)
			if ev.Raw != c.in+"\r\n" || ev.Source.Protocol != "syslog-tcp" || ev.ReceivedAt != received {
				t.Errorf("raw %q source %+v", ev.Raw, ev.Source)
			}
		})
	}
}

func TestNormaliseKeepsWhatItCannotParse(t *testing.T) {
	n := newNormaliser(t, Options{})
	for _, c := range []struct{ in, format, err string }{
		{`<13>1 yesterday vm app - - - x`, FormatRFC5424, "rfc5424: byte 6: TIMESTAMP is not RFC 3339"},
		{`{"EventID": 4624, "Channel": "Secu`, FormatJSON, "json: byte 34: string not closed"},
		{`CEF:0|truncated`, FormatCEF, "cef: byte 15: header has 2 of 8"},
		{`[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties`, FormatText, "no parser recognised the text"},
		{``, FormatText, "no parser recognised the text"},
	} {
		ev := n.Parse([]byte(c.in), srcTCP, received)
		if !strings.Contains(ev.ParseError, c.err) || ev.Source.Format != c.format {
			t.Errorf("%q: format %s error %q, want %s %q", c.in, ev.Source.Format, ev.ParseError, c.format, c.err)
		}
		if ev.Raw != c.in || ev.Fields["message"] != c.in || len(ev.Fields) != 1 || !ev.EventTime.Equal(received) || ev.Product != "" {
			t.Errorf("%q: kept %+v", c.in, ev)
		}
	}
	// A listener fixed to one format reports that format's error.
	cef := newNormaliser(t, Options{Format: FormatCEF})
	if ev := cef.Parse([]byte(loggerLines.rfc3164), srcTCP, received); !strings.HasPrefix(ev.ParseError, `cef: byte 0: expected "CEF:"`) {
		t.Errorf("fixed format: %q", ev.ParseError)
	}
	syslog := newNormaliser(t, Options{Format: FormatSyslog})
	for _, in := range []string{loggerLines.rfc3164, loggerLines.rfc5424} {
		if ev := syslog.Parse([]byte(in), srcTCP, received); ev.ParseError != "" || ev.Fields["message"] != "hello world" {
			t.Errorf("syslog listener: %q %v", ev.ParseError, ev.Fields)
		}
	}
}

func TestNormaliseTruncatesAndRepairs(t *testing.T) {
	n := newNormaliser(t, Options{MaxSize: 40})
	ev := n.Parse([]byte(loggerLines.rfc5424), srcTCP, received)
	if !ev.Truncated || ev.Raw != loggerLines.rfc5424[:40] {
		t.Errorf("truncated %v raw %q", ev.Truncated, ev.Raw)
	}
	// Cut in the middle of "é": the half rune becomes U+FFFD.
	n = newNormaliser(t, Options{})
	bad := []byte("<13>Dec  6 13:06:54 vm app: caf\xc3 \xff\xfe ok")
	ev = n.Parse(bad, srcTCP, received)
	if !utf8.ValidString(ev.Raw) || ev.Raw != "<13>Dec  6 13:06:54 vm app: caf\uFFFD \uFFFD ok" || ev.ParseError != "" {
		t.Errorf("raw %q error %q", ev.Raw, ev.ParseError)
	}
	if ev.Fields["message"] != "caf\uFFFD \uFFFD ok" {
		t.Errorf("message %q", ev.Fields["message"])
	}
	// Framer's cut is kept.
	ev = n.Normalise(Record{Raw: []byte(loggerLines.rfc3164), Truncated: true, Source: srcTCP, ReceivedAt: received})
	if !ev.Truncated {
		t.Error("the listener's truncation was lost")
	}
}

// TestEventIDStable checks the ID rules: redelivery (same bytes, a new
// connection from a new port, a later receive time) gives the same ID;
// another sender, protocol, sequence or text gives another.
func TestEventIDStable(t *testing.T) {
	n := newNormaliser(t, Options{})
	raw := []byte(loggerLines.rfc5424)
	a := n.Parse(raw, srcTCP, received)
	redelivered := n.Parse(raw, events.Source{Protocol: "syslog-tcp", Addr: "192.0.2.10:40000"}, received.Add(time.Hour))
	if a.ID != redelivered.ID || len(a.ID) != 32 {
		t.Fatalf("redelivery: %s vs %s", a.ID, redelivered.ID)
	}
	others := []events.Event{
		n.Parse(raw, events.Source{Protocol: "syslog-tcp", Addr: "192.0.2.11:51514"}, received),
		n.Parse(raw, events.Source{Protocol: "syslog-udp", Addr: "192.0.2.10:51514"}, received),
		n.Parse([]byte(loggerLines.rfc5424SD), srcTCP, received),
		n.Normalise(Record{Raw: raw, Source: srcTCP, ReceivedAt: received, Seq: 7}),
	}
	for i, o := range others {
		if o.ID == a.ID {
			t.Errorf("case %d: same ID", i)
		}
	}
	// An IPv6 sender's port is dropped too.
	v6a := n.Parse(raw, events.Source{Protocol: "syslog-tcp", Addr: "[2001:db8::1]:1"}, received)
	v6b := n.Parse(raw, events.Source{Protocol: "syslog-tcp", Addr: "[2001:db8::1]:2"}, received)
	if v6a.ID != v6b.ID {
		t.Error("IPv6 port in the ID")
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := New(Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "Format") {
		t.Errorf("bad format: %v", err)
	}
	if _, err := New(Options{MaxSize: -1}); err == nil || !strings.Contains(err.Error(), "MaxSize") {
		t.Errorf("bad size: %v", err)
	}
}

func TestLoadLogSources(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"rules:\n  - name: x\n", "rule x: product, service, service_field or category is required"},
		{"rules:\n  - name: x\n    product: p\n    categories: {1: a}\n", "rule x: categories need category_field"},
		{"rules:\n  - name: x\n    product: p\n    typo: 1\n", "field typo not found"},
		{"rules:\n  - name: x\n    product: p\n    category_field: a\n    refine: {1: {values: {a: b}}}\n", "refine 1: field is required"},
	} {
		if _, err := LoadLogSources([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
	// A new format is a rule: a made-up appliance's CEF, no code.
	ls, err := LoadLogSources([]byte("rules:\n  - name: acme\n    match: {deviceVendor: ACME}\n    product: acme\n    category: firewall\n    fields: {src: src_ip}\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := newNormaliser(t, Options{LogSources: ls})
	ev := n.Parse([]byte("CEF:0|ACME|Wall|1|1|deny|5|src=10.0.0.9"), srcTCP, received)
	if ev.Product != "acme" || ev.Category != "firewall" || ev.Fields["src_ip"] != "10.0.0.9" {
		t.Errorf("%s/%s %v", ev.Product, ev.Category, ev.Fields)
	}
	// Sysmon 12 is refined by EventType.
	std := newNormaliser(t, Options{})
	for typ, want := range map[string]string{"CreateKey": "registry_add", "DeleteValue": "registry_delete", "Other": "registry_event"} {
		ev := std.Parse([]byte(`{"EventID":12,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"h","EventType":"`+typ+`"}`), srcTCP, received)
		if ev.Category != want {
			t.Errorf("EventType %s: %s, want %s", typ, ev.Category, want)
		}
	}
}

// TestNormaliserConcurrent shares one Normaliser between goroutines, as
// listeners will; under -race it shows that parsing shares no mutable
// state.
func TestNormaliserConcurrent(t *testing.T) {
	n := newNormaliser(t, Options{})
	lines := []string{loggerLines.rfc5424SD, loggerLines.rfc3164PID, checkpointCEF, `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"h","Image":"x"}`}
	want := make([]string, len(lines))
	for i, l := range lines {
		want[i] = n.Parse([]byte(l), srcTCP, received).ID
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				k := i % len(lines)
				if ev := n.Parse([]byte(lines[k]), srcTCP, received); ev.ID != want[k] || ev.ParseError != "" {
					done <- fmt.Errorf("line %d: %s %q", k, ev.ID, ev.ParseError)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestNXLogEventTimeZone reads NXLog's zoneless EventTime in the
// listener's zone: the OTRF collector was four hours behind UTC.
func TestNXLogEventTimeZone(t *testing.T) {
	loc := time.FixedZone("EDT", -4*3600)
	n := newNormaliser(t, Options{Location: loc})
	ev := n.Parse([]byte(`{"EventID":5158,"Channel":"Security","Hostname":"MORDORDC","EventTime":"2020-09-01 21:43:29","SourceModuleType":"im_msvistalog"}`), srcTCP, received)
	if want := time.Date(2020, 9, 2, 1, 43, 29, 0, time.UTC); !ev.EventTime.Equal(want) {
		t.Errorf("event time %v, want %v", ev.EventTime, want)
	}
}

// TestLazyIDIsNormalisesID: a hunt normalises without IDs and fills in
// those of the events it reports; they must be the IDs ingest gives.
func TestLazyIDIsNormalisesID(t *testing.T) {
	n := newNormaliser(t, Options{MaxSize: 64})
	for i, raw := range []string{
		`{"EventID":1,"Image":"C:\\Windows\\cmd.exe"}`,
		"<34>1 2026-12-06T10:00:00Z host app - - - bad \xff byte",
		strings.Repeat("long line cut at the size limit ", 10),
		"",
	} {
		r := Record{Raw: []byte(raw), Source: srcTCP, ReceivedAt: received, Seq: int64(i + 7)}
		want := n.Normalise(r)
		got := n.NormaliseLazyID(r)
		FillID(&got, r.Seq)
		if got.ID != want.ID || want.ID == "" {
			t.Errorf("record %d: FillID gave %q, Normalise %q", i, got.ID, want.ID)
		}
	}
}
