// Package testneed is the one rule for a test that cannot run because
// something it needs is missing — PostgreSQL, an external NATS server,
// Debian's Chromium, or the shared NHS data beside the repository: on a
// developer's machine the test is skipped and says what to start or
// install; under continuous integration (CI set to a true value, as CI
// systems set CI=true) it fails, because there everything must be present
// and a skip would hide a suite that did not run.
package testneed

import (
	"os"
	"strconv"
	"testing"
)

// CI reports whether the tests run under continuous integration: the
// environment variable CI holds a true value ("true", "1", …).
func CI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Missing stops t because what (e.g. "PostgreSQL on 127.0.0.1:5432") is
// not available, err saying why: a failure under CI, a skip elsewhere.
func Missing(t testing.TB, what string, err error) {
	t.Helper()
	if CI() {
		t.Fatalf("%s is required under CI=true: %v", what, err)
		return // Fatalf has stopped a real test; a stand-in returns here
	}
	t.Skipf("%s is not available (%v); CI=true makes this a failure", what, err)
}
