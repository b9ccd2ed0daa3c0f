package cases

import (
	"bytes"
	"html"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Case descriptions, comments and task logs are Markdown written by
// analysts — and pasted from alerts, phishing e-mails and attackers' notes.
// They are rendered with goldmark (CommonMark plus tables, strikethrough,
// task lists and autolinks) and the HTML is then sanitised by this
// package's allow-list (sanitize.go), so that whatever the text holds — raw
// HTML, script, javascript: or data: links, event-handler attributes, SVG —
// the rendered HTML is only the formatting Markdown itself makes.
// goldmark's own escaping is not relied on: the sanitiser is the one line
// of defence that decides, and it runs on every rendering.

// Raw HTML stays off (goldmark's default: it writes "<!-- raw HTML
// omitted -->"), so HTML in the text never reaches the sanitiser as markup
// in the first place. Built on first use, not at start-up.
var mdRenderer = sync.OnceValue(func() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(extension.GFM))
})

// RenderMarkdown returns the sanitised HTML of Markdown text.
func RenderMarkdown(src string) string {
	var b bytes.Buffer
	if err := mdRenderer().Convert([]byte(src), &b); err != nil {
		// goldmark writes to a buffer; a failure leaves the text escaped.
		return sanitizeHTML("<p>" + html.EscapeString(src) + "</p>")
	}
	return sanitizeHTML(b.String())
}
