package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// caseURL is the case's page.
func (s *Service) caseURL(id string) string {
	if s.o.BaseURL == "" {
		return ""
	}
	return strings.TrimRight(s.o.BaseURL, "/") + "/cases/" + id
}

// headline says what happened in a few words.
func headline(kind string, ev cases.Event) string {
	switch kind {
	case Assigned:
		return "Case assigned to you"
	case Mentioned:
		return "You were mentioned on a case"
	case Breached:
		return strings.TrimSpace(clockName(ev.Detail["clock"]) + " clock breached")
	case Escalated:
		return "Case escalated"
	}
	return kind
}

// clockName names a clock of h-incidents' contract.
func clockName(c string) string {
	switch c {
	case "ack":
		return "Acknowledge"
	case "respond":
		return "Respond"
	case "resolve":
		return "Resolve"
	case "nis":
		return "NIS incident report (72 h)"
	case "ico":
		return "ICO personal-data breach report (72 h)"
	}
	return c
}

// ukTime is how people in the NHS read a time.
func ukTime(t time.Time) string {
	if loc, err := time.LoadLocation("Europe/London"); err == nil {
		t = t.In(loc)
	}
	return t.Format("Mon 2 Jan 2006 15:04 MST")
}

// email is the plain-text message for one person. It names the case by
// ID, title, severity and organisation and links to it; what the case
// holds stays behind the sign-in.
func (s *Service) email(n Notice, kind string, sc scope.Scope, c cases.Case) message {
	ev := n.Event
	var b strings.Builder
	h := headline(kind, ev)
	fmt.Fprintf(&b, "%s.\n\n", h)
	fmt.Fprintf(&b, "Case:         %s\n", c.ID)
	fmt.Fprintf(&b, "Title:        %s\n", oneLine(c.Title))
	fmt.Fprintf(&b, "Severity:     %s\n", c.Severity)
	fmt.Fprintf(&b, "Organisation: %s\n", c.Org)
	fmt.Fprintf(&b, "Status:       %s\n", c.Status)
	if c.Assignee != "" {
		fmt.Fprintf(&b, "Assignee:     %s\n", c.Assignee)
	}
	if c.TLP != "" {
		fmt.Fprintf(&b, "TLP:          %s\n", strings.ToUpper(string(c.TLP)))
	}
	switch kind {
	case Assigned:
		fmt.Fprintf(&b, "\nAssigned by %s at %s.\n", ev.Actor, ukTime(ev.At))
	case Mentioned:
		fmt.Fprintf(&b, "\n%s mentioned you in a comment at %s.\n", ev.Actor, ukTime(ev.At))
	case Breached:
		if due, err := time.Parse(time.RFC3339, ev.Detail["due"]); err == nil {
			fmt.Fprintf(&b, "\nThe %s clock was due at %s and has run out.\n", strings.ToLower(clockName(ev.Detail["clock"])), ukTime(due))
		} else {
			fmt.Fprintf(&b, "\nThe %s clock has run out.\n", strings.ToLower(clockName(ev.Detail["clock"])))
		}
	case Escalated:
		fmt.Fprintf(&b, "\nEscalated to %s at %s", strings.Join(strings.Split(ev.Detail["escalate_to"], ","), ", "), ukTime(ev.At))
		if ck := ev.Detail["clock"]; ck != "" {
			fmt.Fprintf(&b, " after the %s clock ran out", strings.ToLower(clockName(ck)))
		}
		b.WriteString(".\n")
	}
	if u := s.caseURL(c.ID); u != "" {
		fmt.Fprintf(&b, "\nOpen the case: %s\n", u)
	}
	b.WriteString("\nYou get this because of your notification settings in Vigil (Account → Notifications).\n")
	return message{To: sc.Email, Subject: fmt.Sprintf("[Vigil] %s: %s (%s, %s)", h, oneLine(c.Title), c.ID, c.Severity),
		Body: b.String(), ID: n.ID + "." + sc.UserID + "@vigil"}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Payload is the JSON body of a webhook POST.
type Payload struct {
	// ID identifies the delivery; the same on every retry of it.
	ID     string            `json:"id"`
	Kind   string            `json:"kind"`
	At     time.Time         `json:"at"`
	Actor  string            `json:"actor,omitempty"`
	To     string            `json:"to"`
	Detail map[string]string `json:"detail,omitempty"`
	Case   PayloadCase       `json:"case"`
}

// PayloadCase is what a webhook says of the case.
type PayloadCase struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Org      string `json:"org"`
	Status   string `json:"status"`
	Assignee string `json:"assignee,omitempty"`
	TLP      string `json:"tlp"`
	URL      string `json:"url,omitempty"`
}

func (s *Service) payload(n Notice, kind string, sc scope.Scope, c cases.Case) Payload {
	return Payload{ID: n.ID + "/" + sc.UserID, Kind: kind, At: n.Event.At.UTC(), Actor: n.Event.Actor, To: sc.Email, Detail: n.Event.Detail,
		Case: PayloadCase{ID: c.ID, Title: c.Title, Severity: string(c.Severity), Org: c.Org, Status: string(c.Status), Assignee: c.Assignee,
			TLP: string(c.TLP), URL: s.caseURL(c.ID)}}
}
