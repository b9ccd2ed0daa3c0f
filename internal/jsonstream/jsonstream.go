// Package jsonstream writes one JSON document a member at a time, in the
// same bytes encoding/json writes for the whole value, so an answer of any
// size leaves through a small buffer instead of being encoded whole first
// (encoding/json marshals a value completely before writing a byte: 34 MB
// of blast radius was a 34 MB buffer, grown by doubling, per request).
//
// Writer is the manual form, for producers that build their members one at
// a time; Encode streams an ordinary value whose size is in slices.
package jsonstream

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Writer writes one JSON document a member at a time in the layout of
// json.Encoder with SetEscapeHTML(false) and, when indent is set,
// SetIndent("", indent). Its first write error (a reader gone) sticks:
// later calls do nothing and Err and Flush report it.
type Writer struct {
	w      *bufio.Writer
	indent string
	n      []int // members written so far at each open level
	buf    bytes.Buffer
	enc    *json.Encoder
	err    error
}

// NewWriter returns a Writer to w through a 64 KiB buffer: what is
// written reaches w every 64 KiB and at Flush.
func NewWriter(w io.Writer, indent string) *Writer {
	o := &Writer{w: bufio.NewWriterSize(w, 64<<10), indent: indent}
	o.enc = json.NewEncoder(&o.buf)
	o.enc.SetEscapeHTML(false)
	return o
}

// Open starts an object ('{') or array ('[').
func (o *Writer) Open(c byte) {
	o.write(c)
	o.n = append(o.n, 0)
}

// Close ends the innermost object ('}') or array (']').
func (o *Writer) Close(c byte) {
	n := o.n[len(o.n)-1]
	o.n = o.n[:len(o.n)-1]
	if n > 0 {
		o.newline()
	}
	o.write(c)
}

// Key starts the next member of the innermost object; its value follows
// (Value, or Open … Close).
func (o *Writer) Key(k string) {
	o.sep()
	o.Value(k)
	o.write(':')
	if o.indent != "" {
		o.write(' ')
	}
}

// Field writes one member of the innermost object.
func (o *Writer) Field(k string, v any) {
	o.Key(k)
	o.Value(v)
}

// Elem writes one element of the innermost array and reports the first
// error so far, so a loop can stop when the reader has gone.
func (o *Writer) Elem(v any) error {
	o.sep()
	o.Value(v)
	return o.err
}

// Value writes v whole, where a value is due (after Key, or as the
// document).
func (o *Writer) Value(v any) {
	if o.err != nil {
		return
	}
	o.buf.Reset()
	o.enc.SetIndent(strings.Repeat(o.indent, len(o.n)), o.indent)
	if err := o.enc.Encode(v); err != nil {
		o.err = fmt.Errorf("encode %T: %w", v, err)
		return
	}
	b := o.buf.Bytes()
	if _, err := o.w.Write(b[:len(b)-1]); err != nil { // Encode ends with a newline
		o.err = err
	}
}

// End writes the newline json.Encoder ends a document with, and flushes.
func (o *Writer) End() error {
	o.write('\n')
	return o.Flush()
}

// Flush sends what is buffered and returns the first error so far.
func (o *Writer) Flush() error {
	if o.err == nil {
		o.err = o.w.Flush()
	}
	return o.err
}

// Err is the first error so far.
func (o *Writer) Err() error { return o.err }

func (o *Writer) write(c byte) {
	if o.err == nil {
		o.err = o.w.WriteByte(c)
	}
}

func (o *Writer) newline() {
	if o.indent != "" && o.err == nil {
		o.write('\n')
		for range len(o.n) {
			o.w.WriteString(o.indent)
		}
	}
}

// sep starts the next member of the innermost object or array.
func (o *Writer) sep() {
	if o.n[len(o.n)-1] > 0 {
		o.write(',')
	}
	o.n[len(o.n)-1]++
	o.newline()
}

// Encode writes v as json.Encoder (SetEscapeHTML(false), and indent as
// SetIndent("", indent)) would, ending with a newline, but never as one
// buffer where v's size lies in slices: a slice is written an element at
// a time, and so is each slice field of a struct (a page's items, a
// report's results). Anything else — and any value whose encoding is not
// plainly its fields (a json.Marshaler, embedded structs, the ",string"
// option) — is encoded whole, so the bytes are always encoding/json's.
func Encode(w io.Writer, v any, indent string) error {
	o := NewWriter(w, indent)
	o.value(reflect.ValueOf(v))
	return o.End()
}

var (
	marshaler     = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// custom reports whether t (or *t) encodes itself.
func custom(t reflect.Type) bool {
	return t.Implements(marshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(marshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

func (o *Writer) value(v reflect.Value) {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() && !custom(v.Type()) {
		v = v.Elem()
	}
	switch {
	case !v.IsValid() || custom(v.Type()):
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 && !v.IsNil():
		o.Open('[')
		for i := range v.Len() {
			if o.Elem(iface(v.Index(i))) != nil {
				return
			}
		}
		o.Close(']')
		return
	case v.Kind() == reflect.Struct && plainFields(v.Type()):
		o.fields(v)
		return
	}
	if v.IsValid() {
		o.Value(iface(v))
	} else {
		o.Value(nil)
	}
}

// iface is v for the encoder, by address where it has one, so that
// methods on the pointer apply as they do when encoding/json walks a value.
func iface(v reflect.Value) any {
	if v.CanAddr() {
		return v.Addr().Interface()
	}
	return v.Interface()
}

// plainFields reports whether encoding/json writes t as its exported
// fields in order under their tag names, with no embedding and no
// ",string".
func plainFields(t reflect.Type) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return false
		}
		_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		for _, opt := range strings.Split(opts, ",") {
			if opt == "string" || opt == "omitzero" {
				return false
			}
		}
	}
	return true
}

// fields writes a plain struct member by member: slices element by
// element, everything else whole.
func (o *Writer) fields(v reflect.Value) {
	t := v.Type()
	o.Open('{')
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fv := v.Field(i)
		if strings.Contains(","+opts+",", ",omitempty,") && empty(fv) {
			continue
		}
		o.Key(name)
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 && !fv.IsNil() && !custom(fv.Type()) {
			o.value(fv)
		} else {
			o.Value(iface(fv))
		}
		if o.err != nil {
			return
		}
	}
	o.Close('}')
}

// empty is encoding/json's omitempty test.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
