package intel

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Submissions upward (issue 19 item 8): organisations submit indicators
// and sightings for national sharing, and a national analyst approves
// each before it goes out.
//
// A collection created Moderated is one the national team publishes
// from. Whatever someone who is not one of its approvers adds to it — a
// trust's analyst with a write grant, through TAXII, the CLI or the API
// — is a submission, pending: the version is in the collection, but only
// the submitter's organisation (its people) and the approvers read it
// there, by every path, and the IOC matcher matches it only in the
// submitter's organisation. An approver approves it (it goes out to every
// reader of the collection, dated added now, so TAXII readers paging by
// added_after get it) or rejects it with a reason (it leaves the
// collection; the store, and the submitter's own collections, keep it).
// Both are audited: intel.submission.approve and intel.submission.reject.
//
// The approvers of a moderated collection are the national analysts and
// administrators among its writers (sc.National(scope.Write)), and the
// operator on the server (the CLI). A TLP:RED or AMBER+STRICT submission
// still goes only to its recipients: an approver who is not one neither
// lists nor decides it until the submitter shares it with them (vigil
// intel share ID --org ENG).

// Submission states.
const (
	Pending  = "pending"
	Approved = "approved"
	Rejected = "rejected"
)

// ErrNotApprover is a decision by someone who may see a submission (of
// their own organisation) but not decide it.
var ErrNotApprover = fault.New(fault.ErrForbidden, "intel: only the collection's approvers (national analysts who write it) decide its submissions")

// Submission is one version submitted to a moderated collection.
type Submission struct {
	ID              string    `json:"id"`
	Collection      string    `json:"collection"`
	CollectionTitle string    `json:"collection_title"`
	Object          string    `json:"object"`
	Version         string    `json:"version,omitempty"`
	Type            string    `json:"type"`
	Name            string    `json:"name"`
	TLP             string    `json:"tlp,omitempty"`
	Org             string    `json:"org"`
	SubmittedBy     string    `json:"submitted_by"`
	SubmittedAt     time.Time `json:"submitted_at"`
	State           string    `json:"state"`
	DecidedBy       string    `json:"decided_by,omitempty"`
	DecidedAt       time.Time `json:"decided_at,omitzero"`
	Reason          string    `json:"reason,omitempty"`
	// CanDecide is whether the caller may approve or reject it.
	CanDecide bool `json:"can_decide"`
}

// isOperator is the scope of the CLI on the server (scope.System's
// grant at the root of every path).
func isOperator(sc scope.Scope) bool {
	return slices.ContainsFunc(sc.Grants, func(g scope.Grant) bool { return g.Path == "/" && g.Role == scope.NationalAdmin })
}

// approves reports whether sc approves the submissions of c.
func approves(sc scope.Scope, c Collection) bool {
	return c.Moderated && sc.National(scope.Write) && (c.CanWrite || isOperator(sc))
}

// pendingFor is the organisation an addition by sc to c is pending for
// ("" when it goes straight in).
func pendingFor(sc scope.Scope, c Collection) (string, error) {
	if !c.Moderated || c.Approver {
		return "", nil
	}
	if orgs := readerOrgs(sc); len(orgs) > 0 {
		return orgs[0], nil
	}
	return "", &InvalidError{"collection", "a moderated collection takes submissions from an organisation's people, and you hold a role at none"}
}

// submit records a pending submission, in the import's transaction.
func submit(ctx context.Context, tx *store.Tx, sc scope.Scope, collection string, o *stix.Object, org, at string) error {
	_, err := tx.ExecPrepared(ctx, `INSERT INTO intel_submissions (sub_id, collection_id, id, version, org, submitted_by, submitted_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		strings.TrimPrefix(stix.NewID("x"), "x--"), collection, o.ID, versionKey(o.Version()), org, sc.UserID, at, Pending)
	return err
}

// SubmissionQuery selects submissions.
type SubmissionQuery struct {
	// State is pending (the default), approved, rejected or all.
	State string
	// ID keeps one submission.
	ID string
}

// Submissions lists the submissions the caller may see, newest first:
// those of the moderated collections they approve, and those of their
// own organisations (so a trust sees what became of what it sent, and
// why it was rejected). TLP:RED and AMBER+STRICT ones only to their
// recipients.
func (s *Store) Submissions(ctx context.Context, sc scope.Scope, q SubmissionQuery) ([]Submission, error) {
	if q.State == "" {
		q.State = Pending
	}
	if !slices.Contains([]string{Pending, Approved, Rejected, "all"}, q.State) {
		return nil, &InvalidError{"state", "want pending, approved, rejected or all"}
	}
	sqlq := `SELECT p.sub_id, p.collection_id, c.title, c.tlp_ceiling, c.moderated, p.id, p.version, p.org, p.submitted_by, p.submitted_at, p.state, p.decided_by, p.decided_at, p.reason, COALESCE(o.body, '')
FROM intel_submissions p JOIN intel_collections c ON c.id = p.collection_id LEFT JOIN intel_objects o ON o.id = p.id AND o.version = p.version`
	var where []string
	var args []any
	if q.State != "all" {
		where = append(where, "p.state = ?")
		args = append(args, q.State)
	}
	if q.ID != "" {
		where = append(where, "p.sub_id = ?")
		args = append(args, q.ID)
	}
	if len(where) > 0 {
		sqlq += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.Q().QueryContext(ctx, sqlq+` ORDER BY p.submitted_at DESC, p.sub_id LIMIT 5000`, args...)
	if err != nil {
		return nil, err
	}
	type row struct {
		sub     Submission
		ceiling int
		mod     bool
		body    string
	}
	rs, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (row, error) {
		var x row
		var at, decided string
		var mod int
		err := r.Scan(&x.sub.ID, &x.sub.Collection, &x.sub.CollectionTitle, &x.ceiling, &mod, &x.sub.Object, &x.sub.Version, &x.sub.Org, &x.sub.SubmittedBy,
			&at, &x.sub.State, &x.sub.DecidedBy, &decided, &x.sub.Reason, &x.body)
		x.sub.SubmittedAt, _ = time.Parse(time.RFC3339Nano, at)
		x.sub.DecidedAt, _ = time.Parse(time.RFC3339Nano, decided)
		x.mod = mod != 0
		return x, err
	})
	if err != nil || len(rs) == 0 {
		return []Submission{}, err
	}
	cs, err := s.Collections(ctx, sc)
	if err != nil {
		return nil, err
	}
	held := map[string]Collection{}
	for _, c := range cs {
		held[c.ID] = c
	}
	orgs := readerOrgs(sc)
	ids := make([]string, len(rs))
	for i, x := range rs {
		ids[i] = x.sub.Object
	}
	hidden, err := s.hiddenIDs(ctx, ReaderOf(sc), ids)
	if err != nil {
		return nil, err
	}
	out := []Submission{}
	for _, x := range rs {
		c, ok := held[x.sub.Collection]
		if !ok && isOperator(sc) {
			c, ok = Collection{ID: x.sub.Collection, Moderated: x.mod, TLPCeiling: stix.TLP(x.ceiling)}, true
		}
		if ok {
			c.Approver = approves(sc, c)
		}
		mine := slices.Contains(orgs, x.sub.Org)
		if !ok && !mine || ok && !c.Approver && !mine || hidden[x.sub.Object] {
			continue
		}
		x.sub.CanDecide = ok && c.Approver && x.sub.State == Pending
		if x.body != "" {
			if o, err := stix.Parse([]byte(x.body)); err == nil {
				sm := summarise(o, c.ID)
				x.sub.Type, x.sub.Name, x.sub.TLP = sm.Type, sm.Name, sm.TLP
			}
		}
		out = append(out, x.sub)
	}
	return out, nil
}

// ApproveSubmission lets a pending submission out to every reader of its
// collection, audited as intel.submission.approve.
func (s *Store) ApproveSubmission(ctx context.Context, sc scope.Scope, id string) (Submission, error) {
	return s.decide(ctx, sc, id, Approved, "")
}

// RejectSubmission takes a pending submission out of its collection,
// with why (required; the submitter's organisation reads it), audited as
// intel.submission.reject.
func (s *Store) RejectSubmission(ctx context.Context, sc scope.Scope, id, reason string) (Submission, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Submission{}, &InvalidError{"reason", "required: say why, for the submitter"}
	}
	if p := safetext.Problem(reason, safetext.Text, 1000); p != "" {
		return Submission{}, &InvalidError{"reason", p}
	}
	return s.decide(ctx, sc, id, Rejected, reason)
}

// ErrSubmissionNotFound is no submission the caller may see.
var ErrSubmissionNotFound = fault.New(fault.ErrNotFound, "intel: submission not found")

func (s *Store) decide(ctx context.Context, sc scope.Scope, id, state, reason string) (Submission, error) {
	subs, err := s.Submissions(ctx, sc, SubmissionQuery{State: "all", ID: id})
	if err != nil {
		return Submission{}, err
	}
	if len(subs) == 0 {
		return Submission{}, ErrSubmissionNotFound
	}
	sub := subs[0]
	switch {
	case sub.State != Pending:
		return Submission{}, fault.Conflictf("submission %s was %s already", sub.ID, sub.State)
	case !sub.CanDecide:
		return Submission{}, ErrNotApprover
	}
	now := s.now().UTC()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE intel_submissions SET state = ?, decided_by = ?, decided_at = ?, reason = ? WHERE sub_id = ? AND state = ?`,
			state, sc.UserID, versionKey(now), reason, sub.ID, Pending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.Conflictf("submission %s was decided meanwhile", sub.ID)
		}
		if state == Approved {
			res, err = tx.ExecContext(ctx, `UPDATE intel_collection_objects SET pending_org = '', added_at = ? WHERE collection_id = ? AND id = ? AND version = ? AND pending_org <> ''`,
				versionKey(now), sub.Collection, sub.Object, sub.Version)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				// The submitter deleted it from the collection (TAXII DELETE).
				return fault.Conflictf("submission %s was withdrawn from the collection; nothing to approve", sub.ID)
			}
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM intel_collection_objects WHERE collection_id = ? AND id = ? AND version = ? AND pending_org <> ''`,
				sub.Collection, sub.Object, sub.Version)
		}
		if err != nil || s.audit == nil {
			return err
		}
		after := map[string]any{"collection": sub.Collection, "collection_title": sub.CollectionTitle, "object": sub.Object, "type": sub.Type,
			"org": sub.Org, "submitted_by": sub.SubmittedBy}
		if reason != "" {
			after["reason"] = reason
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: map[string]string{Approved: "intel.submission.approve", Rejected: "intel.submission.reject"}[state], ObjectType: "intel-submission",
			ObjectID: sub.ID, Org: sub.Org, Before: map[string]any{"state": Pending}, After: after})
		return err
	})
	if err != nil {
		return Submission{}, err
	}
	sub.State, sub.DecidedBy, sub.DecidedAt, sub.Reason, sub.CanDecide = state, sc.UserID, now, reason, false
	s.changed.fire() // the matcher matches it everywhere now, or no longer for the collection
	return sub, nil
}

// PendingOrgs maps each object whose every membership of a collection
// is a pending submission to the organisations it was submitted by: the
// IOC matcher matches it only in their events until it is approved.
func (s *Store) PendingOrgs(ctx context.Context) (map[string][]string, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT DISTINCT m.id, m.pending_org FROM intel_collection_objects m WHERE m.pending_org <> ''
AND NOT EXISTS (SELECT 1 FROM intel_collection_objects a WHERE a.id = m.id AND a.pending_org = '') ORDER BY m.id, m.pending_org`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string][]string{}
	for rows.Next() {
		var id, org string
		if err := rows.Scan(&id, &org); err != nil {
			return nil, err
		}
		m[id] = append(m[id], org)
	}
	return m, rows.Err()
}
