package app

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel/taxii"
	"github.com/vigil-health/vigil/internal/scope"
)

// taxiiRoot is the one API root of Vigil's TAXII server.
const taxiiRoot = "intel"

// registerTAXII mounts the TAXII 2.1 server (internal/intel/taxii) at
// /taxii2/. TAXII clients authenticate with HTTP Basic (a user's e-mail
// and password, throttled and audited as a sign-in) or an API token;
// which collections a caller sees is the store's grants (StoreSource).
func (s *Server) registerTAXII() error {
	t, err := taxii.New(taxii.Options{
		Title:       "Vigil threat intelligence",
		Description: "STIX 2.1 collections shared by TLP through Vigil",
		Roots: []taxii.APIRoot{{Name: taxiiRoot, Title: "Vigil intelligence",
			Description: "Collections granted to the caller", MaxContentLength: int(s.Router.MaxBodyBytes())}},
		Default: taxiiRoot,
		Source:  taxii.StoreSource{Store: s.Intel},
	})
	if err != nil {
		return err
	}
	// A Basic sign-in the throttle refused is a 429 with Retry-After
	// (TAXII 2.1 section 3.6.2), not a 401: the identifier notes the wait
	// against the request, and the unauthenticated answer to that same
	// request (the router calls it at once, with the same *http.Request)
	// takes it back.
	var throttled sync.Map // *http.Request → time.Duration
	s.Router.IdentifyWith("taxii", auth.MachineIdentifier{Auth: s.Auth, Via: "taxii", OnThrottled: func(r *http.Request, wait time.Duration) {
		throttled.Store(r, wait)
	}})
	s.Router.OnUnauthenticated("taxii", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := throttled.LoadAndDelete(r); ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(v.(time.Duration).Seconds())))))
			taxii.Fail(w, http.StatusTooManyRequests, "Too many requests", "too many sign-in attempts for this account or from this address; retry after the Retry-After seconds")
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="Vigil TAXII", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="Vigil TAXII"`)
		taxii.Fail(w, http.StatusUnauthorized, "Unauthorized", "send HTTP Basic credentials (your Vigil e-mail and password) or an API token as \"Authorization: Bearer vigil_…\"")
	})
	s.Router.OnFail("taxii", func(w http.ResponseWriter, r *http.Request, status int, detail, errID string) {
		if errID != "" {
			detail += " Error ID " + errID + "."
		}
		taxii.Fail(w, status, http.StatusText(status), detail)
	})
	for _, rt := range t.Routes() {
		s.Router.Handle("taxii", rt.Method, rt.Pattern, httpd.Authenticated, rt.Summary, func(w http.ResponseWriter, r *http.Request, sc scope.Scope) {
			t.ServeHTTP(w, r.WithContext(taxii.WithCaller(r.Context(), sc)))
		})
	}
	return nil
}
