package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// DefaultESVersion is the Elasticsearch version BulkHandler reports at
// GET /. Beats 8 refuse a server older than themselves (unless
// allow_older_versions: true), Logstash and Vector choose their API from
// the major version, and 8.19 is the last 8.x: new enough for every 8.x
// shipper, and the bulk API of 8.x is what they all speak.
const DefaultESVersion = "8.19.0"

// BulkHandler speaks enough of the Elasticsearch HTTP API for log
// shippers with an Elasticsearch output — Filebeat, Winlogbeat, Fluent
// Bit, Vector, Logstash — to send to Vigil unchanged:
//
//   - POST/PUT /_bulk and /{index}/_bulk: newline-delimited action and
//     source pairs ("index" and "create" store the source as an event;
//     "update" and "delete" are answered per item with 400, since events
//     are never changed), answered in Elasticsearch's shape with a status
//     per item and "errors";
//   - GET and HEAD / (the version document shippers check first), GET
//     /_license and /_xpack (Beats and Logstash ask for the licence), and
//     index templates, ILM policies and ingest pipelines
//     (_index_template, _template, _component_template, _ilm,
//     _ingest/pipeline, _data_stream): GET answers that none exist, PUT
//     and POST acknowledge and store nothing — Vigil normalises events
//     itself.
//
// Every request needs the ingest token: as the password of basic auth
// (any user name), as a Bearer token, or as an ApiKey (base64 of
// "id:TOKEN"). Every event belongs to the token's organisation; a source
// whose top-level "org" names another is refused (item status 400). The
// response comes only once the accepted events are on the stream, so a
// shipper that gets 200 may forget them; 429 (with Retry-After) when
// Vigil is at its in-flight bound, which Beats and Logstash retry.
//
// Mount it at the root of a listener or under a prefix with
// http.StripPrefix: shippers take a base path (Filebeat's path, Fluent
// Bit's Path, Vector's endpoint).
type BulkHandler struct {
	httpBase
}

// NewBulkHandler returns the handler.
func NewBulkHandler(o HTTPOptions) (*BulkHandler, error) {
	b, err := newHTTPBase(o)
	if err != nil {
		return nil, err
	}
	return &BulkHandler{b}, nil
}

func (h *BulkHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Elastic's clients check this header on every answer and refuse a
	// server without it ("not a supported product").
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	sender, err := h.authenticate(r)
	if err != nil {
		h.esFail(w, err)
		return
	}
	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	last := parts[len(parts)-1]
	switch {
	case path == "":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.esError(w, http.StatusMethodNotAllowed, "illegal_argument_exception", "only GET and HEAD are allowed on /")
			return
		}
		h.esJSON(w, r, http.StatusOK, h.rootDoc())
	case last == "_bulk" && len(parts) <= 2:
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			h.esError(w, http.StatusMethodNotAllowed, "illegal_argument_exception", "POST the bulk body to _bulk")
			return
		}
		index := ""
		if len(parts) == 2 {
			index = parts[0]
		}
		h.bulk(w, r, sender, index)
	case path == "_license":
		h.esJSON(w, r, http.StatusOK, map[string]any{"license": map[string]any{
			"status": "active", "uid": "00000000-0000-0000-0000-000000000000", "type": "basic", "mode": "basic",
			"issue_date_in_millis": 0, "max_nodes": 1000, "issued_to": "vigil", "issuer": "vigil", "start_date_in_millis": -1,
		}})
	case path == "_xpack":
		h.esJSON(w, r, http.StatusOK, map[string]any{
			"build":    map[string]any{"hash": "vigil", "date": "2026-01-01T00:00:00Z"},
			"license":  map[string]any{"uid": "00000000-0000-0000-0000-000000000000", "type": "basic", "mode": "basic", "status": "active"},
			"features": map[string]any{},
		})
	case isSetupPath(parts[0]):
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			// "None exist": a shipper that then PUTs one gets the
			// acknowledgement below.
			h.esJSON(w, r, http.StatusOK, map[string]any{})
		case http.MethodPut, http.MethodPost, http.MethodDelete:
			h.esJSON(w, r, http.StatusOK, map[string]any{"acknowledged": true})
		default:
			h.esError(w, http.StatusMethodNotAllowed, "illegal_argument_exception", r.Method+" is not supported here")
		}
	default:
		h.esError(w, http.StatusNotFound, "index_not_found_exception",
			"Vigil answers only the bulk API and the set-up calls shippers make; send events to /_bulk")
	}
}

// isSetupPath is a first path element shippers call while setting up.
func isSetupPath(p string) bool {
	switch p {
	case "_index_template", "_template", "_component_template", "_ilm", "_ingest", "_data_stream", "_nodes", "_cluster", "_alias", "_aliases":
		return true
	}
	return false
}

func (h *BulkHandler) rootDoc() map[string]any {
	v := h.o.ESVersion
	return map[string]any{
		"name": "vigil", "cluster_name": "vigil", "cluster_uuid": "vigil-ingest",
		"version": map[string]any{
			"number": v, "build_flavor": "default", "build_type": "vigil", "build_hash": "vigil",
			"build_date": "2026-01-01T00:00:00Z", "build_snapshot": false, "lucene_version": "9.12.0",
			"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	}
}

// bulkItem is one item of a _bulk answer, under its action's name.
type bulkItem struct {
	Index       string     `json:"_index"`
	ID          *string    `json:"_id"`
	Version     int        `json:"_version,omitempty"`
	Result      string     `json:"result,omitempty"`
	Shards      *esShards  `json:"_shards,omitempty"`
	SeqNo       *int64     `json:"_seq_no,omitempty"`
	PrimaryTerm int        `json:"_primary_term,omitempty"`
	Status      int        `json:"status"`
	Error       *esErrBody `json:"error,omitempty"`
}

type esShards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

type esErrBody struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// bulkResponse is the _bulk answer.
type bulkResponse struct {
	Took   int64                 `json:"took"`
	Errors bool                  `json:"errors"`
	Items  []map[string]bulkItem `json:"items"`
}

// bulk reads the action/source pairs, publishes the accepted sources
// and answers per item.
func (h *BulkHandler) bulk(w http.ResponseWriter, r *http.Request, sender Sender, defIndex string) {
	start := time.Now()
	if !h.acquire() {
		h.esFail(w, ErrBusy)
		return
	}
	defer h.release()
	data, err := h.body(w, r)
	if err != nil {
		h.esFail(w, err)
		return
	}
	now, remote := h.o.Now(), requestRemote(r)
	items, evs, err := h.parseBulk(data, sender, defIndex, remote, now)
	if err != nil {
		h.esError(w, http.StatusBadRequest, "illegal_argument_exception", err.Error())
		return
	}
	if err := h.o.Publisher.TryPublish(r.Context(), evs); err != nil {
		h.esFail(w, err)
		return
	}
	h.o.Metrics.accepted(ListenerBulk, h.o.Now(), acceptedOf(evs, remote))
	resp := bulkResponse{Items: make([]map[string]bulkItem, len(items))}
	for i, p := range items {
		if p.ev >= 0 {
			if p.item.ID == nil {
				id := evs[p.ev].ID
				p.item.ID = &id
			}
			seq := int64(i)
			p.item.Version, p.item.Result, p.item.SeqNo, p.item.PrimaryTerm = 1, "created", &seq, 1
			p.item.Shards = &esShards{Total: 1, Successful: 1}
			p.item.Status = http.StatusCreated
		} else {
			resp.Errors = true
		}
		resp.Items[i] = map[string]bulkItem{p.op: p.item}
	}
	resp.Took = time.Since(start).Milliseconds()
	h.esJSON(w, r, http.StatusOK, resp)
}

// bulkPending is one item of a bulk body: its action, its answer so far,
// and its event.
type bulkPending struct {
	op   string
	item bulkItem
	ev   int // index into the events, -1 when refused
}

// parseBulk reads a bulk body's action and source pairs into items (one
// per action, refused ones with their error set) and the events of the
// accepted sources. A body that is not action/source pairs is an error
// naming the line.
func (h *BulkHandler) parseBulk(data []byte, sender Sender, defIndex string, remote netip.AddrPort, now time.Time) ([]bulkPending, []events.Event, error) {
	type pending = bulkPending
	var items []pending
	var evs []events.Event
	var action *pending // an action waiting for its source line
	err := lines(data, func(n int, line []byte) error {
		if action != nil {
			p := action
			action = nil
			if p.op == "update" {
				p.item.Status, p.item.Error = 400, &esErrBody{"action_request_validation_exception", "Vigil stores events and never changes them: update is not supported"}
				items = append(items, *p)
				return nil
			}
			ev := h.httpRecord(line, ListenerBulk, sender, remote, now)
			switch c := claimedOrg(&ev); {
			case ev.ParseError != "" && !ev.Truncated, len(bytes.TrimLeft(line, " \t")) == 0 || bytes.TrimLeft(line, " \t")[0] != '{':
				p.item.Status, p.item.Error = 400, &esErrBody{"mapper_parsing_exception", fmt.Sprintf("line %d: the source is not a JSON object", n)}
			case c != "" && c != sender.Org:
				p.item.Status, p.item.Error = 400, &esErrBody{"security_exception", fmt.Sprintf("line %d: the event's org is %s, but this ingest token posts for %s only", n, c, sender.Org)}
			default:
				if p.item.Index != "" {
					ev.Fields["_index"] = p.item.Index
				}
				p.ev = len(evs)
				evs = append(evs, ev)
			}
			items = append(items, *p)
			return nil
		}
		var act map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(line, &act); err != nil || len(act) != 1 {
			return fmt.Errorf("line %d: expected an action such as {\"create\":{}} (the body must alternate action and source lines)", n)
		}
		for op, meta := range act {
			p := pending{op: op, ev: -1, item: bulkItem{Index: meta.Index}}
			if p.item.Index == "" {
				p.item.Index = defIndex
			}
			if meta.ID != "" {
				id := meta.ID
				p.item.ID = &id
			}
			switch op {
			case "index", "create", "update":
				action = &p
			case "delete":
				p.item.Status, p.item.Error = 400, &esErrBody{"action_request_validation_exception", "Vigil stores events and never deletes them one by one: delete is not supported"}
				items = append(items, p)
			default:
				return fmt.Errorf("line %d: unknown action %q", n, op)
			}
		}
		return nil
	})
	if err == nil && action != nil {
		err = errors.New("the body ends with an action that has no source line")
	}
	if err != nil {
		return nil, nil, err
	}
	return items, evs, nil
}

func (h *BulkHandler) esJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// esError answers in Elasticsearch's error shape.
func (h *BulkHandler) esError(w http.ResponseWriter, status int, typ, reason string) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="vigil ingest" charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", `ApiKey`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="vigil ingest"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"type": typ, "reason": reason}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":  map[string]any{"root_cause": []any{body}, "type": typ, "reason": reason},
		"status": status,
	})
}

func (h *BulkHandler) esFail(w http.ResponseWriter, err error) {
	status, detail := h.classify(err)
	typ := "illegal_argument_exception"
	switch status {
	case http.StatusUnauthorized:
		typ = "security_exception"
	case http.StatusTooManyRequests:
		typ = "es_rejected_execution_exception"
	case http.StatusServiceUnavailable:
		typ = "unavailable_shards_exception"
	case http.StatusRequestEntityTooLarge:
		typ = "content_too_long_exception"
	}
	h.esError(w, status, typ, detail)
}
