package events

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
)

// Stream encodings. A message of the events stream is NDJSON of Events
// unless its StreamEncodingHeader names another encoding, which a
// producer registers with RegisterStreamEncoding: the flow listener puts
// flow records on the stream in a compact binary form (ADR 0013), since
// a flow's JSON is ten times its record and JetStream's cost is per byte
// as well as per message. Every consumer of the stream reads every
// encoding registered in its binary, through AppendStreamMessage.

// StreamEncodingHeader names a message's encoding; absent, it is NDJSON.
const StreamEncodingHeader = "Vigil-Encoding"

// A StreamDecoder appends the events of one message in its encoding to
// dst; the events may hold slices of data, which nothing writes to. It
// must not panic on any input, and reports what it could not read while still appending what
// it could, as AppendStreamEvents does. Each event it gives should carry
// its stream line (SetStreamLine), which the block store keeps as it is.
type StreamDecoder func(dst []Event, data []byte) ([]Event, error)

var (
	streamEncodings sync.Map // name → StreamDecoder
	streamRecords   sync.Map // name → StreamDecoder giving records
)

// RegisterStreamEncoding makes name's messages readable by every
// consumer; a producer registers its encoding in an init function. A
// second registration of a name panics.
func RegisterStreamEncoding(name string, dec StreamDecoder) {
	if name == "" || dec == nil {
		panic("events: RegisterStreamEncoding: a name and a decoder are required")
	}
	if _, dup := streamEncodings.LoadOrStore(name, dec); dup {
		panic("events: stream encoding " + name + " registered twice")
	}
}

// RegisterStreamRecords gives name's encoding (registered with
// RegisterStreamEncoding) a second decoder for consumers that read few
// events' fields (ADR 0014): it reads what the first reads, refuses what
// it refuses, and gives each event its ID, organisation, times, source
// and log source with its record (SetStreamRecord) — no fields, raw text
// or line until LoadFields writes them — or, for an event the encoding
// cannot keep as a record, the first decoder's event. The block store
// keeps the records in blocks of their own, which the first decoder turns
// into events and lines when they are read; detection writes out only
// the events a rule's log source covers.
func RegisterStreamRecords(name string, dec StreamDecoder) {
	if _, ok := streamEncodings.Load(name); !ok || dec == nil {
		panic("events: RegisterStreamRecords: " + name + " needs its RegisterStreamEncoding first, and a decoder")
	}
	if _, dup := streamRecords.LoadOrStore(name, dec); dup {
		panic("events: stream records of " + name + " registered twice")
	}
}

// SetStreamRecord gives an event made by a records decoder
// (RegisterStreamRecords) its record in encoding enc: ctx is the record of
// what it shares with the events around it, rec its own. Records one
// after another, each run of one ctx led by it, are a message of enc,
// which enc's StreamDecoder reads into the events with their lines.
// Neither is written again.
func (e *Event) SetStreamRecord(enc string, ctx, rec []byte) {
	e.recEnc, e.recCtx, e.rec = enc, ctx, rec
}

// writeRecord gives an event of a records decoder what its encoding's
// StreamDecoder would have: its fields' JSON, raw text and line.
func (e *Event) writeRecord() error {
	dec, ok := streamEncodings.Load(e.recEnc)
	if !ok {
		return fmt.Errorf("events: %s: a record of %q, an encoding not known to this binary", e.ID, e.recEnc)
	}
	msg := make([]byte, 0, len(e.recCtx)+len(e.rec))
	evs, err := dec.(StreamDecoder)(nil, append(append(msg, e.recCtx...), e.rec...))
	if err != nil || len(evs) != 1 || evs[0].ID != e.ID {
		return fmt.Errorf("events: %s: its %s record does not read back (%d events): %v", e.ID, e.recEnc, len(evs), err)
	}
	w := &evs[0]
	e.fieldsJSON, e.Raw, e.Truncated, e.ParseError, e.line, e.linePlain = w.fieldsJSON, w.Raw, w.Truncated, w.ParseError, w.line, w.linePlain
	return nil
}

// StreamRecord is what SetStreamRecord gave the event ("" and nils
// otherwise).
func (e *Event) StreamRecord() (enc string, ctx, rec []byte) { return e.recEnc, e.recCtx, e.rec }

// AppendStreamMessage decodes one message of the events stream, with its
// headers, and appends its events to dst: NDJSON (AppendStreamEvents)
// unless the StreamEncodingHeader names a registered encoding. An
// encoding not registered here is an error, and no events.
func AppendStreamMessage(dst []Event, h nats.Header, data []byte) ([]Event, error) {
	return appendStreamMessage(dst, h, data, string(data), false)
}

// appendStreamMessage is AppendStreamMessage of data whose text is the
// same bytes as a string.
// With records, an encoding that has a records decoder
// (RegisterStreamRecords) gives records.
func appendStreamMessage(dst []Event, h nats.Header, data []byte, text string, records bool) ([]Event, error) {
	enc := ""
	if h != nil {
		enc = h.Get(StreamEncodingHeader)
	}
	if enc == "" {
		return appendStreamEvents(dst, data, text)
	}
	if records {
		if dec, ok := streamRecords.Load(enc); ok {
			return dec.(StreamDecoder)(dst, data)
		}
	}
	dec, ok := streamEncodings.Load(enc)
	if !ok {
		return dst, fmt.Errorf("stream encoding %q is not known to this server (a newer server's?)", enc)
	}
	return dec.(StreamDecoder)(dst, data)
}

// SetStreamLine gives an event made by a StreamDecoder its line as the
// events stream's NDJSON would carry it, which the block store then keeps
// as it is rather than encoding the event again. line must be the event
// as ingest's encoder writes it — the same ID, organisation, times,
// source, log source, fields and raw text — and is never written again.
// plainNumbers says the producer knows every number in it is plain
// (NumbersPlain of each number it wrote), which spares the block store
// reading the line for that; false leaves the store to find out.
func (e *Event) SetStreamLine(line []byte, plainNumbers bool) {
	e.line, e.linePlain = line, plainNumbers
}

// StreamLinePlain is what SetStreamLine was told of the line's numbers.
func (e *Event) StreamLinePlain() bool { return e.linePlain }

// StreamLine is the event's line as the events stream carried it, when a
// consumer's decoder kept it (nil otherwise).
func (e *Event) StreamLine() []byte { return e.line }

// Blocks of records (ADR 0014). A block's text is its events' lines
// unless it starts with recordsMark: then the mark, the encoding's name
// and a newline lead a message of that encoding.
const recordsMark = 0

// appendRecordsBlock writes rows, which all hold records of one encoding,
// as a block's text: each run of rows with the same context led by it.
func appendRecordsBlock(b []byte, rows []blockRow) []byte {
	b = append(b, recordsMark)
	b = append(b, rows[0].ev.recEnc...)
	b = append(b, '\n')
	var ctx []byte
	for i, r := range rows {
		if i == 0 || !bytes.Equal(r.ev.recCtx, ctx) {
			ctx = r.ev.recCtx
			b = append(b, ctx...)
		}
		b = append(b, r.ev.rec...)
	}
	return b
}

// recordEvents reads a block of records: its events, each with its line.
func recordEvents(data []byte) ([]Event, error) {
	enc, msg, ok := bytes.Cut(data[1:], []byte("\n"))
	if !ok {
		return nil, errors.New("a block of records without its encoding")
	}
	dec, ok := streamEncodings.Load(string(enc))
	if !ok {
		return nil, fmt.Errorf("a block of records of %q, an encoding not known to this binary", enc)
	}
	evs, err := dec.(StreamDecoder)(nil, msg)
	if err != nil {
		return nil, fmt.Errorf("a block of %s records: %w", enc, err)
	}
	for i := range evs {
		if evs[i].line == nil {
			return nil, fmt.Errorf("a block of %s records: event %s has no line", enc, evs[i].ID)
		}
	}
	return evs, nil
}
