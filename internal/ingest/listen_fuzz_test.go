package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"
)

// FuzzRELPFrame reads arbitrary bytes as a RELP session: frames are
// returned within the size limit, and anything else is one of the
// errors that end a session.
func FuzzRELPFrame(f *testing.F) {
	f.Add([]byte("1 open 85 relp_version=0\nrelp_software=librelp,1.11.0,https://www.rsyslog.com\ncommands=syslog\n2 syslog 5 <13>a\n3 close 0\n"), uint16(0))
	f.Add([]byte("1 syslog 10 0123456789\n"), uint16(4))
	f.Add([]byte("\n\n1 syslog 3 abcd\n"), uint16(0))
	f.Add([]byte("99999999999 syslog 1 a\n"), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		limit := int(max)
		if limit == 0 {
			limit = DefaultMaxMessage
		}
		rr := &relpReader{r: bufio.NewReader(bytes.NewReader(data)), max: limit}
		for i := 0; ; i++ {
			fr, err := rr.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errRELPSyntax) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(fr.data) > limit || fr.command == "" {
				t.Fatalf("frame %+v over %d", fr, limit)
			}
			if i > len(data) {
				t.Fatalf("%d frames from %d bytes", i, len(data))
			}
		}
	})
}

// FuzzBulk parses arbitrary bodies as Elasticsearch bulk requests: no
// panic, and every accepted event is the sender's organisation's.
func FuzzBulk(f *testing.F) {
	for _, name := range []string{"winlogbeat8.ndjson", "filebeat8.ndjson", "fluentbit.ndjson"} {
		b, err := os.ReadFile("testdata/bulk/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{\"update\":{}}\n{}\n{\"delete\":{}}\n{\"create\":{}}\n{\"org\":\"X\"}\n"))
	norm, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	h := &BulkHandler{httpBase{o: HTTPOptions{Normaliser: norm}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		items, evs, err := h.parseBulk(data, Sender{Org: "RJ1"}, "idx", netip.MustParseAddrPort("192.0.2.1:1"), time.Unix(0, 0))
		if err != nil {
			return
		}
		for _, ev := range evs {
			if ev.Org != "RJ1" || ev.ID == "" {
				t.Fatalf("event %+v", ev)
			}
		}
		accepted := 0
		for _, it := range items {
			if it.ev >= 0 {
				accepted++
			} else if it.item.Error == nil {
				t.Fatalf("refused item without an error: %+v", it)
			}
		}
		if accepted != len(evs) {
			t.Fatalf("%d accepted items, %d events", accepted, len(evs))
		}
	})
}

// FuzzOrgMap parses arbitrary mapping files: an accepted one maps every
// address to a valid organisation code.
func FuzzOrgMap(f *testing.F) {
	f.Add([]byte("default: RJ1\nlisteners:\n  relp: RQM\nsenders:\n  - match: 10.0.0.0/8\n    org: R1H\n  - match: ::1\n    org: RJ1\n"))
	f.Add([]byte(""))
	f.Add([]byte("senders:\n  - match: 10.0.0.1/8\n    org: R1H\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := parseOrgMap(data)
		if err != nil {
			return
		}
		m := &OrgMap{root: "ENG"}
		m.table.Store(tab)
		for _, a := range []string{"10.1.2.3", "::1", "192.0.2.1", "::ffff:10.0.0.1"} {
			if org := m.Org(ListenerRELP, netip.MustParseAddr(a)); !orgCode().MatchString(org) {
				t.Fatalf("%s maps to %q", a, org)
			}
		}
	})
}
