package analytics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// shifted copies evs with their times moved by d and their IDs suffixed,
// as if the same activity had been recorded again later.
func shifted(evs []events.Event, d time.Duration, suffix string) []events.Event {
	out := make([]events.Event, len(evs))
	for i, ev := range evs {
		ev.EventTime, ev.ReceivedAt, ev.ID = ev.EventTime.Add(d), ev.ReceivedAt.Add(d), ev.ID+suffix
		out[i] = ev
	}
	return out
}

// A week of MKT01's recorded activity (the Meterpreter + Mimikatz
// capture of 2023-08-15, replayed daily) is its baseline; the SharpDump
// capture recorded on the same host three weeks later, replayed the
// next day, starts programs its parents had not started in that week.
func TestRareChildProcessOTRF(t *testing.T) {
	base := readEvents(t, "windows/otrf/metasploit_logonpasswords_lsass_memory_dump.jsonl.gz", "RJ1")
	attack := readEvents(t, "windows/otrf/metasploit_sharpdump_lsass_memory_dump.jsonl.gz", "RJ1")
	// Only process creations pass the analytic's filter; replaying the
	// rest eight times would only slow the test.
	base, attack = processCreations(base), processCreations(attack)
	byTime(base)
	byTime(attack)
	var evs []events.Event
	for day := range 8 {
		evs = append(evs, shifted(base, time.Duration(day)*24*time.Hour, fmt.Sprintf("-d%d", day))...)
	}
	// The SharpDump capture began at 2023-09-05 09:51:51; replay it on
	// 2023-08-23, the day after the week of baseline.
	evs = append(evs, shifted(attack, time.Date(2023, 8, 23, 9, 51, 51, 0, time.UTC).Sub(attack[0].EventTime), "")...)
	yml := `
analytics:
  - name: rare-child
    kind: rare
    title: Rare child process
    where: {product: windows, category: process_creation}
    key: [Computer, ParentImage]
    value: Image
    window: 7d
    threshold: 2
    min_key_events: MIN
`
	const mkt = "rare-child RJ1 2023-08-23T"
	ordinary := []string{
		mkt + `09:51:51Z Computer=MKT01.pandalab.com, ParentImage=C:\Windows\System32\services.exe → Image=C:\Windows\System32\SearchIndexer.exe @ 2798`,
		mkt + `09:52:01Z Computer=MKT01.pandalab.com, ParentImage=C:\Windows\System32\SearchIndexer.exe → Image=C:\Windows\System32\wermgr.exe @ 2798`,
		mkt + `09:52:37Z Computer=MKT01.pandalab.com, ParentImage=C:\Windows\System32\svchost.exe → Image=C:\Windows\System32\wermgr.exe @ 2798`,
		mkt + `09:53:03Z Computer=MKT01.pandalab.com, ParentImage=C:\Windows\System32\svchost.exe → Image=C:\Windows\SystemApps\Microsoft.Windows.AppRep.ChxApp_cw5n1h2txyewy\CHXSmartScreen.exe @ 2798`,
		mkt + `09:53:30Z Computer=MKT01.pandalab.com, ParentImage=C:\Windows\System32\services.exe → Image=C:\Windows\System32\sppsvc.exe @ 2798`,
		mkt + `09:56:37Z Computer=MKT01.pandalab.com, ParentImage=C:\Users\stevie.marie\Downloads\winx64_payload.exe → Image=C:\Program Files\SharpDump.exe @ 2798`,
		mkt + `09:58:38Z Computer=MKT01.pandalab.com, ParentImage=C:\Windows\System32\svchost.exe → Image=C:\Users\stevie.marie\AppData\Local\Microsoft\OneDrive\OneDriveStandaloneUpdater.exe @ 2798`,
	}
	// With 20 events of a parent in the week as enough to judge by, the
	// payload starting SharpDump.exe is rare (the payload ran every day,
	// 25 children in the window, never SharpDump), and so are six
	// ordinary programs the baseline capture happened not to record.
	fs := observeAll(engine(t, strings.Replace(yml, "MIN", "20", 1)), evs)
	sameList(t, "findings with min_key_events 20", summaries(fs), ordinary)
	for _, f := range fs {
		if strings.Contains(f.Ref, "SharpDump") {
			want := `Image=C:\Program Files\SharpDump.exe is rare for Computer=MKT01.pandalab.com, ParentImage=C:\Users\stevie.marie\Downloads\winx64_payload.exe: in the 7 days before 2023-08-23 09:56:37 UTC it was seen 0 times among 25 events of that key (rare is fewer than 2; counted in 7h0m0s buckets).`
			if !strings.HasPrefix(f.Explanation, want) || f.Details["count"] != "0" || f.Details["key_events"] != "25" {
				t.Errorf("explanation:\n%s\nwant it to begin\n%s", f.Explanation, want)
			}
		}
	}
	// At 50, parents with fewer events in the week (the payload's 25,
	// SearchIndexer's 24) are not judged.
	fs = observeAll(engine(t, strings.Replace(yml, "MIN", "50", 1)), evs)
	sameList(t, "findings with min_key_events 50", summaries(fs), []string{ordinary[0], ordinary[2], ordinary[3], ordinary[4], ordinary[6]})
	// The week of baseline alone is learning, then repetition: nothing.
	if fs := observeAll(engine(t, strings.Replace(yml, "MIN", "1", 1)), evs[:len(evs)-len(attack)]); len(fs) != 0 {
		t.Errorf("the baseline week raised %v", summaries(fs))
	}
}

func processCreations(evs []events.Event) []events.Event {
	var out []events.Event
	for _, ev := range evs {
		if ev.Category == "process_creation" {
			out = append(out, ev)
		}
	}
	return out
}
