package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func mustBuiltin(t *testing.T, name string) *Pipeline {
	t.Helper()
	p, err := Builtin(name)
	if err != nil {
		t.Fatalf("Builtin(%q): %v", name, err)
	}
	return p
}

func TestBuiltinsParse(t *testing.T) {
	for _, name := range BuiltinNames() {
		p := mustBuiltin(t, name)
		if p.Name != name {
			t.Errorf("%s: Name = %q", name, p.Name)
		}
		if u := p.Unsupported(); len(u) > 0 {
			t.Errorf("%s has unsupported items: %v", name, u)
		}
		if len(p.Notes) > 0 {
			t.Errorf("%s has notes: %v", name, p.Notes)
		}
		if len(p.Items) < 80 {
			t.Errorf("%s has %d items, want the whole Windows taxonomy", name, len(p.Items))
		}
		ids := map[string]bool{}
		for _, it := range p.Items {
			if it.ID == "" || ids[it.ID] {
				t.Errorf("%s: item at %s has an empty or repeated id %q", name, it.Pos, it.ID)
			}
			ids[it.ID] = true
		}
	}
	if _, err := Builtin("splunk"); err == nil || !strings.Contains(err.Error(), "vigil, ecs") {
		t.Errorf("Builtin(splunk) = %v, want an error listing the names", err)
	}
}

// conds flattens a result's added conditions to "field=v1|v2" strings.
func condStrings(r *Result) []string {
	var out []string
	for _, c := range r.Conditions {
		for _, it := range c.Items {
			s := strings.Join(it.Fields, ",") + "=" + strings.Join(it.Values, "|")
			if c.Negated {
				s = "not " + s
			}
			out = append(out, s)
		}
	}
	return out
}

func TestVigilRouting(t *testing.T) {
	p := mustBuiltin(t, "vigil")
	for _, tc := range []struct {
		ls   LogSource
		want []string
	}{
		{LogSource{Product: "windows", Category: "process_creation"},
			[]string{"Channel=Microsoft-Windows-Sysmon/Operational|Security", "EventID=1|4688"}},
		{LogSource{Product: "windows", Category: "network_connection"},
			[]string{"Channel=Microsoft-Windows-Sysmon/Operational", "EventID=3"}},
		{LogSource{Product: "windows", Category: "file_event"},
			[]string{"Channel=Microsoft-Windows-Sysmon/Operational", "EventID=11"}},
		{LogSource{Product: "windows", Category: "registry_set"},
			[]string{"Channel=Microsoft-Windows-Sysmon/Operational", "EventID=13"}},
		{LogSource{Product: "windows", Category: "registry_event"},
			[]string{"Channel=Microsoft-Windows-Sysmon/Operational", "EventID=12|13|14"}},
		{LogSource{Product: "windows", Category: "image_load"},
			[]string{"Channel=Microsoft-Windows-Sysmon/Operational", "EventID=7"}},
		{LogSource{Product: "windows", Category: "dns_query"},
			[]string{"Channel=Microsoft-Windows-Sysmon/Operational", "EventID=22"}},
		{LogSource{Product: "windows", Category: "ps_script"},
			[]string{"Channel=Microsoft-Windows-PowerShell/Operational|PowerShellCore/Operational", "EventID=4104"}},
		{LogSource{Product: "windows", Category: "ps_module"},
			[]string{"Channel=Microsoft-Windows-PowerShell/Operational|PowerShellCore/Operational", "EventID=4103"}},
		{LogSource{Product: "windows", Service: "security"}, []string{"Channel=Security"}},
		{LogSource{Product: "windows", Service: "windefend"}, []string{"Channel=Microsoft-Windows-Windows Defender/Operational"}},
		{LogSource{Product: "windows", Service: "powershell-classic"}, []string{"Channel=Windows PowerShell"}},
		{LogSource{Product: "linux", Category: "process_creation"}, []string{"Channel=Linux-Sysmon/Operational", "EventID=1"}},
		{LogSource{Product: "linux", Service: "sshd"}, []string{"syslog.appname=sshd*"}},
		{LogSource{Product: "linux", Service: "auditd"}, []string{"type=*", "serial=*"}},
		// Not in the taxonomy: no routing, and the engine can tell.
		{LogSource{Product: "windows", Category: "file_access"}, nil},
	} {
		r, err := p.Route(tc.ls)
		if err != nil {
			t.Fatalf("%s: %v", tc.ls, err)
		}
		if got := condStrings(r); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: conditions %q, want %q", tc.ls, got, tc.want)
		}
		if r.Routed() != (tc.want != nil) {
			t.Errorf("%s: Routed() = %v", tc.ls, r.Routed())
		}
		if r.LogSource != tc.ls {
			t.Errorf("%s: log source rewritten to %s", tc.ls, r.LogSource)
		}
	}
}

func TestVigil4688Fields(t *testing.T) {
	p := mustBuiltin(t, "vigil")
	pc := LogSource{Product: "windows", Category: "process_creation"}
	for field, want := range map[string][]string{
		"Image":       {"Image", "NewProcessName"},
		"ParentImage": {"ParentImage", "ParentProcessName"},
		"User":        {"User", "SubjectUserName"},
		"LogonId":     {"LogonId", "SubjectLogonId"},
		"CommandLine": {"CommandLine", "ProcessCommandLine"},
		"ProcessId":   {"ProcessId"},
	} {
		got, err := p.MapField(pc, field)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("process_creation %s → %q, want %q", field, got, want)
		}
	}
	// Outside process creation the names stay as Sigma writes them.
	got, _ := p.MapField(LogSource{Product: "windows", Category: "image_load"}, "Image")
	if !reflect.DeepEqual(got, []string{"Image"}) {
		t.Errorf("image_load Image → %q", got)
	}
}

func TestECSMapping(t *testing.T) {
	p := mustBuiltin(t, "ecs")
	pc := LogSource{Product: "windows", Category: "process_creation"}
	r, err := p.Apply(Rule{LogSource: pc, Items: []DetectionItem{
		{Field: "CommandLine", Values: []string{"*whoami*"}},
		{Field: "Image", Values: []string{`*\cmd.exe`}},
		{Field: "IntegrityLevel", Values: []string{"High"}},
		{Field: "process.name", Values: []string{"cmd.exe"}},
		{Values: []string{"keyword"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"process.command_line", "winlog.event_data.CommandLine"},
		{"process.executable", "winlog.event_data.Image"},
		{"winlog.event_data.IntegrityLevel"},
		{"process.name"},
		nil,
	}
	for i, w := range want {
		if got := r.Items[i].Fields; !reflect.DeepEqual(got, w) {
			t.Errorf("item %d fields %q, want %q", i, got, w)
		}
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"winlog.channel=Microsoft-Windows-Sysmon/Operational|Security", "winlog.event_id=1|4688"}) {
		t.Errorf("conditions %q", got)
	}
	// Initiated: renamed and its values translated.
	r, err = p.Apply(Rule{LogSource: LogSource{Product: "windows", Category: "network_connection"},
		Items: []DetectionItem{{Field: "Initiated", Values: []string{"true"}}, {Field: "DestinationPort", Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Items[0]; !reflect.DeepEqual(got.Fields, []string{"network.direction"}) || !reflect.DeepEqual(got.Values, []string{"egress"}) {
		t.Errorf("Initiated: true → %q %q", got.Fields, got.Values)
	}
	if got := r.Items[1].Values; !reflect.DeepEqual(got, []string{"true"}) {
		t.Errorf("DestinationPort value changed to %q", got)
	}
}
