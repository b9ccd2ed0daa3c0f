// Package ingest turns what senders send into events.Event: framing of
// syslog TCP streams (RFC 6587), parsers for RFC 5424 and RFC 3164 syslog,
// JSON, CEF, LEEF, key=value, Windows events in their three shipped shapes
// (nested EVTX JSON, Winlogbeat, NXLog/flat), Linux auditd, Zeek and
// Suricata EVE JSON, and the normalisation that names each event's Sigma
// log source from a data file (logsources.yaml).
//
// On top of that parsing layer (which does no I/O of its own) sit the
// listeners and the durable flow: syslog over UDP, TCP and TLS, RELP,
// POST /api/v1/events and the Elasticsearch _bulk API (listen_*.go), the
// org mapping file (orgmap.go), and the Publisher that puts every event
// on the JetStream stream EVENTS before its sender is acknowledged
// (pipeline.go); Service (service.go) builds them from vigil serve's
// flags. docs/ingest.md is the operator's description.
//
// Every parser takes the raw text as a string and returns fields
// that are substrings of it where no unescaping is needed, so the hot path
// allocates little beyond the fields map. No parser panics on any input;
// Normaliser.Normalise also recovers, so a parser bug costs one event its
// fields (kept raw with ParseError), never the process.
package ingest
