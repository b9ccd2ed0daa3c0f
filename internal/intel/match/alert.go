package match

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Alerts. A hit is an alert in the inbox of the event's organisation,
// source "intel", type "ioc" (live) or "ioc-retro" (found by
// retro-matching stored events). Its source_ref is the indicator, the
// value seen and the window the event falls in, so the same indicator
// seen on the same value in one organisation within a window is one
// alert whose occurrences count the sightings (the inbox's own
// de-duplication, as Sigma alerts have).

// AlertSource is the alerts' source.
const AlertSource = "intel"

// Alert types.
const (
	TypeLive  = "ioc"
	TypeRetro = "ioc-retro"
)

// Sighting is one hit with what the alert says of its indicator.
type Sighting struct {
	Hit  Hit
	Info Info
	// Name and Pattern are the indicator's, when the caller has them.
	Name, Pattern string
	Retro         bool
}

// MsgID is the sighting's message ID on the ALERTS stream: the same
// event redelivered never raises it twice.
func (s Sighting) MsgID(ev *events.Event) string {
	t := TypeLive
	if s.Retro {
		t = TypeRetro
	}
	return clip(t+"/"+s.Info.ID+"/"+ev.ID+"/"+s.Hit.Field+"/"+s.Hit.Value, 500)
}

// Severity follows the indicator's confidence: 80 or more high, under
// 50 low, medium between and when it gives none.
func Severity(confidence int) cases.Severity {
	switch {
	case confidence >= 80:
		return cases.High
	case confidence >= 0 && confidence < 50:
		return cases.Low
	}
	return cases.Medium
}

// AlertTLP is the alert's marking: the indicator's, and never below
// AMBER, since the alert quotes the organisation's own events.
func AlertTLP(t stix.TLP) cases.TLP {
	switch {
	case t >= stix.TLPRed:
		return cases.TLPRed
	case t == stix.TLPAmberStrict:
		return cases.TLPAmberStrict
	}
	return cases.TLPAmber
}

// Alert is the inbox alert for a sighting in ev; window is how long the
// same indicator and value in one organisation are one alert.
func (s Sighting) Alert(ev *events.Event, window time.Duration) cases.NewAlert {
	h, in := s.Hit, s.Info
	t := ev.EventTime.UTC()
	typ, verb := TypeLive, "was seen"
	if s.Retro {
		typ, verb = TypeRetro, "was found by retro-matching, in an event stored before the indicator arrived,"
	}
	conf := "none given"
	if in.Confidence >= 0 {
		conf = strconv.Itoa(in.Confidence)
	}
	tlp := "unmarked"
	if in.TLP != 0 {
		tlp = in.TLP.String()
	}
	fields := map[string]string{
		"indicator_id": in.ID, "indicator_source": in.Source, "indicator_created_by": in.CreatedBy,
		"indicator_tlp": tlp, "indicator_confidence": conf, "indicator_name": s.Name, "indicator_pattern": s.Pattern,
		"match_kind": h.Kind.String(), "matched_field": h.Field, "matched_value": h.Value, "listed_value": h.Listed,
		"event_id": ev.ID, "event_time": t.Format(time.RFC3339Nano), "retrospective": strconv.FormatBool(s.Retro),
		"log_source": strings.Trim(ev.Product+"/"+ev.Category+"/"+ev.Service, "/"),
	}
	if !in.ValidUntil.IsZero() {
		fields["indicator_valid_until"] = in.ValidUntil.Format(time.RFC3339)
	}
	if h.Events > 1 {
		fields["matched_events"] = strconv.Itoa(h.Events)
	}
	for k, v := range fields {
		if v == "" {
			delete(fields, k)
		} else {
			fields[k] = clip(v, 2000)
		}
	}
	name := s.Name
	if name == "" {
		name = h.Kind.String() + " " + h.Value
	}
	var d strings.Builder
	fmt.Fprintf(&d, "Indicator %q (%s) %s in event %s at %s: %s %q in field %s", name, in.ID, verb, ev.ID, t.Format(time.RFC3339), h.Kind, h.Value, h.Field)
	if h.Listed != "" {
		fmt.Fprintf(&d, ", under the listed %s", h.Listed)
	}
	if h.Events > 1 {
		fmt.Fprintf(&d, "; this event completes the pattern over %d events of the organisation", h.Events)
	}
	fmt.Fprintf(&d, ".\n\nSource: %s", orNone(in.Source))
	if in.CreatedBy != "" {
		fmt.Fprintf(&d, ", created by %s", in.CreatedBy)
	}
	fmt.Fprintf(&d, ". Confidence: %s. Marking: %s.", conf, tlp)
	if s.Pattern != "" {
		fmt.Fprintf(&d, "\n\nPattern: %s", s.Pattern)
	}
	title := "IOC match: " + name
	if s.Retro {
		title = "IOC retro-match: " + name
	}
	ref := in.ID + "/" + h.Value + "/" + t.Truncate(window).Format(time.RFC3339)
	return cases.NewAlert{
		Source: AlertSource, Type: typ, SourceRef: clip(ref, 200), Title: clip(title, 200),
		Description: clip(d.String(), 19_000), Severity: Severity(in.Confidence), Org: ev.Org, TLP: AlertTLP(in.TLP),
		Observables: observables(h), Fields: fields, FirstSeen: &t, LastSeen: &t,
	}
}

func observables(h Hit) []cases.Observable {
	var o cases.Observable
	switch h.Kind {
	case KindIP:
		a, err := netip.ParseAddr(h.Value)
		if err != nil {
			ap, err := netip.ParseAddrPort(h.Value)
			if err != nil {
				return nil
			}
			a = ap.Addr()
		}
		o = cases.Observable{Type: cases.ObsIP, Value: a.Unmap().String()}
	case KindDomain:
		o = cases.Observable{Type: cases.ObsDomain, Value: h.Value}
	case KindURL:
		o = cases.Observable{Type: cases.ObsURL, Value: h.Value}
	case KindMD5:
		o = cases.Observable{Type: cases.ObsMD5, Value: h.Value}
	case KindSHA1:
		o = cases.Observable{Type: cases.ObsSHA1, Value: h.Value}
	case KindSHA256:
		o = cases.Observable{Type: cases.ObsSHA256, Value: h.Value}
	case KindEmail:
		o = cases.Observable{Type: cases.ObsEmail, Value: h.Value}
	default:
		return nil
	}
	n, err := cases.NormaliseObservable("observables", o)
	if err != nil {
		return nil
	}
	return []cases.Observable{n}
}

func orNone(s string) string {
	if s == "" {
		return "none recorded"
	}
	return s
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
