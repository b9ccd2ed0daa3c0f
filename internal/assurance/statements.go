package assurance

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// Statement statuses: a statement is a draft the supplier fills in; it is
// submitted (immutable to the supplier, version counted); the assessor's
// first query returns it (the supplier may amend the queried answers and
// reply, then submit again); accepted is final.
const (
	StatusDraft     = "draft"
	StatusSubmitted = "submitted"
	StatusReturned  = "returned"
	StatusAccepted  = "accepted"
)

// Answer is a supplier's statement of adherence to one requirement.
type Answer string

// Answers.
const (
	Met           Answer = "met"
	Partly        Answer = "partly"
	NotMet        Answer = "not_met"
	NotApplicable Answer = "not_applicable"
)

// Answers lists the answers in the order forms offer them.
func Answers() []Answer { return []Answer{Met, Partly, NotMet, NotApplicable} }

// Label is the answer in words.
func (a Answer) Label() string {
	switch a {
	case Met:
		return "Met"
	case Partly:
		return "Partly met"
	case NotMet:
		return "Not met"
	case NotApplicable:
		return "Not applicable"
	}
	return "Not answered"
}

// Review is the assessor's decision on one answer ("" while waiting).
type Review string

// Review decisions.
const (
	ReviewAccepted Review = "accepted"
	ReviewQueried  Review = "queried"
	ReviewRejected Review = "rejected"
)

// Label is the review in words.
func (r Review) Label() string {
	switch r {
	case ReviewAccepted:
		return "Accepted"
	case ReviewQueried:
		return "Queried"
	case ReviewRejected:
		return "Rejected"
	}
	return "Awaiting review"
}

// Evidence limits: files at most MaxEvidence bytes, of the types in
// evidenceTypes (by extension; served with that type, always as an
// attachment); links https only.
const MaxEvidence = 10 << 20

var evidenceTypes = map[string]string{
	".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8", ".md": "text/plain; charset=utf-8",
	".json": "application/json", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text", ".ods": "application/vnd.oasis.opendocument.spreadsheet",
	".zip": "application/zip",
}

// EvidenceExtensions lists the file types accepted as evidence.
func EvidenceExtensions() []string { return slices.Sorted(maps.Keys(evidenceTypes)) }

// StatementSummary is one statement in a list.
type StatementSummary struct {
	ID           string `json:"id"`
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
	SetID        string `json:"set_id"`
	Deadline     string `json:"deadline"`
	SupplierID   string `json:"supplier_id"`
	SupplierName string `json:"supplier_name"`
	Status       string `json:"status"`
	// Tier is the supplier's tier when it was asked (a tiered campaign),
	// with the reason; Profile the profile it is asked against.
	Tier         string  `json:"tier,omitempty"`
	TierReason   string  `json:"tier_reason,omitempty"`
	Profile      string  `json:"profile,omitempty"`
	Version      int     `json:"version"`
	Answered     int     `json:"answered"`
	Requirements int     `json:"requirements"`
	Points       int     `json:"points"`
	Max          int     `json:"max"`
	Percent      float64 `json:"percent"`
	UpdatedAt    string  `json:"updated_at"`
}

// Evidence is a file or link given for an answer (without a file's bytes).
type Evidence struct {
	ID          string `json:"id"`
	StatementID string `json:"statement_id"`
	Seq         int    `json:"seq"`
	Kind        string `json:"kind"` // file, link or certificate
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	URL         string `json:"url,omitempty"`
	AddedBy     string `json:"added_by"`
	AddedAt     string `json:"added_at"`
}

// Comment is one message of an answer's conversation.
type Comment struct {
	ID     string `json:"id"`
	Seq    int    `json:"seq"`
	Side   string `json:"side"` // assessor or supplier
	Author string `json:"author"`
	Body   string `json:"body"`
	At     string `json:"at"`
}

// AnswerView is one requirement of a statement with its answer, review,
// evidence and conversation.
type AnswerView struct {
	Requirement
	Answer        Answer     `json:"answer,omitempty"`
	Justification string     `json:"justification,omitempty"`
	Review        Review     `json:"review,omitempty"`
	AnsweredAt    string     `json:"answered_at,omitempty"`
	AnsweredBy    string     `json:"answered_by,omitempty"`
	ReviewedAt    string     `json:"reviewed_at,omitempty"`
	ReviewedBy    string     `json:"reviewed_by,omitempty"`
	Evidence      []Evidence `json:"evidence,omitempty"`
	Comments      []Comment  `json:"comments,omitempty"`
	// Editable: the caller may change this answer now.
	Editable bool `json:"editable,omitempty"`
}

// May says what the caller may do with a statement now.
type May struct {
	Assess  bool `json:"assess"`  // the caller is an assessor of its campaign
	Supply  bool `json:"supply"`  // the caller represents its supplier
	Answer  bool `json:"answer"`  // change answers (some or all)
	Submit  bool `json:"submit"`  // submit it
	Review  bool `json:"review"`  // accept, query or reject answers
	Accept  bool `json:"accept"`  // accept the whole statement
	Comment bool `json:"comment"` // take part in the conversations
	Dispute bool `json:"dispute"` // dispute its score or a review decision
}

// Statement is one statement whole.
type Statement struct {
	StatementSummary
	OwnerOrg    string       `json:"owner_org"`
	SignedName  string       `json:"signed_name,omitempty"`
	SignedRole  string       `json:"signed_role,omitempty"`
	SubmittedAt string       `json:"submitted_at,omitempty"`
	AcceptedAt  string       `json:"accepted_at,omitempty"`
	AcceptedBy  string       `json:"accepted_by,omitempty"`
	Answers     []AnswerView `json:"answers"`
	Score       Score        `json:"score"`
	May         May          `json:"may"`
	// ScoreRecords are the scores recorded when the statement was accepted
	// and when a dispute amended it, each with its method version.
	ScoreRecords []ScoreRecord `json:"score_records,omitempty"`
	// Disputes are the supplier's disputes of this statement (for the
	// supplier and the assessors only), newest first.
	Disputes []Dispute `json:"disputes,omitempty"`
}

// head is what access decisions need of a statement.
type head struct {
	id, campaign, supplier, status, owner string
	assessor                              bool
	closed                                bool // the campaign is closed
}

// standing is how the caller stands to one statement.
// link: the supplier's standing comes from a portal session (links.go),
// which may write without holding any grant.
type standing struct{ assessor, supplier, deployer, link bool }

func (st standing) any() bool { return st.assessor || st.supplier || st.deployer }

// ownSuppliers are the suppliers the caller represents.
func (s *Service) ownSuppliers(ctx context.Context, sc scope.Scope) (map[string]bool, error) {
	sups, _, err := s.register.Own(ctx, sc)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(sups))
	for _, sp := range sups {
		out[sp.ID] = true
	}
	return out, nil
}

// deploys reports whether an organisation the caller reads deploys a
// product of supplier: one question per product of the supplier, cheaper
// than deployedSuppliers when one supplier is asked about.
func (s *Service) deploys(ctx context.Context, sc scope.Scope, supplier string) (bool, error) {
	prods, err := s.register.ListProducts(ctx, sc, supplier)
	if errors.Is(err, fault.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, p := range prods {
		deps, err := s.register.ListDeployments(ctx, sc, supply.DeploymentFilter{ProductID: p.ID, Limit: 1})
		if err != nil {
			return false, err
		}
		if len(deps) > 0 {
			return true, nil
		}
	}
	return false, nil
}

func (s *Service) headOf(ctx context.Context, q store.Queryer, sc scope.Scope, id string) (head, error) {
	where, args := sc.Filter("c.owner_org", scope.Supply)
	var h head
	var a int
	var closed string
	err := q.QueryRowContext(ctx, `SELECT st.statement_id, st.campaign_id, st.supplier_id, st.status, c.owner_org, CASE WHEN `+where+` THEN 1 ELSE 0 END, c.closed_at
		FROM assurance_statements st JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id WHERE st.statement_id = ?`, append(args, id)...).
		Scan(&h.id, &h.campaign, &h.supplier, &h.status, &h.owner, &a, &closed)
	h.closed = closed != ""
	if errors.Is(err, sql.ErrNoRows) {
		return head{}, fault.NotFoundf("no statement %s", id)
	}
	if err != nil {
		return head{}, fmt.Errorf("assurance: statement %s: %w", id, err)
	}
	h.assessor = a == 1
	return h, nil
}

// standingOf decides how sc stands to the statement; none is not found.
func (s *Service) standingOf(ctx context.Context, sc scope.Scope, h head) (standing, error) {
	if linkFrom(ctx, h.id) {
		return standing{supplier: true, link: true}, nil
	}
	st := standing{assessor: h.assessor}
	own, err := s.ownSuppliers(ctx, sc)
	if err != nil {
		return st, err
	}
	st.supplier = own[h.supplier]
	if h.status == StatusAccepted && !st.assessor && !st.supplier {
		if st.deployer, err = s.sharedWith(ctx, sc, h.supplier); err != nil {
			return st, err
		}
	}
	if !st.any() {
		return st, fault.NotFoundf("no statement %s", h.id)
	}
	return st, nil
}

// StatementFilter narrows ListStatements.
type StatementFilter struct {
	CampaignID string
	SupplierID string
	Status     string
}

// ListStatements lists the statements the caller may see: those of the
// campaigns it assesses, of the suppliers it represents, and the accepted
// statements of the suppliers its organisations deploy; by deadline and
// supplier.
func (s *Service) ListStatements(ctx context.Context, sc scope.Scope, f StatementFilter) ([]StatementSummary, error) {
	if err := s.needRegister(); err != nil {
		return nil, err
	}
	where, args := sc.Filter("c.owner_org", scope.Supply)
	conds := []string{"(" + where + ")"}
	if sc.National(scope.Supply) {
		// A national assessor sees every campaign's statements already;
		// asking the register what it deploys would read every deployment.
		q := filtered(conds, &args, f)
		return s.summaries(ctx, q, args)
	}
	own, err := s.ownSuppliers(ctx, sc)
	if err != nil {
		return nil, err
	}
	if len(own) > 0 {
		conds = append(conds, "st.supplier_id IN ("+store.Placeholders(len(own))+")")
		args = append(args, keys(own)...)
	}
	// Deploying organisations see accepted statements at the level each
	// supplier shares them (sharing.go).
	var dep map[string]bool
	if f.SupplierID != "" {
		ok, err := s.sharedWith(ctx, sc, f.SupplierID)
		if err != nil {
			return nil, err
		}
		dep = map[string]bool{f.SupplierID: ok}
		if !ok {
			dep = nil
		}
	} else if dep, err = s.sharedSuppliers(ctx, sc); err != nil {
		return nil, err
	}
	if len(dep) > 0 {
		conds = append(conds, "(st.status = ? AND st.supplier_id IN ("+store.Placeholders(len(dep))+"))")
		args = append(append(args, StatusAccepted), keys(dep)...)
	}
	q := filtered(conds, &args, f)
	return s.summaries(ctx, q, args)
}

// filtered joins the visibility conditions (any of them) and the filter's.
func filtered(conds []string, args *[]any, f StatementFilter) string {
	q := "(" + strings.Join(conds, " OR ") + ")"
	for _, x := range []struct{ col, v string }{{"st.campaign_id", f.CampaignID}, {"st.supplier_id", f.SupplierID}, {"st.status", f.Status}} {
		if x.v != "" {
			q += " AND " + x.col + " = ?"
			*args = append(*args, x.v)
		}
	}
	return q
}

func keys(m map[string]bool) []any {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k
	}
	return out
}

// summaries reads the statements where (over st and c) holds, with their
// answered counts and scores.
func (s *Service) summaries(ctx context.Context, where string, args []any) ([]StatementSummary, error) {
	q := s.db.Q()
	rows, err := q.QueryContext(ctx, `SELECT st.statement_id, st.campaign_id, c.name, c.set_id, c.deadline, st.supplier_id, st.supplier_name, st.status, st.version, st.updated_at,
		st.tier, st.tier_reason, st.profile, c.profile
		FROM assurance_statements st JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id WHERE `+where+` ORDER BY c.deadline, st.supplier_name, st.statement_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: list statements: %w", err)
	}
	out := []StatementSummary{}
	idx := map[string]int{}
	for rows.Next() {
		var x StatementSummary
		var cprofile string
		if err := rows.Scan(&x.ID, &x.CampaignID, &x.CampaignName, &x.SetID, &x.Deadline, &x.SupplierID, &x.SupplierName, &x.Status, &x.Version, &x.UpdatedAt,
			&x.Tier, &x.TierReason, &x.Profile, &cprofile); err != nil {
			rows.Close()
			return nil, fmt.Errorf("assurance: list statements: %w", err)
		}
		if x.Profile == "" {
			x.Profile = cprofile
		}
		x.Profile = strings.TrimPrefix(x.Profile, allRequirements)
		idx[x.ID] = len(out)
		out = append(out, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	answers := map[string]map[int]AnswerState{}
	ans, err := q.QueryContext(ctx, `SELECT a.statement_id, a.seq, a.answer, a.review FROM assurance_answers a
		JOIN assurance_statements st ON st.statement_id = a.statement_id JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: list answers: %w", err)
	}
	for ans.Next() {
		var id string
		var seq int
		var a AnswerState
		if err := ans.Scan(&id, &seq, &a.Answer, &a.Review); err != nil {
			ans.Close()
			return nil, err
		}
		if answers[id] == nil {
			answers[id] = map[int]AnswerState{}
		}
		answers[id][seq] = a
	}
	ans.Close()
	if err := ans.Err(); err != nil {
		return nil, err
	}
	reqs := map[string][]Requirement{}
	for i := range out {
		x := &out[i]
		r, ok := reqs[x.CampaignID+"\x00"+x.Profile]
		if !ok {
			if r, err = s.statementRequirements(ctx, q, x.CampaignID, x.ID); err != nil {
				return nil, err
			}
			reqs[x.CampaignID+"\x00"+x.Profile] = r
		}
		sc := ScoreOf(r, answers[x.ID])
		x.Requirements, x.Answered = len(r), len(answers[x.ID])
		x.Points, x.Max, x.Percent = sc.Points, sc.Max, sc.Percent
	}
	return out, nil
}

// GetStatement reads one statement the caller may see, with what the
// caller may do with it.
func (s *Service) GetStatement(ctx context.Context, sc scope.Scope, id string) (Statement, error) {
	if err := s.needRegister(); err != nil {
		return Statement{}, err
	}
	h, err := s.headOf(ctx, s.db.Q(), sc, id)
	if err != nil {
		return Statement{}, err
	}
	st, err := s.standingOf(ctx, sc, h)
	if err != nil {
		return Statement{}, err
	}
	return s.read(ctx, sc, id, st)
}

func (s *Service) read(ctx context.Context, sc scope.Scope, id string, st standing) (Statement, error) {
	q := s.db.Q()
	var x Statement
	var cprofile, closed string
	err := q.QueryRowContext(ctx, `SELECT st.statement_id, st.campaign_id, c.name, c.set_id, c.deadline, c.owner_org, c.profile, st.supplier_id, st.supplier_name, st.status, st.version,
		st.signed_name, st.signed_role, st.submitted_at, st.accepted_at, st.accepted_by, st.updated_at, st.tier, st.tier_reason, st.profile, c.closed_at
		FROM assurance_statements st JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id WHERE st.statement_id = ?`, id).
		Scan(&x.ID, &x.CampaignID, &x.CampaignName, &x.SetID, &x.Deadline, &x.OwnerOrg, &cprofile, &x.SupplierID, &x.SupplierName, &x.Status, &x.Version,
			&x.SignedName, &x.SignedRole, &x.SubmittedAt, &x.AcceptedAt, &x.AcceptedBy, &x.UpdatedAt, &x.Tier, &x.TierReason, &x.Profile, &closed)
	if err != nil {
		return Statement{}, fmt.Errorf("assurance: statement %s: %w", id, err)
	}
	if x.Profile == "" {
		x.Profile = cprofile
	}
	x.Profile = strings.TrimPrefix(x.Profile, allRequirements)
	reqs, err := s.statementRequirements(ctx, q, x.CampaignID, id)
	if err != nil {
		return Statement{}, err
	}
	x.Answers = make([]AnswerView, len(reqs))
	bySeq := map[int]int{}
	for i, r := range reqs {
		x.Answers[i].Requirement = r
		bySeq[r.Seq] = i
	}
	if err := each(ctx, q, `SELECT seq, answer, justification, review, answered_at, answered_by, reviewed_at, reviewed_by FROM assurance_answers WHERE statement_id = ?`, id, func(r *sql.Rows) error {
		var a AnswerView
		if err := r.Scan(&a.Seq, &a.Answer, &a.Justification, &a.Review, &a.AnsweredAt, &a.AnsweredBy, &a.ReviewedAt, &a.ReviewedBy); err != nil {
			return err
		}
		if i, ok := bySeq[a.Seq]; ok {
			v := &x.Answers[i]
			v.Answer, v.Justification, v.Review, v.AnsweredAt, v.AnsweredBy, v.ReviewedAt, v.ReviewedBy = a.Answer, a.Justification, a.Review, a.AnsweredAt, a.AnsweredBy, a.ReviewedAt, a.ReviewedBy
		}
		return nil
	}); err != nil {
		return Statement{}, err
	}
	// Evidence and the conversation stay between supplier and assessor.
	if st.assessor || st.supplier {
		if err := each(ctx, q, `SELECT evidence_id, statement_id, seq, kind, name, content_type, size, sha256, url, added_by, added_at FROM assurance_evidence WHERE statement_id = ? ORDER BY added_at, evidence_id`, id, func(r *sql.Rows) error {
			var e Evidence
			if err := r.Scan(&e.ID, &e.StatementID, &e.Seq, &e.Kind, &e.Name, &e.ContentType, &e.Size, &e.SHA256, &e.URL, &e.AddedBy, &e.AddedAt); err != nil {
				return err
			}
			if i, ok := bySeq[e.Seq]; ok {
				x.Answers[i].Evidence = append(x.Answers[i].Evidence, e)
			}
			return nil
		}); err != nil {
			return Statement{}, err
		}
		if err := each(ctx, q, `SELECT comment_id, seq, side, author_name, body, at FROM assurance_answer_comments WHERE statement_id = ? ORDER BY at, comment_id`, id, func(r *sql.Rows) error {
			var c Comment
			if err := r.Scan(&c.ID, &c.Seq, &c.Side, &c.Author, &c.Body, &c.At); err != nil {
				return err
			}
			if i, ok := bySeq[c.Seq]; ok {
				x.Answers[i].Comments = append(x.Answers[i].Comments, c)
			}
			return nil
		}); err != nil {
			return Statement{}, err
		}
	}
	evCount, evAt, err := evidenceDates(ctx, q, id)
	if err != nil {
		return Statement{}, err
	}
	states := make(map[int]AnswerState, len(x.Answers))
	for i := range x.Answers {
		a := &x.Answers[i]
		if a.Answer != "" {
			states[a.Seq] = AnswerState{Answer: a.Answer, Review: a.Review, AnsweredAt: a.AnsweredAt, ReviewedAt: a.ReviewedAt, Evidence: evCount[a.Seq], EvidenceAt: evAt[a.Seq]}
			x.Answered++
		}
		a.Editable = st.supplier && (sc.Can(scope.Write) || st.link) && closed == "" && editable(x.Status, a.Review)
		x.May.Answer = x.May.Answer || a.Editable
	}
	x.Requirements = len(reqs)
	x.Score = ScoreOf(reqs, states)
	x.Points, x.Max, x.Percent = x.Score.Points, x.Score.Max, x.Score.Percent
	// A closed campaign takes nothing more from the supplier.
	writer := st.supplier && (sc.Can(scope.Write) || st.link) && closed == ""
	x.May.Assess, x.May.Supply = st.assessor, st.supplier
	x.May.Submit = writer && (x.Status == StatusDraft || x.Status == StatusReturned)
	x.May.Review = st.assessor && (x.Status == StatusSubmitted || x.Status == StatusReturned)
	x.May.Accept = st.assessor && x.Status == StatusSubmitted
	x.May.Comment = (st.assessor || writer) && x.Status != StatusAccepted
	x.May.Dispute = writer && x.Status != StatusDraft
	if x.ScoreRecords, err = s.scoreRecords(ctx, q, id); err != nil {
		return Statement{}, err
	}
	if st.assessor || st.supplier {
		if x.Disputes, err = s.disputesOf(ctx, q, "d.statement_id = ?", []any{id}); err != nil {
			return Statement{}, err
		}
	}
	return x, nil
}

// editable reports whether a supplier may change an answer reviewed r of
// a statement in status: anything in a draft, the queried ones when
// returned.
func editable(status string, r Review) bool {
	return status == StatusDraft || (status == StatusReturned && r == ReviewQueried)
}

// change runs fn in a transaction on a statement the caller stands to,
// re-reading its head inside the transaction so two changes do not cross.
func (s *Service) change(ctx context.Context, sc scope.Scope, id string, fn func(tx *store.Tx, h head, st standing, now string) error) error {
	if err := s.needRegister(); err != nil {
		return err
	}
	h, err := s.headOf(ctx, s.db.Q(), sc, id)
	if err != nil {
		return err
	}
	st, err := s.standingOf(ctx, sc, h)
	if err != nil {
		return err
	}
	now := s.now().UTC().Format(time.RFC3339Nano)
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		h2, err := s.headOf(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if h2.status != h.status {
			return fault.Conflictf("statement %s changed from %s to %s meanwhile; reload it", id, h.status, h2.status)
		}
		if h2.closed && !st.assessor {
			return fault.Conflictf("the campaign of statement %s is closed: it takes no more answers", id)
		}
		if err := fn(tx, h2, st, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE assurance_statements SET updated_at = ? WHERE statement_id = ?`, now, id)
		return err
	})
}

func (s *Service) supplierWriter(sc scope.Scope, st standing) error {
	if !st.supplier {
		return fault.Forbiddenf("only the supplier's representatives answer its statement")
	}
	if !sc.Can(scope.Write) && !st.link {
		return fault.Forbiddenf("answering needs write access to the supplier")
	}
	return nil
}

// requirementAt checks that seq is a requirement of the statement's campaign.
// (and, in a tiered campaign, of the statement's profile).
func requirementAt(ctx context.Context, tx *store.Tx, campaign, statement string, seq int) (Requirement, error) {
	var r Requirement
	err := tx.QueryRowContext(ctx, `SELECT r.seq, r.node_key, r.ref, r.name, r.weight FROM assurance_campaign_requirements r JOIN assurance_statements st ON st.campaign_id = r.campaign_id
		WHERE r.campaign_id = ? AND r.seq = ? AND st.statement_id = ? AND (st.profile = '' OR EXISTS (SELECT 1 FROM assurance_campaign_profile_members m
			WHERE m.campaign_id = r.campaign_id AND m.profile = st.profile AND m.seq = r.seq))`, campaign, seq, statement).
		Scan(&r.Seq, &r.Key, &r.Ref, &r.Name, &r.Weight)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fault.NotFoundf("no requirement %d in this statement", seq)
	}
	return r, err
}

func answerOf(ctx context.Context, tx *store.Tx, id string, seq int) (AnswerView, bool, error) {
	var a AnswerView
	err := tx.QueryRowContext(ctx, `SELECT answer, justification, review FROM assurance_answers WHERE statement_id = ? AND seq = ?`, id, seq).Scan(&a.Answer, &a.Justification, &a.Review)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// AnswerInput is a supplier's answer to one requirement.
type AnswerInput struct {
	Answer        Answer `json:"answer"`
	Justification string `json:"justification"`
}

// SaveAnswer stores a supplier's answer as part of the draft (or, when the
// statement is returned, amends a queried answer, which then waits for
// review again).
func (s *Service) SaveAnswer(ctx context.Context, sc scope.Scope, id string, seq int, in AnswerInput) (Statement, error) {
	in.Justification = strings.TrimSpace(in.Justification)
	if !slices.Contains(Answers(), in.Answer) {
		return Statement{}, fault.Invalidf("answer", "%q is not met, partly, not_met or not_applicable", in.Answer)
	}
	if p := safetext.Problem(in.Justification, safetext.Text, safetext.MaxText); p != "" {
		return Statement{}, fault.Invalidf("justification", "%s", p)
	}
	if in.Answer == NotApplicable && in.Justification == "" {
		return Statement{}, fault.Invalidf("justification", "is required for not applicable: say why the requirement does not apply")
	}
	err := s.change(ctx, sc, id, func(tx *store.Tx, h head, st standing, now string) error {
		if err := s.supplierWriter(sc, st); err != nil {
			return err
		}
		if _, err := requirementAt(ctx, tx, h.campaign, h.id, seq); err != nil {
			return err
		}
		before, had, err := answerOf(ctx, tx, id, seq)
		if err != nil {
			return err
		}
		if !editable(h.status, before.Review) {
			return fault.Conflictf("statement %s is %s: %s", id, h.status, notEditable(h.status))
		}
		if had {
			_, err = tx.ExecContext(ctx, `UPDATE assurance_answers SET answer = ?, justification = ?, review = '', answered_at = ?, answered_by = ?, reviewed_at = '', reviewed_by = '' WHERE statement_id = ? AND seq = ?`,
				string(in.Answer), in.Justification, now, actor(sc), id, seq)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO assurance_answers (statement_id, seq, answer, justification, answered_at, answered_by) VALUES (?, ?, ?, ?, ?, ?)`,
				id, seq, string(in.Answer), in.Justification, now, actor(sc))
		}
		if err != nil {
			return fmt.Errorf("assurance: save answer: %w", err)
		}
		c := audit.Change{Action: "assurance.answer.save", ObjectType: "assurance-statement", ObjectID: id, Org: h.owner,
			After: map[string]any{"seq": seq, "answer": in.Answer, "justification": in.Justification}}
		if had {
			c.Before = map[string]any{"seq": seq, "answer": before.Answer, "justification": before.Justification, "review": before.Review}
		}
		_, err = s.audit.Append(ctx, tx, sc, c)
		return err
	})
	if err != nil {
		return Statement{}, err
	}
	return s.GetStatement(ctx, sc, id)
}

func notEditable(status string) string {
	switch status {
	case StatusSubmitted:
		return "submitted statements are not changed; wait for the assessor's queries"
	case StatusReturned:
		return "only the answers the assessor queried may be amended"
	}
	return "an accepted statement is final"
}

// AddEvidenceFile attaches a file to an answer the supplier may change.
func (s *Service) AddEvidenceFile(ctx context.Context, sc scope.Scope, id string, seq int, name string, data []byte) (Evidence, error) {
	name = strings.TrimSpace(path.Base(strings.ReplaceAll(name, `\`, "/")))
	if name == "" || name == "." || name == "/" {
		return Evidence{}, fault.Invalidf("file", "needs a file name")
	}
	if p := safetext.Problem(name, safetext.Name, safetext.MaxName); p != "" {
		return Evidence{}, fault.Invalidf("file", "name %s", p)
	}
	ct, ok := evidenceTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		return Evidence{}, fault.Invalidf("file", "%q is not a type accepted as evidence (accepted: %s)", name, strings.Join(EvidenceExtensions(), " "))
	}
	if len(data) == 0 {
		return Evidence{}, fault.Invalidf("file", "%s is empty", name)
	}
	if len(data) > MaxEvidence {
		return Evidence{}, fault.Invalidf("file", "%s is larger than 10 MiB, the most one evidence file may be", name)
	}
	sum := sha256.Sum256(data)
	e := Evidence{Kind: "file", Name: name, ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	return s.addEvidence(ctx, sc, id, seq, e, data)
}

// AddEvidenceLink attaches an https link to an answer the supplier may change.
func (s *Service) AddEvidenceLink(ctx context.Context, sc scope.Scope, id string, seq int, name, link string) (Evidence, error) {
	link, name = strings.TrimSpace(link), strings.TrimSpace(name)
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host == "" || len(link) > 2000 || safetext.Problem(link, safetext.Name, 2000) != "" {
		return Evidence{}, fault.Invalidf("url", "give an https:// address of at most 2,000 characters")
	}
	if name == "" {
		name = u.Host
	}
	if p := safetext.Problem(name, safetext.Name, safetext.MaxName); p != "" {
		return Evidence{}, fault.Invalidf("name", "%s", p)
	}
	return s.addEvidence(ctx, sc, id, seq, Evidence{Kind: "link", Name: name, URL: link}, nil)
}

// AddEvidenceCertificate cites one of the supplier's recorded
// certificates (Cyber Essentials, CE Plus, ISO/IEC 27001) by its number
// as evidence for an answer the supplier may change. The evidence names
// the scheme, number, scope and expiry as recorded now; a certificate
// the register does not hold for this supplier, or one already expired,
// is refused.
func (s *Service) AddEvidenceCertificate(ctx context.Context, sc scope.Scope, id string, seq int, number string) (Evidence, error) {
	number = strings.TrimSpace(number)
	if number == "" || len(number) > 100 {
		return Evidence{}, fault.Invalidf("certificate", "give the number of a certificate recorded for the supplier")
	}
	h, err := s.headOf(ctx, s.db.Q(), sc, id)
	if err != nil {
		return Evidence{}, err
	}
	// Who may not add evidence learns nothing of the register's
	// certificates (addEvidence checks again in its transaction).
	st, err := s.standingOf(ctx, sc, h)
	if err != nil {
		return Evidence{}, err
	}
	if err := s.supplierWriter(sc, st); err != nil {
		return Evidence{}, err
	}
	var c Certificate
	err = s.db.Q().QueryRowContext(ctx, `SELECT supplier_id, scheme, number, cert_scope, issued, expires FROM assurance_certificates WHERE supplier_id = ? AND number = ?`, h.supplier, number).
		Scan(&c.SupplierID, &c.Scheme, &c.Number, &c.Scope, &c.Issued, &c.Expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Evidence{}, fault.Invalidf("certificate", "no certificate %s is recorded for this supplier: record it on the supplier's page first", number)
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("assurance: certificate evidence: %w", err)
	}
	if c.StateAt(s.now()) == "expired" {
		return Evidence{}, fault.Invalidf("certificate", "certificate %s expired on %s", number, c.Expires)
	}
	scheme := map[string]string{CyberEssentials: "Cyber Essentials", CyberEssentialsPlus: "Cyber Essentials Plus", ISO27001: "ISO/IEC 27001"}[c.Scheme]
	if scheme == "" {
		scheme = c.Scheme
	}
	name := fmt.Sprintf("%s certificate %s, valid until %s", scheme, c.Number, c.Expires)
	if c.Scope != "" {
		name += " (" + c.Scope + ")"
	}
	return s.addEvidence(ctx, sc, id, seq, Evidence{Kind: "certificate", Name: name}, nil)
}

func (s *Service) addEvidence(ctx context.Context, sc scope.Scope, id string, seq int, e Evidence, data []byte) (Evidence, error) {
	e.ID, e.StatementID, e.Seq, e.AddedBy = randid.New("EV"), id, seq, actor(sc)
	err := s.change(ctx, sc, id, func(tx *store.Tx, h head, st standing, now string) error {
		if err := s.supplierWriter(sc, st); err != nil {
			return err
		}
		if _, err := requirementAt(ctx, tx, h.campaign, h.id, seq); err != nil {
			return err
		}
		a, _, err := answerOf(ctx, tx, id, seq)
		if err != nil {
			return err
		}
		if !editable(h.status, a.Review) {
			return fault.Conflictf("statement %s is %s: %s", id, h.status, notEditable(h.status))
		}
		e.AddedAt = now
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_evidence (evidence_id, statement_id, seq, kind, name, content_type, size, sha256, url, data, added_by, added_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, id, seq, e.Kind, e.Name, e.ContentType, e.Size, e.SHA256, e.URL, data, e.AddedBy, now); err != nil {
			return fmt.Errorf("assurance: store evidence: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.evidence.add", ObjectType: "assurance-statement", ObjectID: id, Org: h.owner,
			After: map[string]any{"seq": seq, "evidence": e.ID, "kind": e.Kind, "name": e.Name, "sha256": e.SHA256, "size": e.Size, "url": e.URL}})
		return err
	})
	if err != nil {
		return Evidence{}, err
	}
	return e, nil
}

// OpenEvidence returns an evidence file's description and bytes to the
// supplier's representatives and the campaign's assessors.
func (s *Service) OpenEvidence(ctx context.Context, sc scope.Scope, evidenceID string) (Evidence, []byte, error) {
	if err := s.needRegister(); err != nil {
		return Evidence{}, nil, err
	}
	var e Evidence
	var data []byte
	err := s.db.Q().QueryRowContext(ctx, `SELECT evidence_id, statement_id, seq, kind, name, content_type, size, sha256, url, data, added_by, added_at FROM assurance_evidence WHERE evidence_id = ?`, evidenceID).
		Scan(&e.ID, &e.StatementID, &e.Seq, &e.Kind, &e.Name, &e.ContentType, &e.Size, &e.SHA256, &e.URL, &data, &e.AddedBy, &e.AddedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Evidence{}, nil, fault.NotFoundf("no evidence %s", evidenceID)
	}
	if err != nil {
		return Evidence{}, nil, fmt.Errorf("assurance: evidence: %w", err)
	}
	h, err := s.headOf(ctx, s.db.Q(), sc, e.StatementID)
	if err != nil {
		return Evidence{}, nil, err
	}
	st, err := s.standingOf(ctx, sc, h)
	if err != nil || !(st.assessor || st.supplier) {
		return Evidence{}, nil, fault.NotFoundf("no evidence %s", evidenceID)
	}
	if e.Kind != "file" {
		return Evidence{}, nil, fault.NotFoundf("evidence %s is a link, not a file: %s", evidenceID, e.URL)
	}
	return e, data, nil
}

// Submit signs and submits a statement: every requirement answered. The
// signature is the caller's name and the role given.
func (s *Service) Submit(ctx context.Context, sc scope.Scope, id, role string) (Statement, error) {
	role = strings.TrimSpace(role)
	if p := safetext.Problem(role, safetext.Name, safetext.MaxName); p != "" {
		return Statement{}, fault.Invalidf("role", "%s", p)
	}
	err := s.change(ctx, sc, id, func(tx *store.Tx, h head, st standing, now string) error {
		if err := s.supplierWriter(sc, st); err != nil {
			return err
		}
		if h.status != StatusDraft && h.status != StatusReturned {
			return fault.Conflictf("statement %s is %s; only a draft or a returned statement is submitted", id, h.status)
		}
		var missing []string
		reqs, err := s.statementRequirements(ctx, tx, h.campaign, id)
		if err != nil {
			return err
		}
		have := map[int]bool{}
		if err := each(ctx, tx, `SELECT seq FROM assurance_answers WHERE statement_id = ?`, id, func(r *sql.Rows) error {
			var n int
			err := r.Scan(&n)
			have[n] = true
			return err
		}); err != nil {
			return err
		}
		for _, r := range reqs {
			if !have[r.Seq] {
				missing = append(missing, r.Label())
			}
		}
		if len(missing) > 0 {
			more := ""
			if len(missing) > 5 {
				more = fmt.Sprintf(" and %d more", len(missing)-5)
				missing = missing[:5]
			}
			return fault.Invalidf("answers", "answer every requirement before submitting; not answered: %s%s", strings.Join(missing, ", "), more)
		}
		var version int
		if err := tx.QueryRowContext(ctx, `SELECT version FROM assurance_statements WHERE statement_id = ?`, id).Scan(&version); err != nil {
			return err
		}
		// Queried answers the supplier replied to without amending wait
		// for review again, as amended ones do.
		if _, err := tx.ExecContext(ctx, `UPDATE assurance_answers SET review = '' WHERE statement_id = ? AND review = ?`, id, string(ReviewQueried)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assurance_statements SET status = ?, version = ?, signed_name = ?, signed_role = ?, submitted_at = ? WHERE statement_id = ?`,
			StatusSubmitted, version+1, actor(sc), role, now, id); err != nil {
			return err
		}
		if err := s.snapshot(ctx, tx, id, version+1, actor(sc), role, now); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.statement.submit", ObjectType: "assurance-statement", ObjectID: id, Org: h.owner,
			Before: map[string]any{"status": h.status}, After: map[string]any{"status": StatusSubmitted, "version": version + 1, "signed_name": actor(sc), "signed_role": role}})
		return err
	})
	if err != nil {
		return Statement{}, err
	}
	return s.GetStatement(ctx, sc, id)
}

// Review records an assessor's decision on one answer. A query or a
// rejection says why (it opens or continues the answer's conversation);
// a query returns the statement to the supplier.
func (s *Service) Review(ctx context.Context, sc scope.Scope, id string, seq int, decision Review, note string) (Statement, error) {
	note = strings.TrimSpace(note)
	if decision != ReviewAccepted && decision != ReviewQueried && decision != ReviewRejected {
		return Statement{}, fault.Invalidf("decision", "%q is not accepted, queried or rejected", decision)
	}
	if p := safetext.Problem(note, safetext.Text, safetext.MaxText); p != "" {
		return Statement{}, fault.Invalidf("note", "%s", p)
	}
	if decision != ReviewAccepted && note == "" {
		return Statement{}, fault.Invalidf("note", "say what is wrong or what is needed: a query or a rejection needs a note")
	}
	err := s.change(ctx, sc, id, func(tx *store.Tx, h head, st standing, now string) error {
		if !st.assessor {
			return fault.Forbiddenf("only the campaign's assessors review answers")
		}
		if h.status != StatusSubmitted && h.status != StatusReturned {
			return fault.Conflictf("statement %s is %s; answers are reviewed once it is submitted, until it is accepted", id, h.status)
		}
		before, had, err := answerOf(ctx, tx, id, seq)
		if err != nil {
			return err
		}
		if !had {
			if _, err := requirementAt(ctx, tx, h.campaign, h.id, seq); err != nil {
				return err
			}
			return fault.Conflictf("requirement %d has no answer to review", seq)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assurance_answers SET review = ?, reviewed_at = ?, reviewed_by = ? WHERE statement_id = ? AND seq = ?`,
			string(decision), now, actor(sc), id, seq); err != nil {
			return err
		}
		if note != "" {
			if err := s.addComment(ctx, tx, sc, id, seq, "assessor", note, now); err != nil {
				return err
			}
		}
		after := map[string]any{"seq": seq, "review": decision, "note": note}
		if decision == ReviewQueried && h.status == StatusSubmitted {
			if _, err := tx.ExecContext(ctx, `UPDATE assurance_statements SET status = ? WHERE statement_id = ?`, StatusReturned, id); err != nil {
				return err
			}
			after["status"] = StatusReturned
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.answer.review", ObjectType: "assurance-statement", ObjectID: id, Org: h.owner,
			Before: map[string]any{"seq": seq, "review": before.Review, "status": h.status}, After: after})
		return err
	})
	if err != nil {
		return Statement{}, err
	}
	return s.GetStatement(ctx, sc, id)
}

func (s *Service) addComment(ctx context.Context, tx *store.Tx, sc scope.Scope, id string, seq int, side, body, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO assurance_answer_comments (comment_id, statement_id, seq, side, author_id, author_name, body, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		randid.New("CM"), id, seq, side, sc.UserID, actor(sc), body, now)
	return err
}

// Comment adds to an answer's conversation (assessor or supplier).
func (s *Service) Comment(ctx context.Context, sc scope.Scope, id string, seq int, body string) (Statement, error) {
	body = strings.TrimSpace(body)
	if p := safetext.Problem(body, safetext.Text, safetext.MaxText); p != "" || body == "" {
		if p == "" {
			p = "is required"
		}
		return Statement{}, fault.Invalidf("body", "%s", p)
	}
	err := s.change(ctx, sc, id, func(tx *store.Tx, h head, st standing, now string) error {
		side := "assessor"
		switch {
		case st.assessor:
		case st.supplier && (sc.Can(scope.Write) || st.link):
			side = "supplier"
		default:
			return fault.Forbiddenf("only the supplier's representatives and the campaign's assessors discuss an answer")
		}
		if h.status == StatusAccepted {
			return fault.Conflictf("statement %s is accepted; its conversations are closed", id)
		}
		if _, err := requirementAt(ctx, tx, h.campaign, h.id, seq); err != nil {
			return err
		}
		if err := s.addComment(ctx, tx, sc, id, seq, side, body, now); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.answer.comment", ObjectType: "assurance-statement", ObjectID: id, Org: h.owner,
			After: map[string]any{"seq": seq, "side": side, "body": body}})
		return err
	})
	if err != nil {
		return Statement{}, err
	}
	return s.GetStatement(ctx, sc, id)
}

// Accept accepts a submitted statement whose every answer the assessor
// has accepted or rejected. Accepted is final, and what the organisations
// that deploy the supplier see.
func (s *Service) Accept(ctx context.Context, sc scope.Scope, id string) (Statement, error) {
	err := s.change(ctx, sc, id, func(tx *store.Tx, h head, st standing, now string) error {
		if !st.assessor {
			return fault.Forbiddenf("only the campaign's assessors accept a statement")
		}
		if h.status != StatusSubmitted {
			return fault.Conflictf("statement %s is %s; only a submitted statement is accepted", id, h.status)
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM assurance_answers WHERE statement_id = ? AND review NOT IN (?, ?)`, id, string(ReviewAccepted), string(ReviewRejected)).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fault.Invalidf("answers", "%d answers are not accepted or rejected yet; review each before accepting the statement", open)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assurance_statements SET status = ?, accepted_at = ?, accepted_by = ? WHERE statement_id = ?`, StatusAccepted, now, actor(sc), id); err != nil {
			return err
		}
		if err := s.recordScore(ctx, tx, id, h.campaign, "accepted", now); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.statement.accept", ObjectType: "assurance-statement", ObjectID: id, Org: h.owner,
			Before: map[string]any{"status": h.status}, After: map[string]any{"status": StatusAccepted}})
		return err
	})
	if err != nil {
		return Statement{}, err
	}
	return s.GetStatement(ctx, sc, id)
}
