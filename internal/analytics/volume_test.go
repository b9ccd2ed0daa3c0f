package analytics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// monday is the start of the recorded weeks: Monday 5 January 2026.
var monday = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// workingHours is a source's ordinary count in hour h: 60 an hour on
// weekdays from 08:00 to 18:00, 20 at weekend daytime, 6 at night —
// a tenfold daily swing — give or take a tenth, varying hour by hour.
func workingHours(h time.Time) int {
	base := 6
	if h.Hour() >= 8 && h.Hour() < 18 {
		base = 60
		if h.Weekday() == time.Saturday || h.Weekday() == time.Sunday {
			base = 20
		}
	}
	jitter := int(uint64(h.Unix()/3600)*2654435761%1000) * (base/5 + 1) / 1000 // 0 … base/5
	return base - base/10 + jitter
}

// replay makes count(hour) events an hour from the real OpenSSH log's
// lines (normalised by ingest), received spread over each hour, from
// start for the given hours; count -1 sends nothing and ticks instead.
type replay struct {
	lines []events.Event
	n     int
}

func (r *replay) hour(e *Engine, h time.Time, count int) []Finding {
	var out []Finding
	for i := range count {
		ev := r.lines[r.n%len(r.lines)]
		r.n++
		ev.ID = fmt.Sprintf("%s-%d", ev.ID, r.n)
		ev.ReceivedAt = h.Add(time.Duration(i) * time.Hour / time.Duration(count))
		out = append(out, e.Observe(&ev)...)
	}
	return out
}

// Five weeks of a source with a tenfold daily swing raise nothing; in
// the sixth a tenfold surge at Tuesday 10:00 is reported once, and when
// the source falls silent on Thursday the first working hour (08:00,
// whose baseline median is 60) is reported as silence — the night hours
// before it are too quiet for their drop to count. The shipped
// analytics judge both the log source (linux/sshd) and the sender
// (file/LabSZ).
func TestVolumeSeasonalSurgeSilence(t *testing.T) {
	r := &replay{lines: readEvents(t, "linux/loghub/OpenSSH_2k.log", "RJ1")}
	if r.lines[0].Service != "sshd" || r.lines[0].Source.Host != "LabSZ" {
		t.Fatalf("the sample is %s/%s from %q", r.lines[0].Product, r.lines[0].Service, r.lines[0].Source.Host)
	}
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var fs []Finding
	surge := monday.Add(5*7*24*time.Hour + 24*time.Hour + 10*time.Hour) // Tuesday 10 February 10:00
	silent := monday.Add(5*7*24*time.Hour + 3*24*time.Hour)             // Thursday 12 February 00:00
	for h := monday; h.Before(silent); h = h.Add(time.Hour) {
		n := workingHours(h)
		if h.Equal(surge) {
			n = 10 * 60
		}
		fs = append(fs, r.hour(e, h, n)...)
	}
	for h := silent; h.Before(silent.Add(24 * time.Hour)); h = h.Add(time.Hour) {
		fs = append(fs, e.Tick(h.Add(time.Minute))...)
	}
	sameList(t, "findings", summaries(fs), []string{
		"volume-by-log-source RJ1 2026-02-10T11:00:00Z @product=linux, @service=sshd @ 2026-02-10T10",
		"volume-by-sender RJ1 2026-02-10T11:00:00Z @protocol=file, @host=LabSZ @ 2026-02-10T10",
		"volume-by-log-source RJ1 2026-02-12T09:00:00Z @product=linux, @service=sshd @ 2026-02-12T08",
		"volume-by-sender RJ1 2026-02-12T09:00:00Z @protocol=file, @host=LabSZ @ 2026-02-12T08",
	})
	if len(fs) != 4 {
		return
	}
	// The oracle: the baseline's figures straight from the pattern.
	var base []float64
	for w := 1; w <= 4; w++ {
		for d := -1; d <= 1; d++ {
			base = append(base, float64(workingHours(surge.Add(time.Duration(-w*168+d)*time.Hour))))
		}
	}
	med := median(base)
	for i := range base {
		base[i] = math.Abs(base[i] - med)
	}
	mad := median(base)
	s := fs[0]
	if s.Details["direction"] != "surge" || s.Details["count"] != "600" || s.Details["median"] != fmt.Sprint(med) ||
		s.Details["mad"] != fmt.Sprint(mad) || s.Details["baseline_hours"] != "12" {
		t.Errorf("surge details %v, want median %v MAD %v of 12 hours", s.Details, med, mad)
	}
	for _, want := range []string{"A surge: 600 events from @product=linux, @service=sshd of organisation RJ1 in the hour from 2026-02-10 10:00 UTC (Tuesday 10:00; counted by arrival), 10.1 times the median.",
		fmt.Sprintf("the same hour of the week ±1 h over the previous 4 weeks, 12 hours: median %v, MAD %v;", med, mad)} {
		if !strings.Contains(s.Explanation, want) {
			t.Errorf("surge explanation lacks %q:\n%s", want, s.Explanation)
		}
	}
	if !strings.HasSuffix(s.Explanation, "It is also above the source's busiest hours at any time of the week in the ring (0.99 quantile: 66).") || s.Details["busy_hour"] != "66" {
		t.Errorf("surge explanation without the busiest hours (66, the pattern's largest hour):\n%s", s.Explanation)
	}
	if q := fs[2]; q.Details["direction"] != "silence" || q.Details["count"] != "0" || len(q.EventIDs) != 0 {
		t.Errorf("silence finding %v", q.Details)
	}
	if fs[1].Entities.Host != "LabSZ" {
		t.Errorf("sender finding entities %+v", fs[1].Entities)
	}
}

// Without two weeks of history (min_samples 6 of ±1 h) nothing is judged:
// a surge in the second week and silence from its Friday are learning;
// on the third Monday the baseline is whole and the silence is reported,
// once, for as long as it lasts.
func TestVolumeLearning(t *testing.T) {
	r := &replay{lines: readEvents(t, "linux/loghub/OpenSSH_2k.log", "RJ1")}
	e := engine(t, `
analytics:
  - name: vol
    kind: volume
    title: Volume
    group: "@service"
`)
	var fs []Finding
	friday := monday.Add(11 * 24 * time.Hour)
	for h := monday; h.Before(friday); h = h.Add(time.Hour) {
		n := workingHours(h)
		if h.Equal(monday.Add(8*24*time.Hour + 10*time.Hour)) { // the second Tuesday: 3 baseline hours
			n = 600
		}
		fs = append(fs, r.hour(e, h, n)...)
	}
	for h := friday; h.Before(monday.Add(14 * 24 * time.Hour)); h = h.Add(time.Hour) {
		fs = append(fs, e.Tick(h)...)
	}
	if len(fs) != 0 {
		t.Errorf("findings while learning: %v", summaries(fs))
	}
	for h := monday.Add(14 * 24 * time.Hour); h.Before(monday.Add(19 * 24 * time.Hour)); h = h.Add(time.Hour) {
		fs = append(fs, e.Tick(h)...)
	}
	sameList(t, "after learning", summaries(fs), []string{"vol RJ1 2026-01-19T09:00:00Z @service=sshd @ 2026-01-19T08"})
}

// Six weeks of a real Linux host's syslog (loghub Linux_2k: 2,000 lines,
// mostly quiet, with bursts of su sessions and SSH password guessing):
// the first two weeks are learning; after them, ten hours are surges
// beyond both their hour of the week and the host's busiest hours (its
// many smaller bursts are not reported) — each count checked against the
// events themselves.
func TestVolumeLinuxHost(t *testing.T) {
	evs := readEvents(t, "linux/loghub/Linux_2k.log", "RJ1")
	byTime(evs)
	e, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := observeAll(e, evs)
	fs = append(fs, e.Tick(evs[len(evs)-1].EventTime.Add(2*time.Hour))...)
	const sender, sshd = "volume-by-sender RJ1 ", "volume-by-log-source RJ1 "
	sameList(t, "findings", summaries(fs), []string{
		sender + "2025-06-29T11:00:00Z @protocol=file, @host=combo @ 2025-06-29T10",
		sender + "2025-06-30T21:00:00Z @protocol=file, @host=combo @ 2025-06-30T20",
		sender + "2025-07-02T05:00:00Z @protocol=file, @host=combo @ 2025-07-02T04",
		sender + "2025-07-05T14:00:00Z @protocol=file, @host=combo @ 2025-07-05T13",
		sender + "2025-07-09T13:00:00Z @protocol=file, @host=combo @ 2025-07-09T12",
		sshd + "2025-07-10T17:00:00Z @product=linux, @service=sshd @ 2025-07-10T16",
		sender + "2025-07-10T17:00:00Z @protocol=file, @host=combo @ 2025-07-10T16",
		sender + "2025-07-17T07:00:00Z @protocol=file, @host=combo @ 2025-07-17T06",
		sshd + "2025-07-26T08:00:00Z @product=linux, @service=sshd @ 2025-07-26T07",
		sender + "2025-07-27T15:00:00Z @protocol=file, @host=combo @ 2025-07-27T14",
	})
	for _, f := range fs {
		hour, _ := time.Parse(time.RFC3339, f.Details["hour"])
		n := 0
		for _, ev := range evs {
			if !ev.ReceivedAt.Before(hour) && ev.ReceivedAt.Before(hour.Add(time.Hour)) &&
				(f.Analytic == "volume-by-sender" || ev.Service == "sshd") {
				n++
			}
		}
		busy, _ := strconv.ParseFloat(f.Details["busy_hour"], 64)
		if f.Details["count"] != strconv.Itoa(n) || f.Details["direction"] != "surge" || float64(n) <= busy || n < 20 {
			t.Errorf("%s: details %v, but the hour holds %d events", summary(f), f.Details, n)
		}
	}
}

// Without ticks, a silence longer than the ring is still judged when the
// source's next event comes, ten weeks later: the same silence finding as
// with a clock, once.
func TestVolumeSilenceWithoutTicks(t *testing.T) {
	r := &replay{lines: readEvents(t, "linux/loghub/OpenSSH_2k.log", "RJ1")}
	e := engine(t, "analytics:\n  - {name: vol, kind: volume, title: Volume, group: '@service'}\n")
	silent := monday.Add(5*7*24*time.Hour + 3*24*time.Hour) // Thursday 12 February 00:00
	var fs []Finding
	for h := monday; h.Before(silent); h = h.Add(time.Hour) {
		fs = append(fs, r.hour(e, h, workingHours(h))...)
	}
	fs = append(fs, r.hour(e, silent.Add(10*7*24*time.Hour+10*time.Hour), 1)...)
	sameList(t, "findings", summaries(fs), []string{"vol RJ1 2026-02-12T09:00:00Z @service=sshd @ 2026-02-12T08"})
}
