package events

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

// TestDecodeFieldsAsEncodingJSON: the fields live detection decodes from
// the stream (flatjson for flat ones) are what encoding/json gives, and
// fields flatjson does not take (an object inside) still decode.
func TestDecodeFieldsAsEncodingJSON(t *testing.T) {
	for _, fields := range []map[string]any{
		{"EventID": 4688.0, "CommandLine": `C:\Windows\system32\cmd.exe /c "whoami"`, "Keywords": "0x8020000000000000",
			"list": []any{1.0, "two", nil, true}, "empty": []any{}, "none": nil, "u": "é😀\u2028", "big": 1e20},
		{"nested": map[string]any{"a": 1.0}, "x": "y"},
	} {
		ev := Event{ID: "e1", Org: "RJ1", ReceivedAt: time.Unix(1, 0).UTC(), EventTime: time.Unix(1, 0).UTC(), Raw: "raw", Fields: fields}
		line, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := AppendStreamEvents(nil, line)
		if err != nil || len(evs) != 1 {
			t.Fatalf("AppendStreamEvents: %d events, %v", len(evs), err)
		}
		decodeFields(evs, slog.Default())
		var want map[string]any
		b, _ := json.Marshal(fields)
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(evs[0].Fields, want) {
			t.Errorf("decoded %#v, want %#v", evs[0].Fields, want)
		}
	}
}
