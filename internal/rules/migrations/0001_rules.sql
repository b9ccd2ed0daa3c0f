-- Sigma rule management (issue 17 part 4): rules as rows with their
-- history, per-organisation settings, exceptions and hit statistics.
-- docs/sigma.md ("Rule management") and ADR 0009 decision 5 explain it.
--
-- A rule is one Sigma file, known by its Sigma id (the id of its first
-- correlation that has one, else of its first rule or filter). Its
-- current text is in sigma_rules; every text it ever had, with who, when
-- and why, in sigma_rule_versions. Times are UTC text with nine
-- fractional digits (comparing the text compares the times). Booleans are
-- 0/1 integers on both engines.
CREATE TABLE sigma_rules (
	id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	level TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL DEFAULT '',
	author TEXT NOT NULL DEFAULT '',
	product TEXT NOT NULL DEFAULT '',
	category TEXT NOT NULL DEFAULT '',
	service TEXT NOT NULL DEFAULT '',
	tags TEXT NOT NULL DEFAULT '',
	pack TEXT NOT NULL,
	path TEXT NOT NULL,
	version INTEGER NOT NULL,
	sha256 TEXT NOT NULL,
	yaml TEXT NOT NULL,
	-- For every organisation unless one says otherwise (sigma_rule_orgs).
	enabled INTEGER NOT NULL DEFAULT 1,
	-- A level that replaces the rule's own for every organisation ('' none).
	level_override TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL
);
CREATE INDEX sigma_rules_pack ON sigma_rules (pack, id);

CREATE TABLE sigma_rule_versions (
	rule_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	sha256 TEXT NOT NULL,
	yaml TEXT NOT NULL,
	pack TEXT NOT NULL,
	path TEXT NOT NULL,
	changed_by TEXT NOT NULL,
	changed_at TEXT NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (rule_id, version)
);

-- One organisation's settings for one rule: enabled is NULL when the
-- organisation follows the rule's global setting; level '' when it
-- follows the rule's (overridden) level. org is an organisation code:
-- scope.Filter applies to it.
CREATE TABLE sigma_rule_orgs (
	rule_id TEXT NOT NULL,
	org TEXT NOT NULL,
	enabled INTEGER,
	level TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	PRIMARY KEY (rule_id, org)
);
CREATE INDEX sigma_rule_orgs_org ON sigma_rule_orgs (org);

-- Exceptions: a rule's match is not raised as an alert when the event
-- holds every field=value of match (JSON [{"field":…,"value":…}]), for one
-- organisation or (org '') every one, until expires_at.
CREATE TABLE sigma_rule_exceptions (
	id TEXT PRIMARY KEY,
	rule_id TEXT NOT NULL,
	org TEXT NOT NULL DEFAULT '',
	match TEXT NOT NULL,
	owner TEXT NOT NULL,
	reason TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL
);
CREATE INDEX sigma_rule_exceptions_rule ON sigma_rule_exceptions (rule_id);

-- Matches per rule, organisation and UTC day: hits raised alerts,
-- suppressed were matches an exception held back.
CREATE TABLE sigma_rule_hits (
	rule_id TEXT NOT NULL,
	org TEXT NOT NULL,
	day TEXT NOT NULL,
	hits BIGINT NOT NULL DEFAULT 0,
	suppressed BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (rule_id, org, day)
);
CREATE INDEX sigma_rule_hits_day ON sigma_rule_hits (day, org);

-- One row whose generation every change raises, so that a server notices
-- a change made by another process (a CLI command) at its next check.
CREATE TABLE sigma_rules_state (
	id INTEGER PRIMARY KEY,
	generation BIGINT NOT NULL
);
INSERT INTO sigma_rules_state (id, generation) VALUES (1, 0);
