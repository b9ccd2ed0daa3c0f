// Package bustest starts real embedded buses for tests in other packages, the
// way nats-server's tests start a real server in a temporary directory.
package bustest

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/bus"
)

// Run opens an embedded bus whose JetStream store lives in t.TempDir() and
// closes it when the test ends. It fails the test if the bus cannot start.
func Run(t testing.TB) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	// Registered after TempDir's cleanup, so it runs first: the server
	// releases the store before the directory is removed.
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("bustest: close: %v", err)
		}
	})
	return b
}
