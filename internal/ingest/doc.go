// Package ingest turns what senders send into events.Event: framing of
// syslog TCP streams (RFC 6587), parsers for RFC 5424 and RFC 3164 syslog,
// JSON, CEF, LEEF, key=value, Windows events in their three shipped shapes
// (nested EVTX JSON, Winlogbeat, NXLog/flat), Linux auditd, Zeek and
// Suricata EVE JSON, and the normalisation that names each event's Sigma
// log source from a data file (logsources.yaml).
//
// Listeners (UDP, TCP, TLS, RELP, HTTP) and the JetStream flow build on
// this layer; it does no I/O of its own except reading a stream it is
// given. Every parser takes the raw text as a string and returns fields
// that are substrings of it where no unescaping is needed, so the hot path
// allocates little beyond the fields map. No parser panics on any input;
// Normaliser.Normalise also recovers, so a parser bug costs one event its
// fields (kept raw with ParseError), never the process.
package ingest
