package taxii

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/vigil-health/vigil/internal/intel"
)

// Deleter is a Source that also removes objects from collections
// (section 5.7). A Server whose Source is one serves DELETE
// …/objects/{object-id}/.
type Deleter interface {
	Source
	// Delete removes the versions of an object (match[version]; every
	// version when empty) from a collection the request may read and
	// write: intel.ErrNotFound when the request sees none of them.
	Delete(ctx context.Context, r *http.Request, root, collection, object string, versions []string) error
}

// deleteObject is DELETE …/objects/{object-id}/ (section 5.7): 200 with
// no body once the versions matched are gone from the collection; 403
// for a collection the caller may not write; 404 for an object (or
// version) the collection does not hold for the caller. match[version]
// picks versions (every version by default, as the specification says)
// and match[spec_version] other than 2.1 matches none.
func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) {
	a, c, ok := s.find(w, r)
	if !ok {
		return
	}
	if !c.CanWrite || !c.CanRead {
		s.fail(w, http.StatusForbidden, "Forbidden", "objects cannot be deleted from this collection with these credentials")
		return
	}
	q, msg := s.query(r)
	if msg != "" {
		s.fail(w, http.StatusBadRequest, "Bad request", msg)
		return
	}
	obj := r.PathValue("object")
	notFound := func() {
		s.fail(w, http.StatusNotFound, "Object not found", "no object "+strconv.Quote(obj)+" (or no such version of it) in this collection")
	}
	if slices.Equal(q.IDs, noMatch) {
		notFound()
		return
	}
	err := s.o.Source.(Deleter).Delete(r.Context(), r, a.Name, c.ID, obj, q.Versions)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, intel.ErrBadQuery):
		s.fail(w, http.StatusBadRequest, "Bad request", err.Error())
	case errors.Is(err, intel.ErrCollectionNotFound):
		s.fail(w, http.StatusNotFound, "Collection not found", "no collection "+strconv.Quote(c.ID)+" in this API root")
	case errors.Is(err, intel.ErrCollectionForbidden):
		s.fail(w, http.StatusForbidden, "Forbidden", "objects cannot be deleted from this collection with these credentials")
	case errors.Is(err, intel.ErrNotFound):
		notFound()
	default:
		s.fail(w, http.StatusInternalServerError, "Internal error", "")
	}
}

// Delete implements Deleter through intel.Store.RemoveFromCollection,
// which removes only versions the caller may read.
func (s StoreSource) Delete(ctx context.Context, r *http.Request, root, collection, object string, versions []string) error {
	sc, ok := s.caller(r)
	if !ok {
		return intel.ErrCollectionNotFound
	}
	_, err := s.Store.RemoveFromCollection(ctx, sc, collection, object, versions)
	return err
}
