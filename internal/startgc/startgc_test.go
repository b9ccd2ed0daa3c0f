package startgc

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestRestore: without GOGC in the environment, init raised the GC
// percent and Restore puts Go's default back, once.
func TestRestore(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: init leaves the GC alone")
	}
	if !Raised() {
		t.Fatal("init did not raise the GC percent")
	}
	if p := debug.SetGCPercent(startPercent); p != startPercent {
		t.Fatalf("GC percent %d during start, want %d", p, startPercent)
	}
	Restore()
	if Raised() {
		t.Fatal("still raised after Restore")
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("GC percent %d after Restore, want 100", p)
	}
	debug.SetGCPercent(7)
	Restore() // a second Restore changes nothing
	if p := debug.SetGCPercent(100); p != 7 {
		t.Fatalf("a second Restore set the GC percent to %d", p)
	}
}
