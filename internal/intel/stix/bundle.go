package stix

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Bundle is the objects of one STIX bundle (or of one object given alone).
type Bundle struct {
	ID      string
	Objects []*Object
	// Upgraded counts the objects of a STIX 2.0 bundle read as 2.1 (see
	// upgrade20).
	Upgraded int
}

// ObjectError is an invalid object of a bundle: which one, and why.
type ObjectError struct {
	File  string
	Index int    // position in the bundle's objects, from 0
	ID    string // the object's id, when it has a readable one
	Err   error
}

func (e *ObjectError) Error() string {
	id := ""
	if e.ID != "" {
		id = " (" + e.ID + ")"
	}
	return fmt.Sprintf("%s: object %d%s: %v", e.File, e.Index, id, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// ReadBundleFile reads a STIX 2.1 bundle from a file, gzipped or not.
func ReadBundleFile(path string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing loses nothing
	return ReadBundle(path, f)
}

// ReadBundle reads a STIX 2.1 bundle — or a single object, or a JSON
// array of objects — from r, gunzipping it if it starts with gzip's magic
// bytes. name is used in errors. Every object is validated; the first
// invalid one fails the whole bundle, so nothing is half-imported.
func ReadBundle(name string, r io.Reader) (*Bundle, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer func() { _ = zr.Close() }() // io.ReadAll has checked the stream to its end
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	b := &Bundle{}
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, fmt.Errorf("%s: %s", name, jsonErr(data, err))
		}
	case len(data) > 0 && data[0] == '{':
		var head struct {
			Type        string            `json:"type"`
			ID          string            `json:"id"`
			SpecVersion string            `json:"spec_version"`
			Objects     []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("%s: %s", name, jsonErr(data, err))
		}
		// OASIS's own TLP 2.0 extension-definition file is a bundle
		// without "type"; an id bundle--… with objects says enough.
		if head.Type == "bundle" || head.Type == "" && strings.HasPrefix(head.ID, "bundle--") && head.Objects != nil {
			b.ID, raws = head.ID, head.Objects
			upgrade := head.SpecVersion == "2.0"
			if upgrade {
				b.Upgraded = len(raws)
			}
			return b, readObjects(b, name, raws, upgrade)
		} else {
			raws = []json.RawMessage{data}
		}
	default:
		return nil, fmt.Errorf("%s: %w: want a JSON object or array", name, ErrNotBundle)
	}
	return b, readObjects(b, name, raws, false)
}

func readObjects(b *Bundle, name string, raws []json.RawMessage, upgrade bool) error {
	b.Objects = make([]*Object, 0, len(raws))
	for i, raw := range raws {
		var props map[string]json.RawMessage
		var o *Object
		err := json.Unmarshal(raw, &props)
		if err != nil {
			err = &Error{Msg: "not a JSON object: " + err.Error()}
		} else {
			if upgrade {
				upgrade20(props)
			}
			o, err = FromProps(props)
		}
		if err != nil {
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &id)
			return &ObjectError{File: name, Index: i, ID: id.ID, Err: err}
		}
		b.Objects = append(b.Objects, o)
	}
	return nil
}

// jsonErr says where broken JSON breaks: line and column.
func jsonErr(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case asErr(err, &se):
		off = se.Offset
	case asErr(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return err.Error()
	}
	off = min(off, int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d column %d: %v", line, col, err)
}

// upgrade20 reads an object of a STIX 2.0 bundle as STIX 2.1, making the
// mechanical changes between MITRE's 2.0 and 2.1 publications of the
// same ATT&CK release (../shared/data/attack/README.md, checked object by
// object there): spec_version 2.1 added; malware and tool lose the
// labels ["malware"] / ["tool"] that 2.0 required, and malware gains
// is_family true. MITRE publishes Enterprise ATT&CK in 2.0 too, and the
// 2.0 spellings are otherwise read as they are.
func upgrade20(props map[string]json.RawMessage) {
	if _, ok := props["spec_version"]; ok {
		return
	}
	var typ string
	_ = json.Unmarshal(props["type"], &typ)
	if typ == "malware" || typ == "tool" {
		var labels []string
		if err := json.Unmarshal(props["labels"], &labels); err == nil && len(labels) == 1 && labels[0] == typ {
			delete(props, "labels")
		}
		if _, ok := props["is_family"]; typ == "malware" && !ok {
			props["is_family"] = json.RawMessage("true")
		}
	}
	// SCOs do not stand alone in 2.0 bundles; every other 2.1 object
	// carries spec_version.
	props["spec_version"] = json.RawMessage(`"2.1"`)
}
