package feeds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/misp"
)

const data = "../../../../shared/data/misp"

func read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, p))
	if err != nil {
		t.Skipf("%v (../shared/data is not here)", err)
	}
	return b
}

func TestAbuseCH(t *testing.T) {
	for _, c := range []struct {
		file, kind, typ string
		rows            int
	}{
		{"abusech/feodotracker-ipblocklist.csv", "feodotracker", "ip-dst", 28},
		{"abusech/threatfox-recent-sample.csv", "threatfox", "", 33},
		{"abusech/urlhaus-recent-sample.csv", "urlhaus", "url", 33},
	} {
		b := read(t, c.file)
		if !Sniff(b) {
			t.Errorf("%s: not sniffed as a CSV feed", c.file)
		}
		f, err := Parse(c.file, b)
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind != c.kind || len(f.Rows) != c.rows {
			t.Fatalf("%s: kind %s, %d rows; want %s, %d", c.file, f.Kind, len(f.Rows), c.kind, c.rows)
		}
		for _, r := range f.Rows {
			if c.typ != "" && r.Type != c.typ || r.Value == "" || r.FirstSeen.IsZero() {
				t.Fatalf("%s: row %+v", c.file, r)
			}
		}
		objs, st, err := misp.ToSTIX(f.Event("tlp:clear", time.Now()), misp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Indicators == 0 || len(objs) < st.Indicators {
			t.Fatalf("%s: %+v", c.file, st)
		}
	}
}

// TestHeaderChanges: columns reordered, renamed or added still read; a
// bad value names its line and field.
func TestHeaderChanges(t *testing.T) {
	in := "# some banner\n\"malware\",\"extra\",\"dst_port\",\"first_seen_utc\",\"dst_ip\"\n\"Emotet\",\"x\",\"443\",\"2024-01-02 03:04:05\",\"198.51.100.7\"\n"
	f, err := Parse("reordered.csv", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 1 || f.Rows[0].Value != "198.51.100.7" || f.Rows[0].Malware != "Emotet" || f.Rows[0].Comment != "port 443" {
		t.Fatalf("%+v", f.Rows)
	}
	_, err = Parse("bad.csv", []byte("dst_ip,dst_port\n198.51.100.7,443\nnot-an-ip,80\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.csv: line 3: ip:") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse("bad.txt", []byte("# list\n198.51.100.7\nevil.example\n???\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.txt: line 4") {
		t.Fatalf("err = %v", err)
	}
	f, err = Parse("plain.txt", []byte("# list\n198.51.100.7\n203.0.113.0/24\nevil.example\nhttp://evil.example/x\nd41d8cd98f00b204e9800998ecf8427e\n"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range f.Rows {
		types = append(types, r.Type)
	}
	if f.Kind != "text" || strings.Join(types, " ") != "ip-dst ip-dst domain url md5" {
		t.Fatalf("%s %v", f.Kind, types)
	}
}

// TestWarninglists loads the 27 published lists and checks a value of
// each match type; a flagged value is observed data, not an indicator.
func TestWarninglists(t *testing.T) {
	read(t, "warninglists/schema.json")
	ws, err := LoadWarninglists(filepath.Join(data, "warninglists"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 27 {
		t.Fatalf("%d lists", len(ws))
	}
	for _, c := range []struct {
		typ, value, list string
	}{
		{"ip-dst", "10.1.2.3", "List of RFC 1918 CIDR blocks"},
		{"ip-dst", "8.8.8.8", ""}, // public DNS
		{"domain", "www.google.com", ""},
		{"url", "https://app.any.run/tasks/x", ""},
		{"md5", "d41d8cd98f00b204e9800998ecf8427e", "List of known hashes for empty files"},
		{"email-src", "abuse@example.org", "Common contact e-mail addresses"},
	} {
		got := ws.Benign(c.typ, c.value)
		if len(got) == 0 || c.list != "" && !strings.Contains(strings.Join(got, "|"), c.list) {
			t.Errorf("%s %s: lists %v, want %q", c.typ, c.value, got, c.list)
		}
	}
	if got := ws.Benign("ip-dst", "185.220.101.4"); len(got) != 0 {
		t.Errorf("a Tor exit is on %v", got)
	}
	ev := misp.Event{UUID: misp.NameUUID("t"), Info: "t", Attributes: []misp.Attribute{
		{UUID: misp.NameUUID("a"), Type: "ip-dst", Value: "10.1.2.3", ToIDs: true},
		{UUID: misp.NameUUID("b"), Type: "ip-dst", Value: "185.220.101.4", ToIDs: true}}}
	objs, st, err := misp.ToSTIX(ev, misp.Options{Benign: ws.Benign})
	if err != nil {
		t.Fatal(err)
	}
	if st.Indicators != 1 || st.Flagged != 1 {
		t.Fatalf("%+v", st)
	}
	for _, o := range objs {
		if o.Type == "observed-data" && o.Props["x_vigil_warninglists"] == nil {
			t.Errorf("flagged value without its lists: %s", o.ID)
		}
	}
}
