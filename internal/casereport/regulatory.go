package casereport

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
)

// The regulatory report pack gathers, from the case, the answers the two
// reports a health organisation may owe within 72 hours ask for:
//
//   - NIS: an operator of an essential service notifies its competent
//     authority (for health in England, DHSC through NHS England) of an
//     incident with a significant impact on the service's continuity
//     (The Network and Information Systems Regulations 2018, reg. 11):
//     the operator, the essential service affected, when it started and
//     how long it lasted, its nature, and its impact — users affected,
//     duration, geographic spread — and any effect outside the UK.
//   - ICO: a controller reports a personal-data breach that risks
//     people's rights and freedoms (UK GDPR art. 33(3)): what happened
//     and when, when it was discovered, the categories and approximate
//     number of data subjects and records, the likely consequences, the
//     measures taken or proposed, whether the people have been told, and
//     the Data Protection Officer's contact.
//
// Each answer says where it came from; a question the case cannot answer
// says "Not recorded", so the pack shows at a glance what is still to
// find before submitting (through the DSPT incident tool).

// Answer is one question of a report and the case's answer.
type Answer struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// Source says which part of the case answered (a field, the timeline).
	Source string `json:"source,omitempty"`
	// Missing is true when the case does not answer it yet.
	Missing bool `json:"missing"`
}

// Section is one report's questions.
type Section struct {
	Title string   `json:"title"`
	Basis string   `json:"basis"`
	Items []Answer `json:"items"`
}

// Pack is the regulatory report pack of one case.
type Pack struct {
	Report   Report    `json:"-"`
	Case     string    `json:"case_id"`
	Title    string    `json:"title"`
	Sections []Section `json:"sections"`
}

const notRecorded = "Not recorded"

// Regulatory builds the pack from a report (and so only from what the
// caller may see).
func Regulatory(r Report) Pack {
	c := r.Case
	field := func(names ...string) (string, string) {
		for _, n := range names {
			for _, f := range r.Fields {
				if f.Name == n && strings.TrimSpace(f.Value) != "" {
					return f.Value, "field “" + f.Label + "”"
				}
			}
		}
		return "", ""
	}
	ans := func(q, v, src string) Answer {
		if strings.TrimSpace(v) == "" {
			return Answer{Question: q, Answer: notRecorded, Missing: true}
		}
		return Answer{Question: q, Answer: v, Source: src}
	}
	fromField := func(q string, names ...string) Answer {
		v, src := field(names...)
		return ans(q, v, src)
	}
	nature := strings.TrimSpace(strings.Join(nonEmpty(r.Template, c.Title), ": "))
	if d := firstParagraph(c.Description); d != "" {
		nature += ". " + d
	}
	started, startSrc := field("encryption_started", "aware_on")
	if started == "" {
		started, startSrc = r.when(c.CreatedAt), "case opened"
	}
	duration, durSrc := "", ""
	switch {
	case c.ResolvedAt != nil:
		duration, durSrc = hours(c.ResolvedAt.Sub(c.CreatedAt))+" (opened to resolved)", "case times"
	case c.ClosedAt != nil:
		duration, durSrc = hours(c.ClosedAt.Sub(c.CreatedAt))+" (opened to closed)", "case times"
	default:
		duration, durSrc = "Ongoing: "+hours(r.GeneratedAt.Sub(c.CreatedAt))+" so far", "case times"
	}
	spread := r.OrgName + " (" + c.Org + ")"
	if c.ParentID != "" {
		spread += "; part of national incident " + c.ParentID
	}
	measures := measuresTaken(r)
	nis := Section{Title: "NIS incident report", Basis: "The Network and Information Systems Regulations 2018, reg. 11: to the competent authority within 72 hours of awareness",
		Items: []Answer{
			ans("Operator of the essential service", r.OrgName+" (ODS "+c.Org+")", "case organisation"),
			fromField("Essential service affected", "essential_service", "patient_services_affected", "services_affected"),
			ans("Nature of the incident", nature, "case title, template and description"),
			ans("When it started", started, startSrc),
			ans("Duration", duration, durSrc),
			fromField("Number of users affected", "users_affected", "data_subjects"),
			ans("Geographic spread", spread, "case organisation"),
			fromField("Impact outside the UK (cross-border)", "cross_border"),
			ans("Impact", impactText(c), "case severity and impact"),
			ans("Measures taken", measures, "tasks done and closure summary"),
		}}
	discovered, discSrc := field("aware_on")
	if discovered == "" {
		discovered, discSrc = r.when(c.CreatedAt), "case opened"
	}
	ico := Section{Title: "ICO personal data breach report", Basis: "UK GDPR art. 33: to the Information Commissioner within 72 hours of becoming aware",
		Items: []Answer{
			ans("What happened", nature, "case title, template and description"),
			ans("When it happened", started, startSrc),
			ans("When it was discovered", discovered, discSrc),
			fromField("Kind of breach (confidentiality, integrity, availability)", "breach_type"),
			fromField("Categories of personal data", "data_categories"),
			fromField("Special category (health) data involved", "special_category"),
			fromField("Approximate number of data subjects", "data_subjects"),
			fromField("Approximate number of records", "records"),
			fromField("Likely consequences", "consequences"),
			ans("Measures taken or proposed", measures, "tasks done and closure summary"),
			fromField("People affected told", "subjects_told"),
			fromField("Data Protection Officer contact", "dpo_contact"),
			fromField("Reportable to the ICO (the organisation's decision)", "reportable_to_ico"),
		}}
	return Pack{Report: r, Case: c.ID, Title: c.Title, Sections: []Section{nis, ico}}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

// firstParagraph is the description's first paragraph as one line.
func firstParagraph(md string) string {
	p, _, _ := strings.Cut(strings.TrimSpace(md), "\n\n")
	p = strings.Join(strings.Fields(p), " ")
	if len(p) > 600 {
		p = p[:600] + "…"
	}
	return p
}

func hours(d time.Duration) string {
	h := d.Hours()
	switch {
	case h < 1:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case h < 48:
		return fmt.Sprintf("%.1f hours", h)
	}
	return fmt.Sprintf("%.1f days", h/24)
}

func impactText(c cases.Case) string {
	s := "Severity " + string(c.Severity)
	if c.Impact != "" {
		s += "; impact " + string(c.Impact)
	}
	return s
}

// measuresTaken lists the tasks done and the closure summary.
func measuresTaken(r Report) string {
	var done []string
	for _, t := range r.Case.Tasks {
		if t.Status == "done" {
			done = append(done, t.Title)
		}
	}
	s := strings.Join(done, "; ")
	if r.Case.Summary != "" {
		s = strings.Join(nonEmpty(s, r.Case.Summary), ". ")
	}
	return s
}
