package cli

import (
	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
)

// extraCommands are the domain commands beyond the foundation.
func (e *env) extraCommands() []*cobra.Command { return nil }

// loadExtraDemo adds the domains' demonstration data.
func (e *env) loadExtraDemo(cmd *cobra.Command, a *app.App) error { return nil }
