// Package analytics holds the detections a Sigma rule cannot express,
// because they compare an event with what came before it: first seen (a
// value never seen before for its key in an organisation, after a
// learning period), rare values (seen fewer than N times in a rolling
// window), volume anomaly (an hour's events from a source against a
// robust baseline of the same hour of the week: median and MAD) and
// impossible travel (two sign-ins of one user further apart than anyone
// can travel in the time between them).
//
// Analytics are data: a YAML file (defaults.yaml is embedded and
// documents the format; docs/analytics.md describes each key) read by
// ParseConfig with file:line errors. New builds an Engine from it; the
// engine's Observe takes each event and returns Findings, Tick passes
// time so that silence is noticed, and Snapshot and Restore save and
// reload what it has learnt, which is bounded per organisation by each
// analytic's limits. Finding.Alert makes a finding what the alerts inbox
// takes (cases.NewAlert), with an explanation a person can check against
// the events it names.
//
// The package is pure domain logic over events.Event, with no I/O of its
// own: the composition root decides where events come from, where
// findings go (the ALERTS stream) and where snapshots are kept.
package analytics
