package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// registerSBOMs adds the stored SBOM and inventory routes (issue 18): a
// supplier product's SBOMs per version, an organisation's inventories,
// their findings with priority and SLA due time, matching against the
// server's OSV directory, and a cyber alert raised from a finding. The
// rules (who sees and stores what) are vuln.SBOMs's.
func (a *API) registerSBOMs(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"StoredSBOM":        reflect.TypeFor[vuln.StoredSBOM](),
		"StoredSBOMList":    reflect.TypeFor[List[vuln.StoredSBOM]](),
		"StoredFindingList": reflect.TypeFor[List[vuln.StoredFinding]](),
		"MatchRequest":      reflect.TypeFor[matchBody](),
		"MatchReport":       reflect.TypeFor[vuln.MatchReport](),
		"FindingAlert":      reflect.TypeFor[findingAlertBody](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	code := param{Name: "code", In: "path", Type: "string", Required: true, Desc: "the organisation's ODS code"}
	prio := param{Name: "priority", In: "query", Type: "string", Desc: "only findings of this priority (P1, P2, P3, P4)"}
	a.route(rt, spec{Method: "POST", Path: "/supply/products/{id}/sboms", Tag: "vuln",
		Summary: "Store the SBOM of a supplier product at one version (multipart/form-data, one file part: CycloneDX 1.2–1.6 JSON or XML, SPDX 2.2/2.3 JSON or tag-value); components keep their purls; matched at once against the server's OSV directory when it has one. Needs the right to change the product",
		Params:  []param{id, {Name: "version", In: "query", Type: "string", Required: true, Desc: "the product version the SBOM describes"}},
		Upload:  true, Response: "StoredSBOM", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		name, data, err := uploadedFile(r)
		if err != nil {
			return nil, err
		}
		x, err := a.o.SBOMs.AddProductSBOM(r.Context(), sc, r.PathValue("id"), r.URL.Query().Get("version"), name, data)
		if err != nil {
			return nil, err
		}
		return created{x}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/supply/products/{id}/sboms", Tag: "vuln",
		Summary: "A supplier product's stored SBOMs, newest first, with their findings counted by priority (seen by whoever sees the product)",
		Params:  []param{id}, Response: "StoredSBOMList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.List(r.Context(), sc, vuln.SBOMFilter{Product: r.PathValue("id")}))
	})
	a.route(rt, spec{Method: "GET", Path: "/supply/products/{id}/findings", Tag: "vuln",
		Summary: "The findings of a supplier product's stored SBOMs, most urgent first, each with its priority, the explanation of it and its SLA due time",
		Params:  []param{id, prio}, Response: "StoredFindingList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.Findings(r.Context(), sc, vuln.FindingFilter{Product: r.PathValue("id"), Level: r.URL.Query().Get("priority")}))
	})
	a.route(rt, spec{Method: "POST", Path: "/orgs/{code}/inventories", Tag: "vuln",
		Summary: "Store an inventory of an organisation's assets and software (multipart/form-data, one file part: a CycloneDX or SPDX SBOM), with the asset's criticality and exposure for its findings' priority. Needs write on the organisation",
		Params: []param{code, {Name: "name", In: "query", Type: "string", Desc: "the inventory's name (default: the file's)"},
			{Name: "criticality", In: "query", Type: "string", Desc: "critical, high, medium or low"},
			{Name: "exposure", In: "query", Type: "string", Desc: "internet or internal"}},
		Upload: true, Response: "StoredSBOM", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		name, data, err := uploadedFile(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		x, err := a.o.SBOMs.AddInventory(r.Context(), sc, r.PathValue("code"),
			vuln.InventoryMeta{Name: q.Get("name"), Criticality: q.Get("criticality"), Exposure: q.Get("exposure")}, name, data)
		if err != nil {
			return nil, err
		}
		return created{x}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/orgs/{code}/inventories", Tag: "vuln",
		Summary: "An organisation's stored inventories, newest first (read on the organisation)",
		Params:  []param{code}, Response: "StoredSBOMList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.List(r.Context(), sc, vuln.SBOMFilter{Org: r.PathValue("code")}))
	})
	a.route(rt, spec{Method: "GET", Path: "/orgs/{code}/findings", Tag: "vuln",
		Summary: "The findings of an organisation's inventories, most urgent first, with priority, explanation and SLA due time",
		Params:  []param{code, prio}, Response: "StoredFindingList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.Findings(r.Context(), sc, vuln.FindingFilter{Org: r.PathValue("code"), Level: r.URL.Query().Get("priority")}))
	})
	a.route(rt, spec{Method: "GET", Path: "/sboms", Tag: "vuln",
		Summary:  "Every stored SBOM and inventory you may see, newest first",
		Response: "StoredSBOMList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.List(r.Context(), sc, vuln.SBOMFilter{}))
	})
	a.route(rt, spec{Method: "GET", Path: "/sboms/{id}", Tag: "vuln",
		Summary: "A stored SBOM or inventory with its components (name, version, purl, OSV ecosystem and package)",
		Params:  []param{id}, Response: "StoredSBOM"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.SBOMs.Get(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "DELETE", Path: "/sboms/{id}", Tag: "vuln",
		Summary: "Remove a stored SBOM or inventory and its findings",
		Params:  []param{id}, Status: 204}, func(r *http.Request, sc scope.Scope) (any, error) {
		return nil, a.o.SBOMs.Delete(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "GET", Path: "/sboms/{id}/findings", Tag: "vuln",
		Summary: "A stored SBOM's findings, most urgent first",
		Params:  []param{id, prio}, Response: "StoredFindingList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.Findings(r.Context(), sc, vuln.FindingFilter{SBOM: r.PathValue("id"), Level: r.URL.Query().Get("priority")}))
	})
	a.route(rt, spec{Method: "POST", Path: "/vuln/match", Tag: "vuln",
		Summary: "Match the stored SBOMs and inventories against the server's OSV directory (--vuln-osv): incremental after the first match, judging only advisories that changed; full on request (national team only)",
		Body:    "MatchRequest", Response: "MatchReport"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var b matchBody
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return a.o.SBOMs.Match(r.Context(), sc, vuln.MatchRequest{Full: b.Full})
	})
	a.registerFindings(rt)
	if a.o.CyberAlerts != nil {
		a.route(rt, spec{Method: "POST", Path: "/sboms/{id}/findings/{vuln}/cyber-alert", Tag: "vuln",
			Summary: "Raise a national cyber alert from a stored finding: its CVEs (ID, aliases and related IDs) make the alert's scope, so every organisation deploying a product whose SBOM carries them is in it (national team only)",
			Params:  []param{id, {Name: "vuln", In: "path", Type: "string", Required: true, Desc: "the finding's ID or one of its aliases"}},
			Body:    "FindingAlert", Response: "CyberAlert", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
			var b findingAlertBody
			if err := decode(r, &b); err != nil {
				return nil, err
			}
			f, err := a.o.SBOMs.Finding(r.Context(), sc, r.PathValue("id"), r.PathValue("vuln"))
			if err != nil {
				return nil, err
			}
			n, err := vuln.AlertFromFinding(f, vuln.NewAlert{Title: b.Title, Severity: b.Severity, RequiredAction: b.RequiredAction, Deadline: b.Deadline, TLP: b.TLP})
			if err != nil {
				return nil, err
			}
			ca, err := a.o.CyberAlerts.Issue(r.Context(), sc, n)
			if err != nil {
				return nil, err
			}
			return created{ca}, nil
		})
	}
}

// matchBody is what POST /vuln/match takes: the server's own OSV
// directory, KEV and EPSS files are used, never paths from a request.
type matchBody struct {
	Full bool `json:"full,omitempty"`
}

// findingAlertBody is the alert raised from a finding: its CVEs come
// from the finding; the title defaults to the finding's.
type findingAlertBody struct {
	Title          string    `json:"title,omitempty"`
	Severity       string    `json:"severity,omitempty"`
	RequiredAction string    `json:"required_action"`
	Deadline       time.Time `json:"deadline"`
	TLP            string    `json:"tlp,omitempty"`
}

// uploadedFile reads the first file part of a multipart/form-data body.
func uploadedFile(r *http.Request) (string, []byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return "", nil, &fault.Invalid{Field: "file", Reason: "send the SBOM as a multipart/form-data file part"}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxUpload)
	var name string
	var data []byte
	err := eachPart(r, func(file, _ string, part io.Reader) error {
		if file == "" || name != "" {
			return nil
		}
		b, err := io.ReadAll(part)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return &fault.Invalid{Field: "file", Reason: "the upload is larger than " + httpd.SizeText(mb.Limit)}
		}
		name, data = file, b
		return err
	})
	if err != nil {
		return "", nil, err
	}
	if name == "" {
		return "", nil, &fault.Invalid{Field: "file", Reason: "the upload has no file part"}
	}
	return name, data, nil
}
