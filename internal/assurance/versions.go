package assurance

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// A submitted statement is immutable and versioned: every Submit keeps
// the statement as submitted (snapshot, in Submit's transaction), and
// nothing changes a kept version afterwards. Whoever may read the
// statement may read its versions; evidence references, like the
// evidence itself, only its supplier and assessors.

// EvidenceRef is an evidence file or link as it stood when a version was
// submitted (without the file's bytes; OpenEvidence serves those).
type EvidenceRef struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256,omitempty"`
	URL    string `json:"url,omitempty"`
}

// VersionAnswer is one requirement's answer as submitted.
type VersionAnswer struct {
	Seq           int           `json:"seq"`
	Ref           string        `json:"ref,omitempty"`
	Name          string        `json:"name"`
	Answer        Answer        `json:"answer"`
	Justification string        `json:"justification,omitempty"`
	Evidence      []EvidenceRef `json:"evidence,omitempty"`
}

// Label is the requirement's ref, or its name when it has none.
func (a VersionAnswer) Label() string {
	if a.Ref != "" {
		return a.Ref
	}
	return a.Name
}

// VersionChange is an answer whose adherence or justification differs
// from the previous version's.
type VersionChange struct {
	Seq                 int    `json:"seq"`
	Ref                 string `json:"ref,omitempty"`
	Name                string `json:"name"`
	AnswerBefore        Answer `json:"answer_before,omitempty"`
	AnswerAfter         Answer `json:"answer_after"`
	JustificationBefore string `json:"justification_before,omitempty"`
	JustificationAfter  string `json:"justification_after,omitempty"`
}

// Label is the requirement's ref, or its name when it has none.
func (c VersionChange) Label() string {
	if c.Ref != "" {
		return c.Ref
	}
	return c.Name
}

// StatementVersion is one submitted version of a statement. Listed, it
// carries the number of changed answers; read whole, the answers and the
// changes against the previous version (none for the first).
type StatementVersion struct {
	StatementID string `json:"statement_id"`
	Version     int    `json:"version"`
	SubmittedAt string `json:"submitted_at"`
	SignedName  string `json:"signed_name"`
	SignedRole  string `json:"signed_role"`
	Changed     int    `json:"changed"`
	// Compared: the version before was kept, so Changed and Changes say
	// what changed (false for version 1, and for the first version kept
	// of a statement submitted before versions were kept).
	Compared bool            `json:"compared"`
	Answers  []VersionAnswer `json:"answers,omitempty"`
	Changes  []VersionChange `json:"changes,omitempty"`
}

// snapshot keeps the statement as just submitted, as version n: called
// by Submit inside its transaction, after the statement row is updated.
func (s *Service) snapshot(ctx context.Context, tx *store.Tx, id string, n int, signedName, signedRole, at string) error {
	ev := map[int][]EvidenceRef{}
	if err := each(ctx, tx, `SELECT seq, evidence_id, kind, name, sha256, url FROM assurance_evidence WHERE statement_id = ? ORDER BY added_at, evidence_id`, id, func(r *sql.Rows) error {
		var seq int
		var e EvidenceRef
		if err := r.Scan(&seq, &e.ID, &e.Kind, &e.Name, &e.SHA256, &e.URL); err != nil {
			return err
		}
		ev[seq] = append(ev[seq], e)
		return nil
	}); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_statement_versions (statement_id, version, submitted_at, signed_name, signed_role) VALUES (?, ?, ?, ?, ?)`,
		id, n, at, signedName, signedRole); err != nil {
		return fmt.Errorf("assurance: keep version %d of %s: %w", n, id, err)
	}
	var answers []VersionAnswer
	if err := each(ctx, tx, `SELECT a.seq, r.ref, r.name, a.answer, a.justification FROM assurance_answers a
		JOIN assurance_statements st ON st.statement_id = a.statement_id
		JOIN assurance_campaign_requirements r ON r.campaign_id = st.campaign_id AND r.seq = a.seq
		WHERE a.statement_id = ? ORDER BY a.seq`, id, func(r *sql.Rows) error {
		var a VersionAnswer
		if err := r.Scan(&a.Seq, &a.Ref, &a.Name, &a.Answer, &a.Justification); err != nil {
			return err
		}
		answers = append(answers, a)
		return nil
	}); err != nil {
		return err
	}
	for _, a := range answers {
		refs := ev[a.Seq]
		if refs == nil {
			refs = []EvidenceRef{}
		}
		js, err := json.Marshal(refs)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_statement_version_answers (statement_id, version, seq, ref, name, answer, justification, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, n, a.Seq, a.Ref, a.Name, string(a.Answer), a.Justification, string(js)); err != nil {
			return fmt.Errorf("assurance: keep version %d of %s: %w", n, id, err)
		}
	}
	return nil
}

// versionReader checks the caller may read statement id (as GetStatement
// does: not found otherwise) and says whether it sees evidence.
func (s *Service) versionReader(ctx context.Context, sc scope.Scope, id string) (evidence bool, err error) {
	if err := s.needRegister(); err != nil {
		return false, err
	}
	h, err := s.headOf(ctx, s.db.Q(), sc, id)
	if err != nil {
		return false, err
	}
	st, err := s.standingOf(ctx, sc, h)
	if err != nil {
		return false, err
	}
	return st.assessor || st.supplier, nil
}

// ListVersions lists the submitted versions of a statement the caller may
// read, oldest first, each with how many answers changed since the one
// before.
func (s *Service) ListVersions(ctx context.Context, sc scope.Scope, id string) ([]StatementVersion, error) {
	withEvidence, err := s.versionReader(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	vs, err := s.versions(ctx, id, 0, withEvidence)
	if err != nil {
		return nil, err
	}
	for i := len(vs) - 1; i >= 0; i-- {
		if i > 0 && vs[i-1].Version == vs[i].Version-1 {
			vs[i].Changed, vs[i].Compared = len(changes(vs[i-1].Answers, vs[i].Answers)), true
		}
		vs[i].Answers = nil
	}
	return vs, nil
}

// GetVersion reads version n of a statement the caller may read, with
// the answers that changed since version n-1.
func (s *Service) GetVersion(ctx context.Context, sc scope.Scope, id string, n int) (StatementVersion, error) {
	withEvidence, err := s.versionReader(ctx, sc, id)
	if err != nil {
		return StatementVersion{}, err
	}
	if n < 1 {
		return StatementVersion{}, fault.NotFoundf("no version %d of statement %s", n, id)
	}
	vs, err := s.versions(ctx, id, n, withEvidence)
	if err != nil {
		return StatementVersion{}, err
	}
	if len(vs) == 0 || vs[len(vs)-1].Version != n {
		return StatementVersion{}, fault.NotFoundf("no version %d of statement %s", n, id)
	}
	v := vs[len(vs)-1]
	if len(vs) > 1 {
		v.Changes, v.Compared = changes(vs[len(vs)-2].Answers, v.Answers), true
	}
	v.Changed = len(v.Changes)
	return v, nil
}

// versions reads statement id's versions with their answers, all of them
// (upTo 0) or versions upTo-1 and upTo.
func (s *Service) versions(ctx context.Context, id string, upTo int, withEvidence bool) ([]StatementVersion, error) {
	q := s.db.Q()
	cond, args := "", []any{id}
	if upTo > 0 {
		cond, args = " AND version IN (?, ?)", append(args, upTo-1, upTo)
	}
	rows, err := q.QueryContext(ctx, `SELECT version, submitted_at, signed_name, signed_role FROM assurance_statement_versions WHERE statement_id = ?`+cond+` ORDER BY version`, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: versions of %s: %w", id, err)
	}
	out := []StatementVersion{}
	at := map[int]int{}
	for rows.Next() {
		v := StatementVersion{StatementID: id}
		if err := rows.Scan(&v.Version, &v.SubmittedAt, &v.SignedName, &v.SignedRole); err != nil {
			rows.Close()
			return nil, fmt.Errorf("assurance: versions of %s: %w", id, err)
		}
		at[v.Version] = len(out)
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT version, seq, ref, name, answer, justification, evidence FROM assurance_statement_version_answers WHERE statement_id = ?`+cond+` ORDER BY version, seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: versions of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		var a VersionAnswer
		var js string
		if err := rows.Scan(&n, &a.Seq, &a.Ref, &a.Name, &a.Answer, &a.Justification, &js); err != nil {
			return nil, fmt.Errorf("assurance: versions of %s: %w", id, err)
		}
		if withEvidence {
			if err := json.Unmarshal([]byte(js), &a.Evidence); err != nil {
				return nil, fmt.Errorf("assurance: version %d of %s: evidence: %w", n, id, err)
			}
		}
		if i, ok := at[n]; ok {
			out[i].Answers = append(out[i].Answers, a)
		}
	}
	return out, rows.Err()
}

// changes lists the answers of after whose adherence or justification
// differ from before's (or that before did not have), by seq.
func changes(before, after []VersionAnswer) []VersionChange {
	was := make(map[int]VersionAnswer, len(before))
	for _, a := range before {
		was[a.Seq] = a
	}
	out := []VersionChange{}
	for _, a := range after {
		b, had := was[a.Seq]
		if had && b.Answer == a.Answer && b.Justification == a.Justification {
			continue
		}
		out = append(out, VersionChange{Seq: a.Seq, Ref: a.Ref, Name: a.Name, AnswerBefore: b.Answer, AnswerAfter: a.Answer,
			JustificationBefore: b.Justification, JustificationAfter: a.Justification})
	}
	return out
}
