package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/store"
)

// columns are the event's own columns a query may name; every other name
// is a key of the event's fields. They are the only names that appear in
// SQL as written, and they come from this table, never from the query.
var columns = map[string]string{
	"org":      "org",
	"host":     "host",
	"product":  "product",
	"service":  "service",
	"category": "category",
	"protocol": "protocol",
}

// indexedFields are fields with a column and an index of their own
// (migration 0004: filled by Append on SQLite, generated from the fields
// on PostgreSQL): a condition on one's value as a number or its text is
// written on the column, whose name comes from this table, not the
// query's text, so that the planner can use the index. EventID is the
// field Windows searches start from.
var indexedFields = map[string]string{
	"EventID": "event_id",
}

// compiler turns an AST into a condition for one dialect, appending the
// values it binds to args. User text only ever lands in args: field names
// become JSON paths bound as arguments, values become bound patterns and
// numbers, and the SQL is assembled from the fixed strings below.
type compiler struct {
	d    store.Dialect
	args []any
	// neg counts the NOTs around the node being compiled.
	neg int
}

// compileWhere compiles n (nil matches everything) for dialect d.
func compileWhere(d store.Dialect, n Node) (string, []any, error) {
	c := &compiler{d: d}
	if n == nil {
		return "1=1", nil, nil
	}
	s, err := c.node(n)
	if err != nil {
		return "", nil, err
	}
	return s, c.args, nil
}

func (c *compiler) bind(v ...any) { c.args = append(c.args, v...) }

func (c *compiler) node(n Node) (string, error) {
	switch n := n.(type) {
	case And:
		return c.chain(n, " AND ")
	case Or:
		return c.chain(n, " OR ")
	case Not:
		c.neg++
		x, err := c.node(n.X)
		c.neg--
		if err != nil {
			return "", err
		}
		return "NOT " + x, nil
	case Compare:
		return c.compare(n.Field, n.Op, n.Value)
	case In:
		parts := make([]string, 0, len(n.Values))
		for _, v := range n.Values {
			s, err := c.compare(n.Field, "=", v)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return balanced(parts, " OR "), nil
	case Exists:
		if col, ok := columns[n.Field]; ok {
			return "(" + col + " <> '')", nil
		}
		if c.d == store.Postgres {
			c.bind(n.Field)
			return "((fields -> ?::text) IS NOT NULL)", nil
		}
		c.bind(jsonPath(n.Field))
		return "(json_type(fields, ?) IS NOT NULL)", nil
	case Text:
		return c.text(n.Value), nil
	}
	return "", fmt.Errorf("events: cannot compile %T", n)
}

// chain compiles a run of the same operator (a AND b AND c …, which the
// parser nests to the left) as a balanced tree: SQLite refuses an
// expression deeper than 1,000, and a long query of side-by-side
// conditions would otherwise be as deep as it is long.
func (c *compiler) chain(n Node, op string) (string, error) {
	var terms []Node
	var collect func(Node)
	collect = func(x Node) {
		switch x := x.(type) {
		case And:
			if op == " AND " {
				collect(x.L)
				collect(x.R)
				return
			}
		case Or:
			if op == " OR " {
				collect(x.L)
				collect(x.R)
				return
			}
		}
		terms = append(terms, x)
	}
	collect(n)
	parts := make([]string, 0, len(terms))
	for _, t := range terms {
		s, err := c.node(t)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return balanced(parts, op), nil
}

// balanced joins parts with op, nested as a balanced tree in their order
// (so the bound arguments stay in placeholder order).
func balanced(parts []string, op string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	mid := len(parts) / 2
	return "(" + balanced(parts[:mid], op) + op + balanced(parts[mid:], op) + ")"
}

// jsonPath is SQLite's path to a top-level key, quoted so that a dotted
// name ("event_data.CommandLine", a flattened key) is one key, not a path.
// checkField has refused quotes and backslashes in names.
func jsonPath(field string) string { return `$."` + field + `"` }

// value is the SQL for a field's value as text, binding what it needs.
func (c *compiler) value(field string) string {
	if col, ok := columns[field]; ok {
		return col
	}
	if c.d == store.Postgres {
		c.bind(field)
		return "(fields ->> ?::text)"
	}
	c.bind(jsonPath(field))
	return "CAST(json_extract(fields, ?) AS TEXT)"
}

// like is the case-insensitive pattern match of each dialect: SQLite's
// LIKE ignores ASCII case; PostgreSQL's does not, ILIKE does.
func (c *compiler) like() string {
	if c.d == store.Postgres {
		return " ILIKE ? ESCAPE '\\'"
	}
	return " LIKE ? ESCAPE '\\'"
}

// nullSafe makes a condition on a field false, not NULL, when the event
// lacks the field, so that NOT of it holds for such events: `NOT
// CommandLine=*x*` finds events without a command line too.
func (c *compiler) nullSafe(s string) string {
	if c.neg == 0 {
		// Outside NOT, NULL already excludes the event as FALSE would,
		// and the bare condition can use an expression index.
		return s
	}
	return "COALESCE(" + s + ", FALSE)"
}

func (c *compiler) compare(field, op string, v Value) (string, error) {
	neg := op == "!="
	if neg {
		c.neg++
		defer func() { c.neg-- }()
	}
	var s string
	var err error
	switch {
	case op == "=" || op == "!=":
		s, err = c.equal(field, v)
	default:
		s = c.nullSafe("(" + c.number(field) + " " + op + " ?)")
		c.bind(v.Num)
	}
	if err != nil {
		return "", err
	}
	if neg {
		return "NOT " + s, nil
	}
	return s, nil
}

func (c *compiler) equal(field string, v Value) (string, error) {
	_, isCol := columns[field]
	switch {
	case !v.Quoted && !v.Wild() && (v.Parts[0] == "true" || v.Parts[0] == "false") && !isCol:
		// JSON booleans: SQLite's json_extract reads true as 1, so the
		// type is asked for instead.
		if c.d == store.Postgres {
			c.bind(field, v.Parts[0])
			return c.nullSafe("((fields -> ?::text) = to_jsonb(?::boolean))"), nil
		}
		c.bind(jsonPath(field), v.Parts[0])
		return c.nullSafe("(json_type(fields, ?) = ?)"), nil
	case v.IsPrefix:
		return c.cidr(field, v), nil
	case v.IsNum && !isCol:
		// A number equals the field's number or its text: Windows logs
		// give EventID as 4688 in one shipper and "4688" in another.
		txt := strconv.FormatFloat(v.Num, 'f', -1, 64)
		if col, ok := indexedFields[field]; ok {
			if c.d == store.Postgres {
				c.bind(txt)
				return c.nullSafe("(" + col + " = ?)"), nil
			}
			c.bind(v.Num, txt)
			return c.nullSafe("(" + col + " IN (?, ?))"), nil
		}
		if c.d == store.Postgres {
			c.bind(field, txt)
			return c.nullSafe("((fields ->> ?::text) = ?)"), nil
		}
		c.bind(jsonPath(field), v.Num, txt)
		return c.nullSafe("(json_extract(fields, ?) IN (?, ?))"), nil
	}
	x := c.value(field)
	c.bind(likePattern(v.Parts, false))
	return c.nullSafe("(" + x + c.like() + ")"), nil
}

// number is the SQL for a field's value as a number, NULL when it is not
// one (so a range never matches text, and PostgreSQL never fails a cast).
// The patterns are constants; note they avoid `?`, which Rebind would
// take for a placeholder.
func (c *compiler) number(field string) string {
	if c.d == store.Postgres {
		x := c.value(field)
		y := c.value(field)
		return "(CASE WHEN " + x + ` ~ '^[+-]{0,1}[0-9]+(\.[0-9]+){0,1}$' THEN ` + y + "::float8 END)"
	}
	x := c.rawValue(field)
	// One extraction per row: the sub-select names it once.
	return "(SELECT CASE WHEN typeof(v) IN ('integer', 'real') THEN v WHEN typeof(v) = 'text' AND v <> '' AND v NOT GLOB '*[^0-9.+-]*' THEN CAST(v AS REAL) END FROM (SELECT " + x + " AS v))"
}

// rawValue is SQLite's value of a field as stored (number or text).
func (c *compiler) rawValue(field string) string {
	if col, ok := columns[field]; ok {
		return col
	}
	c.bind(jsonPath(field))
	return "json_extract(fields, ?)"
}

// cidr matches addresses written as text inside v's prefix. IPv4 ones
// are matched without an address type: SQLite has none, and PostgreSQL's inet cast fails the
// whole query on the first value that is not an address. The whole
// octets of the prefix are a text prefix; the octet the mask cuts is
// compared as a number between its lowest and highest value.
func (c *compiler) cidr(field string, v Value) string {
	p := v.Prefix
	if !p.Addr().Is4() {
		// IPv6 text has too many spellings for a text prefix: the
		// function vigil_in_cidr (cidr.go, migration 0003) parses it.
		x := c.value(field)
		c.bind(p.String())
		return "COALESCE(vigil_in_cidr(" + x + ", ?), FALSE)"
	}
	a := p.Addr().As4()
	bits := p.Bits()
	whole, rem := bits/8, bits%8
	if bits == 32 {
		x := c.value(field)
		c.bind(p.Addr().String())
		return c.nullSafe("(" + x + " = ?)")
	}
	var lead strings.Builder
	for i := 0; i < whole; i++ {
		lead.WriteString(strconv.Itoa(int(a[i])))
		lead.WriteByte('.')
	}
	shape := lead.String() + "%"
	if whole == 0 {
		shape = "%.%.%.%"
	}
	if rem == 0 {
		x := c.value(field)
		c.bind(shape)
		return c.nullSafe("(" + x + " LIKE ?)")
	}
	lo := int(a[whole])
	hi := lo + (1 << (8 - rem)) - 1
	// Arguments are bound in the order their placeholders appear.
	if c.d == store.Postgres {
		x := c.value(field)
		c.bind(shape)
		y := c.value(field)
		c.bind(whole + 1)
		z := c.value(field)
		c.bind(whole+1, lo, hi)
		return c.nullSafe("(" + x + " LIKE ? AND (CASE WHEN split_part(" + y + ", '.', ?::int) ~ '^[0-9]{1,3}$' THEN split_part(" + z + ", '.', ?::int)::int END) BETWEEN ? AND ?)")
	}
	c.bind(shape, lead.Len()+1, lo, hi)
	x := c.value(field)
	return c.nullSafe("(SELECT v LIKE ? AND CAST(substr(v, ?) AS INTEGER) BETWEEN ? AND ? FROM (SELECT " + x + " AS v))")
}

// text is free text: the term anywhere in the fields (matched in their
// JSON text, so the term is escaped as JSON writes it) or in the raw text
// of an event that could not be parsed.
func (c *compiler) text(v Value) string {
	c.bind(likePattern(jsonEscapeParts(v.Parts), true), likePattern(v.Parts, true))
	if c.d == store.Postgres {
		return "(fields::text" + c.like() + " OR COALESCE(raw_text" + c.like() + ", FALSE))"
	}
	return "(fields" + c.like() + " OR COALESCE(raw_text" + c.like() + ", FALSE))"
}

// likePattern escapes each literal part for LIKE (with ESCAPE '\') and
// joins them with %, the wildcard; contains adds % at both ends.
func likePattern(parts []string, contains bool) string {
	var b strings.Builder
	if contains {
		b.WriteByte('%')
	}
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('%')
		}
		for _, r := range p {
			if r == '%' || r == '_' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	if contains {
		b.WriteByte('%')
	}
	return b.String()
}

// jsonEscapeParts writes each part as it appears inside a JSON string, so
// that `C:\Windows` finds the field whose JSON text is "C:\\Windows".
func jsonEscapeParts(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = jsonEscape(p)
	}
	return out
}

func jsonEscape(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}
