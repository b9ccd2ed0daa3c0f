-- Requirement sets (issue 20), one row per version of a framework: its
-- tree, indicators of good practice, assessment rules and profiles, keyed
-- by set_id ("webcaf-caf@3.2"). (set_key, version) is unique, so a version
-- is imported once and a new one is kept beside it.
CREATE TABLE assurance_sets (
	set_id TEXT PRIMARY KEY,
	set_key TEXT NOT NULL,
	version TEXT NOT NULL,
	name TEXT NOT NULL,
	format TEXT NOT NULL,
	provider TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	copyright TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL,
	digest TEXT NOT NULL,
	imported_at TEXT NOT NULL,
	UNIQUE (set_key, version)
);
CREATE TABLE assurance_nodes (
	set_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	node_key TEXT NOT NULL,
	ref TEXT NOT NULL DEFAULT '',
	parent_key TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	depth INTEGER NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	assessable BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (set_id, seq),
	UNIQUE (set_id, node_key)
);
CREATE TABLE assurance_indicators (
	set_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	outcome_key TEXT NOT NULL,
	ref TEXT NOT NULL,
	level TEXT NOT NULL,
	ncsc_index TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL,
	PRIMARY KEY (set_id, seq)
);
CREATE TABLE assurance_rules (
	set_id TEXT NOT NULL,
	outcome_key TEXT NOT NULL DEFAULT '',
	seq INTEGER NOT NULL,
	form TEXT NOT NULL,
	rule_key TEXT NOT NULL,
	status TEXT NOT NULL,
	message TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (set_id, outcome_key, seq)
);
CREATE TABLE assurance_profiles (
	set_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	profile TEXT NOT NULL,
	title TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (set_id, seq),
	UNIQUE (set_id, profile)
);
CREATE TABLE assurance_profile_targets (
	set_id TEXT NOT NULL,
	profile TEXT NOT NULL,
	node_key TEXT NOT NULL,
	level TEXT NOT NULL,
	PRIMARY KEY (set_id, profile, node_key)
);
-- DSPT status by edition per organisation code, from the published
-- snapshots. One row per organisation and edition: a later snapshot of the
-- same edition replaces an earlier one, an earlier one never overwrites.
CREATE TABLE assurance_dspt (
	org_code TEXT NOT NULL,
	edition TEXT NOT NULL,
	status TEXT NOT NULL,
	published TEXT NOT NULL DEFAULT '',
	org_name TEXT NOT NULL DEFAULT '',
	snapshot TEXT NOT NULL,
	source TEXT NOT NULL,
	imported_at TEXT NOT NULL,
	PRIMARY KEY (org_code, edition)
);
