package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// IntelObjectPage is a page of a collection's objects as the caller may
// read them (GET /intel/collections/{id}/objects).
type IntelObjectPage struct {
	Objects []json.RawMessage `json:"objects"`
	More    bool              `json:"more"`
	Next    string            `json:"next,omitempty"`
}

// IntelReject is the body of POST /intel/submissions/{id}/reject.
type IntelReject struct {
	// Reason is why (required); the submitter's organisation reads it.
	Reason string `json:"reason"`
}

// IntelShare is the body of POST /intel/objects/{id}/recipients.
type IntelShare struct {
	// Kind is "user" (recipient a user id) or "org" (an ODS code).
	Kind      string `json:"kind"`
	Recipient string `json:"recipient"`
}

// IntelEdit is the body of POST /intel/objects/{id}/versions: the
// properties to change, each left as it is when absent.
type IntelEdit struct {
	// Confidence is 0 to 100; -1 removes it.
	Confidence *int `json:"confidence,omitempty"`
	// ValidUntil is a timestamp (RFC 3339) after valid_from; "" removes it.
	ValidUntil *string `json:"valid_until,omitempty"`
	// Labels replace the indicator's; [] removes them.
	Labels *[]string `json:"labels,omitempty"`
	// Collection is a collection you write to add the version to (besides
	// every one holding the indicator that you write).
	Collection string `json:"collection,omitempty"`
}

// IntelObjectResult is a STIX object Vigil made (a link, a new version).
type IntelObjectResult struct {
	Object json.RawMessage `json:"object"`
}

func objectResult(o *stix.Object, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	b, err := o.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return created{IntelObjectResult{Object: b}}, nil
}

// Edit turns the API's body into the store's edit.
func (e IntelEdit) Edit() (intel.IndicatorEdit, error) {
	out := intel.IndicatorEdit{Confidence: e.Confidence, Labels: e.Labels, Collection: e.Collection}
	if e.ValidUntil != nil {
		var t time.Time
		if *e.ValidUntil != "" {
			var err error
			if t, err = time.Parse(time.RFC3339Nano, *e.ValidUntil); err != nil {
				return out, fault.Invalidf("valid_until", "%q is not a timestamp such as 2027-01-31T00:00:00Z", *e.ValidUntil)
			}
		}
		out.ValidUntil = &t
	}
	return out, nil
}

var feedFile = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(manifest\.json|hashes\.csv|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json)$`)
})

// IntelPurge is the body of POST /intel/objects/{id}/purge.
type IntelPurge struct {
	// Reason says why the object must go (required; audited).
	Reason string `json:"reason"`
}

// registerIntel adds the intelligence collections (issue 19): sharing
// grants, explicit recipients of TLP:RED, and the export paths — objects
// as JSON, a MISP feed a MISP instance can subscribe to, and a CSV
// blocklist. Every read goes through intel.Store.ReadCollection, which
// applies the caller's grant, the TLP ceiling and the recipients of
// TLP:RED and AMBER+STRICT.
func (a *API) registerIntel(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"IntelCollection": reflect.TypeFor[intel.Collection](), "IntelCollectionList": reflect.TypeFor[List[intel.Collection]](),
		"IntelGrant": reflect.TypeFor[intel.GrantOptions](), "IntelOrgGrant": reflect.TypeFor[intel.OrgGrant](),
		"IntelOrgGrantList": reflect.TypeFor[List[intel.OrgGrant]](), "IntelObjectPage": reflect.TypeFor[IntelObjectPage](),
		"IntelShare": reflect.TypeFor[IntelShare](), "IntelRecipient": reflect.TypeFor[intel.Recipient](),
		"IntelRecipientList": reflect.TypeFor[List[intel.Recipient]](), "IntelPurge": reflect.TypeFor[IntelPurge](),
		"IntelPurgeResult": reflect.TypeFor[intel.PurgeResult](),
		"IntelSummaryList": reflect.TypeFor[List[intel.Summary]](), "IntelDetections": reflect.TypeFor[intel.Detections](),
		"IntelLink": reflect.TypeFor[intel.LinkRequest](), "IntelEdit": reflect.TypeFor[IntelEdit](),
		"IntelObjectResult": reflect.TypeFor[IntelObjectResult](),
		"IntelSubmission":   reflect.TypeFor[intel.Submission](), "IntelSubmissionList": reflect.TypeFor[List[intel.Submission]](),
		"IntelReject": reflect.TypeFor[IntelReject](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	s := a.o.Intel
	a.route(rt, spec{Method: "GET", Path: "/intel/collections", Tag: "intel",
		Summary:  "Intelligence collections you hold a grant on (yours, or your organisation's, or one above it), with what you may do",
		Response: "IntelCollectionList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.Collections(r.Context(), sc))
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/collections/{id}", Tag: "intel", Summary: "One collection",
		Params: []param{id}, Response: "IntelCollection"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return s.GetCollection(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/collections/{id}/grants", Tag: "intel", Summary: "Who a collection is shared with: its grants to organisations",
		Params: []param{id}, Response: "IntelOrgGrantList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.CollectionGrants(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/collections/{id}/grants", Tag: "intel",
		Summary: "Share a collection you write with an organisation and everyone under it (read), or let them add to it (write: only where you hold a role); read and write false revokes",
		Params:  []param{id}, Body: "IntelGrant", Response: "IntelOrgGrant"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var g intel.GrantOptions
		if err := decode(r, &g); err != nil {
			return nil, err
		}
		return s.GrantCollection(r.Context(), sc, r.PathValue("id"), g)
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/collections/{id}/objects", Tag: "intel",
		Summary: "A collection's STIX objects as you may read them (within its TLP ceiling; TLP:RED and AMBER+STRICT only if you are a recipient), in the order added",
		Params: []param{id, {Name: "limit", In: "query", Type: "integer", Desc: "at most 1,000; 100 by default"}, {Name: "next", In: "query", Type: "string"},
			{Name: "type", In: "query", Type: "string", Desc: "only objects of this STIX type"}},
		Response: "IntelObjectPage"}, func(r *http.Request, sc scope.Scope) (any, error) {
		q := intel.Query{Next: r.URL.Query().Get("next")}
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 1000 {
				return nil, fault.Invalidf("limit", "%q is not a number from 1 to 1,000", l)
			}
			q.Limit = n
		}
		if t := r.URL.Query().Get("type"); t != "" {
			q.Types = []string{t}
		}
		p, _, err := s.ReadCollection(r.Context(), sc, r.PathValue("id"), q)
		if errors.Is(err, intel.ErrBadQuery) {
			return nil, fault.Invalidf("next", "not a cursor this server gave")
		}
		if err != nil {
			return nil, err
		}
		out := IntelObjectPage{Objects: []json.RawMessage{}, More: p.More, Next: p.Next}
		for _, e := range p.Entries {
			b, err := e.Object.MarshalJSON()
			if err != nil {
				return nil, err
			}
			out.Objects = append(out.Objects, b)
		}
		return out, nil
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/intel/collections/{id}/misp/{file}", Tag: "intel",
		Summary: "A collection as a MISP feed, as you may read it: point a MISP feed (format MISP, with the header Authorization: Bearer <API token>) at …/misp/; file is manifest.json, hashes.csv or <event uuid>.json",
		Params:  []param{id, {Name: "file", In: "path", Type: "string", Required: true}}, Binary: true}, func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
		name := r.PathValue("file")
		if !feedFile().MatchString(name) {
			return fault.NotFoundf("no such feed file")
		}
		f, err := s.MISPFeed(r.Context(), sc, r.PathValue("id"))
		if err != nil {
			return err
		}
		b, ok := f[name]
		if !ok {
			return fault.NotFoundf("no such feed file")
		}
		ct := "application/json"
		if name == "hashes.csv" {
			ct = "text/csv; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(b) // a failed write: the client has gone
		return nil
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/intel/collections/{id}/blocklist.csv", Tag: "intel",
		Summary: "A collection's single-value indicators as CSV for blocking (type, value, indicator, tlp, pap, confidence, valid_from, valid_until); PAP:AMBER and PAP:RED ones are left out, as blocking is an active use",
		Params:  []param{id}, Binary: true}, func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
		rows, err := s.Blocklist(r.Context(), sc, r.PathValue("id"))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		return intel.WriteBlocklistCSV(w, rows)
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/objects/{id}/purge", Tag: "intel",
		Summary: "Remove an object from Vigil altogether (every version, every collection, its recipients and sightings), where a TAXII DELETE takes it from one collection; national administrators only, with a reason",
		Params:  []param{id}, Body: "IntelPurge", Response: "IntelPurgeResult"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelPurge
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return s.Purge(r.Context(), sc, r.PathValue("id"), in.Reason)
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/objects/{id}/recipients", Tag: "intel",
		Summary: "The explicit recipients of a TLP:RED or AMBER+STRICT object (to a recipient only)", Params: []param{id},
		Response: "IntelRecipientList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.Recipients(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/submissions", Tag: "intel",
		Summary:  "Submissions to moderated collections: those you approve (national analysts who write the collection), and your organisation's own; pending by default",
		Params:   []param{{Name: "state", In: "query", Type: "string", Desc: "pending (the default), approved, rejected or all"}},
		Response: "IntelSubmissionList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.Submissions(r.Context(), sc, intel.SubmissionQuery{State: r.URL.Query().Get("state")}))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/submissions/{id}/approve", Tag: "intel",
		Summary: "Approve a pending submission: it goes to every reader of its collection, dated added now (approvers only)",
		Params:  []param{id}, Response: "IntelSubmission"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return s.ApproveSubmission(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/submissions/{id}/reject", Tag: "intel",
		Summary: "Reject a pending submission with a reason (required): it leaves the collection (approvers only)",
		Params:  []param{id}, Body: "IntelReject", Response: "IntelSubmission"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelReject
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return s.RejectSubmission(r.Context(), sc, r.PathValue("id"), in.Reason)
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/objects/{id}/recipients", Tag: "intel",
		Summary: "Name one more recipient (a user id, or an organisation's own people) of a TLP:RED or AMBER+STRICT object you are a recipient of",
		Params:  []param{id}, Body: "IntelShare", Response: "IntelRecipient", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelShare
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		rc, err := s.Share(r.Context(), sc, r.PathValue("id"), in.Kind, in.Recipient)
		if err != nil {
			return nil, err
		}
		return created{rc}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/search", Tag: "intel",
		Summary: "Search the intelligence you may read: every word begins a word of an object's names, aliases, description, values or external ids (T1059, CVE ids), or the whole text begins a value or id",
		Params: []param{{Name: "q", In: "query", Type: "string", Required: true}, {Name: "type", In: "query", Type: "string", Desc: "only objects of this STIX type"},
			{Name: "limit", In: "query", Type: "integer", Desc: "at most 1,000; 100 by default"}},
		Response: "IntelSummaryList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		limit := 100
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 1000 {
				return nil, fault.Invalidf("limit", "%q is not a number from 1 to 1,000", l)
			}
			limit = n
		}
		return list(s.Search(r.Context(), sc, r.URL.Query().Get("q"), r.URL.Query().Get("type"), limit))
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/objects/{id}/detections", Tag: "intel",
		Summary: "An object's ATT&CK techniques (itself, or through its relationships), the tactics of its kill chain phases, and the Sigma rules detecting them",
		Params:  []param{id}, Response: "IntelDetections"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return s.Detections(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/objects/{id}/links", Tag: "intel",
		Summary: "Link an indicator, malware, intrusion set, campaign, threat actor or tool you read to an ATT&CK technique or a Sigma rule: a relationship by Vigil's identity in a collection you write",
		Params:  []param{id}, Body: "IntelLink", Response: "IntelObjectResult", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in intel.LinkRequest
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return objectResult(s.Link(r.Context(), sc, r.PathValue("id"), in))
	})
	a.route(rt, spec{Method: "POST", Path: "/intel/objects/{id}/versions", Tag: "intel",
		Summary: "Edit an indicator you read: a new version with its confidence, valid_until or labels changed, added to the collections holding it that you write",
		Params:  []param{id}, Body: "IntelEdit", Response: "IntelObjectResult", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelEdit
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		e, err := in.Edit()
		if err != nil {
			return nil, err
		}
		return objectResult(s.EditIndicator(r.Context(), sc, r.PathValue("id"), e))
	})
}
