package cases

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// sanitizeHTML is the allow-list that decides what of a rendering reaches
// the page (it replaced bluemonday, whose package-level regexps and CSS
// tables cost every vigil process 1.3 ms at start-up, issue 18; the policy
// is the one bluemonday was given, and testdata/markdown/golden.json holds
// bluemonday's own output for realistic notes). It re-writes the HTML token
// by token:
//
//   - only the elements below, each with only its allowed attributes; the
//     values are checked here and escaped on the way out;
//   - any other tag is dropped and its text kept, escaped; the text inside
//     script, style, svg, math, frames, objects, templates and the like is
//     dropped with it;
//   - comments, doctypes and processing instructions are dropped;
//   - an end tag is written only for an element it wrote and that is still
//     open (elements inside it are closed first), and what is open at the
//     end is closed.
//
// Nothing is set up at package level: the tables are switch statements.
func sanitizeHTML(s string) string {
	var (
		b    strings.Builder
		open []openElem // allowed elements started, written or not
		skip []string   // elements whose content is being dropped
	)
	b.Grow(len(s))
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			// io.EOF: a strings.Reader has no other error.
			break
		}
		tok := z.Token()
		if len(skip) > 0 {
			// Inside dropped content: only its own nesting is followed.
			switch {
			case tt == html.StartTagToken && skipsContent(tok.Data):
				skip = append(skip, tok.Data)
			case tt == html.EndTagToken && tok.Data == skip[len(skip)-1]:
				skip = skip[:len(skip)-1]
			}
			continue
		}
		switch tt {
		case html.TextToken:
			b.WriteString(tok.String()) // escaped
		case html.StartTagToken, html.SelfClosingTagToken:
			if tt == html.StartTagToken && skipsContent(tok.Data) {
				skip = append(skip, tok.Data)
				continue
			}
			if !allowedElement(tok.Data) {
				continue
			}
			tok.Attr = sanitizeAttrs(tok.Data, tok.Attr)
			// a and input mean nothing without their attributes: dropped,
			// their text kept (bluemonday's rule for elements it does not
			// allow bare).
			written := len(tok.Attr) > 0 || (tok.Data != "a" && tok.Data != "input")
			if tt == html.SelfClosingTagToken && !isVoid(tok.Data) {
				// Browsers ignore the slash of <strong/>: it opens an
				// element, so it is written open and closed.
				tok.Type = html.StartTagToken
				if written {
					b.WriteString(tok.String() + "</" + tok.Data + ">")
				}
				continue
			}
			if written {
				b.WriteString(tok.String())
			}
			if tt == html.StartTagToken && !isVoid(tok.Data) {
				open = append(open, openElem{tok.Data, written})
			}
		case html.EndTagToken:
			for i := len(open) - 1; i >= 0; i-- {
				if open[i].name != tok.Data {
					continue
				}
				for j := len(open) - 1; j >= i; j-- {
					if open[j].written {
						b.WriteString("</" + open[j].name + ">")
					}
				}
				open = open[:i]
				break
			}
		default:
			// Comments, doctypes: dropped. (The tokenizer reads a
			// processing instruction as a comment.)
		}
	}
	for j := len(open) - 1; j >= 0; j-- {
		if open[j].written {
			b.WriteString("</" + open[j].name + ">")
		}
	}
	return b.String()
}

type openElem struct {
	name    string
	written bool
}

// allowedElement is the formatting Markdown makes, and nothing else: no
// images (a remote image in a case is a beacon telling an attacker when,
// and from where, the case was read), no forms, no frames.
func allowedElement(name string) bool {
	switch name {
	case "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
		"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
		"table", "thead", "tbody", "tr", "th", "td", "a", "input":
		return true
	}
	return false
}

func isVoid(name string) bool {
	return name == "br" || name == "hr" || name == "input"
}

// skipsContent names the elements whose content is not text to show:
// script and style, and the foreign, embedded and template content that
// carries them. (embed and frame are void: dropped as any other tag.)
func skipsContent(name string) bool {
	switch name {
	case "script", "style", "iframe", "object", "svg", "math", "template",
		"noscript", "noembed", "noframes", "nostyle", "frameset",
		"textarea", "title", "xmp":
		return true
	}
	return false
}

// sanitizeAttrs keeps, of each attribute's first occurrence, only those the
// element allows with a value they allow.
func sanitizeAttrs(elem string, attrs []html.Attribute) []html.Attribute {
	var out []html.Attribute
	seen := func(key string) bool {
		for _, a := range out {
			if a.Key == key {
				return true
			}
		}
		return false
	}
	external := false
	for _, a := range attrs {
		if a.Namespace != "" || seen(a.Key) {
			continue
		}
		ok := false
		switch elem + " " + a.Key {
		case "th align", "td align":
			ok = a.Val == "left" || a.Val == "right" || a.Val == "center"
		case "ol start":
			ok = isDigits(a.Val)
		case "input type":
			// Task-list checkboxes, disabled as goldmark writes them.
			ok = a.Val == "checkbox"
		case "input checked", "input disabled":
			ok = a.Val == "" || a.Val == "checked" || a.Val == "disabled"
		case "a href":
			var u *url.URL
			if u, ok = linkURL(a.Val); ok {
				a.Val = u.String()
				// Whether it leaves the site is read from what is written.
				if w, err := url.Parse(a.Val); err == nil {
					external = w.Host != ""
				}
			}
		}
		if ok {
			out = append(out, html.Attribute{Key: a.Key, Val: a.Val})
		}
	}
	if elem == "a" && len(out) > 0 {
		// Links are followed without a referrer or credit, and those to
		// another site open apart, without access to this window.
		if external {
			out = append(out, html.Attribute{Key: "rel", Val: "nofollow noreferrer noopener"},
				html.Attribute{Key: "target", Val: "_blank"})
		} else {
			out = append(out, html.Attribute{Key: "rel", Val: "nofollow noreferrer"})
		}
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// linkURL accepts an http, https or mailto URL with its scheme: no
// relative address, nothing a browser would read differently — no space,
// tab or line break inside it (browsers drop tabs and line breaks, so
// "java\tscript:" is javascript:), no control character (url.Parse
// refuses those). The value is the tokenizer's, entities already decoded.
func linkURL(v string) (*url.URL, bool) {
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, " \t\n\r\f\v") {
		return nil, false
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil, false
	}
	switch u.Scheme { // url.Parse lower-cases it
	case "http", "https", "mailto":
		return u, true
	}
	return nil, false
}
