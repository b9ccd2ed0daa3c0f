package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
)

// The ingest dashboard (issue 16): how fast each listener takes events
// for each organisation, what share no parser could read, every sender's
// last batch against its usual interval — silent ones first — and, for
// national readers, the server's in-flight events and the event store's
// lag. The figures and what the caller may see of them are
// ingest.Health's; this file draws them. No script: the page says when it
// was made and has a link to make it again.

// IngestSource is what the dashboard needs of ingest.Health.
type IngestSource interface {
	Report(ctx context.Context, sc scope.Scope) (ingest.Report, error)
}

type ingestData struct {
	R ingest.Report
	// Senders are R's, silent first, then by last batch, at most
	// ingestSenderRows of them; More is how many more there are.
	Senders []ingest.SenderHealth
	More    int
	Silent  int
	All     int
}

// ingestSenderRows caps the senders the page lists (a national server
// hears up to 20,000); the API lists all.
const ingestSenderRows = 500

func (w *Web) ingestPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	rep, err := w.o.Ingest.Report(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := ingestData{R: rep, Senders: append([]ingest.SenderHealth(nil), rep.Senders...)}
	sort.SliceStable(d.Senders, func(i, j int) bool {
		return (d.Senders[i].Status == ingest.SenderSilent) && (d.Senders[j].Status != ingest.SenderSilent)
	})
	for _, s := range d.Senders {
		if s.Status == ingest.SenderSilent {
			d.Silent++
		}
	}
	d.All = len(d.Senders)
	if len(d.Senders) > ingestSenderRows {
		d.More = len(d.Senders) - ingestSenderRows
		d.Senders = d.Senders[:ingestSenderRows]
	}
	p := w.page(r, sc, "Ingest", "ingest")
	p.D = d
	w.render(rw, r, http.StatusOK, "ingest", p)
}

func ingestFuncs() template.FuncMap {
	return template.FuncMap{
		"span": spanText,
		// rate is events a second: "0", "0.25", "12.5", "1,250".
		"rate": func(f float64) string {
			switch {
			case f == 0:
				return "0"
			case f < 10:
				return strconv.FormatFloat(f, 'f', 2, 64)
			case f < 100:
				return strconv.FormatFloat(f, 'f', 1, 64)
			}
			return thousandsInt(f)
		},
		"senderTag": func(status string) string {
			switch status {
			case ingest.SenderSilent:
				return "tag-sev-high"
			case ingest.SenderOK:
				return "tag-ok"
			}
			return "tag-grey"
		},
	}
}

// spanText is a duration in words for the dashboard: "45s", "3m 10s",
// "5m", "2h 5m", "3d 4h"; "—" for none.
func spanText(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return pair(int(d.Minutes()), "m", int(d.Seconds())%60, "s")
	case d < 48*time.Hour:
		return pair(int(d.Hours()), "h", int(d.Minutes())%60, "m")
	}
	return pair(int(d.Hours())/24, "d", int(d.Hours())%24, "h")
}

// pair is "3m 10s", or "3m" when the smaller unit is nothing.
func pair(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s %d%s", a, au, b, bu)
}
