package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eventHubMessage wraps n copies of the Entra ID sign-in sample (each
// its own sign-in: id and time changed) in an Azure Monitor Event Hub
// message, {"records":[…]}.
func eventHubMessage(t *testing.T, n int) []byte {
	t.Helper()
	rec := readSample(t, "entra-id/signinlogs_eventhub.json")[0]
	at, err := time.Parse(time.RFC3339Nano, rec["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var recs []any
	for i := range n {
		c := map[string]any{}
		for k, v := range rec {
			c[k] = v
		}
		props := map[string]any{}
		for k, v := range rec["properties"].(map[string]any) {
			props[k] = v
		}
		props["id"] = fmt.Sprintf("%s-%d", props["id"], i)
		c["properties"] = props
		c["time"] = at.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		recs = append(recs, c)
	}
	b, err := json.Marshal(map[string]any{"records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The file import splits an Event Hub message into its records, even one
// over the ordinary line limit; other lines are cut at it as before.
func TestAzureRecordsFile(t *testing.T) {
	msg := eventHubMessage(t, 40)
	if len(msg) <= DefaultMaxMessage {
		t.Fatalf("the message is %d bytes; the test wants one over %d", len(msg), DefaultMaxMessage)
	}
	plain, err := os.ReadFile(filepath.Join(needSamples(t, "cloud"), "entra-id/signinlogs_eventhub.json"))
	if err != nil {
		t.Fatal(err)
	}
	long := `{"message":"` + strings.Repeat("x", DefaultMaxMessage) + `"}`
	path := filepath.Join(t.TempDir(), "eventhub.json")
	if err := os.WriteFile(path, bytes.Join([][]byte{msg, bytes.TrimSpace(plain), []byte(long)}, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	n := newNormaliser(t, Options{})
	ids := map[string]bool{}
	signins, cut := 0, 0
	err = ReadFile(context.Background(), path, FileOptions{}, nil, func(r Record) error {
		ev := n.Normalise(r)
		ids[ev.ID] = true
		switch {
		case ev.Truncated:
			cut++
		case ev.Product == "azure" && ev.Service == "signinlogs" && ev.ParseError == "" && ev.EventTime.Year() == 2019:
			signins++
		default:
			t.Errorf("record at %d: %s/%s %q %v", r.Seq, ev.Product, ev.Service, ev.ParseError, ev.EventTime)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if signins != 41 || cut != 1 || len(ids) != 42 {
		t.Errorf("%d sign-ins (want 41), %d cut (want 1), %d distinct IDs (want 42)", signins, cut, len(ids))
	}
}

// POST /api/v1/events takes an Event Hub message as its records.
func TestAzureRecordsHTTP(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	h, err := NewEventsHandler(r.httpOpts())
	if err != nil {
		t.Fatal(err)
	}
	body := append(eventHubMessage(t, 3), "\n{\"message\":\"plain\"}\n"...)
	status, _, resp := post(t, h, http.MethodPost, "/api/v1/events", body, bearer(tokenRJ1))
	if status != http.StatusOK || strings.TrimSpace(string(resp)) != `{"accepted":4}` {
		t.Fatalf("status %d: %s", status, resp)
	}
	signins := 0
	for _, e := range r.waitEvents(4) {
		if e.ev.Product == "azure" && e.ev.Service == "signinlogs" && e.ev.Fields["properties.userPrincipalName"] == "test@elastic.co" {
			signins++
		}
	}
	if signins != 3 {
		t.Errorf("%d sign-ins on the stream, want 3", signins)
	}
}

func TestSplitAzureRecords(t *testing.T) {
	for _, c := range []struct {
		in string
		n  int
	}{
		{`{"records":[{"a":1},{"b":2}]}`, 2},
		{` { "records" : [ {"a":1} ] }`, 1},
		{`{"records":[]}`, 0},
		{`{"records":[1,2]}`, 0},
		{`{"records":[{"a":1}],"other":1}`, 0},
		{`{"records":{"a":1}}`, 0},
		{`{"record":[{"a":1}]}`, 0},
		{`{"records":[{"a":1}]`, 0},
		{`{"message":"records"}`, 0},
	} {
		recs, ok := SplitAzureRecords([]byte(c.in))
		if len(recs) != c.n || ok != (c.n > 0) {
			t.Errorf("%s: %d records, %v", c.in, len(recs), ok)
		}
	}
}

// FuzzSplitAzureRecords: any bytes give records that are JSON objects, or
// none, and never a panic.
func FuzzSplitAzureRecords(f *testing.F) {
	for _, s := range []string{`{"records":[{"a":1},{"b":2}]}`, `{"records":[]}`, `{"records":[1]}`, `{"records"`, `{"message":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, ok := SplitAzureRecords(b)
		if ok != (len(recs) > 0) {
			t.Fatalf("ok %v with %d records", ok, len(recs))
		}
		for _, r := range recs {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatalf("record %s is not an object: %v", r, err)
			}
		}
	})
}
