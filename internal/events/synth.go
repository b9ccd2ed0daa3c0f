package events

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"crypto/sha256"
)

// Synthetic events for benchmarks and demonstrations: real records (the
// OTRF Security-Datasets Windows logs under shared/data/events) replayed
// with new IDs, organisations and times, so a store of millions holds
// the field names, value spread and raw sizes that analysts will search.

// Samples are real records to replay.
type Samples []Sample

// Sample is one real record: its raw line, its fields flattened the way
// ingest flattens them (nested objects joined with dots), and its log
// source.
type Sample struct {
	Raw                        string
	Fields                     map[string]any
	Product, Service, Category string
	Host                       string
}

// LoadSamples reads JSON-lines files (gzip when named .gz; CRLF or LF),
// at most max records in all (0: no limit). A line that is not a JSON
// object is an error naming the file and line.
func LoadSamples(max int, paths ...string) (Samples, error) {
	var out Samples
	for _, p := range paths {
		if err := loadSampleFile(p, max, &out); err != nil {
			return nil, err
		}
		if max > 0 && len(out) >= max {
			break
		}
	}
	if len(out) == 0 {
		return nil, errors.New("events: no samples read")
	}
	return out, nil
}

func loadSampleFile(path string, max int, out *Samples) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only
	sc := bufio.NewScanner(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		sc = bufio.NewScanner(zr)
	}
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(text), &obj); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		fields := map[string]any{}
		flatten("", obj, fields)
		s := Sample{Raw: text, Fields: fields, Product: "windows"}
		s.Service, s.Category = windowsSource(fields)
		if h, ok := fields["Hostname"].(string); ok {
			s.Host = h
		} else if h, ok := fields["Computer"].(string); ok {
			s.Host = h
		}
		*out = append(*out, s)
		if max > 0 && len(*out) >= max {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", path, line, err)
	}
	return nil
}

// flatten joins nested objects' keys with dots.
func flatten(prefix string, obj map[string]any, out map[string]any) {
	for k, v := range obj {
		if prefix != "" {
			k = prefix + "." + k
		}
		if m, ok := v.(map[string]any); ok {
			flatten(k, m, out)
			continue
		}
		out[k] = v
	}
}

// windowsSource is the Sigma service and category of a Windows record,
// enough for synthetic data (ingest's mappings are the real rules).
func windowsSource(f map[string]any) (service, category string) {
	ch, _ := f["Channel"].(string)
	id, _ := f["EventID"].(float64)
	switch {
	case ch == "Microsoft-Windows-Sysmon/Operational":
		service = "sysmon"
		switch id {
		case 1:
			category = "process_creation"
		case 3:
			category = "network_connection"
		case 11:
			category = "file_event"
		case 13:
			category = "registry_set"
		}
	case ch == "Security":
		service = "security"
		if id == 4688 {
			category = "process_creation"
		}
	case ch != "":
		service = strings.ToLower(strings.ReplaceAll(ch, " ", "-"))
	}
	return service, category
}

// GenerateOptions describe a synthetic event store.
type GenerateOptions struct {
	// Count is how many events to make.
	Count int
	// Orgs own the events (chosen at random, evenly).
	Orgs []string
	// End is the newest event time; events spread evenly at random over
	// Span before it (default 7 days).
	End  time.Time
	Span time.Duration
	// Seed makes the set repeatable: the same seed gives the same IDs,
	// so generating twice appends nothing the second time.
	Seed uint64
	// Batch is how many events each call of emit gets (default 5000).
	Batch int
	// Ordered makes event i's time End-Span+Span*(i+½)/Count, so the
	// events come in time order as live traffic does, and its ID begin
	// with that time (16 hex digits of Unix nanoseconds, then 8 of the
	// hash): the store's indexes then grow at their ends instead of at
	// random leaves, which is what lets a 10,000,000-event store be built
	// in minutes. Ingest's IDs begin with the event's time too (in
	// milliseconds: ADR 0011); no query reads the ID's order.
	Ordered bool
	// From skips the first From events (Ordered only): a build stopped
	// at From events goes on with the same times and IDs.
	From int
}

// Generate makes o.Count events from the samples and hands them to emit
// in batches. The samples' field maps are shared between events, not
// copied: treat them as read-only.
func (s Samples) Generate(o GenerateOptions, emit func([]Event) error) error {
	switch {
	case len(s) == 0:
		return errors.New("events: no samples to generate from")
	case len(o.Orgs) == 0:
		return errors.New("events: GenerateOptions.Orgs is required")
	case o.Count < 0:
		return errors.New("events: GenerateOptions.Count must not be negative")
	}
	if o.Span <= 0 {
		o.Span = 7 * 24 * time.Hour
	}
	if o.Batch <= 0 {
		o.Batch = 5000
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	batch := make([]Event, 0, o.Batch)
	var key [16]byte
	binary.BigEndian.PutUint64(key[:8], o.Seed)
	from := 0
	if o.Ordered {
		from = max(o.From, 0)
		r = rand.New(rand.NewPCG(o.Seed^uint64(from), o.Seed^0x9e3779b97f4a7c15))
	}
	start := o.End.Add(-o.Span)
	for i := from; i < o.Count; i++ {
		sm := &s[r.IntN(len(s))]
		var t time.Time
		if o.Ordered {
			t = start.Add(time.Duration((float64(i) + 0.5) / float64(o.Count) * float64(o.Span)))
		} else {
			t = o.End.Add(-time.Duration(r.Int64N(int64(o.Span))))
		}
		binary.BigEndian.PutUint64(key[8:], uint64(i))
		sum := sha256.Sum256(key[:])
		id := hex.EncodeToString(sum[:12])
		if o.Ordered {
			id = fmt.Sprintf("%016x%s", t.UnixNano(), hex.EncodeToString(sum[:4]))
		}
		batch = append(batch, Event{
			ID:         id,
			Org:        o.Orgs[r.IntN(len(o.Orgs))],
			ReceivedAt: t.Add(time.Duration(r.IntN(2000)) * time.Millisecond),
			EventTime:  t,
			Source:     Source{Protocol: "syslog-tcp", Addr: "10.0.0.1:514", Format: "json", Host: sm.Host},
			Product:    sm.Product, Service: sm.Service, Category: sm.Category,
			Fields: sm.Fields,
			Raw:    sm.Raw,
		})
		if len(batch) == o.Batch {
			if err := emit(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// LoadSyslogSamples reads BSD syslog lines ("Jun 14 15:16:01 host
// app[pid]: text", as in the loghub Linux and OpenSSH logs) and gives
// each the fields ingest gives an RFC 3164 message (syslog.hostname,
// syslog.appname, syslog.procid, syslog.facility, syslog.severity,
// message), with "<38>" before the line as its raw text. At most max
// lines in all (0: no limit); lines that do not read so are skipped.
func LoadSyslogSamples(max int, paths ...string) (Samples, error) {
	var out Samples
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r ")
			if len(line) < 17 {
				continue
			}
			host, rest, ok := strings.Cut(line[16:], " ")
			if !ok {
				continue
			}
			tag, msg, ok := strings.Cut(rest, ": ")
			if !ok {
				continue
			}
			app, pid := tag, ""
			if i := strings.IndexByte(tag, '['); i > 0 && strings.HasSuffix(tag, "]") {
				app, pid = tag[:i], tag[i+1:len(tag)-1]
			}
			f := map[string]any{"syslog.facility": float64(4), "syslog.severity": float64(6),
				"syslog.hostname": host, "syslog.appname": app, "message": msg}
			if pid != "" {
				f["syslog.procid"] = pid
			}
			out = append(out, Sample{Raw: "<38>" + line, Fields: f, Product: "linux", Service: app, Host: host})
			if max > 0 && len(out) >= max {
				return out, nil
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("events: no syslog samples read")
	}
	return out, nil
}

// Retag sets the samples' product, service and category (for JSON logs
// that are not Windows: LoadSamples takes every record for Windows) and
// takes each one's host from the first of hostFields it has.
func (s Samples) Retag(product, service, category string, hostFields ...string) Samples {
	for i := range s {
		s[i].Product, s[i].Service, s[i].Category = product, service, category
		s[i].Host = ""
		for _, h := range hostFields {
			if v, ok := s[i].Fields[h].(string); ok && v != "" {
				s[i].Host = v
				break
			}
		}
	}
	return s
}

// Mix makes one set of samples from several, each part drawn in
// proportion to its weight (Generate picks samples uniformly): parts are
// repeated, round robin, to their share of the whole. The records are
// shared, not copied.
func Mix(parts []Samples, weights []float64) (Samples, error) {
	if len(parts) == 0 || len(parts) != len(weights) {
		return nil, errors.New("events: Mix needs one weight per part")
	}
	var sum, total float64
	for i, p := range parts {
		if len(p) == 0 || weights[i] <= 0 {
			return nil, fmt.Errorf("events: Mix part %d is empty or has no weight", i)
		}
		sum += weights[i]
	}
	for i, p := range parts {
		total = max(total, float64(len(p))*sum/weights[i])
	}
	var out Samples
	for i, p := range parts {
		n := int(total*weights[i]/sum + 0.5)
		for j := range n {
			out = append(out, p[j%len(p)])
		}
	}
	return out, nil
}
