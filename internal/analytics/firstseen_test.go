package analytics

import (
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
