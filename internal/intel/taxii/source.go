package taxii

import (
	"context"
	"errors"
	"net/http"

	"github.com/vigil-health/vigil/internal/intel"
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

// Objects implements Source: the collection's versions at or below its
// TLP ceiling, checked again here so a Server bug cannot widen it.
func (s StoreSource) Objects(ctx context.Context, r *http.Request, root, collection string, q intel.Query) (intel.Page, error) {
	sc, ok := s.caller(r)
	if !ok {
		return intel.Page{}, intel.ErrCollectionNotFound
	}
	c, err := s.Store.GetCollection(ctx, sc, collection)
	if err != nil {
		return intel.Page{}, err
	}
	if !c.CanRead {
		return intel.Page{}, errors.New("taxii: collection not readable")
	}
	q.Collection, q.MaxTLP = c.ID, c.TLPCeiling
	return s.Store.List(ctx, q)
}
