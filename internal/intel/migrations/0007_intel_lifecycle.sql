-- The indicator lifecycle (issue 19 item 6).
-- Sightings Vigil's own IOC matcher made: one row per indicator and
-- organisation whose events matched it, counted, with the first and last
-- time. They keep an indicator's score from decaying (lifecycle.go) and
-- are exported as STIX sighting objects.
CREATE TABLE intel_sightings (
	indicator_id TEXT NOT NULL,
	org TEXT NOT NULL,
	count INTEGER NOT NULL,
	first_seen TEXT NOT NULL,
	last_seen TEXT NOT NULL,
	PRIMARY KEY (indicator_id, org)
);
-- Values that never match, whatever indicator lists them: known-benign
-- addresses, domains, URLs, hashes, with why and who said so.
CREATE TABLE intel_allowlist (
	value TEXT PRIMARY KEY,
	reason TEXT NOT NULL,
	source TEXT NOT NULL,
	added_by TEXT NOT NULL,
	added_at TEXT NOT NULL
);
