package org

import (
	"context"

	"github.com/vigil-health/vigil/internal/scope"
)

// SearchWords is searchWords, for the search tests.
var SearchWords = searchWords

// ListQuery returns the SQL List runs for f, for tests that ask the engine
// how it would run it.
func (s *Service) ListQuery(ctx context.Context, sc scope.Scope, f ListFilter) (string, []any, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q, args, _, err := s.listQuery(ctx, sc, f)
	return q, args, err
}
