package api

import (
	"context"
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
)

// IngestHealth is what the ingest dashboard route needs of ingest.Health.
type IngestHealth interface {
	Report(ctx context.Context, sc scope.Scope) (ingest.Report, error)
}

// registerIngestHealth adds the ingest dashboard (issue 16): rates per
// listener and organisation, senders and their silences, only for the
// organisations the caller may read; the server's own figures (in
// flight, lag, losses) for national readers.
func (a *API) registerIngestHealth(rt *httpd.Router) {
	a.AddSchema("IngestHealth", reflect.TypeFor[ingest.Report]())
	a.route(rt, spec{Method: "GET", Path: "/ingest/health", Tag: "events",
		Summary:  "Ingest dashboard: events a second per listener and organisation over the last minute and 15 minutes, parse-error share, each sender's last batch, usual interval and status (ok, learning, silent), and for national readers the server's in-flight events and store lag",
		Response: "IngestHealth"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.IngestHealth.Report(r.Context(), sc)
	})
}
