package org

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// pathsChunk bounds the codes in one query, well under either engine's
// limit on bound parameters.
const pathsChunk = 500

// Paths returns the materialised paths of the given organisations, by
// code (unscoped, like PathOf). Codes that name no organisation are left
// out. It is how other packages learn where an organisation sits without
// reading the orgs table: auth turns grants into Scope paths with it.
func (s *Service) Paths(ctx context.Context, codes []string) (map[string]string, error) {
	out := make(map[string]string, len(codes))
	seen := make(map[string]bool, len(codes))
	var want []any
	for _, c := range codes {
		if !seen[c] && storable(c) {
			seen[c] = true
			want = append(want, c)
		}
	}
	for len(want) > 0 {
		n := min(len(want), pathsChunk)
		if err := s.paths(ctx, want[:n], out); err != nil {
			return nil, fmt.Errorf("org: paths: %w", err)
		}
		want = want[n:]
	}
	return out, nil
}

func (s *Service) paths(ctx context.Context, codes []any, out map[string]string) error {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT code, path FROM orgs WHERE code IN (`+store.Placeholders(len(codes))+`)`, codes...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var code, path string
		if err := rows.Scan(&code, &path); err != nil {
			return errors.Join(err, rows.Close())
		}
		out[code] = path
	}
	return errors.Join(rows.Err(), rows.Close())
}

// ReadableCodes are the codes of the organisations sc may read: what a
// store that cannot join Vigil's tables (events on ClickHouse) filters by.
func (s *Service) ReadableCodes(ctx context.Context, sc scope.Scope) ([]string, error) {
	f, args := sc.Filter("code", scope.Read)
	rows, err := s.db.Q().QueryContext(ctx, "SELECT code FROM orgs WHERE "+f, args...)
	if err != nil {
		return nil, fmt.Errorf("org: readable codes: %w", err)
	}
	defer rows.Close()
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("org: readable codes: %w", err)
		}
		codes = append(codes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("org: readable codes: %w", err)
	}
	return codes, nil
}
