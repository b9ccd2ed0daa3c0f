// Package api is Vigil's REST API under /api/v1: JSON in and out,
// application/problem+json errors from a closed set of types, cursor
// pagination, and an OpenAPI 3.1 document generated from the same route
// table the server uses, so the two cannot drift apart. Handlers are thin:
// they decode, call a domain service with the caller's Scope, and return a
// value or an error; one wrapper encodes, logs and counts.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigil-health/vigil/internal/assurance"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/casereport"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/pull"
	"github.com/vigil-health/vigil/internal/jsonstream"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/vuln"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// Options are the API's dependencies.
type Options struct {
	Orgs  *org.Service
	Auth  *auth.Service
	Audit *audit.Log
	// Supply, when set, adds the supplier register routes under /supply.
	Supply *supply.Service
	// Cases, when set, adds the alerts inbox and case routes.
	Cases *cases.Service
	// Reports, when set, adds case report exports.
	Reports *casereport.Service
	// Notify, when set, adds the caller's notification settings.
	Notify *notify.Service
	// Events, when set, adds event search (issue 16).
	Events events.Store
	// EventSearches, when set with Events, adds each person's saved
	// event searches.
	EventSearches *events.Searches
	// Rules, when set, adds Sigma rule management under /rules.
	Rules *rules.Service
	// Assurance, when set, adds requirement sets and DSPT statuses.
	Assurance *assurance.Service
	// CyberAlerts, when set, adds the national cyber alerts (issue 18).
	CyberAlerts *vuln.Alerts
	// SBOMs, when set, adds the stored SBOMs, inventories and findings
	// (issue 18).
	SBOMs *vuln.SBOMs
	// Intel, when set, adds the intelligence collections, their sharing
	// and their export paths (issue 19).
	Intel *intel.Store
	// Feeds, with Intel, adds the subscriptions to remote TAXII
	// collections and MISP feeds.
	Feeds *pull.Puller
	// IngestHealth, when set, adds the ingest dashboard.
	IngestHealth IngestHealth
	Logger       *slog.Logger
	Version      string
}

// API holds the handlers.
type API struct {
	o     Options
	specs []spec
	extra map[string]reflect.Type
}

// New returns the API.
func New(o Options) (*API, error) {
	switch {
	case o.Orgs == nil:
		return nil, errors.New("api: Options.Orgs is required")
	case o.Auth == nil:
		return nil, errors.New("api: Options.Auth is required")
	case o.Audit == nil:
		return nil, errors.New("api: Options.Audit is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &API{o: o}, nil
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	ErrorID  string       `json:"error_id,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// FieldError names one bad field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// The closed set of problem types.
const (
	ProblemBase       = "https://vigil.nhs.invalid/problems/"
	TypeNotFound      = ProblemBase + "not-found"
	TypeValidation    = ProblemBase + "validation"
	TypeForbidden     = ProblemBase + "forbidden"
	TypeConflict      = ProblemBase + "conflict"
	TypeUnauthorized  = ProblemBase + "unauthorized"
	TypeRateLimited   = ProblemBase + "rate-limited"
	TypeBadRequest    = ProblemBase + "bad-request"
	TypeInternal      = ProblemBase + "internal"
	TypeSchemaChanged = ProblemBase + "unavailable"
)

// ProblemTypes lists the closed set, for the OpenAPI document and tests.
func ProblemTypes() []string {
	return []string{TypeNotFound, TypeValidation, TypeForbidden, TypeConflict, TypeUnauthorized, TypeRateLimited, TypeBadRequest, TypeInternal, TypeSchemaChanged}
}

// problemer is an error that is its own problem document (e.g. an import
// with row errors, which lists every row).
type problemer interface{ problem() Problem }

// problemFor turns an error into its problem document. The status comes
// from fault.Status, the one mapping the web UI uses too; the type names
// the fault's kind, and the detail is the domain's message for people —
// except for 404, whose detail never says whether the object exists, and
// 500, whose detail is never the error's own text (that goes to the log).
func problemFor(err error) Problem {
	var pe problemer
	if errors.As(err, &pe) {
		return pe.problem()
	}
	status := fault.Status(err)
	p := Problem{Type: problemType(status), Status: status, Title: http.StatusText(status), Detail: fault.Message(err)}
	var inv *fault.Invalid
	switch {
	case status == http.StatusBadRequest && errors.As(err, &inv) && inv.Field != "":
		p.Type, p.Title = TypeValidation, "Invalid request"
		p.Errors = []FieldError{{inv.Field, inv.Reason}}
	case status == http.StatusNotFound:
		p.Detail = "No such object, or you may not see it."
	case status >= 500 && status != http.StatusServiceUnavailable:
		p.Detail = "Something went wrong on our side. Quote the error ID if you report it."
	}
	return p
}

// problemType is the problem type of a status: the closed set's one
// mapping, for errors from handlers and from the router alike.
func problemType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return TypeUnauthorized
	case http.StatusForbidden:
		return TypeForbidden
	case http.StatusNotFound:
		return TypeNotFound
	case http.StatusConflict:
		return TypeConflict
	case http.StatusTooManyRequests:
		return TypeRateLimited
	case http.StatusServiceUnavailable:
		return TypeSchemaChanged
	}
	if status >= 500 {
		return TypeInternal
	}
	return TypeBadRequest
}

// routerProblem answers an error httpd's router found before any handler
// ran, with the problem type of its status.
func (a *API) routerProblem(w http.ResponseWriter, r *http.Request, status int, detail, errID string) {
	p := Problem{Type: problemType(status), Status: status, Title: http.StatusText(status), Detail: detail, Instance: r.URL.Path, ErrorID: errID}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
	}
	WriteProblem(w, p)
}

// WriteProblem sends p.
func WriteProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // a failed write: the client has gone
}

// jsonHandler is what API handlers are: a value or an error.
type jsonHandler func(r *http.Request, sc scope.Scope) (any, error)

// created marks a value answered with 201.
type created struct{ v any }

// streamer is an answer written as it is produced rather than encoded
// whole (a national blast radius is tens of megabytes of JSON): wrap sends
// 200 and the headers, then WriteJSON, then Close. Whatever can fail —
// not found, invalid, no free slot — fails before the handler returns it,
// so it is still a problem document. A failure midway (above all a
// client gone) can no longer change the status: the response is cut, so
// the client sees it incomplete, never a truncated body passed off as
// whole.
type streamer interface {
	WriteJSON(w io.Writer, indent string) error
	Close()
}

func (a *API) wrap(h jsonHandler) httpd.Handler {
	return func(w http.ResponseWriter, r *http.Request, sc scope.Scope) {
		v, err := h(r, sc)
		if ctxErr := r.Context().Err(); err != nil && ctxErr != nil && errors.Is(err, ctxErr) {
			// The client left while the answer was waiting (for an
			// impact or export slot): nobody to answer, nothing wrong here.
			a.cut(r, err)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if st, ok := v.(streamer); ok {
			defer st.Close()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			if err := st.WriteJSON(w, ""); err != nil {
				a.cut(r, err)
			}
			return
		}
		status := http.StatusOK
		if c, ok := v.(created); ok {
			status, v = http.StatusCreated, c.v
		}
		if v == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		// Written a slice element at a time, never as one buffer: the
		// whole-register concentration report is 11 MB of JSON.
		if err := jsonstream.Encode(w, v, ""); err != nil {
			a.cut(r, err)
		}
	}
}

// fail answers err as a problem document, logging internal errors with an
// error ID.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.Instance = r.URL.Path
	if p.Status >= 500 {
		p.ErrorID = httpd.NewID()
		a.o.Logger.Error("api error", "error_id", p.ErrorID, "request_id", httpd.RequestID(r.Context()), "path", r.URL.Path, "err", err)
	}
	WriteProblem(w, p)
}

// cut ends a response whose status is sent but whose body failed midway
// (above all, a client gone): the connection is dropped so the client
// sees it incomplete.
func (a *API) cut(r *http.Request, err error) {
	a.o.Logger.Warn("api answer cut", "request_id", httpd.RequestID(r.Context()), "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

// Page is a page of a listing.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func page[T any](items []T, next string) Page[T] {
	if items == nil {
		items = []T{}
	}
	return Page[T]{Items: items, NextCursor: next}
}

func limitParam(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, &fault.Invalid{Field: "limit", Reason: fmt.Sprintf("want a number from 1 to %d", max)}
	}
	return n, nil
}

// maxJSONBody caps the body of a request that carries one object (imports
// have their own limit).
const maxJSONBody = 1 << 20

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors that name the problem, bodies are capped at 1 MiB (and say so),
// and a string holding a NUL byte is refused naming its field — the
// domains refuse them too; this is the defence in depth.
//
// Unknown members are found by walking the document beside the target's
// type (unknownMember), not by reading encoding/json's message text.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &fault.Invalid{Reason: "request body is larger than " + httpd.SizeText(mb.Limit) + "; send one object"}
	}
	if err != nil {
		return &fault.Invalid{Reason: "request body could not be read: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return &fault.Invalid{Reason: fmt.Sprintf("request body is not valid JSON (at byte %d)", se.Offset)}
		case errors.Is(err, io.EOF):
			return &fault.Invalid{Reason: "request body is empty; send a JSON object"}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return &fault.Invalid{Reason: "request body is not valid JSON (it ends too soon)"}
		}
		return &fault.Invalid{Reason: "request body: " + err.Error()}
	}
	if dec.More() {
		return &fault.Invalid{Reason: "request body has data after the JSON object"}
	}
	if f := unknownMember(doc, reflect.TypeOf(v), ""); f != "" {
		return &fault.Invalid{Field: f, Reason: "unknown field"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &fault.Invalid{Field: te.Field, Reason: fmt.Sprintf("want %s", te.Type)}
		}
		return &fault.Invalid{Reason: "request body: " + err.Error()}
	}
	if f, ok := nulField(reflect.ValueOf(v), ""); ok {
		return &fault.Invalid{Field: f, Reason: "contains control character U+0000"}
	}
	return nil
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// unknownMember returns the dotted name of the first member of doc (a
// decoded JSON value) that a value of type t has no field for, or "".
// Members are matched as encoding/json matches them: by the field's JSON
// name, case-insensitively, through embedded structs. Types that decode
// themselves (json.Unmarshaler) and interfaces accept anything; a member
// of the wrong kind is left for Unmarshal to report.
func unknownMember(doc any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return ""
	}
	switch doc := doc.(type) {
	case map[string]any:
		keys := make([]string, 0, len(doc))
		for k := range doc {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var fields map[string]reflect.Type
		switch t.Kind() {
		case reflect.Map:
		case reflect.Struct:
			fields = map[string]reflect.Type{}
			jsonFields(t, fields)
		default:
			return ""
		}
		for _, k := range keys {
			name := k
			if path != "" {
				name = path + "." + k
			}
			ft := t
			if t.Kind() == reflect.Map {
				ft = t.Elem()
			} else if ft = fields[strings.ToLower(k)]; ft == nil {
				return name
			}
			if f := unknownMember(doc[k], ft, name); f != "" {
				return f
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for _, x := range doc {
				if f := unknownMember(x, t.Elem(), path); f != "" {
					return f
				}
			}
		}
	}
	return ""
}

// jsonFields adds the JSON names (lower-cased) of struct type t's fields
// and their types to into, following embedded structs as encoding/json does.
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				jsonFields(et, into)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		key := strings.ToLower(name)
		if _, dup := into[key]; !dup {
			into[key] = f.Type
		}
	}
}

// nulField finds a string holding a NUL byte in a decoded body and
// returns its JSON name (dotted for nested objects).
func nulField(v reflect.Value, name string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nulField(v.Elem(), name)
		}
	case reflect.String:
		if strings.ContainsRune(v.String(), 0) {
			return name, true
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if f, ok := nulField(v.Index(i), name); ok {
				return f, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if f, ok := nulField(it.Value(), name); ok {
				return f, true
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			// encoding/json fills the exported fields of an embedded
			// struct even when its type is unexported, so look there too.
			if !sf.IsExported() && (!sf.Anonymous || sf.Type.Kind() != reflect.Struct) {
				continue
			}
			n := strings.Split(sf.Tag.Get("json"), ",")[0]
			if n == "-" {
				continue
			}
			if n == "" {
				n = sf.Name
			}
			if sf.Anonymous && sf.Tag.Get("json") == "" {
				n = name // embedded: its fields are the object's own
			} else if name != "" {
				n = name + "." + n
			}
			if f, ok := nulField(v.Field(i), n); ok {
				return f, true
			}
		}
	}
	return "", false
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
func formatInt(n int64) string         { return strconv.FormatInt(n, 10) }
