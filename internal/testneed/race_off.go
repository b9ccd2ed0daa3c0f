//go:build !race

package testneed

// Race says the race detector is on (race_on.go).
const Race = false
