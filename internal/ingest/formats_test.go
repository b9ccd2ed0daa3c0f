package ingest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkFields fails unless every want field is in got with the same value.
func checkFields(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

// checkpointCEF is the first line of ../shared/data/events/network/firewall/checkpoint_cef.log.
const checkpointCEF = `CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|https|Unknown|act=Accept destinationTranslatedAddress=0.0.0.0 destinationTranslatedPort=0 deviceDirection=0 rt=1543270652000 sourceTranslatedAddress=192.168.103.254 sourceTranslatedPort=35398 spt=49363 dpt=443 cs2Label=Rule Name layer_name=Network layer_uuid=b406b732-2437-4848-9741-6eae1f5bf112 match_id=4 parent_rule=0 rule_action=Accept rule_uid=9e5e6e74-aa9a-4693-b9fe-53712dd27bea ifname=eth0 logid=0 loguid={0x5bfc70fc,0x1,0xfe65a8c0,0xc0000001} origin=192.168.101.254 originsicname=CN\=R80,O\=R80_M..6u6bdo sequencenum=1 version=5 dst=52.173.84.157 inzone=Internal nat_addtnl_rulenum=1 nat_rulenum=4 outzone=External product=VPN-1 & FireWall-1 proto=6 service_id=https src=192.168.101.100 cs5Label=Matched Category cs5=Business / Economy deviceCustomDate2=1508150533713 deviceCustomDate2Label=This field is made up`

func TestParseCEF(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     map[string]any
	}{
		{"check point", checkpointCEF, map[string]any{
			"cefVersion": "0", "deviceVendor": "Check Point", "deviceProduct": "VPN-1 & FireWall-1", "deviceVersion": "Check Point",
			"deviceEventClassId": "Log", "name": "https", "severity": "Unknown", "act": "Accept", "cs2Label": "Rule Name",
			"originsicname": "CN=R80,O=R80_M..6u6bdo", "product": "VPN-1 & FireWall-1", "cs5": "Business / Economy",
			"deviceCustomDate2Label": "This field is made up", "src": "192.168.101.100", "rt": "1543270652000",
		}},
		// The CEF standard's own examples of escapes.
		{"header escapes", `CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1`, map[string]any{
			"name": "detected a | in message", "act": `blocked a \`, "dst": "1.1.1.1",
		}},
		{"extension escapes", `CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1 msg=line1\nline2`, map[string]any{
			"name": "detected a = in message", "act": "blocked a =", "dst": "1.1.1.1", "msg": "line1\nline2",
		}},
		{"empty extension", `CEF:0|a|b|c|d|e|1|`, map[string]any{"severity": "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]any{}
			if err := ParseCEF(c.in, m); err != nil {
				t.Fatal(err)
			}
			checkFields(t, m, c.want)
		})
	}
	for _, bad := range []string{"", "CEF", "CEF:0|a|b|c|d|e", `CEF:0|a|b|c|d|e|1\|x`} {
		if err := ParseCEF(bad, map[string]any{}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseLEEF(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     map[string]any
	}{
		// IBM's LEEF guide examples.
		{"1.0 tab", "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black", map[string]any{
			"leefVersion": "1.0", "deviceVendor": "Microsoft", "deviceProduct": "MSExchange", "deviceVersion": "4.0 SP1", "deviceEventClassId": "15345",
			"src": "192.0.2.0", "usrName": "joe.black", "dstPort": "21",
		}},
		{"2.0 caret", "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21", map[string]any{
			"leefVersion": "2.0", "deviceVendor": "Lancope", "src": "10.0.1.8", "dstPort": "21",
		}},
		{"2.0 hex", "LEEF:2.0|Lancope|StealthWatch|1.0|41|x5E|src=10.0.1.8^dst=10.0.0.5", map[string]any{"src": "10.0.1.8", "dst": "10.0.0.5"}},
		{"2.0 no delimiter field", "LEEF:2.0|V|P|1|E|src=1.2.3.4\tdst=5.6.7.8", map[string]any{"src": "1.2.3.4", "dst": "5.6.7.8"}},
		{"value with =", "LEEF:1.0|V|P|1|E|url=http://x/?a=b\tx=y", map[string]any{"url": "http://x/?a=b", "x": "y"}},
		{"no attributes", "LEEF:1.0|V|P|1|E", map[string]any{"deviceEventClassId": "E"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]any{}
			if err := ParseLEEF(c.in, m); err != nil {
				t.Fatal(err)
			}
			checkFields(t, m, c.want)
		})
	}
	if err := ParseLEEF("LEEF:1.0|V|P", map[string]any{}); err == nil {
		t.Error("a short header parsed")
	}
}

func TestParseKV(t *testing.T) {
	// A FortiGate traffic log as FortiOS 6 sends it, and an auditd USER_LOGIN body.
	m := map[string]any{}
	err := ParseKV(`date=2019-05-10 time=11:37:47 logid="0000000013" type="traffic" subtype="forward" srcip=10.1.100.155 action="deny" msg="a \"quoted\" word" empty="" word`, m)
	if err != nil {
		t.Fatal(err)
	}
	checkFields(t, m, map[string]any{"date": "2019-05-10", "logid": "0000000013", "srcip": "10.1.100.155", "action": "deny", "msg": `a "quoted" word`, "empty": ""})
	if _, ok := m["word"]; ok {
		t.Error("a word without = became a field")
	}
	m = map[string]any{}
	if err := ParseKV(`op=login acct='root' res=failed`, m); err != nil || m["acct"] != "root" {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"", "no pairs here", `a="open`} {
		if err := ParseKV(bad, map[string]any{}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestFlattenJSON(t *testing.T) {
	m := map[string]any{}
	err := FlattenJSON(`{"a":{"b":1,"c":{"d":"x\u00e9\ud83d\ude00\n"}},"l":[1,"two",true,null],"o":[{"k":"v"},[3]],"n":null,"big":-9214364837600034816,"f":1.5e3,"e":[],"esc\"key":"\/"}`, m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a.b": 1.0, "a.c.d": "xé😀\n", "l": []any{1.0, "two", true}, "o.0.k": "v", "o.1": []any{3.0},
		"big": "-9214364837600034816", "f": 1500.0, "e": []any{}, `esc"key`: "/",
	}
	checkFields(t, m, want)
	if _, ok := m["n"]; ok {
		t.Error("null became a field")
	}
	if len(m) != len(want) {
		t.Errorf("%d fields, want %d: %v", len(m), len(want), m)
	}
	for _, c := range []struct{ in, want string }{
		{``, "byte 0: expected a JSON object"},
		{`[1]`, "expected a JSON object"},
		{`{"a":}`, "byte 5: expected a value"},
		{`{"a":1`, "object not closed"},
		{`{"a":"x}`, "string not closed"},
		{`{"a":1}x`, "text after the JSON object"},
		{`{"a":01}`, "expected ',' or '}'"},
		{`{"a":"\x"}`, "bad escape"},
		{`{"a":"\u12"}`, `bad \u escape`},
		{`{"a":-}`, "expected digits"},
		{strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), "nested too deeply"},
	} {
		err := FlattenJSON(c.in, map[string]any{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: %v, want %q", c.in, err, c.want)
		}
	}
}

func TestParseAuditd(t *testing.T) {
	m := map[string]any{}
	// From ../shared/data/events/linux/audit-userspace/auparse_test3.log.
	ts, err := ParseAuditd(`node=auditdtest.a1959.org type=SYSCALL msg=audit(1451781471.394:194435): arch=c000003e syscall=23 success=yes exit=1 a0=c a1=56420184ade0 a2=564201867510 a3=0 items=0 ppid=1271 pid=1281 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=1 comm="sshd" exe="/usr/sbin/sshd" subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 key=(null)`, m)
	if err != nil {
		t.Fatal(err)
	}
	if !ts.Equal(time.Date(2016, 1, 3, 0, 37, 51, 394000000, time.UTC)) {
		t.Errorf("time %v", ts)
	}
	checkFields(t, m, map[string]any{"node": "auditdtest.a1959.org", "type": "SYSCALL", "serial": "194435", "comm": "sshd", "exe": "/usr/sbin/sshd", "key": "(null)"})
	m = map[string]any{}
	if _, err := ParseAuditd(`type=USER_LOGIN msg=audit(1452008811.467:1093): pid=1345 uid=0 auid=1000 ses=3 msg='op=login id=1000 exe="/usr/sbin/sshd" hostname=? addr=10.0.2.2 terminal=/dev/pts/0 res=success'`, m); err != nil {
		t.Fatal(err)
	}
	checkFields(t, m, map[string]any{"op": "login", "res": "success", "addr": "10.0.2.2", "exe": "/usr/sbin/sshd"})
	for _, bad := range []string{"type=X", "type=X msg=audit(", "type=X msg=audit(abc:1): a=b", "node=x"} {
		if _, err := ParseAuditd(bad, map[string]any{}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestEVTXDataArray checks the EventData shape some converters print,
// "Data":[{"@Name":…,"#text":…}], and the XML-attribute form of it.
func TestEVTXDataArray(t *testing.T) {
	n := newNormaliser(t, Options{})
	for _, in := range []string{
		`{"Event":{"System":{"Provider":{"@Name":"Microsoft-Windows-Sysmon"},"EventID":1,"TimeCreated":{"@SystemTime":"2024-05-01T10:00:00.123Z"},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC1"},"EventData":{"Data":[{"@Name":"Image","#text":"C:\\Windows\\System32\\cmd.exe"},{"@Name":"CommandLine","#text":"cmd /c whoami"},{"@Name":"RuleName"}]}}}`,
		`{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":"1","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00.123Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC1"},"EventData":{"Data":[{"#attributes":{"Name":"Image"},"#text":"C:\\Windows\\System32\\cmd.exe"},{"#attributes":{"Name":"CommandLine"},"#text":"cmd /c whoami"},{"#attributes":{"Name":"RuleName"}}]}}}`,
	} {
		ev := n.Parse([]byte(in), srcTCP, received)
		if ev.ParseError != "" || ev.Source.Format != FormatEVTX {
			t.Fatalf("%s %q", ev.Source.Format, ev.ParseError)
		}
		checkFields(t, ev.Fields, map[string]any{
			"Image": `C:\Windows\System32\cmd.exe`, "CommandLine": "cmd /c whoami", "RuleName": "", "EventID": 1.0,
			"Provider_Name": "Microsoft-Windows-Sysmon", "Computer": "PC1",
		})
		if ev.Category != "process_creation" || ev.Source.Host != "PC1" || !ev.EventTime.Equal(time.Date(2024, 5, 1, 10, 0, 0, 123000000, time.UTC)) {
			t.Errorf("%s %s %v", ev.Category, ev.Source.Host, ev.EventTime)
		}
		for k := range ev.Fields {
			if strings.HasPrefix(k, "Event.") {
				t.Errorf("left %s", k)
			}
		}
	}
}

// TestWindowsSigmaNames: event-data names with spaces (Defender's "Threat
// Name") are stripped of them in every Windows shape, as Sigma's rules
// specification names them (ThreatName), so Defender rules match.
func TestWindowsSigmaNames(t *testing.T) {
	n := newNormaliser(t, Options{})
	for _, in := range []string{
		`{"Event":{"System":{"EventID":1119,"Channel":"Microsoft-Windows-Windows Defender/Operational","Computer":"PC1"},"EventData":{"Threat Name":"Virus:DOS/EICAR_Test_File","Source Name":"Real-Time Protection"}}}`,
		`{"Event":{"System":{"EventID":1119,"Channel":"Microsoft-Windows-Windows Defender/Operational","Computer":"PC1"},"EventData":{"Data":[{"@Name":"Threat Name","#text":"Virus:DOS/EICAR_Test_File"},{"@Name":"Source Name","#text":"Real-Time Protection"}]}}}`,
		`{"winlog":{"channel":"Microsoft-Windows-Windows Defender/Operational","event_id":1119,"computer_name":"PC1","event_data":{"Threat Name":"Virus:DOS/EICAR_Test_File","Source Name":"Real-Time Protection"}}}`,
		`{"EventID":1119,"Channel":"Microsoft-Windows-Windows Defender/Operational","Hostname":"PC1","Threat Name":"Virus:DOS/EICAR_Test_File","Source Name":"Real-Time Protection"}`,
	} {
		ev := n.Parse([]byte(in), srcTCP, received)
		if ev.ParseError != "" {
			t.Fatalf("%s %q", ev.Source.Format, ev.ParseError)
		}
		checkFields(t, ev.Fields, map[string]any{"ThreatName": "Virus:DOS/EICAR_Test_File", "SourceName": "Real-Time Protection", "EventID": 1119.0})
		if ev.Service != "windefend" {
			t.Errorf("%s: service %q", ev.Source.Format, ev.Service)
		}
	}
}

// TestWinlogbeat8 checks Winlogbeat 7/8's winlog.* shape (the 6.x shape
// is in the shared samples).
func TestWinlogbeat8(t *testing.T) {
	n := newNormaliser(t, Options{})
	in := `{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"code":"1","kind":"event"},"host":{"name":"pc1.example.nhs.uk"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","provider_name":"Microsoft-Windows-Sysmon","computer_name":"pc1.example.nhs.uk","record_id":"42","event_data":{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all","ParentImage":"C:\\Windows\\System32\\cmd.exe"}}}`
	ev := n.Parse([]byte(in), srcTCP, received)
	if ev.ParseError != "" || ev.Source.Format != FormatWinlogbeat {
		t.Fatalf("%s %q", ev.Source.Format, ev.ParseError)
	}
	checkFields(t, ev.Fields, map[string]any{
		"EventID": 1.0, "Channel": "Microsoft-Windows-Sysmon/Operational", "CommandLine": "whoami /all",
		"winlog.event_data.CommandLine": "whoami /all", "Computer": "pc1.example.nhs.uk", "Provider_Name": "Microsoft-Windows-Sysmon",
	})
	if ev.Category != "process_creation" || ev.Service != "sysmon" {
		t.Errorf("%s/%s", ev.Service, ev.Category)
	}
}
