-- The indicator lifecycle, continued (issue 19 item 6): decay models,
-- the model chosen per source, and verdicts on indicators.
--
-- A decay model: the half-life of a score by kind of value (JSON, kind ->
-- seconds), the score under which an indicator stops matching, and how
-- many organisations' false positives withdraw an indicator. The
-- built-in model "standard" is not stored.
CREATE TABLE intel_decay_models (
	name TEXT PRIMARY KEY,
	half_lives TEXT NOT NULL,
	threshold DOUBLE PRECISION NOT NULL,
	fp_orgs INTEGER NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	updated_by TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
-- The model an indicator's source decays by: source is a source as
-- intel_objects records it ("feed:NAME", a file name, "taxii:STATUS")
-- or a prefix ending in * ("taxii:*"); the longest that fits wins.
CREATE TABLE intel_decay_sources (
	source TEXT PRIMARY KEY,
	model TEXT NOT NULL,
	set_by TEXT NOT NULL,
	set_at TEXT NOT NULL
);
-- Deployment settings of the intelligence store: "decay_default" (the
-- model of a source that has none) and "lifecycle_changed" (when a
-- model, an assignment, the allowlist or a verdict last changed, which
-- the IOC matcher polls to rebuild).
CREATE TABLE intel_settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	set_by TEXT NOT NULL,
	set_at TEXT NOT NULL
);
-- Verdicts on an indicator, each from one origin: an alert an analyst
-- closed ("alert:AL-..."), or a sighting a trust reported
-- ("sighting:sighting--..."). verdict is seen, true-positive,
-- false-positive or expired; org is the organisation it came from.
CREATE TABLE intel_verdicts (
	indicator_id TEXT NOT NULL,
	origin TEXT NOT NULL,
	org TEXT NOT NULL,
	verdict TEXT NOT NULL,
	by_user TEXT NOT NULL,
	at TEXT NOT NULL,
	PRIMARY KEY (indicator_id, origin)
);
