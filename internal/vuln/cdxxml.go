package vuln

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// cdxXML is what a scan reads of a CycloneDX XML document, as
// cyclonedx-go would decode it: the bom's serialNumber, its
// metadata>component and its components>component elements at any depth
// of components>component, in document order (a component before those
// inside it), each with its bom-ref and its group, name, version, purl
// and cpe.
type cdxXML struct {
	serial     string
	subject    *cdxXMLComponent
	components []cdxXMLComponent
}

type cdxXMLComponent struct{ ref, group, name, version, purl, cpe string }

// readCDXXML reads a CycloneDX XML document for the components a scan
// needs, the way cyclonedx-go's decoder (encoding/xml into its BOM
// type) reads them — elements matched by local name, a field given twice
// taking the last value, only an element's own text (entities decoded,
// CR LF read as LF), nothing after the bom element read — but without
// building the whole BOM: decoding postgres's SBOM (295 kB) into
// cyclonedx-go's types through encoding/xml was most of its scan.
// Elements it does not read are checked only for being well formed:
// names and attributes, quotes, matching end tags, comments, CDATA and
// entity references in the text it keeps. So it refuses what
// encoding/xml refuses there, but accepts what cyclonedx-go would refuse
// only in parts a scan never reads (a bad licence, a non-numeric bom
// version). TestCDXXMLAsCycloneDXGo and FuzzCDXXMLAsCycloneDXGo hold it
// to cyclonedx-go's reading of every document that decoder accepts.
func readCDXXML(b []byte) (*cdxXML, error) {
	p := xmlScan{b: b}
	doc := &cdxXML{}
	type open struct {
		name string // as written, prefix and all
		role int
		comp int // the component, for roles inside one; -1 for the subject
	}
	const (
		other = iota
		root
		bomComponents  // bom>components
		component      // …components>component
		compComponents // component>components
		metadata       // bom>metadata
		subject        // bom>metadata>component
		field          // a component's group, name, version, purl or cpe
	)
	var stack []open
	var text []byte // a field's own text so far
	var fieldOf *string
	seenRoot := false
	for p.i < len(b) {
		if b[p.i] != '<' {
			j := bytes.IndexByte(b[p.i:], '<')
			if j < 0 {
				j = len(b) - p.i
			}
			if fieldOf != nil && len(stack) > 0 && stack[len(stack)-1].role == field {
				t, err := p.unescape(b[p.i:p.i+j], false)
				if err != nil {
					return nil, err
				}
				text = append(text, t...)
			}
			p.i += j
			continue
		}
		switch {
		case bytes.HasPrefix(b[p.i:], []byte("<!--")):
			j := bytes.Index(b[p.i+4:], []byte("-->"))
			if j < 0 {
				return nil, p.errorf("unexpected EOF in comment")
			}
			p.i += 4 + j + 3
		case bytes.HasPrefix(b[p.i:], []byte("<![CDATA[")):
			j := bytes.Index(b[p.i+9:], []byte("]]>"))
			if j < 0 {
				return nil, p.errorf("unexpected EOF in CDATA section")
			}
			if fieldOf != nil && len(stack) > 0 && stack[len(stack)-1].role == field {
				t, err := p.unescape(b[p.i+9:p.i+9+j], true)
				if err != nil {
					return nil, err
				}
				text = append(text, t...)
			}
			p.i += 9 + j + 3
		case bytes.HasPrefix(b[p.i:], []byte("<?")):
			j := bytes.Index(b[p.i+2:], []byte("?>"))
			if j < 0 {
				return nil, p.errorf("unexpected EOF in processing instruction")
			}
			pi := b[p.i+2 : p.i+2+j]
			if bytes.HasPrefix(pi, []byte("xml")) && (len(pi) == 3 || pi[3] == ' ' || pi[3] == '\t' || pi[3] == '\r' || pi[3] == '\n') {
				if enc := xmlDeclParam(string(pi), "encoding"); enc != "" && !strings.EqualFold(enc, "utf-8") {
					return nil, p.errorf("encoding %q declared: only UTF-8 is read", enc)
				}
			}
			p.i += 2 + j + 2
		case bytes.HasPrefix(b[p.i:], []byte("<!")):
			if err := p.skipDirective(); err != nil {
				return nil, err
			}
		case bytes.HasPrefix(b[p.i:], []byte("</")):
			p.i += 2
			name := p.name()
			if name == "" {
				return nil, p.errorf("expected element name after </")
			}
			p.space()
			if p.i >= len(b) || b[p.i] != '>' {
				return nil, p.errorf("invalid characters between </%s and >", name)
			}
			p.i++
			if len(stack) == 0 {
				return nil, p.errorf("unexpected end element </%s>", name)
			}
			top := stack[len(stack)-1]
			if top.name != name {
				return nil, p.errorf("element <%s> closed by </%s>", top.name, name)
			}
			stack = stack[:len(stack)-1]
			if top.role == field {
				*fieldOf, fieldOf = string(text), nil
			}
			if len(stack) == 0 {
				return doc, nil // cyclonedx-go reads no further than the bom element
			}
		default:
			p.i++
			name := p.name()
			if name == "" {
				return nil, p.errorf("expected element name after <")
			}
			local, err := localName(name)
			if err != nil {
				return nil, p.errorf("%v", err)
			}
			var attrs [][2]string
			empty := false
			for {
				p.space()
				if p.i >= len(b) {
					return nil, p.errorf("unexpected EOF")
				}
				if b[p.i] == '/' {
					if p.i+1 >= len(b) || b[p.i+1] != '>' {
						return nil, p.errorf("expected /> in element")
					}
					p.i += 2
					empty = true
					break
				}
				if b[p.i] == '>' {
					p.i++
					break
				}
				an := p.name()
				if an == "" {
					return nil, p.errorf("expected attribute name in element")
				}
				al, err := localName(an)
				if err != nil {
					return nil, p.errorf("%v", err)
				}
				p.space()
				if p.i >= len(b) || b[p.i] != '=' {
					return nil, p.errorf("attribute name without = in element")
				}
				p.i++
				p.space()
				if p.i >= len(b) || b[p.i] != '"' && b[p.i] != '\'' {
					return nil, p.errorf("unquoted or missing attribute value in element")
				}
				q := b[p.i]
				j := bytes.IndexByte(b[p.i+1:], q)
				if j < 0 {
					return nil, p.errorf("unexpected EOF")
				}
				raw := b[p.i+1 : p.i+1+j]
				if bytes.IndexByte(raw, '<') >= 0 {
					return nil, p.errorf("unescaped < inside quoted string")
				}
				v, err := p.unescape(raw, false)
				if err != nil {
					return nil, err
				}
				p.i += 1 + j + 1
				attrs = append(attrs, [2]string{al, string(v)})
			}
			attr := func(local string) (string, bool) {
				v, ok := "", false
				for _, a := range attrs {
					if a[0] == local {
						v, ok = a[1], true // the last wins, as in encoding/xml
					}
				}
				return v, ok
			}
			o := open{name: name, role: other}
			parent := open{role: -1}
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			switch {
			case !seenRoot:
				if local != "bom" {
					return nil, p.errorf("expected element type <bom> but have <%s>", local)
				}
				seenRoot, o.role = true, root
				if v, ok := attr("serialNumber"); ok {
					doc.serial = v
				}
			case parent.role == root && local == "components":
				o.role = bomComponents
			case parent.role == root && local == "metadata":
				o.role = metadata
			case (parent.role == bomComponents || parent.role == compComponents) && local == "component":
				o.role, o.comp = component, len(doc.components)
				doc.components = append(doc.components, cdxXMLComponent{})
			case parent.role == metadata && local == "component":
				o.role, o.comp = subject, -1
				if doc.subject == nil {
					doc.subject = &cdxXMLComponent{}
				}
			case parent.role == component && local == "components":
				o.role, o.comp = compComponents, parent.comp
			case parent.role == component || parent.role == subject:
				c := doc.subject
				if parent.role == component {
					c = &doc.components[parent.comp]
				}
				var f *string
				switch local {
				case "group":
					f = &c.group
				case "name":
					f = &c.name
				case "version":
					f = &c.version
				case "purl":
					f = &c.purl
				case "cpe":
					f = &c.cpe
				}
				if f != nil {
					o.role, o.comp = field, parent.comp
					fieldOf, text = f, text[:0]
				}
			}
			if o.role == component || o.role == subject {
				c := doc.subject
				if o.role == component {
					c = &doc.components[o.comp]
				}
				if v, ok := attr("bom-ref"); ok {
					c.ref = v
				}
			}
			if empty {
				if o.role == field {
					*fieldOf, fieldOf = "", nil
				}
				if o.role == root {
					return doc, nil
				}
				continue
			}
			stack = append(stack, o)
		}
	}
	if !seenRoot {
		return nil, p.errorf("no bom element")
	}
	return nil, p.errorf("unexpected EOF")
}

// xmlScan is the reader's place in the document.
type xmlScan struct {
	b []byte
	i int
}

func (p *xmlScan) errorf(format string, args ...any) error {
	line := 1 + bytes.Count(p.b[:min(p.i, len(p.b))], []byte("\n"))
	return fmt.Errorf("XML syntax error on line %d: %s", line, fmt.Sprintf(format, args...))
}

func (p *xmlScan) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\r' || p.b[p.i] == '\n') {
		p.i++
	}
}

// name reads a name as encoding/xml does: the longest run of name
// bytes (letters, digits, _ : . -) and bytes beyond ASCII.
func (p *xmlScan) name() string {
	j := p.i
	for j < len(p.b) {
		c := p.b[j]
		if c < utf8.RuneSelf && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-') {
			break
		}
		j++
	}
	s := string(p.b[p.i:j])
	p.i = j
	return s
}

// localName is a name without its namespace prefix; encoding/xml
// refuses a name of more than one colon.
func localName(s string) (string, error) {
	if strings.Count(s, ":") > 1 {
		return "", errors.New("invalid XML name " + strconv.Quote(s))
	}
	if space, local, ok := strings.Cut(s, ":"); ok && space != "" && local != "" {
		return local, nil
	}
	return s, nil
}

// skipDirective steps over <!DOCTYPE …> and the like, with its quoted
// strings, nested <…> and comments.
func (p *xmlScan) skipDirective() error {
	depth, quote := 0, byte(0)
	for p.i += 2; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case bytes.HasPrefix(p.b[p.i:], []byte("<!--")):
			j := bytes.Index(p.b[p.i+4:], []byte("-->"))
			if j < 0 {
				return p.errorf("unexpected EOF in comment")
			}
			p.i += 4 + j + 2
		case c == '<':
			depth++
		case c == '>':
			if depth == 0 {
				p.i++
				return nil
			}
			depth--
		}
	}
	return p.errorf("unexpected EOF in directive")
}

// unescape is text as encoding/xml gives it: character and the five
// predefined entity references replaced (any other is an error), CR LF
// and a lone CR read as LF. CDATA has no references.
func (p *xmlScan) unescape(t []byte, cdata bool) ([]byte, error) {
	if bytes.IndexByte(t, '\r') < 0 && (cdata || bytes.IndexByte(t, '&') < 0) {
		return t, nil
	}
	out := make([]byte, 0, len(t))
	for k := 0; k < len(t); k++ {
		c := t[k]
		switch {
		case c == '\r':
			out = append(out, '\n')
			if k+1 < len(t) && t[k+1] == '\n' {
				k++
			}
		case c == '&' && !cdata:
			end := bytes.IndexByte(t[k:], ';')
			if end < 0 {
				return nil, p.errorf("invalid character entity (no semicolon)")
			}
			ref := string(t[k+1 : k+end])
			r, ok := xmlEntity(ref)
			if !ok {
				return nil, p.errorf("invalid character entity &%s;", ref)
			}
			out = utf8.AppendRune(out, r)
			k += end
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

func xmlEntity(ref string) (rune, bool) {
	switch ref {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	num, ok := strings.CutPrefix(ref, "#")
	if !ok || num == "" {
		return 0, false
	}
	base := 10
	if h, ok := strings.CutPrefix(num, "x"); ok {
		num, base = h, 16
	}
	if num == "" || strings.ContainsAny(num, "+-_") {
		return 0, false
	}
	n, err := strconv.ParseUint(num, base, 64)
	if err != nil || n > utf8.MaxRune {
		return 0, false
	}
	return rune(n), true
}

// xmlDeclParam is a pseudo-attribute of the XML declaration
// (encoding="UTF-8").
func xmlDeclParam(decl, param string) string {
	i := strings.Index(decl, param)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len(param):], " \t\r\n")
	rest, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	if rest == "" || rest[0] != '"' && rest[0] != '\'' {
		return ""
	}
	v, _, ok := strings.Cut(rest[1:], rest[:1])
	if !ok {
		return ""
	}
	return v
}
