package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/api"
	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

func TestAlertsAPI(t *testing.T) { engines(t, testAlertsAPI) }

func testAlertsAPI(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s)
	body := `{"source":"EDR","type":"malware","source_ref":"det-77","title":"Emotet on WS-12","severity":"high","org":"RJ1","tlp":"amber",
		"observables":[{"type":"ip","value":"::ffff:203.0.113.9"},{"type":"domain","value":"Evil.Example."}]}`
	res, out := do(t, "POST", s.url("/api/v1/alerts"), f.aliceTok, body)
	if res.StatusCode != 201 {
		t.Fatalf("first post = %d %s", res.StatusCode, out)
	}
	var a cases.Alert
	json.Unmarshal([]byte(out), &a)
	if a.ID == "" || a.Occurrences != 1 || a.Source != "edr" || a.Observables[0].Value != "203.0.113.9" || a.Observables[1].Value != "evil.example" {
		t.Fatalf("created %s", out)
	}
	res, out = do(t, "POST", s.url("/api/v1/alerts"), f.aliceTok, body)
	var again cases.Alert
	json.Unmarshal([]byte(out), &again)
	if res.StatusCode != 200 || again.ID != a.ID || again.Occurrences != 2 {
		t.Fatalf("repeat = %d %s", res.StatusCode, out)
	}
	// Fifty clients at once, one new key: one 201, forty-nine 200s, one alert.
	var wg sync.WaitGroup
	codes := make([]int, 50)
	idsSeen := make([]string, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.url("/api/v1/alerts"), strings.NewReader(strings.Replace(body, "det-77", "det-burst", 1)))
			req.Header.Set("Authorization", "Bearer "+f.aliceTok)
			req.Header.Set("Content-Type", "application/json")
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Body.Close()
			var x cases.Alert
			json.NewDecoder(r.Body).Decode(&x)
			codes[i], idsSeen[i] = r.StatusCode, x.ID
		}()
	}
	wg.Wait()
	n201 := 0
	for i, c := range codes {
		if c == 201 {
			n201++
		} else if c != 200 {
			t.Fatalf("client %d: %d", i, c)
		}
		if idsSeen[i] != idsSeen[0] {
			t.Fatalf("clients got different alerts: %s and %s", idsSeen[0], idsSeen[i])
		}
	}
	if n201 != 1 {
		t.Fatalf("%d clients got 201, want 1", n201)
	}
	_, out = get(t, http.DefaultClient, s.url("/api/v1/alerts/"+idsSeen[0]), f.aliceTok)
	if !strings.Contains(out, `"occurrences":50`) {
		t.Fatalf("after the burst: %s", out)
	}
	// Errors name the field; other trusts' alerts are not found.
	res, out = do(t, "POST", s.url("/api/v1/alerts"), f.aliceTok, `{"source":"edr","type":"x","source_ref":"r","title":"t","severity":"severe","org":"RJ1","tlp":"amber","observables":[]}`)
	if res.StatusCode != 400 || !strings.Contains(out, `"field":"severity"`) {
		t.Errorf("bad severity = %d %s", res.StatusCode, out)
	}
	res, out = do(t, "POST", s.url("/api/v1/alerts"), f.aliceTok, `{"source":"edr","type":"x","source_ref":"r","title":"t","severity":"low","org":"RJ1","tlp":"amber","observables":[],"colour":1}`)
	if res.StatusCode != 400 || !strings.Contains(out, `"field":"colour"`) {
		t.Errorf("unknown member = %d %s", res.StatusCode, out)
	}
	res, _ = get(t, http.DefaultClient, s.url("/api/v1/alerts/"+a.ID), f.bobTok)
	if res.StatusCode != 404 {
		t.Errorf("bob reads alice's alert: %d", res.StatusCode)
	}
	// Inbox: filters and the cursor.
	_, out = get(t, http.DefaultClient, s.url("/api/v1/alerts?severity=high&status=new&limit=1"), f.aliceTok)
	var p api.Page[cases.Alert]
	json.Unmarshal([]byte(out), &p)
	if len(p.Items) != 1 || p.NextCursor == "" {
		t.Fatalf("first page %s", out)
	}
	_, out = get(t, http.DefaultClient, s.url("/api/v1/alerts?severity=high&status=new&limit=1&cursor="+p.NextCursor), f.aliceTok)
	var p2 api.Page[cases.Alert]
	json.Unmarshal([]byte(out), &p2)
	if len(p2.Items) != 1 || p2.Items[0].ID == p.Items[0].ID || p2.NextCursor != "" {
		t.Fatalf("second page %s", out)
	}
	res, out = get(t, http.DefaultClient, s.url("/api/v1/alerts?since=yesterday"), f.aliceTok)
	if res.StatusCode != 400 || !strings.Contains(out, `"field":"since"`) {
		t.Errorf("bad since = %d %s", res.StatusCode, out)
	}
	// Bulk triage through the API; one of Bob's alerts makes it fail whole.
	rb, out := do(t, "POST", s.url("/api/v1/alerts"), f.bobTok, strings.Replace(strings.Replace(body, `"RJ1"`, `"RJZ"`, 1), "det-77", "bob-1", 1))
	if rb.StatusCode != 201 {
		t.Fatal(out)
	}
	var b cases.Alert
	json.Unmarshal([]byte(out), &b)
	res, out = do(t, "POST", s.url("/api/v1/alerts/triage"), f.aliceTok, `{"ids":["`+a.ID+`","`+b.ID+`"],"action":"close","disposition":"false-positive"}`)
	if res.StatusCode != 404 || strings.Contains(out, b.ID) {
		t.Errorf("triage with bob's alert = %d %s", res.StatusCode, out)
	}
	res, out = do(t, "POST", s.url("/api/v1/alerts/triage"), f.aliceTok, `{"ids":["`+a.ID+`"],"action":"close","disposition":"false-positive","reason":"lab machine"}`)
	if res.StatusCode != 200 || !strings.Contains(out, `"status":"closed"`) {
		t.Errorf("triage = %d %s", res.StatusCode, out)
	}
}

func TestCasesAPIFlowAndEvidence(t *testing.T) {
	s := startServer(t)
	f := newFixture(t, s)
	ctx := context.Background()
	r, err := s.Cases.CreateAlert(ctx, scope.System("t"), cases.NewAlert{Source: "mail", Type: "phish", SourceRef: "m-1", Title: "Invoice lure",
		Severity: cases.Medium, Org: "RJ1", TLP: cases.TLPGreen, Observables: []cases.Observable{{Type: cases.ObsURL, Value: "https://evil.example/login"}}})
	if err != nil {
		t.Fatal(err)
	}
	res, out := do(t, "POST", s.url("/api/v1/cases"), f.aliceTok, `{"template":"phishing","alert_ids":["`+r.Alert.ID+`"],"description":"<script>alert(1)</script>\n\n**bold**"}`)
	if res.StatusCode != 201 {
		t.Fatalf("promote = %d %s", res.StatusCode, out)
	}
	var c cases.Case
	json.Unmarshal([]byte(out), &c)
	if c.Org != "RJ1" || len(c.Alerts) != 1 || len(c.Tasks) == 0 || strings.Contains(c.DescriptionHTML, "<script") || !strings.Contains(c.DescriptionHTML, "<strong>bold</strong>") {
		t.Fatalf("case %s", out)
	}
	res, out = do(t, "POST", s.url("/api/v1/cases/"+c.ID+"/status"), f.aliceTok, `{"status":"new"}`)
	if res.StatusCode != 400 || !strings.Contains(out, `"field":"status"`) {
		t.Errorf("invalid transition = %d %s", res.StatusCode, out)
	}
	res, out = do(t, "POST", s.url("/api/v1/cases/"+c.ID+"/status"), f.aliceTok, `{"status":"closed","resolution":"true-positive","impact":"minor"}`)
	if res.StatusCode != 400 || !strings.Contains(out, `"field":"fields.clicked"`) {
		t.Errorf("close without mandatory fields = %d %s", res.StatusCode, out)
	}
	// Evidence: uploaded as multipart, downloaded as an attachment that
	// no browser renders.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "headers.txt")
	io.WriteString(fw, "<html><script>alert(1)</script></html>")
	mw.Close()
	req, _ := http.NewRequest("POST", s.url("/api/v1/cases/"+c.ID+"/attachments"), &buf)
	req.Header.Set("Authorization", "Bearer "+f.aliceTok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("upload = %d %s", res.StatusCode, b)
	}
	var att cases.Attachment
	json.Unmarshal(b, &att)
	res, out = get(t, http.DefaultClient, s.url(fmt.Sprintf("/api/v1/cases/%s/attachments/%s", c.ID, att.ID)), f.aliceTok)
	for h, want := range map[string]string{
		"Content-Type": "text/plain; charset=utf-8", "Content-Disposition": `attachment; filename=headers.txt`,
		"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
	} {
		if !strings.Contains(res.Header.Get(h), want) {
			t.Errorf("download header %s = %q, want %q", h, res.Header.Get(h), want)
		}
	}
	if res.StatusCode != 200 || out != "<html><script>alert(1)</script></html>" {
		t.Errorf("download = %d %q", res.StatusCode, out)
	}
	_, out = get(t, http.DefaultClient, s.url(fmt.Sprintf("/api/v1/cases/%s/attachments/%s/custody", c.ID, att.ID)), f.aliceTok)
	if !strings.Contains(out, `"action":"upload"`) || !strings.Contains(out, `"action":"download"`) || !strings.Contains(out, `"remote":"127.0.0.1"`) {
		t.Errorf("custody %s", out)
	}
	// The download is in the audit log, filed under RJ1.
	entries, _, err := s.Audit.List(ctx, scope.System("t"), auditFilter("case.attachment.download"))
	if err != nil || len(entries) != 1 || entries[0].Org != "RJ1" {
		t.Errorf("audit of the download: %v %v", entries, err)
	}
}

func auditFilter(action string) audit.Filter { return audit.Filter{Action: action} }

// vigil serve stores what producers publish on the ALERTS stream: a
// detection published with a message ID is in the inbox once, even when
// published twice. (Embedded NATS: a shared external server's stream
// would be consumed by whichever test server is running.)
func TestServeConsumesAlertStream(t *testing.T) {
	s := startEmbedded(t)
	f := newFixture(t, s)
	ctx := context.Background()
	body, _ := json.Marshal(cases.NewAlert{Source: "sigma", Type: "lateral-movement", SourceRef: "rule-7:ws-12", Title: "PsExec from WS-12",
		Severity: cases.High, Org: "RJ1", TLP: cases.TLPAmber, Observables: []cases.Observable{{Type: cases.ObsHost, Value: "ws-12"}}})
	for range 2 {
		if err := s.Bus.Publish(ctx, cases.AlertSubject("RJ1"), body, "sigma-7-ws-12-0001"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, out := get(t, http.DefaultClient, s.url("/api/v1/alerts?source=sigma"), f.aliceTok)
		var p api.Page[cases.Alert]
		json.Unmarshal([]byte(out), &p)
		if len(p.Items) == 1 {
			if p.Items[0].Occurrences != 1 || p.Items[0].Org != "RJ1" {
				t.Fatalf("stored %s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the published alert never reached the inbox: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Bob's inbox does not have it.
	_, out := get(t, http.DefaultClient, s.url("/api/v1/alerts?source=sigma"), f.bobTok)
	if strings.Contains(out, "PsExec") {
		t.Errorf("bob sees RJ1's alert: %s", out)
	}
}
