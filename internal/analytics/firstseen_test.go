package analytics

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// theshire is the OTRF lab domain theshire.local as one organisation's
// history: every capture recorded in it, in the order they happened
// (2020-08-07 to 2020-12-19).
func theshire(t testing.TB) []events.Event {
	theshireOnce.Lock()
	defer theshireOnce.Unlock()
	if theshireEvents != nil {
		return slices.Clone(theshireEvents)
	}
	var evs []events.Event
	for _, f := range []string{"empire_mimikatz_logonpasswords", "covenant_wmi_remote_event_subscription_ActiveScriptEventConsumers",
		"empire_psexec_dcerpc_tcp_svcctl", "empire_psremoting_stager", "empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod",
		"empire_dcsync_dcerpc_drsuapi_DsGetNCChanges", "purplesharp_ad_playbook_I", "schtask_create", "schtask_modification"} {
		evs = append(evs, readEvents(t, "windows/otrf/"+f+".jsonl.gz", "RJ1")...)
	}
	byTime(evs)
	theshireEvents = evs
	return slices.Clone(evs)
}

// theshireEvents keeps the normalised captures for the tests that share them.
var (
	theshireOnce   sync.Mutex
	theshireEvents []events.Event
)

const newAdminYAML = `
analytics:
  - name: new-admin
    kind: first_seen
    title: New privileged account on a host
    where:
      product: windows
      service: security
      fields: {EventID: "4672"}
      not:
        SubjectUserName: ["*$", SYSTEM, LOCAL SERVICE, NETWORK SERVICE]
    key: Computer
    value: SubjectUserName
    entities: {user: SubjectUserName, host: Computer}
    alert_new_keys: true
    learning: LEARNING
`

// Over the lab's four months, with a 14-day learning period from the
// first privileged logon (pgustavo on WORKSTATION6, 2020-09-02), exactly
// two privileged logons are new for their host: pgustavo on the domain
// controller in the DCSync capture (2020-09-21) and on WORKSTATION7 in
// the PurpleSharp playbook (2020-10-22). With 60 days of learning both
// fall inside it and nothing fires.
func TestFirstSeenNewAdminOTRF(t *testing.T) {
	evs := theshire(t)
	fs := observeAll(engine(t, strings.Replace(newAdminYAML, "LEARNING", "14d", 1)), evs)
	sameList(t, "findings", summaries(fs), []string{
		"new-admin RJ1 2020-09-21T22:59:14Z Computer=MORDORDC.theshire.local → SubjectUserName=pgustavo",
		"new-admin RJ1 2020-10-22T08:29:55Z Computer=WORKSTATION7.theshire.local → SubjectUserName=pgustavo",
	})
	// The oracle: each finding is the first privileged logon of its pair.
	first := map[string]time.Time{}
	for _, ev := range evs {
		if events.FieldText(ev.Fields["EventID"]) == "4672" && ev.Service == "security" {
			k := events.FieldText(ev.Fields["Computer"]) + "|" + events.FieldText(ev.Fields["SubjectUserName"])
			if _, ok := first[k]; !ok {
				first[k] = ev.EventTime
			}
		}
	}
	for _, f := range fs {
		if k := f.Details["key"][len("Computer="):] + "|pgustavo"; !first[k].Equal(f.Time) {
			t.Errorf("%s: at %v, but the pair's first 4672 is at %v", f.Ref, f.Time, first[k])
		}
	}
	if len(fs) == 2 {
		f := fs[0]
		ev := eventByID(evs, f.EventIDs[0])
		if ev == nil || events.FieldText(ev.Fields["EventID"]) != "4672" || ev.Fields["SubjectUserName"] != "pgustavo" {
			t.Errorf("finding names event %v, not pgustavo's 4672", f.EventIDs)
		}
		for _, want := range []string{"SubjectUserName=pgustavo was seen for Computer=MORDORDC.theshire.local for the first time at 2020-09-21 22:59:14 UTC",
			"watched since 2020-09-02 01:", "learning until 2020-09-16 01:", "the key itself is new"} {
			if !strings.Contains(f.Explanation, want) {
				t.Errorf("explanation lacks %q:\n%s", want, f.Explanation)
			}
		}
		if f.Entities.User != "pgustavo" || f.Entities.Host != "MORDORDC.theshire.local" || f.Level != "medium" {
			t.Errorf("entities %+v level %s", f.Entities, f.Level)
		}
	}
	if fs := observeAll(engine(t, strings.Replace(newAdminYAML, "LEARNING", "60d", 1)), evs); len(fs) != 0 {
		t.Errorf("in the learning period: %v", summaries(fs))
	}
}

func eventByID(evs []events.Event, id string) *events.Event {
	for i := range evs {
		if evs[i].ID == id {
			return &evs[i]
		}
	}
	return nil
}

// The shipped first-seen analytics over the lab's four months find one
// thing: pgustavo's first privileged logon to the domain controller, in
// the DCSync capture — the controller is known from its machine
// account's privileged logons since the first capture (quiet events),
// while the workstations' first people are learnt as their first values.
// And a real WmiPrvSE.exe process creation on WORKSTATION6 copied with a
// new parent — a user's binary instead of svchost.exe — after that is a
// new parent of a system binary.
func TestShippedFirstSeenOTRF(t *testing.T) {
	evs := theshire(t)
	forged := forgedParent(t, evs)

	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var fs []Finding
	for _, f := range observeAll(e, append(evs, forged)) {
		if f.Kind == KindFirstSeen {
			fs = append(fs, f)
		}
	}
	sameList(t, "first-seen findings", summaries(fs), []string{
		"windows-new-admin-logon RJ1 2020-09-21T22:59:14Z host=MORDORDC.theshire.local → SubjectUserName=pgustavo",
		`windows-new-service-parent RJ1 2020-12-20T10:00:00Z host=WORKSTATION6.theshire.local, Image=C:\Windows\System32\wbem\WmiPrvSE.exe → ParentImage=C:\Users\pgustavo\AppData\Local\Temp\updater.exe`,
	})
	if len(fs) == 2 {
		want := "the key was first seen at 2020-08-07 14:3"
		if dc := fs[0]; !strings.Contains(dc.Explanation, want) || !strings.Contains(dc.Explanation, "in quiet events only") ||
			dc.Entities.User != "pgustavo" || dc.Entities.Host != "MORDORDC.theshire.local" {
			t.Errorf("domain controller: explanation %q (want %q, the first capture's machine-account logons), entities %+v", dc.Explanation, want, dc.Entities)
		}
		want = `the key was first seen at 2020-09-02 01:4`
		if p := fs[1]; !strings.Contains(p.Explanation, want) || !strings.Contains(p.Explanation, `c:\windows\system32\svchost.exe`) || p.EventIDs[0] != "forged-parent" || p.Level != "high" {
			t.Errorf("explanation %q (want %q and the known parent svchost.exe), events %v, level %s", p.Explanation, want, p.EventIDs, p.Level)
		}
	}
}

// forgedParent is a real WmiPrvSE.exe process creation on WORKSTATION6
// from evs, copied to 2020-12-20 10:00 with a user's binary as parent.
func forgedParent(t testing.TB, evs []events.Event) events.Event {
	t.Helper()
	var wmi *events.Event
	for i := range evs {
		ev := &evs[i]
		if ev.Category == "process_creation" && ev.Service == "sysmon" && ev.Source.Host == "WORKSTATION6.theshire.local" &&
			strings.HasSuffix(events.FieldText(ev.Fields["Image"]), `\WmiPrvSE.exe`) {
			wmi = ev
			break
		}
	}
	if wmi == nil {
		t.Fatal("no WmiPrvSE.exe process creation on WORKSTATION6 in the captures")
	}
	forged := *wmi
	forged.Fields = map[string]any{}
	for k, v := range wmi.Fields {
		forged.Fields[k] = v
	}
	forged.Fields["ParentImage"] = `C:\Users\pgustavo\AppData\Local\Temp\updater.exe`
	forged.ID, forged.EventTime = "forged-parent", time.Date(2020, 12, 20, 10, 0, 0, 0, time.UTC)
	forged.ReceivedAt = forged.EventTime
	return forged
}

// Events as the detection consumer hands them over — their fields still
// the stream's JSON (events.Event.LoadFields) — give the same findings as
// decoded ones, and only the events a filter asks about a field of are
// decoded: the Sysmon ones, turned away on their service, are not.
func TestFirstSeenFieldsFromTheStream(t *testing.T) {
	// The Security log's events and a thousand of the others (all of
	// them take seconds to encode and decode).
	var evs []events.Event
	others := 0
	for _, ev := range theshire(t) {
		if ev.Service == "security" || others < 1000 {
			if ev.Service != "security" {
				others++
			}
			evs = append(evs, ev)
		}
	}
	var data []byte
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		data = append(append(data, b...), '\n')
	}
	lazy, err := events.AppendStreamEvents(nil, data)
	if err != nil || len(lazy) != len(evs) {
		t.Fatalf("%d of %d events from the stream: %v", len(lazy), len(evs), err)
	}
	yml := strings.Replace(newAdminYAML, "LEARNING", "14d", 1)
	want := summaries(observeAll(engine(t, yml), evs))
	if len(want) == 0 {
		t.Fatal("no findings to compare")
	}
	// (The stream's decoder decodes at once the fields encoding/json
	// wrote < > & in, as \u003c…: those are set already.)
	undecoded := map[string]bool{}
	for _, ev := range lazy {
		if ev.Fields == nil {
			undecoded[ev.ID] = true
		}
	}
	sameList(t, "findings from the stream's events", summaries(observeAll(engine(t, yml), lazy)), want)
	sysmon, decoded := 0, 0
	for _, ev := range lazy {
		switch {
		case ev.Service == "sysmon" && undecoded[ev.ID]:
			sysmon++
			if ev.Fields != nil {
				decoded++
			}
		case ev.Service == "security" && ev.Fields == nil:
			t.Fatalf("Security event %s was observed with its fields undecoded", ev.ID)
		}
	}
	if sysmon == 0 || decoded != 0 {
		t.Errorf("%d of %d Sysmon events had their fields decoded for a filter on the Security log", decoded, sysmon)
	}
}
