//go:build race

package web

// raceEnabled: the race detector slows every request several times over,
// so timing budgets are checked only in runs without it (make test runs
// them separately).
const raceEnabled = true
