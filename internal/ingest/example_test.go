package ingest_test

import (
	"fmt"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
)

func ExampleNormaliser_Parse() {
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		panic(err)
	}
	received := time.Date(2026, 12, 6, 13, 7, 0, 0, time.UTC)
	src := events.Source{Protocol: "syslog-udp", Addr: "192.0.2.10:514"}

	// What logger --rfc3164 -i -t sshd sends.
	ev := n.Parse([]byte("<38>Dec  6 13:06:57 web1 sshd[3357]: Accepted publickey for alice"), src, received)
	fmt.Println(ev.Source.Format, ev.Product, ev.Service, ev.Source.Host, ev.EventTime)
	fmt.Println(ev.Fields["syslog.appname"], ev.Fields["syslog.procid"], ev.Fields["message"])

	// A Sysmon process creation as NXLog ships it.
	ev = n.Parse([]byte(`{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"PC1","Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all","@timestamp":"2026-12-06T13:05:00.000Z"}`), src, received)
	fmt.Println(ev.Source.Format, ev.Product, ev.Service, ev.Category, ev.Fields["Computer"], ev.Fields["CommandLine"])

	// Text no parser reads is kept, with the reason.
	ev = n.Parse([]byte("CEF:0|cut short"), src, received)
	fmt.Println(ev.Raw, "|", ev.ParseError)
	// Output:
	// rfc3164 linux sshd web1 2026-12-06 13:06:57 +0000 UTC
	// sshd 3357 Accepted publickey for alice
	// windows-flat windows sysmon process_creation PC1 whoami /all
	// CEF:0|cut short | cef: byte 15: header has 2 of 8 '|'-separated fields
}
