package events

import (
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

var streamEncodings sync.Map // name → StreamDecoder

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

// AppendStreamMessage decodes one message of the events stream, with its
// headers, and appends its events to dst: NDJSON (AppendStreamEvents)
// unless the StreamEncodingHeader names a registered encoding. An
// encoding not registered here is an error, and no events.
func AppendStreamMessage(dst []Event, h nats.Header, data []byte) ([]Event, error) {
	return appendStreamMessage(dst, h, data, string(data))
}

// appendStreamMessage is AppendStreamMessage of data whose text is the
// same bytes as a string.
func appendStreamMessage(dst []Event, h nats.Header, data []byte, text string) ([]Event, error) {
	enc := ""
	if h != nil {
		enc = h.Get(StreamEncodingHeader)
	}
	if enc == "" {
		return appendStreamEvents(dst, data, text)
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
