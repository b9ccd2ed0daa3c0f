package app

import "context"

// registerWeb mounts the web UI.
func (s *Server) registerWeb(ctx context.Context) error { return nil }
