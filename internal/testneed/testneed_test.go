package testneed

import (
	"errors"
	"testing"
)

func TestCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "TRUE": true, "false": false, "0": false, "yes": false} {
		t.Setenv("CI", v)
		if got := CI(); got != want {
			t.Errorf("CI=%q: CI() = %v, want %v", v, got, want)
		}
	}
}

// fakeT records how Missing stopped the test.
type fakeT struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Skipf(format string, a ...any) {
	f.skipped = true
}
func (f *fakeT) Fatalf(format string, a ...any) {
	f.failed = true
}

func TestMissing(t *testing.T) {
	t.Setenv("CI", "")
	f := &fakeT{}
	Missing(f, "PostgreSQL", errors.New("connection refused"))
	if !f.skipped || f.failed {
		t.Errorf("locally: skipped %v failed %v, want a skip", f.skipped, f.failed)
	}
	t.Setenv("CI", "true")
	f = &fakeT{}
	Missing(f, "PostgreSQL", errors.New("connection refused"))
	if !f.failed || f.skipped {
		t.Errorf("under CI: skipped %v failed %v, want a failure", f.skipped, f.failed)
	}
}
