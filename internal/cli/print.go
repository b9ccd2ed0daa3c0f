package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/safetext"
)

// Everything the CLI prints for people goes through term: a value stored
// by anyone (a supplier's name, an organisation's, a token's label) may
// hold an escape sequence that would clear or retitle the operator's
// terminal, or a bidirectional override that reorders what they read, so
// every value printed in a table or a message is escaped by
// safetext.Terminal first. Formats (the printers' own tabs and newlines)
// are not values and are left alone.

// term escapes a value for the terminal: strings (of any string type, such
// as org.Type), errors and Stringers are escaped; numbers and other values
// print as fmt prints them.
func term(v any) any {
	switch x := v.(type) {
	case string:
		return safetext.Terminal(x)
	case error:
		return safetext.Terminal(x.Error())
	case fmt.Stringer:
		return safetext.Terminal(x.String())
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return safetext.Terminal(rv.String())
	}
	return v
}

// printf is fmt.Fprintf with every argument escaped by term.
func printf(w io.Writer, format string, a ...any) {
	for i := range a {
		a[i] = term(a[i])
	}
	fmt.Fprintf(w, format, a...)
}

// tsprintf is fmt.Sprintf with every argument escaped by term, for a
// table cell made of several values.
func tsprintf(format string, a ...any) string {
	for i := range a {
		a[i] = term(a[i])
	}
	return fmt.Sprintf(format, a...)
}

// table prints aligned columns (tabwriter) with every cell escaped, so a
// tab or newline inside a value cannot break the layout either.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table { return newTableFlags(w, 0) }

func newTableFlags(w io.Writer, flags uint) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', flags)}
}

// header prints the column names (the printer's own words, not values).
func (t *table) header(names ...string) { t.line(names) }

// row prints one row; each cell prints as fmt.Sprint would, escaped.
func (t *table) row(cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = fmt.Sprint(term(c))
	}
	t.line(s)
}

// line writes cells as one tab-separated line (a trailing "" cell ends
// the line with a tab, which AlignRight tables need).
func (t *table) line(cells []string) { io.WriteString(t.tw, strings.Join(cells, "\t")+"\n") }

func (t *table) flush() error { return t.tw.Flush() }

// printJSON writes v as one line of JSON. encoding/json escapes C0
// control characters; jsonWriter escapes the C1 and bidirectional ones it
// leaves, so JSON on a terminal is as safe as a table (and still the same
// JSON).
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(jsonWriter{e.stdout})
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonWriter rewrites, in JSON text written to w, every character that
// safetext.Terminal would escape as a \uXXXX escape. Outside strings JSON
// holds none, and json.Encoder writes each document in one call, so
// characters are never split between calls (a split one passes through
// unchanged, as invalid UTF-8 would be escaped by json already).
type jsonWriter struct{ w io.Writer }

func (j jsonWriter) Write(p []byte) (int, error) {
	var b strings.Builder
	changed := false
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if n > 1 && safetext.Terminal(string(r)) != string(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			changed = true
		} else {
			b.Write(p[i : i+n])
		}
		i += n
	}
	if !changed {
		return j.w.Write(p)
	}
	if _, err := io.WriteString(j.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ---- Output formats: one flag, one check, one printer ----

// output is a command's --format, declared, described and checked here
// for every command that prints a result: table for people (the default),
// json for programs (the documented result type; a list is one object a
// line), and csv where the command offers it.
type output struct {
	format  string
	offered []string
}

// formatFlag gives c a --format flag offering formats (the first is the
// default) and refuses any other before the command runs.
func formatFlag(c *cobra.Command, formats ...string) *output {
	o := &output{format: formats[0], offered: formats}
	c.Flags().StringVar(&o.format, "format", formats[0], formatHelp(formats))
	prev := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		if err := o.check(); err != nil {
			return err
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
	return o
}

func formatHelp(formats []string) string {
	h := "output: " + orList(formats)
	if slices.Contains(formats, "json") {
		h += " (json: the documented result, a list one object a line)"
	}
	if slices.Contains(formats, "ids") {
		h += " (ids: only the IDs, one a line, for scripts)"
	}
	return h
}

func orList(ss []string) string {
	if len(ss) < 2 {
		return strings.Join(ss, "")
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " or " + ss[len(ss)-1]
}

// check refuses a format the command does not offer. "text", which the
// import and snapshot reports called their table format, still means it.
func (o *output) check() error {
	if o.format == "text" && slices.Contains(o.offered, "table") {
		o.format = "table"
	}
	return checkFormat(o.format, o.offered...)
}

func (o *output) is(format string) bool { return o.format == format }

// result prints a command's whole result: one JSON document when the
// format is json, otherwise what text prints.
func (e *env) result(o *output, v any, text func() error) error {
	if o.is("json") {
		return e.printJSON(v)
	}
	return text()
}

// resultID is result for a command whose result has an ID, which the ids
// format prints alone (VAR=$(vigil cases create … --format ids)).
func (e *env) resultID(o *output, v any, id string, text func() error) error {
	if o.is("ids") {
		printf(e.stdout, "%s\n", id)
		return nil
	}
	return e.result(o, v, text)
}

// column is one column of a table: its heading and a row's cell (escaped
// when printed; numbers for people go through phrase first).
type column[T any] struct {
	head string
	cell func(T) any
}

func col[T any](head string, cell func(T) any) column[T] { return column[T]{head, cell} }

// lister prints the rows of a list in the command's format as they come
// (lists are read a page at a time): a table with a header, one JSON
// object a row, or — the ids format, where a command offers it — the
// first column alone, one a line.
type lister[T any] struct {
	e    *env
	o    *output
	cols []column[T]
	t    *table
}

func newLister[T any](e *env, o *output, cols ...column[T]) *lister[T] {
	l := &lister[T]{e: e, o: o, cols: cols}
	if !o.is("json") && !o.is("ids") {
		l.t = newTable(e.stdout)
		l.t.header(heads(cols)...)
	}
	return l
}

func (l *lister[T]) add(v T) error {
	switch {
	case l.o.is("ids"):
		printf(l.e.stdout, "%v\n", l.cols[0].cell(v))
		return nil
	case l.t == nil:
		return l.e.printJSON(v)
	}
	l.t.row(cells(l.cols, v)...)
	return nil
}

func (l *lister[T]) flush() error {
	if l.t == nil {
		return nil
	}
	return l.t.flush()
}

// printRows prints one table of a report (the table format's sections).
func printRows[T any](w io.Writer, flags uint, rows []T, cols ...column[T]) error {
	t := newTableFlags(w, flags)
	t.header(heads(cols)...)
	for _, r := range rows {
		t.row(cells(cols, r)...)
	}
	return t.flush()
}

func heads[T any](cols []column[T]) []string {
	hs := make([]string, len(cols))
	for i, c := range cols {
		hs[i] = c.head
	}
	return hs
}

func cells[T any](cols []column[T], v T) []any {
	cs := make([]any, len(cols))
	for i, c := range cols {
		cs[i] = c.cell(v)
	}
	return cs
}

// pages reads up to limit items through a cursor-paged list, asking for at
// most page at a time: list is given how many to return and the cursor
// after which to start ("" for the first page) and returns the items and
// the next cursor ("" at the end). Each item is handed to add in order.
func pages[T any](limit, page int, list func(n int, after string) ([]T, string, error), add func(T) error) error {
	after := ""
	for shown := 0; shown < limit; {
		items, next, err := list(min(limit-shown, page), after)
		if err != nil {
			return err
		}
		for _, x := range items {
			if err := add(x); err != nil {
				return err
			}
		}
		shown += len(items)
		if next == "" || len(items) == 0 {
			return nil
		}
		after = next
	}
	return nil
}
