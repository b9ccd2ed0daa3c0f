package sigma

import (
	"strings"
	"testing"
)

// TestContextAcrossEvents: one evaluation context serves event after
// event (Router.Match reuses pooled ones); a field's lower-cased text is
// never the last event's, whatever its case, length or alphabet.
func TestContextAcrossEvents(t *testing.T) {
	var rules []*CompiledRule
	for _, src := range []string{
		"title: who\nlogsource: {product: windows}\ndetection:\n  s: {CommandLine|contains: whoami}\n  condition: s\n",
		"title: cmd\nlogsource: {product: windows}\ndetection:\n  s: {Image|endswith: '\\cmd.exe', CommandLine|startswith: 'CMD'}\n  condition: s\n",
		"title: kw\nlogsource: {product: windows}\ndetection:\n  k: [ÉCHO]\n  condition: k\n",
		"title: cased\nlogsource: {product: windows}\ndetection:\n  s: {CommandLine|cased|contains: WHOAMI}\n  condition: s\n",
	} {
		c, err := ParseAndCompile([]byte(src), "r.yml", Options{})
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, c)
	}
	r := NewRouter(rules)
	long := strings.Repeat("X", 5000)
	for i, c := range []struct {
		ev   Map
		want string
	}{
		{Map{"CommandLine": "cmd /c WHOAMI", "Image": `C:\Windows\CMD.EXE`}, "who cmd cased"},
		{Map{"CommandLine": "cmd /c whoami", "Image": `C:\Windows\notepad.exe`}, "who"},
		{Map{"CommandLine": "écho WhoAmI", "Image": `C:\cmd.exe`}, "who kw"},
		{Map{"CommandLine": long + "who" + long, "Image": long}, ""},
		{Map{"CommandLine": "CMD.EXE", "Image": `c:\x\Cmd.Exe`}, "cmd"},
		{Map{"Image": `c:\x\Cmd.Exe`}, ""},
		{Map{"CommandLine": []any{"a", "WhoAmI"}}, "who"},
	} {
		var got []string
		r.Match("windows", "", "", c.ev, func(cr *CompiledRule) { got = append(got, cr.Rule.Title) })
		if strings.Join(got, " ") != c.want {
			t.Errorf("event %d: %v matched, want %q", i, got, c.want)
		}
		for _, cr := range rules { // Match alone agrees
			if cr.Match(c.ev) != strings.Contains(" "+c.want+" ", " "+cr.Rule.Title+" ") {
				t.Errorf("event %d: %s.Match disagrees with Router.Match", i, cr.Rule.Title)
			}
		}
	}
}

// TestRegexpLiterals: what the prefilter takes a regular expression to
// need, lower-cased; folded literals are cut at s (which also folds ſ).
func TestRegexpLiterals(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string // nil: nothing known
	}{
		{`cmd.{0,5}(?:/c|/r).+powershell`, []string{"powershell"}},
		{`(?i)Invoke-Mimikatz`, []string{"invoke-mimikatz"}},
		{`(?i)powershell`, []string{"power"}},
		// The parser factors the common I out: "i", then ex or nvoke-expre(ssion).
		{`(?i)(?:IEX|Invoke-Expression)\(`, []string{"ex", "nvoke-expre"}},
		{`(abc|defg)xy`, []string{"abc", "defg"}},
		{`(abc)?xy`, []string{"xy"}},
		{`a*`, nil},
		{`\d+`, nil},
		{`(abc|.)`, nil},
		{`héllo`, []string{"llo"}},
	} {
		got, ok := regexpLiterals(c.expr)
		if !ok {
			got = nil
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") || (got == nil) != (c.want == nil) {
			t.Errorf("regexpLiterals(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// TestFieldWithoutSlot: a field that got no slot (the numbering full) is
// looked up uncached, with the same answers.
func TestFieldWithoutSlot(t *testing.T) {
	c, err := ParseAndCompile([]byte("title: t\nlogsource: {product: windows}\ndetection:\n  s: {CommandLine|contains: whoami, Image|endswith: '\\cmd.exe'}\n  condition: s\n"), "r.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var unslot func(n node)
	unslot = func(n node) {
		switch x := n.(type) {
		case *andNode:
			for _, k := range x.kids {
				unslot(k)
			}
		case *orNode:
			for _, k := range x.kids {
				unslot(k)
			}
		case *refNode:
			unslot(x.kid)
		case *fieldNode:
			x.slot = -1
		}
	}
	unslot(c.cond)
	r := NewRouter([]*CompiledRule{c})
	for _, ev := range []Map{
		{"CommandLine": "cmd /c WHOAMI", "Image": `C:\Windows\CMD.EXE`},
		{"CommandLine": "cmd /c dir", "Image": `C:\Windows\CMD.EXE`},
		{"CommandLine": "whoami", "Image": `C:\Windows\notepad.exe`},
		{"CommandLine": "cmd.exe", "Image": `C:\whoami\cmd.exe`},
	} {
		want := strings.Contains(strings.ToLower(ev["CommandLine"].(string)), "whoami") &&
			strings.HasSuffix(strings.ToLower(ev["Image"].(string)), `\cmd.exe`)
		if got := c.Match(ev); got != want {
			t.Errorf("Match(%v) = %v, want %v", ev, got, want)
		}
		if got := r.Match("windows", "", "", ev, nil) == 1; got != want {
			t.Errorf("Router.Match(%v) = %v, want %v", ev, got, want)
		}
	}
	// Two rules whose atoms are on two fields without slots: the
	// prefilter keeps the fields apart.
	img, err := ParseAndCompile([]byte("title: img\nlogsource: {product: windows}\ndetection:\n  s: {Image|endswith: '\\cmd.exe'}\n  condition: s\n"), "i.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	who, err := ParseAndCompile([]byte("title: who\nlogsource: {product: windows}\ndetection:\n  s: {CommandLine|contains: whoami}\n  condition: s\n"), "w.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	unslot(img.cond)
	unslot(who.cond)
	r = NewRouter([]*CompiledRule{who, img})
	var fired []string
	r.Match("windows", "", "", Map{"CommandLine": "dir", "Image": `C:\cmd.exe`}, func(cr *CompiledRule) { fired = append(fired, cr.Rule.Title) })
	if len(fired) != 1 || fired[0] != "img" {
		t.Errorf("Router.Match fired %v, want [img]", fired)
	}
}
