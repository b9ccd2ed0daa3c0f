package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// StoreSource serves the collections of an intel.Store: a request sees
// the collections its caller holds a grant on, and reads a collection's
// objects only up to the collection's TLP ceiling.
type StoreSource struct {
	Store *intel.Store
	// Caller is the authenticated caller of a request; ok false is a
	// request with no caller, which sees no collection. Nil means
	// CallerOf: the Scope WithCaller put in the request's context.
	Caller func(*http.Request) (sc scope.Scope, ok bool)
}

type callerKey struct{}

// WithCaller returns ctx carrying the authenticated caller, for CallerOf.
func WithCaller(ctx context.Context, sc scope.Scope) context.Context {
	return context.WithValue(ctx, callerKey{}, sc)
}

// CallerOf is the caller WithCaller put in the request's context.
func CallerOf(r *http.Request) (scope.Scope, bool) {
	sc, ok := r.Context().Value(callerKey{}).(scope.Scope)
	return sc, ok && sc.UserID != ""
}

func (s StoreSource) caller(r *http.Request) (scope.Scope, bool) {
	if s.Caller == nil {
		return CallerOf(r)
	}
	return s.Caller(r)
}

// Collections implements Source. Every API root shows the same collections.
func (s StoreSource) Collections(ctx context.Context, r *http.Request, root string) ([]Collection, error) {
	sc, ok := s.caller(r)
	if !ok {
		return nil, nil
	}
	cs, err := s.Store.Collections(ctx, sc)
	if err != nil {
		return nil, err
	}
	out := make([]Collection, len(cs))
	for i, c := range cs {
		out[i] = Collection{ID: c.ID, Title: c.Title, Description: c.Description, CanRead: c.CanRead, CanWrite: c.CanWrite}
	}
	return out, nil
}

// Objects implements Source: the collection's versions as
// intel.Store.ReadCollection hands them to this caller — within the
// collection's TLP ceiling, and TLP:RED or AMBER+STRICT ones only to
// their recipients — checked below the protocol layer so a Server bug
// cannot widen it.
func (s StoreSource) Objects(ctx context.Context, r *http.Request, root, collection string, q intel.Query) (intel.Page, error) {
	sc, ok := s.caller(r)
	if !ok {
		return intel.Page{}, intel.ErrCollectionNotFound
	}
	p, _, err := s.Store.ReadCollection(ctx, sc, collection, q)
	return p, err
}

// Add implements Writer: objects marked above the collection's TLP
// ceiling are rejected (nothing is stored); the rest go in through
// ImportInto, one transaction audited as intel.import with the source
// "taxii:STATUS-ID".
func (s StoreSource) Add(ctx context.Context, r *http.Request, root, collection, statusID string, objs []*stix.Object) (AddResult, error) {
	sc, ok := s.caller(r)
	if !ok {
		return AddResult{}, intel.ErrCollectionNotFound
	}
	c, err := s.Store.GetCollection(ctx, sc, collection)
	if err != nil {
		return AddResult{}, err
	}
	if !c.CanWrite {
		return AddResult{}, intel.ErrCollectionNotFound
	}
	res := AddResult{Rejected: map[int]string{}, Refused: map[int]string{}}
	for i, o := range objs {
		if t, ok := stix.TLPOfObject(o); ok && t > c.TLPCeiling {
			res.Rejected[i] = fmt.Sprintf("%s is marked %s, above this collection's ceiling %s", o.ID, t, c.TLPCeiling)
		}
	}
	if len(res.Rejected) > 0 {
		return res, nil
	}
	rep, err := s.Store.ImportInto(ctx, sc, c.ID, "taxii:"+statusID, objs)
	if err != nil {
		return AddResult{}, err
	}
	for _, why := range rep.Refused {
		var i int
		if _, err := fmt.Sscanf(why, "object %d", &i); err == nil {
			res.Refused[i] = why
		}
	}
	return res, nil
}

// SaveStatus implements Writer.
func (s StoreSource) SaveStatus(ctx context.Context, r *http.Request, root string, st Status) error {
	sc, ok := s.caller(r)
	if !ok {
		return errors.New("taxii: a status needs a caller")
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.Store.SaveStatus(ctx, sc, st.ID, st.Collection, b)
}

// Status implements Writer: a status is seen by its poster only.
func (s StoreSource) Status(ctx context.Context, r *http.Request, root, id string) (Status, error) {
	sc, ok := s.caller(r)
	if !ok {
		return Status{}, intel.ErrStatusNotFound
	}
	b, err := s.Store.Status(ctx, sc, id)
	if err != nil {
		return Status{}, err
	}
	var st Status
	return st, json.Unmarshal(b, &st)
}
