package cases

import (
	"bytes"
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Case descriptions, comments and task logs are Markdown written by
// analysts — and pasted from alerts, phishing e-mails and attackers' notes.
// They are rendered with goldmark (CommonMark plus tables, strikethrough,
// task lists and autolinks) and the HTML is then sanitised with
// bluemonday, so that whatever the text holds — raw HTML, script,
// javascript: or data: links, event-handler attributes, SVG — the
// rendered HTML is only the formatting Markdown itself makes. goldmark's
// own escaping is not relied on: the sanitiser is the one line of defence
// that decides, and it runs on every rendering.

var (
	mdOnce     sync.Once
	mdRenderer goldmark.Markdown
	mdPolicy   *bluemonday.Policy
)

func markdownSetup() {
	// Raw HTML stays off (goldmark's default: it writes "<!-- raw HTML
	// omitted -->"), so HTML in the text never reaches the sanitiser as
	// markup in the first place.
	mdRenderer = goldmark.New(goldmark.WithExtensions(extension.GFM))
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
		"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	// Task-list checkboxes, disabled as goldmark writes them.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	// Links: http, https and mailto only, opened without a referrer or
	// access to this window.
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	// No images: a remote image in a case is a tracking beacon telling an
	// attacker when, and from where, the case was read.
	mdPolicy = p
}

// RenderMarkdown returns the sanitised HTML of Markdown text.
func RenderMarkdown(src string) string {
	mdOnce.Do(markdownSetup)
	var b bytes.Buffer
	if err := mdRenderer.Convert([]byte(src), &b); err != nil {
		// goldmark writes to a buffer; a failure leaves the text escaped.
		return mdPolicy.Sanitize("<p>" + bluemonday.StrictPolicy().Sanitize(src) + "</p>")
	}
	return string(mdPolicy.SanitizeBytes(b.Bytes()))
}
