package cases

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/enum"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
)

// Severity is how bad an alert or a case is.
type Severity string

const (
	Info     Severity = "info"
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

var severities = enum.Of(Info, Low, Medium, High, Critical)

// Severities lists the severities from least to most severe.
func Severities() []Severity { return severities.Values() }

// Rank orders severities: info 1 … critical 5; 0 for an unknown one.
func (s Severity) Rank() int { return severities.Rank(s) }

// TLP is the Traffic Light Protocol (FIRST TLP 2.0) marking: who the
// information may be shared with.
type TLP string

const (
	TLPClear       TLP = "clear"
	TLPGreen       TLP = "green"
	TLPAmber       TLP = "amber"
	TLPAmberStrict TLP = "amber+strict"
	TLPRed         TLP = "red"
)

var tlps = enum.Of(TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed)

// TLPs lists the markings from least to most restricted.
func TLPs() []TLP { return tlps.Values() }

// tlpRank orders markings: clear 1 … red 5; 0 for none.
func tlpRank(t TLP) int { return tlps.Rank(t) }

// PAP is the Permissible Actions Protocol: what may be done with the
// information (clear: anything; red: nothing that could be detected).
type PAP string

const (
	PAPClear PAP = "clear"
	PAPGreen PAP = "green"
	PAPAmber PAP = "amber"
	PAPRed   PAP = "red"
)

// PAPs lists the markings from least to most restricted.
func PAPs() []PAP { return paps.Values() }

var paps = enum.Of(PAPClear, PAPGreen, PAPAmber, PAPRed)

// AlertStatus is where an alert is in triage.
type AlertStatus string

const (
	AlertNew          AlertStatus = "new"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertInCase       AlertStatus = "in-case"
	AlertClosed       AlertStatus = "closed"
)

// AlertStatuses lists the alert statuses.
func AlertStatuses() []AlertStatus { return alertStatuses.Values() }

var alertStatuses = enum.Of(AlertNew, AlertAcknowledged, AlertInCase, AlertClosed)

// Disposition is an analyst's verdict on an alert.
type Disposition string

const (
	TruePositive  Disposition = "true-positive"
	FalsePositive Disposition = "false-positive"
	Benign        Disposition = "benign"
	Duplicate     Disposition = "duplicate"
	Test          Disposition = "test"
)

// Dispositions lists the verdicts.
func Dispositions() []Disposition { return dispositions.Values() }

var dispositions = enum.Of(TruePositive, FalsePositive, Benign, Duplicate, Test)

// CaseStatus is where a case is in its workflow (transitions in case.go).
type CaseStatus string

const (
	CaseNew        CaseStatus = "new"
	CaseInProgress CaseStatus = "in-progress"
	CaseResolved   CaseStatus = "resolved"
	CaseClosed     CaseStatus = "closed"
)

// CaseStatuses lists the case statuses in workflow order.
func CaseStatuses() []CaseStatus { return caseStatuses.Values() }

var caseStatuses = enum.Of(CaseNew, CaseInProgress, CaseResolved, CaseClosed)

// Resolution says how a case ended.
type Resolution string

const (
	ResolvedTruePositive  Resolution = "true-positive"
	ResolvedFalsePositive Resolution = "false-positive"
	ResolvedBenign        Resolution = "benign"
	ResolvedDuplicate     Resolution = "duplicate"
	ResolvedOther         Resolution = "other"
)

// Resolutions lists how a case may end.
func Resolutions() []Resolution { return resolutions.Values() }

var resolutions = enum.Of(ResolvedTruePositive, ResolvedFalsePositive, ResolvedBenign, ResolvedDuplicate, ResolvedOther)

// Impact is what an incident did to the organisation.
type Impact string

const (
	ImpactNone        Impact = "none"
	ImpactMinor       Impact = "minor"
	ImpactSignificant Impact = "significant"
	ImpactSevere      Impact = "severe"
)

// Impacts lists the impact levels.
func Impacts() []Impact { return impacts.Values() }

var impacts = enum.Of(ImpactNone, ImpactMinor, ImpactSignificant, ImpactSevere)

// oneOf checks that v is one of allowed, naming field and the choices:
// the enum rule, for the lists the call sites pass.
func oneOf[T ~string](field string, v T, allowed []T) error {
	return enum.Of(allowed...).Check(field, v)
}

func names[T ~string](xs []T) string {
	ss := make([]string, len(xs))
	for i, x := range xs {
		ss[i] = string(x)
	}
	return strings.Join(ss, ", ")
}

// Lengths of the text a producer or analyst may store.
const (
	maxTitle       = 300
	maxDescription = 100_000 // a Markdown case description
	maxShortText   = safetext.MaxText
	maxTags        = 50
	maxFields      = 100
	maxObservables = 500
	maxFieldKey    = 64
	maxIDs         = 1000 // alerts in one bulk call
)

// checkName checks a one-line value (source, type, title).
func checkName(field, v string, required bool, max int) error {
	if required && strings.TrimSpace(v) == "" {
		return fault.Invalidf(field, "is required")
	}
	if p := safetext.Problem(v, safetext.Name, max); p != "" {
		return fault.Invalidf(field, "%s", p)
	}
	return nil
}

// checkText checks free text (descriptions, comments, reasons).
func checkText(field, v string, max int) error {
	if p := safetext.Problem(v, safetext.Text, max); p != "" {
		return fault.Invalidf(field, "%s", p)
	}
	return nil
}

// tagRE is a tag's characters; its length (up to 64 characters) is
// checked apart: a bounded repeat of the Unicode classes, {0,63}, made
// the compiled expression 63 copies of them, 2.6 MB and 12 ms at every
// start of every vigil command.
var tagRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_.:/+-]*$`) })

// normTags trims, lower-cases, de-duplicates and checks tags.
func normTags(field string, tags []string) ([]string, error) {
	if len(tags) > maxTags {
		return nil, fault.Invalidf(field, "has %d tags; at most %d", len(tags), maxTags)
	}
	out := []string{}
	seen := map[string]bool{}
	for i, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if utf8.RuneCountInString(t) > 64 || !tagRE().MatchString(t) {
			return nil, fault.Invalidf(fmt.Sprintf("%s[%d]", field, i), "%q is not a tag: letters, digits and _ . : / + - (up to 64, starting with a letter or digit)", t)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

var fieldKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`) })
