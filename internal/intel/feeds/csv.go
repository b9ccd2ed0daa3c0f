package feeds

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/intel/misp"
)

// Row is one value of a feed, as a MISP attribute type and value.
type Row struct {
	Line      int
	Type      string // MISP attribute type: ip-dst, domain, url, md5, sha256…
	Value     string
	FirstSeen time.Time
	Malware   string
	Tags      []string
	Comment   string
}

// Feed is a parsed CSV or text feed.
type Feed struct {
	Name string
	// Kind is "feodotracker", "urlhaus", "threatfox", "csv" or "text".
	Kind string
	Rows []Row
}

// LineError is a feed line that cannot be read: file, line, field.
type LineError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: line %d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// column aliases: what each known column name means. Column names are
// matched without regard to case, quotes and spaces, so a reordered or
// extended header still reads.
var columns = map[string]string{
	"dst_ip": "ip", "ip_address": "ip", "ip": "ip", "dst_port": "port", "port": "port",
	"url": "url", "ioc_value": "ioc", "ioc": "ioc", "ioc_type": "ioc_type",
	"first_seen_utc": "first_seen", "first_seen": "first_seen", "dateadded": "first_seen", "date_added": "first_seen",
	"malware": "malware", "malware_printable": "malware", "threat": "threat", "threat_type": "threat",
	"tags": "tags", "c2_status": "status", "url_status": "status", "reference": "reference", "urlhaus_link": "reference",
}

// Sniff says whether data looks like a CSV or text feed rather than
// JSON: its first significant byte is not { or [.
func Sniff(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] != '{' && t[0] != '['
}

// Parse reads a CSV feed (abuse.ch layouts and any CSV whose header
// names the columns above) or a text feed (one value a line). Lines
// starting with # are comments, except the one that holds the column
// names (ThreatFox writes them as "# "first_seen_utc",…").
func Parse(name string, data []byte) (*Feed, error) {
	f := &Feed{Name: name}
	lower := strings.ToLower(string(data[:min(len(data), 2048)]))
	switch {
	case strings.Contains(lower, "feodo"):
		f.Kind = "feodotracker"
	case strings.Contains(lower, "threatfox"), strings.Contains(lower, "ioc_value"):
		f.Kind = "threatfox"
	case strings.Contains(lower, "urlhaus"):
		f.Kind = "urlhaus"
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var header map[string]int
	line := 0
	csvLine := func(s string) ([]string, error) {
		r := csv.NewReader(strings.NewReader(s))
		r.TrimLeadingSpace, r.LazyQuotes, r.FieldsPerRecord = true, true, -1
		return r.Read()
	}
	for sc.Scan() {
		line++
		raw := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if raw == "" || strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, ";") {
			continue
		}
		if strings.HasPrefix(raw, "#") {
			if header == nil {
				if h := headerOf(csvLine, strings.TrimSpace(strings.TrimLeft(raw, "#"))); h != nil {
					header = h
				}
			}
			continue
		}
		if header == nil && f.Rows == nil {
			if h := headerOf(csvLine, raw); h != nil {
				header = h
				continue
			}
		}
		if header == nil {
			// A text feed: one value a line (anything after white space is a comment).
			v := strings.Fields(raw)[0]
			typ := typeOf(v)
			if typ == "" {
				return nil, &LineError{File: name, Line: line, Msg: fmt.Sprintf("%q is not an IP address, CIDR block, domain, URL, e-mail address or hash", v)}
			}
			if f.Kind == "" {
				f.Kind = "text"
			}
			f.Rows = append(f.Rows, Row{Line: line, Type: typ, Value: v})
			continue
		}
		rec, err := csvLine(raw)
		if err != nil {
			return nil, &LineError{File: name, Line: line, Msg: err.Error()}
		}
		r, lerr := rowOf(header, rec)
		if lerr != nil {
			lerr.File, lerr.Line = name, line
			return nil, lerr
		}
		r.Line = line
		f.Rows = append(f.Rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, &LineError{File: name, Line: line + 1, Msg: err.Error()}
	}
	if f.Kind == "" {
		f.Kind = "csv"
	}
	return f, nil
}

// headerOf reads a line as column names: a map of meaning to index, or
// nil when the line names no value column.
func headerOf(csvLine func(string) ([]string, error), s string) map[string]int {
	rec, err := csvLine(s)
	if err != nil || len(rec) < 2 {
		return nil
	}
	h := map[string]int{}
	for i, c := range rec {
		c = strings.ToLower(strings.Trim(strings.TrimSpace(c), `"`))
		if m, ok := columns[c]; ok {
			if _, dup := h[m]; !dup {
				h[m] = i
			}
		}
	}
	_, ip := h["ip"]
	_, u := h["url"]
	_, ioc := h["ioc"]
	if !ip && !u && !ioc {
		return nil
	}
	return h
}

func field(h map[string]int, rec []string, name string) string {
	i, ok := h[name]
	if !ok || i >= len(rec) {
		return ""
	}
	v := strings.TrimSpace(rec[i])
	if v == "None" || v == "n/a" {
		return ""
	}
	return v
}

// threatfoxTypes are ThreatFox's ioc_type values.
var threatfoxTypes = map[string]string{"ip:port": "ip-dst|port", "domain": "domain", "url": "url",
	"md5_hash": "md5", "sha1_hash": "sha1", "sha256_hash": "sha256", "sha3_384_hash": "", "envelope_from": "email-src", "body_from": "email-src"}

func rowOf(h map[string]int, rec []string) (Row, *LineError) {
	var r Row
	switch {
	case field(h, rec, "ioc") != "":
		r.Value = field(h, rec, "ioc")
		t := strings.ToLower(field(h, rec, "ioc_type"))
		mt, ok := threatfoxTypes[t]
		if !ok || mt == "" {
			if mt = typeOf(r.Value); mt == "" {
				return r, &LineError{Field: "ioc_type", Msg: fmt.Sprintf("%q is not an IOC type Vigil reads", t)}
			}
		}
		if mt == "ip-dst|port" {
			// ThreatFox's ip:port; the address is the indicator, the port a comment.
			if i := strings.LastIndexByte(r.Value, ':'); i > 0 {
				r.Comment = "port " + r.Value[i+1:]
				r.Value = strings.Trim(r.Value[:i], "[]")
			}
			mt = "ip-dst"
		}
		r.Type = mt
	case field(h, rec, "url") != "":
		r.Type, r.Value = "url", field(h, rec, "url")
	case field(h, rec, "ip") != "":
		r.Type, r.Value = "ip-dst", field(h, rec, "ip")
		if _, err := netip.ParseAddr(r.Value); err != nil {
			return r, &LineError{Field: "ip", Msg: fmt.Sprintf("%q is not an IP address", r.Value)}
		}
		if p := field(h, rec, "port"); p != "" {
			if _, err := strconv.Atoi(p); err != nil {
				return r, &LineError{Field: "port", Msg: fmt.Sprintf("%q is not a port", p)}
			}
			r.Comment = "port " + p
		}
	default:
		return r, &LineError{Field: "value", Msg: "empty"}
	}
	if s := field(h, rec, "first_seen"); s != "" {
		t, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			return r, &LineError{Field: "first_seen", Msg: fmt.Sprintf("%q is not YYYY-MM-DD hh:mm:ss", s)}
		}
		r.FirstSeen = t.UTC()
	}
	r.Malware = field(h, rec, "malware")
	if th := field(h, rec, "threat"); th != "" {
		r.Comment = strings.TrimSpace(th + " " + r.Comment)
	}
	for _, t := range strings.Split(field(h, rec, "tags"), ",") {
		if t = strings.TrimSpace(t); t != "" && t != "None" {
			r.Tags = append(r.Tags, t)
		}
	}
	return r, nil
}

var (
	hexRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]+$`) })
	domainRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z][a-zA-Z0-9-]{0,62}\.?$`)
	})
	emailRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`) })
)

// typeOf guesses the MISP attribute type of a bare value.
func typeOf(v string) string {
	if _, err := netip.ParseAddr(v); err == nil {
		return "ip-dst"
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return "ip-dst"
	}
	if strings.Contains(v, "://") {
		return "url"
	}
	if hexRE().MatchString(v) {
		switch len(v) {
		case 32:
			return "md5"
		case 40:
			return "sha1"
		case 64:
			return "sha256"
		case 128:
			return "sha512"
		}
		return ""
	}
	if emailRE().MatchString(v) {
		return "email-src"
	}
	if domainRE().MatchString(v) {
		return "domain"
	}
	return ""
}

// Event is the feed as a MISP event, for misp.ToSTIX: every row an
// attribute for IDS (so an indicator unless a warning list names it),
// with an id made of the feed's kind, the type and the value, so the
// same value in the next download of the feed is the same indicator.
// tlp is the feed's tag (abuse.ch publishes TLP:CLEAR); now dates rows
// without a date of their own.
func (f *Feed) Event(tlp string, now time.Time) misp.Event {
	base := filepath.Base(f.Name)
	e := misp.Event{UUID: misp.NameUUID("feed:" + f.Kind + ":" + base), Info: fmt.Sprintf("%s feed %s", f.Kind, base),
		Analysis: "2", ThreatLevelID: "2", Published: true}
	if tlp != "" {
		e.Tags = append(e.Tags, misp.Tag{Name: tlp})
	}
	e.Tags = append(e.Tags, misp.Tag{Name: "source:" + f.Kind})
	var latest time.Time
	seen := map[string]bool{}
	for _, r := range f.Rows {
		key := r.Type + "\x00" + r.Value
		if seen[key] {
			continue
		}
		seen[key] = true
		when := r.FirstSeen
		if when.IsZero() {
			when = now
		}
		if when.After(latest) {
			latest = when
		}
		a := misp.Attribute{UUID: misp.NameUUID("feed:" + f.Kind + ":" + key), Type: r.Type, Value: r.Value, ToIDs: true,
			Category: "Network activity", Comment: strings.TrimSpace(strings.Join([]string{r.Malware, r.Comment}, " ")), Timestamp: misp.Int(when.Unix())}
		if strings.Contains("md5 sha1 sha256 sha512", r.Type) {
			a.Category = "Payload delivery"
		}
		if r.Malware != "" {
			a.Tags = append(a.Tags, misp.Tag{Name: "malware:" + r.Malware})
		}
		for _, t := range r.Tags {
			a.Tags = append(a.Tags, misp.Tag{Name: t})
		}
		e.Attributes = append(e.Attributes, a)
	}
	if latest.IsZero() {
		latest = now
	}
	e.Timestamp = misp.Int(latest.Unix())
	e.Date = latest.UTC().Format("2006-01-02")
	return e
}
