package intel

import (
	"context"
	"database/sql"
	"errors"

	"github.com/vigil-health/vigil/internal/scope"
)

// ErrStatusNotFound means no status has the id, or it is someone else's.
var ErrStatusNotFound = errors.New("intel: status not found")

// SaveStatus keeps a TAXII status resource (its JSON, body) for the
// caller who posted to collection.
func (s *Store) SaveStatus(ctx context.Context, sc scope.Scope, id, collection string, body []byte) error {
	if sc.UserID == "" {
		return &InvalidError{"user", "a status belongs to the user who posted"}
	}
	_, err := s.db.Q().ExecContext(ctx, `INSERT INTO intel_taxii_status (id, user_id, collection_id, created_at, body) VALUES (?, ?, ?, ?, ?)`,
		id, sc.UserID, collection, versionKey(s.now()), string(body))
	return err
}

// Status returns a status resource the caller posted
// (ErrStatusNotFound for anyone else's).
func (s *Store) Status(ctx context.Context, sc scope.Scope, id string) ([]byte, error) {
	var body string
	err := s.db.Q().QueryRowContext(ctx, `SELECT body FROM intel_taxii_status WHERE id = ? AND user_id = ?`, id, sc.UserID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrStatusNotFound
	}
	if err != nil {
		return nil, err
	}
	return []byte(body), nil
}
