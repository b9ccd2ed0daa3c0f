package match

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

const (
	sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	md5 = "d41d8cd98f00b204e9800998ecf8427e"
)

// TestMatchResidual: patterns the index anchors on one value and then
// checks in full on the event — AND inside an observation, LIKE and
// MATCHES (anchored on a value or scanned), other operators and
// properties the index does not hold.
func TestMatchResidual(t *testing.T) {
	inds := []Indicator{
		ind(0, "[file:hashes.'SHA-256' = '"+strings.ToUpper(sha)+"' AND file:name = 'evil.exe']"),
		ind(1, "[domain-name:value LIKE '%.evil.example']"),
		ind(2, "[url:value MATCHES '^https?://[^/]+/gate\\\\.php\\\\?id=[0-9]+$']"),
		ind(3, "[ipv4-addr:value = '198.51.100.7' AND network-traffic:dst_port = 4444]"),
		ind(4, "[email-message:from_ref.value = 'x@lure.example' AND email-message:subject LIKE 'Invoice%']"),
		ind(5, "[(domain-name:value = 'c2.example' OR ipv4-addr:value ISSUBSET '203.0.113.0/24') AND process:name = 'rundll32.exe']"),
		ind(6, "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' LIKE 'EvilBot/%']"),
		ind(7, "[file:hashes.MD5 = '"+md5+"' AND file:name != 'harmless.dll']"),
		ind(8, "[domain-name:value = 'c2.example' AND process:command_line MATCHES '(?i)-enc\\\\s']"),
		ind(9, "[ipv4-addr:value = '192.0.2.9' AND user-account:account_login NOT LIKE 'svc_%']"),
	}
	ix, st := Build(inds, Options{Now: func() time.Time { return now }})
	if st.Indicators != len(inds) || len(st.Skipped) != 0 {
		t.Fatalf("stats %+v", st)
	}
	cases := []struct {
		name   string
		fields map[string]any
		want   []string
	}{
		{"hash and name", map[string]any{"Hashes": "SHA256=" + strings.ToUpper(sha), "Image": `C:\Users\x\evil.exe`}, []string{"0:sha256:Hashes:" + strings.ToUpper(sha)}},
		{"hash, other name", map[string]any{"Hashes": "SHA256=" + sha, "Image": `C:\Windows\notepad.exe`}, nil},
		{"hash, no name", map[string]any{"sha256": sha}, nil},
		{"name alone", map[string]any{"TargetFilename": "evil.exe"}, nil},
		{"LIKE on a subdomain", map[string]any{"QueryName": "a.Evil.Example"}, []string{"1:domain:QueryName:a.Evil.Example:Evil.Example"}},
		{"LIKE not the domain itself", map[string]any{"QueryName": "evil.example"}, nil},
		{"MATCHES scanned", map[string]any{"url": "http://any.example/gate.php?id=42"}, []string{"2:url:url:http://any.example/gate.php?id=42"}},
		{"MATCHES on host and path", map[string]any{"host": "any.example", "uri": "/gate.php?id=7"}, nil}, // no scheme: the expression asks for one
		{"MATCHES misses", map[string]any{"url": "http://any.example/gate.php?id=x"}, nil},
		{"address and port", map[string]any{"DestinationIp": "198.51.100.7", "DestinationPort": 4444.0}, []string{"3:ip:DestinationIp:198.51.100.7"}},
		{"address, other port", map[string]any{"DestinationIp": "198.51.100.7", "DestinationPort": "443"}, nil},
		{"sender and subject", map[string]any{"from": "X <X@Lure.example>", "subject": "Invoice 42"}, []string{"4:email:from:X@Lure.example"}},
		{"sender, other subject", map[string]any{"from": "x@lure.example", "subject": "Hello"}, nil},
		{"OR anchors and a process", map[string]any{"dst": "203.0.113.5", "Image": `C:\Windows\System32\rundll32.exe`}, []string{"5:ip:dst:203.0.113.5:203.0.113.0/24"}},
		{"OR anchors, other process", map[string]any{"dst": "203.0.113.5", "Image": `C:\x\a.exe`}, nil},
		{"user agent LIKE", map[string]any{"user_agent": "EvilBot/2.0"}, []string{"6:user-agent:user_agent:EvilBot/2.0"}},
		{"NOT equal holds", map[string]any{"md5": md5, "file.name": "x.dll"}, []string{"7:md5:md5:" + md5}},
		{"NOT equal fails", map[string]any{"md5": md5, "file.name": "harmless.dll"}, nil},
		{"NOT equal, no name", map[string]any{"md5": md5}, nil},
		{"command line", map[string]any{"QueryName": "c2.example", "CommandLine": "powershell -ENC aGk="}, []string{"8:domain:QueryName:c2.example"}},
		{"NOT LIKE", map[string]any{"src": "192.0.2.9", "TargetUserName": "alice"}, []string{"9:ip:src:192.0.2.9"}},
		{"NOT LIKE fails", map[string]any{"src": "192.0.2.9", "TargetUserName": "svc_backup"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hitsOf(ix, c.fields); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestBuildResidualBounds: an observation with nothing to anchor on, an
// over-long MATCHES and scans beyond Options.MaxScans are left out and
// counted.
func TestBuildResidualBounds(t *testing.T) {
	inds := []Indicator{
		ind(0, "[process:name = 'evil.exe']"),
		ind(1, "[url:value MATCHES '"+strings.Repeat("a", maxRegexpLen+1)+"']"),
		ind(2, "[domain-name:value LIKE '%evil%']"),
		ind(3, "[domain-name:value LIKE 'x%']"),
		ind(4, "[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [process:name = 'a.exe']"),
	}
	_, st := Build(inds, Options{Now: func() time.Time { return now }, MaxScans: 1})
	want := map[string]int{SkipNoAnchor: 3, SkipTooManyScans: 1}
	if st.Indicators != 1 || fmt.Sprint(st.Skipped) != fmt.Sprint(want) {
		t.Fatalf("stats %+v", st)
	}
}

// TestWindow: patterns over several events raise a hit on the event
// that completes them, per organisation, within their qualifiers.
func TestWindow(t *testing.T) {
	inds := []Indicator{
		// A qualifier binds tighter than FOLLOWEDBY: the brackets make it the whole's.
		ind(0, "([domain-name:value = 'stage1.example'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.20']) WITHIN 60 SECONDS"),
		ind(1, "[domain-name:value = 'beacon.example'] REPEATS 3 TIMES WITHIN 10 SECONDS"),
		ind(2, "[file:hashes.MD5 = '"+md5+"'] AND [domain-name:value = 'drop.example']"),
		ind(3, "([ipv4-addr:value = '192.0.2.77'] OR [domain-name:value = 'other.example']) START t'2026-12-07T03:00:00Z' STOP t'2026-12-07T05:00:00Z'"),
	}
	ix, st := Build(inds, Options{Now: func() time.Time { return now }})
	if st.Indicators != len(inds) {
		t.Fatalf("stats %+v", st)
	}
	type ev struct {
		org    string
		at     int // seconds after now
		fields map[string]any
		want   string // "indicator:events", "" none
	}
	steps := []struct {
		name string
		evs  []ev
	}{
		{"followed by, in order, within", []ev{
			{"A", 0, map[string]any{"query": "stage1.example"}, ""},
			{"A", 30, map[string]any{"dst": "198.51.100.20"}, "0:2"},
		}},
		{"followed by, wrong order", []ev{
			{"B", 0, map[string]any{"dst": "198.51.100.20"}, ""},
			{"B", 5, map[string]any{"query": "stage1.example"}, ""},
		}},
		{"followed by, too far apart", []ev{
			{"C", 0, map[string]any{"query": "stage1.example"}, ""},
			{"C", 61, map[string]any{"dst": "198.51.100.20"}, ""},
		}},
		{"other organisation's event does not complete it", []ev{
			{"D", 0, map[string]any{"query": "stage1.example"}, ""},
			{"E", 1, map[string]any{"dst": "198.51.100.20"}, ""},
		}},
		{"repeats", []ev{
			{"F", 0, map[string]any{"query": "beacon.example"}, ""},
			{"F", 4, map[string]any{"query": "beacon.example"}, ""},
			{"F", 20, map[string]any{"query": "beacon.example"}, ""},
			{"F", 25, map[string]any{"query": "beacon.example"}, ""},
			{"F", 29, map[string]any{"query": "beacon.example"}, "1:3"},
		}},
		{"and, either order", []ev{
			{"G", 0, map[string]any{"query": "drop.example"}, ""},
			{"G", 3600, map[string]any{"md5": md5}, "2:2"},
		}},
		{"start/stop", []ev{
			{"H", 0, map[string]any{"dst": "192.0.2.77"}, "3:1"},
			{"H", 3600, map[string]any{"dst": "192.0.2.77"}, ""},
		}},
	}
	m := NewMatcher(ix)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for i, e := range s.evs {
				event := &events.Event{ID: fmt.Sprint(i), Org: e.org, EventTime: now.Add(time.Duration(e.at) * time.Second), Fields: e.fields}
				_, hs := m.Match(event, now, nil)
				var got []string
				for _, h := range hs {
					got = append(got, fmt.Sprintf("%d:%d", h.Indicator, h.Events))
				}
				if want := s.evs[i].want; strings.Join(got, ",") != want {
					t.Errorf("event %d: got %q, want %q", i, got, want)
				}
				// Index.Match alone never reports a pattern over several events.
				for _, h := range ix.Match(event, now, nil) {
					if h.Indicator != 3 {
						t.Errorf("event %d: Index.Match hit %d", i, h.Indicator)
					}
				}
			}
		})
	}
}

// TestWindowBounds: the window holds at most MaxStates pairs and
// MaxPerObs times an observation.
func TestWindowBounds(t *testing.T) {
	ix, _ := Build([]Indicator{ind(0, "[domain-name:value = 'beacon.example'] REPEATS 3 TIMES")}, Options{Now: func() time.Time { return now }})
	m := NewMatcher(ix)
	m.Window = NewWindow(WindowOptions{MaxStates: 2, MaxPerObs: 2})
	for i, org := range []string{"A", "B", "C", "A"} {
		m.Match(&events.Event{Org: org, EventTime: now.Add(time.Duration(i) * time.Second), Fields: map[string]any{"query": "beacon.example"}}, now, nil)
	}
	if m.Window.Len() != 2 || m.Window.Evicted != 2 {
		t.Errorf("len %d evicted %d", m.Window.Len(), m.Window.Evicted)
	}
	// Three repeats need three times kept: with two, never.
	for i := range 5 {
		if _, hs := m.Match(&events.Event{Org: "Z", EventTime: now.Add(time.Duration(i) * time.Second), Fields: map[string]any{"query": "beacon.example"}}, now, nil); len(hs) != 0 {
			t.Fatalf("hit with MaxPerObs 2: %+v", hs)
		}
	}
}

// TestMatchRecipients: a TLP:RED indicator is matched only for the
// organisations among its recipients, and left out with none.
func TestMatchRecipients(t *testing.T) {
	red := ind(0, "[ipv4-addr:value = '198.51.100.99']")
	red.TLP, red.Orgs = stix.TLPRed, []string{"RA"}
	none := ind(1, "[ipv4-addr:value = '198.51.100.99']")
	none.TLP = stix.TLPAmberStrict
	cx := ind(2, "[ipv4-addr:value = '198.51.100.99' AND network-traffic:dst_port = 22]")
	cx.TLP, cx.Orgs = stix.TLPAmberStrict, []string{"RB"}
	ix, st := Build([]Indicator{red, none, cx}, Options{Now: func() time.Time { return now }, MaxTLP: stix.TLPRed})
	if st.Indicators != 2 || st.Skipped[SkipNoRecipient] != 1 {
		t.Fatalf("stats %+v", st)
	}
	for org, want := range map[string]int{"RA": 1, "RB": 1, "RC": 0} {
		hs := ix.Match(&events.Event{Org: org, Fields: map[string]any{"dst": "198.51.100.99", "dpt": 22.0}}, now, nil)
		if len(hs) != want {
			t.Errorf("%s: %d hits, want %d: %+v", org, len(hs), want, hs)
		}
	}
	// AMBER by default is still the ceiling.
	if _, st := Build([]Indicator{red}, Options{Now: func() time.Time { return now }}); st.Skipped[SkipTLP] != 1 {
		t.Errorf("default ceiling: %+v", st)
	}
}

// TestRestrictedNotMerged: an indicator shared only with some
// organisations does not merge with a wider one of the same values (its
// source would be named to organisations it was not shared with, or the
// wider one matched for too few), nor with one shared with others.
func TestRestrictedNotMerged(t *testing.T) {
	green := ind(0, "[ipv4-addr:value = '198.51.100.98']")
	green.TLP, green.Source = stix.TLPGreen, "open feed"
	red := ind(1, "[ipv4-addr:value = '198.51.100.98']")
	red.TLP, red.Orgs, red.Source = stix.TLPRed, []string{"RA"}, "private to RA"
	red2 := ind(2, "[ipv4-addr:value = '198.51.100.98']")
	red2.TLP, red2.Orgs, red2.Source = stix.TLPRed, []string{"RA"}, "also private to RA"
	other := ind(3, "[ipv4-addr:value = '198.51.100.98']")
	other.TLP, other.Orgs, other.Source = stix.TLPRed, []string{"RB"}, "private to RB"
	ix, st := Build([]Indicator{green, red, red2, other}, Options{Now: func() time.Time { return now }, MaxTLP: stix.TLPRed})
	if st.Indicators != 3 || st.Skipped[SkipMerged] != 1 {
		t.Fatalf("stats %+v: want the two RA-only ones merged and nothing else", st)
	}
	for org, want := range map[string][]string{
		"RA": {"also private to RA", "open feed", "private to RA"},
		"RB": {"open feed", "private to RB"},
		"RC": {"open feed"},
	} {
		var got []string
		for _, h := range ix.Match(&events.Event{Org: org, Fields: map[string]any{"dst": "198.51.100.98"}}, now, nil) {
			for s := range strings.SplitSeq(ix.Info(h.Indicator).Source, ", ") {
				got = append(got, s)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s sees sources %q, want %q", org, got, want)
		}
	}
}

// TestMatchPending: a GREEN indicator pending approval in a moderated
// collection is matched only for its submitters' organisations, and
// does not merge with an approved one of the same values.
func TestMatchPending(t *testing.T) {
	pend := ind(0, "[ipv4-addr:value = '198.51.100.97']")
	pend.TLP, pend.Orgs, pend.Pending, pend.Source = stix.TLPGreen, []string{"RA"}, true, "submitted by RA"
	open := ind(1, "[domain-name:value = 'open.example']")
	open.TLP = stix.TLPGreen
	ix, st := Build([]Indicator{pend, open}, Options{Now: func() time.Time { return now }})
	if st.Indicators != 2 {
		t.Fatalf("stats %+v", st)
	}
	for org, want := range map[string]int{"RA": 1, "RB": 0} {
		if hs := ix.Match(&events.Event{Org: org, Fields: map[string]any{"dst": "198.51.100.97"}}, now, nil); len(hs) != want {
			t.Errorf("%s: %d hits of the pending indicator, want %d", org, len(hs), want)
		}
	}
	var in Indicator
	in.ID, in.TLP = pend.ID, stix.TLPGreen
	restrict(&in, nil, map[string][]string{pend.ID: {"RA"}})
	if !in.Pending || len(in.Orgs) != 1 {
		t.Errorf("restrict: %+v", in)
	}
	in = Indicator{ID: pend.ID, TLP: stix.TLPRed}
	restrict(&in, map[string][]string{pend.ID: {"RA", "RB"}}, map[string][]string{pend.ID: {"RB"}})
	if !slices.Equal(in.Orgs, []string{"RB"}) {
		t.Errorf("a RED pending indicator is matched for %v, want the recipients that submitted it", in.Orgs)
	}
}
