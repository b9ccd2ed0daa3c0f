package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/flatjson"
)

// Files (`vigil events import FILE…`): JSON lines, a JSON array, CSV with
// a header row, or one message a line in any format the Normaliser reads
// (syslog, CEF, LEEF, key=value, audit records…), each optionally gzipped.
// Which is found from the file's first bytes, not its name. Each record's
// Seq is its byte offset (or index, for an array or CSV) and its Source
// names the file's absolute path, so importing the same file twice gives
// the same event IDs and stores nothing twice.

// FileOptions are ReadFile's settings.
type FileOptions struct {
	// MaxLine is the longest line read whole (DefaultMaxMessage when 0);
	// a longer one is cut with Truncated set.
	MaxLine int
	// ReceivedAt is the receive time given to every record (now when zero).
	ReceivedAt time.Time
}

// FileProgress reports how far a file has been read: bytes of the file
// (compressed size for a gzipped one) out of its size.
type FileProgress func(read, size int64)

// ReadFile reads path and hands each record to fn, in order; an error from
// fn stops the read and is returned. A record's Raw is valid only until
// fn returns (it may be the reader's buffer): Normalise copies it. A file that cannot be read at all is
// an error naming it; a bad element of a JSON array or a bad CSV row is an
// error naming the file and the element or line.
func ReadFile(ctx context.Context, path string, o FileOptions, progress FileProgress, fn func(Record) error) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose on close
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s: is a directory, not a file of events", path)
	}
	counted := &countingReader{r: f, size: st.Size(), report: progress}
	if err := readRecords(ctx, counted, events.Source{Protocol: "file", Addr: abs}, o, fn); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if progress != nil {
		progress(st.Size(), st.Size())
	}
	return nil
}

// ReadText reads records from text as ReadFile reads a file's (JSON
// lines, JSON objects over several lines, a JSON array, CSV, one message
// a line; gzip is not expected here): sample events pasted into the rule
// editor. Their source is "sample".
func ReadText(ctx context.Context, text string, fn func(Record) error) error {
	return readRecords(ctx, strings.NewReader(text), events.Source{Protocol: "sample"}, FileOptions{}, fn)
}

// readRecords is ReadFile on an open reader, whatever it is.
func readRecords(ctx context.Context, in io.Reader, src events.Source, o FileOptions, fn func(Record) error) error {
	var r io.Reader = bufio.NewReaderSize(in, 64<<10)
	br := r.(*bufio.Reader)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer func() { _ = zr.Close() }() // its checksum error arrives as the last Read's
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxMessage
	}
	if o.ReceivedAt.IsZero() {
		o.ReceivedAt = time.Now().UTC()
	}
	rec := func(raw []byte, seq, line int64, cut bool) Record {
		return Record{Raw: raw, Truncated: cut, Source: src, ReceivedAt: o.ReceivedAt, Seq: seq, Line: line}
	}
	first, err := firstByte(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file holds no events
		}
		return err
	}
	switch {
	case first == '[':
		err = readJSONArray(ctx, br, func(i, line int64, raw []byte) error { return fn(rec(raw, i, line, false)) })
	case looksLikeCSVHeader(br):
		err = readCSV(ctx, br, func(line int64, raw []byte) error { return fn(rec(raw, line, line, false)) })
	default:
		// Lines are read up to an Event Hub message's size, so that an
		// Azure Monitor {"records":[…]} wrapper splits into its records;
		// any other line is cut at MaxLine as before. A record's Seq is
		// its line's offset plus its index: unique, since each record
		// takes more than one byte of its line.
		//
		// A JSON object written over several lines (pretty-printed, as
		// evtx dumps and SigmaHQ's regression data are) is one record:
		// see joinObjects.
		err = readLines(ctx, br, max(o.MaxLine, AzureMaxMessage), joinObjects(max(o.MaxLine, AzureMaxMessage), func(off, line int64, raw []byte, cut bool) error {
			if !cut {
				if recs, ok := SplitAzureRecords(raw); ok {
					for i, r := range recs {
						if err := fn(rec(r, off+int64(i), line, false)); err != nil {
							return err
						}
					}
					return nil
				}
			}
			if len(raw) > o.MaxLine {
				raw, cut = raw[:o.MaxLine], true
			}
			return fn(rec(raw, off, line, cut))
		}))
	}
	return err
}

// firstByte is the first byte that is not white space or a byte-order mark.
func firstByte(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return 0, err
		}
		c := b[i-1]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case i <= 3 && (c == 0xef || c == 0xbb || c == 0xbf):
		default:
			return c, nil
		}
		if i > 4096 {
			return c, nil
		}
	}
}

// looksLikeCSVHeader says the first line is a CSV header: several
// comma-separated names of letters, digits, _ . - and spaces, and
// nothing a log line starts with (<PRI>, CEF:, LEEF:, type=, {).
func looksLikeCSVHeader(br *bufio.Reader) bool {
	b, _ := br.Peek(4096)
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSpace(bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")))
	if len(line) == 0 || bytes.ContainsAny(line[:1], "<{[") || bytes.HasPrefix(line, []byte("CEF:")) || bytes.HasPrefix(line, []byte("LEEF:")) ||
		bytes.Contains(line, []byte("=")) {
		return false
	}
	names := bytes.Split(line, []byte(","))
	if len(names) < 2 {
		return false
	}
	for _, n := range names {
		n = bytes.Trim(bytes.TrimSpace(n), `"`)
		if len(n) == 0 || len(n) > 64 {
			return false
		}
		for _, c := range n {
			if !(c == '_' || c == '.' || c == '-' || c == ' ' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

// lineFunc receives a line (or record) with its byte offset, its 1-based
// line number, and whether it was cut at the size limit.
type lineFunc func(off, line int64, raw []byte, cut bool) error

// joinObjects passes lines on to fn, except that a line which opens a
// JSON object without closing it is held, with the lines after it, until
// the object closes: the whole object is then one record, at the offset
// and line where it starts. A line starting with { in the first column
// while an object is open ends the open one (so one broken line of a
// JSON-lines file does not swallow those after it), and so does reaching
// max bytes (the object is then passed on cut).
func joinObjects(max int, fn lineFunc) lineFunc {
	var (
		buf           []byte
		start, first  int64
		depth         int
		inStr, escape bool
	)
	flush := func(cut bool) error {
		raw := buf
		buf, depth, inStr, escape = nil, 0, false, false
		return fn(start, first, raw, cut)
	}
	return func(off, line int64, raw []byte, cut bool) error {
		if raw == nil { // the end of the file
			if buf != nil {
				return flush(false)
			}
			return nil
		}
		if buf != nil && len(raw) > 0 && raw[0] == '{' {
			if err := flush(false); err != nil {
				return err
			}
		}
		if buf == nil {
			t := raw
			for len(t) > 0 && (t[0] == ' ' || t[0] == '\t') {
				t = t[1:]
			}
			if cut || len(t) == 0 || t[0] != '{' {
				return fn(off, line, raw, cut)
			}
			depth, inStr, escape = jsonDepth(raw, 0, false, false)
			if depth <= 0 {
				return fn(off, line, raw, cut)
			}
			buf, start, first = append([]byte(nil), raw...), off, line
			return nil
		}
		buf = append(append(buf, '\n'), raw...)
		depth, inStr, escape = jsonDepth(raw, depth, inStr, escape)
		if len(buf) > max {
			buf = buf[:max]
			return flush(true)
		}
		if depth <= 0 || cut {
			return flush(cut)
		}
		return nil
	}
}

// jsonDepth carries the nesting of braces and brackets outside strings
// across b, from the state a previous line left. Most of a JSON line's
// bytes are inside strings, so a string's end is found with IndexByte
// (vectorised) rather than a byte at a time: a quote ends the string
// unless an odd run of backslashes comes before it.
func jsonDepth(b []byte, depth int, inStr, escape bool) (int, bool, bool) {
	i := 0
	if escape {
		if len(b) == 0 {
			return depth, inStr, escape
		}
		i, escape = 1, false
	}
	for i < len(b) {
		if inStr {
			q := bytes.IndexByte(b[i:], '"')
			if q < 0 {
				// The string goes on past this line: carry an escape
				// left open by a trailing odd run of backslashes.
				return depth, true, flatjson.EscapesNext(b[i:])
			}
			q += i
			if flatjson.EscapesNext(b[i:q]) {
				i = q + 1
				continue
			}
			inStr = false
			i = q + 1
			continue
		}
		switch b[i] {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		i++
	}
	return depth, inStr, escape
}

// readLines hands over each line (without its end, \r\n or \n), its byte
// offset and 1-based number, and whether it was cut at max. Empty lines
// are skipped. At the end it calls fn once more with raw nil, so that a
// caller holding lines back (joinObjects) can pass on the last. raw is
// valid only until fn returns: it may be the reader's buffer.
func readLines(ctx context.Context, br *bufio.Reader, max int, fn lineFunc) error {
	var off int64
	var line []byte
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line = line[:0]
		start := off
		cut := false
		for {
			chunk, err := br.ReadSlice('\n')
			off += int64(len(chunk))
			if len(line) == 0 && err == nil && len(chunk) <= max+2 {
				// The whole line is in the reader's buffer: hand that
				// over rather than copying it (most lines).
				line = chunk
			} else if len(line)+len(chunk) > max+2 {
				if room := max + 2 - len(line); room > 0 {
					line = append(line, chunk[:room]...)
				}
				cut = true
			} else {
				line = append(line, chunk...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			end := trimLineEnd(line)
			if len(end) > max {
				end, cut = end[:max], true
			}
			if len(bytes.TrimSpace(end)) > 0 {
				if ferr := fn(start, int64(n)+1, end, cut); ferr != nil {
					return ferr
				}
			}
			if len(line) > 0 && len(chunk) > 0 && &line[0] == &chunk[0] {
				line = nil // the reader's buffer: not ours to append to
			}
			if errors.Is(err, io.EOF) {
				return fn(off, int64(n)+1, nil, false)
			}
			break
		}
	}
}

// trimLineEnd drops a line's \r and \n at its end.
func trimLineEnd(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// readJSONArray hands over each element of a top-level JSON array, with
// the 1-based line on which it starts.
func readJSONArray(ctx context.Context, r io.Reader, fn func(i, line int64, raw []byte) error) error {
	lines := &newlines{r: r}
	dec := json.NewDecoder(lines)
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("JSON array: %w", err)
	}
	for i := int64(0); dec.More(); i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("JSON array element %d: %w", i+1, err)
		}
		// The element ends at InputOffset; it starts len(raw) before,
		// past any white space after the previous comma.
		if err := fn(i, lines.lineAt(dec.InputOffset()-int64(len(raw))), raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("JSON array end: %w", err)
	}
	return nil
}

// readCSV hands over each row after the header as a JSON object of the
// header's names (the Normaliser then reads it as JSON), with its line.
func readCSV(ctx context.Context, r io.Reader, fn func(line int64, raw []byte) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("CSV header: %w", err)
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = string(bytes.Trim(bytes.TrimSpace([]byte(h)), "\ufeff"))
	}
	obj := make(map[string]string, len(names))
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return fmt.Errorf("CSV: %w", err)
		}
		clear(obj)
		for i, v := range row {
			if v != "" {
				obj[names[i]] = v
			}
		}
		raw, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		if err := fn(int64(line), raw); err != nil {
			return err
		}
	}
}

// newlines notes where the newlines are in what is read through it, so
// that the line of an offset already read can be told. Offsets are asked
// in increasing order; the positions before the last asked are dropped.
type newlines struct {
	r      io.Reader
	n      int64   // bytes read
	before int64   // newlines dropped from at
	at     []int64 // offsets of the newlines not yet dropped
}

func (l *newlines) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			l.at = append(l.at, l.n+int64(i))
		}
	}
	l.n += int64(n)
	return n, err
}

// lineAt is the 1-based line of offset off.
func (l *newlines) lineAt(off int64) int64 {
	i := sort.Search(len(l.at), func(i int) bool { return l.at[i] >= off })
	l.before += int64(i)
	l.at = l.at[i:]
	return l.before + 1
}

func statSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// countingReader counts what is read of the file for progress.
type countingReader struct {
	r      io.Reader
	n      int64
	size   int64
	report FileProgress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.report != nil && n > 0 {
		c.report(c.n, c.size)
	}
	return n, err
}
