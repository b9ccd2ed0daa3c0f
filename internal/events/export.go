package events

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// Exports (issue 16): the matching events as NDJSON (one event a line, as
// the API gives them) or CSV (one row an event, its fields as a JSON
// column), newest first. Telemetry leaves Vigil this way, so every export
// is recorded in the audit log — who, what query, over which time range,
// how many events — before a byte is written: an export cut short is
// still on record.

// Export formats.
const (
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// MaxExport is the most events one export writes.
const MaxExport = 1_000_000

// ExportHeader is the CSV export's first row.
var ExportHeader = []string{"id", "event_time", "received_at", "org", "host", "protocol", "product", "service", "category", "fields", "raw", "parse_error"}

// CheckExportFormat refuses a format Export does not write.
func CheckExportFormat(format string) error {
	if format != FormatNDJSON && format != FormatCSV {
		return &fault.Invalid{Field: "format", Reason: "want ndjson or csv"}
	}
	return nil
}

// Export writes at most max events matching q (MaxExport when max is 0
// or more) to w in format, after recording the export in al, and returns
// how many it wrote.
func Export(ctx context.Context, st Store, al *audit.Log, sc scope.Scope, q Query, format string, max int, w io.Writer) (int, error) {
	if err := CheckExportFormat(format); err != nil {
		return 0, err
	}
	if max <= 0 || max > MaxExport {
		max = MaxExport
	}
	// The query is checked before the audit entry: a typo is not an export.
	if _, err := st.Count(ctx, sc, Query{Text: q.Text, Since: q.Since, Until: q.Until, Org: q.Org}); err != nil {
		return 0, err
	}
	if err := al.Record(ctx, sc, audit.Change{Action: "events.export", ObjectType: "events", ObjectID: format, Org: audit.CallerOrg(sc),
		After: map[string]any{"query": q.Text, "since": stamp(q.Since), "until": stamp(q.Until), "org": q.Org, "format": format, "max": max}}); err != nil {
		return 0, err
	}
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	if format == FormatCSV {
		cw = csv.NewWriter(w)
		if err := cw.Write(ExportHeader); err != nil {
			return 0, err
		}
	}
	n := 0
	q.Cursor = ""
	for n < max {
		q.Limit = min(5000, max-n)
		p, err := st.Search(ctx, sc, q)
		if err != nil {
			return n, err
		}
		for _, ev := range p.Events {
			if cw != nil {
				fields, _ := json.Marshal(ev.Fields)
				if err := cw.Write([]string{ev.ID, stamp(ev.EventTime), stamp(ev.ReceivedAt), ev.Org, csvSafe(ev.Source.Host), ev.Source.Protocol,
					ev.Product, ev.Service, ev.Category, string(fields), csvSafe(ev.Raw), ev.ParseError}); err != nil {
					return n, err
				}
			} else if err := enc.Encode(ev); err != nil {
				return n, err
			}
			n++
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return n, err
			}
		}
		if p.Next == "" || len(p.Events) == 0 {
			break
		}
		q.Cursor = p.Next
	}
	return n, nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// csvSafe keeps a spreadsheet from running a cell as a formula: text a
// sender wrote starting with = + - @ (or a tab or carriage return) gets a
// leading apostrophe (OWASP's CSV injection advice).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
