package assurance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Disputes: a supplier's representative disputes a statement's score
// (seq 0) or the assessor's decision on one answer (seq > 0), with a
// reason; the campaign's assessors answer by upholding it (the decision
// stands) or amending the decision on an answer (which re-scores the
// statement and records the new score). Both sides add to the thread
// while it is open. Disputes are seen by the supplier's representatives
// and the campaign's assessors only; every step is audited.

// Dispute statuses and answers.
const (
	DisputeOpen    = "open"
	DisputeUpheld  = "upheld"
	DisputeAmended = "amended"
	// Decisions an assessor gives.
	Uphold = "uphold"
	Amend  = "amend"
)

// Dispute is one dispute with its thread.
type Dispute struct {
	ID           string `json:"id"`
	StatementID  string `json:"statement_id"`
	SupplierID   string `json:"supplier_id"`
	CampaignName string `json:"campaign_name,omitempty"`
	// Seq is the disputed answer's requirement (0: the whole score).
	Seq          int              `json:"seq"`
	Subject      string           `json:"subject"`
	Reason       string           `json:"reason"`
	Status       string           `json:"status"`
	RaisedBy     string           `json:"raised_by"`
	RaisedAt     string           `json:"raised_at"`
	DecidedBy    string           `json:"decided_by,omitempty"`
	DecidedAt    string           `json:"decided_at,omitempty"`
	DecisionNote string           `json:"decision_note,omitempty"`
	AmendedSeq   int              `json:"amended_seq,omitempty"`
	AmendedFrom  Review           `json:"amended_from,omitempty"`
	AmendedTo    Review           `json:"amended_to,omitempty"`
	Messages     []DisputeMessage `json:"messages"`
}

// DisputeMessage is one message of a dispute's thread.
type DisputeMessage struct {
	Side   string `json:"side"` // supplier or assessor
	Author string `json:"author"`
	Body   string `json:"body"`
	At     string `json:"at"`
}

// NewDispute is what a supplier's representative raises.
type NewDispute struct {
	// Seq is the requirement whose review decision is disputed; 0 disputes
	// the score as a whole.
	Seq    int    `json:"seq"`
	Reason string `json:"reason"`
}

// DisputeAnswer is an assessor's answer.
type DisputeAnswer struct {
	// Decision is uphold or amend.
	Decision string `json:"decision"`
	Note     string `json:"note"`
	// Seq and Review, for amend: the answer whose review changes (the
	// disputed one by default) and its new decision (accepted or
	// rejected).
	Seq    int    `json:"seq,omitempty"`
	Review Review `json:"review,omitempty"`
}

func text(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if p := safetext.Problem(v, safetext.Text, safetext.MaxText); p != "" {
		return "", fault.Invalidf(field, "%s", p)
	}
	if v == "" {
		return "", fault.Invalidf(field, "is required: say why")
	}
	return v, nil
}

// RaiseDispute opens a dispute of a submitted (or later) statement.
func (s *Service) RaiseDispute(ctx context.Context, sc scope.Scope, statement string, n NewDispute) (Dispute, error) {
	reason, err := text("reason", n.Reason)
	if err != nil {
		return Dispute{}, err
	}
	id := randid.New("DP")
	err = s.change(ctx, sc, statement, func(tx *store.Tx, h head, st standing, now string) error {
		if err := s.supplierWriter(sc, st); err != nil {
			return fault.Forbiddenf("only the supplier's representatives dispute its score")
		}
		if h.status == StatusDraft {
			return fault.Conflictf("statement %s is a draft: there is no score or review decision to dispute yet", statement)
		}
		subject := "the score"
		if n.Seq < 0 {
			return fault.Invalidf("seq", "give a requirement's number, or 0 for the score")
		}
		if n.Seq > 0 {
			r, err := requirementAt(ctx, tx, h.campaign, statement, n.Seq)
			if err != nil {
				return err
			}
			a, had, err := answerOf(ctx, tx, statement, n.Seq)
			if err != nil {
				return err
			}
			if !had || a.Review == "" {
				return fault.Conflictf("requirement %s has no review decision to dispute yet", r.Label())
			}
			subject = fmt.Sprintf("the review of %s (%s)", r.Label(), strings.ToLower(a.Review.Label()))
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM assurance_disputes WHERE statement_id = ? AND seq = ? AND status = ?`, statement, n.Seq, DisputeOpen).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fault.Conflictf("%s is already disputed; add to that dispute's thread", subject)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_disputes (dispute_id, statement_id, supplier_id, seq, reason, status, raised_by, raised_name, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, statement, h.supplier, n.Seq, reason, DisputeOpen, sc.UserID, actor(sc), now); err != nil {
			return fmt.Errorf("assurance: raise dispute: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.dispute.raise", ObjectType: "assurance-statement", ObjectID: statement, Org: h.owner,
			After: map[string]any{"dispute": id, "seq": n.Seq, "subject": subject, "reason": reason}})
		return err
	})
	if err != nil {
		return Dispute{}, err
	}
	return s.GetDispute(ctx, sc, id)
}

// disputeHead finds a dispute's statement and checks the caller stands
// to it as supplier or assessor.
func (s *Service) disputeHead(ctx context.Context, sc scope.Scope, id string) (string, standing, error) {
	if err := s.needRegister(); err != nil {
		return "", standing{}, err
	}
	var statement string
	err := s.db.Q().QueryRowContext(ctx, `SELECT statement_id FROM assurance_disputes WHERE dispute_id = ?`, id).Scan(&statement)
	if errors.Is(err, sql.ErrNoRows) {
		return "", standing{}, fault.NotFoundf("no dispute %s", id)
	}
	if err != nil {
		return "", standing{}, fmt.Errorf("assurance: dispute %s: %w", id, err)
	}
	h, err := s.headOf(ctx, s.db.Q(), sc, statement)
	if err != nil {
		return "", standing{}, fault.NotFoundf("no dispute %s", id)
	}
	st, err := s.standingOf(ctx, sc, h)
	if err != nil || !(st.assessor || st.supplier) {
		return "", standing{}, fault.NotFoundf("no dispute %s", id)
	}
	return statement, st, nil
}

// GetDispute reads one dispute with its thread (the supplier's
// representatives and the campaign's assessors).
func (s *Service) GetDispute(ctx context.Context, sc scope.Scope, id string) (Dispute, error) {
	if _, _, err := s.disputeHead(ctx, sc, id); err != nil {
		return Dispute{}, err
	}
	ds, err := s.disputesOf(ctx, s.db.Q(), "d.dispute_id = ?", []any{id})
	if err != nil {
		return Dispute{}, err
	}
	if len(ds) == 0 {
		return Dispute{}, fault.NotFoundf("no dispute %s", id)
	}
	return ds[0], nil
}

// DisputeFilter narrows ListDisputes.
type DisputeFilter struct {
	SupplierID string
	Status     string
}

// ListDisputes lists the disputes the caller may see: of the campaigns it
// assesses and of the suppliers it represents; newest first.
func (s *Service) ListDisputes(ctx context.Context, sc scope.Scope, f DisputeFilter) ([]Dispute, error) {
	if err := s.needRegister(); err != nil {
		return nil, err
	}
	where, args := sc.Filter("c.owner_org", scope.Supply)
	conds := []string{"(" + where + ")"}
	own, err := s.ownSuppliers(ctx, sc)
	if err != nil {
		return nil, err
	}
	if len(own) > 0 {
		conds = append(conds, "d.supplier_id IN ("+store.Placeholders(len(own))+")")
		args = append(args, keys(own)...)
	}
	q := "(" + strings.Join(conds, " OR ") + ")"
	if f.SupplierID != "" {
		q += " AND d.supplier_id = ?"
		args = append(args, f.SupplierID)
	}
	if f.Status != "" {
		q += " AND d.status = ?"
		args = append(args, f.Status)
	}
	return s.disputesOf(ctx, s.db.Q(), q, args)
}

// disputesOf reads the disputes where (over d, st and c) holds, with
// their threads, newest first.
func (s *Service) disputesOf(ctx context.Context, q store.Queryer, where string, args []any) ([]Dispute, error) {
	rows, err := q.QueryContext(ctx, `SELECT d.dispute_id, d.statement_id, d.supplier_id, c.name, d.seq, d.reason, d.status, d.raised_name, d.raised_at,
		d.decided_name, d.decided_at, d.decision_note, d.amended_seq, d.amended_from, d.amended_to
		FROM assurance_disputes d JOIN assurance_statements st ON st.statement_id = d.statement_id JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id
		WHERE `+where+` ORDER BY d.raised_at DESC, d.dispute_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: disputes: %w", err)
	}
	out, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (Dispute, error) {
		var d Dispute
		err := r.Scan(&d.ID, &d.StatementID, &d.SupplierID, &d.CampaignName, &d.Seq, &d.Reason, &d.Status, &d.RaisedBy, &d.RaisedAt,
			&d.DecidedBy, &d.DecidedAt, &d.DecisionNote, &d.AmendedSeq, &d.AmendedFrom, &d.AmendedTo)
		d.Messages = []DisputeMessage{}
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("assurance: disputes: %w", err)
	}
	for i := range out {
		d := &out[i]
		d.Subject = "the score"
		if d.Seq > 0 {
			var ref, name string
			if err := q.QueryRowContext(ctx, `SELECT cr.ref, cr.name FROM assurance_campaign_requirements cr JOIN assurance_statements st ON st.campaign_id = cr.campaign_id
				WHERE st.statement_id = ? AND cr.seq = ?`, d.StatementID, d.Seq).Scan(&ref, &name); err != nil {
				return nil, fmt.Errorf("assurance: dispute %s: %w", d.ID, err)
			}
			d.Subject = "the review of " + Requirement{Ref: ref, Name: name}.Label()
		}
		if err := each(ctx, q, `SELECT side, author_name, body, at FROM assurance_dispute_messages WHERE dispute_id = ? ORDER BY n`, d.ID, func(r *sql.Rows) error {
			var m DisputeMessage
			err := r.Scan(&m.Side, &m.Author, &m.Body, &m.At)
			d.Messages = append(d.Messages, m)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// disputeChange runs fn in a statement change on an open dispute.
func (s *Service) disputeChange(ctx context.Context, sc scope.Scope, id string, fn func(tx *store.Tx, h head, st standing, seq int, now string) error) error {
	statement, _, err := s.disputeHead(ctx, sc, id)
	if err != nil {
		return err
	}
	return s.change(ctx, sc, statement, func(tx *store.Tx, h head, st standing, now string) error {
		var status string
		var seq int
		if err := tx.QueryRowContext(ctx, `SELECT status, seq FROM assurance_disputes WHERE dispute_id = ?`, id).Scan(&status, &seq); err != nil {
			return err
		}
		if status != DisputeOpen {
			return fault.Conflictf("dispute %s is %s: it is closed", id, status)
		}
		return fn(tx, h, st, seq, now)
	})
}

// CommentDispute adds to an open dispute's thread (either side).
func (s *Service) CommentDispute(ctx context.Context, sc scope.Scope, id, body string) (Dispute, error) {
	body, err := text("body", body)
	if err != nil {
		return Dispute{}, err
	}
	err = s.disputeChange(ctx, sc, id, func(tx *store.Tx, h head, st standing, _ int, now string) error {
		side := "assessor"
		switch {
		case st.assessor:
		case st.supplier && sc.Can(scope.Write):
			side = "supplier"
		default:
			return fault.Forbiddenf("only the supplier's representatives and the campaign's assessors discuss a dispute")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM assurance_dispute_messages WHERE dispute_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_dispute_messages (message_id, dispute_id, n, side, author_id, author_name, body, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			randid.New("DM"), id, n+1, side, sc.UserID, actor(sc), body, now); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.dispute.comment", ObjectType: "assurance-statement", ObjectID: h.id, Org: h.owner,
			After: map[string]any{"dispute": id, "side": side, "body": body}})
		return err
	})
	if err != nil {
		return Dispute{}, err
	}
	return s.GetDispute(ctx, sc, id)
}

// AnswerDispute closes a dispute: uphold (the decision stands) or amend
// (the review of one answer changes, the score is recomputed and
// recorded). Only the campaign's assessors answer, with a note.
func (s *Service) AnswerDispute(ctx context.Context, sc scope.Scope, id string, in DisputeAnswer) (Dispute, error) {
	note, err := text("note", in.Note)
	if err != nil {
		return Dispute{}, err
	}
	if in.Decision != Uphold && in.Decision != Amend {
		return Dispute{}, fault.Invalidf("decision", "%q is not uphold or amend", in.Decision)
	}
	if in.Decision == Amend && in.Review != ReviewAccepted && in.Review != ReviewRejected {
		return Dispute{}, fault.Invalidf("review", "an amendment gives the answer's new decision: accepted or rejected")
	}
	err = s.disputeChange(ctx, sc, id, func(tx *store.Tx, h head, st standing, seq int, now string) error {
		if !st.assessor {
			return fault.Forbiddenf("only the campaign's assessors answer a dispute")
		}
		after := map[string]any{"dispute": id, "decision": in.Decision, "note": note}
		status := DisputeUpheld
		var amendSeq int
		var from, to Review
		if in.Decision == Amend {
			status, amendSeq, to = DisputeAmended, in.Seq, in.Review
			if amendSeq == 0 {
				amendSeq = seq
			}
			if amendSeq == 0 {
				return fault.Invalidf("seq", "say which answer's review the amendment changes")
			}
			r, err := requirementAt(ctx, tx, h.campaign, h.id, amendSeq)
			if err != nil {
				return err
			}
			a, had, err := answerOf(ctx, tx, h.id, amendSeq)
			if err != nil {
				return err
			}
			if !had || a.Review == "" {
				return fault.Conflictf("requirement %s has no review decision to amend", r.Label())
			}
			from = a.Review
			if from == to {
				return fault.Conflictf("requirement %s is already %s: uphold the dispute instead", r.Label(), strings.ToLower(to.Label()))
			}
			if _, err := tx.ExecContext(ctx, `UPDATE assurance_answers SET review = ?, reviewed_at = ?, reviewed_by = ? WHERE statement_id = ? AND seq = ?`,
				string(to), now, actor(sc), h.id, amendSeq); err != nil {
				return err
			}
			if h.status == StatusAccepted {
				if err := s.recordScore(ctx, tx, h.id, h.campaign, "dispute "+id+" amended", now); err != nil {
					return err
				}
			}
			after["seq"], after["review_from"], after["review_to"] = amendSeq, from, to
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assurance_disputes SET status = ?, decided_name = ?, decided_at = ?, decision_note = ?, amended_seq = ?, amended_from = ?, amended_to = ? WHERE dispute_id = ?`,
			status, actor(sc), now, note, amendSeq, string(from), string(to), id); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.dispute.answer", ObjectType: "assurance-statement", ObjectID: h.id, Org: h.owner,
			Before: map[string]any{"dispute": id, "status": DisputeOpen}, After: after})
		return err
	})
	if err != nil {
		return Dispute{}, err
	}
	return s.GetDispute(ctx, sc, id)
}
