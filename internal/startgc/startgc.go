// Package startgc lets the garbage collector wait during vigil's start.
//
// Before main runs, Go initialises every linked package, and vigil links
// the server's libraries: about 4 MB is allocated on the way, just over
// the 4 MB heap at which Go's default GOGC=100 first collects, so every
// vigil process — a 10 ms `vigil vuln scan` as much as `vigil serve` —
// ran a garbage collection of its start-up data before doing anything
// (about 2 ms of CPU, measured with GOGC=400 in the environment). This
// package depends only on runtime/debug and os, and its import path
// sorts before most of the libraries', so Go initialises it early; it
// raises the GC percent to 400 for the rest of the initialisation, and
// Restore puts it back before a command runs. A GOGC set in the
// environment is left alone.
package startgc

import (
	"os"
	"runtime/debug"
)

// startPercent is the GC percent during initialisation.
const startPercent = 400

var previous = -2 // not raised

func init() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	previous = debug.SetGCPercent(startPercent)
}

// Restore puts back the GC percent there was before init raised it
// (Go's default, 100). It does nothing if init did not raise it, or if
// it has been restored.
func Restore() {
	if previous == -2 {
		return
	}
	debug.SetGCPercent(previous)
	previous = -2
}

// Raised says whether the GC percent is still the start-up one.
func Raised() bool { return previous != -2 }
