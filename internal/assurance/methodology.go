package assurance

import (
	"context"
	"fmt"

	"github.com/vigil-health/vigil/internal/store"
)

// The published methodology is generated from the scoring code itself:
// each row of its table is what line (score.go) gives for that case, so
// the page cannot say one thing while the code does another
// (TestMethodologyMatchesScoring, and the web test that reads the page).

// MethodVersion is the version of the scoring method in force. Change it,
// and add a MethodChange saying what changed, whenever score.go's rules
// change: every recorded score keeps the version that computed it.
const MethodVersion = 2

// MethodChange is one entry of the method's change log.
type MethodChange struct {
	Version int    `json:"version"`
	Date    string `json:"date"`
	Summary string `json:"summary"`
}

// MethodChanges is the change log, oldest first.
func MethodChanges() []MethodChange {
	return []MethodChange{
		{Version: 1, Date: "2026-11-30", Summary: "First method: weighted points per requirement (met 2w, partly w, not met 0, rejected 0, not applicable left out), summed by principle, objective and statement."},
		{Version: 2, Date: "2026-12-07", Summary: "Same points as version 1. Each requirement's line also gives the dates that moved it (answered, reviewed, latest evidence); scores record the method version; disputes may amend a review decision, and the amended score is recorded."},
	}
}

// MethodCase is one row of the methodology's table: an answer and review,
// and the points it earns for weight 1 and for WeightExample.
type MethodCase struct {
	Answer  Answer `json:"answer,omitempty"`
	Review  Review `json:"review,omitempty"`
	Case    string `json:"case"`
	Points1 int    `json:"points_weight_1"`
	Max1    int    `json:"max_weight_1"`
	PointsW int    `json:"points_weight_example"`
	MaxW    int    `json:"max_weight_example"`
	Why     string `json:"why"`
}

// WeightExample is the second weight the methodology's table shows.
const WeightExample = 3

// Methodology is the published method: its version, change log, summary,
// the table of cases computed by the scoring code, and how groups add up.
type Methodology struct {
	Version       int            `json:"version"`
	Summary       string         `json:"summary"`
	WeightExample int            `json:"weight_example"`
	MaxWeight     int            `json:"max_weight"`
	Cases         []MethodCase   `json:"cases"`
	Aggregation   []string       `json:"aggregation"`
	Profile       []string       `json:"profile_comparison"`
	Priority      PriorityMethod `json:"priority"`
	Changes       []MethodChange `json:"changes"`
}

// methodCases are the cases the table lists, in order.
var methodCases = []struct {
	a    AnswerState
	name string
}{
	{AnswerState{Answer: Met, Review: ReviewAccepted}, "Met, accepted"},
	{AnswerState{Answer: Met}, "Met, awaiting review"},
	{AnswerState{Answer: Partly, Review: ReviewAccepted}, "Partly met"},
	{AnswerState{Answer: NotMet, Review: ReviewAccepted}, "Not met"},
	{AnswerState{Answer: Met, Review: ReviewRejected}, "Any answer the assessor rejected"},
	{AnswerState{Answer: NotApplicable, Review: ReviewAccepted}, "Not applicable"},
	{AnswerState{}, "Not answered"},
}

// GetMethodology describes the method in force, computed from the code.
func GetMethodology() Methodology {
	m := Methodology{Version: MethodVersion, Summary: ScoreMethod, WeightExample: WeightExample, MaxWeight: MaxWeight, Changes: MethodChanges(),
		Aggregation: []string{
			"A principle's points and maximum are the sums of its requirements'.",
			"An objective's are the sums of its principles'; the statement's the sums of its objectives'.",
			"The percentage is 100 × points ÷ maximum, to one decimal place, for display only: the points are whole numbers, so the parts add up to the whole exactly.",
			"A campaign copies its requirements and weights (1 unless the assessor set 1–100) when it starts, so later changes to a set or a weight never move an existing statement's score.",
		},
		Profile: []string{
			"Against a profile, each answer reaches a level: met → achieved; partly met → partially achieved; not met, rejected or not answered → not achieved; not applicable is reported as such.",
			"A requirement meets the profile when its level is at or above the target (achieved > partially achieved > not achieved); an in-scope target (an implementation group's member) needs met.",
		},
		Priority: PriorityRules(),
	}
	for _, c := range methodCases {
		one := line(Requirement{Weight: 1}, c.a)
		w := line(Requirement{Weight: WeightExample}, c.a)
		m.Cases = append(m.Cases, MethodCase{Answer: c.a.Answer, Review: c.a.Review, Case: c.name, Points1: one.Points, Max1: one.Max, PointsW: w.Points, MaxW: w.Max, Why: one.Why})
	}
	return m
}

// ScoreRecord is a score as recorded when a statement was accepted or a
// dispute amended it.
type ScoreRecord struct {
	MethodVersion int     `json:"method_version"`
	Points        int     `json:"points"`
	Max           int     `json:"max"`
	Percent       float64 `json:"percent"`
	Reason        string  `json:"reason"`
	At            string  `json:"at"`
}

// recordScore stores the statement's score now, computed in tx, with the
// method version and why it was recorded.
func (s *Service) recordScore(ctx context.Context, tx *store.Tx, id, campaign, reason, now string) error {
	reqs, err := s.requirements(ctx, tx, campaign)
	if err != nil {
		return err
	}
	states := map[int]AnswerState{}
	rows, err := tx.QueryContext(ctx, `SELECT seq, answer, review FROM assurance_answers WHERE statement_id = ?`, id)
	if err != nil {
		return fmt.Errorf("assurance: record score: %w", err)
	}
	for rows.Next() {
		var n int
		var a AnswerState
		if err := rows.Scan(&n, &a.Answer, &a.Review); err != nil {
			rows.Close()
			return err
		}
		states[n] = a
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sc := ScoreOf(reqs, states)
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM assurance_score_records WHERE statement_id = ?`, id).Scan(&seq); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO assurance_score_records (statement_id, seq, method_version, points, max_points, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, seq+1, sc.MethodVersion, sc.Points, sc.Max, reason, now)
	return err
}

// scoreRecords reads a statement's recorded scores, oldest first.
func (s *Service) scoreRecords(ctx context.Context, q store.Queryer, id string) ([]ScoreRecord, error) {
	rows, err := q.QueryContext(ctx, `SELECT method_version, points, max_points, reason, at FROM assurance_score_records WHERE statement_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("assurance: score records: %w", err)
	}
	return store.Collect(rows, func(r interface{ Scan(...any) error }) (ScoreRecord, error) {
		var x ScoreRecord
		err := r.Scan(&x.MethodVersion, &x.Points, &x.Max, &x.Reason, &x.At)
		x.Percent = Percent(x.Points, x.Max)
		return x, err
	})
}
