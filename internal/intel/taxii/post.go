package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Writer is a Source that also takes envelopes (section 5.5) and keeps
// their status resources (section 4.3). A Server whose Source is one
// serves POST …/objects/ and GET …/status/{id}/.
type Writer interface {
	Source
	// Add stores objs in a collection the request may write, all or none.
	// Rejected maps an object's index to why it may not go into this
	// collection (then nothing is stored); Refused the ones the store
	// kept out (a version newer than a revocation).
	Add(ctx context.Context, r *http.Request, root, collection, statusID string, objs []*stix.Object) (AddResult, error)
	// SaveStatus keeps a status for the request's caller.
	SaveStatus(ctx context.Context, r *http.Request, root string, st Status) error
	// Status returns a status the request's caller may see
	// (intel.ErrStatusNotFound otherwise).
	Status(ctx context.Context, r *http.Request, root, id string) (Status, error)
}

// AddResult is what Add did.
type AddResult struct {
	Rejected map[int]string
	Refused  map[int]string
}

// Status is a status resource (section 4.3.1).
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
	// Collection is where the envelope went; not part of the resource.
	Collection string `json:"-"`
}

// StatusDetail is one object of a status (section 4.3.1.1).
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// contentTAXII reports whether a Content-Type is TAXII 2.1's.
func contentTAXII(h string) bool {
	mt, params, err := mime.ParseMediaType(h)
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	v, ok := params["version"]
	return !ok || v == "2.1"
}

// postObjects is POST …/objects/ (section 5.5): the envelope's objects are
// validated first; one invalid object, or one marked above what the
// collection may hand out, stores nothing and answers 422 with every
// object's failure in the status. Otherwise they are stored in one
// transaction and the answer is 202 with a complete status.
func (s *Server) postObjects(w http.ResponseWriter, r *http.Request) {
	wr := s.o.Source.(Writer)
	a, c, ok := s.find(w, r)
	if !ok {
		return
	}
	if !c.CanWrite {
		s.fail(w, http.StatusForbidden, "Forbidden", "this collection cannot be written with these credentials")
		return
	}
	if !contentTAXII(r.Header.Get("Content-Type")) {
		s.fail(w, http.StatusUnsupportedMediaType, "Unsupported media type", "Content-Type must be "+MediaTAXII)
		return
	}
	limit := int64(a.MaxContentLength)
	if limit > 0 && r.ContentLength > limit {
		s.fail(w, http.StatusRequestEntityTooLarge, "Request too large", fmt.Sprintf("the envelope is %d bytes; this API root takes at most %d (max_content_length)", r.ContentLength, limit))
		return
	}
	var body io.Reader = r.Body
	if limit > 0 {
		body = io.LimitReader(r.Body, limit+1)
	}
	raw, err := io.ReadAll(body)
	var mb *http.MaxBytesError
	if errors.As(err, &mb) || (limit > 0 && int64(len(raw)) > limit) {
		s.fail(w, http.StatusRequestEntityTooLarge, "Request too large", fmt.Sprintf("the envelope is larger than %d bytes, the most this API root takes (max_content_length)", limit))
		return
	}
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Bad request", "reading the envelope: "+err.Error())
		return
	}
	var env struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		s.fail(w, http.StatusBadRequest, "Bad request", "the envelope is not JSON: "+err.Error())
		return
	}
	if len(env.Objects) == 0 {
		s.fail(w, http.StatusUnprocessableEntity, "Unprocessable entity", "objects: the envelope holds no objects")
		return
	}
	st := Status{ID: newUUID(), Status: "complete", RequestTimestamp: stix.FormatTimestamp(time.Now()), TotalCount: len(env.Objects), Collection: c.ID}
	objs := make([]*stix.Object, len(env.Objects))
	bad := map[int]string{}
	for i, b := range env.Objects {
		o, err := stix.Parse(b)
		if err != nil {
			bad[i] = fmt.Sprintf("objects[%d]: %v", i, err)
			continue
		}
		objs[i] = o
	}
	var res AddResult
	if len(bad) == 0 {
		res, err = wr.Add(r.Context(), r, a.Name, c.ID, st.ID, objs)
		if errors.Is(err, intel.ErrCollectionNotFound) {
			s.fail(w, http.StatusNotFound, "Collection not found", "no collection "+strconv.Quote(c.ID)+" in this API root")
			return
		}
		if err != nil {
			s.fail(w, http.StatusInternalServerError, "Internal error", "")
			return
		}
		for i, why := range res.Rejected {
			bad[i] = fmt.Sprintf("objects[%d]: %s", i, why)
		}
	}
	for i, b := range env.Objects {
		d := detail(objs[i], b)
		switch {
		case bad[i] != "":
			d.Message = bad[i]
			st.Failures = append(st.Failures, d)
		case len(bad) > 0:
			d.Message = fmt.Sprintf("not stored: %d object(s) of the envelope are invalid, and an envelope is stored whole or not at all", len(bad))
			st.Failures = append(st.Failures, d)
		case res.Refused[i] != "":
			d.Message = res.Refused[i]
			st.Failures = append(st.Failures, d)
		default:
			st.Successes = append(st.Successes, d)
		}
	}
	st.SuccessCount, st.FailureCount = len(st.Successes), len(st.Failures)
	if err := wr.SaveStatus(r.Context(), r, a.Name, st); err != nil {
		s.fail(w, http.StatusInternalServerError, "Internal error", "")
		return
	}
	if len(bad) > 0 {
		b, _ := json.Marshal(map[string]any{"title": "Unprocessable entity", "http_status": "422",
			"description": fmt.Sprintf("%d of %d objects are invalid; nothing was stored. The status resource %s lists each.", len(bad), st.TotalCount, st.ID),
			"details":     map[string]any{"status_id": st.ID, "failures": st.Failures}})
		w.Header().Set("Content-Type", MediaTAXII)
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write(b) // the client has gone; nothing left to do
		return
	}
	s.write(w, http.StatusAccepted, st)
}

// detail names an object of an envelope as well as it can: an invalid
// one by whatever id and modified it has.
func detail(o *stix.Object, raw json.RawMessage) StatusDetail {
	if o != nil {
		d := StatusDetail{ID: o.ID}
		if v := o.Version(); !v.IsZero() {
			d.Version = stix.FormatVersion(v)
		}
		return d
	}
	var p struct {
		ID       string `json:"id"`
		Modified string `json:"modified"`
	}
	_ = json.Unmarshal(raw, &p) // best effort: the object is invalid anyway
	return StatusDetail{ID: p.ID, Version: p.Modified}
}

// status is GET …/status/{id}/ (section 4.3).
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	a, ok := s.root(w, r)
	if !ok {
		return
	}
	st, err := s.o.Source.(Writer).Status(r.Context(), r, a.Name, r.PathValue("id"))
	if errors.Is(err, intel.ErrStatusNotFound) {
		s.fail(w, http.StatusNotFound, "Status not found", "no status "+strconv.Quote(r.PathValue("id"))+" of yours in this API root")
		return
	}
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Internal error", "")
		return
	}
	s.write(w, http.StatusOK, st)
}

// newUUID is a random UUID, as TAXII names status resources.
func newUUID() string { return stix.NewID("x")[len("x--"):] }
