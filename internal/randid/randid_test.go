package randid

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	a, b := New("sv"), New("sv")
	if a == b || !strings.HasPrefix(a, "sv-") || len(a) != len("sv-")+26 || strings.ContainsAny(a[3:], "ILOU") {
		t.Fatalf("New gave %q and %q", a, b)
	}
}
