package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Every parser of untrusted bytes has a fuzz target (make fuzz runs each).
// The seeds are the table tests' real lines plus, when the shared samples
// are beside the repository, the first lines of the matching sample files
// (read in place, never copied in); crashers the fuzzer finds are
// committed under testdata/fuzz/<Target>/ and replay in every go test.
// The targets call the parsers directly, not through Normalise, whose
// recover would hide a panic.

// sampleSeeds adds up to n lines of each sample file (relative to
// ../shared/data/events) to f, quietly adding none when they are absent:
// a fuzz run must not depend on them.
func sampleSeeds(f *testing.F, n int, files ...string) {
	for _, name := range files {
		path := filepath.Join(sharedEvents, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		i := 0
		eachLine(f, path, func(line []byte, _ int) {
			if i < n {
				f.Add(string(line))
			}
			i++
		})
	}
}

var syslogSeeds = []string{
	loggerLines.rfc5424, loggerLines.rfc5424SD, loggerLines.rfc5424Esc, loggerLines.rfc5424NoTime, loggerLines.rfc5424UTF8,
	loggerLines.rfc5424Auth, loggerLines.rfc5424CEF, loggerLines.rfc3164, loggerLines.rfc3164PID, loggerLines.rfc3164Local,
	loggerLines.rfc3164LocalPID, loggerLines.rfc3164Cron,
	"<134>Nov 27 2018 12:00:01 fw CEF:0|a|b|c|d|e|1|x=y", "<13>2026-12-06T13:06:54.568438+00:00 vm app: x",
	`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"][examplePriority@32473]`,
}

func FuzzSyslog5424(f *testing.F) {
	for _, s := range syslogSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse5424(s)
		if err != nil {
			var se *SyntaxError
			if !asSyntax(err, &se) || se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("error %v has no offset within the input", err)
			}
			return
		}
		if m.Version != 1 || m.Facility > 23 || m.Severity > 7 || !strings.HasSuffix(s, m.Msg) {
			t.Fatalf("%+v", m)
		}
		m.Fields(map[string]any{})
	})
}

func FuzzSyslog3164(f *testing.F) {
	for _, s := range syslogSeeds {
		f.Add(s)
	}
	sampleSeeds(f, 20, "linux/loghub/OpenSSH_2k.log", "linux/loghub/Linux_2k.log")
	now := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse3164(s, now, time.UTC)
		if err != nil {
			return
		}
		if !strings.HasSuffix(s, m.Msg) || (m.Timestamp.IsZero() && m.Facility < 0) {
			t.Fatalf("%+v", m)
		}
	})
}

func FuzzFraming(f *testing.F) {
	f.Add([]byte("31 <13>Dec  6 13:14:14 vm app: one31 <13>Dec  6 13:14:14 vm app: one"), uint16(0))
	f.Add([]byte(loggerLines.rfc3164+"\n"+loggerLines.rfc5424+"\r\n"), uint16(20))
	f.Add([]byte("<13>a\x00<13>b\x00"), uint16(3))
	f.Add([]byte("10 <13>abcdef3 <1>"), uint16(5))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		limit := int(max)
		if limit == 0 {
			limit = DefaultMaxMessage
		}
		fr := NewFramer(bytes.NewReader(data), int(max))
		read := 0
		for i := 0; ; i++ {
			frame, err := fr.Next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && err != ErrFraming {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(frame.Data) > limit {
				t.Fatalf("frame of %d bytes over %d", len(frame.Data), limit)
			}
			read += len(frame.Data)
			if i > len(data) {
				t.Fatalf("%d frames from %d bytes", i, len(data))
			}
		}
	})
}

func FuzzCEF(f *testing.F) {
	f.Add(checkpointCEF)
	f.Add(`CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1`)
	f.Add(`CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1 msg=line1\nline2`)
	sampleSeeds(f, 3, "network/firewall/checkpoint_cef.log")
	f.Fuzz(func(t *testing.T, s string) {
		m := map[string]any{}
		if err := ParseCEF(s, m); err != nil {
			return
		}
		if _, ok := m["severity"]; !ok {
			t.Fatalf("parsed without a severity: %v", m)
		}
	})
}

func FuzzLEEF(f *testing.F) {
	f.Add("LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly")
	f.Add("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5")
	f.Add("LEEF:2.0|Lancope|StealthWatch|1.0|41|x5E|src=10.0.1.8^dst=10.0.0.5")
	f.Fuzz(func(t *testing.T, s string) {
		m := map[string]any{}
		if err := ParseLEEF(s, m); err != nil {
			return
		}
		if _, ok := m["deviceEventClassId"]; !ok {
			t.Fatalf("parsed without an event ID: %v", m)
		}
	})
}

func FuzzKV(f *testing.F) {
	f.Add(`date=2019-05-10 time=11:37:47 logid="0000000013" type="traffic" msg="a \"quoted\" word" empty=""`)
	f.Add(`op=login acct='root' res=failed`)
	sampleSeeds(f, 12, "linux/otrf-auditd/sh_arp_cache_audit.log", "linux/audit-userspace/auparse_test3.log")
	f.Fuzz(func(t *testing.T, s string) {
		m := map[string]any{}
		if err := ParseKV(s, m); err == nil && len(m) == 0 {
			t.Fatal("no error and no pair")
		}
		// Audit records are key=value with a header; the same input
		// exercises that parser.
		_, _ = ParseAuditd(s, map[string]any{})
	})
}

func FuzzJSONFlatten(f *testing.F) {
	f.Add(`{"a":{"b":1,"c":{"d":"x\u00e9\ud83d\ude00\n"}},"l":[1,"two",true,null],"o":[{"k":"v"},[3]],"n":null,"big":-9214364837600034816}`)
	sampleSeeds(f, 5, "network/zeek/apt29_day1_combined_zeek.jsonl.gz", "network/suricata/eve-small.json",
		"cloud/entra-id/signinlogs_eventhub.json", "windows/otrf/empire_mimikatz_opth_winlogbeat.jsonl.gz")
	f.Fuzz(func(t *testing.T, s string) {
		m := map[string]any{}
		err := FlattenJSON(s, m)
		// Whatever encoding/json accepts as an object, FlattenJSON must too.
		if err != nil && utf8.ValidString(s) && json.Valid([]byte(s)) && strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "{") && !deep(s) {
			t.Fatalf("valid JSON refused: %v", err)
		}
	})
}

// deep reports input nested beyond maxJSONDepth, which FlattenJSON
// refuses on purpose.
func deep(s string) bool {
	d, max := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			d++
			max = maxInt(max, d)
		case '}', ']':
			d--
		}
	}
	return max > maxJSONDepth
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func FuzzEVTX(f *testing.F) {
	f.Add(`{"Event":{"System":{"Provider":{"@Name":"Microsoft-Windows-Sysmon"},"EventID":1,"TimeCreated":{"@SystemTime":"2024-05-01T10:00:00.123Z"},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC1"},"EventData":{"Data":[{"@Name":"Image","#text":"C:\\Windows\\System32\\cmd.exe"},{"@Name":"RuleName"}]}}}`)
	sampleSeeds(f, 5, "windows/evtx-attack-samples/evtx-attack-samples_execution.jsonl.gz", "windows/evtx-attack-samples/evtx-attack-samples_credential_access.jsonl.gz",
		"windows/otrf/empire_psexec_dcerpc_tcp_svcctl.jsonl.gz", "windows/otrf/schtask_create.jsonl.gz")
	ls, err := LoadLogSources(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, shape := range []func(map[string]any){windowsEVTX, windowsWinlogbeat, windowsFlat} {
			m := map[string]any{}
			if FlattenJSON(s, m) != nil {
				return
			}
			shape(m)
			windowsTime(m, time.UTC)
			ls.Apply(FormatEVTX, m)
		}
	})
}

func asSyntax(err error, se **SyntaxError) bool {
	s, ok := err.(*SyntaxError)
	*se = s
	return ok
}

// FuzzNormalise runs the whole entry point, detection and payloads
// included: Normalise recovers from a panic, so one shows here as an
// "internal parser error", which must never happen; Raw must be valid
// UTF-8 within the limit and every event must have its ID and time.
func FuzzNormalise(f *testing.F) {
	for _, s := range syslogSeeds {
		f.Add(s)
	}
	f.Add(checkpointCEF)
	f.Add(`<189>date=2019-05-10 time=11:37:47 devname="FG1" devid="FGT60D4614044725" logid="0000000013" vd="root" srcip=10.1.100.155`)
	f.Add(`<13>Dec  6 13:06:54 web1 audispd: node=web1 type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"`)
	f.Add("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^devTime=1714557600000")
	sampleSeeds(f, 3, "windows/evtx-attack-samples/evtx-attack-samples_execution.jsonl.gz", "windows/otrf/empire_mimikatz_opth_winlogbeat.jsonl.gz",
		"network/zeek/apt29_day1_combined_zeek.jsonl.gz", "network/suricata/eve-small.json")
	n, err := New(Options{MaxSize: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ev := n.Parse([]byte(s), srcTCP, received)
		if strings.HasPrefix(ev.ParseError, "internal parser error") {
			t.Fatal(ev.ParseError)
		}
		if !utf8.ValidString(ev.Raw) || len(ev.Raw) > 3*4096 || len(ev.ID) != 32 || ev.EventTime.IsZero() || ev.Fields == nil {
			t.Fatalf("%+v", ev)
		}
		if !utf8.ValidString(ev.ParseError) {
			t.Fatalf("parse error %q is not UTF-8", ev.ParseError)
		}
	})
}

// fuzzFlows decodes data after the primer datagrams (so that their
// templates are known and data sets decode), then makes every flow an
// event and encodes it: nothing may panic, every ID must be whole and the
// JSON encoder must take every event.
func fuzzFlows(t *testing.T, primers [][]byte, data []byte) {
	dec := NewNetFlowDecoder(TemplateOptions{MaxTemplates: 8})
	for _, p := range primers {
		_, _, _ = dec.Decode(testExporter, p, nil)
	}
	for range 2 { // the second time with what the input taught
		flows, _, err := dec.Decode(testExporter, data, nil)
		if err == nil && len(data) >= 2 && len(flows) > len(data) {
			t.Fatalf("%d flows from %d bytes", len(flows), len(data))
		}
		var buf []byte
		for i := range flows {
			ev := FlowEvent(&flows[i], netip.AddrPortFrom(testExporter, 2055), "RJ1", received, nil)
			if len(ev.ID) != 32 || ev.Raw == "" {
				t.Fatalf("%+v", ev)
			}
			// As the fields' map gave it before they were written as JSON.
			ref := newRefFlowSource(netip.AddrPortFrom(testExporter, 2055), "RJ1", received, nil).event(&flows[i])
			if a, b := roundTrip(t, &ev), roundTrip(t, &ref); !reflect.DeepEqual(a, b) {
				t.Fatalf("flow %d:\n got %s\nwant %s", i, mustJSON(t, a), mustJSON(t, b))
			}
			if buf, err = appendEventJSON(buf[:0], &ev); err != nil {
				t.Fatalf("flow %d: %v", i, err)
			}
		}
		if err != nil && len(flows) == 0 {
			ev := datagramEvent(data, netip.AddrPortFrom(testExporter, 2055), "RJ1", received, err)
			if _, err := appendEventJSON(nil, &ev); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func netflowSeeds(f *testing.F, names ...string) [][]byte {
	var all [][]byte
	for _, n := range names {
		for _, d := range loadSamples(f, n) {
			f.Add(d)
			all = append(all, d)
		}
	}
	return all
}

func FuzzNetFlowV5(f *testing.F) {
	netflowSeeds(f, "softflowd-v5")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 2 {
			data[0], data[1] = 0, 5
		}
		fuzzFlows(t, nil, data)
	})
}

func FuzzNetFlowV9(f *testing.F) {
	primers := netflowSeeds(f, "softflowd-v9")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 2 {
			data[0], data[1] = 0, 9
		}
		fuzzFlows(t, primers[:1], data)
	})
}

func FuzzIPFIX(f *testing.F) {
	primers := netflowSeeds(f, "softflowd-ipfix", "softflowd-ipfix-milli")
	f.Add(ipfixMessage(1, 1, append(ipfixSet(2, ipfixTemplate(256, [][3]uint32{{8, 4, 0}, {82, 65535, 0}, {1, 8, 29305}, {999, 65535, 9}})...),
		ipfixSet(256, 1, 2, 3, 4, 2, 'a', 'b', 0, 0, 0, 0, 0, 0, 0, 9, 255, 0, 1, 'z', 0)...)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 2 {
			data[0], data[1] = 0, 10
		}
		fuzzFlows(t, [][]byte{primers[0], primers[2]}, data)
	})
}

// FuzzJSONString checks FlattenJSON's strings against encoding/json's:
// whatever string literal encoding/json decodes, FlattenJSON decodes to
// the same text (escapes, surrogate pairs, lone surrogates as U+FFFD).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"C:\\Windows\\cmd.exe"`, `"q\"uote\\\""`, `"\u00e9\ud83d\ude00\ud800x"`, `"\/\b\f\n\r\t"`, `"\\\\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		doc := `{"k":` + lit + `}`
		var want map[string]any
		if json.Unmarshal([]byte(doc), &want) != nil || !utf8.ValidString(lit) {
			return
		}
		ws, ok := want["k"].(string)
		if !ok {
			return
		}
		m := map[string]any{}
		if err := FlattenJSON(doc, m); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if m["k"] != ws {
			t.Fatalf("%s: got %q, encoding/json %q", doc, m["k"], ws)
		}
	})
}
