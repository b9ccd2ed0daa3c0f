package analytics

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/safetext"
)

// AlertSource is the source every analytics alert names in the inbox;
// its type is the analytic's name.
const AlertSource = "analytics"

// The inbox's bounds on a title and description (cases.NewAlert).
const (
	maxAlertTitle       = 300
	maxAlertDescription = 20_000
)

// Alert returns the finding as the alerts inbox takes it (POST
// /api/v1/alerts, or JSON on the ALERTS stream's subject
// cases.AlertSubject(f.Org) with f.ID() as the message ID): source
// "analytics", type the analytic's name, source_ref f.Ref (a repeat of
// the same key and value, source and hour, or pair of sign-ins raises the
// stored alert's occurrences), the explanation (and what the analytic is
// about) as description, the finding's time as first and last seen, the user,
// host and IP as observables and the details, entities and event IDs as
// fields. TLP is amber: the explanation names people and hosts.
func (f Finding) Alert() cases.NewAlert {
	desc := f.Explanation
	if f.About != "" {
		desc += "\n\n" + f.About
	}
	n := cases.NewAlert{
		Source: AlertSource, Type: f.Analytic, SourceRef: oneLine(f.Ref, safetext.MaxName),
		Title: oneLine(f.Title, maxAlertTitle), Description: oneText(desc, maxAlertDescription), Severity: cases.Severity(f.Level), Org: f.Org,
		TLP: cases.TLPAmber, Observables: []cases.Observable{}, Fields: map[string]string{"analytic": f.Analytic, "kind": f.Kind},
	}
	// The inbox takes times from 1990 to a day ahead; an event's own
	// clock may be outside that (the explanation still names it), and
	// the alert is then dated when the inbox receives it.
	if at := f.Time; at.Year() >= 1990 && at.Before(time.Now().Add(23*time.Hour)) {
		n.FirstSeen, n.LastSeen = &at, &at
	}
	if n.SourceRef == "" || n.SourceRef != f.Ref {
		// Too long or not one line: its hash still identifies it.
		h := sha256.Sum256([]byte(f.Ref))
		n.SourceRef = "sha256:" + hex.EncodeToString(h[:16])
		n.Fields["ref"] = oneLine(f.Ref, safetext.MaxText)
	}
	if subject := f.subject(); subject != "" {
		n.Title = oneLine(f.Title+": "+subject, maxAlertTitle)
	}
	for _, o := range []cases.Observable{{Type: cases.ObsUser, Value: f.Entities.User}, {Type: cases.ObsHost, Value: f.Entities.Host}, {Type: cases.ObsIP, Value: f.Entities.IP}} {
		if o.Value = oneLine(o.Value, 1024); o.Value == "" {
			continue
		}
		// An entity the inbox would refuse as an observable (an IP field
		// holding "-") stays in the fields only.
		if norm, err := cases.NormaliseObservable("observables", o); err == nil {
			n.Observables = append(n.Observables, norm)
		}
	}
	put := func(k, v string) {
		if v = oneText(v, safetext.MaxText); v != "" {
			n.Fields[k] = v
		}
	}
	for _, k := range sortedKeys(f.Details) {
		put(k, f.Details[k])
	}
	put("user", f.Entities.User)
	put("host", f.Entities.Host)
	put("ip", f.Entities.IP)
	put("country", f.Entities.Country)
	put("event_ids", strings.Join(f.EventIDs, ", "))
	return n
}

// subject is what the finding is about, for the alert's title.
func (f Finding) subject() string {
	switch f.Kind {
	case KindFirstSeen, KindRare:
		return f.Details["value"] + " for " + f.Details["key"]
	case KindVolume:
		return f.Details["direction"] + " from " + f.Details["source"]
	case KindTravel:
		return f.Details["user"] + ", " + f.Details["from"] + " → " + f.Details["to"]
	}
	return ""
}

// oneLine returns s as one line the inbox accepts as a name: cut to max
// bytes at a rune boundary, line breaks as spaces and other control
// characters as U+FFFD (event data is untrusted).
func oneLine(s string, max int) string {
	return clean(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(cut(s, max)), safetext.Name)
}

// oneText is oneLine for free text, which keeps its line breaks.
func oneText(s string, max int) string { return clean(cut(s, max), safetext.Text) }

// clean replaces what safetext refuses in text of kind k with U+FFFD.
func clean(s string, k safetext.Kind) string {
	if safetext.Problem(s, k, 0) == "" {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || safetext.Problem(string(r), k, 0) != "" {
			r = '\uFFFD'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
