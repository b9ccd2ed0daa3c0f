package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// slowDecode is what decodeEventJSON must agree with: encoding/json.
func slowDecode(data []byte) (Event, []byte, error) {
	var w streamEvent
	err := json.Unmarshal(data, &w)
	return w.Event, w.Fields, err
}

// sameDecode checks that where decodeEventJSON decodes data, encoding/json
// decodes it to the same event and fields.
func sameDecode(t *testing.T, data []byte) (handled bool) {
	t.Helper()
	ev, fields, ok := decodeEventJSON(data, string(data))
	if !ok {
		return false
	}
	want, wantFields, err := slowDecode(data)
	if err != nil {
		t.Fatalf("%q: decoded by hand, but encoding/json says %v", data, err)
	}
	if !reflect.DeepEqual(ev, want) || !bytes.Equal(fields, wantFields) {
		t.Fatalf("%q:\nby hand        %+v fields %s\nencoding/json  %+v fields %s", data, ev, fields, want, wantFields)
	}
	return true
}

// The hand-written decoder reads what the encoders write — ingest's
// (same shape as encoding/json's without HTML escaping) and
// encoding/json's — to the same event as encoding/json, and gives up on
// what it does not handle alike.
func TestDecodeEventJSON(t *testing.T) {
	t1 := time.Date(2026, 12, 6, 13, 0, 0, 123456789, time.UTC)
	evs := []Event{
		{ID: "a", Org: "RJ1", ReceivedAt: t1, EventTime: t1.Add(-time.Hour), Source: Source{Protocol: "syslog-tcp", Addr: "192.0.2.1:514", Format: "rfc5424", Host: "web1"},
			Product: "linux", Service: "sshd", Category: "authentication", Raw: "<13>1 2026-12-06T13:00:00Z web1 sshd - - - Failed password for root",
			Fields: map[string]any{"message": "Failed password", "n": float64(3), "x": 1.5, "ok": true, "none": nil, "list": []any{"a", float64(1)}, "nested": map[string]any{"k": "v"}}},
		{ID: "b", Org: "RJZ", ReceivedAt: t1, Raw: "tab\there \"quoted\" back\\slash\nnewline \x01 ctl <b> & é 中文 \u2028 😀", ParseError: "no parser matched", Truncated: true,
			Fields: map[string]any{"CommandLine": `cmd.exe /c "a <b> & c"`, "path": `C:\Windows\System32`}},
		{ID: "c", Org: "X26", EventTime: time.Date(2021, 8, 2, 13, 32, 7, 0, time.FixedZone("", 3600))},
	}
	for _, e := range evs {
		plain, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		for _, data := range [][]byte{plain, bytes.TrimSpace(b.Bytes()), b.Bytes(), []byte("  " + string(plain) + " \r")} {
			if !sameDecode(t, data) {
				t.Errorf("%s: not decoded by hand", data)
			}
		}
	}
	// Valid JSON it leaves to encoding/json.
	for _, data := range []string{
		`{"ID":"a","org":"RJ1"}`,               // a key in another case
		`{"id":"a","org":"RJ1","extra":1}`,     // a key Event does not have
		`{"id":null,"org":"RJ1"}`,              // null for a string
		`{"id":"\ud83d\ude00","org":"RJ1"}`,    // a surrogate pair
		`{"id":"a","org":"RJ1","truncated":1}`, // not a bool
		`{"id":"a","org":"RJ1","source":null}`, // null for the source
		`{"id":"a","org":"RJ1","fields":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, // deeper than it follows
	} {
		if sameDecode(t, []byte(data)) {
			t.Errorf("%s: decoded by hand", data)
		}
	}
	// Not JSON, or not an event: never decoded by hand.
	for _, data := range []string{
		``, `{`, `{"id":"a"`, `{"id":"a",}`, `{"id":"a"}x`, `{"id":"a\x01"}`, `{"id":"a\q"}`, `{"id":"\u12"}`,
		`{"id":"a","fields":{"x":01}}`, `{"id":"a","fields":{"x":1.}}`, `{"id":"a","fields":{"x":-}}`, `{"id":"a","fields":{"x":1e}}`,
		`{"id":"a","fields":{"x":tru}}`, `{"id":"a","fields":[1,]}`, `{"id":"a","fields":{"a":1 "b":2}}`,
		`{"id":"a","received_at":"yesterday"}`, `{"id":"a","received_at":"2026-12-06T25:00:00Z"}`, "{\"id\":\"\xff\"}",
	} {
		if sameDecode(t, []byte(data)) {
			t.Errorf("%q: decoded by hand", data)
		}
	}
}

// FuzzDecodeEventJSON: whatever the hand-written decoder accepts,
// encoding/json decodes to the same event; it never panics.
func FuzzDecodeEventJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","org":"RJ1","received_at":"2026-12-06T13:00:00.123Z","event_time":"2026-12-06T13:00:00Z","source":{"protocol":"syslog-tcp","addr":"192.0.2.1:514"},"fields":{"message":"x","n":1,"l":[true,null,-1.5e3]},"raw":"a\"b\\c\n\u00e9","truncated":true,"parse_error":"e"}`,
		`{"id":"\u2028","org":"R","fields":{}}`,
		`{"id":"a","org":"RJ1","fields":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameDecode(t, data)
		_, _ = AppendStreamEvents(nil, data)
	})
}

// BenchmarkDecodeStreamEvent: one syslog event of the stream, by hand and
// with encoding/json.
func BenchmarkDecodeStreamEvent(b *testing.B) {
	line := []byte(`{"id":"5b2b8f0c9b1d4e0f8a7c6d5e4f3a2b1c","org":"ENG","received_at":"2026-12-06T18:50:51.155123456Z","event_time":"2026-12-06T18:50:51.155Z","source":{"protocol":"syslog-tcp","addr":"127.0.0.1:40112","format":"rfc5424","host":"localhost"},"product":"linux","fields":{"syslog.facility":"auth","syslog.severity":"notice","syslog.appname":"prg00000","syslog.procid":"1234","syslog.msgid":"-","message":"seq: 0000000000, thread: 0000, runid: 1733510000, stamp: 2026-12-06T18:50:51 PADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADD","host.name":"localhost"},"raw":"<38>1 2026-12-06T18:50:51+00:00 localhost prg00000 1234 - - \ufeffseq: 0000000000, thread: 0000, runid: 1733510000, stamp: 2026-12-06T18:50:51 PADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADD"}`)
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeStreamEvent(line); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A flow record's event as the flow listener writes it: short fields,
	// many of them numbers.
	flow := []byte(`{"id":"1a24acbd0a232dc60b8806498ebc7c9d","org":"RX1","received_at":"2026-12-07T19:43:51.597235556Z","event_time":"2026-12-06T10:00:00.93Z","source":{"protocol":"netflow","addr":"192.0.2.1:9995","format":"netflow-v9"},"product":"netflow","service":"netflow","fields":{"version":9,"exporter":"192.0.2.1","src_ip":"10.1.0.3","dst_ip":"192.168.2.12","src_port":40014,"dst_port":53,"proto":"udp","proto_number":17,"bytes":561,"packets":3,"start":"2026-12-06T10:00:00.930Z","end":"2026-12-06T10:00:00.992Z","duration":0.062,"direction":"ingress","end_reason":1,"source.ip":"10.1.0.3","source.port":40014,"destination.ip":"192.168.2.12","destination.port":53},"raw":"netflow-v9 192.0.2.1 udp 10.1.0.3:40014 > 192.168.2.12:53 packets=3 bytes=561 start=2026-12-06T10:00:00.930Z end=2026-12-06T10:00:00.992Z"}`)
	b.Run("hand-flow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeStreamEvent(flow); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := slowDecode(line); err != nil {
				b.Fatal(err)
			}
		}
	})
}
