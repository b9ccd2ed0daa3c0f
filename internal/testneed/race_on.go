//go:build race

package testneed

// Race says the race detector is on. It slows every request several times
// over, so timing budgets are judged only in runs without it (make test
// runs those separately).
const Race = true
