package sigma

import (
	"reflect"
	"testing"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/testneed"
)

const procRule = `title: Whoami
id: 11111111-1111-1111-1111-111111111111
logsource:
    category: process_creation
    product: windows
detection:
    selection_img:
        - Image|endswith: '\whoami.exe'
        - OriginalFileName: 'whoami.exe'
    selection_cli:
        CommandLine|contains|windash: ' -all'
    filter_parent:
        ParentImage|startswith: 'C:\Program Files\'
    condition: all of selection_* and not 1 of filter_*
`

func TestExplain(t *testing.T) {
	c, err := ParseAndCompile([]byte(procRule), "r.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := Map{"Image": `C:\Windows\System32\whoami.exe`, "CommandLine": "whoami /all", "ParentImage": `C:\Windows\cmd.exe`}
	if got := c.Explain(ev); !got.Matched || !reflect.DeepEqual(got.Searches, []string{"selection_img", "selection_cli"}) ||
		!reflect.DeepEqual(got.Fields, []string{"Image", "CommandLine"}) {
		t.Errorf("Explain = %+v", got)
	}
	ev["ParentImage"] = `C:\Program Files\Tool\tool.exe`
	if got := c.Explain(ev); got.Matched || !reflect.DeepEqual(got.Searches, []string{"selection_img", "selection_cli", "filter_parent"}) {
		t.Errorf("filtered: Explain = %+v", got)
	}
}

// TestFromEvent: a Vigil event's flat fields resolve by their Sigma
// names, keywords search every field value, and an unparsed event's raw
// text.
func TestFromEvent(t *testing.T) {
	c, err := ParseAndCompile([]byte(procRule), "r.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &events.Event{Fields: map[string]any{"EventID": 4688.0, "Image": `C:\Windows\System32\WHOAMI.EXE`, "CommandLine": "whoami \u2013all", "Tags": []any{"a", 1.0}}}
	if !c.Match(FromEvent(ev)) {
		t.Error("Security-style event with whoami -all (en dash) did not match")
	}
	kw, err := ParseAndCompile([]byte(ruleWith("    kw:\n        - 'needle'\n    condition: kw\n")), "k.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !kw.Match(FromEvent(&events.Event{Fields: map[string]any{"msg": "a needle here"}})) {
		t.Error("keyword not found in a field")
	}
	if !kw.Match(FromEvent(&events.Event{Raw: "raw needle", Fields: map[string]any{}})) {
		t.Error("keyword not found in the raw text of an unparsed event")
	}
	if kw.Match(FromEvent(&events.Event{Raw: "raw needle", Fields: map[string]any{"msg": "other"}})) {
		t.Error("keyword found in Raw of a parsed event (only its fields are searched)")
	}
}

// TestMatchAllocs: evaluating a compiled rule against an ASCII event
// allocates nothing (lower-casing is into the pooled context's buffer).
// Under the race detector sync.Pool drops items at random on purpose,
// so a context is sometimes made afresh: the count is not checked there.
func TestMatchAllocs(t *testing.T) {
	if testneed.Race {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	c, err := ParseAndCompile([]byte(procRule), "r.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := FromEvent(&events.Event{Fields: map[string]any{
		"Image": `C:\Windows\System32\whoami.exe`, "CommandLine": "whoami /all", "ParentImage": `C:\Windows\cmd.exe`, "EventID": 1.0,
	}})
	if !c.Match(ev) {
		t.Fatal("no match")
	}
	if n := testing.AllocsPerRun(100, func() { c.Match(ev) }); n != 0 {
		t.Errorf("Match allocates %v times per event, want 0", n)
	}
}

// BenchmarkWhoami measures one rule against one event (go test -bench
// Whoami ./internal/sigma/).
func BenchmarkWhoami(b *testing.B) {
	c, err := ParseAndCompile([]byte(procRule), "r.yml", Options{})
	if err != nil {
		b.Fatal(err)
	}
	ev := FromEvent(&events.Event{Fields: map[string]any{
		"Image": `C:\Windows\System32\whoami.exe`, "CommandLine": "whoami /all", "ParentImage": `C:\Windows\cmd.exe`, "EventID": 1.0,
	}})
	b.ReportAllocs()
	for b.Loop() {
		c.Match(ev)
	}
}
