package feeds

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/misp"
)

// FuzzParse: a CSV or text feed parses, or fails with a *LineError
// naming the file and line; what parses converts to STIX without a panic.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(data, "abusech", "*.csv"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 1500)]) // the banner, the header and some rows
		}
	}
	f.Add([]byte("# list\n198.51.100.7\nevil.example\nhttp://x.example/\n"))
	f.Add([]byte("dst_ip,dst_port,first_seen_utc\n198.51.100.7,443,2024-01-01 00:00:00\n"))
	f.Add([]byte("# \"ioc_value\",\"ioc_type\"\n\"1.2.3.4:80\", \"ip:port\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		feed, err := Parse("fuzz.csv", b)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.File != "fuzz.csv" || le.Line < 1 {
				t.Fatalf("error %v does not name the file and line", err)
			}
			return
		}
		_, _, _ = misp.ToSTIX(feed.Event("tlp:clear", time.Unix(0, 0)), misp.Options{})
	})
}

// FuzzWarninglist: a list.json parses or fails naming the file; a
// parsed list matches any value without a panic.
func FuzzWarninglist(f *testing.F) {
	for _, n := range []string{"rfc1918", "empty-hashes", "automated-malware-analysis", "common-contact-emails", "url-shortener"} {
		if b, err := os.ReadFile(filepath.Join(data, "warninglists", n, "list.json")); err == nil {
			f.Add(b, "10.0.0.1")
		}
	}
	f.Add([]byte(`{"name":"x","type":"cidr","list":["::/0","1.2.3.4"]}`), "::1")
	f.Add([]byte(`{"name":"x","type":"regex","list":["/a(b/i"]}`), "ab")
	f.Fuzz(func(t *testing.T, b []byte, v string) {
		w, err := ParseWarninglist("list.json", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "list.json: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, typ := range []string{"ip-dst", "domain", "url", "md5", "email-src", "domain|ip"} {
			w.Match(typ, v)
		}
	})
}
