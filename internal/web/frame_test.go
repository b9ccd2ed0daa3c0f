package web

import (
	"html/template"
	"testing"
	"time"
)

// TestWhen: times read as a person says them, in UK time (GMT in winter,
// BST in summer), measured from an injected clock; the exact UTC instant
// stays in the <time> element's datetime and title.
func TestWhen(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	winter := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) // 10:00 GMT
	summer := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)  // 13:00 BST
	for _, tc := range []struct {
		name    string
		now     time.Time
		v       any
		seconds bool
		want    template.HTML
	}{
		{"earlier today", winter, time.Date(2026, 12, 3, 9, 14, 5, 0, time.UTC), false,
			`<time datetime="2026-12-03T09:14:05Z" title="2026-12-03T09:14:05Z">today 09:14</time>`},
		{"yesterday", winter, time.Date(2026, 12, 2, 17, 2, 0, 0, time.UTC), false,
			`<time datetime="2026-12-02T17:02:00Z" title="2026-12-02T17:02:00Z">yesterday 17:02</time>`},
		{"tomorrow", winter, time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC), false,
			`<time datetime="2026-12-04T08:00:00Z" title="2026-12-04T08:00:00Z">tomorrow 08:00</time>`},
		{"last week", winter, time.Date(2026, 11, 26, 9, 14, 0, 0, time.UTC), false,
			`<time datetime="2026-11-26T09:14:00Z" title="2026-11-26T09:14:00Z">26 Nov 2026 09:14</time>`},
		{"a day in another month", winter, "2026-12-01T09:14:00Z", false,
			`<time datetime="2026-12-01T09:14:00Z" title="2026-12-01T09:14:00Z">1 Dec 2026 09:14</time>`},
		{"next year, from a string", winter, "2027-03-03T09:14:00.123456Z", false,
			`<time datetime="2027-03-03T09:14:00Z" title="2027-03-03T09:14:00Z">3 Mar 2027 09:14</time>`},
		{"summer time", summer, time.Date(2026, 7, 1, 8, 14, 0, 0, time.UTC), false,
			`<time datetime="2026-07-01T08:14:00Z" title="2026-07-01T08:14:00Z">today 09:14</time>`},
		// 23:30 UTC on 30 June is half past midnight on 1 July in London.
		{"after midnight in London, before it in UTC", summer, time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC), false,
			`<time datetime="2026-06-30T23:30:00Z" title="2026-06-30T23:30:00Z">today 00:30</time>`},
		{"another zone's offset", winter, "2026-12-03T10:14:00+01:00", false,
			`<time datetime="2026-12-03T09:14:00Z" title="2026-12-03T09:14:00Z">today 09:14</time>`},
		{"to the second", winter, time.Date(2026, 12, 2, 17, 2, 9, 0, time.UTC), true,
			`<time datetime="2026-12-02T17:02:09Z" title="2026-12-02T17:02:09Z">yesterday 17:02:09</time>`},
		{"empty", winter, "", false, ""},
		{"zero", winter, time.Time{}, false, ""},
		{"nil", winter, nil, false, ""},
		{"not a time is shown as it is, escaped", winter, "soon <b>", false, "soon &lt;b&gt;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := timeWords{now: func() time.Time { return tc.now }, loc: london}
			if got := c.html(tc.v, tc.seconds); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
