package cases

import (
	"regexp"
	"strings"
	"testing"
)

var handlerRE = regexp.MustCompile(`<[^>]*\son[a-z]+\s*=`)

// Real XSS payloads in case descriptions and comments: whatever the text
// holds, the HTML has no script, no event handler, no javascript:, data:
// or vbscript: URL, no SVG, no style, no frame or form.
func TestMarkdownSanitisesXSS(t *testing.T) {
	payloads := []string{
		`<script>alert(1)</script>`,
		`<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>`,
		`<img src=x onerror=alert(1)>`,
		`<IMG SRC="javascript:alert('XSS');">`,
		`<svg onload=alert(1)><circle r=10 /></svg>`,
		`<svg><script>alert(1)</script></svg>`,
		`<svg><a xlink:href="javascript:alert(1)"><text y=20>x</text></a></svg>`,
		`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
		`[click me](javascript:alert(1))`,
		`[click me](JaVaScRiPt:alert(1))`,
		`[click me](java&#x09;script:alert(1))`,
		`[click](  javascript:alert(1)  )`,
		`[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
		`[vb](vbscript:msgbox(1))`,
		`![img](javascript:alert(1))`,
		`![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)`,
		`<a href="javascript:alert(1)">x</a>`,
		`<iframe src="https://evil.example"></iframe>`,
		`<form action="https://evil.example"><input name=p></form>`,
		`<div style="background:url(javascript:alert(1))">x</div>`,
		`<p onmouseover="alert(1)">hover</p>`,
		"```html\n<script>alert(1)</script>\n```",
		`<details open ontoggle=alert(1)>`,
		`<a href="https://ok.example" onclick="alert(1)">ok</a>`,
		`[a](https://ok.example "title\" onmouseover=\"alert(1)")`,
		`*<img src=x onerror=alert(1)>*`,
		`> <script>alert(1)</script>`,
		"| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
		`<<script>script>alert(1)<</script>/script>`,
		`<scr<script>ipt>alert(1)</script>`,
		`<base href="https://evil.example/">`,
		`<meta http-equiv="refresh" content="0;url=https://evil.example">`,
		`<object data="data:text/html,<script>alert(1)</script>"></object>`,
		`<embed src="javascript:alert(1)">`,
		`<link rel=stylesheet href=https://evil.example/x.css>`,
		`<style>@import 'https://evil.example/x.css';</style>`,
		`[x](https://evil.example/?q=<script>)`,
		`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
		`[x](&#106;avascript:alert(1))`,
		`<https://ok.example/"onmouseover="alert(1)>`,
		`![x](https://tracker.example/pixel.gif)`,
	}
	forbidden := []string{"<script", "javascript:", "vbscript:", "data:",
		"<svg", "<iframe", "<form", "<input name", "<object", "<embed", "<style", "<link", "<meta", "<base", "style=", "<img", "<math", "xlink"}
	for _, p := range payloads {
		out := strings.ToLower(RenderMarkdown(p))
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("payload %q renders %q, which holds %q", p, out, f)
			}
		}
		// An event handler is an attribute on a tag (the word inside a
		// link's text or escaped address is harmless).
		if handlerRE.MatchString(out) {
			t.Errorf("payload %q renders %q, which has an event-handler attribute", p, out)
		}
	}
	// What Markdown is for survives.
	for in, want := range map[string]string{
		"**bold** and _it_":              "<strong>bold</strong>",
		"[NCSC](https://ncsc.gov.uk)":    `href="https://ncsc.gov.uk"`,
		"- [x] isolated\n- [ ] restored": `type="checkbox"`,
		"`cmd.exe /c`":                   "<code>cmd.exe /c</code>",
		"| a |\n|---|\n| 1 |":            "<td>1</td>",
		"<script>alert(1)</script>":      "", // dropped, not shown as markup
	} {
		out := RenderMarkdown(in)
		if !strings.Contains(out, want) {
			t.Errorf("%q renders %q, want it to contain %q", in, out, want)
		}
	}
	if out := RenderMarkdown("[NCSC](https://ncsc.gov.uk)"); !strings.Contains(out, `rel="nofollow noreferrer`) {
		t.Errorf("link without nofollow noreferrer: %s", out)
	}
}

func FuzzRenderMarkdown(f *testing.F) {
	f.Add("<script>alert(1)</script>")
	f.Add("[x](javascript:alert(1))")
	f.Add("<svg onload=alert(1)>")
	f.Fuzz(func(t *testing.T, s string) {
		out := strings.ToLower(RenderMarkdown(s))
		for _, bad := range []string{"<script", `="javascript:`, `="data:`, "<svg", "<iframe", "<img", "<style"} {
			if strings.Contains(out, bad) {
				t.Fatalf("%q renders %q", s, out)
			}
		}
		if handlerRE.MatchString(out) {
			t.Fatalf("%q renders %q", s, out)
		}
	})
}
