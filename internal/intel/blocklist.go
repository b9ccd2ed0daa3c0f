package intel

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/intel/misp"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// BlocklistRow is one indicator of a collection's CSV blocklist.
type BlocklistRow struct {
	Type, Value, Indicator, TLP, PAP string
	Confidence                       int
	ValidFrom, ValidUntil            time.Time
}

// Blocklist is a collection's indicators as the caller may read them
// (ReadCollection's rules), one value each, for firewalls and DNS
// filters: indicators whose pattern is one equality on a value Vigil
// knows (an address, a domain, a URL, a hash, an e-mail address), not
// revoked and still valid. Blocking is an active measure, so an
// indicator marked PAP:AMBER or PAP:RED (passive use only) is left out.
func (s *Store) Blocklist(ctx context.Context, sc scope.Scope, collection string) ([]BlocklistRow, error) {
	objs, _, err := s.CollectionObjects(ctx, sc, collection)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rows := []BlocklistRow{}
	for _, o := range objs {
		if o.Type != "indicator" || o.Revoked {
			continue
		}
		if p, ok := stix.PAPOfObject(o); ok && p >= stix.PAPAmber {
			continue
		}
		var pat string
		_, _ = o.Get("pattern", &pat)
		typ, val, ok := misp.SimpleIOC(pat)
		if !ok {
			continue
		}
		r := BlocklistRow{Type: typ, Value: val, Indicator: o.ID}
		var from, until string
		_, _ = o.Get("valid_from", &from)
		_, _ = o.Get("valid_until", &until)
		r.ValidFrom, _ = stix.ParseTimestamp(from)
		if r.ValidUntil, _ = stix.ParseTimestamp(until); !r.ValidUntil.IsZero() && r.ValidUntil.Before(now) {
			continue
		}
		_, _ = o.Get("confidence", &r.Confidence)
		if t, ok := stix.TLPOfObject(o); ok {
			r.TLP = t.String()
		}
		if p, ok := stix.PAPOfObject(o); ok {
			r.PAP = p.String()
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// WriteBlocklistCSV writes rows as CSV with a header line.
func WriteBlocklistCSV(w io.Writer, rows []BlocklistRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"type", "value", "indicator", "tlp", "pap", "confidence", "valid_from", "valid_until"})
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return stix.FormatTimestamp(t)
	}
	for _, r := range rows {
		conf := ""
		if r.Confidence > 0 {
			conf = strconv.Itoa(r.Confidence)
		}
		_ = cw.Write([]string{r.Type, csvSafe(r.Value), r.Indicator, r.TLP, r.PAP, conf, ts(r.ValidFrom), ts(r.ValidUntil)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a value from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
