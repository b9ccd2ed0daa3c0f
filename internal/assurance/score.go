package assurance

import "math"

// Scoring method (docs/assurance.md, "Scores"). Every number is an
// integer of points, so the parts add up to the whole exactly:
//
//   - a requirement of weight w is worth 2w points;
//   - it earns 2w when met, w when partly met, 0 when not met or not
//     answered yet, and 0 when the assessor rejected the answer (whatever
//     it said);
//   - not applicable takes the requirement out: it earns 0 of 0;
//   - an objective's (and a principle's) points and maximum are the sums
//     of its requirements'; the statement's are the sums of its
//     objectives'; the percentage is 100 × points / maximum, rounded to
//     one decimal place only for display.

// ScoreMethod says the method in a sentence, for pages and the API.
const ScoreMethod = "Each requirement of weight w is worth 2w points: met earns 2w, partly met w, not met or unanswered 0, and an answer the assessor rejected 0; not applicable leaves the requirement out (0 of 0). Objectives and principles add up their requirements' points; the total adds up the objectives'."

// AnswerState is what scoring needs of one answer.
type AnswerState struct {
	Answer Answer
	Review Review
	// The dates that moved the line (shown in the breakdown; they do not
	// change the points): when it was answered and reviewed, how much
	// evidence it has and when the latest was added.
	AnsweredAt, ReviewedAt string
	Evidence               int
	EvidenceAt             string
}

// ScoreLine is one requirement's part of a score.
type ScoreLine struct {
	Seq    int    `json:"seq"`
	Ref    string `json:"ref,omitempty"`
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Answer Answer `json:"answer,omitempty"`
	Review Review `json:"review,omitempty"`
	Points int    `json:"points"`
	Max    int    `json:"max"`
	// Why says in words how the points came about.
	Why string `json:"why"`
	// Dates: when the answer was given and reviewed, how many pieces of
	// evidence support it and when the latest was added.
	AnsweredAt string `json:"answered_at,omitempty"`
	ReviewedAt string `json:"reviewed_at,omitempty"`
	Evidence   int    `json:"evidence,omitempty"`
	EvidenceAt string `json:"evidence_at,omitempty"`
}

// ScoreGroup is an objective, or a principle within one, with its parts.
type ScoreGroup struct {
	Key        string       `json:"key"`
	Name       string       `json:"name"`
	Points     int          `json:"points"`
	Max        int          `json:"max"`
	Percent    float64      `json:"percent"`
	Principles []ScoreGroup `json:"principles,omitempty"`
	Lines      []ScoreLine  `json:"requirements,omitempty"`
}

// Score is a statement's score and its breakdown.
type Score struct {
	Points  int     `json:"points"`
	Max     int     `json:"max"`
	Percent float64 `json:"percent"`
	Method  string  `json:"method"`
	// MethodVersion is the version of the method that computed this
	// score (methodology.go; the change log is MethodChanges).
	MethodVersion int          `json:"method_version"`
	Objectives    []ScoreGroup `json:"objectives"`
}

// Percent is 100 × points / max to one decimal place (0 when max is 0).
func Percent(points, max int) float64 {
	if max == 0 {
		return 0
	}
	return math.Round(1000*float64(points)/float64(max)) / 10
}

// line scores one requirement.
func line(r Requirement, a AnswerState) ScoreLine {
	l := ScoreLine{Seq: r.Seq, Ref: r.Ref, Name: r.Name, Weight: r.Weight, Answer: a.Answer, Review: a.Review, Max: 2 * r.Weight,
		AnsweredAt: a.AnsweredAt, ReviewedAt: a.ReviewedAt, Evidence: a.Evidence, EvidenceAt: a.EvidenceAt}
	switch {
	case a.Answer == NotApplicable:
		l.Max, l.Why = 0, "not applicable: left out"
	case a.Answer == "":
		l.Why = "not answered: 0"
	case a.Review == ReviewRejected:
		l.Why = "answer rejected by the assessor: 0"
	case a.Answer == Met:
		l.Points, l.Why = 2*r.Weight, "met: 2 × weight"
	case a.Answer == Partly:
		l.Points, l.Why = r.Weight, "partly met: 1 × weight"
	default:
		l.Why = "not met: 0"
	}
	return l
}

// ScoreOf scores answers (by requirement Seq) against reqs, grouped by
// objective then principle in the requirements' order.
func ScoreOf(reqs []Requirement, answers map[int]AnswerState) Score {
	sc := Score{Method: ScoreMethod, MethodVersion: MethodVersion, Objectives: []ScoreGroup{}}
	objIdx := map[string]int{}
	prIdx := map[[2]string]int{}
	for _, r := range reqs {
		l := line(r, answers[r.Seq])
		oi, ok := objIdx[r.Objective]
		if !ok {
			oi = len(sc.Objectives)
			objIdx[r.Objective] = oi
			sc.Objectives = append(sc.Objectives, ScoreGroup{Key: r.Objective, Name: r.ObjectiveName})
		}
		o := &sc.Objectives[oi]
		pk := [2]string{r.Objective, r.Principle}
		pi, ok := prIdx[pk]
		if !ok {
			pi = len(o.Principles)
			prIdx[pk] = pi
			o.Principles = append(o.Principles, ScoreGroup{Key: r.Principle, Name: r.PrincipleName})
		}
		p := &o.Principles[pi]
		p.Lines = append(p.Lines, l)
		p.Points += l.Points
		p.Max += l.Max
		o.Points += l.Points
		o.Max += l.Max
		sc.Points += l.Points
		sc.Max += l.Max
	}
	for i := range sc.Objectives {
		o := &sc.Objectives[i]
		o.Percent = Percent(o.Points, o.Max)
		for j := range o.Principles {
			o.Principles[j].Percent = Percent(o.Principles[j].Points, o.Principles[j].Max)
		}
	}
	sc.Percent = Percent(sc.Points, sc.Max)
	return sc
}
