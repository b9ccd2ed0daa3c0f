// Package fault is Vigil's one vocabulary of errors, declared once for the
// whole binary: not found, invalid (naming the field, and for files the
// position), forbidden, conflict, rate-limited and unavailable. Domains
// return them (wrapped with context as they like); callers branch with
// errors.Is and errors.As; and Status turns any error into its HTTP status,
// the one mapping the API and the web UI share.
//
// Two rules of tenancy shape how they are used. Anything outside the
// caller's scope is ErrNotFound, never ErrForbidden, so that a refusal does
// not confirm that something exists. ErrForbidden is for what the caller
// can see but may not do, and its message names only what the caller can
// see.
package fault

import (
	"errors"
	"fmt"
	"net/http"
)

// The kinds of failure callers branch on.
var (
	// ErrNotFound: no such object, or one the caller may not see.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the caller can see the object but may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: the change would break a uniqueness or integrity rule
	// (an object with that key exists; a product still in use).
	ErrConflict = errors.New("conflict")
	// ErrRateLimited: too many attempts, or too busy; try again later.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: the service cannot do this now (a read-only
	// database, a schema that needs migrating).
	ErrUnavailable = errors.New("unavailable")
)

// Invalid is a request or record that is wrong in one field. Field names
// the field as the caller sent it ("" when the request as a whole is bad,
// e.g. a body that is not JSON); Reason completes a sentence that begins
// with the field, e.g. `value_gbp: "Infinity" is not a finite amount`.
type Invalid struct {
	Field  string
	Reason string
}

func (e *Invalid) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Invalidf returns an *Invalid for field with a formatted reason.
func Invalidf(field, format string, a ...any) error {
	return &Invalid{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// NotFoundf, Forbiddenf and Conflictf return an error of that kind whose
// message is the formatted text after the kind ("forbidden: you may not
// change user x"). errors.Is(err, ErrForbidden) holds for the result.
func NotFoundf(format string, a ...any) error  { return kindf(ErrNotFound, format, a...) }
func Forbiddenf(format string, a ...any) error { return kindf(ErrForbidden, format, a...) }
func Conflictf(format string, a ...any) error  { return kindf(ErrConflict, format, a...) }

func kindf(kind error, format string, a ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, a...))
}

// sentinel is a domain's own named error of a kind, e.g. auth.ErrThrottled
// is rate-limited: errors.Is matches both the sentinel and its kind.
type sentinel struct {
	kind error
	msg  string
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.kind }

// New returns a sentinel error of kind with message msg, for a domain to
// declare an error callers branch on by name while the API and the web UI
// still know its kind.
func New(kind error, msg string) error { return &sentinel{kind: kind, msg: msg} }

// Status is the HTTP status for err: 400 for *Invalid, 404, 403, 409, 429
// and 503 for the kinds, 500 for anything else (nil is 200).
func Status(err error) int {
	var inv *Invalid
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &inv):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Message is what a person may be shown for err: the error's own text for
// the kinds above, which domains write for people, and nothing for an
// internal error, whose text may hold anything (SQL, paths) and goes to
// the log with an error ID instead.
func Message(err error) string {
	if Status(err) == http.StatusInternalServerError {
		return ""
	}
	return err.Error()
}
