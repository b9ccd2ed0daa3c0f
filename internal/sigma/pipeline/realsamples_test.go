package pipeline

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample(t *testing.T, sub string) *Pipeline {
	t.Helper()
	dir := samplesDir(t, filepath.Dir(sub))
	p, err := ParseFile(filepath.Join(dir, filepath.Base(sub)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestElasticWindowsPipeline applies pySigma's community ECS pipeline
// unchanged: channel routing, context mappings, and the event-data prefix
// for what no mapping named.
func TestElasticWindowsPipeline(t *testing.T) {
	p := sample(t, "pySigma-community-pipelines/elastic_pipelines/elastic_windows_pipeline.yml")
	r, err := p.Apply(Rule{LogSource: LogSource{Product: "windows", Service: "sysmon"}, Items: []DetectionItem{
		{Field: "EventID", Values: []string{"1"}},
		{Field: "Image", Values: []string{`*\cmd.exe`}},
		{Field: "IntegrityLevel", Values: []string{"High"}},
		{Field: "winlog.channel", Values: []string{"x"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"event.code"}, {"process.executable"}, {"winlog.event_data.IntegrityLevel"}, {"winlog.channel"}}
	if got := fields(r); !reflect.DeepEqual(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"winlog.channel=Microsoft-Windows-Sysmon/Operational"}) {
		t.Errorf("conditions %q", got)
	}
}

// TestSplunkWindowsPipeline: Security 4688 as process creation, with the
// field mapping that applies only when the 4688 condition did.
func TestSplunkWindowsPipeline(t *testing.T) {
	p := sample(t, "pySigma-community-pipelines/splunk_pipelines/splunk_windows.yml")
	r, err := p.Apply(Rule{LogSource: pcWindows, Items: []DetectionItem{{Field: "Image", Values: []string{`*\cmd.exe`}}, {Field: "EventID", Values: []string{"1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(r); !reflect.DeepEqual(got, [][]string{{"NewProcessName"}, {"EventCode"}}) {
		t.Errorf("fields %q", got)
	}
	got := strings.Join(condStrings(r), " ")
	for _, w := range []string{"index=win", "EventCode=4688", "sourcetype=XmlWinEventLog:Security"} {
		if !strings.Contains(got, w) {
			t.Errorf("conditions %q lack %q", got, w)
		}
	}
}

// TestSigmacWinlogbeat: fieldmappings rename, logsource conditions use
// the backend's names as written (not field-mapped).
func TestSigmacWinlogbeat(t *testing.T) {
	p := sample(t, "legacy-sigmac-config/winlogbeat.yml")
	if p.Format != "sigmac" || p.Priority != 20 || !strings.Contains(p.Name, "Winlogbeat") {
		t.Errorf("header %q %d %q", p.Format, p.Priority, p.Name)
	}
	r, err := p.Apply(Rule{LogSource: LogSource{Product: "windows", Service: "powershell"}, Items: []DetectionItem{
		{Field: "EventID", Values: []string{"4104"}}, {Field: "CommandLine", Values: []string{"*x*"}}, {Field: "Unmapped"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(r); !reflect.DeepEqual(got, [][]string{{"winlog.event_id"}, {"winlog.event_data.CommandLine"}, {"Unmapped"}}) {
		t.Errorf("fields %q", got)
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"winlog.channel=Microsoft-Windows-PowerShell/Operational|PowerShellCore/Operational"}) {
		t.Errorf("conditions %q", got)
	}
	var notes []string
	for _, n := range p.Notes {
		notes = append(notes, n.What)
	}
	if !contains(notes, "defaultindex") || !contains(notes, "logsources.*.index") {
		t.Errorf("notes %q lack the backend index settings", notes)
	}
}

func TestSigmacELKWindows(t *testing.T) {
	p := sample(t, "legacy-sigmac-config/elk-windows.yml")
	r, err := p.Route(LogSource{Product: "windows", Service: "sysmon"})
	if err != nil {
		t.Fatal(err)
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"EventLog=Microsoft-Windows-Sysmon"}) {
		t.Errorf("conditions %q", got)
	}
}

// TestSigmacTHOR: two definitions of process_creation are alternatives
// (Sysmon 1 or Security 4688 with its own field names).
func TestSigmacTHOR(t *testing.T) {
	p := sample(t, "legacy-sigmac-config/thor.yml")
	r, err := p.Apply(Rule{LogSource: pcWindows, Items: []DetectionItem{{Field: "Image"}, {Field: "CommandLine"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(r); !reflect.DeepEqual(got, [][]string{{"Image", "NewProcessName"}, {"CommandLine"}}) {
		t.Errorf("fields %q", got)
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"EventID=1|4688"}) {
		t.Errorf("conditions %q", got)
	}
	// The alternatives rewrite differently (sysmon, security): a note, no rewrite.
	if r.LogSource != pcWindows {
		t.Errorf("log source rewritten to %s", r.LogSource)
	}
	// One definition: rewritten.
	r, err = p.Route(LogSource{Product: "windows", Category: "image_load"})
	if err != nil {
		t.Fatal(err)
	}
	if r.LogSource.Service != "sysmon" || !reflect.DeepEqual(condStrings(r), []string{"EventID=7"}) {
		t.Errorf("image_load: %s %q", r.LogSource, condStrings(r))
	}
}

// TestSigmacConditionalMapping: ala.yml maps Image by log source, with a
// default.
func TestSigmacConditionalMapping(t *testing.T) {
	p := sample(t, "legacy-sigmac-config/ala.yml")
	for ls, want := range map[LogSource]string{
		{Product: "windows", Service: "security"}:            "Process",
		{Product: "windows", Category: "process_creation"}:   "NewProcessName",
		{Product: "windows", Category: "network_connection"}: "Image",
	} {
		got, err := p.MapField(ls, "Image")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("%s: Image → %q, want %s", ls, got, want)
		}
	}
}

func TestSigmacExcludedFields(t *testing.T) {
	p := sample(t, "legacy-sigmac-config/carbon-black.yml")
	_, err := p.Apply(Rule{Items: []DetectionItem{{Field: "TargetObject", Values: []string{"x"}}}})
	if err == nil || !strings.Contains(err.Error(), `field "TargetObject" is in excludedfields`) {
		t.Errorf("err = %v", err)
	}
}

// TestSigmacChain: sigmac's usual chain, the generic Sysmon config then
// Winlogbeat's: the generic config's condition and rewrite come first,
// and Winlogbeat's field mapping renames the condition's field and its
// channel condition applies to the rewritten log source.
func TestSigmacChain(t *testing.T) {
	c := Chain(sample(t, "legacy-sigmac-config/winlogbeat.yml"), sample(t, "legacy-sigmac-config/generic/sysmon.yml"))
	r, err := c.Apply(Rule{LogSource: pcWindows, Items: []DetectionItem{{Field: "CommandLine", Values: []string{"*x*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.LogSource != (LogSource{Product: "windows", Category: "process_creation", Service: "sysmon"}) {
		t.Errorf("log source %s", r.LogSource)
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"winlog.event_id=1", "winlog.channel=Microsoft-Windows-Sysmon/Operational"}) {
		t.Errorf("conditions %q", got)
	}
	if got := fields(r); !reflect.DeepEqual(got, [][]string{{"winlog.event_data.CommandLine"}}) {
		t.Errorf("fields %q", got)
	}
}
