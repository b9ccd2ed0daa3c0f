package ingest

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// The messages below are what util-linux 2.38.1's logger prints with
// --stderr --no-act (the exact bytes it would send), unless noted.
var loggerLines = struct {
	rfc5424, rfc5424SD, rfc5424Esc, rfc5424NoTime, rfc5424UTF8, rfc5424Auth, rfc5424CEF string
	rfc3164, rfc3164PID, rfc3164Local, rfc3164LocalPID, rfc3164Cron                     string
}{
	rfc5424:         `<13>1 2026-12-06T13:06:54.568438+00:00 vm app - - [timeQuality tzKnown="1" isSynced="0"] hello world`,
	rfc5424SD:       `<13>1 2026-12-06T13:14:14.779401+00:00 vm app - - [timeQuality tzKnown="1" isSynced="0"][exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] BOMless`,
	rfc5424Esc:      `<13>1 2026-12-06T13:14:14.784732+00:00 vm app - - [timeQuality tzKnown="1" isSynced="0"][x@1 q="a\"b\\c\]d"] esc`,
	rfc5424NoTime:   `<13>1 - vm app - - - x`,
	rfc5424UTF8:     `<13>1 2026-12-06T13:14:14.769553+00:00 vm app - - - héllo wörld`,
	rfc5424Auth:     `<36>1 2026-12-06T13:14:14.767388+00:00 vm sshd 9513 LOGIN [timeQuality tzKnown="1" isSynced="0"] Accepted publickey for alice`,
	rfc5424CEF:      `<13>1 2026-12-06T13:14:14.811702+00:00 vm app - - - CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|https|Unknown|act=Drop src=10.0.0.1 dst=10.0.0.2`,
	rfc3164:         `<13>Dec  6 13:06:54 vm app: hello world`,
	rfc3164PID:      `<13>Dec  6 13:06:57 vm app[3357]: with pid`,
	rfc3164Local:    `<13>Dec  6 13:06:54 app: msg`,
	rfc3164LocalPID: `<13>Dec  6 13:06:57 app[3358]: local pid`,
	rfc3164Cron:     `<166>Dec  6 13:14:14 vm CRON[9518]: (root) CMD (run-parts /etc/cron.hourly)`,
}

func TestParse5424(t *testing.T) {
	at := time.Date(2026, 12, 6, 13, 6, 54, 568438000, time.UTC)
	for _, c := range []struct {
		name, in string
		want     Syslog
	}{
		{"logger", loggerLines.rfc5424, Syslog{Facility: 1, Severity: 5, Version: 1, Timestamp: at, Hostname: "vm", AppName: "app",
			SD: []SDParam{{"timeQuality", "tzKnown", "1"}, {"timeQuality", "isSynced", "0"}}, Msg: "hello world"}},
		{"sd", loggerLines.rfc5424SD, Syslog{Facility: 1, Severity: 5, Version: 1, Timestamp: time.Date(2026, 12, 6, 13, 14, 14, 779401000, time.UTC), Hostname: "vm", AppName: "app",
			SD: []SDParam{{"timeQuality", "tzKnown", "1"}, {"timeQuality", "isSynced", "0"}, {"exampleSDID@32473", "iut", "3"}, {"exampleSDID@32473", "eventSource", "Application"}, {"exampleSDID@32473", "eventID", "1011"}}, Msg: "BOMless"}},
		{"escapes", loggerLines.rfc5424Esc, Syslog{Facility: 1, Severity: 5, Version: 1, Timestamp: time.Date(2026, 12, 6, 13, 14, 14, 784732000, time.UTC), Hostname: "vm", AppName: "app",
			SD: []SDParam{{"timeQuality", "tzKnown", "1"}, {"timeQuality", "isSynced", "0"}, {"x@1", "q", `a"b\c]d`}}, Msg: "esc"}},
		{"nil time", loggerLines.rfc5424NoTime, Syslog{Facility: 1, Severity: 5, Version: 1, Hostname: "vm", AppName: "app", Msg: "x"}},
		{"pid msgid", loggerLines.rfc5424Auth, Syslog{Facility: 4, Severity: 4, Version: 1, Timestamp: time.Date(2026, 12, 6, 13, 14, 14, 767388000, time.UTC), Hostname: "vm", AppName: "sshd", ProcID: "9513", MsgID: "LOGIN",
			SD: []SDParam{{"timeQuality", "tzKnown", "1"}, {"timeQuality", "isSynced", "0"}}, Msg: "Accepted publickey for alice"}},
		// RFC 5424 section 6.5, example 1 (BOM before the message) and 4 (SD only, no MSG; an element without parameters).
		{"rfc example 1", "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
			Syslog{Facility: 4, Severity: 2, Version: 1, Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3000000, time.UTC), Hostname: "mymachine.example.com", AppName: "su", MsgID: "ID47", Msg: "'su root' failed for lonvick on /dev/pts/8"}},
		{"rfc example 4", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"][examplePriority@32473]`,
			Syslog{Facility: 20, Severity: 5, Version: 1, Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3000000, time.UTC), Hostname: "mymachine.example.com", AppName: "evntslog", MsgID: "ID47",
				SD: []SDParam{{"exampleSDID@32473", "iut", "3"}, {ID: "examplePriority@32473"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse5424(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Timestamp.Equal(c.want.Timestamp) {
				t.Errorf("time %v, want %v", got.Timestamp, c.want.Timestamp)
			}
			got.Timestamp, c.want.Timestamp = time.Time{}, time.Time{}
			if !equalSyslog(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func equalSyslog(a, b Syslog) bool {
	if len(a.SD) != len(b.SD) {
		return false
	}
	for i := range a.SD {
		if a.SD[i] != b.SD[i] {
			return false
		}
	}
	a.SD, b.SD = nil, nil
	return a.Facility == b.Facility && a.Severity == b.Severity && a.Version == b.Version && a.Timestamp.Equal(b.Timestamp) &&
		a.Hostname == b.Hostname && a.AppName == b.AppName && a.ProcID == b.ProcID && a.MsgID == b.MsgID && a.Msg == b.Msg
}

func TestParse5424Errors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "byte 0: expected '<'"},
		{"<13>", "byte 4: expected VERSION"},
		{"<192>1 - - - - - -", "PRI over 191"},
		{"<13>2 - - - - - -", "unsupported syslog VERSION 2"},
		{"<13>1 yesterday vm app - - - x", "TIMESTAMP is not RFC 3339"},
		{"<13>1 - vm app - -", "byte 18: expected a space before STRUCTURED-DATA"},
		{`<13>1 - vm app - - [x a="b] m`, "PARAM-VALUE has no closing quote"},
		{`<13>1 - vm app - - [x a="b" m`, `byte 29: expected ="value" after m`},
		{`<13>1 - vm app - - [x a="b"`, "expected ']' closing [x]"},
		{`<13>1 - vm app - - [x a=b] m`, `expected ="value" after a`},
		{"<13>1 - vm app - - -x", "expected a space before MSG"},
	} {
		_, err := Parse5424(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func TestParse3164(t *testing.T) {
	now := time.Date(2026, 12, 6, 13, 20, 0, 0, time.UTC)
	dec6 := func(h, m, s int) time.Time { return time.Date(2026, 12, 6, h, m, s, 0, time.UTC) }
	for _, c := range []struct {
		name, in string
		want     Syslog
	}{
		{"logger", loggerLines.rfc3164, Syslog{Facility: 1, Severity: 5, Timestamp: dec6(13, 6, 54), Hostname: "vm", AppName: "app", Msg: "hello world"}},
		{"logger -i", loggerLines.rfc3164PID, Syslog{Facility: 1, Severity: 5, Timestamp: dec6(13, 6, 57), Hostname: "vm", AppName: "app", ProcID: "3357", Msg: "with pid"}},
		{"logger to /dev/log", loggerLines.rfc3164Local, Syslog{Facility: 1, Severity: 5, Timestamp: dec6(13, 6, 54), AppName: "app", Msg: "msg"}},
		{"logger to /dev/log -i", loggerLines.rfc3164LocalPID, Syslog{Facility: 1, Severity: 5, Timestamp: dec6(13, 6, 57), AppName: "app", ProcID: "3358", Msg: "local pid"}},
		{"cron", loggerLines.rfc3164Cron, Syslog{Facility: 20, Severity: 6, Timestamp: dec6(13, 14, 14), Hostname: "vm", AppName: "CRON", ProcID: "9518", Msg: "(root) CMD (run-parts /etc/cron.hourly)"}},
		{"rsyslog forward format", "<13>2026-12-06T13:06:54.568438+00:00 vm app: x", Syslog{Facility: 1, Severity: 5, Timestamp: time.Date(2026, 12, 6, 13, 6, 54, 568438000, time.UTC), Hostname: "vm", AppName: "app", Msg: "x"}},
		{"no PRI (a file)", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186", Syslog{Facility: -1, Severity: -1, Timestamp: time.Date(2026, 12, 10, 6, 55, 46, 0, time.UTC), Hostname: "LabSZ", AppName: "sshd", ProcID: "24200", Msg: "Invalid user webmaster from 173.234.31.186"}},
		{"tag with parentheses", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown", Syslog{Facility: -1, Severity: -1, Timestamp: time.Date(2026, 6, 14, 15, 16, 1, 0, time.UTC), Hostname: "combo", AppName: "sshd(pam_unix)", ProcID: "19939", Msg: "check pass; user unknown"}},
		{"year and CEF", "<134>Nov 27 2018 12:00:01 fw CEF:0|a|b|c|d|e|1|x=y", Syslog{Facility: 16, Severity: 6, Timestamp: time.Date(2018, 11, 27, 12, 0, 1, 0, time.UTC), Hostname: "fw", Msg: "CEF:0|a|b|c|d|e|1|x=y"}},
		{"millis and year after", "<14>Mar  1 09:00:00.123 2024 host prog: m", Syslog{Facility: 1, Severity: 6, Timestamp: time.Date(2024, 3, 1, 9, 0, 0, 123000000, time.UTC), Hostname: "host", AppName: "prog", Msg: "m"}},
		{"JSON after the host", `<13>Dec  6 13:06:54 vm {"a":"b:c"}`, Syslog{Facility: 1, Severity: 5, Timestamp: dec6(13, 6, 54), Hostname: "vm", Msg: `{"a":"b:c"}`}},
		{"key=value after the host", `<13>Dec  6 13:06:54 fg1 time=13:06:54 devname="fg1"`, Syslog{Facility: 1, Severity: 5, Timestamp: dec6(13, 6, 54), Hostname: "fg1", Msg: `time=13:06:54 devname="fg1"`}},
		{"no tag", "<13>Dec  6 13:06:54 vm hello world", Syslog{Facility: 1, Severity: 5, Timestamp: dec6(13, 6, 54), Hostname: "vm", Msg: "hello world"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse3164(c.in, now, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if !equalSyslog(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	// A December message read on 2 January belongs to the year before.
	got, err := Parse3164("<13>Dec 31 23:59:59 vm app: x", time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), time.UTC)
	if err != nil || got.Timestamp.Year() != 2026 {
		t.Errorf("new year: %v %v", got.Timestamp, err)
	}
	for _, bad := range []string{"", "<13>", "<13>hello", "Foo 10 06:55:46 x", "<13>Dec 32 10:00:00 x", "<13>Dec  6 25:00:00 x"} {
		if _, err := Parse3164(bad, now, time.UTC); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestLoggerLive runs the installed logger and parses what it prints, so
// a change in util-linux's output shows up here.
func TestLoggerLive(t *testing.T) {
	path, err := exec.LookPath("logger")
	if err != nil {
		testneed.Missing(t, "util-linux's logger (Debian bsdutils)", err)
		return
	}
	for _, args := range [][]string{
		{"--rfc5424", "-t", "app", "-i", "--msgid", "M1", "--sd-id", "x@1", "--sd-param", `a="b\"c"`, "hello live"},
		{"--rfc3164", "-t", "app", "-i", "hello live"},
		{"-t", "app", "hello live"},
	} {
		cmd := exec.Command(path, append([]string{"--socket-errors=off", "--stderr", "--no-act"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("logger %v: %v %s", args, err, out)
		}
		line := strings.TrimRight(string(out), "\n")
		n := newNormaliser(t, Options{})
		ev := n.Parse([]byte(line), srcTCP, time.Now())
		if ev.ParseError != "" || ev.Fields["syslog.appname"] != "app" || ev.Fields["message"] != "hello live" {
			t.Errorf("logger %v printed %q: %q %v", args, line, ev.ParseError, ev.Fields)
		}
		if time.Since(ev.EventTime) > time.Minute {
			t.Errorf("logger %v: event time %v", args, ev.EventTime)
		}
		if args[0] == "--rfc5424" && (ev.Fields["sd.x@1.a"] != `b"c` || ev.Fields["syslog.msgid"] != "M1" || ev.Fields["syslog.procid"] == nil) {
			t.Errorf("logger %v: %v", args, ev.Fields)
		}
	}
}
