// Package events holds Vigil's security telemetry once it is ingested: the
// normalised Event, the day-partitioned store behind one interface (SQLite
// by default, PostgreSQL with native partitioning, a columnar engine
// later), the analysts' query language, search, counts, histograms and
// retention. Ingest (internal/ingest) makes Events; detection and search
// read them. Every read is filtered by the caller's scope.
package events

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one normalised telemetry record: what a sender said (Raw, kept
// whole unless it was over the size limit), when it happened and arrived,
// who sent it and how, which organisation owns it, what kind of log it is
// in the Sigma log-source taxonomy, and its fields.
type Event struct {
	// ID is stable for the same input (the ingest path derives it from
	// the source, the sender's sequence or offset, and the raw text), so
	// that a redelivered event is stored once.
	ID string `json:"id"`
	// Org is the ODS code of the owning organisation.
	Org string `json:"org"`
	// ReceivedAt is when Vigil accepted it; EventTime when the sender
	// says it happened (ReceivedAt when the sender gives no time).
	ReceivedAt time.Time `json:"received_at"`
	EventTime  time.Time `json:"event_time"`
	// Source is how it arrived.
	Source Source `json:"source"`
	// Product, Service and Category are the Sigma log source
	// (product: windows, linux, zeek…; service: security, sysmon, sshd…;
	// category: process_creation, network_connection…), "" when unknown.
	Product  string `json:"product,omitempty"`
	Service  string `json:"service,omitempty"`
	Category string `json:"category,omitempty"`
	// Fields are the parsed fields, flat: nested objects are joined with
	// dots ("event_data.CommandLine"), and the names Sigma rules use
	// (CommandLine, Image, TargetFilename, EventID…) resolve at the top
	// level. Values are strings, float64, bool, or []any of those.
	Fields map[string]any `json:"fields"`
	// Raw is the text as received, valid UTF-8 (invalid bytes replaced),
	// cut at the size limit with Truncated set.
	Raw       string `json:"raw"`
	Truncated bool   `json:"truncated,omitempty"`
	// ParseError says why Raw could not be parsed ("" when it was); an
	// unparseable event is kept raw, never dropped.
	ParseError string `json:"parse_error,omitempty"`

	// fieldsJSON, when set, is Fields already encoded as a JSON object,
	// which the store keeps as it is instead of encoding Fields: the
	// stream's consumer sets it (and leaves Fields nil), since building
	// the map only to encode it again was a fifth of the consumer's CPU.
	fieldsJSON []byte
	// line, when set, is the event as the events stream carried it (one
	// line of its message, which the block store keeps as it is rather
	// than encoding the event again); only the stream's decoder sets it,
	// and only for a line its own decoder read whole.
	line []byte
	// linePlain says the producer of line knows its numbers are plain
	// (NumbersPlain), so that the block store need not read it for that.
	linePlain bool
	// recEnc, recCtx and rec, when set, are the event as a record of a
	// stream encoding (SetStreamRecord), which the block store keeps in
	// place of its line (ADR 0014).
	recEnc      string
	recCtx, rec []byte
}

// FieldsJSON is the event's fields as the JSON object they were encoded
// to, when the event carries them so (SetFieldsJSON, or an event of the
// events stream as a consumer reads it), and nil otherwise.
func (e *Event) FieldsJSON() []byte { return e.fieldsJSON }

// SetFieldsJSON gives the event its fields already encoded, in place of
// Fields (which it clears): a producer that writes its fields' JSON
// itself, as the flow listener does, saves building a map only for it
// to be encoded. obj must be what encoding Fields would give: one flat
// JSON object, valid UTF-8, with < > & not escaped (the stores keep it
// as it is, and free text searches its bytes). LoadFields decodes it
// into Fields for a reader that needs the map.
func (e *Event) SetFieldsJSON(obj []byte) { e.Fields, e.fieldsJSON = nil, obj }

// LoadFields fills Fields from the JSON an event of the events stream came
// with, when they are not there yet: a consumer without
// ConsumerOptions.DecodeFields leaves them as that JSON, so that a reader
// that needs the fields of only some events (the analytics, most of whose
// filters turn an event away on its log source) decodes only those. It
// does nothing for an event whose Fields are set or that has none. An
// event a records decoder gave (ConsumerOptions.Records) gets its fields'
// JSON, raw text and line written first (RegisterStreamRecords); an
// event whose fields do not decode keeps none.
func (e *Event) LoadFields() error {
	if e.fieldsJSON == nil && e.rec != nil {
		if err := e.writeRecord(); err != nil {
			return err
		}
	}
	if e.Fields != nil || len(e.fieldsJSON) == 0 {
		return nil
	}
	f, err := unmarshalFields(e.fieldsJSON)
	if err != nil {
		return fmt.Errorf("events: the fields of %s do not decode: %w", e.ID, err)
	}
	e.Fields = f
	return nil
}

// Source is how an event reached Vigil.
type Source struct {
	// Protocol is syslog-udp, syslog-tcp, syslog-tls, relp, http,
	// es-bulk, netflow, o365, file.
	Protocol string `json:"protocol"`
	// Addr is the sender's address (host:port) for network protocols.
	Addr string `json:"addr,omitempty"`
	// Token is the label of the ingest token an HTTP sender used.
	Token string `json:"token,omitempty"`
	// Format is the parser that read it (rfc5424, rfc3164, json, cef,
	// leef, kv, evtx-json, winlogbeat, zeek, suricata-eve, …).
	Format string `json:"format,omitempty"`
	// Host is the sending host as the record names it (syslog HOSTNAME,
	// Windows Computer), "" when it names none.
	Host string `json:"host,omitempty"`
}

// FieldText is a field's value as text: strings as they are, numbers in
// their shortest decimal form, true or false, a list's items joined by
// ", ", and "" for none.
func FieldText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FieldText(e)
		}
		return strings.Join(parts, ", ")
	}
	return ""
}
