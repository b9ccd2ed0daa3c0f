package sigma

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// ruleWith is a rule whose detection section is det (indented by the
// caller as under "detection:").
func ruleWith(det string) string {
	return "title: t\nid: 00000000-0000-0000-0000-000000000000\nlogsource:\n    product: windows\ndetection:\n" + det
}

func compileDet(t *testing.T, det string, opts Options) *CompiledRule {
	t.Helper()
	c, err := ParseAndCompile([]byte(ruleWith(det)), "t.yml", opts)
	if err != nil {
		t.Fatalf("compile:\n%s\n%v", det, err)
	}
	return c
}

type modCase struct {
	name  string
	det   string // one search "sel" and condition "sel"
	ev    Map
	match bool
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestModifiers(t *testing.T) {
	cases := []modCase{
		// Plain values: whole-value, case-insensitive equality.
		{"equal", "Image: 'C:\\Windows\\cmd.exe'", Map{"Image": `c:\windows\CMD.EXE`}, true},
		{"equal is whole value", "Image: 'cmd.exe'", Map{"Image": `C:\cmd.exe`}, false},
		{"equal unicode fold", "User: 'ÄDMIN'", Map{"User": "ädmin"}, true},
		{"empty string", "Field: ''", Map{"Field": ""}, true},
		{"empty string not missing", "Field: ''", Map{}, false},
		{"missing field", "Image: x", Map{}, false},
		{"list is or", "Image:\n            - a\n            - b", Map{"Image": "B"}, true},
		{"list none", "Image:\n            - a\n            - b", Map{"Image": "c"}, false},
		// Numbers and booleans.
		{"number vs float", "EventID: 4688", Map{"EventID": 4688.0}, true},
		{"number vs string", "EventID: 4688", Map{"EventID": "4688"}, true},
		{"number vs other", "EventID: 4688", Map{"EventID": 4689.0}, false},
		{"number vs int", "EventID: 4688", Map{"EventID": 4688}, true},
		{"string vs float field", "EventID: '4688'", Map{"EventID": 4688.0}, true},
		{"bool", "Enabled: true", Map{"Enabled": true}, true},
		{"bool text", "Enabled: true", Map{"Enabled": "True"}, true},
		{"bool false", "Enabled: false", Map{"Enabled": true}, false},
		{"list field any item", "Tag: b", Map{"Tag": []any{"a", "B"}}, true},
		{"list field no item", "Tag: c", Map{"Tag": []any{"a", "b"}}, false},
		// Wildcards and escapes.
		{"star", "Image: 'C:\\\\*\\cmd.exe'", Map{"Image": `C:\Windows\System32\cmd.exe`}, true},
		{"backslash star is a literal star", "Image: 'C:\\*\\cmd.exe'", Map{"Image": `C:\Windows\System32\cmd.exe`}, false},
		{"question", "Image: 'prog?.exe'", Map{"Image": "progA.exe"}, true},
		{"question one char", "Image: 'prog?.exe'", Map{"Image": "progAB.exe"}, false},
		{"question unicode char", "Image: 'prog?.exe'", Map{"Image": "progé.exe"}, true},
		{"middle stars", "CommandLine: '*a*b*c*'", Map{"CommandLine": "xxAyyBzzC"}, true},
		{"middle stars order", "CommandLine: '*a*b*c*'", Map{"CommandLine": "cba"}, false},
		{"glob backtrack", "CommandLine: 'a*ab'", Map{"CommandLine": "aaab"}, true},
		{"escaped star", "Name: 'a\\*b'", Map{"Name": "a*b"}, true},
		{"escaped star literal", "Name: 'a\\*b'", Map{"Name": "axxb"}, false},
		{"escaped question", "Name: 'a\\?'", Map{"Name": "a?"}, true},
		{"escaped question literal", "Name: 'a\\?'", Map{"Name": "ab"}, false},
		{"double backslash then star", "Name: 'a\\\\*'", Map{"Name": `a\anything`}, true},
		{"three backslashes and star", "Name: 'a\\\\\\*'", Map{"Name": `a\*`}, true},
		{"four backslashes", "Name: 'a\\\\\\\\b'", Map{"Name": `a\\b`}, true},
		{"plain backslash", "Name: 'C:\\Windows'", Map{"Name": `C:\Windows`}, true},
		{"star alone", "Name: '*'", Map{"Name": "x"}, true},
		{"star alone needs field", "Name: '*'", Map{}, false},
		// contains / startswith / endswith.
		{"contains", "CommandLine|contains: WHOAMI", Map{"CommandLine": "cmd /c whoami /all"}, true},
		{"contains miss", "CommandLine|contains: whoami", Map{"CommandLine": "cmd"}, false},
		{"startswith", "Image|startswith: 'C:\\Users\\'", Map{"Image": `c:\users\x\a.exe`}, true},
		{"startswith miss", "Image|startswith: 'C:\\Users\\'", Map{"Image": `d:\users\x`}, false},
		{"endswith", "Image|endswith: '\\cmd.exe'", Map{"Image": `C:\Windows\CMD.exe`}, true},
		{"endswith miss", "Image|endswith: '\\cmd.exe'", Map{"Image": `C:\Windows\xcmd.exe`}, false},
		{"contains with wildcard inside", "CommandLine|contains: 'a?c'", Map{"CommandLine": "xxabcxx"}, true},
		{"contains non-ascii value", "CommandLine|contains: 'whoami'", Map{"CommandLine": "ÉCHO WHOAMI"}, true},
		{"contains number", "EventID|contains: 68", Map{"EventID": 4688.0}, true},
		// all.
		{"contains all", "CommandLine|contains|all:\n            - a\n            - b", Map{"CommandLine": "xaxbx"}, true},
		{"contains all miss", "CommandLine|contains|all:\n            - a\n            - b", Map{"CommandLine": "xaxx"}, false},
		{"all over list field", "Tags|all:\n            - a\n            - b", Map{"Tags": []any{"b", "a"}}, true},
		// cased.
		{"cased", "Name|cased: Admin", Map{"Name": "Admin"}, true},
		{"cased miss", "Name|cased: Admin", Map{"Name": "admin"}, false},
		{"contains cased", "Name|contains|cased: Adm", Map{"Name": "xAdmx"}, true},
		{"contains cased miss", "Name|contains|cased: Adm", Map{"Name": "xadmx"}, false},
		// re.
		{"re", "CommandLine|re: '^cmd.*whoami$'", Map{"CommandLine": "cmd /c whoami"}, true},
		{"re case-sensitive", "CommandLine|re: 'WHOAMI'", Map{"CommandLine": "whoami"}, false},
		{"re unanchored", "CommandLine|re: 'who'", Map{"CommandLine": "x whoami"}, true},
		{"re i", "CommandLine|re|i: 'WHOAMI'", Map{"CommandLine": "whoami"}, true},
		{"re m", "Text|re|m: '^b$'", Map{"Text": "a\nb\nc"}, true},
		{"re without m", "Text|re: '^b$'", Map{"Text": "a\nb\nc"}, false},
		{"re s", "Text|re|s: 'a.b'", Map{"Text": "a\nb"}, true},
		{"re without s", "Text|re: 'a.b'", Map{"Text": "a\nb"}, false},
		{"re on number", "EventID|re: '^46'", Map{"EventID": 4688.0}, true},
		// Encodings.
		{"base64", "Data|base64: 'http://'", Map{"Data": b64("http://")}, true},
		{"base64 contains", "Data|base64|contains: 'http://'", Map{"Data": "xx" + b64("http://") + "yy"}, true},
		{"base64offset 0", "Data|base64offset|contains: 'whoami'", Map{"Data": b64("whoami /all")}, true},
		{"base64offset 1", "Data|base64offset|contains: 'whoami'", Map{"Data": b64("xwhoami /all")}, true},
		{"base64offset 2", "Data|base64offset|contains: 'whoami'", Map{"Data": b64("xywhoami /all")}, true},
		{"base64offset miss", "Data|base64offset|contains: 'whoami'", Map{"Data": b64("xy who ami")}, false},
		{"utf16le base64offset", "Data|utf16le|base64offset|contains: 'ping'", Map{"Data": b64(encodeUTF16LE("cmd /c ping x"))}, true},
		{"wide base64offset", "Data|wide|base64offset|contains: 'ping'", Map{"Data": b64(encodeUTF16LE("xping"))}, true},
		{"utf16be base64", "Data|utf16be|base64: 'ab'", Map{"Data": b64("\x00a\x00b")}, true},
		{"utf16 base64", "Data|utf16|base64: 'ab'", Map{"Data": b64("\xff\xfea\x00b\x00")}, true},
		{"utf16le contains", "Data|utf16le|contains: 'ab'", Map{"Data": "x\x00a\x00b\x00"}, true},
		// windash.
		{"windash dash", "CommandLine|windash|contains: ' -enc '", Map{"CommandLine": "powershell -enc x"}, true},
		{"windash slash", "CommandLine|windash|contains: ' -enc '", Map{"CommandLine": "powershell /enc x"}, true},
		{"windash en dash", "CommandLine|windash|contains: ' -enc '", Map{"CommandLine": "powershell \u2013enc x"}, true},
		{"windash em dash", "CommandLine|contains|windash: ' -enc '", Map{"CommandLine": "powershell \u2014enc x"}, true},
		{"windash bar", "CommandLine|contains|windash: ' -enc '", Map{"CommandLine": "powershell \u2015enc x"}, true},
		{"windash miss", "CommandLine|windash|contains: ' -enc '", Map{"CommandLine": "powershell +enc x"}, false},
		{"windash two", "CommandLine|windash|contains: '-a -b'", Map{"CommandLine": "x /a \u2013b"}, true},
		{"windash slash in rule", "CommandLine|windash|contains: ' /enc'", Map{"CommandLine": "x -enc"}, true},
		{"windash flag dash only", "CommandLine|windash|contains: '-param-name'", Map{"CommandLine": "x /param-name"}, true},
		{"windash inner dash kept", "CommandLine|windash|contains: '-param-name'", Map{"CommandLine": "x -param/name"}, false},
		{"windash word dash kept", "CommandLine|windash|contains: 'Set-MpPreference'", Map{"CommandLine": "Set/MpPreference"}, false},
		{"windash word dash as is", "CommandLine|windash|contains: 'Set-MpPreference'", Map{"CommandLine": "Set-MpPreference -x"}, true},
		{"windash dash before space kept", "CommandLine|windash|contains: 'a - b'", Map{"CommandLine": "a / b"}, false},
		// cidr.
		{"cidr v4", "DestinationIp|cidr: 10.0.0.0/8", Map{"DestinationIp": "10.1.2.3"}, true},
		{"cidr v4 miss", "DestinationIp|cidr: 10.0.0.0/8", Map{"DestinationIp": "11.1.2.3"}, false},
		{"cidr v6", "DestinationIp|cidr: 'fe80::/10'", Map{"DestinationIp": "fe80::1"}, true},
		{"cidr list", "DestinationIp|cidr:\n            - 10.0.0.0/8\n            - 192.168.0.0/16", Map{"DestinationIp": "192.168.4.4"}, true},
		{"cidr not ip", "DestinationIp|cidr: 10.0.0.0/8", Map{"DestinationIp": "host"}, false},
		{"cidr mapped v4", "DestinationIp|cidr: 10.0.0.0/8", Map{"DestinationIp": "::ffff:10.0.0.1"}, true},
		// exists and null.
		{"exists true", "Field|exists: true", Map{"Field": ""}, true},
		{"exists true missing", "Field|exists: true", Map{}, false},
		{"exists false", "Field|exists: false", Map{}, true},
		{"exists false present", "Field|exists: false", Map{"Field": "x"}, false},
		{"null missing", "Field: null", Map{}, true},
		{"null nil", "Field: null", Map{"Field": nil}, true},
		{"null present", "Field: null", Map{"Field": ""}, false},
		// Numeric comparisons.
		{"lt", "Count|lt: 10", Map{"Count": 9.0}, true},
		{"lt equal", "Count|lt: 10", Map{"Count": 10.0}, false},
		{"lte", "Count|lte: 10", Map{"Count": "10"}, true},
		{"gt", "Count|gt: 10", Map{"Count": 10.5}, true},
		{"gt miss", "Count|gt: 10", Map{"Count": 3.0}, false},
		{"gte", "Count|gte: 10", Map{"Count": 10.0}, true},
		{"gt not number", "Count|gt: 10", Map{"Count": "many"}, false},
		{"gt hex", "Count|gt: 10", Map{"Count": "0x20"}, true},
		// neq.
		{"neq", "User|neq: admin", Map{"User": "bob"}, true},
		{"neq equal", "User|neq: admin", Map{"User": "ADMIN"}, false},
		{"neq list", "User|neq:\n            - admin\n            - root", Map{"User": "root"}, false},
		{"neq list other", "User|neq:\n            - admin\n            - root", Map{"User": "bob"}, true},
		{"neq missing field", "User|neq: admin", Map{}, false},
		{"neq number", "Count|neq: 5", Map{"Count": 5.0}, false},
		{"neq number other", "Count|neq: 5", Map{"Count": 6.0}, true},
		// fieldref.
		{"fieldref", "SourceUser|fieldref: TargetUser", Map{"SourceUser": "Bob", "TargetUser": "bob"}, true},
		{"fieldref differ", "SourceUser|fieldref: TargetUser", Map{"SourceUser": "bob", "TargetUser": "alice"}, false},
		{"fieldref missing", "SourceUser|fieldref: TargetUser", Map{"SourceUser": "bob"}, false},
		{"fieldref cased", "SourceUser|fieldref|cased: TargetUser", Map{"SourceUser": "Bob", "TargetUser": "bob"}, false},
		{"fieldref neq", "SourceUser|fieldref|neq: TargetUser", Map{"SourceUser": "bob", "TargetUser": "alice"}, true},
		// Time parts.
		{"hour", "Time|hour: 3", Map{"Time": "2026-12-06T03:04:05Z"}, true},
		{"hour miss", "Time|hour: 4", Map{"Time": "2026-12-06T03:04:05Z"}, false},
		{"minute", "Time|minute: 4", Map{"Time": "2026-12-06 03:04:05"}, true},
		{"day", "Time|day: 6", Map{"Time": "2026-12-06T03:04:05.123+01:00"}, true},
		{"week", "Time|week: 49", Map{"Time": "2026-12-06T03:04:05Z"}, true},
		{"month", "Time|month: 12", Map{"Time": "2026-12-06"}, true},
		{"year", "Time|year: 2026", Map{"Time": "2026-12-06T03:04:05Z"}, true},
		{"hour gte", "Time|hour|gte: 22", Map{"Time": "2026-12-06T23:00:00Z"}, true},
		{"hour lt", "Time|hour|lt: 6", Map{"Time": "2026-12-06T23:00:00Z"}, false},
		{"time not a date", "Time|hour: 3", Map{"Time": "yesterday"}, false},
		// expand (placeholders given below).
		{"expand", "User|expand: '%admins%'", Map{"User": "root"}, true},
		{"expand other", "User|expand: '%admins%'", Map{"User": "bob"}, false},
		{"expand wildcard value", "User|expand: '%admins%'", Map{"User": "adm_x"}, true},
		{"expand inside", "Host|expand: 'srv-%site%-01'", Map{"Host": "SRV-LON-01"}, true},
		{"expand escaped percent", "Host|expand: '\\%site%'", Map{"Host": "%site%"}, true},
		{"expand contains", "Host|contains|expand: '%site%'", Map{"Host": "x-lon-y"}, true},
		{"plain percent without expand", "Host: '%site%'", Map{"Host": "%site%"}, true},
		// Multiple fields in a map are AND-ed.
		{"map and", "Image|endswith: '\\a.exe'\n        User: bob", Map{"Image": `C:\a.exe`, "User": "bob"}, true},
		{"map and miss", "Image|endswith: '\\a.exe'\n        User: bob", Map{"Image": `C:\a.exe`, "User": "al"}, false},
		// Dotted names walk nested maps.
		{"nested map", "process.name: cmd.exe", Map{"process": map[string]any{"name": "cmd.exe"}}, true},
	}
	opts := Options{Placeholders: map[string][]string{
		"admins": {"root", "adm_*"},
		"site":   {"lon", "man"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := compileDet(t, "    sel:\n        "+c.det+"\n    condition: sel\n", opts)
			if got := r.Match(c.ev); got != c.match {
				t.Errorf("%s against %v: got %v, want %v\n%s", c.det, c.ev, got, c.match, r)
			}
		})
	}
}

func TestKeywords(t *testing.T) {
	for _, c := range []struct {
		name  string
		det   string
		ev    Event
		match bool
	}{
		{"keyword contains", "    kw:\n        - 'event::clear'\n        - 'event::drop'\n", Map{"Message": "mimikatz EVENT::Drop x"}, true},
		{"keyword miss", "    kw:\n        - 'event::clear'\n", Map{"Message": "nothing"}, false},
		{"keyword in nested", "    kw:\n        - 'evil'\n", Map{"a": map[string]any{"b": []any{"x", "so evil"}}}, true},
		{"keyword number", "    kw:\n        - 4688\n", Map{"EventID": 4688.0}, true},
		{"keyword all", "    kw:\n        '|all':\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '\n", Map{"a": "Set-OabVirtualDirectory", "b": "x -ExternalUrl y"}, true},
		{"keyword all miss", "    kw:\n        '|all':\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '\n", Map{"a": "Set-OabVirtualDirectory"}, false},
		{"keyword wildcard", "    kw:\n        - 'a*c'\n", Map{"m": "xxabbcxx"}, true},
		{"keyword re", "    kw:\n        '|re': 'a[0-9]+c'\n", Map{"m": "xa12c"}, true},
		{"single keyword", "    kw: 'needle'\n", Map{"m": "haystack needle"}, true},
		{"no keyworder", "    kw:\n        - x\n", fieldsOnly{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := compileDet(t, c.det+"    condition: kw\n", Options{})
			if got := r.Match(c.ev); got != c.match {
				t.Errorf("got %v, want %v\n%s", got, c.match, r)
			}
		})
	}
}

type fieldsOnly struct{}

func (fieldsOnly) Field(string) (any, bool) { return "x", true }

// TestModifierErrors: what the engine cannot or will not evaluate is an
// error at load time naming the line and the reason.
func TestModifierErrors(t *testing.T) {
	for _, c := range []struct {
		det         string
		want        string
		line        int
		unsupported bool
	}{
		{"    sel:\n        Image|foo: x\n", `t.yml:7: unknown modifier "foo"`, 7, false},
		{"    sel:\n        Image|i: x\n", "sub-modifier of re", 7, false},
		{"    sel:\n        Image|re: '(?<=a)b'\n", "does not compile in Go's RE2", 7, true},
		{"    sel:\n        Image|expand: '%nope%'\n", "placeholder %nope% has no values", 7, true},
		{"    sel:\n        Image|base64: 'a*b'\n", "base64 cannot encode a value with wildcards", 7, false},
		{"    sel:\n        Ip|cidr: 'nonsense'\n", "cidr: \"nonsense\" is not a network", 7, false},
		{"    sel:\n        Count|gt: many\n", "gt takes a number", 7, false},
		{"    sel:\n        F|exists: maybe\n", "exists takes one value, true or false", 7, false},
		{"    sel:\n        F|re|cidr: x\n", "exclude each other", 7, false},
		{"    sel:\n        F|re|contains: x\n", "without string transformations", 7, false},
		{"    sel:\n        F|contains: null\n", "null takes no modifiers", 7, false},
		{"    sel:\n        F:\n            - a\n            - null\n", "null cannot be one of a list", 9, false},
		{"    sel:\n        F|fieldref|contains: G\n", "fieldref with modifier \"contains\"", 7, true},
		{"    sel:\n        F|hour: 'x'\n", "hour takes a number", 7, false},
		{"    sel:\n        F||contains: x\n", "empty modifier", 7, false},
		{"    sel:\n        F: []\n", "empty list", 7, false},
		{"    sel:\n        F:\n            a: b\n", "not a map", 8, false},
		{"    sel:\n        F|windash: '-a -b -c -d -e -f'\n", "too many dashes", 7, false},
	} {
		_, err := ParseAndCompile([]byte(ruleWith(c.det+"    condition: sel\n")), "t.yml", Options{})
		if err == nil {
			t.Errorf("%s: compiled, want error %q", c.det, c.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %T %v, not *Error", c.det, err, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || e.Line != c.line || e.File != "t.yml" {
			t.Errorf("%s:\n got %v (line %d)\nwant %q at line %d", c.det, err, e.Line, c.want, c.line)
		}
		if errors.Is(err, ErrUnsupported) != c.unsupported {
			t.Errorf("%s: errors.Is(ErrUnsupported) = %v, want %v", c.det, !c.unsupported, c.unsupported)
		}
	}
}

func TestBase64Offsets(t *testing.T) {
	// What pySigma's algorithm gives (checked with Python's base64).
	got := base64Offsets("/bin/sh")
	want := []string{"L2Jpbi9za", "9iaW4vc2", "vYmluL3No"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("base64offset(/bin/sh) = %v, want %v", got, want)
	}
}

// FuzzIndexFold checks the case-folding substring search against
// lower-casing and strings.Index, for ASCII text.
func FuzzIndexFold(f *testing.F) {
	for _, s := range [][2]string{{"Hello World", "world"}, {"aAaAab", "aab"}, {"", "a"}, {"abc", ""}, {"xYz", "xyzw"}, {"C:\\WINDOWS\\cmd.exe", "\\cmd.exe"}, {"aaaaaaaaaaAAAAAAAb", "ab"}, {"ZZz", "z"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, needle string) {
		if !isASCII(s) || !isASCII(needle) {
			return
		}
		lower := strings.ToLower(needle)
		want := strings.Index(strings.ToLower(s), lower)
		if got := indexFoldASCII(s, lower); got != want {
			t.Fatalf("indexFoldASCII(%q, %q) = %d, want %d", s, lower, got, want)
		}
	})
}

func TestIsASCII(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"", true}, {"abc", true}, {"abcdefgh", true}, {"abcdefghi", true}, {"abcdefg\x80", false},
		{"é", false}, {"abcdefghé", false}, {strings.Repeat("x", 64) + "\xff", false}, {strings.Repeat("x", 65), true},
	} {
		if got := isASCII(c.s); got != c.want {
			t.Errorf("isASCII(%q) = %v", c.s, got)
		}
	}
}
